//! `persist`: an authentication remembered for one terminal session.
//!
//! A record lives in `/run/newgate/ts-UID-TTY` (root, 0600, in a root 0700
//! folder). It holds the session leader's pid and start time, so that a new
//! session on a reused terminal or pid does not inherit it, and the moment of
//! the authentication on `CLOCK_BOOTTIME`, which counts suspended time and
//! cannot be set back. A record whose file or folder has the wrong owner or
//! mode is never trusted.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::time::{ClockId, clock_gettime};

pub const FOLDER: &str = "/run/newgate";

/// The terminal session a record is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    tty: u64,
    leader: i32,
    leader_start: u64,
}

impl Session {
    /// This process's terminal session; `None` without a controlling terminal.
    pub fn current() -> Option<Session> {
        let own = read_stat(Path::new("/proc/self/stat"))?;
        let (leader, tty) = (own.session, own.tty);
        if tty == 0 || leader <= 0 {
            return None;
        }
        let leader_stat = read_stat(&PathBuf::from(format!("/proc/{leader}/stat")))?;
        Some(Session {
            tty,
            leader,
            leader_start: leader_stat.start_time,
        })
    }
}

/// The device number of this process's controlling terminal; `None` without one.
pub fn controlling_terminal() -> Option<u64> {
    read_stat(Path::new("/proc/self/stat"))
        .map(|s| s.tty)
        .filter(|&tty| tty != 0)
}

struct Stat {
    session: i32,
    tty: u64,
    start_time: u64,
}

/// Fields of /proc/PID/stat, read after the command name (which may hold spaces and parentheses).
fn read_stat(path: &Path) -> Option<Stat> {
    let text = fs::read_to_string(path).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) ppid(4) pgrp(5) session(6) tty_nr(7) ... starttime(22).
    Some(Stat {
        session: fields.get(3)?.parse().ok()?,
        tty: fields.get(4)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

fn now() -> Option<Duration> {
    clock_gettime(ClockId::CLOCK_BOOTTIME).ok().map(Duration::from)
}

fn record_path(uid: u32, session: &Session) -> PathBuf {
    Path::new(FOLDER).join(format!("ts-{uid}-{}", session.tty))
}

/// The folder, created if absent; `None` when it exists but cannot be trusted.
fn folder() -> Option<&'static Path> {
    let path = Path::new(FOLDER);
    if let Err(e) = fs::symlink_metadata(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return None;
        }
        fs::DirBuilder::new().mode(0o700).create(path).ok()?;
        // Made by a setuid process, the folder has the caller's group: give it to root.
        std::os::unix::fs::lchown(path, Some(0), Some(0)).ok()?;
    }
    let meta = fs::symlink_metadata(path).ok()?;
    (meta.is_dir() && meta.uid() == 0 && meta.mode() & 0o077 == 0).then_some(path)
}

/// Whether `uid` authenticated in this session less than `timeout` ago.
pub fn is_fresh(uid: u32, session: &Session, timeout: Duration) -> bool {
    let Some(_) = folder() else { return false };
    let Ok(mut file) = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(record_path(uid, session))
    else {
        return false;
    };
    let Ok(meta) = file.metadata() else { return false };
    if !meta.is_file() || meta.uid() != 0 || meta.mode() & 0o7777 != 0o600 || meta.len() > 256 {
        return false;
    }
    let mut text = String::new();
    if file.read_to_string(&mut text).is_err() {
        return false;
    }
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    let (Some(Ok(leader)), Some(Ok(start)), Some(Ok(at))) = (fields.next(), fields.next(), fields.next()) else {
        return false;
    };
    let (Some(now), at) = (now(), Duration::from_nanos(at)) else {
        return false;
    };
    leader == session.leader as u64 && start == session.leader_start && at <= now && now - at < timeout
}

/// Records (or refreshes) an authentication. A failure only costs a prompt
/// next time, so the command still runs, but the caller is told why (a full
/// /run, a file size limit), or the next prompt would be a mystery.
pub fn remember(uid: u32, session: &Session) {
    let (Some(folder), Some(now)) = (folder(), now()) else {
        eprintln!(
            "newgate: warning: cannot remember this authentication: {FOLDER} cannot be made, or is not root's alone; you will be asked again next time"
        );
        return;
    };
    let path = record_path(uid, session);
    let temporary = folder.join(format!(".ts-{uid}-{}.{}", session.tty, std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut file: File = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temporary)?;
        std::os::unix::fs::fchown(&file, Some(0), Some(0))?;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        writeln!(file, "{} {} {}", session.leader, session.leader_start, now.as_nanos())?;
        file.sync_all()?;
        fs::rename(&temporary, &path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&temporary);
        eprintln!(
            "newgate: warning: cannot remember this authentication in {FOLDER}: {e}; you will be asked again next time"
        );
    }
}

/// Forgets every authentication of `uid` (`newgate -k`); says how many records there were.
pub fn forget(uid: u32) -> std::io::Result<usize> {
    let entries = match fs::read_dir(FOLDER) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let prefix = format!("ts-{uid}-");
    let mut removed = 0;
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}
