//! Golden tests of the diagnostics: what an administrator sees for each mistake.
//!
//! Every `tests/golden/NAME.policy` is loaded as a draft, as if it were the file
//! `golden/NAME.policy`, with a fixed directory of names ([`FakeDirectory`]) and a
//! fixed clock ([`NOW`]), so the warnings are the same on every machine. Each
//! diagnostic is rendered with its `Display` (as `newgatectl check` prints it), a
//! last line says `valid` or `invalid` (whether a policy came out), and the text
//! must equal `tests/golden/NAME.expected`.
//!
//! After changing a message on purpose, rewrite the expected files and review
//! the change with git before committing it (refused when `CI` is set):
//!
//! ```text
//! UPDATE_GOLDEN=1 cargo test -p newgate-policy --test golden
//! git diff policy/tests/golden/
//! ```
//!
//! Includes are read relative to the including file, so the test runs with
//! `tests/` as its working directory (this binary holds this one test only, so
//! changing the process's folder races with nothing). Files that are only
//! included live in `tests/golden/includes/` and end in `.inc`, so they are never
//! taken as inputs themselves.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use newgate_policy::{Diagnostic, Directory, LoadOptions, Trust, load_str};

/// The moment the tests run at, for the "`until` has passed" warning.
const NOW: &str = "2026-11-29T12:00:00Z";

/// The names that exist; every other one draws a "does not exist" warning.
struct FakeDirectory;

const USERS: &[&str] = &[
    "root", "alice", "bob", "carol", "dave", "erin", "deploy", "postgres", "www-data", "toor",
];
const GROUPS: &[&str] = &[
    "root",
    "wheel",
    "devs",
    "docker",
    "builders",
    "ci-runners",
    "audit",
    "ops",
    "www",
    "interns",
    "printers",
    "deployers",
    "admins",
];
const HOSTS: &[&str] = &["localhost", "db1.example.com", "web1.example.com"];

impl Directory for FakeDirectory {
    fn user_exists(&self, name: &str) -> bool {
        USERS.contains(&name)
    }

    fn group_exists(&self, name: &str) -> bool {
        GROUPS.contains(&name)
    }

    fn host_exists(&self, name: &str) -> bool {
        HOSTS.contains(&name)
    }

    /// `toor` is a second name for root's uid 0, as on some BSD-minded systems.
    fn user_known_as(&self, name: &str) -> Option<String> {
        (name == "toor").then(|| "root".into())
    }

    /// `admins` was given the gid of `wheel`, which comes first in the group file.
    fn group_known_as(&self, name: &str) -> Option<String> {
        (name == "admins").then(|| "wheel".into())
    }

    /// A merged-/usr machine: /bin and /sbin link into /usr.
    fn real_folder(&self, folder: &str) -> Option<String> {
        match folder {
            "/bin" => Some("/usr/bin".into()),
            "/sbin" => Some("/usr/sbin".into()),
            _ => Some(folder.into()),
        }
    }
}

/// What an administrator would see for `golden/NAME.policy`.
fn render(name: &str, text: &str) -> String {
    render_with(name, text, Some(&FakeDirectory), |_| true)
}

/// The warnings that only looking names up gives (`newgatectl check` without `--no-lookups`).
fn from_lookups(diagnostic: &Diagnostic) -> bool {
    diagnostic.message.ends_with("does not exist")
        || diagnostic.message.ends_with("never applies")
        || diagnostic.message.starts_with("newgate sees this program as")
}

/// What `golden/NAME.policy` gives loaded with `directory`, the diagnostics `keep` keeps.
fn render_with(name: &str, text: &str, directory: Option<&dyn Directory>, keep: fn(&Diagnostic) -> bool) -> String {
    let options = LoadOptions {
        trust: Trust::Draft,
        directory,
        now: Some(NOW.parse::<jiff::Timestamp>().expect("NOW is a timestamp")),
        lint: true,
    };
    let path = PathBuf::from(format!("golden/{name}.policy"));
    let loaded = load_str(&path, text, &options);
    let mut out = String::new();
    for diagnostic in loaded.diagnostics.iter().filter(|d| keep(d)) {
        write!(out, "{diagnostic}").expect("writing to a String cannot fail");
    }
    out.push_str(if loaded.policy.is_some() {
        "valid\n"
    } else {
        "invalid\n"
    });
    out
}

