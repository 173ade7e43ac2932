//! Policies built to break the loader: deep alias chains, huge lines, long
//! continuations. Each loads, or is refused with one clear error, in a thread
//! whose stack is smaller than any real process's: newgate, `newgatectl` and
//! pam_newgate (inside `su` and `sshd`) all load the policy this way.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use newgate_policy::{
    Diagnostic, DiagnosticKind, LoadOptions, Loaded, MAX_ALIAS_DEPTH, Request, Trust, Verdict, format_policy, load_str,
    parse_expectations,
};

/// Far less than the 8 MiB main thread or the 2 MiB threads of a real
/// process, and far less than a recursion over 20,000 aliases needs. (Not
/// 256 KiB: unoptimised, jiff's time zone reader alone takes 260 KiB.)
const SMALL_STACK: usize = 512 << 10;

const PATH: &str = "/nonexistent/hostile.policy";

/// Loads `text` in a thread with [`SMALL_STACK`]; a stack overflow aborts the
/// whole test binary, so reaching the assertions at all is half the test.
fn load_small(text: String) -> Loaded {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(move || {
            let options = LoadOptions {
                trust: Trust::Draft,
                directory: None,
                now: None,
                lint: true,
            };
            load_str(Path::new(PATH), &text, &options)
        })
        .unwrap()
        .join()
        .unwrap()
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Users,
    Groups,
    Hosts,
    Commands,
}

const KINDS: [Kind; 4] = [Kind::Users, Kind::Groups, Kind::Hosts, Kind::Commands];

impl Kind {
    /// The keyword, the innermost alias's members, and a rule using alias `top`.
    fn parts(self, top: &str) -> (&'static str, &'static str, String) {
        match self {
            Kind::Users => ("users", "alice", format!("permit {top} as user root")),
            Kind::Groups => ("groups", "wheel", format!("permit alice as group {top}")),
            Kind::Hosts => ("hosts", "host1", format!("permit alice as user root on {top}")),
            Kind::Commands => (
                "commands",
                "/usr/bin/id",
                format!("permit alice as user root cmd {top}"),
            ),
        }
    }
}

/// `A0 = member`, then `A1 = A0` ... `A<depth-1> = A<depth-2>`, and a rule
/// using the outermost.
fn chain(kind: Kind, depth: usize) -> String {
    let top = format!("A{}", depth - 1);
    let (keyword, member, rule) = kind.parts(&top);
    let mut text = format!("{keyword} A0 = {member}\n");
    for i in 1..depth {
        writeln!(text, "{keyword} A{i} = A{}", i - 1).unwrap();
    }
    writeln!(text, "{rule}").unwrap();
    text
}

/// What a policy decides for `user` asking for `kind`'s thing: the member of
/// the innermost alias, or something else.
fn decides(loaded: &Loaded, kind: Kind, user: &str, member: bool) -> Verdict {
    let policy = loaded.policy.as_ref().expect("the policy loads");
    let groups = [user.to_string()];
    let command = PathBuf::from(if member || !matches!(kind, Kind::Commands) {
        "/usr/bin/id"
    } else {
        "/usr/bin/sh"
    });
    let request = Request {
        user,
        groups: &groups,
        target_user: if matches!(kind, Kind::Groups) {
            None
        } else {
            Some("root")
        },
        target_group: match (kind, member) {
            (Kind::Groups, true) => Some("wheel"),
            (Kind::Groups, false) => Some("docker"),
            _ => None,
        },
        command: Some(&command),
        args: &[],
        host: if member || !matches!(kind, Kind::Hosts) {
            "host1"
        } else {
            "host2"
        },
        service: "newgate",
        time: Timestamp::UNIX_EPOCH,
    };
    policy.decide(&request).verdict
}

fn errors(loaded: &Loaded) -> Vec<String> {
    loaded.errors().map(ToString::to_string).collect()
}

