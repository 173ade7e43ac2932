//! Expectations: the lines of a policy test file, which `newgatectl test`
//! decides against a policy.
//!
//! An expectation is written in the policy language's lexical rules (words,
//! quotes, comments, `\` continuations) and reads like a rule about one request:
//!
//! ```text
//! permit|deny USER [(member-of G1,G2)] as TARGET [on HOST] [service S] [at TIME] [cmd PATH [ARG...]]
//! ```
//!
//! Reading is pure and gives the same requests on every machine: groups,
//! host and service have fixed defaults and nothing is looked up or
//! resolved. Only a line without `at` depends on the moment the test runs,
//! which the caller passes to [`Expectation::request`].

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use pest::Parser;
use pest::iterators::Pair;

use crate::compile::rule_text;
use crate::diag::{Collector, Diagnostic, Severity, Sources, Span, did_you_mean};
use crate::policy::{Location, Request, Verdict};
use crate::syntax::{
    ErrorSite, KEYWORD_NAMES, OPTION_KEYWORDS, Word, gave_up, is_alias_name, join_alternatives, lines_to_parse,
    pair_span, unescape,
};
use crate::time::parse_timestamp;

#[derive(pest_derive::Parser)]
#[grammar = "grammar.pest"]
#[grammar = "expectations.pest"]
struct Grammar;

/// The host an expectation asks on when it says no `on`.
pub const TEST_HOST: &str = "localhost";
/// The service an expectation asks through when it says no `service`: the `newgate` command's.
pub const TEST_SERVICE: &str = "newgate";

/// One line of a test file: the verdict it expects for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// The test file and the line the expectation starts on.
    pub location: Location,
    /// The expectation as written, continuation lines joined, without its comment.
    pub text: String,
    pub verdict: Verdict,
    pub user: String,
    /// `(member-of ...)` as written, or else one group named like the user.
    pub groups: Vec<String>,
    pub target_user: Option<String>,
    pub target_group: Option<String>,
    pub host: String,
    pub service: String,
    /// `at`, read in the policy's time zone; `None`: when the test runs.
    pub time: Option<Timestamp>,
    /// The program as written, always an absolute path; `None`: no command.
    pub command: Option<PathBuf>,
    pub args: Vec<String>,
}

impl Expectation {
    /// The request this expectation asks about; `now` stands in when it says no `at`.
    pub fn request(&self, now: Timestamp) -> Request<'_> {
        Request {
            user: &self.user,
            groups: &self.groups,
            target_user: self.target_user.as_deref(),
            target_group: self.target_group.as_deref(),
            command: self.command.as_deref(),
            args: &self.args,
            host: &self.host,
            service: &self.service,
            time: self.time.unwrap_or(now),
        }
    }
}

/// Reads a test file: every expectation, or every error in it. `zone` is the
/// time zone that `at` is read in: the policy's (`Settings::timezone`).
pub fn parse_expectations(path: &Path, text: &str, zone: &TimeZone) -> Result<Vec<Expectation>, Vec<Diagnostic>> {
    let mut sources = Sources::default();
    let file = sources.add(path.to_path_buf(), text.to_string());
    let mut diagnostics = Collector::default();
    let mut expectations = Vec::new();
    for (start, line) in lines_to_parse(&sources, file, &mut diagnostics) {
        let mut reader = Reader {
            sources: &sources,
            file,
            base: start,
            zone,
            diagnostics: &mut diagnostics,
        };
        match Grammar::parse(Rule::expectation_line, line) {
            Ok(mut pairs) => {
                let line_pair = pairs.next().expect("expectation_line always yields itself");
                if let Some(pair) = line_pair.into_inner().find(|p| p.as_rule() == Rule::expectation)
                    && let Some(expectation) = reader.expectation(pair)
                {
                    expectations.push(expectation);
                }
            }
            Err(error) if gave_up(&error) => {
                diagnostics.out_of_stack(sources.path(file), "the tests");
                break;
            }
            Err(error) => reader.syntax_error(line, &error),
        }
    }
    if diagnostics.has_errors() {
        Err(diagnostics.into_sorted())
    } else {
        Ok(expectations)
    }
}

