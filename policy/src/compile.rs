//! From statements to a [`Policy`]: settings, aliases, rules, checks and warnings.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::diag::{Collector, Severity, Sources, Span, did_you_mean};
use crate::env;
use crate::glob::Glob;
use crate::policy::{
    Action, ArgsMatch, Audit, Chdir, CommandMatch, EnvChange, Globs, Index, Location, LogFormat, Name, Names, Options,
    Policy, Rule, Settings, Subjects, Target,
};
use crate::syntax::{
    ActionAst, AliasKind, ConditionAst, EnvItemAst, OptionAst, Parsed, RuleAst, Statement, Word, parse_rule_line,
};
use crate::time::{Days, TimeRange, When, parse_duration, parse_until};

/// Answers whether names exist, for the warnings of `newgatectl check`.
pub trait Directory {
    fn user_exists(&self, name: &str) -> bool;
    fn group_exists(&self, name: &str) -> bool;
    fn host_exists(&self, name: &str) -> bool;
    /// The real path of an existing folder (links and `..` resolved), as newgate
    /// sees a command's folder; `None` when it cannot be resolved.
    fn real_folder(&self, folder: &str) -> Option<String>;
    /// Whether a program exists at this absolute path; `None` from a directory
    /// that cannot tell, which draws no warning.
    fn program_exists(&self, _path: &str) -> Option<bool> {
        None
    }
}

/// A time zone and the file it was read from (`None`: UTC).
pub(crate) type Zone = (TimeZone, Option<PathBuf>);

/// What compiling needs from outside: time zones, and for warnings the
/// directory of names and the current time.
pub(crate) struct Context<'a> {
    /// The system's zone, its name, and the file it was read from (`None`: UTC).
    pub local_zone: (TimeZone, String, Option<PathBuf>),
    /// A named zone, and the file it was read from (`None`: UTC).
    pub zone_lookup: &'a dyn Fn(&str) -> Result<Zone, String>,
    pub directory: Option<&'a dyn Directory>,
    pub now: Option<Timestamp>,
    pub lint: bool,
}

const SETTINGS: [&str; 9] = [
    "persist",
    "secure_path",
    "log_format",
    "passwd_tries",
    "timezone",
    "audit",
    "env_keep",
    "editor",
    "umask",
];

/// What an alias expands to, computed once and shared by every rule that names it.
#[derive(Clone, Debug)]
enum Resolved {
    Users(Arc<Subjects>),
    Groups(Arc<[Name]>),
    Hosts(Globs),
    Commands(Globs),
}

struct AliasDef<'s> {
    kind: AliasKind,
    name: &'s Word,
    items: &'s [Word],
}

/// How deep aliases may nest: an alias of names only is one level deep, one
/// that names aliases is one level deeper than the deepest of them.
pub const MAX_ALIAS_DEPTH: usize = 64;

/// An alias being expanded by [`Compiler::resolve`].
struct Expansion<'s> {
    name: &'s str,
    kind: AliasKind,
    items: &'s [Word],
    /// The next item to read.
    next: usize,
    ok: bool,
    depth: usize,
    subjects: Subjects,
    groups: Vec<Name>,
    globs: Vec<Glob>,
    /// What the lists hold, so that a name reached through several aliases is
    /// listed once: without this, `A1 = A0, A0`, `A2 = A1, A1`, ... doubles at
    /// every level.
    seen: HashSet<(Kind, String)>,
    /// The aliases this one names.
    named: HashSet<&'s str>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    User,
    Group,
    Glob,
}

impl Expansion<'_> {
    /// Adds what an alias `depth` levels deep expands to (a literal is level 0).
    fn merge(&mut self, resolved: &Resolved, depth: usize) {
        self.depth = self.depth.max(depth + 1);
        let seen = &mut self.seen;
        let mut add = |kind: Kind, name: &str| seen.insert((kind, name.to_string()));
        match resolved {
            Resolved::Users(s) => {
                self.subjects.anyone |= s.anyone;
                for user in &s.users {
                    if add(Kind::User, user) {
                        self.subjects.users.push(user.clone());
                    }
                }
                for group in &s.groups {
                    if add(Kind::Group, group) {
                        self.subjects.groups.push(group.clone());
                    }
                }
            }
            Resolved::Groups(groups) => {
                for group in groups.iter() {
                    if add(Kind::Group, group) {
                        self.groups.push(group.clone());
                    }
                }
            }
            Resolved::Hosts(globs) | Resolved::Commands(globs) => {
                for glob in globs.iter() {
                    if add(Kind::Glob, glob.as_str()) {
                        self.globs.push(glob.clone());
                    }
                }
            }
        }
    }
}

struct Compiler<'s, 'c> {
    sources: &'s Sources,
    diags: &'c mut Collector,
    aliases: HashMap<&'s str, AliasDef<'s>>,
    /// Each alias expanded so far, with its depth; `None` when it cannot be.
    resolved: HashMap<String, Option<(Resolved, usize)>>,
    used: HashSet<&'s str>,
    /// Every user, group and service name and every `args` word, once: rules share them.
    names: HashSet<Name>,
    /// Each `cmd` or `on` pattern written in a rule, compiled once.
    globs: HashMap<String, Globs>,
    /// The path of each file, shared by the locations of its rules.
    files: Vec<Arc<Path>>,
    /// Each distinct set of options, subjects and target, shared by the rules that have it.
    options: HashSet<Arc<Options>>,
    subjects: HashSet<Arc<Subjects>>,
    targets: HashSet<Arc<Target>>,
    /// Aliases whose definition did not parse: uses of them are not errors of their own.
    broken: HashSet<&'s str>,
    settings: Settings,
}

