//! `newgatectl import` proven against the real sudo and doas: every file
//! of the corpus in tests/import/ is converted, and many requests (every
//! test user × targets × commands and arguments from the file and from
//! outside it × hosts) are decided by sudo (`sudo -l` run as the user, the
//! file bound over /etc/sudoers in a private mount namespace) or by doas
//! (`doas -C FILE`, run as the user), and by `newgatectl explain` on the
//! converted policy. Any disagreement fails, except that where the request
//! touches a construct the report lists, or passes one argument holding
//! spaces (sudo reads `x 'a b'` as `x a b`), newgate may deny what the
//! original permits (never the other way round).
//!
//! Root only (real users `ngi-*`, created here and removed afterwards;
//! mount namespaces), holding the root suites' lock while it runs:
//! `cargo test -p newgate --test import`.
//! sudo and opendoas are installed with apt-get when missing.
//!
//! What sudo is not asked: whether a password is needed (sudo has no way to
//! say so without running the command); doas's `-C` says `permit nopass`,
//! and that is compared.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NEWGATECTL: &str = env!("CARGO_BIN_EXE_newgatectl");
const PREFIX: &str = "ngi-";
const GROUPS: [&str; 4] = ["ngi-wheel", "ngi-ops", "ngi-dev", "ngi-docker"];
/// Each test user and the groups it is in besides its own.
const USERS: [(&str, &[&str]); 4] = [
    ("ngi-alice", &["ngi-wheel", "ngi-ops"]),
    ("ngi-bob", &["ngi-dev"]),
    ("ngi-carol", &["ngi-ops", "ngi-docker"]),
    ("ngi-dave", &[]),
];
/// Commands from outside every file of the corpus.
const OUTSIDE: [&str; 2] = ["/usr/bin/true", "/usr/bin/date"];
/// Lets `sudo -l` list as the user without a password, inside the namespace only.
const PAM_PERMIT: &str =
    "auth sufficient pam_permit.so\naccount sufficient pam_permit.so\nsession sufficient pam_permit.so\n";

fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/import")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn quiet(program: &str, args: &[&str]) {
    let _ = run(program, args);
}

