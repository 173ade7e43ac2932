//! The Debian package as an administrator meets it: installed with dpkg on
//! this machine, a real user switching group through the installed setuid
//! `/usr/bin/newgate`, PAM stack and policy; upgraded over an edited policy;
//! removed; purged, leaving nothing behind.
//!
//! It changes the machine itself, so it runs only when asked: as root, with
//! NEWGATE_DEB naming the package (scripts/test.sh builds it and sets it).
//! On a machine with newgate already installed it skips, and says so; under
//! CI (whose machine holds only what a killed earlier run left) it purges
//! that first, and fails if it cannot.

// Each suite uses its own part of the shared support.
#[allow(dead_code)]
mod support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use newgate_testkit::{Needs, in_ci, skipped};
use support::{Harness, Outcome, PASSWORD, SENTINEL_GROUP, harness, on_tty, root_or_skip, user};

/// Runs a program as root; its exit code and everything it printed.
fn run(program: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

fn run_ok(program: &str, args: &[&str]) -> String {
    let (code, text) = run(program, args);
    assert_eq!(code, Some(0), "{program} {args:?}:\n{text}");
    text
}

/// The version of newgate that is installed (whatever was last asked of
/// dpkg: a refused removal leaves it installed but selected for removal).
fn installed_version() -> Option<String> {
    let (code, text) = run("dpkg-query", &["-W", "-f=${db:Status-Status} ${Version}", "newgate"]);
    let (status, version) = text.trim().split_once(' ')?;
    (code == Some(0) && status == "installed").then(|| version.to_string())
}

/// A PAM stack of the test's own that names the module, as an administrator's `su` might.
const STACK_USING_MODULE: &str = "/etc/pam.d/ngt-package-test";

/// Anything of newgate already on this machine: a package in any state dpkg
/// remembers, or files where the package would put its own. The test would
/// install over them and purge them, so it leaves such a machine alone.
fn traces_of_newgate() -> Vec<String> {
    let mut traces = Vec::new();
    let (code, status) = run("dpkg-query", &["-W", "-f=${db:Status-Abbrev}", "newgate"]);
    if code == Some(0) && !status.starts_with("un") {
        traces.push(format!("the package newgate (dpkg state {:?})", status.trim()));
    }
    for path in [
        "/etc/newgate",
        "/etc/pam.d/newgate",
        "/lib/x86_64-linux-gnu/security/pam_newgate.so",
        "/usr/lib/x86_64-linux-gnu/security/pam_newgate.so",
        "/usr/bin/newgate",
        "/usr/sbin/newgatectl",
        STACK_USING_MODULE,
    ] {
        if fs::symlink_metadata(path).is_ok() {
            traces.push(path.to_string());
        }
    }
    traces
}

/// What this test installs, removed: its PAM stack first (the package refuses
/// to go while a stack names the module), then the package, purged.
fn remove_an_earlier_run() {
    let _ = fs::remove_file(STACK_USING_MODULE);
    let (code, _) = run("dpkg-query", &["-W", "newgate"]);
    if code == Some(0) {
        let (code, text) = run("dpkg", &["--purge", "newgate"]);
        assert_eq!(code, Some(0), "dpkg --purge newgate (an earlier run's):\n{text}");
    }
}

/// Purges the package and removes the test's PAM stack if a failed assertion
/// left them; made only once the machine was found free of newgate.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = fs::remove_file(STACK_USING_MODULE);
        let (code, _) = run("dpkg-query", &["-W", "newgate"]);
        if code == Some(0) {
            let _ = run("dpkg", &["--purge", "newgate"]);
        }
    }
}

fn mode_and_owner(path: &str) -> (u32, u32, u32) {
    let meta = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    (meta.mode() & 0o7777, meta.uid(), meta.gid())
}

/// The names in `folder` that `wanted` picks.
fn names_in(folder: &str, wanted: impl Fn(&str) -> bool) -> Vec<String> {
    fs::read_dir(folder)
        .unwrap_or_else(|e| panic!("{folder}: {e}"))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| wanted(n))
        .collect()
}

