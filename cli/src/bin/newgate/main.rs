//! newgate: run a command as another group or user, as the policy allows.
//!
//! The whole flow is in `run`, top to bottom: check the installation, harden
//! the process, read the request, ask the policy, authenticate through PAM,
//! switch credentials in the child, run, wait, log.

#![deny(unsafe_code)]

mod audit;
mod harden;
mod pam;
mod persist;
mod sys;
mod tty;

use std::cell::Cell;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::rc::Rc;

use lexopt::prelude::*;
use newgate::resolve::{ResolveError, resolve_command};
use newgate_policy::env::{self, EnvironmentInput, command_environment};
use newgate_policy::{Audit as AuditMode, DEFAULT_POLICY, LoadOptions, Policy, Request, Verdict, handoff, load};
use newgate_system::{Account, host_name, target_group, target_user};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Group, Pid, Uid};
use pam_sys::types::PamItemType;

use crate::audit::{Audit, Event};
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

/// newgate's own failures and denials; a command's own status passes through.
const FAILURE: u8 = 1;
const NOT_EXECUTABLE: u8 = 126;
const NOT_FOUND: u8 = 127;

struct Failure {
    code: u8,
    message: String,
}

fn fail<T>(message: impl Into<String>) -> Result<T, Failure> {
    Err(Failure {
        code: FAILURE,
        message: message.into(),
    })
}

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
        Err(Failure { code, message }) => {
            if !message.is_empty() {
                eprintln!("newgate: {message}");
            }
            ExitCode::from(code)
        }
    }
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

/// Why the command line could not be read; shown with the usage, and logged.
#[derive(Debug, PartialEq, Eq)]
struct UsageError(String);

impl From<UsageError> for Failure {
    fn from(UsageError(why): UsageError) -> Failure {
        Failure {
            code: FAILURE,
            message: format!("{why}\n{USAGE}"),
        }
    }
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

fn user_named(name: &str) -> Result<Account, Failure> {
    let user = target_user(name).or_else(|e| fail(e.to_string()))?;
    newgate_system::target_account(user).or_else(|e| fail(e.to_string()))
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
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&dumping), Some(&mut before))
        .or_else(|e| fail(format!("cannot block signals: {e}")))?;
    nix::unistd::seteuid(caller).or_else(|e| fail(format!("cannot take the caller's rights: {e}")))?;
    let found = resolve_command(name, secure_path, cwd);
    nix::unistd::seteuid(Uid::from_raw(0)).or_else(|e| fail(format!("cannot take root's rights back: {e}")))?;
    harden::not_dumpable().or_else(fail)?;
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&before), None)
        .or_else(|e| fail(format!("cannot restore the signal mask: {e}")))?;
    Ok(found)
}

/// Logs a refusal from before the run's own audit is set up; best effort, as
/// the caller is refused either way.
fn log_refusal(format: newgate_policy::LogFormat, event: &Event) {
    if let Ok(mut audit) = Audit::connect(format) {
        let _ = audit.log(event);
    }
}

/// The log format the policy asks for, for a refusal that comes before the
/// policy is otherwise read; the sudo format when it cannot be read.
fn configured_log_format() -> newgate_policy::LogFormat {
    load(Path::new(DEFAULT_POLICY), &LoadOptions::enforcing())
        .policy
        .map_or(newgate_policy::LogFormat::Sudo, |p| p.settings.log_format)
}

/// The caller's working folder as logged; a folder removed since the caller entered it has no path.
fn working_folder() -> String {
    std::env::current_dir().map_or("(removed)".into(), |c| c.display().to_string())
}

