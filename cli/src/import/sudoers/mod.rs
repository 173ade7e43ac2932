//! sudoers to newgate.
//!
//! Read in the order of the work: the files, includes followed as sudo
//! follows them ([`source`]); each logical line parsed by a small
//! hand-written reader ([`syntax`]); the aliases ([`aliases`]) and
//! `Defaults` ([`defaults`]); then each user specification turned into
//! rules ([`rules`]). This file holds the converter that runs them.
//!
//! How sudo decides, and what that means here:
//! - Every entry, host part and command of the file is tried, and the last
//!   one that matches decides: permit, or deny for a negated command. A
//!   newgate rule per command, in the order of the file, decides the same.
//! - A negated user, host or runas name does not deny: it only keeps the
//!   entry from matching. newgate cannot say "except", so the permit is
//!   followed by a `deny` for the excluded names; that is exact unless an
//!   earlier rule could permit the same command, and then it is reported.
//! - A permit with something newgate cannot say becomes a deny of what it
//!   covers (left out, an earlier, looser rule would decide in its place),
//!   and a deny is made wider: the converted policy permits less, never more.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use newgate_policy::env;

use super::output::{
    self, Action, Alias, AliasKind, Args, Block, Command, Draft, Item, Options, Report, Rule, Target, Term,
};
use super::{SourceError, read_source};

/// How deep includes may nest, as in the newgate policy.
const MAX_DEPTH: usize = newgate_policy::MAX_INCLUDE_DEPTH;
/// How deep aliases may refer to aliases before it is called a loop.
const MAX_ALIAS_DEPTH: usize = 64;
/// The longest `persist` newgate takes: 7 days.
const MAX_PERSIST_MINUTES: u64 = 7 * 24 * 60;

pub(crate) fn convert(path: &Path) -> Result<(Draft, Report), SourceError> {
    let mut report = Report::default();
    let mut lines = Vec::new();
    collect(path, path, 0, &mut Vec::new(), &mut lines, &mut report)?;
    let mut statements = Vec::new();
    for line in &lines {
        if let Some(statement) = parse_line(line)? {
            statements.push((line, statement));
        }
    }
    Converter::new(&statements, report)?.run(&statements)
}

mod aliases;
mod defaults;
mod rules;
mod source;
mod syntax;

use defaults::*;
use rules::*;
use source::*;
use syntax::*;

/// What a permit that cannot be carried over becomes.
const DENIED_INSTEAD: &str = "the requests it covers are denied";

/// Whether a command of a user specification was carried over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kept {
    Yes,
    /// A permit that newgate cannot hold: nothing was written for it.
    No,
}

/// An entry with `CHROOT=`: sudo looks all of its users' commands up in the
/// chroot, so they are denied everything, by rules written last.
struct Chrooted {
    file: PathBuf,
    label: String,
    number: usize,
    subjects: Vec<Term>,
}

struct Converter<'s> {
    report: Report,
    draft: Draft,
    user_aliases: HashMap<String, &'s [Member<Name>]>,
    runas_aliases: HashMap<String, &'s [Member<Name>]>,
    host_aliases: HashMap<String, &'s [Member<Name>]>,
    cmnd_aliases: HashMap<String, &'s [Member<Cmnd>]>,
    /// The aliases written to the converted policy, with their kind
    /// (sudoers keeps a name space per kind, newgate one for all).
    emitted: HashMap<String, Kind>,
    global: Effective,
    scoped: Vec<Scoped<'s>>,
    runas_default: String,
    /// File-wide report items already made, by kind.
    once: BTreeSet<&'static str>,
    /// Scoped Defaults lines already reported.
    scoped_reported: BTreeSet<(PathBuf, usize)>,
    /// Entries already reported as under a scoped `runas_default`.
    runas_default_reported: BTreeSet<(PathBuf, usize)>,
    timed: bool,
    /// Entries with `CHROOT=`: where, and for whom.
    chrooted: Vec<Chrooted>,
}

