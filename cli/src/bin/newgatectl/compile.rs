//! `newgatectl compile`: the compiled snapshot of the installed policy, which
//! the runner and the PAM module use instead of parsing when it matches the
//! policy's files (and ignore otherwise). Only root writes it, and only here.

use std::fs::{DirBuilder, File};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use lexopt::prelude::*;
use newgate_policy::DEFAULT_POLICY;
use newgate_policy::snapshot::{self, BuildError, Snapshot};
use newgate_system::SNAPSHOT;
use nix::fcntl::{Flock, FlockArg};

use crate::replace::{NotReplaced, replace};
use crate::{Failure, print_diagnostics};

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
        Err(NotWritten::Failed(why)) => warn_not_written(&why),
    }
}

fn warn_not_written(why: &str) {
    eprintln!("newgatectl: warning: {why}; newgate reads the policy itself until `newgatectl compile` succeeds")
}

/// After an `edit` or `install` of the installed policy that changed
/// nothing, as root: a snapshot newgate would not use (missing, out of date
/// after another file changed, written by the build before an upgrade) is
/// written anew, so that running `install` again, as configuration
/// management does, also repairs the snapshot; one in use is left alone.
pub(crate) fn refresh_unless_in_use() {
    let Err(why) = Snapshot::open(Path::new(SNAPSHOT), Path::new(DEFAULT_POLICY), 0) else {
        return;
    };
    // Said, so that a run reported as changing nothing does not change a file unseen.
    match write_snapshot() {
        Ok(_) => eprintln!("newgatectl: {SNAPSHOT} was not in use ({why}): written anew"),
        // Another file of the policy, not the one at hand, is broken (its diagnostics are above).
        Err(NotWritten::Invalid) => {
            eprintln!("newgatectl: warning: {DEFAULT_POLICY} is invalid; no snapshot written")
        }
        Err(NotWritten::Failed(why)) => warn_not_written(&why),
    }
}

/// Compiles the installed policy and saves it to the snapshot path (root,
/// 0600; see [`replace`]). Returns the size written.
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
    // One writer at a time (see `replace`).
    let lock = File::open(folder).map_err(|e| failed("opening its folder", e))?;
    let _lock = Flock::lock(lock, FlockArg::LockExclusive).map_err(|(_, e)| failed("locking its folder", e.into()))?;
    replace(target, &bytes, Some((0, 0)), 0o600).map_err(|e| match e {
        NotReplaced::Write(e) => failed("saving it", e),
        NotReplaced::SyncFolder(e) => failed("syncing its folder", e),
    })?;
    // Read back as newgate reads it: a folder that is not root's, or is
    // writable by others, makes the runner ignore what was just written.
    Snapshot::open(target, Path::new(DEFAULT_POLICY), 0)
        .map_err(|why| NotWritten::Failed(format!("{SNAPSHOT} was written, but newgate would not use it: {why}")))?;
    Ok(bytes.len())
}
