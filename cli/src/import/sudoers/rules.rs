//! User specifications turned into newgate rules: who, as whom, which
//! commands, and the denies that keep the result from permitting more.

use super::*;

impl<'s> Converter<'s> {
    /// The names of a list, split by polarity, with aliases the converted
    /// policy holds kept by name.
    pub(super) fn split(&mut self, kind: Kind, list: &[Member<Name>], line: &Line) -> Result<Split, SourceError> {
        let mut flat = Vec::new();
        for member in list {
            match &member.item {
                Name::Alias(a) if !member.negated && self.emitted.get(a) == Some(&kind) => flat.push(Member {
                    negated: false,
                    item: Name::Alias(a.clone()),
                }),
                Name::Alias(a) => flat.extend(self.names_of(kind, a, member.negated, 0, line)?),
                item => flat.push(Member {
                    negated: member.negated,
                    item: item.clone(),
                }),
            }
        }
        let mut split = Split::default();
        for (index, member) in flat.iter().enumerate() {
            let term = match &member.item {
                Name::All => Some(Term::Any),
                Name::Word(w) => Some(Term::Name(w.clone())),
                Name::Alias(a) => Some(Term::Alias(a.clone())),
                Name::Group(g) if kind == Kind::User => Some(Term::Members(g.clone())),
                Name::Uid(gid) if kind == Kind::Group => nix::unistd::Group::from_gid((*gid).into())
                    .ok()
                    .flatten()
                    .map(|g| Term::Name(g.name)),
                Name::Uid(uid) => nix::unistd::User::from_uid((*uid).into())
                    .ok()
                    .flatten()
                    .map(|u| Term::Name(u.name)),
                Name::Gid(gid) => nix::unistd::Group::from_gid((*gid).into())
                    .ok()
                    .flatten()
                    .map(|g| match kind {
                        Kind::User => Term::Members(g.name),
                        _ => Term::Name(g.name),
                    }),
                Name::Group(_) | Name::Unsupported(_) => None,
            };
            let shown = match &member.item {
                Name::All => "ALL".to_string(),
                Name::Word(w) | Name::Alias(w) | Name::Unsupported(w) => w.clone(),
                Name::Group(g) => format!("%{g}"),
                Name::Uid(u) => format!("#{u}"),
                Name::Gid(g) if kind == Kind::User => format!("%#{g}"),
                Name::Gid(g) => format!("#{g}"),
            };
            let terms = match term {
                // Permitted, it might match where sudo does not: left out.
                Some(Term::Name(host))
                    if kind == Kind::Host && !member.negated && host_glob_reaches_past_dot(&host) =>
                {
                    Vec::new()
                }
                Some(Term::Name(host)) if kind == Kind::Host && member.negated => negated_host_terms(&host),
                Some(Term::Name(host)) if kind == Kind::Host => host_terms(&host),
                term => term.into_iter().collect(),
            };
            match (terms.is_empty(), member.negated) {
                (false, false) => split.positive.extend(terms),
                (false, true) => {
                    if flat[index + 1..].iter().any(|m| !m.negated) {
                        split.reordered = true;
                    }
                    split.negative.extend(terms)
                }
                (true, false) => split.unsupported_positive.push(shown),
                (true, true) => split.unsupported_negative.push(shown),
            }
        }
        if split.positive.contains(&Term::Any) {
            split.positive = vec![Term::Any];
        }
        Ok(split)
    }

