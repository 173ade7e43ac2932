//! The compiled policy and its decisions.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use crate::glob::Glob;
use crate::time::{When, format_duration};

/// What a rule does when it decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Permit,
    Deny,
    /// Adds groups at login through the PAM module; never decides a switch.
    Grant,
}

impl Action {
    pub fn keyword(self) -> &'static str {
        match self {
            Action::Permit => "permit",
            Action::Deny => "deny",
            Action::Grant => "grant",
        }
    }
}

/// Where a rule was written. The rules of one file share its path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: Arc<Path>,
    pub line: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A user or group name as the compiled policy holds it: one allocation per
/// distinct name, shared by every rule that names it.
pub(crate) type Name = Arc<str>;

/// Compiled globs (a `cmd` or `on` list): an alias's list, or one pattern
/// written in many rules, is compiled once and shared.
pub(crate) type Globs = Arc<[Glob]>;

/// One name list of a target: `*` or named entries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Names {
    Any,
    Some(Vec<Name>),
}

impl Names {
    pub(crate) fn shrink_to_fit(&mut self) {
        if let Names::Some(names) = self {
            names.shrink_to_fit();
        }
    }

    fn contains(&self, name: &str) -> bool {
        match self {
            Names::Any => true,
            Names::Some(names) => names.iter().any(|n| &**n == name),
        }
    }

    pub(crate) fn covers(&self, other: &Names) -> bool {
        match (self, other) {
            (Names::Any, _) => true,
            (Names::Some(_), Names::Any) => false,
            (Names::Some(mine), Names::Some(theirs)) => theirs.iter().all(|t| mine.contains(t)),
        }
    }
}

/// What a rule lets the subject become.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    /// `as group G`: stay yourself, take G as primary group.
    Groups(Names),
    /// `as user U`: become U with U's own groups.
    Users(Names),
    /// `as user U group G`.
    UserAndGroup(Names, Names),
}

impl Target {
    pub(crate) fn covers(&self, other: &Target) -> bool {
        match (self, other) {
            (Target::Groups(a), Target::Groups(b)) | (Target::Users(a), Target::Users(b)) => a.covers(b),
            (Target::UserAndGroup(u1, g1), Target::UserAndGroup(u2, g2)) => u1.covers(u2) && g1.covers(g2),
            _ => false,
        }
    }
}

/// Who a rule is for, after aliases are expanded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Subjects {
    pub users: Vec<Name>,
    pub groups: Vec<Name>,
    pub anyone: bool,
}

impl Subjects {
    fn contains(&self, user: &str, groups: &[String]) -> bool {
        self.anyone
            || self.users.iter().any(|u| &**u == user)
            || self
                .groups
                .iter()
                .any(|g| groups.iter().any(|mine| mine.as_str() == &**g))
    }

    pub(crate) fn covers(&self, other: &Subjects) -> bool {
        self.anyone
            || (!other.anyone
                && other.users.iter().all(|u| self.users.contains(u))
                && other.groups.iter().all(|g| self.groups.contains(g)))
    }
}

/// `cmd PATH [args ...]`.
#[derive(Clone, Debug)]
pub(crate) struct CommandMatch {
    pub paths: Globs,
    /// `None`: any arguments.
    pub args: Option<ArgsMatch>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ArgsMatch {
    /// Shared like names: `args restart` is written in many rules.
    pub exact: Vec<Name>,
    /// A final `*`: any further arguments, or none.
    pub rest: bool,
}

impl ArgsMatch {
    fn matches(&self, args: &[String]) -> bool {
        if self.rest {
            args.len() >= self.exact.len() && same_args(&args[..self.exact.len()], &self.exact)
        } else {
            same_args(args, &self.exact)
        }
    }
}

fn same_args(args: &[String], exact: &[Name]) -> bool {
    args.len() == exact.len() && args.iter().zip(exact).all(|(a, e)| a.as_str() == &**e)
}

impl CommandMatch {
    pub(crate) fn same_as(&self, other: &CommandMatch) -> bool {
        self.args == other.args
            && self.paths.len() == other.paths.len()
            && self
                .paths
                .iter()
                .zip(other.paths.iter())
                .all(|(a, b)| a.as_str() == b.as_str())
    }
}

/// A change that `setenv { ... }` makes to the command's environment.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EnvChange {
    /// `NAME=VALUE`
    Set(String, String),
    /// `-NAME`: removed even if it would otherwise be kept.
    Unset(String),
    /// `NAME`: the caller's value is kept.
    Keep(String),
}

