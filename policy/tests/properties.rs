//! Properties over random input: the parser never panics, and the indexed
//! decision and grants always equal a plain evaluation of every rule in order.

use std::path::Path;

use newgate_policy::snapshot::Snapshot;
use newgate_policy::{LoadOptions, Login, Policy, Request, Trust, load_str};
use proptest::prelude::*;

fn options() -> LoadOptions<'static> {
    LoadOptions {
        trust: Trust::Draft,
        directory: None,
        now: Some("2026-11-29T12:00:00Z".parse().unwrap()),
        lint: true,
    }
}

/// Loads any text; the test fails if loading panics or reports a place outside the text.
fn load_any(text: &str) {
    let loaded = load_str(Path::new("/nonexistent/random"), text, &options());
    for d in &loaded.diagnostics {
        let rendered = d.to_string();
        assert!(
            rendered.contains(": error: ") || rendered.contains(": warning: "),
            "{rendered}"
        );
        if let Some(pos) = &d.position {
            assert!(
                pos.line as usize <= text.split('\n').count(),
                "line {} past the end",
                pos.line
            );
            assert!(pos.column as usize <= pos.source_line.chars().count() + 1, "{rendered}");
        }
    }
    assert_eq!(loaded.policy.is_some(), loaded.errors().next().is_none());
}

const VALID: &str = r#"set persist = 5m
set secure_path = "/usr/sbin:/usr/bin:/sbin:/bin"
set timezone = UTC
users ADMINS = alice, bob, %wheel
groups BUILD = builders, ci-runners
hosts WEB = web-*, db1.example.com
commands PKG = /usr/bin/apt, /usr/bin/dpkg
permit ADMINS as group *
permit nopass %devs as group BUILD
permit alice as group docker cmd /usr/bin/docker
permit persist carol as user postgres cmd /usr/bin/psql args -d prod
permit dave as group audit when Mon-Fri 09:00-17:00 until 2026-12-31
deny   bob as group docker
permit persist=15m %ops as user * on WEB
permit alice as user deploy service su
permit setenv { EDITOR=vi -HOME } erin as group www cmd PKG args install *
grant  %interns group printers service sshd,login when Mon-Fri 08:00-18:00
permit "quoted \"name\"" as user root \
    cmd /usr/bin/id # a comment
"#;

fn mutation() -> impl Strategy<Value = (usize, u8, char)> {
    let interesting = prop_oneof![
        Just('"'),
        Just('\\'),
        Just('\n'),
        Just('#'),
        Just(','),
        Just('='),
        Just('{'),
        Just('}'),
        Just('*'),
        Just('%'),
        Just(' '),
        Just('é'),
        Just('\0'),
        any::<char>(),
    ];
    (0..VALID.len(), 0u8..3, interesting)
}

fn mutate(mutations: &[(usize, u8, char)]) -> String {
    let mut chars: Vec<char> = VALID.chars().collect();
    for &(at, kind, c) in mutations {
        let at = at % (chars.len() + 1);
        match kind {
            0 => chars.insert(at, c),
            1 if at < chars.len() => {
                chars.remove(at);
            }
            _ if at < chars.len() => chars[at] = c,
            _ => chars.push(c),
        }
    }
    chars.into_iter().collect()
}

// Random policies over a small vocabulary, so that rules and requests often meet.
const SUBJECTS: &[&str] = &["alice", "bob", "carol", "%g1", "%g2", "*", "TEAM"];
const TARGETS: &[&str] = &[
    "as group g1",
    "as group g2, g3",
    "as group *",
    "as user root",
    "as user u1, u2",
    "as user *",
    "as user u1 group g1",
    "as user * group *",
];
const CONDITIONS: &[&str] = &[
    "",
    "",
    "",
    "on h1",
    "on h*",
    "service su",
    "when Mon-Fri 09:00-17:00",
    "when 22:00-06:00",
    "until 2026-12-01",
];
const COMMANDS: &[&str] = &[
    "",
    "",
    "cmd /bin/a",
    "cmd /bin/*",
    "cmd /bin/a args",
    "cmd /bin/a args x *",
    "cmd /bin/b args x",
];