    pub(super) fn entry(
        &mut self,
        line: &Line,
        users: &[Member<Name>],
        privileges: &[Privilege],
    ) -> Result<Vec<Rule>, SourceError> {
        let who = self.split(Kind::User, users, line)?;
        if !who.unsupported_positive.is_empty() || !who.unsupported_negative.is_empty() {
            let names: Vec<String> = who
                .unsupported_positive
                .iter()
                .chain(&who.unsupported_negative)
                .cloned()
                .collect();
            self.item(
                line,
                "user",
                format!("the user list names {}", names.join(", ")),
                "newgate matches user names and groups by name only (no netgroups, non-Unix groups, or ids without a name)",
                if who.unsupported_negative.is_empty() {
                    "the entry's permits leave them out, its denials apply to everyone"
                } else {
                    "the entry permits nothing, since the exclusion cannot be kept; its denials apply to everyone"
                },
            );
        }
        let mut rules = Vec::new();
        for privilege in privileges {
            let hosts = self.split(Kind::Host, &privilege.hosts, line)?;
            if !hosts.unsupported_positive.is_empty() || !hosts.unsupported_negative.is_empty() {
                let names: Vec<String> = hosts
                    .unsupported_positive
                    .iter()
                    .chain(&hosts.unsupported_negative)
                    .cloned()
                    .collect();
                let instead = if hosts.unsupported_negative.is_empty() {
                    "its permits leave those hosts out, its denials apply on every host"
                } else {
                    "the entry permits nothing here, since the exclusion cannot be kept; its denials apply on every host"
                };
                let item = self.item(
                    line,
                    "host",
                    format!("the host list names {}", names.join(", ")),
                    "newgate's `on` matches this machine's whole host name against globs only (no addresses, networks or netgroups; sudo matches a pattern without a `.` against the short name, where a wildcard cannot reach past a `.`)",
                    instead,
                );
                item.users = self_users(&who);
            }
            for spec in &privilege.cmnds {
                self.cmnd_spec(line, &who, &hosts, spec, &mut rules)?;
            }
        }
        Ok(rules)
    }

    pub(super) fn cmnd_spec(
        &mut self,
        line: &Line,
        who: &Split,
        hosts: &Split,
        spec: &CmndSpec,
        rules: &mut Vec<Rule>,
    ) -> Result<(), SourceError> {
        let runas = spec.context.runas.clone().unwrap_or_default();
        let targets = self.targets(line, who, &runas)?;
        let commands = match &spec.cmnd.item {
            // An alias the policy holds has only plain paths: negated, each is denied.
            Cmnd::Alias(a) if self.emitted.get(a) == Some(&Kind::Cmnd) => vec![Member {
                negated: spec.cmnd.negated,
                item: Cmnd::Alias(a.clone()),
            }],
            Cmnd::Alias(a) => self.cmnds_of(a, spec.cmnd.negated, 0, line)?,
            item => vec![Member {
                negated: spec.cmnd.negated,
                item: item.clone(),
            }],
        };
        for command in commands {
            let action = if command.negated { Action::Deny } else { Action::Permit };
            let kept = self.command_rules(line, who, hosts, spec, &targets, action, &command.item, rules)?;
            if kept == Kept::No {
                // The last match decides: left out, the permit would hand its
                // requests to an earlier, perhaps looser rule (no password,
                // no NOEXEC). A deny of what it covers takes its place; the
                // report already says why, so the deny's own items are not kept.
                let report = std::mem::take(&mut self.report);
                let denied = self.command_rules(line, who, hosts, spec, &targets, Action::Deny, &command.item, rules);
                self.report = report;
                denied?;
            }
        }
        Ok(())
    }

