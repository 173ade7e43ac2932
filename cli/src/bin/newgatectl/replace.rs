//! Replacing a file so that it is, at every moment and after a crash, either
//! the old one or the whole new one: what `edit`, `install` and `compile`
//! save with.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Why a file was not replaced, or not durably.
pub(crate) enum NotReplaced {
    /// Writing the new content failed: the old file is unchanged, and the
    /// temporary file is removed.
    Write(io::Error),
    /// The new file is in place, but syncing its folder failed, so the
    /// rename may not survive a crash.
    SyncFolder(io::Error),
}

/// Writes `bytes` to a temporary file beside `path` (created 0600, never
/// through a symbolic link), syncs it, gives it `owner` (as root) and
/// `mode`, renames it over `path` and syncs the folder. The caller holds a
/// lock that keeps other writers of `path` out: under it, temporary files a
/// killed writer left behind are removed first.
pub(crate) fn replace(path: &Path, bytes: &[u8], owner: Option<(u32, u32)>, mode: u32) -> Result<(), NotReplaced> {
    let folder = path.parent().unwrap_or(Path::new("/"));
    let name = path
        .file_name()
        .map_or("file".into(), |n| n.to_string_lossy().into_owned());
    let prefix = format!(".{name}.newgatectl-");
    if let Ok(entries) = fs::read_dir(folder) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    let temporary = folder.join(format!("{prefix}{}", std::process::id()));
    let written = (|| -> io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        if let Some((uid, gid)) = owner
            && nix::unistd::geteuid().is_root()
        {
            std::os::unix::fs::fchown(&file, Some(uid), Some(gid))?;
        }
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&temporary);
        return Err(NotReplaced::Write(e));
    }
    File::open(folder)
        .and_then(|f| f.sync_all())
        .map_err(NotReplaced::SyncFolder)
}
