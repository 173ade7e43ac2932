//! From statements to a [`Policy`]: the settings ([`settings`]), the
//! aliases ([`aliases`]), the rules ([`rules`]) and, for `newgatectl check`,
//! the warnings ([`lint`]); this file runs them in that order.

use rustc_hash::{FxHashMap, FxHashSet};
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
    /// The name the system gives back for the uid of the user `name`, when
    /// that is another name (a second name for the uid, or a name matched
    /// loosely): newgate knows a requester by that other name, and refuses
    /// `name` as a target, so a rule naming `name` never applies. `None`
    /// when `name` is its uid's own name, or a directory cannot tell.
    fn user_known_as(&self, _name: &str) -> Option<String> {
        None
    }
    /// As [`Directory::user_known_as`], for a group and its gid.
    fn group_known_as(&self, _name: &str) -> Option<String> {
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

mod aliases;
mod lint;
mod rules;
mod settings;

pub use aliases::MAX_ALIAS_DEPTH;
use aliases::{AliasDef, Resolved};

struct Compiler<'s, 'c> {
    sources: &'s Sources,
    diags: &'c mut Collector,
    aliases: FxHashMap<&'s str, AliasDef<'s>>,
    /// Each alias expanded so far, with its depth; `None` when it cannot be.
    resolved: FxHashMap<String, Option<(Resolved, usize)>>,
    used: FxHashSet<&'s str>,
    /// Every user, group and service name and every `args` word, once: rules share them.
    names: FxHashSet<Name>,
    /// Each `cmd` or `on` pattern written in a rule, compiled once.
    globs: FxHashMap<String, Globs>,
    /// The path of each file, shared by the locations of its rules.
    files: Vec<Arc<Path>>,
    /// Each distinct set of options, subjects and target, shared by the rules that have it.
    options: FxHashSet<Arc<Options>>,
    subjects: FxHashSet<Arc<Subjects>>,
    targets: FxHashSet<Arc<Target>>,
    /// Aliases whose definition did not parse: uses of them are not errors of their own.
    broken: FxHashSet<&'s str>,
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
        aliases: FxHashMap::default(),
        resolved: FxHashMap::default(),
        used: FxHashSet::default(),
        names: FxHashSet::default(),
        globs: FxHashMap::default(),
        files: (0..sources.count())
            .map(|f| Arc::from(sources.path(f as u32)))
            .collect(),
        options: FxHashSet::default(),
        subjects: FxHashSet::default(),
        targets: FxHashSet::default(),
        broken: FxHashSet::default(),
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
}

/// The one shared copy of `value`.
fn share<T: Hash + Eq>(shared: &mut FxHashSet<Arc<T>>, value: T) -> Arc<T> {
    if let Some(copy) = shared.get(&value) {
        return Arc::clone(copy);
    }
    let copy = Arc::new(value);
    shared.insert(Arc::clone(&copy));
    copy
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
