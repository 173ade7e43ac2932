//! newgate: run a command as another group or user, as the policy allows.
//!
//! `run` tells the whole story, one stage a line: read the invocation, know
//! the caller, resolve the targets and the command, decide, authenticate,
//! check the account and open the session, build the environment, switch
//! and exec. Each stage either hands the next what it needs or fails with a
//! [`Failure`], which `run` logs and `main` tells the caller.

#![deny(unsafe_code)]

mod args;
mod audit;
mod conversation;
mod failure;
mod harden;
mod logsocket;
mod pam;
mod persist;
mod sys;
mod tty;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use newgate::resolve::{ResolveError, resolve_command};
use newgate_policy::env::{self, EnvironmentInput, command_environment};
use newgate_policy::{Audit as AuditMode, DEFAULT_POLICY, Options, Policy, Request, Settings, Verdict, handoff};
use newgate_system::{Account, Enforcing, PolicyRefused, Scoped, host_name, load_enforcing, target_group, target_user};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Group, Pid, Uid};
use pam_sys::types::{PamItemType, PamReturnCode};

use crate::args::{Args, Mode, parse_args};
use crate::audit::Audit;
use crate::conversation::Terminal;
use crate::failure::{AuthError, FAILURE, Failure, StepError, UsageError, refused};
use crate::sys::Credentials;
use newgate::audit_line::Event;

fn main() -> ExitCode {
    let caller_limits = match harden::own_limits() {
        Ok(limits) => limits,
        Err(why) => {
            eprintln!("newgate: {why}");
            return ExitCode::from(FAILURE);
        }
    };
    match run(caller_limits) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("newgate: {failure}");
            ExitCode::from(failure.code())
        }
    }
}

fn run(caller_limits: harden::CallerLimits) -> Result<u8, Failure> {
    // As typed, for the log of a command line that cannot be read.
    let typed: Vec<OsString> = std::env::args_os().skip(1).collect();
    let invocation = parse_args(typed.clone());
    harden::self_check()?;
    let (signals, inherited) = harden::harden(caller_limits)?;
    let policy = load_enforcing(Path::new(DEFAULT_POLICY));
    let mut log = AuditLog::open(policy.as_ref().ok().map(|p| p.settings()))?;
    let mut record = Record::new(typed);
    let outcome = stages(invocation, policy, &mut record, &mut log, &signals, &inherited);
    if let Err(failure) = &outcome {
        log.refusal(&record, failure);
    }
    outcome
}

/// The stages of a run, each named for what it does; `record` follows the
/// request as it becomes known, for the audit line of whatever ends the run.
fn stages(
    invocation: Result<Args, UsageError>,
    policy: Result<Enforcing, PolicyRefused>,
    record: &mut Record,
    log: &mut AuditLog,
    signals: &SignalFd,
    inherited: &harden::Inherited,
) -> Result<u8, Failure> {
    let caller = identify_caller(record)?;
    let args = invocation.map_err(Failure::Usage)?;
    record.requested(&args, &caller);
    if matches!(args.mode, Mode::Forget | Mode::ForgetLoudly) {
        return forget(&caller, args.mode);
    }
    let enforcing = policy.map_err(Failure::Policy)?;
    if args.mode == Mode::List {
        return list(&args, &caller, &enforcing, record, log);
    }
    let policy = enforcing
        .for_requester(&caller.name, &caller.groups.names)
        .map_err(Failure::Policy)?;
    if args.mode == Mode::Validate {
        return validate(&args, &caller, &policy, record, log);
    }
    let resolved = resolve_targets_and_command(&args, &caller, &policy.settings, record)?;
    let grant = decide(&policy, &caller, &args, &resolved)?;
    let Authenticated {
        pam,
        persist_session,
        authenticated,
        refresh,
    } = authenticate(
        &caller,
        &args,
        &record.tty,
        &resolved.runs_as(&caller).name,
        &grant.options,
        &policy.settings,
        |pam| hand_off(pam, &args, &resolved),
    )?;
    let mut pam = open_account(pam)?;
    // Each answer typed (a password, a new one for an expired account) may
    // have taken minutes, and so may a module that asks nothing (a finger
    // on a reader, a key to touch, a push to approve): the policy as it is
    // now decides again, for the caller's groups as they are now (a deny
    // added meanwhile, a `when` that ended, a group taken away), with its
    // audit settings.
    let reloaded = waited(authenticated, &mut pam)
        .then(|| load_enforcing(Path::new(DEFAULT_POLICY)))
        .transpose()
        .map_err(Failure::Policy)?;
    let (caller, policy, grant) = match &reloaded {
        Some(current) => decide_again(current, &args, &resolved, record, log)?,
        None => (caller, policy, grant),
    };
    remember(&caller, &grant.options, persist_session.as_ref(), refresh);
    let mut session = open_session(pam)?;
    let environment = build_environment(
        &mut session,
        &caller,
        &args,
        &resolved,
        &grant.options,
        &policy.settings,
    );
    record.rule = Some(grant.rule);
    if !grant.options.nolog {
        log.permit(record)?;
    }
    let credentials = credentials(&caller, resolved.target_user.as_ref(), resolved.target_group.as_ref());
    // The caller's umask, and the policy's bits on top, as sudo does: a caller's 077 stays 077.
    let umask = inherited.umask.bits() | policy.settings.umask;
    // Nothing reads the policy from here on, and newgate's exit returns its
    // memory at once: freeing a large policy piece by piece after the
    // command has ended would only delay the exit (tens of ms at 100,000 rules).
    std::mem::forget(policy);
    std::mem::forget(reloaded);
    std::mem::forget(enforcing);
    let ended = switch_and_exec(&resolved, &environment, credentials, umask, signals, inherited);
    drop(session);
    ended
}

