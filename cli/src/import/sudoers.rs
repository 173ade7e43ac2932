//! sudoers to newgate.
//!
//! Read top to bottom: the files (includes followed as sudo follows them),
//! then each logical line parsed by a small hand-written reader, then the
//! aliases and `Defaults`, then each user specification turned into rules.
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

use super::output::{Action, Alias, AliasKind, Args, Block, Command, Draft, Item, Options, Report, Rule, Target, Term};
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

// ---------------------------------------------------------------- files

/// One logical line: `\`-continued lines joined, the comment removed.
struct Line {
    file: PathBuf,
    /// `sudoers` for the main file, the path for an included one.
    label: String,
    number: usize,
    text: String,
}

impl Line {
    /// Where the line is, for a setting it makes.
    fn at(&self) -> (PathBuf, usize) {
        (self.file.clone(), self.number)
    }

    fn error(&self, message: impl Into<String>) -> SourceError {
        SourceError::Syntax {
            file: self.file.clone(),
            line: self.number,
            message: message.into(),
        }
    }
}

/// Reads `path` and, where its include lines stand, the files they name.
fn collect(
    main: &Path,
    path: &Path,
    depth: usize,
    stack: &mut Vec<PathBuf>,
    lines: &mut Vec<Line>,
    report: &mut Report,
) -> Result<(), SourceError> {
    let text = read_source(path)?;
    let canonical = std::fs::canonicalize(path).map_err(|e| SourceError::Read(path.to_path_buf(), e))?;
    stack.push(canonical);
    report.files.push(path.to_path_buf());
    let label = if path == main {
        "sudoers".to_string()
    } else {
        path.display().to_string()
    };
    for (number, raw) in logical_lines(&text) {
        let trimmed = raw.trim_start();
        let directive = ["@includedir", "#includedir", "@include", "#include"]
            .into_iter()
            .find(|d| trimmed.starts_with(d) && trimmed[d.len()..].starts_with([' ', '\t']));
        if let Some(directive) = directive {
            let error = |message: String| SourceError::Include {
                file: path.to_path_buf(),
                line: number,
                message,
            };
            let argument = unquote(strip_comment(trimmed[directive.len()..].trim()).trim());
            if argument.is_empty() {
                return Err(error(format!("{directive} needs a path")));
            }
            let named = include_path(path, &argument);
            let files = if directive.ends_with("dir") {
                include_dir(&named).map_err(|e| error(format!("cannot read the folder {}: {e}", named.display())))?
            } else {
                vec![named]
            };
            for file in files {
                let canonical = std::fs::canonicalize(&file)
                    .map_err(|e| error(format!("cannot read the included file {}: {e}", file.display())))?;
                if let Some(at) = stack.iter().position(|p| *p == canonical) {
                    let chain: Vec<String> = stack[at..].iter().map(|p| p.display().to_string()).collect();
                    return Err(error(format!(
                        "include loop: {} includes {} again",
                        chain.join(" -> "),
                        canonical.display()
                    )));
                }
                if depth + 1 >= MAX_DEPTH {
                    return Err(error(format!(
                        "includes nest deeper than {MAX_DEPTH} files at {}",
                        file.display()
                    )));
                }
                collect(main, &file, depth + 1, stack, lines, report)?;
            }
            continue;
        }
        let text = strip_comment(&raw).trim().to_string();
        if !text.is_empty() {
            lines.push(Line {
                file: path.to_path_buf(),
                label: label.clone(),
                number,
                text,
            });
        }
    }
    stack.pop();
    Ok(())
}

/// An include's path: `%h` is this machine's short host name, and a
/// relative path is relative to the including file's folder (sudo 1.9).
fn include_path(including: &Path, argument: &str) -> PathBuf {
    let argument = if argument.contains("%h") {
        let host = newgate_system::host_name().unwrap_or_default();
        let short = host.split('.').next().unwrap_or_default().to_string();
        argument.replace("%h", &short)
    } else {
        argument.to_string()
    };
    let named = PathBuf::from(argument);
    if named.is_absolute() {
        named
    } else {
        including.parent().unwrap_or(Path::new("/")).join(named)
    }
}

/// The files `@includedir` reads: regular files whose names neither contain
/// a `.` nor end in `~`, in sorted order.
fn include_dir(folder: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.contains('.') || name.ends_with('~') {
            continue;
        }
        if std::fs::metadata(entry.path())?.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

fn unquote(text: &str) -> String {
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => text.to_string(),
    }
}

/// The logical lines of a file with the number of the line each starts on:
/// a line ending in an unescaped `\` continues on the next.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let trailing = line.len() - line.trim_end_matches('\\').len();
        let (body, continues) = if trailing % 2 == 1 {
            (&line[..line.len() - 1], true)
        } else {
            (line, false)
        };
        let entry = current.get_or_insert_with(|| (index + 1, String::new()));
        entry.1.push_str(body);
        if continues {
            entry.1.push(' ');
        } else if let Some(done) = current.take() {
            out.push(done);
        }
    }
    out.extend(current);
    out
}

/// The line without its comment: a `#` that begins a word, outside quotes,
/// and not followed by a digit (`#1000` is a uid, `%#1000` a gid).
fn strip_comment(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let (mut quoted, mut escaped) = (false, false);
    for (i, &c) in chars.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '#' if !quoted
                && (i == 0 || chars[i - 1].is_whitespace() || chars[i - 1] == ',' || chars[i - 1] == '=')
                && !chars.get(i + 1).is_some_and(|n| n.is_ascii_digit()) =>
            {
                return chars[..i].iter().collect();
            }
            _ => {}
        }
    }
    line.to_string()
}

// ---------------------------------------------------------------- syntax

/// A list member and whether it is negated (an odd number of `!`).
#[derive(Clone, Debug)]
struct Member<T> {
    negated: bool,
    item: T,
}

