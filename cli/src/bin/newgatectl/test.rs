//! `newgatectl test`: policy unit tests. Each line of a test file expects
//! `permit` or `deny` for one request; the policy crate reads the lines
//! (`newgate_policy::parse_expectations`) and decides them.

use std::path::PathBuf;

use lexopt::prelude::*;
use newgate_policy::{Decision, Diagnostic, DiagnosticKind, Expectation, Policy, Severity, parse_expectations};

use crate::{EXIT_USAGE, Failure, describe_request, load_for_query, now, plural};

pub(crate) fn run(mut parser: lexopt::Parser) -> Result<u8, Failure> {
    let mut policy_file = None;
    let mut verbose = false;
    let mut files: Vec<PathBuf> = Vec::new();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("policy") => policy_file = Some(PathBuf::from(parser.value()?)),
            Long("verbose") => verbose = true,
            Value(v) => files.push(PathBuf::from(v)),
            other => return Err(other.unexpected().into()),
        }
    }
    if files.is_empty() {
        return Err(Failure("test needs at least one TESTFILE".into()));
    }
    let policy = match load_for_query(policy_file) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let expectations = match read_all(&files, &policy) {
        Ok(list) => list,
        Err(errors) => {
            eprintln!(
                "newgatectl: {errors} error{} in the test files; no test ran",
                plural(errors)
            );
            return Ok(EXIT_USAGE);
        }
    };
    let now = now();
    let (mut passed, mut failed) = (0usize, 0usize);
    for expectation in &expectations {
        let request = expectation.request(now);
        let decision = policy.decide(&request);
        if decision.verdict == expectation.verdict {
            passed += 1;
            if verbose {
                println!("ok   {}: {}", expectation.location, expectation.text);
                print_rule(&decision);
            }
        } else {
            failed += 1;
            println!("FAIL {}: {}", expectation.location, expectation.text);
            println!("  request: {}", describe_request(&request, &policy));
            println!("  got:     {}", decision.verdict.as_str());
            print_rule(&decision);
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { 0 } else { 1 })
}

/// Every expectation of every file, in order; or, when a file cannot be read
/// or has errors, the number of errors, all of them printed.
fn read_all(files: &[PathBuf], policy: &Policy) -> Result<Vec<Expectation>, usize> {
    let mut expectations = Vec::new();
    let mut errors = 0;
    for file in files {
        let parsed = match std::fs::read_to_string(file) {
            Ok(text) => parse_expectations(file, &text, &policy.settings.timezone),
            Err(e) => Err(vec![Diagnostic {
                severity: Severity::Error,
                file: file.clone(),
                position: None,
                message: format!("cannot read the test file: {e}"),
                hint: None,
                kind: DiagnosticKind::Policy,
            }]),
        };
        match parsed {
            Ok(list) => expectations.extend(list),
            Err(diagnostics) => {
                errors += diagnostics.len();
                crate::print_each(&diagnostics);
            }
        }
    }
    if errors == 0 { Ok(expectations) } else { Err(errors) }
}

fn print_rule(decision: &Decision) {
    match decision.rule {
        Some(rule) => println!("  rule:    {}: {}", rule.location, rule.text),
        None => println!("  rule:    no rule matched; what no rule permits is denied"),
    }
}