/// Whether the caller may have waited since the first decision: the PAM
/// authentication stage ran (a module that asks nothing may wait as long as
/// a prompt), or something was typed at a prompt.
fn waited(authenticated: bool, pam: &mut pam::Pam<Terminal>) -> bool {
    authenticated || pam.conversation().answered()
}

/// The policy as it is now, for the caller as they are now; the audit log
/// follows its settings first, so that a refusal is logged as it says.
fn read_again<'p>(
    current: &'p Enforcing,
    record: &mut Record,
    log: &mut AuditLog,
) -> Result<(Account, Scoped<'p>), Failure> {
    let caller = identify_caller(record)?;
    let policy = current
        .for_requester(&caller.name, &caller.groups.names)
        .map_err(Failure::Policy)?;
    log.follow(&policy.settings)?;
    Ok((caller, policy))
}

/// The same request decided by the policy as it is now, for the caller as
/// they are now.
fn decide_again<'p>(
    current: &'p Enforcing,
    args: &Args,
    resolved: &Resolved,
    record: &mut Record,
    log: &mut AuditLog,
) -> Result<(Account, Scoped<'p>, Grant), Failure> {
    let (caller, policy) = read_again(current, record, log)?;
    let grant = decide(&policy, &caller, args, resolved).map_err(|e| Failure::DecidedAgain(Box::new(e)))?;
    Ok((caller, policy, grant))
}

/// `-k` and `-K`: every remembered authentication of the caller is removed.
fn forget(caller: &Account, mode: Mode) -> Result<u8, Failure> {
    let removed = persist::forget(caller.uid.as_raw()).map_err(StepError::Forget)?;
    if mode == Mode::ForgetLoudly {
        let plural = if removed == 1 { "" } else { "s" };
        eprintln!(
            "newgate: removed {removed} remembered authentication{plural} of {}: the next run asks for a password",
            caller.name
        );
    }
    Ok(0)
}

/// `-l`: the rules that concern the caller (or, for root, `-U USER`); with
/// a command, whether it would be permitted, and by which rule, without
/// running anything: exit 0 and the rule, or exit 1 and one line.
fn list(
    args: &Args,
    caller: &Account,
    enforcing: &Enforcing,
    record: &mut Record,
    log: &mut AuditLog,
) -> Result<u8, Failure> {
    let asked = match &args.list_user {
        None => caller.clone(),
        Some(name) if *name == caller.name => caller.clone(),
        // The policy is root's to read: others may only ask about themselves.
        Some(_) if !caller.uid.is_root() => return Err(Failure::ListOthers),
        Some(name) => {
            let user = newgate_system::user_by_name(name)
                .map_err(|e| Failure::Target(e.into()))?
                .ok_or_else(|| {
                    Failure::Target(newgate_system::TargetError::Unknown(newgate_system::Entry::User(
                        name.clone(),
                    )))
                })?;
            newgate_system::requester(user).map_err(Failure::Caller)?
        }
    };
    let policy = &*enforcing
        .for_requester(&asked.name, &asked.groups.names)
        .map_err(Failure::Policy)?;
    if args.command.is_empty() {
        log.permit(record)?;
        list_rules(policy, &asked);
        return Ok(0);
    }
    let resolved = resolve_targets_and_command(args, &asked, &policy.settings, record)?;
    let grant = decide(policy, &asked, args, &resolved)?;
    record.rule = Some(grant.rule.clone());
    log.permit(record)?;
    println!("{}: {}", grant.rule, grant.text);
    println!("options: {}", grant.options);
    Ok(0)
}

