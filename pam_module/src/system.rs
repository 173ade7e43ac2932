//! What the module asks of the system: users and groups (NSS), the host
//! name, the clock, and the policy file.

#![forbid(unsafe_code)]

use std::ffi::CString;
use std::path::Path;
use std::time::SystemTime;

use jiff::Timestamp;
use newgate_policy::{LoadOptions, Policy, load};
use nix::errno::Errno;
use nix::unistd::{Gid, Group, User, getgrouplist, gethostname, getuid};

/// `getpwnam_r` and friends may report "no such entry" as an error rather
/// than as no result (POSIX allows it; nss_wrapper says ENOENT): absence.
fn found<T>(lookup: nix::Result<Option<T>>) -> nix::Result<Option<T>> {
    match lookup {
        Err(Errno::ENOENT | Errno::ESRCH) => Ok(None),
        other => other,
    }
}

/// Every group the user belongs to, primary included, by name, as
/// `getgrouplist` reports them. `Ok(None)` when the user does not exist.
pub fn groups_of(user: &str) -> Result<Option<Vec<String>>, String> {
    let entry = found(User::from_name(user)).map_err(|e| format!("cannot look up user {user}: {e}"))?;
    let Some(entry) = entry else { return Ok(None) };
    let name = CString::new(user).map_err(|_| format!("user name {user:?} holds a NUL byte"))?;
    let gids = getgrouplist(&name, entry.gid).map_err(|e| format!("cannot list the groups of {user}: {e}"))?;
    let mut names = Vec::with_capacity(gids.len());
    for gid in gids {
        // A gid with no name cannot be named in a policy either.
        if let Ok(Some(group)) = found(Group::from_gid(gid))
            && !names.contains(&group.name)
        {
            names.push(group.name);
        }
    }
    Ok(Some(names))
}

/// The user of the calling process's real uid (`use_uid`).
pub fn real_user() -> Result<String, String> {
    let uid = getuid();
    match found(User::from_uid(uid)) {
        Ok(Some(user)) => Ok(user.name),
        Ok(None) => Err(format!("the real uid {uid} has no user name")),
        Err(e) => Err(format!("cannot look up uid {uid}: {e}")),
    }
}

/// A group's id by name; `Ok(None)` when there is no such group.
pub fn group_id(name: &str) -> Result<Option<Gid>, String> {
    found(Group::from_name(name))
        .map(|group| group.map(|g| g.gid))
        .map_err(|e| format!("cannot look up group {name}: {e}"))
}

/// Targets are matched by name, so a target must be named by its account's
/// one name: not a second name for the same id (`toor` for root), nor a name
/// that NSS matched loosely (`Admin` for `admin`), either of which would slip
/// past a `deny` that names the account. `Err` says which name to use.
pub fn check_target_names(user: Option<&str>, group: Option<&str>) -> Result<(), String> {
    if let Some(name) = user {
        let entry = found(User::from_name(name))
            .map_err(|e| format!("cannot look up user {name}: {e}"))?
            .ok_or_else(|| format!("unknown user {name}"))?;
        let canonical = found(User::from_uid(entry.uid))
            .map_err(|e| format!("cannot look up uid {} of user {name}: {e}", entry.uid))?
            .ok_or_else(|| format!("uid {} of user {name} has no entry of its own", entry.uid))?
            .name;
        if entry.name != name || canonical != name {
            return Err(format!("{name} is another name for uid {}, {canonical}", entry.uid));
        }
    }
    if let Some(name) = group {
        let entry = found(Group::from_name(name))
            .map_err(|e| format!("cannot look up group {name}: {e}"))?
            .ok_or_else(|| format!("unknown group {name}"))?;
        let canonical = found(Group::from_gid(entry.gid))
            .map_err(|e| format!("cannot look up gid {} of group {name}: {e}", entry.gid))?
            .ok_or_else(|| format!("gid {} of group {name} has no entry of its own", entry.gid))?
            .name;
        if entry.name != name || canonical != name {
            return Err(format!("{name} is another name for gid {}, {canonical}", entry.gid));
        }
    }
    Ok(())
}

/// This machine's host name, as rules' `on` conditions see it.
pub fn host_name() -> Result<String, String> {
    let name = gethostname().map_err(|e| format!("cannot read the host name: {e}"))?;
    name.into_string().map_err(|_| "the host name is not UTF-8".to_string())
}

/// Now; an error (not a panic) for a clock outside the years -9999 to 9999.
pub fn now() -> Result<Timestamp, String> {
    Timestamp::try_from(SystemTime::now()).map_err(|e| format!("the system clock is out of range: {e}"))
}

/// Loads the policy as the enforcing programs do: every file root-owned and
/// not writable by group or other. The error is the first problem found.
pub fn load_policy(path: &Path) -> Result<Policy, String> {
    if !path.is_absolute() {
        return Err(format!("policy={} is not an absolute path", path.display()));
    }
    let loaded = load(path, &LoadOptions::enforcing());
    if let Some(policy) = loaded.policy {
        return Ok(policy);
    }
    Err(match loaded.errors().next() {
        Some(error) => match &error.position {
            Some(at) => format!("{}:{}:{}: {}", error.file.display(), at.line, at.column, error.message),
            None => format!("{}: {}", error.file.display(), error.message),
        },
        None => format!("{}: the policy has errors", path.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_policy_path_is_refused() {
        let error = load_policy(Path::new("newgate/policy")).unwrap_err();
        assert_eq!(error, "policy=newgate/policy is not an absolute path");
    }

    #[test]
    fn a_missing_policy_names_the_file_and_the_reason() {
        let error = load_policy(Path::new("/nonexistent/newgate/policy")).unwrap_err();
        assert!(error.starts_with("/nonexistent/newgate/policy: "), "{error}");
    }
}