/// The groups `grant` rules add; g4 is in no request, only granted.
const GRANT_GROUPS: &[&str] = &["group g1", "group g2, g3", "group g4", "group g1, g4"];

/// A random rule, twice: as written, and as the same line of a policy that
/// decides "may GROUP be granted" by `explain`, rule by rule in order (see
/// [`grants_by_explain`]). There, a `grant` becomes a `permit` of its groups,
/// a `deny` that can take a grant back (a group target, no command) stays,
/// and every other rule becomes a comment, so that lines keep their numbers.
fn rule() -> impl Strategy<Value = (String, String)> {
    let switch = (
        prop::bool::ANY,
        prop::sample::subsequence(SUBJECTS, 1..3),
        prop::sample::select(TARGETS),
        prop::sample::select(CONDITIONS),
        prop::sample::select(COMMANDS),
    )
        .prop_map(|(permit, subjects, target, condition, command)| {
            let action = if permit { "permit" } else { "deny" };
            let text = format!("{action} {} {target} {condition} {command}\n", subjects.join(", "));
            let takes_back = !permit && target.starts_with("as group") && command.is_empty();
            let reference = if takes_back {
                text.clone()
            } else {
                "# not about grants\n".into()
            };
            (text, reference)
        });
    let grant = (
        prop::sample::subsequence(SUBJECTS, 1..3),
        prop::sample::select(GRANT_GROUPS),
        prop::sample::select(CONDITIONS),
    )
        .prop_map(|(subjects, groups, condition)| {
            let subjects = subjects.join(", ");
            (
                format!("grant {subjects} {groups} {condition}\n"),
                format!("permit {subjects} as {groups} {condition}\n"),
            )
        });
    prop_oneof![3 => switch, 1 => grant]
}

/// A random policy, and its grants-by-explain twin (see [`rule`]).
fn random_policy() -> impl Strategy<Value = (String, String)> {
    prop::collection::vec(rule(), 0..25).prop_map(|rules| {
        let head = "users TEAM = carol, %g3\n";
        let (text, reference): (Vec<String>, Vec<String>) = rules.into_iter().unzip();
        (
            format!("{head}{}", text.concat()),
            format!("{head}{}", reference.concat()),
        )
    })
}

/// The groups a login is granted, each with the line of the rule that
/// grants it, found with no index: for each group, `explain` walks every rule
/// of the twin policy in order, and the last `permit` (a grant) or `deny`
/// naming the group decides.
fn grants_by_explain(twin: &Policy, login: &Login) -> Vec<(String, u32)> {
    let mut granted = Vec::new();
    for group in ["g1", "g2", "g3", "g4"] {
        let request = Request {
            user: login.user,
            groups: login.groups,
            target_user: None,
            target_group: Some(group),
            command: None,
            args: &[],
            host: login.host,
            service: login.service,
            time: login.time,
        };
        let decision = twin.explain(&request);
        if decision.verdict == newgate_policy::Verdict::Permit {
            granted.push((group.to_string(), decision.rule.map_or(0, |r| r.location.line)));
        }
    }
    granted
}

#[derive(Debug, Clone)]
struct Asked {
    user: &'static str,
    groups: Vec<String>,
    target_user: Option<&'static str>,
    target_group: Option<&'static str>,
    command: Option<&'static str>,
    args: Vec<String>,
    host: &'static str,
    service: &'static str,
    time: &'static str,
}

const ARGS: &[&[&str]] = &[&[], &["x"], &["x", "y"]];

