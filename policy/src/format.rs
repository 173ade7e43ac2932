//! The canonical layout of a policy file, for `newgatectl fmt`.
//!
//! The file is read one logical line at a time, as the parser reads it: a
//! line holds a statement, a comment, both, or nothing. Statements are
//! written again from their syntax tree, comments as they were:
//!
//! - one statement per line: `\` continuations are joined, however long the
//!   statement (a rule stays one line for grep, diffs and `FILE:LINE`);
//! - single spaces between words and `, ` between list items;
//! - options in the order `nopass persist[=D] keepenv setenv { ... } chdir[=GLOB] nolog`,
//!   conditions in the order `on service when until`, then `cmd ... args ...`;
//! - in a block of consecutive `set` lines, and in one of consecutive alias
//!   definitions, the `=` signs line up: the alias keyword is padded to the
//!   longest of the block, the name to the longest name;
//! - a word is quoted only when it must be (see [`word`]);
//! - a comment after a statement follows it after two spaces; a comment on a
//!   line of its own starts the line; blank lines are kept, at most one in a
//!   row, none at the start or the end; no trailing blanks; `\r\n` becomes `\n`;
//!   the text ends with one line break (an empty policy stays empty).
//!
//! Only the layout changes: every word keeps its text, the statements their
//! order, and a file that does not parse is not formatted at all.

use std::path::Path;

use crate::diag::{Collector, Diagnostic, Sources};
use crate::syntax::{
    ActionAst, CommandAst, ConditionAst, EnvItemAst, OptionAst, RuleAst, Statement, Word, WordPlace, is_alias_name,
    logical_lines, parse_file, reads_bare,
};

/// The policy `text` (the file `path`, named in diagnostics) in its canonical
/// layout, or the syntax errors that keep it from being formatted.
///
/// Only the syntax is checked: what the words mean (aliases, users, settings)
/// is left to loading, since a drop-in may use the aliases of the main file.
pub fn format_policy(path: &Path, text: &str) -> Result<String, Vec<Diagnostic>> {
    let mut sources = Sources::default();
    let file = sources.add(path.to_path_buf(), text.to_string());
    let mut diagnostics = Collector::default();
    let statements = parse_file(&sources, file, &mut diagnostics, false);
    if diagnostics.has_errors() {
        return Err(diagnostics.into_sorted());
    }
    Ok(render(&lines(text, &statements)))
}

/// A logical line as the formatter sees it.
enum Line<'a> {
    Blank,
    /// A comment on a line of its own, from its `#`.
    Comment(&'a str),
    /// A statement and the comment after it.
    Statement(&'a Statement, Option<&'a str>),
}

fn lines<'a>(text: &'a str, statements: &'a [Statement]) -> Vec<Line<'a>> {
    let mut statements = statements.iter().peekable();
    let mut lines = Vec::new();
    for (start, end) in logical_lines(text).lines {
        // Statements come in the order of their lines, at most one per line.
        let statement = statements.next_if(|s| last_token_end(s) <= end);
        let rest = leftover(&text[statement.map_or(start, last_token_end)..end]);
        lines.push(match statement {
            Some(statement) => Line::Statement(statement, Some(rest).filter(|r| !r.is_empty())),
            None if rest.is_empty() => Line::Blank,
            None => Line::Comment(rest),
        });
    }
    lines
}

/// Where a statement's last token ends: what follows on its line is blanks,
/// continuations and perhaps a comment.
fn last_token_end(statement: &Statement) -> usize {
    let end = match statement {
        Statement::Set { value, .. } => value.span.end,
        Statement::Alias { name, items, .. } => items.last().unwrap_or(name).span.end,
        Statement::Include { pattern, .. } => pattern.span.end,
        Statement::Rule(rule) => rule.span.end,
        Statement::RuleLine { end, .. } => *end,
        Statement::BrokenAlias(_) => unreachable!("only a line that does not parse leaves a broken alias"),
    };
    end as usize
}