/// `-v`: authenticates (unless a remembered authentication is fresh) and
/// starts or refreshes the record, running nothing.
fn validate(
    args: &Args,
    caller: &Account,
    policy: &Policy,
    record: &mut Record,
    log: &mut AuditLog,
) -> Result<u8, Failure> {
    something_permitted(policy, caller)?;
    let options = Options {
        persist: Some(policy.settings.persist_default.unwrap_or(policy.settings.persist)),
        ..Options::default()
    };
    let authenticated = authenticate(caller, args, &record.tty, "root", &options, &policy.settings, |pam| {
        pam.putenv(handoff::VALIDATE, handoff::VALIDATING)
    })?;
    let mut pam = open_account(authenticated.pam)?;
    // As for a command: authentication may have taken minutes, and the
    // record is written only if the policy as it is now still permits the
    // caller, as they are now, something.
    if waited(authenticated.authenticated, &mut pam) {
        let current = load_enforcing(Path::new(DEFAULT_POLICY)).map_err(Failure::Policy)?;
        let (caller, policy) = read_again(&current, record, log)?;
        something_permitted(&policy, &caller).map_err(|e| Failure::DecidedAgain(Box::new(e)))?;
    }
    remember(
        caller,
        &options,
        authenticated.persist_session.as_ref(),
        authenticated.refresh,
    );
    if persist::Session::current().is_none() {
        eprintln!("newgate: warning: no terminal session, so there is nothing to remember the authentication for");
    }
    log.permit(record)?;
    Ok(0)
}

/// `-v` needs a rule that permits the caller something.
fn something_permitted(policy: &Policy, caller: &Account) -> Result<(), Failure> {
    if policy.permits_something(&caller.name, &caller.groups.names) {
        Ok(())
    } else {
        Err(Failure::NothingPermitted {
            caller: caller.name.clone(),
        })
    }
}

/// Looks the command up with the caller's own rights: the effective uid is
/// the caller's while it runs (the saved uid, root, brings it back), so that
/// whether newgate finds, refuses or cannot run a path tells the caller
/// nothing about folders they could not look into themselves.
fn resolve_as_caller(
    name: &str,
    secure_path: &[PathBuf],
    cwd: &Path,
    caller: Uid,
) -> Result<Result<PathBuf, ResolveError>, Failure> {
    // A change of effective uid resets the dumpable flag from fs.suid_dumpable:
    // until it is cleared again, a signal that dumps core waits.
    let mut dumping = SigSet::empty();
    for signal in [
        Signal::SIGQUIT,
        Signal::SIGILL,
        Signal::SIGTRAP,
        Signal::SIGABRT,
        Signal::SIGBUS,
        Signal::SIGFPE,
        Signal::SIGSEGV,
        Signal::SIGXCPU,
        Signal::SIGXFSZ,
        Signal::SIGSYS,
    ] {
        dumping.add(signal);
    }
    let mut before = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&dumping), Some(&mut before)).map_err(refused("block signals"))?;
    nix::unistd::seteuid(caller).map_err(refused("take the caller's rights"))?;
    let found = resolve_command(name, secure_path, cwd);
    nix::unistd::seteuid(Uid::from_raw(0)).map_err(refused("take root's rights back"))?;
    harden::not_dumpable()?;
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&before), None).map_err(refused("restore the signal mask"))?;
    Ok(found)
}

/// The audit log for this run: where events go, and whether a failure to write one stops the run.
struct AuditLog {
    audit: Audit,
    /// The settings it was opened with.
    mode: AuditMode,
    format: newgate_policy::LogFormat,
}

impl AuditLog {
    /// Connects to the system log; `settings` are the policy's, when it can be used.
    fn open(settings: Option<&Settings>) -> Result<AuditLog, Failure> {
        let format = settings.map_or(newgate_policy::LogFormat::Sudo, |s| s.log_format);
        let mode = settings.map_or(AuditMode::BestEffort, |s| s.audit);
        if mode == AuditMode::Off {
            return Ok(AuditLog {
                audit: Audit::unavailable(format),
                mode,
                format,
            });
        }
        let audit = match Audit::connect(format) {
            Ok(audit) => audit,
            Err(_) if mode == AuditMode::Required => {
                return Err(Failure::AuditRequired(format!(
                    "no audit log: {}; the policy requires an audit log (set audit = required), so nothing runs",
                    logsocket::problem(Path::new(logsocket::SOCKET))
                )));
            }
            Err(_) => {
                eprintln!(
                    "newgate: warning: no audit log: {}; going on without one (set audit = off to say so)",
                    logsocket::problem(Path::new(logsocket::SOCKET))
                );
                Audit::unavailable(format)
            }
        };
        Ok(AuditLog { audit, mode, format })
    }

    /// Opens the log again when the policy read again asks for another
    /// `audit` or `log_format`: `audit = required` set while the caller was
    /// at the prompt holds for this run too.
    fn follow(&mut self, settings: &Settings) -> Result<(), Failure> {
        if (settings.audit, settings.log_format) != (self.mode, self.format) {
            *self = AuditLog::open(Some(settings))?;
        }
        Ok(())
    }

