//! Aliases: defined, expanded once (depth-bounded, cycles reported) and shared by every rule that names them.

use super::*;

/// What an alias expands to, computed once and shared by every rule that names it.
#[derive(Clone, Debug)]
pub(super) enum Resolved {
    Users(Arc<Subjects>),
    Groups(Arc<[Name]>),
    Hosts(Globs),
    Commands(Globs),
}

pub(super) struct AliasDef<'s> {
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
    seen: FxHashSet<(Kind, String)>,
    /// The aliases this one names.
    named: FxHashSet<&'s str>,
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

impl<'s> Compiler<'s, '_> {
    pub(super) fn define_alias(&mut self, kind: AliasKind, name: &'s Word, items: &'s [Word]) {
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
    pub(super) fn resolve(&mut self, root: &str) -> Option<Resolved> {
        if let Some(done) = self.resolved.get(root) {
            return done.as_ref().map(|(r, _)| r.clone());
        }
        let mut stack = vec![self.expansion(root)?];
        // Where each alias on the stack stands, to find cycles without a scan.
        let mut on_stack: FxHashMap<&'s str, usize> = FxHashMap::from_iter([(stack[0].name, 0)]);
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
            seen: FxHashSet::default(),
            named: FxHashSet::default(),
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
    pub(super) fn reference(&mut self, word: &Word, kind: AliasKind) -> Option<Resolved> {
        let name = self.referenced(word, kind)?;
        self.resolve(name)
    }
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
