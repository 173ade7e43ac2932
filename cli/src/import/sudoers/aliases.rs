//! The four kinds of sudoers alias: checked for loops, and written to the
//! converted policy where newgate can hold them.

use super::*;

impl<'s> Converter<'s> {
    /// Undefined aliases and alias loops are errors, as for visudo.
    pub(super) fn check_aliases(&self, statements: &[(&Line, Statement)]) -> Result<(), SourceError> {
        for (line, statement) in statements {
            let mut names = Vec::new();
            let mut cmnds = Vec::new();
            match statement {
                Statement::Alias(kind, definitions) => {
                    for (_, body) in definitions {
                        match body {
                            AliasBody::Names(n) => names.extend(n.iter().map(|m| (*kind, m.item.clone()))),
                            AliasBody::Cmnds(c) => cmnds.extend(c.iter().map(|m| m.item.clone())),
                        }
                    }
                }
                Statement::Entry(users, privileges) => {
                    names.extend(users.iter().map(|m| (Kind::User, m.item.clone())));
                    for privilege in privileges {
                        names.extend(privilege.hosts.iter().map(|m| (Kind::Host, m.item.clone())));
                        for spec in &privilege.cmnds {
                            cmnds.push(spec.cmnd.item.clone());
                            if let Some(runas) = &spec.context.runas {
                                for list in [&runas.users, &runas.groups].into_iter().flatten() {
                                    names.extend(list.iter().map(|m| (Kind::Runas, m.item.clone())));
                                }
                            }
                        }
                    }
                }
                Statement::Defaults(scope, _) => match scope {
                    Scope::Global => {}
                    Scope::User(n) => names.extend(n.iter().map(|m| (Kind::User, m.item.clone()))),
                    Scope::Host(n) => names.extend(n.iter().map(|m| (Kind::Host, m.item.clone()))),
                    Scope::Runas(n) => names.extend(n.iter().map(|m| (Kind::Runas, m.item.clone()))),
                    Scope::Cmnd(c) => cmnds.extend(c.iter().map(|m| m.item.clone())),
                },
            }
            for (kind, name) in names {
                if let Name::Alias(alias) = name {
                    self.names_of(kind, &alias, false, 0, line)?;
                }
            }
            for cmnd in cmnds {
                if let Cmnd::Alias(alias) = cmnd {
                    self.cmnds_of(&alias, false, 0, line)?;
                }
            }
        }
        Ok(())
    }

    pub(super) fn alias_table(&self, kind: Kind) -> &HashMap<String, &'s [Member<Name>]> {
        match kind {
            Kind::User => &self.user_aliases,
            Kind::Runas | Kind::Group => &self.runas_aliases,
            _ => &self.host_aliases,
        }
    }

    /// The members of an alias, aliases within expanded, each with its
    /// polarity: in sudo the last member that matches decides, which this
    /// flat list keeps.
    pub(super) fn names_of(
        &self,
        kind: Kind,
        alias: &str,
        negated: bool,
        depth: usize,
        line: &Line,
    ) -> Result<Vec<Member<Name>>, SourceError> {
        if depth > MAX_ALIAS_DEPTH {
            return Err(line.error(format!("alias {alias} refers to itself")));
        }
        let Some(members) = self.alias_table(kind).get(alias) else {
            return Err(line.error(format!("alias {alias} is not defined")));
        };
        let mut flat = Vec::new();
        for member in members.iter() {
            let polarity = negated != member.negated;
            match &member.item {
                Name::Alias(inner) => flat.extend(self.names_of(kind, inner, polarity, depth + 1, line)?),
                item => flat.push(Member {
                    negated: polarity,
                    item: item.clone(),
                }),
            }
        }
        Ok(flat)
    }

    pub(super) fn cmnds_of(
        &self,
        alias: &str,
        negated: bool,
        depth: usize,
        line: &Line,
    ) -> Result<Vec<Member<Cmnd>>, SourceError> {
        if depth > MAX_ALIAS_DEPTH {
            return Err(line.error(format!("alias {alias} refers to itself")));
        }
        let Some(members) = self.cmnd_aliases.get(alias) else {
            return Err(line.error(format!("alias {alias} is not defined")));
        };
        let mut flat = Vec::new();
        for member in members.iter() {
            let polarity = negated != member.negated;
            match &member.item {
                Cmnd::Alias(inner) => flat.extend(self.cmnds_of(inner, polarity, depth + 1, line)?),
                item => flat.push(Member {
                    negated: polarity,
                    item: item.clone(),
                }),
            }
        }
        Ok(flat)
    }

    /// Writes the aliases newgate can hold as they are: names and `%groups`
    /// for users, names and globs for hosts, paths for commands.
    pub(super) fn emit_aliases(&mut self, statements: &'s [(&'s Line, Statement)]) -> Result<(), SourceError> {
        for (line, statement) in statements {
            let Statement::Alias(kind, definitions) = statement else {
                continue;
            };
            for (name, _) in definitions {
                if self.emitted.contains_key(name) {
                    continue;
                }
                let items = match kind {
                    Kind::User => self.clean_names(Kind::User, name, line)?,
                    Kind::Host => self.clean_names(Kind::Host, name, line)?,
                    Kind::Cmnd => self.clean_cmnds(name, line)?,
                    Kind::Runas | Kind::Group => None,
                };
                if let Some(items) = items {
                    self.emitted.insert(name.clone(), *kind);
                    let kind = match kind {
                        Kind::User => AliasKind::Users,
                        Kind::Host => AliasKind::Hosts,
                        _ => AliasKind::Commands,
                    };
                    self.draft.aliases.push(Alias {
                        kind,
                        name: name.clone(),
                        items,
                        file: line.file.clone(),
                        line: line.number,
                    });
                }
            }
        }
        Ok(())
    }

    pub(super) fn clean_names(&self, kind: Kind, alias: &str, line: &Line) -> Result<Option<Vec<Term>>, SourceError> {
        let mut items = Vec::new();
        for member in self.names_of(kind, alias, false, 0, line)? {
            if member.negated {
                return Ok(None);
            }
            match (kind, &member.item) {
                (Kind::Host, Name::Word(w)) if !host_glob_reaches_past_dot(w) => items.extend(host_terms(w)),
                (Kind::Host, Name::Word(_)) => return Ok(None),
                (_, Name::Word(w)) => items.push(Term::Name(w.clone())),
                (Kind::User, Name::Group(g)) => items.push(Term::Members(g.clone())),
                _ => return Ok(None),
            }
        }
        Ok(Some(items))
    }

    pub(super) fn clean_cmnds(&self, alias: &str, line: &Line) -> Result<Option<Vec<Term>>, SourceError> {
        let mut items = Vec::new();
        for member in self.cmnds_of(alias, false, 0, line)? {
            match &member.item {
                Cmnd::Path {
                    path,
                    args: ArgSpec::Any,
                    digest: false,
                } if !member.negated => items.push(Term::Name(canonical_path(path))),
                _ => return Ok(None),
            }
        }
        Ok(Some(items))
    }
}