impl<'s> Converter<'s> {
    fn new(statements: &'s [(&'s Line, Statement)], report: Report) -> Result<Self, SourceError> {
        let mut converter = Converter {
            report,
            draft: Draft::default(),
            user_aliases: HashMap::new(),
            runas_aliases: HashMap::new(),
            host_aliases: HashMap::new(),
            cmnd_aliases: HashMap::new(),
            emitted: HashMap::new(),
            global: Effective {
                authenticate: true,
                timeout: None,
                env_reset: true,
                env_keep: Vec::new(),
                restrictions: BTreeSet::new(),
            },
            scoped: Vec::new(),
            runas_default: "root".into(),
            once: BTreeSet::new(),
            scoped_reported: BTreeSet::new(),
            runas_default_reported: BTreeSet::new(),
            timed: false,
            chrooted: Vec::new(),
        };
        for (line, statement) in statements {
            match statement {
                Statement::Alias(kind, definitions) => {
                    for (name, body) in definitions {
                        let known = converter.user_aliases.contains_key(name) && *kind == Kind::User
                            || converter.runas_aliases.contains_key(name) && *kind == Kind::Runas
                            || converter.host_aliases.contains_key(name) && *kind == Kind::Host
                            || converter.cmnd_aliases.contains_key(name) && *kind == Kind::Cmnd;
                        if known {
                            return Err(line.error(format!("alias {name} is defined twice")));
                        }
                        match (kind, body) {
                            (Kind::User, AliasBody::Names(n)) => {
                                converter.user_aliases.insert(name.clone(), n);
                            }
                            (Kind::Runas, AliasBody::Names(n)) => {
                                converter.runas_aliases.insert(name.clone(), n);
                            }
                            (Kind::Host, AliasBody::Names(n)) => {
                                converter.host_aliases.insert(name.clone(), n);
                            }
                            (_, AliasBody::Cmnds(c)) => {
                                converter.cmnd_aliases.insert(name.clone(), c);
                            }
                            _ => unreachable!("the parser gives each kind its body"),
                        }
                    }
                }
                Statement::Defaults(scope, settings) => {
                    converter.report_refused_env_keep(line, settings);
                    match scope {
                        Scope::Global => converter.global_defaults(line, settings),
                        scope => converter.scoped.push(Scoped { line, scope, settings }),
                    }
                }
                Statement::Entry(..) => {}
            }
        }
        converter.check_aliases(statements)?;
        Ok(converter)
    }

    fn item(&mut self, line: &Line, kind: &'static str, what: String, why: &str, instead: &str) -> &mut Item {
        self.report
            .add(line.file.clone(), line.number, kind, what, why, instead)
    }

    fn run(mut self, statements: &'s [(&'s Line, Statement)]) -> Result<(Draft, Report), SourceError> {
        self.emit_aliases(statements)?;
        if !self.global.env_keep.is_empty() {
            self.draft
                .set("env_keep", super::output::quote(&self.global.env_keep.join(" ")), None);
        }
        for (line, statement) in statements {
            if let Statement::Entry(users, privileges) = statement {
                let rules = self.entry(line, users, privileges)?;
                if !rules.is_empty() {
                    self.draft.blocks.push(Block {
                        from: format!("{}:{}", line.label, line.number),
                        file: line.file.clone(),
                        line: line.number,
                        rules,
                    });
                }
            }
        }
        for Chrooted {
            file,
            label,
            number,
            subjects,
        } in std::mem::take(&mut self.chrooted)
        {
            if subjects.is_empty() {
                continue;
            }
            let rules = [
                Target::Users(vec![Term::Any]),
                Target::Groups(vec![Term::Any]),
                Target::UserAndGroup(vec![Term::Any], vec![Term::Any]),
            ]
            .into_iter()
            .map(|target| Rule {
                action: Action::Deny,
                options: Options::default(),
                subjects: subjects.clone(),
                target,
                hosts: None,
                until: None,
                command: None,
            })
            .collect();
            self.draft.blocks.push(Block {
                from: format!("{label}:{number} (CHROOT=: denies these users everything, last)"),
                file,
                line: number,
                rules,
            });
        }
        if self.timed {
            self.draft.set("timezone", "UTC".into(), None);
        }
        Ok((self.draft, self.report))
    }
}