/// What a name in an expectation stands for, for the checks and their messages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Name {
    User,
    Group,
    TargetUser,
    TargetGroup,
    Host,
    Service,
}

impl Name {
    fn noun(self) -> &'static str {
        match self {
            Name::User => "user",
            Name::Group => "group",
            Name::TargetUser => "target user",
            Name::TargetGroup => "target group",
            Name::Host => "host",
            Name::Service => "service",
        }
    }
}

struct Reader<'a> {
    sources: &'a Sources,
    file: u32,
    /// Where the logical line starts in the file.
    base: usize,
    zone: &'a TimeZone,
    diagnostics: &'a mut Collector,
}

impl Reader<'_> {
    fn span(&self, pair: &Pair<Rule>) -> Span {
        pair_span(self.file, self.base, pair)
    }

    fn error(&mut self, span: Span, message: String, hint: Option<String>) {
        self.diagnostics.at(self.sources, Severity::Error, span, message, hint);
    }

    fn syntax_error(&mut self, line: &str, error: &pest::error::Error<Rule>) {
        let ErrorSite {
            pos,
            found,
            span,
            expected,
            shown,
        } = ErrorSite::of(line, error, self.file, self.base);
        let wanted = EXPECTED
            .iter()
            .filter(|(rules, ..)| rules.iter().any(|r| expected.contains(r)));
        let names: Vec<&str> = wanted.clone().flat_map(|(_, names, _)| *names).copied().collect();
        let keywords: Vec<&str> = wanted.flat_map(|(_, _, keywords)| *keywords).copied().collect();
        let before = line[..pos].trim_end();
        let hint = hint_for(found, before, &expected)
            .or_else(|| did_you_mean(found, keywords.iter().copied()).map(|k| format!("did you mean `{k}`?")));
        let message = if names.is_empty() {
            format!("unexpected {shown}")
        } else {
            format!("expected {}, found {shown}", join_alternatives(&names))
        };
        self.error(span, message, hint);
    }

    fn expectation(&mut self, pair: Pair<Rule>) -> Option<Expectation> {
        // Trailing blanks and comments are skipped inside the pair; the expectation
        // ends with its last token (a quoted word with its closing quote).
        let mut span = self.span(&pair);
        let leaves = pair
            .clone()
            .into_inner()
            .flatten()
            .filter(|p| p.as_rule() == Rule::quoted || p.clone().into_inner().next().is_none());
        span.end = leaves.map(|leaf| self.span(&leaf).end).max().unwrap_or(span.end);
        let mut ok = true;
        let mut verdict = Verdict::Deny;
        let mut user = None;
        let mut groups = None;
        let (mut target_user, mut target_group) = (None, None);
        let (mut host, mut service, mut time) = (None, None, None);
        let mut given = Vec::new();
        let mut command = None;
        let mut args = Vec::new();
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::action => {
                    verdict = match part.into_inner().next()?.as_rule() {
                        Rule::kw_permit => Verdict::Permit,
                        _ => Verdict::Deny,
                    }
                }
                Rule::word => user = self.name(part, Name::User),
                Rule::member_of => {
                    let mut names = Vec::new();
                    for word in part.into_inner().flatten().filter(|p| p.as_rule() == Rule::member_word) {
                        match self.name(word, Name::Group) {
                            Some(name) => names.push(name),
                            None => ok = false,
                        }
                    }
                    groups = Some(names);
                }
                Rule::request_target => {
                    let mut kind = Name::TargetUser;
                    for p in part.into_inner() {
                        match p.as_rule() {
                            Rule::kw_user => kind = Name::TargetUser,
                            Rule::kw_group => kind = Name::TargetGroup,
                            _ => {
                                let name = self.name(p, kind);
                                ok &= name.is_some();
                                match kind {
                                    Name::TargetUser => target_user = name,
                                    _ => target_group = name,
                                }
                            }
                        }
                    }
                }
                Rule::request_condition => {
                    let condition = part.into_inner().next()?;
                    let kind = condition.as_rule();
                    let mut inner = condition.into_inner();
                    let keyword = inner.next()?;
                    let value = inner.next()?;
                    if given.contains(&kind) {
                        let span = self.span(&keyword);
                        let message = format!("`{}` is given twice", keyword.as_str());
                        self.error(span, message, Some("an expectation asks about one request".into()));
                        ok = false;
                        continue;
                    }
                    given.push(kind);
                    ok &= match kind {
                        Rule::request_on => {
                            host = self.name(value, Name::Host);
                            host.is_some()
                        }
                        Rule::request_service => {
                            service = self.name(value, Name::Service);
                            service.is_some()
                        }
                        _ => {
                            time = self.time(value);
                            time.is_some()
                        }
                    };
                }
                Rule::request_command => {
                    let mut inner = part.into_inner().skip(1);
                    command = self.command(inner.next()?);
                    ok &= command.is_some();
                    for (i, arg) in inner.enumerate() {
                        match self.argument(arg, i == 0) {
                            Some(a) => args.push(a),
                            None => ok = false,
                        }
                    }
                }
                _ => {}
            }
        }
        let user = user?;
        if !ok {
            return None;
        }
        Some(Expectation {
            location: Location {
                file: self.sources.path(self.file).into(),
                line: self.sources.line_of(self.file, span.start),
            },
            text: rule_text(self.sources.slice(span)),
            verdict,
            groups: groups.unwrap_or_else(|| vec![user.clone()]),
            user,
            target_user,
            target_group,
            host: host.unwrap_or_else(|| TEST_HOST.into()),
            service: service.unwrap_or_else(|| TEST_SERVICE.into()),
            time,
            command,
            args,
        })
    }

    /// A word as written, unescaped; `None` (reported) for an unknown escape.
    fn word(&mut self, pair: Pair<Rule>) -> Option<Word> {
        let span = self.span(&pair);
        let inner = pair.into_inner().next()?;
        if inner.as_rule() != Rule::quoted {
            return Some(Word {
                text: inner.as_str().to_string(),
                span,
                quoted: false,
            });
        }
        let raw = inner.into_inner().next()?;
        let raw_start = self.span(&raw).start;
        let file = self.file;
        let text = unescape(raw.as_str(), |at, len, message, hint| {
            let start = raw_start + at as u32;
            let escape = Span {
                file,
                start,
                end: start + len as u32,
            };
            self.error(escape, message, hint);
        })?;
        Some(Word {
            text,
            span,
            quoted: true,
        })
    }

    /// One name of the request: a test has no aliases, patterns or `%group`s.
    fn name(&mut self, pair: Pair<Rule>, kind: Name) -> Option<String> {
        let word = self.word(pair)?;
        let text = word.text.as_str();
        let noun = kind.noun();
        let problem = if text.is_empty() {
            Some((format!("the {noun} name is empty"), None))
        } else if word.quoted {
            None
        } else if text == "*" {
            Some((
                format!("`*` is not a {noun}: an expectation asks about one request"),
                Some(format!("name one {noun}")),
            ))
        } else if kind == Name::Host && text.contains(['*', '?', '[']) {
            Some((
                format!("`{text}` is a pattern: an expectation asks on one host"),
                Some("name one host, like `web-1`".into()),
            ))
        } else if let Some(group) = text.strip_prefix('%').filter(|_| kind != Name::Host) {
            let hint = match kind {
                Name::User => format!("name one member and give their groups: `alice (member-of {group})`"),
                Name::TargetUser => format!("to switch group, write `as group {group}`"),
                _ => format!("write the group without `%`: `{group}`"),
            };
            Some((format!("`{text}` is not a {noun}"), Some(hint)))
        } else if is_alias_name(text) {
            Some((
                format!("`{text}` looks like an alias, and a test file has none"),
                Some(format!("name one {noun}; quote it, \"{text}\", if that is its name")),
            ))
        } else {
            None
        };
        match problem {
            Some((message, hint)) => {
                self.error(word.span, message, hint);
                None
            }
            None => Some(word.text),
        }
    }

    /// `at TIME`: in the policy's time zone, or an RFC 3339 time.
    fn time(&mut self, pair: Pair<Rule>) -> Option<Timestamp> {
        let word = self.word(pair)?;
        match parse_timestamp(&word.text, self.zone) {
            Ok(time) => Some(time),
            Err(message) => {
                self.error(word.span, message, None);
                None
            }
        }
    }

    /// `cmd PATH`: used as written, so it must be absolute.
    fn command(&mut self, pair: Pair<Rule>) -> Option<PathBuf> {
        let word = self.word(pair)?;
        let text = word.text.as_str();
        if !text.starts_with('/') {
            let name = text.rsplit('/').next().unwrap_or(text);
            self.error(
                word.span,
                format!("command `{text}` is not an absolute path"),
                Some(format!(
                    "a test takes the path as written and never searches `secure_path`: write it in full, like `/usr/bin/{name}`"
                )),
            );
            return None;
        }
        if !word.quoted && text.contains(['*', '?', '[']) {
            self.error(
                word.span,
                format!("`{text}` is a pattern: an expectation runs one program"),
                Some("name the program's path".into()),
            );
            return None;
        }
        Some(PathBuf::from(&word.text))
    }

    /// One argument, verbatim; the mistakes of writing it as in a policy are errors.
    fn argument(&mut self, pair: Pair<Rule>, first: bool) -> Option<String> {
        let word = self.word(pair)?;
        if word.quoted {
            return Some(word.text);
        }
        let problem = match word.text.as_str() {
            "args" if first => Some((
                "`args` would be the program's first argument".to_string(),
                "in a test, the arguments follow the path: `cmd /usr/bin/psql -d prod`; quote \"args\" to pass the word",
            )),
            "*" => Some((
                "`*` would be a literal argument: an expectation runs one command line".to_string(),
                "write the arguments of one run; quote \"*\" to pass a star",
            )),
            _ => None,
        };
        match problem {
            Some((message, hint)) => {
                self.error(word.span, message, Some(hint.into()));
                None
            }
            None => Some(word.text),
        }
    }
}