    fn write(&mut self, event: &Event) -> Result<(), Failure> {
        match self.audit.log(event) {
            Ok(()) => Ok(()),
            Err(why) if self.mode == AuditMode::Required => Err(Failure::AuditRequired(format!(
                "{why}; the policy requires an audit log, so nothing runs"
            ))),
            Err(why) => {
                eprintln!("newgate: warning: {why}");
                Ok(())
            }
        }
    }

    /// The line of a permitted run, written before the command starts.
    fn permit(&mut self, record: &Record) -> Result<(), Failure> {
        self.write(&record.event(None))
    }

    /// The line of a refusal or failure; the caller is refused either way, so
    /// a log that cannot be written only adds a message.
    fn refusal(&mut self, record: &Record, failure: &Failure) {
        let Some(problem) = failure.logged() else { return };
        if let Err(why) = self.write(&record.event(Some(problem))) {
            eprintln!("newgate: {why}");
        }
    }
}

/// What the audit line says of the request, filled in as the stages learn it.
struct Record {
    user: String,
    tty: String,
    pwd: String,
    run_as_user: String,
    run_as_group: Option<String>,
    /// `FILE:LINE` of the deciding rule, once the run is permitted.
    rule: Option<String>,
    /// The command line as typed, then as resolved.
    command: Vec<OsString>,
}

impl Record {
    fn new(typed: Vec<OsString>) -> Record {
        Record {
            user: format!("#{}", nix::unistd::getuid()),
            tty: tty::name(),
            pwd: working_folder(),
            run_as_user: String::new(),
            run_as_group: None,
            rule: None,
            command: typed,
        }
    }

    /// The request as the caller typed it; `-l` and `-v` logged as what they are.
    fn requested(&mut self, args: &Args, caller: &Account) {
        if args.mode == Mode::Validate {
            self.command = vec!["validate".into()];
            return;
        }
        self.run_as_user = match (&args.user, &args.group) {
            (Some(user), _) => user.clone(),
            (None, Some(_)) => caller.name.clone(),
            (None, None) => "root".into(),
        };
        self.run_as_group = args.group.clone();
        self.set_command(args.mode, args.command.iter().map(OsString::from));
    }

    fn set_command(&mut self, mode: Mode, words: impl Iterator<Item = OsString>) {
        let list = (mode == Mode::List).then(|| OsString::from("list"));
        self.command = list.into_iter().chain(words).collect();
    }

    fn event(&self, problem: Option<String>) -> Event<'_> {
        Event {
            user: &self.user,
            problem,
            tty: &self.tty,
            pwd: &self.pwd,
            run_as_user: &self.run_as_user,
            run_as_group: self.run_as_group.as_deref(),
            rule: self.rule.clone(),
            command: &self.command,
        }
    }
}

/// The caller's working folder as logged; a folder removed since the caller entered it has no path.
fn working_folder() -> String {
    std::env::current_dir().map_or("(removed)".into(), |c| c.display().to_string())
}

/// The caller, with every group they belong to. A group that cannot be looked
/// up would silently stop a `deny %group`: any failure refuses, and is logged.
fn identify_caller(record: &mut Record) -> Result<Account, Failure> {
    let uid = nix::unistd::getuid();
    let user = newgate_system::user_by_uid(uid)
        .map_err(Failure::Caller)?
        .ok_or(Failure::CallerUnknown(uid))?;
    record.user = user.name.clone();
    newgate_system::requester(user).map_err(Failure::Caller)
}

/// The targets and the program, as they will be switched to and run.
struct Resolved {
    target_user: Option<Account>,
    target_group: Option<Group>,
    program: PathBuf,
    args: Vec<String>,
    /// `-i`: the shell's name with a `-` in front, which makes it a login shell.
    arg0: Option<String>,
    /// The folder the command starts in; `None`: the caller's own.
    folder: Option<Folder>,
}

/// Where the command starts.
enum Folder {
    /// `-D`: the folder the rule's `chdir` glob allowed, entered by that
    /// very path: one holding a symbolic link is refused, since the glob
    /// matched the link's path and not where it leads.
    Named(PathBuf),
    /// `-i`: the target's home, as the user database gives it.
    Home(PathBuf),
}

impl Folder {
    fn path(&self) -> &Path {
        match self {
            Folder::Named(path) | Folder::Home(path) => path,
        }
    }
}

impl Resolved {
    /// Whose account the command runs in: the target user's, or the caller's for a group alone.
    fn runs_as<'a>(&'a self, caller: &'a Account) -> &'a Account {
        self.target_user.as_ref().unwrap_or(caller)
    }

