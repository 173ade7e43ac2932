//! `newgatectl compile`: the compiled snapshot of the installed policy, which
//! the runner and the PAM module use instead of parsing when it matches the
//! policy's files (and ignore otherwise). Only root writes it, and only here.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use lexopt::prelude::*;
use newgate_policy::DEFAULT_POLICY;
use newgate_policy::snapshot::{self, BuildError, Snapshot};
use newgate_system::SNAPSHOT;
use nix::fcntl::{Flock, FlockArg};

use crate::{Failure, print_diagnostics};

/// The name a snapshot is written under before it is renamed into place.
const TEMPORARY: &str = ".policy.snapshot.";

/// Why the snapshot was not written.
pub(crate) enum NotWritten {
    /// The policy has errors: the runner refuses it whatever the snapshot says.
    Invalid,
    /// The file could not be made or saved.
    Failed(String),
}

pub fn run(mut parser: lexopt::Parser) -> Result<u8, Failure> {
    let mut status = false;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("status") => status = true,
            other => return Err(other.unexpected().into()),
        }
    }
    if status {
        return Ok(
            match Snapshot::open(Path::new(SNAPSHOT), Path::new(DEFAULT_POLICY), 0) {
                Ok(_) => {
                    println!("{SNAPSHOT}: in use (it matches {DEFAULT_POLICY})");
                    0
                }
                Err(why) => {
                    println!("{SNAPSHOT}: not used, newgate reads {DEFAULT_POLICY} itself: {why}");
                    1
                }
            },
        );
    }
    if !nix::unistd::geteuid().is_root() {
        return Err(Failure(format!("writing {SNAPSHOT} needs root")));
    }
    match write_snapshot() {
        Ok(size) => {
            println!("{SNAPSHOT}: written ({size} bytes) from {DEFAULT_POLICY}");
            Ok(0)
        }
        Err(NotWritten::Invalid) => {
            eprintln!("newgatectl: {DEFAULT_POLICY} is invalid; no snapshot written");
            Ok(1)
        }
        Err(NotWritten::Failed(why)) => {
            eprintln!("newgatectl: {why}");
            Ok(1)
        }
    }
}

/// After the installed policy was saved or checked as root: a snapshot that
/// cannot be written is no error of the command, the runner reads the source.
pub(crate) fn refresh() {
    match write_snapshot() {
        Ok(_) | Err(NotWritten::Invalid) => {}
        Err(NotWritten::Failed(why)) => {
            eprintln!("newgatectl: warning: {why}; newgate reads the policy itself until `newgatectl compile` succeeds")
        }
    }
}

/// Compiles the installed policy and saves it to the snapshot path: a
/// temporary file in the same folder (root, 0600), synced, renamed over the
/// old one, the folder synced. Returns the size written.
pub(crate) fn write_snapshot() -> Result<usize, NotWritten> {
    let bytes = match snapshot::build(Path::new(DEFAULT_POLICY), 0) {
        Ok(bytes) => bytes,
        Err(BuildError::Invalid(loaded)) => {
            print_diagnostics(&loaded);
            return Err(NotWritten::Invalid);
        }
        Err(error) => return Err(NotWritten::Failed(error.to_string())),
    };
    let target = Path::new(SNAPSHOT);
    let folder = target.parent().unwrap_or(Path::new("/"));
    let failed = |what: &str, e: std::io::Error| NotWritten::Failed(format!("cannot write {SNAPSHOT}: {what}: {e}"));
    if !folder.is_dir() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(folder)
            .map_err(|e| failed("creating its folder", e))?;
    }
    // One writer at a time; under the lock, leftovers of a writer that was
    // killed are ours to remove.
    let lock = File::open(folder).map_err(|e| failed("opening its folder", e))?;
    let _lock = Flock::lock(lock, FlockArg::LockExclusive).map_err(|(_, e)| failed("locking its folder", e.into()))?;
    if let Ok(entries) = fs::read_dir(folder) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(TEMPORARY) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    let temporary = folder.join(format!("{TEMPORARY}{}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temporary)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, target)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&temporary);
        return Err(failed("saving it", e));
    }
    File::open(folder)
        .and_then(|f| f.sync_all())
        .map_err(|e| failed("syncing its folder", e))?;
    // Read back as newgate reads it: a folder that is not root's, or is
    // writable by others, makes the runner ignore what was just written.
    Snapshot::open(target, Path::new(DEFAULT_POLICY), 0)
        .map_err(|why| NotWritten::Failed(format!("{SNAPSHOT} was written, but newgate would not use it: {why}")))?;
    Ok(bytes.len())
}
