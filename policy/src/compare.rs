//! What changes between two policies: the rules added and removed, and the
//! requests whose decision flips, for `newgatectl diff` (config management
//! shows this before it installs a change).
//!
//! The requests tried are those the two policies name: each user they name,
//! a member of each group they name (shown as `%group`, a name no rule can
//! match as a user) and someone named by neither (`*`); each target they name,
//! and root; each command they name literally, with no arguments and with the
//! arguments a rule lists; no command; the service `newgate` and each service
//! they name. Globs and `*` are not expanded: a flip only such a request would
//! show is not found.

use std::collections::BTreeSet;
use std::path::PathBuf;

use jiff::Timestamp;

use crate::policy::{Names, Policy, Request, Rule, Target, Verdict};

/// A request both policies were asked, with owned parts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Probe {
    pub user: String,
    pub groups: Vec<String>,
    pub target_user: Option<String>,
    pub target_group: Option<String>,
    pub command: Option<PathBuf>,
    pub args: Vec<String>,
    pub service: String,
}

/// One request whose verdict differs, with the deciding rule on each side.
#[derive(Debug)]
pub struct Flip<'a> {
    pub probe: Probe,
    pub old: (Verdict, Option<&'a Rule>),
    pub new: (Verdict, Option<&'a Rule>),
}

/// The differences between `old` and `new`.
#[derive(Debug)]
pub struct Changes<'a> {
    pub removed: Vec<&'a Rule>,
    pub added: Vec<&'a Rule>,
    pub flips: Vec<Flip<'a>>,
    /// How many requests were decided on both sides.
    pub tried: usize,
}

/// The most requests one comparison decides; more means a policy whose names
/// multiply past what a review can read.
pub const MAX_PROBES: usize = 1_000_000;

/// The user name that stands for "a member of group G".
fn member_of(group: &str) -> String {
    format!("%{group}")
}

/// Compares `old` with `new` on `host` at `time`; `Err` with the count when
/// the names multiply past [`MAX_PROBES`].
pub fn compare<'a>(old: &'a Policy, new: &'a Policy, host: &str, time: Timestamp) -> Result<Changes<'a>, usize> {
    let probes = probes(&[old, new]);
    if probes.len() > MAX_PROBES {
        return Err(probes.len());
    }
    let mut flips = Vec::new();
    for probe in &probes {
        let request = Request {
            user: &probe.user,
            groups: &probe.groups,
            target_user: probe.target_user.as_deref(),
            target_group: probe.target_group.as_deref(),
            command: probe.command.as_deref(),
            args: &probe.args,
            host,
            service: &probe.service,
            time,
        };
        let (before, after) = (old.decide(&request), new.decide(&request));
        if before.verdict != after.verdict {
            flips.push(Flip {
                probe: probe.clone(),
                old: (before.verdict, before.rule),
                new: (after.verdict, after.rule),
            });
        }
    }
    Ok(Changes {
        removed: only_in(old, new),
        added: only_in(new, old),
        flips,
        tried: probes.len(),
    })
}

/// The rules of `a` whose text `b` does not have (as often).
fn only_in<'a>(a: &'a Policy, b: &Policy) -> Vec<&'a Rule> {
    let mut theirs: Vec<&str> = b.rules().iter().map(|r| r.text.as_str()).collect();
    let mut only = Vec::new();
    for rule in a.rules() {
        match theirs.iter().position(|t| *t == rule.text) {
            Some(i) => {
                theirs.swap_remove(i);
            }
            None => only.push(rule),
        }
    }
    only
}

