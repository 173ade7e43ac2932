//! The C library's reentrant user and group look-ups, with a buffer that
//! grows while the library answers ERANGE, as glibc's own callers do.
//!
//! nix's look-ups give up at a 1 MiB buffer: a group of 150,000 members is
//! larger than that, and newgate must still see it (or refuse), never lose it.

#![allow(unsafe_code)]

use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::os::raw::c_int;
use std::ptr;

use nix::errno::Errno;
use nix::unistd::{Gid, Group, Uid, User};

/// The buffer the first attempt gets; most entries fit.
const FIRST_BUFFER: usize = 16 << 10;
/// The largest buffer one look-up gets: an entry larger than this is refused.
pub const MAX_BUFFER: usize = 64 << 20;

/// Why a look-up gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The library's error, other than "no such entry".
    Errno(Errno),
    /// The entry did not fit in `MAX_BUFFER` bytes.
    TooLarge,
}

/// Calls `lookup` with ever larger buffers until it answers. "No such entry"
/// may come back as ENOENT or ESRCH (POSIX allows it; nss_wrapper does it):
/// that is an absence, not a failure.
fn growing<T>(mut lookup: impl FnMut(&mut [u8]) -> Result<Option<T>, Errno>) -> Result<Option<T>, Failure> {
    let mut size = FIRST_BUFFER;
    loop {
        let mut buffer = vec![0u8; size];
        match lookup(&mut buffer) {
            Ok(found) => return Ok(found),
            Err(Errno::ENOENT | Errno::ESRCH) => return Ok(None),
            Err(Errno::ERANGE) if size < MAX_BUFFER => size = (size * 2).min(MAX_BUFFER),
            Err(Errno::ERANGE) => return Err(Failure::TooLarge),
            Err(errno) => return Err(Failure::Errno(errno)),
        }
    }
}

/// The error a look-up returned: POSIX says the function returns it, but
/// some NSS stand-ins (nss_wrapper) return -1 and set errno instead.
fn error_of(status: c_int) -> Errno {
    if status == -1 {
        Errno::last()
    } else {
        Errno::from_raw(status)
    }
}

fn user_from(status: c_int, result: *mut libc::passwd) -> Result<Option<User>, Errno> {
    if status != 0 {
        return Err(error_of(status));
    }
    if result.is_null() {
        return Ok(None);
    }
    // SAFETY: on success a non-null `result` points at the entry the library
    // filled in, whose strings lie in the caller's buffer, still borrowed while
    // this runs; `User::from` copies them out.
    Ok(Some(User::from(unsafe { &*result })))
}

fn group_from(status: c_int, result: *mut libc::group) -> Result<Option<Group>, Errno> {
    if status != 0 {
        return Err(error_of(status));
    }
    if result.is_null() {
        return Ok(None);
    }
    // SAFETY: as in `user_from`: the entry and the member list it points to lie
    // in the caller's buffer, alive here; `Group::from` copies them out.
    Ok(Some(Group::from(unsafe { &*result })))
}

pub fn user_by_name(name: &CStr) -> Result<Option<User>, Failure> {
    growing(|buffer| {
        let mut entry = MaybeUninit::<libc::passwd>::uninit();
        let mut result = ptr::null_mut();
        // SAFETY: `name` is NUL-terminated; `entry`, `result` and `buffer` (with
        // its true length) are valid for writes for the whole call.
        let status = unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                entry.as_mut_ptr(),
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                &mut result,
            )
        };
        user_from(status, result)
    })
}

pub fn user_by_uid(uid: Uid) -> Result<Option<User>, Failure> {
    growing(|buffer| {
        let mut entry = MaybeUninit::<libc::passwd>::uninit();
        let mut result = ptr::null_mut();
        // SAFETY: `entry`, `result` and `buffer` (with its true length) are
        // valid for writes for the whole call.
        let status = unsafe {
            libc::getpwuid_r(
                uid.as_raw(),
                entry.as_mut_ptr(),
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                &mut result,
            )
        };
        user_from(status, result)
    })
}

pub fn group_by_name(name: &CStr) -> Result<Option<Group>, Failure> {
    growing(|buffer| {
        let mut entry = MaybeUninit::<libc::group>::uninit();
        let mut result = ptr::null_mut();
        // SAFETY: `name` is NUL-terminated; `entry`, `result` and `buffer` (with
        // its true length) are valid for writes for the whole call.
        let status = unsafe {
            libc::getgrnam_r(
                name.as_ptr(),
                entry.as_mut_ptr(),
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                &mut result,
            )
        };
        group_from(status, result)
    })
}

pub fn group_by_gid(gid: Gid) -> Result<Option<Group>, Failure> {
    growing(|buffer| {
        let mut entry = MaybeUninit::<libc::group>::uninit();
        let mut result = ptr::null_mut();
        // SAFETY: `entry`, `result` and `buffer` (with its true length) are
        // valid for writes for the whole call.
        let status = unsafe {
            libc::getgrgid_r(
                gid.as_raw(),
                entry.as_mut_ptr(),
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                &mut result,
            )
        };
        group_from(status, result)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_grows_until_the_entry_fits() {
        let mut sizes = Vec::new();
        let found = growing(|buffer| {
            sizes.push(buffer.len());
            if buffer.len() < 200_000 {
                Err(Errno::ERANGE)
            } else {
                Ok(Some(buffer.len()))
            }
        });
        assert_eq!(found, Ok(Some(256 << 10)));
        assert_eq!(sizes, [16 << 10, 32 << 10, 64 << 10, 128 << 10, 256 << 10]);
    }

    #[test]
    fn an_entry_larger_than_the_cap_is_an_error_not_an_absence() {
        let found: Result<Option<()>, Failure> = growing(|_| Err(Errno::ERANGE));
        assert_eq!(found, Err(Failure::TooLarge));
    }

    #[test]
    fn only_no_such_entry_is_an_absence() {
        for absent in [Errno::ENOENT, Errno::ESRCH] {
            assert_eq!(growing::<()>(|_| Err(absent)), Ok(None));
        }
        for failed in [Errno::EIO, Errno::EMFILE, Errno::EAGAIN, Errno::EPERM] {
            assert_eq!(growing::<()>(|_| Err(failed)), Err(Failure::Errno(failed)));
        }
    }
}
