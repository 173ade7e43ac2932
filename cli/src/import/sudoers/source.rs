//! The sudoers files: includes followed as sudo follows them, and the
//! logical lines (continuations joined, comments cut).

use super::*;

/// One logical line: `\`-continued lines joined, the comment removed.
pub(super) struct Line {
    pub(super) file: PathBuf,
    /// `sudoers` for the main file, the path for an included one.
    pub(super) label: String,
    pub(super) number: usize,
    pub(super) text: String,
}

impl Line {
    /// Where the line is, for a setting it makes.
    pub(super) fn at(&self) -> (PathBuf, usize) {
        (self.file.clone(), self.number)
    }

    pub(super) fn error(&self, message: impl Into<String>) -> SourceError {
        SourceError::Syntax {
            file: self.file.clone(),
            line: self.number,
            message: message.into(),
        }
    }
}

/// Reads `path` and, where its include lines stand, the files they name.
pub(super) fn collect(
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
            let argument = unquote(strip_include_comment(trimmed[directive.len()..].trim()).trim());
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

/// The argument of an include line without its comment: sudo reads the
/// path as one word, `#` and all, so a comment begins a word.
fn strip_include_comment(argument: &str) -> String {
    let chars: Vec<char> = argument.chars().collect();
    let (mut quoted, mut escaped) = (false, false);
    for (i, &c) in chars.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '#' if !quoted && (i == 0 || chars[i - 1].is_whitespace()) => return chars[..i].iter().collect(),
            _ => {}
        }
    }
    argument.to_string()
}

/// Where sudo's reader is in a line, for what a `#` means there.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lexing {
    /// Names, tags, `Defaults` settings: `"` starts a string.
    Words,
    /// A `"..."` string: `#` is text.
    Quoted,
    /// A command's path and arguments, up to `,` or `:` (sudo 1.9 reads
    /// `env A=B` as one command): `"` is text.
    Command,
}

/// The line without its comment, as sudo's reader finds it: an unescaped
/// `#` outside a string starts one wherever it stands, in the middle of a
/// word too (`/usr/bin/env#x, /usr/bin/true` permits `env` alone), and a
/// command's arguments are no string (`echo "a#b"` is `echo "a`); only a
/// `#` followed by a digit outside a command is an id (`#1000`, `%#1000`).
fn strip_comment(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let defaults = line.trim_start().starts_with("Defaults");
    let mut state = Lexing::Words;
    let mut escaped = false;
    for (i, &c) in chars.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        let id = || {
            let next = chars.get(i + 1).copied();
            let after = chars.get(i + 2).copied();
            next.is_some_and(|n| n.is_ascii_digit()) || (next == Some('-') && after.is_some_and(|a| a.is_ascii_digit()))
        };
        match (state, c) {
            (_, '\\') => escaped = true,
            (Lexing::Quoted, '"') => state = Lexing::Words,
            (Lexing::Quoted, _) => {}
            (Lexing::Command, '#') => return chars[..i].iter().collect(),
            (Lexing::Command, ',' | ':') => state = Lexing::Words,
            (Lexing::Command, _) => {}
            (Lexing::Words, '"') => state = Lexing::Quoted,
            (Lexing::Words, '#') if !id() => return chars[..i].iter().collect(),
            (Lexing::Words, '/' | 's') if !defaults && starts_command(&chars, i) => state = Lexing::Command,
            (Lexing::Words, _) => {}
        }
    }
    line.to_string()
}

/// Whether a command starts at `i`: a path (not a folder, which takes no
/// arguments) or `sudoedit`, at the start of a word.
fn starts_command(chars: &[char], i: usize) -> bool {
    let at_word_start = i == 0 || chars[i - 1].is_whitespace() || "=,:!()>".contains(chars[i - 1]);
    if !at_word_start {
        return false;
    }
    let word: String = chars[i..]
        .iter()
        .take_while(|c| !c.is_whitespace() && !",:=#".contains(**c))
        .collect();
    if chars[i] == '/' {
        !word.ends_with('/')
    } else {
        word == "sudoedit"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_start_where_sudo_starts_them_but_ids_do_not() {
        assert_eq!(strip_comment("alice ALL = ALL # note"), "alice ALL = ALL ");
        assert_eq!(strip_comment("#1000 ALL = ALL"), "#1000 ALL = ALL");
        assert_eq!(strip_comment("%#1000 ALL = (#0) ALL"), "%#1000 ALL = (#0) ALL");
        assert_eq!(strip_comment("Defaults x=\"a # b\""), "Defaults x=\"a # b\"");
        assert_eq!(strip_comment("Defaults!/bin/a x=\"#\""), "Defaults!/bin/a x=\"#\"");
        // In the middle of a word, a path or arguments, as sudo 1.9 reads it.
        assert_eq!(
            strip_comment("alice ALL = /usr/bin/env#x, /usr/bin/true"),
            "alice ALL = /usr/bin/env"
        );
        assert_eq!(
            strip_comment("alice ALL = /usr/bin/echo a#b, /bin/id"),
            "alice ALL = /usr/bin/echo a"
        );
        assert_eq!(strip_comment("alice#x ALL = ALL"), "alice");
        // A command's arguments are no string: the quote does not hide the comment.
        assert_eq!(
            strip_comment("alice ALL = /usr/bin/echo \", /usr/bin/id # was: , /usr/bin/bash"),
            "alice ALL = /usr/bin/echo \", /usr/bin/id "
        );
        assert_eq!(
            strip_comment("alice ALL = /usr/bin/env A=\" #, /usr/bin/id \""),
            "alice ALL = /usr/bin/env A=\" "
        );
        assert_eq!(
            strip_comment("alice ALL = /usr/bin/printf x\\#y"),
            "alice ALL = /usr/bin/printf x\\#y"
        );
        assert_eq!(strip_comment("\"al#ice\" ALL = ALL"), "\"al#ice\" ALL = ALL");
        assert_eq!(
            strip_include_comment("/etc/sudoers.d/a#b # note"),
            "/etc/sudoers.d/a#b "
        );
    }

    #[test]
    fn continued_lines_join_and_keep_their_first_number() {
        assert_eq!(
            logical_lines("a \\\nb\nc\\\\\nd"),
            vec![(1, "a  b".to_string()), (3, "c\\\\".to_string()), (4, "d".to_string())]
        );
    }
}
