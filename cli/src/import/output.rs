//! What both converters produce, and how it is written: the newgate rules
//! (in the order that makes the last match decide as the source did), the
//! report of what could not be carried over, and the policy text in the
//! canonical `fmt` layout.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::SourceError;
use newgate_system::needs_escape;

use crate::json::Json;
use newgate_policy::{LoadOptions, Trust, format_policy, load_str};

/// One name in a list of the converted policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Term {
    /// A user, group, host glob or command path, written quoted where it must be.
    Name(String),
    /// `%group`: the members of a group (subjects only).
    Members(String),
    /// An alias of the converted policy, by name.
    Alias(String),
    /// `*`
    Any,
}

impl Term {
    fn render(&self) -> String {
        match self {
            Term::Name(name) => quote(name),
            Term::Members(group) => quote(&format!("%{group}")),
            Term::Alias(name) => name.clone(),
            Term::Any => "*".into(),
        }
    }
}

fn list(terms: &[Term]) -> String {
    terms.iter().map(Term::render).collect::<Vec<_>>().join(", ")
}

// `"text"` with the escapes of the policy language; `fmt` removes the
// quotes wherever the word reads the same without them.
pub(crate) use newgate_policy::quote;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Permit,
    Deny,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Users(Vec<Term>),
    Groups(Vec<Term>),
    UserAndGroup(Vec<Term>, Vec<Term>),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Options {
    pub nopass: bool,
    /// `persist` with this many minutes, or `None` for none.
    pub persist: Option<u64>,
    pub keepenv: bool,
    /// The items of `setenv { ... }`, already written (`NAME=VALUE`, `-NAME`, `NAME`).
    pub setenv: Vec<String>,
    pub nolog: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Args {
    pub words: Vec<String>,
    /// A final `*`: any further arguments, or none.
    pub rest: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Command {
    pub path: Term,
    /// `None`: any arguments.
    pub args: Option<Args>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rule {
    pub action: Action,
    pub options: Options,
    pub subjects: Vec<Term>,
    pub target: Target,
    /// `on ...`; `None` on every host.
    pub hosts: Option<Vec<Term>>,
    /// `until ...`, as the policy language writes it.
    pub until: Option<String>,
    pub command: Option<Command>,
}

impl Rule {
    fn render(&self) -> String {
        let mut out = String::from(match self.action {
            Action::Permit => "permit",
            Action::Deny => "deny",
        });
        let o = &self.options;
        if self.action == Action::Permit {
            if o.nopass {
                out.push_str(" nopass");
            }
            if let Some(minutes) = o.persist {
                let _ = write!(out, " persist={minutes}m");
            }
            if o.keepenv {
                out.push_str(" keepenv");
            }
            if !o.setenv.is_empty() {
                let _ = write!(out, " setenv {{ {} }}", o.setenv.join(" "));
            }
            if o.nolog {
                out.push_str(" nolog");
            }
        }
        let _ = write!(out, " {} as ", list(&self.subjects));
        match &self.target {
            Target::Users(users) => {
                let _ = write!(out, "user {}", list(users));
            }
            Target::Groups(groups) => {
                let _ = write!(out, "group {}", list(groups));
            }
            Target::UserAndGroup(users, groups) => {
                let _ = write!(out, "user {} group {}", list(users), list(groups));
            }
        }
        if let Some(hosts) = &self.hosts {
            let _ = write!(out, " on {}", list(hosts));
        }
        if let Some(until) = &self.until {
            let _ = write!(out, " until {until}");
        }
        if let Some(command) = &self.command {
            let _ = write!(out, " cmd {}", command.path.render());
            if let Some(args) = &command.args {
                out.push_str(" args");
                for word in &args.words {
                    let _ = write!(out, " {}", quote(word));
                }
                if args.rest {
                    out.push_str(" *");
                }
            }
        }
        out
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AliasKind {
    Users,
    Hosts,
    Commands,
}

/// The rules that one source line (statement) became, under `# from FILE:LINE`.
#[derive(Debug)]
pub(crate) struct Block {
    pub from: String,
    /// The source line, for the report.
    pub file: PathBuf,
    pub line: usize,
    pub rules: Vec<Rule>,
}

/// `set NAME = VALUE`, the value already written, and where it came from.
#[derive(Debug)]
pub(crate) struct Setting {
    pub name: &'static str,
    pub value: String,
    pub from: Option<(PathBuf, usize)>,
}

/// `users|hosts|commands NAME = ITEMS`, and the source line that defined it.
#[derive(Debug)]
pub(crate) struct Alias {
    pub kind: AliasKind,
    pub name: String,
    pub items: Vec<Term>,
    pub file: PathBuf,
    pub line: usize,
}

/// A converted policy, before it is written.
#[derive(Debug, Default)]
pub(crate) struct Draft {
    pub settings: Vec<Setting>,
    pub aliases: Vec<Alias>,
    pub blocks: Vec<Block>,
}

impl Draft {
    /// Sets `name`, replacing an earlier value; `from` is the source line
    /// that set it, if one did.
    pub(crate) fn set(&mut self, name: &'static str, value: String, from: Option<(PathBuf, usize)>) {
        self.settings.retain(|setting| setting.name != name);
        self.settings.push(Setting { name, value, from });
    }

    /// Every rule so far, in order.
    pub(crate) fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.blocks.iter().flat_map(|b| b.rules.iter())
    }
}

/// One thing the converted policy does not carry over faithfully.
#[derive(Clone, Debug)]
pub struct Item {
    pub file: PathBuf,
    pub line: usize,
    /// A short stable name for scripts: `negation`, `own-group`, `tag`, ...
    pub kind: &'static str,
    pub what: String,
    pub why: String,
    pub instead: String,
    /// Whose requests it touches: user names, `%group`s; `None` for anyone.
    pub users: Option<Vec<String>>,
    /// Which command it touches (a path or glob as written); `None` for any.
    pub command: Option<String>,
}

/// The report: every file read, every item left out.
#[derive(Debug, Default)]
pub struct Report {
    pub files: Vec<PathBuf>,
    pub items: Vec<Item>,
}

impl Report {
    /// Records something not carried over, touching anyone and any command
    /// until the caller narrows it.
    pub(crate) fn add(
        &mut self,
        file: PathBuf,
        line: usize,
        kind: &'static str,
        what: String,
        why: &str,
        instead: &str,
    ) -> &mut Item {
        self.items.push(Item {
            file,
            line,
            kind,
            what,
            why: why.into(),
            instead: instead.into(),
            users: None,
            command: None,
        });
        self.items.last_mut().expect("just pushed")
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        for file in &self.files {
            let _ = writeln!(out, "read {}", file.display());
        }
        for item in &self.items {
            let _ = writeln!(
                out,
                "{}:{}: {}, {}; {}",
                item.file.display(),
                item.line,
                item.what,
                item.why,
                item.instead
            );
        }
        if self.items.is_empty() {
            out.push_str("everything was translated\n");
        } else {
            let n = self.items.len();
            let _ = writeln!(
                out,
                "{n} construct{} not carried over faithfully; the converted policy permits less where it differs",
                if n == 1 { "" } else { "s" }
            );
        }
        out
    }

    pub fn json(&self, source: &str, written: Option<&Path>) -> Json {
        let names = |list: &Option<Vec<String>>| match list {
            Some(names) => Json::Array(names.iter().map(|n| n.as_str().into()).collect()),
            None => Json::Null,
        };
        let items = self
            .items
            .iter()
            .map(|item| {
                Json::Object(vec![
                    ("file", item.file.display().to_string().into()),
                    ("line", Json::Number(item.line as i64)),
                    ("kind", item.kind.into()),
                    ("what", item.what.as_str().into()),
                    ("why", item.why.as_str().into()),
                    ("instead", item.instead.as_str().into()),
                    ("users", names(&item.users)),
                    ("command", item.command.as_deref().into()),
                ])
            })
            .collect();
        Json::Object(vec![
            ("source", source.into()),
            (
                "files",
                Json::Array(self.files.iter().map(|f| f.display().to_string().into()).collect()),
            ),
            ("written", written.map(|p| p.display().to_string()).into()),
            ("complete", Json::Bool(self.items.is_empty())),
            ("items", Json::Array(items)),
        ])
    }
}

const CONVERTED: &str = "<converted>";

/// The policy text: a header naming the source and the date, the settings,
/// the aliases and the rules, laid out by the policy crate's formatter and
/// checked by its loader. A setting the loader refuses is left out and
/// reported (newgate's default applies, which permits no more). A rule or an
/// alias it refuses (a name it cannot hold, say) stops the conversion: since
/// the last match decides, leaving out even a permit can hand a request to
/// an earlier, looser rule.
pub(crate) fn render(kind: &str, source: &Path, draft: &mut Draft, report: &mut Report) -> Result<String, SourceError> {
    let text = loop {
        let (text, lines) = write(kind, source, draft);
        let loaded = load_str(Path::new(CONVERTED), &text, &draft_options());
        if loaded.policy.is_some() {
            break text;
        }
        let mut refused_settings: Vec<(usize, String)> = Vec::new();
        for error in loaded.errors() {
            let line = error.position.as_ref().map_or(0, |p| p.line as usize);
            let message = printable(&error.message);
            let setting = line.checked_sub(lines.settings).filter(|&i| i < draft.settings.len());
            if let Some(setting) = setting.filter(|&i| draft.settings[i].from.is_some()) {
                refused_settings.push((setting, message));
            } else if let Some(alias) = line.checked_sub(lines.aliases).and_then(|i| draft.aliases.get(i)) {
                return Err(SourceError::Unrepresentable {
                    file: alias.file.clone(),
                    line: alias.line,
                    message: format!(
                        "newgate cannot hold this alias: {message}; change it in the source (or remove it and write its rule by hand), then convert again"
                    ),
                });
            } else if let Some(block) = lines.blocks.iter().rposition(|&first| first <= line) {
                let block = &draft.blocks[block];
                return Err(SourceError::Unrepresentable {
                    file: block.file.clone(),
                    line: block.line,
                    message: format!(
                        "newgate cannot hold this line: {message}; change it in the source (or remove it and write its rule by hand), then convert again"
                    ),
                });
            }
        }
        if refused_settings.is_empty() {
            return Err(SourceError::Invalid(errors_of(&loaded)));
        }
        refused_settings.sort_by_key(|r| std::cmp::Reverse(r.0));
        refused_settings.dedup_by_key(|r| r.0);
        for (index, message) in refused_settings {
            let setting = draft.settings.remove(index);
            let Some((file, line)) = setting.from else {
                unreachable!("only settings from a source line are left out")
            };
            report.add(
                file,
                line,
                "ignored",
                format!("the setting `{}`", setting.name),
                &format!("newgate refuses it: {message}"),
                "it is left out, and newgate's default applies",
            );
        }
    };
    let name = Path::new(CONVERTED);
    let formatted = format_policy(name, &text)
        .map_err(|diagnostics| SourceError::Invalid(diagnostics.iter().map(|d| d.to_string()).collect()))?;
    let loaded = load_str(name, &formatted, &draft_options());
    if loaded.policy.is_none() {
        return Err(SourceError::Invalid(errors_of(&loaded)));
    }
    Ok(formatted)
}

/// A loader message as the report shows it: the names it quotes may hold
/// control or invisible characters, written as escapes.
fn printable(message: &str) -> String {
    message
        .chars()
        .map(|c| match needs_escape(c) {
            true => c.escape_unicode().to_string(),
            false => c.to_string(),
        })
        .collect()
}

fn draft_options() -> LoadOptions<'static> {
    LoadOptions {
        trust: Trust::Draft,
        directory: None,
        now: None,
        lint: false,
    }
}

fn errors_of(loaded: &newgate_policy::Loaded) -> String {
    loaded.errors().map(|d| d.to_string()).collect()
}

/// Where the parts of a written policy start.
struct Lines {
    /// The line of the first setting.
    settings: usize,
    /// The line of the first alias.
    aliases: usize,
    /// The line each block starts on.
    blocks: Vec<usize>,
}

/// The policy text before it is laid out, and where its parts start.
fn write(kind: &str, source: &Path, draft: &Draft) -> (String, Lines) {
    let date = jiff::Timestamp::now().strftime("%Y-%m-%d");
    let mut text = format!(
        "# Converted from {kind} {} by newgatectl import on {date}.\n\
         # Review it, and the report of what was not carried over, before installing it.\n\n",
        source.display()
    );
    let settings_at = text.matches('\n').count() + 1;
    for setting in &draft.settings {
        let _ = writeln!(text, "set {} = {}", setting.name, setting.value);
    }
    if !draft.settings.is_empty() {
        text.push('\n');
    }
    let aliases_at = text.matches('\n').count() + 1;
    for Alias { kind, name, items, .. } in &draft.aliases {
        let keyword = match kind {
            AliasKind::Users => "users",
            AliasKind::Hosts => "hosts",
            AliasKind::Commands => "commands",
        };
        let _ = writeln!(text, "{keyword} {name} = {}", list(items));
    }
    if !draft.aliases.is_empty() {
        text.push('\n');
    }
    let mut blocks_at = Vec::new();
    for block in &draft.blocks {
        blocks_at.push(text.matches('\n').count() + 1);
        let _ = writeln!(text, "# from {}", block.from);
        for rule in &block.rules {
            let _ = writeln!(text, "{}", rule.render());
        }
        text.push('\n');
    }
    (
        text,
        Lines {
            settings: settings_at,
            aliases: aliases_at,
            blocks: blocks_at,
        },
    )
}