/// The caller, with every group they belong to. A group that cannot be looked
/// up would silently stop a `deny %group`: any failure refuses, and is logged.
fn caller() -> Result<Account, Failure> {
    let uid = nix::unistd::getuid();
    let refuse = |user: &str, why: String| {
        log_refusal(
            newgate_policy::LogFormat::Sudo,
            &Event {
                user,
                problem: Some(why.clone()),
                tty: &tty::name(),
                pwd: "",
                run_as_user: "",
                run_as_group: None,
                rule: None,
                command: &[],
            },
        );
        Failure {
            code: FAILURE,
            message: format!("{why}; nothing is permitted"),
        }
    };
    let user = match newgate_system::user_by_uid(uid) {
        Ok(Some(user)) => user,
        Ok(None) => return fail(format!("you (uid {uid}) do not exist in the user database")),
        Err(why) => return Err(refuse(&format!("#{uid}"), why.to_string())),
    };
    let name = user.name.clone();
    newgate_system::requester(user).map_err(|why| refuse(&name, why.to_string()))
}

fn run(caller_limits: harden::CallerLimits) -> Result<u8, Failure> {
    // As typed, for the log of a command line that cannot be read.
    let typed: Vec<OsString> = std::env::args_os().skip(1).collect();
    let parsed = parse_args(typed.clone());
    harden::self_check().or_else(fail)?;
    let (signals, inherited) = harden::harden(caller_limits).or_else(fail)?;

    let caller = caller()?;
    let args = match parsed {
        Ok(args) => args,
        Err(usage) => {
            log_refusal(
                configured_log_format(),
                &Event {
                    user: &caller.name,
                    problem: Some(format!("usage error: {}", usage.0)),
                    tty: &tty::name(),
                    pwd: &working_folder(),
                    run_as_user: "",
                    run_as_group: None,
                    rule: None,
                    command: &typed,
                },
            );
            return Err(usage.into());
        }
    };
    if args.forget {
        persist::forget(caller.uid.as_raw()).or_else(|e| fail(format!("cannot forget: {e}")))?;
        return Ok(0);
    }

    let loaded = load(Path::new(DEFAULT_POLICY), &LoadOptions::enforcing());
    let Some(policy) = loaded.policy else {
        let reason = loaded
            .diagnostics
            .first()
            .map_or("unknown".into(), |d| d.message.clone());
        log_refusal(
            newgate_policy::LogFormat::Sudo,
            &Event {
                user: &caller.name,
                problem: Some(format!("policy {DEFAULT_POLICY} refused: {reason}")),
                tty: &tty::name(),
                pwd: "",
                run_as_user: "",
                run_as_group: None,
                rule: None,
                command: &[],
            },
        );
        // The policy may be readable by root alone: say what to do, not what it holds.
        return fail(format!(
            "the policy {DEFAULT_POLICY} cannot be used, so nothing is permitted; an administrator can run `newgatectl check`"
        ));
    };

    if args.list {
        return Ok(list(&policy, &caller));
    }

    // A working folder removed since the caller entered it has no path.
    let cwd = std::env::current_dir().ok();
    let pwd = working_folder();
    let tty_name = tty::name();
    // Refusals before the decision are logged too, with the command as typed.
    let typed_command: Vec<OsString> = args.command.iter().map(OsString::from).collect();
    let refused = |failure: Failure| -> Failure {
        log_refusal(
            policy.settings.log_format,
            &Event {
                user: &caller.name,
                problem: Some(failure.message.clone()),
                tty: &tty_name,
                pwd: &pwd,
                run_as_user: args
                    .user
                    .as_deref()
                    .unwrap_or(if args.group.is_some() { &caller.name } else { "root" }),
                run_as_group: args.group.as_deref(),
                rule: None,
                command: &typed_command,
            },
        );
        failure
    };

    let target_user = match &args.user {
        Some(name) => Some(user_named(name).map_err(refused)?),
        None if args.group.is_none() => Some(user_named("root").map_err(refused)?),
        None => None,
    };
    let target_group = match &args.group {
        Some(name) => Some(target_group(name).or_else(|e| fail(e.to_string())).map_err(refused)?),
        None => None,
    };
    let runs_as = target_user.as_ref().unwrap_or(&caller);

    let mut command = args.command.clone();
    if command.is_empty() {
        command.push(runs_as.shell.clone());
    }
    let relative = command[0].contains('/') && !command[0].starts_with('/');
    let cwd = match cwd {
        Some(cwd) => cwd,
        None if relative => {
            return Err(refused(Failure {
                code: NOT_FOUND,
                message: format!("{}: the working folder no longer exists", command[0]),
            }));
        }
        // Only a name with a `/` is read against it.
        None => PathBuf::from("/"),
    };
    let program = match resolve_as_caller(&command[0], &policy.settings.secure_path, &cwd, caller.uid)? {
        Ok(path) => path,
        Err(e) => {
            let code = if matches!(e, ResolveError::NotFound(_)) {
                NOT_FOUND
            } else {
                NOT_EXECUTABLE
            };
            return Err(refused(Failure {
                code,
                message: e.to_string(),
            }));
        }
    };
    let command_args: Vec<String> = command[1..].to_vec();
    let command_line = std::iter::once(program.display().to_string())
        .chain(command_args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let logged_command: Vec<OsString> = std::iter::once(program.clone().into_os_string())
        .chain(command_args.iter().map(OsString::from))
        .collect();

    let mut audit = match Audit::connect(policy.settings.log_format) {
        Ok(audit) => audit,
        Err(why) if policy.settings.audit == AuditMode::Required => {
            return fail(format!(
                "{why}; the policy requires an audit log (set audit = required), so nothing runs"
            ));
        }
        Err(why) => {
            eprintln!("newgate: warning: {why}; going on without an audit log");
            Audit::unavailable(policy.settings.log_format)
        }
    };
    let required = policy.settings.audit == AuditMode::Required;
    let mut event = Event {
        user: &caller.name,
        problem: None,
        tty: &tty_name,
        pwd: &pwd,
        run_as_user: &runs_as.name,
        run_as_group: args.group.as_deref(),
        rule: None,
        command: &logged_command,
    };
    let mut log = |event: &Event| -> Result<(), Failure> {
        match audit.log(event) {
            Ok(()) => Ok(()),
            Err(why) if required => fail(format!("{why}; the policy requires an audit log, so nothing runs")),
            Err(why) => {
                eprintln!("newgate: warning: {why}");
                Ok(())
            }
        }
    };

    let host = host_name().unwrap_or_default();
    let request = Request {
        user: &caller.name,
        groups: &caller.groups.names,
        target_user: args.user.as_deref(),
        target_group: args.group.as_deref(),
        command: Some(&program),
        args: &command_args,
        host: &host,
        service: "newgate",
        time: jiff::Timestamp::now(),
    };
    let decision = policy.decide(&request);
    if decision.verdict == Verdict::Deny {
        event.problem = Some("command not allowed".into());
        log(&event)?;
        return fail(format!(
            "{} may not run {command_line} as {} here",
            caller.name,
            describe_target(&args, runs_as)
        ));
    }
    let rule = decision.rule.map(|r| r.location.to_string());
    let options = decision.options.clone();

    let stopped = Rc::new(Cell::new(None));
    let conversation = Terminal {
        user: caller.name.clone(),
        non_interactive: args.non_interactive,
        signals: Rc::new(harden::signal_descriptor().or_else(fail)?),
        stopped: stopped.clone(),
    };
    let started = start_pam(&caller.name, &tty_name, &args, &program, &command_args, conversation);
    let mut pam = match started {
        Ok(pam) => pam,
        Err(why) => {
            event.problem = Some(format!("cannot start PAM: {why}"));
            log(&event)?;
            return fail(format!("cannot start PAM: {why}"));
        }
    };

    let session = persist::Session::current();
    let remembered = match (options.persist, &session) {
        (Some(timeout), Some(session)) => persist::is_fresh(caller.uid.as_raw(), session, timeout),
        _ => false,
    };
    if !options.nopass && !remembered && !caller.uid.is_root() {
        authenticate(&mut pam, policy.settings.passwd_tries, &stopped, &mut event, &mut log)?;
    }
    // `persist` never comes with `nopass`: here the caller has just authenticated
    // or was remembered, and the record starts or is refreshed.
    if let (Some(_), Some(session)) = (options.persist, &session) {
        persist::remember(caller.uid.as_raw(), session);
    }
    account_checks(&mut pam, &mut event, &mut log)?;

    let credentials = credentials(&caller, target_user.as_ref(), target_group.as_ref());
    let status = pam.setcred(true);
    if status != pam::SUCCESS {
        let why = pam.describe(status);
        event.problem = Some(format!("PAM could not establish credentials: {why}"));
        log(&event)?;
        return fail(format!("PAM could not establish credentials: {why}"));
    }
    let status = pam.open_session();
    if status != pam::SUCCESS {
        let why = pam.describe(status);
        event.problem = Some(format!("PAM could not open a session: {why}"));
        log(&event)?;
        let _ = pam.setcred(false);
        return fail(format!("cannot open a session: {why}"));
    }

    // The hand-off variables were for pam_newgate, in this process; a module
    // that copies the PAM environment must not carry them to the command.
    let caller_env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(n, v)| Some((n.into_string().ok()?, v.into_string().ok()?)))
        .chain(
            pam.environment()
                .into_iter()
                .filter(|(name, _)| !handoff::NAMES.contains(&name.as_str())),
        )
        .collect();
    let environment = command_environment(&EnvironmentInput {
        caller_env: &caller_env,
        options: &options,
        settings: &policy.settings,
        target: env::Account {
            name: &runs_as.name,
            home: &runs_as.home,
            shell: &runs_as.shell,
        },
        caller_name: &caller.name,
        caller_uid: caller.uid.as_raw(),
        caller_gid: caller.gid.as_raw(),
        command_line: &command_line,
    });

    event.rule = rule;
    if !options.nolog
        && let Err(failure) = log(&event)
    {
        close(&mut pam);
        return Err(failure);
    }
    let outcome = execute(&program, &command_args, &environment, credentials, &signals, &inherited);
    close(&mut pam);
    match outcome {
        Ok(code) => Ok(code),
        Err(Ended::NotStarted(why)) => {
            // The permit line is already written: the failure follows it.
            event.problem = Some(format!("cannot run the command: {why}"));
            log(&event)?;
            Err(Failure {
                code: NOT_EXECUTABLE,
                message: format!("cannot run {}: {why}", program.display()),
            })
        }
        Err(Ended::Lost) => fail("lost track of the command"),
    }
}

