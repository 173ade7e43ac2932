//! `newgatectl check` on policies built to break the loader: it ends with a
//! clear error and exit status 1, never dies of a signal.

use std::fmt::Write as _;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn draft(name: &str, text: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("hostile-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit status 1, no signal, and what it printed.
fn refused(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(out.status.signal(), None, "killed by a signal: {err}");
    assert_eq!(out.status.code(), Some(1), "{err}");
    err
}

#[test]
fn check_refuses_20000_nested_aliases_with_one_error() {
    for keyword in ["users", "groups"] {
        let mut text = format!("{keyword} A0 = root\n");
        for i in 1..20_000 {
            writeln!(text, "{keyword} A{i} = A{}", i - 1).unwrap();
        }
        text.push_str(if keyword == "users" {
            "permit A19999 as user root\n"
        } else {
            "permit alice as group A19999\n"
        });
        let file = draft(keyword, &text);
        let out = Command::new(env!("CARGO_BIN_EXE_newgatectl"))
            .args(["check", "--no-lookups"])
            .arg(&file)
            .output()
            .unwrap();
        let err = refused(&out);
        let name = file.display();
        assert!(
            err.contains(&format!(
                "{name}:65:{}: error: alias `A64` nests aliases more than 64 levels deep\n",
                keyword.len() + 2
            )),
            "{err}"
        );
        assert!(err.contains("= hint: aliases may nest at most 64 levels"), "{err}");
        assert!(
            err.ends_with(&format!("{name}: 1 error; the policy grants nothing\n")),
            "{err}"
        );
    }
}

/// With a stack limit so small that the parser's stack guard stops it, the
/// policy is refused for that reason, not for errors it does not have.
///
/// 64 KiB, not 16: the unoptimised newgatectl this test runs needs more than
/// 16 KiB before it reads the policy at all.
#[test]
fn check_with_too_little_stack_says_so() {
    let file = draft("stack", "set persist = 5m\npermit alice as user root\n");
    let out = Command::new("prlimit")
        .args([
            "--stack=65536:65536",
            env!("CARGO_BIN_EXE_newgatectl"),
            "check",
            "--no-lookups",
        ])
        .arg(&file)
        .env_clear()
        .output()
        .expect("prlimit (util-linux) runs");
    let err = refused(&out);
    let name = file.display();
    assert!(
        err.contains(&format!(
            "{name}: error: out of stack space while reading the policy; the stack limit (`ulimit -s`) is too small\n"
        )),
        "{err}"
    );
    assert!(!err.contains("unknown statement"), "{err}");
    assert!(
        err.ends_with(&format!("{name}: 1 error; the policy grants nothing\n")),
        "{err}"
    );
}
