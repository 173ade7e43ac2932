//! `persist`: an authentication remembered for one terminal session.
//!
//! A record lives in `/run/newgate/ts-UID-TTY` (root, 0600, in a root 0700
//! folder). It holds the session leader's pid and start time, so that a new
//! session on a reused terminal or pid does not inherit it, and moments on
//! `CLOCK_BOOTTIME`, which counts suspended time and cannot be set back: when
//! the caller last authenticated, and, for each duration a rule remembers
//! for, when such a rule was last used without asking. A rule that remembers
//! for D trusts the authentication, or a use by a rule that remembers for D
//! or less, within D: a use through a rule that remembers longer (or `-v`
//! under a longer `set persist`) never stretches a shorter one. A record
//! whose file or folder has the wrong owner or mode is never trusted.

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

/// The most uses remembered, by distinct duration; beyond it the oldest is
/// dropped, which can only make a rule ask again.
const MAX_USES: usize = 16;

/// The largest record read.
const MAX_RECORD: u64 = 1024;

/// What a record says of one terminal session.
#[derive(Debug, PartialEq, Eq)]
struct Record {
    leader: u64,
    leader_start: u64,
    /// When the caller last authenticated.
    authenticated: Duration,
    /// When a rule that remembers for the first duration was last used
    /// without asking: the second.
    used: Vec<(Duration, Duration)>,
}

impl Record {
    /// `LEADER START AUTHENTICATED [WINDOW:AT]...`, nanoseconds.
    fn parse(text: &str) -> Option<Record> {
        let mut words = text.split_whitespace();
        let number = |word: Option<&str>| word?.parse::<u64>().ok();
        let leader = number(words.next())?;
        let leader_start = number(words.next())?;
        let authenticated = Duration::from_nanos(number(words.next())?);
        let used = words
            .map(|word| {
                let (window, at) = word.split_once(':')?;
                Some((
                    Duration::from_nanos(window.parse().ok()?),
                    Duration::from_nanos(at.parse().ok()?),
                ))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Record {
            leader,
            leader_start,
            authenticated,
            used,
        })
    }

    fn text(&self) -> String {
        let mut text = format!(
            "{} {} {}",
            self.leader,
            self.leader_start,
            self.authenticated.as_nanos()
        );
        for (window, at) in &self.used {
            text.push_str(&format!(" {}:{}", window.as_nanos(), at.as_nanos()));
        }
        text.push('\n');
        text
    }

    fn of(&self, session: &Session) -> bool {
        self.leader == session.leader as u64 && self.leader_start == session.leader_start
    }

    /// Whether a rule that remembers for `timeout` may skip the prompt at `now`.
    fn is_fresh(&self, timeout: Duration, now: Duration) -> bool {
        let within = |at: Duration| at <= now && now - at < timeout;
        within(self.authenticated) || self.used.iter().any(|&(window, at)| window <= timeout && within(at))
    }

    /// A run through a rule that remembers for `window` did not ask.
    fn use_at(&mut self, window: Duration, now: Duration) {
        self.used.retain(|&(w, _)| w != window);
        self.used.push((window, now));
        if self.used.len() > MAX_USES {
            self.used.remove(0);
        }
    }
}

/// How a permitted run leaves the session's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresh {
    /// The caller authenticated in this run: everything before counts no more.
    Authenticated,
    /// The caller was not asked, under a rule that remembers for this long.
    Used(Duration),
}

/// The record of `uid` for `session`, when it can be trusted.
fn read(uid: u32, session: &Session) -> Option<Record> {
    folder()?;
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(record_path(uid, session))
        .ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.uid() != 0 || meta.mode() & 0o7777 != 0o600 || meta.len() > MAX_RECORD {
        return None;
    }
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    Record::parse(&text).filter(|record| record.of(session))
}

/// Whether `uid`, in this session, authenticated less than `timeout` ago, or
/// ran through a rule that remembers for `timeout` or less that long ago.
pub fn is_fresh(uid: u32, session: &Session, timeout: Duration) -> bool {
    match (read(uid, session), now()) {
        (Some(record), Some(now)) => record.is_fresh(timeout, now),
        _ => false,
    }
}

/// Records (or refreshes) an authentication, or a run that was not asked. A
/// failure only costs a prompt next time, so the command still runs, but the
/// caller is told why (a full /run, a file size limit), or the next prompt
/// would be a mystery. A use refreshes only a record that is still there:
/// one removed meanwhile (`newgate -k`) stays removed.
pub fn remember(uid: u32, session: &Session, refresh: Refresh) {
    let (Some(folder), Some(now)) = (folder(), now()) else {
        eprintln!(
            "newgate: warning: cannot remember this authentication: {FOLDER} cannot be made, or is not root's alone; you will be asked again next time"
        );
        return;
    };
    let record = match refresh {
        Refresh::Authenticated => Record {
            leader: session.leader as u64,
            leader_start: session.leader_start,
            authenticated: now,
            used: Vec::new(),
        },
        Refresh::Used(window) => {
            let Some(mut record) = read(uid, session) else { return };
            record.use_at(window, now);
            record
        }
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
        file.write_all(record.text().as_bytes())?;
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

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn record(authenticated: u64) -> Record {
        Record {
            leader: 7,
            leader_start: 9,
            authenticated: Duration::from_secs(authenticated),
            used: Vec::new(),
        }
    }

    #[test]
    fn a_record_reads_back_as_written() {
        let mut written = record(100);
        written.use_at(MINUTE, Duration::from_secs(130));
        written.use_at(10 * MINUTE, Duration::from_secs(150));
        assert_eq!(Record::parse(&written.text()), Some(written));
        // A record of the earlier format is an authentication.
        assert_eq!(Record::parse("7 9 100000000000\n"), Some(record(100)));
        for damaged in ["", "7 9", "7 9 x", "7 9 1 2", "7 9 1 2:", "7 9 1 :2", "7 9 1 a:2"] {
            assert_eq!(Record::parse(damaged), None, "{damaged:?}");
        }
    }

    #[test]
    fn a_use_counts_only_for_rules_that_remember_as_long_or_longer() {
        let mut r = record(0);
        let at = |s| Duration::from_secs(s);
        r.use_at(10 * MINUTE, at(500));
        // 510 s after the authentication, 10 s after a use by a 10m rule.
        assert!(r.is_fresh(10 * MINUTE, at(510)));
        assert!(r.is_fresh(20 * MINUTE, at(510)));
        assert!(!r.is_fresh(MINUTE, at(510)), "a 1m rule is stretched by a 10m one");
        r.use_at(MINUTE, at(505));
        assert!(r.is_fresh(MINUTE, at(510)));
        assert!(r.is_fresh(10 * MINUTE, at(510)));
        assert!(!r.is_fresh(MINUTE, at(566)));
        // Nothing counts from the future (a record of an earlier boot).
        assert!(!record(600).is_fresh(MINUTE, at(510)));
    }

    #[test]
    fn uses_are_kept_once_per_duration_and_bounded() {
        let mut r = record(0);
        for n in 0..40u64 {
            r.use_at(Duration::from_secs(n % 20 + 1), Duration::from_secs(n));
        }
        assert_eq!(r.used.len(), MAX_USES);
        let mut windows: Vec<Duration> = r.used.iter().map(|&(w, _)| w).collect();
        windows.sort();
        windows.dedup();
        assert_eq!(windows.len(), MAX_USES);
    }
}