    /// The newgate targets of a runas list: those a permit names, those it
    /// excludes, and those a denial must cover.
    pub(super) fn targets(&mut self, line: &Line, who: &Split, runas: &Runas) -> Result<Targets, SourceError> {
        let users = match &runas.users {
            Some(list) => Some(self.split(Kind::Runas, list, line)?),
            None => None,
        };
        let groups = match &runas.groups {
            Some(list) => Some(self.split(Kind::Group, list, line)?),
            None => None,
        };
        for split in [&users, &groups].into_iter().flatten() {
            let names: Vec<String> = split
                .unsupported_positive
                .iter()
                .chain(&split.unsupported_negative)
                .cloned()
                .collect();
            if !names.is_empty() {
                let item = self.item(
                    line,
                    "runas",
                    format!("the runas list names {}", names.join(", ")),
                    "a newgate target is a user or group by name (not the members of a group, a netgroup or an id without a name)",
                    "its permits leave them out, its denials apply to every target",
                );
                item.users = self_users(who);
            }
        }
        if groups.as_ref().is_none_or(|g| !g.positive.contains(&Term::Any)) && self.once.insert("own-group") {
            self.item(
                line,
                "own-group",
                "`sudo -g GROUP` naming one of the target user's own groups".into(),
                "sudo permits it under any entry whose runas list does not name the group; newgate permits a group only where a rule names it",
                "such requests are denied unless a rule names the group",
            );
        }
        let mut targets = Vec::new();
        let mut excluded = Vec::new();
        // A `Defaults:alice runas_default=bob` (or one for a host, a runas
        // user or a command) makes bob the target of alice's entries without
        // a runas list, and not root: which entries it reaches cannot be said
        // per rule, so they permit nothing and deny for every target user.
        let asking = Rule {
            action: Action::Permit,
            options: Options::default(),
            subjects: who.positive.clone(),
            target: Target::Users(vec![Term::Name(self.runas_default.clone())]),
            hosts: None,
            until: None,
            command: None,
        };
        let scoped_default = users.is_none()
            && groups.is_none()
            && self.scoped.iter().any(|s| {
                s.settings.iter().any(|(name, _)| name == "runas_default")
                    && self.coverage(s.scope, &asking) != Coverage::None
            });
        match (&users, &groups) {
            (None, None) if scoped_default => {
                if self.runas_default_reported.insert((line.file.clone(), line.number)) {
                    let item = self.item(
                        line,
                        "runas-default",
                        "an entry without a runas list under a scoped `Defaults runas_default`".into(),
                        "the target user of such an entry depends on who asks, where and what; newgate's rule names one",
                        "such entries permit nothing, and their denials apply to every target user",
                    );
                    item.users = self_users(who);
                }
            }
            (None, None) => {
                if self.once.insert("root-group") {
                    self.item(
                        line,
                        "root-group",
                        "`sudo -u root -g GROUP` under an entry without a runas list".into(),
                        "sudo then checks the user only and permits any group",
                        "the converted policy permits the default target user with that user's own groups only",
                    );
                }
                targets.push(Target::Users(vec![Term::Name(self.runas_default.clone())]));
            }
            (Some(u), None) => {
                if !u.positive.is_empty() {
                    targets.push(Target::Users(u.positive.clone()));
                }
                if !u.negative.is_empty() {
                    excluded.push(Target::Users(u.negative.clone()));
                }
            }
            (None, Some(g)) => {
                if !g.positive.is_empty() {
                    targets.push(Target::Groups(g.positive.clone()));
                }
                if !g.negative.is_empty() {
                    excluded.push(Target::Groups(g.negative.clone()));
                }
            }
            (Some(u), Some(g)) => {
                if !u.positive.is_empty() {
                    targets.push(Target::Users(u.positive.clone()));
                }
                if !g.positive.is_empty() {
                    targets.push(Target::Groups(g.positive.clone()));
                }
                if !u.positive.is_empty() && !g.positive.is_empty() {
                    targets.push(Target::UserAndGroup(u.positive.clone(), g.positive.clone()));
                }
                if !u.negative.is_empty() {
                    excluded.push(Target::Users(u.negative.clone()));
                    if !g.positive.is_empty() {
                        excluded.push(Target::UserAndGroup(u.negative.clone(), g.positive.clone()));
                    }
                }
                if !g.negative.is_empty() {
                    excluded.push(Target::Groups(g.negative.clone()));
                    if !u.positive.is_empty() {
                        excluded.push(Target::UserAndGroup(u.positive.clone(), g.negative.clone()));
                    }
                }
            }
        }
        // A denial covers what sudo's fallbacks let the entry match: the
        // target's own groups (any group, here) and, without a runas list,
        // any group with the default user; a name newgate cannot hold widens
        // it to every target.
        let unsupported_positive = [&users, &groups]
            .into_iter()
            .flatten()
            .any(|s| !s.unsupported_positive.is_empty());
        let widen = unsupported_positive || !excluded.is_empty() || scoped_default;
        let denied_users = match &users {
            _ if widen => Some(vec![Term::Any]),
            None if groups.is_some() => None,
            None => Some(vec![Term::Name(self.runas_default.clone())]),
            Some(u) => Some(u.positive.clone()).filter(|p| !p.is_empty()),
        };
        // Exact where sudo's own list matches every group, or (without a
        // runas list) where sudo checks only the default user.
        let groups_exact = groups
            .as_ref()
            .is_some_and(|g| g.positive.contains(&Term::Any) && g.negative.is_empty());
        let user_and_group_exact = groups_exact || (users.is_none() && groups.is_none());
        let mut deny = Vec::new();
        if let Some(users) = denied_users {
            deny.push(Target::Users(users.clone()));
            deny.push(Target::UserAndGroup(users, vec![Term::Any]));
        }
        deny.push(Target::Groups(vec![Term::Any]));
        let unsupported_negative = [&users, &groups]
            .into_iter()
            .flatten()
            .any(|s| !s.unsupported_negative.is_empty());
        if unsupported_negative {
            // An exclusion newgate cannot name: the permits of this spec go.
            return Ok(Targets {
                permit: Vec::new(),
                excluded,
                deny,
                widened: true,
                groups_exact: false,
                user_and_group_exact: false,
            });
        }
        let reordered = [&users, &groups].into_iter().flatten().any(|s| s.reordered);
        if reordered {
            let item = self.item(
                line,
                "negation",
                "a runas list with an excluded name before an included one".into(),
                "in sudo the last matching name of the list decides; newgate excludes every excluded name",
                "the excluded targets are denied even where a later name of the list includes them",
            );
            item.users = self_users(who);
        }
        Ok(Targets {
            permit: targets,
            excluded,
            deny,
            widened: widen,
            groups_exact,
            user_and_group_exact,
        })
    }

