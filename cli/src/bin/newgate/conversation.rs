//! The PAM conversation at the terminal (or on standard input with `-S`); it
//! keeps why it stopped, for the authentication stage to read back from the
//! PAM handle that owns it.

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
    NoPassword,
    Interrupted(Signal),
}

/// Where answers are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The controlling terminal, with echo off for passwords.
    Terminal,
    /// `-S`: a line of standard input, the prompt on standard error.
    StandardInput,
}

impl From<Stop> for AuthError {
    fn from(stop: Stop) -> AuthError {
        match stop {
            Stop::NonInteractive => AuthError::PasswordRequired,
            Stop::NoTerminal => AuthError::NoTerminal,
            Stop::NoPassword => AuthError::NoPassword,
            Stop::Interrupted(signal) => AuthError::Interrupted(signal),
        }
    }
}

pub struct Terminal {
    /// Shown instead of PAM's stock `Password:`.
    prompt: String,
    non_interactive: bool,
    source: Source,
    signals: SignalFd,
    /// Why the last question had no answer; taken by the authentication stage.
    stopped: Option<Stop>,
    /// An answer was read: time has passed since the policy decided.
    answered: bool,
}

impl Terminal {
    pub fn new(prompt: String, non_interactive: bool, source: Source, signals: SignalFd) -> Terminal {
        Terminal {
            prompt,
            non_interactive,
            source,
            signals,
            stopped: None,
            answered: false,
        }
    }

    /// Whether any question was answered (a password, a new password, a
    /// module's question), so that the policy decides again.
    pub fn answered(&self) -> bool {
        self.answered
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
            &self.prompt
        } else {
            prompt
        };
        let answer = match self.source {
            Source::Terminal => tty::prompt(prompt, echo, &self.signals),
            Source::StandardInput => tty::prompt_on_stdin(prompt, &self.signals),
        };
        match answer {
            Ok(secret) => {
                self.answered = true;
                Some(secret)
            }
            Err(tty::PromptError::Interrupted(signal)) => {
                self.stopped = Some(Stop::Interrupted(signal));
                None
            }
            Err(tty::PromptError::NoTerminal) => {
                self.stopped = Some(Stop::NoTerminal);
                None
            }
            Err(tty::PromptError::EndOfInput) => {
                self.stopped = Some(Stop::NoPassword);
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
