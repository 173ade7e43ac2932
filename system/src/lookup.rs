//! Users and groups as the policy sees them: by name, with one rule for what
//! counts as absent and a typed error for everything else.

use std::ffi::CString;
use std::fmt;

use nix::errno::Errno;
use nix::unistd::{Gid, Group, Uid, User, getgrouplist};

use crate::entries::{self, Failure, MAX_BUFFER};

/// What was looked up, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    User(String),
    Uid(u32),
    Group(String),
    Gid(u32),
    GroupsOf(String),
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::User(name) => write!(f, "user {name}"),
            Entry::Uid(uid) => write!(f, "uid {uid}"),
            Entry::Group(name) => write!(f, "group {name}"),
            Entry::Gid(gid) => write!(f, "gid {gid}"),
            Entry::GroupsOf(name) => write!(f, "the groups of {name}"),
        }
    }
}

/// A look-up that did not answer. Never to be read as "no such entry".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// The user database failed (a file it cannot read, a directory server away).
    Failed { entry: Entry, errno: Errno },
    /// The entry is larger than the largest buffer a look-up is given.
    TooLarge { entry: Entry },
    /// A requesting user's primary group has no name. On a working system
    /// every primary group has one; a group database that cannot be read often
    /// looks like this (getgrouplist reports no error, and each gid then has
    /// "no entry"), and the policy's `%group` rules could not be told apart.
    UnnamedPrimaryGroup { user: String, gid: u32 },
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::Failed { entry, errno } => write!(f, "cannot look up {entry}: {}", errno.desc()),
            LookupError::TooLarge { entry } => write!(
                f,
                "cannot look up {entry}: its entry is larger than {} MiB",
                MAX_BUFFER >> 20
            ),
            LookupError::UnnamedPrimaryGroup { user, gid } => write!(
                f,
                "the primary group of {user}, gid {gid}, has no name in the group database (is it readable?), so the groups of {user} are unknown"
            ),
        }
    }
}

impl std::error::Error for LookupError {}

fn failed(entry: Entry) -> impl FnOnce(Failure) -> LookupError {
    move |failure| match failure {
        Failure::Errno(errno) => LookupError::Failed { entry, errno },
        Failure::TooLarge => LookupError::TooLarge { entry },
    }
}

/// A name with a NUL byte names no entry.
fn c_name(name: &str) -> Option<CString> {
    CString::new(name).ok()
}

pub fn user_by_name(name: &str) -> Result<Option<User>, LookupError> {
    let Some(c) = c_name(name) else { return Ok(None) };
    entries::user_by_name(&c).map_err(failed(Entry::User(name.into())))
}

pub fn user_by_uid(uid: Uid) -> Result<Option<User>, LookupError> {
    entries::user_by_uid(uid).map_err(failed(Entry::Uid(uid.as_raw())))
}

pub fn group_by_name(name: &str) -> Result<Option<Group>, LookupError> {
    let Some(c) = c_name(name) else { return Ok(None) };
    entries::group_by_name(&c).map_err(failed(Entry::Group(name.into())))
}

pub fn group_by_gid(gid: Gid) -> Result<Option<Group>, LookupError> {
    entries::group_by_gid(gid).map_err(failed(Entry::Gid(gid.as_raw())))
}

/// The groups a user belongs to, primary included, as `getgrouplist` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// Every group id, for the switch itself.
    pub ids: Vec<Gid>,
    /// The names of those that have one, for the policy: a gid with no name
    /// cannot be named in a policy either. Only a requester's are looked up:
    /// a target's groups are switched to, and their names decide nothing.
    pub names: Vec<String>,
}

/// Whose groups are read: a requester's decide `%group` rules, a target's
/// only what the command runs with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Whose {
    Requester,
    Target,
}

fn membership_of(user: &User, whose: Whose) -> Result<Membership, LookupError> {
    let entry = || Entry::GroupsOf(user.name.clone());
    let name = c_name(&user.name).ok_or_else(|| LookupError::Failed {
        entry: entry(),
        errno: Errno::EINVAL,
    })?;
    let ids = getgrouplist(&name, user.gid).map_err(|errno| LookupError::Failed { entry: entry(), errno })?;
    if whose == Whose::Target {
        return Ok(Membership { ids, names: Vec::new() });
    }
    let mut names: Vec<String> = Vec::with_capacity(ids.len());
    for &gid in &ids {
        match group_by_gid(gid)? {
            Some(group) if !names.contains(&group.name) => names.push(group.name),
            Some(_) => {}
            None if gid == user.gid => {
                return Err(LookupError::UnnamedPrimaryGroup {
                    user: user.name.clone(),
                    gid: gid.as_raw(),
                });
            }
            None => {}
        }
    }
    Ok(Membership { ids, names })
}

/// Every group the named user, who asks for a switch, belongs to; `Ok(None)`
/// when there is no such user.
pub fn groups_of(user: &str) -> Result<Option<Membership>, LookupError> {
    match user_by_name(user)? {
        Some(entry) => membership_of(&entry, Whose::Requester).map(Some),
        None => Ok(None),
    }
}

/// A user account with its groups: what a switch needs of the caller and of a target.
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub uid: Uid,
    pub gid: Gid,
    pub home: String,
    /// The login shell; `/bin/sh` when the entry names none, as login(1) does.
    pub shell: String,
    pub groups: Membership,
}

/// The account of the user who asks for a switch: their groups decide `%group` rules.
pub fn requester(user: User) -> Result<Account, LookupError> {
    account_of(user, Whose::Requester)
}

