//! The audit line format: an event as the lines newgate sends to syslog, in
//! the format log tools already parse for sudo, or as JSON objects.
//!
//! Every message is small enough for any standard relay to pass whole: a
//! relay that cuts a message treats what it cut off as a new message, whose
//! start the caller could aim at text of their choosing. Nothing an event's
//! fields hold can add a line or a field: docs/audit.md says how to read the
//! lines back, and the `audit_line` fuzz target checks that what is read back
//! is what was written.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use sha2::{Digest, Sha256};

use newgate_system::needs_escape;

use crate::json::{Json, escaped_length};

/// Longest message text sent in one syslog message (after `newgate[PID]: `);
/// longer events continue in more messages. With the header the datagram is
/// at most 939 bytes, and forwarded with a host name of up to 84 bytes it
/// still fits RFC 3164's 1024.
pub const MAX_LINE: usize = 900;

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
    /// The program and its arguments, one word each, as typed or resolved;
    /// bytes, since a refused command line need not be UTF-8.
    pub command: &'a [OsString],
}

/// How a cut command's last line ends: ` ...(cut: N more bytes, sha256 HEX)`.
const CUT_MARK: &str = "...(cut";

/// Longest command logged, in bytes as typed: a caller must not be able to
/// flood the log (a rate-limited journal would then drop their next run).
const MAX_COMMAND: usize = 32 * 1024;

/// SHA-256, in hex, of the command as typed, each word followed by a NUL
/// byte (as in `/proc/PID/cmdline`, so that word boundaries count):
/// `printf '%s\0' WORDS... | sha256sum` gives the same.
fn command_sha256(command: &[OsString]) -> String {
    let mut hash = Sha256::new();
    for word in command {
        hash.update(word.as_bytes());
        hash.update([0]);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes each byte as `\ooo`.
fn push_octal(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push('\\');
        for shift in [6, 3, 0] {
            out.push(char::from(b'0' + ((b >> shift) & 7)));
        }
    }
}

/// Writes a character of a field before `COMMAND=` as logged: a hidden
/// character (byte by byte) as `\ooo`, `\` as `\\`, `;` as `\073` and each
/// of `also` as `\ooo` too, so that nothing the caller chooses can start a
/// line or a field. Cuts fall between characters, never inside an escape.
fn push_field_char(out: &mut String, c: char, also: &[char]) {
    match c {
        '\\' => out.push_str("\\\\"),
        c if c == ';' || needs_escape(c) || also.contains(&c) => {
            push_octal(out, c.encode_utf8(&mut [0u8; 4]).as_bytes())
        }
        c => out.push(c),
    }
}

/// The length of a command line as typed: its words and a space between each two.
fn typed_length(command: &[OsString]) -> usize {
    command.iter().map(|w| w.len()).sum::<usize>() + command.len().saturating_sub(1)
}

/// A command as logged (see `logged_command`), and how many bytes of the
/// command as typed were left out.
struct LoggedCommand {
    text: String,
    /// Where each unit of `text` ends: a unit is a character, its escape or a
    /// quote, and cuts and splits fall only between units.
    ends: Vec<usize>,
    /// Bytes of the command as typed that `text` stands for.
    typed: usize,
    left_out: usize,
}

impl LoggedCommand {
    /// Adds the unit `write` writes, which stands for `typed` bytes of the
    /// command as typed; adds nothing and says false when the command logged
    /// would then stand for more than MAX_COMMAND bytes.
    fn push(&mut self, typed: usize, write: impl FnOnce(&mut String)) -> bool {
        if self.typed + typed > MAX_COMMAND {
            return false;
        }
        self.typed += typed;
        write(&mut self.text);
        self.ends.push(self.text.len());
        true
    }

    fn units(&self) -> impl Iterator<Item = &str> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let unit = &self.text[start..end];
            start = end;
            unit
        })
    }
}

