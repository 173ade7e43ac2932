//! `Defaults`: the settings in force for each rule, those newgate carries
//! (a password or not, `persist`, `env_keep`) and those it reports.

use super::*;

/// The `Defaults` in force for one rule.
#[derive(Clone, Debug)]
pub(super) struct Effective {
    pub(super) authenticate: bool,
    /// `timestamp_timeout` when the file sets it, in minutes.
    pub(super) timeout: Option<f64>,
    pub(super) env_reset: bool,
    pub(super) env_keep: Vec<String>,
    /// Restrictions that newgate cannot carry (`noexec`, `rootpw`, ...).
    pub(super) restrictions: BTreeSet<String>,
}

/// A `Defaults` line that does not apply to the whole file.
pub(super) struct Scoped<'s> {
    pub(super) line: &'s Line,
    pub(super) scope: &'s Scope,
    pub(super) settings: &'s [(String, DefaultsValue)],
}

/// Settings that restrict how or by whom a permitted command runs.
const RESTRICTING: &[&str] = &[
    "noexec",
    "intercept",
    "rootpw",
    "targetpw",
    "runaspw",
    "runchroot",
    "runcwd",
];

/// Settings with no bearing on who may run what; reported as ignored.
const INFORMATIONAL: &[&str] = &[
    "lecture",
    "lecture_file",
    "lecture_status_dir",
    "insults",
    "use_pty",
    "log_output",
    "log_input",
    "log_subcmds",
    "log_servers",
    "log_format",
    "logfile",
    "syslog",
    "syslog_goodpri",
    "syslog_badpri",
    "iolog_dir",
    "iolog_file",
    "iolog_user",
    "iolog_group",
    "iolog_mode",
    "maxseq",
    "mail_badpass",
    "mail_always",
    "mail_no_host",
    "mail_no_perms",
    "mail_no_user",
    "mailto",
    "mailerpath",
    "mailerflags",
    "mailfrom",
    "mailsub",
    "requiretty",
    "badpass_message",
    "passprompt",
    "passprompt_override",
    "pwfeedback",
    "visiblepw",
    "passwd_timeout",
    "env_check",
    "env_delete",
    "env_file",
    "always_set_home",
    "set_home",
    "set_logname",
    "umask",
    "umask_override",
    "fqdn",
    "listpw",
    "verifypw",
    "ignore_dot",
    "setenv",
    "timestamp_type",
    "timestampdir",
    "timestampowner",
    "tty_tickets",
    "closefrom",
    "closefrom_override",
    "pam_session",
    "pam_setcred",
    "pam_service",
    "pam_login_service",
    "shell_noargs",
    "stay_setuid",
    "preserve_groups",
    "match_group_by_gid",
    "group_plugin",
    "secure_path_override",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Coverage {
    None,
    Some,
    All,
}

pub(super) enum Applied {
    /// Applied to the [`Effective`] settings.
    Yes,
    /// A global newgate setting.
    Setting,
    Informational,
    Unknown,
}

/// Whether newgate can keep the variable `name` (`set env_keep`, `setenv { NAME }`).
fn keepable(name: &str) -> bool {
    env::is_valid_name(name) && !env::is_dangerous_name(name)
}

fn apply(effective: &mut Effective, name: &str, value: &DefaultsValue) -> Applied {
    let names = |v: &str| -> Vec<String> { v.split_whitespace().map(str::to_string).collect() };
    let keepable_names = |v: &str| -> Vec<String> { names(v).into_iter().filter(|n| keepable(n)).collect() };
    match (name, value) {
        ("authenticate", DefaultsValue::Flag(on)) => effective.authenticate = *on,
        ("env_reset", DefaultsValue::Flag(on)) => effective.env_reset = *on,
        ("timestamp_timeout", DefaultsValue::Set(v)) => match v.parse::<f64>() {
            Ok(minutes) if minutes.is_finite() => effective.timeout = Some(minutes),
            _ => return Applied::Unknown,
        },
        ("timestamp_timeout", DefaultsValue::Flag(false)) => effective.timeout = Some(0.0),
        ("env_keep", DefaultsValue::Set(v)) => effective.env_keep = keepable_names(v),
        ("env_keep", DefaultsValue::Add(v)) => {
            for n in keepable_names(v) {
                if !effective.env_keep.contains(&n) {
                    effective.env_keep.push(n);
                }
            }
        }
        ("env_keep", DefaultsValue::Remove(v)) => {
            let removed = names(v);
            effective.env_keep.retain(|n| !removed.contains(n));
        }
        ("env_keep", DefaultsValue::Flag(false)) => effective.env_keep.clear(),
        (r, DefaultsValue::Flag(on)) if RESTRICTING.contains(&r) => {
            if *on {
                effective.restrictions.insert(r.to_string());
            } else {
                effective.restrictions.remove(r);
            }
        }
        (r, DefaultsValue::Set(_)) if r == "runchroot" || r == "runcwd" => {
            effective.restrictions.insert(r.to_string());
        }
        ("secure_path" | "passwd_tries" | "editor" | "runas_default", _) => return Applied::Setting,
        (i, _) if INFORMATIONAL.contains(&i) => return Applied::Informational,
        _ => return Applied::Unknown,
    }
    Applied::Yes
}

/// Whether `after` asks more of a request than `before`: a password, an
/// environment reset, a restriction, a shorter memory of the password.
fn tightens(before: &Effective, after: &Effective) -> bool {
    (after.authenticate && !before.authenticate)
        || (after.env_reset && !before.env_reset)
        || after.restrictions.len() > before.restrictions.len()
        || after.env_keep.len() < before.env_keep.len()
        || after.timeout.unwrap_or(0.0) < before.timeout.unwrap_or(0.0)
}

fn persist_minutes(minutes: f64) -> u64 {
    if minutes < 0.0 {
        MAX_PERSIST_MINUTES
    } else {
        // Rounded down (a shorter memory is the safer one), at least a minute.
        (minutes.floor() as u64).clamp(1, MAX_PERSIST_MINUTES)
    }
}

impl<'s> Converter<'s> {
    /// `env_keep` names newgate never keeps (no variable name, or one that
    /// changes how programs load or shells start): [`apply`] leaves them out.
    pub(super) fn report_refused_env_keep(&mut self, line: &Line, settings: &[(String, DefaultsValue)]) {
        let refused: Vec<&str> = settings
            .iter()
            .filter(|(name, _)| name == "env_keep")
            .filter_map(|(_, value)| match value {
                DefaultsValue::Set(v) | DefaultsValue::Add(v) => Some(v.split_whitespace()),
                _ => None,
            })
            .flatten()
            .filter(|name| !keepable(name))
            .collect();
        if !refused.is_empty() {
            self.item(
                line,
                "ignored",
                format!("Defaults env_keep naming {}", refused.join(" ")),
                "newgate keeps only variable names, and never those that change how programs load or shells start",
                "they are not kept",
            );
        }
    }

    pub(super) fn global_defaults(&mut self, line: &Line, settings: &[(String, DefaultsValue)]) {
        for (name, value) in settings {
            let mut effective = self.global.clone();
            match apply(&mut effective, name, value) {
                Applied::Yes => self.global = effective,
                Applied::Setting => self.setting(line, name, value),
                Applied::Informational => {
                    self.item(
                        line,
                        "ignored",
                        format!("Defaults {name}"),
                        "newgate has no such setting",
                        "it is left out",
                    );
                }
                Applied::Unknown => {
                    self.item(
                        line,
                        "ignored",
                        format!("Defaults {name}"),
                        "the converter does not know this setting",
                        "it is left out",
                    );
                }
            }
        }
    }

    /// A global setting with a newgate `set`.
    pub(super) fn setting(&mut self, line: &Line, name: &str, value: &DefaultsValue) {
        let text = match value {
            DefaultsValue::Set(v) | DefaultsValue::Add(v) | DefaultsValue::Remove(v) => v.clone(),
            DefaultsValue::Flag(_) => String::new(),
        };
        match (name, value) {
            ("secure_path", DefaultsValue::Set(path)) => {
                self.draft.set("secure_path", output::quote(path), Some(line.at()));
            }
            ("passwd_tries", DefaultsValue::Set(n)) => match n.parse::<u32>() {
                Ok(n @ 1..=10) => self.draft.set("passwd_tries", n.to_string(), Some(line.at())),
                _ => {
                    self.item(
                        line,
                        "ignored",
                        format!("Defaults passwd_tries={n}"),
                        "newgate takes 1 to 10 tries",
                        "newgate's default of 3 applies",
                    );
                }
            },
            ("editor", DefaultsValue::Set(list)) => match list.split(':').find(|p| p.starts_with('/')) {
                Some(editor) => self.draft.set("editor", output::quote(editor), Some(line.at())),
                None => {
                    self.item(
                        line,
                        "ignored",
                        format!("Defaults editor={list}"),
                        "newgate takes one absolute path",
                        "it is left out",
                    );
                }
            },
            ("runas_default", DefaultsValue::Set(user)) => {
                self.runas_default = user.clone();
                if user != "root" {
                    self.item(
                        line,
                        "runas-default",
                        format!("Defaults runas_default={user}"),
                        "a newgate request without -u always asks for root",
                        &format!("entries without a runas list permit `newgate -u {user}` only"),
                    );
                }
            }
            _ => {
                self.item(
                    line,
                    "ignored",
                    format!("Defaults {name} {text}"),
                    "this form is not understood by the converter",
                    "it is left out",
                );
            }
        }
    }

    /// The options of a permit: the tags, then the `Defaults` in force.
    pub(super) fn options(&mut self, rule: &Rule, context: &Context) -> Options {
        let effective = self.effective(rule);
        let nopass = !context.authenticate.unwrap_or(effective.authenticate);
        let persist = match effective.timeout {
            Some(m) if m > 0.0 && !nopass => Some(persist_minutes(m)),
            _ => None,
        };
        let mut setenv: Vec<String> = effective
            .env_keep
            .iter()
            .filter(|name| !self.global.env_keep.contains(name))
            .cloned()
            .collect();
        setenv.dedup();
        Options {
            nopass,
            persist,
            keepenv: !effective.env_reset,
            setenv,
            nolog: false,
        }
    }

    /// True when a restriction in force (`Defaults noexec`, `rootpw`, ...)
    /// means the permit cannot be carried over.
    pub(super) fn dropped_by_defaults(&mut self, line: &Line, rule: &Rule) -> bool {
        let effective = self.effective(rule);
        let mut restrictions: Vec<&str> = effective.restrictions.iter().map(String::as_str).collect();
        // A password as another user only matters where a password is asked.
        if rule.options.nopass {
            restrictions.retain(|r| !["rootpw", "targetpw", "runaspw"].contains(r));
        }
        if restrictions.is_empty() {
            return false;
        }
        let item = self.item(
            line,
            "restriction",
            format!("Defaults {}", restrictions.join(", ")),
            "newgate cannot restrict a command this way, and always asks for the caller's own password",
            DENIED_INSTEAD,
        );
        item.users = terms_as_users(&rule.subjects);
        item.command = rule.command.as_ref().map(|c| match &c.path {
            Term::Name(p) | Term::Alias(p) | Term::Members(p) => p.clone(),
            Term::Any => "*".into(),
        });
        true
    }

    /// The Defaults for one rule: global ones, then scoped ones in sudo's
    /// order (host, user, runas, command). A scoped setting that loosens is
    /// applied only where its scope covers the whole rule; one that tightens
    /// wherever it may apply; either way inexactness is reported.
    pub(super) fn effective(&mut self, rule: &Rule) -> Effective {
        let mut effective = self.global.clone();
        let phases: [fn(&Scope) -> bool; 4] = [
            |s| matches!(s, Scope::Host(_)),
            |s| matches!(s, Scope::User(_)),
            |s| matches!(s, Scope::Runas(_)),
            |s| matches!(s, Scope::Cmnd(_)),
        ];
        let mut inexact = Vec::new();
        for phase in phases {
            for scoped in self.scoped.iter().filter(|s| phase(s.scope)) {
                let coverage = self.coverage(scoped.scope, rule);
                if coverage == Coverage::None {
                    continue;
                }
                for (name, value) in scoped.settings {
                    let mut trial = effective.clone();
                    if !matches!(apply(&mut trial, name, value), Applied::Yes) {
                        inexact.push((scoped.line, name.clone()));
                        continue;
                    }
                    let tightens = tightens(&effective, &trial);
                    if coverage == Coverage::All || tightens {
                        effective = trial;
                    }
                    if coverage == Coverage::Some {
                        inexact.push((scoped.line, name.clone()));
                    }
                }
            }
        }
        for (scoped_line, name) in inexact {
            if self
                .scoped_reported
                .insert((scoped_line.file.clone(), scoped_line.number))
            {
                self.report.items.push(Item {
                    file: scoped_line.file.clone(),
                    line: scoped_line.number,
                    kind: "defaults",
                    what: format!("the scoped Defaults {name}"),
                    why: "newgate options belong to whole rules; this scope covers only part of some rule, or the setting has no newgate form".into(),
                    instead: "where it would loosen a rule it is left out, where it tightens one it applies to the whole rule".into(),
                    users: None,
                    command: None,
                });
            }
        }
        effective
    }

    pub(super) fn coverage(&self, scope: &Scope, rule: &Rule) -> Coverage {
        let within = |names: &[Member<Name>], terms: &[Term], kind: Kind| -> Coverage {
            let mut flat = Vec::new();
            for member in names {
                match &member.item {
                    Name::Alias(a) => match self.alias_table(kind).get(a) {
                        Some(_) if !member.negated && self.emitted.get(a) == Some(&kind) => {
                            flat.push((false, Term::Alias(a.clone())))
                        }
                        _ => return Coverage::Some,
                    },
                    Name::All => flat.push((member.negated, Term::Any)),
                    Name::Word(w) if kind == Kind::Host => {
                        flat.extend(host_terms(w).into_iter().map(|t| (member.negated, t)))
                    }
                    Name::Word(w) => flat.push((member.negated, Term::Name(w.clone()))),
                    Name::Group(g) if kind == Kind::User => flat.push((member.negated, Term::Members(g.clone()))),
                    _ => return Coverage::Some,
                }
            }
            if flat.iter().any(|(negated, _)| *negated) {
                return Coverage::Some;
            }
            let listed: Vec<&Term> = flat.iter().map(|(_, t)| t).collect();
            if listed.contains(&&Term::Any) || terms.iter().all(|t| listed.contains(&t)) {
                return Coverage::All;
            }
            let apart = if kind == Kind::Host {
                hosts_apart(terms, &listed)
            } else {
                // Names and groups may share members: only plain user names are surely apart.
                terms.iter().all(|t| matches!(t, Term::Name(_)))
                    && listed.iter().all(|t| matches!(t, Term::Name(_)))
                    && !terms.iter().any(|t| listed.contains(&t))
            };
            if apart { Coverage::None } else { Coverage::Some }
        };
        match scope {
            Scope::Global => Coverage::All,
            Scope::User(names) => within(names, &rule.subjects, Kind::User),
            Scope::Host(names) => match &rule.hosts {
                Some(hosts) => within(names, hosts, Kind::Host),
                None if names.iter().any(|m| m.item == Name::All && !m.negated) => Coverage::All,
                None => Coverage::Some,
            },
            Scope::Runas(names) => match &rule.target {
                Target::Users(users) | Target::UserAndGroup(users, _) => within(names, users, Kind::Runas),
                Target::Groups(_) => Coverage::Some,
            },
            Scope::Cmnd(cmnds) => {
                let path = rule.command.as_ref().map(|c| &c.path);
                let all = cmnds.iter().any(|m| m.item == Cmnd::All && !m.negated);
                let listed = cmnds.iter().any(|m| match (&m.item, path) {
                    (
                        Cmnd::Path {
                            path: p,
                            args: ArgSpec::Any,
                            ..
                        },
                        Some(Term::Name(q)),
                    ) => !m.negated && canonical_path(p) == *q,
                    (Cmnd::Alias(a), Some(Term::Alias(b))) => !m.negated && a == b,
                    _ => false,
                });
                // sudo compares a path without wildcards by its file name
                // first: a rule for another name is never covered.
                let name = |p: &str| {
                    (!p.contains(['*', '?', '[', '\\']) && !p.ends_with('/'))
                        .then(|| p.rsplit('/').next().map(str::to_string))
                        .flatten()
                };
                let apart = match path {
                    Some(Term::Name(q)) => name(q).is_some_and(|mine| {
                        cmnds.iter().all(|m| match &m.item {
                            Cmnd::Path { path: p, .. } if !m.negated => name(p).is_some_and(|theirs| theirs != mine),
                            _ => false,
                        })
                    }),
                    _ => false,
                };
                if all || listed {
                    Coverage::All
                } else if apart {
                    Coverage::None
                } else {
                    Coverage::Some
                }
            }
        }
    }
}

/// Whether two lists of host patterns surely name no host in common. Host
/// patterns overlap through wildcards and through sudo's match of a dotless
/// name against the short host name (`web1` is `web1.example.com`, which the
/// converter writes as `web1, web1.*`): only names without wildcards whose
/// short names differ (case aside, as sudo compares hosts) are apart.
fn hosts_apart(terms: &[Term], listed: &[&Term]) -> bool {
    let short = |term: &Term| match term {
        Term::Name(name) => {
            let name = name.strip_suffix(".*").unwrap_or(name);
            let short = name.split('.').next().unwrap_or(name);
            (!name.contains(['*', '?', '[', '\\'])).then(|| short.to_ascii_lowercase())
        }
        _ => None,
    };
    let (Some(ours), Some(theirs)) = (
        terms.iter().map(short).collect::<Option<Vec<_>>>(),
        listed.iter().map(|t| short(t)).collect::<Option<Vec<_>>>(),
    ) else {
        return false;
    };
    !ours.iter().any(|name| theirs.contains(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_apart_only_when_their_short_names_differ() {
        let names = |list: &[&str]| list.iter().map(|n| Term::Name(n.to_string())).collect::<Vec<_>>();
        let apart = |ours: &[&str], theirs: &[&str]| {
            let theirs = names(theirs);
            hosts_apart(&names(ours), &theirs.iter().collect::<Vec<_>>())
        };
        // sudo matches `web1` against the short name of web1.example.com.
        assert!(!apart(&["web1", "web1.*"], &["web1.example.com"]));
        assert!(!apart(&["web1.example.com"], &["WEB1", "WEB1.*"]));
        assert!(!apart(&["web*"], &["web1", "web1.*"]));
        assert!(!apart(&["web1"], &["w?b1"]));
        assert!(apart(&["web1", "web1.*"], &["db1", "db1.*"]));
        assert!(apart(&["web1.example.com"], &["db1.example.com"]));
    }
}
