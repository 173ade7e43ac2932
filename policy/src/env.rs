//! Environment variables that no policy may pass to a command.
//!
//! These change how the dynamic loader, the C library, a shell or an
//! interpreter behave (OpenSSL's configuration loads engines, NODE_OPTIONS and
//! _JAVA_OPTIONS load code, LUA_INIT runs it), or move the configuration a
//! program reads to a folder of the caller's, as `HOME` would (git reads
//! `$XDG_CONFIG_HOME/git/config` and a repository's own configuration under
//! `GIT_DIR` whoever owns it, curl `$CURL_HOME/.curlrc`, and each can name a
//! program to run or a file to read or write; kubectl's `KUBECONFIG`, the
//! AWS CLI's `AWS_CONFIG_FILE`, Mercurial's `HGRCPATH` and `GNUPGHOME` name
//! configuration that starts programs, `MAKEFLAGS` can set make's `SHELL`,
//! `GOFLAGS` `-toolexec`, and `npm_config_*` npm's `script-shell`), so a
//! caller who controls them controls the program that runs with new rights.
//! `keepenv`, `setenv` and `set env_keep` never let them through.

const DANGEROUS_NAMES: &[&str] = &[
    "AWS_CONFIG_FILE",
    "BASHOPTS",
    "BASH_ENV",
    "BUNDLE_GEMFILE",
    "CDPATH",
    "CLASSPATH",
    "CURL_HOME",
    "ENV",
    "FPATH",
    "GCONV_PATH",
    "GEM_HOME",
    "GEM_PATH",
    "GIT_COMMON_DIR",
    "GIT_DIR",
    "GIT_EXEC_PATH",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_TEMPLATE_DIR",
    "GLOBIGNORE",
    "GNUMAKEFLAGS",
    "GNUPGHOME",
    "GOFLAGS",
    "HGRCPATH",
    "HOSTALIASES",
    "IFS",
    "_JAVA_OPTIONS",
    "JAVA_TOOL_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "KRB5_CONFIG",
    "KUBECONFIG",
    "LOCALDOMAIN",
    "LOCPATH",
    "MAKEFLAGS",
    "MFLAGS",
    "NIS_PATH",
    "NLSPATH",
    "NODE_OPTIONS",
    "NODE_PATH",
    "NULLCMD",
    "OPENSSL_CONF",
    "OPENSSL_ENGINES",
    "OPENSSL_MODULES",
    "PATH_LOCALE",
    "PERL5DB",
    "PERL5LIB",
    "PERL5OPT",
    "PERLIO_DEBUG",
    "PERLLIB",
    "PHPRC",
    "PHP_INI_SCAN_DIR",
    "PS4",
    "PYTHONBREAKPOINT",
    "PYTHONHOME",
    "PYTHONINSPECT",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "PYTHONWARNINGS",
    "READNULLCMD",
    "RESOLV_HOST_CONF",
    "RES_OPTIONS",
    "RUBYGEMS_GEMDEPS",
    "RUBYLIB",
    "RUBYOPT",
    "SHELLOPTS",
    "TCLLIBPATH",
    "TERMCAP",
    "TERMINFO",
    "TERMINFO_DIRS",
    "TERMPATH",
    "TMPPREFIX",
    "TZDIR",
    "WGETRC",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_DIRS",
    "XDG_CONFIG_HOME",
    "XDG_DATA_DIRS",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "ZDOTDIR",
];

const DANGEROUS_PREFIXES: &[&str] = &[
    "LD_",
    "_RLD",
    "DYLD_",
    "MALLOC_",
    "GLIBC_",
    "BASH_FUNC_",
    "LUA_INIT",
    "LUA_PATH",
    "LUA_CPATH",
    "GIT_CONFIG",
    "NPM_CONFIG_",
    "npm_config_",
];

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
            "OPENSSL_CONF",
            "NODE_OPTIONS",
            "_JAVA_OPTIONS",
            "JDK_JAVA_OPTIONS",
            "LUA_INIT_5_4",
            "GIT_CONFIG_GLOBAL",
            "GIT_SSH_COMMAND",
            "PYTHONWARNINGS",
            "XDG_CONFIG_HOME",
            "GIT_DIR",
            "CURL_HOME",
            "KUBECONFIG",
            "MAKEFLAGS",
            "GOFLAGS",
            "npm_config_script_shell",
            "NPM_CONFIG_SCRIPT_SHELL",
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

