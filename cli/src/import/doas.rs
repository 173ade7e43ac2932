//! doas.conf to newgate.
//!
//! doas.conf is already close to the newgate language: one rule a line,
//! options after the action, the last matching rule decides. What differs:
//! - `:group` is `%group`; a rule without `as` is `as user *`;
//! - doas compares the command as typed, newgate the program a name
//!   resolves to: a rule whose command is not an absolute path in a folder
//!   that is its own real path cannot be kept exactly (a deny covers the
//!   program it resolves to, or every command; a permit becomes that deny);
//! - `setenv { A=$B }` copies a variable in doas, newgate has no such form;
//! - `persist` is 5 minutes in OpenDoas.
//!
//! The reader follows OpenDoas's grammar: words separated by blanks, `"`
//! quotes, `\` escapes and line continuations, `#` comments, `{` `}`.

use std::path::{Path, PathBuf};

use super::output::{Action, Args, Block, Command, Draft, Item, Options, Report, Rule, Target, Term};
use super::{SourceError, read_source};

/// OpenDoas remembers an authentication for 5 minutes.
const PERSIST_MINUTES: u64 = 5;

pub(crate) fn convert(path: &Path) -> Result<(Draft, Report), SourceError> {
    let text = read_source(path)?;
    let mut report = Report {
        files: vec![path.to_path_buf()],
        items: Vec::new(),
    };
    let mut draft = Draft::default();
    for (line, words) in lines(path, &text)? {
        let parsed = parse(path, line, &words)?;
        let converted = match convert_rule(path, line, &parsed, &mut report) {
            // The last match decides: left out, the permit would hand its
            // requests to an earlier, perhaps looser rule (`nopass`). A deny
            // of what it covers takes its place; the report already says why.
            None if parsed.action == Action::Permit => {
                let denied = Parsed {
                    action: Action::Deny,
                    ..parsed
                };
                convert_rule(path, line, &denied, &mut Report::default())
            }
            converted => converted,
        };
        if let Some(rule) = converted {
            draft.blocks.push(Block {
                from: format!("doas.conf:{line}"),
                file: path.to_path_buf(),
                line,
                rules: vec![rule],
            });
        }
    }
    Ok((draft, report))
}

/// A token: a word (`quoted` when any part of it was), or `{` / `}`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word { text: String, quoted: bool },
    Open,
    Close,
}

fn syntax(path: &Path, line: usize, message: impl Into<String>) -> SourceError {
    SourceError::Syntax {
        file: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// The rules of the file: each line's tokens, with the number of the line
/// the rule starts on; empty lines and comments dropped.
fn lines(path: &Path, text: &str) -> Result<Vec<(usize, Vec<Token>)>, SourceError> {
    let mut rules = Vec::new();
    let mut tokens = Vec::new();
    let mut start = 1;
    let mut number = 1;
    let mut chars = text.chars().peekable();
    let mut word: Option<(String, bool)> = None;
    // OpenDoas reads the word after a `\` line continuation as a name,
    // never a keyword, even when the continuation stood before it.
    let mut continued = false;
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                finish(&mut word, &mut tokens, &mut continued);
                if !tokens.is_empty() {
                    rules.push((start, std::mem::take(&mut tokens)));
                }
                number += 1;
                start = number;
            }
            ' ' | '\t' | '\r' => finish(&mut word, &mut tokens, &mut continued),
            '#' => {
                finish(&mut word, &mut tokens, &mut continued);
                while chars.next_if(|&c| c != '\n').is_some() {}
            }
            '{' | '}' if word.is_none() => tokens.push(if c == '{' { Token::Open } else { Token::Close }),
            '{' | '}' => {
                finish(&mut word, &mut tokens, &mut continued);
                tokens.push(if c == '{' { Token::Open } else { Token::Close });
            }
            '\\' => match chars.next() {
                // Within a word: the word goes on on the next line.
                Some('\n') => {
                    continued = true;
                    number += 1;
                }
                Some(escaped) => word.get_or_insert_with(|| (String::new(), false)).0.push(escaped),
                None => return Err(syntax(path, number, "a `\\` at the end of the file")),
            },
            '"' => {
                let entry = word.get_or_insert_with(|| (String::new(), true));
                entry.1 = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('\n') => number += 1,
                            Some(escaped) => entry.0.push(escaped),
                            None => return Err(syntax(path, start, "an unterminated quoted string")),
                        },
                        Some('\n') | None => return Err(syntax(path, start, "an unterminated quoted string")),
                        Some(c) => entry.0.push(c),
                    }
                }
            }
            c => word.get_or_insert_with(|| (String::new(), false)).0.push(c),
        }
    }
    finish(&mut word, &mut tokens, &mut continued);
    if !tokens.is_empty() {
        rules.push((start, tokens));
    }
    Ok(rules)
}

