//! newgatectl as an administrator runs it: exit codes, output, JSON.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use newgate_testkit::{root_or_skip, stderr, stdout, with_installed_policy};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/policy");
/// The moment `check` checks at, unless a test says otherwise: the example's
/// `until 2027-12-31` must not start warning on the day it passes.
const AT: &str = "2026-11-29T12:00:00Z";

fn newgatectl(args: &[&str]) -> Output {
    newgate_testkit::run(env!("CARGO_BIN_EXE_newgatectl"), args)
}

/// `newgatectl ARGS` as root, with `/etc/newgate` the test's own: holding
/// `policy` (text and mode, root-owned), or no policy at all.
fn with_installed(name: &str, policy: Option<(&str, u32)>, args: &[&str]) -> Output {
    with_installed_policy(
        env!("CARGO_TARGET_TMPDIR"),
        &format!("ctl-installed-{name}"),
        policy,
        env!("CARGO_BIN_EXE_newgatectl"),
        args,
    )
}

fn draft(name: &str, text: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("ctl-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn check_accepts_the_example_and_says_it_is_a_draft() {
    let out = newgatectl(&["check", "--at", AT, EXAMPLE]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).ends_with("policy: OK\n"));
    assert!(stderr(&out).contains("read as a draft: ownership and permission checks skipped"));
    // The example's users are hypothetical: looking them up warns, --no-lookups does not.
    assert!(stderr(&out).contains("warning: user `carol` does not exist"));
    let quiet = newgatectl(&["check", "--no-lookups", "--at", AT, EXAMPLE]);
    assert_eq!(quiet.status.code(), Some(0));
    assert!(!stderr(&quiet).contains("warning"), "{}", stderr(&quiet));
}

