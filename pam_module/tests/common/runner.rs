//! A small test runner for the suites that cannot use libtest's: one that
//! re-executes itself as a PAM application, and one that must say which
//! cases it skipped and why. It prints libtest's lines, so that the output
//! reads like the other suites', and exits non-zero when a case fails.
//!
//! Arguments: names to run (substrings, or exact names after `--exact`) and
//! `--list`; libtest's other flags (`--nocapture`, `--test-threads=N`, ...)
//! are accepted and ignored: the cases run one after the other.

#![forbid(unsafe_code)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// How a case ended when it did not fail (a failure is a panic, from an `assert!`).
pub enum Outcome {
    Passed,
    /// Skipped, with the reason, printed next to the case's name.
    Skipped(String),
}

pub struct Case {
    pub name: &'static str,
    pub run: fn() -> Outcome,
}

/// Runs the cases that the command line selects and prints a summary.
pub fn run(cases: &[Case]) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let exact = args.iter().any(|a| a == "--exact");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let selected: Vec<&Case> = cases
        .iter()
        .filter(|case| {
            filters.is_empty()
                || filters.iter().any(|f| {
                    if exact {
                        case.name == f.as_str()
                    } else {
                        case.name.contains(f.as_str())
                    }
                })
        })
        .collect();
    if args.iter().any(|a| a == "--list") {
        for case in &selected {
            println!("{}: test", case.name);
        }
        return ExitCode::SUCCESS;
    }
    println!("\nrunning {} tests", selected.len());
    let (mut passed, mut failed, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for case in &selected {
        match catch_unwind(AssertUnwindSafe(case.run)) {
            Ok(Outcome::Passed) => {
                println!("test {} ... ok", case.name);
                passed.push(case.name);
            }
            Ok(Outcome::Skipped(why)) => {
                println!("test {} ... skipped: {why}", case.name);
                skipped.push((case.name, why));
            }
            Err(_) => {
                println!("test {} ... FAILED", case.name);
                failed.push(case.name);
            }
        }
    }
    let mut reasons: Vec<&String> = skipped.iter().map(|(_, why)| why).collect();
    reasons.sort();
    reasons.dedup();
    for reason in reasons {
        println!("\nskipped ({reason}):");
        for (name, _) in skipped.iter().filter(|(_, why)| why == reason) {
            println!("    {name}");
        }
    }
    if !failed.is_empty() {
        println!("\nfailures (their messages are above):");
        for name in &failed {
            println!("    {name}");
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed; {} skipped; {} filtered out\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        passed.len(),
        failed.len(),
        skipped.len(),
        cases.len() - selected.len()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The module as `cargo test` built it for this test binary: the cdylib in
/// the test's own `deps` folder (`target/debug/deps/libpam_newgate.so`).
/// Only `cargo build` copies it up to `target/debug/`, so that copy may be stale.
pub fn built_module() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps = exe.parent().expect("the test binary sits in target/PROFILE/deps");
    let module = deps.join("libpam_newgate.so");
    assert!(
        module.is_file(),
        "{} is missing: cargo builds it with the tests (crate-type cdylib + rlib)",
        module.display()
    );
    module
}

/// A fresh folder for one case under cargo's temp folder, removed when dropped.
/// Its mode is 0755 whatever the umask, so that a root-owned policy inside it
/// passes the loader's checks (when the folders above it do).
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(suite: &str, case: &str) -> Scratch {
        use std::os::unix::fs::PermissionsExt;
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{suite}-{}-{case}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path).expect("remove an old scratch folder");
        }
        std::fs::create_dir_all(&path).expect("create the scratch folder");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod the scratch folder");
        Scratch { path }
    }

    /// Writes a file inside, with the given mode.
    pub fn write(&self, name: &str, text: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create a folder");
            std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o755)).expect("chmod a folder");
        }
        std::fs::write(&path, text).expect("write a file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod a file");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Kept after a failure, to be looked at; `cargo clean` removes it.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Whether the enforcing loader accepts this policy file (root-owned files
/// and folders, not writable by group or other); the loader's reason if not.
pub fn loader_accepts(policy: &Path) -> Result<(), String> {
    let loaded = newgate_policy::load(policy, &newgate_policy::LoadOptions::enforcing());
    match loaded.policy {
        Some(_) => Ok(()),
        None => Err(loaded
            .errors()
            .next()
            .map(|d| d.to_string().trim_end().to_string())
            .unwrap_or_else(|| "refused".into())),
    }
}