    /// The rules of one command of a user specification, into `rules`;
    /// [`Kept::No`] for a permit that cannot be carried over.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn command_rules(
        &mut self,
        line: &Line,
        who: &Split,
        hosts: &Split,
        spec: &CmndSpec,
        targets: &Targets,
        action: Action,
        cmnd: &Cmnd,
        rules: &mut Vec<Rule>,
    ) -> Result<Kept, SourceError> {
        let shown_command = match cmnd {
            Cmnd::All => None,
            Cmnd::Alias(a) => Some(a.clone()),
            Cmnd::Path { path, .. } => Some(canonical_path(path)),
            Cmnd::Builtin(b) => Some(b.clone()),
        };
        let users_scope = self_users(who);
        // What the command becomes, and the exact deny a `WORDS *` permit needs.
        let (command, more) = match cmnd {
            Cmnd::All => (None, None),
            Cmnd::Alias(a) => (
                Some(Command {
                    path: Term::Alias(a.clone()),
                    args: None,
                }),
                None,
            ),
            Cmnd::Builtin(name) => {
                if action == Action::Permit {
                    let item = self.item(
                        line,
                        "builtin",
                        format!("`{name}`"),
                        "newgate has no sudoedit and no listing of other users' rights",
                        "it is left out",
                    );
                    item.users = users_scope;
                    item.command = Some(name.clone());
                }
                // No newgate request is a sudoedit or a listing: nothing to deny.
                return Ok(Kept::Yes);
            }
            Cmnd::Path { path, args, digest } => {
                let path_term = Term::Name(canonical_path(path));
                if *digest && action == Action::Permit {
                    let item = self.item(
                        line,
                        "digest",
                        format!("a digest on {path}"),
                        "newgate does not check a program's digest",
                        DENIED_INSTEAD,
                    );
                    item.users = users_scope;
                    item.command = shown_command;
                    return Ok(Kept::No);
                }
                match args {
                    ArgSpec::Any => (
                        Some(Command {
                            path: path_term,
                            args: None,
                        }),
                        None,
                    ),
                    ArgSpec::None => (
                        Some(Command {
                            path: path_term,
                            args: Some(Args {
                                words: Vec::new(),
                                rest: false,
                            }),
                        }),
                        None,
                    ),
                    ArgSpec::Exact(words) => (
                        Some(Command {
                            path: path_term,
                            args: Some(Args {
                                words: words.clone(),
                                rest: false,
                            }),
                        }),
                        None,
                    ),
                    ArgSpec::ThenMore(words) => (
                        Some(Command {
                            path: path_term.clone(),
                            args: Some(Args {
                                words: words.clone(),
                                rest: true,
                            }),
                        }),
                        Some(Command {
                            path: path_term,
                            args: Some(Args {
                                words: words.clone(),
                                rest: false,
                            }),
                        }),
                    ),
                    ArgSpec::Pattern(pattern) => {
                        let instead = match action {
                            Action::Permit => DENIED_INSTEAD,
                            Action::Deny => "the denial covers the command with any arguments",
                        };
                        let item = self.item(
                            line,
                            "args",
                            format!("the argument pattern `{pattern}` of {path}"),
                            "newgate compares arguments word by word, with `*` only as the last word",
                            instead,
                        );
                        item.users = users_scope.clone();
                        item.command = shown_command.clone();
                        if action == Action::Permit {
                            return Ok(Kept::No);
                        }
                        (
                            Some(Command {
                                path: path_term,
                                args: None,
                            }),
                            None,
                        )
                    }
                }
            }
        };
        let commands = match (action, command) {
            (Action::Deny, Some(denied)) => self.denied_argument_lists(line, denied, &users_scope, &shown_command),
            (_, command) => vec![command],
        };
        let context = &spec.context;
        let mut until = None;
        if action == Action::Permit {
            if !context.restrictions.is_empty() {
                if context.restrictions.iter().any(|r| r.starts_with("CHROOT=")) {
                    // sudo looks every command of these users up inside the
                    // chroot: where it is missing, nothing at all is permitted.
                    self.chrooted.push(Chrooted {
                        file: line.file.clone(),
                        label: line.label.clone(),
                        number: line.number,
                        subjects: who.positive.clone(),
                    });
                }
                let names: Vec<&str> = context.restrictions.iter().map(String::as_str).collect();
                let instead = if names.iter().any(|n| n.starts_with("CHROOT=")) {
                    "the command is left out, and since sudo looks all of these users' commands up in the chroot, they are denied everything"
                } else {
                    DENIED_INSTEAD
                };
                let chroot = names.iter().any(|n| n.starts_with("CHROOT="));
                let item = self.item(
                    line,
                    "restriction",
                    names.join(", "),
                    "newgate cannot restrict a command this way",
                    instead,
                );
                if chroot {
                    item.users = users_scope;
                    // The rules that deny these users everything come last.
                    return Ok(Kept::Yes);
                }
                item.users = users_scope;
                item.command = shown_command;
                return Ok(Kept::No);
            }
            if let Some(start) = context.not_before
                && start > jiff::Timestamp::now()
            {
                let item = self.item(
                    line,
                    "timed",
                    format!("NOTBEFORE={start}"),
                    "newgate rules have no start time",
                    DENIED_INSTEAD,
                );
                item.users = users_scope;
                item.command = shown_command;
                return Ok(Kept::No);
            }
            for tag in &context.ignored {
                let item = self.item(
                    line,
                    "ignored",
                    format!("the tag {tag}:"),
                    "newgate has no such behaviour (it logs one line per run, passes no environment the user chooses, sends no mail)",
                    "the permit is kept without it",
                );
                item.users = users_scope.clone();
                item.command = shown_command.clone();
            }
            if let Some(end) = context.not_after {
                until = Some(minute(end, false));
                self.timed = true;
            }
        } else if let Some(end) = context.not_after {
            until = Some(minute(end, true));
            self.timed = true;
        }
        let base = Rule {
            action,
            options: Options::default(),
            subjects: Vec::new(),
            target: Target::Users(Vec::new()),
            hosts: None,
            until,
            command: commands[0].clone(),
        };
        match action {
            Action::Permit => {
                if !who.unsupported_negative.is_empty() || !hosts.unsupported_negative.is_empty() {
                    return Ok(Kept::No);
                }
                if who.positive.is_empty() || hosts.positive.is_empty() {
                    return Ok(Kept::Yes);
                }
                if targets.permit.is_empty() {
                    return Ok(Kept::No);
                }
                let host_terms = on(&hosts.positive);
                let start = rules.len();
                for target in &targets.permit {
                    let mut rule = base.clone();
                    rule.subjects = who.positive.clone();
                    rule.target = target.clone();
                    rule.hosts = host_terms.clone();
                    rule.options = self.options(&rule, context);
                    if rule.options.nopass && rule.options.persist.is_some() {
                        rule.options.persist = None;
                    }
                    if self.dropped_by_defaults(line, &rule) {
                        rules.push(deny_of(&rule));
                        continue;
                    }
                    rules.push(rule);
                }
                let permits: Vec<Rule> = rules[start..].to_vec();
                // Exclusions and `WORDS *`: a deny after each permit.
                let mut denies = Vec::new();
                for permit in &permits {
                    if let Some(more) = &more {
                        let mut deny = deny_of(permit);
                        deny.command = Some(more.clone());
                        denies.push(deny);
                    }
                    if !who.negative.is_empty() {
                        let mut deny = deny_of(permit);
                        deny.subjects = who.negative.clone();
                        denies.push(deny);
                    }
                    if !hosts.negative.is_empty() {
                        let mut deny = deny_of(permit);
                        deny.hosts = Some(hosts.negative.clone());
                        denies.push(deny);
                    }
                }
                for excluded in &targets.excluded {
                    for permit in &permits {
                        let mut deny = deny_of(permit);
                        deny.target = excluded.clone();
                        if !denies.contains(&deny) {
                            denies.push(deny);
                        }
                    }
                }
                if !denies.is_empty() {
                    let earlier: Vec<&Rule> = self.draft.rules().chain(&rules[..start]).collect();
                    let overlaps = denies.iter().any(|d| may_be_permitted_earlier(&earlier, d));
                    if overlaps || who.reordered || hosts.reordered {
                        let what = if more.is_some() {
                            "`*` after arguments (sudo wants at least one more argument)".to_string()
                        } else {
                            "an excluded (`!`) user, host or runas name".to_string()
                        };
                        let item = self.item(
                            line,
                            "negation",
                            what,
                            "newgate has no exception; a `deny` after the permit takes it out, and that deny also overrides earlier rules",
                            "the excluded requests are denied even where an earlier entry permits them",
                        );
                        item.users = if who.negative.is_empty() {
                            users_scope.clone()
                        } else {
                            terms_as_users(&who.negative)
                        };
                        item.command = shown_command.clone();
                    }
                    rules.extend(denies);
                }
            }
            Action::Deny => {
                let subjects = if who.unsupported_positive.is_empty() {
                    who.positive.clone()
                } else {
                    vec![Term::Any]
                };
                if subjects.is_empty() || (hosts.positive.is_empty() && hosts.unsupported_positive.is_empty()) {
                    return Ok(Kept::Yes);
                }
                let host_terms = if hosts.unsupported_positive.is_empty() {
                    on(&hosts.positive)
                } else {
                    None
                };
                let start = rules.len();
                for target in &targets.deny {
                    for command in &commands {
                        let mut rule = base.clone();
                        rule.subjects = subjects.clone();
                        rule.target = target.clone();
                        rule.hosts = host_terms.clone();
                        rule.command = command.clone();
                        rules.push(rule);
                    }
                }
                // Every denial covers all group targets (see `targets`); the
                // user targets are exact unless something was widened. Wider
                // is exact too when nothing before could permit the same.
                let exact_users = who.negative.is_empty()
                    && who.unsupported_positive.is_empty()
                    && hosts.negative.is_empty()
                    && hosts.unsupported_positive.is_empty()
                    && more.is_none()
                    && !targets.widened;
                let earlier: Vec<&Rule> = self.draft.rules().chain(&rules[..start]).collect();
                let inexact = rules[start..]
                    .iter()
                    .filter(|d| match d.target {
                        Target::Users(_) => !exact_users,
                        Target::Groups(_) => !(exact_users && targets.groups_exact),
                        Target::UserAndGroup(..) => !(exact_users && targets.user_and_group_exact),
                    })
                    .any(|d| may_be_permitted_earlier(&earlier, d));
                if inexact {
                    let item = self.item(
                            line,
                            "negation",
                            "a negated command".into(),
                            "sudo denies it only for the targets its runas list (or fallback) matches and for the names it does not exclude; newgate has no exception to a deny",
                            "the denial covers every group target, the excluded names too, and for `WORDS *` no further arguments as well",
                        );
                    item.users = users_scope;
                    item.command = shown_command;
                }
            }
        }
        Ok(Kept::Yes)
    }
}

