//! The policy as the enforcing programs load it: every file root-owned and
//! not writable by group or other, no warnings, and the first error to log.

use std::fmt;
use std::path::{Path, PathBuf};

use newgate_policy::{LoadOptions, Policy, load};

/// Why the enforcing programs refuse a policy (and so permit nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyRefused {
    /// A policy path that is not absolute would be read against the working folder.
    NotAbsolute(PathBuf),
    /// The first error, as `FILE:LINE:COL: message` (or `FILE: message`).
    Invalid(String),
}

impl fmt::Display for PolicyRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyRefused::NotAbsolute(path) => write!(f, "the policy path {} is not absolute", path.display()),
            PolicyRefused::Invalid(first) => f.write_str(first),
        }
    }
}

impl std::error::Error for PolicyRefused {}

pub fn load_enforcing(path: &Path) -> Result<Policy, PolicyRefused> {
    if !path.is_absolute() {
        return Err(PolicyRefused::NotAbsolute(path.to_path_buf()));
    }
    let loaded = load(path, &LoadOptions::enforcing());
    if let Some(policy) = loaded.policy {
        return Ok(policy);
    }
    Err(PolicyRefused::Invalid(match loaded.errors().next() {
        Some(error) => match &error.position {
            Some(at) => format!("{}:{}:{}: {}", error.file.display(), at.line, at.column, error.message),
            None => format!("{}: {}", error.file.display(), error.message),
        },
        None => format!("{}: the policy has errors", path.display()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_policy_path_is_refused() {
        let error = load_enforcing(Path::new("newgate/policy")).unwrap_err();
        assert_eq!(error.to_string(), "the policy path newgate/policy is not absolute");
    }

    #[test]
    fn a_missing_policy_names_the_file_and_the_reason() {
        let error = load_enforcing(Path::new("/nonexistent/newgate/policy")).unwrap_err();
        assert!(
            error.to_string().starts_with("/nonexistent/newgate/policy: "),
            "{error}"
        );
    }
}
