//! Why newgate did not run the command (or could not go on running it): one
//! type, so that what the caller reads, the exit code and the audit line are
//! decided together.

use std::fmt;
use std::path::PathBuf;

use newgate::resolve::ResolveError;
use newgate_system::{LookupError, PolicyRefused, TargetError};
use nix::sys::resource::{Resource, rlim_t};
use nix::sys::signal::Signal;
use nix::unistd::Uid;

use crate::pam::PamError;

/// newgate's own failures and denials; a command's own status passes through.
pub const FAILURE: u8 = 1;
pub const NOT_EXECUTABLE: u8 = 126;
pub const NOT_FOUND: u8 = 127;

/// A step newgate must take and cannot (most of them in making itself safe
/// to run); it then runs nothing.
#[derive(Debug)]
pub enum StepError {
    /// `no_new_privs` is set: no switch of user or group could take effect.
    NoNewPrivileges,
    /// The effective uid is not root: the file is not installed setuid root.
    NotRoot { exe: PathBuf },
    /// Running setuid, but from a file that is not setuid root.
    NotSetuidRoot { exe: PathBuf },
    /// Running setuid, and its own file cannot be looked at.
    Inspect { exe: PathBuf, error: std::io::Error },
    /// The stack size limit (`soft`) is below what newgate needs and cannot be raised; bytes.
    StackTooSmall { soft: rlim_t, needed: rlim_t },
    /// A limit of the caller's that could not be read, so could not be given back to the command.
    LimitUnreadable(Resource),
    /// A step the system refused: what newgate could not do, and why.
    Refused { step: &'static str, error: std::io::Error },
    /// A closed standard descriptor cannot be filled with `/dev/null`.
    NoDevNull(std::io::Error),
    /// `-k`, `-K`: the remembered authentications could not be removed.
    Forget(std::io::Error),
    /// The working folder the command is to start in cannot be passed to the kernel.
    NulInFolder,
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::NoNewPrivileges => f.write_str(
                "no_new_privs is set for this process (a container, or a service with NoNewPrivileges=yes): \
                 newgate cannot switch users or groups here",
            ),
            StepError::NotRoot { exe } => write!(
                f,
                "newgate must be installed setuid root to work; as root, run: chown root:root {0} && chmod 4755 {0}",
                exe.display()
            ),
            StepError::NotSetuidRoot { exe } => {
                write!(f, "{} is not a setuid-root file; refusing to run", exe.display())
            }
            StepError::Inspect { exe, error } => write!(f, "cannot inspect {}: {error}", exe.display()),
            StepError::StackTooSmall { soft, needed } => write!(
                f,
                "the stack size limit ({} KiB) is too small for newgate, which needs {} KiB and cannot raise it here; \
                 raise it (ulimit -s) and try again",
                soft / 1024,
                needed / 1024
            ),
            StepError::LimitUnreadable(resource) => write!(f, "cannot read the limit {resource:?}"),
            StepError::Refused { step, error } => write!(f, "cannot {step}: {error}"),
            StepError::NoDevNull(error) => write!(f, "cannot open /dev/null: {error}"),
            StepError::Forget(error) => write!(f, "cannot forget: {error}"),
            StepError::NulInFolder => f.write_str("the folder holds a NUL byte"),
        }
    }
}

/// A step the system refused, for `map_err`.
pub fn refused<E: Into<std::io::Error>>(step: &'static str) -> impl FnOnce(E) -> StepError {
    move |error| StepError::Refused {
        step,
        error: error.into(),
    }
}

/// Why the command line could not be read; shown with the usage, and logged.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

/// Why authentication did not succeed.
#[derive(Debug)]
pub enum AuthError {
    /// `-n`, and a password was needed.
    PasswordRequired,
    /// Nowhere to read a password from.
    NoTerminal,
    /// `-S`, and standard input ended before a password.
    NoPassword,
    /// A signal that means "stop" arrived at the prompt.
    Interrupted(Signal),
    /// Every try had a wrong password.
    Incorrect { tries: u32 },
    /// PAM refused for another reason (an unknown user, a module that failed, ...).
    Pam(PamError),
    /// A module changed the user PAM authenticated to someone other than the caller.
    NotTheCaller { authenticated: Option<String> },
}

#[derive(Debug)]
pub enum Failure {
    Usage(UsageError),
    /// newgate cannot make itself safe to run, or the system would not do a step it must.
    System(StepError),
    /// The caller has no entry, or their groups cannot be read: nothing is permitted.
    CallerUnknown(Uid),
    Caller(LookupError),
    Policy(PolicyRefused),
    Target(TargetError),
    WorkingFolderGone {
        command: String,
    },
    Command(ResolveError),
    NotPermitted {
        caller: String,
        command_line: String,
        target: String,
    },
    /// `-E`, and the deciding rule has no `keepenv`.
    MayNotKeepEnvironment {
        caller: String,
        rule: String,
    },
    /// `-D`, and the deciding rule's `chdir` does not allow the folder.
    MayNotChdir {
        caller: String,
        folder: String,
        rule: String,
    },
    /// `-l -U USER` from someone other than root and USER.
    ListOthers,
    /// `-v` from someone no rule permits anything.
    NothingPermitted {
        caller: String,
    },
    PamStart(PamError),
    Auth(AuthError),
    Account(PamError),
    Credentials(PamError),
    Session(PamError),
    /// `set audit = required`, and the log cannot be written.
    AuditRequired(String),
    NotStarted {
        program: String,
        why: String,
    },
    /// The command ran, but waiting for it failed.
    Lost,
    /// Permitted when asked; refused when decided again after authentication
    /// or a prompt (the policy, the time or the caller's groups changed meanwhile).
    DecidedAgain(Box<Failure>),
}