/// The command as logged, at most MAX_COMMAND bytes of it as typed. Words
/// are separated by one space; a word that is empty or holds a space, a
/// quote or a backslash is written in single quotes, inside which `\'` is a
/// quote and `\\` a backslash; everywhere, `\ooo` is a byte (a hidden
/// character, or a byte that is not UTF-8) and `\073` a `;` that follows a
/// space or, with `semicolons`, any `;`. So `echo 'a b' ''` and `echo a b ''`
/// give different lines, the words can be read back exactly, and ` ; ` never
/// stands in a command: a log tool that splits a line at ` ; ` finds no field
/// after `COMMAND=`. A word starting with `...(cut` is quoted, so that only a
/// real cut ends a command with ` ...(cut: `.
fn logged_command(command: &[OsString], semicolons: bool) -> LoggedCommand {
    let mut logged = LoggedCommand {
        text: String::new(),
        ends: Vec::new(),
        typed: 0,
        left_out: 0,
    };
    'words: for (i, word) in command.iter().enumerate() {
        let bytes = word.as_bytes();
        if i > 0 && !logged.push(1, |text| text.push(' ')) {
            break;
        }
        let quoted = bytes.is_empty()
            || bytes.starts_with(CUT_MARK.as_bytes())
            || bytes.iter().any(|b| matches!(b, b' ' | b'\'' | b'"' | b'\\'));
        if quoted {
            logged.push(0, |text| text.push('\''));
        }
        let mut after_space = i > 0 && !quoted;
        for chunk in bytes.utf8_chunks() {
            for c in chunk.valid().chars() {
                let written = logged.push(c.len_utf8(), |text| match c {
                    '\\' => text.push_str("\\\\"),
                    '\'' => text.push_str("\\'"),
                    ';' if semicolons || after_space => text.push_str("\\073"),
                    c if needs_escape(c) => push_octal(text, c.encode_utf8(&mut [0u8; 4]).as_bytes()),
                    c => text.push(c),
                });
                if !written {
                    break 'words;
                }
                after_space = c == ' ';
            }
            for &b in chunk.invalid() {
                after_space = false;
                if !logged.push(1, |text| push_octal(text, &[b])) {
                    break 'words;
                }
            }
        }
        if quoted {
            logged.push(0, |text| text.push('\''));
        }
    }
    logged.left_out = typed_length(command) - logged.typed;
    logged
}

/// Longest field before `COMMAND=` (a working folder can be 4 KiB, four times
/// that escaped): the fields that follow must stay within the first line.
const MAX_FIELD: usize = 400;

/// Room for the fields before `COMMAND=` on the first line; when long fields
/// together take more, each is cut shorter, so that `COMMAND=` starts within
/// the first 1024 bytes that old syslog relays keep.
const MAX_HEAD: usize = MAX_LINE - 200;

/// A field before `COMMAND=`, escaped with `;` too, so that a working folder
/// named `x ; USER=root` cannot add a field; cut at `cap` bytes, marked `...(cut)`.
fn field(text: &str, cap: usize) -> String {
    escaped_field(text, cap, &[])
}

/// The caller's name, with `:` escaped as well: the first ` : ` of a line
/// always ends it.
fn user_field(text: &str, cap: usize) -> String {
    escaped_field(text, cap, &[':'])
}

/// The reason for a denial, with `=` escaped as well, and a `(` it starts
/// with: it is the one field without a name, and a reason quoting what the
/// caller typed (`TTY=x: no such command`, `(command continued) x: ...`)
/// must read neither as a named field nor as a continuation line.
fn reason_field(text: &str, cap: usize) -> String {
    match text.strip_prefix('(') {
        Some(rest) => format!("\\050{}", escaped_field(rest, cap.saturating_sub(4), &['='])),
        None => escaped_field(text, cap, &['=']),
    }
}

fn escaped_field(text: &str, cap: usize, also: &[char]) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let before = out.len();
        push_field_char(&mut out, c, also);
        if out.len() > cap {
            out.truncate(before);
            out.push_str("...(cut)");
            break;
        }
    }
    out
}

