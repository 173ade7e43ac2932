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
