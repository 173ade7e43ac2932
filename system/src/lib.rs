//! What the three programs ask of the system, in one place: users and groups
//! (NSS) with one rule for "absent" and one for failure, the one-name check of
//! targets, the host name, the clock, and the enforcing policy load.
//!
//! Every look-up error other than "no such entry" is an error here, never an
//! absence: a group that cannot be read must not quietly stop a `deny %group`.

#![deny(unsafe_code)]

mod entries;
mod lookup;

pub mod directory;
pub mod enforce;
pub mod text;

pub use directory::SystemDirectory;
pub use enforce::{Enforcing, Origin, PolicyRefused, SNAPSHOT, Scoped, load_enforcing, load_with_snapshot};
pub use lookup::{
    Account, Entry, LookupError, Membership, TargetError, group_by_gid, group_by_name, groups_of, requester,
    target_account, target_group, target_user, user_by_name, user_by_uid,
};
pub use text::{is_invisible, needs_escape};

use jiff::Timestamp;

/// Why the host name or the clock cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemError {
    HostName(nix::errno::Errno),
    HostNameNotUtf8,
    ClockOutOfRange,
}

impl std::fmt::Display for SystemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SystemError::HostName(errno) => write!(f, "cannot read the host name: {}", errno.desc()),
            SystemError::HostNameNotUtf8 => f.write_str("the host name is not UTF-8"),
            SystemError::ClockOutOfRange => f.write_str("the system clock is outside the years -9999 to 9999"),
        }
    }
}

impl std::error::Error for SystemError {}

/// This machine's host name, as rules' `on` conditions see it.
pub fn host_name() -> Result<String, SystemError> {
    let name = nix::unistd::gethostname().map_err(SystemError::HostName)?;
    name.into_string().map_err(|_| SystemError::HostNameNotUtf8)
}

/// Now, as rules' `when` and `until` conditions see it.
pub fn now() -> Result<Timestamp, SystemError> {
    Timestamp::try_from(std::time::SystemTime::now()).map_err(|_| SystemError::ClockOutOfRange)
}
