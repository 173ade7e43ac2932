//! Diagnostics: `FILE:LINE:COL: error: MESSAGE`, the source line and a caret.

use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a problem is: any error means the policy grants nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// What a diagnostic is about: the policy, or the process that read it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DiagnosticKind {
    /// Something in the policy or its files, for the administrator to fix there.
    #[default]
    Policy,
    /// The process ran out of stack while reading: its stack limit
    /// (`ulimit -s`) is too small, and nothing is known about the text.
    OutOfStack,
}

/// A place in a policy file, resolved for display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
    /// The whole physical source line, without its line break.
    pub source_line: String,
    /// How many characters the caret underlines (at least 1).
    pub width: u32,
}

/// One problem found in a policy, ready to be shown to an administrator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    /// `None` for problems with a whole file (missing, insecure).
    pub position: Option<Position>,
    pub message: String,
    pub hint: Option<String>,
    pub kind: DiagnosticKind,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        let severity = self.severity.as_str();
        let Some(pos) = &self.position else {
            writeln!(f, "{file}: {severity}: {}", self.message)?;
            if let Some(hint) = &self.hint {
                writeln!(f, "  = hint: {hint}")?;
            }
            return Ok(());
        };
        writeln!(f, "{file}:{}:{}: {severity}: {}", pos.line, pos.column, self.message)?;
        let gutter = pos.line.to_string().len();
        let shown: String = pos
            .source_line
            .chars()
            .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
            .collect();
        writeln!(f, "{:gutter$} |", "")?;
        writeln!(f, "{} | {shown}", pos.line)?;
        // Tabs are kept under the caret so that it lines up in a terminal.
        let pad: String = pos
            .source_line
            .chars()
            .take(pos.column as usize - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        writeln!(f, "{:gutter$} | {pad}{}", "", "^".repeat(pos.width as usize))?;
        if let Some(hint) = &self.hint {
            writeln!(f, "{:gutter$} = hint: {hint}", "")?;
        }
        Ok(())
    }
}

/// The text of every file read while loading a policy; spans point into it.
#[derive(Debug, Default)]
pub(crate) struct Sources {
    files: Vec<(PathBuf, String)>,
    /// For each file, the offset where each line starts: line numbers by binary search.
    line_starts: Vec<Vec<u32>>,
}

/// A byte range in one of the [`Sources`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Span {
    pub file: u32,
    pub start: u32,
    pub end: u32,
}

impl Sources {
    pub fn add(&mut self, path: PathBuf, text: String) -> u32 {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i as u32 + 1))
            .collect();
        self.line_starts.push(starts);
        self.files.push((path, text));
        (self.files.len() - 1) as u32
    }

    /// Every file read, in the order it was first read.
    pub fn paths(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = Vec::new();
        for (path, _) in &self.files {
            if !paths.contains(path) {
                paths.push(path.clone());
            }
        }
        paths
    }

    /// How many files were added.
    pub fn count(&self) -> usize {
        self.files.len()
    }

    pub fn path(&self, file: u32) -> &Path {
        &self.files[file as usize].0
    }

    pub fn text(&self, file: u32) -> &str {
        &self.files[file as usize].1
    }

    pub fn slice(&self, span: Span) -> &str {
        &self.text(span.file)[span.start as usize..span.end as usize]
    }

    /// 1-based line number of a byte offset.
    pub fn line_of(&self, file: u32, offset: u32) -> u32 {
        let offset = offset.min(self.text(file).len() as u32);
        // The number of line starts at or before the offset is its line number.
        self.line_starts[file as usize].partition_point(|&start| start <= offset) as u32
    }

    pub fn position(&self, span: Span) -> Position {
        let text = self.text(span.file);
        let start = (span.start as usize).min(text.len());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let source_line = text[line_start..line_end].trim_end_matches('\r');
        // A span may start among the carriage returns trimmed off the shown
        // line (`\` then `\r\r\n`): point just past the line's end instead.
        let shown_end = line_start + source_line.len();
        let start = start.min(shown_end);
        let column = text[line_start..start].chars().count() as u32 + 1;
        // A span that runs past its line (a continued statement) is underlined to the line's end.
        let end = (span.end as usize).clamp(start, shown_end);
        let width = (text[start..end].chars().count() as u32).max(1);
        Position {
            line: self.line_of(span.file, span.start),
            column,
            source_line: source_line.to_string(),
            width,
        }
    }
}

