//! What the test suites of every crate share, so that each helper exists
//! once: the text a program printed, scratch folders, the removal of users
//! and groups an interrupted run left, man page rendering, and skips that
//! are seen and counted.
//!
//! Skips: libtest shows what a passing test printed with `print!` or
//! `eprint!` only under `--nocapture`, so a skip said that way is invisible in
//! the run that matters. [`skipped`] writes to the process's stderr directly
//! (libtest captures only the macros), appends a line to the file named by
//! `NEWGATE_SKIP_LOG` (scripts/test.sh counts them in its summary), and under
//! CI fails the test when what is missing is root: CI runs as root, so such a
//! skip means the suite did not check what it claims to.

#![forbid(unsafe_code)]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use nix::fcntl::{Flock, FlockArg};

/// The environment variable naming the file where skips are recorded.
pub const SKIP_LOG: &str = "NEWGATE_SKIP_LOG";

/// What a skipped check lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Root: real users, setuid, PAM files in /etc, the package. CI has it, so under CI this fails.
    Root,
    /// A program or a property of this machine that CI may lack; counted, never an error.
    Machine,
}

impl Needs {
    fn word(self) -> &'static str {
        match self {
            Needs::Root => "root",
            Needs::Machine => "machine",
        }
    }
}

/// Whether this run is CI's (`CI` set to anything but empty or `false`, as CI services set it).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

/// The test binary's file name (`runner-0123456789abcdef`): the suite, as
/// the `Running` line of `cargo test` names it, hash included (a crate's unit
/// tests and an integration test may share a name).
pub fn suite_binary() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_name().map(|name| name.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

/// Says that `what` was not checked, and why, where every run shows it; records
/// it for the summary; under CI, a skip for want of root fails the test.
pub fn skipped(needs: Needs, what: &str, why: &str) {
    record_skip(needs, what, why);
    assert!(
        !fails_under_ci(needs),
        "under CI the root suites must run, not skip (run CI as root): {what}: {why}"
    );
}

/// Whether a skip for want of `needs` is a failure in this run.
pub fn fails_under_ci(needs: Needs) -> bool {
    needs == Needs::Root && in_ci()
}

/// As [`skipped`], without failing under CI: for a harness that counts such a
/// skip as a failure itself (pam_module's).
pub fn record_skip(needs: Needs, what: &str, why: &str) {
    let line = format!("SKIPPED ({why}): {what}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(log) = std::env::var_os(SKIP_LOG) {
        // One short write with O_APPEND: lines of tests running in parallel do not interleave.
        let record = format!(
            "{}\t{}\t{}\t{}\n",
            suite_binary(),
            needs.word(),
            what.replace(['\t', '\n'], " "),
            why.replace(['\t', '\n'], " ")
        );
        let written = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .and_then(|mut f| f.write_all(record.as_bytes()));
        if let Err(e) = written {
            panic!("cannot record the skip in {}: {e}", Path::new(&log).display());
        }
    }
}

/// True when the process is root; otherwise the skip of `what` is said (see [`skipped`]).
pub fn root_or_skip(what: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    skipped(Needs::Root, what, "needs root; scripts/test.sh runs it as root in CI");
    false
}

/// What a program wrote on stdout, as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What a program wrote on stderr, as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `program ARGS` with stdin closed and collects what it printed.
pub fn run(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Output {
    let program = program.as_ref();
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.to_string_lossy()))
}

