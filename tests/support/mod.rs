//! What the root suites share: test users and groups, a syslog socket, a
//! setuid-root copy of newgate, and sandboxes — private mount namespaces where
//! /etc/newgate, /etc/pam.d/newgate, /run, /var/cache and /dev/log are the test's own.
//!
//! Nothing on the machine changes but the users and groups (prefix `ngt-`,
//! removed afterwards, and at start if an earlier run was killed) and, when
//! the machine has no /dev/log, an empty placeholder file there to mount on.
//!
//! The host's PAM stacks are used: the repository's pam/newgate, which
//! sandboxes get unless a test brings its own, includes the host's
//! /etc/pam.d/common-auth, common-account and common-session-noninteractive,
//! so the suites expect Debian's layout with pam_unix checking the test
//! users' passwords (as on the machines scripts/test.sh runs on).

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

pub const PREFIX: &str = "ngt-";
pub const PASSWORD: &str = "correct horse battery";

/// True when the suite can run; otherwise says what it skips, where every
/// run shows it, and fails under CI (see newgate-testkit).
pub use newgate_testkit::root_or_skip;

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(status.success(), "{program} {args:?} failed: {status}");
}

fn quiet(program: &str, args: &[&str]) {
    let _ = Command::new(program).args(args).stderr(Stdio::null()).status();
}

/// Everything the tests share: set up by the first test that asks, torn down
/// when the test binary exits (tests run in parallel and come and go, so no
/// single test can know it is the last).
pub struct Harness {
    pub newgate: PathBuf,
    pub scratch: PathBuf,
    pub log_socket: PathBuf,
    log_lines: Arc<Mutex<Vec<String>>>,
    dev_log_placeholder: bool,
    names: Vec<(bool, String)>,
    /// Held for the whole run: no other root suite changes the machine meanwhile.
    _lock: newgate_testkit::RootSuitesLock,
}

static HARNESS: OnceLock<Harness> = OnceLock::new();

/// The shared harness; created by the first test that asks.
pub fn harness() -> &'static Harness {
    HARNESS.get_or_init(|| {
        let harness = Harness::new();
        // SAFETY: `tear_down` is a plain function taking no arguments, as atexit
        // requires; it only reads the harness, which lives in a static.
        unsafe { nix::libc::atexit(tear_down) };
        harness
    })
}

/// Runs when the test binary exits, whatever the tests' outcome.
extern "C" fn tear_down() {
    if let Some(harness) = HARNESS.get() {
        harness.tear_down();
    }
}

