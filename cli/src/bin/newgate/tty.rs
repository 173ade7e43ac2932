//! The terminal: where the password is read (standard input only with `-S`)
//! and messages go.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;
use nix::sys::signalfd::SignalFd;
use nix::sys::termios::{LocalFlags, SetArg, Termios, tcgetattr, tcsetattr};

/// The longest answer read; PAM modules refuse longer passwords anyway.
const MAX_ANSWER: usize = 1024;

/// Bytes that are wiped when dropped: passwords never linger in memory.
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // The buffer never grows past the capacity reserved up front, so no
        // copy of the secret was left behind by a reallocation.
        crate::sys::wipe(&mut self.0);
    }
}

/// Why no answer was read.
#[derive(Debug)]
pub enum PromptError {
    NoTerminal,
    /// Standard input ended before a line (`-S`).
    EndOfInput,
    Interrupted(Signal),
    Io(String),
}

/// Restores the terminal's settings however the prompt ends.
struct EchoOff<'a> {
    tty: &'a File,
    saved: Termios,
}

impl EchoOff<'_> {
    fn restore(&self) {
        let _ = tcsetattr(self.tty, SetArg::TCSAFLUSH, &self.saved);
    }
}

impl Drop for EchoOff<'_> {
    fn drop(&mut self) {
        self.restore();
    }
}

fn open_tty() -> Result<File, PromptError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
        .open("/dev/tty")
        .map_err(|_| PromptError::NoTerminal)
}

/// What a signal that arrives at the prompt does to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtPrompt {
    /// The person (or the system) asks newgate to stop: the prompt ends.
    Stop,
    /// ^Z: the prompt steps aside, newgate stops, and `fg` asks again.
    Suspend,
    /// Anything else (a resized window, `fg`, a module's child ending):
    /// the prompt goes on as if nothing happened.
    Ignore,
}

/// Only the signals that sudo and doas (readpassphrase) let end a password
/// prompt end this one; ^Z suspends it, as there, and the prompt is asked
/// again when continued. Every other signal is read and dropped, so that a
/// resized window, `bg`/`fg` or a PAM module's child never turns the next
/// thing typed into a command for the shell.
pub fn at_prompt(signal: Signal) -> AtPrompt {
    match signal {
        Signal::SIGINT | Signal::SIGQUIT | Signal::SIGTERM | Signal::SIGHUP | Signal::SIGALRM => AtPrompt::Stop,
        Signal::SIGTSTP => AtPrompt::Suspend,
        _ => AtPrompt::Ignore,
    }
}

/// Prints a prompt on the controlling terminal and reads one line, with echo
/// off unless `echo`. A signal arriving on `signals` that means "stop" ends
/// the read; ^Z suspends newgate and the prompt starts again when continued.
pub fn prompt(text: &str, echo: bool, signals: &SignalFd) -> Result<Secret, PromptError> {
    let tty = open_tty()?;
    let saved = tcgetattr(&tty).map_err(|_| PromptError::NoTerminal)?;
    let terminal = EchoOff {
        tty: &tty,
        saved: saved.clone(),
    };
    let mut quiet = saved;
    quiet
        .local_flags
        .remove(LocalFlags::ECHO | LocalFlags::ECHOE | LocalFlags::ECHOK);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    let mut answer = Vec::with_capacity(MAX_ANSWER + 1);
    let mut byte = [0u8; 1];
    'ask: loop {
        if !echo {
            tcsetattr(&tty, SetArg::TCSAFLUSH, &quiet).map_err(|e| PromptError::Io(e.to_string()))?;
        }
        (&tty)
            .write_all(text.as_bytes())
            .map_err(|e| PromptError::Io(e.to_string()))?;
        loop {
            let mut fds = [
                PollFd::new(tty.as_fd(), PollFlags::POLLIN),
                PollFd::new(signals.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    crate::sys::wipe(&mut answer);
                    return Err(PromptError::Io(e.to_string()));
                }
            }
            if fds[1].revents().is_some_and(|r| r.contains(PollFlags::POLLIN)) {
                let Some(signal) = signals
                    .read_signal()
                    .ok()
                    .flatten()
                    .and_then(|info| Signal::try_from(info.ssi_signo as i32).ok())
                else {
                    continue;
                };
                match at_prompt(signal) {
                    AtPrompt::Ignore => continue,
                    AtPrompt::Stop => {
                        crate::sys::wipe(&mut answer);
                        let _ = (&tty).write_all(b"\n");
                        return Err(PromptError::Interrupted(signal));
                    }
                    AtPrompt::Suspend => {
                        // What was typed so far is dropped, as sudo does: the
                        // whole answer is asked for again after `fg`.
                        crate::sys::wipe(&mut answer);
                        answer.clear();
                        terminal.restore();
                        let _ = (&tty).write_all(b"\n");
                        // SIGTSTP is blocked (it arrived here), and a process group
                        // without a parent in the session would discard it anyway:
                        // SIGSTOP stops newgate whatever its job-control state.
                        let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), Signal::SIGSTOP);
                        continue 'ask;
                    }
                }
            }
            if fds[0].revents().is_none_or(|r| r.is_empty()) {
                continue;
            }
            match (&tty).read(&mut byte) {
                Ok(0) => break 'ask,
                Ok(_) if byte[0] == b'\n' || byte[0] == b'\r' => break 'ask,
                Ok(_) if answer.len() < MAX_ANSWER => answer.push(byte[0]),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    crate::sys::wipe(&mut answer);
                    return Err(PromptError::Io(e.to_string()));
                }
            }
        }
    }
    crate::sys::wipe(&mut byte);
    Ok(Secret(answer))
}

