//! newgate: run a command as another group or user, as the policy allows.
//!
//! `run` tells the whole story, one stage a line: read the invocation, know
//! the caller, resolve the targets and the command, decide, authenticate,
//! check the account and open the session, build the environment, switch
//! and exec. Each stage either hands the next what it needs or fails with a
//! [`Failure`], which `run` logs and `main` tells the caller.

#![deny(unsafe_code)]

mod audit;
mod conversation;
mod failure;
mod harden;
mod pam;
mod persist;
mod sys;
mod tty;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use lexopt::prelude::*;
use newgate::resolve::{ResolveError, resolve_command};
use newgate_policy::env::{self, EnvironmentInput, command_environment};
use newgate_policy::{Audit as AuditMode, DEFAULT_POLICY, Options, Policy, Request, Settings, Verdict, handoff};
use newgate_system::{Account, PolicyRefused, host_name, load_enforcing, target_group, target_user};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Group, Pid, Uid};
use pam_sys::types::{PamItemType, PamReturnCode};

use crate::audit::{Audit, Event};
use crate::conversation::Terminal;
use crate::failure::{AuthError, FAILURE, Failure, UsageError};
use crate::sys::Credentials;

const USAGE: &str = "\
usage: newgate [-n] [-g GROUP] [-u USER] [--] COMMAND [ARGS...]
       newgate [-n] -g GROUP          your own shell with GROUP, like newgrp and sg
       newgate -s [-g GROUP] [-u USER] the target's shell
       newgate -l                     what may I do here
       newgate -k                     forget my remembered authentication
       newgate -h | --help            this help
       newgate -V | --version         newgate's version

  -g GROUP  stay yourself, with GROUP as primary group (and among your groups)
  -u USER   become USER, with USER's groups (with -g too: primary group GROUP)
  -n        never prompt; fail if a password would be needed
  -s        run the target's shell
Without -g and -u, the target is root. The policy is /etc/newgate/policy.
";

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
    harden::self_check().map_err(Failure::System)?;
    let (signals, inherited) = harden::harden(caller_limits).map_err(Failure::System)?;
    let policy = load_enforcing(Path::new(DEFAULT_POLICY));
    let mut log = AuditLog::open(policy.as_ref().ok().map(|p| &p.settings))?;
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
    policy: Result<Policy, PolicyRefused>,
    record: &mut Record,
    log: &mut AuditLog,
    signals: &SignalFd,
    inherited: &harden::Inherited,
) -> Result<u8, Failure> {
    let caller = identify_caller(record)?;
    let args = invocation.map_err(Failure::Usage)?;
    record.requested(&args, &caller);
    if args.forget {
        persist::forget(caller.uid.as_raw()).map_err(|e| Failure::System(format!("cannot forget: {e}")))?;
        return Ok(0);
    }
    let policy = policy.map_err(Failure::Policy)?;
    if args.list {
        return Ok(list(&policy, &caller));
    }
    let resolved = resolve_targets_and_command(&args, &caller, &policy.settings, record)?;
    let grant = decide(&policy, &caller, &args, &resolved)?;
    let pam = authenticate(&caller, &args, &resolved, &grant.options, &policy.settings)?;
    let mut session = open_account_and_session(pam)?;
    let environment = build_environment(&mut session, &caller, &resolved, &grant.options, &policy.settings);
    record.rule = Some(grant.rule);
    if !grant.options.nolog {
        log.permit(record)?;
    }
    let credentials = credentials(&caller, resolved.target_user.as_ref(), resolved.target_group.as_ref());
    let ended = switch_and_exec(
        &resolved.program,
        &resolved.args,
        &environment,
        credentials,
        signals,
        inherited,
    );
    drop(session);
    ended
}

#[derive(Default)]
struct Args {
    non_interactive: bool,
    group: Option<String>,
    user: Option<String>,
    shell: bool,
    list: bool,
    forget: bool,
    command: Vec<String>,
}