/// `check` says which `until` dates have passed as of `--at` (in the policy's
/// time zone, Europe/Berlin for the example), never as of the day the test runs.
#[test]
fn check_at_a_time_warns_about_the_rules_expired_by_then() {
    let expired = "this rule expired at `until 2027-12-31`";
    for (at, warns) in [
        ("2027-12-31T23:59", false),
        ("2028-01-01T00:00", true),
        ("2027-12-31T22:59:00Z", false),
        ("2027-12-31T23:00:00Z", true),
    ] {
        let out = newgatectl(&["check", "--no-lookups", "--at", at, EXAMPLE]);
        assert_eq!(out.status.code(), Some(0), "{at}: {}", stderr(&out));
        assert_eq!(stderr(&out).contains(expired), warns, "{at}: {}", stderr(&out));
    }
    let bad = newgatectl(&["check", "--at", "soon", EXAMPLE]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--at: `soon` is not a time"), "{}", stderr(&bad));
}

#[test]
fn check_reports_every_error_with_place_and_caret() {
    let file = draft(
        "broken",
        "permt alice as group docker\npermit bob as group docker cmd docker\n",
    );
    let out = newgatectl(&["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let name = file.display();
    assert!(
        err.contains(&format!("{name}:1:1: error: unknown statement `permt`")),
        "{err}"
    );
    assert!(err.contains("1 | permt alice as group docker\n  | ^^^^^\n"), "{err}");
    assert!(err.contains("hint: did you mean `permit`?"), "{err}");
    assert!(
        err.contains(&format!("{name}:2:32: error: command `docker` is not an absolute path")),
        "{err}"
    );
    assert!(err.contains("2 errors; the policy grants nothing"), "{err}");
    assert!(stdout(&out).is_empty());
}

#[test]
fn check_json_lists_diagnostics() {
    let file = draft(
        "json",
        "permit alice as group docker\nusers UNUSED = alice\nset passwd_tries = 0\n",
    );
    let out = newgatectl(&["check", "--json", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(report["valid"], false);
    assert_eq!(report["draft"], true);
    let diagnostics = report["diagnostics"].as_array().unwrap();
    let error = diagnostics.iter().find(|d| d["severity"] == "error").unwrap();
    assert_eq!(error["line"], 3);
    assert_eq!(error["column"], 20);
    assert!(error["message"].as_str().unwrap().contains("passwd_tries"));
    let unused = diagnostics
        .iter()
        .find(|d| d["message"] == "alias `UNUSED` is never used")
        .unwrap();
    assert_eq!(unused["severity"], "warning");
    assert_eq!((unused["line"].as_u64(), unused["column"].as_u64()), (Some(2), Some(7)));
}

/// Without a FILE, `check` reads /etc/newgate/policy with every ownership
/// check: the installed policy is the test's own, so each answer is asserted.
#[test]
fn check_without_a_file_checks_the_installed_policy() {
    if !root_or_skip("check of the installed policy (a private /etc/newgate)") {
        return;
    }
    let rule = "permit alice as group docker\n";
    let valid = with_installed("valid", Some((rule, 0o440)), &["check", "--no-lookups"]);
    assert_eq!(valid.status.code(), Some(0), "{}", stderr(&valid));
    assert_eq!(stdout(&valid), "/etc/newgate/policy: OK\n");
    assert!(!stderr(&valid).contains("draft"), "{}", stderr(&valid));
    let writable = with_installed("writable", Some((rule, 0o666)), &["check", "--no-lookups"]);
    assert_eq!(writable.status.code(), Some(1), "{}", stderr(&writable));
    assert!(
        stderr(&writable).contains("writable by everyone") && stderr(&writable).contains("grants nothing"),
        "the checks a draft is spared apply: {}",
        stderr(&writable)
    );
    let missing = with_installed("missing", None, &["check"]);
    assert_eq!(missing.status.code(), Some(1), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("/etc/newgate/policy") && stderr(&missing).contains("grants nothing"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["frobnicate"][..],
        &[],
        &["check", "a", "b"],
        &["explain"],
        &["list"],
        &["explain", "--bogus"],
    ] {
        let out = newgatectl(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("newgatectl --help"), "{args:?}");
    }
    let help = newgatectl(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("newgatectl explain"));
}

fn explain(args: &[&str]) -> Output {
    let mut all = vec![
        "explain",
        "--policy",
        EXAMPLE,
        "--host",
        "web-1",
        "--at",
        "2026-11-30T10:00",
    ];
    all.extend_from_slice(args);
    newgatectl(&all)
}

#[test]
fn explain_permit_and_deny_with_the_deciding_rule() {
    let out = explain(&[
        "--user",
        "alice",
        "--member-of",
        "alice",
        "--group",
        "docker",
        "--",
        "/usr/bin/docker",
        "ps",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("permit\n"), "{text}");
    assert!(
        text.contains("policy:23: permit alice as group docker cmd /usr/bin/docker"),
        "{text}"
    );
    let out = explain(&["--user", "bob", "--member-of", "bob", "--group", "docker"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("policy:26: deny bob as group docker"));
    let out = explain(&["--user", "nobody-at-all", "--member-of", "", "--group", "docker"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("  rule:    no rule matched; what no rule permits is denied\n"));
}

#[test]
fn explain_trace_and_options() {
    let out = explain(&[
        "--user",
        "carol",
        "--member-of",
        "carol",
        "--as-user",
        "postgres",
        "--trace",
        "--",
        "/usr/bin/psql",
        "-d",
        "prod",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("options: persist=5m"), "{text}");
    assert!(text.contains("-> skipped: not for carol"), "{text}");
    assert!(text.contains("-> decides"), "{text}");
    // Time conditions are read in the policy's zone: 10:00 Berlin on a Monday.
    let out = explain(&["--user", "dave", "--member-of", "dave", "--group", "audit"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = explain(&[
        "--user",
        "dave",
        "--member-of",
        "dave",
        "--group",
        "audit",
        "--at",
        "2026-11-30T18:00",
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn explain_json_has_the_documented_shape() {
    let out = explain(&[
        "--user",
        "erin",
        "--member-of",
        "erin",
        "--group",
        "www",
        "--trace",
        "--json",
        "--",
        "/usr/bin/env",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["decision"], "permit");
    assert_eq!(v["rule"]["line"], 29);
    assert!(v["rule"]["file"].as_str().unwrap().ends_with("examples/policy"));
    assert_eq!(v["options"]["setenv"][0]["set"], "EDITOR");
    assert_eq!(v["options"]["setenv"][1]["unset"], "HOME");
    let trace = v["trace"].as_array().unwrap();
    assert!(trace.iter().filter(|s| s["decides"] == true).count() == 1);
    assert!(trace.iter().any(|s| s["reason"] == "not for erin"));
}

#[test]
fn explain_needs_groups_for_unknown_users_and_a_valid_policy() {
    let out = explain(&["--user", "no-such-user-here", "--group", "docker"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--member-of"));
    let broken = draft("explain-broken", "permit alice as\n");
    let out = newgatectl(&[
        "explain",
        "--policy",
        broken.to_str().unwrap(),
        "--user",
        "alice",
        "--member-of",
        "a",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("error:"));
}

#[test]
fn list_speaks_plainly() {
    let out = newgatectl(&["list", "--policy", EXAMPLE, "--user", "bob", "--member-of", "bob,ops"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("policy:21: may run any command as any group"), "{text}");
    assert!(
        text.contains("policy:26: may not run any command as group docker"),
        "{text}"
    );
    assert!(!text.contains("postgres"), "rules for others are not listed: {text}");
    let out = newgatectl(&["list", "--policy", EXAMPLE, "--user", "zed", "--member-of", ""]);
    assert!(stdout(&out).contains("zed may not switch to anything"));
}

/// A policy the caller may not read is unknown to them, not invalid: exit 4
/// and "cannot read", never "the policy grants nothing".
#[test]
fn a_policy_the_caller_cannot_read_is_not_called_invalid() {
    use std::os::unix::fs::PermissionsExt;
    let path = draft("unreadable", "permit alice as group docker\n");
    let as_root = nix::unistd::geteuid().is_root();
    std::fs::set_permissions(
        &path,
        std::fs::Permissions::from_mode(if as_root { 0o400 } else { 0o000 }),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut command = if as_root {
            // root reads any file: ask as nobody, as an administrator without sudo would.
            let mut c = Command::new("setpriv");
            c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
                .arg(env!("CARGO_BIN_EXE_newgatectl"));
            c
        } else {
            Command::new(env!("CARGO_BIN_EXE_newgatectl"))
        };
        command.args(args).output().expect("newgatectl runs")
    };
    let file = path.to_str().unwrap();
    for args in [
        &["check", file][..],
        &["explain", "--policy", file, "--user", "root", "--member-of", "root"][..],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("cannot read {file}: permission denied")),
            "{}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("grants nothing") && !stderr(&out).contains("invalid"));
    }
    let json = run(&["check", "--json", file]);
    assert_eq!(json.status.code(), Some(4));
    let report: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(report["valid"], serde_json::Value::Null);
    assert_eq!(report["unreadable"][0], file);
    std::fs::remove_file(&path).unwrap();
}

/// `check` with look-ups warns about a `cmd` that cannot match on this
/// machine: the program is missing, or `secure_path` finds another first.
#[test]
fn check_warns_about_a_cmd_that_cannot_match_here() {
    use std::os::unix::fs::PermissionsExt;
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("ctl-path-{}", std::process::id()));
    for folder in ["local", "usr"] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
    }
    for program in ["local/docker", "usr/docker", "usr/psql"] {
        std::fs::write(root.join(program), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(root.join(program), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let r = root.display();
    let policy = draft(
        "paths",
        &format!(
            "set secure_path = {r}/local:{r}/usr\npermit root as group root cmd {r}/usr/docker\n\
             permit root as group root cmd {r}/usr/psql\npermit root as group root cmd {r}/gone/tool\n"
        ),
    );
    let out = newgatectl(&["check", policy.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "2:31: warning: `newgate docker` runs `{r}/local/docker`, found first on `secure_path`, which this does not match"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "4:31: warning: there is no program `{r}/gone/tool` on this machine"
        )),
        "{err}"
    );
    assert!(!err.contains(":3:"), "psql is found where the rule says: {err}");
    // Written for other machines: no look-ups, no warnings.
    let quiet = newgatectl(&["check", "--no-lookups", policy.to_str().unwrap()]);
    assert!(!stderr(&quiet).contains("warning"), "{}", stderr(&quiet));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn diff_names_the_rules_and_the_decisions_a_change_touches() {
    let old = draft("diff-old", "permit alice as group docker\npermit %ops as user root\n");
    let new = draft(
        "diff-new",
        "permit alice as group docker\npermit %ops as user root\ndeny %ops as user root cmd /usr/bin/su\n",
    );
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    let out = newgatectl(&["diff", "--host", "h", old, new]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "rules added:\n  + {new}:3: deny %ops as user root cmd /usr/bin/su\n"
        )),
        "{text}"
    );
    assert!(!text.contains("rules removed"), "{text}");
    assert!(
        text.contains("decisions that change (1 of ")
            && text.contains(&format!(
                "  %ops as user root, run /usr/bin/su, through newgate: permit ({old}:2) -> deny ({new}:3)\n"
            )),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&newgatectl(&["diff", "--json", "--host", "h", old, new]))).unwrap();
    assert_eq!(json["flips"][0]["request"]["command"], "/usr/bin/su");
    assert_eq!(json["flips"][0]["new"]["rule"]["line"], 3);

    let same = newgatectl(&["diff", "--host", "h", old, old]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(stdout(&same).starts_with("no decision changes ("), "{}", stdout(&same));
    let broken = draft("diff-broken", "permit alice as gruop docker\n");
    let out = newgatectl(&["diff", old, broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the policy is invalid and grants nothing"),
        "{}",
        stderr(&out)
    );
}
