//! `newgatectl import sudoers|doas [FILE] [--out FILE] [--force] [--report FILE] [--json]`:
//! a newgate policy from a sudoers file or a doas.conf, and a report of what
//! could not be carried over (docs/migration.md).
//!
//! Exit 0 when everything was translated, 3 when something was left out
//! (the policy is still written, and permits less where it differs), 1 when
//! the source cannot be read or parsed (nothing is written), 2 on usage errors.

mod doas;
mod output;
mod sudoers;

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use lexopt::prelude::*;
use newgate_policy::MAX_FILE_SIZE;

use crate::Failure;
use output::{Draft, Report};

const EXIT_LEFT_OUT: u8 = 3;
const EXIT_UNREADABLE: u8 = 1;

/// Why a source cannot be converted at all: nothing is written.
#[derive(Debug)]
pub(crate) enum SourceError {
    Read(PathBuf, std::io::Error),
    TooLarge(PathBuf),
    NotText(PathBuf, String),
    Syntax {
        file: PathBuf,
        line: usize,
        message: String,
    },
    Include {
        file: PathBuf,
        line: usize,
        message: String,
    },
    Invalid(String),
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceError::Read(path, e) => write!(f, "cannot read {}: {e}", path.display()),
            SourceError::TooLarge(path) => write!(
                f,
                "{} is larger than {} MiB; it is not a configuration file",
                path.display(),
                MAX_FILE_SIZE >> 20
            ),
            SourceError::NotText(path, why) => write!(f, "{} is not a text file: {why}", path.display()),
            SourceError::Syntax { file, line, message } => write!(f, "{}:{line}: {message}", file.display()),
            SourceError::Include { file, line, message } => write!(f, "{}:{line}: {message}", file.display()),
            SourceError::Invalid(message) => write!(
                f,
                "the converted policy does not load, so it is not written (a bug of the converter):\n{message}"
            ),
        }
    }
}

/// A source file's text: at most [`MAX_FILE_SIZE`] bytes of UTF-8 without NUL bytes.
pub(crate) fn read_source(path: &Path) -> Result<String, SourceError> {
    let file = File::open(path).map_err(|e| SourceError::Read(path.to_path_buf(), e))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| SourceError::Read(path.to_path_buf(), e))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(SourceError::TooLarge(path.to_path_buf()));
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(SourceError::NotText(
            path.to_path_buf(),
            format!("a NUL byte at offset {at}"),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        SourceError::NotText(
            path.to_path_buf(),
            format!("invalid UTF-8 at offset {}", e.utf8_error().valid_up_to()),
        )
    })
}

#[derive(Clone, Copy)]
enum Kind {
    Sudoers,
    Doas,
}

pub(crate) fn run(mut parser: lexopt::Parser) -> Result<u8, Failure> {
    let kind = match parser.next()? {
        Some(Value(v)) => match v.string()?.as_str() {
            "sudoers" => Kind::Sudoers,
            "doas" => Kind::Doas,
            other => return Err(Failure(format!("import reads `sudoers` or `doas`, not `{other}`"))),
        },
        Some(other) => return Err(other.unexpected().into()),
        None => return Err(Failure("import needs a format: sudoers or doas".into())),
    };
    let (mut file, mut out, mut report_file) = (None, None, None);
    let (mut force, mut json) = (false, false);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("out") => out = Some(PathBuf::from(parser.value()?)),
            Long("report") => report_file = Some(PathBuf::from(parser.value()?)),
            Long("force") => force = true,
            Long("json") => json = true,
            Value(v) if file.is_none() => file = Some(PathBuf::from(v)),
            other => return Err(other.unexpected().into()),
        }
    }
    for path in [&out, &report_file].into_iter().flatten() {
        if !force && fs::symlink_metadata(path).is_ok() {
            return Err(Failure(format!(
                "{} exists; give --force to replace it",
                path.display()
            )));
        }
    }
    let (label, source) = match kind {
        Kind::Sudoers => ("sudoers", file.unwrap_or_else(|| "/etc/sudoers".into())),
        Kind::Doas => ("doas.conf", file.unwrap_or_else(|| "/etc/doas.conf".into())),
    };
    let converted = match kind {
        Kind::Sudoers => sudoers::convert(&source),
        Kind::Doas => doas::convert(&source),
    }
    .and_then(|(draft, report): (Draft, Report)| {
        let text = output::render(label, &source, &draft).map_err(|e| SourceError::Invalid(e.0))?;
        Ok((text, report))
    });
    let (text, report) = match converted {
        Ok(done) => done,
        Err(e) => {
            eprintln!("newgatectl: {e}");
            eprintln!("newgatectl: nothing was written");
            return Ok(EXIT_UNREADABLE);
        }
    };
    match &out {
        Some(path) => {
            if let Err(e) = write_new(path, &text, force) {
                eprintln!("newgatectl: cannot write {}: {e}; nothing was written", path.display());
                return Ok(EXIT_UNREADABLE);
            }
        }
        None => {
            if let Err(e) = std::io::stdout().lock().write_all(text.as_bytes()) {
                eprintln!("newgatectl: cannot write the standard output: {e}");
                return Ok(EXIT_UNREADABLE);
            }
        }
    }
    let report_text = if json {
        format!("{}\n", report.json(label, out.as_deref()))
    } else {
        report.text()
    };
    match &report_file {
        Some(path) => {
            if let Err(e) = write_new(path, &report_text, force) {
                eprintln!("newgatectl: cannot write the report {}: {e}", path.display());
                return Ok(EXIT_UNREADABLE);
            }
        }
        None => eprint!("{report_text}"),
    }
    Ok(if report.items.is_empty() { 0 } else { EXIT_LEFT_OUT })
}

/// Writes `text` to `path` so that the file is either absent (or as it was)
/// or complete: a hidden temporary file in the same folder, synced, then
/// renamed into place. Without `force` an existing file is never replaced,
/// not even one that appeared since the arguments were checked.
fn write_new(path: &Path, text: &str, force: bool) -> std::io::Result<()> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(ErrorKind::InvalidInput, "not a file name"))?
        .to_string_lossy()
        .into_owned();
    let (temporary, mut file) = {
        let mut n = 0;
        loop {
            let candidate = folder.join(format!(".{name}.import-{}-{n}", std::process::id()));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&candidate)
            {
                Ok(file) => break (candidate, file),
                Err(e) if e.kind() == ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(e) => return Err(e),
            }
        }
    };
    let result = (|| {
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        if force {
            fs::rename(&temporary, path)
        } else {
            // A hard link fails when the name exists: no window in which another file is replaced.
            fs::hard_link(&temporary, path).and_then(|()| fs::remove_file(&temporary))
        }
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result?;
    File::open(&folder).and_then(|f| f.sync_all())
}