/// Variables of the caller that always survive the reset, besides `set env_keep`.
const ALWAYS_KEPT: &[&str] = &["TERM", "DISPLAY", "COLORTERM", "LANG", "LANGUAGE", "TZ"];

/// Locale and terminal variables name files that libc and curses read (message
/// catalogs, locale data, terminfo): a value with `/` could point them at the
/// caller's own files, one with `%` feed a format string. Such values never
/// pass, however the variable was kept; a plain name (`de_DE.UTF-8`, `xterm`) does.
fn is_unsafe_locale_or_terminal(name: &str, value: &str) -> bool {
    let checked = name.starts_with("LC_") || ["TERM", "DISPLAY", "COLORTERM", "LANG", "LANGUAGE"].contains(&name);
    checked && (value.contains('/') || value.contains('%'))
}

/// The account a command runs as, for `HOME`, `USER`, `LOGNAME` and `SHELL`.
pub struct Account<'a> {
    pub name: &'a str,
    pub home: &'a str,
    pub shell: &'a str,
}

/// Everything the environment of a command is built from.
pub struct EnvironmentInput<'a> {
    /// The caller's environment, as it reached newgate.
    pub caller_env: &'a [(String, String)],
    pub options: &'a crate::Options,
    pub settings: &'a crate::Settings,
    pub target: Account<'a>,
    pub caller_name: &'a str,
    pub caller_uid: u32,
    pub caller_gid: u32,
    /// The command line as run: resolved path and arguments.
    pub command_line: &'a str,
}

/// Longest `NEWGATE_COMMAND`, in bytes, as sudo caps `SUDO_COMMAND`: the
/// arguments themselves reach the command whole, but one variable holding
/// them all would make `execve` fail (E2BIG) past 128 KiB.
pub const MAX_COMMAND_VARIABLE: usize = 4096;

/// `command_line`, cut at MAX_COMMAND_VARIABLE bytes on a character boundary.
fn command_variable(command_line: &str) -> &str {
    let mut cut = command_line.len().min(MAX_COMMAND_VARIABLE);
    while !command_line.is_char_boundary(cut) {
        cut -= 1;
    }
    &command_line[..cut]
}

/// The environment a command runs with: the caller's variables reset to an
/// allowlist (or all of them with `keepenv`), never a dangerous one, then
/// the target's account, `PATH` = `secure_path`, the rule's `setenv`, and
/// the `NEWGATE_*` variables that tell the command who asked; never one of
/// the hand-off variables (`handoff::NAMES`), whoever set them. Sorted by name.
pub fn command_environment(input: &EnvironmentInput) -> Vec<(String, String)> {
    let mut env: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    let kept = |name: &str| {
        input.options.keepenv
            || ALWAYS_KEPT.contains(&name)
            || name.starts_with("LC_")
            || input.settings.env_keep.iter().any(|k| k == name)
    };
    let safe = |name: &str, value: &str| {
        is_valid_name(name)
            && !is_dangerous_name(name)
            && !is_dangerous_value(value)
            && !is_unsafe_locale_or_terminal(name, value)
            && (name != "TZ" || is_safe_tz(value))
    };
    for (name, value) in input.caller_env {
        if kept(name) && safe(name, value) {
            env.insert(name.clone(), value.clone());
        }
    }
    let path: Vec<String> = input
        .settings
        .secure_path
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    env.insert("PATH".into(), path.join(":"));
    env.insert("HOME".into(), input.target.home.into());
    env.insert("USER".into(), input.target.name.into());
    env.insert("LOGNAME".into(), input.target.name.into());
    env.insert("SHELL".into(), input.target.shell.into());
    for change in &input.options.setenv {
        match change {
            crate::EnvChange::Set(name, value) => {
                env.insert(name.clone(), value.clone());
            }
            crate::EnvChange::Unset(name) => {
                env.remove(name);
            }
            crate::EnvChange::Keep(name) => {
                if let Some((_, value)) = input.caller_env.iter().rev().find(|(n, _)| n == name)
                    && safe(name, value)
                {
                    env.insert(name.clone(), value.clone());
                }
            }
        }
    }
    env.retain(|name, _| !crate::handoff::NAMES.contains(&name.as_str()));
    env.insert("NEWGATE_USER".into(), input.caller_name.into());
    env.insert("NEWGATE_UID".into(), input.caller_uid.to_string());
    env.insert("NEWGATE_GID".into(), input.caller_gid.to_string());
    env.insert("NEWGATE_COMMAND".into(), command_variable(input.command_line).into());
    env.retain(|name, value| !is_dangerous_name(name) && !is_dangerous_value(value));
    env.into_iter().collect()
}

