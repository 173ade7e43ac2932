//! Shell-style globs: `*`, `?`, `[a-z]`, `[!x]` and `\` to quote the next character.

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Literal(char),
    AnyOne,
    AnyRun,
    Class { negated: bool, ranges: Vec<(char, char)> },
}

/// A compiled glob. In paths (`cmd`), `*`, `?` and classes never match `/`,
/// so `/usr/bin/*` cannot reach into another folder.
#[derive(Clone, Debug)]
pub struct Glob {
    source: String,
    tokens: Vec<Token>,
    literal: bool,
    /// The literal characters the pattern starts with: most texts are turned
    /// away by these before the full match runs.
    prefix: String,
}

impl Glob {
    /// Compiles a pattern, or says why it is malformed.
    pub fn new(pattern: &str) -> Result<Glob, String> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            tokens.push(match c {
                '*' => {
                    while chars.peek() == Some(&'*') {
                        chars.next();
                    }
                    Token::AnyRun
                }
                '?' => Token::AnyOne,
                '\\' => Token::Literal(chars.next().ok_or("a glob cannot end with `\\`")?),
                '[' => {
                    let negated = matches!(chars.peek(), Some('!' | '^'));
                    if negated {
                        chars.next();
                    }
                    let mut ranges = Vec::new();
                    let mut first = true;
                    loop {
                        let c = chars.next().ok_or("`[` without its closing `]`")?;
                        if c == ']' && !first {
                            break;
                        }
                        first = false;
                        if chars.peek() == Some(&'-') {
                            chars.next();
                            match chars.next() {
                                Some(']') => {
                                    ranges.push((c, c));
                                    ranges.push(('-', '-'));
                                    break;
                                }
                                Some(end) if end >= c => ranges.push((c, end)),
                                Some(end) => {
                                    return Err(format!("the range `{c}-{end}` runs backwards"));
                                }
                                None => return Err("`[` without its closing `]`".into()),
                            }
                        } else {
                            ranges.push((c, c));
                        }
                    }
                    Token::Class { negated, ranges }
                }
                c => Token::Literal(c),
            });
        }
        let literal = tokens.iter().all(|t| matches!(t, Token::Literal(_)));
        let prefix = tokens
            .iter()
            .map_while(|t| match t {
                Token::Literal(c) => Some(*c),
                _ => None,
            })
            .collect();
        Ok(Glob {
            source: pattern.to_string(),
            tokens,
            literal,
            prefix,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True when the pattern has no wildcard: it matches exactly one string.
    pub fn is_literal(&self) -> bool {
        self.literal
    }

    /// Matches a path: wildcards never match `/`.
    pub fn matches_path(&self, path: &str) -> bool {
        if self.literal {
            return self.literal_eq(path, false);
        }
        if !path.starts_with(&self.prefix) {
            return false;
        }
        self.matches_with(path, |t, c| {
            t.accepts(c, false) && (c != '/' || matches!(t, Token::Literal(_)))
        })
    }

    /// Matches a host name, ignoring ASCII case.
    pub fn matches_host(&self, host: &str) -> bool {
        if self.literal {
            return self.literal_eq(host, true);
        }
        let head = host.get(..self.prefix.len());
        if !head.is_some_and(|h| h.eq_ignore_ascii_case(&self.prefix)) {
            return false;
        }
        self.matches_with(host, |t, c| t.accepts(c, true))
    }

    /// Matches a file name (for `include`): wildcards do not match a leading `.`.
    pub fn matches_file_name(&self, name: &str) -> bool {
        (!name.starts_with('.') || self.source.starts_with('.')) && self.matches_path(name)
    }

    fn literal_eq(&self, text: &str, ignore_case: bool) -> bool {
        let mut pattern = self.tokens.iter().map(|t| match t {
            Token::Literal(c) => *c,
            _ => unreachable!("a literal glob holds only literals"),
        });
        let mut text_chars = text.chars();
        loop {
            match (pattern.next(), text_chars.next()) {
                (None, None) => return true,
                (Some(p), Some(t)) if same(p, t, ignore_case) => {}
                _ => return false,
            }
        }
    }

    /// Dynamic programming over (pattern position, text position): linear in
    /// both, whatever the pattern, so a hostile path cannot make it slow.
    fn matches_with(&self, text: &str, accepts: impl Fn(&Token, char) -> bool) -> bool {
        let text: Vec<char> = text.chars().collect();
        // reachable[j]: the first i tokens can match the first j characters.
        let mut reachable = vec![false; text.len() + 1];
        reachable[0] = true;
        for token in &self.tokens {
            let mut next = vec![false; text.len() + 1];
            match token {
                Token::AnyRun => {
                    for j in 0..=text.len() {
                        next[j] = reachable[j] || (j > 0 && next[j - 1] && accepts(token, text[j - 1]));
                    }
                }
                _ => {
                    for j in 1..=text.len() {
                        next[j] = reachable[j - 1] && accepts(token, text[j - 1]);
                    }
                }
            }
            reachable = next;
        }
        reachable[text.len()]
    }
}

impl Token {
    fn accepts(&self, c: char, ignore_case: bool) -> bool {
        match self {
            Token::Literal(l) => same(*l, c, ignore_case),
            Token::AnyOne | Token::AnyRun => true,
            Token::Class { negated, ranges } => {
                let lower = c.to_ascii_lowercase();
                let upper = c.to_ascii_uppercase();
                let hit = ranges.iter().any(|&(a, b)| {
                    (a..=b).contains(&c) || (ignore_case && ((a..=b).contains(&lower) || (a..=b).contains(&upper)))
                });
                hit != *negated
            }
        }
    }
}

fn same(a: char, b: char, ignore_case: bool) -> bool {
    a == b || (ignore_case && a.eq_ignore_ascii_case(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(p: &str) -> Glob {
        Glob::new(p).unwrap()
    }

    #[test]
    fn star_stays_within_one_folder() {
        assert!(glob("/usr/local/bin/*").matches_path("/usr/local/bin/tool"));
        assert!(!glob("/usr/local/bin/*").matches_path("/usr/local/bin/sub/tool"));
        assert!(!glob("/usr/local/bin/*").matches_path("/usr/local/bin/../../../bin/sh"));
        assert!(glob("/usr/bin/python3.[0-9]*").matches_path("/usr/bin/python3.11"));
        assert!(!glob("/usr/bin/python3.[0-9]*").matches_path("/usr/bin/python3.x"));
        assert!(glob("/opt/*/bin/run").matches_path("/opt/app/bin/run"));
    }

    #[test]
    fn classes_questions_and_escapes() {
        assert!(glob("db[12]").matches_host("db2"));
        assert!(!glob("db[!12]").matches_host("db2"));
        assert!(glob("db?").matches_host("db9"));
        assert!(glob("a\\*").matches_path("a*"));
        assert!(!glob("a\\*").matches_path("ab"));
        assert!(glob("[a-]").matches_path("-"));
    }

    #[test]
    fn hosts_ignore_case_and_star_crosses_dots() {
        assert!(glob("web-*").matches_host("WEB-1.example.com"));
        assert!(glob("DB1.example.com").matches_host("db1.example.com"));
        assert!(!glob("web-*").matches_host("db1"));
    }

    #[test]
    fn include_patterns_skip_hidden_files() {
        assert!(glob("*.conf").matches_file_name("a.conf"));
        assert!(!glob("*.conf").matches_file_name(".a.conf"));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        assert!(Glob::new("[abc").is_err());
        assert!(Glob::new("x\\").is_err());
        assert!(Glob::new("[z-a]").is_err());
    }

    #[test]
    fn many_stars_stay_fast() {
        let pattern = glob(&"*a".repeat(50));
        let text = "a".repeat(4000) + "b";
        assert!(!pattern.matches_path(&text));
    }
}
