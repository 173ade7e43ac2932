//! The audit trail: syslog, ident `newgate`, facility authpriv, in the line
//! format log tools already parse for sudo, or one JSON object per event.

use newgate::json::Json;
use newgate_policy::LogFormat;
use syslog::{Facility, Formatter3164, Logger, LoggerBackend};

/// Longest message sent in one syslog line; longer commands continue on more lines.
const MAX_LINE: usize = 900;

/// What happened, for one audit event.
pub struct Event<'a> {
    pub user: &'a str,
    /// `None` for a permitted run; the reason for a denial or failure.
    pub problem: Option<String>,
    pub tty: &'a str,
    pub pwd: &'a str,
    pub run_as_user: &'a str,
    pub run_as_group: Option<&'a str>,
    /// `FILE:LINE` of the deciding rule, for permitted runs.
    pub rule: Option<String>,
    pub command: &'a str,
}

pub struct Audit {
    logger: Option<Logger<LoggerBackend, Formatter3164>>,
    format: LogFormat,
}

impl Audit {
    /// Connects to `/dev/log`; `Err` says why it cannot.
    pub fn connect(format: LogFormat) -> Result<Audit, String> {
        let formatter = Formatter3164 {
            facility: Facility::LOG_AUTHPRIV,
            hostname: None,
            process: "newgate".into(),
            pid: std::process::id(),
        };
        let logger = syslog::unix(formatter).map_err(|e| {
            format!("cannot reach the system log at /dev/log (is a syslog daemon or journald running?): {e}")
        })?;
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
    pub fn log(&mut self, event: &Event) -> Result<(), String> {
        let lines = match self.format {
            LogFormat::Sudo => sudo_lines(event),
            LogFormat::Json => vec![json_line(event)],
        };
        // Without a log (best-effort, already warned about), events go nowhere.
        let Some(logger) = &mut self.logger else { return Ok(()) };
        for line in lines {
            let sent = if event.problem.is_some() {
                logger.alert(&line)
            } else {
                logger.notice(&line)
            };
            sent.map_err(|e| format!("cannot write to the system log: {e}"))?;
        }
        Ok(())
    }
}

/// Control characters and backslashes written as `\ooo` and `\\`, so that a
/// command cannot forge log lines or fields.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:03o}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Longest field before `COMMAND=` (a working folder can be 4 KiB, four times
/// that escaped): the fields that follow must stay within the first line.
const MAX_FIELD: usize = 400;

/// A field before `COMMAND=`, escaped like the command and with `;` as `\073`
/// too, so that a working folder named `x ; USER=root` cannot add a field;
/// cut at MAX_FIELD bytes, marked `...(cut)`.
fn field(text: &str) -> String {
    let mut escaped = escape(text).replace(';', "\\073");
    if escaped.len() > MAX_FIELD {
        let mut cut = MAX_FIELD;
        while !escaped.is_char_boundary(cut) {
            cut -= 1;
        }
        escaped.truncate(cut);
        escaped.push_str("...(cut)");
    }
    escaped
}

/// `alice : TTY=pts/0 ; PWD=/home/alice ; USER=alice ; GROUP=docker ; RULE=/etc/newgate/policy:12 ; COMMAND=/usr/bin/docker ps`,
/// split into lines of at most MAX_LINE bytes; continuation lines say `(command continued)`.
pub fn sudo_lines(event: &Event) -> Vec<String> {
    let user = field(event.user);
    let mut head = format!("{user} : ");
    if let Some(problem) = &event.problem {
        head.push_str(&format!("{} ; ", field(problem)));
    }
    head.push_str(&format!(
        "TTY={} ; PWD={} ; USER={} ; ",
        field(event.tty),
        field(event.pwd),
        field(event.run_as_user)
    ));
    if let Some(group) = event.run_as_group {
        head.push_str(&format!("GROUP={} ; ", field(group)));
    }
    if let Some(rule) = &event.rule {
        head.push_str(&format!("RULE={} ; ", field(rule)));
    }
    head.push_str("COMMAND=");
    let mut command = escape(event.command);
    // A command that runs to the end of one line keeps its `;`. Split, its
    // continuation lines would start with text of the caller's choosing, so
    // there `;` cannot be allowed to separate fields either.
    if command.len() > MAX_LINE.saturating_sub(head.len()).max(64) {
        command = command.replace(';', "\\073");
    }
    let mut lines = Vec::new();
    let mut prefix = head;
    loop {
        let room = MAX_LINE.saturating_sub(prefix.len()).max(64);
        if command.len() <= room {
            lines.push(prefix + &command);
            return lines;
        }
        let mut cut = room;
        while !command.is_char_boundary(cut) {
            cut -= 1;
        }
        let rest = command.split_off(cut);
        lines.push(prefix + &command);
        command = rest;
        prefix = format!("{user} : (command continued) ");
    }
}

pub fn json_line(event: &Event) -> String {
    Json::Object(vec![
        (
            "event",
            if event.problem.is_some() { "reject" } else { "accept" }.into(),
        ),
        ("user", event.user.into()),
        ("reason", event.problem.clone().into()),
        ("tty", event.tty.into()),
        ("pwd", event.pwd.into()),
        ("runas_user", event.run_as_user.into()),
        ("runas_group", event.run_as_group.into()),
        ("rule", event.rule.clone().into()),
        ("command", event.command.into()),
    ])
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(command: &str, problem: Option<&str>) -> Event<'static> {
        Event {
            user: "alice",
            problem: problem.map(String::from),
            tty: "pts/0",
            pwd: "/home/alice",
            run_as_user: "alice",
            run_as_group: Some("docker"),
            rule: problem.is_none().then(|| "/etc/newgate/policy:12".to_string()),
            command: Box::leak(command.to_string().into_boxed_str()),
        }
    }

