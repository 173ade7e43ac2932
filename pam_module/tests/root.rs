//! pam_newgate.so on the real system, as root: real users and groups
//! (`useradd`, named `ngtest-*`, removed afterwards), services in
//! `/etc/pam.d`, `pamtester`, util-linux `su` run by a test user, and
//! valgrind on a pamtester run.
//!
//! Nothing outside the test users and groups changes on the machine: each
//! command runs in a private mount namespace (`unshare --mount`) where a
//! copy of `/etc/pam.d` holding the test's services is bind-mounted over the
//! real one, and a copy of the PAM module folder with the freshly built
//! module installed as `pam_newgate.so` over the real module folder, so
//! that the services name it as an administrator would: `pam_newgate.so`. Runs are serialised by the root suites' lock (`/run/newgate-root-suites.lock`),
//! and each case first removes what an interrupted run may have left behind
//! (users and groups named `ngtest-*`, old scratch folders).
//!
//! Not root: every case is skipped, and says so.

#![forbid(unsafe_code)]

#[path = "common/runner.rs"]
mod runner;

use std::cell::RefCell;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};

use newgate_testkit::{Needs, Scratch, lock_root_suites, remove_leftover_accounts, stderr, stdout};
use nix::unistd::geteuid;
use runner::{Case, Outcome, built_module, loader_accepts};

/// Every user and group these tests create starts with this.
const PREFIX: &str = "ngtest-";
/// Where Linux-PAM looks for modules named without a path (Debian, amd64).
const MODULE_DIR: &str = "/usr/lib/x86_64-linux-gnu/security";

macro_rules! case {
    ($name:ident) => {
        Case {
            name: stringify!($name),
            run: $name,
        }
    };
}

/// The fixture, or the case's skip when not root.
macro_rules! as_root {
    ($case:expr) => {
        match Fixture::set_up($case) {
            Ok(fixture) => fixture,
            Err(skipped) => return skipped,
        }
    };
}

fn main() -> ExitCode {
    runner::run(&[
        case!(pamtester_decides_through_a_service_in_etc_pam_d),
        case!(pamtester_hands_over_a_newgate_request),
        case!(valgrind_finds_no_leak_in_a_pamtester_run),
        case!(su_by_a_permitted_user_switches),
        case!(su_by_a_forbidden_user_is_refused),
        case!(a_login_through_su_l_gets_the_granted_group),
    ])
}

/// Users, groups, a private `/etc/pam.d` and a policy for one case; all removed on drop.
struct Fixture {
    scratch: Scratch,
    pam_d: PathBuf,
    /// A copy of `MODULE_DIR` with `pam_newgate.so` installed in it.
    modules: PathBuf,
    users: Vec<String>,
    groups: Vec<String>,
    /// Every command run and its output, printed when the case fails.
    transcript: RefCell<String>,
    // Last: released after the users and groups are gone.
    _lock: newgate_testkit::RootSuitesLock,
}

impl Fixture {
    fn set_up(case: &str) -> Result<Fixture, Outcome> {
        if !geteuid().is_root() {
            return Err(Outcome::Skipped(
                Needs::Root,
                format!(
                    "needs root: adds users and groups, runs su and pamtester with services in /etc/pam.d (euid {})",
                    geteuid()
                ),
            ));
        }
        let lock = lock_root_suites();
        remove_leftovers();
        let scratch = Scratch::new(env!("CARGO_TARGET_TMPDIR"), &format!("root-{case}"));
        let pam_d = scratch.path.join("pam.d");
        run(
            Command::new("cp").arg("-a").arg("/etc/pam.d/.").arg(&pam_d),
            "copy /etc/pam.d",
        );
        std::fs::set_permissions(&pam_d, std::fs::Permissions::from_mode(0o755)).expect("chmod pam.d");
        let modules = scratch.path.join("security");
        run(
            Command::new("cp")
                .arg("-a")
                .arg(format!("{MODULE_DIR}/."))
                .arg(&modules),
            "copy the modules",
        );
        run(
            Command::new("install")
                .args(["-o", "root", "-g", "root", "-m", "0644"])
                .arg(built_module())
                .arg(modules.join("pam_newgate.so")),
            "install pam_newgate.so",
        );
        Ok(Fixture {
            scratch,
            pam_d,
            modules,
            users: Vec::new(),
            groups: Vec::new(),
            transcript: RefCell::default(),
            _lock: lock,
        })
    }