impl Harness {
    fn new() -> Harness {
        let lock = newgate_testkit::lock_root_suites();
        // Users and groups left by an earlier, interrupted run.
        newgate_testkit::remove_leftover_accounts(PREFIX);
        let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-{}", std::process::id()));
        let _ = fs::remove_dir_all(&scratch);
        fs::create_dir_all(&scratch).unwrap();
        fs::set_permissions(&scratch, fs::Permissions::from_mode(0o755)).unwrap();

        let built = built_binary("newgate");
        let newgate = scratch.join("newgate");
        fs::copy(&built, &newgate).unwrap();
        nix::unistd::chown(&newgate, Some(0.into()), Some(0.into())).unwrap();
        fs::set_permissions(&newgate, fs::Permissions::from_mode(0o4755)).unwrap();

        let log_socket = scratch.join("log.sock");
        let socket = UnixDatagram::bind(&log_socket).unwrap();
        fs::set_permissions(&log_socket, fs::Permissions::from_mode(0o666)).unwrap();
        let log_lines = Arc::new(Mutex::new(Vec::new()));
        let sink = log_lines.clone();
        std::thread::spawn(move || {
            let mut buffer = vec![0u8; 65536];
            while let Ok(n) = socket.recv(&mut buffer) {
                let line = String::from_utf8_lossy(&buffer[..n]).into_owned();
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        let dev_log_placeholder = !Path::new("/dev/log").exists();
        if dev_log_placeholder {
            fs::write("/dev/log", "").unwrap();
        }

        let mut h = Harness {
            newgate,
            scratch,
            log_socket,
            log_lines,
            dev_log_placeholder,
            names: Vec::new(),
            _lock: lock,
        };
        for group in ["docker", "audit", "www"] {
            let name = format!("{PREFIX}{group}");
            run("groupadd", &[&name]);
            h.names.push((false, name));
        }
        for user in ["alice", "bob", "carol"] {
            let name = format!("{PREFIX}{user}");
            run("useradd", &["-M", "-d", "/nonexistent", "-s", "/bin/sh", &name]);
            h.names.push((true, name.clone()));
            let mut chpasswd = Command::new("chpasswd").stdin(Stdio::piped()).spawn().unwrap();
            writeln!(chpasswd.stdin.take().unwrap(), "{name}:{PASSWORD}").unwrap();
            assert!(chpasswd.wait().unwrap().success());
        }
        // Second names for bob's uid and docker's gid, which a policy that names
        // bob or docker must not be bypassed through.
        let bob = nix::unistd::User::from_name(&user("bob")).unwrap().unwrap();
        let bobby = user("bobby");
        run(
            "useradd",
            &[
                "-o",
                "-u",
                &bob.uid.to_string(),
                "-M",
                "-d",
                "/nonexistent",
                "-s",
                "/bin/sh",
                &bobby,
            ],
        );
        h.names.push((true, bobby));
        let docker = nix::unistd::Group::from_name(&user("docker")).unwrap().unwrap();
        let dockr = user("dockr");
        run("groupadd", &["-o", "-g", &docker.gid.to_string(), &dockr]);
        h.names.push((false, dockr));
        h
    }

    /// The lines logged so far that contain `marker`.
    pub fn log_lines(&self, marker: &str) -> Vec<String> {
        let lines = self.log_lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().filter(|l| l.contains(marker)).cloned().collect()
    }

    /// The lines with `marker` that arrived before the first one naming
    /// `sentinel`, which is waited for: a run logged after the test's runs
    /// marks the end of their lines, so that a test that counts them also
    /// catches a late extra one (waiting for N lines would stop at N).
    pub fn lines_before(&self, marker: &str, sentinel: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let lines = self.log_lines(marker);
            if let Some(end) = lines.iter().position(|l| l.contains(sentinel)) {
                return lines[..end].to_vec();
            }
            assert!(
                Instant::now() < deadline,
                "the sentinel line ({sentinel}) never arrived: {lines:#?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits briefly for `count` lines with `marker` (datagrams arrive asynchronously).
    pub fn wait_for_log(&self, marker: &str, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let lines = self.log_lines(marker);
            if lines.len() >= count || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Harness {
    fn tear_down(&self) {
        for (is_user, name) in self.names.iter().rev() {
            quiet(if *is_user { "userdel" } else { "groupdel" }, &[name]);
        }
        if self.dev_log_placeholder {
            let _ = fs::remove_file("/dev/log");
        }
        let _ = fs::remove_dir_all(&self.scratch);
    }
}

/// Whether root here has CAP_SYS_RESOURCE (a container may withhold it), so
/// that newgate can raise a hard limit the caller lowered.
pub fn can_raise_hard_limits() -> bool {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let effective = status.lines().find_map(|l| l.strip_prefix("CapEff:")).unwrap().trim();
    u64::from_str_radix(effective, 16).unwrap() & (1 << 24) != 0
}

/// A group that does not exist: newgate refuses a switch to it, and logs the
/// refusal, whatever the policy says. Its line is a test's sentinel.
pub const SENTINEL_GROUP: &str = "ngt-log-sentinel";

pub fn user(name: &str) -> String {
    format!("{PREFIX}{name}")
}

/// A policy written with the short test names, given the names they carry on the system.
pub fn policy(text: &str) -> String {
    text.replace("alice", &user("alice"))
        .replace("bob", &user("bob"))
        .replace("carol", &user("carol"))
        .replace("docker", &user("docker"))
        .replace("audit", &user("audit"))
        .replace("www", &user("www"))
}

pub fn built_binary(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("debug").join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace` first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// Starts a private mount namespace that `setup` (a shell script that ends by
/// printing `ready` and sleeping) mounts into, and returns once it is ready;
/// the namespace lives as long as the returned process.
pub fn hold_namespace(setup: &str) -> Child {
    let mut holder = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c", setup])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = [0u8; 6];
    holder
        .stdout
        .take()
        .unwrap()
        .read_exact(&mut ready)
        .expect("the namespace starts");
    assert_eq!(&ready, b"ready\n");
    holder
}

/// A private mount namespace holding the test's policy and PAM service, and
/// its own /var/cache (where `newgatectl compile` writes the snapshot).
pub struct Sandbox {
    holder: Child,
    pub dir: PathBuf,
    harness: &'static Harness,
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub output: String,
}

impl Sandbox {
    /// `policy` goes to /etc/newgate/policy (root, `mode`); the repository's
    /// pam/newgate to /etc/pam.d/newgate.
    pub fn new(name: &str, policy: &str, mode: u32) -> Sandbox {
        Sandbox::with_log(name, policy, mode, Some(&harness().log_socket), None)
    }

    /// A sandbox where /dev/log is a plain empty file: nothing listens there.
    pub fn without_log(name: &str, policy: &str) -> Sandbox {
        Sandbox::with_log(name, policy, 0o440, None, None)
    }

    /// A sandbox whose /dev/log is `syslog`, which the test can stop mid-run.
    pub fn with_syslog(name: &str, policy: &str, syslog: &Syslog) -> Sandbox {
        Sandbox::with_log(name, policy, 0o440, Some(&syslog.path), None)
    }

    /// A sandbox whose /dev/log is the socket at `path` (a real syslog daemon's, say).
    pub fn with_log_socket(name: &str, policy: &str, path: &Path) -> Sandbox {
        Sandbox::with_log(name, policy, 0o440, Some(path), None)
    }

    /// A sandbox whose /etc/pam.d/newgate is `pam` instead of the repository's.
    pub fn with_pam(name: &str, policy: &str, pam: &str) -> Sandbox {
        Sandbox::with_log(name, policy, 0o440, Some(&harness().log_socket), Some(pam))
    }

    fn with_log(name: &str, policy: &str, mode: u32, log: Option<&Path>, pam: Option<&str>) -> Sandbox {
        let harness = harness();
        let dir = harness.scratch.join(name);
        let _ = fs::remove_dir_all(&dir);
        for sub in ["upper/newgate", "upper/pam.d", "work", "cwd"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
        for sub in ["", "upper", "upper/newgate", "upper/pam.d", "cwd"] {
            fs::set_permissions(dir.join(sub), fs::Permissions::from_mode(0o755)).unwrap();
        }
        let policy_file = dir.join("upper/newgate/policy");
        fs::write(&policy_file, policy).unwrap();
        fs::set_permissions(&policy_file, fs::Permissions::from_mode(mode)).unwrap();
        let pam_file = dir.join("upper/pam.d/newgate");
        match pam {
            Some(text) => fs::write(&pam_file, text).unwrap(),
            None => {
                fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("../pam/newgate"), &pam_file).unwrap();
            }
        }
        fs::set_permissions(&pam_file, fs::Permissions::from_mode(0o644)).unwrap();
        let setup = format!(
            "set -e
             mount -t overlay overlay -o lowerdir=/etc,upperdir={d}/upper,workdir={d}/work /etc
             mount -t tmpfs -o mode=0755 tmpfs /run
             mount -t tmpfs -o mode=0755 tmpfs /var/cache
             mount --bind {log} /dev/log
             echo ready
             exec sleep 100000",
            d = dir.display(),
            log = log.map_or(dir.join("no-log"), Path::to_path_buf).display()
        );
        fs::write(dir.join("no-log"), "").unwrap();
        let holder = hold_namespace(&setup);
        Sandbox { holder, dir, harness }
    }

    pub fn harness(&self) -> &Harness {
        self.harness
    }

    /// Every line the runs in this sandbox logged, complete: one more run by
    /// `user`, refused (see [`SENTINEL_GROUP`]), is logged after them and
    /// waited for; its own line is left out.
    pub fn logged(&self, user: &str) -> Vec<String> {
        let out = self.run(user, &["-g", SENTINEL_GROUP, "/bin/true"], &[]);
        assert_eq!(out.code, Some(1), "the sentinel run is refused: {}", out.output);
        self.harness
            .lines_before(&self.cwd().display().to_string(), SENTINEL_GROUP)
    }

    /// The folder commands run in: its path marks this test's log lines.
    pub fn cwd(&self) -> PathBuf {
        self.dir.join("cwd")
    }

    /// `newgate ARGS` run by `user` with its groups, inside the sandbox, in a
    /// session of its own: on the given terminal, or with none at all.
    fn command(&self, user: &str, args: &[&str], env: &[(&str, &str)], on_tty: bool) -> Command {
        self.command_under(user, &[], args, env, on_tty)
    }

    /// As [`Sandbox::command`], with newgate started by `wrapper` (`prlimit --stack=...`, say).
    fn command_under(
        &self,
        user: &str,
        wrapper: &[&str],
        args: &[&str],
        env: &[(&str, &str)],
        on_tty: bool,
    ) -> Command {
        let mut command = self.as_user(user, on_tty);
        command.args(wrapper).arg(&self.harness.newgate).args(args);
        command
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .envs(env.iter().copied());
        command
    }

    /// `user`'s session in the sandbox; the program to run follows.
    fn as_user(&self, user: &str, on_tty: bool) -> Command {
        // Absolute paths: the caller's PATH given to a test must not change the harness.
        let mut command = Command::new("/usr/bin/nsenter");
        command
            .arg(format!("--mount=/proc/{}/ns/mnt", self.holder.id()))
            .arg(format!("--wd={}", self.cwd().display()))
            .args(["--", "/usr/bin/setsid"])
            .args(on_tty.then_some("--ctty"))
            .arg("/usr/bin/setpriv")
            .arg(format!("--reuid={user}"))
            .arg(format!("--regid={user}"))
            .args(["--init-groups", "--"]);
        command
    }

    /// Starts newgate without a terminal; the child's pid is newgate's own
    /// (nsenter, setsid and setpriv each exec the next).
    pub fn spawn(&self, user: &str, args: &[&str]) -> Child {
        let mut command = self.command(user, args, &[], false);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Runs without a terminal (stdin closed).
    pub fn run(&self, user: &str, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        outcome(
            self.command(user, args, env, false)
                .stdin(Stdio::null())
                .output()
                .unwrap(),
        )
    }

    /// Runs `program` (a path and its arguments) as `user` in the sandbox,
    /// without a terminal, with only `PATH` and `env` in its environment.
    pub fn run_program(&self, user: &str, program: &[&str], env: &[(&str, &str)]) -> Outcome {
        let mut command = self.as_user(user, false);
        command
            .args(program)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .envs(env.iter().copied())
            .stdin(Stdio::null());
        outcome(command.output().unwrap())
    }

    /// Runs without a terminal, `input` on standard input; stdout and stderr apart.
    pub fn run_with_input(&self, user: &str, args: &[&str], input: &str) -> (Outcome, String) {
        let mut child = self
            .command(user, args, &[], false)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The command may exit before reading it all: a broken pipe is its business.
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (outcome(out), stderr)
    }

    /// Runs without a terminal, with arguments that need not be UTF-8.
    pub fn run_bytes(&self, user: &str, args: &[&std::ffi::OsStr]) -> Outcome {
        let mut command = self.command(user, &[], &[], false);
        command.args(args).stdin(Stdio::null());
        outcome(command.output().unwrap())
    }

    /// Runs without a terminal, newgate started by `wrapper` (a program and its arguments).
    pub fn run_under(&self, user: &str, wrapper: &[&str], args: &[&str]) -> Outcome {
        outcome(
            self.command_under(user, wrapper, args, &[], false)
                .stdin(Stdio::null())
                .output()
                .unwrap(),
        )
    }

    /// Runs on a pseudo-terminal, typing each of `answers` at each password prompt.
    pub fn run_on_tty(&self, user: &str, args: &[&str], answers: &[&str]) -> Outcome {
        on_tty(self.command(user, args, &[("TERM", "dumb")], true), answers)
    }

    /// Runs with standard input, output and error on a pseudo-terminal that
    /// is not the session's controlling terminal, as `su USER -c` leaves a command.
    pub fn run_on_tty_without_control(&self, user: &str, args: &[&str]) -> Outcome {
        on_tty(self.command(user, args, &[("TERM", "dumb")], false), &[])
    }

    /// Runs on a pseudo-terminal; `at_prompt` acts at each password prompt, see [`on_tty_driven`].
    pub fn run_on_tty_driven(&self, user: &str, args: &[&str], at_prompt: impl FnMut(Prompt) -> bool) -> Outcome {
        on_tty_driven(self.command(user, args, &[("TERM", "dumb")], true), at_prompt)
    }

    /// As `run_on_tty`, calling `at_prompt` at each prompt before answering it.
    pub fn run_on_tty_with(
        &self,
        user: &str,
        args: &[&str],
        answers: &[&str],
        at_prompt: impl FnMut(usize),
    ) -> Outcome {
        on_tty_with(self.command(user, args, &[("TERM", "dumb")], true), answers, at_prompt)
    }

    /// Runs `sh -c SCRIPT` as `user` in one terminal session, answering prompts.
    pub fn run_script_on_tty(&self, user: &str, script: &str, answers: &[&str]) -> Outcome {
        on_tty(self.script_on_tty(user, script), answers)
    }

    /// `sh -c SCRIPT` as `user` in a terminal session of its own.
    fn script_on_tty(&self, user: &str, script: &str) -> Command {
        let mut command = self.as_user(user, true);
        command
            .args(["/bin/sh", "-c", script])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("TERM", "dumb");
        command
    }

    /// As [`Sandbox::run_script_on_tty`]; `at_prompt` acts at each line
    /// that says "password for" (see [`on_tty_driven`]): a script can print
    /// one to let the test change the world between two of its runs.
    pub fn run_script_on_tty_driven(&self, user: &str, script: &str, at_prompt: impl FnMut(Prompt) -> bool) -> Outcome {
        on_tty_driven(self.script_on_tty(user, script), at_prompt)
    }

    /// Runs a shell command as root inside the sandbox (to look at /run/newgate, say).
    pub fn root_shell(&self, script: &str) -> String {
        let out = Command::new("nsenter")
            .arg(format!("--mount=/proc/{}/ns/mnt", self.holder.id()))
            .args(["--", "/bin/sh", "-c", script])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    /// `program` run as root inside the sandbox, in `cwd()`; the child's pid is
    /// the program's own (nsenter execs it), so that a test can signal it.
    pub fn as_root(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("/usr/bin/nsenter");
        command
            .arg(format!("--mount=/proc/{}/ns/mnt", self.holder.id()))
            .arg(format!("--wd={}", self.cwd().display()))
            .arg("--")
            .arg(program);
        command
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// What a run without a terminal printed (stdout, then stderr) and how it ended.
fn outcome(out: std::process::Output) -> Outcome {
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stderr));
    Outcome {
        code: out.status.code(),
        output,
    }
}

/// Runs `command` on a pseudo-terminal of its own, typing each of `answers`
/// at each password prompt; a prompt with no answer left ends the run.
pub fn on_tty(command: Command, answers: &[&str]) -> Outcome {
    on_tty_with(command, answers, |_| {})
}

/// As `on_tty`, calling `at_prompt` with the prompt's number (from 1) before
/// the answer is typed: to change the world while the program waits.
pub fn on_tty_with(command: Command, answers: &[&str], mut at_prompt: impl FnMut(usize)) -> Outcome {
    on_tty_driven(command, |mut prompt| {
        at_prompt(prompt.number);
        match answers.get(prompt.number - 1) {
            Some(answer) => {
                prompt.type_line(answer);
                true
            }
            None => false,
        }
    })
}

/// A password prompt seen on the terminal, for a test to act on.
pub struct Prompt<'a> {
    /// 1 for the first prompt, 2 for the next one, ...
    pub number: usize,
    /// The process started on the terminal (newgate itself, see [`Sandbox::spawn`]).
    pub pid: nix::unistd::Pid,
    /// The terminal's master side: what is written here is typed.
    pub master: &'a mut fs::File,
}

impl Prompt<'_> {
    pub fn type_line(&mut self, line: &str) {
        self.master.write_all(line.as_bytes()).unwrap();
        self.master.write_all(b"\n").unwrap();
    }
}

/// Runs `command` on a pseudo-terminal of its own; at each password prompt,
/// `at_prompt` acts (types, signals, resizes); when it returns false the run is ended.
pub fn on_tty_driven(command: Command, at_prompt: impl FnMut(Prompt) -> bool) -> Outcome {
    on_tty_prompted_by(command, "password for", at_prompt)
}

/// As [`on_tty`], for a program whose password prompt is `prompt` (su's `Password:`).
pub fn on_tty_at(command: Command, prompt: &str, answers: &[&str]) -> Outcome {
    on_tty_prompted_by(command, prompt, |mut at| match answers.get(at.number - 1) {
        Some(answer) => {
            at.type_line(answer);
            true
        }
        None => false,
    })
}

fn on_tty_prompted_by(mut command: Command, prompt: &str, mut at_prompt: impl FnMut(Prompt) -> bool) -> Outcome {
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave: OwnedFd = pty.slave;
    command
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    let mut child = command.spawn().unwrap();
    drop(command);
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let mut master = fs::File::from(pty.master);
    let mut output = Vec::new();
    let mut prompts_seen = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        let ready = poll(&mut fds, PollTimeout::from(200u16)).unwrap_or(0);
        if ready > 0 {
            let mut buf = [0u8; 4096];
            match master.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => output.extend_from_slice(&buf[..n]),
            }
            let text = String::from_utf8_lossy(&output);
            let prompts = text.matches(prompt).count();
            if prompts > prompts_seen {
                prompts_seen = prompts;
                let prompt = Prompt {
                    number: prompts,
                    pid,
                    master: &mut master,
                };
                if !at_prompt(prompt) {
                    let _ = child.kill();
                }
            }
        } else if matches!(child.try_wait(), Ok(Some(_))) || Instant::now() > deadline {
            break;
        }
    }
    if Instant::now() > deadline {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    Outcome {
        code: status.code(),
        output: String::from_utf8_lossy(&output).replace("\r\n", "\n"),
    }
}

/// A system log of a test's own, which the test can take away mid-run.
pub struct Syslog {
    pub path: PathBuf,
    lines: Arc<Mutex<Vec<String>>>,
    stopped: Arc<std::sync::atomic::AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Syslog {
    /// Listens at `path` until `stop`.
    pub fn listen(path: &Path) -> Syslog {
        let _ = fs::remove_file(path);
        let socket = UnixDatagram::bind(path).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(0o666)).unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stopped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (sink, stop) = (lines.clone(), stopped.clone());
        let reader = std::thread::spawn(move || {
            let mut buffer = vec![0u8; 65536];
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                if let Ok(n) = socket.recv(&mut buffer) {
                    let line = String::from_utf8_lossy(&buffer[..n]).into_owned();
                    sink.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            }
            // Dropping the socket here is the daemon going away: senders get ECONNREFUSED.
        });
        Syslog {
            path: path.to_path_buf(),
            lines,
            stopped,
            reader: Some(reader),
        }
    }

    /// The daemon goes away: the socket is closed and its name removed.
    pub fn stop(&mut self) {
        self.stopped.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        let _ = fs::remove_file(&self.path);
    }

    /// Every line received so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Syslog {
    fn drop(&mut self) {
        self.stop();
    }
}
