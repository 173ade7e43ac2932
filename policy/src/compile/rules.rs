//! One rule: its subjects, target, options, conditions and command, with names and patterns shared.

use super::*;

impl<'s> Compiler<'s, '_> {
    pub(super) fn subject_literal(&mut self, word: &Word, subjects: &mut Subjects) -> bool {
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

    pub(super) fn group_name(&mut self, word: &Word) -> Option<Name> {
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

    pub(super) fn host_glob(&mut self, word: &Word) -> Option<Glob> {
        match Glob::new(&word.text) {
            Ok(g) => Some(g),
            Err(why) => {
                self.error(word.span, format!("bad host pattern `{}`: {why}", word.text), None);
                None
            }
        }
    }

    pub(super) fn command_glob(&mut self, word: &Word) -> Option<Glob> {
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

    pub(super) fn rule(&mut self, ast: &RuleAst) -> Option<Rule> {
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
        let mut given: FxHashSet<&str> = FxHashSet::default();
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
}

fn when_text(first: &[Word], second: Option<&[Word]>) -> String {
    let join = |ws: &[Word]| ws.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(",");
    match second {
        Some(s) => format!("{} {}", join(first), join(s)),
        None => join(first),
    }
}

fn merge_subjects(into: &mut Subjects, from: &Subjects) {
    into.anyone |= from.anyone;
    into.users.extend(from.users.iter().cloned());
    into.groups.extend(from.groups.iter().cloned());
}
