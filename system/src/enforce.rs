//! The policy as the enforcing programs load it: every file root-owned and
//! not writable by group or other, no warnings, and the first error to log;
//! from the compiled snapshot when, and only when, it matches the source.

use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use newgate_policy::snapshot::{Ignored, Snapshot};
use newgate_policy::{DEFAULT_POLICY, LoadOptions, Policy, Settings, Trust, load};

/// The compiled snapshot of the installed policy: a fixed, root-only path
/// (never from the environment or a module argument), regenerable, so in /var/cache.
pub const SNAPSHOT: &str = "/var/cache/newgate/policy.snapshot";

/// Why the enforcing programs refuse a policy (and so permit nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyRefused {
    /// A policy path that is not absolute would be read against the working folder.
    NotAbsolute(PathBuf),
    /// The first error, as `FILE:LINE:COL: message` (or `FILE: message`).
    Invalid(String),
}

impl fmt::Display for PolicyRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyRefused::NotAbsolute(path) => write!(f, "the policy path {} is not absolute", path.display()),
            PolicyRefused::Invalid(first) => f.write_str(first),
        }
    }
}

impl std::error::Error for PolicyRefused {}

/// The enforcing policy: loaded from the source, or a compiled snapshot that
/// matches it, from which each requester's rules are read as needed.
#[derive(Debug)]
pub struct Enforcing {
    path: PathBuf,
    owner: u32,
    source: Source,
    /// Why the snapshot of this policy was not used; `None` when it was, or
    /// when the policy has none (it is not the installed one).
    snapshot_ignored: Option<Ignored>,
}

/// Where the enforcing policy was read from, as pam_newgate's `debug`
/// argument has it logged: a slow login may be a stale snapshot.
pub enum Origin<'a> {
    /// The compiled snapshot, found to match every file it was built from.
    Snapshot,
    /// The files; for the installed policy, why its snapshot was not used.
    Source(Option<&'a Ignored>),
}

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Snapshot => f.write_str("read from its compiled snapshot"),
            Origin::Source(None) => f.write_str("read from its files"),
            Origin::Source(Some(why)) => {
                write!(f, "read from its files, not from its compiled snapshot: {why}")?;
                // A snapshot in an unsafe place stays unused whatever is written there.
                if !matches!(why, Ignored::Unsafe(_)) {
                    f.write_str(" (`newgatectl compile` writes it anew)")?;
                }
                Ok(())
            }
        }
    }
}

#[derive(Debug)]
enum Source {
    Loaded(Policy),
    Snapshot(Snapshot),
}

/// The policy for one requester: the whole policy, or the part of a snapshot
/// that concerns them. Either decides their requests the same.
pub enum Scoped<'a> {
    /// Read from the files; for the installed policy, why not from its snapshot.
    Whole(&'a Policy, Option<&'a Ignored>),
    /// The requester's part of the snapshot.
    Part(Box<Policy>),
    /// Read from the files after all: the snapshot's rules could not be read.
    Reread(Box<Policy>, Ignored),
}

impl Scoped<'_> {
    pub fn origin(&self) -> Origin<'_> {
        match self {
            Scoped::Whole(_, why) => Origin::Source(*why),
            Scoped::Part(_) => Origin::Snapshot,
            Scoped::Reread(_, why) => Origin::Source(Some(why)),
        }
    }
}

impl Deref for Scoped<'_> {
    type Target = Policy;

    fn deref(&self) -> &Policy {
        match self {
            Scoped::Whole(policy, _) => policy,
            Scoped::Part(policy) | Scoped::Reread(policy, _) => policy,
        }
    }
}

impl Enforcing {
    pub fn settings(&self) -> &Settings {
        match &self.source {
            Source::Loaded(policy) => &policy.settings,
            Source::Snapshot(snapshot) => snapshot.settings(),
        }
    }

    /// The policy for requests (and logins) of `user`, a member of `groups`;
    /// a policy for one user denies every other. A snapshot that cannot be
    /// read after all (damaged since it was opened) gives way to the source.
    pub fn for_requester(&self, user: &str, groups: &[String]) -> Result<Scoped<'_>, PolicyRefused> {
        match &self.source {
            Source::Loaded(policy) => Ok(Scoped::Whole(policy, self.snapshot_ignored.as_ref())),
            Source::Snapshot(snapshot) => match snapshot.policy_for(user, groups) {
                Ok(policy) => Ok(Scoped::Part(Box::new(policy))),
                Err(why) => load_source(&self.path, self.owner).map(|p| Scoped::Reread(Box::new(p), why)),
            },
        }
    }
}

/// The policy at `path`, as the runner and the PAM module decide with it.
/// Only the installed policy (/etc/newgate/policy) has a snapshot; one that
/// is missing, corrupt, from another build, stale or badly owned is ignored
/// and the source is loaded, exactly as without a snapshot.
pub fn load_enforcing(path: &Path) -> Result<Enforcing, PolicyRefused> {
    let snapshot = (path == Path::new(DEFAULT_POLICY)).then_some(Path::new(SNAPSHOT));
    load_with_snapshot(path, snapshot, 0).0
}

/// The policy at `path` from the snapshot at `snapshot` when it matches,
/// else from the source; with the reason the snapshot was not used (`None`:
/// it was, or `snapshot` is `None`). Every file must be owned by root or
/// `owner` (tests run unprivileged).
pub fn load_with_snapshot(
    path: &Path,
    snapshot: Option<&Path>,
    owner: u32,
) -> (Result<Enforcing, PolicyRefused>, Option<Ignored>) {
    if !path.is_absolute() {
        return (Err(PolicyRefused::NotAbsolute(path.to_path_buf())), None);
    }
    let enforcing = |source, snapshot_ignored| Enforcing {
        path: path.to_path_buf(),
        owner,
        source,
        snapshot_ignored,
    };
    let ignored = match snapshot.map(|snapshot| Snapshot::open(snapshot, path, owner)) {
        None => None,
        Some(Ok(snapshot)) => return (Ok(enforcing(Source::Snapshot(snapshot), None)), None),
        Some(Err(why)) => Some(why),
    };
    (
        load_source(path, owner).map(|p| enforcing(Source::Loaded(p), ignored.clone())),
        ignored,
    )
}

fn load_source(path: &Path, owner: u32) -> Result<Policy, PolicyRefused> {
    let options = LoadOptions {
        trust: Trust::Secure { owner },
        ..LoadOptions::enforcing()
    };
    let loaded = load(path, &options);
    if let Some(policy) = loaded.policy {
        return Ok(policy);
    }
    Err(PolicyRefused::Invalid(match loaded.errors().next() {
        Some(error) => match &error.position {
            Some(at) => format!("{}:{}:{}: {}", error.file.display(), at.line, at.column, error.message),
            None => format!("{}: {}", error.file.display(), error.message),
        },
        None => format!("{}: the policy has errors", path.display()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_policy_path_is_refused() {
        let error = load_enforcing(Path::new("newgate/policy")).unwrap_err();
        assert_eq!(error.to_string(), "the policy path newgate/policy is not absolute");
    }

    #[test]
    fn a_missing_policy_names_the_file_and_the_reason() {
        let error = load_enforcing(Path::new("/nonexistent/newgate/policy")).unwrap_err();
        assert!(
            error.to_string().starts_with("/nonexistent/newgate/policy: "),
            "{error}"
        );
    }
}
