//! From text to statements: logical lines, the pest grammar, and the syntax tree.

use pest::Parser;
use pest::iterators::Pair;

use crate::diag::{Collector, Severity, Sources, Span, did_you_mean};

#[derive(pest_derive::Parser)]
#[grammar = "grammar.pest"]
struct Grammar;

/// A word as written: unescaped text and where it stands.
#[derive(Clone, Debug)]
pub(crate) struct Word {
    pub text: String,
    pub span: Span,
    pub quoted: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AliasKind {
    Users,
    Groups,
    Hosts,
    Commands,
}

impl AliasKind {
    pub fn keyword(self) -> &'static str {
        match self {
            AliasKind::Users => "users",
            AliasKind::Groups => "groups",
            AliasKind::Hosts => "hosts",
            AliasKind::Commands => "commands",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ActionAst {
    Permit,
    Deny,
    Grant,
}

#[derive(Debug)]
pub(crate) enum OptionAst {
    Nopass(Span),
    Keepenv(Span),
    Nolog(Span),
    Persist(Span, Option<Word>),
    Setenv(Span, Vec<EnvItemAst>),
    /// `chdir` (any folder) or `chdir=GLOB`.
    Chdir(Span, Option<Word>),
}

impl OptionAst {
    pub fn span(&self) -> Span {
        match self {
            OptionAst::Nopass(s) | OptionAst::Keepenv(s) | OptionAst::Nolog(s) => *s,
            OptionAst::Persist(s, _) | OptionAst::Setenv(s, _) | OptionAst::Chdir(s, _) => *s,
        }
    }
}

#[derive(Debug)]
pub(crate) enum EnvItemAst {
    Unset(Word),
    Set(Word, Word),
    Keep(Word),
}

#[derive(Debug)]
pub(crate) enum ConditionAst {
    On(Span, Vec<Word>),
    Service(Span, Vec<Word>),
    When(Span, Vec<Word>, Option<Vec<Word>>),
    Until(Span, Word),
}

#[derive(Debug)]
pub(crate) struct CommandAst {
    pub span: Span,
    pub path: Word,
    pub args: Option<Vec<Word>>,
}

#[derive(Debug)]
pub(crate) struct RuleAst {
    pub action: ActionAst,
    /// The whole statement, for "FILE:LINE: rule text".
    pub span: Span,
    pub options: Vec<OptionAst>,
    pub subjects: Vec<Word>,
    /// `as` written in a `grant` rule, which reads `grant SUBJECTS group G`.
    pub stray_as: Option<Span>,
    pub target_users: Option<Vec<Word>>,
    pub target_groups: Option<Vec<Word>>,
    pub conditions: Vec<ConditionAst>,
    pub command: Option<CommandAst>,
}

#[derive(Debug)]
/// Boxed parts keep a statement small: a large policy holds one per line.
pub(crate) enum Statement {
    Set {
        name: Box<Word>,
        value: Box<Word>,
    },
    Alias {
        kind: AliasKind,
        name: Box<Word>,
        items: Box<[Word]>,
    },
    Include {
        span: Span,
        pattern: Box<Word>,
    },
    /// An alias definition that did not parse: its name, so that uses of it
    /// do not add "not defined" errors to the one that matters.
    BrokenAlias(Box<str>),
    Rule(Box<RuleAst>),
    /// A rule's logical line, not parsed yet: the compiler parses it when it
    /// compiles the rule and then drops its syntax tree, so that the trees of
    /// a large policy's rules are never all held at once.
    RuleLine {
        file: u32,
        start: u32,
        end: u32,
    },
}

/// A file split into logical lines: byte ranges without their line breaks,
/// `\`-continued lines joined.
pub(crate) struct LogicalLines {
    pub lines: Vec<(usize, usize)>,
    /// A `\` that continues the last line into the end of the file.
    pub dangling_continuation: Option<usize>,
}

/// Splits a file into logical lines. Comments and quotes are followed so that
/// a `\` inside them does not continue the line.
pub(crate) fn logical_lines(text: &str) -> LogicalLines {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut in_quote = false;
    let mut in_comment = false;
    let mut continuation: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\n' {
            let before = &bytes[start..i];
            let before = before.strip_suffix(b"\r").unwrap_or(before);
            if !in_comment && !in_quote && before.last() == Some(&b'\\') {
                continuation = Some(start + before.len() - 1);
            } else {
                lines.push((start, start + before.len()));
                start = i + 1;
                continuation = None;
            }
            in_quote = false;
            in_comment = false;
        } else if !b.is_ascii_whitespace() {
            continuation = None;
        }
        if b == b'\n' || in_comment {
        } else if in_quote {
            if b == b'\\' && bytes.get(i + 1).is_some_and(|&n| n != b'\n') {
                i += 1;
            } else if b == b'"' {
                in_quote = false;
            }
        } else if b == b'"' {
            in_quote = true;
        } else if b == b'#' && (i == start || matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b',' | b'{' | b'}' | b'='))
        {
            in_comment = true;
        }
        i += 1;
    }
    if start < bytes.len() {
        if !in_comment && !in_quote && text[start..].trim_end().ends_with('\\') {
            continuation = Some(start + text[start..].trim_end().len() - 1);
        }
        lines.push((start, bytes.len()));
    }
    LogicalLines {
        lines,
        dangling_continuation: continuation,
    }
}