/// The rules a syntax error may expect: how "expected ..., found ..." names
/// them and the keywords they start with, in the order they stand in a line.
type Expected = (&'static [Rule], &'static [&'static str], &'static [&'static str]);
const EXPECTED: &[Expected] = &[
    (
        &[Rule::expectation_line, Rule::expectation, Rule::action],
        &["`permit`", "`deny`"],
        &["permit", "deny"],
    ),
    (&[Rule::kw_permit], &["`permit`"], &["permit"]),
    (&[Rule::kw_deny], &["`deny`"], &["deny"]),
    (&[Rule::word, Rule::member_word, Rule::member_list], &["a name"], &[]),
    (&[Rule::member_of, Rule::lparen], &["`(member-of ...)`"], &[]),
    (&[Rule::kw_member_of], &["`member-of`"], &["member-of"]),
    (&[Rule::comma], &["`,`"], &[]),
    (&[Rule::rparen], &["`)`"], &[]),
    (&[Rule::kw_as], &["`as`"], &["as"]),
    (&[Rule::request_target], &["`user`", "`group`"], &["user", "group"]),
    (&[Rule::kw_user], &["`user`"], &["user"]),
    (&[Rule::kw_group], &["`group`"], &["group"]),
    (
        &[Rule::request_condition],
        &["`on`", "`service`", "`at`"],
        &["on", "service", "at"],
    ),
    (&[Rule::request_on, Rule::kw_on], &["`on`"], &["on"]),
    (&[Rule::request_service, Rule::kw_service], &["`service`"], &["service"]),
    (&[Rule::request_at, Rule::kw_at], &["`at`"], &["at"]),
    (&[Rule::request_command, Rule::kw_cmd], &["`cmd`"], &["cmd"]),
    (&[Rule::arg], &["an argument"], &[]),
    (&[Rule::EOI], &["end of line"], &[]),
];

/// Hints for the mistakes people make most, often from writing a rule of the policy.
fn hint_for(found: &str, before: &str, expected: &[Rule]) -> Option<String> {
    let expects = |r: Rule| expected.contains(&r);
    if found.starts_with('"') && !found[1..].contains('"') {
        return Some("a quoted word ends with `\"` on the same line".into());
    }
    if before.is_empty() {
        return Some(if found == "grant" {
            "`grant` rules act at login; a test expects `permit` or `deny` of a switch".into()
        } else {
            did_you_mean(found, ["permit", "deny"]).map_or_else(
                || "an expectation starts with the verdict it expects: `permit` or `deny`".into(),
                |k| format!("did you mean `{k}`?"),
            )
        });
    }
    if before
        .split_whitespace()
        .last()
        .is_some_and(|w| w.contains("(member-of") && !w.starts_with('('))
    {
        return Some("write a blank before `(member-of`".into());
    }
    if matches!(found, "when" | "until") {
        return Some("an expectation asks at one moment: `at 2026-12-01T10:00`".into());
    }
    if OPTION_KEYWORDS.contains(&found) && matches!(before, "permit" | "deny") {
        return Some("a test checks the verdict, not the options: leave them out".into());
    }
    if found.starts_with('(') {
        return Some("`(member-of G1,G2)` comes right after the user".into());
    }
    if expects(Rule::rparen) {
        return Some("`(member-of ...)` needs its closing `)`".into());
    }
    if found == "," {
        return Some("an expectation asks about one request: one user, one target, one host, one service".into());
    }
    if (found == "user" || found == "group") && expects(Rule::kw_as) {
        return Some(format!("write `as {found} ...`"));
    }
    if found == "args" {
        return Some("in a test, the arguments follow the path: `cmd /usr/bin/psql -d prod`".into());
    }
    if KEYWORD_NAMES.contains(&found) && (expects(Rule::word) || expects(Rule::member_word)) {
        return Some(format!(
            "`{found}` is a keyword; to use it as a name, quote it: \"{found}\""
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Central European winter time, without needing the system's time zone files.
    fn zone() -> TimeZone {
        TimeZone::fixed(jiff::tz::offset(1))
    }

    fn parse(text: &str) -> Result<Vec<Expectation>, Vec<Diagnostic>> {
        parse_expectations(Path::new("t.tests"), text, &zone())
    }

    fn one(line: &str) -> Expectation {
        match parse(line) {
            Ok(mut list) if list.len() == 1 => list.remove(0),
            Ok(list) => panic!("{line}: {} expectations", list.len()),
            Err(errors) => panic!("{line}: {}", errors.iter().map(ToString::to_string).collect::<String>()),
        }
    }

    /// The errors of a text, each as `LINE:COL: MESSAGE` with its hint.
    fn errors(text: &str) -> Vec<String> {
        let errors = parse(text).expect_err("the text has errors");
        errors
            .iter()
            .map(|d| {
                let p = d.position.as_ref().expect("every error has a place");
                let hint = d.hint.as_deref().map(|h| format!(" (hint: {h})")).unwrap_or_default();
                format!("{}:{}: {}{hint}", p.line, p.column, d.message)
            })
            .collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_the_parts_of_a_request() {
        let e = one(
            "permit carol (member-of devs, ops) as user deploy group www on web-1 service su at 2026-12-01T10:00 cmd /usr/bin/docker ps -a",
        );
        assert_eq!(e.verdict, Verdict::Permit);
        assert_eq!(e.user, "carol");
        assert_eq!(e.groups, strings(&["devs", "ops"]));
        assert_eq!(e.target_user.as_deref(), Some("deploy"));
        assert_eq!(e.target_group.as_deref(), Some("www"));
        assert_eq!(e.host, "web-1");
        assert_eq!(e.service, "su");
        assert_eq!(
            e.time,
            Some("2026-12-01T09:00:00Z".parse().unwrap()),
            "read in the zone given"
        );
        assert_eq!(e.command.as_deref(), Some(Path::new("/usr/bin/docker")));
        assert_eq!(e.args, strings(&["ps", "-a"]));
        assert_eq!(e.location.to_string(), "t.tests:1");
    }

    #[test]
    fn defaults_are_the_same_on_every_machine() {
        let e = one("deny bob as group docker");
        assert_eq!(e.verdict, Verdict::Deny);
        assert_eq!(e.groups, strings(&["bob"]), "a group named like the user");
        assert_eq!(
            (e.target_user.as_deref(), e.target_group.as_deref()),
            (None, Some("docker"))
        );
        assert_eq!((e.host.as_str(), e.service.as_str()), (TEST_HOST, TEST_SERVICE));
        assert_eq!((e.time, e.command.as_deref(), e.args.len()), (None, None, 0));

        let now: Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
        let request = e.request(now);
        assert_eq!(request.time, now, "without `at`, the moment the test runs");
        assert_eq!(request.effective_target_user(), "bob");
        let at = one("deny bob as user root at 2026-06-01T12:00:00Z");
        assert_eq!(at.request(now).time, "2026-06-01T12:00:00Z".parse().unwrap());
        assert_eq!(at.target_user.as_deref(), Some("root"));
    }

    #[test]
    fn member_of_gives_exactly_the_groups_listed() {
        assert_eq!(one("permit a (member-of wheel) as group x").groups, strings(&["wheel"]));
        assert!(
            one("permit a (member-of) as group x").groups.is_empty(),
            "in no group at all"
        );
        assert_eq!(
            one("permit a ( member-of \"my group\",users ) as group x").groups,
            strings(&["my group", "users"])
        );
    }

    #[test]
    fn conditions_come_in_any_order() {
        let e = one("deny dave as group audit at 2027-01-01T09:00 service login on db1");
        assert_eq!((e.host.as_str(), e.service.as_str()), ("db1", "login"));
        assert_eq!(e.time, Some("2027-01-01T08:00:00Z".parse().unwrap()));
    }

    #[test]
    fn quoting_follows_the_policy_language() {
        let e = one(r#"permit "as" (member-of "on") as user "group" cmd "/opt/my app/run" "two words" "say \"hi\"\t""#);
        assert_eq!((e.user.as_str(), e.groups[0].as_str()), ("as", "on"));
        assert_eq!(e.target_user.as_deref(), Some("group"));
        assert_eq!(e.command.as_deref(), Some(Path::new("/opt/my app/run")));
        assert_eq!(e.args, strings(&["two words", "say \"hi\"\t"]));
        assert!(e.text.ends_with(r#" "two words" "say \"hi\"\t""#), "{}", e.text);
        // Quoted, a word is just a name: not an alias, a pattern or a group's members.
        let e = one(r#"permit "ADMINS" as group "%odd" on "*" cmd /bin/echo "*" "args""#);
        assert_eq!((e.user.as_str(), e.host.as_str()), ("ADMINS", "*"));
        assert_eq!(e.args, strings(&["*", "args"]));
    }

    #[test]
    fn at_and_member_of_are_keywords_only_in_their_places() {
        let e = one("permit at as user at at 2026-12-01T10:00 cmd /bin/x at");
        assert_eq!((e.user.as_str(), e.target_user.as_deref()), ("at", Some("at")));
        assert!(e.time.is_some());
        assert_eq!(e.args, strings(&["at"]));
        let e = one("deny member-of (member-of member-of) as group member-of");
        assert_eq!((e.user.as_str(), e.groups[0].as_str()), ("member-of", "member-of"));
    }

    #[test]
    fn arguments_are_taken_verbatim_up_to_a_comment() {
        let e = one("permit a as user b cmd /bin/x on at a#b --opt=1 {} # a comment");
        assert_eq!(e.args, strings(&["on", "at", "a#b", "--opt=1", "{}"]));
        assert_eq!(e.text, "permit a as user b cmd /bin/x on at a#b --opt=1 {}");
    }

    #[test]
    fn comments_blank_lines_and_continuations() {
        let text = "# tests\n\npermit alice as group docker # the admins\n   \ndeny bob \\\n    as group docker \\\n    cmd /usr/bin/docker\n";
        let list = parse(text).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(
            (list[0].location.line, list[0].text.as_str()),
            (3, "permit alice as group docker")
        );
        assert_eq!(
            (list[1].location.line, list[1].text.as_str()),
            (5, "deny bob as group docker cmd /usr/bin/docker")
        );
        assert_eq!(parse("").unwrap(), Vec::new());
    }

    #[test]
    fn every_error_is_reported_with_its_place() {
        let text = "permt alice as group docker\npermit bob as group docker cmd docker\nok\npermit carol as group x\n";
        assert_eq!(
            errors(text),
            [
                "1:1: expected `permit` or `deny`, found `permt` (hint: did you mean `permit`?)",
                "2:32: command `docker` is not an absolute path (hint: a test takes the path as written and never searches `secure_path`: write it in full, like `/usr/bin/docker`)",
                "3:1: expected `permit` or `deny`, found `ok` (hint: an expectation starts with the verdict it expects: `permit` or `deny`)",
            ]
        );
    }

    #[test]
    fn errors_render_like_the_policy_diagnostics() {
        let errors = parse("# comment\ndeny bob as grup docker\n").unwrap_err();
        assert_eq!(
            errors[0].to_string(),
            "t.tests:2:13: error: expected `user` or `group`, found `grup`\n  |\n2 | deny bob as grup docker\n  |             ^^^^\n  = hint: did you mean `group`?\n"
        );
    }

    #[test]
    fn syntax_errors_explain_what_a_test_line_holds() {
        let cases = [
            (
                "grant bob group x",
                "1:1: expected `permit` or `deny`, found `grant` (hint: `grant` rules act at login; a test expects `permit` or `deny` of a switch)",
            ),
            (
                "permit nopass bob as group x",
                "1:8: expected a name, found `nopass` (hint: a test checks the verdict, not the options: leave them out)",
            ),
            (
                "deny dave as group audit until 2027-01-01",
                "1:26: expected `on`, `service`, `at`, `cmd` or end of line, found `until` (hint: an expectation asks at one moment: `at 2026-12-01T10:00`)",
            ),
            (
                "permit alice, bob as group x",
                "1:13: expected `(member-of ...)` or `as`, found `,` (hint: an expectation asks about one request: one user, one target, one host, one service)",
            ),
            (
                "permit alice as group a,b",
                "1:24: expected `on`, `service`, `at`, `cmd` or end of line, found `,` (hint: an expectation asks about one request: one user, one target, one host, one service)",
            ),
            (
                "permit alice group x",
                "1:14: expected `(member-of ...)` or `as`, found `group` (hint: write `as group ...`)",
            ),
            (
                "permit alice as group x (member-of devs)",
                "1:25: expected `on`, `service`, `at`, `cmd` or end of line, found `(member-of` (hint: `(member-of G1,G2)` comes right after the user)",
            ),
            (
                "permit carol(member-of devs) as group x",
                "1:24: expected `(member-of ...)` or `as`, found `devs)` (hint: write a blank before `(member-of`)",
            ),
            (
                "permit carol (member-of devs as group x",
                "1:30: expected `,` or `)`, found `as` (hint: `(member-of ...)` needs its closing `)`)",
            ),
            (
                "permit carol as group cmd",
                "1:23: expected a name, found `cmd` (hint: `cmd` is a keyword; to use it as a name, quote it: \"cmd\")",
            ),
            ("permit carol as group x on", "1:27: expected a name, found end of line"),
            (
                "permit carol as user x args -d",
                "1:24: expected `group`, `on`, `service`, `at`, `cmd` or end of line, found `args` (hint: in a test, the arguments follow the path: `cmd /usr/bin/psql -d prod`)",
            ),
            (
                "permit carol as user \"x",
                "1:22: expected a name, found `\"x` (hint: a quoted word ends with `\"` on the same line)",
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(errors(line), [expected], "{line}");
        }
    }

    #[test]
    fn names_must_name_one_thing() {
        let cases = [
            (
                "permit * as group x",
                "1:8: `*` is not a user: an expectation asks about one request (hint: name one user)",
            ),
            (
                "permit %devs as group x",
                "1:8: `%devs` is not a user (hint: name one member and give their groups: `alice (member-of devs)`)",
            ),
            (
                "permit ADMINS as group x",
                "1:8: `ADMINS` looks like an alias, and a test file has none (hint: name one user; quote it, \"ADMINS\", if that is its name)",
            ),
            (
                "permit a (member-of %devs) as group x",
                "1:21: `%devs` is not a group (hint: write the group without `%`: `devs`)",
            ),
            (
                "permit a as user %devs",
                "1:18: `%devs` is not a target user (hint: to switch group, write `as group devs`)",
            ),
            (
                "permit a as group *",
                "1:19: `*` is not a target group: an expectation asks about one request (hint: name one target group)",
            ),
            (
                "permit a as group BUILD",
                "1:19: `BUILD` looks like an alias, and a test file has none (hint: name one target group; quote it, \"BUILD\", if that is its name)",
            ),
            (
                "permit a as group x on web-*",
                "1:24: `web-*` is a pattern: an expectation asks on one host (hint: name one host, like `web-1`)",
            ),
            ("permit a as group x service \"\"", "1:29: the service name is empty"),
            (
                "permit a as group x on a on b",
                "1:26: `on` is given twice (hint: an expectation asks about one request)",
            ),
            (
                "permit a as group x at tomorrow",
                "1:24: `tomorrow` is not a time; write it like `2026-12-01T10:00` or `2026-12-01T10:00:00Z`",
            ),
            (
                "permit a as group x cmd /usr/bin/*",
                "1:25: `/usr/bin/*` is a pattern: an expectation runs one program (hint: name the program's path)",
            ),
            (
                "permit a as group x cmd /usr/bin/psql args -d",
                "1:39: `args` would be the program's first argument (hint: in a test, the arguments follow the path: `cmd /usr/bin/psql -d prod`; quote \"args\" to pass the word)",
            ),
            (
                "permit a as group x cmd /bin/deploy web *",
                "1:41: `*` would be a literal argument: an expectation runs one command line (hint: write the arguments of one run; quote \"*\" to pass a star)",
            ),
            (
                "permit a as group \"x\\q\"",
                "1:21: unknown escape `\\q` in a quoted word (hint: the escapes are `\\\"`, `\\\\`, `\\n` and `\\t`)",
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(errors(line), [expected], "{line}");
        }
    }

    #[test]
    fn a_continuation_into_the_end_of_the_file_is_an_error() {
        assert_eq!(
            errors("permit a as group x \\"),
            ["1:21: line continuation `\\` at the end of the file (hint: remove the `\\` or add the rest of the line)"]
        );
    }
}
