//! The few system operations that need `unsafe`: each is small and says why it is sound.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::sys::resource::Resource;
use nix::sys::signal::{SigHandler, Signal};
use nix::unistd::{Gid, Uid};

use crate::harden::Inherited;

/// Marks every descriptor above 2 close-on-exec, so that nothing newgate
/// inherited leaks into the command; called again in the child just before
/// the exec, for what PAM and NSS modules opened since.
pub fn cloexec_above_stderr() -> io::Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets a flag on
    // descriptors in the range; it touches no memory and closes nothing.
    let r = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether `fd` is an open descriptor of this process.
pub fn is_open(fd: std::os::fd::RawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags; on a number that is
    // not an open descriptor it fails with EBADF and touches nothing.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// Overwrites a buffer with zeros in a way the compiler cannot skip.
pub fn wipe(buffer: &mut [u8]) {
    for byte in buffer.iter_mut() {
        // SAFETY: `byte` is a valid, aligned, exclusive reference into the buffer.
        unsafe { std::ptr::write_volatile(byte, 0) };
    }
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
}

/// The identity a command runs with.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub uid: Uid,
    pub gid: Gid,
    pub groups: Vec<Gid>,
}

/// Ignores SIGXFSZ; returns the disposition it had, for the command.
pub fn ignore_file_size_signal() -> nix::Result<SigHandler> {
    // SAFETY: SIG_IGN installs no handler, so no code of ours can run in
    // signal context; the process is still single-threaded.
    unsafe { nix::sys::signal::signal(Signal::SIGXFSZ, SigHandler::SigIgn) }
}

/// Whether `got` and `wanted` hold the same ids, repeats aside; compares in
/// place, as it runs in the child between fork and exec.
fn same_ids(got: &[libc::gid_t], wanted: &[libc::gid_t]) -> bool {
    got.iter().all(|g| wanted.contains(g)) && wanted.iter().all(|w| got.contains(w))
}

/// How the command's folder is entered.
pub enum Enter {
    /// By the very path given: any symbolic link in it fails with ELOOP.
    AsNamed,
    /// Following symbolic links, as `cd` does.
    Following,
}

