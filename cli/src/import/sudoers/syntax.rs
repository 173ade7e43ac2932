//! Each logical line read by a small hand-written reader into a statement:
//! user specifications, aliases and `Defaults`.

use super::*;

/// A list member and whether it is negated (an odd number of `!`).
#[derive(Clone, Debug)]
pub(super) struct Member<T> {
    pub(super) negated: bool,
    pub(super) item: T,
}

/// A name in a user, runas or host list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Name {
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
pub(super) enum ArgSpec {
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
pub(super) enum Cmnd {
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
pub(super) struct Runas {
    /// `None`: no user list (not even `()`).
    pub(super) users: Option<Vec<Member<Name>>>,
    pub(super) groups: Option<Vec<Member<Name>>>,
}

/// What a command spec inherits from the one before it in the same host part.
#[derive(Clone, Debug, Default)]
pub(super) struct Context {
    pub(super) runas: Option<Runas>,
    /// `NOPASSWD` (false) or `PASSWD` (true).
    pub(super) authenticate: Option<bool>,
    /// Tags and options newgate cannot carry, by name (`NOEXEC`, `CWD`, ...).
    pub(super) restrictions: BTreeSet<String>,
    /// Tags with no effect on what is permitted (`LOG_OUTPUT`, `SETENV`, ...).
    pub(super) ignored: BTreeSet<String>,
    pub(super) not_before: Option<jiff::Timestamp>,
    pub(super) not_after: Option<jiff::Timestamp>,
}

pub(super) struct CmndSpec {
    pub(super) context: Context,
    pub(super) cmnd: Member<Cmnd>,
}

pub(super) struct Privilege {
    pub(super) hosts: Vec<Member<Name>>,
    pub(super) cmnds: Vec<CmndSpec>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    User,
    Runas,
    /// The group part of a runas list: `#gid`, and Runas_Alias members.
    Group,
    Host,
    Cmnd,
}

#[derive(Clone, Debug)]
pub(super) enum DefaultsValue {
    Flag(bool),
    Set(String),
    Add(String),
    Remove(String),
}

#[derive(Clone, Debug)]
pub(super) enum Scope {
    Global,
    Host(Vec<Member<Name>>),
    User(Vec<Member<Name>>),
    Runas(Vec<Member<Name>>),
    Cmnd(Vec<Member<Cmnd>>),
}

pub(super) enum Statement {
    Defaults(Scope, Vec<(String, DefaultsValue)>),
    Alias(Kind, Vec<(String, AliasBody)>),
    Entry(Vec<Member<Name>>, Vec<Privilege>),
}

#[derive(Clone, Debug)]
pub(super) enum AliasBody {
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

pub(super) struct Cursor<'l> {
    pub(super) line: &'l Line,
    pub(super) chars: Vec<Char>,
    pub(super) at: usize,
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

    pub(super) fn error(&self, message: String) -> SourceError {
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
        self.word_as(stops, false)
    }

    /// A word, with `glob` a pattern: a wildcard made literal by `\` keeps
    /// its `\` (sudo matches `/usr/bin/a\*` with fnmatch, and newgate's
    /// globs read `\*` the same: the file named `a*`, not every `a...`).
    fn word_as(&mut self, stops: &str, glob: bool) -> String {
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
            if glob && escaped && matches!(c, '*' | '?' | '[' | ']' | '\\') {
                out.push('\\');
            }
            out.push(c);
            self.at += 1;
        }
        out
    }

    /// A word that must not be empty.
    fn name(&mut self, stops: &str, what: &str) -> Result<String, SourceError> {
        self.name_as(stops, what, false)
    }

