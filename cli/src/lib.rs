//! What the `newgate` and `newgatectl` programs share, and what is fuzzed
//! apart from them: command resolution, JSON output, the audit line format
//! and the sudoers and doas.conf importers. The system side (users, groups, host, clock) is in
//! `newgate-system`, and policy semantics in `newgate-policy`; this crate only
//! asks them.

#![forbid(unsafe_code)]

pub mod audit_line;
pub mod import;
pub mod json;
pub mod resolve;
