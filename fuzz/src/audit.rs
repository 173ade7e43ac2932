//! A reader of newgate's audit lines, written from docs/audit.md alone, as a
//! log tool would read them: the `audit_line` target checks that what it
//! reads back from any event's lines is that event.

use sha2::{Digest, Sha256};

/// A field as read back: its bytes, and whether it ended in `...(cut)`.
#[derive(Debug)]
pub struct Field {
    pub bytes: Vec<u8>,
    pub cut: bool,
}

const CUT: &str = "...(cut)";

impl Field {
    fn new(bytes: Vec<u8>) -> Field {
        match bytes.strip_suffix(CUT.as_bytes()) {
            Some(kept) => Field {
                bytes: kept.to_vec(),
                cut: true,
            },
            None => Field { bytes, cut: false },
        }
    }

    /// Whether this is what `text` is logged as: all of it, or, cut, its start.
    pub fn stands_for(&self, text: &str) -> bool {
        if self.cut {
            text.as_bytes().starts_with(&self.bytes)
        } else {
            self.bytes == text.as_bytes()
        }
    }
}

/// A command as read back: its words, and, when it was cut, how many bytes
/// were left out and the SHA-256 of the whole; the last word read may then
/// be only the start of a word.
#[derive(Debug)]
pub struct Command {
    pub words: Vec<Vec<u8>>,
    pub cut: Option<(usize, String)>,
}

/// An event as read back from its lines.
#[derive(Debug)]
pub struct Event {
    pub user: Field,
    pub reason: Option<Field>,
    pub tty: Field,
    pub pwd: Field,
    pub run_as_user: Field,
    pub run_as_group: Option<Field>,
    pub rule: Option<Field>,
    pub command: Command,
    /// The command's length as typed, where the format says it (JSON).
    pub command_bytes: Option<usize>,
}

/// Undoes the escapes of a field: `\\` and `\ooo`.
fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            _ => {
                out.push(octal(bytes, i + 1).ok_or_else(|| format!("a lone backslash in {text:?}"))?);
                i += 4;
            }
        }
    }
    Ok(out)
}

/// The byte written as three octal digits at `at`.
fn octal(bytes: &[u8], at: usize) -> Option<u8> {
    let digits = bytes.get(at..at + 3)?;
    if !digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
        return None;
    }
    let value = digits.iter().fold(0u32, |v, d| v * 8 + u32::from(d - b'0'));
    u8::try_from(value).ok()
}

/// Reads a command as written: words separated by one space, quoted ones
/// in `'...'`; when `cut`, the text may stop anywhere in a word.
fn words(text: &str, cut: bool) -> Result<Vec<Vec<u8>>, String> {
    let bytes = text.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    if bytes.is_empty() {
        return Ok(words);
    }
    loop {
        let mut word = Vec::new();
        let quoted = bytes.get(i) == Some(&b'\'');
        if quoted {
            i += 1;
        }
        let mut closed = !quoted;
        while i < bytes.len() {
            let b = bytes[i];
            if quoted && b == b'\'' {
                closed = true;
                i += 1;
                break;
            }
            if !quoted && b == b' ' {
                break;
            }
            if b == b'\\' {
                match bytes.get(i + 1) {
                    Some(b'\\') => word.push(b'\\'),
                    Some(b'\'') if quoted => word.push(b'\''),
                    // A cut never falls inside an escape.
                    _ => match octal(bytes, i + 1) {
                        Some(byte) => {
                            word.push(byte);
                            i += 2;
                        }
                        None => return Err(format!("a lone backslash in {text:?}")),
                    },
                }
                i += 2;
                continue;
            }
            word.push(b);
            i += 1;
        }
        if !closed && !cut {
            return Err(format!("an unclosed quote in {text:?}"));
        }
        if !quoted && word.is_empty() && !(cut && i == bytes.len()) {
            return Err(format!("an empty word that is not quoted in {text:?}"));
        }
        words.push(word);
        match bytes.get(i) {
            None => return Ok(words),
            Some(b' ') => i += 1,
            Some(_) => return Err(format!("a quote followed by more of the word in {text:?}")),
        }
    }
}

/// Splits ` ...(cut: N more bytes, sha256 HEX)` off the end of a command.
fn cut_marker(text: &str) -> (&str, Option<(usize, String)>) {
    let Some(start) = text.rfind(" ...(cut: ") else {
        return (text, None);
    };
    let marker = &text[start + " ...(cut: ".len()..];
    let Some(marker) = marker.strip_suffix(')') else {
        return (text, None);
    };
    let Some((n, hash)) = marker.split_once(" more bytes, sha256 ") else {
        return (text, None);
    };
    match n.parse() {
        Ok(n) if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            (&text[..start], Some((n, hash.to_string())))
        }
        _ => (text, None),
    }
}

fn field(text: &str) -> Result<Field, String> {
    Ok(Field::new(unescape(text)?))
}

fn named<'a>(segments: &mut std::slice::Iter<'_, &'a str>, name: &str) -> Option<&'a str> {
    let value = segments.as_slice().first()?.strip_prefix(name)?.strip_prefix('=')?;
    segments.next();
    Some(value)
}

/// The caller's name and the command text of a continuation line.
fn continuation(line: &str) -> Option<(&str, &str)> {
    let (user, rest) = line.split_once(" : ")?;
    Some((user, rest.strip_prefix("(command continued) ")?))
}

/// Reads the events of a stream of sudo-format lines, as a log tool
/// gathers them: a continuation line belongs to the event before it.
pub fn read_sudo_stream(lines: &[String]) -> Result<Vec<Event>, String> {
    let mut events: Vec<&[String]> = Vec::new();
    let mut start = 0;
    for (i, line) in lines.iter().enumerate().skip(1) {
        if continuation(line).is_none() {
            events.push(&lines[start..i]);
            start = i;
        }
    }
    if !lines.is_empty() {
        events.push(&lines[start..]);
    }
    events.into_iter().map(read_sudo).collect()
}

