//! The formatter: a file that parses is formatted, formatting the result
//! changes nothing, and the formatted policy means what the original meant
//! (the same errors or none, the same settings, rules and decisions).

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use newgate_fuzz::{POLICY_PATH, Samples, check_diagnostics, draft, rule_index};
use newgate_policy::{format_policy, load_str};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new(POLICY_PATH);
    let before = load_str(path, text, &draft());
    let formatted = match format_policy(path, text) {
        Ok(formatted) => formatted,
        Err(diagnostics) => {
            check_diagnostics(path, text, &diagnostics);
            assert!(diagnostics.iter().any(|d| d.is_error()));
            assert!(before.policy.is_none(), "formatting refused a policy that loads");
            return;
        }
    };
    assert_eq!(
        format_policy(path, &formatted).as_deref(),
        Ok(formatted.as_str()),
        "formatting is not idempotent"
    );
    let after = load_str(path, &formatted, &draft());
    let (Some(a), Some(b)) = (&before.policy, &after.policy) else {
        assert_eq!(
            before.policy.is_some(),
            after.policy.is_some(),
            "formatting changed whether the policy loads:\n{formatted}\n{:?}",
            after.diagnostics
        );
        return;
    };
    assert_eq!(format!("{:?}", a.settings), format!("{:?}", b.settings));
    assert_eq!(a.rules().len(), b.rules().len());
    for (x, y) in a.rules().iter().zip(b.rules()) {
        assert_eq!(x.action, y.action);
        assert_eq!(x.options, y.options);
        assert_eq!(x.describe(), y.describe());
    }
    let samples = Samples::from_text(text);
    for request in samples.requests() {
        let (x, y) = (a.decide(&request), b.decide(&request));
        assert_eq!(x.verdict, y.verdict, "{request:?}");
        assert_eq!(rule_index(a, x.rule), rule_index(b, y.rule), "{request:?}");
    }
    for login in samples.logins() {
        let x: Vec<String> = a.grants(&login).into_iter().map(|g| g.group).collect();
        let y: Vec<String> = b.grants(&login).into_iter().map(|g| g.group).collect();
        assert_eq!(x, y, "{login:?}");
    }
});