/// A `TZ` value that names a zone, not a file of the caller's choosing.
fn is_safe_tz(value: &str) -> bool {
    let zone = value.strip_prefix(':').unwrap_or(value);
    value.len() <= 128
        && !zone.contains("..")
        && !zone.chars().any(|c| c.is_control())
        && (!zone.starts_with('/') || zone.starts_with("/usr/share/zoneinfo/"))
}

#[cfg(test)]
mod environment_tests {
    use super::*;
    use crate::{EnvChange, Options, Settings};

    fn build(caller: &[(&str, &str)], options: Options, settings: Settings) -> Vec<(String, String)> {
        let caller_env: Vec<(String, String)> = caller.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        command_environment(&EnvironmentInput {
            caller_env: &caller_env,
            options: &options,
            settings: &settings,
            target: Account {
                name: "root",
                home: "/root",
                shell: "/bin/bash",
            },
            caller_name: "alice",
            caller_uid: 1000,
            caller_gid: 1000,
            command_line: "/usr/bin/id -u",
        })
    }

    fn get<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
        env.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    const HOSTILE: &[(&str, &str)] = &[
        ("LD_PRELOAD", "/tmp/evil.so"),
        ("LD_LIBRARY_PATH", "/tmp"),
        ("GCONV_PATH", "/tmp"),
        ("BASH_ENV", "/tmp/rc"),
        ("ENV", "/tmp/rc"),
        ("IFS", "/"),
        ("PATH", "/tmp/evil:/usr/bin"),
        ("HOME", "/tmp/fake"),
        ("BASH_FUNC_ls%%", "() { evil; }"),
        ("TERM", "() { evil; }"),
        ("TZ", "/tmp/evil-zone"),
        ("TZDIR", "/home/alice/zones"),
        ("LANG", "C.UTF-8"),
        ("LC_TIME", "de_DE.UTF-8"),
        ("LANGUAGE", "../../../../home/alice/catalogs"),
        ("LC_ALL", "/home/alice/locale"),
        ("LC_MESSAGES", "C%n%n%n"),
        ("COLORTERM", "../../tmp/t"),
        ("DISPLAY", "unix:/tmp/x"),
        ("EDITOR", "vim"),
        ("NEWGATE_USER", "root"),
        ("OPENSSL_CONF", "/tmp/evil.cnf"),
        ("NODE_OPTIONS", "--require /tmp/evil.js"),
        ("GIT_CONFIG_GLOBAL", "/tmp/evil.gitconfig"),
        ("XDG_CONFIG_HOME", "/home/alice/evil-config"),
        ("GIT_DIR", "/home/alice/repo/.git"),
        ("CURL_HOME", "/home/alice/evil-curl"),
    ];