/// A name in a user, runas or host list.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Name {
    All,
    /// A user, group (in a group list) or host name, or a host glob.
    Word(String),
    /// `%group` (users and runas users).
    Group(String),
    /// `#uid`
    Uid(u32),
    /// `%#gid` in a user list, `#gid` in a group list.
    Gid(u32),
    /// `+netgroup`, `%:nonunix`, an address or network: nothing newgate matches.
    Unsupported(String),
    Alias(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum ArgSpec {
    /// No arguments given in sudoers: any.
    Any,
    /// `""`: none.
    None,
    Exact(Vec<String>),
    /// `WORD... *`: these words, then at least one more argument.
    ThenMore(Vec<String>),
    /// Wildcards elsewhere, or a regular expression.
    Pattern(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Cmnd {
    All,
    Alias(String),
    Path {
        path: String,
        args: ArgSpec,
        digest: bool,
    },
    /// `sudoedit`, `list`: sudo's own functions.
    Builtin(String),
}

#[derive(Clone, Debug, Default)]
struct Runas {
    /// `None`: no user list (not even `()`).
    users: Option<Vec<Member<Name>>>,
    groups: Option<Vec<Member<Name>>>,
}

/// What a command spec inherits from the one before it in the same host part.
#[derive(Clone, Debug, Default)]
struct Context {
    runas: Option<Runas>,
    /// `NOPASSWD` (false) or `PASSWD` (true).
    authenticate: Option<bool>,
    /// Tags and options newgate cannot carry, by name (`NOEXEC`, `CWD`, ...).
    restrictions: BTreeSet<String>,
    /// Tags with no effect on what is permitted (`LOG_OUTPUT`, `SETENV`, ...).
    ignored: BTreeSet<String>,
    not_before: Option<jiff::Timestamp>,
    not_after: Option<jiff::Timestamp>,
}

struct CmndSpec {
    context: Context,
    cmnd: Member<Cmnd>,
}

struct Privilege {
    hosts: Vec<Member<Name>>,
    cmnds: Vec<CmndSpec>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    User,
    Runas,
    /// The group part of a runas list: `#gid`, and Runas_Alias members.
    Group,
    Host,
    Cmnd,
}

#[derive(Clone, Debug)]
enum DefaultsValue {
    Flag(bool),
    Set(String),
    Add(String),
    Remove(String),
}

#[derive(Clone, Debug)]
enum Scope {
    Global,
    Host(Vec<Member<Name>>),
    User(Vec<Member<Name>>),
    Runas(Vec<Member<Name>>),
    Cmnd(Vec<Member<Cmnd>>),
}

enum Statement {
    Defaults(Scope, Vec<(String, DefaultsValue)>),
    Alias(Kind, Vec<(String, AliasBody)>),
    Entry(Vec<Member<Name>>, Vec<Privilege>),
}

#[derive(Clone, Debug)]
enum AliasBody {
    Names(Vec<Member<Name>>),
    Cmnds(Vec<Member<Cmnd>>),
}

const TAGS: &[&str] = &[
    "NOPASSWD",
    "PASSWD",
    "NOEXEC",
    "EXEC",
    "SETENV",
    "NOSETENV",
    "LOG_INPUT",
    "NOLOG_INPUT",
    "LOG_OUTPUT",
    "NOLOG_OUTPUT",
    "MAIL",
    "NOMAIL",
    "FOLLOW",
    "NOFOLLOW",
    "INTERCEPT",
    "NOINTERCEPT",
];
const SPEC_OPTIONS: &[&str] = &[
    "CWD",
    "CHROOT",
    "ROLE",
    "TYPE",
    "APPARMOR_PROFILE",
    "TIMEOUT",
    "NOTBEFORE",
    "NOTAFTER",
];

/// A character of a line and whether a `\` made it literal.
type Char = (char, bool);

struct Cursor<'l> {
    line: &'l Line,
    chars: Vec<Char>,
    at: usize,
}

impl<'l> Cursor<'l> {
    fn new(line: &'l Line, text: &str) -> Cursor<'l> {
        let mut chars = Vec::new();
        let mut it = text.chars();
        while let Some(c) = it.next() {
            match c {
                '\\' => match it.next() {
                    Some(next) => chars.push((next, true)),
                    None => chars.push(('\\', true)),
                },
                c => chars.push((c, false)),
            }
        }
        Cursor { line, chars, at: 0 }
    }

    fn skip_blanks(&mut self) {
        while self.chars.get(self.at).is_some_and(|(c, e)| !e && c.is_whitespace()) {
            self.at += 1;
        }
    }

    /// The next unescaped character after blanks, not consumed.
    fn peek(&mut self) -> Option<char> {
        self.skip_blanks();
        match self.chars.get(self.at) {
            Some((c, false)) => Some(*c),
            Some((_, true)) => Some('\\'),
            None => None,
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char, what: &str) -> Result<(), SourceError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(format!("expected `{c}` {what}")))
        }
    }

    fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    fn error(&self, message: String) -> SourceError {
        let near: String = self.chars[self.at.min(self.chars.len())..]
            .iter()
            .take(20)
            .map(|(c, _)| c)
            .collect();
        if near.is_empty() {
            self.line.error(format!("{message}, at the end of the line"))
        } else {
            self.line.error(format!("{message}, near `{near}`"))
        }
    }

    /// A word: up to a blank or one of `stops`, unescaped; `"..."` quotes a part.
    fn word(&mut self, stops: &str) -> String {
        self.skip_blanks();
        let mut out = String::new();
        let mut quoted = false;
        while let Some(&(c, escaped)) = self.chars.get(self.at) {
            if !escaped && c == '"' {
                quoted = !quoted;
                self.at += 1;
                continue;
            }
            if !escaped && !quoted && (c.is_whitespace() || stops.contains(c)) {
                break;
            }
            out.push(c);
            self.at += 1;
        }
        out
    }

    /// A word that must not be empty.
    fn name(&mut self, stops: &str, what: &str) -> Result<String, SourceError> {
        let word = self.word(stops);
        if word.is_empty() {
            Err(self.error(format!("expected {what}")))
        } else {
            Ok(word)
        }
    }

    fn negations(&mut self) -> bool {
        let mut negated = false;
        while self.eat('!') {
            negated = !negated;
        }
        negated
    }
}

const NAME_STOPS: &str = ",:=()!";

fn parse_line(line: &Line) -> Result<Option<Statement>, SourceError> {
    let text = line.text.as_str();
    let first: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if first == "Defaults" {
        return parse_defaults(line).map(Some);
    }
    let kind = match first.as_str() {
        "User_Alias" => Some(Kind::User),
        "Runas_Alias" => Some(Kind::Runas),
        "Host_Alias" => Some(Kind::Host),
        "Cmnd_Alias" | "Cmd_Alias" => Some(Kind::Cmnd),
        _ => None,
    };
    let mut cursor = Cursor::new(line, text);
    if let Some(kind) = kind {
        cursor.word(NAME_STOPS);
        let mut definitions = Vec::new();
        loop {
            let name = cursor.name("=:", "an alias name")?;
            if !is_alias_name(&name) {
                return Err(cursor.error(format!(
                    "`{name}` is not an alias name (an uppercase letter, then uppercase letters, digits and _)"
                )));
            }
            cursor.expect('=', "after the alias name")?;
            let body = if kind == Kind::Cmnd {
                AliasBody::Cmnds(parse_cmnd_list(&mut cursor)?)
            } else {
                AliasBody::Names(parse_names(&mut cursor, kind)?)
            };
            definitions.push((name, body));
            if !cursor.eat(':') {
                break;
            }
        }
        if !cursor.at_end() {
            return Err(cursor.error("unexpected text after the alias".into()));
        }
        return Ok(Some(Statement::Alias(kind, definitions)));
    }
    let users = parse_names(&mut cursor, Kind::User)?;
    let mut privileges = Vec::new();
    loop {
        let hosts = parse_names(&mut cursor, Kind::Host)?;
        cursor.expect('=', "between the hosts and the commands")?;
        let mut context = Context::default();
        let mut cmnds = Vec::new();
        loop {
            context = parse_context(&mut cursor, context)?;
            let negated = cursor.negations();
            let cmnd = parse_cmnd(&mut cursor)?;
            cmnds.push(CmndSpec {
                context: context.clone(),
                cmnd: Member { negated, item: cmnd },
            });
            if !cursor.eat(',') {
                break;
            }
        }
        privileges.push(Privilege { hosts, cmnds });
        if !cursor.eat(':') {
            break;
        }
    }
    if !cursor.at_end() {
        return Err(cursor.error("unexpected text after the commands".into()));
    }
    Ok(Some(Statement::Entry(users, privileges)))
}

fn is_alias_name(name: &str) -> bool {
    let mut chars = name.chars();
    name != "ALL"
        && chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// A comma-separated list of names; `kind` says how `%` and `#` read.
fn parse_names(cursor: &mut Cursor, kind: Kind) -> Result<Vec<Member<Name>>, SourceError> {
    let mut names = Vec::new();
    loop {
        let negated = cursor.negations();
        let word = cursor.name(NAME_STOPS, "a name")?;
        names.push(Member {
            negated,
            item: classify(&word, kind),
        });
        if !cursor.eat(',') {
            return Ok(names);
        }
    }
}

fn classify(word: &str, kind: Kind) -> Name {
    if word == "ALL" {
        return Name::All;
    }
    if is_alias_name(word) {
        return Name::Alias(word.to_string());
    }
    if let Some(uid) = word.strip_prefix('#').and_then(|n| n.parse().ok()) {
        return match kind {
            Kind::Host => Name::Unsupported(word.to_string()),
            Kind::Group => Name::Gid(uid),
            _ => Name::Uid(uid),
        };
    }
    if kind == Kind::Host {
        let address = word.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '/')
            && word.chars().any(|c| c.is_ascii_digit());
        if address || word.starts_with('+') {
            return Name::Unsupported(word.to_string());
        }
        return Name::Word(word.to_string());
    }
    if word.starts_with('+') || word.starts_with("%:") {
        return Name::Unsupported(word.to_string());
    }
    if let Some(group) = word.strip_prefix('%') {
        return match group.strip_prefix('#').and_then(|n| n.parse().ok()) {
            Some(gid) => Name::Gid(gid),
            None => Name::Group(group.to_string()),
        };
    }
    Name::Word(word.to_string())
}

/// `(runas)`, options such as `CWD=...` and tags such as `NOPASSWD:`,
/// each inherited from the command before when not given.
fn parse_context(cursor: &mut Cursor, mut context: Context) -> Result<Context, SourceError> {
    if cursor.eat('(') {
        let mut runas = Runas::default();
        if !matches!(cursor.peek(), Some(':' | ')')) {
            runas.users = Some(parse_names(cursor, Kind::Runas)?);
        }
        if cursor.eat(':') && cursor.peek() != Some(')') {
            runas.groups = Some(parse_names(cursor, Kind::Group)?);
        }
        cursor.expect(')', "to end the runas list")?;
        context.runas = Some(runas);
    }
    loop {
        let start = cursor.at;
        let word = cursor.word("=:,");
        let next = cursor.chars.get(cursor.at).copied();
        if SPEC_OPTIONS.contains(&word.as_str()) && next == Some(('=', false)) {
            cursor.at += 1;
            let value = cursor.name(",:", "a value")?;
            match word.as_str() {
                "NOTBEFORE" => context.not_before = Some(parse_generalized_time(cursor, &value)?),
                "NOTAFTER" => context.not_after = Some(parse_generalized_time(cursor, &value)?),
                _ => {
                    context.restrictions.insert(format!("{word}={value}"));
                }
            }
            continue;
        }
        if TAGS.contains(&word.as_str()) && next == Some((':', false)) {
            cursor.at += 1;
            match word.as_str() {
                "NOPASSWD" => context.authenticate = Some(false),
                "PASSWD" => context.authenticate = Some(true),
                "NOEXEC" | "INTERCEPT" => {
                    context.restrictions.insert(word);
                }
                "EXEC" => {
                    context.restrictions.remove("NOEXEC");
                }
                "NOINTERCEPT" => {
                    context.restrictions.remove("INTERCEPT");
                }
                "SETENV" | "LOG_INPUT" | "LOG_OUTPUT" | "MAIL" | "FOLLOW" => {
                    context.ignored.insert(word);
                }
                other => {
                    let positive = other.trim_start_matches("NO");
                    context.ignored.remove(positive);
                }
            }
            continue;
        }
        cursor.at = start;
        return Ok(context);
    }
}

/// `YYYYMMDDHHMMSS[Z|+hhmm|-hhmm]`, sudo's generalized time; minutes and
/// seconds may be left out.
fn parse_generalized_time(cursor: &Cursor, text: &str) -> Result<jiff::Timestamp, SourceError> {
    let invalid = || cursor.error(format!("`{text}` is not a time of the form YYYYMMDDHHMMSSZ"));
    let digits: String = text.chars().take_while(|c| c.is_ascii_digit()).collect();
    let zone = &text[digits.len()..];
    if digits.len() < 10 || !digits.len().is_multiple_of(2) || digits.len() > 14 {
        return Err(invalid());
    }
    let field = |at: usize| digits.get(at..at + 2).map_or(Ok(0), |d| d.parse::<i8>());
    let year: i16 = digits[..4].parse().map_err(|_| invalid())?;
    let (month, day, hour, minute, second) = (
        field(4).map_err(|_| invalid())?,
        field(6).map_err(|_| invalid())?,
        field(8).map_err(|_| invalid())?,
        field(10).map_err(|_| invalid())?,
        field(12).map_err(|_| invalid())?,
    );
    let civil = jiff::civil::DateTime::new(year, month, day, hour, minute, second, 0).map_err(|_| invalid())?;
    let offset = match zone {
        "" | "Z" => jiff::tz::Offset::UTC,
        _ => {
            let sign: i32 = match zone.chars().next() {
                Some('+') => 1,
                Some('-') => -1,
                _ => return Err(invalid()),
            };
            let hhmm = &zone[1..];
            if hhmm.len() != 4 || !hhmm.chars().all(|c| c.is_ascii_digit()) {
                return Err(invalid());
            }
            let seconds =
                sign * (hhmm[..2].parse::<i32>().unwrap_or(0) * 3600 + hhmm[2..].parse::<i32>().unwrap_or(0) * 60);
            jiff::tz::Offset::from_seconds(seconds).map_err(|_| invalid())?
        }
    };
    // A time without a zone is local in sudo; it is read as UTC here and
    // stands out in the report only if it matters, as every until does.
    offset.to_timestamp(civil).map_err(|_| invalid())
}

fn parse_cmnd_list(cursor: &mut Cursor) -> Result<Vec<Member<Cmnd>>, SourceError> {
    let mut list = Vec::new();
    loop {
        let negated = cursor.negations();
        list.push(Member {
            negated,
            item: parse_cmnd(cursor)?,
        });
        if !cursor.eat(',') {
            return Ok(list);
        }
    }
}

/// A command: `ALL`, an alias, `sudoedit`/`list`, or `[digest] PATH [ARGS]`.
fn parse_cmnd(cursor: &mut Cursor) -> Result<Cmnd, SourceError> {
    let mut word = cursor.name(",:", "a command")?;
    let mut digest = false;
    if ["sha224", "sha256", "sha384", "sha512"].contains(&word.as_str()) && cursor.eat(':') {
        cursor.name(",: ", "a digest")?;
        digest = true;
        word = cursor.name(",:", "a command after the digest")?;
    }
    if word == "ALL" {
        return Ok(Cmnd::All);
    }
    if is_alias_name(&word) {
        return Ok(Cmnd::Alias(word));
    }
    if word == "sudoedit" || word == "list" {
        // Arguments of sudoedit are the files; they change nothing here.
        rest_of_command(cursor);
        return Ok(Cmnd::Builtin(word));
    }
    if !word.starts_with('/') {
        return Err(cursor.error(format!("`{word}` is not a fully qualified path")));
    }
    let args = rest_of_command(cursor);
    Ok(Cmnd::Path {
        path: word,
        args: arg_spec(&args),
        digest,
    })
}

/// The arguments: the rest of the command up to an unescaped `,` or `:`.
fn rest_of_command(cursor: &mut Cursor) -> Vec<Char> {
    cursor.skip_blanks();
    let start = cursor.at;
    while let Some(&(c, escaped)) = cursor.chars.get(cursor.at) {
        if !escaped && (c == ',' || c == ':') {
            break;
        }
        cursor.at += 1;
    }
    let mut args = cursor.chars[start..cursor.at].to_vec();
    while args.last().is_some_and(|(c, e)| !e && c.is_whitespace()) {
        args.pop();
    }
    args
}

fn arg_spec(args: &[Char]) -> ArgSpec {
    if args.is_empty() {
        return ArgSpec::Any;
    }
    let text: String = args.iter().map(|(c, _)| c).collect();
    if args == [('"', false), ('"', false)] {
        return ArgSpec::None;
    }
    if text.starts_with('^') && text.ends_with('$') {
        return ArgSpec::Pattern(text);
    }
    let mut words: Vec<Vec<Char>> = vec![Vec::new()];
    for &(c, escaped) in args {
        if !escaped && c.is_whitespace() {
            if !words.last().is_some_and(Vec::is_empty) {
                words.push(Vec::new());
            }
        } else if let Some(last) = words.last_mut() {
            last.push((c, escaped));
        }
    }
    let wild = |w: &[Char]| w.iter().any(|&(c, e)| !e && matches!(c, '*' | '?' | '[' | '\\'));
    let plain = |w: &[Char]| w.iter().map(|(c, _)| c).collect::<String>();
    let (last, before) = words.split_last().expect("at least one word");
    if before.iter().any(|w| wild(w)) {
        return ArgSpec::Pattern(text);
    }
    let before: Vec<String> = before.iter().map(|w| plain(w)).collect();
    if last.as_slice() == [('*', false)] {
        return if before.is_empty() {
            ArgSpec::Any
        } else {
            ArgSpec::ThenMore(before)
        };
    }
    if wild(last) {
        return ArgSpec::Pattern(text);
    }
    let mut exact = before;
    exact.push(plain(last));
    ArgSpec::Exact(exact)
}

fn parse_defaults(line: &Line) -> Result<Statement, SourceError> {
    let text = &line.text["Defaults".len()..];
    let mut cursor = Cursor::new(line, text);
    let scope = match cursor.chars.first().map(|(c, _)| *c) {
        Some(c @ (':' | '@' | '>' | '!')) => {
            cursor.at = 1;
            match c {
                ':' => Scope::User(parse_names(&mut cursor, Kind::User)?),
                '@' => Scope::Host(parse_names(&mut cursor, Kind::Host)?),
                '>' => Scope::Runas(parse_names(&mut cursor, Kind::Runas)?),
                _ => Scope::Cmnd(parse_cmnd_list(&mut cursor)?),
            }
        }
        _ => Scope::Global,
    };
    let mut settings = Vec::new();
    loop {
        let negated = cursor.negations();
        let name = cursor.name("=+-,", "a Defaults parameter")?;
        let operator = match (cursor.peek(), cursor.chars.get(cursor.at + 1).copied()) {
            (Some('='), _) => Some(1),
            (Some('+' | '-'), Some(('=', false))) => Some(2),
            _ => None,
        };
        let value = match operator {
            None => DefaultsValue::Flag(!negated),
            Some(width) => {
                let op = cursor.chars[cursor.at].0;
                cursor.at += width;
                let value = cursor.word(",");
                match op {
                    '+' => DefaultsValue::Add(value),
                    '-' => DefaultsValue::Remove(value),
                    _ => DefaultsValue::Set(value),
                }
            }
        };
        settings.push((name, value));
        if !cursor.eat(',') {
            break;
        }
    }
    if !cursor.at_end() {
        return Err(cursor.error("unexpected text after the Defaults".into()));
    }
    Ok(Statement::Defaults(scope, settings))
}

// ---------------------------------------------------------------- conversion

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

/// The `Defaults` in force for one rule.
#[derive(Clone, Debug)]
struct Effective {
    authenticate: bool,
    /// `timestamp_timeout` when the file sets it, in minutes.
    timeout: Option<f64>,
    env_reset: bool,
    env_keep: Vec<String>,
    /// Restrictions that newgate cannot carry (`noexec`, `rootpw`, ...).
    restrictions: BTreeSet<String>,
}

/// A `Defaults` line that does not apply to the whole file.
struct Scoped<'s> {
    line: &'s Line,
    scope: &'s Scope,
    settings: &'s [(String, DefaultsValue)],
}

