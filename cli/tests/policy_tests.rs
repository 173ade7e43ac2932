//! `newgatectl test`: policy unit tests as an administrator runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use newgate_testkit::{root_or_skip, stderr, stdout, with_installed_policy};

/// Runs newgatectl from the crate's folder, so that `../examples/...` names the examples.
fn newgatectl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_newgatectl"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("newgatectl runs")
}

/// A test file in the target's temporary folder.
fn tests_file(name: &str, text: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("policy-tests-{}-{name}.tests", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn run_against_example(file: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["test", "--policy", "../examples/policy"];
    args.extend_from_slice(extra);
    args.push(file.to_str().unwrap());
    newgatectl(&args)
}

#[test]
fn the_example_policy_passes_its_tests() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/policy.tests")).unwrap();
    let expectations = text
        .lines()
        .filter(|l| l.starts_with("permit") || l.starts_with("deny"))
        .count();
    assert!(
        expectations >= 40,
        "the example tests every rule: {expectations} expectations"
    );

    let out = newgatectl(&["test", "--policy", "../examples/policy", "../examples/policy.tests"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(stdout(&out), format!("{expectations} passed, 0 failed\n"));
    assert!(
        stderr(&out).contains("../examples/policy is read as a draft: ownership and permission checks skipped"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_failure_shows_the_request_the_verdict_and_the_deciding_rule() {
    let file = tests_file(
        "failing",
        "# bob is an admin, but a later rule denies him docker\n\
         permit bob as group docker\n\
         deny alice as group docker cmd /usr/bin/docker ps\n\
         permit zed as group docker at 2026-12-01T10:00\n\
         permit alice as group wheel\n",
    );
    let out = run_against_example(&file, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let name = file.display();
    let expected = format!(
        "FAIL {name}:2: permit bob as group docker\n\
         \x20 request: bob (groups bob) as group docker, no command, on localhost, through newgate, at "
    );
    let text = stdout(&out);
    assert!(text.starts_with(&expected), "{text}");
    assert!(
        text.contains("  got:     deny\n  rule:    ../examples/policy:26: deny bob as group docker\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "FAIL {name}:3: deny alice as group docker cmd /usr/bin/docker ps\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "  got:     permit\n  rule:    ../examples/policy:23: permit alice as group docker cmd /usr/bin/docker\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "FAIL {name}:4: permit zed as group docker at 2026-12-01T10:00\n\
             \x20 request: zed (groups zed) as group docker, no command, on localhost, through newgate, \
             at Tue 2026-12-01 10:00 Europe/Berlin\n\
             \x20 got:     deny\n\
             \x20 rule:    no rule matched; what no rule permits is denied\n"
        )),
        "{text}"
    );
    assert!(!text.contains(":5:"), "passing expectations are not shown: {text}");
    assert!(text.ends_with("\n1 passed, 3 failed\n"), "{text}");
}

#[test]
fn verbose_also_shows_each_passing_expectation() {
    let file = tests_file(
        "verbose",
        "permit alice as group wheel\ndeny frank as group adm\ndeny alice as group wheel\n",
    );
    let out = run_against_example(&file, &["--verbose"]);
    assert_eq!(out.status.code(), Some(1));
    let name = file.display();
    assert_eq!(
        stdout(&out).lines().take(4).collect::<Vec<_>>(),
        [
            format!("ok   {name}:1: permit alice as group wheel"),
            "  rule:    ../examples/policy:21: permit ADMINS as group *".to_string(),
            format!("ok   {name}:2: deny frank as group adm"),
            "  rule:    no rule matched; what no rule permits is denied".to_string(),
        ]
    );
    assert!(stdout(&out).contains(&format!("FAIL {name}:3: deny alice as group wheel\n")));
    assert!(stdout(&out).ends_with("\n2 passed, 1 failed\n"));
}

#[test]
fn expectations_of_several_files_run_in_order() {
    let first = tests_file("first", "permit alice as group wheel\n");
    let second = tests_file("second", "deny bob as group docker\ndeny alice as group wheel\n");
    let out = newgatectl(&[
        "test",
        first.to_str().unwrap(),
        "--policy",
        "../examples/policy",
        second.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with(&format!("FAIL {}:2: ", second.display())));
    assert!(stdout(&out).ends_with("\n2 passed, 1 failed\n"));
}

#[test]
fn an_invalid_test_file_is_reported_with_place_and_caret_and_nothing_runs() {
    let good = tests_file("good", "permit alice as group wheel\n");
    let bad = tests_file(
        "bad",
        "permit alice as group wheel\npermt alice as group docker\ndeny bob as group docker cmd docker ps\n",
    );
    let out = newgatectl(&[
        "test",
        "--policy",
        "../examples/policy",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty(), "no test ran: {}", stdout(&out));
    let err = stderr(&out);
    let name = bad.display();
    assert!(
        err.contains(&format!(
            "{name}:2:1: error: expected `permit` or `deny`, found `permt`\n  |\n2 | permt alice as group docker\n  | ^^^^^\n  = hint: did you mean `permit`?\n"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{name}:3:30: error: command `docker` is not an absolute path\n  |\n3 | deny bob as group docker cmd docker ps\n  |                              ^^^^^^\n"
        )),
        "{err}"
    );
    assert!(
        err.contains("newgatectl: 2 errors in the test files; no test ran"),
        "{err}"
    );
}

#[test]
fn a_missing_test_file_is_an_error() {
    let out = newgatectl(&["test", "--policy", "../examples/policy", "no-such.tests"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no-such.tests: error: cannot read the test file: "),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn an_invalid_policy_runs_no_test() {
    let policy = tests_file("policy", "permit alice as grop docker\n");
    let file = tests_file("for-invalid", "permit alice as group docker\n");
    let out = newgatectl(&["test", "--policy", policy.to_str().unwrap(), file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(":1:17: error: "), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the policy is invalid and grants nothing"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["test"][..],
        &["test", "--policy", "../examples/policy"],
        &["test", "--frobnicate", "x.tests"],
        &["test", "--policy"],
    ] {
        let out = newgatectl(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("Try 'newgatectl --help' for more information."),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let out = newgatectl(&["test"]);
    assert!(stderr(&out).contains("test needs at least one TESTFILE"));
    let help = newgatectl(&["--help"]);
    assert!(stdout(&help).contains("newgatectl test [--policy FILE] [--verbose] TESTFILE..."));
}

/// Without --policy, /etc/newgate/policy is read with its checks: the
/// installed policy is the test's own, so each answer is asserted.
#[test]
fn without_policy_the_installed_one_is_read_with_its_checks() {
    if !root_or_skip("test against the installed policy (a private /etc/newgate)") {
        return;
    }
    let file = tests_file("installed", "permit alice as group docker\ndeny bob as group docker\n");
    let run = |name: &str, policy: Option<(&str, u32)>| {
        with_installed_policy(
            env!("CARGO_TARGET_TMPDIR"),
            &format!("policy-tests-installed-{name}"),
            policy,
            env!("CARGO_BIN_EXE_newgatectl"),
            &["test", file.to_str().unwrap()],
        )
    };
    let rule = "permit alice as group docker\n";
    let passes = run("valid", Some((rule, 0o440)));
    assert_eq!(passes.status.code(), Some(0), "{}{}", stdout(&passes), stderr(&passes));
    assert_eq!(stdout(&passes), "2 passed, 0 failed\n");
    assert!(
        !stderr(&passes).contains("draft"),
        "the installed policy is no draft: {}",
        stderr(&passes)
    );
    for (name, policy) in [("writable", Some((rule, 0o666))), ("missing", None)] {
        let out = run(name, policy);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("/etc/newgate/policy: the policy is invalid and grants nothing"),
            "{name}: {}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty(), "{name}: no test runs: {}", stdout(&out));
    }
}