/// A fresh folder for one test, mode 0755 whatever the umask (so that a
/// root-owned policy inside passes the loader's checks), removed when dropped
/// unless the test failed (kept to be looked at; `cargo clean` removes it).
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    /// `TMPDIR/NAME-PID`: `tmpdir` is the suite's `env!("CARGO_TARGET_TMPDIR")`.
    pub fn new(tmpdir: &str, name: &str) -> Scratch {
        let path = Path::new(tmpdir).join(format!("{name}-{}", std::process::id()));
        if path.exists() {
            fs::remove_dir_all(&path).expect("remove an old scratch folder");
        }
        fs::create_dir_all(&path).expect("create the scratch folder");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod the scratch folder");
        Scratch { path }
    }

    /// Writes `text` to `name` inside (its folders made 0755), with `mode`.
    pub fn write(&self, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = self.path.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create a folder");
            fs::set_permissions(parent, fs::Permissions::from_mode(0o755)).expect("chmod a folder");
        }
        fs::write(&path, text).expect("write a file");
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod a file");
        path
    }

    /// The names inside, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.path)
            .expect("list the scratch folder")
            .map(|e| e.expect("a folder entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// The lock every root suite holds while it changes the machine.
pub const ROOT_SUITES_LOCK: &str = "/run/newgate-root-suites.lock";

/// [`ROOT_SUITES_LOCK`], held until dropped (at the latest when the suite exits).
pub struct RootSuitesLock {
    _held: Flock<fs::File>,
}

/// Waits for, then takes, [`ROOT_SUITES_LOCK`]. A root suite adds users,
/// groups and a `/dev/log` placeholder, and removes at start what it finds of
/// them: two runs at once on one machine (two checkouts, a single suite run
/// beside the whole test command) would remove each other's.
pub fn lock_root_suites() -> RootSuitesLock {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(ROOT_SUITES_LOCK)
        .unwrap_or_else(|e| panic!("open {ROOT_SUITES_LOCK}: {e}"));
    let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock).unwrap_or_else(|(file, _)| {
        // Written to stderr itself: libtest would hold back what `eprintln!` says.
        let _ = writeln!(
            std::io::stderr(),
            "waiting for {ROOT_SUITES_LOCK}: another root suite is running on this machine"
        );
        Flock::lock(file, FlockArg::LockExclusive).unwrap_or_else(|(_, e)| panic!("lock {ROOT_SUITES_LOCK}: {e}"))
    });
    RootSuitesLock { _held: lock }
}

/// Removes the users, then the groups, whose names start with `prefix`: what
/// an earlier, interrupted run of a root suite left.
pub fn remove_leftover_accounts(prefix: &str) {
    for (file, tool) in [("/etc/passwd", "userdel"), ("/etc/group", "groupdel")] {
        let text = fs::read_to_string(file).unwrap_or_default();
        for name in text.lines().filter_map(|l| l.split(':').next()) {
            if name.starts_with(prefix) {
                let _ = Command::new(tool).arg(name).stderr(Stdio::null()).status();
            }
        }
    }
}

/// `program ARGS` run as [`with_etc_newgate`] does, with an `/etc/newgate`
/// holding `policy` (text and mode) or no policy at all; `name` names the
/// scratch folder under `tmpdir`.
pub fn with_installed_policy(
    tmpdir: &str,
    name: &str,
    policy: Option<(&str, u32)>,
    program: impl AsRef<std::ffi::OsStr>,
    args: &[&str],
) -> Output {
    let scratch = Scratch::new(tmpdir, name);
    fs::create_dir(scratch.path.join("etc-newgate")).expect("create the policy folder");
    if let Some((text, mode)) = policy {
        scratch.write("etc-newgate/policy", text, mode);
    }
    with_etc_newgate(
        &scratch.path.join("overlay"),
        &scratch.path.join("etc-newgate"),
        program,
        args,
    )
}

/// `program ARGS`, run as root in a private mount namespace whose
/// `/etc/newgate` is `folder` (and `/etc` an overlay, so that the folder has
/// a place to go whether or not the machine has one): the installed policy
/// as the test wants it, present or not, whatever this machine holds; and a
/// /var/cache of its own, for the snapshot `newgatectl check` writes as root.
/// `work` is an empty folder of the test's for the overlay's own use.
pub fn with_etc_newgate(work: &Path, folder: &Path, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Output {
    let script = r#"set -e
        mount -t tmpfs -o mode=0755 tmpfs "$1"
        mkdir -p "$1/upper/newgate" "$1/work"
        mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/upper,workdir=$1/work" /etc
        mount --bind "$2" /etc/newgate
        mount -t tmpfs -o mode=0755 tmpfs /var/cache
        shift 2
        exec "$@""#;
    fs::create_dir_all(work).expect("create the overlay's folder");
    Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            script,
            "sh",
        ])
        .arg(work)
        .arg(folder)
        .arg(program.as_ref())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run unshare")
}

/// Watches a folder for a file to appear, to kill a process at that moment:
/// how a test makes sure a kill lands inside a save that lasts a millisecond,
/// which a clock alone would rarely hit. Made before the process starts, so
/// that no file created early is missed.
pub struct KillOnCreate {
    inotify: nix::sys::inotify::Inotify,
}

/// A running [`KillOnCreate`]; [`Armed::finish`] says whether it killed.
pub struct Armed {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    watcher: std::thread::JoinHandle<bool>,
}

impl KillOnCreate {
    pub fn watch(folder: &Path) -> KillOnCreate {
        use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).expect("inotify");
        inotify
            .add_watch(folder, AddWatchFlags::IN_CREATE)
            .expect("watch the folder");
        KillOnCreate { inotify }
    }

    /// Sends SIGKILL to `pid` `offset` after a file whose name starts with
    /// `prefix` is created, unless [`Armed::finish`] comes first.
    pub fn arm(self, prefix: &str, pid: i32, offset: std::time::Duration) -> Armed {
        use std::os::fd::AsFd;
        use std::sync::atomic::Ordering;
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = done.clone();
        let prefix = prefix.to_string();
        let inotify = self.inotify;
        let watcher = std::thread::spawn(move || {
            use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
            while !stop.load(Ordering::SeqCst) {
                let mut fds = [PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
                if poll(&mut fds, PollTimeout::from(10u8)).unwrap_or(0) == 0 {
                    continue;
                }
                let events = inotify.read_events().unwrap_or_default();
                if events.iter().any(|e| {
                    e.name
                        .as_ref()
                        .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
                }) {
                    std::thread::sleep(offset);
                    return nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL)
                        .is_ok();
                }
            }
            false
        });
        Armed { done, watcher }
    }
}

impl Armed {
    /// Call once the process has ended: whether the kill was sent.
    pub fn finish(self) -> bool {
        self.done.store(true, std::sync::atomic::Ordering::SeqCst);
        self.watcher.join().expect("the watcher thread")
    }
}

/// `man --warnings -l PAGE` at a fixed width (so that a line too long to
/// break warns the same everywhere); `Err` with the reason to skip when man is
/// not installed.
pub fn render_man(page: &Path) -> Result<Output, String> {
    match Command::new("man")
        .args(["--warnings", "-l"])
        .arg(page)
        .env("MANWIDTH", "80")
        .output()
    {
        Ok(output) => Ok(output),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err("needs man: apt-get install man-db".into()),
        Err(e) => panic!("man: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suite_is_the_binary_cargo_names() {
        let name = suite_binary();
        let (crate_name, hash) = name.rsplit_once('-').unwrap();
        assert_eq!(crate_name, "newgate_testkit");
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
    }
}