    /// A word that must not be empty; `glob` as for [`Cursor::word_as`].
    fn name_as(&mut self, stops: &str, what: &str, glob: bool) -> Result<String, SourceError> {
        let word = self.word_as(stops, glob);
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

pub(super) fn parse_line(line: &Line) -> Result<Option<Statement>, SourceError> {
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

/// The commands of `Defaults!CMNDS`: paths without arguments (sudo takes
/// none there, so the word after a path is the first setting), aliases,
/// `ALL` or `sudoedit`.
fn parse_defaults_cmnds(cursor: &mut Cursor) -> Result<Vec<Member<Cmnd>>, SourceError> {
    let mut list = Vec::new();
    loop {
        let negated = cursor.negations();
        let word = cursor.name_as(",", "a command", true)?;
        let item = match word.as_str() {
            "ALL" => Cmnd::All,
            "sudoedit" | "list" => Cmnd::Builtin(word),
            _ if is_alias_name(&word) => Cmnd::Alias(word),
            _ if word.starts_with('/') => Cmnd::Path {
                path: word,
                args: ArgSpec::Any,
                digest: false,
            },
            _ => return Err(cursor.error(format!("`{word}` is not a fully qualified path"))),
        };
        list.push(Member { negated, item });
        if !cursor.eat(',') {
            return Ok(list);
        }
    }
}

/// A command: `ALL`, an alias, `sudoedit`/`list`, or `[digest] PATH [ARGS]`.
fn parse_cmnd(cursor: &mut Cursor) -> Result<Cmnd, SourceError> {
    let mut word = cursor.name_as(",:", "a command", true)?;
    let mut digest = false;
    if ["sha224", "sha256", "sha384", "sha512"].contains(&word.as_str()) && cursor.eat(':') {
        cursor.name(",: ", "a digest")?;
        digest = true;
        word = cursor.name_as(",:", "a command after the digest", true)?;
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
    // sudo's lexer keeps one `\` of an escaped `\\`, and its fnmatch then
    // escapes the next character with it: `a\\b` matches `ab`. Any
    // backslash makes the word a pattern.
    let wild = |w: &[Char]| {
        w.iter()
            .any(|&(c, e)| c == '\\' || (!e && matches!(c, '*' | '?' | '[')))
    };
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
                _ => Scope::Cmnd(parse_defaults_cmnds(&mut cursor)?),
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
        // `\\` leaves one `\`, which escapes the `b` for sudo's fnmatch:
        // `a\\b` matches `ab`, so it is no exact word (a review found a deny
        // of it that let `ab` through).
        assert_eq!(spec("a\\\\b"), ArgSpec::Pattern("a\\b".into()));
    }

    #[test]
    fn a_wildcard_made_literal_in_a_command_path_stays_literal() {
        let l = line("");
        let cmnd = |text: &str| parse_cmnd(&mut Cursor::new(&l, text)).unwrap();
        let path = |c: Cmnd| match c {
            Cmnd::Path { path, .. } => path,
            other => panic!("{other:?}"),
        };
        assert_eq!(path(cmnd("/usr/bin/a\\* x")), "/usr/bin/a\\*");
        assert_eq!(path(cmnd("/usr/bin/a* x")), "/usr/bin/a*");
        assert_eq!(path(cmnd("/opt/my\\ app/run")), "/opt/my app/run");
    }

    #[test]
    fn a_command_scoped_defaults_takes_paths_without_arguments() {
        let Statement::Defaults(Scope::Cmnd(cmnds), settings) =
            parse_defaults(&line("Defaults!/usr/bin/id, SHELLS noexec, !lecture")).unwrap()
        else {
            panic!("not a command-scoped Defaults");
        };
        assert_eq!(cmnds.len(), 2);
        assert!(matches!(&cmnds[0].item, Cmnd::Path { path, args: ArgSpec::Any, .. } if path == "/usr/bin/id"));
        assert_eq!(cmnds[1].item, Cmnd::Alias("SHELLS".into()));
        let names: Vec<&str> = settings.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["noexec", "lecture"]);
        let Statement::Defaults(Scope::Cmnd(cmnds), settings) =
            parse_defaults(&line("Defaults!/usr/bin/id noexec")).unwrap()
        else {
            panic!("not a command-scoped Defaults");
        };
        assert!(matches!(&cmnds[0].item, Cmnd::Path { args: ArgSpec::Any, .. }));
        assert_eq!(settings.len(), 1);
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
    }
}