/// The one error a chain deeper than the limit draws: at the first alias past it.
fn too_deep(keyword: &str) -> String {
    let line = MAX_ALIAS_DEPTH + 1;
    let name = format!("A{MAX_ALIAS_DEPTH}");
    let caret = "^".repeat(name.len());
    format!(
        "{PATH}:{line}:{col}: error: alias `{name}` nests aliases more than {MAX_ALIAS_DEPTH} levels deep\n   |\n{line} | {keyword} {name} = A{below}\n   | {pad}{caret}\n   = hint: aliases may nest at most {MAX_ALIAS_DEPTH} levels; write the members of an inner alias in place of its name\n",
        col = keyword.len() + 2,
        below = MAX_ALIAS_DEPTH - 1,
        pad = " ".repeat(keyword.len() + 1),
    )
}

#[test]
fn chains_at_the_depth_limit_load_and_decide() {
    for kind in KINDS {
        let loaded = load_small(chain(kind, MAX_ALIAS_DEPTH));
        assert_eq!(errors(&loaded), Vec::<String>::new(), "{kind:?}");
        assert_eq!(decides(&loaded, kind, "alice", true), Verdict::Permit, "{kind:?}");
        let other = if matches!(kind, Kind::Users) { "bob" } else { "alice" };
        assert_eq!(decides(&loaded, kind, other, false), Verdict::Deny, "{kind:?}");
    }
}

#[test]
fn chains_past_the_limit_are_refused_with_one_error() {
    for kind in KINDS {
        let (keyword, ..) = kind.parts("");
        for depth in [MAX_ALIAS_DEPTH + 1, 20_000, 200_000] {
            let loaded = load_small(chain(kind, depth));
            assert!(loaded.policy.is_none(), "{kind:?} {depth}");
            assert_eq!(errors(&loaded), vec![too_deep(keyword)], "{kind:?} {depth}");
        }
    }
}

#[test]
fn aliases_naming_the_same_names_at_every_level_do_not_double() {
    // `A<i> = A<i-1>, B<i-1>` and `B<i> = B<i-1>, A<i-1>`: listing each name
    // as often as it is reached, the outermost alias would list 2^63 names.
    for kind in KINDS {
        let top = format!("A{}", MAX_ALIAS_DEPTH - 1);
        let (keyword, member, rule) = kind.parts(&top);
        let mut text = format!("{keyword} A0 = {member}\n{keyword} B0 = {member}\n");
        for i in 1..MAX_ALIAS_DEPTH {
            let below = i - 1;
            writeln!(
                text,
                "{keyword} A{i} = A{below}, B{below}\n{keyword} B{i} = B{below}, A{below}"
            )
            .unwrap();
        }
        writeln!(text, "{rule}").unwrap();
        let loaded = load_small(text);
        assert_eq!(errors(&loaded), Vec::<String>::new(), "{kind:?}");
        assert_eq!(decides(&loaded, kind, "alice", true), Verdict::Permit, "{kind:?}");
    }
}

#[test]
fn a_cycle_through_many_aliases_is_one_short_error() {
    let mut text = String::from("users A0 = A199999\n");
    for i in 1..200_000 {
        writeln!(text, "users A{i} = A{}", i - 1).unwrap();
    }
    text.push_str("permit A7 as user root\n");
    let loaded = load_small(text);
    assert!(loaded.policy.is_none());
    let errors = errors(&loaded);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(&format!(
            "{PATH}:1:7: error: alias `A0` refers to itself: A0 → A199999 → A199998 → … → A1 → A0 (200000 aliases)\n"
        )),
        "{}",
        &errors[0][..errors[0].len().min(500)]
    );
}

#[test]
fn a_list_of_300000_names_on_one_line_loads() {
    let names: Vec<String> = (0..300_000).map(|i| format!("u{i}")).collect();
    let text = format!("users BIG = {}\npermit BIG as user root\n", names.join(", "));
    let loaded = load_small(text);
    assert_eq!(errors(&loaded), Vec::<String>::new());
    assert_eq!(decides(&loaded, Kind::Users, "u299999", true), Verdict::Permit);
    assert_eq!(decides(&loaded, Kind::Users, "alice", false), Verdict::Deny);
}

