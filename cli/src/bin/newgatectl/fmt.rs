//! `newgatectl fmt`: lay policy files out the canonical way (docs/newgatectl.md).
//!
//! The layout itself is `newgate_policy::format_policy`; this is the command
//! around it: files rewritten in place (atomically, only when they change),
//! standard input to standard output, and `--check` with a diff.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use lexopt::prelude::*;
use newgate_policy::{Diagnostic, format_policy};

use crate::Failure;

/// `newgatectl fmt [--check] [FILE...]`: exit 0 when every file is (now)
/// formatted, 1 when one is invalid, cannot be read or written, or (with
/// `--check`) is not formatted.
pub fn run(mut parser: lexopt::Parser) -> Result<u8, Failure> {
    let mut check = false;
    let mut files = Vec::new();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("check") => check = true,
            Value(v) => files.push(PathBuf::from(v)),
            other => return Err(other.unexpected().into()),
        }
    }
    crate::edit::report_file_size_limit()?;
    if files.is_empty() {
        return Ok(u8::from(!standard_input(check)));
    }
    let mut all_ok = true;
    for file in &files {
        all_ok &= one_file(file, check);
    }
    Ok(u8::from(!all_ok))
}

/// Formats standard input to standard output (or, with `--check`, prints
/// the diff); false when the text is invalid or, with `--check`, not formatted.
fn standard_input(check: bool) -> bool {
    let name = Path::new("<stdin>");
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("newgatectl: cannot read the standard input: {e}");
        return false;
    }
    let formatted = match format_policy(name, &text) {
        Ok(formatted) => formatted,
        Err(diagnostics) => return refuse(name, &diagnostics),
    };
    if check {
        return report_difference(name, &text, &formatted);
    }
    match std::io::stdout().lock().write_all(formatted.as_bytes()) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("newgatectl: cannot write the standard output: {e}");
            false
        }
    }
}

/// Formats one file in place (or, with `--check`, prints the diff); false on
/// any problem, which is reported.
fn one_file(path: &Path, check: bool) -> bool {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("newgatectl: cannot read {}: {e}", path.display());
            return false;
        }
    };
    let formatted = match format_policy(path, &text) {
        Ok(formatted) => formatted,
        Err(diagnostics) => return refuse(path, &diagnostics),
    };
    if check {
        return report_difference(path, &text, &formatted);
    }
    if formatted == text {
        return true;
    }
    match replace(path, &formatted) {
        Ok(()) => true,
        Err(message) => {
            eprintln!(
                "newgatectl: cannot rewrite {}: {message}; the file is unchanged",
                path.display()
            );
            false
        }
    }
}

/// Prints the errors that keep a text from being formatted, as `check` does.
fn refuse(path: &Path, diagnostics: &[Diagnostic]) -> bool {
    crate::print_each(diagnostics);
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let s = if errors == 1 { "" } else { "s" };
    eprintln!("{}: {errors} error{s}; not formatted", path.display());
    false
}

/// `--check`: true when the text is formatted; otherwise the diff goes to standard output.
fn report_difference(path: &Path, text: &str, formatted: &str) -> bool {
    if text == formatted {
        return true;
    }
    print!("{}", diff(&path.display().to_string(), text, formatted));
    false
}

/// Writes `text` over the file at `path` so that the file is at every moment
/// either all old or all new: a temporary file in the same folder, with the
/// old file's owner and mode, synced, renamed over it, and the folder synced.
/// A symbolic link is followed: the file it points to is rewritten.
fn replace(path: &Path, text: &str) -> Result<(), String> {
    let target = fs::canonicalize(path).map_err(|e| e.to_string())?;
    let old = fs::metadata(&target).map_err(|e| e.to_string())?;
    let folder = target.parent().unwrap_or(Path::new("/"));
    let name = target
        .file_name()
        .map_or("policy".into(), |n| n.to_string_lossy().into_owned());
    let (temporary, mut file) = create_temporary(folder, &name)
        .map_err(|e| format!("cannot create a temporary file in {}: {e}", folder.display()))?;
    let written = (|| -> Result<(), String> {
        file.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
        let new = file.metadata().map_err(|e| e.to_string())?;
        if (new.uid(), new.gid()) != (old.uid(), old.gid()) {
            std::os::unix::fs::fchown(&file, Some(old.uid()), Some(old.gid()))
                .map_err(|e| format!("cannot give the new file its owner {}:{}: {e}", old.uid(), old.gid()))?;
        }
        // After the owner: changing it clears the set-id bits.
        let mode = fs::Permissions::from_mode(old.mode() & 0o7777);
        file.set_permissions(mode).map_err(|e| e.to_string())?;
        file.sync_all().map_err(|e| e.to_string())?;
        fs::rename(&temporary, &target).map_err(|e| e.to_string())
    })();
    if let Err(message) = written {
        let _ = fs::remove_file(&temporary);
        return Err(message);
    }
    // The new content is in place; this makes the rename itself survive a crash.
    File::open(folder)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("{} is formatted, but syncing its folder failed: {e}", target.display()))
}

