//! How the `newgate` command hands its request to `pam_newgate.so`: PAM
//! environment variables set before `pam_acct_mgmt`. Both sides use these
//! names and this encoding, and nothing else.
//!
//! The PAM items carry the rest: `PAM_USER` and `PAM_RUSER` are the caller,
//! `PAM_TTY` the terminal, `PAM_SERVICE` is `newgate`.

/// The group asked for with `-g`; absent without `-g`.
pub const GROUP: &str = "NEWGATE_GROUP";
/// The user asked for with `-u`; absent without `-u`.
pub const TARGET_USER: &str = "NEWGATE_TARGET_USER";
/// The resolved absolute path of the program to run.
pub const COMMAND: &str = "NEWGATE_COMMAND";
/// The program's arguments, see [`encode_args`].
pub const ARGS: &str = "NEWGATE_ARGS";
/// Set to [`VALIDATING`] by `newgate -v`, which runs nothing: the question is
/// then whether any rule permits the caller something, and no other hand-off
/// variable is set.
pub const VALIDATE: &str = "NEWGATE_VALIDATE";
/// The one value of [`VALIDATE`].
pub const VALIDATING: &str = "yes";

/// Every hand-off variable. They are for `pam_newgate.so`, in the same
/// process, and never reach the command: `NEWGATE_ARGS` holds the whole
/// command line in one value, which `execve` refuses past 128 KiB (E2BIG).
pub const NAMES: [&str; 5] = [GROUP, TARGET_USER, COMMAND, ARGS, VALIDATE];

/// Encodes arguments for one PAM environment value: each argument with `%`,
/// blanks and control characters written as `%XX`, joined by single spaces.
/// An empty argument is written `%`, so that none is lost.
pub fn encode_args(args: &[String]) -> String {
    let encoded: Vec<String> = args
        .iter()
        .map(|arg| {
            if arg.is_empty() {
                return "%".to_string();
            }
            let mut out = String::with_capacity(arg.len());
            for c in arg.chars() {
                if c == '%' || c == ' ' || c.is_control() {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("%{b:02X}"));
                    }
                } else {
                    out.push(c);
                }
            }
            out
        })
        .collect();
    encoded.join(" ")
}

/// Decodes [`encode_args`]; `None` for a value that it cannot have written.
pub fn decode_args(value: &str) -> Option<Vec<String>> {
    if value.is_empty() {
        return Some(Vec::new());
    }
    value
        .split(' ')
        .map(|word| {
            if word == "%" {
                return Some(String::new());
            }
            let mut bytes = Vec::with_capacity(word.len());
            let mut rest = word.as_bytes();
            while let Some((&b, tail)) = rest.split_first() {
                if b == b'%' {
                    let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
                    bytes.push(u8::from_str_radix(hex, 16).ok()?);
                    rest = &tail[2..];
                } else {
                    bytes.push(b);
                    rest = tail;
                }
            }
            String::from_utf8(bytes).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_survive_the_round_trip() {
        let args: Vec<String> = ["ps", "", "a b", "100%", "tab\there", "new\nline", "é"]
            .map(String::from)
            .to_vec();
        let encoded = encode_args(&args);
        assert!(!encoded.contains(['\n', '\t']));
        assert_eq!(decode_args(&encoded), Some(args));
        assert_eq!(decode_args(""), Some(vec![]));
        assert_eq!(decode_args("%zz"), None);
        assert_eq!(decode_args("%4"), None);
    }
}