impl Converter<'_> {
    /// What a negated command denies. sudo matches the arguments as one
    /// string, the words joined by spaces: `!/usr/bin/systemctl stop sshd`
    /// also denies `systemctl 'stop sshd'`. The deny covers every split of
    /// that string into words; where the splits are too many, or where the
    /// last word may run on into more text (`WORDS *`: `'stop sshd'` matches
    /// `stop *`), it covers any arguments, and the report says so.
    fn denied_argument_lists(
        &mut self,
        line: &Line,
        denied: Command,
        users: &Option<Vec<String>>,
        shown: &Option<String>,
    ) -> Vec<Option<Command>> {
        let Some(Args { words, rest }) = &denied.args else {
            return vec![Some(denied)];
        };
        let splits = if *rest { None } else { argument_splits(words) };
        match splits {
            Some(splits) => splits
                .into_iter()
                .map(|words| {
                    Some(Command {
                        path: denied.path.clone(),
                        args: Some(Args { words, rest: false }),
                    })
                })
                .collect(),
            None => {
                let item = self.item(
                    line,
                    "args",
                    format!("the negated arguments `{}{}`", words.join(" "), if *rest { " *" } else { "" }),
                    "sudo matches the arguments joined into one string, so a single argument holding spaces can match several words; newgate compares word by word",
                    "the denial covers the command with any arguments",
                );
                item.users = users.clone();
                item.command = shown.clone();
                vec![Some(Command {
                    path: denied.path,
                    args: None,
                })]
            }
        }
    }
}

