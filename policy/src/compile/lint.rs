//! The warnings of `newgatectl check`: rules that never decide, names that do not exist, dates past.

use super::*;

impl<'s> Compiler<'s, '_> {
    pub(super) fn lint(
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
    fn lint_shadowed<'r>(&mut self, rules: &'r [Rule], index: &'r Index, spans: &[Span]) {
        for (i, rule) in rules.iter().enumerate() {
            if rule.action == Action::Grant {
                continue;
            }
            // Only rules that cover all of this rule's subjects can override
            // it, so those of its first user (or group) and of anyone are all.
            let named = if let Some(user) = rule.subjects.users.first() {
                index.for_user(user)
            } else if let Some(group) = rule.subjects.groups.first() {
                index.for_group(group)
            } else {
                &[]
            };
            // Each list is in ascending order: the later rules are its tail.
            let later = |list: &'r [u32]| &list[list.partition_point(|&j| j as usize <= i)..];
            let overriding = [index.for_anyone(), named]
                .into_iter()
                .flat_map(later)
                .map(|&j| &rules[j as usize])
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
        let mut by_user: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
        let mut by_group: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
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
        let mut checked: FxHashSet<(u8, String)> = FxHashSet::default();
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
                continue;
            }
            let known_as = match kind {
                b'u' => directory.user_known_as(name),
                b'g' => directory.group_known_as(name),
                _ => None,
            };
            if let Some(other) = known_as {
                let id = if kind == b'u' { "uid" } else { "gid" };
                self.warn(
                    word.span,
                    format!(
                        "{what} `{name}` is known to newgate as `{other}`: a rule that names `{name}` never applies"
                    ),
                    Some(format!(
                        "`{name}` shares its {id} with `{other}`, the name the system gives back for it; \
                         newgate decides for `{other}` and refuses `{name}` as a target: name `{other}` here"
                    )),
                );
            }
        }
    }
}

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

/// True when `later` matches every request `earlier` matches.
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