/// What stands after the last token (or on a line without a statement):
/// blanks and `\` continuations dropped, then the comment, if any. A `\`
/// continues before any line end the grammar knows (`\n`, `\r\n`, a lone
/// `\r`), as it does for the parser.
fn leftover(mut text: &str) -> &str {
    loop {
        let rest = text.trim_start_matches([' ', '\t']);
        let continued = rest
            .strip_prefix('\\')
            .and_then(|r| r.strip_prefix("\r\n").or(r.strip_prefix('\n')).or(r.strip_prefix('\r')));
        match continued {
            Some(next) => text = next,
            None => return rest.trim_end(),
        }
    }
}

/// The two kinds of statement whose `=` signs line up in a block.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Aligned {
    Set,
    Alias,
}

fn aligned(line: &Line) -> Option<Aligned> {
    match line {
        Line::Statement(Statement::Set { .. }, _) => Some(Aligned::Set),
        Line::Statement(Statement::Alias { .. }, _) => Some(Aligned::Alias),
        _ => None,
    }
}

/// How wide the keyword and the name of each line of a block are written.
#[derive(Clone, Copy, Default)]
struct Widths {
    keyword: usize,
    name: usize,
}

fn widths(block: &[Line]) -> Widths {
    let mut widths = Widths::default();
    for line in block {
        let (keyword, name) = match line {
            Line::Statement(Statement::Set { name, .. }, _) => ("set", word(name, Place::SettingName)),
            Line::Statement(Statement::Alias { kind, name, .. }, _) => (kind.keyword(), word(name, Place::AliasName)),
            _ => continue,
        };
        widths.keyword = widths.keyword.max(keyword.len());
        widths.name = widths.name.max(name.chars().count());
    }
    widths
}

fn render(lines: &[Line]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut blank = false;
    let mut at = 0;
    while at < lines.len() {
        let kind = aligned(&lines[at]);
        let size = match kind {
            Some(_) => lines[at..].iter().take_while(|l| aligned(l) == kind).count(),
            None => 1,
        };
        let block = &lines[at..at + size];
        let widths = widths(block);
        for line in block {
            let text = match line {
                Line::Blank => {
                    blank = !out.is_empty();
                    continue;
                }
                Line::Comment(comment) => comment.to_string(),
                Line::Statement(statement, None) => statement_line(statement, widths),
                Line::Statement(statement, Some(comment)) => {
                    format!("{}  {comment}", statement_line(statement, widths))
                }
            };
            if std::mem::take(&mut blank) {
                out.push(String::new());
            }
            out.push(text);
        }
        at += size;
    }
    out.into_iter().map(|line| line + "\n").collect()
}

fn statement_line(statement: &Statement, widths: Widths) -> String {
    match statement {
        Statement::Set { name, value } => format!(
            "set {:<w$} = {}",
            word(name, Place::SettingName),
            word(value, Place::Text),
            w = widths.name
        ),
        Statement::Alias { kind, name, items } => format!(
            "{:<k$} {:<n$} = {}",
            kind.keyword(),
            word(name, Place::AliasName),
            list(items, Place::Name),
            k = widths.keyword,
            n = widths.name
        ),
        Statement::Include { pattern, .. } => format!("include {}", word(pattern, Place::Text)),
        Statement::Rule(rule) => rule_line(rule),
        Statement::RuleLine { .. } => unreachable!("the formatter parses every line"),
        Statement::BrokenAlias(_) => unreachable!("only a line that does not parse leaves a broken alias"),
    }
}

