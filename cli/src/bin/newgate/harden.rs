//! What newgate does before anything else, since it runs as root on behalf
//! of someone who is not: check how it was installed, then shut the doors a
//! caller could hold open (core dumps, inherited descriptors, umask, signals).

use nix::sys::resource::{RLIM_INFINITY, Resource, getrlimit, rlim_t, setrlimit};
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::stat::{Mode, umask};
use std::os::unix::fs::MetadataExt;

use crate::failure::{StepError, refused};

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
pub fn self_check() -> Result<(), StepError> {
    if nix::sys::prctl::get_no_new_privs().unwrap_or(true) {
        return Err(StepError::NoNewPrivileges);
    }
    let exe = std::fs::read_link("/proc/self/exe").unwrap_or_else(|_| "/usr/bin/newgate".into());
    if !nix::unistd::geteuid().is_root() {
        return Err(StepError::NotRoot { exe });
    }
    if !nix::unistd::getuid().is_root() {
        let meta = match std::fs::metadata(&exe) {
            Ok(meta) => meta,
            Err(error) => return Err(StepError::Inspect { exe, error }),
        };
        if meta.uid() != 0 || meta.mode() & 0o4000 == 0 {
            return Err(StepError::NotSetuidRoot { exe });
        }
    }
    Ok(())
}

/// No core dump, no ptrace by the caller.
pub fn not_dumpable() -> Result<(), StepError> {
    nix::sys::prctl::set_dumpable(false).map_err(refused("disable core dumps"))
}

/// Every limit the kernel has: all of them are given back to the command as
/// the caller set them.
const LIMITS: [Resource; 16] = [
    Resource::RLIMIT_AS,
    Resource::RLIMIT_CORE,
    Resource::RLIMIT_CPU,
    Resource::RLIMIT_DATA,
    Resource::RLIMIT_FSIZE,
    Resource::RLIMIT_LOCKS,
    Resource::RLIMIT_MEMLOCK,
    Resource::RLIMIT_MSGQUEUE,
    Resource::RLIMIT_NICE,
    Resource::RLIMIT_NOFILE,
    Resource::RLIMIT_NPROC,
    Resource::RLIMIT_RSS,
    Resource::RLIMIT_RTPRIO,
    Resource::RLIMIT_RTTIME,
    Resource::RLIMIT_SIGPENDING,
    Resource::RLIMIT_STACK,
];

/// What newgate needs for itself, whatever the caller set: a caller must not
/// be able to stop it half-way (SIGXCPU, SIGXFSZ, a failed allocation or
/// write) between a decision and its audit line or in the middle of writing
/// a record, nor make the policy parser run out of stack.
const OWN_LIMITS: [(Resource, rlim_t); 7] = [
    (Resource::RLIMIT_AS, RLIM_INFINITY),
    (Resource::RLIMIT_CPU, RLIM_INFINITY),
    (Resource::RLIMIT_DATA, RLIM_INFINITY),
    (Resource::RLIMIT_FSIZE, RLIM_INFINITY),
    (Resource::RLIMIT_RSS, RLIM_INFINITY),
    (Resource::RLIMIT_STACK, STACK),
    (Resource::RLIMIT_NOFILE, 1024),
];

/// The stack newgate needs (the policy parser recurses): the usual default.
const STACK: rlim_t = 8 * 1024 * 1024;

/// What the caller started newgate with and newgate changes for itself; the
/// command gets it back (`sys::switch_before_exec`), so that it runs within
/// the caller's limits and with the caller's signal mask and dispositions.
pub struct Inherited {
    /// Each limit as (resource, soft, hard).
    pub limits: Vec<(Resource, rlim_t, rlim_t)>,
    pub mask: SigSet,
    /// SIGXFSZ's disposition: newgate ignores it, the command must not unless the caller did.
    pub file_size_signal: SigHandler,
    /// The caller's umask: the command's has at least its bits.
    pub umask: Mode,
}

/// Raises a limit for newgate itself, now `soft` and `hard`, to at least
/// `wanted` (soft), and the hard limit with it; where the hard limit cannot
/// be raised (no CAP_SYS_RESOURCE), as far as it allows. A limit that stays
/// short shows as the error it causes.
fn at_least(resource: Resource, (soft, hard): (rlim_t, rlim_t), wanted: rlim_t) {
    // RLIM_INFINITY is the largest value, so a plain comparison orders it right.
    if soft >= wanted {
        return;
    }
    if setrlimit(resource, wanted, hard.max(wanted)).is_err() {
        let _ = setrlimit(resource, wanted.min(hard), hard);
    }
}