fn random_request() -> impl Strategy<Value = Asked> {
    (
        prop::sample::select(&["alice", "bob", "carol", "dave"][..]),
        prop::sample::subsequence(&["g1", "g2", "g3"][..], 0..3),
        prop::sample::select(&[None, Some("root"), Some("u1"), Some("alice")][..]),
        prop::sample::select(&[None, Some("g1"), Some("g3")][..]),
        prop::sample::select(&[None, Some("/bin/a"), Some("/bin/b"), Some("/bin/sub/c")][..]),
        prop::sample::select(ARGS),
        prop::sample::select(&["h1", "h2"][..]),
        prop::sample::select(&["newgate", "su"][..]),
        prop::sample::select(&["2026-11-30T10:00:00Z", "2026-11-29T23:30:00Z", "2026-12-02T10:00:00Z"][..]),
    )
        .prop_map(
            |(user, groups, target_user, target_group, command, args, host, service, time)| Asked {
                user,
                groups: groups.into_iter().map(String::from).collect(),
                target_user,
                target_group,
                command,
                args: args.iter().map(|a| a.to_string()).collect(),
                host,
                service,
                time,
            },
        )
}

fn compile(text: &str) -> Policy {
    let loaded = load_str(Path::new("/nonexistent/random"), text, &options());
    match loaded.policy {
        Some(p) => p,
        None => panic!("generated policy is invalid:\n{text}\n{:?}", loaded.diagnostics),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "\\PC*") {
        load_any(&text);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        load_any(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_policies_never_panic(mutations in prop::collection::vec(mutation(), 1..6)) {
        load_any(&mutate(&mutations));
    }

    #[test]
    fn indexed_decision_equals_linear_evaluation((text, _) in random_policy(), asked in prop::collection::vec(random_request(), 1..8)) {
        let policy = compile(&text);
        for a in &asked {
            let request = Request {
                user: a.user,
                groups: &a.groups,
                target_user: a.target_user,
                target_group: a.target_group,
                command: a.command.map(Path::new),
                args: &a.args,
                host: a.host,
                service: a.service,
                time: a.time.parse().unwrap(),
            };
            let fast = policy.decide(&request);
            let linear = policy.explain(&request);
            prop_assert_eq!(fast.verdict, linear.verdict);
            prop_assert_eq!(fast.rule.map(|r| r.location.line), linear.rule.map(|r| r.location.line), "{:?}", a);
        }
    }

    #[test]
    fn indexed_grants_equal_linear_evaluation((text, twin) in random_policy(), asked in prop::collection::vec(random_request(), 1..8)) {
        let policy = compile(&text);
        let twin = compile(&twin);
        for a in &asked {
            let login = Login {
                user: a.user,
                groups: &a.groups,
                host: a.host,
                service: a.service,
                time: a.time.parse().unwrap(),
            };
            let mut fast: Vec<(String, u32)> = policy
                .grants(&login)
                .into_iter()
                .map(|g| (g.group, g.rule.location.line))
                .collect();
            fast.sort();
            prop_assert_eq!(fast, grants_by_explain(&twin, &login), "{:?}\n{}", a, text);
        }
    }
}

/// The generators make `grant` rules, and logins that get groups from them:
/// a property over policies that never grant would prove nothing about grants.
#[test]
fn the_generated_policies_grant_groups() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut grant_rules, mut granted) = (0, 0);
    for _ in 0..200 {
        let (text, _) = random_policy().new_tree(&mut runner).unwrap().current();
        grant_rules += text.lines().filter(|l| l.starts_with("grant ")).count();
        let policy = compile(&text);
        let asked = random_request().new_tree(&mut runner).unwrap().current();
        let login = Login {
            user: asked.user,
            groups: &asked.groups,
            host: asked.host,
            service: asked.service,
            time: asked.time.parse().unwrap(),
        };
        granted += usize::from(!policy.grants(&login).is_empty());
    }
    assert!(grant_rules > 200, "{grant_rules} grant rules in 200 policies");
    assert!(granted > 20, "only {granted} of 200 logins were granted a group");
}

#[test]
fn the_unmutated_policy_is_valid() {
    // The mutation test is only worth something if it starts from a valid policy.
    let loaded = load_str(Path::new("/nonexistent/valid"), VALID, &options());
    assert!(loaded.policy.is_some(), "{:?}", loaded.diagnostics);
}

