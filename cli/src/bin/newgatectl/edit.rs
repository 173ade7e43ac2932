//! `newgatectl edit` and `newgatectl install`: change the policy without ever
//! leaving a broken or half-written file in place (the visudo of newgate).
//!
//! Both take the same lock, check the policy as a whole as it would be after
//! the change, and save by writing a new file next to the old one and
//! renaming it over: a crash at any moment leaves the old file or the new.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use lexopt::prelude::*;
use newgate_policy::{DEFAULT_POLICY, Directory, LoadOptions, Loaded, Request, Trust, Verdict, load, load_replacing};
use newgate_system::{SystemDirectory, groups_of, host_name};
use nix::fcntl::{Flock, FlockArg};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::replace::{NotReplaced, replace};
use crate::{Failure, now, print_diagnostics};

const POLICY_D: &str = "/etc/newgate/policy.d";

/// The file being changed, and the policy it belongs to.
struct Target {
    path: PathBuf,
    /// The policy checked as a whole: the file itself, or the policy a drop-in belongs to.
    policy: PathBuf,
    /// Part of the installed policy: root-owned, 0440, every check applies.
    installed: bool,
}

impl Target {
    fn new(file: Option<PathBuf>) -> Result<Target, Failure> {
        let path = std::path::absolute(file.unwrap_or_else(|| DEFAULT_POLICY.into()))
            .map_err(|e| Failure(format!("cannot resolve the file name: {e}")))?;
        // `/etc/newgate/policy.d/../policy.d/x.conf` is a drop-in too: judge the real folder.
        let path = match (path.parent().map(fs::canonicalize), path.file_name()) {
            (Some(Ok(folder)), Some(name)) => folder.join(name),
            _ => path,
        };
        if path == Path::new(DEFAULT_POLICY) {
            return Ok(Target {
                policy: path.clone(),
                path,
                installed: true,
            });
        }
        if path.parent() == Some(Path::new(POLICY_D)) {
            return Ok(Target {
                path,
                policy: DEFAULT_POLICY.into(),
                installed: true,
            });
        }
        Ok(Target {
            policy: path.clone(),
            path,
            installed: false,
        })
    }

    fn trust(&self) -> Trust {
        if self.installed { Trust::ROOT } else { Trust::Draft }
    }

    fn name(&self) -> String {
        self.path
            .file_name()
            .map_or("policy".into(), |n| n.to_string_lossy().into_owned())
    }

    /// One editor at a time for a whole policy: the lock sits beside its main file.
    fn lock(&self) -> Result<Flock<File>, Failure> {
        let folder = self.policy.parent().unwrap_or(Path::new("/"));
        let name = self
            .policy
            .file_name()
            .map_or("policy".into(), |n| n.to_string_lossy().into_owned());
        let path = folder.join(format!(".{name}.lock"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| Failure(format!("cannot open the lock {}: {e}", path.display())))?;
        Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, errno)| {
            if errno == nix::errno::Errno::EWOULDBLOCK {
                Failure(format!(
                    "{} is busy (someone else is changing it), try again later",
                    self.policy.display()
                ))
            } else {
                Failure(format!("cannot lock {}: {errno}", path.display()))
            }
        })
    }

    /// The policy as it would be with `text` in this file, with every warning.
    fn check(&self, text: &str) -> Loaded {
        let directory = SystemDirectory::new();
        let options = LoadOptions {
            trust: self.trust(),
            directory: Some(&directory as &dyn Directory),
            now: Some(now()),
            lint: true,
        };
        load_replacing(&self.policy, &self.path, text, &options)
    }

    fn current_text(&self) -> Result<Option<String>, Failure> {
        match fs::read_to_string(&self.path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Failure(format!("cannot read {}: {e}", self.path.display()))),
        }
    }

    /// Writes `text` as the new content (see [`replace`]), with the owner and
    /// mode the file had, or root's 0440 for the installed policy.
    fn save(&self, text: &str) -> Result<(), Failure> {
        let (owner, mode) = match fs::metadata(&self.path) {
            _ if self.installed => (Some((0, 0)), 0o440),
            Ok(meta) => (Some((meta.uid(), meta.gid())), meta.mode() & 0o7777),
            Err(_) => (None, 0o644),
        };
        replace(&self.path, text.as_bytes(), owner, mode).map_err(|e| match e {
            NotReplaced::Write(e) => Failure(format!(
                "cannot save {}: {e}; the old file is unchanged",
                self.path.display()
            )),
            NotReplaced::SyncFolder(e) => Failure(format!(
                "{} is saved, but syncing its folder failed: {e}",
                self.path.display()
            )),
        })
    }
}