/// Collects diagnostics while a policy is read and compiled.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    pub diagnostics: Vec<(Option<Span>, Diagnostic)>,
}

impl Collector {
    pub fn at(&mut self, sources: &Sources, severity: Severity, span: Span, message: String, hint: Option<String>) {
        let diagnostic = Diagnostic {
            severity,
            file: sources.path(span.file).to_path_buf(),
            position: Some(sources.position(span)),
            message,
            hint,
            kind: DiagnosticKind::Policy,
        };
        self.diagnostics.push((Some(span), diagnostic));
    }

    pub fn file(&mut self, severity: Severity, path: &Path, message: String, hint: Option<String>) {
        let diagnostic = Diagnostic {
            severity,
            file: path.to_path_buf(),
            position: None,
            message,
            hint,
            kind: DiagnosticKind::Policy,
        };
        self.diagnostics.push((None, diagnostic));
    }

    /// The parser gave up for want of stack while reading `file` (which
    /// holds `what`): one error for the whole run, and no other is worth
    /// reporting, since every line after it would fail the same way.
    pub fn out_of_stack(&mut self, path: &Path, what: &str) {
        if self.out_of_stack_found() {
            return;
        }
        let diagnostic = Diagnostic {
            severity: Severity::Error,
            file: path.to_path_buf(),
            position: None,
            message: format!("out of stack space while reading {what}; the stack limit (`ulimit -s`) is too small"),
            hint: Some(format!(
                "raise it (8192 KiB is the usual default) and try again; {what} itself was not checked"
            )),
            kind: DiagnosticKind::OutOfStack,
        };
        self.diagnostics.push((None, diagnostic));
    }

    /// Only the out-of-stack error: what else was found before it is not worth reporting.
    pub fn into_out_of_stack(self) -> Vec<Diagnostic> {
        self.diagnostics
            .into_iter()
            .map(|(_, d)| d)
            .filter(|d| d.kind == DiagnosticKind::OutOfStack)
            .collect()
    }

    pub fn out_of_stack_found(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|(_, d)| d.kind == DiagnosticKind::OutOfStack)
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|(_, d)| d.is_error())
    }

    /// The diagnostics in reading order: by file as first read, then by place.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.diagnostics
            .sort_by_key(|(span, _)| span.map(|s| (s.file, s.start)));
        self.diagnostics.into_iter().map(|(_, d)| d).collect()
    }
}

/// The closest of `candidates` to `word`, when it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Comparing costs the product of the lengths: a word of a million
    // characters is no typo of a keyword, and must not cost a million squared.
    const LONGEST: usize = 64;
    let length = word.chars().count();
    if length > LONGEST {
        return None;
    }
    let limit = (length / 3).max(1);
    let word = word.to_lowercase();
    let word_length = word.chars().count();
    candidates
        .into_iter()
        .filter(|c| c.len() <= LONGEST * 4)
        .map(|c| (c.to_lowercase(), c))
        // Words whose lengths differ by more than the limit are further
        // apart than it: no need to compare them.
        .filter(|(lower, _)| lower.chars().count().abs_diff(word_length) <= limit)
        .map(|(lower, c)| (edit_distance(&word, &lower), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Edits between two words, a swap of neighbours counting as one (Damerau).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keywords_only() {
        let keywords = ["permit", "deny", "grant"];
        assert_eq!(did_you_mean("permt", keywords), Some("permit"));
        assert_eq!(did_you_mean("Deny", keywords), Some("deny"));
        assert_eq!(did_you_mean("frobnicate", keywords), None);
        assert_eq!(did_you_mean("sa", ["as", "user"]), Some("as"), "a swap is one edit");
    }

    #[test]
    fn position_counts_characters_not_bytes() {
        let mut sources = Sources::default();
        let file = sources.add("p".into(), "# é\npermit é x\n".into());
        let offset = "# é\npermit é ".len() as u32;
        let pos = sources.position(Span {
            file,
            start: offset,
            end: offset + 1,
        });
        assert_eq!((pos.line, pos.column, pos.width), (2, 10, 1));
        assert_eq!(pos.source_line, "permit é x");
    }
}