/// Reads the sudo-format lines of one event.
pub fn read_sudo(lines: &[String]) -> Result<Event, String> {
    let first = lines.first().ok_or("no line")?;
    let (user, rest) = first.split_once(" : ").ok_or("no ` : ` after the user")?;
    let segments: Vec<&str> = rest.split(" ; ").collect();
    let at = segments
        .iter()
        .position(|s| s.starts_with("COMMAND="))
        .ok_or("no COMMAND field")?;
    if segments.len() > at + 1 {
        return Err(format!("a field after COMMAND in {first:?}"));
    }
    let mut command = segments[at]["COMMAND=".len()..].to_string();
    let mut head = segments[..at].iter();
    let reason = match head.as_slice().first() {
        Some(first) if !first.contains('=') => {
            head.next();
            Some(field(first)?)
        }
        _ => None,
    };
    let mut required = |name: &str| -> Result<Field, String> {
        field(named(&mut head, name).ok_or_else(|| format!("no {name} field where it belongs in {first:?}"))?)
    };
    let (tty, pwd, run_as_user) = (required("TTY")?, required("PWD")?, required("USER")?);
    let run_as_group = named(&mut head, "GROUP").map(field).transpose()?;
    let rule = named(&mut head, "RULE").map(field).transpose()?;
    if let Some(extra) = head.next() {
        return Err(format!("an unexpected field {extra:?} in {first:?}"));
    }
    for line in &lines[1..] {
        let piece = continuation(line)
            .filter(|(name, _)| *name == user)
            .ok_or_else(|| format!("a second line that is no continuation of {user:?}: {line:?}"))?
            .1;
        command.push_str(piece);
    }
    let (text, cut) = cut_marker(&command);
    Ok(Event {
        user: field(user)?,
        reason,
        tty,
        pwd,
        run_as_user,
        run_as_group,
        rule,
        command: Command {
            words: words(text, cut.is_some())?,
            cut,
        },
        command_bytes: None,
    })
}

/// Reads the JSON parts of one event, rejoined as docs/audit.md says.
pub fn read_json(lines: &[String]) -> Result<Event, String> {
    let parts = lines
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).map_err(|e| format!("{e}: {l}")))
        .collect::<Result<Vec<_>, _>>()?;
    let first = parts.first().ok_or("no part")?;
    let string = |part: &serde_json::Value, key: &str| -> Result<Option<Field>, String> {
        match &part[key] {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::String(s) => Ok(Some(Field::new(s.as_bytes().to_vec()))),
            other => Err(format!("{key} is {other}")),
        }
    };
    let required = |key: &str| string(first, key)?.ok_or_else(|| format!("no {key} in {first}"));
    let number = |part: &serde_json::Value, key: &str| part[key].as_u64().map(|n| n as usize);
    let id = first["id"].as_str().ok_or("no id")?;
    let mut command = String::new();
    for (i, part) in parts.iter().enumerate() {
        if part["id"].as_str() != Some(id)
            || number(part, "part") != Some(i + 1)
            || number(part, "parts") != Some(parts.len())
        {
            return Err(format!("part {} out of place: {part}", i + 1));
        }
        command.push_str(part["command"].as_str().ok_or("a part without a command")?);
    }
    let cut = match (number(first, "command_cut_bytes"), first["command_sha256"].as_str()) {
        (Some(n), Some(hash)) => Some((n, hash.to_string())),
        (None, None) => None,
        _ => return Err("half a cut".into()),
    };
    Ok(Event {
        user: required("user")?,
        reason: string(first, "reason")?,
        tty: required("tty")?,
        pwd: required("pwd")?,
        run_as_user: required("runas_user")?,
        run_as_group: string(first, "runas_group")?,
        rule: string(first, "rule")?,
        command: Command {
            words: words(&command, cut.is_some())?,
            cut,
        },
        command_bytes: Some(number(first, "command_bytes").ok_or("no command_bytes")?),
    })
}

/// The length of a command as typed: its words and a space between each two.
pub fn typed_length(words: &[Vec<u8>]) -> usize {
    words.iter().map(Vec::len).sum::<usize>() + words.len().saturating_sub(1)
}

/// The SHA-256 the format gives for a command: each word followed by a NUL.
pub fn sha256(words: &[Vec<u8>]) -> String {
    let mut hash = Sha256::new();
    for word in words {
        hash.update(word);
        hash.update([0]);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `read` is `typed` as logged: every word, or, cut, the words up to
/// the cut (the last of them perhaps only begun) with the count of the bytes
/// left out and the hash of the whole.
pub fn command_stands_for(read: &Command, typed: &[Vec<u8>]) -> Result<(), String> {
    let Some((left_out, hash)) = &read.cut else {
        return if read.words == typed {
            Ok(())
        } else {
            Err(format!("read {:?}, typed {typed:?}", read.words))
        };
    };
    let (last, whole) = read.words.split_last().ok_or("a cut command with no word read")?;
    let n = whole.len();
    if typed.len() <= n || whole != &typed[..n] || !typed[n].starts_with(last) {
        return Err(format!(
            "the words read are not the start of the command: {:?}",
            read.words
        ));
    }
    if typed_length(&read.words) + left_out != typed_length(typed) {
        return Err(format!(
            "{} bytes read and {left_out} left out, of {}",
            typed_length(&read.words),
            typed_length(typed)
        ));
    }
    if *hash != sha256(typed) {
        return Err("the SHA-256 is not the command's".into());
    }
    Ok(())
}