/// The logical lines of a file to parse, each with its byte offset; a line
/// that a `\` continues into the end of the file is reported, not returned.
pub(crate) fn lines_to_parse<'t>(
    sources: &'t Sources,
    file: u32,
    diagnostics: &mut Collector,
) -> Vec<(usize, &'t str)> {
    let text = sources.text(file);
    let split = logical_lines(text);
    let mut lines = Vec::with_capacity(split.lines.len());
    for (start, end) in split.lines {
        if let Some(at) = split.dangling_continuation.filter(|&at| at >= start && at < end) {
            let span = Span {
                file,
                start: at as u32,
                end: at as u32 + 1,
            };
            let message = "line continuation `\\` at the end of the file".into();
            diagnostics.at(
                sources,
                Severity::Error,
                span,
                message,
                Some("remove the `\\` or add the rest of the line".into()),
            );
            continue;
        }
        lines.push((start, &text[start..end]));
    }
    lines
}

/// Parses one file; problems go to `diagnostics`, every statement that parsed
/// is returned. With `defer_rules`, the lines that can only be rules (they
/// start with `permit`, `deny` or `grant` and a blank) are returned unparsed as
/// [`Statement::RuleLine`], for [`parse_rule_line`]; the first line of the
/// file is always parsed, so that running out of stack is found here, before
/// anything else is read.
pub(crate) fn parse_file(
    sources: &Sources,
    file: u32,
    diagnostics: &mut Collector,
    defer_rules: bool,
) -> Vec<Statement> {
    let mut statements = Vec::new();
    for (index, (start, line)) in lines_to_parse(sources, file, diagnostics).into_iter().enumerate() {
        if defer_rules && index > 0 && is_rule_line(line) {
            statements.push(Statement::RuleLine {
                file,
                start: start as u32,
                end: (start + line.len()) as u32,
            });
            continue;
        }
        match parse_line(sources, file, start, line, diagnostics) {
            Parsed::Statement(statement) => statements.push(statement),
            Parsed::Nothing => {}
            Parsed::GaveUp => break,
        }
    }
    statements
}

/// Whether a logical line can only be a rule: its first word is `permit`,
/// `deny` or `grant` followed by a blank, which no other statement starts with.
fn is_rule_line(line: &str) -> bool {
    let line = line.trim_start_matches([' ', '\t']);
    ["permit", "deny", "grant"].iter().any(|keyword| {
        line.strip_prefix(keyword)
            .is_some_and(|rest| rest.starts_with([' ', '\t']))
    })
}