/// The most spaces in a negated command's arguments whose every split into
/// words is denied (2^N lists); past it, a deny covers any arguments.
const MAX_SPLIT_SPACES: usize = 4;

/// Every list of words that sudo's joined argument string `words` stands
/// for, `words` itself first; `None` when there are too many.
fn argument_splits(words: &[String]) -> Option<Vec<Vec<String>>> {
    if words.is_empty() {
        return Some(vec![Vec::new()]);
    }
    let joined = words.join(" ");
    let spaces: Vec<usize> = joined.match_indices(' ').map(|(at, _)| at).collect();
    if spaces.len() > MAX_SPLIT_SPACES {
        return None;
    }
    let mut splits = vec![words.to_vec()];
    for mask in 0..1u32 << spaces.len() {
        let mut split = Vec::new();
        let mut from = 0;
        for (bit, &at) in spaces.iter().enumerate() {
            if mask & (1 << bit) != 0 {
                split.push(joined[from..at].to_string());
                from = at + 1;
            }
        }
        split.push(joined[from..].to_string());
        if !splits.contains(&split) {
            splits.push(split);
        }
    }
    Some(splits)
}

/// The targets of one command spec (see [`Converter::targets`]).
pub(super) struct Targets {
    pub(super) permit: Vec<Target>,
    pub(super) excluded: Vec<Target>,
    pub(super) deny: Vec<Target>,
    /// The denial's user targets are wider than sudo's.
    pub(super) widened: bool,
    /// The denial's `as group *` is what sudo matches.
    pub(super) groups_exact: bool,
    /// The denial's `as user U group *` is what sudo matches.
    pub(super) user_and_group_exact: bool,
}