/// `alice : TTY=pts/0 ; PWD=/home/alice ; USER=alice ; GROUP=docker ; RULE=/etc/newgate/policy:12 ; COMMAND=/usr/bin/docker ps`,
/// split into lines of at most MAX_LINE bytes; continuation lines say `(command continued)`.
pub fn sudo_lines(event: &Event) -> Vec<String> {
    // The caller's name, as every line of the event starts with it.
    let user = user_field(event.user, 64);
    let head_with = |cap: usize| {
        let mut head = format!("{user} : ");
        if let Some(problem) = &event.problem {
            head.push_str(&format!("{} ; ", reason_field(problem, cap)));
        }
        head.push_str(&format!(
            "TTY={} ; PWD={} ; USER={} ; ",
            field(event.tty, cap),
            field(event.pwd, cap),
            field(event.run_as_user, cap)
        ));
        if let Some(group) = event.run_as_group {
            head.push_str(&format!("GROUP={} ; ", field(group, cap)));
        }
        if let Some(rule) = &event.rule {
            head.push_str(&format!("RULE={} ; ", field(rule, cap)));
        }
        head + "COMMAND="
    };
    // Seven fields cut at 64 bytes fit MAX_HEAD whatever they hold.
    let mut head = head_with(MAX_FIELD);
    for cap in [200, 100, 64] {
        if head.len() <= MAX_HEAD {
            break;
        }
        head = head_with(cap);
    }
    let mut command = logged_command(event.command, false);
    let mut tail = String::new();
    if command.left_out > 0 {
        let sha256 = command_sha256(event.command);
        tail = format!(" {CUT_MARK}: {} more bytes, sha256 {sha256})", command.left_out);
    }
    // A command that runs to the end of one line keeps its `;`. Split, its
    // continuation lines would start with text of the caller's choosing, so
    // there `;` cannot be allowed to separate fields either.
    if command.text.len() + tail.len() > MAX_LINE.saturating_sub(head.len()).max(64) {
        command = logged_command(event.command, true);
    }
    let mut lines = Vec::new();
    let mut line = head;
    let mut room = MAX_LINE.saturating_sub(line.len()).max(64);
    let mut used = 0;
    for unit in command.units().chain(std::iter::once(tail.as_str())) {
        if used + unit.len() > room && used > 0 {
            lines.push(std::mem::replace(&mut line, format!("{user} : (command continued) ")));
            room = MAX_LINE.saturating_sub(line.len()).max(64);
            used = 0;
        }
        used += unit.len();
        line.push_str(unit);
    }
    lines.push(line);
    lines
}

/// A JSON field other than the command, cut where, JSON-escaped, it would
/// pass `cap` bytes, and then marked `...(cut)`.
fn json_field(text: &str, cap: usize) -> Json {
    if escaped_length(text) <= cap {
        return text.into();
    }
    let mut kept = String::new();
    let mut length = 0;
    for c in text.chars() {
        length += escaped_length(c.encode_utf8(&mut [0u8; 4]));
        if length > cap {
            break;
        }
        kept.push(c);
    }
    format!("{kept}...(cut)").into()
}

/// The part numbers written while sizing the parts: no event has as many
/// parts as this, so real numbers are never longer.
const MOST_PARTS: i64 = 99_999;