#[test]
fn a_rule_continued_over_200000_lines_loads() {
    let mut text = String::from("permit \\\n");
    for i in 0..200_000 {
        writeln!(text, "  u{i}, \\").unwrap();
    }
    text.push_str("  alice as user root\n");
    let loaded = load_small(text);
    assert_eq!(errors(&loaded), Vec::<String>::new());
    assert_eq!(decides(&loaded, Kind::Users, "u199999", true), Verdict::Permit);
    assert_eq!(decides(&loaded, Kind::Users, "alice", true), Verdict::Permit);
}

#[test]
fn a_setenv_of_100000_variables_loads() {
    let items: Vec<String> = (0..100_000).map(|i| format!("V{i}=x")).collect();
    let text = format!("permit setenv {{ {} }} alice as user root\n", items.join(" "));
    let loaded = load_small(text);
    assert_eq!(errors(&loaded), Vec::<String>::new());
    assert_eq!(decides(&loaded, Kind::Users, "alice", true), Verdict::Permit);
}

#[test]
fn huge_words_in_errors_are_reported_without_suggestions() {
    // A "did you mean" between two long words would compare every character
    // of one with every character of the other.
    let long = "A".repeat(1 << 20);
    let lower = "p".repeat(1 << 20);
    let text = format!("users {long} = alice\npermit {long}B as user root\n{lower}\n");
    let loaded = load_small(text);
    assert!(loaded.policy.is_none());
    let errors: Vec<(String, Option<String>)> = loaded
        .errors()
        .map(|d| (d.message.chars().take(40).collect(), d.hint.clone()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (
                "alias `AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_string(),
                Some(format!(
                    "define it with `users {long}B = ...`, or quote the word to use it as a name: \"{long}B\""
                ))
            ),
            (
                "unknown statement `ppppppppppppppppppppp".to_string(),
                Some("a statement starts with `permit`, `deny`, `grant`, `set`, `users`, `groups`, `hosts`, `commands` or `include`".to_string())
            ),
        ]
    );
}

/// Less than the 64 KiB that pest's stack guard wants free before it parses.
const TINY_STACK: usize = 48 << 10;

fn in_tiny_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(TINY_STACK)
        .spawn(work)
        .unwrap()
        .join()
        .unwrap()
}

/// The one diagnostic of a read that ran out of stack, rendered.
fn out_of_stack(diagnostics: &[Diagnostic], what: &str) -> String {
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0].kind, DiagnosticKind::OutOfStack);
    assert!(diagnostics[0].is_error());
    let shown = diagnostics[0].to_string();
    assert_eq!(
        shown,
        format!(
            "{PATH}: error: out of stack space while reading {what}; the stack limit (`ulimit -s`) is too small\n  = hint: raise it (8192 KiB is the usual default) and try again; {what} itself was not checked\n"
        )
    );
    shown
}

const VALID: &str = "set persist = 5m\nusers ADMINS = alice\npermit ADMINS as user root\n";

#[test]
fn running_out_of_stack_is_not_a_syntax_error() {
    let loaded = in_tiny_thread(|| {
        let options = LoadOptions {
            trust: Trust::Draft,
            directory: None,
            now: None,
            lint: true,
        };
        load_str(Path::new(PATH), VALID, &options)
    });
    assert!(loaded.policy.is_none());
    assert!(loaded.out_of_stack());
    out_of_stack(&loaded.diagnostics, "the policy");
    // The same text loads where there is stack enough.
    let loaded = load_small(VALID.to_string());
    assert_eq!(errors(&loaded), Vec::<String>::new());
    assert!(!loaded.out_of_stack());
}

#[test]
fn formatting_and_reading_tests_out_of_stack_say_so_too() {
    let formatted = in_tiny_thread(|| format_policy(Path::new(PATH), VALID));
    out_of_stack(&formatted.unwrap_err(), "the policy");
    let tests = in_tiny_thread(|| {
        parse_expectations(Path::new(PATH), "permit alice as user root\n", &jiff::tz::TimeZone::UTC).map(|e| e.len())
    });
    out_of_stack(&tests.unwrap_err(), "the tests");
}