#[derive(Default)]
pub(super) struct Split {
    pub(super) positive: Vec<Term>,
    pub(super) negative: Vec<Term>,
    pub(super) unsupported_positive: Vec<String>,
    pub(super) unsupported_negative: Vec<String>,
    /// An excluded name stands before an included one.
    pub(super) reordered: bool,
}

/// `until` to the minute, in UTC: a permit ends at or before the source's
/// end, a deny at or after it.
fn minute(at: jiff::Timestamp, up: bool) -> String {
    let mut seconds = at.as_second().div_euclid(60) * 60;
    if up && seconds < at.as_second() {
        seconds += 60;
    }
    let rounded = jiff::Timestamp::from_second(seconds).unwrap_or(at);
    rounded.strftime("%Y-%m-%dT%H:%M").to_string()
}

/// A command path with its folder resolved as newgate resolves a request's
/// (sudo compares the file itself, so `/bin/ls` is `/usr/bin/ls` on a
/// merged-/usr system); a folder with wildcards or that does not exist
/// stays as written. A trailing `/` means every program in the folder.
pub(super) fn canonical_path(path: &str) -> String {
    let (folder, name) = match path.strip_suffix('/') {
        Some(folder) => (folder, "*"),
        None => match path.rsplit_once('/') {
            Some((folder, name)) => (folder, name),
            None => return path.to_string(),
        },
    };
    let folder = if folder.is_empty() { "/" } else { folder };
    if folder.contains(['*', '?', '[', '\\']) {
        return format!("{}/{name}", folder.trim_end_matches('/'));
    }
    match std::fs::canonicalize(folder) {
        Ok(real) => format!("{}/{name}", real.display().to_string().trim_end_matches('/')),
        Err(_) => format!("{}/{name}", folder.trim_end_matches('/')),
    }
}

/// The newgate host globs that match where a sudoers host pattern does.
/// sudo matches a pattern without a `.` against the short host name (up to
/// the first `.`), newgate's `on` the whole name: `web1` must also be
/// `web1.*`, or `ALL, !web1` would not exclude `web1.example.com` (a
/// pattern ending in `*` already matches what may follow).
pub(super) fn host_terms(pattern: &str) -> Vec<Term> {
    if pattern.contains('.') || pattern.ends_with('*') {
        vec![Term::Name(pattern.to_string())]
    } else {
        vec![Term::Name(pattern.to_string()), Term::Name(format!("{pattern}.*"))]
    }
}

