//! `newgatectl import sudoers|doas [FILE] [--out FILE] [--force] [--report FILE] [--json]`:
//! a newgate policy from a sudoers file or a doas.conf, and a report of what
//! could not be carried over (docs/migration.md).
//!
//! Exit 0 when everything was translated, 3 when something was left out
//! (the policy is still written, and permits less where it differs), 1 when
//! the source cannot be read or parsed or holds a rule newgate cannot hold
//! (nothing is written), 2 on usage errors.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use lexopt::prelude::*;
use newgate::import::{Converted, Format, convert};

use crate::Failure;

const EXIT_LEFT_OUT: u8 = 3;
const EXIT_UNREADABLE: u8 = 1;

pub(crate) fn run(mut parser: lexopt::Parser) -> Result<u8, Failure> {
    let format = match parser.next()? {
        Some(Value(v)) => match v.string()?.as_str() {
            "sudoers" => Format::Sudoers,
            "doas" => Format::Doas,
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
    let label = format.label();
    let source = file.unwrap_or_else(|| format.default_path().to_path_buf());
    let Converted { policy: text, report } = match convert(format, &source) {
        Ok(converted) => converted,
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
                // The source's rules are its owner's to read (sudoers is 0440).
                .mode(0o600)
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
