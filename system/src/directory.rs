//! The system's directory as `newgatectl check` sees it: which users, groups
//! and hosts exist, for the warnings about names that do not.

use std::net::ToSocketAddrs;

use newgate_policy::Directory;

use crate::lookup::{group_by_gid, group_by_name, user_by_name, user_by_uid};

pub struct SystemDirectory {
    host: Option<String>,
}

impl SystemDirectory {
    pub fn new() -> SystemDirectory {
        SystemDirectory {
            host: crate::host_name().ok(),
        }
    }
}

impl Default for SystemDirectory {
    fn default() -> Self {
        SystemDirectory::new()
    }
}

impl Directory for SystemDirectory {
    // A failed look-up (NSS down) is not proof of absence: no warning then.
    fn user_exists(&self, name: &str) -> bool {
        !matches!(user_by_name(name), Ok(None))
    }

    fn group_exists(&self, name: &str) -> bool {
        !matches!(group_by_name(name), Ok(None))
    }

    // The look-ups newgate makes: a requester is named by getpwuid and
    // getgrgid (the first entry for an id), a target must be that name.
    fn user_known_as(&self, name: &str) -> Option<String> {
        let user = user_by_name(name).ok()??;
        let own = user_by_uid(user.uid).ok()??;
        (own.name != name).then_some(own.name)
    }

    fn group_known_as(&self, name: &str) -> Option<String> {
        let group = group_by_name(name).ok()??;
        let own = group_by_gid(group.gid).ok()??;
        (own.name != name).then_some(own.name)
    }

    fn real_folder(&self, folder: &str) -> Option<String> {
        std::fs::canonicalize(folder).ok().map(|p| p.display().to_string())
    }

    fn program_exists(&self, path: &str) -> Option<bool> {
        Some(std::path::Path::new(path).is_file())
    }

    fn host_exists(&self, name: &str) -> bool {
        self.host.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(name))
            || (name, 0)
                .to_socket_addrs()
                .is_ok_and(|mut addrs| addrs.next().is_some())
    }
}