/// The options of the rule that decided, resolved against the settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Options {
    pub nopass: bool,
    /// How long an authentication is remembered, when the rule says `persist`.
    pub persist: Option<Duration>,
    pub keepenv: bool,
    pub setenv: Vec<EnvChange>,
    /// The folders `newgate -D` may enter; `None`: only the caller's own.
    pub chdir: Option<Chdir>,
    pub nolog: bool,
}

/// The `chdir` option: which folders the command may be started in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Chdir {
    /// `chdir`: any folder.
    Any,
    /// `chdir=GLOB`: folders whose path the glob matches (`*` stops at `/`).
    Matching(String),
}

impl Chdir {
    /// Whether `folder`, as written, may be entered; a pattern that does not
    /// compile (which the compiler never lets through) allows nothing.
    pub fn allows(&self, folder: &str) -> bool {
        match self {
            Chdir::Any => true,
            Chdir::Matching(pattern) => crate::glob::Glob::new(pattern).is_ok_and(|g| g.matches_path(folder)),
        }
    }
}

impl fmt::Display for Chdir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Chdir::Any => f.write_str("chdir"),
            Chdir::Matching(pattern) => write!(f, "chdir={pattern}"),
        }
    }
}

impl fmt::Display for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.nopass {
            parts.push("nopass".to_string());
        }
        if let Some(d) = self.persist {
            parts.push(format!("persist={}", format_duration(d)));
        }
        if self.keepenv {
            parts.push("keepenv".into());
        }
        if !self.setenv.is_empty() {
            let items: Vec<String> = self
                .setenv
                .iter()
                .map(|c| match c {
                    EnvChange::Set(n, v) => format!("{n}={v:?}"),
                    EnvChange::Unset(n) => format!("-{n}"),
                    EnvChange::Keep(n) => n.clone(),
                })
                .collect();
            parts.push(format!("setenv {{ {} }}", items.join(" ")));
        }
        if let Some(chdir) = &self.chdir {
            parts.push(chdir.to_string());
        }
        if self.nolog {
            parts.push("nolog".into());
        }
        if parts.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&parts.join(" "))
        }
    }
}

/// A compiled rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub action: Action,
    pub location: Location,
    /// The rule as written, continuation lines joined.
    pub text: String,
    /// Rules with the same options, subjects or target share one copy.
    pub options: Arc<Options>,
    pub(crate) subjects: Arc<Subjects>,
    pub(crate) target: Arc<Target>,
    /// `None` for the many rules without `on`, `service`, `when` or `until`.
    pub(crate) conditions: Option<Box<Conditions>>,
    pub(crate) command: Option<CommandMatch>,
}

/// The conditions of a rule, boxed apart: most rules have none, and a rule
/// is smaller without room for them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Conditions {
    pub hosts: Option<Globs>,
    pub services: Option<Vec<Name>>,
    pub when: Option<(When, String)>,
    pub until: Option<(Timestamp, String)>,
}

impl Rule {
    pub(crate) fn is_unconditional(&self) -> bool {
        self.conditions.is_none()
    }

    pub(crate) fn hosts(&self) -> Option<&Globs> {
        self.conditions.as_ref()?.hosts.as_ref()
    }

    pub(crate) fn services(&self) -> Option<&[Name]> {
        self.conditions.as_ref()?.services.as_deref()
    }

    pub(crate) fn when(&self) -> Option<&(When, String)> {
        self.conditions.as_ref()?.when.as_ref()
    }

    pub(crate) fn until(&self) -> Option<&(Timestamp, String)> {
        self.conditions.as_ref()?.until.as_ref()
    }
}

/// `set log_format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Sudo,
    Json,
}

/// `set audit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audit {
    BestEffort,
    Required,
    /// No audit log at all, and no warning that there is none.
    Off,
}

/// The policy's `set` statements, with their defaults.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How long `persist` without a value remembers.
    pub persist: Duration,
    /// `set persist`: every `permit` without `nopass` remembers this long,
    /// unless it says `persist=DURATION` or `persist=0` itself.
    pub persist_default: Option<Duration>,
    pub secure_path: Vec<PathBuf>,
    pub log_format: LogFormat,
    pub passwd_tries: u32,
    /// The zone `when` and `until` are read in, and its name.
    pub timezone: TimeZone,
    pub timezone_name: String,
    /// The file the zone was read from, `None` for UTC: what a compiled
    /// snapshot reads the zone back from.
    pub(crate) timezone_file: Option<PathBuf>,
    pub audit: Audit,
    pub env_keep: Vec<String>,
    pub editor: Option<String>,
    /// `set umask`: the bits the command's umask always has, on top of the caller's.
    pub umask: u32,
}