fn finish(word: &mut Option<(String, bool)>, tokens: &mut Vec<Token>, continued: &mut bool) {
    if let Some((text, quoted)) = word.take() {
        tokens.push(Token::Word {
            text,
            quoted: quoted || *continued,
        });
        *continued = false;
    }
}

/// What a permit that cannot be carried over becomes.
const DENIED_INSTEAD: &str = "the requests it covers are denied";

/// One doas rule as written.
struct Parsed {
    action: Action,
    nopass: bool,
    persist: bool,
    keepenv: bool,
    nolog: bool,
    setenv: Vec<String>,
    identity: String,
    target: Option<String>,
    command: Option<String>,
    args: Option<Vec<String>>,
}

fn parse(path: &Path, line: usize, tokens: &[Token]) -> Result<Parsed, SourceError> {
    let error = |message: String| syntax(path, line, message);
    let mut at = 0;
    // A keyword is a bare word; a quoted one is a name.
    let keyword = |at: usize| match tokens.get(at) {
        Some(Token::Word { text, quoted: false }) => Some(text.as_str()),
        _ => None,
    };
    let word = |at: usize, what: &str| match tokens.get(at) {
        Some(Token::Word { text, .. }) => Ok(text.clone()),
        _ => Err(error(format!("expected {what}"))),
    };
    let action = match keyword(0) {
        Some("permit") => Action::Permit,
        Some("deny") => Action::Deny,
        _ => return Err(error("a rule starts with `permit` or `deny`".into())),
    };
    at += 1;
    let mut parsed = Parsed {
        action,
        nopass: false,
        persist: false,
        keepenv: false,
        nolog: false,
        setenv: Vec::new(),
        identity: String::new(),
        target: None,
        command: None,
        args: None,
    };
    if action == Action::Permit {
        loop {
            match keyword(at) {
                Some("nopass") => parsed.nopass = true,
                Some("persist") => parsed.persist = true,
                Some("keepenv") => parsed.keepenv = true,
                Some("nolog") => parsed.nolog = true,
                Some("setenv") => {
                    if tokens.get(at + 1) != Some(&Token::Open) {
                        return Err(error("`setenv` is followed by `{`".into()));
                    }
                    at += 2;
                    loop {
                        match tokens.get(at) {
                            Some(Token::Close) => break,
                            Some(Token::Word { text, .. }) => parsed.setenv.push(text.clone()),
                            _ => return Err(error("`setenv {` is not closed by `}`".into())),
                        }
                        at += 1;
                    }
                }
                _ => break,
            }
            at += 1;
        }
        if parsed.nopass && parsed.persist {
            return Err(error("`nopass` and `persist` cannot be combined".into()));
        }
    }
    parsed.identity = word(at, "a user or :group")?;
    at += 1;
    if keyword(at) == Some("as") {
        parsed.target = Some(word(at + 1, "a user after `as`")?);
        at += 2;
    }
    if keyword(at) == Some("cmd") {
        parsed.command = Some(word(at + 1, "a command after `cmd`")?);
        at += 2;
        if keyword(at) == Some("args") {
            at += 1;
            let mut args = Vec::new();
            while let Some(Token::Word { text, .. }) = tokens.get(at) {
                args.push(text.clone());
                at += 1;
            }
            parsed.args = Some(args);
        }
    }
    if at < tokens.len() {
        return Err(error(format!("unexpected `{}`", shown(&tokens[at]))));
    }
    Ok(parsed)
}

