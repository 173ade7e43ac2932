//! The newgate policy: who may switch to which groups and users.
//!
//! [`load`] reads a policy file (with its includes) and checks it; a
//! [`Policy`] then decides [`Request`]s with [`Policy::decide`], purely: no
//! clock, no NSS, no files. Everything the decision needs is in the request.

#![forbid(unsafe_code)]

mod compare;
mod compile;
mod diag;
pub mod env;
mod expectations;
mod format;
mod glob;
pub mod handoff;
mod load;
mod policy;
pub mod snapshot;
mod syntax;
pub mod time;

pub use compare::{Changes, Flip, MAX_PROBES, Probe, compare};
pub use compile::{Directory, MAX_ALIAS_DEPTH};
pub use diag::{Diagnostic, DiagnosticKind, Position, Severity};
pub use expectations::{Expectation, TEST_HOST, TEST_SERVICE, parse_expectations};
pub use format::{format_policy, quote};
pub use load::{LoadOptions, Loaded, MAX_FILE_SIZE, MAX_INCLUDE_DEPTH, Trust, load, load_replacing, load_str};
pub use policy::{
    Action, Audit, Chdir, DEFAULT_SECURE_PATH, Decision, EnvChange, Granted, Location, LogFormat, Login, Options,
    Outcome, Policy, Request, Rule, Settings, Step, Verdict,
};

/// Where the installed policy lives.
pub const DEFAULT_POLICY: &str = "/etc/newgate/policy";