pub const DEFAULT_SECURE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            persist: Duration::from_secs(300),
            persist_default: None,
            secure_path: DEFAULT_SECURE_PATH.split(':').map(PathBuf::from).collect(),
            log_format: LogFormat::Sudo,
            passwd_tries: 3,
            timezone: TimeZone::UTC,
            timezone_name: "UTC".into(),
            timezone_file: None,
            audit: Audit::BestEffort,
            env_keep: Vec::new(),
            editor: None,
            umask: 0o022,
        }
    }
}

/// A request to switch: who asks, to become what, to run what, where and when.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub user: &'a str,
    /// Every group the user is a member of, primary included (as `getgrouplist` says).
    pub groups: &'a [String],
    /// `None` with `target_group` also `None` means `root`.
    pub target_user: Option<&'a str>,
    pub target_group: Option<&'a str>,
    /// The resolved absolute path of the program, if the request runs one.
    pub command: Option<&'a Path>,
    pub args: &'a [String],
    pub host: &'a str,
    /// The PAM service: `newgate` for the newgate command itself.
    pub service: &'a str,
    pub time: Timestamp,
}

impl Request<'_> {
    /// The user the request would run as.
    pub fn effective_target_user(&self) -> &str {
        match (self.target_user, self.target_group) {
            (Some(u), _) => u,
            (None, Some(_)) => self.user,
            (None, None) => "root",
        }
    }
}

/// A login, for `grant` rules: who logs in, where, when, through which service.
#[derive(Clone, Debug)]
pub struct Login<'a> {
    pub user: &'a str,
    pub groups: &'a [String],
    pub host: &'a str,
    pub service: &'a str,
    pub time: Timestamp,
}

/// The outcome of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Permit,
    Deny,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Permit => "permit",
            Verdict::Deny => "deny",
        }
    }
}

/// Why a rule did or did not match a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Matched,
    /// The rule concerns other requests; the sentence says how.
    Skipped(String),
}

/// One line of a decision's trace.
#[derive(Clone, Debug)]
pub struct Step<'p> {
    pub rule: &'p Rule,
    pub outcome: Outcome,
}

/// A decision with the rule that made it.
#[derive(Clone, Debug)]
pub struct Decision<'p> {
    pub verdict: Verdict,
    /// The last matching rule, or `None` when no rule matched (deny).
    pub rule: Option<&'p Rule>,
    /// The options in force: the deciding rule's, when it permits.
    pub options: Options,
    /// Every rule considered, in policy order; empty unless asked for.
    pub trace: Vec<Step<'p>>,
}

/// A group granted at login, with the rule that grants it.
#[derive(Clone, Debug)]
pub struct Granted<'p> {
    pub group: String,
    pub rule: &'p Rule,
}

/// Rules by the subjects they name, so that a decision looks only at rules
/// that can concern the requesting user.
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub(crate) by_user: HashMap<Name, Vec<u32>>,
    pub(crate) by_group: HashMap<Name, Vec<u32>>,
    pub(crate) anyone: Vec<u32>,
}

impl Index {
    pub(crate) fn build(rules: &[Rule]) -> Index {
        let mut index = Index::default();
        for (i, rule) in rules.iter().enumerate() {
            let i = i as u32;
            if rule.subjects.anyone {
                index.anyone.push(i);
                continue;
            }
            for user in &rule.subjects.users {
                push_once(index.by_user.entry(user.clone()).or_default(), i);
            }
            for group in &rule.subjects.groups {
                push_once(index.by_group.entry(group.clone()).or_default(), i);
            }
        }
        index
    }

