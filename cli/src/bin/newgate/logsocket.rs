//! Why the system log cannot be reached, in words that name the socket and
//! the cause: the audit library's own error says neither.

use std::io::ErrorKind;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

/// Where syslog daemons and journald listen.
pub const SOCKET: &str = "/dev/log";

/// What is wrong with the log socket at `path`.
pub fn problem(path: &Path) -> String {
    let shown = path.display();
    match std::fs::metadata(path) {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return format!("{shown} does not exist: no syslog daemon or journald runs here");
        }
        Err(e) => return format!("{shown} cannot be looked at: {}", describe(&e)),
        Ok(meta) if !meta.file_type().is_socket() => {
            return format!("{shown} is not a socket: no syslog daemon or journald made it");
        }
        Ok(_) => {}
    }
    let connected = UnixDatagram::unbound().and_then(|socket| socket.connect(path));
    match connected {
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
            format!("nothing listens on {shown}: the syslog daemon or journald that made it is not running")
        }
        Err(e) if e.kind() == ErrorKind::PermissionDenied => format!("{shown} refuses newgate: permission denied"),
        Err(e) => format!("cannot connect to {shown}: {}", describe(&e)),
        Ok(()) => format!("{shown} accepted a connection only on a second try; the log may be restarting"),
    }
}

/// An error's own words, without Rust's `(os error N)`.
fn describe(error: &std::io::Error) -> String {
    match error.raw_os_error() {
        Some(errno) => nix::errno::Errno::from_raw(errno).desc().to_string(),
        None => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_is_named_with_the_socket() {
        let folder = std::env::temp_dir().join(format!("newgate-logsocket-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        let missing = folder.join("missing");
        assert_eq!(
            problem(&missing),
            format!(
                "{} does not exist: no syslog daemon or journald runs here",
                missing.display()
            )
        );
        let file = folder.join("file");
        std::fs::write(&file, "").unwrap();
        assert_eq!(
            problem(&file),
            format!(
                "{} is not a socket: no syslog daemon or journald made it",
                file.display()
            )
        );
        // A socket whose daemon went away: the name stays, nobody listens.
        let gone = folder.join("gone");
        drop(UnixDatagram::bind(&gone).unwrap());
        assert_eq!(
            problem(&gone),
            format!(
                "nothing listens on {}: the syslog daemon or journald that made it is not running",
                gone.display()
            )
        );
        std::fs::remove_dir_all(&folder).unwrap();
    }
}