/// Every path the package holds, folders included.
fn package_contents(deb: &Path) -> Vec<PathBuf> {
    run_ok("dpkg-deb", &["--contents", deb.to_str().unwrap()])
        .lines()
        .filter_map(|line| {
            let path = line
                .split_whitespace()
                .nth(5)?
                .trim_start_matches('.')
                .trim_end_matches('/');
            (!path.is_empty()).then(|| PathBuf::from(path))
        })
        .collect()
}

/// The same package under a later version, as an upgrade would bring it.
fn next_revision(deb: &Path, scratch: &Path) -> PathBuf {
    let tree = scratch.join("upgrade-tree");
    let _ = fs::remove_dir_all(&tree);
    run_ok(
        "dpkg-deb",
        &["--raw-extract", deb.to_str().unwrap(), tree.to_str().unwrap()],
    );
    let control = tree.join("DEBIAN/control");
    let text = fs::read_to_string(&control).unwrap();
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("Version: "))
        .unwrap()
        .to_string();
    let (upstream, revision) = version.rsplit_once('-').unwrap();
    let next = format!("{upstream}-{}", revision.parse::<u32>().unwrap() + 1);
    fs::write(
        &control,
        text.replace(&format!("Version: {version}"), &format!("Version: {next}")),
    )
    .unwrap();
    let upgraded = scratch.join(format!("newgate_{next}.deb"));
    run_ok(
        "dpkg-deb",
        &[
            "--root-owner-group",
            "--build",
            tree.to_str().unwrap(),
            upgraded.to_str().unwrap(),
        ],
    );
    upgraded
}

/// `script` run by `user` on a terminal of its own, with /dev/log bound to
/// the harness's socket, everything else the machine's own.
fn as_user_on_tty(harness: &Harness, user: &str, script: &str, answers: &[&str]) -> Outcome {
    let mut command = Command::new("/usr/bin/unshare");
    command
        .args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c"])
        .arg(
            r#"mount --bind "$1" /dev/log && exec /usr/bin/setsid --ctty /usr/bin/setpriv --reuid="$2" --regid="$2" --init-groups -- /bin/sh -c "$3""#,
        )
        .args(["sh", harness.log_socket.to_str().unwrap(), user, script])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TERM", "dumb");
    on_tty(command, answers)
}