    /// The rule lists that may concern this user, each in ascending order.
    fn lists<'i>(&'i self, user: &str, groups: &[String]) -> Vec<&'i [u32]> {
        let mut lists = Vec::with_capacity(groups.len() + 2);
        lists.push(self.anyone.as_slice());
        if let Some(l) = self.by_user.get(user) {
            lists.push(l.as_slice());
        }
        for g in groups {
            if let Some(l) = self.by_group.get(g.as_str()) {
                lists.push(l.as_slice());
            }
        }
        lists.retain(|l| !l.is_empty());
        lists
    }

    /// Rule numbers that may concern this user, from the last to the first.
    pub(crate) fn candidates_descending<'i>(&'i self, user: &str, groups: &[String]) -> impl Iterator<Item = u32> + 'i {
        let mut lists = self.lists(user, groups);
        let mut last = None;
        std::iter::from_fn(move || {
            loop {
                let (which, _) = lists
                    .iter()
                    .enumerate()
                    .filter_map(|(i, l)| l.last().map(|&r| (i, r)))
                    .max_by_key(|&(_, r)| r)?;
                let (&rule, rest) = lists[which].split_last()?;
                lists[which] = rest;
                if last != Some(rule) {
                    last = Some(rule);
                    return Some(rule);
                }
            }
        })
    }

    pub(crate) fn for_user(&self, user: &str) -> &[u32] {
        self.by_user.get(user).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn for_group(&self, group: &str) -> &[u32] {
        self.by_group.get(group).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn for_anyone(&self) -> &[u32] {
        &self.anyone
    }
}

fn push_once(list: &mut Vec<u32>, rule: u32) {
    if list.last() != Some(&rule) {
        list.push(rule);
    }
}

/// A loaded, valid policy. Deciding needs nothing but a [`Request`].
#[derive(Debug)]
pub struct Policy {
    pub settings: Settings,
    pub(crate) rules: Vec<Rule>,
    pub(crate) index: Index,
    /// Every file the policy was read from, the main one first.
    pub files: Vec<PathBuf>,
    /// `Some` for a policy read from a compiled snapshot for one requester:
    /// it holds only the rules that concern them (see [`Scope`]).
    pub(crate) scope: Option<Scope>,
}

/// The requester a policy from a snapshot was read for: a user and every
/// group they are in. It holds every rule that can concern a request of
/// theirs, so it decides those exactly as the whole policy; about anyone
/// else it knows nothing, and denies and grants nothing.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub user: String,
    pub groups: Vec<String>,
}

impl Scope {
    fn covers(&self, user: &str, groups: &[String]) -> bool {
        self.user == user && groups.iter().all(|g| self.groups.contains(g))
    }
}

/// What evaluating rules for one request needs beside the rules: the
/// request's time in the policy's zone (computed once, only if a rule needs
/// it), and whether reasons are wanted (`explain`) or only the outcome.
struct Evaluation<'a> {
    at: Timestamp,
    zone: &'a TimeZone,
    civil: Option<DateTime>,
    reasons: bool,
}

impl Evaluation<'_> {
    fn get(&mut self) -> DateTime {
        *self.civil.get_or_insert_with(|| self.zone.to_datetime(self.at))
    }

    /// The reason a rule did not match, written only when it will be read.
    fn why(&self, reason: impl FnOnce() -> String) -> String {
        if self.reasons { reason() } else { String::new() }
    }
}

impl Policy {
    /// Every rule, in policy order (includes spliced in where they stand).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether this policy holds every rule that can concern this user.
    fn knows(&self, user: &str, groups: &[String]) -> bool {
        self.scope.as_ref().is_none_or(|scope| scope.covers(user, groups))
    }

