//! Inputs the fuzzers (fuzz/, scripts/fuzz.sh) found crashing, minimised,
//! each with what a user must see instead: a clear error, never a panic.

use std::path::Path;

use newgate_policy::{Diagnostic, LoadOptions, Trust, format_policy, load_str};

fn draft() -> LoadOptions<'static> {
    LoadOptions {
        trust: Trust::Draft,
        directory: None,
        now: None,
        lint: true,
    }
}

/// Loads and formats `text`: both must refuse it with errors that point inside it.
fn refused(text: &str) -> Vec<Diagnostic> {
    let path = Path::new("/nonexistent/fuzz-regression");
    let loaded = load_str(path, text, &draft());
    assert!(loaded.policy.is_none(), "{text:?} loaded");
    let formatted = format_policy(path, text);
    assert!(formatted.is_err(), "{text:?} formatted");
    for d in &loaded.diagnostics {
        let rendered = d.to_string();
        assert!(
            rendered.contains(": error: ") || rendered.contains(": warning: "),
            "{rendered}"
        );
        let pos = d.position.as_ref().expect("a syntax error has a place");
        assert!(pos.line as usize <= text.split('\n').count(), "{rendered}");
        assert!(pos.column as usize <= pos.source_line.chars().count() + 1, "{rendered}");
    }
    loaded.diagnostics
}

// policy_load, 2026-11-29: a `\` continuation followed by `\r\r\n` (a file
// whose line ends were converted twice) made the error's place start among the
// carriage returns that the shown line drops, and `clamp` panicked (min > max)
// in newgatectl check, and in newgate and pam_newgate loading such a policy.
#[test]
fn continuation_before_two_carriage_returns() {
    let diagnostics = refused("permit \\\r\r\n");
    let first = diagnostics[0].position.as_ref().unwrap();
    assert_eq!((first.line, first.source_line.as_str()), (1, "permit \\"));
    // The fuzzer's own input, before it was minimised.
    refused("# The al line of the stat/bin/docker\npermit bob \\\r\r\n   as use root \\\n    cmd do(ker\n");
}

// policy_format, 2026-11-30: `\` before a lone carriage return is a line
// continuation to the parser (`\` and any line end) but was not to the
// formatter, which kept such a line, blanks and continuations only, as it
// stood; formatted again, its last `\` continued into the blank line after
// it, and the second formatting differed from the first.
#[test]
fn continuation_before_a_lone_carriage_return_formats_the_same_twice() {
    let path = Path::new("/nonexistent/fuzz-regression");
    let twice = |text: &str| {
        let once = format_policy(path, text).expect("it parses");
        assert_eq!(format_policy(path, &once).as_deref(), Ok(once.as_str()), "{text:?}");
        once
    };
    assert_eq!(twice("\\\r  \\\r\n\n# x\n"), "# x\n");
    assert_eq!(
        twice("permit alice as user root \\\r  # why\n"),
        "permit alice as user root  # why\n"
    );
    // The fuzzer's own input.
    twice(
        "  \\\r\n\n                           \\\r       \\\r\n\n   \n\n   # \0\0\0\0\0\0\0\0\0\0\0\0policy.d/*.conf1\n\r\n\n        # \0\0\0\0\0\0\0\0\0\0\0\0poli\\y.d/*.conf1\n",
    );
}
