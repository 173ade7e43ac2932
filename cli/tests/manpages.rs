//! The manual and the shell completions as a user meets them: every page
//! renders without warnings and names its siblings by the right section;
//! the pages of `newgate` and `newgatectl` document exactly the commands and
//! options that `--help` prints; and every completion file offers them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Each page: its file in the repository, its name, and the section it is installed in.
const PAGES: [(&str, &str, &str); 4] = [
    ("cli/newgate.8", "newgate", "8"),
    ("cli/newgatectl.8", "newgatectl", "8"),
    ("policy/newgate.policy.5", "newgate.policy", "5"),
    ("pam_module/pam_newgate.8", "pam_newgate", "8"),
];

fn repository(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repository(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Says that a check did not run, where every run shows it (see newgate-testkit).
fn skipped(what: &str, why: &str) {
    newgate_testkit::skipped(newgate_testkit::Needs::Machine, what, why);
}

/// Runs `command` when its program is installed; `None` (and the skip said) when it is not.
fn run_if_installed(command: &mut Command, what: &str, package: &str) -> Option<Output> {
    let program = command.get_program().to_string_lossy().into_owned();
    match command.output() {
        Ok(output) => Some(output),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            skipped(what, &format!("needs {program}: apt-get install {package}"));
            None
        }
        Err(e) => panic!("{program}: {e}"),
    }
}

fn help(binary: &str) -> String {
    let output = Command::new(binary).arg("--help").output().expect("the binary runs");
    assert!(output.status.success(), "{binary} --help: {}", text(&output.stderr));
    text(&output.stdout)
}

fn newgate_help() -> String {
    help(env!("CARGO_BIN_EXE_newgate"))
}

fn newgatectl_help() -> String {
    help(env!("CARGO_BIN_EXE_newgatectl"))
}

// ---------------------------------------------------------------- rendering

#[test]
fn every_page_renders_without_warnings() {
    for (path, name, _) in PAGES {
        let output = match newgate_testkit::render_man(&repository(path)) {
            Ok(output) => output,
            Err(why) => {
                skipped(&format!("rendering {path}"), &why);
                continue;
            }
        };
        let stderr = text(&output.stderr);
        assert!(
            output.status.success() && stderr.is_empty(),
            "{path}: man --warnings:\n{stderr}"
        );
        // Justified lines stretch their blanks: compare the words.
        let page = text(&output.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            page.contains(&format!("NAME {name} - ")),
            "{path} has no NAME line:\n{page}"
        );
    }
}

#[test]
fn pages_refer_to_each_other_by_the_sections_they_are_installed_in() {
    for (path, _, _) in PAGES {
        let source = read(path);
        for (_, name, section) in PAGES {
            for line in source.lines().filter(|l| l.starts_with(".BR ")) {
                let words: Vec<&str> = line.split_whitespace().collect();
                // `.BR newgate (8),` refers to a page; `.BR newgate ,` is only the word in bold.
                if words.get(1) == Some(&name)
                    && let Some(reference) = words.get(2).filter(|w| w.starts_with('('))
                {
                    assert!(
                        reference.starts_with(&format!("({section})")),
                        "{path}: `{line}`: {name} is in section {section}"
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------- what the pages document

/// What a program accepts: for each command (`""` for the program itself), its options.
type Interface = BTreeMap<String, BTreeSet<String>>;

/// `-x` or `--long-name`; not `--` alone, nor a negative number.
fn is_option(word: &str) -> bool {
    match word.strip_prefix("--") {
        Some(long) => {
            long.starts_with(|c: char| c.is_ascii_lowercase())
                && long.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        }
        None => {
            let mut chars = word.chars();
            chars.next() == Some('-') && chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.next().is_none()
        }
    }
}

fn options_in(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| c.is_whitespace() || "[]|,;:.()\"=".contains(c))
        .filter(|w| is_option(w))
        .map(str::to_string)
}

/// A command's name, as the word after the program's name: `check`, not `-l` or `[-n]`.
fn command_word(word: Option<&str>) -> String {
    match word {
        Some(w) if w.chars().all(|c| c.is_ascii_lowercase()) => w.to_string(),
        _ => String::new(),
    }
}

/// Reads `--help`: the usage lines (`usage: newgatectl check [--json] ...`,
/// continued on indented lines), then descriptions, where a line indented
/// by two spaces starts an option (`  -g GROUP  ...`) or a command
/// (`  check     ...`), and deeper lines continue it.
fn help_interface(program: &str, help: &str) -> Interface {
    let mut interface = Interface::new();
    let (usage, descriptions) = help.split_once("\n\n").unwrap_or((help, ""));
    let mut current = String::new();
    for line in usage.lines() {
        let line = line.trim().trim_start_matches("usage:").trim();
        if let Some(rest) = line.strip_prefix(program).filter(|r| r.starts_with(' ')) {
            current = command_word(rest.split_whitespace().next());
        }
        interface.entry(current.clone()).or_default().extend(options_in(line));
    }
    for line in descriptions.lines() {
        let starts_entry = line.starts_with("  ") && !line.starts_with("   ");
        if starts_entry && let Some(first) = line.split_whitespace().next() {
            current = if interface.contains_key(first) {
                first.into()
            } else {
                String::new()
            };
        } else if !line.starts_with(' ') {
            current = String::new();
        }
        interface.entry(current.clone()).or_default().extend(options_in(line));
    }
    interface
}

/// A page's source in sections: each line with its macro (`.TP`, `.B`, ...,
/// or `""` for text) and its words with the font changes and escapes removed.
fn page_sections(source: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut sections: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut current = String::new();
    for line in source.lines() {
        let (request, rest) = match line.strip_prefix('.') {
            Some(r) => r.split_once(' ').unwrap_or((r, "")),
            None => ("", line),
        };
        let mut plain = rest.replace("\\-", "-").replace('"', " ");
        for escape in ["\\fB", "\\fI", "\\fR", "\\fP", "\\c", "\\&", "\\%"] {
            plain = plain.replace(escape, "");
        }
        if request == "SH" {
            current = plain.trim().to_string();
            continue;
        }
        sections
            .entry(current.clone())
            .or_default()
            .push((request.to_string(), plain));
    }
    sections
}

/// What a page documents: the SYNOPSIS, one entry per line up to `.br`; the
/// tags of OPTIONS; and the paragraphs of COMMANDS.
struct Documented {
    synopsis: Interface,
    options: BTreeSet<String>,
    commands: Interface,
}

fn documented(program: &str, source: &str) -> Documented {
    let sections = page_sections(source);
    let lines = |name: &str| sections.get(name).cloned().unwrap_or_default();
    let mut synopsis = Interface::new();
    let mut entry = String::new();
    for (request, words) in lines("SYNOPSIS") {
        if request == "br" {
            entry.clear();
            continue;
        }
        entry.push_str(&words);
        entry.push(' ');
        let mut split = entry.split_whitespace();
        if split.next() == Some(program) {
            let command = command_word(split.next());
            synopsis.entry(command).or_default().extend(options_in(&entry));
        }
    }
    let mut options = BTreeSet::new();
    let mut tag_next = false;
    for (request, words) in lines("OPTIONS") {
        if tag_next {
            options.extend(options_in(&words));
        }
        tag_next = request == "TP";
    }
    let mut commands = Interface::new();
    let (mut current, mut tag_next) = (None, false);
    for (request, words) in lines("COMMANDS") {
        if tag_next {
            current = Some(words.trim().to_string());
        }
        if let Some(command) = &current {
            commands.entry(command.clone()).or_default().extend(options_in(&words));
        }
        tag_next = request == "TP";
    }
    Documented {
        synopsis,
        options,
        commands,
    }
}

/// Where the page and `--help` disagree, in words; empty when they agree.
fn disagreements(program: &str, help: &str, page: &str) -> Vec<String> {
    let help = help_interface(program, help);
    let page = documented(program, page);
    let mut problems = Vec::new();
    let mut compare = |what: &str, in_help: Option<&BTreeSet<String>>, in_page: Option<&BTreeSet<String>>| {
        let (in_help, in_page) = (
            in_help.cloned().unwrap_or_default(),
            in_page.cloned().unwrap_or_default(),
        );
        for option in in_help.difference(&in_page) {
            problems.push(format!("{what}: {option} is in --help but not in the page"));
        }
        for option in in_page.difference(&in_help) {
            problems.push(format!("{what}: {option} is in the page but not in --help"));
        }
    };
    let all_commands: BTreeSet<&String> = help.keys().chain(page.synopsis.keys()).collect();
    for command in all_commands {
        let what = format!("SYNOPSIS of `{program} {command}`");
        compare(&what, help.get(command), page.synopsis.get(command));
    }
    compare("OPTIONS", help.get(""), Some(&page.options));
    for command in help.keys().filter(|c| !c.is_empty()) {
        match page.commands.get(command) {
            None => problems.push(format!("COMMANDS: `{command}` is not described")),
            Some(mentioned) => {
                for option in mentioned.difference(&help[command]) {
                    problems.push(format!(
                        "COMMANDS: `{command}` mentions {option}, which --help does not give it"
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn the_newgate_page_documents_exactly_the_options_of_its_help() {
    let help = newgate_help();
    // What this test reads from --help: if it read nothing, page and help would agree on nothing.
    let options = &help_interface("newgate", &help)[""];
    for option in ["-g", "-u", "-n", "-s", "-l", "-k", "--help", "--version"] {
        assert!(
            options.contains(option),
            "{option} not read from --help: {options:?}\n{help}"
        );
    }
    let problems = disagreements("newgate", &help, &read("cli/newgate.8"));
    assert!(problems.is_empty(), "cli/newgate.8:\n{}", problems.join("\n"));
}

#[test]
fn the_newgatectl_page_documents_exactly_the_commands_and_options_of_its_help() {
    let help = newgatectl_help();
    // What this test reads from --help: if it read nothing, page and help would agree on nothing.
    let commands = help_interface("newgatectl", &help);
    let names: Vec<&str> = commands.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "", "check", "compile", "diff", "edit", "explain", "fmt", "import", "install", "list", "test"
        ],
        "--help as read:\n{help}"
    );
    assert!(commands["explain"].contains("--member-of") && commands["check"].contains("--no-lookups"));
    let problems = disagreements("newgatectl", &help, &read("cli/newgatectl.8"));
    assert!(problems.is_empty(), "cli/newgatectl.8:\n{}", problems.join("\n"));
}

#[test]
fn a_page_that_drops_or_invents_an_option_is_caught() {
    let help = newgate_help();
    let page = read("cli/newgate.8");
    let without_k: String = page
        .lines()
        .filter(|l| !l.contains("\\-k"))
        .map(|l| format!("{l}\n"))
        .collect();
    let problems = disagreements("newgate", &help, &without_k);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("-k is in --help but not in the page")),
        "{problems:?}"
    );
    let invented = page.replace(
        ".SH EXIT STATUS",
        ".TP\n.B \\-\\-frobnicate\nFrobnicate.\n.SH EXIT STATUS",
    );
    let problems = disagreements("newgate", &help, &invented);
    assert_eq!(problems, ["OPTIONS: --frobnicate is in the page but not in --help"]);

    let help = newgatectl_help();
    let page = read("cli/newgatectl.8");
    let problems = disagreements("newgatectl", &help, &page.replacen(".RB [ \\-\\-trace ]\n", "", 1));
    assert_eq!(
        problems,
        ["SYNOPSIS of `newgatectl explain`: --trace is in --help but not in the page"]
    );
}

// ---------------------------------------------------------------- completions

/// The completion files of one program, and what its `--help` offers.
struct Completions {
    program: &'static str,
    bash: String,
    zsh: String,
    fish: String,
    interface: Interface,
}

fn completions() -> [Completions; 2] {
    let load = |program: &'static str, help: String| Completions {
        program,
        bash: read(&format!("completions/{program}.bash")),
        zsh: read(&format!("completions/_{program}")),
        fish: read(&format!("completions/{program}.fish")),
        interface: help_interface(program, &help),
    };
    [load("newgate", newgate_help()), load("newgatectl", newgatectl_help())]
}

/// Whether `word` stands in `text` on its own: `-g` in `'-g+[...]'`, not in `--group`.
fn stands_in(text: &str, word: &str) -> bool {
    let part_of_word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(word)
        .any(|(at, _)| !text[..at].ends_with(part_of_word) && !text[at + word.len()..].starts_with(part_of_word))
}

/// fish names options without their dashes: `-s g`, `-l no-lookups`.
fn fish_spelling(option: &str) -> String {
    match option.strip_prefix("--") {
        Some(long) => format!("-l {long}"),
        None => format!("-s {}", &option[1..]),
    }
}

#[test]
fn every_completion_file_names_every_command_and_option() {
    for c in completions() {
        for (command, options) in &c.interface {
            for (file, text) in [("bash", &c.bash), ("zsh", &c.zsh), ("fish", &c.fish)] {
                assert!(
                    command.is_empty() || stands_in(text, command),
                    "the {file} completion of {} lacks the command {command}",
                    c.program
                );
                for option in options {
                    let spelled = if file == "fish" {
                        fish_spelling(option)
                    } else {
                        option.clone()
                    };
                    assert!(
                        stands_in(text, &spelled),
                        "the {file} completion of {} lacks {option}",
                        c.program
                    );
                }
            }
        }
    }
}

#[test]
fn every_completion_file_is_a_valid_script() {
    for program in ["newgate", "newgatectl"] {
        for (shell, file, package) in [
            ("bash", format!("completions/{program}.bash"), "bash"),
            ("zsh", format!("completions/_{program}"), "zsh"),
            ("fish", format!("completions/{program}.fish"), "fish"),
        ] {
            let path = repository(&file);
            let what = format!("{shell} -n {file}");
            if let Some(output) = run_if_installed(Command::new(shell).arg("-n").arg(&path), &what, package) {
                assert!(output.status.success(), "{what}:\n{}", text(&output.stderr));
            }
        }
    }
}

/// The lines a user types, after each of which the completions must offer
/// these words (among others): every command and option of `--help`, and
/// names and commands where they are asked for.
fn expectations(c: &Completions) -> Vec<(String, BTreeSet<String>)> {
    let words = |list: &[&str]| -> BTreeSet<String> { list.iter().map(|w| w.to_string()).collect() };
    let mut lines = vec![(format!("{} -", c.program), c.interface[""].clone())];
    if c.program == "newgate" {
        lines.extend([
            ("newgate -g ro".into(), words(&["root"])),
            ("newgate -u ro".into(), words(&["root"])),
            ("newgate -g root ech".into(), words(&["echo"])),
        ]);
    } else {
        let commands = c.interface.keys().filter(|k| !k.is_empty()).cloned().collect();
        lines.push(("newgatectl ".into(), commands));
        for (command, options) in c.interface.iter().filter(|(k, _)| !k.is_empty()) {
            lines.push((format!("newgatectl {command} -"), options.clone()));
        }
        lines.extend([
            ("newgatectl explain --user ro".into(), words(&["root"])),
            ("newgatectl explain --group ro".into(), words(&["root"])),
            ("newgatectl explain --user root -- ech".into(), words(&["echo"])),
        ]);
    }
    lines
}

fn check_offers(shell: &str, line: &str, expected: &BTreeSet<String>, output: &Output) {
    let offered: BTreeSet<String> = text(&output.stdout)
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .collect();
    let missing: Vec<&String> = expected.difference(&offered).collect();
    assert!(
        missing.is_empty(),
        "{shell}, after `{line}`: {missing:?} not offered; offered {offered:?}\n{}",
        text(&output.stderr)
    );
}

#[test]
fn bash_completes_commands_options_names_and_the_command_to_run() {
    const BASH_COMPLETION: &str = "/usr/share/bash-completion/bash_completion";
    if !Path::new(BASH_COMPLETION).exists() {
        skipped("bash completions", "needs apt-get install bash-completion");
        return;
    }
    // As bash does at a TAB: the words of the line, the word under the
    // cursor, then the completion function, which fills COMPREPLY.
    let script = format!(
        r#"source {BASH_COMPLETION}
source "$1"
COMP_LINE=$2
COMP_POINT=${{#COMP_LINE}}
read -ra COMP_WORDS <<<"$COMP_LINE"
[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))
"_${{COMP_WORDS[0]}}" "${{COMP_WORDS[0]}}" "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}"
"#
    );
    for c in completions() {
        let file = repository(&format!("completions/{}.bash", c.program));
        for (line, expected) in expectations(&c) {
            let output = Command::new("bash")
                .args(["-c", &script, "bash", file.to_str().unwrap(), &line])
                .output()
                .expect("bash runs");
            check_offers("bash", &line, &expected, &output);
        }
    }
}

#[test]
fn fish_completes_commands_options_names_and_the_command_to_run() {
    let Some(_) = run_if_installed(Command::new("fish").arg("--version"), "fish completions", "fish") else {
        return;
    };
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fish-home");
    std::fs::create_dir_all(&home).unwrap();
    // fish loads a command's completions only when the command is on PATH.
    let bin = Path::new(env!("CARGO_BIN_EXE_newgate")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    for c in completions() {
        for (line, expected) in expectations(&c) {
            let output = Command::new("fish")
                .args([
                    "-c",
                    "set -p fish_complete_path $argv[1]; complete -C $argv[2]",
                    repository("completions").to_str().unwrap(),
                    &line,
                ])
                // A home of its own: the user's configuration stays out.
                .env("HOME", &home)
                .env("XDG_CONFIG_HOME", &home)
                .env("XDG_DATA_HOME", &home)
                .env("PATH", &path)
                .output()
                .expect("fish runs");
            check_offers("fish", &line, &expected, &output);
        }
    }
}