/// What one logical line holds.
pub(crate) enum Parsed {
    Statement(Statement),
    /// A comment, a blank line, or a line with errors (reported).
    Nothing,
    /// The parser ran out of stack (reported): read no further.
    GaveUp,
}

/// Parses a [`Statement::RuleLine`].
pub(crate) fn parse_rule_line(
    sources: &Sources,
    file: u32,
    start: u32,
    end: u32,
    diagnostics: &mut Collector,
) -> Parsed {
    let (start, end) = (start as usize, end as usize);
    parse_line(sources, file, start, &sources.text(file)[start..end], diagnostics)
}

fn parse_line(sources: &Sources, file: u32, start: usize, line: &str, diagnostics: &mut Collector) -> Parsed {
    let builder = Builder {
        sources,
        file,
        base: start,
        diagnostics: &mut *diagnostics,
        end: 0,
    };
    match Grammar::parse(Rule::statement_line, line) {
        Ok(mut pairs) => {
            let line_pair = pairs.next().expect("statement_line always yields itself");
            match line_pair.into_inner().find(|p| p.as_rule() != Rule::EOI) {
                Some(statement) => builder.statement(statement).map_or(Parsed::Nothing, Parsed::Statement),
                None => Parsed::Nothing,
            }
        }
        Err(error) if gave_up(&error) => {
            diagnostics.out_of_stack(sources.path(file), "the policy");
            Parsed::GaveUp
        }
        Err(error) => {
            builder.syntax_error(line, &error);
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some("users" | "groups" | "hosts" | "commands"), Some(name)) => {
                    Parsed::Statement(Statement::BrokenAlias(name.trim_end_matches('=').into()))
                }
                _ => Parsed::Nothing,
            }
        }
    }
}

struct Builder<'a> {
    sources: &'a Sources,
    file: u32,
    base: usize,
    diagnostics: &'a mut Collector,
    /// Where the last token read so far ends (a word, an argument, `args`):
    /// a rule's pair also holds the blanks and comment after it.
    end: u32,
}

const STATEMENT_KEYWORDS: [&str; 9] = [
    "permit", "deny", "grant", "set", "users", "groups", "hosts", "commands", "include",
];

