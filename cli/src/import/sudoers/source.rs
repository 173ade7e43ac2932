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

#[cfg(test)]
mod tests {
    use super::*;

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
}