    #[test]
    fn lines_look_like_sudo() {
        assert_eq!(
            sudo_lines(&event("/usr/bin/docker ps", None)),
            [
                "alice : TTY=pts/0 ; PWD=/home/alice ; USER=alice ; GROUP=docker ; RULE=/etc/newgate/policy:12 ; COMMAND=/usr/bin/docker ps"
            ]
        );
        assert_eq!(
            sudo_lines(&event("/usr/bin/docker rm -f x", Some("command not allowed"))),
            [
                "alice : command not allowed ; TTY=pts/0 ; PWD=/home/alice ; USER=alice ; GROUP=docker ; COMMAND=/usr/bin/docker rm -f x"
            ]
        );
    }

    #[test]
    fn control_characters_cannot_forge_lines() {
        let lines = sudo_lines(&event("/bin/echo x\nalice : TTY=evil", None));
        assert_eq!(lines.len(), 1);
        assert!(lines[0].ends_with("COMMAND=/bin/echo x\\012alice : TTY=evil"));
        assert_eq!(escape("a\\b\u{1b}"), "a\\\\b\\033");
    }

    #[test]
    fn semicolons_cannot_forge_fields() {
        let mut forged = event("/usr/bin/id", None);
        forged.pwd = "/tmp/x ; USER=root ; COMMAND=/bin/bash ; X=";
        let line = &sudo_lines(&forged)[0];
        assert_eq!(line.matches(" ; USER=").count(), 1, "{line}");
        assert!(
            line.contains("PWD=/tmp/x \\073 USER=root \\073 COMMAND=/bin/bash \\073 X= ; USER=alice ;"),
            "{line}"
        );
        assert!(line.ends_with("; COMMAND=/usr/bin/id"), "{line}");
        let command = sudo_lines(&event("/bin/sh -c a;b", None));
        assert!(
            command[0].ends_with("COMMAND=/bin/sh -c a;b"),
            "the command is kept as typed"
        );
    }

    #[test]
    fn continuation_lines_cannot_forge_fields() {
        let first_room = MAX_LINE - sudo_lines(&event("", Some("command not allowed")))[0].len();
        let forged = format!(
            "/bin/echo {}TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash",
            "A".repeat(first_room - "/bin/echo ".len())
        );
        let lines = sudo_lines(&event(&forged, Some("command not allowed")));
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(
            lines[1],
            "alice : (command continued) TTY=pts/0 \\073 PWD=/home/alice \\073 USER=root \\073 COMMAND=/bin/bash"
        );
    }

    #[test]
    fn a_long_working_folder_leaves_room_for_the_other_fields() {
        let mut deep = event("/usr/bin/id", None);
        let folder = format!("/tmp/{}", "\u{1}".repeat(4000));
        deep.pwd = Box::leak(folder.into_boxed_str());
        let lines = sudo_lines(&deep);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].len() <= MAX_LINE, "{}", lines[0].len());
        assert!(
            lines[0]
                .contains("...(cut) ; USER=alice ; GROUP=docker ; RULE=/etc/newgate/policy:12 ; COMMAND=/usr/bin/id"),
            "{}",
            lines[0]
        );
    }

    #[test]
    fn long_commands_are_split_without_loss() {
        let long = format!("/bin/echo {}", "é".repeat(1500));
        let lines = sudo_lines(&event(&long, None));
        assert!(lines.len() >= 3);
        assert!(lines.iter().all(|l| l.len() <= MAX_LINE));
        assert!(lines[1].starts_with("alice : (command continued) "));
        let rejoined: String = lines[0].split_once("COMMAND=").unwrap().1.to_string()
            + &lines[1..]
                .iter()
                .map(|l| l.trim_start_matches("alice : (command continued) "))
                .collect::<String>();
        assert_eq!(rejoined, long);
    }

    #[test]
    fn json_has_the_same_fields() {
        let line = json_line(&event("/usr/bin/id", Some("command not allowed")));
        assert_eq!(
            line,
            r#"{"event":"reject","user":"alice","reason":"command not allowed","tty":"pts/0","pwd":"/home/alice","runas_user":"alice","runas_group":"docker","rule":null,"command":"/usr/bin/id"}"#
        );
    }
}
