//! What the module needs from a PAM handle, as a safe interface: the items,
//! the PAM environment and the log. `ffi` implements it over the real handle.

#![forbid(unsafe_code)]

use pam_sys::PamItemType;

/// The PAM items the module reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    Service,
    User,
    Ruser,
    Tty,
    Rhost,
}

impl Item {
    pub fn code(self) -> PamItemType {
        match self {
            Item::Service => PamItemType::SERVICE,
            Item::User => PamItemType::USER,
            Item::Ruser => PamItemType::RUSER,
            Item::Tty => PamItemType::TTY,
            Item::Rhost => PamItemType::RHOST,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Item::Service => "PAM_SERVICE",
            Item::User => "PAM_USER",
            Item::Ruser => "PAM_RUSER",
            Item::Tty => "PAM_TTY",
            Item::Rhost => "PAM_RHOST",
        }
    }
}

/// How important a log line is; `ffi` maps these to syslog priorities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// The policy cannot be used, or the system failed us.
    Error,
    /// A denial.
    Notice,
    /// A permit, a grant, a session.
    Info,
    /// Only with the `debug` argument.
    Debug,
}

/// One PAM transaction, as one call of the module sees it.
pub trait Handle {
    /// A string item; `Ok(None)` when it is unset or empty, an error when
    /// PAM cannot give it or it is not UTF-8.
    fn item(&self, item: Item) -> Result<Option<String>, String>;

    /// A PAM environment variable; `Ok(None)` when it is unset.
    fn env(&self, name: &str) -> Result<Option<String>, String>;

    /// Writes one line through `pam_syslog`, prefixed by PAM with
    /// `pam_newgate(SERVICE:STAGE): `.
    fn log(&self, level: Level, message: &str);
}

/// The most bytes of one log line's text. With PAM's prefix and the syslog
/// header the datagram stays under 1 KiB, the size every relay accepts
/// (RFC 3164): a relay that cuts a longer frame could turn its tail, which
/// a caller's command line fills, into a message of its own (docs/audit.md).
pub const MAX_LINE: usize = 800;

/// A log line that cannot break the log: control and invisible characters
/// (a newline in a user name, say) are written as `\n`, `\u{1b}`, and so on.
/// A line longer than [`MAX_LINE`] loses the middle of what it names, saying
/// how much: its start (who, as whom) and its end (the verdict and why) stay.
pub fn sanitize(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for c in message.chars() {
        if newgate_system::needs_escape(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if out.len() <= MAX_LINE {
        return out;
    }
    let mut head = MAX_LINE * 3 / 4;
    while !out.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = out.len() - MAX_LINE / 5;
    while !out.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{} [cut: {} bytes] {}", &out[..head], tail - head, &out[tail..])
}

#[cfg(test)]
pub mod fake {
    //! A PAM handle in memory, for the unit tests.

    use std::cell::RefCell;
    use std::collections::HashMap;

    use super::{Handle, Item, Level};

    #[derive(Default)]
    pub struct FakePam {
        pub items: HashMap<&'static str, String>,
        pub env: HashMap<String, String>,
        pub lines: RefCell<Vec<(Level, String)>>,
    }

    impl FakePam {
        pub fn with(items: &[(Item, &str)], env: &[(&str, &str)]) -> FakePam {
            FakePam {
                items: items.iter().map(|(i, v)| (i.name(), v.to_string())).collect(),
                env: env.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
                lines: RefCell::default(),
            }
        }

        pub fn logged(&self) -> Vec<String> {
            self.lines.borrow().iter().map(|(_, line)| line.clone()).collect()
        }
    }

    impl Handle for FakePam {
        fn item(&self, item: Item) -> Result<Option<String>, String> {
            Ok(self.items.get(item.name()).filter(|v| !v.is_empty()).cloned())
        }

        fn env(&self, name: &str) -> Result<Option<String>, String> {
            Ok(self.env.get(name).cloned())
        }

        fn log(&self, level: Level, message: &str) {
            self.lines.borrow_mut().push((level, message.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newline_in_a_name_cannot_forge_a_log_line() {
        assert_eq!(
            sanitize("evil\nfake: permit\u{1b}[2J as user root"),
            "evil\\nfake: permit\\u{1b}[2J as user root"
        );
        assert_eq!(sanitize("alice as group docker"), "alice as group docker");
    }

    #[test]
    fn a_long_line_is_cut_below_one_kibibyte_and_says_so() {
        let long = format!(
            "alice as user root cmd /usr/bin/echo args {}: deny (/etc/newgate/policy:7)",
            "\u{2028}x".repeat(400)
        );
        let line = sanitize(&long);
        assert!(line.len() <= MAX_LINE + 32, "{}", line.len());
        assert!(line.contains(" bytes] ") && line.contains(" [cut: "), "{line}");
        assert!(line.ends_with("x: deny (/etc/newgate/policy:7)"), "{line}");
        assert!(
            line.starts_with("alice as user root cmd /usr/bin/echo args \\u{2028}x"),
            "{line}"
        );
        let short = "alice as group docker: permit (/etc/newgate/policy:3)";
        assert_eq!(sanitize(short), short);
    }

    /// A line separator or a bidi override in a command line would make a log
    /// viewer show a line pam_newgate never wrote (found by the adversarial review).
    #[test]
    fn invisible_characters_are_escaped_as_newgate_escapes_them() {
        assert_eq!(
            sanitize("hi\u{2028}pam_newgate(newgate:account): permit\u{2029}\u{202e}denied"),
            "hi\\u{2028}pam_newgate(newgate:account): permit\\u{2029}\\u{202e}denied"
        );
    }
}