/// The kernel's `struct open_how` (linux/openat2.h), which libc declares
/// non-exhaustive and so cannot be built field by field.
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// Enters `folder` through openat2 with RESOLVE_NO_SYMLINKS, then fchdir:
/// no component may be a symbolic link, and nothing can swap one in between
/// a check and the change of folder. Runs in the forked child: system calls
/// on memory made before the fork only. A kernel without openat2 (before
/// 5.6) refuses, since the folder could not be entered safely.
fn enter_as_named(folder: &CString) -> io::Result<()> {
    let how = OpenHow {
        flags: (libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: libc::RESOLVE_NO_SYMLINKS,
    };
    // SAFETY: `folder` is NUL-terminated and `how` is a `struct open_how` of
    // the size passed; openat2 only reads them.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            folder.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = fd as libc::c_int;
    // SAFETY: `fd` is the descriptor openat2 just returned, closed right after.
    let entered = unsafe { libc::fchdir(fd) };
    let error = io::Error::last_os_error();
    // SAFETY: as above; the descriptor is not used again.
    unsafe { libc::close(fd) };
    if entered != 0 {
        return Err(error);
    }
    Ok(())
}

/// Enters `folder` as `cd` does. Runs in the forked child, as above.
fn enter_following(folder: &CString) -> io::Result<()> {
    // SAFETY: `folder` is a NUL-terminated string made before the fork.
    if unsafe { libc::chdir(folder.as_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes the child give the command what the caller started newgate with
/// (limits, signal mask, SIGXFSZ's disposition), then switch to `creds`
/// between fork and exec: setgroups, then setresgid, then setresuid, and
/// check each id afterwards; any difference stops the exec, so nothing runs
/// with ids other than those asked for.
pub fn switch_before_exec(
    command: &mut Command,
    creds: Credentials,
    folder: Option<(CString, Enter)>,
    umask: libc::mode_t,
    inherited: &Inherited,
) {
    // Everything the child uses is made here, before the fork: PAM modules
    // may have started threads, whose locks (the allocator's among them) a
    // forked child could find held forever.
    let mut limits = inherited.limits.clone();
    // A command that stays the caller's uid with another group would dump
    // core into a file the caller owns, holding whatever the group let it
    // read: such a command never dumps core (found by the adversarial review).
    if creds.uid == nix::unistd::getuid() && creds.gid != nix::unistd::getgid() {
        for limit in limits
            .iter_mut()
            .filter(|(resource, _, _)| *resource == Resource::RLIMIT_CORE)
        {
            (limit.1, limit.2) = (0, 0);
        }
    }
    let mask = inherited.mask;
    let file_size_signal = inherited.file_size_signal;
    let wanted: Vec<libc::gid_t> = creds.groups.iter().map(|g| g.as_raw()).collect();
    // One more than asked for, so that an extra group shows as a longer list.
    let mut got: Vec<libc::gid_t> = vec![0; wanted.len() + 1];
    let denied = || io::Error::from_raw_os_error(libc::EPERM);
    let check = move || -> io::Result<()> {
        // While still root: a limit newgate raised for itself is lowered back,
        // one it left alone is set to the value it has. Only RLIMIT_CORE,
        // which newgate lowered, may need a right to raise it that a
        // container can withhold: then it stays lower than the caller's,
        // never higher.
        for &(resource, soft, hard) in &limits {
            if nix::sys::resource::setrlimit(resource, soft, hard).is_err() {
                let (_, now) = nix::sys::resource::getrlimit(resource)?;
                nix::sys::resource::setrlimit(resource, soft.min(now), hard.min(now))?;
            }
        }
        // SAFETY: restores a disposition the caller's exec of newgate left in
        // place (default or ignored): no handler of ours is installed.
        unsafe { nix::sys::signal::signal(Signal::SIGXFSZ, file_size_signal) }?;
        // newgate blocks signals to handle them itself; the command gets the caller's mask.
        nix::sys::signal::sigprocmask(nix::sys::signal::SigmaskHow::SIG_SETMASK, Some(&mask), None)?;
        // SAFETY: umask only sets the process's file mode mask; it cannot fail.
        unsafe { libc::umask(umask) };
        nix::unistd::setgroups(&creds.groups)?;
        nix::unistd::setresgid(creds.gid, creds.gid, creds.gid)?;
        nix::unistd::setresuid(creds.uid, creds.uid, creds.uid)?;
        let uids = nix::unistd::getresuid()?;
        let gids = nix::unistd::getresgid()?;
        let same_uid = [uids.real, uids.effective, uids.saved].iter().all(|&u| u == creds.uid);
        let same_gid = [gids.real, gids.effective, gids.saved].iter().all(|&g| g == creds.gid);
        // SAFETY: `got` holds `got.len()` writable gids, and getgroups writes
        // at most that many (or fails with EINVAL when there are more).
        let count = unsafe { libc::getgroups(got.len() as libc::c_int, got.as_mut_ptr()) };
        if count < 0 {
            return Err(io::Error::last_os_error());
        }
        if !same_uid || !same_gid || !same_ids(&got[..count as usize], &wanted) {
            return Err(denied());
        }
        // With the target's rights: a folder the target cannot enter stops the exec.
        match &folder {
            Some((folder, Enter::AsNamed)) => enter_as_named(folder)?,
            Some((folder, Enter::Following)) => enter_following(folder)?,
            None => {}
        }
        // A PAM or NSS module that ran since newgate started may hold a
        // descriptor without close-on-exec (a file only root may read, a
        // socket to a privileged daemon): the command, run as the caller
        // with another group, read /etc/shadow through one (found by the
        // second adversarial review). The command gets 0-2 alone.
        cloexec_above_stderr()
    };
    // SAFETY: the closure runs in the forked child; it only makes system
    // calls and reads or writes memory allocated before the fork, so it
    // takes no lock another thread of the parent could have held. The
    // standard library itself resets SIGPIPE to its default in the child.
    unsafe { command.pre_exec(check) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_descriptors_are_told_from_open_ones() {
        let file = std::fs::File::open("/dev/null").unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        assert!(is_open(fd));
        drop(file);
        assert!(!is_open(fd));
        assert!(!is_open(-1));
    }

    #[test]
    fn group_lists_compare_as_sets() {
        assert!(same_ids(&[3, 1, 2, 2], &[1, 2, 3]));
        assert!(same_ids(&[], &[]));
        assert!(!same_ids(&[1, 2], &[1, 2, 3]));
        assert!(!same_ids(&[1, 2, 4], &[1, 2]));
    }
}
