//! newgate's pam-auth-update profile (debian/pam-configs-newgate, installed as
//! /usr/share/pam-configs/newgate) with the machine's own `pam-auth-update`
//! (Debian's libpam-runtime): `--enable newgate` puts pam_newgate.so in the
//! common stacks, a login through `su -l` then gets the group a `grant` rule
//! gives, `--disable newgate` restores the stacks; the package's prerm
//! takes the profile out the Debian way where it would otherwise refuse, and
//! its postinst writes an enabled profile's lines again on upgrade.
//!
//! Nothing of the machine's PAM configuration changes: each test works in a
//! private mount namespace where /etc, /var/lib/pam, /usr/share/pam-configs,
//! debconf's database and the PAM module folder are overlays whose changes
//! land in the test's scratch folder. The users are the shared harness's
//! (`ngt-*`, removed afterwards), and so is the root suites' lock it holds:
//! `cargo test -p newgate-tests --test pam_auth_update`.

// Each suite uses its own part of the shared support.
#[allow(dead_code)]
mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use support::{Harness, Outcome, PASSWORD, built_binary, harness, on_tty_at, policy, root_or_skip, user};

/// Where Linux-PAM looks for modules named without a path (Debian, amd64).
const MODULE_DIR: &str = "/usr/lib/x86_64-linux-gnu/security";

/// The folders the namespace overlays, each with the name of its scratch folder.
const OVERLAID: [(&str, &str); 5] = [
    ("/etc", "etc"),
    ("/var/lib/pam", "pam-state"),
    ("/usr/share/pam-configs", "pam-configs"),
    ("/var/cache/debconf", "debconf"),
    (MODULE_DIR, "modules"),
];

const COMMON: [&str; 5] = [
    "common-auth",
    "common-account",
    "common-password",
    "common-session",
    "common-session-noninteractive",
];

