//! A small test runner for the suites that cannot use libtest's: one that
//! re-executes itself as a PAM application, and one that must say which
//! cases it skipped and why. It takes libtest's command line and prints
//! libtest's lines, so that `cargo test` drives it like the other suites,
//! and exits non-zero when a case fails.
//!
//! Cases run one after the other whatever `--test-threads` says: the root
//! suite's cases share a lock and the machine's user database. A run with no
//! filter that selects no case fails: a suite that checks nothing must not
//! say "ok". A case skipped for want of root fails under CI
//! (newgate-testkit says why).

#![forbid(unsafe_code)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use newgate_testkit::{Needs, fails_under_ci, record_skip};

/// How a case ended when it did not fail (a failure is a panic, from an `assert!`).
pub enum Outcome {
    Passed,
    /// Skipped for want of `Needs`, with the reason, printed next to the case's name.
    Skipped(Needs, String),
}

pub struct Case {
    pub name: &'static str,
    pub run: fn() -> Outcome,
}

/// What libtest's command line asks of this runner.
#[derive(Debug, Default, PartialEq)]
struct Options {
    filters: Vec<String>,
    skip: Vec<String>,
    exact: bool,
    list: bool,
    quiet: bool,
    /// `--ignored`: only ignored cases, and this runner has none.
    ignored_only: bool,
}

impl Options {
    /// libtest's flags; the ones about output capture, threads, colour and
    /// timing change nothing here (cases print as they go, one at a time).
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut options = Options::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag.to_string(), Some(value.to_string())),
                _ => (arg.clone(), None),
            };
            let mut value = |what: &str| {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{what} needs a value"))
            };
            match flag.as_str() {
                "--exact" => options.exact = true,
                "--list" => options.list = true,
                "-q" | "--quiet" => options.quiet = true,
                "--ignored" => options.ignored_only = true,
                "--skip" => options.skip.push(value("--skip")?),
                "--test-threads" => {
                    let threads = value("--test-threads")?;
                    if threads.parse::<usize>().map_or(true, |n| n == 0) {
                        return Err(format!("--test-threads: {threads:?} is not a positive number"));
                    }
                }
                "--color" | "--format" | "--logfile" | "--shuffle-seed" | "-Z" => {
                    value(&flag)?;
                }
                "--nocapture"
                | "--no-capture"
                | "--show-output"
                | "--include-ignored"
                | "--test"
                | "--bench"
                | "--report-time"
                | "--ensure-time"
                | "--shuffle"
                | "--exclude-should-panic"
                | "--force-run-in-process" => {}
                _ if flag.starts_with('-') => return Err(format!("unknown option {arg}")),
                _ => options.filters.push(arg),
            }
        }
        Ok(options)
    }

    fn matches(&self, pattern: &str, name: &str) -> bool {
        if self.exact {
            name == pattern
        } else {
            name.contains(pattern)
        }
    }

    fn selects(&self, name: &str) -> bool {
        !self.ignored_only
            && (self.filters.is_empty() || self.filters.iter().any(|f| self.matches(f, name)))
            && !self.skip.iter().any(|s| self.matches(s, name))
    }

    fn filtered(&self) -> bool {
        self.ignored_only || !self.filters.is_empty() || !self.skip.is_empty()
    }
}

/// Runs the cases that the command line selects and prints a summary.
pub fn run(cases: &[Case]) -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(problem) => {
            eprintln!("error: {problem}");
            return ExitCode::from(101);
        }
    };
    let selected: Vec<&Case> = cases.iter().filter(|case| options.selects(case.name)).collect();
    if options.list {
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
                if !options.quiet {
                    println!("test {} ... ok", case.name);
                }
                passed.push(case.name);
            }
            Ok(Outcome::Skipped(needs, why)) => {
                record_skip(needs, case.name, &why);
                if fails_under_ci(needs) {
                    println!(
                        "test {} ... FAILED (under CI the root suites must run, not skip: {why})",
                        case.name
                    );
                    failed.push(case.name);
                } else {
                    println!("test {} ... skipped: {why}", case.name);
                    skipped.push((case.name, why));
                }
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
    let nothing_ran = selected.is_empty() && !options.filtered();
    if nothing_ran {
        println!("\nerror: no filter, yet no case ran: the suite would check nothing");
    }
    let ok = failed.is_empty() && !nothing_ran;
    println!(
        "\ntest result: {}. {} passed; {} failed; {} skipped; {} filtered out\n",
        if ok { "ok" } else { "FAILED" },
        passed.len(),
        failed.len(),
        skipped.len(),
        cases.len() - selected.len()
    );
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
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