impl Failure {
    /// The exit code newgate ends with.
    pub fn code(&self) -> u8 {
        match self {
            Failure::Auth(AuthError::Interrupted(signal)) => 128 + *signal as u8,
            Failure::WorkingFolderGone { .. } | Failure::Command(ResolveError::NotFound(_)) => NOT_FOUND,
            Failure::Command(_) | Failure::NotStarted { .. } => NOT_EXECUTABLE,
            Failure::DecidedAgain(refused) => refused.code(),
            _ => FAILURE,
        }
    }

    /// The reason written to the audit log; `None` for failures that are not
    /// refusals of a request (newgate could not start, or the log itself failed).
    pub fn logged(&self) -> Option<String> {
        Some(match self {
            Failure::System(_) | Failure::AuditRequired(_) | Failure::Lost | Failure::CallerUnknown(_) => return None,
            Failure::Usage(UsageError(why)) => format!("usage error: {why}"),
            Failure::Caller(why) => why.to_string(),
            Failure::Policy(why) => format!("policy {} refused: {why}", newgate_policy::DEFAULT_POLICY),
            Failure::NotPermitted { .. } => "command not allowed".into(),
            Failure::PamStart(why) => format!("cannot start PAM: {why}"),
            Failure::Credentials(why) => format!("PAM could not establish credentials: {why}"),
            Failure::Session(why) => format!("PAM could not open a session: {why}"),
            Failure::Auth(AuthError::Interrupted(signal)) => {
                format!("interrupted at the password prompt by signal {signal}")
            }
            Failure::NotStarted { why, .. } => format!("cannot run the command: {why}"),
            Failure::DecidedAgain(refused) => {
                format!("{} (decided again after authentication)", refused.logged()?)
            }
            other => other.to_string(),
        })
    }
}

impl From<StepError> for Failure {
    fn from(why: StepError) -> Failure {
        Failure::System(why)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(UsageError(why)) => write!(f, "{why}\n{}", crate::args::USAGE),
            Failure::System(why) => why.fmt(f),
            Failure::AuditRequired(why) => f.write_str(why),
            Failure::CallerUnknown(uid) => write!(f, "you (uid {uid}) do not exist in the user database"),
            Failure::Caller(why) => write!(f, "{why}; nothing is permitted"),
            // The policy may be readable by root alone: say what to do, not what it holds.
            Failure::Policy(_) => write!(
                f,
                "the policy {} cannot be used, so nothing is permitted; an administrator can run `newgatectl check`",
                newgate_policy::DEFAULT_POLICY
            ),
            Failure::Target(why) => why.fmt(f),
            Failure::WorkingFolderGone { command } => write!(f, "{command}: the working folder no longer exists"),
            Failure::Command(why) => why.fmt(f),
            Failure::NotPermitted {
                caller,
                command_line,
                target,
            } => write!(f, "{caller} may not run {command_line} as {target} here"),
            Failure::MayNotKeepEnvironment { caller, rule } => write!(
                f,
                "{caller} may not keep the environment (-E): the deciding rule, {rule}, does not say keepenv"
            ),
            Failure::MayNotChdir { caller, folder, rule } => write!(
                f,
                "{caller} may not run the command in {folder} (-D): the deciding rule, {rule}, does not allow it with chdir"
            ),
            Failure::ListOthers => f.write_str("only root may ask about another user (-l -U USER)"),
            Failure::NothingPermitted { caller } => write!(f, "{caller} may not switch to anything here"),
            Failure::PamStart(why) => write!(f, "cannot start PAM: {why}"),
            Failure::Auth(why) => why.fmt(f),
            Failure::Account(why) => write!(f, "account not permitted: {why}"),
            Failure::Credentials(why) => write!(f, "PAM could not establish credentials: {why}"),
            Failure::Session(why) => write!(f, "cannot open a session: {why}"),
            Failure::NotStarted { program, why } => write!(f, "cannot run {program}: {why}"),
            Failure::Lost => f.write_str("lost track of the command"),
            Failure::DecidedAgain(refused) => {
                write!(f, "{refused} (decided again after authentication)")
            }
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::PasswordRequired => f.write_str("a password is required"),
            AuthError::NoTerminal => f.write_str(
                "no terminal to read a password from: this process has no controlling terminal, \
                 as under `su USER -c` or cron. Use `su -P`, \
                 give the password on standard input with -S, or run newgate from a terminal",
            ),
            AuthError::NoPassword => f.write_str("no password on standard input (-S)"),
            AuthError::Interrupted(_) => f.write_str("interrupted"),
            AuthError::Incorrect { tries } => {
                let plural = if *tries == 1 { "" } else { "s" };
                write!(f, "{tries} incorrect password attempt{plural}")
            }
            AuthError::Pam(why) => write!(f, "authentication failed: {why}"),
            AuthError::NotTheCaller { authenticated } => write!(
                f,
                "PAM authenticated {} instead of the caller; refusing",
                authenticated.as_deref().unwrap_or("nobody")
            ),
        }
    }
}