/// A new file `.NAME.fmt-PID-N` beside NAME: hidden, so that no `include`
/// glob takes it, and never an existing file or a link.
fn create_temporary(folder: &Path, name: &str) -> std::io::Result<(PathBuf, File)> {
    let mut n = 0;
    loop {
        let path = folder.join(format!(".{name}.fmt-{}-{n}", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Lines of context around each change.
const CONTEXT: usize = 3;
/// The largest table the longest-common-subsequence diff builds (lines × lines).
const MAX_TABLE: usize = 1 << 22;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Edit {
    Same,
    Delete,
    Insert,
}

/// A unified diff from `old` to `new`: `---`/`+++` headers, then hunks with
/// `@@ -LINE,COUNT +LINE,COUNT @@` and three lines of context.
fn diff(name: &str, old: &str, new: &str) -> String {
    let old: Vec<&str> = old.split_inclusive('\n').collect();
    let new: Vec<&str> = new.split_inclusive('\n').collect();
    let edits = edits(&old, &new);
    // Each edit with the old and new line it stands at.
    let mut at = Vec::with_capacity(edits.len());
    let (mut i, mut j) = (0, 0);
    for &edit in &edits {
        at.push((edit, i, j));
        i += usize::from(edit != Edit::Insert);
        j += usize::from(edit != Edit::Delete);
    }
    let mut out = format!("--- {name}\n+++ {name} (formatted)\n");
    let mut next = 0;
    while let Some(first) = (next..at.len()).find(|&k| at[k].0 != Edit::Same) {
        // A hunk runs on while the next change is close enough to share context.
        let mut end = first + 1;
        while let Some(change) = (end..at.len()).find(|&k| at[k].0 != Edit::Same) {
            if change - end > 2 * CONTEXT {
                break;
            }
            end = change + 1;
        }
        let start = first.saturating_sub(CONTEXT);
        let stop = (end + CONTEXT).min(at.len());
        let hunk = &at[start..stop];
        let old_count = hunk.iter().filter(|h| h.0 != Edit::Insert).count();
        let new_count = hunk.iter().filter(|h| h.0 != Edit::Delete).count();
        // An empty range is numbered by the line before it, as diff(1) does.
        let (old_line, new_line) = (
            hunk[0].1 + usize::from(old_count > 0),
            hunk[0].2 + usize::from(new_count > 0),
        );
        out.push_str(&format!("@@ -{old_line},{old_count} +{new_line},{new_count} @@\n"));
        for &(edit, i, j) in hunk {
            let (sign, line) = match edit {
                Edit::Same => (' ', old[i]),
                Edit::Delete => ('-', old[i]),
                Edit::Insert => ('+', new[j]),
            };
            out.push(sign);
            out.push_str(line);
            if !line.ends_with('\n') {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
        next = stop;
    }
    out
}

/// The edits that turn `old` into `new`: common lines kept, by the longest
/// common subsequence of the lines between the common start and end.
fn edits(old: &[&str], new: &[&str]) -> Vec<Edit> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let (old_rest, new_rest) = (&old[prefix..], &new[prefix..]);
    let suffix = old_rest
        .iter()
        .rev()
        .zip(new_rest.iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let a = &old_rest[..old_rest.len() - suffix];
    let b = &new_rest[..new_rest.len() - suffix];
    let mut edits = vec![Edit::Same; prefix];
    if (a.len() + 1) * (b.len() + 1) > MAX_TABLE {
        // Too big to compare line by line: all of one, then all of the other.
        edits.extend(std::iter::repeat_n(Edit::Delete, a.len()));
        edits.extend(std::iter::repeat_n(Edit::Insert, b.len()));
    } else {
        // lcs[i][j]: the length of the longest common subsequence of a[i..] and b[j..].
        let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                lcs[i][j] = if a[i] == b[j] {
                    lcs[i + 1][j + 1] + 1
                } else {
                    lcs[i + 1][j].max(lcs[i][j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            if i < a.len() && j < b.len() && a[i] == b[j] {
                edits.push(Edit::Same);
                (i, j) = (i + 1, j + 1);
            } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
                edits.push(Edit::Delete);
                i += 1;
            } else {
                edits.push(Edit::Insert);
                j += 1;
            }
        }
    }
    edits.extend(std::iter::repeat_n(Edit::Same, suffix));
    edits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_shows_changed_lines_with_three_lines_of_context() {
        let old = "a\nb\nc\nd\nX\ne\nf\ng\nh\ni\nj\nk\nl\nY\nm\n";
        let new = "a\nb\nc\nd\nx\ne\nf\ng\nh\ni\nj\nk\nl\nm\n";
        assert_eq!(
            diff("p", old, new),
            "--- p\n+++ p (formatted)\n\
             @@ -2,7 +2,7 @@\n b\n c\n d\n-X\n+x\n e\n f\n g\n\
             @@ -11,5 +11,4 @@\n j\n k\n l\n-Y\n m\n"
        );
    }

    #[test]
    fn close_changes_share_a_hunk_and_a_missing_line_break_is_shown() {
        assert_eq!(
            diff("p", "x\n1\n2\n3\n4\n5\n6\ny", "X\n1\n2\n3\n4\n5\n6\nY\n"),
            "--- p\n+++ p (formatted)\n@@ -1,8 +1,8 @@\n-x\n+X\n 1\n 2\n 3\n 4\n 5\n 6\n-y\n\\ No newline at end of file\n+Y\n"
        );
        assert_eq!(diff("p", "", "a\n"), "--- p\n+++ p (formatted)\n@@ -0,0 +1,1 @@\n+a\n");
    }
}