pub(crate) fn compile(
    sources: &Sources,
    statements: &[Statement],
    context: &Context,
    diags: &mut Collector,
) -> Option<Policy> {
    let mut compiler = Compiler {
        sources,
        diags,
        aliases: HashMap::new(),
        resolved: HashMap::new(),
        used: HashSet::new(),
        names: HashSet::new(),
        globs: HashMap::new(),
        files: (0..sources.count())
            .map(|f| Arc::from(sources.path(f as u32)))
            .collect(),
        options: HashSet::new(),
        subjects: HashSet::new(),
        targets: HashSet::new(),
        broken: HashSet::new(),
        settings: Settings {
            timezone: context.local_zone.0.clone(),
            timezone_name: context.local_zone.1.clone(),
            timezone_file: context.local_zone.2.clone(),
            ..Settings::default()
        },
    };
    for statement in statements {
        if let Statement::Set { name, value } = statement {
            compiler.setting(name, value, context);
        }
    }
    for statement in statements {
        match statement {
            Statement::Alias { kind, name, items } => compiler.define_alias(*kind, name, items),
            Statement::BrokenAlias(name) => {
                compiler.broken.insert(name);
            }
            _ => {}
        }
    }
    let mut names: Vec<&str> = compiler.aliases.keys().copied().collect();
    names.sort_unstable();
    for name in names {
        compiler.resolve(name);
    }
    let count = statements
        .iter()
        .filter(|s| matches!(s, Statement::Rule(_) | Statement::RuleLine { .. }))
        .count();
    let mut rules = Vec::with_capacity(count);
    // For the warnings: where each rule stands, and its `until`.
    let mut spans = Vec::with_capacity(if context.lint { count } else { 0 });
    let mut untils = Vec::new();
    let mut ok = true;
    for statement in statements {
        let parsed;
        let ast: &RuleAst = match statement {
            Statement::Rule(ast) => ast,
            Statement::RuleLine { file, start, end } => {
                match parse_rule_line(sources, *file, *start, *end, compiler.diags) {
                    Parsed::Statement(Statement::Rule(ast)) => {
                        parsed = ast;
                        &parsed
                    }
                    Parsed::GaveUp => return None,
                    // Reported; a line that starts with `permit`, `deny` or
                    // `grant` and parses holds a rule.
                    Parsed::Statement(_) | Parsed::Nothing => {
                        ok = false;
                        continue;
                    }
                }
            }
            _ => continue,
        };
        match compiler.rule(ast) {
            Some(rule) => {
                rules.push(rule);
                if context.lint {
                    spans.push(ast.span);
                    if let Some(span) = ast.conditions.iter().find_map(|c| match c {
                        ConditionAst::Until(span, _) => Some(*span),
                        _ => None,
                    }) {
                        untils.push((rules.len() - 1, span));
                    }
                }
            }
            None => ok = false,
        }
    }
    let index = Index::build(&rules);
    if context.lint {
        compiler.lint(statements, &rules, &index, &spans, &untils, context);
    }
    if !ok || compiler.diags.has_errors() {
        return None;
    }
    Some(Policy {
        settings: compiler.settings,
        rules,
        index,
        files: sources.paths(),
        scope: None,
    })
}

/// `UPPERCASE` bare words name aliases; quote a word to use it as a plain name.
fn is_alias_ref(word: &Word) -> bool {
    let mut chars = word.text.chars();
    !word.quoted
        && chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn is_star(word: &Word) -> bool {
    !word.quoted && word.text == "*"
}

/// A name a user or group can have: not empty, no control characters, no `:`.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_control() || c == ':' || c == ',')
}

