//! `pam_sm_acct_mgmt`: whether the policy permits this switch.

#![forbid(unsafe_code)]

use std::fmt;
use std::path::PathBuf;

use newgate_policy::{Request, Verdict, handoff};
use pam_sys::PamReturnCode;

use crate::options::Options;
use crate::pam::{Handle, Item, Level};

/// The service of the `newgate` command, whose request comes in the PAM environment.
pub const NEWGATE_SERVICE: &str = "newgate";

/// A request to switch, as read from the PAM transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Switch {
    pub service: String,
    /// Who asks: `PAM_RUSER`, or the real uid's user with `use_uid`.
    pub user: String,
    pub target_user: Option<String>,
    pub target_group: Option<String>,
    pub command: Option<PathBuf>,
    pub args: Vec<String>,
    pub tty: Option<String>,
}

/// What a PAM transaction asks of the account stage.
#[derive(Debug, PartialEq, Eq)]
pub enum Asked {
    /// Nothing to decide (a plain login, or a user staying themselves); why, in words.
    NoSwitch(String),
    Switch(Switch),
    /// `newgate -v`, which runs nothing: whether any rule permits the caller something.
    Validate(Validation),
}

/// `newgate -v` by `user`, as handed over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validation {
    pub user: String,
    pub tty: Option<String>,
}

/// In the log: `alice validates (newgate -v)`.
impl fmt::Display for Validation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} validates (newgate -v)", self.user)
    }
}

/// The request in the policy's own words: `alice as group docker cmd /usr/bin/docker args ps`.
impl fmt::Display for Switch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} as ", self.user)?;
        match (&self.target_user, &self.target_group) {
            (Some(user), Some(group)) => write!(f, "user {user} group {group}")?,
            (Some(user), None) => write!(f, "user {user}")?,
            (None, Some(group)) => write!(f, "group {group}")?,
            (None, None) => f.write_str("user root")?,
        }
        if let Some(command) = &self.command {
            write!(f, " cmd {}", quoted(&command.to_string_lossy()))?;
            if !self.args.is_empty() {
                f.write_str(" args")?;
                for arg in &self.args {
                    write!(f, " {}", quoted(arg))?;
                }
            }
        }
        Ok(())
    }
}