fn rule_line(rule: &RuleAst) -> String {
    let mut parts: Vec<String> = Vec::new();
    parts.push(
        match rule.action {
            ActionAst::Permit => "permit",
            ActionAst::Deny => "deny",
            ActionAst::Grant => "grant",
        }
        .into(),
    );
    let mut options: Vec<&OptionAst> = rule.options.iter().collect();
    options.sort_by_key(|o| option_rank(o));
    parts.extend(options.into_iter().map(option));
    parts.push(list(&rule.subjects, Place::Name));
    // A grant reads `grant SUBJECTS group G`; an `as` there is an error, kept for `check` to report.
    if rule.action != ActionAst::Grant || rule.stray_as.is_some() {
        parts.push("as".into());
    }
    if let Some(users) = &rule.target_users {
        parts.push(format!("user {}", list(users, Place::Name)));
    }
    if let Some(groups) = &rule.target_groups {
        parts.push(format!("group {}", list(groups, Place::Name)));
    }
    let mut conditions: Vec<&ConditionAst> = rule.conditions.iter().collect();
    conditions.sort_by_key(|c| condition_rank(c));
    parts.extend(conditions.into_iter().map(condition));
    if let Some(command) = &rule.command {
        parts.push(command_text(command));
    }
    parts.join(" ")
}

fn option_rank(option: &OptionAst) -> u8 {
    match option {
        OptionAst::Nopass(_) => 0,
        OptionAst::Persist(..) => 1,
        OptionAst::Keepenv(_) => 2,
        OptionAst::Setenv(..) => 3,
        OptionAst::Chdir(..) => 4,
        OptionAst::Nolog(_) => 5,
    }
}

fn option(option: &OptionAst) -> String {
    match option {
        OptionAst::Nopass(_) => "nopass".into(),
        OptionAst::Persist(_, None) => "persist".into(),
        OptionAst::Persist(_, Some(duration)) => format!("persist={}", word(duration, Place::Text)),
        OptionAst::Keepenv(_) => "keepenv".into(),
        OptionAst::Chdir(_, None) => "chdir".into(),
        OptionAst::Chdir(_, Some(folder)) => format!("chdir={}", word(folder, Place::Text)),
        OptionAst::Setenv(_, items) if items.is_empty() => "setenv { }".into(),
        OptionAst::Setenv(_, items) => {
            let items: Vec<String> = items
                .iter()
                .map(|item| match item {
                    // `-NAME` is always bare: a quoted "-NAME" is a name to keep.
                    EnvItemAst::Unset(name) => format!("-{}", name.text),
                    EnvItemAst::Set(name, value) => {
                        format!("{}={}", word(name, Place::EnvName), word(value, Place::Text))
                    }
                    EnvItemAst::Keep(name) => word(name, Place::EnvName),
                })
                .collect();
            format!("setenv {{ {} }}", items.join(" "))
        }
        OptionAst::Nolog(_) => "nolog".into(),
    }
}

fn condition_rank(condition: &ConditionAst) -> u8 {
    match condition {
        ConditionAst::On(..) => 0,
        ConditionAst::Service(..) => 1,
        ConditionAst::When(..) => 2,
        ConditionAst::Until(..) => 3,
    }
}

fn condition(condition: &ConditionAst) -> String {
    match condition {
        ConditionAst::On(_, hosts) => format!("on {}", list(hosts, Place::Name)),
        ConditionAst::Service(_, services) => format!("service {}", list(services, Place::Text)),
        ConditionAst::When(_, first, None) => format!("when {}", list(first, Place::Text)),
        ConditionAst::When(_, days, Some(times)) => {
            format!("when {} {}", list(days, Place::Text), list(times, Place::Text))
        }
        ConditionAst::Until(_, end) => format!("until {}", word(end, Place::Text)),
    }
}

fn command_text(command: &CommandAst) -> String {
    let mut text = format!("cmd {}", word(&command.path, Place::Name));
    if let Some(args) = &command.args {
        text.push_str(" args");
        for arg in args {
            text.push(' ');
            text.push_str(&word(arg, Place::Arg));
        }
    }
    text
}

fn list(words: &[Word], place: Place) -> String {
    let words: Vec<String> = words.iter().map(|w| word(w, place)).collect();
    words.join(", ")
}