    #[test]
    fn the_reset_keeps_only_the_allowlist_and_never_danger() {
        let env = build(HOSTILE, Options::default(), Settings::default());
        let names: Vec<&str> = env.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "HOME",
                "LANG",
                "LC_TIME",
                "LOGNAME",
                "NEWGATE_COMMAND",
                "NEWGATE_GID",
                "NEWGATE_UID",
                "NEWGATE_USER",
                "PATH",
                "SHELL",
                "USER"
            ]
        );
        assert_eq!(get(&env, "PATH"), Some(crate::DEFAULT_SECURE_PATH));
        assert_eq!(get(&env, "HOME"), Some("/root"));
        assert_eq!(get(&env, "NEWGATE_USER"), Some("alice"));
        assert_eq!(get(&env, "NEWGATE_COMMAND"), Some("/usr/bin/id -u"));
    }

    #[test]
    fn keepenv_keeps_the_rest_but_not_danger() {
        let options = Options {
            keepenv: true,
            ..Options::default()
        };
        let env = build(HOSTILE, options, Settings::default());
        assert_eq!(get(&env, "EDITOR"), Some("vim"));
        for name in [
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "GCONV_PATH",
            "BASH_ENV",
            "ENV",
            "IFS",
            "BASH_FUNC_ls%%",
            "TERM",
            "TZ",
            "TZDIR",
            "LANGUAGE",
            "LC_ALL",
            "LC_MESSAGES",
            "COLORTERM",
            "DISPLAY",
            "OPENSSL_CONF",
            "NODE_OPTIONS",
            "GIT_CONFIG_GLOBAL",
            // Each ran a program as root through a `keepenv` rule for
            // `git status` or `curl URL` (second adversarial review).
            "XDG_CONFIG_HOME",
            "GIT_DIR",
            "CURL_HOME",
        ] {
            assert_eq!(get(&env, name), None, "{name}");
        }
        assert_eq!(
            get(&env, "PATH"),
            Some(crate::DEFAULT_SECURE_PATH),
            "PATH is always secure_path"
        );
        assert_eq!(
            get(&env, "NEWGATE_USER"),
            Some("alice"),
            "the caller cannot pose as someone else"
        );
    }

    #[test]
    fn env_keep_and_setenv() {
        let settings = Settings {
            env_keep: vec!["EDITOR".into(), "LC_ALL".into()],
            ..Settings::default()
        };
        let options = Options {
            setenv: vec![
                EnvChange::Set("PAGER".into(), "less".into()),
                EnvChange::Unset("LANG".into()),
                EnvChange::Keep("LD_PRELOAD".into()),
                EnvChange::Keep("LANGUAGE".into()),
            ],
            ..Options::default()
        };
        let env = build(HOSTILE, options, settings);
        assert_eq!(get(&env, "EDITOR"), Some("vim"));
        assert_eq!(get(&env, "PAGER"), Some("less"));
        assert_eq!(get(&env, "LANG"), None);
        assert_eq!(get(&env, "LD_PRELOAD"), None);
        assert_eq!(
            get(&env, "LC_ALL"),
            None,
            "a locale that names a file, even when kept by name"
        );
        assert_eq!(get(&env, "LANGUAGE"), None, "a path, even when kept by name");
    }

    #[test]
    fn hand_off_variables_never_pass_and_the_command_variable_is_capped() {
        let hand_off = crate::handoff::NAMES.map(|name| (name, "/usr/bin/evil"));
        let options = Options {
            keepenv: true,
            setenv: crate::handoff::NAMES
                .iter()
                .flat_map(|&name| [EnvChange::Set(name.into(), "x".into()), EnvChange::Keep(name.into())])
                .collect(),
            ..Options::default()
        };
        let env = build(&hand_off, options, Settings::default());
        for name in crate::handoff::NAMES.into_iter().filter(|&n| n != "NEWGATE_COMMAND") {
            assert_eq!(get(&env, name), None, "{name}");
        }
        assert_eq!(get(&env, "NEWGATE_COMMAND"), Some("/usr/bin/id -u"));
        let long = format!("/usr/bin/echo {}", "é".repeat(70_000));
        let cut = command_variable(&long);
        assert!(cut.len() <= MAX_COMMAND_VARIABLE && cut.len() > MAX_COMMAND_VARIABLE - 4);
        assert!(long.starts_with(cut));
        assert_eq!(command_variable("/usr/bin/id"), "/usr/bin/id");
    }

    #[test]
    fn tz_names_a_zone() {
        assert!(is_safe_tz("Europe/Berlin"));
        assert!(is_safe_tz(":Europe/Berlin"));
        assert!(is_safe_tz("/usr/share/zoneinfo/UTC"));
        assert!(!is_safe_tz("/tmp/zone"));
        assert!(!is_safe_tz("../../tmp/zone"));
        assert!(!is_safe_tz("/usr/share/zoneinfo/../../../tmp/x"));
    }
}