impl<'s> Compiler<'s, '_> {
    fn error(&mut self, span: Span, message: String, hint: Option<String>) {
        self.diags.at(self.sources, Severity::Error, span, message, hint);
    }

    fn warn(&mut self, span: Span, message: String, hint: Option<String>) {
        self.diags.at(self.sources, Severity::Warning, span, message, hint);
    }

    fn location(&self, span: Span) -> Location {
        Location {
            file: Arc::clone(&self.files[span.file as usize]),
            line: self.sources.line_of(span.file, span.start),
        }
    }

    /// The one shared copy of a user or group name.
    fn name(&mut self, text: &str) -> Name {
        if let Some(name) = self.names.get(text) {
            return Arc::clone(name);
        }
        let name: Name = Arc::from(text);
        self.names.insert(Arc::clone(&name));
        name
    }

    /// A `cmd` (`command`) or `on` pattern of a rule, compiled once per text.
    fn shared_glob(&mut self, word: &Word, command: bool) -> Option<Globs> {
        // A cached pattern may have been compiled for `on`, where it need not
        // be absolute: a command is checked for that first.
        if (!command || word.text.starts_with('/'))
            && let Some(globs) = self.globs.get(word.text.as_str())
        {
            return Some(Arc::clone(globs));
        }
        let glob = if command {
            self.command_glob(word)?
        } else {
            self.host_glob(word)?
        };
        let globs: Globs = Arc::from([glob]);
        self.globs.insert(word.text.clone(), Arc::clone(&globs));
        Some(globs)
    }

    fn setting(&mut self, name: &Word, value: &Word, context: &Context) {
        let v = value.text.as_str();
        let result: Result<(), String> = match name.text.as_str() {
            "persist" => parse_duration(v).map(|d| {
                self.settings.persist = d;
                self.settings.persist_default = Some(d);
            }),
            "secure_path" => {
                let dirs: Vec<PathBuf> = v.split(':').map(PathBuf::from).collect();
                if v.is_empty() || dirs.iter().any(|d| !d.is_absolute()) {
                    Err(format!("`{v}` is not a list of absolute folders separated by `:`"))
                } else {
                    self.settings.secure_path = dirs;
                    Ok(())
                }
            }
            "log_format" => match v {
                "sudo" => Ok(LogFormat::Sudo),
                "json" => Ok(LogFormat::Json),
                _ => Err(format!("`{v}` is not a log format; use `sudo` or `json`")),
            }
            .map(|format| self.settings.log_format = format),
            "passwd_tries" => match v.parse::<u32>() {
                Ok(n) if (1..=10).contains(&n) => Ok(n),
                _ => Err(format!("`{v}` is not a number of tries from 1 to 10")),
            }
            .map(|n| self.settings.passwd_tries = n),
            "timezone" => (context.zone_lookup)(v).map(|(zone, file)| {
                self.settings.timezone = zone;
                self.settings.timezone_name = v.to_string();
                self.settings.timezone_file = file;
            }),
            "audit" => match v {
                "best-effort" => Ok(Audit::BestEffort),
                "required" => Ok(Audit::Required),
                "off" => Ok(Audit::Off),
                _ => Err(format!(
                    "`{v}` is not an audit mode; use `best-effort`, `required` or `off`"
                )),
            }
            .map(|audit| self.settings.audit = audit),
            "env_keep" => {
                let names: Vec<String> = v.split_whitespace().map(str::to_string).collect();
                match names
                    .iter()
                    .find(|n| !env::is_valid_name(n) || env::is_dangerous_name(n))
                {
                    Some(bad) if env::is_dangerous_name(bad) => Err(format!(
                        "`{bad}` can never be kept: it changes how programs load or shells start"
                    )),
                    Some(bad) => Err(format!("`{bad}` is not a variable name")),
                    None => Ok(names),
                }
                .map(|names| self.settings.env_keep = names)
            }
            "editor" => match v.starts_with('/') {
                true => Ok(v.to_string()),
                false => Err(format!("`{v}` is not an absolute path to an editor")),
            }
            .map(|editor| self.settings.editor = Some(editor)),
            "umask" => match u32::from_str_radix(v, 8) {
                Ok(mask) if mask <= 0o777 && v.bytes().all(|b| (b'0'..=b'7').contains(&b)) => Ok(mask),
                _ => Err(format!(
                    "`{v}` is not a umask; write it in octal, from `000` to `777`, like `027`"
                )),
            }
            .map(|mask| self.settings.umask = mask),
            other => {
                let hint = did_you_mean(other, SETTINGS)
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| {
                        Some(format!(
                            "the settings are {}",
                            SETTINGS.map(|s| format!("`{s}`")).join(", ")
                        ))
                    });
                self.error(name.span, format!("unknown setting `{other}`"), hint);
                return;
            }
        };
        if let Err(message) = result {
            self.error(
                value.span,
                format!("invalid value for `{}`: {message}", name.text),
                None,
            );
        }
    }

    fn define_alias(&mut self, kind: AliasKind, name: &'s Word, items: &'s [Word]) {
        if name.quoted {
            let hint = Some(format!("write it bare: `{} {} = ...`", kind.keyword(), name.text));
            self.error(name.span, "an alias name is not quoted".into(), hint);
            return;
        }
        if !is_alias_ref(name) {
            self.error(
                name.span,
                format!("alias name `{}` must be UPPERCASE", name.text),
                Some(format!("write `{}`", name.text.to_uppercase().replace('-', "_"))),
            );
            return;
        }
        if let Some(first) = self.aliases.get(name.text.as_str()) {
            let at = self.location(first.name.span);
            self.error(
                name.span,
                format!("alias `{}` is defined twice", name.text),
                Some(format!("first defined at {at}")),
            );
            return;
        }
        self.aliases.insert(&name.text, AliasDef { kind, name, items });
    }

    /// Expands an alias (memoised); reports cycles, nesting deeper than
    /// [`MAX_ALIAS_DEPTH`], undefined and wrong-kind references.
    ///
    /// The walk keeps its own stack on the heap: a policy can chain aliases as
    /// deep as it likes, and the threads that load it (in `su`, `sshd`) have
    /// small stacks of their own.
    fn resolve(&mut self, root: &str) -> Option<Resolved> {
        if let Some(done) = self.resolved.get(root) {
            return done.as_ref().map(|(r, _)| r.clone());
        }
        let mut stack = vec![self.expansion(root)?];
        // Where each alias on the stack stands, to find cycles without a scan.
        let mut on_stack: HashMap<&'s str, usize> = HashMap::from([(stack[0].name, 0)]);
        while let Some(top) = stack.last_mut() {
            let items = top.items;
            let Some(item) = items.get(top.next) else {
                let done = stack.pop().expect("the loop holds a frame");
                on_stack.remove(done.name);
                let depth = done.depth;
                let resolved = self.finish(done);
                match (stack.last_mut(), resolved) {
                    (None, resolved) => return resolved,
                    (Some(parent), Some(r)) => parent.merge(&r, depth),
                    (Some(parent), None) => parent.ok = false,
                }
                continue;
            };
            top.next += 1;
            let kind = top.kind;
            if !is_alias_ref(item) {
                let ok = self.literal(item, kind, top);
                top.ok &= ok;
                continue;
            }
            let Some(name) = self.referenced(item, kind) else {
                top.ok = false;
                continue;
            };
            // Naming one alias twice adds nothing; merging it again would only cost time.
            if !top.named.insert(name) {
                continue;
            }
            if let Some(done) = self.resolved.get(name) {
                match done {
                    Some((r, depth)) => top.merge(r, *depth),
                    None => top.ok = false,
                }
                continue;
            }
            if let Some(&start) = on_stack.get(name) {
                let mut cycle: Vec<&str> = stack[start..].iter().map(|f| f.name).collect();
                cycle.push(name);
                let span = self.aliases[name].name.span;
                self.error(
                    span,
                    format!("alias `{name}` refers to itself: {}", cycle_text(&cycle)),
                    None,
                );
                // The frame of `name` finds this when it finishes, and keeps it.
                self.resolved.insert(name.to_string(), None);
                stack.last_mut().expect("the loop holds a frame").ok = false;
                continue;
            }
            let frame = self.expansion(name).expect("a referenced alias is defined");
            on_stack.insert(name, stack.len());
            stack.push(frame);
        }
        unreachable!("the walk returns when its first frame finishes")
    }

    /// A frame of [`Compiler::resolve`]: an alias being expanded.
    fn expansion(&self, name: &str) -> Option<Expansion<'s>> {
        let (&name, def) = self.aliases.get_key_value(name)?;
        Some(Expansion {
            name,
            kind: def.kind,
            items: def.items,
            next: 0,
            ok: true,
            depth: 1,
            subjects: Subjects::default(),
            groups: Vec::new(),
            globs: Vec::new(),
            seen: HashSet::new(),
            named: HashSet::new(),
        })
    }

    /// A literal item of an alias of `kind`, added to `into`.
    fn literal(&mut self, item: &Word, kind: AliasKind, into: &mut Expansion) -> bool {
        if is_star(item) {
            self.error(
                item.span,
                "`*` cannot stand in an alias".into(),
                Some("write `*` in the rule itself".into()),
            );
            return false;
        }
        match kind {
            AliasKind::Users => {
                let mut one = Subjects::default();
                let ok = self.subject_literal(item, &mut one);
                into.merge(&Resolved::Users(Arc::new(one)), 0);
                ok
            }
            AliasKind::Groups => self
                .group_name(item)
                .map(|g| into.merge(&Resolved::Groups(Arc::from([g])), 0))
                .is_some(),
            AliasKind::Hosts => self
                .host_glob(item)
                .map(|g| into.merge(&Resolved::Hosts(Arc::from([g])), 0))
                .is_some(),
            AliasKind::Commands => self
                .command_glob(item)
                .map(|g| into.merge(&Resolved::Commands(Arc::from([g])), 0))
                .is_some(),
        }
    }

    /// Records what an alias expands to, once all its items are read.
    fn finish(&mut self, done: Expansion<'s>) -> Option<Resolved> {
        let Expansion {
            name,
            kind,
            ok,
            depth,
            subjects,
            groups,
            globs,
            ..
        } = done;
        let mut resolved = ok.then_some(match kind {
            AliasKind::Users => Resolved::Users(Arc::new(subjects)),
            AliasKind::Groups => Resolved::Groups(groups.into()),
            AliasKind::Hosts => Resolved::Hosts(globs.into()),
            AliasKind::Commands => Resolved::Commands(globs.into()),
        });
        // Only the first alias past the limit is reported: the ones above it fail with it.
        if resolved.is_some() && depth > MAX_ALIAS_DEPTH {
            let span = self.aliases[name].name.span;
            self.error(
                span,
                format!("alias `{name}` nests aliases more than {MAX_ALIAS_DEPTH} levels deep"),
                Some(format!(
                    "aliases may nest at most {MAX_ALIAS_DEPTH} levels; write the members of an inner alias in place of its name"
                )),
            );
            resolved = None;
        }
        // A cycle through this alias was already recorded while it was in progress.
        let entry = self
            .resolved
            .entry(name.to_string())
            .or_insert_with(|| resolved.map(|r| (r, depth)));
        entry.as_ref().map(|(r, _)| r.clone())
    }

    /// The alias a word names where one of `kind` is expected, or `None` after
    /// reporting why it cannot be used there.
    fn referenced(&mut self, word: &Word, kind: AliasKind) -> Option<&'s str> {
        if self.broken.contains(word.text.as_str()) && !self.aliases.contains_key(word.text.as_str()) {
            return None;
        }
        let Some((&name, def)) = self.aliases.get_key_value(word.text.as_str()) else {
            let same_kind: Vec<&str> = self
                .aliases
                .values()
                .filter(|d| d.kind == kind)
                .map(|d| d.name.text.as_str())
                .collect();
            let hint = match did_you_mean(&word.text, same_kind) {
                Some(near) => Some(format!("alias {} is not defined; {near} is", word.text)),
                None => Some(format!(
                    "define it with `{} {} = ...`, or quote the word to use it as a name: \"{}\"",
                    kind.keyword(),
                    word.text,
                    word.text
                )),
            };
            self.error(word.span, format!("alias `{}` is not defined", word.text), hint);
            return None;
        };
        if def.kind != kind {
            let message = format!(
                "`{}` is a {} alias, but {} are expected here",
                word.text,
                def.kind.keyword(),
                kind.keyword()
            );
            self.error(word.span, message, None);
            return None;
        }
        self.used.insert(name);
        Some(name)
    }

    /// A use of an alias where one of `kind` is expected.
    fn reference(&mut self, word: &Word, kind: AliasKind) -> Option<Resolved> {
        let name = self.referenced(word, kind)?;
        self.resolve(name)
    }

    fn subject_literal(&mut self, word: &Word, subjects: &mut Subjects) -> bool {
        if let Some(group) = word.text.strip_prefix('%') {
            if !valid_name(group) {
                self.error(word.span, format!("`{}` is not a group name", word.text), None);
                return false;
            }
            let group = self.name(group);
            subjects.groups.push(group);
        } else {
            if !valid_name(&word.text) {
                self.error(word.span, format!("`{}` is not a user name", word.text), None);
                return false;
            }
            let user = self.name(&word.text);
            subjects.users.push(user);
        }
        true
    }

    fn group_name(&mut self, word: &Word) -> Option<Name> {
        if let Some(bare) = word.text.strip_prefix('%') {
            self.error(
                word.span,
                format!("`{}` is a group of users, but a group name is expected here", word.text),
                Some(format!("write the group without `%`: `{bare}`")),
            );
            return None;
        }
        if !valid_name(&word.text) {
            self.error(word.span, format!("`{}` is not a group name", word.text), None);
            return None;
        }
        Some(self.name(&word.text))
    }

    fn host_glob(&mut self, word: &Word) -> Option<Glob> {
        match Glob::new(&word.text) {
            Ok(g) => Some(g),
            Err(why) => {
                self.error(word.span, format!("bad host pattern `{}`: {why}", word.text), None);
                None
            }
        }
    }

    fn command_glob(&mut self, word: &Word) -> Option<Glob> {
        if !word.text.starts_with('/') {
            self.error(
                word.span,
                format!("command `{}` is not an absolute path", word.text),
                Some(
                    "newgate matches the program's full path, found through `secure_path`: write `/usr/bin/...`".into(),
                ),
            );
            return None;
        }
        match Glob::new(&word.text) {
            Ok(g) => Some(g),
            Err(why) => {
                self.error(word.span, format!("bad command pattern `{}`: {why}", word.text), None);
                None
            }
        }
    }

    fn subjects(&mut self, words: &[Word]) -> Option<Subjects> {
        let mut subjects = Subjects::default();
        let mut ok = true;
        for word in words {
            if is_star(word) {
                subjects.anyone = true;
            } else if is_alias_ref(word) {
                match self.reference(word, AliasKind::Users) {
                    Some(Resolved::Users(s)) => merge_subjects(&mut subjects, &s),
                    _ => ok = false,
                }
            } else {
                ok &= self.subject_literal(word, &mut subjects);
            }
        }
        ok.then_some(subjects)
    }

    fn target_users(&mut self, words: &[Word]) -> Option<Names> {
        let mut names = Vec::new();
        let mut any = false;
        let mut ok = true;
        for word in words {
            if is_star(word) {
                any = true;
            } else if is_alias_ref(word) {
                match self.reference(word, AliasKind::Users) {
                    Some(Resolved::Users(s)) if s.groups.is_empty() && !s.anyone => {
                        names.extend(s.users.iter().cloned())
                    }
                    Some(_) => {
                        self.error(
                            word.span,
                            format!("alias `{}` holds groups of users; a target must name users", word.text),
                            None,
                        );
                        ok = false;
                    }
                    None => ok = false,
                }
            } else if let Some(group) = word.text.strip_prefix('%') {
                self.error(
                    word.span,
                    format!("`{}` is a group of users, but `as user` takes user names", word.text),
                    Some(format!("to switch to the group, write `as group {group}`")),
                );
                ok = false;
            } else if valid_name(&word.text) {
                names.push(self.name(&word.text));
            } else {
                self.error(word.span, format!("`{}` is not a user name", word.text), None);
                ok = false;
            }
        }
        ok.then_some(if any { Names::Any } else { Names::Some(names) })
    }

    fn target_groups(&mut self, words: &[Word]) -> Option<Names> {
        let mut names = Vec::new();
        let mut any = false;
        let mut ok = true;
        for word in words {
            if is_star(word) {
                any = true;
            } else if is_alias_ref(word) {
                match self.reference(word, AliasKind::Groups) {
                    Some(Resolved::Groups(g)) => names.extend(g.iter().cloned()),
                    _ => ok = false,
                }
            } else {
                match self.group_name(word) {
                    Some(g) => names.push(g),
                    None => ok = false,
                }
            }
        }
        ok.then_some(if any { Names::Any } else { Names::Some(names) })
    }

    fn rule(&mut self, ast: &RuleAst) -> Option<Rule> {
        let mut ok = true;
        let action = match ast.action {
            ActionAst::Permit => Action::Permit,
            ActionAst::Deny => Action::Deny,
            ActionAst::Grant => Action::Grant,
        };
        let options = self.options(action, &ast.options);
        ok &= options.is_some();
        let subjects = self.subjects(&ast.subjects);
        let target = match (&ast.target_users, &ast.target_groups) {
            (Some(users), None) => self.target_users(users).map(Target::Users),
            (None, Some(groups)) => self.target_groups(groups).map(Target::Groups),
            (Some(users), Some(groups)) => {
                let users = self.target_users(users);
                let groups = self.target_groups(groups);
                users.zip(groups).map(|(u, g)| Target::UserAndGroup(u, g))
            }
            (None, None) => None,
        };
        if action == Action::Grant {
            if let Some(span) = ast.stray_as {
                self.error(
                    span,
                    "a grant rule has no `as`".into(),
                    Some("write `grant SUBJECTS group G`".into()),
                );
                ok = false;
            }
            if let Some(Target::Groups(Names::Any)) = target {
                let span = ast
                    .target_groups
                    .as_ref()
                    .and_then(|g| g.iter().find(|w| is_star(w)))
                    .map_or(ast.span, |w| w.span);
                self.error(
                    span,
                    "a grant rule must name its groups; `*` would grant every group".into(),
                    None,
                );
                ok = false;
            }
            if let Some(command) = &ast.command {
                self.error(
                    command.span,
                    "a grant rule takes no command: it acts at login".into(),
                    None,
                );
                ok = false;
            }
        }
        let mut rule = Rule {
            action,
            location: self.location(ast.span),
            text: rule_text(self.sources.slice(ast.span)),
            options: share(&mut self.options, options.unwrap_or_default()),
            subjects: share(&mut self.subjects, Subjects::default()),
            target: share(&mut self.targets, Target::Users(Names::Any)),
            conditions: None,
            command: None,
        };
        ok &= self.conditions(&ast.conditions, &mut rule);
        if action != Action::Grant
            && let Some(command) = &ast.command
        {
            rule.command = self.command(&command.path, command.args.as_deref());
            ok &= rule.command.is_some();
        }
        match (subjects, target) {
            (Some(mut subjects), Some(mut target)) if ok => {
                // Lists grown one name at a time keep room for four: a large
                // policy holds hundreds of thousands of them.
                subjects.users.shrink_to_fit();
                subjects.groups.shrink_to_fit();
                match &mut target {
                    Target::Users(names) | Target::Groups(names) => names.shrink_to_fit(),
                    Target::UserAndGroup(users, groups) => {
                        users.shrink_to_fit();
                        groups.shrink_to_fit();
                    }
                }
                rule.subjects = share(&mut self.subjects, subjects);
                rule.target = share(&mut self.targets, target);
                Some(rule)
            }
            _ => None,
        }
    }

    fn options(&mut self, action: Action, options: &[OptionAst]) -> Option<Options> {
        let mut result = Options::default();
        let mut ok = true;
        let mut seen: Vec<&'static str> = Vec::new();
        for option in options {
            let (name, span) = match option {
                OptionAst::Nopass(s) => ("nopass", *s),
                OptionAst::Keepenv(s) => ("keepenv", *s),
                OptionAst::Nolog(s) => ("nolog", *s),
                OptionAst::Persist(s, _) => ("persist", *s),
                OptionAst::Setenv(s, _) => ("setenv", *s),
                OptionAst::Chdir(s, _) => ("chdir", *s),
            };
            if action != Action::Permit {
                self.error(
                    span,
                    format!(
                        "`{name}` is an option of `permit` rules; a `{}` rule takes none",
                        action.keyword()
                    ),
                    None,
                );
                ok = false;
                continue;
            }
            if seen.contains(&name) {
                self.error(span, format!("`{name}` is given twice"), None);
                ok = false;
                continue;
            }
            seen.push(name);
            match option {
                OptionAst::Nopass(_) => result.nopass = true,
                OptionAst::Keepenv(_) => result.keepenv = true,
                OptionAst::Nolog(_) => result.nolog = true,
                OptionAst::Persist(_, None) => result.persist = Some(self.settings.persist),
                // The way out of `set persist` for one rule: ask every time.
                OptionAst::Persist(_, Some(value)) if value.text == "0" => result.persist = None,
                OptionAst::Persist(_, Some(value)) => match parse_duration(&value.text) {
                    Ok(d) => result.persist = Some(d),
                    Err(why) => {
                        self.error(value.span, format!("invalid `persist` duration: {why}"), None);
                        ok = false;
                    }
                },
                OptionAst::Setenv(_, items) => match self.setenv(items) {
                    Some(changes) => result.setenv = changes,
                    None => ok = false,
                },
                OptionAst::Chdir(_, None) => result.chdir = Some(Chdir::Any),
                OptionAst::Chdir(_, Some(folder)) => match Glob::new(&folder.text) {
                    Ok(_) if folder.text.starts_with('/') => result.chdir = Some(Chdir::Matching(folder.text.clone())),
                    Ok(_) => {
                        self.error(
                            folder.span,
                            format!("`chdir={}` is not an absolute folder", folder.text),
                            Some("write the folders as an absolute path, which may hold globs: `chdir=/srv/*`".into()),
                        );
                        ok = false;
                    }
                    Err(why) => {
                        self.error(folder.span, format!("invalid `chdir` folder: {why}"), None);
                        ok = false;
                    }
                },
            }
        }
        if action == Action::Permit && !result.nopass && !seen.contains(&"persist") {
            result.persist = self.settings.persist_default;
        }
        if result.nopass && result.persist.is_some() {
            let span = options
                .iter()
                .find(|o| matches!(o, OptionAst::Persist(..)))
                .map(OptionAst::span);
            if let Some(span) = span {
                self.error(
                    span,
                    "`nopass` and `persist` cannot be used together".into(),
                    Some("`persist` remembers an authentication that `nopass` never asks for".into()),
                );
            }
            ok = false;
        }
        ok.then_some(result)
    }

    fn setenv(&mut self, items: &[EnvItemAst]) -> Option<Vec<EnvChange>> {
        let mut changes = Vec::new();
        let mut given: HashSet<&str> = HashSet::new();
        let mut ok = true;
        for item in items {
            let name = match item {
                EnvItemAst::Unset(n) | EnvItemAst::Set(n, _) | EnvItemAst::Keep(n) => n,
            };
            if !given.insert(&name.text) {
                self.error(
                    name.span,
                    format!("`{}` is given twice in one `setenv`", name.text),
                    None,
                );
                ok = false;
                continue;
            }
            if !env::is_valid_name(&name.text) {
                self.error(name.span, format!("`{}` is not a variable name", name.text), None);
                ok = false;
                continue;
            }
            if env::is_dangerous_name(&name.text) && !matches!(item, EnvItemAst::Unset(_)) {
                self.error(
                    name.span,
                    format!(
                        "`{}` can never be passed to a command: it changes how programs load or shells start",
                        name.text
                    ),
                    None,
                );
                ok = false;
                continue;
            }
            changes.push(match item {
                EnvItemAst::Unset(n) => EnvChange::Unset(n.text.clone()),
                EnvItemAst::Keep(n) => EnvChange::Keep(n.text.clone()),
                EnvItemAst::Set(n, value) => {
                    if env::is_dangerous_value(&value.text) {
                        self.error(
                            value.span,
                            "a value starting with `()` would define a shell function".into(),
                            None,
                        );
                        ok = false;
                        continue;
                    }
                    EnvChange::Set(n.text.clone(), value.text.clone())
                }
            });
        }
        ok.then_some(changes)
    }

    fn conditions(&mut self, conditions: &[ConditionAst], rule: &mut Rule) -> bool {
        let mut ok = true;
        let mut seen: Vec<&'static str> = Vec::new();
        for condition in conditions {
            let (name, span) = match condition {
                ConditionAst::On(s, _) => ("on", *s),
                ConditionAst::Service(s, _) => ("service", *s),
                ConditionAst::When(s, ..) => ("when", *s),
                ConditionAst::Until(s, _) => ("until", *s),
            };
            if seen.contains(&name) {
                self.error(
                    span,
                    format!("`{name}` is given twice in one rule"),
                    Some(format!("list every value in one `{name}`")),
                );
                ok = false;
                continue;
            }
            seen.push(name);
            match condition {
                ConditionAst::On(_, words) => {
                    let mut parts: Vec<Globs> = Vec::with_capacity(words.len());
                    for word in words {
                        let found = if is_alias_ref(word) {
                            match self.reference(word, AliasKind::Hosts) {
                                Some(Resolved::Hosts(g)) => Some(g),
                                _ => None,
                            }
                        } else {
                            self.shared_glob(word, false)
                        };
                        match found {
                            Some(g) => parts.push(g),
                            None => ok = false,
                        }
                    }
                    rule.conditions.get_or_insert_default().hosts = Some(match parts.len() {
                        1 => parts.remove(0),
                        _ => parts.iter().flat_map(|g| g.iter().cloned()).collect(),
                    });
                }
                ConditionAst::Service(_, words) => {
                    for word in words.iter().filter(|w| !valid_name(&w.text) || is_star(w)) {
                        self.error(word.span, format!("`{}` is not a PAM service name", word.text), None);
                        ok = false;
                    }
                    let mut services = Vec::with_capacity(words.len());
                    for word in words {
                        services.push(self.name(&word.text));
                    }
                    rule.conditions.get_or_insert_default().services = Some(services);
                }
                ConditionAst::When(span, first, second) => match self.when(*span, first, second.as_deref()) {
                    Some(when) => {
                        rule.conditions.get_or_insert_default().when = Some((when, when_text(first, second.as_deref())))
                    }
                    None => ok = false,
                },
                ConditionAst::Until(_, word) => match parse_until(&word.text, &self.settings.timezone) {
                    Ok(end) => rule.conditions.get_or_insert_default().until = Some((end, word.text.clone())),
                    Err(why) => {
                        self.error(word.span, format!("invalid `until`: {why}"), None);
                        ok = false;
                    }
                },
            }
        }
        ok
    }

    fn when(&mut self, span: Span, first: &[Word], second: Option<&[Word]>) -> Option<When> {
        let looks_like_time = |w: &Word| w.text.contains(':');
        if first.iter().any(looks_like_time) && !first.iter().all(looks_like_time) {
            let at = first.iter().find(|w| looks_like_time(w)).map_or(span, |w| w.span);
            self.error(
                at,
                "days and times are separated by a blank, not a comma".into(),
                Some("write `when Mon-Fri 09:00-17:00`".into()),
            );
            return None;
        }
        let (days_words, time_words): (&[Word], Option<&[Word]>) = if first.iter().any(looks_like_time) {
            if let Some(extra) = second {
                self.error(
                    extra[0].span,
                    "days come before times in `when`".into(),
                    Some("write `when Mon-Fri 09:00-17:00`".into()),
                );
                return None;
            }
            (&[], Some(first))
        } else {
            (first, second)
        };
        let mut ok = true;
        let mut days = Days::ALL;
        if !days_words.is_empty() {
            let mut union: Option<Days> = None;
            for word in days_words {
                match Days::parse(&word.text) {
                    Ok(d) => union = Some(union.map_or(d, |u| u.union(d))),
                    Err(why) => {
                        self.error(word.span, why, None);
                        ok = false;
                    }
                }
            }
            days = union.unwrap_or(Days::ALL);
        }
        let mut ranges = Vec::new();
        for word in time_words.unwrap_or_default() {
            match TimeRange::parse(&word.text) {
                Ok(r) => ranges.push(r),
                Err(why) => {
                    self.error(word.span, why, None);
                    ok = false;
                }
            }
        }
        if days_words.is_empty() && ranges.is_empty() && ok {
            self.error(span, "`when` needs days, times or both".into(), None);
            ok = false;
        }
        ok.then_some(When { days, ranges })
    }

    fn command(&mut self, path: &Word, args: Option<&[Word]>) -> Option<CommandMatch> {
        let paths = if is_alias_ref(path) {
            match self.reference(path, AliasKind::Commands) {
                Some(Resolved::Commands(globs)) => globs,
                _ => return None,
            }
        } else {
            self.shared_glob(path, true)?
        };
        let args = args.map(|words| {
            let rest = words.last().is_some_and(is_star);
            let exact_len = words.len() - usize::from(rest);
            let mut exact = Vec::with_capacity(exact_len);
            for word in &words[..exact_len] {
                exact.push(self.name(&word.text));
            }
            ArgsMatch { exact, rest }
        });
        Some(CommandMatch { paths, args })
    }

    fn lint(
        &mut self,
        statements: &[Statement],
        rules: &[Rule],
        index: &Index,
        spans: &[Span],
        untils: &[(usize, Span)],
        context: &Context,
    ) {
        for statement in statements {
            if let Statement::Alias { name, .. } = statement
                && !self.used.contains(name.text.as_str())
                && self.aliases.contains_key(name.text.as_str())
            {
                self.warn(name.span, format!("alias `{}` is never used", name.text), None);
            }
        }
        if let Some(now) = context.now {
            for &(i, span) in untils {
                if let Some((end, text)) = rules[i].until()
                    && now >= *end
                {
                    self.warn(
                        span,
                        format!("this rule expired at `until {text}`; it no longer matches"),
                        None,
                    );
                }
            }
        }
        // On a policy with errors, these would mostly repeat them.
        if self.diags.has_errors() {
            return;
        }
        self.lint_shadowed(rules, index, spans);
        self.lint_denies_without_groups(rules, spans);
        if let Some(directory) = context.directory {
            self.lint_names(statements, directory);
            self.lint_command_folders(statements, directory);
        }
    }

    /// newgate matches a command by the real path of its folder, so a rule for
    /// `/bin/bash` where `/bin` links to `/usr/bin` (merged /usr) never matches.
    fn lint_command_folders(&mut self, statements: &[Statement], directory: &dyn Directory) {
        let mut paths: Vec<&Word> = Vec::new();
        for statement in statements {
            match statement {
                Statement::Alias {
                    kind: AliasKind::Commands,
                    items,
                    ..
                } => paths.extend(items.iter().filter(|w| !is_alias_ref(w))),
                Statement::Rule(rule) => {
                    paths.extend(rule.command.iter().map(|c| &c.path).filter(|w| !is_alias_ref(w)));
                }
                _ => {}
            }
        }
        for word in paths {
            let Some((folder, file)) = word.text.rsplit_once('/') else {
                continue;
            };
            if folder.is_empty() || folder.contains(['*', '?', '[']) {
                continue;
            }
            if let Some(real) = directory.real_folder(folder)
                && real != folder
            {
                self.warn(
                    word.span,
                    format!("newgate sees this program as `{real}/{file}` (`{folder}` is `{real}` here), so this never matches"),
                    Some(format!("write `{real}/{file}`")),
                );
                continue;
            }
            if directory.program_exists(&word.text) == Some(false) {
                self.warn(
                    word.span,
                    format!(
                        "there is no program `{}` on this machine, so this never matches here",
                        word.text
                    ),
                    Some(format!("`command -v {file}` shows where it is, if it is installed")),
                );
                continue;
            }
            if let Some(first) = self.found_first(directory, folder, file) {
                self.warn(
                    word.span,
                    format!("`newgate {file}` runs `{first}`, found first on `secure_path`, which this does not match"),
                    Some(format!(
                        "write `{first}`, or run the program by its full path: `newgate {}`",
                        word.text
                    )),
                );
            }
        }
    }

    /// The program `file` that newgate finds on `secure_path` before the one in
    /// `folder`, if another comes first.
    fn found_first(&self, directory: &dyn Directory, folder: &str, file: &str) -> Option<String> {
        let ours = directory.real_folder(folder);
        for searched in &self.settings.secure_path {
            let searched = searched.to_string_lossy();
            let real = directory.real_folder(&searched);
            if searched == folder || (real.is_some() && real == ours) {
                return None;
            }
            let candidate = format!("{searched}/{file}");
            if directory.program_exists(&candidate) == Some(true) {
                return Some(candidate);
            }
        }
        None
    }

    /// Warns about rules that a later rule always overrides: the later one
    /// matches every request the earlier one does, so the earlier never decides.
    fn lint_shadowed(&mut self, rules: &[Rule], index: &Index, spans: &[Span]) {
        for (i, rule) in rules.iter().enumerate() {
            if rule.action == Action::Grant {
                continue;
            }
            let mut lists = vec![index.for_anyone()];
            if let Some(user) = rule.subjects.users.first() {
                lists.push(index.for_user(user));
            } else if let Some(group) = rule.subjects.groups.first() {
                lists.push(index.for_group(group));
            }
            let overriding = lists
                .iter()
                .flat_map(|l| l.iter().copied())
                .filter(|&j| j as usize > i)
                .map(|j| &rules[j as usize])
                .find(|later| overrides(later, rule));
            if let Some(later) = overriding {
                let hint = format!("overridden by {}: {}", later.location, later.text);
                self.warn(
                    spans[i],
                    "this rule never decides: a later rule always overrides it".into(),
                    Some(hint),
                );
            }
        }
    }

    /// Warns about a `deny ... as user U` (or `as group G`) that an earlier
    /// permit of `as user U group G` gets around: a deny of a user target does
    /// not cover that user with a group (`-u U -g G` still runs as U), nor a
    /// deny of a group target another user with that group (found by the
    /// adversarial review).
    fn lint_denies_without_groups(&mut self, rules: &[Rule], spans: &[Span]) {
        // The permits of `as user U group G`, by U, in order: usually few.
        let mut by_user: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_group: HashMap<&str, Vec<usize>> = HashMap::new();
        let (mut any_user, mut any_group) = (Vec::new(), Vec::new());
        for (j, rule) in rules.iter().enumerate() {
            let Target::UserAndGroup(users, groups) = &*rule.target else {
                continue;
            };
            if rule.action != Action::Permit {
                continue;
            }
            for (names, by, any) in [
                (users, &mut by_user, &mut any_user),
                (groups, &mut by_group, &mut any_group),
            ] {
                match names {
                    Names::Any => any.push(j),
                    Names::Some(names) => names.iter().for_each(|n| by.entry(&**n).or_default().push(j)),
                }
            }
        }
        if any_user.is_empty() && by_user.is_empty() {
            return;
        }
        // The denies that give a user or a group with any of the other: usually few.
        let completing: Vec<usize> = (0..rules.len())
            .filter(|&k| {
                rules[k].action == Action::Deny
                    && matches!(&*rules[k].target, Target::UserAndGroup(u, g) if *u == Names::Any || *g == Names::Any)
            })
            .collect();
        for (i, deny) in rules.iter().enumerate() {
            if deny.action != Action::Deny {
                continue;
            }
            let (names, by, any, what, also) = match &*deny.target {
                Target::Users(names) => (
                    names,
                    &by_user,
                    &any_user,
                    "that user with a group (`-u USER -g GROUP`)",
                    "as user USER group *",
                ),
                Target::Groups(names) => (
                    names,
                    &by_group,
                    &any_group,
                    "another user with that group (`-u USER -g GROUP`)",
                    "as user * group GROUP",
                ),
                Target::UserAndGroup(..) => continue,
            };
            let candidates: Vec<&Vec<usize>> = match names {
                Names::Any => by.values().chain([any]).collect(),
                Names::Some(names) => names.iter().filter_map(|n| by.get(&**n)).chain([any]).collect(),
            };
            // The latest such permit before the deny, list by list (each in order).
            let earlier = candidates
                .iter()
                .filter_map(|list| {
                    list[..list.partition_point(|&j| j < i)]
                        .iter()
                        .rev()
                        .find(|&&j| may_share_a_requester(&rules[j].subjects, &deny.subjects))
                        .copied()
                })
                .max();
            // A later deny of the same subjects with the target the hint asks for.
            let completed = || {
                completing.iter().filter(|&&k| k > i).map(|&k| &rules[k]).any(|later| {
                    later.action == Action::Deny
                        && later.is_unconditional()
                        && later.subjects.covers(&deny.subjects)
                        && match (&*deny.target, &*later.target) {
                            (Target::Users(denied), Target::UserAndGroup(users, Names::Any)) => users.covers(denied),
                            (Target::Groups(denied), Target::UserAndGroup(Names::Any, groups)) => groups.covers(denied),
                            _ => false,
                        }
                })
            };
            if let Some(j) = earlier.filter(|_| !completed()) {
                let permit = &rules[j];
                self.warn(
                    spans[i],
                    format!("this deny does not cover {what}, which an earlier rule permits"),
                    Some(format!(
                        "{} permits it: {}; to deny it too, add a `deny` with the same subjects and `{also}` after this rule",
                        permit.location, permit.text
                    )),
                );
            }
        }
    }

    fn lint_names(&mut self, statements: &[Statement], directory: &dyn Directory) {
        let mut checked: HashSet<(u8, String)> = HashSet::new();
        let mut words: Vec<(u8, &Word)> = Vec::new();
        for statement in statements {
            match statement {
                Statement::Alias { kind, items, .. } => {
                    for item in items.iter().filter(|w| !is_alias_ref(w)) {
                        match kind {
                            AliasKind::Users => words.push((b'u', item)),
                            AliasKind::Groups => words.push((b'g', item)),
                            AliasKind::Hosts => words.push((b'h', item)),
                            AliasKind::Commands => {}
                        }
                    }
                }
                Statement::Rule(rule) => {
                    words.extend(rule.subjects.iter().map(|w| (b'u', w)));
                    words.extend(rule.target_users.iter().flatten().map(|w| (b'u', w)));
                    words.extend(rule.target_groups.iter().flatten().map(|w| (b'g', w)));
                    for condition in &rule.conditions {
                        if let ConditionAst::On(_, hosts) = condition {
                            words.extend(hosts.iter().map(|w| (b'h', w)));
                        }
                    }
                }
                _ => {}
            }
        }
        for (kind, word) in words {
            if is_alias_ref(word) || is_star(word) {
                continue;
            }
            let (kind, name) = match (kind, word.text.strip_prefix('%')) {
                (b'u', Some(group)) => (b'g', group),
                (_, _) => (kind, word.text.as_str()),
            };
            if !checked.insert((kind, name.to_string())) {
                continue;
            }
            let (exists, what) = match kind {
                b'u' => (directory.user_exists(name), "user"),
                b'g' => (directory.group_exists(name), "group"),
                _ if Glob::new(name).is_ok_and(|g| !g.is_literal()) => continue,
                _ => (directory.host_exists(name), "host"),
            };
            if !exists {
                self.warn(word.span, format!("{what} `{name}` does not exist"), None);
            }
        }
    }
}

