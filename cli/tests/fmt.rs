//! `newgatectl fmt` as an administrator runs it: files rewritten in place,
//! standard input to standard output, `--check` with its diff, and the exit codes.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use newgate_testkit::{Scratch, stderr, stdout};

const UNTIDY: &str = "set persist = 5m\nset passwd_tries=3\npermit  nolog nopass alice,bob as group docker # ok\n";
const TIDY: &str =
    "set persist      = 5m\nset passwd_tries = 3\npermit nopass nolog alice, bob as group docker  # ok\n";

fn newgatectl(args: &[&str]) -> Output {
    newgate_testkit::run(env!("CARGO_BIN_EXE_newgatectl"), args)
}

fn newgatectl_with_input(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_newgatectl"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("newgatectl runs");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// A fresh folder for one test, removed afterwards (kept if the test fails).
fn folder(test: &str) -> Scratch {
    Scratch::new(env!("CARGO_TARGET_TMPDIR"), &format!("fmt-{test}"))
}

#[test]
fn check_shows_a_diff_and_fails_until_the_file_is_formatted() {
    let scratch = folder("check");
    let dir = scratch.path.clone();
    let file = dir.join("policy");
    fs::write(&file, UNTIDY).unwrap();
    let name = file.to_str().unwrap();

    let out = newgatectl(&["fmt", "--check", name]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "--- {name}\n+++ {name} (formatted)\n@@ -1,3 +1,3 @@\n\
             -set persist = 5m\n-set passwd_tries=3\n-permit  nolog nopass alice,bob as group docker # ok\n\
             +set persist      = 5m\n+set passwd_tries = 3\n+permit nopass nolog alice, bob as group docker  # ok\n"
        )
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), UNTIDY, "--check writes nothing");

    let out = newgatectl(&["fmt", name]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).is_empty() && stderr(&out).is_empty());
    assert_eq!(fs::read_to_string(&file).unwrap(), TIDY);

    let out = newgatectl(&["fmt", "--check", name]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).is_empty());
}

#[test]
fn check_of_several_files_shows_only_those_not_formatted() {
    let scratch = folder("several");
    let dir = scratch.path.clone();
    let (tidy, untidy) = (dir.join("tidy.conf"), dir.join("untidy.conf"));
    fs::write(&tidy, TIDY).unwrap();
    fs::write(&untidy, "deny   bob as group docker\n").unwrap();
    let out = newgatectl(&["fmt", "--check", tidy.to_str().unwrap(), untidy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let diff = stdout(&out);
    assert!(diff.starts_with(&format!("--- {}\n", untidy.display())), "{diff}");
    assert!(!diff.contains(&format!("--- {}\n", tidy.display())), "{diff}");
    assert!(
        diff.contains("-deny   bob as group docker\n+deny bob as group docker\n"),
        "{diff}"
    );
}

#[test]
fn a_rewritten_file_keeps_its_mode_and_no_temporary_file_is_left() {
    let scratch = folder("mode");
    let dir = scratch.path.clone();
    let file = dir.join("policy");
    fs::write(&file, UNTIDY).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
    let before = fs::metadata(&file).unwrap();

    let out = newgatectl(&["fmt", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let after = fs::metadata(&file).unwrap();
    assert_eq!(after.mode() & 0o7777, 0o640);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    assert_ne!(after.ino(), before.ino(), "a new file was renamed over the old one");
    assert_eq!(scratch.names(), ["policy"]);
}

#[test]
fn a_formatted_file_is_not_written_at_all() {
    let scratch = folder("unchanged");
    let dir = scratch.path.clone();
    let file = dir.join("policy");
    fs::write(&file, TIDY).unwrap();
    let before = fs::metadata(&file).unwrap();
    let out = newgatectl(&["fmt", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let after = fs::metadata(&file).unwrap();
    assert_eq!(
        (after.ino(), after.mtime_nsec(), after.mtime()),
        (before.ino(), before.mtime_nsec(), before.mtime())
    );
}

#[test]
fn a_symbolic_link_stays_a_link_to_the_rewritten_file() {
    let scratch = folder("link");
    let dir = scratch.path.clone();
    let file = dir.join("real.conf");
    let link = dir.join("link.conf");
    fs::write(&file, UNTIDY).unwrap();
    std::os::unix::fs::symlink("real.conf", &link).unwrap();
    let out = newgatectl(&["fmt", link.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(fs::read_to_string(&file).unwrap(), TIDY);
}

#[test]
fn without_a_file_standard_input_is_formatted_to_standard_output() {
    let out = newgatectl_with_input(&["fmt"], UNTIDY);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), TIDY);

    let out = newgatectl_with_input(&["fmt", "--check"], UNTIDY);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("--- <stdin>\n+++ <stdin> (formatted)\n@@ -1,3 +1,3 @@\n"),
        "{}",
        stdout(&out)
    );

    let out = newgatectl_with_input(&["fmt", "--check"], TIDY);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).is_empty());
}

#[test]
fn an_invalid_file_is_reported_and_left_untouched() {
    let scratch = folder("invalid");
    let dir = scratch.path.clone();
    let (file, good) = (dir.join("policy"), dir.join("good"));
    let broken = "permit  alice as group docker\npermt bob as group docker\n";
    fs::write(&file, broken).unwrap();
    fs::write(&good, UNTIDY).unwrap();
    let name = file.display();

    let out = newgatectl(&["fmt", file.to_str().unwrap(), good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{name}:2:1: error: unknown statement `permt`")),
        "{err}"
    );
    assert!(err.contains("2 | permt bob as group docker\n  | ^^^^^\n"), "{err}");
    assert!(err.contains(&format!("{name}: 1 error; not formatted")), "{err}");
    assert_eq!(fs::read_to_string(&file).unwrap(), broken);
    // The other files are formatted all the same.
    assert_eq!(fs::read_to_string(&good).unwrap(), TIDY);

    let out = newgatectl_with_input(&["fmt"], broken);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("<stdin>:2:1: error: unknown statement `permt`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_missing_file_is_an_error() {
    let scratch = folder("missing");
    let dir = scratch.path.clone();
    let out = newgatectl(&["fmt", dir.join("nothing").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_2() {
    let out = newgatectl(&["fmt", "--frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--frobnicate"), "{}", stderr(&out));
    let out = newgatectl(&["fmt", "--check=yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let help = newgatectl(&["--help"]);
    assert!(stdout(&help).contains("newgatectl fmt [--check] [FILE...]"));
}

/// A CI gate `newgatectl fmt --check` must not fail on the files we ship.
#[test]
fn every_shipped_policy_file_is_in_the_canonical_layout() {
    let top = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = vec![top.join("debian/policy"), top.join("examples/policy")];
    for entry in fs::read_dir(top.join("examples/policy.d")).unwrap() {
        files.push(entry.unwrap().path());
    }
    for file in files {
        let out = newgatectl(&["fmt", "--check", file.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{} is not canonical:\n{}{}",
            file.display(),
            stdout(&out),
            stderr(&out)
        );
    }
}