/// The zone a generated policy is read in: the system's, UTC, or a named one.
const ZONES: &[&str] = &["", "set timezone = UTC\n", "set timezone = \"Europe/Berlin\"\n"];

/// Every setting besides the zone, and rules with every option, so that a
/// snapshot that dropped or swapped one would decide or run otherwise.
const SETTINGS_AND_OPTIONS: &[&str] = &[
    "",
    "set persist = 10m\nset env_keep = \"LANG LC_ALL\"\nset secure_path = \"/usr/bin:/bin\"\n\
     set umask = 027\nset audit = required\nset log_format = json\nset passwd_tries = 5\n\
     set editor = /usr/bin/vi\n",
];
const OPTION_RULES: &str = "permit persist=5m keepenv setenv { FOO=1 -BAR LANG } nolog chdir=/srv/* alice as user root\n\
     permit nopass chdir %wheel as group docker cmd /usr/bin/id\n";

/// Where the snapshot property writes its policies: files owned by the test's
/// own user, trusted as root's would be.
fn snapshot_scratch() -> newgate_testkit::Scratch {
    newgate_testkit::Scratch::new(env!("CARGO_TARGET_TMPDIR"), "snapshot-property")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn the_snapshot_decides_and_grants_as_the_source(
        (text, _) in random_policy(),
        zone in prop::sample::select(ZONES),
        settings in prop::sample::select(SETTINGS_AND_OPTIONS),
        with_options in any::<bool>(),
        asked in prop::collection::vec(random_request(), 1..8),
    ) {
        if zone.contains("Europe") && !Path::new("/usr/share/zoneinfo/Europe/Berlin").exists() {
            return Ok(());
        }
        let owner = nix::unistd::geteuid().as_raw();
        let scratch = snapshot_scratch();
        let options = if with_options { OPTION_RULES } else { "" };
        let path = scratch.write("policy", &format!("{zone}{settings}{text}{options}"), 0o440);
        let source = newgate_policy::load(&path, &LoadOptions {
            trust: Trust::Secure { owner },
            ..LoadOptions::enforcing()
        })
        .policy
        .expect("the generated policy loads");
        let bytes = newgate_policy::snapshot::build(&path, owner).unwrap_or_else(|e| panic!("{e}"));
        let stored_path = scratch.path.join("policy.snapshot");
        std::fs::write(&stored_path, bytes).unwrap();
        let snapshot = Snapshot::open(&stored_path, &path, owner).unwrap_or_else(|e| panic!("{e}"));
        prop_assert_eq!(format!("{:?}", snapshot.settings()), format!("{:?}", source.settings));
        for a in &asked {
            // As the runner and the PAM module read it: the requester's rules.
            let stored = snapshot.policy_for(a.user, &a.groups).unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(stored.rules_for(a.user, &a.groups).len(), source.rules_for(a.user, &a.groups).len());
            let request = Request {
                user: a.user,
                groups: &a.groups,
                target_user: a.target_user,
                target_group: a.target_group,
                command: a.command.map(Path::new),
                args: &a.args,
                host: a.host,
                service: a.service,
                time: a.time.parse().unwrap(),
            };
            let (mine, theirs) = (stored.decide(&request), source.decide(&request));
            prop_assert_eq!(mine.verdict, theirs.verdict, "{:?}", a);
            prop_assert_eq!(mine.rule.map(|r| (r.location.to_string(), &r.text)), theirs.rule.map(|r| (r.location.to_string(), &r.text)));
            prop_assert_eq!(&mine.options, &theirs.options);
            let login = Login {
                user: a.user,
                groups: &a.groups,
                host: a.host,
                service: a.service,
                time: request.time,
            };
            let grants = |p: &Policy| -> Vec<(String, String)> {
                p.grants(&login).into_iter().map(|g| (g.group, g.rule.location.to_string())).collect()
            };
            prop_assert_eq!(grants(&stored), grants(&source));
        }
    }
}
