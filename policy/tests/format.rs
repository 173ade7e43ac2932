//! `format_policy` keeps what a policy means and is stable: on random valid
//! policies written every which way, on the golden inputs that load, and on
//! the example policy with its drop-in.

use std::path::{Path, PathBuf};

use newgate_policy::{LoadOptions, Loaded, Policy, Trust, format_policy, load_replacing, load_str};
use proptest::prelude::*;
use proptest::sample::select;

fn options() -> LoadOptions<'static> {
    LoadOptions {
        trust: Trust::Draft,
        directory: None,
        now: Some("2026-11-29T12:00:00Z".parse().unwrap()),
        lint: false,
    }
}

fn policy(loaded: Loaded, text: &str) -> Policy {
    match loaded.policy {
        Some(policy) => policy,
        None => panic!("this policy does not load:\n{text}\n{:#?}", loaded.diagnostics),
    }
}

/// What a policy means: its settings, and each rule in order, without where
/// it stands and how it was written (the formatter moves lines and words).
fn meaning(policy: &Policy) -> (String, Vec<(String, String)>) {
    let rules = policy
        .rules()
        .iter()
        .map(|rule| {
            let mut rule = rule.clone();
            rule.location.line = 0;
            rule.text = String::new();
            (rule.describe(), format!("{rule:?}"))
        })
        .collect();
    (format!("{:?}", policy.settings), rules)
}

fn format(path: &Path, text: &str) -> String {
    format_policy(path, text).unwrap_or_else(|d| panic!("{} is not formatted:\n{text}\n{d:#?}", path.display()))
}

/// Formats `text` (the file `path`), checks that formatting again changes
/// nothing and that the layout rules hold, and returns the result.
fn format_checked(path: &Path, text: &str) -> String {
    let formatted = format(path, text);
    assert_eq!(format(path, &formatted), formatted, "formatting twice changes the text");
    assert!(!formatted.contains('\r'));
    assert!(!formatted.contains("\n\n\n") && !formatted.starts_with('\n'));
    assert!(formatted.is_empty() || (formatted.ends_with('\n') && !formatted.ends_with("\n\n")));
    for line in formatted.lines() {
        assert_eq!(line, line.trim_end(), "trailing blanks in {line:?}");
    }
    formatted
}

/// A policy file and its formatted text load to the same policy.
fn assert_same_meaning(path: &Path, text: &str, formatted: &str) {
    let before = policy(load_str(path, text, &options()), text);
    let after = policy(load_str(path, formatted, &options()), formatted);
    assert_eq!(
        meaning(&before),
        meaning(&after),
        "formatting changed what\n{text}\nmeans:\n{formatted}"
    );
}

// Random valid policies. Every statement comes in several spellings (quotes,
// spacing, list commas), options and conditions in any order, and lines carry
// comments, trailing blanks and `\` continuations.