    /// Decides a request: the last matching `permit` or `deny` rule wins, no match denies.
    pub fn decide(&self, request: &Request) -> Decision<'_> {
        if !self.knows(request.user, request.groups) {
            return decision(None, Vec::new());
        }
        let mut clock = self.clock(request.time, false);
        let rule = self
            .index
            .candidates_descending(request.user, request.groups)
            .map(|i| &self.rules[i as usize])
            .filter(|r| r.action != Action::Grant)
            .find(|r| self.check(r, request, &mut clock).is_ok());
        decision(rule, Vec::new())
    }

    /// Decides a request like [`Policy::decide`], looking at every rule in
    /// order and recording why each one did or did not match.
    pub fn explain(&self, request: &Request) -> Decision<'_> {
        if !self.knows(request.user, request.groups) {
            return decision(None, Vec::new());
        }
        let mut clock = self.clock(request.time, true);
        let mut trace = Vec::new();
        let mut deciding = None;
        for rule in self.rules.iter().filter(|r| r.action != Action::Grant) {
            let outcome = match self.check(rule, request, &mut clock) {
                Ok(()) => {
                    deciding = Some(rule);
                    Outcome::Matched
                }
                Err(why) => Outcome::Skipped(why),
            };
            trace.push(Step { rule, outcome });
        }
        decision(deciding, trace)
    }

    /// The groups that `grant` rules add at this login: for each group, the
    /// last matching `grant` or `deny` rule naming it must be a `grant`.
    pub fn grants(&self, login: &Login) -> Vec<Granted<'_>> {
        if !self.knows(login.user, login.groups) {
            return Vec::new();
        }
        let mut clock = self.clock(login.time, false);
        let mut granted: Vec<Granted> = Vec::new();
        let mut candidates: Vec<u32> = self.index.candidates_descending(login.user, login.groups).collect();
        candidates.reverse();
        for rule in candidates.into_iter().map(|i| &self.rules[i as usize]) {
            let (Target::Groups(groups), Action::Grant | Action::Deny) = (&*rule.target, rule.action) else {
                continue;
            };
            if (rule.action == Action::Deny && rule.command.is_some())
                || self
                    .check_conditions(rule, login.host, login.service, &mut clock)
                    .is_err()
            {
                continue;
            }
            match (rule.action, groups) {
                (Action::Grant, Names::Some(names)) => {
                    for group in names {
                        granted.retain(|g| g.group.as_str() != &**group);
                        granted.push(Granted {
                            group: group.to_string(),
                            rule,
                        });
                    }
                }
                (_, names) => granted.retain(|g| !names.contains(&g.group)),
            }
        }
        granted
    }

    fn clock(&self, at: Timestamp, reasons: bool) -> Evaluation<'_> {
        Evaluation {
            at,
            zone: &self.settings.timezone,
            civil: None,
            reasons,
        }
    }

    /// Whether one rule matches, and if not, why not, in words.
    fn check(&self, rule: &Rule, request: &Request, clock: &mut Evaluation) -> Result<(), String> {
        if !rule.subjects.contains(request.user, request.groups) {
            return Err(clock.why(|| format!("not for {}", request.user)));
        }
        self.check_target(rule, request, clock)?;
        self.check_conditions(rule, request.host, request.service, clock)?;
        if let Some(command) = &rule.command {
            let Some(path) = request.command else {
                return Err(clock.why(|| "only for a command, and the request runs none".into()));
            };
            let path_text = path.to_string_lossy();
            if !command.paths.iter().any(|g| g.matches_path(&path_text)) {
                return Err(clock.why(|| format!("not for command {path_text}")));
            }
            if let Some(args) = &command.args
                && !args.matches(request.args)
            {
                return Err(clock.why(|| format!("not for the arguments `{}`", request.args.join(" "))));
            }
        }
        Ok(())
    }

    fn check_target(&self, rule: &Rule, request: &Request, clock: &Evaluation) -> Result<(), String> {
        let staying = request.target_user.is_none_or(|u| u == request.user);
        let ok = match (&*rule.target, request.target_group) {
            (Target::Groups(groups), Some(group)) => staying && groups.contains(group),
            (Target::Users(users), None) => users.contains(request.effective_target_user()),
            (Target::UserAndGroup(users, groups), Some(group)) => {
                users.contains(request.effective_target_user()) && groups.contains(group)
            }
            _ => false,
        };
        if ok {
            return Ok(());
        }
        Err(clock.why(|| match (request.target_user, request.target_group) {
            (Some(u), Some(g)) => format!("not as user {u} group {g}"),
            (None, Some(g)) => format!("not as group {g}"),
            (_, None) => format!("not as user {}", request.effective_target_user()),
        }))
    }

    fn check_conditions(&self, rule: &Rule, host: &str, service: &str, clock: &mut Evaluation) -> Result<(), String> {
        if let Some(hosts) = rule.hosts()
            && !hosts.iter().any(|h| h.matches_host(host))
        {
            return Err(clock.why(|| format!("not on host {host}")));
        }
        if let Some(services) = rule.services()
            && !services.iter().any(|s| &**s == service)
        {
            return Err(clock.why(|| format!("not through service {service}")));
        }
        if let Some((until, text)) = rule.until()
            && clock.at >= *until
        {
            return Err(clock.why(|| format!("expired: until {text}")));
        }
        if let Some((when, text)) = rule.when() {
            let now = clock.get();
            if !when.matches(now) {
                return Err(clock.why(|| format!("not at {} (when {text})", now.strftime("%a %Y-%m-%d %H:%M"))));
            }
        }
        Ok(())
    }
}

