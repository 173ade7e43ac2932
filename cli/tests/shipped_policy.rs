//! The policy the Debian package installs as /etc/newgate/policy: it must
//! load cleanly, permit nothing, and its commented examples must be valid
//! rules once uncommented (an administrator will copy them).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

/// When the policy is checked: a fixed moment, so that an `until` in an
/// example cannot start warning on the day it passes.
const AT: &str = "2026-11-29T12:00:00Z";

fn newgatectl(args: &[&str]) -> Output {
    newgate_testkit::run(env!("CARGO_BIN_EXE_newgatectl"), args)
}

fn shipped() -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../debian/policy")).unwrap()
}

/// `text` as /etc/newgate/policy would be, with an empty policy.d beside it.
fn installed_like(name: &str, text: &str) -> PathBuf {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = fs::remove_dir_all(&folder);
    fs::create_dir_all(folder.join("policy.d")).unwrap();
    let policy = folder.join("policy");
    fs::write(&policy, text).unwrap();
    policy
}

#[test]
fn the_shipped_policy_checks_clean_and_permits_nothing() {
    // Nothing but comments and the drop-ins: no rule, so nothing is permitted or granted.
    let text = shipped();
    let statements: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(statements, ["include policy.d/*.conf"]);
    let policy = installed_like("shipped", &text);
    let check = newgatectl(&["check", "--at", AT, policy.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    for request in [
        &["--user", "root", "--group", "root"][..],
        &["--user", "alice", "--member-of", "admins,devs", "--group", "docker"],
        &[
            "--user",
            "bob",
            "--member-of",
            "bob",
            "--as-user",
            "root",
            "--",
            "/bin/sh",
        ],
    ] {
        let mut args = vec!["explain", "--policy", policy.to_str().unwrap()];
        args.extend_from_slice(request);
        let explain = newgatectl(&args);
        assert_eq!(explain.status.code(), Some(1), "{request:?} is denied");
    }
}

#[test]
fn the_shipped_examples_are_valid_rules() {
    let text = shipped();
    let examples: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| ["permit ", "deny ", "grant "].iter().any(|k| l.starts_with(k)))
        .collect();
    assert!(examples.len() >= 4, "the policy shows examples: {examples:?}");
    let uncommented = installed_like("shipped-examples", &(examples.join("\n") + "\n"));
    let check = newgatectl(&["check", "--no-lookups", "--at", AT, uncommented.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

/// What the package installs under /etc points to what is on an installed
/// system (man pages), never to a path in this repository.
#[test]
fn shipped_configuration_names_no_repository_path() {
    let top = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for file in ["pam/newgate", "debian/policy", "debian/policy.d-README"] {
        let text = std::fs::read_to_string(top.join(file)).unwrap();
        for line in text.lines() {
            assert!(!line.contains("docs/") && !line.contains(".md"), "{file}: {line}");
        }
    }
}