/// A line diff of two texts (longest common subsequence), `-` for expected, `+` for actual.
fn diff(expected: &str, actual: &str) -> String {
    let old: Vec<&str> = expected.lines().collect();
    let new: Vec<&str> = actual.lines().collect();
    // lcs[i][j]: length of the longest common subsequence of old[i..] and new[j..].
    let mut lcs = vec![vec![0usize; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = String::new();
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            writeln!(out, "   {}", old[i]).unwrap();
            i += 1;
            j += 1;
        } else if i < old.len() && (j == new.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            writeln!(out, " - {}", old[i]).unwrap();
            i += 1;
        } else {
            writeln!(out, " + {}", new[j]).unwrap();
            j += 1;
        }
    }
    if expected.ends_with('\n') != actual.ends_with('\n') {
        out.push_str(" (the texts differ in their final line break)\n");
    }
    out
}

/// The inputs: `golden/*.policy`, sorted by name.
fn inputs(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", folder.display()))
        .map(|entry| {
            entry
                .expect("a folder entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter_map(|file| file.strip_suffix(".policy").map(str::to_string))
        .collect();
    names.sort();
    names
}

#[test]
fn diagnostics_match_the_golden_files() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    env::set_current_dir(&tests).expect("cannot enter the tests folder");
    let folder = Path::new("golden");
    let update = env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    // Rewriting checks nothing: in CI that would bless whatever the code now says.
    let in_ci = env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
    assert!(
        !(update && in_ci),
        "UPDATE_GOLDEN=1 rewrites the expected files instead of checking them; it is refused under CI"
    );
    let names = inputs(folder);
    assert!(
        !names.is_empty(),
        "no golden files found in {}: expected golden/NAME.policy inputs",
        tests.join(folder).display()
    );

    let mut failures: Vec<String> = Vec::new();
    for name in &names {
        let input = folder.join(format!("{name}.policy"));
        let expected_path = folder.join(format!("{name}.expected"));
        let text = match fs::read_to_string(&input) {
            Ok(text) => text,
            Err(e) => {
                failures.push(format!("tests/{}: cannot read it: {e}", input.display()));
                continue;
            }
        };
        let actual = render(name, &text);
        // Without a directory the loader parses each rule only as it compiles
        // it (the syntax trees of a large policy are never all held at once);
        // that must say exactly the same, less what the look-ups add.
        let without_lookups = render_with(name, &text, None, |_| true);
        let expected_without = render_with(name, &text, Some(&FakeDirectory), |d| !from_lookups(d));
        if without_lookups != expected_without {
            failures.push(format!(
                "tests/{} loads differently without look-ups (- with look-ups, less their warnings; + without):\n{}",
                input.display(),
                diff(&expected_without, &without_lookups)
            ));
        }
        if update {
            if fs::read_to_string(&expected_path).ok().as_deref() != Some(actual.as_str()) {
                fs::write(&expected_path, &actual)
                    .unwrap_or_else(|e| panic!("cannot write tests/{}: {e}", expected_path.display()));
                eprintln!("updated tests/{}", expected_path.display());
            }
            continue;
        }
        match fs::read_to_string(&expected_path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "tests/{} differs from the output for tests/{} (- expected, + actual):\n{}",
                expected_path.display(),
                input.display(),
                diff(&expected, &actual)
            )),
            Err(e) => failures.push(format!(
                "tests/{}: cannot read it ({e}); the output for tests/{} is:\n{actual}",
                expected_path.display(),
                input.display()
            )),
        }
    }

    // An expected file whose input is gone would silently stop being checked.
    let mut orphans: Vec<String> = fs::read_dir(folder)
        .expect("the golden folder")
        .filter_map(|entry| {
            let file = entry.ok()?.file_name().to_string_lossy().into_owned();
            let name = file.strip_suffix(".expected")?;
            (!names.iter().any(|n| n == name)).then(|| format!("tests/golden/{file} has no {name}.policy input"))
        })
        .collect();
    orphans.sort();
    failures.extend(orphans);

    assert!(
        failures.is_empty(),
        "{} problem(s) with the {} golden files (rerun with UPDATE_GOLDEN=1 to accept the new output, then review `git diff`):\n\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}