impl Builder<'_> {
    fn span(&self, pair: &Pair<Rule>) -> Span {
        pair_span(self.file, self.base, pair)
    }

    fn error(&mut self, span: Span, message: String, hint: Option<String>) {
        self.diagnostics.at(self.sources, Severity::Error, span, message, hint);
    }

    fn syntax_error(mut self, line: &str, error: &pest::error::Error<Rule>) {
        let ErrorSite {
            pos,
            found,
            span,
            expected,
            shown,
        } = ErrorSite::of(line, error, self.file, self.base);
        let at_start = line[..pos].trim_start().is_empty();
        if at_start {
            let hint = if let Some(k) = did_you_mean(found, STATEMENT_KEYWORDS) {
                Some(format!("did you mean `{k}`?"))
            } else if is_alias_name(found) {
                Some(format!(
                    "an alias definition names its kind first: `users {found} = ...`"
                ))
            } else {
                Some("a statement starts with `permit`, `deny`, `grant`, `set`, `users`, `groups`, `hosts`, `commands` or `include`".into())
            };
            self.error(span, format!("unknown statement {shown}"), hint);
            return;
        }
        let in_grant = line.trim_start().starts_with("grant");
        // `as` is accepted in a grant only to say it does not belong there.
        let expected: Vec<Rule> = expected
            .into_iter()
            .filter(|r| !(in_grant && *r == Rule::kw_as))
            .collect();
        let names: Vec<&str> = expected.iter().filter_map(|r| describe(*r)).collect();
        let keywords: Vec<&str> = expected.iter().flat_map(|r| keywords_of(*r)).collect();
        let before = line[..pos].trim_end();
        let hint = did_you_mean(found, keywords.iter().copied())
            .map(|k| format!("did you mean `{k}`?"))
            .or_else(|| hint_for(found, before, &expected));
        let message = if names.is_empty() {
            format!("unexpected {shown}")
        } else {
            format!("expected {}, found {shown}", join_alternatives(&names))
        };
        self.error(span, message, hint);
    }

    fn statement(mut self, pair: Pair<Rule>) -> Option<Statement> {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::setting => {
                let mut words = pair
                    .into_inner()
                    .filter(|p| matches!(p.as_rule(), Rule::setting_name | Rule::word));
                let name = self.word(words.next()?)?;
                let value = self.word(words.next()?)?;
                Some(Statement::Set {
                    name: Box::new(name),
                    value: Box::new(value),
                })
            }
            Rule::alias => {
                let mut inner = pair.into_inner();
                let kind = match inner.next()?.into_inner().next()?.as_rule() {
                    Rule::kw_users => AliasKind::Users,
                    Rule::kw_groups => AliasKind::Groups,
                    Rule::kw_hosts => AliasKind::Hosts,
                    _ => AliasKind::Commands,
                };
                let name = self.word(inner.next()?)?;
                let items = self.list(inner.find(|p| p.as_rule() == Rule::list)?)?;
                Some(Statement::Alias {
                    kind,
                    name: Box::new(name),
                    items: items.into_boxed_slice(),
                })
            }
            Rule::include => {
                let pattern = self.word(pair.into_inner().find(|p| p.as_rule() == Rule::word)?)?;
                Some(Statement::Include {
                    span,
                    pattern: Box::new(pattern),
                })
            }
            Rule::rule | Rule::grant => self.rule(pair).map(|rule| Statement::Rule(Box::new(rule))),
            _ => None,
        }
    }

    fn rule(&mut self, pair: Pair<Rule>) -> Option<RuleAst> {
        let span = self.span(&pair);
        let mut rule = RuleAst {
            action: ActionAst::Grant,
            span,
            options: Vec::new(),
            subjects: Vec::new(),
            stray_as: None,
            target_users: None,
            target_groups: None,
            conditions: Vec::new(),
            command: None,
        };
        let in_grant = pair.as_rule() == Rule::grant;
        let mut ok = true;
        for part in pair.into_inner() {
            let part_span = self.span(&part);
            match part.as_rule() {
                Rule::action => {
                    rule.action = match part.into_inner().next()?.as_rule() {
                        Rule::kw_permit => ActionAst::Permit,
                        _ => ActionAst::Deny,
                    }
                }
                Rule::option => match self.option(part.into_inner().next()?) {
                    Some(option) => rule.options.push(option),
                    None => ok = false,
                },
                Rule::list => match self.list(part) {
                    Some(words) => rule.subjects = words,
                    None => ok = false,
                },
                Rule::kw_as if in_grant => rule.stray_as = Some(part_span),
                Rule::target => {
                    for t in part.into_inner() {
                        match t.as_rule() {
                            Rule::target_users => rule.target_users = self.list(t.into_inner().nth(1)?),
                            _ => rule.target_groups = self.list(t.into_inner().nth(1)?),
                        }
                    }
                }
                Rule::target_groups => rule.target_groups = self.list(part.into_inner().nth(1)?),
                Rule::condition => match self.condition(part.into_inner().next()?) {
                    Some(condition) => rule.conditions.push(condition),
                    None => ok = false,
                },
                Rule::command => {
                    let mut inner = part.into_inner().skip(1);
                    let path = self.word(inner.next()?);
                    let args = inner.next().map(|a| {
                        let mut inner = a.into_inner();
                        if let Some(keyword) = inner.next() {
                            self.end = self.end.max(self.span(&keyword).end);
                        }
                        inner.map(|arg| self.arg(arg)).collect::<Option<Vec<Word>>>()
                    });
                    match (path, args) {
                        (Some(path), None) => {
                            rule.command = Some(CommandAst {
                                span: part_span,
                                path,
                                args: None,
                            })
                        }
                        (Some(path), Some(Some(args))) => {
                            rule.command = Some(CommandAst {
                                span: part_span,
                                path,
                                args: Some(args),
                            })
                        }
                        _ => ok = false,
                    }
                }
                _ => {}
            }
        }
        // Trailing blanks and comments are skipped inside the pair; the rule ends
        // with its last token (a quoted word with its closing quote).
        if self.end > rule.span.start {
            rule.span.end = self.end;
        }
        let targets_ok = rule.target_users.is_some() || rule.target_groups.is_some();
        (ok && targets_ok).then_some(rule)
    }

    fn option(&mut self, pair: Pair<Rule>) -> Option<OptionAst> {
        let span = self.span(&pair);
        Some(match pair.as_rule() {
            Rule::kw_nopass => OptionAst::Nopass(span),
            Rule::kw_keepenv => OptionAst::Keepenv(span),
            Rule::kw_nolog => OptionAst::Nolog(span),
            Rule::persist_opt => {
                let value = match pair.into_inner().find(|p| p.as_rule() == Rule::word) {
                    Some(w) => Some(self.word(w)?),
                    None => None,
                };
                OptionAst::Persist(span, value)
            }
            Rule::chdir_opt => {
                let value = match pair.into_inner().find(|p| p.as_rule() == Rule::word) {
                    Some(w) => Some(self.word(w)?),
                    None => None,
                };
                OptionAst::Chdir(span, value)
            }
            _ => {
                let mut items = Vec::new();
                for item in pair.into_inner().filter(|p| p.as_rule() == Rule::env_item) {
                    let inner = item.into_inner().next()?;
                    items.push(match inner.as_rule() {
                        Rule::env_unset => {
                            let bare = inner.into_inner().next()?;
                            let span = self.span(&bare);
                            EnvItemAst::Unset(Word {
                                text: bare.as_str().to_string(),
                                span,
                                quoted: false,
                            })
                        }
                        Rule::env_set => {
                            let mut words = inner.into_inner().filter(|p| p.as_rule() == Rule::word);
                            let name = self.word(words.next()?)?;
                            let value = self.word(words.next()?)?;
                            EnvItemAst::Set(name, value)
                        }
                        _ => EnvItemAst::Keep(self.word(inner)?),
                    });
                }
                OptionAst::Setenv(span, items)
            }
        })
    }

    fn condition(&mut self, pair: Pair<Rule>) -> Option<ConditionAst> {
        let span = self.span(&pair);
        let kind = pair.as_rule();
        let mut lists = Vec::new();
        let mut word = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::list => lists.push(self.list(p)?),
                Rule::word => word = Some(self.word(p)?),
                _ => {}
            }
        }
        let mut lists = lists.into_iter();
        Some(match kind {
            Rule::on_cond => ConditionAst::On(span, lists.next()?),
            Rule::service_cond => ConditionAst::Service(span, lists.next()?),
            Rule::when_cond => ConditionAst::When(span, lists.next()?, lists.next()),
            _ => ConditionAst::Until(span, word?),
        })
    }

    fn list(&mut self, pair: Pair<Rule>) -> Option<Vec<Word>> {
        let mut words = Vec::new();
        let mut ok = true;
        for p in pair.into_inner().filter(|p| p.as_rule() == Rule::word) {
            match self.word(p) {
                Some(w) => words.push(w),
                None => ok = false,
            }
        }
        ok.then_some(words)
    }

    fn word(&mut self, pair: Pair<Rule>) -> Option<Word> {
        let span = self.span(&pair);
        self.end = self.end.max(span.end);
        let inner = pair.into_inner().next()?;
        match inner.as_rule() {
            Rule::quoted => self.quoted(inner, span),
            _ => Some(Word {
                text: inner.as_str().to_string(),
                span,
                quoted: false,
            }),
        }
    }

    fn arg(&mut self, pair: Pair<Rule>) -> Option<Word> {
        let span = self.span(&pair);
        self.end = self.end.max(span.end);
        let inner = pair.into_inner().next()?;
        match inner.as_rule() {
            Rule::quoted => self.quoted(inner, span),
            _ => Some(Word {
                text: inner.as_str().to_string(),
                span,
                quoted: false,
            }),
        }
    }

    fn quoted(&mut self, pair: Pair<Rule>, span: Span) -> Option<Word> {
        let raw = pair.into_inner().next()?;
        let raw_start = self.span(&raw).start;
        let text = unescape(raw.as_str(), |at, len, message, hint| {
            let start = raw_start + at as u32;
            let escape = Span {
                file: self.file,
                start,
                end: start + len as u32,
            };
            self.error(escape, message, hint);
        });
        text.map(|text| Word {
            text,
            span,
            quoted: true,
        })
    }
}

