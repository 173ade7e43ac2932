//! The policy loader on any text: it never panics, every diagnostic points
//! inside the text, a policy comes back exactly when there is no error, and
//! a policy that loads decides sample requests the same way through its
//! index (`decide`) as through every rule in order (`explain`).

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use newgate_fuzz::{POLICY_PATH, Samples, check_decisions, check_diagnostics, draft};
use newgate_policy::load_str;

fuzz_target!(|data: &[u8]| {
    // The loader only ever sees text: a file that is not UTF-8 is refused before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new(POLICY_PATH);
    let loaded = load_str(path, text, &draft());
    check_diagnostics(path, text, &loaded.diagnostics);
    assert_eq!(loaded.policy.is_some(), loaded.errors().next().is_none());
    if let Some(policy) = &loaded.policy {
        for rule in policy.rules() {
            let _ = rule.describe();
        }
        check_decisions(policy, &Samples::from_text(text));
    }
});