/// The account of a target: its groups are what the command runs with.
pub fn target_account(user: User) -> Result<Account, LookupError> {
    account_of(user, Whose::Target)
}

fn account_of(user: User, whose: Whose) -> Result<Account, LookupError> {
    let groups = membership_of(&user, whose)?;
    let shell = user.shell.to_string_lossy().into_owned();
    Ok(Account {
        uid: user.uid,
        gid: user.gid,
        home: user.dir.to_string_lossy().into_owned(),
        shell: if shell.is_empty() { "/bin/sh".into() } else { shell },
        name: user.name,
        groups,
    })
}

/// Why a target cannot be switched to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// No such name here (it may be meant for another machine).
    Unknown(Entry),
    /// A second name for an account's id, or a name NSS matched loosely.
    SecondName {
        asked: Entry,
        id: Entry,
        canonical: String,
    },
    /// The id the name leads to has no entry of its own.
    NoOwnEntry {
        asked: Entry,
        id: Entry,
    },
    Lookup(LookupError),
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetError::Unknown(entry) => write!(f, "unknown {entry}"),
            TargetError::SecondName { asked, id, canonical } => {
                write!(f, "{asked} is another name for {id}, {canonical}: ask for {canonical}")
            }
            TargetError::NoOwnEntry { asked, id } => write!(f, "{id} of {asked} has no entry of its own"),
            TargetError::Lookup(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for TargetError {}

impl From<LookupError> for TargetError {
    fn from(error: LookupError) -> Self {
        TargetError::Lookup(error)
    }
}

/// Checks that `name` is the one name of the account it found: the policy
/// matches targets by name, so neither a second name for the same id (`toor`
/// for root) nor a name that NSS matched loosely (`Admin` for `admin`) may
/// stand for an account, as either would slip past a `deny` that names it.
fn one_name(asked: Entry, name: &str, found: &str, id: Entry, owner: Option<String>) -> Result<(), TargetError> {
    let Some(canonical) = owner else {
        return Err(TargetError::NoOwnEntry { asked, id });
    };
    if found != name || canonical != name {
        return Err(TargetError::SecondName { asked, id, canonical });
    }
    Ok(())
}

/// A target user by its account's one name.
pub fn target_user(name: &str) -> Result<User, TargetError> {
    let asked = Entry::User(name.into());
    let user = user_by_name(name)?.ok_or_else(|| TargetError::Unknown(asked.clone()))?;
    let owner = user_by_uid(user.uid)?.map(|u| u.name);
    one_name(asked, name, &user.name, Entry::Uid(user.uid.as_raw()), owner)?;
    Ok(user)
}

/// A target group by its one name, as for users.
pub fn target_group(name: &str) -> Result<Group, TargetError> {
    let asked = Entry::Group(name.into());
    let group = group_by_name(name)?.ok_or_else(|| TargetError::Unknown(asked.clone()))?;
    let owner = group_by_gid(group.gid)?.map(|g| g.name);
    one_name(asked, name, &group.name, Entry::Gid(group.gid.as_raw()), owner)?;
    Ok(group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_root_by_its_one_name() {
        assert_eq!(target_user("root").unwrap().uid, Uid::from_raw(0));
        assert_eq!(target_group("root").unwrap().gid, Gid::from_raw(0));
    }

    #[test]
    fn an_unknown_target_is_unknown_and_says_which() {
        let error = target_user("no-such-user-here").unwrap_err();
        assert_eq!(error, TargetError::Unknown(Entry::User("no-such-user-here".into())));
        assert_eq!(error.to_string(), "unknown user no-such-user-here");
        assert_eq!(user_by_name("a\0b"), Ok(None));
    }

    /// What an LDAP or SSSD directory that matches names without regard to
    /// case answers for `Admin` (the entry of `admin`): refused, naming the one
    /// name, so that `-u Admin` cannot slip past `deny ... as user admin`.
    #[test]
    fn a_name_matched_loosely_is_refused() {
        let refused = one_name(
            Entry::User("Admin".into()),
            "Admin",
            "admin",
            Entry::Uid(1001),
            Some("admin".into()),
        );
        assert_eq!(
            refused.unwrap_err().to_string(),
            "user Admin is another name for uid 1001, admin: ask for admin"
        );
        let second = one_name(
            Entry::User("toor".into()),
            "toor",
            "toor",
            Entry::Uid(0),
            Some("root".into()),
        );
        assert!(matches!(second, Err(TargetError::SecondName { .. })));
        let orphan = one_name(Entry::Group("ghost".into()), "ghost", "ghost", Entry::Gid(9), None);
        assert!(matches!(orphan, Err(TargetError::NoOwnEntry { .. })));
        assert!(
            one_name(
                Entry::User("admin".into()),
                "admin",
                "admin",
                Entry::Uid(1001),
                Some("admin".into())
            )
            .is_ok()
        );
    }

    #[test]
    fn messages_say_what_failed_and_why() {
        let error = LookupError::Failed {
            entry: Entry::Gid(4242),
            errno: Errno::EIO,
        };
        assert_eq!(error.to_string(), "cannot look up gid 4242: I/O error");
        let error = LookupError::TooLarge {
            entry: Entry::Group("big".into()),
        };
        assert_eq!(
            error.to_string(),
            "cannot look up group big: its entry is larger than 64 MiB"
        );
        let error = TargetError::SecondName {
            asked: Entry::User("toor".into()),
            id: Entry::Uid(0),
            canonical: "root".into(),
        };
        assert_eq!(
            error.to_string(),
            "user toor is another name for uid 0, root: ask for root"
        );
    }
}