fn shown(token: &Token) -> &str {
    match token {
        Token::Word { text, .. } => text,
        Token::Open => "{",
        Token::Close => "}",
    }
}

fn item<'r>(
    report: &'r mut Report,
    path: &Path,
    line: usize,
    kind: &'static str,
    what: String,
    why: &str,
    instead: &str,
) -> &'r mut Item {
    report.add(PathBuf::from(path), line, kind, what, why, instead)
}

/// A user given by name or number, as doas reads it.
fn user_name(text: &str) -> Option<String> {
    match text.parse::<u32>() {
        Ok(uid) => nix::unistd::User::from_uid(uid.into()).ok().flatten().map(|u| u.name),
        Err(_) => Some(text.to_string()),
    }
}

fn group_name(text: &str) -> Option<String> {
    match text.parse::<u32>() {
        Ok(gid) => nix::unistd::Group::from_gid(gid.into()).ok().flatten().map(|g| g.name),
        Err(_) => Some(text.to_string()),
    }
}

/// The rule of one doas rule; `None` for a permit newgate cannot hold.
fn convert_rule(path: &Path, line: usize, parsed: &Parsed, report: &mut Report) -> Option<Rule> {
    let action = parsed.action;
    let subject = match parsed.identity.strip_prefix(':') {
        Some(group) => group_name(group).map(Term::Members),
        None => user_name(&parsed.identity).map(Term::Name),
    };
    let subject = match subject {
        Some(s) => s,
        None => {
            let instead = match action {
                Action::Permit => DENIED_INSTEAD,
                Action::Deny => "the rule denies everyone",
            };
            item(
                report,
                path,
                line,
                "user",
                format!("the id `{}`", parsed.identity),
                "it has no name on this machine, and newgate matches names",
                instead,
            );
            if action == Action::Permit {
                return None;
            }
            Term::Any
        }
    };
    let users = match &subject {
        Term::Name(n) => Some(vec![n.clone()]),
        Term::Members(g) => Some(vec![format!("%{g}")]),
        _ => None,
    };
    let target = match &parsed.target {
        None => Term::Any,
        Some(t) => match user_name(t) {
            Some(name) => Term::Name(name),
            None => {
                let added = item(
                    report,
                    path,
                    line,
                    "runas",
                    format!("the target id `{t}`"),
                    "it has no name on this machine",
                    if action == Action::Permit {
                        DENIED_INSTEAD
                    } else {
                        "the rule denies every target"
                    },
                );
                added.users = users.clone();
                if action == Action::Permit {
                    return None;
                }
                Term::Any
            }
        },
    };
    let command = match &parsed.command {
        None => None,
        Some(command) => {
            let exact = exact_path(command);
            match (exact, action) {
                (Some(path), _) => Some(Command {
                    path: Term::Name(path),
                    args: parsed.args.clone().map(|words| Args { words, rest: false }),
                }),
                (None, Action::Permit) => {
                    let added = item(
                        report,
                        path,
                        line,
                        "command",
                        format!("`cmd {command}`"),
                        "doas compares the command as typed, newgate the program it resolves to, and only an absolute path in a real folder means the same to both",
                        DENIED_INSTEAD,
                    );
                    added.users = users.clone();
                    added.command = Some(command.clone());
                    return None;
                }
                (None, Action::Deny) => {
                    let resolved = resolved_path(command);
                    let added = item(
                        report,
                        path,
                        line,
                        "command",
                        format!("`cmd {command}`"),
                        "doas compares the command as typed, newgate the program it resolves to",
                        match resolved {
                            Some(_) => "the rule denies the program by its real path, however it is typed",
                            None => "the rule denies every command",
                        },
                    );
                    added.users = users.clone();
                    resolved.map(|p| Command {
                        path: Term::Name(p),
                        args: parsed.args.clone().map(|words| Args { words, rest: false }),
                    })
                }
            }
        }
    };
    let mut options = Options::default();
    if action == Action::Permit {
        options.nopass = parsed.nopass;
        options.persist = parsed.persist.then_some(PERSIST_MINUTES);
        options.keepenv = parsed.keepenv;
        options.nolog = parsed.nolog;
        for entry in &parsed.setenv {
            match entry.split_once('=') {
                Some((name, value)) if value.starts_with('$') => {
                    let added = item(
                        report,
                        path,
                        line,
                        "ignored",
                        format!("setenv {name}={value}"),
                        "doas copies the caller's variable; newgate sets values literally",
                        "the variable is not set",
                    );
                    added.users = users.clone();
                    options.setenv.push(format!("-{name}"));
                }
                Some((name, value)) => options.setenv.push(format!(
                    "{}={}",
                    super::output::quote(name),
                    super::output::quote(value)
                )),
                None => match entry.strip_prefix('-') {
                    Some(name) => options.setenv.push(format!("-{name}")),
                    None => options.setenv.push(super::output::quote(entry)),
                },
            }
        }
    }
    Some(Rule {
        action,
        options,
        subjects: vec![subject],
        target: Target::Users(vec![target]),
        hosts: None,
        until: None,
        command,
    })
}

