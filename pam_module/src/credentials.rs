//! `pam_sm_setcred`: the groups of matching `grant` rules, added to the
//! process's supplementary groups (as pam_group does, but from the policy).

#![forbid(unsafe_code)]

use newgate_policy::Login;
use nix::unistd::{Gid, getgroups, setgroups};
use pam_sys::{PamFlag, PamReturnCode};

use crate::options::Options;
use crate::pam::{Handle, Item, Level};

/// The flags that ask for credentials to be set: establish and reinitialize.
const SETTING: i32 = PamFlag::ESTABLISH_CRED as i32 | PamFlag::REINITIALIZE_CRED as i32;

/// Grants the policy's groups. No grant (or a policy that cannot be used,
/// which grants nothing) → ignore; groups added → success; the groups could
/// not be changed → credential error. Deleting credentials does nothing.
pub fn setcred(pam: &dyn Handle, options: &Options, flags: i32) -> PamReturnCode {
    if flags & SETTING == 0 {
        if options.debug {
            pam.log(Level::Debug, &format!("flags {flags:#x}: nothing to do"));
        }
        return PamReturnCode::IGNORE;
    }
    match grant(pam, options) {
        Ok(code) => code,
        Err(why) => {
            pam.log(Level::Error, &why);
            PamReturnCode::IGNORE
        }
    }
}

/// Adds the granted groups; an error means nothing was granted.
fn grant(pam: &dyn Handle, options: &Options) -> Result<PamReturnCode, String> {
    let user = pam.item(Item::User)?.ok_or("no groups granted: PAM_USER is not set")?;
    let service = pam
        .item(Item::Service)?
        .ok_or("no groups granted: PAM_SERVICE is not set")?;
    let groups = newgate_system::groups_of(&user)
        .map_err(|why| format!("{user}: no groups granted: {why}"))?
        .ok_or_else(|| format!("{user}: no groups granted: unknown user {user}"))?
        .names;
    let host = newgate_system::host_name().map_err(|why| format!("{user}: no groups granted: {why}"))?;
    let time = newgate_system::now().map_err(|why| format!("{user}: no groups granted: {why}"))?;
    let refused = |why| format!("{user}: no groups granted (policy refused: {why})");
    let enforcing = newgate_system::load_enforcing(&options.policy).map_err(refused)?;
    let policy = enforcing.for_requester(&user, &groups).map_err(refused)?;
    if options.debug {
        let origin = policy.origin();
        pam.log(
            Level::Debug,
            &format!("{user}: policy {} {origin}", options.policy.display()),
        );
    }
    let granted = policy.grants(&Login {
        user: &user,
        groups: &groups,
        host: &host,
        service: &service,
        time,
    });
    if granted.is_empty() {
        if options.debug {
            pam.log(Level::Debug, &format!("{user}: no grant rule matches"));
        }
        return Ok(PamReturnCode::IGNORE);
    }
    let mut adding: Vec<(Gid, String)> = Vec::new();
    for grant in &granted {
        let line = format!("group {} ({})", grant.group, grant.rule.location);
        match newgate_system::group_by_name(&grant.group) {
            Ok(Some(group)) => adding.push((group.gid, line)),
            Ok(None) => pam.log(Level::Error, &format!("{user}: {line} does not exist: skipped")),
            Err(why) => pam.log(Level::Error, &format!("{user}: {line}: {why}: skipped")),
        }
    }
    if adding.is_empty() {
        return Ok(PamReturnCode::IGNORE);
    }
    let mut gids = getgroups().map_err(|e| format!("{user}: no groups granted: cannot read the groups: {e}"))?;
    let before = gids.len();
    for (gid, _) in &adding {
        if !gids.contains(gid) {
            gids.push(*gid);
        }
    }
    if gids.len() > before
        && let Err(e) = setgroups(&gids)
    {
        let lines: Vec<&str> = adding.iter().map(|(_, line)| line.as_str()).collect();
        pam.log(
            Level::Error,
            &format!("{user}: cannot grant {}: setgroups: {e}", lines.join(", ")),
        );
        return Ok(PamReturnCode::CRED_ERR);
    }
    for (_, line) in &adding {
        pam.log(Level::Info, &format!("{user}: granted {line}"));
    }
    Ok(PamReturnCode::SUCCESS)
}
