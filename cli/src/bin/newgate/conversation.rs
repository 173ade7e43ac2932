//! The PAM conversation at the terminal; it keeps why it stopped, for the
//! authentication stage to read back from the PAM handle that owns it.

use nix::sys::signal::Signal;
use nix::sys::signalfd::SignalFd;

use crate::failure::AuthError;
use crate::pam;
use crate::tty;

/// Why the conversation could not get an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    NonInteractive,
    NoTerminal,
    Interrupted(Signal),
}

impl From<Stop> for AuthError {
    fn from(stop: Stop) -> AuthError {
        match stop {
            Stop::NonInteractive => AuthError::PasswordRequired,
            Stop::NoTerminal => AuthError::NoTerminal,
            Stop::Interrupted(signal) => AuthError::Interrupted(signal),
        }
    }
}

pub struct Terminal {
    user: String,
    non_interactive: bool,
    signals: SignalFd,
    /// Why the last question had no answer; taken by the authentication stage.
    stopped: Option<Stop>,
}

impl Terminal {
    pub fn new(user: &str, non_interactive: bool, signals: SignalFd) -> Terminal {
        Terminal {
            user: user.to_string(),
            non_interactive,
            signals,
            stopped: None,
        }
    }

    /// Why the conversation stopped since last asked, if it did.
    pub fn take_stop(&mut self) -> Option<Stop> {
        self.stopped.take()
    }
}

impl pam::Conversation for Terminal {
    fn ask(&mut self, prompt: &str, echo: bool) -> Option<tty::Secret> {
        if self.non_interactive {
            self.stopped = Some(Stop::NonInteractive);
            return None;
        }
        // The stock prompt names no one; say whose password, as sudo does.
        let prompt = if prompt.trim_end() == "Password:" {
            format!("[newgate] password for {}: ", self.user)
        } else {
            prompt.to_string()
        };
        match tty::prompt(&prompt, echo, &self.signals) {
            Ok(secret) => Some(secret),
            Err(tty::PromptError::Interrupted(signal)) => {
                self.stopped = Some(Stop::Interrupted(signal));
                None
            }
            Err(tty::PromptError::NoTerminal) => {
                self.stopped = Some(Stop::NoTerminal);
                None
            }
            Err(tty::PromptError::Io(why)) => {
                tty::tell(&format!("newgate: cannot read the password: {why}"));
                None
            }
        }
    }

    fn tell(&mut self, message: &str, _error: bool) {
        tty::tell(message);
    }
}