/// The text of a quoted word from what stands between its quotes. Each
/// unknown escape is reported to `error` with its byte offset and length in
/// `raw`, a message and a hint, and the word then has no text.
pub(crate) fn unescape(raw: &str, mut error: impl FnMut(usize, usize, String, Option<String>)) -> Option<String> {
    let mut text = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    let mut ok = true;
    while let Some((at, c)) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '"')) => text.push('"'),
            Some((_, '\\')) => text.push('\\'),
            Some((_, 'n')) => text.push('\n'),
            Some((_, 't')) => text.push('\t'),
            Some((_, other)) => {
                error(
                    at,
                    1 + other.len_utf8(),
                    format!("unknown escape `\\{other}` in a quoted word"),
                    Some("the escapes are `\\\"`, `\\\\`, `\\n` and `\\t`".into()),
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    ok.then_some(text)
}

/// Where a word stands, for [`reads_bare`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum WordPlace {
    /// A name or a value: no blank, none of `, = { } "`, not a reserved keyword.
    Word,
    /// The name of `set NAME = VALUE`, which may be a keyword (`set persist`).
    SettingName,
    /// An argument after `args`, which may hold `, = { }` and keywords.
    Arg,
}

/// Whether `text`, written without quotes at `place`, reads back as this
/// same bare word: the grammar takes all of it as one bare word, it does not
/// start a comment (`#`), and it cannot continue the line (a final `\`).
pub(crate) fn reads_bare(place: WordPlace, text: &str) -> bool {
    let kind = match place {
        WordPlace::Word => Rule::word,
        WordPlace::SettingName => Rule::setting_name,
        WordPlace::Arg => Rule::arg,
    };
    !text.starts_with(['"', '#'])
        && !text.ends_with('\\')
        && Grammar::parse(kind, text).is_ok_and(|mut pairs| pairs.next().is_some_and(|p| p.as_str() == text))
}