/// What the command line asks for; `-h` and `-V` are answered here and exit.
fn parse_args(arguments: impl IntoIterator<Item = OsString>) -> Result<Args, UsageError> {
    let usage = |e: lexopt::Error| UsageError(e.to_string());
    let text = |word: OsString| {
        word.into_string()
            .map_err(|_| UsageError("arguments must be UTF-8 text".into()))
    };
    let mut args = Args::default();
    let mut parser = lexopt::Parser::from_args(arguments);
    while let Some(arg) = parser.next().map_err(usage)? {
        match arg {
            Short('n') => args.non_interactive = true,
            Short('s') => args.shell = true,
            Short('l') => args.list = true,
            Short('k') => args.forget = true,
            Short('g') => args.group = Some(text(parser.value().map_err(usage)?)?),
            Short('u') => args.user = Some(text(parser.value().map_err(usage)?)?),
            Short('h') | Long("help") => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            Short('V') | Long("version") => {
                println!("newgate {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            Value(first) => {
                args.command.push(text(first)?);
                for rest in parser.raw_args().map_err(usage)? {
                    args.command.push(text(rest)?);
                }
            }
            other => return Err(usage(other.unexpected())),
        }
    }
    if (args.list || args.forget)
        && (args.list && args.forget
            || args.group.is_some()
            || args.user.is_some()
            || args.shell
            || !args.command.is_empty())
    {
        return Err(UsageError("-l and -k stand alone".into()));
    }
    if args.shell && !args.command.is_empty() {
        return Err(UsageError("-s runs the target's shell; give no command with it".into()));
    }
    Ok(args)
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
    let fail = |why: String| Failure::System(why);
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
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&dumping), Some(&mut before))
        .map_err(|e| fail(format!("cannot block signals: {e}")))?;
    nix::unistd::seteuid(caller).map_err(|e| fail(format!("cannot take the caller's rights: {e}")))?;
    let found = resolve_command(name, secure_path, cwd);
    nix::unistd::seteuid(Uid::from_raw(0)).map_err(|e| fail(format!("cannot take root's rights back: {e}")))?;
    harden::not_dumpable().map_err(fail)?;
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&before), None)
        .map_err(|e| fail(format!("cannot restore the signal mask: {e}")))?;
    Ok(found)
}

/// The audit log for this run: where events go, and whether a failure to write one stops the run.
struct AuditLog {
    audit: Audit,
    required: bool,
}

impl AuditLog {
    /// Connects to the system log; `settings` are the policy's, when it can be used.
    fn open(settings: Option<&Settings>) -> Result<AuditLog, Failure> {
        let format = settings.map_or(newgate_policy::LogFormat::Sudo, |s| s.log_format);
        let required = settings.is_some_and(|s| s.audit == AuditMode::Required);
        let audit = match Audit::connect(format) {
            Ok(audit) => audit,
            Err(why) if required => {
                return Err(Failure::AuditRequired(format!(
                    "{why}; the policy requires an audit log (set audit = required), so nothing runs"
                )));
            }
            Err(why) => {
                eprintln!("newgate: warning: {why}; going on without an audit log");
                Audit::unavailable(format)
            }
        };
        Ok(AuditLog { audit, required })
    }

