//! What the `newgate` and `newgatectl` programs share: the system's user and
//! group database, command resolution and JSON output. Policy semantics live
//! in `newgate-policy`; this crate only asks it.

#![forbid(unsafe_code)]

pub mod json;
pub mod nss;
pub mod resolve;