/// Where a word stands: it decides when quotes are needed, and when they mean something.
#[derive(Clone, Copy)]
enum Place {
    /// Subjects, targets, hosts, the `cmd` path, alias items: a bare
    /// UPPERCASE word is an alias and a bare `*` means any, quoted they are plain names.
    Name,
    /// The name an alias defines: quoting it is an error, which is kept.
    AliasName,
    /// The name of a setting, which may be a keyword.
    SettingName,
    /// A variable named in `setenv { ... }`, which must not look like `-NAME`.
    EnvName,
    /// A value read only for its text: settings, `include`, durations, services, days, times, dates.
    Text,
    /// An argument after `args`: a quoted `"*"` is a literal star.
    Arg,
}

/// A word as the canonical layout writes it: bare when it reads back bare
/// as the same word, with the same meaning; otherwise quoted. Words with a
/// blank or a control character are always quoted, so that none is lost to
/// an editor that trims lines or hidden from a reader.
fn word(word: &Word, place: Place) -> String {
    let text = word.text.as_str();
    let quotes_mean_something = match place {
        Place::Name => is_alias_name(text) || text == "*",
        Place::AliasName => true,
        Place::Arg => text == "*",
        Place::SettingName | Place::EnvName | Place::Text => false,
    };
    if quotes_mean_something {
        return if word.quoted { quote(text) } else { text.to_string() };
    }
    let bare = !text.chars().any(|c| c.is_whitespace() || c.is_control())
        && match place {
            Place::SettingName => reads_bare(WordPlace::SettingName, text),
            Place::Arg => reads_bare(WordPlace::Arg, text),
            Place::EnvName => !text.starts_with('-') && reads_bare(WordPlace::Word, text),
            _ => reads_bare(WordPlace::Word, text),
        };
    if bare { text.to_string() } else { quote(text) }
}

