//! What the fuzz targets share: the options a draft is loaded with, sample
//! requests built from the words of the input, and the checks that every
//! diagnostic and every decision must pass; a reader of audit lines
//! (`audit`) and the checks of an import (`import`).

#![forbid(unsafe_code)]

pub mod audit;
pub mod import;

use std::collections::HashSet;
use std::path::Path;
use std::ptr;

use jiff::Timestamp;
use newgate_policy::{Diagnostic, LoadOptions, Login, Policy, Request, Rule, Trust};

/// The file a fuzzed policy stands for. Its folder does not exist, so a
/// relative `include` finds nothing and the input alone decides the outcome.
pub const POLICY_PATH: &str = "/nonexistent/newgate-fuzz/policy";

/// A draft, as `newgatectl check FILE` reads it: no ownership checks, no
/// user or host look-ups, warnings computed.
pub fn draft() -> LoadOptions<'static> {
    LoadOptions {
        trust: Trust::Draft,
        directory: None,
        now: Some(at("2026-11-29T12:00:00Z")),
        lint: true,
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().expect("a valid timestamp")
}

/// Every diagnostic must render, say what it is, and point inside the text
/// it is about (`text`, when it is about the file at `path`).
pub fn check_diagnostics(path: &Path, text: &str, diagnostics: &[Diagnostic]) {
    let lines = text.split('\n').count();
    for d in diagnostics {
        let rendered = d.to_string();
        assert!(
            rendered.contains(": error: ") || rendered.contains(": warning: "),
            "{rendered}"
        );
        if d.file != path {
            continue;
        }
        if let Some(pos) = &d.position {
            assert!(
                pos.line >= 1 && pos.line as usize <= lines,
                "line past the end: {rendered}"
            );
            assert!(pos.column >= 1, "{rendered}");
            assert!(pos.column as usize <= pos.source_line.chars().count() + 1, "{rendered}");
        }
    }
}

/// Requests to ask a policy, built from the words of its text so that they
/// meet its rules: users, groups, commands and hosts it names, at times
/// inside and outside office hours, through two services.
pub struct Samples {
    asked: Vec<Asked>,
}

struct Asked {
    user: String,
    groups: Vec<String>,
    target_user: Option<String>,
    target_group: Option<String>,
    command: Option<String>,
    args: Vec<String>,
    host: String,
    service: &'static str,
    time: Timestamp,
}

/// How many words of the input the samples use, to keep one run cheap.
const WORDS: usize = 8;
const TIMES: [&str; 3] = ["2026-11-30T10:00:00Z", "2026-11-29T23:30:00Z", "2027-12-31T23:59:59Z"];
const SERVICES: [&str; 3] = ["newgate", "su", "sshd"];

impl Samples {
    pub fn from_text(text: &str) -> Samples {
        let mut names: Vec<&str> = vec!["root", "alice"];
        let mut commands: Vec<&str> = vec!["/usr/bin/id"];
        let mut args: Vec<&str> = Vec::new();
        for word in text
            .split(|c: char| c.is_whitespace() || ",=\"'{}()#\\".contains(c))
            .filter(|w| !w.is_empty())
        {
            if word.starts_with('/') {
                if commands.len() < WORDS && !commands.contains(&word) {
                    commands.push(word);
                }
            } else {
                let name = word.trim_start_matches('%');
                if !name.is_empty() && names.len() < WORDS && !names.contains(&name) {
                    names.push(name);
                }
            }
            if args.len() < 3 {
                args.push(word);
            }
        }
        let pick = |list: &[&str], i: usize| list[i % list.len()].to_string();
        let mut asked = Vec::new();
        for i in 0..names.len() * 2 {
            let as_group = i % 3 != 0;
            asked.push(Asked {
                user: pick(&names, i),
                groups: vec![pick(&names, i + 1), pick(&names, i + 3)],
                target_user: (i % 3 != 1).then(|| pick(&names, i + 2)),
                target_group: as_group.then(|| pick(&names, i + 1 + i / 2)),
                command: (i % 4 != 3).then(|| pick(&commands, i)),
                args: args[..i % (args.len() + 1)].iter().map(|a| a.to_string()).collect(),
                host: if i % 2 == 0 {
                    "localhost".into()
                } else {
                    pick(&names, i + 4)
                },
                service: SERVICES[i % SERVICES.len()],
                time: at(TIMES[i % TIMES.len()]),
            });
        }
        Samples { asked }
    }

    pub fn requests(&self) -> impl Iterator<Item = Request<'_>> {
        self.asked.iter().map(|a| Request {
            user: &a.user,
            groups: &a.groups,
            target_user: a.target_user.as_deref(),
            target_group: a.target_group.as_deref(),
            command: a.command.as_deref().map(Path::new),
            args: &a.args,
            host: &a.host,
            service: a.service,
            time: a.time,
        })
    }

    pub fn logins(&self) -> impl Iterator<Item = Login<'_>> {
        self.asked.iter().map(|a| Login {
            user: &a.user,
            groups: &a.groups,
            host: &a.host,
            service: a.service,
            time: a.time,
        })
    }
}

/// Where a rule stands in the policy, for comparing rules of two policies.
pub fn rule_index(policy: &Policy, rule: Option<&Rule>) -> Option<usize> {
    rule.map(|r| {
        policy
            .rules()
            .iter()
            .position(|p| ptr::eq(p, r))
            .expect("a decision names a rule of its own policy")
    })
}

/// The fast decision equals the one that looks at every rule, and what
/// `grants` returns is made of `grant` rules that concern the user.
pub fn check_decisions(policy: &Policy, samples: &Samples) {
    let deciding = policy
        .rules()
        .iter()
        .filter(|r| r.action != newgate_policy::Action::Grant)
        .count();
    for request in samples.requests() {
        let fast = policy.decide(&request);
        let slow = policy.explain(&request);
        assert_eq!(fast.verdict, slow.verdict, "{request:?}");
        assert_eq!(
            rule_index(policy, fast.rule),
            rule_index(policy, slow.rule),
            "{request:?}"
        );
        assert_eq!(fast.options, slow.options, "{request:?}");
        assert_eq!(slow.trace.len(), deciding);
        if let Some(rule) = fast.rule {
            let concerning = policy.rules_for(request.user, request.groups);
            assert!(concerning.iter().any(|r| ptr::eq(*r, rule)), "{request:?}");
        }
    }
    for login in samples.logins() {
        let granted = policy.grants(&login);
        // Sets, not list searches: a policy of many grants must not make the check quadratic.
        let concerning: HashSet<*const Rule> = policy
            .rules_for(login.user, login.groups)
            .into_iter()
            .map(ptr::from_ref)
            .collect();
        let mut groups = HashSet::new();
        for g in &granted {
            assert_eq!(g.rule.action, newgate_policy::Action::Grant);
            assert!(concerning.contains(&ptr::from_ref(g.rule)), "{login:?}");
            assert!(groups.insert(g.group.as_str()), "{} granted twice", g.group);
        }
    }
}