const SETTINGS: &[&str] = &[
    "set persist = 5m",
    "set persist=\"10m\"",
    "set \"passwd_tries\" = 3",
    "set log_format = json",
    "set audit   =   \"required\"",
    "set env_keep = \"LANG TZ\"",
    "set timezone = UTC",
    "set secure_path = \"/usr/bin:/bin\"",
    "set editor = /usr/bin/vi",
];
const ALIASES: [&[&str]; 4] = [
    &["users TEAM = carol, %g3", "users   TEAM=carol,\"%g3\", \"ALICE\""],
    &["groups GS = g1, \"g 2\"", "groups GS=g1"],
    &["hosts HS = h1, \"h*\"", "hosts HS = \"web-*\" , db1"],
    &["commands CS = /bin/a, \"/bin/b c\"", "commands CS=/bin/a"],
];
const INCLUDES: &[&str] = &["include \"fmt-nothing-*.conf\"", "include fmt-nothing-*.conf"];
const SUBJECTS: &[&str] = &[
    "alice",
    "\"alice\"",
    "%g1",
    "\"%g2\"",
    "*",
    "\"*\"",
    "TEAM",
    "\"TEAM\"",
    "\"as\"",
    "\"jo hn\"",
    "\"#x\"",
    "\"back\\\\\"",
    "\"q\\\"uote\"",
    "users",
    "\"permit\"",
];
const LIST_COMMAS: &[&str] = &[", ", ",", " ,", " , "];
const TARGETS: &[&str] = &[
    "as group g1",
    "as group \"g1\",g2",
    "as group *",
    "as group GS",
    "as user root",
    "as user \"u1\" , u2",
    "as user *",
    "as user u1 group g1",
    "as user * group \"*\"",
    "as user \"cmd\"",
];
const GRANT_GROUPS: &[&str] = &["group g1", "group \"g1\",g2", "group GS", "group \"*\""];
const AUTH: &[&str] = &["nopass", "persist", "persist=15m", "persist=\"1h\""];
const SETENV: &[&str] = &[
    "setenv { EDITOR=vi -HOME LANG }",
    "setenv {\"A\"=\"x y\"}",
    "setenv { }",
    "setenv { B = \"v\" }",
];
const ON: &[&str] = &["on h1", "on \"h*\"", "on HS, h2", "on \"HS\""];
const SERVICE: &[&str] = &["service su", "service \"su\",sshd", "service SU"];
const WHEN: &[&str] = &[
    "when Mon-Fri 09:00-17:00",
    "when \"Sat\",Sun",
    "when 22:00-06:00",
    "when Sat, Sun 10:00-12:00,13:00-14:00",
];
const UNTIL: &[&str] = &["until 2027-12-01", "until \"2027-12-01T18:00\""];
const COMMANDS: &[&str] = &[
    "",
    "cmd /bin/a",
    "cmd \"/bin/x y\"",
    "cmd CS",
    "cmd /bin/* args",
    "cmd /bin/a args x *",
    "cmd /bin/a args \"*\"",
    "cmd /bin/a args \"two words\" a,b =x {y} \"as\"",
    "cmd /bin/a args \"#x\" \"\"",
];
const COMMENTS: &[&str] = &[
    "# note",
    "#x",
    "# ends with a backslash \\",
    "# é ünïcode",
    "#  spaced   inside",
    "## double",
    "# trailing   ",
    "#",
    "# \"quoted\" and , = { }",
];
/// What separates words: `\n` stands for the file's line break.
const SEPARATORS: &[&str] = &[" ", "  ", "\t", " \\\n    "];
const BEFORE_COMMENT: &[&str] = &[" ", "  ", "\t", " \\\n  "];
const BLANKS: &[&str] = &["", "  ", "\t"];

fn shuffled(parts: Vec<Option<&'static str>>) -> impl Strategy<Value = Vec<&'static str>> {
    Just(parts.into_iter().flatten().collect::<Vec<_>>()).prop_shuffle()
}

fn permit_options() -> impl Strategy<Value = Vec<&'static str>> {
    (
        prop::option::of(select(AUTH)),
        prop::option::of(Just("keepenv")),
        prop::option::of(select(SETENV)),
        prop::option::of(Just("nolog")),
    )
        .prop_flat_map(|(a, b, c, d)| shuffled(vec![a, b, c, d]))
}

fn conditions() -> impl Strategy<Value = Vec<&'static str>> {
    (
        prop::option::of(select(ON)),
        prop::option::of(select(SERVICE)),
        prop::option::of(select(WHEN)),
        prop::option::of(select(UNTIL)),
    )
        .prop_flat_map(|(a, b, c, d)| shuffled(vec![a, b, c, d]))
}

fn subjects() -> impl Strategy<Value = String> {
    (
        prop::sample::subsequence(SUBJECTS, 1..4).prop_shuffle(),
        select(LIST_COMMAS),
    )
        .prop_map(|(subjects, comma)| subjects.join(comma))
}