/// Settings that restrict how or by whom a permitted command runs.
const RESTRICTING: &[&str] = &[
    "noexec",
    "intercept",
    "rootpw",
    "targetpw",
    "runaspw",
    "runchroot",
    "runcwd",
];

/// Settings with no bearing on who may run what; reported as ignored.
const INFORMATIONAL: &[&str] = &[
    "lecture",
    "lecture_file",
    "lecture_status_dir",
    "insults",
    "use_pty",
    "log_output",
    "log_input",
    "log_subcmds",
    "log_servers",
    "log_format",
    "logfile",
    "syslog",
    "syslog_goodpri",
    "syslog_badpri",
    "iolog_dir",
    "iolog_file",
    "iolog_user",
    "iolog_group",
    "iolog_mode",
    "maxseq",
    "mail_badpass",
    "mail_always",
    "mail_no_host",
    "mail_no_perms",
    "mail_no_user",
    "mailto",
    "mailerpath",
    "mailerflags",
    "mailfrom",
    "mailsub",
    "requiretty",
    "badpass_message",
    "passprompt",
    "passprompt_override",
    "pwfeedback",
    "visiblepw",
    "passwd_timeout",
    "env_check",
    "env_delete",
    "env_file",
    "always_set_home",
    "set_home",
    "set_logname",
    "umask",
    "umask_override",
    "fqdn",
    "listpw",
    "verifypw",
    "ignore_dot",
    "setenv",
    "timestamp_type",
    "timestampdir",
    "timestampowner",
    "tty_tickets",
    "closefrom",
    "closefrom_override",
    "pam_session",
    "pam_setcred",
    "pam_service",
    "pam_login_service",
    "shell_noargs",
    "stay_setuid",
    "preserve_groups",
    "match_group_by_gid",
    "group_plugin",
    "secure_path_override",
];

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

    /// `env_keep` names newgate never keeps (no variable name, or one that
    /// changes how programs load or shells start): [`apply`] leaves them out.
    fn report_refused_env_keep(&mut self, line: &Line, settings: &[(String, DefaultsValue)]) {
        let refused: Vec<&str> = settings
            .iter()
            .filter(|(name, _)| name == "env_keep")
            .filter_map(|(_, value)| match value {
                DefaultsValue::Set(v) | DefaultsValue::Add(v) => Some(v.split_whitespace()),
                _ => None,
            })
            .flatten()
            .filter(|name| !keepable(name))
            .collect();
        if !refused.is_empty() {
            self.item(
                line,
                "ignored",
                format!("Defaults env_keep naming {}", refused.join(" ")),
                "newgate keeps only variable names, and never those that change how programs load or shells start",
                "they are not kept",
            );
        }
    }

    fn global_defaults(&mut self, line: &Line, settings: &[(String, DefaultsValue)]) {
        for (name, value) in settings {
            let mut effective = self.global.clone();
            match apply(&mut effective, name, value) {
                Applied::Yes => self.global = effective,
                Applied::Setting => self.setting(line, name, value),
                Applied::Informational => {
                    self.item(
                        line,
                        "ignored",
                        format!("Defaults {name}"),
                        "newgate has no such setting",
                        "it is left out",
                    );
                }
                Applied::Unknown => {
                    self.item(
                        line,
                        "ignored",
                        format!("Defaults {name}"),
                        "the converter does not know this setting",
                        "it is left out",
                    );
                }
            }
        }
    }

    /// A global setting with a newgate `set`.
    fn setting(&mut self, line: &Line, name: &str, value: &DefaultsValue) {
        let text = match value {
            DefaultsValue::Set(v) | DefaultsValue::Add(v) | DefaultsValue::Remove(v) => v.clone(),
            DefaultsValue::Flag(_) => String::new(),
        };
        match (name, value) {
            ("secure_path", DefaultsValue::Set(path)) => {
                self.draft
                    .set("secure_path", super::output::quote(path), Some(line.at()));
            }
            ("passwd_tries", DefaultsValue::Set(n)) => match n.parse::<u32>() {
                Ok(n @ 1..=10) => self.draft.set("passwd_tries", n.to_string(), Some(line.at())),
                _ => {
                    self.item(
                        line,
                        "ignored",
                        format!("Defaults passwd_tries={n}"),
                        "newgate takes 1 to 10 tries",
                        "newgate's default of 3 applies",
                    );
                }
            },
            ("editor", DefaultsValue::Set(list)) => match list.split(':').find(|p| p.starts_with('/')) {
                Some(editor) => self.draft.set("editor", super::output::quote(editor), Some(line.at())),
                None => {
                    self.item(
                        line,
                        "ignored",
                        format!("Defaults editor={list}"),
                        "newgate takes one absolute path",
                        "it is left out",
                    );
                }
            },
            ("runas_default", DefaultsValue::Set(user)) => {
                self.runas_default = user.clone();
                if user != "root" {
                    self.item(
                        line,
                        "runas-default",
                        format!("Defaults runas_default={user}"),
                        "a newgate request without -u always asks for root",
                        &format!("entries without a runas list permit `newgate -u {user}` only"),
                    );
                }
            }
            _ => {
                self.item(
                    line,
                    "ignored",
                    format!("Defaults {name} {text}"),
                    "this form is not understood by the converter",
                    "it is left out",
                );
            }
        }
    }

    /// Undefined aliases and alias loops are errors, as for visudo.
    fn check_aliases(&self, statements: &[(&Line, Statement)]) -> Result<(), SourceError> {
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

    fn alias_table(&self, kind: Kind) -> &HashMap<String, &'s [Member<Name>]> {
        match kind {
            Kind::User => &self.user_aliases,
            Kind::Runas | Kind::Group => &self.runas_aliases,
            _ => &self.host_aliases,
        }
    }

    /// The members of an alias, aliases within expanded, each with its
    /// polarity: in sudo the last member that matches decides, which this
    /// flat list keeps.
    fn names_of(
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

    fn cmnds_of(
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

    /// Writes the aliases newgate can hold as they are: names and `%groups`
    /// for users, names and globs for hosts, paths for commands.
    fn emit_aliases(&mut self, statements: &'s [(&'s Line, Statement)]) -> Result<(), SourceError> {
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

    fn clean_names(&self, kind: Kind, alias: &str, line: &Line) -> Result<Option<Vec<Term>>, SourceError> {
        let mut items = Vec::new();
        for member in self.names_of(kind, alias, false, 0, line)? {
            if member.negated {
                return Ok(None);
            }
            match (kind, &member.item) {
                (_, Name::Word(w)) => items.push(Term::Name(w.clone())),
                (Kind::User, Name::Group(g)) => items.push(Term::Members(g.clone())),
                _ => return Ok(None),
            }
        }
        Ok(Some(items))
    }

    fn clean_cmnds(&self, alias: &str, line: &Line) -> Result<Option<Vec<Term>>, SourceError> {
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

    /// The names of a list, split by polarity, with aliases the converted
    /// policy holds kept by name.
    fn split(&mut self, kind: Kind, list: &[Member<Name>], line: &Line) -> Result<Split, SourceError> {
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
            match (term, member.negated) {
                (Some(t), false) => split.positive.push(t),
                (Some(t), true) => {
                    if flat[index + 1..].iter().any(|m| !m.negated) {
                        split.reordered = true;
                    }
                    split.negative.push(t)
                }
                (None, false) => split.unsupported_positive.push(shown),
                (None, true) => split.unsupported_negative.push(shown),
            }
        }
        if split.positive.contains(&Term::Any) {
            split.positive = vec![Term::Any];
        }
        Ok(split)
    }

    fn entry(
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
                    "newgate's `on` matches this machine's host name against globs only (no addresses, networks or netgroups)",
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

    fn cmnd_spec(
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
    fn targets(&mut self, line: &Line, who: &Split, runas: &Runas) -> Result<Targets, SourceError> {
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
        match (&users, &groups) {
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
        let widen = unsupported_positive || !excluded.is_empty();
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
    fn command_rules(
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
            command,
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
                for target in targets.deny.iter().cloned() {
                    let mut rule = base.clone();
                    rule.subjects = subjects.clone();
                    rule.target = target;
                    rule.hosts = host_terms.clone();
                    rules.push(rule);
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

    /// The options of a permit: the tags, then the `Defaults` in force.
    fn options(&mut self, rule: &Rule, context: &Context) -> Options {
        let effective = self.effective(rule);
        let nopass = !context.authenticate.unwrap_or(effective.authenticate);
        let persist = match effective.timeout {
            Some(m) if m > 0.0 && !nopass => Some(persist_minutes(m)),
            _ => None,
        };
        let mut setenv: Vec<String> = effective
            .env_keep
            .iter()
            .filter(|name| !self.global.env_keep.contains(name))
            .cloned()
            .collect();
        setenv.dedup();
        Options {
            nopass,
            persist,
            keepenv: !effective.env_reset,
            setenv,
            nolog: false,
        }
    }

    /// True when a restriction in force (`Defaults noexec`, `rootpw`, ...)
    /// means the permit cannot be carried over.
    fn dropped_by_defaults(&mut self, line: &Line, rule: &Rule) -> bool {
        let effective = self.effective(rule);
        let mut restrictions: Vec<&str> = effective.restrictions.iter().map(String::as_str).collect();
        // A password as another user only matters where a password is asked.
        if rule.options.nopass {
            restrictions.retain(|r| !["rootpw", "targetpw", "runaspw"].contains(r));
        }
        if restrictions.is_empty() {
            return false;
        }
        let item = self.item(
            line,
            "restriction",
            format!("Defaults {}", restrictions.join(", ")),
            "newgate cannot restrict a command this way, and always asks for the caller's own password",
            DENIED_INSTEAD,
        );
        item.users = terms_as_users(&rule.subjects);
        item.command = rule.command.as_ref().map(|c| match &c.path {
            Term::Name(p) | Term::Alias(p) | Term::Members(p) => p.clone(),
            Term::Any => "*".into(),
        });
        true
    }

    /// The Defaults for one rule: global ones, then scoped ones in sudo's
    /// order (host, user, runas, command). A scoped setting that loosens is
    /// applied only where its scope covers the whole rule; one that tightens
    /// wherever it may apply; either way inexactness is reported.
    fn effective(&mut self, rule: &Rule) -> Effective {
        let mut effective = self.global.clone();
        let phases: [fn(&Scope) -> bool; 4] = [
            |s| matches!(s, Scope::Host(_)),
            |s| matches!(s, Scope::User(_)),
            |s| matches!(s, Scope::Runas(_)),
            |s| matches!(s, Scope::Cmnd(_)),
        ];
        let mut inexact = Vec::new();
        for phase in phases {
            for scoped in self.scoped.iter().filter(|s| phase(s.scope)) {
                let coverage = self.coverage(scoped.scope, rule);
                if coverage == Coverage::None {
                    continue;
                }
                for (name, value) in scoped.settings {
                    let mut trial = effective.clone();
                    if !matches!(apply(&mut trial, name, value), Applied::Yes) {
                        inexact.push((scoped.line, name.clone()));
                        continue;
                    }
                    let tightens = tightens(&effective, &trial);
                    if coverage == Coverage::All || tightens {
                        effective = trial;
                    }
                    if coverage == Coverage::Some {
                        inexact.push((scoped.line, name.clone()));
                    }
                }
            }
        }
        for (scoped_line, name) in inexact {
            if self
                .scoped_reported
                .insert((scoped_line.file.clone(), scoped_line.number))
            {
                self.report.items.push(Item {
                    file: scoped_line.file.clone(),
                    line: scoped_line.number,
                    kind: "defaults",
                    what: format!("the scoped Defaults {name}"),
                    why: "newgate options belong to whole rules; this scope covers only part of some rule, or the setting has no newgate form".into(),
                    instead: "where it would loosen a rule it is left out, where it tightens one it applies to the whole rule".into(),
                    users: None,
                    command: None,
                });
            }
        }
        effective
    }

    fn coverage(&self, scope: &Scope, rule: &Rule) -> Coverage {
        let within = |names: &[Member<Name>], terms: &[Term], kind: Kind| -> Coverage {
            let mut flat = Vec::new();
            for member in names {
                match &member.item {
                    Name::Alias(a) => match self.alias_table(kind).get(a) {
                        Some(_) if !member.negated && self.emitted.get(a) == Some(&kind) => {
                            flat.push((false, Term::Alias(a.clone())))
                        }
                        _ => return Coverage::Some,
                    },
                    Name::All => flat.push((member.negated, Term::Any)),
                    Name::Word(w) => flat.push((member.negated, Term::Name(w.clone()))),
                    Name::Group(g) if kind == Kind::User => flat.push((member.negated, Term::Members(g.clone()))),
                    _ => return Coverage::Some,
                }
            }
            if flat.iter().any(|(negated, _)| *negated) {
                return Coverage::Some;
            }
            let listed: Vec<&Term> = flat.iter().map(|(_, t)| t).collect();
            if listed.contains(&&Term::Any) || terms.iter().all(|t| listed.contains(&t)) {
                return Coverage::All;
            }
            // Names and groups may share members: only plain user names are surely apart.
            let apart = terms.iter().all(|t| matches!(t, Term::Name(_)))
                && listed.iter().all(|t| matches!(t, Term::Name(_)))
                && !terms.iter().any(|t| listed.contains(&t));
            if apart { Coverage::None } else { Coverage::Some }
        };
        match scope {
            Scope::Global => Coverage::All,
            Scope::User(names) => within(names, &rule.subjects, Kind::User),
            Scope::Host(names) => match &rule.hosts {
                Some(hosts) => within(names, hosts, Kind::Host),
                None if names.iter().any(|m| m.item == Name::All && !m.negated) => Coverage::All,
                None => Coverage::Some,
            },
            Scope::Runas(names) => match &rule.target {
                Target::Users(users) | Target::UserAndGroup(users, _) => within(names, users, Kind::Runas),
                Target::Groups(_) => Coverage::Some,
            },
            Scope::Cmnd(cmnds) => {
                let path = rule.command.as_ref().map(|c| &c.path);
                let all = cmnds.iter().any(|m| m.item == Cmnd::All && !m.negated);
                let listed = cmnds.iter().any(|m| match (&m.item, path) {
                    (
                        Cmnd::Path {
                            path: p,
                            args: ArgSpec::Any,
                            ..
                        },
                        Some(Term::Name(q)),
                    ) => !m.negated && canonical_path(p) == *q,
                    (Cmnd::Alias(a), Some(Term::Alias(b))) => !m.negated && a == b,
                    _ => false,
                });
                if all || listed { Coverage::All } else { Coverage::Some }
            }
        }
    }
}

/// The targets of one command spec (see [`Converter::targets`]).
struct Targets {
    permit: Vec<Target>,
    excluded: Vec<Target>,
    deny: Vec<Target>,
    /// The denial's user targets are wider than sudo's.
    widened: bool,
    /// The denial's `as group *` is what sudo matches.
    groups_exact: bool,
    /// The denial's `as user U group *` is what sudo matches.
    user_and_group_exact: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coverage {
    None,
    Some,
    All,
}

#[derive(Default)]
struct Split {
    positive: Vec<Term>,
    negative: Vec<Term>,
    unsupported_positive: Vec<String>,
    unsupported_negative: Vec<String>,
    /// An excluded name stands before an included one.
    reordered: bool,
}

enum Applied {
    /// Applied to the [`Effective`] settings.
    Yes,
    /// A global newgate setting.
    Setting,
    Informational,
    Unknown,
}

/// Whether newgate can keep the variable `name` (`set env_keep`, `setenv { NAME }`).
fn keepable(name: &str) -> bool {
    env::is_valid_name(name) && !env::is_dangerous_name(name)
}

fn apply(effective: &mut Effective, name: &str, value: &DefaultsValue) -> Applied {
    let names = |v: &str| -> Vec<String> { v.split_whitespace().map(str::to_string).collect() };
    let keepable_names = |v: &str| -> Vec<String> { names(v).into_iter().filter(|n| keepable(n)).collect() };
    match (name, value) {
        ("authenticate", DefaultsValue::Flag(on)) => effective.authenticate = *on,
        ("env_reset", DefaultsValue::Flag(on)) => effective.env_reset = *on,
        ("timestamp_timeout", DefaultsValue::Set(v)) => match v.parse::<f64>() {
            Ok(minutes) if minutes.is_finite() => effective.timeout = Some(minutes),
            _ => return Applied::Unknown,
        },
        ("timestamp_timeout", DefaultsValue::Flag(false)) => effective.timeout = Some(0.0),
        ("env_keep", DefaultsValue::Set(v)) => effective.env_keep = keepable_names(v),
        ("env_keep", DefaultsValue::Add(v)) => {
            for n in keepable_names(v) {
                if !effective.env_keep.contains(&n) {
                    effective.env_keep.push(n);
                }
            }
        }
        ("env_keep", DefaultsValue::Remove(v)) => {
            let removed = names(v);
            effective.env_keep.retain(|n| !removed.contains(n));
        }
        ("env_keep", DefaultsValue::Flag(false)) => effective.env_keep.clear(),
        (r, DefaultsValue::Flag(on)) if RESTRICTING.contains(&r) => {
            if *on {
                effective.restrictions.insert(r.to_string());
            } else {
                effective.restrictions.remove(r);
            }
        }
        (r, DefaultsValue::Set(_)) if r == "runchroot" || r == "runcwd" => {
            effective.restrictions.insert(r.to_string());
        }
        ("secure_path" | "passwd_tries" | "editor" | "runas_default", _) => return Applied::Setting,
        (i, _) if INFORMATIONAL.contains(&i) => return Applied::Informational,
        _ => return Applied::Unknown,
    }
    Applied::Yes
}

/// Whether `after` asks more of a request than `before`: a password, an
/// environment reset, a restriction, a shorter memory of the password.
fn tightens(before: &Effective, after: &Effective) -> bool {
    (after.authenticate && !before.authenticate)
        || (after.env_reset && !before.env_reset)
        || after.restrictions.len() > before.restrictions.len()
        || after.env_keep.len() < before.env_keep.len()
        || after.timeout.unwrap_or(0.0) < before.timeout.unwrap_or(0.0)
}

fn persist_minutes(minutes: f64) -> u64 {
    if minutes < 0.0 {
        MAX_PERSIST_MINUTES
    } else {
        // Rounded down (a shorter memory is the safer one), at least a minute.
        (minutes.floor() as u64).clamp(1, MAX_PERSIST_MINUTES)
    }
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
fn canonical_path(path: &str) -> String {
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

fn terms_as_users(terms: &[Term]) -> Option<Vec<String>> {
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

    fn line(text: &str) -> Line {
        Line {
            file: "sudoers".into(),
            label: "sudoers".into(),
            number: 1,
            text: text.into(),
        }
    }

    #[test]
    fn arguments_read_as_sudo_matches_them() {
        let spec = |text: &str| arg_spec(&Cursor::new(&line(""), text).chars);
        assert_eq!(spec(""), ArgSpec::Any);
        assert_eq!(spec("\"\""), ArgSpec::None);
        assert_eq!(spec("*"), ArgSpec::Any);
        assert_eq!(spec("restart *"), ArgSpec::ThenMore(vec!["restart".into()]));
        assert_eq!(spec("-u  root"), ArgSpec::Exact(vec!["-u".into(), "root".into()]));
        assert_eq!(spec("a\\*"), ArgSpec::Exact(vec!["a*".into()]));
        assert_eq!(spec("nginx*"), ArgSpec::Pattern("nginx*".into()));
        assert_eq!(spec("* stop"), ArgSpec::Pattern("* stop".into()));
    }

    #[test]
    fn comments_start_a_word_but_ids_do_not() {
        assert_eq!(strip_comment("alice ALL = ALL # note"), "alice ALL = ALL ");
        assert_eq!(strip_comment("#1000 ALL = ALL"), "#1000 ALL = ALL");
        assert_eq!(strip_comment("Defaults x=\"a # b\""), "Defaults x=\"a # b\"");
        assert_eq!(strip_comment("/bin/a#b"), "/bin/a#b");
    }

    #[test]
    fn continued_lines_join_and_keep_their_first_number() {
        assert_eq!(
            logical_lines("a \\\nb\nc\\\\\nd"),
            vec![(1, "a  b".to_string()), (3, "c\\\\".to_string()), (4, "d".to_string())]
        );
    }

    #[test]
    fn generalized_times_read_in_utc_or_with_an_offset() {
        let l = line("");
        let cursor = Cursor::new(&l, "");
        assert_eq!(
            parse_generalized_time(&cursor, "20261231235959Z").unwrap().to_string(),
            "2026-12-31T23:59:59Z"
        );
        assert_eq!(
            parse_generalized_time(&cursor, "202612311200+0100")
                .unwrap()
                .to_string(),
            "2026-12-31T11:00:00Z"
        );
        assert!(parse_generalized_time(&cursor, "2026").is_err());
        let end = jiff::Timestamp::from_second(90).unwrap();
        assert_eq!(minute(end, false), "1970-01-01T00:01");
        assert_eq!(minute(end, true), "1970-01-01T00:02");
    }
}