/// Whether pest gave up instead of finding a syntax error. Our grammars
/// define no custom errors: pest raises one only when a limit stops it, and
/// of its limits only the stack guard is on (it fails a parse that starts
/// with less than 64 KiB of stack left).
pub(crate) fn gave_up<R>(error: &pest::error::Error<R>) -> bool {
    matches!(error.variant, pest::error::ErrorVariant::CustomError { .. })
}

/// Where a parsed pair stands in its file: pairs of one logical line count
/// from `base`, where that line starts.
pub(crate) fn pair_span<R: pest::RuleType>(file: u32, base: usize, pair: &Pair<R>) -> Span {
    let s = pair.as_span();
    Span {
        file,
        start: (base + s.start()) as u32,
        end: (base + s.end()) as u32,
    }
}

pub(crate) struct ErrorSite<'l, R> {
    pub pos: usize,
    /// The token at the error: a word, one punctuation character, or nothing at the end.
    pub found: &'l str,
    pub span: Span,
    pub expected: Vec<R>,
    /// `found` as a message shows it.
    pub shown: String,
}

impl<'l, R: pest::RuleType> ErrorSite<'l, R> {
    pub fn of(line: &'l str, error: &pest::error::Error<R>, file: u32, base: usize) -> ErrorSite<'l, R> {
        let pos = match error.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((p, _)) => p,
        };
        let found = token_at(line, pos);
        let span = Span {
            file,
            start: (base + pos) as u32,
            end: (base + pos + found.len()) as u32,
        };
        let expected = match &error.variant {
            pest::error::ErrorVariant::ParsingError { positives, .. } => positives.clone(),
            pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
        };
        let shown = match found {
            "" => "end of line".to_string(),
            blank if blank.trim().is_empty() => "a blank".to_string(),
            word => format!("`{word}`"),
        };
        ErrorSite {
            pos,
            found,
            span,
            expected,
            shown,
        }
    }
}

