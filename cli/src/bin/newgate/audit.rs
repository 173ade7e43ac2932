//! The audit trail: syslog, ident `newgate`, facility authpriv; the lines
//! themselves are made by `newgate::audit_line`.

use newgate::audit_line::{Event, json_parts, sudo_lines};
use newgate_policy::LogFormat;
use syslog::{Facility, Formatter3164, Logger, LoggerBackend};

/// The system log did not take a line.
#[derive(Debug)]
pub struct WriteError(syslog::Error);

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot write to the system log: {}", self.0)
    }
}

pub struct Audit {
    logger: Option<Logger<LoggerBackend, Formatter3164>>,
    format: LogFormat,
}

impl Audit {
    /// Connects to `/dev/log`. The library's error names neither the socket
    /// nor the cause: `logsocket::problem` says what is wrong.
    pub fn connect(format: LogFormat) -> Result<Audit, syslog::Error> {
        let formatter = Formatter3164 {
            facility: Facility::LOG_AUTHPRIV,
            hostname: None,
            process: "newgate".into(),
            pid: std::process::id(),
        };
        let logger = syslog::unix(formatter)?;
        Ok(Audit {
            logger: Some(logger),
            format,
        })
    }

    /// An audit that only goes to stderr, when the log cannot be reached and `set audit = best-effort`.
    pub fn unavailable(format: LogFormat) -> Audit {
        Audit { logger: None, format }
    }

    /// Logs a permitted run (notice) or a denial or failure (alert).
    pub fn log(&mut self, event: &Event) -> Result<(), WriteError> {
        let lines = match self.format {
            LogFormat::Sudo => sudo_lines(event),
            LogFormat::Json => json_parts(event, &event_id()),
        };
        // Without a log (best-effort, already warned about), events go nowhere.
        let Some(logger) = &mut self.logger else { return Ok(()) };
        for line in lines {
            let sent = if event.problem.is_some() {
                logger.alert(&line)
            } else {
                logger.notice(&line)
            };
            sent.map_err(WriteError)?;
        }
        Ok(())
    }
}

/// `PID-MILLISECONDS-N`: the process, when it first asked, and which of its
/// events this is (counted across every `Audit` it makes); unique on one
/// host, since a pid is not reused within a millisecond.
fn event_id() -> String {
    static START: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    static EVENTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let millis = START.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    });
    let n = EVENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    format!("{}-{millis}-{n}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_has_its_own_id() {
        let (first, second) = (event_id(), event_id());
        assert_ne!(first, second);
        assert!(first.starts_with(&format!("{}-", std::process::id())), "{first}");
    }
}