fn repository(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// A private mount namespace with the profile and the freshly built module
/// installed, and `policy` as /etc/newgate/policy.
struct Machine {
    holder: Child,
    dir: PathBuf,
    harness: &'static Harness,
}

impl Machine {
    fn new(name: &str, policy: &str) -> Machine {
        let harness = harness();
        let dir = harness.scratch.join(name);
        let _ = fs::remove_dir_all(&dir);
        for (_, sub) in OVERLAID {
            fs::create_dir_all(dir.join(sub).join("upper")).unwrap();
            fs::create_dir_all(dir.join(sub).join("work")).unwrap();
        }
        let install = |from: &Path, to: PathBuf, mode: u32| {
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            fs::copy(from, &to).unwrap();
            fs::set_permissions(&to, fs::Permissions::from_mode(mode)).unwrap();
        };
        install(
            &repository("debian/pam-configs-newgate"),
            dir.join("pam-configs/upper/newgate"),
            0o644,
        );
        install(
            &built_binary("libpam_newgate.so"),
            dir.join("modules/upper/pam_newgate.so"),
            0o644,
        );
        let policy_file = dir.join("etc/upper/newgate/policy");
        fs::create_dir_all(policy_file.parent().unwrap()).unwrap();
        fs::write(&policy_file, policy).unwrap();
        fs::set_permissions(&policy_file, fs::Permissions::from_mode(0o440)).unwrap();
        for sub in walk(&dir) {
            if sub.is_dir() {
                fs::set_permissions(&sub, fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        let mounts: String = OVERLAID
            .iter()
            .map(|(path, sub)| {
                let d = dir.join(sub);
                format!(
                    "mount -t overlay overlay -o lowerdir={path},upperdir={u},workdir={w} {path}\n",
                    u = d.join("upper").display(),
                    w = d.join("work").display()
                )
            })
            .collect();
        // A /run of its own: the postinst makes /run/newgate where systemd runs.
        let setup = format!(
            "set -e\n{mounts}mount -t tmpfs -o mode=0755 tmpfs /run\nmount --bind {log} /dev/log\necho ready\nexec sleep 100000",
            log = harness.log_socket.display()
        );
        let holder = support::hold_namespace(&setup);
        Machine { holder, dir, harness }
    }

    /// A path as the namespace sees it.
    fn inside(&self, path: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root{path}", self.holder.id()))
    }

    fn read(&self, path: &str) -> String {
        fs::read_to_string(self.inside(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn common_stacks(&self) -> Vec<(String, String)> {
        COMMON
            .iter()
            .map(|name| (name.to_string(), self.read(&format!("/etc/pam.d/{name}"))))
            .collect()
    }

    /// pam-auth-update's saved state of the stacks (not `seen`, which only grows).
    fn saved_state(&self) -> Vec<(String, String)> {
        ["auth", "account", "password", "session", "session-noninteractive"]
            .iter()
            .map(|name| (name.to_string(), self.read(&format!("/var/lib/pam/{name}"))))
            .collect()
    }

    /// A program run as root in the namespace, as a maintainer script runs:
    /// no terminal, debconf not asking.
    fn root(&self, argv: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
        let out = Command::new("/usr/bin/nsenter")
            .arg(format!("--mount=/proc/{}/ns/mnt", self.holder.id()))
            .args(["--wd=/", "--"])
            .args(argv)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    }

    fn pam_auth_update(&self, args: &[&str]) {
        let argv: Vec<&str> = ["pam-auth-update"].iter().chain(args).copied().collect();
        let (code, text) = self.root(&argv, &[]);
        assert_eq!(code, Some(0), "pam-auth-update {args:?}:\n{text}");
        assert!(
            !text.contains("Local modifications"),
            "pam-auth-update {args:?}:\n{text}"
        );
    }

    fn prerm_remove(&self, env: &[(&str, &str)]) -> (Option<i32>, String) {
        let prerm = repository("debian/prerm");
        self.root(&["/bin/sh", prerm.to_str().unwrap(), "remove"], env)
    }

    fn postinst_configure(&self) {
        let postinst = repository("debian/postinst");
        let (code, text) = self.root(&["/bin/sh", postinst.to_str().unwrap(), "configure"], &[]);
        assert_eq!(code, Some(0), "postinst configure:\n{text}");
    }

    /// bob logs in as alice with `su -l` on a terminal, typing alice's
    /// password; the groups alice's shell has.
    fn su_login_groups(&self) -> String {
        let mut command = Command::new("/usr/bin/nsenter");
        command
            .arg(format!("--mount=/proc/{}/ns/mnt", self.holder.id()))
            .args(["--wd=/", "--", "/usr/bin/setsid", "--ctty", "/usr/bin/setpriv"])
            .arg(format!("--reuid={}", user("bob")))
            .arg(format!("--regid={}", user("bob")))
            .args(["--init-groups", "--", "/bin/su", "-l", &user("alice"), "-c", "id -Gn"])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("TERM", "dumb");
        let Outcome { code, output } = on_tty_at(command, "Password:", &[PASSWORD]);
        assert_eq!(code, Some(0), "su -l:\n{output}");
        let alice = user("alice");
        output
            .lines()
            .find(|line| line.split_whitespace().next() == Some(alice.as_str()))
            .unwrap_or_else(|| panic!("no groups in the output of su -l:\n{output}"))
            .trim()
            .to_string()
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `dir` and everything under it.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = vec![dir.to_path_buf()];
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                found.extend(walk(&entry.path()));
            }
        }
    }
    found
}

/// The stack's lines that name pam_newgate.so, each as its words.
fn module_lines(stack: &str) -> Vec<Vec<&str>> {
    stack
        .lines()
        .filter(|line| !line.trim_start().starts_with('#') && line.contains("pam_newgate.so"))
        .map(|line| line.split_whitespace().collect())
        .collect()
}

/// Whether the stack's line for pam_newgate.so is `TYPE optional pam_newgate.so`,
/// after the stock pam_permit line, where pam-auth-update puts the "Additional" modules.
fn in_additional_block(stack: &str, kind: &str) -> bool {
    let Some((_, additional)) = stack.split_once("# and here are more per-package modules") else {
        return false;
    };
    module_lines(stack) == vec![vec![kind, "optional", "pam_newgate.so"]]
        && module_lines(additional) == module_lines(stack)
}

fn grant_policy() -> String {
    policy("grant alice group docker service su-l\n")
}

#[test]
fn enabling_the_profile_grants_at_login_and_disabling_restores_the_stacks() {
    if !root_or_skip("pam-auth-update and newgate's profile") {
        return;
    }
    let machine = Machine::new("enable-disable", &grant_policy());
    let (alice, docker) = (user("alice"), user("docker"));
    let (stacks_before, state_before) = (machine.common_stacks(), machine.saved_state());
    assert_eq!(
        machine.su_login_groups(),
        alice,
        "without the profile, su -l grants nothing"
    );

    machine.pam_auth_update(&["--enable", "newgate"]);
    let stacks = machine.common_stacks();
    let stack = |name: &str| &stacks.iter().find(|(n, _)| n == name).unwrap().1;
    assert!(
        in_additional_block(stack("common-auth"), "auth"),
        "{}",
        stack("common-auth")
    );
    assert!(
        in_additional_block(stack("common-session"), "session"),
        "{}",
        stack("common-session")
    );
    // Not in the account stack (every service's switch would be decided by
    // the policy), nor in non-interactive sessions (cron, newgate's own service).
    for name in ["common-account", "common-password", "common-session-noninteractive"] {
        assert!(module_lines(stack(name)).is_empty(), "{name}:\n{}", stack(name));
    }

    assert_eq!(machine.su_login_groups(), format!("{alice} {docker}"));
    let granted = format!("pam_newgate(su-l:setcred): {alice}: granted group {docker} (/etc/newgate/policy:1)");
    assert_eq!(machine.harness.wait_for_log(&granted, 1).len(), 1, "{granted}");
    let session = format!("pam_newgate(su-l:session): session opened for {alice}");
    assert_eq!(machine.harness.wait_for_log(&session, 1).len(), 1, "{session}");

    machine.pam_auth_update(&["--disable", "newgate"]);
    assert_eq!(machine.common_stacks(), stacks_before, "--disable restores the stacks");
    assert_eq!(machine.saved_state(), state_before);
    assert_eq!(machine.su_login_groups(), alice, "disabled, su -l grants nothing");
    assert_eq!(machine.harness.log_lines(&granted).len(), 1, "no grant after --disable");
}

#[test]
fn removing_the_package_takes_an_enabled_profile_out_instead_of_refusing() {
    if !root_or_skip("prerm with newgate's profile enabled") {
        return;
    }
    let machine = Machine::new("prerm-profile", &grant_policy());
    let (stacks_before, state_before) = (machine.common_stacks(), machine.saved_state());
    machine.pam_auth_update(&["--enable", "newgate"]);
    assert_ne!(machine.common_stacks(), stacks_before);

    let (code, text) = machine.prerm_remove(&[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("newgate:"), "no refusal, no warning:\n{text}");
    assert_eq!(machine.common_stacks(), stacks_before, "the profile is taken out");
    assert_eq!(machine.saved_state(), state_before);
    assert!(
        !machine.read("/var/lib/pam/seen").lines().any(|l| l == "newgate"),
        "pam-auth-update forgets the profile"
    );
}

#[test]
fn removing_the_package_still_refuses_a_stack_written_by_hand() {
    if !root_or_skip("prerm with pam_newgate.so written into a stack") {
        return;
    }
    let machine = Machine::new("prerm-by-hand", &grant_policy());
    machine.pam_auth_update(&["--enable", "newgate"]);
    let enabled = machine.common_stacks();

    // An administrator's own line, beside the profile's.
    let by_hand = machine.inside("/etc/pam.d/ngt-login");
    fs::write(&by_hand, "auth optional pam_newgate.so\n").unwrap();
    let (code, text) = machine.prerm_remove(&[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("    /etc/pam.d/ngt-login\n"), "{text}");
    assert!(
        !text.contains("common-"),
        "the profile's lines are not the refusal's:\n{text}"
    );
    assert_eq!(machine.common_stacks(), enabled, "a refusal changes nothing");
    fs::remove_file(&by_hand).unwrap();

    // A line added by hand in pam-auth-update's block: pam-auth-update leaves
    // such a stack alone, so the module would stay in it.
    let session = machine.inside("/etc/pam.d/common-session");
    let edited = machine.read("/etc/pam.d/common-session").replace(
        "# end of pam-auth-update config",
        "session\toptional\tpam_umask.so\n# end of pam-auth-update config",
    );
    fs::write(&session, &edited).unwrap();
    let (code, text) = machine.prerm_remove(&[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("pam-auth-update did not take the newgate profile out"),
        "{text}"
    );
    assert!(text.contains("    /etc/pam.d/common-session\n"), "{text}");
    assert!(text.contains("NEWGATE_REMOVE_ANYWAY=1"), "{text}");
    assert_eq!(machine.read("/etc/pam.d/common-session"), edited);

    let (code, text) = machine.prerm_remove(&[("NEWGATE_REMOVE_ANYWAY", "1")]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("removing anyway"), "{text}");
}

#[test]
fn an_upgrade_writes_an_enabled_profile_again_and_leaves_a_disabled_one_alone() {
    if !root_or_skip("postinst with newgate's profile") {
        return;
    }
    let machine = Machine::new("postinst", &grant_policy());
    let (stacks, state) = (machine.common_stacks(), machine.saved_state());
    let seen = machine.read("/var/lib/pam/seen");
    machine.postinst_configure();
    assert_eq!(
        machine.common_stacks(),
        stacks,
        "not enabled: the stacks stay as they are"
    );
    assert_eq!(machine.saved_state(), state);
    assert_eq!(machine.read("/var/lib/pam/seen"), seen);

    machine.pam_auth_update(&["--enable", "newgate"]);
    // The next version's profile, with an argument more.
    let profile = fs::read_to_string(repository("debian/pam-configs-newgate")).unwrap();
    let next = profile.replace("optional\tpam_newgate.so", "optional\tpam_newgate.so quiet");
    assert_ne!(next, profile);
    fs::write(machine.inside("/usr/share/pam-configs/newgate"), next).unwrap();
    machine.postinst_configure();
    let auth = machine.read("/etc/pam.d/common-auth");
    assert_eq!(
        module_lines(&auth),
        vec![vec!["auth", "optional", "pam_newgate.so", "quiet"]],
        "{auth}"
    );
}