/// The token an error points at: a word, one punctuation character, or nothing at the end.
fn token_at(line: &str, pos: usize) -> &str {
    let rest = &line[pos.min(line.len())..];
    let rest = rest.strip_suffix('\r').unwrap_or(rest);
    if let Some(inside) = rest.strip_prefix('"') {
        let close = inside.find('"').map_or(rest.len(), |i| i + 2);
        return &rest[..close];
    }
    let end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, ',' | '{' | '}' | '=' | '"'))
        .unwrap_or(rest.len());
    if end == 0 {
        rest.chars().next().map_or("", |c| &rest[..c.len_utf8()])
    } else {
        &rest[..end]
    }
}

pub(crate) fn is_alias_name(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn keyword_of(kind: Rule) -> Option<&'static str> {
    Some(match kind {
        Rule::kw_permit => "permit",
        Rule::kw_deny => "deny",
        Rule::kw_grant => "grant",
        Rule::kw_set => "set",
        Rule::kw_users => "users",
        Rule::kw_groups => "groups",
        Rule::kw_hosts => "hosts",
        Rule::kw_commands => "commands",
        Rule::kw_include => "include",
        Rule::kw_as => "as",
        Rule::kw_user => "user",
        Rule::kw_group => "group",
        Rule::kw_on => "on",
        Rule::kw_service => "service",
        Rule::kw_when => "when",
        Rule::kw_until => "until",
        Rule::kw_cmd => "cmd",
        Rule::kw_args => "args",
        Rule::kw_nopass => "nopass",
        Rule::kw_persist => "persist",
        Rule::kw_keepenv => "keepenv",
        Rule::kw_setenv => "setenv",
        Rule::kw_nolog => "nolog",
        Rule::kw_chdir => "chdir",
        _ => return None,
    })
}

const CONDITION_KEYWORDS: &[&str] = &["on", "service", "when", "until"];
pub(crate) const OPTION_KEYWORDS: &[&str] = &["nopass", "persist", "keepenv", "setenv", "nolog", "chdir"];

/// The keywords an expected rule can start with, for "did you mean".
fn keywords_of(kind: Rule) -> Vec<&'static str> {
    match kind {
        Rule::condition => CONDITION_KEYWORDS.to_vec(),
        Rule::option => OPTION_KEYWORDS.to_vec(),
        Rule::command => vec!["cmd"],
        Rule::args => vec!["args"],
        Rule::target => vec!["user", "group"],
        Rule::target_users => vec!["user"],
        Rule::target_groups => vec!["group"],
        other => keyword_of(other).into_iter().collect(),
    }
}

pub(crate) const KEYWORD_NAMES: &[&str] = &[
    "permit", "deny", "grant", "set", "users", "groups", "hosts", "commands", "include", "as", "user", "group", "on",
    "service", "when", "until", "cmd", "args", "nopass", "persist", "keepenv", "setenv", "nolog", "chdir",
];