fn probes(policies: &[&Policy]) -> BTreeSet<Probe> {
    let rules = || policies.iter().flat_map(|p| p.rules());
    let mut requesters: BTreeSet<(String, Vec<String>)> = BTreeSet::new();
    requesters.insert(("*".into(), Vec::new()));
    let mut targets: BTreeSet<(Option<String>, Option<String>)> = BTreeSet::new();
    // Neither `-u` nor `-g` is root.
    targets.insert((Some("root".into()), None));
    let mut commands: BTreeSet<(Option<PathBuf>, Vec<String>)> = BTreeSet::new();
    commands.insert((None, Vec::new()));
    let mut services: BTreeSet<String> = BTreeSet::new();
    services.insert("newgate".into());
    for rule in rules() {
        for user in &rule.subjects.users {
            requesters.insert((user.to_string(), Vec::new()));
        }
        for group in &rule.subjects.groups {
            requesters.insert((member_of(group), vec![group.to_string()]));
        }
        let named = |names: &Names| match names {
            Names::Any => Vec::new(),
            Names::Some(list) => list.iter().map(|n| n.to_string()).collect::<Vec<String>>(),
        };
        match &*rule.target {
            Target::Users(users) => targets.extend(named(users).into_iter().map(|u| (Some(u), None))),
            Target::Groups(groups) => targets.extend(named(groups).into_iter().map(|g| (None, Some(g)))),
            Target::UserAndGroup(users, groups) => {
                for user in named(users) {
                    targets.extend(named(groups).into_iter().map(|g| (Some(user.clone()), Some(g))));
                }
            }
        }
        if let Some(command) = &rule.command {
            for path in command.paths.iter().filter(|p| p.is_literal()) {
                let path = PathBuf::from(path.as_str());
                commands.insert((Some(path.clone()), Vec::new()));
                if let Some(args) = &command.args {
                    commands.insert((Some(path), args.exact.iter().map(|a| a.to_string()).collect()));
                }
            }
        }
        if let Some(named_services) = rule.services() {
            services.extend(named_services.iter().map(|s| s.to_string()));
        }
    }
    let mut probes = BTreeSet::new();
    for (user, groups) in &requesters {
        for (target_user, target_group) in &targets {
            for (command, args) in &commands {
                for service in &services {
                    probes.insert(Probe {
                        user: user.clone(),
                        groups: groups.clone(),
                        target_user: target_user.clone(),
                        target_group: target_group.clone(),
                        command: command.clone(),
                        args: args.clone(),
                        service: service.clone(),
                    });
                    if probes.len() > MAX_PROBES {
                        return probes;
                    }
                }
            }
        }
    }
    probes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{LoadOptions, Trust, load_str};

    fn policy(text: &str) -> Policy {
        let options = LoadOptions {
            trust: Trust::Draft,
            directory: None,
            now: None,
            lint: false,
        };
        load_str(std::path::Path::new("p"), text, &options)
            .policy
            .expect("a valid policy")
    }

    fn now() -> Timestamp {
        "2026-11-29T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_new_deny_flips_what_it_names_and_nothing_else() {
        let old = policy("permit alice as group docker\npermit %ops as user root\n");
        let new = policy("permit alice as group docker\npermit %ops as user root\ndeny bob as user root\n");
        let changes = compare(&old, &new, "h", now()).unwrap();
        assert!(changes.removed.is_empty());
        assert_eq!(changes.added.len(), 1);
        // bob is not in ops: he was denied before too, so nothing flips.
        assert!(changes.flips.is_empty(), "{:?}", changes.flips);

        let new =
            policy("permit alice as group docker\npermit %ops as user root\ndeny %ops as user root cmd /usr/bin/su\n");
        let changes = compare(&old, &new, "h", now()).unwrap();
        let flipped: Vec<String> = changes
            .flips
            .iter()
            .map(|f| format!("{} {:?} {:?}", f.probe.user, f.probe.command, f.new.0))
            .collect();
        assert_eq!(flipped, ["%ops Some(\"/usr/bin/su\") Deny"]);
    }

    #[test]
    fn removing_a_rule_is_seen_with_the_requests_it_decided() {
        let old = policy("permit alice as group docker cmd /usr/bin/docker args ps\n");
        let new = policy("# nothing\n");
        let changes = compare(&old, &new, "h", now()).unwrap();
        assert_eq!(changes.removed.len(), 1);
        let flip = &changes.flips[0];
        assert_eq!(changes.flips.len(), 1, "{:?}", changes.flips);
        assert_eq!(flip.probe.args, ["ps"]);
        assert_eq!((flip.old.0, flip.new.0), (Verdict::Permit, Verdict::Deny));
        assert_eq!(flip.old.1.unwrap().location.line, 1);
        assert!(flip.new.1.is_none());
    }

    #[test]
    fn the_same_rules_in_another_order_may_still_flip() {
        let old = policy("permit alice as user root\ndeny alice as user root\n");
        let new = policy("deny alice as user root\npermit alice as user root\n");
        let changes = compare(&old, &new, "h", now()).unwrap();
        assert!(changes.added.is_empty() && changes.removed.is_empty());
        assert!(changes.flips.iter().any(|f| f.probe.user == "alice"));
    }
}
