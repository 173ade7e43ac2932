//! What the `newgate` and `newgatectl` programs share: command resolution and
//! JSON output. The system side (users, groups, host, clock) is in
//! `newgate-system`, and policy semantics in `newgate-policy`; this crate only
//! asks them.

#![forbid(unsafe_code)]

pub mod json;
pub mod resolve;
