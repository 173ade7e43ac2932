//! Environment variables that no policy may pass to a command.
//!
//! These change how the dynamic loader, the C library or a shell behave, so a
//! caller who controls them controls the program that runs with new rights.
//! `keepenv`, `setenv` and `set env_keep` never let them through.

const DANGEROUS_NAMES: &[&str] = &[
    "BASH_ENV",
    "BASHOPTS",
    "CDPATH",
    "ENV",
    "FPATH",
    "GCONV_PATH",
    "GLOBIGNORE",
    "HOSTALIASES",
    "IFS",
    "JAVA_TOOL_OPTIONS",
    "LOCALDOMAIN",
    "LOCPATH",
    "NIS_PATH",
    "NLSPATH",
    "NULLCMD",
    "PATH_LOCALE",
    "PERL5DB",
    "PERL5LIB",
    "PERL5OPT",
    "PERLIO_DEBUG",
    "PERLLIB",
    "PS4",
    "PYTHONHOME",
    "PYTHONINSPECT",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "READNULLCMD",
    "RES_OPTIONS",
    "RESOLV_HOST_CONF",
    "RUBYLIB",
    "RUBYOPT",
    "SHELLOPTS",
    "TERMCAP",
    "TERMINFO",
    "TERMINFO_DIRS",
    "TERMPATH",
    "TMPPREFIX",
    "ZDOTDIR",
];

const DANGEROUS_PREFIXES: &[&str] = &["LD_", "_RLD", "DYLD_", "MALLOC_", "GLIBC_", "BASH_FUNC_"];

/// True for a variable that must never reach a command run with new rights.
pub fn is_dangerous_name(name: &str) -> bool {
    DANGEROUS_NAMES.contains(&name) || DANGEROUS_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// True for a value that a shell would import as a function definition.
pub fn is_dangerous_value(value: &str) -> bool {
    value.starts_with("()")
}

/// A name a shell accepts: a letter or `_`, then letters, digits and `_`.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_and_shell_variables_are_dangerous() {
        for name in [
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "GCONV_PATH",
            "BASH_ENV",
            "ENV",
            "IFS",
            "BASH_FUNC_x%%",
        ] {
            assert!(is_dangerous_name(name), "{name}");
        }
        for name in ["EDITOR", "LANG", "TERM", "HOME"] {
            assert!(!is_dangerous_name(name), "{name}");
        }
        assert!(is_dangerous_value("() { :; }; echo pwned"));
        assert!(!is_dangerous_value("vim"));
    }

    #[test]
    fn names() {
        assert!(is_valid_name("LC_ALL"));
        assert!(!is_valid_name("1X"));
        assert!(!is_valid_name("A-B"));
        assert!(!is_valid_name(""));
    }
}