/// A word as the policy language would write it: bare when it can be,
/// else quoted with `\"`, `\\`, `\n`, `\t` (other control characters as `\u{..}`).
fn quoted(word: &str) -> String {
    let bare = !word.is_empty()
        && !word
            .chars()
            .any(|c| c.is_whitespace() || newgate_system::needs_escape(c) || "\"\\#".contains(c));
    if bare {
        return word.to_string();
    }
    let mut out = String::from("\"");
    for c in word.chars() {
        match c {
            '"' | '\\' | '\n' | '\t' => out.extend(c.escape_default()),
            c if newgate_system::needs_escape(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Reads the request from the PAM items (and, for the `newgate` service, the
/// PAM environment). `real_user` is the caller by real uid, given with `use_uid`.
/// An error is a reason to deny: the transaction asks for a switch that
/// cannot be read safely.
pub fn read_request(pam: &dyn Handle, real_user: Option<String>) -> Result<Asked, String> {
    let service = pam.item(Item::Service)?.ok_or("PAM_SERVICE is not set")?;
    let user = pam.item(Item::User)?;
    let requester = match real_user {
        Some(name) => Some(name),
        None => pam.item(Item::Ruser)?,
    };
    let tty = pam.item(Item::Tty)?;
    if service == NEWGATE_SERVICE {
        return newgate_request(pam, service, user, requester, tty);
    }
    let Some(requester) = requester else {
        return Ok(Asked::NoSwitch("no requesting user (PAM_RUSER is not set)".into()));
    };
    let Some(user) = user else {
        return Err(format!("{requester} asks for no user: PAM_USER is not set"));
    };
    if requester == user {
        return Ok(Asked::NoSwitch(format!("{user} stays {user}")));
    }
    Ok(Asked::Switch(Switch {
        service,
        user: requester,
        target_user: Some(user),
        target_group: None,
        command: None,
        args: Vec::new(),
        tty,
    }))
}

/// The `newgate` command's request, handed over as `handoff` defines.
fn newgate_request(
    pam: &dyn Handle,
    service: String,
    user: Option<String>,
    requester: Option<String>,
    tty: Option<String>,
) -> Result<Asked, String> {
    let requester = requester.ok_or("the newgate service needs the caller in PAM_RUSER")?;
    if user.as_deref() != Some(requester.as_str()) {
        return Err(format!(
            "PAM_USER ({}) is not the caller {requester}",
            user.as_deref().unwrap_or("unset")
        ));
    }
    let named = |name: &str| -> Result<Option<String>, String> {
        match pam.env(name)? {
            Some(value) if value.is_empty() => Err(format!("{name} is empty")),
            value => Ok(value),
        }
    };
    let target_group = named(handoff::GROUP)?;
    let target_user = named(handoff::TARGET_USER)?;
    let command = named(handoff::COMMAND)?.map(PathBuf::from);
    if let Some(value) = named(handoff::VALIDATE)? {
        if value != handoff::VALIDATING {
            return Err(format!(
                "{} is {value:?}, not {:?}",
                handoff::VALIDATE,
                handoff::VALIDATING
            ));
        }
        let runs_something =
            target_group.is_some() || target_user.is_some() || command.is_some() || pam.env(handoff::ARGS)?.is_some();
        if runs_something {
            return Err(format!("{} is set with a request to run something", handoff::VALIDATE));
        }
        return Ok(Asked::Validate(Validation { user: requester, tty }));
    }
    if let Some(path) = &command
        && !path.is_absolute()
    {
        return Err(format!("{} is not an absolute path", handoff::COMMAND));
    }
    let args = match (&command, pam.env(handoff::ARGS)?) {
        (Some(_), Some(value)) => {
            handoff::decode_args(&value).ok_or_else(|| format!("{} does not decode: {value:?}", handoff::ARGS))?
        }
        (Some(_), None) => return Err(format!("{} is set but {} is not", handoff::COMMAND, handoff::ARGS)),
        (None, Some(_)) => return Err(format!("{} is set but {} is not", handoff::ARGS, handoff::COMMAND)),
        (None, None) => Vec::new(),
    };
    Ok(Asked::Switch(Switch {
        service,
        user: requester,
        target_user,
        target_group,
        command,
        args,
        tty,
    }))
}

/// The user of the calling process's real uid (`use_uid`).
fn real_user() -> Result<String, String> {
    let uid = nix::unistd::getuid();
    match newgate_system::user_by_uid(uid) {
        Ok(Some(user)) => Ok(user.name),
        Ok(None) => Err(format!("the real uid {uid} has no user name")),
        Err(why) => Err(why.to_string()),
    }
}

/// The targets must be named by their accounts' one names (see
/// `newgate_system::target_user`); anything else is refused.
fn check_target_names(switch: &Switch) -> Result<(), (Level, String)> {
    let refused = |why: newgate_system::TargetError| {
        let level = match why {
            newgate_system::TargetError::Lookup(_) => Level::Error,
            _ => Level::Notice,
        };
        (level, why.to_string())
    };
    if let Some(name) = &switch.target_user {
        newgate_system::target_user(name).map_err(refused)?;
    }
    if let Some(name) = &switch.target_group {
        newgate_system::target_group(name).map_err(refused)?;
    }
    Ok(())
}

/// Decides the account stage: permit → success, deny → permission denied,
/// no switch → ignore. Every failure denies, and every denial is logged.
pub fn acct_mgmt(pam: &dyn Handle, options: &Options) -> PamReturnCode {
    let asked = if options.use_uid {
        real_user().and_then(|name| read_request(pam, Some(name)))
    } else {
        read_request(pam, None)
    };
    let switch = match asked {
        Ok(Asked::Switch(switch)) => switch,
        Ok(Asked::Validate(validation)) => return validate(pam, options, &validation),
        Ok(Asked::NoSwitch(why)) => {
            if options.debug {
                pam.log(Level::Debug, &format!("not a switch: {why}: ignored"));
            }
            return PamReturnCode::IGNORE;
        }
        Err(why) => {
            pam.log(Level::Notice, &format!("deny ({why})"));
            return PamReturnCode::PERM_DENIED;
        }
    };
    let tty = switch.tty.as_deref().map(|t| format!(", tty {t}")).unwrap_or_default();
    match decide(pam, options, &switch) {
        Ok(Decided {
            verdict: Verdict::Permit,
            by,
            nolog,
        }) => {
            if !options.quiet && !nolog {
                pam.log(Level::Info, &format!("{switch}: permit ({by}){tty}"));
            }
            PamReturnCode::SUCCESS
        }
        Ok(Decided {
            verdict: Verdict::Deny,
            by,
            ..
        }) => {
            pam.log(Level::Notice, &format!("{switch}: deny ({by}){tty}"));
            PamReturnCode::PERM_DENIED
        }
        Err((level, why)) => {
            pam.log(level, &format!("{switch}: deny ({why}){tty}"));
            PamReturnCode::PERM_DENIED
        }
    }
}

/// The policy's answer, with the deciding rule's place (or why none decided).
struct Decided {
    verdict: Verdict,
    by: String,
    /// The deciding rule says `nolog`.
    nolog: bool,
}

/// Asks the policy; an error (how bad, and why) when it cannot be asked.
fn decide(pam: &dyn Handle, options: &Options, switch: &Switch) -> Result<Decided, (Level, String)> {
    let groups = requester_groups(&switch.user)?;
    check_target_names(switch)?;
    let host = newgate_system::host_name().map_err(|why| (Level::Error, why.to_string()))?;
    let time = newgate_system::now().map_err(|why| (Level::Error, why.to_string()))?;
    if options.debug {
        pam.log(
            Level::Debug,
            &format!(
                "{switch}: groups {}, host {host}, service {}, policy {}",
                groups.join(","),
                switch.service,
                options.policy.display()
            ),
        );
    }
    with_policy(pam, options, switch, &switch.user, &groups, |policy| {
        let decision = policy.decide(&Request {
            user: &switch.user,
            groups: &groups,
            target_user: switch.target_user.as_deref(),
            target_group: switch.target_group.as_deref(),
            command: switch.command.as_deref(),
            args: &switch.args,
            host: &host,
            service: &switch.service,
            time,
        });
        Decided {
            verdict: decision.verdict,
            by: decision
                .rule
                .map(|rule| rule.location.to_string())
                .unwrap_or_else(|| "no rule matched".into()),
            nolog: decision.options.nolog,
        }
    })
}

/// `newgate -v`: permitted when a rule permits the caller something, the
/// question the command itself asks before it authenticates.
fn validate(pam: &dyn Handle, options: &Options, validation: &Validation) -> PamReturnCode {
    let user = &validation.user;
    let tty = validation
        .tty
        .as_deref()
        .map(|t| format!(", tty {t}"))
        .unwrap_or_default();
    let permitted = requester_groups(user).and_then(|groups| {
        if options.debug {
            let policy = options.policy.display();
            pam.log(
                Level::Debug,
                &format!("{validation}: groups {}, policy {policy}", groups.join(",")),
            );
        }
        with_policy(pam, options, validation, user, &groups, |policy| {
            policy.permits_something(user, &groups)
        })
    });
    match permitted {
        Ok(true) => {
            if !options.quiet {
                pam.log(
                    Level::Info,
                    &format!("{validation}: permit (a rule permits {user} something){tty}"),
                );
            }
            PamReturnCode::SUCCESS
        }
        Ok(false) => {
            pam.log(
                Level::Notice,
                &format!("{validation}: deny (no rule permits {user} anything){tty}"),
            );
            PamReturnCode::PERM_DENIED
        }
        Err((level, why)) => {
            pam.log(level, &format!("{validation}: deny ({why}){tty}"));
            PamReturnCode::PERM_DENIED
        }
    }
}

/// The requesting user's groups, from NSS; an unknown user is refused.
fn requester_groups(user: &str) -> Result<Vec<String>, (Level, String)> {
    Ok(newgate_system::groups_of(user)
        .map_err(|why| (Level::Error, why.to_string()))?
        .ok_or_else(|| (Level::Notice, format!("unknown user {user}")))?
        .names)
}

/// Reads the enforcing policy, as it concerns `user`, and asks it; with
/// `debug`, logs where it was read from.
fn with_policy<T>(
    pam: &dyn Handle,
    options: &Options,
    asked: &dyn fmt::Display,
    user: &str,
    groups: &[String],
    question: impl FnOnce(&newgate_policy::Policy) -> T,
) -> Result<T, (Level, String)> {
    let refused = |why| (Level::Error, format!("policy refused: {why}"));
    let enforcing = newgate_system::load_enforcing(&options.policy).map_err(refused)?;
    let policy = enforcing.for_requester(user, groups).map_err(refused)?;
    if options.debug {
        let origin = policy.origin();
        pam.log(
            Level::Debug,
            &format!("{asked}: policy {} {origin}", options.policy.display()),
        );
    }
    Ok(question(&policy))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pam::fake::FakePam;

    fn asked(items: &[(Item, &str)], env: &[(&str, &str)]) -> Result<Asked, String> {
        read_request(&FakePam::with(items, env), None)
    }

    fn switch(asked: Result<Asked, String>) -> Switch {
        match asked {
            Ok(Asked::Switch(switch)) => switch,
            other => panic!("not a switch: {other:?}"),
        }
    }

    #[test]
    fn su_asks_for_the_requesting_user_as_the_target_user() {
        let s = switch(asked(
            &[
                (Item::Service, "su"),
                (Item::Ruser, "alice"),
                (Item::User, "deploy"),
                (Item::Tty, "pts/3"),
            ],
            &[],
        ));
        assert_eq!(s.to_string(), "alice as user deploy");
        assert_eq!((s.service.as_str(), s.tty.as_deref()), ("su", Some("pts/3")));
    }

    #[test]
    fn a_login_or_staying_yourself_is_not_a_switch() {
        let login = asked(&[(Item::Service, "login"), (Item::User, "alice")], &[]);
        assert_eq!(
            login,
            Ok(Asked::NoSwitch("no requesting user (PAM_RUSER is not set)".into()))
        );
        let same = asked(
            &[(Item::Service, "su"), (Item::Ruser, "alice"), (Item::User, "alice")],
            &[],
        );
        assert_eq!(same, Ok(Asked::NoSwitch("alice stays alice".into())));
    }

    #[test]
    fn the_newgate_environment_of_other_services_is_not_trusted() {
        let s = switch(asked(
            &[(Item::Service, "su"), (Item::Ruser, "alice"), (Item::User, "deploy")],
            &[(handoff::GROUP, "docker"), (handoff::COMMAND, "/usr/bin/docker")],
        ));
        assert_eq!(s.to_string(), "alice as user deploy");
    }

    #[test]
    fn use_uid_overrides_pam_ruser() {
        let pam = FakePam::with(
            &[(Item::Service, "su"), (Item::Ruser, "root"), (Item::User, "deploy")],
            &[],
        );
        let s = switch(read_request(&pam, Some("bob".into())));
        assert_eq!(s.to_string(), "bob as user deploy");
    }

    #[test]
    fn the_newgate_service_reads_the_handoff() {
        let items = [
            (Item::Service, "newgate"),
            (Item::Ruser, "alice"),
            (Item::User, "alice"),
        ];
        let args = handoff::encode_args(&["ps".into(), "--format".into(), "{{.Names}} x".into()]);
        let s = switch(asked(
            &items,
            &[
                (handoff::GROUP, "docker"),
                (handoff::COMMAND, "/usr/bin/docker"),
                (handoff::ARGS, &args),
            ],
        ));
        assert_eq!(s.args, ["ps", "--format", "{{.Names}} x"]);
        assert_eq!(
            s.to_string(),
            "alice as group docker cmd /usr/bin/docker args ps --format \"{{.Names}} x\""
        );
        let root = switch(asked(&items, &[]));
        assert_eq!(root.to_string(), "alice as user root");
        let both = switch(asked(
            &items,
            &[(handoff::TARGET_USER, "deploy"), (handoff::GROUP, "www")],
        ));
        assert_eq!(both.to_string(), "alice as user deploy group www");
    }

    #[test]
    fn arguments_are_logged_as_the_policy_would_write_them() {
        let items = [
            (Item::Service, "newgate"),
            (Item::Ruser, "alice"),
            (Item::User, "alice"),
        ];
        let args = handoff::encode_args(&["".into(), "café au lait".into(), "a\"b\\c".into(), "x\ny\u{7}".into()]);
        let s = switch(asked(
            &items,
            &[(handoff::COMMAND, "/usr/bin/printf"), (handoff::ARGS, &args)],
        ));
        assert_eq!(
            s.to_string(),
            r#"alice as user root cmd /usr/bin/printf args "" "café au lait" "a\"b\\c" "x\ny\u{7}""#
        );
    }

    #[test]
    fn a_newgate_handoff_that_cannot_be_read_is_refused() {
        let items = [
            (Item::Service, "newgate"),
            (Item::Ruser, "alice"),
            (Item::User, "alice"),
        ];
        let cmd = (handoff::COMMAND, "/usr/bin/id");
        for (env, why) in [
            (
                vec![cmd, (handoff::ARGS, "%zz")],
                "NEWGATE_ARGS does not decode: \"%zz\"",
            ),
            (vec![cmd], "NEWGATE_COMMAND is set but NEWGATE_ARGS is not"),
            (
                vec![(handoff::ARGS, "")],
                "NEWGATE_ARGS is set but NEWGATE_COMMAND is not",
            ),
            (
                vec![(handoff::COMMAND, "id"), (handoff::ARGS, "")],
                "NEWGATE_COMMAND is not an absolute path",
            ),
            (vec![(handoff::GROUP, "")], "NEWGATE_GROUP is empty"),
        ] {
            assert_eq!(asked(&items, &env), Err(why.to_string()));
        }
        let other_user = [(Item::Service, "newgate"), (Item::Ruser, "alice"), (Item::User, "root")];
        assert_eq!(
            asked(&other_user, &[]),
            Err("PAM_USER (root) is not the caller alice".into())
        );
        let no_ruser = [(Item::Service, "newgate"), (Item::User, "alice")];
        assert_eq!(
            asked(&no_ruser, &[]),
            Err("the newgate service needs the caller in PAM_RUSER".into())
        );
    }

    #[test]
    fn newgate_v_asks_whether_anything_is_permitted() {
        let items = [
            (Item::Service, "newgate"),
            (Item::Ruser, "alice"),
            (Item::User, "alice"),
            (Item::Tty, "pts/1"),
        ];
        let validate = (handoff::VALIDATE, handoff::VALIDATING);
        let asked_v = asked(&items, &[validate]);
        let Ok(Asked::Validate(validation)) = asked_v else {
            panic!("not a validation: {asked_v:?}");
        };
        assert_eq!(validation.to_string(), "alice validates (newgate -v)");
        assert_eq!(validation.tty.as_deref(), Some("pts/1"));
        assert_eq!(
            asked(&items, &[(handoff::VALIDATE, "1")]),
            Err("NEWGATE_VALIDATE is \"1\", not \"yes\"".into())
        );
        for with in [
            (handoff::GROUP, "docker"),
            (handoff::TARGET_USER, "deploy"),
            (handoff::COMMAND, "/usr/bin/id"),
            (handoff::ARGS, ""),
        ] {
            assert_eq!(
                asked(&items, &[validate, with]),
                Err("NEWGATE_VALIDATE is set with a request to run something".into()),
                "{with:?}"
            );
        }
        // Another service's environment decides nothing, this variable neither.
        let su = [(Item::Service, "su"), (Item::Ruser, "alice"), (Item::User, "root")];
        assert_eq!(switch(asked(&su, &[validate])).to_string(), "alice as user root");
    }

    #[test]
    fn a_requester_without_a_target_is_refused() {
        let asked = asked(&[(Item::Service, "su"), (Item::Ruser, "alice")], &[]);
        assert_eq!(asked, Err("alice asks for no user: PAM_USER is not set".into()));
    }
}
