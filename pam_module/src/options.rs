//! The module arguments: `policy=PATH`, `use_uid`, `debug`, `quiet`.

#![forbid(unsafe_code)]

use std::path::PathBuf;

use newgate_policy::DEFAULT_POLICY;

/// What the arguments on the module's line in the PAM service file ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The policy file; it must be absolute (checked when it is loaded).
    pub policy: PathBuf,
    /// The requesting user is the real uid's user, not `PAM_RUSER`.
    pub use_uid: bool,
    /// Log how each request was read and decided.
    pub debug: bool,
    /// No log line for permits; denials and errors are always logged.
    pub quiet: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            policy: PathBuf::from(DEFAULT_POLICY),
            use_uid: false,
            debug: false,
            quiet: false,
        }
    }
}

impl Options {
    /// Reads the arguments; the second value holds a complaint for each
    /// argument that is not understood, to be logged. As in other Linux-PAM
    /// modules, an unknown argument is ignored; a later argument overrides
    /// an earlier one.
    pub fn parse(args: &[String]) -> (Options, Vec<String>) {
        let mut options = Options::default();
        let mut complaints = Vec::new();
        for arg in args {
            match arg.as_str() {
                "use_uid" => options.use_uid = true,
                "debug" => options.debug = true,
                "quiet" => options.quiet = true,
                _ => match arg.strip_prefix("policy=") {
                    Some(path) => options.policy = PathBuf::from(path),
                    None => complaints.push(format!("unknown option `{arg}`: ignored")),
                },
            }
        }
        (options, complaints)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> (Options, Vec<String>) {
        Options::parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn no_arguments_read_the_installed_policy() {
        assert_eq!(parse(&[]), (Options::default(), vec![]));
        assert_eq!(Options::default().policy, PathBuf::from("/etc/newgate/policy"));
    }

    #[test]
    fn every_argument_is_understood() {
        let (options, complaints) = parse(&["policy=/etc/newgate/su.policy", "use_uid", "debug", "quiet"]);
        assert!(complaints.is_empty());
        assert_eq!(
            options,
            Options {
                policy: PathBuf::from("/etc/newgate/su.policy"),
                use_uid: true,
                debug: true,
                quiet: true,
            }
        );
    }

    #[test]
    fn unknown_arguments_are_reported_and_ignored() {
        let (options, complaints) = parse(&["nullok", "quiet", "Debug"]);
        assert!(options.quiet && !options.debug);
        assert_eq!(
            complaints,
            ["unknown option `nullok`: ignored", "unknown option `Debug`: ignored"]
        );
    }
}