/// An event as JSON objects of at most MAX_LINE bytes each, its parts. Each
/// carries the event `id`, its `part` (from 1) and the number of `parts`;
/// the first holds every field, each later one the `user` and the next piece
/// of `command`, so that the command is the `command`s of the parts in
/// order. The command is written as in the sudo format (its words quoted and
/// escaped the same way), `command_bytes` says how long it was as typed, and
/// a command cut at MAX_COMMAND says so: `command_cut_bytes` left out, and
/// `command_sha256` of the whole of it.
pub fn json_parts(event: &Event, id: &str) -> Vec<String> {
    let logged = logged_command(event.command, false);
    let sha256 = (logged.left_out > 0).then(|| command_sha256(event.command));

    let first = |cap: usize, part: i64, parts: i64, command: String| {
        let field = |text: &str| json_field(text, cap);
        let mut fields = vec![
            ("id", Json::from(id)),
            ("part", Json::Number(part)),
            ("parts", Json::Number(parts)),
            (
                "event",
                if event.problem.is_some() { "reject" } else { "accept" }.into(),
            ),
            ("user", field(event.user)),
            ("reason", event.problem.as_deref().map_or(Json::Null, field)),
            ("tty", field(event.tty)),
            ("pwd", field(event.pwd)),
            ("runas_user", field(event.run_as_user)),
            ("runas_group", event.run_as_group.map_or(Json::Null, field)),
            ("rule", event.rule.as_deref().map_or(Json::Null, field)),
            ("command", command.into()),
            ("command_bytes", Json::Number(typed_length(event.command) as i64)),
        ];
        if let Some(sha256) = &sha256 {
            fields.push(("command_cut_bytes", Json::Number(logged.left_out as i64)));
            fields.push(("command_sha256", sha256.as_str().into()));
        }
        Json::Object(fields).to_string()
    };
    let user = json_field(event.user, 64);
    let later = |part: i64, parts: i64, command: String| {
        Json::Object(vec![
            ("id", Json::from(id)),
            ("part", Json::Number(part)),
            ("parts", Json::Number(parts)),
            ("user", user.clone()),
            ("command", command.into()),
        ])
        .to_string()
    };

    // Eight fields cut at 32 bytes fit MAX_HEAD whatever they hold.
    let mut cap = MAX_FIELD;
    for smaller in [200, 100, 64, 32] {
        if first(cap, MOST_PARTS, MOST_PARTS, String::new()).len() <= MAX_HEAD {
            break;
        }
        cap = smaller;
    }
    let mut pieces = vec![String::new()];
    let mut room = MAX_LINE - first(cap, MOST_PARTS, MOST_PARTS, String::new()).len();
    let mut used = 0;
    for unit in logged.units() {
        let length = escaped_length(unit);
        if used + length > room && used > 0 {
            pieces.push(String::new());
            room = MAX_LINE - later(MOST_PARTS, MOST_PARTS, String::new()).len();
            used = 0;
        }
        used += length;
        pieces.last_mut().expect("one piece at least").push_str(unit);
    }
    let parts = pieces.len() as i64;
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, piece)| match i {
            0 => first(cap, 1, parts, piece),
            i => later(i as i64 + 1, parts, piece),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words as leaked `OsString`s, for events that live as long as the test.
    fn words(words: &[&[u8]]) -> &'static [OsString] {
        let words: Vec<OsString> = words
            .iter()
            .map(|w| std::os::unix::ffi::OsStrExt::from_bytes(w))
            .map(|w: &std::ffi::OsStr| w.to_os_string())
            .collect();
        Box::leak(words.into_boxed_slice())
    }

    /// An event whose command is `command` split at its spaces (none for "").
    fn event(command: &str, problem: Option<&str>) -> Event<'static> {
        Event {
            user: "alice",
            problem: problem.map(String::from),
            tty: "pts/0",
            pwd: "/home/alice",
            run_as_user: "alice",
            run_as_group: Some("docker"),
            rule: problem.is_none().then(|| "/etc/newgate/policy:12".to_string()),
            command: words(
                &command
                    .split(' ')
                    .filter(|_| !command.is_empty())
                    .map(str::as_bytes)
                    .collect::<Vec<_>>(),
            ),
        }
    }

    fn logged(command: &[&[u8]]) -> String {
        let mut event = event("", None);
        event.command = words(command);
        sudo_lines(&event)[0].split_once("COMMAND=").unwrap().1.to_string()
    }

    #[test]
    fn argument_boundaries_are_kept() {
        let quoted = logged(&[b"/usr/bin/echo", b"a b", b""]);
        let plain = logged(&[b"/usr/bin/echo", b"a", b"b", b""]);
        assert_eq!(quoted, "/usr/bin/echo 'a b' ''");
        assert_eq!(plain, "/usr/bin/echo a b ''");
        assert_eq!(
            logged(&[b"/bin/sh", b"-c", b"it's", b"a\\b", b"\"x\"", b"''", b"tab\there"]),
            r#"/bin/sh -c 'it\'s' 'a\\b' '"x"' '\'\'' tab\011here"#
        );
        assert_eq!(logged(&[b"/my folder/prog"]), "'/my folder/prog'");
        assert_eq!(logged(&[b"/usr/bin/id", b"a\xffb\xfe"]), "/usr/bin/id a\\377b\\376");
    }

    #[test]
    fn invisible_and_bidirectional_characters_are_escaped() {
        let mut sneaky = event("/usr/bin/cat notes\u{202E}txt.exe \u{200B}x \u{2028}y", None);
        sneaky.pwd = "/tmp/\u{2066}evil\u{2069}";
        let line = &sudo_lines(&sneaky)[0];
        assert!(
            line.ends_with("COMMAND=/usr/bin/cat notes\\342\\200\\256txt.exe \\342\\200\\213x \\342\\200\\250y"),
            "{line}"
        );
        assert!(line.contains("PWD=/tmp/\\342\\201\\246evil\\342\\201\\251 ;"), "{line}");
        let json = json_parts(&sneaky, "1-2-3").concat();
        assert!(json.contains(r#""pwd":"/tmp/\u2066evil\u2069""#), "{json}");
        assert!(
            json.contains(r#""command":"/usr/bin/cat notes\\342\\200\\256txt.exe"#),
            "{json}"
        );
        assert!(!json.contains('\u{202E}') && !line.contains('\u{202E}'));
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
        assert_eq!(logged(&[b"a\x1b"]), "a\\033");
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
    fn a_reason_quoting_the_caller_cannot_pass_for_a_named_field() {
        let line = &sudo_lines(&event("COMMAND=/bin/sh", Some("COMMAND=/bin/sh: no such command")))[0];
        assert!(
            line.starts_with("alice : COMMAND\\075/bin/sh: no such command ; TTY=pts/0 ;"),
            "{line}"
        );
        let (_, fields) = line.split_once(" : ").unwrap();
        let commands = fields.split(" ; ").filter(|f| f.starts_with("COMMAND="));
        assert_eq!(commands.count(), 1, "{line}");
    }

    #[test]
    fn the_first_colon_of_a_line_ends_the_callers_name() {
        let mut named = event("/usr/bin/id", None);
        named.user = "eve : TTY=x";
        let lines = sudo_lines(&named);
        assert!(lines[0].starts_with("eve \\072 TTY=x : TTY=pts/0 ;"), "{}", lines[0]);
    }

    #[test]
    fn a_reason_quoting_the_caller_cannot_pass_for_a_continuation_line() {
        let lines = sudo_lines(&event(
            "/usr/bin/x",
            Some("(command continued) x: command not found in secure_path"),
        ));
        assert!(
            lines[0].starts_with("alice : \\050command continued) x: command not found"),
            "{lines:?}"
        );
    }

    #[test]
    fn no_field_follows_the_command() {
        assert_eq!(logged(&[b"/bin/echo", b";", b"USER=root"]), "/bin/echo \\073 USER=root");
        assert_eq!(logged(&[b"/bin/sh", b"-c", b"a ; b"]), "/bin/sh -c 'a \\073 b'");
        assert_eq!(logged(&[b"/bin/sh", b"-c", b"a;b"]), "/bin/sh -c a;b");
    }

    #[test]
    fn only_a_real_cut_ends_a_command_with_the_cut_mark() {
        assert_eq!(
            logged(&[b"/bin/echo", b"...(cut:", b"5", b"more"]),
            "/bin/echo '...(cut:' 5 more"
        );
    }

    #[test]
    fn every_line_of_an_event_starts_with_the_same_name() {
        let mut long = event(&format!("/bin/echo {}", "x".repeat(3000)), None);
        long.user = "u".repeat(70).leak();
        let lines = sudo_lines(&long);
        assert!(lines.len() > 1);
        let first = lines[0].split_once(" : ").unwrap().0;
        for line in &lines[1..] {
            assert_eq!(line.split_once(" : ").unwrap().0, first, "{line}");
        }
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
        let parts = json_parts(&event("/usr/bin/id", Some("command not allowed")), "7-1700000000000-1");
        assert_eq!(
            parts,
            [
                r#"{"id":"7-1700000000000-1","part":1,"parts":1,"event":"reject","user":"alice","reason":"command not allowed","tty":"pts/0","pwd":"/home/alice","runas_user":"alice","runas_group":"docker","rule":null,"command":"/usr/bin/id","command_bytes":11}"#
            ]
        );
    }

    /// The parts of an event, parsed, checked for their numbering, and the
    /// command rejoined from them.
    fn rejoin(parts: &[String]) -> (serde_json::Value, String) {
        let parsed: Vec<serde_json::Value> = parts
            .iter()
            .map(|p| serde_json::from_str(p).unwrap_or_else(|e| panic!("{e}: {p}")))
            .collect();
        let mut command = String::new();
        for (i, part) in parsed.iter().enumerate() {
            assert_eq!(part["id"], parsed[0]["id"]);
            assert_eq!(part["part"], i + 1);
            assert_eq!(part["parts"], parts.len());
            command.push_str(part["command"].as_str().unwrap());
        }
        (parsed[0].clone(), command)
    }

    #[test]
    fn long_json_events_are_split_into_parts_that_rejoin_exactly() {
        let long = format!("/bin/echo {} \"x\" \\ {}", "é".repeat(3000), "\u{1}".repeat(300));
        let parts = json_parts(&event(&long, None), "9-1-1");
        assert!(parts.len() >= 8, "{}", parts.len());
        assert!(parts.iter().all(|p| p.len() <= MAX_LINE), "{parts:?}");
        let (first, command) = rejoin(&parts);
        assert_eq!(command, logged_command(event(&long, None).command, false).text);
        assert_eq!(first["event"], "accept");
        assert_eq!(first["command_bytes"], long.len());
        assert!(first.get("command_sha256").is_none(), "nothing was cut");
        let later = format!(
            r#"{{"id":"9-1-1","part":2,"parts":{},"user":"alice","command":""#,
            parts.len()
        );
        assert!(parts[1].starts_with(&later), "{}", parts[1]);
    }

    #[test]
    fn every_message_fits_one_datagram_whatever_the_fields_hold() {
        // The header newgate's syslog writer puts before each message, at its longest.
        let header = "<81>Nov 29 22:29:17 newgate[4194304]: ".len();
        assert!(header + MAX_LINE <= 1024);
        let hostile = [
            "\u{1}".repeat(5000),
            "\\\"".repeat(3000),
            "\u{10FFFF}\u{202E}".repeat(2000),
            "; COMMAND=/bin/bash ".repeat(300),
        ];
        for text in &hostile {
            let name: &'static str = Box::leak(text.clone().into_boxed_str());
            let mut e = event(&format!("/bin/echo {text}"), Some(text));
            (e.user, e.tty, e.pwd, e.run_as_user, e.run_as_group) = (name, name, name, name, Some(name));
            e.rule = Some(text.clone());
            for line in sudo_lines(&e).iter().chain(&json_parts(&e, "1-1-1")) {
                assert!(line.len() <= MAX_LINE, "{} bytes: {line:.100}", line.len());
            }
            let (first, _) = rejoin(&json_parts(&e, "1-1-1"));
            assert!(first["pwd"].as_str().unwrap().ends_with("...(cut)"));
        }
    }

    #[test]
    fn a_cut_json_part_is_never_json_and_what_was_cut_off_never_is_either() {
        // Aimed at a relay that cuts: text that is JSON, or a syslog header, once cut loose.
        let forged = r#"{"id":"1","part":1,"parts":1,"event":"accept","command":"/bin/forged"}"#;
        let mut e = event(&format!("/bin/echo {forged} <81>Nov 29 00:00:00 web1 sudo: x"), None);
        e.pwd = Box::leak(format!("/tmp/{forged}").into_boxed_str());
        let parts = json_parts(&e, "1-1-1");
        for part in &parts {
            for n in 1..part.len() {
                for piece in [&part[..n], &part[n..]]
                    .into_iter()
                    .filter(|_| part.is_char_boundary(n))
                {
                    let parsed = serde_json::from_str::<serde_json::Value>(piece.trim());
                    assert!(!matches!(parsed, Ok(serde_json::Value::Object(_))), "{piece}");
                }
            }
        }
    }

    #[test]
    fn a_huge_command_is_cut_and_says_so_with_its_sha256() {
        assert_eq!(
            command_sha256(words(&[b"/usr/bin/echo", b"a b"])),
            "8dff8d48f6157d981b8b57e8483c7ae07f71fd78aa70322beb58d5be8377c8eb"
        );
        // 40 KB of control characters: five times that as JSON, four times as octal escapes.
        let huge = format!("/bin/echo {}", "\u{1}".repeat(40_000));
        let e = event(&huge, None);
        let sha256 = command_sha256(e.command);
        let left_out = huge.len() - MAX_COMMAND;
        let parts = json_parts(&e, "1-1-1");
        assert!(parts.iter().all(|p| p.len() <= MAX_LINE));
        let (first, command) = rejoin(&parts);
        assert_eq!(first["command_bytes"], huge.len());
        assert_eq!(first["command_cut_bytes"], left_out);
        assert_eq!(first["command_sha256"], sha256.as_str());
        assert_eq!(
            command.len(),
            "/bin/echo ".len() + 4 * (MAX_COMMAND - "/bin/echo ".len())
        );
        let lines = sudo_lines(&e);
        assert!(lines.iter().all(|l| l.len() <= MAX_LINE));
        let logged: usize = lines.iter().map(|l| l.len()).sum();
        assert!(logged < 5 * MAX_COMMAND, "{logged}");
        assert!(
            lines
                .last()
                .unwrap()
                .ends_with(&format!(" ...(cut: {left_out} more bytes, sha256 {sha256})")),
            "{}",
            lines.last().unwrap()
        );
    }

    #[test]
    fn long_typed_names_leave_command_on_the_first_line() {
        let name: &'static str = Box::leak("n".repeat(500).into_boxed_str());
        let mut long = event("/usr/bin/id", None);
        long.problem = Some(format!("unknown group {name}"));
        long.run_as_user = name;
        long.run_as_group = Some(name);
        long.pwd = Box::leak(format!("/{}", "d/".repeat(2000)).into_boxed_str());
        let lines = sudo_lines(&long);
        assert_eq!(lines.len(), 1, "{lines:?}");
        let (head, command) = lines[0].split_once("COMMAND=").unwrap();
        assert!(head.len() + "COMMAND=".len() <= MAX_HEAD, "{}", head.len());
        assert_eq!(command, "/usr/bin/id");
    }

    #[test]
    fn cuts_never_split_an_escape() {
        let mut deep = event("/usr/bin/id", None);
        // Two bytes first, so that a cut by bytes would fall inside an escape.
        deep.pwd = Box::leak(format!("/x{}", "\u{1}".repeat(200)).into_boxed_str());
        let line = &sudo_lines(&deep)[0];
        let pwd = line.split("PWD=").nth(1).unwrap().split(" ; ").next().unwrap();
        let kept = pwd.strip_suffix("...(cut)").expect("cut").strip_prefix("/x").unwrap();
        assert_eq!(kept.len() % 4, 0, "{pwd}");
        assert!(kept.split("\\001").all(str::is_empty), "{pwd}");
        let split = sudo_lines(&event(&format!("/bin/echo {}", "\u{2}".repeat(600)), None));
        for l in &split {
            let text = l
                .rsplit_once("COMMAND=")
                .map_or_else(|| l.trim_start_matches("alice : (command continued) "), |(_, c)| c);
            assert!(
                text.trim_start_matches("/bin/echo ").split("\\002").all(str::is_empty),
                "{l}"
            );
        }
    }
}
