//! A small JSON writer for `--json` output: values in, one line of text out.

use std::fmt;

use newgate_system::needs_escape;

#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(i64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(&'static str, Json)>),
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::String(s.to_string())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::String(s)
    }
}

impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(o: Option<T>) -> Json {
        o.map_or(Json::Null, Into::into)
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Number(n) => write!(f, "{n}"),
            Json::String(s) => write_string(f, s),
            Json::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Json::Object(fields) => {
                f.write_str("{")?;
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write_string(f, key)?;
                    write!(f, ":{value}")?;
                }
                f.write_str("}")
            }
        }
    }
}

fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    write_escaped(f, s)?;
    f.write_str("\"")
}

/// `s` as it stands inside a JSON string, without the quotes. The text
/// between two escapes is written in one piece.
fn write_escaped(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    let mut plain = 0;
    for (i, c) in s.char_indices() {
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            c if needs_escape(c) => None,
            _ => continue,
        };
        out.write_str(&s[plain..i])?;
        match short {
            Some(escape) => out.write_str(escape)?,
            None => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(out, "\\u{:04x}", unit)?;
                }
            }
        }
        plain = i + c.len_utf8();
    }
    out.write_str(&s[plain..])
}

/// How many bytes `s` takes inside a JSON string, without the quotes.
pub fn escaped_length(s: &str) -> usize {
    struct Count(usize);
    impl fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let mut count = Count(0);
    write_escaped(&mut count, s).expect("counting cannot fail");
    count.0
}

pub use newgate_system::is_invisible;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_json_requires() {
        let value = Json::Object(vec![
            ("text", "a \"b\"\n\u{1b}[0m".into()),
            (
                "list",
                Json::Array(vec![Json::Number(-1), Json::Bool(true), Json::Null]),
            ),
        ]);
        assert_eq!(
            value.to_string(),
            r#"{"text":"a \"b\"\n\u001b[0m","list":[-1,true,null]}"#
        );
    }

    #[test]
    fn invisible_and_bidirectional_characters_are_escaped() {
        let text = "a\u{202E}b\u{200B}c\u{2028}d\u{2066}e\u{85}f\u{E0041}g é";
        assert_eq!(
            Json::from(text).to_string(),
            r#""a\u202eb\u200bc\u2028d\u2066e\u0085f\udb40\udc41g é""#
        );
        assert!(!is_invisible('é') && !is_invisible(' ') && !is_invisible('\u{2764}'));
    }
}