/// Under a file size limit (RLIMIT_FSIZE) smaller than what is written, the
/// default SIGXFSZ would kill us halfway through a temporary file. Handled,
/// the write fails with EFBIG instead, and the temporary file is removed and
/// the error reported. A handler rather than SIG_IGN: exec resets it, so the
/// editor starts with the default.
pub(crate) fn report_file_size_limit() -> Result<(), Failure> {
    let ignored = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGXFSZ, ignored)
        .map(drop)
        .map_err(|e| Failure(format!("cannot handle SIGXFSZ: {e}")))
}

/// Signals, read through pipes so that waiting (for the editor, for an
/// answer) can be interrupted and the temporary copy removed. The terminal's
/// ^C and ^\ also reach the editor, which handles them: they end the edit
/// only at our own prompts. SIGTERM and SIGHUP always end it.
struct Signals {
    terminal: UnixStream,
    ending: UnixStream,
}

impl Signals {
    fn watch() -> Result<Signals, Failure> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
        let pipe = |signals: &[i32]| -> Result<UnixStream, Failure> {
            let (read_end, write_end) =
                UnixStream::pair().map_err(|e| Failure(format!("cannot watch signals: {e}")))?;
            read_end.set_nonblocking(true).map_err(|e| Failure(e.to_string()))?;
            for &signal in signals {
                let end = write_end.try_clone().map_err(|e| Failure(e.to_string()))?;
                signal_hook::low_level::pipe::register(signal, end)
                    .map_err(|e| Failure(format!("cannot watch signals: {e}")))?;
            }
            Ok(read_end)
        };
        Ok(Signals {
            terminal: pipe(&[SIGINT, SIGQUIT])?,
            ending: pipe(&[SIGTERM, SIGHUP])?,
        })
    }

    /// Waits until `fd` is readable (`true`) or any handled signal arrives (`false`).
    fn wait_readable(&self, fd: std::os::fd::BorrowedFd) -> bool {
        let mut fds = [
            PollFd::new(fd, PollFlags::POLLIN),
            PollFd::new(self.terminal.as_fd(), PollFlags::POLLIN),
            PollFd::new(self.ending.as_fd(), PollFlags::POLLIN),
        ];
        loop {
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) if fds[1..].iter().any(|f| f.revents().is_some_and(|r| !r.is_empty())) => return false,
                Ok(_) => return true,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return false,
            }
        }
    }

    /// Whether SIGTERM or SIGHUP arrived within `timeout`; the terminal's signals are let go.
    fn ending_within(&self, timeout: Duration) -> bool {
        let mut drain = [0u8; 64];
        while (&self.terminal).read(&mut drain).is_ok_and(|n| n > 0) {}
        let mut fds = [PollFd::new(self.ending.as_fd(), PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
        matches!(poll(&mut fds, timeout), Ok(n) if n > 0)
    }
}

/// The private copy being edited: a 0600 file in a 0700 folder, removed on
/// every way out but one: a save that failed keeps it, so that no edit is lost.
struct Scratch {
    folder: Option<PathBuf>,
    file: PathBuf,
}

impl Scratch {
    fn new(name: &str, text: &str) -> Result<Scratch, Failure> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let folder = std::env::temp_dir().join(format!("newgatectl-{}-{stamp}", std::process::id()));
        fs::DirBuilder::new().mode(0o700).create(&folder).map_err(|e| {
            Failure(format!(
                "cannot make a private folder in {}: {e}",
                std::env::temp_dir().display()
            ))
        })?;
        let scratch = Scratch {
            file: folder.join(name),
            folder: Some(folder),
        };
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&scratch.file)
            .map_err(|e| Failure(format!("cannot make the private copy: {e}")))?;
        file.write_all(text.as_bytes())
            .map_err(|e| Failure(format!("cannot make the private copy: {e}")))?;
        Ok(scratch)
    }
}