/// True when `later` matches every request `earlier` matches.
/// Whether one requester could be among both rules' subjects; without
/// look-ups, any user may be a member of any group.
fn may_share_a_requester(a: &Subjects, b: &Subjects) -> bool {
    a.anyone
        || b.anyone
        || a.users.iter().any(|u| b.users.contains(u))
        || a.groups.iter().any(|g| b.groups.contains(g))
        || (!a.groups.is_empty() && !b.users.is_empty())
        || (!a.users.is_empty() && !b.groups.is_empty())
}

fn overrides(later: &Rule, earlier: &Rule) -> bool {
    later.action != Action::Grant
        && later.is_unconditional()
        && later.subjects.covers(&earlier.subjects)
        && later.target.covers(&earlier.target)
        && match (&later.command, &earlier.command) {
            (None, _) => true,
            (Some(l), Some(e)) => l.same_as(e),
            (Some(_), None) => false,
        }
}

/// The one shared copy of `value`.
fn share<T: Hash + Eq>(shared: &mut HashSet<Arc<T>>, value: T) -> Arc<T> {
    if let Some(copy) = shared.get(&value) {
        return Arc::clone(copy);
    }
    let copy = Arc::new(value);
    shared.insert(Arc::clone(&copy));
    copy
}

/// `A → B → A`; a long cycle shows its ends and how many aliases it runs through.
fn cycle_text(cycle: &[&str]) -> String {
    const SHOWN: usize = 8;
    if cycle.len() <= SHOWN {
        return cycle.join(" → ");
    }
    let (head, tail) = (&cycle[..3], &cycle[cycle.len() - 2..]);
    format!(
        "{} → … → {} ({} aliases)",
        head.join(" → "),
        tail.join(" → "),
        cycle.len() - 1
    )
}

fn merge_subjects(into: &mut Subjects, from: &Subjects) {
    into.anyone |= from.anyone;
    into.users.extend(from.users.iter().cloned());
    into.groups.extend(from.groups.iter().cloned());
}

/// The statement as one line: continued lines joined by one space.
pub(crate) fn rule_text(source: &str) -> String {
    let lines: Vec<&str> = source.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let last = lines.len() - 1;
    let parts: Vec<&str> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let line = if i < last {
                line.strip_suffix('\\').unwrap_or(line).trim_end()
            } else {
                line
            };
            if i > 0 { line.trim_start() } else { line }
        })
        .filter(|l| !l.is_empty())
        .collect();
    parts.join(" ")
}

fn when_text(first: &[Word], second: Option<&[Word]>) -> String {
    let join = |ws: &[Word]| ws.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(",");
    match second {
        Some(s) => format!("{} {}", join(first), join(s)),
        None => join(first),
    }
}
