//! The few system operations that need `unsafe`: each is small and says why it is sound.
#![allow(unsafe_code)]

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::unistd::{Gid, Uid};

/// Marks every descriptor above 2 close-on-exec, so that nothing newgate
/// inherited (or PAM opened) leaks into the command.
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

/// Makes the child switch to `creds` between fork and exec: setgroups, then
/// setresgid, then setresuid, and checks each id afterwards; any difference
/// stops the exec, so nothing runs with ids other than those asked for.
pub fn switch_before_exec(command: &mut Command, creds: Credentials) {
    let check = move || -> io::Result<()> {
        // newgate blocks signals to handle them itself; the command starts with none blocked.
        nix::sys::signal::sigprocmask(
            nix::sys::signal::SigmaskHow::SIG_SETMASK,
            Some(&nix::sys::signal::SigSet::empty()),
            None,
        )?;
        nix::unistd::setgroups(&creds.groups)?;
        nix::unistd::setresgid(creds.gid, creds.gid, creds.gid)?;
        nix::unistd::setresuid(creds.uid, creds.uid, creds.uid)?;
        let uids = nix::unistd::getresuid()?;
        let gids = nix::unistd::getresgid()?;
        let same_uid = [uids.real, uids.effective, uids.saved].iter().all(|&u| u == creds.uid);
        let same_gid = [gids.real, gids.effective, gids.saved].iter().all(|&g| g == creds.gid);
        let mut groups = nix::unistd::getgroups()?;
        groups.sort_by_key(|g| g.as_raw());
        let mut wanted = creds.groups.clone();
        wanted.sort_by_key(|g| g.as_raw());
        wanted.dedup();
        groups.dedup();
        if !same_uid || !same_gid || groups != wanted {
            return Err(io::Error::other("the credentials are not what was asked for"));
        }
        Ok(())
    };
    // SAFETY: the closure runs in the forked child of a single-threaded
    // process; it only makes system calls and compares ids it owns (the
    // vectors were allocated before the fork, getgroups allocates in the child
    // of a single-threaded parent, where the allocator lock cannot be held).
    // The standard library itself resets SIGPIPE to its default in the child.
    unsafe { command.pre_exec(check) };
}