/// `-S`: prints the prompt on standard error and reads one line from
/// standard input, byte by byte, so that what follows the line is left for
/// the command (Ansible writes the password, then the command reads on).
/// No echo handling: standard input is usually a pipe.
pub fn prompt_on_stdin(text: &str, signals: &SignalFd) -> Result<Secret, PromptError> {
    let stdin = std::io::stdin();
    let input = stdin.as_fd();
    let _ = std::io::stderr().write_all(text.as_bytes());
    let mut answer = Vec::with_capacity(MAX_ANSWER + 1);
    let mut byte = [0u8; 1];
    let fail = |answer: &mut Vec<u8>, error: PromptError| {
        crate::sys::wipe(answer);
        Err(error)
    };
    loop {
        let mut fds = [
            PollFd::new(input, PollFlags::POLLIN),
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return fail(&mut answer, PromptError::Io(e.to_string())),
        }
        if fds[1].revents().is_some_and(|r| r.contains(PollFlags::POLLIN))
            && let Some(signal) = signals
                .read_signal()
                .ok()
                .flatten()
                .and_then(|info| Signal::try_from(info.ssi_signo as i32).ok())
        {
            match at_prompt(signal) {
                AtPrompt::Stop => return fail(&mut answer, PromptError::Interrupted(signal)),
                AtPrompt::Suspend => {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), Signal::SIGSTOP);
                }
                AtPrompt::Ignore => {}
            }
            continue;
        }
        if fds[0].revents().is_none_or(|r| r.is_empty()) {
            continue;
        }
        match nix::unistd::read(input, &mut byte) {
            Ok(0) if answer.is_empty() => return fail(&mut answer, PromptError::EndOfInput),
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) if answer.len() < MAX_ANSWER => answer.push(byte[0]),
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
            Err(e) => return fail(&mut answer, PromptError::Io(e.to_string())),
        }
    }
    crate::sys::wipe(&mut byte);
    // A line typed at a terminal (`-S` without a pipe) ends in CR LF on some.
    if answer.last() == Some(&b'\r') {
        answer.pop();
    }
    Ok(Secret(answer))
}

/// Writes a message to the terminal, or to stderr when there is none.
pub fn tell(message: &str) {
    let line = if message.ends_with('\n') {
        message.to_string()
    } else {
        format!("{message}\n")
    };
    match open_tty() {
        Ok(mut tty) => {
            let _ = tty.write_all(line.as_bytes());
        }
        Err(_) => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

/// The controlling terminal's name for logs and PAM (`pts/0`); `unknown`
/// without one, even when a standard descriptor is a terminal (`su -c`
/// starts its command in a session of its own, on the caller's terminal).
pub fn name() -> String {
    let Some(device) = crate::persist::controlling_terminal() else {
        return "unknown".into();
    };
    let is_it = |path: &std::path::Path| {
        nix::sys::stat::stat(path).is_ok_and(|s| s.st_mode & libc::S_IFMT == libc::S_IFCHR && s.st_rdev == device)
    };
    for fd in [
        std::io::stdin().as_fd(),
        std::io::stdout().as_fd(),
        std::io::stderr().as_fd(),
    ] {
        if let Ok(path) = nix::unistd::ttyname(fd)
            && is_it(&path)
        {
            let path = path.to_string_lossy().into_owned();
            return path.strip_prefix("/dev/").unwrap_or(&path).to_string();
        }
    }
    // Not on 0-2 (all redirected): its name from its numbers, checked.
    let (major, minor) = (libc::major(device), libc::minor(device));
    let guess = match major {
        136..=143 => format!("pts/{}", (major - 136) * 256 + minor),
        4 if minor < 64 => format!("tty{minor}"),
        _ => return "unknown".into(),
    };
    if is_it(&std::path::Path::new("/dev").join(&guess)) {
        guess
    } else {
        "unknown".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stop_signals_end_a_prompt() {
        for signal in [
            Signal::SIGINT,
            Signal::SIGQUIT,
            Signal::SIGTERM,
            Signal::SIGHUP,
            Signal::SIGALRM,
        ] {
            assert_eq!(at_prompt(signal), AtPrompt::Stop, "{signal}");
        }
        assert_eq!(at_prompt(Signal::SIGTSTP), AtPrompt::Suspend);
        for signal in crate::harden::HANDLED {
            if ![
                Signal::SIGINT,
                Signal::SIGQUIT,
                Signal::SIGTERM,
                Signal::SIGHUP,
                Signal::SIGALRM,
                Signal::SIGTSTP,
            ]
            .contains(&signal)
            {
                assert_eq!(at_prompt(signal), AtPrompt::Ignore, "{signal}");
            }
        }
    }
}
