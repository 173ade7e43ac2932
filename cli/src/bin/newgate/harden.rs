//! What newgate does before anything else, since it runs as root on behalf
//! of someone who is not: check how it was installed, then shut the doors a
//! caller could hold open (core dumps, inherited descriptors, umask, signals).

use std::path::Path;

use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::stat::{Mode, umask};
use std::os::unix::fs::MetadataExt;

/// The signals newgate takes through a descriptor instead of letting them kill
/// it mid-way: an interrupted authentication or a running command is then
/// cleaned up (terminal restored, PAM session closed) before newgate exits.
/// Which of them may end a password prompt is `tty::at_prompt`'s choice.
pub const HANDLED: [Signal; 11] = [
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTSTP,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGCHLD,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGWINCH,
    Signal::SIGCONT,
];

/// Refuses to go on unless newgate can do its job safely: running setuid
/// root (or as root), and allowed to use those rights.
pub fn self_check() -> Result<(), String> {
    if nix::sys::prctl::get_no_new_privs().unwrap_or(true) {
        return Err(
            "no_new_privs is set for this process (a container, or a service with NoNewPrivileges=yes): \
                    newgate cannot switch users or groups here"
                .into(),
        );
    }
    let exe = std::fs::read_link("/proc/self/exe").unwrap_or_else(|_| "/usr/bin/newgate".into());
    if !nix::unistd::geteuid().is_root() {
        return Err(format!(
            "newgate must be installed setuid root to work; as root, run: chown root:root {0} && chmod 4755 {0}",
            exe.display()
        ));
    }
    if !nix::unistd::getuid().is_root() {
        let meta = std::fs::metadata(&exe).map_err(|e| format!("cannot inspect {}: {e}", exe.display()))?;
        if meta.uid() != 0 || meta.mode() & 0o4000 == 0 {
            return Err(format!("{} is not a setuid-root file; refusing to run", exe.display()));
        }
    }
    Ok(())
}

/// No core dump, no ptrace by the caller.
pub fn not_dumpable() -> Result<(), String> {
    nix::sys::prctl::set_dumpable(false).map_err(|e| format!("cannot disable core dumps: {e}"))
}

/// Makes the process safe to work in; returns the descriptor the handled signals arrive on.
pub fn harden() -> Result<SignalFd, String> {
    setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(|e| format!("cannot disable core dumps: {e}"))?;
    not_dumpable()?;
    umask(Mode::from_bits_truncate(0o022));
    // A caller may start us with stdin, stdout or stderr closed, so that a file
    // we open lands on 0-2 and is later written to as if it were the terminal.
    for fd in 0..3 {
        if !Path::new(&format!("/proc/self/fd/{fd}")).exists() {
            let null = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null");
            let null = null.map_err(|e| format!("cannot open /dev/null: {e}"))?;
            std::mem::forget(null);
        }
    }
    crate::sys::cloexec_above_stderr().map_err(|e| format!("cannot close inherited descriptors: {e}"))?;
    let mut set = SigSet::empty();
    for signal in HANDLED {
        set.add(signal);
    }
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None).map_err(|e| format!("cannot block signals: {e}"))?;
    signal_descriptor()
}

/// A descriptor on which the handled (blocked) signals can be read; several
/// may exist, each reading from the same queue of pending signals.
pub fn signal_descriptor() -> Result<SignalFd, String> {
    let mut set = SigSet::empty();
    for signal in HANDLED {
        set.add(signal);
    }
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| format!("cannot watch signals: {e}"))
}