    fn write(&mut self, event: &Event) -> Result<(), Failure> {
        match self.audit.log(event) {
            Ok(()) => Ok(()),
            Err(why) if self.required => Err(Failure::AuditRequired(format!(
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

    /// The request as the caller typed it.
    fn requested(&mut self, args: &Args, caller: &Account) {
        self.run_as_user = match (&args.user, &args.group) {
            (Some(user), _) => user.clone(),
            (None, Some(_)) => caller.name.clone(),
            (None, None) => "root".into(),
        };
        self.run_as_group = args.group.clone();
        self.command = args.command.iter().map(OsString::from).collect();
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
    let mut command = args.command.clone();
    if command.is_empty() {
        command.push(target_user.as_ref().unwrap_or(caller).shell.clone());
    }
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
    };
    record.run_as_user = resolved.runs_as(caller).name.clone();
    record.command = std::iter::once(resolved.program.clone().into_os_string())
        .chain(resolved.args.iter().map(OsString::from))
        .collect();
    Ok(resolved)
}

/// What the deciding rule grants.
struct Grant {
    /// `FILE:LINE` of the deciding rule.
    rule: String,
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
    match (decision.verdict, decision.rule) {
        (Verdict::Permit, Some(rule)) => Ok(Grant {
            rule: rule.location.to_string(),
            options: decision.options.clone(),
        }),
        _ => Err(Failure::NotPermitted {
            caller: caller.name.clone(),
            command_line: resolved.command_line(),
            target: describe_target(args, resolved.runs_as(caller)),
        }),
    }
}

/// Starts PAM and, unless the rule or a remembered authentication spares it,
/// asks for the caller's password; PAM must then still name the caller.
fn authenticate(
    caller: &Account,
    args: &Args,
    resolved: &Resolved,
    options: &Options,
    settings: &Settings,
) -> Result<pam::Pam<Terminal>, Failure> {
    let signals = harden::signal_descriptor().map_err(Failure::System)?;
    let conversation = Terminal::new(&caller.name, args.non_interactive, signals);
    let mut pam = start_pam(&caller.name, args, resolved, conversation).map_err(Failure::PamStart)?;
    let session = persist::Session::current();
    let remembered = match (options.persist, &session) {
        (Some(timeout), Some(session)) => persist::is_fresh(caller.uid.as_raw(), session, timeout),
        _ => false,
    };
    if !options.nopass && !remembered && !caller.uid.is_root() {
        ask_password(&mut pam, settings.passwd_tries)?;
    }
    // A module may set PAM_USER; the account checks and the session that
    // follow must be the caller's, whom the policy decided for.
    let user = pam.user().map_err(|e| Failure::Auth(AuthError::Pam(e)))?;
    if user.as_deref() != Some(caller.name.as_str()) {
        return Err(Failure::Auth(AuthError::NotTheCaller { authenticated: user }));
    }
    // `persist` never comes with `nopass`: here the caller has just authenticated
    // or was remembered, and the record starts or is refreshed.
    if let (Some(_), Some(session)) = (options.persist, &session) {
        persist::remember(caller.uid.as_raw(), session);
    }
    Ok(pam)
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

/// `pam_acct_mgmt` (with a password change when the account requires one),
/// then the credentials and the session.
fn open_account_and_session(mut pam: pam::Pam<Terminal>) -> Result<OpenSession, Failure> {
    match pam.acct_mgmt() {
        Err(e) if e.code == PamReturnCode::NEW_AUTHTOK_REQD => pam.chauthtok_expired(),
        other => other,
    }
    .map_err(Failure::Account)?;
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
    resolved: &Resolved,
    options: &Options,
    settings: &Settings,
) -> Vec<(String, String)> {
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

/// Starts the PAM transaction with the caller's items and the hand-off for pam_newgate.
fn start_pam(
    caller: &str,
    args: &Args,
    resolved: &Resolved,
    conversation: Terminal,
) -> Result<pam::Pam<Terminal>, pam::PamError> {
    let mut pam = pam::Pam::start("newgate", caller, conversation)?;
    pam.set_item(PamItemType::RUSER, caller)?;
    pam.set_item(PamItemType::TTY, &tty::name())?;
    if let Some(group) = &args.group {
        pam.putenv(handoff::GROUP, group)?;
    }
    if let Some(user) = &args.user {
        pam.putenv(handoff::TARGET_USER, user)?;
    }
    pam.putenv(handoff::COMMAND, &resolved.program.display().to_string())?;
    pam.putenv(handoff::ARGS, &handoff::encode_args(&resolved.args))?;
    Ok(pam)
}

fn describe_target(args: &Args, runs_as: &Account) -> String {
    match (&args.user, &args.group) {
        (Some(u), Some(g)) => format!("user {u} with group {g}"),
        (None, Some(g)) => format!("group {g}"),
        _ => format!("user {}", runs_as.name),
    }
}

fn list(policy: &Policy, caller: &Account) -> u8 {
    let rules = policy.rules_for(&caller.name, &caller.groups.names);
    if rules.is_empty() {
        println!("{} may not switch to anything here.", caller.name);
        return 0;
    }
    println!(
        "The rules of {DEFAULT_POLICY} that concern {} (the last matching one decides):",
        caller.name
    );
    for rule in rules {
        println!("  {}", rule.text);
    }
    0
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
/// The command inherits the caller's working folder: it is never entered again by
/// its path, which the caller could have pointed elsewhere, with root's rights.
fn switch_and_exec(
    program: &Path,
    args: &[String],
    environment: &[(String, String)],
    creds: Credentials,
    signals: &SignalFd,
    inherited: &harden::Inherited,
) -> Result<u8, Failure> {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(environment.iter().map(|(n, v)| (n, v)));
    sys::switch_before_exec(&mut command, creds, inherited);
    let child = command.spawn().map_err(|e| Failure::NotStarted {
        program: program.display().to_string(),
        why: not_started(&e),
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
    use std::os::unix::ffi::OsStringExt;

    fn parse(words: &[&str]) -> Result<Args, UsageError> {
        parse_args(words.iter().map(OsString::from))
    }

    #[test]
    fn l_and_k_stand_alone_even_together() {
        for words in [
            &["-kl"][..],
            &["-lk"],
            &["-l", "-k"],
            &["-k", "-l"],
            &["-l", "-g", "x"],
            &["-k", "id"],
        ] {
            assert_eq!(
                parse(words).err(),
                Some(UsageError("-l and -k stand alone".into())),
                "{words:?}"
            );
        }
        assert!(parse(&["-l"]).is_ok_and(|a| a.list && !a.forget));
        assert!(parse(&["-k"]).is_ok_and(|a| a.forget && !a.list));
    }

    #[test]
    fn arguments_that_are_not_utf8_are_refused() {
        for words in [
            vec![OsString::from("id"), OsString::from_vec(vec![0xff])],
            vec![OsString::from_vec(vec![b'i', 0xfe])],
            vec![OsString::from("-g"), OsString::from_vec(vec![0xff])],
        ] {
            assert_eq!(
                parse_args(words).err(),
                Some(UsageError("arguments must be UTF-8 text".into()))
            );
        }
    }
}