    fn command_line(&self) -> String {
        std::iter::once(self.program.display().to_string())
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn user_named(name: &str) -> Result<Account, Failure> {
    let user = target_user(name).map_err(Failure::Target)?;
    newgate_system::target_account(user).map_err(|e| Failure::Target(e.into()))
}

/// Looks up the target user and group by their one names, and the program
/// with the caller's rights; without a command, the target's shell.
/// `-i CMD ARGS` runs `SHELL -c LINE` as sudo does: every character of the
/// words but letters, digits, `_`, `-` and `$` escaped with `\\`, so that the
/// shell sees the words as typed while still expanding variables.
fn login_shell_line(words: &[String]) -> String {
    words
        .iter()
        .map(|word| {
            word.chars()
                .flat_map(|c| {
                    let escape = !(c.is_alphanumeric() || matches!(c, '_' | '-' | '$'));
                    escape.then_some('\\').into_iter().chain(std::iter::once(c))
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn resolve_targets_and_command(
    args: &Args,
    caller: &Account,
    settings: &Settings,
    record: &mut Record,
) -> Result<Resolved, Failure> {
    let target_user = match &args.user {
        Some(name) => Some(user_named(name)?),
        None if args.group.is_none() => Some(user_named("root")?),
        None => None,
    };
    let target_group = match &args.group {
        Some(name) => Some(target_group(name).map_err(Failure::Target)?),
        None => None,
    };
    let runs_as = target_user.as_ref().unwrap_or(caller);
    let mut command = args.command.clone();
    if args.login && !command.is_empty() {
        command = vec![runs_as.shell.clone(), "-c".into(), login_shell_line(&args.command)];
    } else if command.is_empty() {
        command.push(runs_as.shell.clone());
    }
    let arg0 = args.login.then(|| {
        let name = Path::new(&runs_as.shell)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        format!("-{}", name.unwrap_or_default())
    });
    let folder = match (&args.folder, args.login) {
        (Some(folder), _) => Some(Folder::Named(PathBuf::from(folder))),
        (None, true) => Some(Folder::Home(PathBuf::from(&runs_as.home))),
        (None, false) => None,
    };
    let relative = command[0].contains('/') && !command[0].starts_with('/');
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(_) if relative => {
            return Err(Failure::WorkingFolderGone {
                command: command[0].clone(),
            });
        }
        // Only a name with a `/` is read against it.
        Err(_) => PathBuf::from("/"),
    };
    let program = resolve_as_caller(&command[0], &settings.secure_path, &cwd, caller.uid)?.map_err(Failure::Command)?;
    let resolved = Resolved {
        target_user,
        target_group,
        program,
        args: command[1..].to_vec(),
        arg0,
        folder,
    };
    record.run_as_user = resolved.runs_as(caller).name.clone();
    record.set_command(
        args.mode,
        std::iter::once(resolved.program.clone().into_os_string()).chain(resolved.args.iter().map(OsString::from)),
    );
    Ok(resolved)
}

/// What the deciding rule grants.
struct Grant {
    /// `FILE:LINE` of the deciding rule.
    rule: String,
    /// The deciding rule as written.
    text: String,
    options: Options,
}

fn decide(policy: &Policy, caller: &Account, args: &Args, resolved: &Resolved) -> Result<Grant, Failure> {
    let host = host_name().unwrap_or_default();
    let request = Request {
        user: &caller.name,
        groups: &caller.groups.names,
        target_user: args.user.as_deref(),
        target_group: args.group.as_deref(),
        command: Some(&resolved.program),
        args: &resolved.args,
        host: &host,
        service: "newgate",
        time: jiff::Timestamp::now(),
    };
    let decision = policy.decide(&request);
    let grant = match (decision.verdict, decision.rule) {
        (Verdict::Permit, Some(rule)) => Grant {
            rule: rule.location.to_string(),
            text: rule.text.clone(),
            options: decision.options.clone(),
        },
        _ => {
            return Err(Failure::NotPermitted {
                caller: caller.name.clone(),
                command_line: resolved.command_line(),
                target: describe_target(args, resolved.runs_as(caller)),
            });
        }
    };
    // What the rule does not allow is refused before any password is asked.
    if args.keep_environment && !grant.options.keepenv {
        return Err(Failure::MayNotKeepEnvironment {
            caller: caller.name.clone(),
            rule: grant.rule,
        });
    }
    if let Some(folder) = &args.folder
        && !grant.options.chdir.as_ref().is_some_and(|chdir| chdir.allows(folder))
    {
        return Err(Failure::MayNotChdir {
            caller: caller.name.clone(),
            folder: folder.clone(),
            rule: grant.rule,
        });
    }
    Ok(grant)
}

/// The password prompt: `-p`'s with sudo's escapes (`%u` the caller, `%U`
/// the target user, `%h` the host, `%p` whose password, `%%` a `%`), or
/// newgate's own, which names whose password it is.
fn password_prompt(custom: Option<&str>, caller: &str, target: &str) -> String {
    let Some(custom) = custom else {
        return format!("[newgate] password for {caller}: ");
    };
    let host = host_name().unwrap_or_default();
    let short_host = host.split('.').next().unwrap_or_default();
    let mut prompt = String::new();
    let mut chars = custom.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            prompt.push(c);
            continue;
        }
        match chars.next() {
            Some('u') | Some('p') => prompt.push_str(caller),
            Some('U') => prompt.push_str(target),
            Some('h') => prompt.push_str(short_host),
            Some('%') => prompt.push('%'),
            Some(other) => {
                prompt.push('%');
                prompt.push(other);
            }
            None => prompt.push('%'),
        }
    }
    prompt
}

/// A caller PAM has authenticated, or did not need to ask.
struct Authenticated {
    pam: pam::Pam<Terminal>,
    /// The terminal session whose `persist` record starts or is refreshed
    /// once the run is permitted for good; `None` without `persist`, and
    /// with `-k COMMAND`, which leaves the record as it was.
    persist_session: Option<persist::Session>,
    /// The PAM authentication stage ran: however long its modules took,
    /// nothing may have been typed.
    authenticated: bool,
    /// What the run may write into the `persist` record: that the caller
    /// authenticated, or that a record fresh for this rule's duration spared
    /// the prompt; `None` when neither (root, `nopass`).
    refresh: Option<persist::Refresh>,
}

/// Starts PAM (with `items` set by the caller of this stage) and, unless the
/// rule or a fresh remembered authentication spares it, asks for the
/// caller's password; PAM must then still name the caller. `tty` is the
/// terminal's name as the audit line has it.
fn authenticate(
    caller: &Account,
    args: &Args,
    tty: &str,
    target: &str,
    options: &Options,
    settings: &Settings,
    items: impl FnOnce(&mut pam::Pam<Terminal>) -> Result<(), pam::PamError>,
) -> Result<Authenticated, Failure> {
    let signals = harden::signal_descriptor()?;
    let source = if args.password_from_stdin {
        conversation::Source::StandardInput
    } else {
        conversation::Source::Terminal
    };
    let prompt = password_prompt(args.prompt.as_deref(), &caller.name, target);
    let conversation = Terminal::new(prompt, args.non_interactive, source, signals);
    let mut pam = pam::Pam::start("newgate", &caller.name, conversation).map_err(Failure::PamStart)?;
    pam.set_item(PamItemType::RUSER, &caller.name)
        .and_then(|()| pam.set_item(PamItemType::TTY, tty))
        .and_then(|()| items(&mut pam))
        .map_err(Failure::PamStart)?;
    // `-k CMD` asks whatever is remembered, and leaves the record as it was;
    // without `persist` there is nothing to look up or remember.
    let session = options
        .persist
        .and_then(|_| persist::Session::current())
        .filter(|_| !args.ignore_remembered);
    let remembered = match (options.persist, &session) {
        (Some(timeout), Some(session)) => persist::is_fresh(caller.uid.as_raw(), session, timeout),
        _ => false,
    };
    let authenticated = !options.nopass && !remembered && !caller.uid.is_root();
    if authenticated {
        ask_password(&mut pam, settings.passwd_tries)?;
    }
    // A module may set PAM_USER; the account checks and the session that
    // follow must be the caller's, whom the policy decided for.
    let user = pam.user().map_err(|e| Failure::Auth(AuthError::Pam(e)))?;
    if user.as_deref() != Some(caller.name.as_str()) {
        return Err(Failure::Auth(AuthError::NotTheCaller { authenticated: user }));
    }
    let refresh = if authenticated {
        Some(persist::Refresh::Authenticated)
    } else {
        options.persist.filter(|_| remembered).map(persist::Refresh::Used)
    };
    Ok(Authenticated {
        pam,
        persist_session: session,
        authenticated,
        refresh,
    })
}

/// Starts or refreshes the caller's `persist` record when the rule that
/// permits the run says `persist` (it never comes with `nopass`): the
/// caller has just authenticated, or a record fresh for the rule that
/// decided first spared the prompt. A run that was not asked vouches only
/// for rules that remember no longer than both rules, so that a use through
/// a rule that remembers for hours never stretches one that remembers for a minute.
fn remember(
    caller: &Account,
    options: &Options,
    session: Option<&persist::Session>,
    refresh: Option<persist::Refresh>,
) {
    if let (Some(window), Some(session), Some(refresh)) = (options.persist, session, refresh) {
        let refresh = match refresh {
            persist::Refresh::Used(checked) => persist::Refresh::Used(checked.min(window)),
            authenticated => authenticated,
        };
        persist::remember(caller.uid.as_raw(), session, refresh);
    }
}

/// Asks for the password up to `tries` times; each failure is told.
fn ask_password(pam: &mut pam::Pam<Terminal>, tries: u32) -> Result<(), Failure> {
    for attempt in 1..=tries {
        let status = pam.authenticate();
        // When the conversation itself could not go on, asking again would not help.
        if let Some(stop) = pam.conversation().take_stop() {
            return Err(Failure::Auth(stop.into()));
        }
        match status {
            Ok(()) => return Ok(()),
            Err(e) if e.code == PamReturnCode::AUTH_ERR && attempt < tries => tty::tell("Sorry, try again."),
            Err(e) if e.code == PamReturnCode::AUTH_ERR => break,
            // pam_unix counts the failures of one PAM transaction and stops
            // after its own maximum: that too is wrong passwords, as many as typed.
            Err(e) if e.code == PamReturnCode::MAXTRIES => {
                return Err(Failure::Auth(AuthError::Incorrect { tries: attempt }));
            }
            Err(e) => return Err(Failure::Auth(AuthError::Pam(e))),
        }
    }
    Err(Failure::Auth(AuthError::Incorrect { tries }))
}

/// A PAM session with credentials established; closed when dropped.
struct OpenSession(pam::Pam<Terminal>);

impl Drop for OpenSession {
    fn drop(&mut self) {
        let _ = self.0.close_session();
        let _ = self.0.setcred(false);
    }
}

/// `pam_acct_mgmt`, with a password change when the account requires one.
fn open_account(mut pam: pam::Pam<Terminal>) -> Result<pam::Pam<Terminal>, Failure> {
    match pam.acct_mgmt() {
        Err(e) if e.code == PamReturnCode::NEW_AUTHTOK_REQD => pam.chauthtok_expired(),
        other => other,
    }
    .map_err(Failure::Account)?;
    Ok(pam)
}

/// The credentials and the session, after the account checks.
fn open_session(mut pam: pam::Pam<Terminal>) -> Result<OpenSession, Failure> {
    pam.setcred(true).map_err(Failure::Credentials)?;
    if let Err(why) = pam.open_session() {
        let _ = pam.setcred(false);
        return Err(Failure::Session(why));
    }
    Ok(OpenSession(pam))
}

/// The command's environment from the caller's, PAM's and the policy's.
fn build_environment(
    session: &mut OpenSession,
    caller: &Account,
    args: &Args,
    resolved: &Resolved,
    options: &Options,
    settings: &Settings,
) -> Vec<(String, String)> {
    // `-i` is the target's login: the caller's environment stays behind even under `keepenv`.
    let login_options;
    let options = if args.login {
        login_options = Options {
            keepenv: false,
            ..options.clone()
        };
        &login_options
    } else {
        options
    };
    // The hand-off variables were for pam_newgate, in this process; a module
    // that copies the PAM environment must not carry them to the command.
    let caller_env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(n, v)| Some((n.into_string().ok()?, v.into_string().ok()?)))
        .chain(
            session
                .0
                .environment()
                .into_iter()
                .filter(|(name, _)| !handoff::NAMES.contains(&name.as_str())),
        )
        .collect();
    let runs_as = resolved.runs_as(caller);
    command_environment(&EnvironmentInput {
        caller_env: &caller_env,
        options,
        settings,
        target: env::Account {
            name: &runs_as.name,
            home: &runs_as.home,
            shell: &runs_as.shell,
        },
        caller_name: &caller.name,
        caller_uid: caller.uid.as_raw(),
        caller_gid: caller.gid.as_raw(),
        command_line: &resolved.command_line(),
    })
}

/// The request, handed to pam_newgate in the PAM environment.
fn hand_off(pam: &mut pam::Pam<Terminal>, args: &Args, resolved: &Resolved) -> Result<(), pam::PamError> {
    if let Some(group) = &args.group {
        pam.putenv(handoff::GROUP, group)?;
    }
    if let Some(user) = &args.user {
        pam.putenv(handoff::TARGET_USER, user)?;
    }
    pam.putenv(handoff::COMMAND, &resolved.program.display().to_string())?;
    pam.putenv(handoff::ARGS, &handoff::encode_args(&resolved.args))
}

fn describe_target(args: &Args, runs_as: &Account) -> String {
    match (&args.user, &args.group) {
        (Some(u), Some(g)) => format!("user {u} with group {g}"),
        (None, Some(g)) => format!("group {g}"),
        _ => format!("user {}", runs_as.name),
    }
}

fn list_rules(policy: &Policy, caller: &Account) {
    let rules = policy.rules_for(&caller.name, &caller.groups.names);
    if rules.is_empty() {
        println!("{} may not switch to anything here.", caller.name);
        return;
    }
    println!(
        "The rules of {DEFAULT_POLICY} that concern {} (the last matching one decides):",
        caller.name
    );
    for rule in rules {
        println!("  {}", rule.text);
    }
}

fn credentials(caller: &Account, target_user: Option<&Account>, target_group: Option<&Group>) -> Credentials {
    let (uid, mut gid, mut groups) = match target_user {
        Some(user) => (user.uid, user.gid, user.groups.ids.clone()),
        None => (caller.uid, caller.gid, caller.groups.ids.clone()),
    };
    if let Some(group) = target_group {
        gid = group.gid;
        if !groups.contains(&group.gid) {
            groups.push(group.gid);
        }
    }
    Credentials { uid, gid, groups }
}

/// Why the command could not be started, for the caller and the log.
fn not_started(error: &std::io::Error) -> String {
    match error.raw_os_error() {
        Some(libc::E2BIG) => format!(
            "{error}: the arguments and environment are too long for the system \
             (at most 128 KiB each, and altogether a quarter of the stack size limit)"
        ),
        _ => error.to_string(),
    }
}

/// Runs the command as `creds`, waits for it, and forwards the signals sent to newgate.
/// Without `-D` or `-i`, the command inherits the caller's working folder: it
/// is never entered again by its path, which the caller could have pointed
/// elsewhere, with root's rights. A folder that is asked for is entered after
/// the switch, with the target's rights.
fn switch_and_exec(
    resolved: &Resolved,
    environment: &[(String, String)],
    creds: Credentials,
    umask: libc::mode_t,
    signals: &SignalFd,
    inherited: &harden::Inherited,
) -> Result<u8, Failure> {
    let mut command = Command::new(&resolved.program);
    command
        .args(&resolved.args)
        .env_clear()
        .envs(environment.iter().map(|(n, v)| (n, v)));
    if let Some(arg0) = &resolved.arg0 {
        std::os::unix::process::CommandExt::arg0(&mut command, arg0);
    }
    let folder = match &resolved.folder {
        Some(folder) => Some((
            std::ffi::CString::new(folder.path().as_os_str().as_encoded_bytes())
                .map_err(|_| Failure::System(StepError::NulInFolder))?,
            match folder {
                Folder::Named(_) => sys::Enter::AsNamed,
                Folder::Home(_) => sys::Enter::Following,
            },
        )),
        None => None,
    };
    sys::switch_before_exec(&mut command, creds, folder, umask, inherited);
    let child = command.spawn().map_err(|e| Failure::NotStarted {
        program: resolved.program.display().to_string(),
        why: match &resolved.folder {
            Some(Folder::Named(folder)) if e.raw_os_error() == Some(libc::ELOOP) => format!(
                "{} holds a symbolic link; -D takes the folder's real path, which the rule's chdir must allow",
                folder.display()
            ),
            Some(Folder::Named(_)) if e.raw_os_error() == Some(libc::ENOSYS) => {
                "-D needs openat2, which this kernel lacks (Linux 5.6 or later has it); run without -D".into()
            }
            Some(folder) => format!("{} (in {})", not_started(&e), folder.path().display()),
            None => not_started(&e),
        },
    })?;
    let pid = Pid::from_raw(child.id() as i32);
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED)) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(code as u8),
            Ok(WaitStatus::Signaled(_, signal, _)) => return Ok(128 + signal as u8),
            Ok(WaitStatus::Stopped(_, _)) => {
                // The command was suspended (^Z): suspend newgate too, so that the
                // shell gets its terminal back; `fg` continues both.
                let _ = kill(Pid::this(), Signal::SIGSTOP);
                let _ = kill(pid, Signal::SIGCONT);
                continue;
            }
            Ok(_) => {}
            Err(nix::errno::Errno::ECHILD) => return Err(Failure::Lost),
            Err(_) => {}
        }
        let mut fds = [nix::poll::PollFd::new(
            std::os::fd::AsFd::as_fd(signals),
            nix::poll::PollFlags::POLLIN,
        )];
        let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE);
        while let Ok(Some(info)) = signals.read_signal() {
            let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else {
                continue;
            };
            // Signals from the terminal reach the command directly; forward only
            // those sent to newgate by a process (kill), and never back to the command.
            let sent_by_process = info.ssi_code <= 0;
            let from_command = info.ssi_pid as i32 == pid.as_raw();
            if signal != Signal::SIGCHLD && sent_by_process && !from_command {
                let _ = kill(pid, signal);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_take_sudos_escapes() {
        let host = host_name().unwrap_or_default();
        let short = host.split('.').next().unwrap_or_default().to_string();
        assert_eq!(
            password_prompt(Some("%u to %U on %h, %p's password (100%%) %x%"), "alice", "bob"),
            format!("alice to bob on {short}, alice's password (100%) %x%")
        );
        assert_eq!(password_prompt(None, "alice", "bob"), "[newgate] password for alice: ");
    }

    #[test]
    fn a_login_shell_gets_the_words_as_typed() {
        assert_eq!(
            login_shell_line(&[
                "echo".into(),
                "a b".into(),
                "$HOME".into(),
                "it's;x".into(),
                "-n_1".into()
            ]),
            r"echo a\ b $HOME it\'s\;x -n_1"
        );
    }
}
