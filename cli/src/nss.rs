//! Users, groups and host names from the system (NSS).

use std::ffi::CString;
use std::net::ToSocketAddrs;

use newgate_policy::Directory;
use nix::unistd::{Group, User, getgrouplist, gethostname};

/// Every group the user belongs to, primary included, by name, as
/// `getgrouplist` reports them. `None` when the user does not exist.
pub fn groups_of(user: &str) -> Result<Option<Vec<String>>, String> {
    let entry = User::from_name(user).map_err(|e| format!("cannot look up user {user}: {e}"))?;
    let Some(entry) = entry else { return Ok(None) };
    let name = CString::new(user).map_err(|_| format!("user name {user:?} holds a NUL byte"))?;
    let gids = getgrouplist(&name, entry.gid).map_err(|e| format!("cannot list the groups of {user}: {e}"))?;
    let mut names = Vec::with_capacity(gids.len());
    for gid in gids {
        // A gid with no name cannot be named in a policy either.
        if let Ok(Some(group)) = Group::from_gid(gid)
            && !names.contains(&group.name)
        {
            names.push(group.name);
        }
    }
    Ok(Some(names))
}

/// Why a target cannot be switched to.
#[derive(Debug)]
pub enum TargetError {
    /// No such name here (it may be meant for another machine).
    Unknown(String),
    /// A second name for an account, or a lookup that failed.
    Refused(String),
}

impl std::fmt::Display for TargetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetError::Unknown(why) | TargetError::Refused(why) => f.write_str(why),
        }
    }
}

/// A target user by its account's one name. The policy matches targets by
/// name, so neither a second name for the same uid (`toor` for root) nor a
/// name that NSS matched loosely (`Admin` for `admin`) may stand for an
/// account: either would slip past a `deny` that names it. The error says
/// which name to use.
pub fn target_user(name: &str) -> Result<User, TargetError> {
    use TargetError::{Refused, Unknown};
    let user = match User::from_name(name) {
        Ok(Some(user)) => user,
        Ok(None) => return Err(Unknown(format!("unknown user {name}"))),
        Err(e) => return Err(Refused(format!("cannot look up user {name}: {e}"))),
    };
    let canonical = match User::from_uid(user.uid) {
        Ok(Some(owner)) => owner.name,
        Ok(None) => {
            return Err(Refused(format!(
                "uid {} of user {name} has no entry of its own",
                user.uid
            )));
        }
        Err(e) => return Err(Refused(format!("cannot look up uid {} of user {name}: {e}", user.uid))),
    };
    if user.name != name || canonical != name {
        return Err(Refused(format!(
            "user {name} is another name for uid {}, {canonical}: ask for {canonical}",
            user.uid
        )));
    }
    Ok(user)
}

/// A target group by its one name, as for users.
pub fn target_group(name: &str) -> Result<Group, TargetError> {
    use TargetError::{Refused, Unknown};
    let group = match Group::from_name(name) {
        Ok(Some(group)) => group,
        Ok(None) => return Err(Unknown(format!("unknown group {name}"))),
        Err(e) => return Err(Refused(format!("cannot look up group {name}: {e}"))),
    };
    let canonical = match Group::from_gid(group.gid) {
        Ok(Some(owner)) => owner.name,
        Ok(None) => {
            return Err(Refused(format!(
                "gid {} of group {name} has no entry of its own",
                group.gid
            )));
        }
        Err(e) => {
            return Err(Refused(format!(
                "cannot look up gid {} of group {name}: {e}",
                group.gid
            )));
        }
    };
    if group.name != name || canonical != name {
        return Err(Refused(format!(
            "group {name} is another name for gid {}, {canonical}: ask for {canonical}",
            group.gid
        )));
    }
    Ok(group)
}

/// This machine's host name, as rules' `on` conditions see it.
pub fn host_name() -> Result<String, String> {
    let name = gethostname().map_err(|e| format!("cannot read the host name: {e}"))?;
    name.into_string().map_err(|_| "the host name is not UTF-8".to_string())
}

/// The system's directory, for the warnings about names that do not exist.
pub struct SystemDirectory {
    host: Option<String>,
}

impl SystemDirectory {
    pub fn new() -> SystemDirectory {
        SystemDirectory { host: host_name().ok() }
    }
}

impl Default for SystemDirectory {
    fn default() -> Self {
        SystemDirectory::new()
    }
}

impl Directory for SystemDirectory {
    fn user_exists(&self, name: &str) -> bool {
        // A failed lookup (NSS down) is not proof of absence: no warning then.
        !matches!(User::from_name(name), Ok(None))
    }

    fn group_exists(&self, name: &str) -> bool {
        !matches!(Group::from_name(name), Ok(None))
    }

    fn real_folder(&self, folder: &str) -> Option<String> {
        std::fs::canonicalize(folder).ok().map(|p| p.display().to_string())
    }

    fn host_exists(&self, name: &str) -> bool {
        self.host.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(name))
            || (name, 0)
                .to_socket_addrs()
                .is_ok_and(|mut addrs| addrs.next().is_some())
    }
}