fn decision<'p>(rule: Option<&'p Rule>, trace: Vec<Step<'p>>) -> Decision<'p> {
    match rule {
        Some(r) if r.action == Action::Permit => Decision {
            verdict: Verdict::Permit,
            rule,
            options: Options::clone(&r.options),
            trace,
        },
        _ => Decision {
            verdict: Verdict::Deny,
            rule,
            options: Options::default(),
            trace,
        },
    }
}

impl Policy {
    /// The rules that concern this user, in policy order: what `newgatectl list` shows.
    pub fn rules_for(&self, user: &str, groups: &[String]) -> Vec<&Rule> {
        if !self.knows(user, groups) {
            return Vec::new();
        }
        let mut found: Vec<u32> = self.index.candidates_descending(user, groups).collect();
        found.reverse();
        found.into_iter().map(|i| &self.rules[i as usize]).collect()
    }

    /// Whether some rule permits this user something, on some host, at some
    /// time, whatever later rules deny: `newgate -v` refuses to remember an
    /// authentication for a user no rule permits anything.
    pub fn permits_something(&self, user: &str, groups: &[String]) -> bool {
        self.rules_for(user, groups)
            .iter()
            .any(|rule| rule.action == Action::Permit)
    }
}

impl Rule {
    /// The rule in plain words, without its subjects: "may run /usr/bin/docker as group docker".
    pub fn describe(&self) -> String {
        let mut out = String::new();
        if self.action == Action::Grant {
            out.push_str("is given ");
            out.push_str(&describe_names(self.target_groups(), "group", "groups"));
            out.push_str(" at login");
        } else {
            out.push_str(if self.action == Action::Permit {
                "may run "
            } else {
                "may not run "
            });
            out.push_str(&self.describe_command());
            out.push_str(" as ");
            out.push_str(&match &*self.target {
                Target::Groups(g) => describe_names(g, "group", "groups"),
                Target::Users(u) => describe_names(u, "user", "users"),
                Target::UserAndGroup(u, g) => {
                    format!(
                        "{} with {}",
                        describe_names(u, "user", "users"),
                        describe_names(g, "group", "groups")
                    )
                }
            });
        }
        if let Some(hosts) = self.hosts() {
            let hosts: Vec<&str> = hosts.iter().map(Glob::as_str).collect();
            out.push_str(&format!(", on {}", hosts.join(" or ")));
        }
        if let Some(services) = self.services() {
            out.push_str(&format!(", through {}", services.join(" or ")));
        }
        if let Some((_, text)) = self.when() {
            out.push_str(&format!(", when {text}"));
        }
        if let Some((_, text)) = self.until() {
            out.push_str(&format!(", until {text}"));
        }
        let o = &self.options;
        if o.nopass {
            out.push_str(", without a password");
        }
        if let Some(d) = o.persist {
            out.push_str(&format!(", the password remembered for {}", format_duration(d)));
        }
        if o.keepenv {
            out.push_str(", keeping the environment");
        }
        if !o.setenv.is_empty() {
            out.push_str(", with environment changes");
        }
        match &o.chdir {
            Some(Chdir::Any) => out.push_str(", in any folder (-D)"),
            Some(Chdir::Matching(pattern)) => out.push_str(&format!(", in folders matching {pattern} (-D)")),
            None => {}
        }
        if o.nolog {
            out.push_str(", not logged");
        }
        out
    }

    fn target_groups(&self) -> &Names {
        match &*self.target {
            Target::Groups(g) | Target::UserAndGroup(_, g) => g,
            Target::Users(u) => u,
        }
    }

    fn describe_command(&self) -> String {
        let Some(command) = &self.command else {
            return "any command".into();
        };
        let paths: Vec<&str> = command.paths.iter().map(Glob::as_str).collect();
        let mut out = paths.join(" or ");
        match &command.args {
            None => {}
            Some(ArgsMatch { exact, rest: false }) if exact.is_empty() => out.push_str(" with no arguments"),
            Some(ArgsMatch { exact, rest: false }) => out.push_str(&format!(" with exactly `{}`", exact.join(" "))),
            Some(ArgsMatch { exact, rest: true }) if exact.is_empty() => {}
            Some(ArgsMatch { exact, rest: true }) => {
                out.push_str(&format!(" with arguments starting `{}`", exact.join(" ")))
            }
        }
        out
    }
}

fn describe_names(names: &Names, one: &str, many: &str) -> String {
    match names {
        Names::Any => format!("any {one}"),
        Names::Some(list) if list.len() == 1 => format!("{one} {}", list[0]),
        Names::Some(list) => format!("{many} {}", list.join(", ")),
    }
}