/// The command as newgate names it, when that is exactly what doas
/// compares: an absolute path without wildcards whose folder is its own
/// real path (on a merged-/usr system `/bin/ls` is not: newgate sees
/// `/usr/bin/ls`, doas the text `/bin/ls`).
fn exact_path(command: &str) -> Option<String> {
    if !command.starts_with('/') || command.contains(['*', '?', '[', '\\']) {
        return None;
    }
    let (folder, name) = command.rsplit_once('/')?;
    let folder = if folder.is_empty() { "/" } else { folder };
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    match std::fs::canonicalize(folder) {
        Ok(real) if real == Path::new(folder) => Some(command.to_string()),
        // A folder that is not on this machine: as written.
        Err(_) => Some(command.to_string()),
        Ok(_) => None,
    }
}

/// An absolute path with its folder resolved, or a bare name as found in
/// the default secure_path: the program as newgate sees it.
fn resolved_path(command: &str) -> Option<String> {
    if command.contains(['*', '?', '[', '\\']) {
        return None;
    }
    let Some((folder, name)) = command.rsplit_once('/') else {
        // A bare name is the program `newgate NAME` runs under the converted
        // policy's secure_path (the default), found as the runner finds it.
        let secure_path = newgate_policy::Settings::default().secure_path;
        return crate::resolve::resolve_command(command, &secure_path, Path::new("/"))
            .ok()
            .map(|found| found.display().to_string());
    };
    if !command.starts_with('/') || name.is_empty() {
        return None;
    }
    let real = std::fs::canonicalize(if folder.is_empty() { "/" } else { folder }).ok()?;
    Some(real.join(name).display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<Vec<String>> {
        lines(Path::new("doas.conf"), text)
            .unwrap()
            .into_iter()
            .map(|(_, tokens)| tokens.iter().map(|t| shown(t).to_string()).collect())
            .collect()
    }

    #[test]
    fn tokens_follow_the_doas_grammar() {
        assert_eq!(
            words("permit setenv{A=1 -B} alice # note\n\ndeny \"bob smith\" cmd /x args a\\ b \\\n c d\\\ne\n"),
            vec![
                vec!["permit", "setenv", "{", "A=1", "-B", "}", "alice"],
                vec!["deny", "bob smith", "cmd", "/x", "args", "a b", "c", "de"],
            ]
        );
        assert!(lines(Path::new("doas.conf"), "permit \"alice\n").is_err());
    }

    #[test]
    fn a_word_after_a_continuation_is_never_a_keyword() {
        let tokens = lines(Path::new("d"), "permit alice cmd /x \\\n args\n").unwrap();
        assert!(parse(Path::new("d"), 1, &tokens[0].1).is_err());
    }

    #[test]
    fn a_quoted_keyword_is_a_name() {
        let tokens = lines(Path::new("d"), "permit \"nopass\" as root\n").unwrap();
        let parsed = parse(Path::new("d"), 1, &tokens[0].1).unwrap();
        assert!(!parsed.nopass);
        assert_eq!(parsed.identity, "nopass");
    }
}