/// How running the command went wrong.
enum Ended {
    /// fork or exec failed, or the switch of credentials in the child: the command never ran.
    NotStarted(String),
    /// The command ran, but waiting for it failed.
    Lost,
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

/// Starts the PAM transaction with the caller's items and the hand-off for pam_newgate.
fn start_pam(
    caller: &str,
    tty_name: &str,
    args: &Args,
    program: &Path,
    command_args: &[String],
    conversation: Terminal,
) -> Result<pam::Pam, String> {
    let mut pam = pam::Pam::start("newgate", caller, Box::new(conversation))?;
    pam.set_item(PamItemType::RUSER, caller)?;
    pam.set_item(PamItemType::TTY, tty_name)?;
    if let Some(group) = &args.group {
        pam.putenv(handoff::GROUP, group)?;
    }
    if let Some(user) = &args.user {
        pam.putenv(handoff::TARGET_USER, user)?;
    }
    pam.putenv(handoff::COMMAND, &program.display().to_string())?;
    pam.putenv(handoff::ARGS, &handoff::encode_args(command_args))?;
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

/// Asks for the password up to `tries` times; each failure is told, the last one logged.
fn authenticate(
    pam: &mut pam::Pam,
    tries: u32,
    stopped: &Cell<Option<Stop>>,
    event: &mut Event,
    log: &mut impl FnMut(&Event) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let mut refuse = |event: &mut Event, why: String| -> Result<(), Failure> {
        event.problem = Some(why.clone());
        log(event)?;
        fail(why)
    };
    for attempt in 1..=tries {
        let status = pam.authenticate();
        // When the conversation itself could not go on, asking again would not help.
        match stopped.get() {
            Some(Stop::Interrupted(signal)) => {
                event.problem = Some(format!("interrupted at the password prompt by signal {signal}"));
                // The caller asked to stop: a log that cannot be written does not change that.
                let _ = log(event);
                return Err(Failure {
                    code: 128 + signal as u8,
                    message: "interrupted".into(),
                });
            }
            Some(Stop::NonInteractive) => return refuse(event, "a password is required".into()),
            Some(Stop::NoTerminal) => return refuse(event, "no terminal to read a password from".into()),
            None => {}
        }
        match status {
            pam::SUCCESS => return Ok(()),
            pam::AUTH_ERR if attempt < tries => tty::tell("Sorry, try again."),
            pam::AUTH_ERR => {
                let plural = if tries == 1 { "" } else { "s" };
                return refuse(event, format!("{tries} incorrect password attempt{plural}"));
            }
            other => return refuse(event, format!("authentication failed: {}", pam.describe(other))),
        }
    }
    fail("no password attempts allowed (set passwd_tries)")
}

/// `pam_acct_mgmt`, and a password change when the account requires one.
fn account_checks(
    pam: &mut pam::Pam,
    event: &mut Event,
    log: &mut impl FnMut(&Event) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let mut status = pam.acct_mgmt();
    if status == pam::NEW_AUTHTOK_REQD {
        status = pam.chauthtok_expired();
    }
    if status == pam::SUCCESS {
        return Ok(());
    }
    let why = pam.describe(status);
    event.problem = Some(format!("account not permitted: {why}"));
    log(event)?;
    fail(format!("account not permitted: {why}"))
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

fn close(pam: &mut pam::Pam) {
    pam.close_session();
    pam.setcred(false);
}

/// Runs the command as `creds`, waits for it, and forwards the signals sent to newgate.
/// The command inherits the caller's working folder: it is never entered again by
/// its path, which the caller could have pointed elsewhere, with root's rights.
fn execute(
    program: &Path,
    args: &[String],
    environment: &[(String, String)],
    creds: Credentials,
    signals: &SignalFd,
    inherited: &harden::Inherited,
) -> Result<u8, Ended> {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(environment.iter().map(|(n, v)| (n, v)));
    sys::switch_before_exec(&mut command, creds, inherited);
    let child = command.spawn().map_err(|e| Ended::NotStarted(not_started(&e)))?;
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
            Err(nix::errno::Errno::ECHILD) => return Err(Ended::Lost),
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

/// Why the conversation could not get an answer.
#[derive(Clone, Copy, Debug)]
enum Stop {
    NonInteractive,
    NoTerminal,
    Interrupted(Signal),
}

/// The PAM conversation at the terminal.
struct Terminal {
    user: String,
    non_interactive: bool,
    signals: Rc<SignalFd>,
    stopped: Rc<Cell<Option<Stop>>>,
}

impl pam::Conversation for Terminal {
    fn ask(&mut self, prompt: &str, echo: bool) -> Result<tty::Secret, ()> {
        if self.non_interactive {
            self.stopped.set(Some(Stop::NonInteractive));
            return Err(());
        }
        // The stock prompt names no one; say whose password, as sudo does.
        let prompt = if prompt.trim_end() == "Password:" {
            format!("[newgate] password for {}: ", self.user)
        } else {
            prompt.to_string()
        };
        match tty::prompt(&prompt, echo, &self.signals) {
            Ok(secret) => Ok(secret),
            Err(tty::PromptError::Interrupted(signal)) => {
                self.stopped.set(Some(Stop::Interrupted(signal)));
                Err(())
            }
            Err(tty::PromptError::NoTerminal) => {
                self.stopped.set(Some(Stop::NoTerminal));
                Err(())
            }
            Err(tty::PromptError::Io(why)) => {
                tty::tell(&format!("newgate: cannot read the password: {why}"));
                Err(())
            }
        }
    }

    fn tell(&mut self, message: &str, _error: bool) {
        tty::tell(message);
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