fn words(parts: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let parts: Vec<String> = parts
        .into_iter()
        .map(|p| p.as_ref().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    parts.join(" ")
}

fn statement() -> impl Strategy<Value = String> {
    let permit = (
        permit_options(),
        subjects(),
        select(TARGETS),
        conditions(),
        select(COMMANDS),
    )
        .prop_map(|(options, subjects, target, conditions, command)| {
            words(
                ["permit".to_string()]
                    .into_iter()
                    .chain(options.into_iter().map(String::from))
                    .chain([subjects, target.to_string()])
                    .chain(conditions.into_iter().map(String::from))
                    .chain([command.to_string()]),
            )
        });
    let deny = (subjects(), select(TARGETS), conditions(), select(COMMANDS)).prop_map(
        |(subjects, target, conditions, command)| {
            let conditions = conditions.join(" ");
            words(["deny", &subjects, target, &conditions, command])
        },
    );
    let grant = (subjects(), select(GRANT_GROUPS), conditions())
        .prop_map(|(subjects, groups, conditions)| words(["grant", &subjects, groups, &conditions.join(" ")]));
    prop_oneof![
        4 => permit,
        2 => deny,
        1 => grant,
        1 => select(SETTINGS).prop_map(String::from),
        1 => select(INCLUDES).prop_map(String::from),
    ]
}

/// One line of a random policy, before the line break.
#[derive(Clone, Debug)]
enum Entry {
    /// A statement, the separators to put between its words, and the comment after it.
    Statement(String, Vec<&'static str>, Option<(&'static str, &'static str)>),
    /// A comment on its own line, after some indentation.
    Comment(&'static str, &'static str),
    Blank(&'static str),
}

fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        6 => (
            statement(),
            prop::collection::vec(select(SEPARATORS), 12),
            prop::option::of((select(BEFORE_COMMENT), select(COMMENTS))),
        )
            .prop_map(|(s, separators, comment)| Entry::Statement(s, separators, comment)),
        1 => (select(BLANKS), select(COMMENTS)).prop_map(|(indent, c)| Entry::Comment(indent, c)),
        1 => select(BLANKS).prop_map(Entry::Blank),
    ]
}

/// A statement with each blank outside quotes replaced by the next separator.
fn spread(statement: &str, separators: &[&str]) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut escaped = false;
    let mut next = separators.iter().cycle();
    for c in statement.chars() {
        match c {
            ' ' if !quoted => out.push_str(next.next().expect("separators are given")),
            '"' if !escaped => {
                quoted = !quoted;
                out.push(c);
            }
            _ => out.push(c),
        }
        escaped = quoted && c == '\\' && !escaped;
    }
    out
}

#[derive(Debug)]
struct RandomPolicy {
    text: String,
    statements: usize,
    comments: Vec<&'static str>,
}

fn random_policy() -> impl Strategy<Value = RandomPolicy> {
    (
        prop::collection::vec(entry(), 0..30),
        [
            select(ALIASES[0]),
            select(ALIASES[1]),
            select(ALIASES[2]),
            select(ALIASES[3]),
        ],
        [0..30usize, 0..30, 0..30, 0..30],
        prop::bool::ANY,
        prop::option::of(select(BLANKS)),
    )
        .prop_map(|(mut entries, aliases, places, crlf, last_blank)| {
            // Every alias is defined once, anywhere: rules may use them before.
            for (alias, place) in aliases.into_iter().zip(places) {
                let separators = vec![" "; 12];
                let at = place.min(entries.len());
                entries.insert(at, Entry::Statement(alias.to_string(), separators, None));
            }
            let newline = if crlf { "\r\n" } else { "\n" };
            let mut text = String::new();
            let mut statements = 0;
            let mut comments = Vec::new();
            for entry in &entries {
                match entry {
                    Entry::Statement(statement, separators, comment) => {
                        statements += 1;
                        text.push_str(&spread(statement, separators));
                        if let Some((before, comment)) = comment {
                            text.push_str(before);
                            text.push_str(comment);
                            comments.push(*comment);
                        }
                    }
                    Entry::Comment(indent, comment) => {
                        text.push_str(indent);
                        text.push_str(comment);
                        comments.push(*comment);
                    }
                    Entry::Blank(blank) => text.push_str(blank),
                }
                text.push('\n');
            }
            if let Some(blank) = last_blank {
                text.push_str(blank);
            }
            RandomPolicy {
                text: text.replace('\n', newline),
                statements,
                comments,
            }
        })
}

