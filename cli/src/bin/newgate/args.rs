//! The command line: sudo's and doas's flags as newgate reads them, into
//! what is asked ([`Args`]) or a usage error that is shown and logged.

use std::ffi::OsString;

use lexopt::prelude::*;

use crate::failure::UsageError;

pub const USAGE: &str = "\
usage: newgate [-n] [-S] [-H] [-E] [-k] [-p PROMPT] [-D DIR] [-g GROUP] [-u USER] [--] COMMAND [ARGS...]
       newgate [-n] -g GROUP           your own shell with GROUP, like newgrp and sg
       newgate -s [-g GROUP] [-u USER]  the target's shell
       newgate -i [-u USER] [COMMAND...] the target's login shell, in its home
       newgate -l [-U USER]            the rules that concern me (-U: USER, root only)
       newgate -l [-U USER] [-g GROUP] [-u USER] COMMAND [ARGS...]
                                       may I run this? (-U: about USER, root only)
       newgate -v                      authenticate, and remember it (persist)
       newgate -k | -K                 forget my remembered authentication (-K: and say so)
       newgate -h | --help             this help
       newgate -V | --version          newgate's version

  -g GROUP   stay yourself, with GROUP as primary group (and among your groups)
  -u USER    become USER, with USER's groups (with -g too: primary group GROUP)
  -n         never prompt; fail if a password would be needed
  -S         read the password from standard input (prompt on standard error)
  -p PROMPT  the password prompt: %u you, %U the target user, %h the host,
             %p whose password, %% a %
  -s         run the target's shell
  -i         run the target's login shell in its home, with its login
             environment; with COMMAND, through that shell, as sudo does
  -E         keep your environment; only where the rule says keepenv
  -D DIR     run the command in DIR; only where the rule says chdir
  -H         accepted for sudo's sake: HOME is always the target's
  -k         with a command: ask for the password whatever is remembered
Without -g and -u, the target is root. The policy is /etc/newgate/policy.
";

/// What newgate is asked to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Run a command (or a shell).
    #[default]
    Run,
    /// `-l`: list the caller's rules, or with a command say whether it may run.
    List,
    /// `-v`: authenticate and refresh the remembered authentication.
    Validate,
    /// `-k` alone: forget the caller's remembered authentication.
    Forget,
    /// `-K`: the same, and say so.
    ForgetLoudly,
}

#[derive(Debug, Default)]
pub struct Args {
    pub mode: Mode,
    pub non_interactive: bool,
    pub group: Option<String>,
    pub user: Option<String>,
    /// `-s`: the target's shell.
    pub shell: bool,
    /// `-i`: the target's login shell, in its home, with its login environment.
    pub login: bool,
    /// `-S`: the password from standard input.
    pub password_from_stdin: bool,
    /// `-p`: the password prompt, with `%u %U %h %p %%`.
    pub prompt: Option<String>,
    /// `-E`: keep the environment, where the rule allows it.
    pub keep_environment: bool,
    /// `-D`: the folder to run the command in.
    pub folder: Option<String>,
    /// `-k` with a command: ask for the password whatever is remembered.
    pub ignore_remembered: bool,
    /// `-U`: with `-l`, the user asked about (root only, or oneself).
    pub list_user: Option<String>,
    pub command: Vec<String>,
}

/// A folder for `-D`: absolute and plain, so that what the rule's glob
/// matches is the folder entered (no `..` climbing out of `/srv/*`).
fn plain_folder(folder: &str) -> Result<(), UsageError> {
    let plain = folder.starts_with('/')
        && !folder.contains("//")
        && folder.split('/').skip(1).all(|part| part != "." && part != "..");
    if plain {
        Ok(())
    } else {
        Err(UsageError(format!(
            "-D {folder}: give an absolute folder without `.`, `..` or `//`"
        )))
    }
}