#[test]
fn the_package_installs_switches_upgrades_and_purges_cleanly() {
    if !root_or_skip("the Debian package") {
        return;
    }
    let Some(deb) = std::env::var_os("NEWGATE_DEB").map(PathBuf::from) else {
        // CI runs scripts/test.sh as root, which sets it: under CI this skip fails.
        skipped(
            Needs::Root,
            "the Debian package",
            "installs a package on this machine; set NEWGATE_DEB to the absolute path of target/debian/newgate_*.deb, as scripts/test.sh does",
        );
        return;
    };
    assert!(
        deb.is_absolute() && deb.is_file(),
        "NEWGATE_DEB={} is not the absolute path of a file",
        deb.display()
    );
    let mut traces = traces_of_newgate();
    if !traces.is_empty() && in_ci() {
        // CI's machine holds nothing of newgate but what a killed earlier run
        // of this test left: remove it, and fail if that does not suffice.
        remove_an_earlier_run();
        traces = traces_of_newgate();
        assert!(
            traces.is_empty(),
            "under CI, what an earlier run left could not be removed: {}",
            traces.join(", ")
        );
    }
    if !traces.is_empty() {
        skipped(
            Needs::Machine,
            "the Debian package",
            &format!(
                "newgate is on this machine already: {}; the test would replace and purge it",
                traces.join(", ")
            ),
        );
        return;
    }
    let harness = harness();
    let (alice, docker, audit) = (user("alice"), user("docker"), user("audit"));
    let contents = package_contents(&deb);
    let existed_before: Vec<&PathBuf> = contents.iter().filter(|path| path.exists()).collect();
    let upgrade = next_revision(&deb, &harness.scratch);
    let _installed = Installed;

    // Install: the files, their owners and modes, the conffiles.
    run_ok("dpkg", &["--install", deb.to_str().unwrap()]);
    assert_eq!(mode_and_owner("/usr/bin/newgate"), (0o4755, 0, 0));
    assert_eq!(mode_and_owner("/usr/sbin/newgatectl"), (0o755, 0, 0));
    assert_eq!(mode_and_owner("/etc/newgate/policy"), (0o440, 0, 0));
    assert_eq!(mode_and_owner("/etc/newgate/policy.d"), (0o755, 0, 0));
    // postinst compiled the policy: the snapshot newgate uses is there.
    assert_eq!(mode_and_owner("/var/cache/newgate/policy.snapshot"), (0o600, 0, 0));
    assert_eq!(
        mode_and_owner("/lib/x86_64-linux-gnu/security/pam_newgate.so"),
        (0o644, 0, 0)
    );
    // Every installed file as packaged (dpkg --verify needs the md5sums that scripts/package.sh adds).
    assert!(
        Path::new("/var/lib/dpkg/info/newgate.md5sums").exists(),
        "the package has md5sums"
    );
    assert_eq!(run_ok("dpkg", &["--verify", "newgate"]), "");
    let conffiles = fs::read_to_string("/var/lib/dpkg/info/newgate.conffiles").unwrap();
    for conffile in ["/etc/newgate/policy", "/etc/pam.d/newgate"] {
        assert!(
            conffiles.lines().any(|l| l == conffile),
            "{conffile} is a conffile:\n{conffiles}"
        );
    }
    for (section, page) in [
        ("8", "newgate"),
        ("8", "newgatectl"),
        ("5", "newgate.policy"),
        ("8", "pam_newgate"),
    ] {
        let (code, text) = run("man", &["-w", section, page]);
        assert_eq!(code, Some(0), "man {section} {page}: {text}");
        assert!(text.starts_with("/usr/share/man/"), "{text}");
    }
    for completion in [
        "/usr/share/bash-completion/completions/newgate",
        "/usr/share/zsh/vendor-completions/_newgatectl",
        "/usr/share/fish/vendor_completions.d/newgate.fish",
        "/usr/lib/tmpfiles.d/newgate.conf",
    ] {
        assert!(Path::new(completion).is_file(), "{completion}");
    }
    let check = run_ok("/usr/sbin/newgatectl", &["check"]);
    assert!(!check.contains("warning"), "the shipped policy checks clean: {check}");

    // As shipped, the policy permits nothing.
    let id_gn = format!("/usr/bin/newgate -g {docker} /usr/bin/id -gn");
    let refused = as_user_on_tty(harness, &alice, &id_gn, &[]);
    assert_eq!(refused.code, Some(1), "{}", refused.output);
    assert!(refused.output.contains("may not run"), "{}", refused.output);

    // The administrator writes a rule with the installed newgatectl.
    let draft = harness.scratch.join("policy.new");
    let policy = format!("permit persist {alice} as group {docker}\n");
    fs::write(&draft, &policy).unwrap();
    run_ok("/usr/sbin/newgatectl", &["install", draft.to_str().unwrap()]);
    assert_eq!(mode_and_owner("/etc/newgate/policy"), (0o440, 0, 0));

    // The user switches group: pam_unix asks for the password once, persist remembers it.
    let workdir = harness.scratch.join("package-cwd");
    fs::create_dir_all(&workdir).unwrap();
    let twice = format!("cd {} && {id_gn} && {id_gn}", workdir.display());
    let switched = as_user_on_tty(harness, &alice, &twice, &[PASSWORD]);
    assert_eq!(switched.code, Some(0), "{}", switched.output);
    assert_eq!(
        switched.output.matches("password for").count(),
        1,
        "{}",
        switched.output
    );
    assert_eq!(
        switched.output.lines().filter(|l| l.trim() == docker).count(),
        2,
        "{}",
        switched.output
    );
    let other = as_user_on_tty(
        harness,
        &alice,
        &format!("/usr/bin/newgate -g {audit} /usr/bin/id"),
        &[],
    );
    assert_eq!(other.code, Some(1), "{}", other.output);
    assert!(other.output.contains("may not run"), "{}", other.output);
    // A refusal logged after the two runs, from their folder, marks the end of their lines.
    let sentinel = as_user_on_tty(
        harness,
        &alice,
        &format!(
            "cd {} && /usr/bin/newgate -g {SENTINEL_GROUP} /bin/true",
            workdir.display()
        ),
        &[],
    );
    assert_eq!(sentinel.code, Some(1), "{}", sentinel.output);
    let marker = format!("PWD={}", workdir.display());
    let audited = harness.lines_before(&marker, SENTINEL_GROUP);
    assert_eq!(audited.len(), 2, "one audit line a switch: {audited:?}");
    assert!(
        audited[0].contains(&format!(
            "GROUP={docker} ; RULE=/etc/newgate/policy:1 ; COMMAND=/usr/bin/id -gn"
        )),
        "{audited:?}"
    );
    assert_eq!(mode_and_owner("/run/newgate"), (0o700, 0, 0));

    // Upgrade: the edited policy (a conffile) stays, without a question.
    run_ok("dpkg", &["--install", upgrade.to_str().unwrap()]);
    assert!(
        installed_version().unwrap().ends_with("-2"),
        "{:?}",
        installed_version()
    );
    assert_eq!(fs::read_to_string("/etc/newgate/policy").unwrap(), policy);
    assert_eq!(mode_and_owner("/etc/newgate/policy"), (0o440, 0, 0));
    assert_eq!(mode_and_owner("/usr/bin/newgate"), (0o4755, 0, 0));
    let leftovers = names_in("/etc/newgate", |n| n.contains(".dpkg-"));
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Remove: refused while a PAM stack names the module, which would then
    // fail for everyone; then the programs go and the configuration stays.
    fs::write(STACK_USING_MODULE, "account requisite pam_newgate.so use_uid\n").unwrap();
    let (code, refusal) = run("dpkg", &["--remove", "newgate"]);
    assert_ne!(code, Some(0), "{refusal}");
    assert!(refusal.contains(STACK_USING_MODULE), "{refusal}");
    assert!(refusal.contains("NEWGATE_REMOVE_ANYWAY=1"), "{refusal}");
    assert!(installed_version().is_some(), "still installed: {refusal}");
    assert_eq!(mode_and_owner("/usr/bin/newgate"), (0o4755, 0, 0));
    fs::remove_file(STACK_USING_MODULE).unwrap();
    run_ok("dpkg", &["--remove", "newgate"]);
    for gone in [
        "/usr/bin/newgate",
        "/usr/sbin/newgatectl",
        "/lib/x86_64-linux-gnu/security/pam_newgate.so",
        "/run/newgate",
    ] {
        assert!(!Path::new(gone).exists(), "{gone} is removed");
    }
    assert_eq!(fs::read_to_string("/etc/newgate/policy").unwrap(), policy);
    assert!(Path::new("/etc/pam.d/newgate").exists());

    // Purge: nothing of the package is left.
    run_ok("dpkg", &["--purge", "newgate"]);
    assert_eq!(installed_version(), None);
    let left: Vec<&PathBuf> = contents
        .iter()
        .filter(|path| path.exists() && !existed_before.contains(path))
        .collect();
    assert!(left.is_empty(), "left behind after purge: {left:?}");
    for gone in [
        "/etc/newgate",
        "/etc/pam.d/newgate",
        "/run/newgate",
        "/var/cache/newgate",
    ] {
        assert!(!Path::new(gone).exists(), "{gone} is purged");
    }
    let info = names_in("/var/lib/dpkg/info", |n| n.starts_with("newgate."));
    assert!(info.is_empty(), "dpkg's records of the package: {info:?}");
}