/// `text` between double quotes, with the four escapes `\"`, `\\`, `\n`, `\t`:
/// a word of the policy language that reads as exactly `text`.
pub fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(text: &str) -> String {
        let formatted =
            format_policy(Path::new("p"), text).unwrap_or_else(|d| panic!("{text:?} does not parse: {d:?}"));
        let again = format_policy(Path::new("p"), &formatted).expect("the formatted text parses");
        assert_eq!(again, formatted, "formatting {formatted:?} again changes it");
        formatted
    }

    #[test]
    fn words_are_separated_by_one_space_and_list_items_by_a_comma_and_a_space() {
        assert_eq!(
            fmt("permit\talice ,bob,%devs   as  group docker,  wheel\n"),
            "permit alice, bob, %devs as group docker, wheel\n"
        );
        assert_eq!(
            fmt("deny bob as user  u1,u2   group g1 ,g2\n"),
            "deny bob as user u1, u2 group g1, g2\n"
        );
        assert_eq!(
            fmt("grant %interns  group printers,scanners service sshd,login\n"),
            "grant %interns group printers, scanners service sshd, login\n"
        );
    }

    #[test]
    fn options_come_in_the_canonical_order() {
        assert_eq!(
            fmt("permit nolog setenv {A=1} keepenv persist=15m alice as user root\n"),
            "permit persist=15m keepenv setenv { A=1 } nolog alice as user root\n"
        );
        assert_eq!(
            fmt("permit nolog chdir=/srv/* keepenv alice as user root\npermit chdir alice as user root\n"),
            "permit keepenv chdir=/srv/* nolog alice as user root\npermit chdir alice as user root\n"
        );
        assert_eq!(
            fmt("permit nolog nopass alice as user root\n"),
            "permit nopass nolog alice as user root\n"
        );
    }

    #[test]
    fn conditions_come_in_the_canonical_order_then_the_command() {
        assert_eq!(
            fmt("permit a as group g until 2027-01-01 when Sat,Sun service su on h1,h2 cmd /bin/x args -v\n"),
            "permit a as group g on h1, h2 service su when Sat, Sun until 2027-01-01 cmd /bin/x args -v\n"
        );
        assert_eq!(
            fmt("permit a as group g when Mon-Fri   09:00-12:00,13:00-17:00\n"),
            "permit a as group g when Mon-Fri 09:00-12:00, 13:00-17:00\n"
        );
    }

    #[test]
    fn setenv_items_stand_between_braces_in_their_order() {
        assert_eq!(
            fmt("permit setenv{EDITOR = vi   -HOME LANG} a as user b\n"),
            "permit setenv { EDITOR=vi -HOME LANG } a as user b\n"
        );
        assert_eq!(fmt("permit setenv {} a as user b\n"), "permit setenv { } a as user b\n");
    }

    #[test]
    fn the_equals_signs_of_a_block_of_settings_line_up() {
        assert_eq!(
            fmt("set persist = 5m\nset passwd_tries=3\nset audit   =  required\n"),
            "set persist      = 5m\nset passwd_tries = 3\nset audit        = required\n"
        );
    }

    #[test]
    fn the_equals_signs_of_a_block_of_aliases_line_up() {
        assert_eq!(
            fmt("users ADMINS = alice,bob\ngroups BUILD=builders\ncommands PKG = /usr/bin/apt\n"),
            "users    ADMINS = alice, bob\ngroups   BUILD  = builders\ncommands PKG    = /usr/bin/apt\n"
        );
    }

    #[test]
    fn blocks_end_at_a_blank_line_a_comment_or_another_statement() {
        assert_eq!(
            fmt("set a = 1\nset longer = 2\n\nset bb = 3\n# c\nset ccc = 4\nusers X = a\nset d = 5\n"),
            "set a      = 1\nset longer = 2\n\nset bb = 3\n# c\nset ccc = 4\nusers X = a\nset d = 5\n"
        );
        assert_eq!(
            fmt("hosts WEB = w\npermit a as group g\ncommands LONGNAME = /x\n"),
            "hosts WEB = w\npermit a as group g\ncommands LONGNAME = /x\n"
        );
    }

    #[test]
    fn comments_stay_where_they_are() {
        assert_eq!(
            fmt("# head  \n   # indented\npermit a as group g   # why   \nset x = 1 # one\n"),
            "# head\n# indented\npermit a as group g  # why\nset x = 1  # one\n"
        );
        // Alignment is of the statements; comments follow them.
        assert_eq!(fmt("set a = 1 # x\nset bbb = 2\n"), "set a   = 1  # x\nset bbb = 2\n");
        assert_eq!(fmt("#\n#tight\n"), "#\n#tight\n");
    }

    #[test]
    fn blank_lines_are_kept_one_at_a_time_and_the_text_ends_with_one_line_break() {
        assert_eq!(
            fmt("\n\n\npermit a as group g\n\n\n\n# c\n \t \npermit b as group g\n\n\n"),
            "permit a as group g\n\n# c\n\npermit b as group g\n"
        );
        assert_eq!(fmt("permit a as group g"), "permit a as group g\n");
        assert_eq!(fmt(""), "");
        assert_eq!(fmt("\n \n\t\n"), "");
    }

    #[test]
    fn continued_lines_become_one_line_and_line_ends_become_plain() {
        assert_eq!(
            fmt("permit alice \\\n    as group docker \\\n    cmd /usr/bin/docker\n"),
            "permit alice as group docker cmd /usr/bin/docker\n"
        );
        assert_eq!(
            fmt("permit alice as group docker \\\n  # the comment of the rule\n"),
            "permit alice as group docker  # the comment of the rule\n"
        );
        assert_eq!(
            fmt("set a = 1\r\n# c\r\npermit a as \\\r\n group g\r\n"),
            "set a = 1\n# c\npermit a as group g\n"
        );
    }

    #[test]
    fn quotes_are_dropped_where_they_are_not_needed() {
        assert_eq!(
            fmt(
                "set timezone = \"UTC\"\ninclude \"policy.d/*.conf\"\npermit \"alice\" as group \"docker\" cmd \"/bin/x\" args \"-v\" \"a,b\"\n"
            ),
            "set timezone = UTC\ninclude policy.d/*.conf\npermit alice as group docker cmd /bin/x args -v a,b\n"
        );
        assert_eq!(
            fmt(
                "permit persist=\"15m\" setenv { \"A\"=\"1\" \"B\" } a as user b service \"su\" when \"Sat\" until \"2027-01-01\"\n"
            ),
            "permit persist=15m setenv { A=1 B } a as user b service su when Sat until 2027-01-01\n"
        );
        // A setting's name may be a keyword; a statement keyword is a plain name elsewhere.
        assert_eq!(fmt("set \"persist\" = 5m\n"), "set persist = 5m\n");
        assert_eq!(fmt("permit a as group \"users\"\n"), "permit a as group users\n");
    }

    #[test]
    fn quotes_stay_where_they_are_needed() {
        for kept in [
            "permit \"as\" as group \"cmd\"",
            "permit \"jo hn\" as group \"a,b\"",
            "permit \"#hash\" as group \"back\\\\\"",
            "permit \"\" as group \"{x}\"",
            "permit \"tab\\there\" as group \"new\\nline\"",
            "permit \"say \\\"hi\\\"\" as group g",
            "set env_keep = \"LANG TZ\"",
            "permit a as group g cmd /bin/x args \"two words\" \"#x\" \"\"",
            "permit setenv { \"-X\"=1 \"-Y\" A=\"x y\" } a as user b",
        ] {
            assert_eq!(fmt(kept), format!("{kept}\n"));
        }
        // A form feed is a bare word's character, but an invisible one.
        assert_eq!(fmt("permit a\u{c}b as group g\n"), "permit \"a\u{c}b\" as group g\n");
        // A bare word ending in `\` would continue the line if it came last.
        assert_eq!(
            fmt("permit a as group g service su\\ on h\n"),
            "permit a as group g on h service \"su\\\\\"\n"
        );
    }

    #[test]
    fn quotes_that_change_the_meaning_are_kept() {
        // Quoted, an UPPERCASE word is a plain name, not an alias; `"*"` is a name, not "anyone".
        assert_eq!(
            fmt("permit \"ADMINS\", \"*\" as user \"ROOT\" on \"WEB\" cmd \"PKG\" args \"*\"\n"),
            "permit \"ADMINS\", \"*\" as user \"ROOT\" on \"WEB\" cmd \"PKG\" args \"*\"\n"
        );
        assert_eq!(
            fmt("permit ADMINS, * as user * cmd PKG args *\n"),
            "permit ADMINS, * as user * cmd PKG args *\n"
        );
        assert_eq!(fmt("users X = \"Y\", Z\n"), "users X = \"Y\", Z\n");
        // An alias name must not be quoted: formatting keeps that error for `check` to report.
        assert_eq!(fmt("users \"ADMINS\" = a\n"), "users \"ADMINS\" = a\n");
        // Where only the text counts, UPPERCASE needs no quotes.
        assert_eq!(fmt("set timezone = \"UTC\"\n"), "set timezone = UTC\n");
    }

    #[test]
    fn what_only_check_rejects_is_formatted_as_it_stands() {
        assert_eq!(
            fmt("grant  a as group g cmd /x\ndeny nopass a as group g when Sat when Sun\n"),
            "grant a as group g cmd /x\ndeny nopass a as group g when Sat when Sun\n"
        );
    }

    #[test]
    fn a_file_that_does_not_parse_is_not_formatted() {
        let errors = format_policy(Path::new("p"), "permit a as group g\npermt b as group g\n").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].message, "unknown statement `permt`");
        assert_eq!(errors[0].position.as_ref().map(|p| p.line), Some(2));
        assert!(format_policy(Path::new("p"), "permit a as group \"\\q\"\n").is_err());
        assert!(format_policy(Path::new("p"), "permit a as group g \\\n").is_err());
    }
}