/// What the command line asks for; `-h` and `-V` are answered here and exit.
pub fn parse_args(arguments: impl IntoIterator<Item = OsString>) -> Result<Args, UsageError> {
    let usage = |e: lexopt::Error| UsageError(e.to_string());
    let text = |word: OsString| {
        word.into_string()
            .map_err(|_| UsageError("arguments must be UTF-8 text".into()))
    };
    let mut args = Args::default();
    let (mut list, mut forget, mut forget_loudly, mut validate) = (false, false, false, false);
    let mut parser = lexopt::Parser::from_args(arguments);
    while let Some(arg) = parser.next().map_err(usage)? {
        match arg {
            Short('n') => args.non_interactive = true,
            Short('s') => args.shell = true,
            Short('i') => args.login = true,
            Short('l') => list = true,
            Short('k') => forget = true,
            Short('K') => forget_loudly = true,
            Short('v') => validate = true,
            Short('S') => args.password_from_stdin = true,
            Short('E') => args.keep_environment = true,
            // HOME is always the target's: -H asks for what newgate does anyway.
            Short('H') => {}
            Short('g') => args.group = Some(text(parser.value().map_err(usage)?)?),
            Short('u') => args.user = Some(text(parser.value().map_err(usage)?)?),
            Short('U') => args.list_user = Some(text(parser.value().map_err(usage)?)?),
            Short('p') => args.prompt = Some(text(parser.value().map_err(usage)?)?),
            Short('D') => args.folder = Some(text(parser.value().map_err(usage)?)?),
            Short('h') | Long("help") => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            Short('V') | Long("version") => {
                println!("newgate {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            Value(first) => {
                args.command.push(text(first)?);
                for rest in parser.raw_args().map_err(usage)? {
                    args.command.push(text(rest)?);
                }
            }
            other => return Err(usage(other.unexpected())),
        }
    }
    let refuse = |why: &str| Err(UsageError(why.into()));
    let targets = args.group.is_some() || args.user.is_some();
    let running = args.shell || args.login || args.keep_environment || args.folder.is_some();
    if list && (forget || forget_loudly) {
        return refuse("-l and -k stand alone");
    }
    if forget_loudly && (forget || validate || targets || running || !args.command.is_empty()) {
        return refuse("-K stands alone");
    }
    if validate && (list || forget || targets || running || !args.command.is_empty()) {
        return refuse("-v stands alone (with -n, -S or -p)");
    }
    if list && (running || (args.command.is_empty() && targets)) {
        return refuse("-l lists your rules, or with a command (and -g, -u) says whether you may run it");
    }
    if args.list_user.is_some() && !list {
        return refuse("-U USER goes with -l");
    }
    if args.shell && args.login {
        return refuse("-s and -i both run a shell; give one of them");
    }
    if args.shell && !args.command.is_empty() {
        return refuse("-s runs the target's shell; give no command with it");
    }
    if args.login && (args.folder.is_some() || args.keep_environment) {
        return refuse("-i starts in the target's home with its login environment; -D and -E do not go with it");
    }
    if let Some(folder) = &args.folder {
        plain_folder(folder)?;
    }
    args.mode = match (list, validate, forget, forget_loudly) {
        (true, ..) => Mode::List,
        (_, true, ..) => Mode::Validate,
        (_, _, true, _) if args.command.is_empty() && !targets && !running => Mode::Forget,
        (_, _, true, _) => {
            args.ignore_remembered = true;
            Mode::Run
        }
        (.., true) => Mode::ForgetLoudly,
        _ => Mode::Run,
    };
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn parse(words: &[&str]) -> Result<Args, UsageError> {
        parse_args(words.iter().map(OsString::from))
    }

    #[test]
    fn l_and_k_stand_alone_even_together() {
        for words in [&["-kl"][..], &["-lk"], &["-l", "-k"], &["-k", "-l"]] {
            assert_eq!(
                parse(words).err(),
                Some(UsageError("-l and -k stand alone".into())),
                "{words:?}"
            );
        }
        assert!(parse(&["-l"]).is_ok_and(|a| a.mode == Mode::List));
        assert!(parse(&["-k"]).is_ok_and(|a| a.mode == Mode::Forget && !a.ignore_remembered));
        assert!(parse(&["-K"]).is_ok_and(|a| a.mode == Mode::ForgetLoudly));
    }

    #[test]
    fn k_with_a_command_runs_it_asking_for_the_password() {
        let args = parse(&["-k", "-g", "x", "id"]).unwrap();
        assert_eq!(args.mode, Mode::Run);
        assert!(args.ignore_remembered);
        assert_eq!(args.command, ["id"]);
    }

    #[test]
    fn the_flags_sudo_users_and_ansible_use_are_read() {
        let args = parse(&[
            "-H",
            "-S",
            "-n",
            "-p",
            "[sudo via ansible, key=x] password:",
            "-u",
            "root",
            "/bin/sh",
            "-c",
            "echo hi",
        ])
        .unwrap();
        assert!(args.password_from_stdin && args.non_interactive);
        assert_eq!(args.prompt.as_deref(), Some("[sudo via ansible, key=x] password:"));
        assert_eq!(args.user.as_deref(), Some("root"));
        assert_eq!(args.command, ["/bin/sh", "-c", "echo hi"]);
        assert!(parse(&["-i"]).is_ok_and(|a| a.login && a.command.is_empty()));
        assert!(
            parse(&["-E", "-D", "/srv/www", "ls"])
                .is_ok_and(|a| a.keep_environment && a.folder.as_deref() == Some("/srv/www"))
        );
        assert!(parse(&["-v"]).is_ok_and(|a| a.mode == Mode::Validate));
        assert!(
            parse(&["-l", "-U", "bob", "-g", "docker", "id"]).is_ok_and(|a| a.mode == Mode::List
                && a.list_user.as_deref() == Some("bob")
                && a.group.as_deref() == Some("docker"))
        );
    }

    #[test]
    fn flags_that_do_not_go_together_are_refused() {
        for (words, why) in [
            (&["-K", "id"][..], "-K stands alone"),
            (&["-v", "id"], "-v stands alone (with -n, -S or -p)"),
            (&["-v", "-g", "x"], "-v stands alone (with -n, -S or -p)"),
            (
                &["-l", "-g", "x"],
                "-l lists your rules, or with a command (and -g, -u) says whether you may run it",
            ),
            (&["-U", "bob", "id"], "-U USER goes with -l"),
            (&["-s", "-i"], "-s and -i both run a shell; give one of them"),
            (
                &["-i", "-D", "/tmp"],
                "-i starts in the target's home with its login environment; -D and -E do not go with it",
            ),
        ] {
            assert_eq!(parse(words).err(), Some(UsageError(why.into())), "{words:?}");
        }
        for folder in ["srv", "/srv/../etc", "/srv/./x", "/srv//x", "/srv/.."] {
            assert!(parse(&["-D", folder, "ls"]).is_err(), "{folder}");
        }
        assert!(parse(&["-D", "/", "ls"]).is_ok());
    }

    #[test]
    fn arguments_that_are_not_utf8_are_refused() {
        for words in [
            vec![OsString::from("id"), OsString::from_vec(vec![0xff])],
            vec![OsString::from_vec(vec![b'i', 0xfe])],
            vec![OsString::from("-g"), OsString::from_vec(vec![0xff])],
        ] {
            assert_eq!(
                parse_args(words).err(),
                Some(UsageError("arguments must be UTF-8 text".into()))
            );
        }
    }
}
