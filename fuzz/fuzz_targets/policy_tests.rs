//! The reader of policy test files (`newgatectl test`): it never panics,
//! it returns expectations or at least one error, every diagnostic points
//! inside the text, and each expectation is a request that the example
//! policy decides the same way through `decide` and `explain`.

#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use newgate_fuzz::{check_diagnostics, draft, rule_index};
use newgate_policy::{Policy, load, parse_expectations};

const TESTS_PATH: &str = "/nonexistent/newgate-fuzz/policy.tests";

static EXAMPLE: LazyLock<Policy> = LazyLock::new(|| {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/policy"));
    load(path, &draft()).policy.expect("examples/policy loads")
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new(TESTS_PATH);
    let policy = &*EXAMPLE;
    let expectations = match parse_expectations(path, text, &policy.settings.timezone) {
        Ok(expectations) => expectations,
        Err(diagnostics) => {
            check_diagnostics(path, text, &diagnostics);
            assert!(diagnostics.iter().any(|d| d.is_error()));
            return;
        }
    };
    let lines = text.split('\n').count();
    let now = "2026-11-30T10:00:00Z".parse().expect("a valid timestamp");
    for e in &expectations {
        assert!(e.location.line >= 1 && e.location.line as usize <= lines, "{e:?}");
        assert!(e.command.as_ref().is_none_or(|c| c.is_absolute()), "{e:?}");
        let request = e.request(now);
        let (fast, slow) = (policy.decide(&request), policy.explain(&request));
        assert_eq!(fast.verdict, slow.verdict, "{e:?}");
        assert_eq!(rule_index(policy, fast.rule), rule_index(policy, slow.rule), "{e:?}");
    }
});