    /// A new user `ngtest-NAME` with its own group, no home, /bin/sh.
    fn user(&mut self, name: &str) -> String {
        let name = format!("{PREFIX}{name}");
        run(
            Command::new("useradd")
                .args(["--no-create-home", "--user-group", "--shell", "/bin/sh"])
                .arg(&name),
            "useradd",
        );
        self.users.push(name.clone());
        name
    }

    /// A new group `ngtest-NAME`.
    fn group(&mut self, name: &str) -> String {
        let name = format!("{PREFIX}{name}");
        run(Command::new("groupadd").arg(&name), "groupadd");
        self.groups.push(name.clone());
        name
    }

    /// Writes the policy; as root it must pass the loader's checks.
    fn policy(&self, text: &str) -> PathBuf {
        let policy = self.scratch.write("policy/policy", text, 0o644);
        if let Err(why) = loader_accepts(&policy) {
            panic!("the test policy must load: {why}");
        }
        policy
    }

    /// A service in the private `/etc/pam.d`.
    fn service(&self, name: &str, text: &str) {
        std::fs::write(self.pam_d.join(name), text).expect("write the service");
    }

    /// Runs a command in a mount namespace where the private copies are
    /// `/etc/pam.d` and the module folder.
    fn run(&self, argv: &[&str]) -> Output {
        let script = r#"mount --bind "$1" /etc/pam.d && mount --bind "$2" "$3" && shift 3 && exec "$@""#;
        let output = Command::new("unshare")
            .args(["--mount", "--", "sh", "-c", script, "sh"])
            .arg(&self.pam_d)
            .arg(&self.modules)
            .arg(MODULE_DIR)
            .args(argv)
            .current_dir("/")
            .output()
            .expect("run unshare");
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        self.transcript.borrow_mut().push_str(&format!(
            "$ {}\n{}{}[{}]\n",
            argv.join(" "),
            text(&output.stdout),
            text(&output.stderr),
            output.status
        ));
        output
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("commands run by the failed case:\n{}", self.transcript.borrow());
        }
        for user in &self.users {
            let _ = Command::new("userdel").arg(user).status();
        }
        for group in &self.groups {
            let _ = Command::new("groupdel").arg(group).status();
        }
    }
}