/// The caller's limits, each as (resource, soft, hard), read before newgate
/// raises its own (`own_limits`); `None` for one that cannot be read.
pub type CallerLimits = Vec<Option<(Resource, rlim_t, rlim_t)>>;

/// Reads the caller's limits, then gives newgate the ones it needs. The very
/// first thing newgate does, so that a small stack limit cannot make it
/// fail later in a way that looks like something else (a policy error):
/// `Err` says so when the stack limit cannot be raised far enough (a hard
/// limit below it, and no CAP_SYS_RESOURCE to raise that, in a container).
pub fn own_limits() -> Result<CallerLimits, StepError> {
    let limits: CallerLimits = LIMITS
        .iter()
        .map(|&resource| getrlimit(resource).ok().map(|(soft, hard)| (resource, soft, hard)))
        .collect();
    for (resource, wanted) in OWN_LIMITS {
        // One that could not be read is left alone, as `harden` refuses to go on then.
        let read = limits.iter().flatten().find(|(r, _, _)| *r == resource);
        if let Some(&(_, soft, hard)) = read {
            at_least(resource, (soft, hard), wanted);
        }
    }
    match getrlimit(Resource::RLIMIT_STACK) {
        Ok((soft, _)) if soft >= STACK => Ok(limits),
        Ok((soft, _)) => Err(StepError::StackTooSmall { soft, needed: STACK }),
        Err(error) => Err(refused("read the stack size limit")(error)),
    }
}

/// Makes the process safe to work in; returns the descriptor the handled
/// signals arrive on and what the command is to get back from the caller.
pub fn harden(caller_limits: CallerLimits) -> Result<(SignalFd, Inherited), StepError> {
    let mut limits = Vec::with_capacity(LIMITS.len());
    for (limit, resource) in caller_limits.into_iter().zip(LIMITS) {
        let limit = limit.ok_or(StepError::LimitUnreadable(resource))?;
        limits.push(limit);
    }
    // The soft limit alone: newgate is not dumpable either, and the caller
    // cannot change the limits of a process whose saved uid is root; the hard
    // limit stays, so that the command gets the caller's back without needing
    // CAP_SYS_RESOURCE (which containers withhold).
    let core_hard = limits
        .iter()
        .find(|(resource, _, _)| *resource == Resource::RLIMIT_CORE)
        .map_or(0, |&(_, _, hard)| hard);
    setrlimit(Resource::RLIMIT_CORE, 0, core_hard).map_err(refused("disable core dumps"))?;
    // Past a file-size limit, a write fails with EFBIG and newgate cleans up,
    // instead of dying with a temporary file left behind and no audit line.
    let file_size_signal = crate::sys::ignore_file_size_signal().map_err(refused("ignore SIGXFSZ"))?;
    not_dumpable()?;
    let caller_umask = umask(Mode::from_bits_truncate(0o022));
    // A caller may start us with stdin, stdout or stderr closed, so that a file
    // we open lands on 0-2 and is later written to as if it were the terminal.
    for fd in 0..3 {
        if !crate::sys::is_open(fd) {
            let null = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null");
            let null = null.map_err(StepError::NoDevNull)?;
            std::mem::forget(null);
        }
    }
    crate::sys::cloexec_above_stderr().map_err(refused("close inherited descriptors"))?;
    let mut set = SigSet::empty();
    for signal in HANDLED {
        set.add(signal);
    }
    let mut mask = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut mask)).map_err(refused("block signals"))?;
    let inherited = Inherited {
        limits,
        mask,
        file_size_signal,
        umask: caller_umask,
    };
    Ok((signal_descriptor()?, inherited))
}

/// A descriptor on which the handled (blocked) signals can be read; several
/// may exist, each reading from the same queue of pending signals.
pub fn signal_descriptor() -> Result<SignalFd, StepError> {
    let mut set = SigSet::empty();
    for signal in HANDLED {
        set.add(signal);
    }
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK).map_err(refused("watch signals"))
}