/// The hosts a negated host pattern excludes. A pattern with a `.` is
/// matched by sudo against the machine's fully qualified name (Debian's sudo
/// is built with `fqdn`), where newgate's `on` sees `gethostname()`, often
/// the short name: the exclusion also covers the pattern's short part, alone
/// and with any domain. Wider than sudo's at worst, which for an exclusion
/// permits less.
pub(super) fn negated_host_terms(pattern: &str) -> Vec<Term> {
    let mut terms = host_terms(pattern);
    if let Some((short, _)) = pattern.split_once('.') {
        for name in [short.to_string(), format!("{short}.*")] {
            if !terms.contains(&Term::Name(name.clone())) {
                terms.push(Term::Name(name));
            }
        }
    }
    terms
}

/// Whether newgate's `on` may match a host that sudo's short-name match of
/// this dotless pattern does not: a wildcard followed by more of the
/// pattern can match a `.` in the whole name (`*web` on `x.web`), which the
/// short name never holds. A single final `*` cannot.
pub(super) fn host_glob_reaches_past_dot(pattern: &str) -> bool {
    let body = pattern.strip_suffix('*').unwrap_or(pattern);
    !pattern.contains('.') && body.contains(['*', '?', '['])
}

fn on(hosts: &[Term]) -> Option<Vec<Term>> {
    if hosts.is_empty() || hosts.contains(&Term::Any) {
        None
    } else {
        Some(hosts.to_vec())
    }
}

fn deny_of(permit: &Rule) -> Rule {
    Rule {
        action: Action::Deny,
        options: Options::default(),
        ..permit.clone()
    }
}

/// Who a report item concerns, for scripts: `None` when it is anyone.
fn self_users(who: &Split) -> Option<Vec<String>> {
    terms_as_users(&who.positive)
}

pub(super) fn terms_as_users(terms: &[Term]) -> Option<Vec<String>> {
    let mut users = Vec::new();
    for term in terms {
        match term {
            Term::Name(n) => users.push(n.clone()),
            Term::Members(g) => users.push(format!("%{g}")),
            Term::Alias(_) | Term::Any => return None,
        }
    }
    Some(users)
}

/// Whether a permit before `deny` might match some request the deny matches:
/// then the deny takes away what sudo would still permit. Commands are
/// and the kinds of target compared; subjects, names and hosts are assumed to meet.
fn may_be_permitted_earlier(earlier: &[&Rule], deny: &Rule) -> bool {
    earlier.iter().any(|rule| {
        rule.action == Action::Permit
            && std::mem::discriminant(&rule.target) == std::mem::discriminant(&deny.target)
            && match (&rule.command, &deny.command) {
                (None, _) | (_, None) => true,
                (Some(a), Some(b)) => match (&a.path, &b.path) {
                    (Term::Name(p), Term::Name(q)) => {
                        p == q || p.contains(['*', '?', '[']) || q.contains(['*', '?', '['])
                    }
                    _ => true,
                },
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_negated_argument_string_is_denied_however_it_is_split() {
        let words = |list: &[&str]| list.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        assert_eq!(argument_splits(&[]), Some(vec![Vec::new()]));
        assert_eq!(argument_splits(&words(&["-l"])), Some(vec![words(&["-l"])]));
        assert_eq!(
            argument_splits(&words(&["stop", "sshd"])),
            Some(vec![words(&["stop", "sshd"]), words(&["stop sshd"])])
        );
        let splits = argument_splits(&words(&["a b", "c"])).unwrap();
        assert_eq!(splits.len(), 4);
        assert!(splits.contains(&words(&["a", "b", "c"])) && splits.contains(&words(&["a b c"])));
        assert_eq!(
            argument_splits(&words(&["1", "2", "3", "4", "5"])).map(|s| s.len()),
            Some(16)
        );
        assert_eq!(argument_splits(&words(&["1", "2", "3", "4", "5", "6"])), None);
    }

    #[test]
    fn a_negated_fully_qualified_host_also_excludes_its_short_name() {
        let names = |list: &[&str]| list.iter().map(|n| Term::Name(n.to_string())).collect::<Vec<_>>();
        assert_eq!(
            negated_host_terms("web1.example.com"),
            names(&["web1.example.com", "web1", "web1.*"])
        );
        assert_eq!(negated_host_terms("web1"), names(&["web1", "web1.*"]));
        assert_eq!(
            negated_host_terms("*.example.com"),
            names(&["*.example.com", "*", "*.*"])
        );
    }

    #[test]
    fn an_until_is_cut_to_the_minute_a_permit_down_a_deny_up() {
        let end = jiff::Timestamp::from_second(90).unwrap();
        assert_eq!(minute(end, false), "1970-01-01T00:01");
        assert_eq!(minute(end, true), "1970-01-01T00:02");
    }
}