/// Runs a set-up command that must succeed.
fn run(command: &mut Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what}: {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Users and groups named `ngtest-*`, and scratch folders, of an interrupted run.
fn remove_leftovers() {
    remove_leftover_accounts(PREFIX);
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    if let Ok(entries) = std::fs::read_dir(tmp) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with("root-") {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

// ---------------------------------------------------------------- pamtester

fn pamtester_decides_through_a_service_in_etc_pam_d() -> Outcome {
    let mut fx = as_root!("pamtester");
    let (alice, bob, deploy) = (fx.user("alice"), fx.user("bob"), fx.user("deploy"));
    let service = format!("{PREFIX}{}", std::process::id());
    let policy = fx.policy(&format!("permit {alice} as user {deploy} service {service}\n"));
    fx.service(
        &service,
        &format!("account required pam_newgate.so policy={}\n", policy.display()),
    );
    let ruser = |user: &str| format!("ruser={user}");
    let permitted = fx.run(&["pamtester", "-I", &ruser(&alice), &service, &deploy, "acct_mgmt"]);
    assert!(permitted.status.success());
    assert_eq!(stdout(&permitted), "pamtester: account management done.\n");
    let refused = fx.run(&["pamtester", "-I", &ruser(&bob), &service, &deploy, "acct_mgmt"]);
    assert!(!refused.status.success());
    assert_eq!(stderr(&refused), "pamtester: Permission denied\n");
    Outcome::Passed
}

fn pamtester_hands_over_a_newgate_request() -> Outcome {
    let mut fx = as_root!("pamtester-newgate");
    let alice = fx.user("alice");
    let docker = fx.group("docker");
    let policy = fx.policy(&format!(
        "permit {alice} as group {docker} cmd /usr/bin/docker args ps *\n"
    ));
    fx.service(
        "newgate",
        &format!("account required pam_newgate.so policy={}\n", policy.display()),
    );
    let group = format!("NEWGATE_GROUP={docker}");
    let ruser = format!("ruser={alice}");
    let newgate = |args: &str| {
        let args = format!("NEWGATE_ARGS={args}");
        fx.run(&[
            "pamtester",
            "-I",
            &ruser,
            "-E",
            &group,
            "-E",
            "NEWGATE_COMMAND=/usr/bin/docker",
            "-E",
            &args,
            "newgate",
            &alice,
            "acct_mgmt",
        ])
    };
    assert!(newgate("ps -a").status.success());
    let refused = newgate("rm -f web");
    assert!(!refused.status.success());
    assert_eq!(stderr(&refused), "pamtester: Permission denied\n");
    Outcome::Passed
}

fn valgrind_finds_no_leak_in_a_pamtester_run() -> Outcome {
    let mut fx = as_root!("valgrind");
    let alice = fx.user("alice");
    let printers = fx.group("printers");
    let docker = fx.group("docker");
    let policy = fx.policy(&format!(
        "permit {alice} as group {docker} cmd /usr/bin/docker\ngrant {alice} group {printers}, {PREFIX}ghosts\n"
    ));
    let module = format!("pam_newgate.so policy={} debug", policy.display());
    fx.service(
        "newgate",
        &format!(
            "auth required pam_permit.so\nauth optional {module}\naccount required {module}\n\
             session required {module}\npassword optional {module}\n"
        ),
    );
    let ruser = format!("ruser={alice}");
    let group = format!("NEWGATE_GROUP={docker}");
    let pamtester = |args: &str, steps: &[&str]| {
        let args = format!("NEWGATE_ARGS={args}");
        let mut argv = vec![
            "valgrind",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect,possible",
            "--error-exitcode=99",
            "pamtester",
            "-I",
            &ruser,
            "-E",
            &group,
            "-E",
            "NEWGATE_COMMAND=/usr/bin/docker",
            "-E",
            &args,
            "newgate",
            &alice,
        ];
        argv.extend(steps);
        let output = fx.run(&argv);
        let report = stderr(&output);
        // Either "All heap blocks were freed", or a leak summary with only
        // "still reachable" blocks (glibc's, for NSS modules and TLS).
        for kind in ["definitely", "indirectly", "possibly"] {
            let lost = format!("{kind} lost: ");
            assert!(
                report
                    .lines()
                    .filter(|l| l.contains(&lost))
                    .all(|l| l.contains(&format!("{lost}0 bytes in 0 blocks"))),
                "valgrind reports memory {kind} lost"
            );
        }
        assert!(
            report.contains("ERROR SUMMARY: 0 errors from 0 contexts"),
            "valgrind reports errors"
        );
        assert_ne!(output.status.code(), Some(99), "valgrind's error exit code");
        (output.status.code(), stdout(&output), stderr(&output))
    };
    // Every function of the module: the decision, a grant (and a group that
    // does not resolve), both session lines, the ignored ones.
    let all = [
        "authenticate",
        "acct_mgmt",
        "setcred(PAM_ESTABLISH_CRED)",
        "open_session",
        "close_session",
        "setcred(PAM_REINITIALIZE_CRED)",
        "chauthtok",
    ];
    let (code, out, err) = pamtester("ps -a", &all);
    assert_eq!(
        out,
        "pamtester: successfully authenticated\n\
         pamtester: account management done.\n\
         pamtester: credential info has successfully been set.\n\
         pamtester: successfully opened a session\n\
         pamtester: session has successfully been closed.\n\
         pamtester: credential info has successfully been set.\n"
    );
    // chauthtok: the only password module ignores it, and a stack that
    // nothing decides fails (Linux-PAM answers permission denied).
    assert!(err.contains("pamtester: Permission denied"), "{err}");
    assert_eq!(code, Some(1));
    // A denial, for arguments that do not decode.
    let (code, _, err) = pamtester("ps %zz", &["acct_mgmt"]);
    assert!(err.contains("pamtester: Permission denied"), "{err}");
    assert_eq!(code, Some(1));
    Outcome::Passed
}

// ---------------------------------------------------------------- su

/// su's stack: anyone authenticates (pam_permit), so only the policy decides.
const SU_STACK: &str = "\
auth     required pam_permit.so
account  required pam_newgate.so use_uid policy=POLICY
session  required pam_permit.so
";

/// Runs `su TARGET -c 'id -un'` as `caller`, a real unprivileged user.
fn su_as(fx: &Fixture, caller: &str, target: &str) -> Output {
    fx.run(&[
        "setpriv",
        &format!("--reuid={caller}"),
        &format!("--regid={caller}"),
        "--init-groups",
        "--",
        "su",
        target,
        "-c",
        "id -un",
    ])
}

fn su_by_a_permitted_user_switches() -> Outcome {
    let mut fx = as_root!("su-permit");
    let (alice, deploy) = (fx.user("alice"), fx.user("deploy"));
    let policy = fx.policy(&format!("permit {alice} as user {deploy} service su\n"));
    fx.service("su", &SU_STACK.replace("POLICY", &policy.to_string_lossy()));
    let su = su_as(&fx, &alice, &deploy);
    assert!(su.status.success(), "su failed: {}", stderr(&su));
    assert_eq!(stdout(&su), format!("{deploy}\n"));
    Outcome::Passed
}

fn su_by_a_forbidden_user_is_refused() -> Outcome {
    let mut fx = as_root!("su-deny");
    let (alice, bob, deploy) = (fx.user("alice"), fx.user("bob"), fx.user("deploy"));
    let policy = fx.policy(&format!(
        "permit {alice} as user {deploy} service su\ndeny {bob} as user *\n"
    ));
    fx.service("su", &SU_STACK.replace("POLICY", &policy.to_string_lossy()));
    let su = su_as(&fx, &bob, &deploy);
    assert!(!su.status.success());
    assert_eq!(stdout(&su), "", "the command must not run");
    assert_eq!(stderr(&su), "su: Permission denied\n");
    // Nor to alice, for whom no rule speaks at all.
    let to_alice = su_as(&fx, &bob, &alice);
    assert_eq!(stderr(&to_alice), "su: Permission denied\n");
    Outcome::Passed
}

fn a_login_through_su_l_gets_the_granted_group() -> Outcome {
    let mut fx = as_root!("grant");
    let (intern, guest, printers) = (fx.user("intern"), fx.user("guest"), fx.group("printers"));
    let policy = fx.policy(&format!(
        "grant {intern} group {printers}, {PREFIX}ghosts service su-l\n"
    ));
    // A login-like stack: su -l sets the user's groups (initgroups), then
    // calls setcred, whose groups the shell inherits.
    fx.service(
        "su-l",
        &format!(
            "auth     required pam_permit.so\nauth     optional pam_newgate.so policy={}\n\
             account  required pam_permit.so\nsession  required pam_permit.so\n",
            policy.display()
        ),
    );
    let login = |user: &str| fx.run(&["su", "-l", user, "-c", "id -Gn"]);
    let granted = login(&intern);
    assert!(granted.status.success(), "su -l failed: {}", stderr(&granted));
    assert_eq!(stdout(&granted), format!("{intern} {printers}\n"));
    let other = login(&guest);
    assert_eq!(stdout(&other), format!("{guest}\n"));
    Outcome::Passed
}