fn random_path() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("format-random.policy")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn formatting_keeps_the_meaning_and_is_stable(random in random_policy()) {
        let path = random_path();
        let formatted = format_checked(&path, &random.text);
        assert_same_meaning(&path, &random.text, &formatted);
        // One statement per line; every comment kept, in its order, without trailing blanks.
        let statement_lines = formatted.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).count();
        prop_assert_eq!(statement_lines, random.statements, "{}", formatted);
        let mut rest = formatted.as_str();
        for comment in &random.comments {
            let comment = comment.trim_end();
            match rest.find(comment) {
                Some(at) => rest = &rest[at + comment.len()..],
                None => panic!("comment {comment:?} lost or out of order:\n{formatted}"),
            }
        }
    }
}

#[test]
fn the_generated_policies_are_not_formatted_already() {
    // The property is only worth something if formatting has work to do: a
    // fixed sample written untidily is changed, and means the same afterwards.
    let text = "permit  nolog nopass \"alice\",bob as group \"g1\" until 2027-12-01 on h1 # why\r\n\r\n\r\n\
                users TEAM=carol\r\nhosts   HS = h1\r\n";
    let path = random_path();
    let formatted = format_checked(&path, text);
    assert_eq!(
        formatted,
        "permit nopass nolog alice, bob as group g1 on h1 until 2027-12-01  # why\n\nusers TEAM = carol\nhosts HS   = h1\n"
    );
    assert_same_meaning(&path, text, &formatted);
}

/// The golden inputs that load (`.expected` ends in `valid`).
fn valid_golden_inputs() -> Vec<PathBuf> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&folder)
        .expect("the golden folder")
        .map(|entry| entry.expect("a folder entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "policy"))
        .filter(|path| {
            let expected = std::fs::read_to_string(path.with_extension("expected")).unwrap_or_default();
            expected.lines().last() == Some("valid")
        })
        .collect();
    inputs.sort();
    inputs
}

#[test]
fn every_valid_golden_input_keeps_its_meaning() {
    let inputs = valid_golden_inputs();
    assert!(inputs.len() >= 5, "only {} valid golden inputs found", inputs.len());
    // An input named `valid_*` exists to be formatted: it may not drop out by becoming invalid.
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for entry in std::fs::read_dir(&folder).expect("the golden folder") {
        let path = entry.expect("a folder entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("valid") && name.ends_with(".policy") {
            assert!(
                inputs.contains(&path),
                "{name} no longer loads: its .expected says `invalid`"
            );
        }
    }
    for path in inputs {
        let text = std::fs::read_to_string(&path).unwrap();
        let formatted = format_checked(&path, &text);
        assert_same_meaning(&path, &text, &formatted);
    }
}

#[test]
fn the_example_policy_and_its_drop_in_keep_their_meaning() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let main = examples.join("policy");
    let text = std::fs::read_to_string(&main).unwrap();
    let formatted = format_checked(&main, &text);
    assert_same_meaning(&main, &text, &formatted);

    let whole = policy(load_str(&main, &text, &options()), &text);
    let mut drop_ins: Vec<PathBuf> = std::fs::read_dir(examples.join("policy.d"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    drop_ins.sort();
    assert!(!drop_ins.is_empty());
    for drop_in in drop_ins {
        let text = std::fs::read_to_string(&drop_in).unwrap();
        let formatted = format_checked(&drop_in, &text);
        // A drop-in means something only within the policy that includes it.
        let replaced = load_replacing(&main, &drop_in, &formatted, &options());
        let replaced = policy(replaced, &formatted);
        assert_eq!(
            meaning(&whole),
            meaning(&replaced),
            "{}:\n{formatted}",
            drop_in.display()
        );
    }
}

#[test]
fn the_example_policy_is_laid_out_as_documented() {
    let main = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policy");
    let formatted = format(&main, &std::fs::read_to_string(&main).unwrap());
    for line in [
        "set persist      = 5m  # every permit that asks for a password remembers it 5m",
        "set secure_path  = /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "set env_keep     = \"LANG LC_ALL TZ\"",
        "users    ADMINS = alice, bob, %wheel",
        "commands PKG    = /usr/bin/apt, /usr/bin/apt-get, /usr/bin/dpkg",
        "deny bob as group docker",
        "grant %interns group printers service sshd, login when Mon-Fri 08:00-18:00",
        "include policy.d/*.conf",
    ] {
        assert!(formatted.lines().any(|l| l == line), "no line {line:?} in\n{formatted}");
    }
}
