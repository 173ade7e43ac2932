//! `pam_sm_open_session` and `pam_sm_close_session`: one audit line each.

#![forbid(unsafe_code)]

use pam_sys::PamReturnCode;

use crate::pam::{Handle, Item, Level};

/// Whether a session begins or ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Open,
    Close,
}

/// Logs `session opened for alice by bob, tty pts/0, rhost example.org`.
pub fn audit(pam: &dyn Handle, event: Event) -> PamReturnCode {
    match line(pam, event) {
        Ok(line) => {
            pam.log(Level::Info, &line);
            PamReturnCode::SUCCESS
        }
        Err(why) => {
            pam.log(Level::Error, &why);
            PamReturnCode::SESSION_ERR
        }
    }
}

fn line(pam: &dyn Handle, event: Event) -> Result<String, String> {
    let verb = match event {
        Event::Open => "opened",
        Event::Close => "closed",
    };
    let user = pam
        .item(Item::User)?
        .ok_or_else(|| format!("session {verb} for no user: PAM_USER is not set"))?;
    let mut line = format!("session {verb} for {user}");
    if let Some(ruser) = pam.item(Item::Ruser)? {
        line.push_str(&format!(" by {ruser}"));
    }
    for (item, label) in [(Item::Tty, "tty"), (Item::Rhost, "rhost")] {
        if let Some(value) = pam.item(item)? {
            line.push_str(&format!(", {label} {value}"));
        }
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pam::fake::FakePam;

    #[test]
    fn a_session_is_audited_with_who_where_and_from_where() {
        let pam = FakePam::with(
            &[
                (Item::User, "deploy"),
                (Item::Ruser, "alice"),
                (Item::Tty, "pts/1"),
                (Item::Rhost, "laptop.example.org"),
            ],
            &[],
        );
        assert_eq!(audit(&pam, Event::Open), PamReturnCode::SUCCESS);
        assert_eq!(audit(&pam, Event::Close), PamReturnCode::SUCCESS);
        assert_eq!(
            pam.logged(),
            [
                "session opened for deploy by alice, tty pts/1, rhost laptop.example.org",
                "session closed for deploy by alice, tty pts/1, rhost laptop.example.org",
            ]
        );
    }

    #[test]
    fn a_session_without_a_user_is_an_error() {
        let pam = FakePam::with(&[(Item::Tty, "tty1")], &[]);
        assert_eq!(audit(&pam, Event::Open), PamReturnCode::SESSION_ERR);
        assert_eq!(pam.logged(), ["session opened for no user: PAM_USER is not set"]);
    }
}
