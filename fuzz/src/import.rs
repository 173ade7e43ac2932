//! What the importer targets check: any source is either refused with a
//! reason, or converted into a policy that loads, is laid out as the
//! formatter lays it out, and a report whose every item points into it.

use std::path::PathBuf;

use newgate::import::{Format, SourceError, convert};
use newgate_policy::format_policy;

/// Converts `data` as a file of `format`. The bytes are written to a file of
/// this process's own, since the converters read files; a sudoers input
/// naming an include is skipped, so that what the machine holds never
/// decides the outcome.
pub fn check_import(format: Format, data: &[u8]) {
    if format == Format::Sudoers && data.windows(b"include".len()).any(|w| w == b"include") {
        return;
    }
    let path = source_file(format);
    std::fs::write(&path, data).expect("the fuzz source file can be written");
    let converted = match convert(format, &path) {
        Ok(converted) => converted,
        Err(SourceError::Invalid(why)) => panic!("the converted policy does not load:\n{why}"),
        Err(refused) => {
            let said = refused.to_string();
            assert!(!said.is_empty());
            return;
        }
    };
    let formatted = format_policy(&path, &converted.policy)
        .unwrap_or_else(|e| panic!("the converted policy cannot be formatted: {e:?}"));
    assert_eq!(formatted, converted.policy, "the converted policy is not laid out");
    let lines = data.split(|&b| b == b'\n').count();
    for item in &converted.report.items {
        assert_eq!(item.file, path);
        assert!(
            item.line >= 1 && item.line <= lines,
            "line {} of {lines}: {item:?}",
            item.line
        );
    }
}

fn source_file(format: Format) -> PathBuf {
    std::env::temp_dir().join(format!(
        "newgate-fuzz-{}-{}",
        match format {
            Format::Sudoers => "sudoers",
            Format::Doas => "doas",
        },
        std::process::id()
    ))
}