impl Scratch {
    /// Leaves the copy in place; its path.
    fn keep(mut self) -> PathBuf {
        self.folder = None;
        std::mem::take(&mut self.file)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(folder) = &self.folder {
            let _ = fs::remove_dir_all(folder);
        }
    }
}

/// How to pick another editor; sudo drops VISUAL and EDITOR from the environment.
const CHOOSE_AN_EDITOR: &str = "  choose the editor with VISUAL or EDITOR (through sudo: `sudo EDITOR=nano newgatectl edit` or `sudo -E`), or with `set editor` in the policy";

/// `$VISUAL`, then `$EDITOR`, then `set editor`, then `vi`; words split on blanks.
fn editor_command(policy_editor: Option<String>) -> Vec<String> {
    let chosen = ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .chain(policy_editor)
        .find(|value| !value.trim().is_empty())
        .unwrap_or_else(|| "vi".into());
    chosen.split_whitespace().map(String::from).collect()
}

/// Runs the editor on `file`; `Err` with the exit status when it failed or a signal ended the edit.
fn run_editor(editor: &[String], file: &Path, signals: &Signals) -> Result<(), Failure> {
    let mut child = Command::new(&editor[0])
        .args(&editor[1..])
        .arg(file)
        .spawn()
        .map_err(|e| {
            Failure(format!(
                "cannot run the editor `{}`: {e}; nothing was saved\n{CHOOSE_AN_EDITOR}",
                editor.join(" ")
            ))
        })?;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| Failure(e.to_string()))? {
            return if status.success() {
                Ok(())
            } else {
                Err(Failure(format!(
                    "the editor `{}` exited with {status}; nothing was saved\n{CHOOSE_AN_EDITOR}",
                    editor.join(" ")
                )))
            };
        }
        if signals.ending_within(Duration::from_millis(100)) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Failure("interrupted; nothing was saved".into()));
        }
    }
}

fn ask(question: &str, signals: &Signals) -> Option<String> {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let stdin = std::io::stdin();
    if !signals.wait_readable(stdin.as_fd()) {
        eprintln!();
        return None;
    }
    let mut line = String::new();
    match stdin.lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim().to_lowercase()),
    }
}

/// The administrator who ran us through newgate (or sudo): who must keep the right to edit.
fn administrator() -> Option<String> {
    ["NEWGATE_USER", "SUDO_USER"]
        .iter()
        .filter_map(|n| std::env::var(n).ok())
        .find(|u| !u.is_empty() && u != "root")
}

/// Whether `admin` could still run this very `newgatectl edit` through newgate under the new policy.
fn keeps_edit_right(loaded: &Loaded, admin: &str) -> bool {
    let Some(policy) = &loaded.policy else { return true };
    let Ok(Some(groups)) = groups_of(admin).map(|found| found.map(|m| m.names)) else {
        return true;
    };
    let program = std::env::var("NEWGATE_COMMAND")
        .ok()
        .and_then(|line| line.split(' ').next().map(PathBuf::from))
        .or_else(|| std::env::current_exe().ok())
        .unwrap_or_else(|| "/usr/sbin/newgatectl".into());
    let args: Vec<String> = std::env::args().skip(1).collect();
    let host = host_name().unwrap_or_default();
    let request = Request {
        user: admin,
        groups: &groups,
        target_user: None,
        target_group: None,
        command: Some(&program),
        args: &args,
        host: &host,
        service: "newgate",
        time: now(),
    };
    policy.decide(&request).verdict == Verdict::Permit
}