/// Single quotes for sh.
fn sh(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

// ---------------------------------------------------------------- the machine

/// The test users and groups; removed when dropped (and at start, if an
/// earlier run was killed). No other root suite runs meanwhile.
struct Accounts {
    _lock: newgate_testkit::RootSuitesLock,
}

impl Accounts {
    fn create() -> Accounts {
        let lock = newgate_testkit::lock_root_suites();
        remove_accounts();
        for group in GROUPS {
            let out = run("groupadd", &[group]);
            assert!(out.status.success(), "groupadd {group}: {}", text(&out.stderr));
        }
        for (user, groups) in USERS {
            let mut args = vec!["-M", "-U", "-s", "/usr/sbin/nologin"];
            let list = groups.join(",");
            if !groups.is_empty() {
                args.extend(["-G", &list]);
            }
            args.push(user);
            let out = run("useradd", &args);
            assert!(out.status.success(), "useradd {user}: {}", text(&out.stderr));
        }
        Accounts { _lock: lock }
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        remove_accounts();
    }
}

fn remove_accounts() {
    for (file, remove) in [("/etc/passwd", "userdel"), ("/etc/group", "groupdel")] {
        for line in fs::read_to_string(file).unwrap_or_default().lines() {
            if let Some(name) = line.split(':').next().filter(|n| n.starts_with(PREFIX)) {
                quiet(remove, &[name]);
            }
        }
    }
}

/// True when the suite can run here; otherwise says what it skips.
fn ready() -> bool {
    // Said where every run shows it, counted by scripts/test.sh, a failure under CI.
    if !newgate_testkit::root_or_skip("the differential import suite against sudo and doas") {
        return false;
    }
    let missing: Vec<&str> = [("sudo", "/usr/bin/sudo"), ("opendoas", "/usr/bin/doas")]
        .into_iter()
        .filter(|(_, binary)| !Path::new(binary).exists())
        .map(|(package, _)| package)
        .collect();
    if !missing.is_empty() {
        let mut args = vec!["install", "-y", "--no-install-recommends"];
        args.extend(&missing);
        let out = Command::new("apt-get")
            .args(&args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .expect("apt-get runs");
        assert!(
            out.status.success(),
            "apt-get install {missing:?}: {}",
            text(&out.stderr)
        );
    }
    true
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("import-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Copies a file or folder for sudo: root-owned, 0440 files in 0755 folders.
fn install_copy(from: &Path, to: &Path) {
    if from.is_dir() {
        fs::create_dir_all(to).unwrap();
        fs::set_permissions(to, fs::Permissions::from_mode(0o755)).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            install_copy(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        fs::copy(from, to).unwrap();
        fs::set_permissions(to, fs::Permissions::from_mode(0o440)).unwrap();
    }
}

fn groups_of(user: &str) -> Vec<String> {
    let out = run("id", &["-Gn", user]);
    text(&out.stdout).split_whitespace().map(str::to_string).collect()
}

// ---------------------------------------------------------------- requests

#[derive(Clone, Debug)]
struct Request {
    user: &'static str,
    as_user: Option<String>,
    group: Option<String>,
    host: String,
    command: String,
    args: Vec<String>,
}

impl Request {
    fn describe(&self) -> String {
        let mut out = self.user.to_string();
        if let Some(u) = &self.as_user {
            out.push_str(&format!(" -u {u}"));
        }
        if let Some(g) = &self.group {
            out.push_str(&format!(" -g {g}"));
        }
        out.push_str(&format!(" on {}: {} {}", self.host, self.command, self.args.join(" ")));
        out
    }

    fn explain_args(&self, policy: &Path) -> Vec<String> {
        let mut args = vec![
            "explain".to_string(),
            "--policy".into(),
            policy.display().to_string(),
            "--user".into(),
            self.user.into(),
            "--host".into(),
            self.host.clone(),
        ];
        if let Some(u) = &self.as_user {
            args.extend(["--as-user".into(), u.clone()]);
        }
        if let Some(g) = &self.group {
            args.extend(["--group".into(), g.clone()]);
        }
        args.push("--".into());
        args.push(self.command.clone());
        args.extend(self.args.iter().cloned());
        args
    }
}

/// The commands a file names, each with no arguments, the arguments the
/// file gives, those and one more, and `--help`; plus commands from outside.
fn commands_of(source: &str) -> Vec<(String, Vec<String>)> {
    let mut found: BTreeSet<(String, Vec<String>)> = BTreeSet::new();
    for line in source.lines() {
        let line = line.trim_start();
        if line.starts_with("Defaults") || line.starts_with('@') || line.starts_with("#include") {
            continue;
        }
        for (at, _) in line.match_indices("/usr/bin/") {
            let rest = &line[at..];
            let end = rest.find([',', ':', '\\']).unwrap_or(rest.len());
            let mut words: Vec<String> = rest[..end].split_whitespace().map(str::to_string).collect();
            let path = words.remove(0);
            if path.contains('*') || path.ends_with('/') || !Path::new(&path).exists() {
                continue;
            }
            // doas: `args` introduces the arguments; `as`/`cmd` would belong to the rule.
            if words.first().is_some_and(|w| w == "args") {
                words.remove(0);
            }
            let words: Vec<String> = words
                .into_iter()
                .take_while(|w| !w.starts_with('#'))
                .filter(|w| w != "\"\"" && !w.contains(['*', '^', '$', '[']))
                .collect();
            found.insert((path.clone(), Vec::new()));
            if words.len() > 1 {
                // sudo matches the arguments joined by spaces: one word holding them all.
                found.insert((path.clone(), vec![words.join(" ")]));
            }
            if !words.is_empty() {
                found.insert((path.clone(), words.clone()));
                let mut more = words;
                more.push("extra".into());
                found.insert((path, more));
            }
        }
    }
    for outside in OUTSIDE {
        found.insert((outside.into(), Vec::new()));
    }
    found.into_iter().collect()
}

fn sudo_requests(source: &str, hosts: &[String]) -> Vec<Request> {
    let commands = commands_of(source);
    let mut targets: Vec<(Option<String>, Option<String>)> = vec![(None, None)];
    for user in ["root", "ngi-bob"] {
        targets.push((Some(user.into()), None));
    }
    for group in ["root", "ngi-ops", "ngi-docker"] {
        targets.push((None, Some(group.into())));
    }
    targets.extend([
        (Some("root".into()), Some("ngi-ops".into())),
        (Some("ngi-dave".into()), Some("ngi-ops".into())),
        (Some("ngi-bob".into()), Some("ngi-bob".into())),
    ]);
    let mut requests = Vec::new();
    for (user, _) in USERS {
        let mut own = targets.clone();
        own.push((Some(user.into()), None));
        own.push((None, Some(user.into())));
        for (as_user, group) in &own {
            for host in hosts {
                for (command, args) in &commands {
                    requests.push(Request {
                        user,
                        as_user: as_user.clone(),
                        group: group.clone(),
                        host: host.clone(),
                        command: command.clone(),
                        args: args.clone(),
                    });
                }
            }
        }
    }
    requests
}

// ---------------------------------------------------------------- the report

/// One item of the report, as `--json` gives it.
struct Item {
    kind: String,
    users: Option<Vec<String>>,
    command: Option<String>,
    line: String,
}

fn items(report: &serde_json::Value) -> Vec<Item> {
    report["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| Item {
            kind: i["kind"].as_str().unwrap_or_default().into(),
            users: i["users"]
                .as_array()
                .map(|a| a.iter().filter_map(|u| u.as_str()).map(str::to_string).collect()),
            command: i["command"].as_str().map(str::to_string),
            line: format!(
                "{}:{}: {}",
                i["file"].as_str().unwrap_or_default(),
                i["line"],
                i["what"]
            ),
        })
        .collect()
}

fn glob_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = match text.strip_prefix(parts[0]) {
        Some(r) => r,
        None => return false,
    };
    for (i, part) in parts[1..].iter().enumerate() {
        let last = i == parts.len() - 2;
        if last {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Whether a request touches a reported construct (see the module comment).
fn touches(item: &Item, request: &Request) -> bool {
    let target_user = request.as_user.as_deref().unwrap_or(match request.group {
        Some(_) => request.user,
        None => "root",
    });
    match item.kind.as_str() {
        // Decisions are the same with or without these.
        "ignored" => false,
        "own-group" => request
            .group
            .as_ref()
            .is_some_and(|g| groups_of(target_user).contains(g)),
        "root-group" => request.as_user.as_deref() == Some("root") && request.group.is_some(),
        _ => {
            let caller_groups = groups_of(request.user);
            let user_ok = item.users.as_ref().is_none_or(|users| {
                users.iter().any(|u| match u.strip_prefix('%') {
                    Some(g) => caller_groups.iter().any(|c| c == g),
                    None => u == request.user,
                })
            });
            let command_ok = item.command.as_ref().is_none_or(|c| {
                !c.starts_with('/')
                    || glob_matches(c, &request.command)
                    || Path::new(c).file_name() == Path::new(&request.command).file_name()
            });
            user_ok && command_ok
        }
    }
}

/// The verdicts compared: (original, newgate) for each request; true is permit.
fn judge(what: &str, requests: &[Request], verdicts: &[(bool, bool)], report: &[Item]) -> (usize, Vec<String>) {
    let mut excused = 0;
    let mut failures = Vec::new();
    for (request, &(original, newgate)) in requests.iter().zip(verdicts) {
        if original == newgate {
            continue;
        }
        // sudo reads `x 'a b'` as `x a b`; newgate compares word by word
        // (migration.md, "Arguments are words") and permits only the words.
        let joined_words = request.args.iter().any(|a| a.contains(' '));
        if original && !newgate && (joined_words || report.iter().any(|item| touches(item, request))) {
            excused += 1;
            continue;
        }
        let reported: Vec<&str> = report.iter().map(|i| i.line.as_str()).collect();
        failures.push(format!(
            "{what}: {}: the original {}, newgate {} (report: {})",
            request.describe(),
            if original { "permits" } else { "denies" },
            if newgate { "permits" } else { "denies" },
            if reported.is_empty() {
                "empty".to_string()
            } else {
                reported.join("; ")
            },
        ));
    }
    (excused, failures)
}

// ---------------------------------------------------------------- sudoers

/// Converts and decides one sudoers file of the corpus inside a private
/// mount namespace where it is /etc/sudoers (and its `NAME.d` folder, or an
/// empty one, is /etc/sudoers.d).
fn sudoers_case(name: &str, hostname: &str) -> (usize, usize, Vec<String>) {
    let work = scratch(name);
    let source = corpus().join("sudoers").join(name);
    let content = fs::read_to_string(&source).unwrap();
    install_copy(&source, &work.join("sudoers"));
    let folder = corpus().join("sudoers").join(format!("{name}.d"));
    if folder.is_dir() {
        install_copy(&folder, &work.join("sudoers.d"));
    } else {
        fs::create_dir_all(work.join("sudoers.d")).unwrap();
    }
    fs::write(work.join("pam-sudo"), PAM_PERMIT).unwrap();
    let mut hosts = vec![hostname.to_string()];
    if name.starts_with("fleet") {
        // sudo matches a host name without a `.` against the short name.
        hosts.extend(["web1", "db2", "web1.example.com", "DB2.example.com"].map(String::from));
    }
    let requests = sudo_requests(&content, &hosts);
    let policy = work.join("policy");
    let report = work.join("report.json");
    let mut script = format!(
        "set -u\n\
         mount --bind {work}/sudoers /etc/sudoers\n\
         mount --bind {work}/sudoers.d /etc/sudoers.d\n\
         mount --bind {work}/pam-sudo /etc/pam.d/sudo\n\
         if [ -d /run/sudo ]; then mount -t tmpfs tmpfs /run/sudo; fi\n\
         {ctl} import sudoers /etc/sudoers --out {policy} --json --report {report}; echo \"IMPORT $?\"\n\
         {ctl} check --no-lookups {policy} >/dev/null 2>{work}/check.err; echo \"CHECK $?\"\n",
        work = sh(&work.display().to_string()),
        ctl = sh(NEWGATECTL),
        policy = sh(&policy.display().to_string()),
        report = sh(&report.display().to_string()),
    );
    for (i, r) in requests.iter().enumerate() {
        let mut sudo = format!(
            "setpriv --reuid {u} --regid {u} --init-groups sudo -l -h {h}",
            u = sh(r.user),
            h = sh(&r.host)
        );
        if let Some(u) = &r.as_user {
            sudo.push_str(&format!(" -u {}", sh(u)));
        }
        if let Some(g) = &r.group {
            sudo.push_str(&format!(" -g {}", sh(g)));
        }
        sudo.push_str(&format!(" {}", sh(&r.command)));
        for a in &r.args {
            sudo.push_str(&format!(" {}", sh(a)));
        }
        let explain: Vec<String> = r.explain_args(&policy).iter().map(|a| sh(a)).collect();
        script.push_str(&format!(
            "{sudo} </dev/null >/dev/null 2>&1; s=$?\n{} {} </dev/null >/dev/null 2>&1; n=$?\necho \"R {i} $s $n\"\n",
            sh(NEWGATECTL),
            explain.join(" ")
        ));
    }
    let script_file = work.join("decide.sh");
    fs::write(&script_file, &script).unwrap();
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh"])
        .arg(&script_file)
        .output()
        .expect("unshare runs");
    let stdout = text(&out.stdout);
    let import_code = stdout
        .lines()
        .find_map(|l| l.strip_prefix("IMPORT "))
        .unwrap_or_else(|| panic!("{name}: the script did not run:\n{}", text(&out.stderr)));
    assert!(
        import_code == "0" || import_code == "3",
        "{name}: newgatectl import exited {import_code}:\n{}",
        text(&out.stderr)
    );
    assert_eq!(
        stdout.lines().find_map(|l| l.strip_prefix("CHECK ")),
        Some("0"),
        "{name}: the converted policy does not pass `newgatectl check`:\n{}",
        fs::read_to_string(work.join("check.err")).unwrap_or_default()
    );
    let report_json: serde_json::Value = serde_json::from_str(&fs::read_to_string(&report).unwrap()).unwrap();
    let report_items = items(&report_json);
    assert_eq!(
        import_code == "0",
        report_items.is_empty(),
        "{name}: exit 0 exactly when the report is empty"
    );
    let mut verdicts = vec![None; requests.len()];
    for line in stdout.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["R", i, s, n] = words[..] {
            let newgate = match n {
                "0" => true,
                "1" => false,
                other => panic!(
                    "{name}: explain exited {other} for {}",
                    requests[i.parse::<usize>().unwrap()].describe()
                ),
            };
            verdicts[i.parse::<usize>().unwrap()] = Some((s == "0", newgate));
        }
    }
    let verdicts: Vec<(bool, bool)> = verdicts
        .into_iter()
        .map(|v| v.unwrap_or_else(|| panic!("{name}: a request was not decided:\n{}", text(&out.stderr))))
        .collect();
    let (excused, failures) = judge(name, &requests, &verdicts, &report_items);
    let _ = fs::remove_dir_all(&work);
    (requests.len(), excused, failures)
}

// ---------------------------------------------------------------- doas

fn doas_requests(source: &str) -> Vec<Request> {
    let commands = commands_of(source);
    let mut requests = Vec::new();
    for (user, _) in USERS {
        for as_user in [None, Some("root"), Some("ngi-dave"), Some("ngi-bob"), Some(user)] {
            for (command, args) in &commands {
                requests.push(Request {
                    user,
                    as_user: as_user.map(str::to_string),
                    group: None,
                    host: "localhost".into(),
                    command: command.clone(),
                    args: args.clone(),
                });
            }
        }
    }
    requests
}

fn doas_case(name: &str) -> (usize, usize, Vec<String>) {
    let work = scratch(name);
    let file = work.join(name);
    fs::copy(corpus().join("doas").join(name), &file).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    let policy = work.join("policy");
    let out = run(
        NEWGATECTL,
        &[
            "import",
            "doas",
            file.to_str().unwrap(),
            "--out",
            policy.to_str().unwrap(),
            "--json",
        ],
    );
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 3)),
        "{name}: import exited {code:?}:\n{}",
        text(&out.stderr)
    );
    let report_json: serde_json::Value = serde_json::from_str(&text(&out.stderr)).expect("a JSON report");
    let report_items = items(&report_json);
    assert_eq!(
        code == Some(0),
        report_items.is_empty(),
        "{name}: exit 0 exactly when the report is empty"
    );
    let check = run(NEWGATECTL, &["check", "--no-lookups", policy.to_str().unwrap()]);
    assert!(check.status.success(), "{name}: check:\n{}", text(&check.stderr));
    let requests = doas_requests(&fs::read_to_string(&file).unwrap());
    let mut verdicts = Vec::new();
    let mut failures = Vec::new();
    for r in &requests {
        let mut doas = Command::new("setpriv");
        doas.args(["--reuid", r.user, "--regid", r.user, "--init-groups", "doas", "-C"])
            .arg(&file);
        if let Some(u) = &r.as_user {
            doas.args(["-u", u]);
        }
        doas.arg(&r.command).args(&r.args);
        let said = text(&doas.output().expect("doas runs").stdout).trim().to_string();
        let explained = run(
            NEWGATECTL,
            &r.explain_args(&policy).iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let permitted = explained.status.code() == Some(0);
        assert!(
            matches!(explained.status.code(), Some(0 | 1)),
            "{name}: explain failed for {}: {}",
            r.describe(),
            text(&explained.stderr)
        );
        let original = said.starts_with("permit");
        verdicts.push((original, permitted));
        // Both permit: the password must be asked the same way.
        if original && permitted {
            let nopass = text(&explained.stdout).contains("nopass");
            if nopass != (said == "permit nopass") {
                failures.push(format!(
                    "{name}: {}: doas says `{said}`, newgate nopass={nopass}",
                    r.describe()
                ));
            }
        }
    }
    let (excused, mut judged) = judge(name, &requests, &verdicts, &report_items);
    failures.append(&mut judged);
    let _ = fs::remove_dir_all(&work);
    (requests.len(), excused, failures)
}

// ---------------------------------------------------------------- the tests

#[test]
fn converted_policies_decide_as_sudo_and_doas_do() {
    if !ready() {
        return;
    }
    let _accounts = Accounts::create();
    let hostname = text(&run("hostname", &[]).stdout).trim().to_string();
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut sudoers: Vec<String> = fs::read_dir(corpus().join("sudoers"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".d"))
        .collect();
    sudoers.sort();
    // NEWGATE_IMPORT_ONLY=NAME runs the files whose names contain NAME.
    let only = std::env::var("NEWGATE_IMPORT_ONLY").ok();
    let chosen = |name: &String| only.as_ref().is_none_or(|o| name.contains(o.as_str()));
    sudoers.retain(chosen);
    for name in &sudoers {
        let (requests, excused, mut failed) = sudoers_case(name, &hostname);
        say(&format!(
            "sudoers {name}: {requests} requests, {excused} excused by the report, {} disagreements",
            failed.len()
        ));
        for failure in failed.iter().take(12) {
            say(failure);
        }
        cases += 1;
        failures.append(&mut failed);
    }
    let mut doas: Vec<String> = fs::read_dir(corpus().join("doas"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    doas.sort();
    doas.retain(chosen);
    for name in &doas {
        let (requests, excused, mut failed) = doas_case(name);
        say(&format!(
            "doas {name}: {requests} requests, {excused} excused by the report, {} disagreements",
            failed.len()
        ));
        cases += 1;
        failures.append(&mut failed);
    }
    say(&format!("{cases} files in {:.1?}", started.elapsed()));
    assert!(only.is_some() || cases >= 8, "the corpus is missing");
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures[..failures.len().min(60)].join("\n")
    );
}

/// Bad sources: a clear error, exit 1, and nothing on disk. Needs no root.
#[test]
fn bad_sources_are_refused_and_nothing_is_written() {
    let work = scratch("invalid");
    let junk = work.join("junk");
    fs::write(&junk, [0x7f, b'E', b'L', b'F', 0, 1, 2, 0xff, 0xfe]).unwrap();
    let large = work.join("large");
    let file = fs::File::create(&large).unwrap();
    file.set_len(100 << 20).unwrap();
    let invalid = corpus().join("invalid");
    let cases: Vec<(&str, PathBuf, &str)> = vec![
        ("sudoers", junk.clone(), "not a text file"),
        ("doas", junk, "not a text file"),
        ("sudoers", large, "larger than"),
        ("sudoers", invalid.join("loop"), "include loop"),
        (
            "sudoers",
            invalid.join("missing-include"),
            "cannot read the included file",
        ),
        ("sudoers", invalid.join("syntax"), "expected `)`"),
        (
            "sudoers",
            invalid.join("undefined-alias"),
            "alias ADMINS is not defined",
        ),
        ("doas", invalid.join("syntax.conf"), "cannot be combined"),
        ("sudoers", work.join("absent"), "cannot read"),
    ];
    for (kind, source, message) in cases {
        let out_file = work.join("policy");
        let out = run(
            NEWGATECTL,
            &[
                "import",
                kind,
                source.to_str().unwrap(),
                "--out",
                out_file.to_str().unwrap(),
            ],
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", source.display());
        assert!(stderr.contains(message), "{}: {stderr}", source.display());
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!out_file.exists(), "{}: a policy was written", source.display());
        let leftovers: Vec<_> = fs::read_dir(&work)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }
    let _ = fs::remove_dir_all(&work);
}

/// `--out` never replaces a file unless `--force` says so; usage errors exit 2.
#[test]
fn an_existing_output_is_kept_without_force() {
    let work = scratch("force");
    let source = work.join("doas.conf");
    fs::write(&source, "permit nopass alice as root cmd /usr/bin/id args\n").unwrap();
    let out_file = work.join("policy");
    fs::write(&out_file, "keep me\n").unwrap();
    let args = [
        "import",
        "doas",
        source.to_str().unwrap(),
        "--out",
        out_file.to_str().unwrap(),
    ];
    let refused = run(NEWGATECTL, &args);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert_eq!(fs::read_to_string(&out_file).unwrap(), "keep me\n");
    let forced = run(NEWGATECTL, &[&args[..], &["--force"]].concat());
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));
    let policy = fs::read_to_string(&out_file).unwrap();
    assert!(policy.starts_with("# Converted from doas.conf "), "{policy}");
    assert!(
        policy.contains("# from doas.conf:1\npermit nopass alice as user root cmd /usr/bin/id args\n"),
        "{policy}"
    );
    assert_eq!(run(NEWGATECTL, &["import", "ldap"]).status.code(), Some(2));
    let _ = fs::remove_dir_all(&work);
}

/// The converted policy and the report hold the source's rules, which sudo
/// keeps from other users (0440): they are written for their owner alone,
/// whatever the umask, even in a folder others can read.
#[test]
fn the_converted_policy_and_report_are_the_owners_alone() {
    let work = scratch("private");
    let source = work.join("doas.conf");
    fs::write(
        &source,
        "permit nopass alice as root cmd /usr/bin/id args\npermit bob cmd ls\n",
    )
    .unwrap();
    let (policy, report) = (work.join("policy"), work.join("report"));
    let out = run(
        NEWGATECTL,
        &[
            "import",
            "doas",
            source.to_str().unwrap(),
            "--out",
            policy.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    for file in [&policy, &report] {
        let mode = fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}: {mode:o}", file.display());
    }
    let _ = fs::remove_dir_all(&work);
}

/// A `Defaults@HOST` that tightens a rule applies to the rule when the two
/// hosts may be one: `web1` in a rule is also web1.example.com to sudo.
/// Found by a review: the `noexec` of `Defaults@web1.example.com` was
/// dropped, and vi ran without it there.
#[test]
fn a_host_scoped_default_that_tightens_a_rule_is_kept_on_the_long_name() {
    let work = scratch("host-defaults");
    let (source, policy) = (work.join("sudoers"), work.join("policy"));
    for (defaults, host, kept) in [
        ("Defaults@web1.example.com noexec", "web1", true),
        ("Defaults@web1 noexec", "web*", true),
        ("Defaults@db1 noexec", "web1", false),
    ] {
        fs::write(&source, format!("{defaults}\nalice {host} = /usr/bin/vi\n")).unwrap();
        let _ = fs::remove_file(&policy);
        let out = import_into("sudoers", &source, &policy);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
        let converted = fs::read_to_string(&policy).unwrap();
        let rule = converted.lines().find(|l| l.contains("cmd /usr/bin/vi")).unwrap();
        // newgate has no noexec: where it applies, vi is denied.
        assert_eq!(rule.starts_with("deny "), kept, "{defaults} / {host}: {converted}");
    }
    let _ = fs::remove_dir_all(&work);
}

/// Debian's sudo (built with `fqdn`) matches `!web1.example.com` against the
/// machine's fully qualified name, where newgate sees `gethostname()`, often
/// `web1`: the exclusion covers the short name too. Found by a review.
#[test]
fn a_negated_fully_qualified_host_is_excluded_by_its_short_name_too() {
    let work = scratch("negated-fqdn");
    let (source, policy) = (work.join("sudoers"), work.join("policy"));
    fs::write(&source, "alice ALL, !web1.example.com = ALL\n").unwrap();
    let out = import_into("sudoers", &source, &policy);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let converted = fs::read_to_string(&policy).unwrap();
    assert!(
        converted
            .lines()
            .any(|l| l == "deny alice as user root on web1.example.com, web1, web1.*"),
        "{converted}"
    );
    let _ = fs::remove_dir_all(&work);
}

/// `newgatectl import KIND SOURCE --out POLICY`.
fn import_into(kind: &str, source: &Path, policy: &Path) -> Output {
    run(
        NEWGATECTL,
        &[
            "import",
            kind,
            source.to_str().unwrap(),
            "--out",
            policy.to_str().unwrap(),
        ],
    )
}

/// A rule or an alias that newgate would refuse (a name it cannot hold)
/// stops the conversion with its line: leaving out even a permit could hand
/// a request to an earlier, looser rule. A setting newgate refuses is left
/// out and reported, its default permitting no more. Found by the
/// `import_doas` and `import_sudoers` fuzz targets: the converter used to
/// stop with "the converted policy does not load (a bug of the converter)".
#[test]
fn what_newgate_cannot_hold_is_refused_or_reported() {
    let work = scratch("unrepresentable");
    let out_file = work.join("policy");
    let import = |kind: &str, name: &str, source: &str| {
        let path = work.join(name);
        fs::write(&path, source).unwrap();
        let _ = fs::remove_file(&out_file);
        let out = import_into(kind, &path, &out_file);
        (path.display().to_string(), out.status.code(), text(&out.stderr))
    };

    let refused = [
        (
            "doas",
            "doas.conf",
            "permit nopass alice as root\npermit setenv { 1X=y } alice as root cmd /usr/bin/passwd\n",
            ":2: newgate cannot hold this line: `1X` is not a variable name",
        ),
        (
            "sudoers",
            "sudoers",
            "alice ALL=(root) NOPASSWD: ALL\n\"al\\,ice\", alice ALL=(root) PASSWD: /usr/bin/passwd\n",
            ":2: newgate cannot hold this line: `al,ice` is not a user name",
        ),
        (
            "doas",
            "doas.conf",
            "permit nopass alice as root\ndeny \"a,b\" as root\n",
            ":2: newgate cannot hold this line: `a,b` is not a user name",
        ),
        (
            "sudoers",
            "sudoers",
            "Cmnd_Alias SHELLS = /usr/b[in/bash\nalice ALL = (root) SHELLS\n",
            ":1: newgate cannot hold this alias: bad command pattern",
        ),
    ];
    for (kind, name, source, said) in refused {
        let (path, code, stderr) = import(kind, name, source);
        assert_eq!(code, Some(1), "{source}: {stderr}");
        assert!(stderr.contains(&format!("{path}{said}")), "{source}: {stderr}");
        assert!(stderr.contains("nothing was written"), "{stderr}");
        assert!(!out_file.exists(), "{source}: a policy was written");
    }

    let reported = [
        (
            "Defaults secure_path=\"/usr/bin:./bin\"\nroot ALL=(ALL:ALL) ALL\n",
            ":1: the setting `secure_path`, newgate refuses it: invalid value for `secure_path`",
            "secure_path",
        ),
        (
            "Defaults env_keep += \"LD_PRELOAD BAD-NAME LANG\"\nroot ALL=(ALL:ALL) ALL\n",
            ":1: Defaults env_keep naming LD_PRELOAD BAD-NAME, ",
            "LD_PRELOAD",
        ),
        (
            "Defaults:alice env_keep += \"LD_PRELOAD LANG\"\nalice ALL=(root) /usr/bin/id\n",
            ":1: Defaults env_keep naming LD_PRELOAD, ",
            "LD_PRELOAD",
        ),
    ];
    for (source, said, left_out) in reported {
        let (path, code, stderr) = import("sudoers", "sudoers", source);
        assert_eq!(code, Some(3), "{source}: {stderr}");
        assert!(stderr.contains(&format!("{path}{said}")), "{source}: {stderr}");
        let policy = fs::read_to_string(&out_file).unwrap();
        assert!(!policy.contains(left_out), "{source}: {policy}");
        assert!(policy.contains("permit "), "{source}: the rules are kept: {policy}");
    }
    let policy = fs::read_to_string(&out_file).unwrap();
    assert!(policy.contains("setenv { LANG }"), "{policy}");
    let _ = fs::remove_dir_all(&work);
}

/// A permit that cannot be kept becomes a deny of what it covers: left out,
/// it would hand its requests to an earlier, looser rule (here `nopass` for
/// everything), so that the converted policy permitted more than the source.
#[test]
fn a_permit_that_cannot_be_kept_does_not_fall_back_to_an_earlier_one() {
    let work = scratch("fallback");
    let cases = [
        (
            "sudoers",
            "sudoers",
            "alice ALL=(root) NOPASSWD: ALL\nalice ALL=(root) NOEXEC: /usr/bin/less\n",
            "/usr/bin/less",
        ),
        (
            "sudoers",
            "sudoers",
            "alice ALL=(root) NOPASSWD: ALL\nalice ALL=(root) sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef /usr/bin/less\n",
            "/usr/bin/less",
        ),
        (
            "doas",
            "doas.conf",
            "permit nopass alice as root\npermit alice as root cmd ls\n",
            "/usr/bin/ls",
        ),
    ];
    for (kind, name, source, command) in cases {
        let path = work.join(name);
        let policy = work.join("policy");
        fs::write(&path, source).unwrap();
        let _ = fs::remove_file(&policy);
        let out = import_into(kind, &path, &policy);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{source}: {stderr}");
        assert!(
            stderr.contains(":2: ") && stderr.contains("the requests it covers are denied"),
            "{stderr}"
        );
        let explain = |command: &str| {
            run(
                NEWGATECTL,
                &[
                    "explain",
                    "--policy",
                    policy.to_str().unwrap(),
                    "--user",
                    "alice",
                    "--member-of",
                    "alice",
                    "--as-user",
                    "root",
                    "--",
                    command,
                ],
            )
        };
        let refused = explain(command);
        assert_eq!(refused.status.code(), Some(1), "{source}: {}", text(&refused.stdout));
        let other = explain("/usr/bin/id");
        assert_eq!(other.status.code(), Some(0), "{source}: {}", text(&other.stdout));
        assert!(
            text(&other.stdout).contains("options: nopass"),
            "{}",
            text(&other.stdout)
        );
    }
    let _ = fs::remove_dir_all(&work);
}