/// Hints for the mistakes people make most, from what was found and what came before.
fn hint_for(found: &str, before: &str, expected: &[Rule]) -> Option<String> {
    let expects = |r: Rule| expected.contains(&r);
    if found.starts_with('"') && !found[1..].contains('"') {
        return Some("a quoted word ends with `\"` on the same line".into());
    }
    if (found == "=" && before.ends_with("persist")) || before.ends_with("persist=") {
        return Some("write the duration right after the `=`, without blanks: `persist=15m`".into());
    }
    if (found == "=" && before.ends_with("chdir")) || before.ends_with("chdir=") {
        return Some("write the folder right after the `=`, without blanks: `chdir=/srv/*`".into());
    }
    if OPTION_KEYWORDS.contains(&found) && expects(Rule::kw_as) {
        return Some("options come right after the action: `permit nopass alice as ...`".into());
    }
    if (found == "user" || found == "group") && expects(Rule::kw_as) {
        return Some(format!("write `as {found} ...`"));
    }
    if CONDITION_KEYWORDS.contains(&found) && before.split_whitespace().any(|w| w == "cmd") {
        return Some("conditions come before `cmd`, which is always last".into());
    }
    if expects(Rule::rbrace) {
        return Some("`setenv { ... }` needs its closing `}`".into());
    }
    if KEYWORD_NAMES.contains(&found) && (expects(Rule::word) || expects(Rule::list)) {
        return Some(format!(
            "`{found}` is a keyword; to use it as a name, quote it: \"{found}\""
        ));
    }
    None
}

fn describe(kind: Rule) -> Option<&'static str> {
    if let Some(k) = keyword_of(kind) {
        return Some(match k {
            "permit" => "`permit`",
            "deny" => "`deny`",
            "as" => "`as`",
            "user" => "`user`",
            "group" => "`group`",
            "on" => "`on`",
            "service" => "`service`",
            "when" => "`when`",
            "until" => "`until`",
            "cmd" => "`cmd`",
            "args" => "`args`",
            "nopass" | "persist" | "keepenv" | "setenv" | "nolog" | "chdir" => "an option",
            _ => "a statement",
        });
    }
    Some(match kind {
        Rule::word | Rule::list | Rule::setting_name => "a name",
        Rule::arg => "an argument",
        Rule::eq => "`=`",
        Rule::comma => "`,`",
        Rule::lbrace => "`{`",
        Rule::rbrace => "`}`",
        Rule::env_item | Rule::env_unset | Rule::env_set => "a variable",
        Rule::option | Rule::persist_opt | Rule::setenv_opt | Rule::chdir_opt => "an option",
        Rule::target | Rule::target_users | Rule::target_groups => "`user` or `group`",
        Rule::condition | Rule::on_cond | Rule::service_cond | Rule::when_cond | Rule::until_cond => {
            "a condition (`on`, `service`, `when`, `until`)"
        }
        Rule::command => "`cmd`",
        Rule::args => "`args`",
        Rule::EOI => "end of line",
        _ => return None,
    })
}

pub(crate) fn join_alternatives(names: &[&str]) -> String {
    let mut unique: Vec<&str> = Vec::new();
    for n in names {
        if !unique.contains(n) {
            unique.push(n);
        }
    }
    match unique.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<&str> {
        logical_lines(text)
            .lines
            .into_iter()
            .map(|(s, e)| &text[s..e])
            .collect()
    }

    #[test]
    fn continuation_joins_lines_but_not_in_comments() {
        assert_eq!(lines("a \\\n b\nc"), vec!["a \\\n b", "c"]);
        assert_eq!(lines("a # note \\\nb"), vec!["a # note \\", "b"]);
        assert_eq!(lines("a\r\nb\r\n"), vec!["a", "b"]);
        assert_eq!(lines("x#y \\\nz"), vec!["x#y \\\nz"]);
    }

    #[test]
    fn a_continuation_into_the_end_of_the_file_is_found() {
        assert_eq!(logical_lines("a \\\n").dangling_continuation, Some(2));
        assert_eq!(logical_lines("a \\").dangling_continuation, Some(2));
        assert_eq!(logical_lines("a \\\nb\n").dangling_continuation, None);
        assert_eq!(logical_lines("# a \\\n").dangling_continuation, None);
    }
}