pub fn edit(mut parser: lexopt::Parser) -> Result<u8, Failure> {
    let mut file = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Value(v) if file.is_none() => file = Some(PathBuf::from(v)),
            other => return Err(other.unexpected().into()),
        }
    }
    let target = Target::new(file)?;
    if target.installed && !nix::unistd::geteuid().is_root() {
        return Err(Failure(format!(
            "editing {} needs root (it is a root-owned file)",
            target.path.display()
        )));
    }
    let signals = Signals::watch()?;
    report_file_size_limit()?;
    let _lock = match target.lock() {
        Ok(lock) => lock,
        Err(Failure(busy)) => {
            eprintln!("newgatectl: {busy}");
            return Ok(1);
        }
    };
    let original = target.current_text()?;
    let policy_editor = load(
        &target.policy,
        &LoadOptions {
            trust: target.trust(),
            directory: None,
            now: None,
            lint: false,
        },
    )
    .policy
    .and_then(|p| p.settings.editor.clone());
    let editor = editor_command(policy_editor);
    let scratch = Scratch::new(&target.name(), original.as_deref().unwrap_or(""))?;
    loop {
        // Nothing was changed: not a usage error, and no usage hint.
        if let Err(Failure(why)) = run_editor(&editor, &scratch.file, &signals) {
            eprintln!("newgatectl: {why}");
            return Ok(1);
        }
        let mut text = String::new();
        File::open(&scratch.file)
            .and_then(|mut f| f.read_to_string(&mut text))
            .map_err(|e| Failure(format!("cannot read the edited copy: {e}")))?;
        if Some(&text) == original.as_ref() {
            eprintln!("newgatectl: no changes; {} is left as it was", target.path.display());
            if target.installed {
                crate::compile::refresh_unless_in_use();
            }
            return Ok(0);
        }
        let loaded = target.check(&text);
        print_diagnostics(&loaded);
        if loaded.policy.is_none() {
            match ask("What now? (e)dit again, e(x)it without saving: ", &signals).as_deref() {
                Some("e") => continue,
                _ => {
                    eprintln!("newgatectl: nothing was saved");
                    return Ok(1);
                }
            }
        }
        if let Some(admin) = administrator()
            && !keeps_edit_right(&loaded, &admin)
        {
            eprintln!(
                "newgatectl: warning: after this change, {admin} could no longer run this `newgatectl edit` through newgate"
            );
            match ask("Save anyway? [y/N] ", &signals).as_deref() {
                Some("y" | "yes") => {}
                Some("e") => continue,
                _ => {
                    eprintln!("newgatectl: nothing was saved");
                    return Ok(1);
                }
            }
        }
        if let Err(Failure(why)) = target.save(&text) {
            let kept = scratch.keep();
            eprintln!("newgatectl: {why}; your edited copy is kept at {}", kept.display());
            return Ok(1);
        }
        eprintln!("newgatectl: saved {}", target.path.display());
        if target.installed {
            crate::compile::refresh();
        }
        return Ok(0);
    }
}

pub fn install(mut parser: lexopt::Parser) -> Result<u8, Failure> {
    let (mut new_file, mut to, mut check_only) = (None, None, false);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("to") => to = Some(PathBuf::from(parser.value()?)),
            Long("check") => check_only = true,
            Value(v) if new_file.is_none() => new_file = Some(PathBuf::from(v)),
            other => return Err(other.unexpected().into()),
        }
    }
    let new_file =
        new_file.ok_or_else(|| Failure("install needs the new file: newgatectl install NEWFILE [--to FILE]".into()))?;
    let text =
        fs::read_to_string(&new_file).map_err(|e| Failure(format!("cannot read {}: {e}", new_file.display())))?;
    let target = Target::new(to)?;
    if target.installed && !check_only && !nix::unistd::geteuid().is_root() {
        return Err(Failure(format!(
            "installing {} needs root (it is a root-owned file)",
            target.path.display()
        )));
    }
    report_file_size_limit()?;
    let _lock = match (check_only, target.lock()) {
        (true, _) => None,
        (false, Ok(lock)) => Some(lock),
        (false, Err(Failure(busy))) => {
            eprintln!("newgatectl: {busy}");
            return Ok(1);
        }
    };
    let loaded = target.check(&text);
    print_diagnostics(&loaded);
    if loaded.policy.is_none() {
        eprintln!(
            "newgatectl: refused: {} would leave the policy invalid; nothing was installed",
            new_file.display()
        );
        return Ok(1);
    }
    if check_only {
        println!("{}: OK as {}", new_file.display(), target.path.display());
        return Ok(0);
    }
    if target.current_text()?.as_deref() == Some(text.as_str()) {
        println!("{} is already up to date", target.path.display());
        if target.installed {
            crate::compile::refresh_unless_in_use();
        }
        return Ok(0);
    }
    if let Err(Failure(why)) = target.save(&text) {
        eprintln!("newgatectl: {why}");
        return Ok(1);
    }
    println!("installed {} as {}", new_file.display(), target.path.display());
    if target.installed {
        crate::compile::refresh();
    }
    Ok(0)
}
