//! pam_newgate.so in real Linux-PAM stacks, without root.
//!
//! Each case writes a private PAM config folder whose service files load the
//! module `cargo test` just built (by absolute path, through a symlink named
//! `pam_newgate.so`, so that log lines read as in production), a policy, and
//! passwd/group files. It then runs this same binary again as the PAM
//! application (`--pam-transaction`, see `common/app.rs`) with nss_wrapper
//! preloaded, so that the module's NSS lookups see those users and groups;
//! for setcred, uid_wrapper too, so that `setgroups` works without root.
//!
//! The module loads policies as it does in production: only root-owned
//! files pass. Run as root, every case runs. Run as another user, the files
//! written here are that user's, the loader refuses them (the case
//! `an_insecure_policy_denies` shows it), and the cases that need a policy
//! that loads are skipped, each with the reason.

#![deny(unsafe_code)]

#[allow(unsafe_code)]
#[path = "common/app.rs"]
mod app;
#[path = "common/runner.rs"]
mod runner;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use newgate_policy::handoff;
use newgate_testkit::{Needs, Scratch};
use nix::unistd::{getgid, getuid};
use runner::{Case, Outcome, built_module, loader_accepts};

const NSS_WRAPPER: &str = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so";
const UID_WRAPPER: &str = "/usr/lib/x86_64-linux-gnu/libuid_wrapper.so";

macro_rules! case {
    ($name:ident) => {
        Case {
            name: stringify!($name),
            run: $name,
        }
    };
}

/// The case's result when it needs a policy that loads and the loader refuses ours.
macro_rules! trusted {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(skipped) => return skipped,
        }
    };
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(("--pam-transaction", rest)) = args.split_first().map(|(first, rest)| (first.as_str(), rest)) {
        return app::transaction(rest);
    }
    for library in [NSS_WRAPPER, UID_WRAPPER] {
        assert!(
            Path::new(library).is_file(),
            "{library} is missing: apt-get install libnss-wrapper libuid-wrapper"
        );
    }
    runner::run(&[
        case!(su_permits_what_the_policy_permits),
        case!(su_denies_what_the_policy_does_not_permit),
        case!(su_to_a_second_name_of_an_account_is_denied),
        case!(group_membership_comes_from_nss),
        case!(a_group_larger_than_a_megabyte_still_denies),
        case!(host_conditions_see_this_machines_name),
        case!(use_uid_takes_the_caller_from_the_real_uid),
        case!(a_plain_login_or_staying_yourself_is_ignored),
        case!(the_newgate_service_decides_the_handed_over_request),
        case!(a_newgate_handoff_that_cannot_be_read_is_denied),
        case!(newgate_v_is_permitted_to_whom_a_rule_permits_something),
        case!(an_unknown_requesting_user_is_denied),
        case!(a_broken_policy_denies_with_its_first_error),
        case!(a_missing_policy_denies),
        case!(an_insecure_policy_denies),
        case!(a_relative_policy_path_denies),
        case!(unknown_module_arguments_are_logged_and_ignored),
        case!(quiet_and_nolog_silence_permits_but_not_denials),
        case!(sufficient_and_requisite_decide_what_a_denial_does),
        case!(setcred_grants_the_groups_of_grant_rules),
        case!(setcred_without_a_grant_changes_nothing),
        case!(sessions_are_audited),
        case!(authenticate_and_chauthtok_are_ignored),
        case!(the_man_page_renders_without_warnings),
    ])
}

// The users and groups the module sees through nss_wrapper. `caller` is the
// real uid of the process (whatever it is), for `use_uid`.
const ALICE: u32 = 42001;
const BOB: u32 = 42002;
const CAROL: u32 = 42003;
const PASSWD: &str = "\
alice:x:42001:42001:Alice:/home/alice:/bin/sh
bob:x:42002:42002:Bob:/home/bob:/bin/sh
carol:x:42003:42003:Carol:/home/carol:/bin/sh
deploy:x:42004:42004:Deploy:/srv/deploy:/bin/sh
deployer:x:42004:42004:Deploy, second name:/srv/deploy:/bin/sh
";
const GROUP: &str = "\
alice:x:42001:
bob:x:42002:
carol:x:42003:
deploy:x:42004:
devs:x:43001:bob
docker:x:43002:
printers:x:43003:
scanners:x:43004:
";

/// One case's private world: PAM config folder, module, policy, users.
struct World {
    scratch: Scratch,
    module: PathBuf,
}

impl World {
    fn new(case: &str) -> World {
        let scratch = Scratch::new(env!("CARGO_TARGET_TMPDIR"), &format!("pam_stack-{case}"));
        let caller = format!("caller:x:{}:{}:Caller:/:/bin/sh\n", getuid(), getgid());
        scratch.write("passwd", &format!("{caller}{PASSWD}"), 0o644);
        scratch.write("group", &format!("caller:x:{}:\n{GROUP}", getgid()), 0o644);
        std::fs::create_dir(scratch.path.join("pam.d")).expect("create pam.d");
        let module = scratch.path.join("pam_newgate.so");
        std::os::unix::fs::symlink(built_module(), &module).expect("link the module");
        World { scratch, module }
    }

    /// Writes the policy (mode 0644) and returns its path.
    fn policy(&self, text: &str) -> PathBuf {
        self.scratch.write("policy/policy", text, 0o644)
    }

    /// Whether a policy written here can load at all; the skip otherwise.
    fn trust(&self) -> Result<(), Outcome> {
        let probe = self
            .scratch
            .write("probe/policy", "permit alice as user deploy\n", 0o644);
        match loader_accepts(&probe) {
            Ok(()) => Ok(()),
            Err(_) if !getuid().is_root() => Err(Outcome::Skipped(
                Needs::Root,
                format!("needs root: the loader refuses policy files owned by uid {}", getuid()),
            )),
            Err(why) => panic!(
                "as root, the policy written under {} must load: {why}",
                self.scratch.path.display()
            ),
        }
    }

    /// A policy that the loader accepts, or the skip when it cannot be written.
    fn trusted_policy(&self, text: &str) -> Result<PathBuf, Outcome> {
        self.trust()?;
        Ok(self.policy(text))
    }

    /// A service file; `MODULE` stands for the module's absolute path.
    fn service(&self, name: &str, text: &str) {
        let text = text.replace("MODULE", &self.module.to_string_lossy());
        self.scratch.write(&format!("pam.d/{name}"), &text, 0o644);
    }

    /// A service whose account stack is only the module, with these arguments.
    fn account_service(&self, name: &str, args: &str) {
        self.service(name, &format!("account required MODULE {args}\n"));
    }

    fn run(&self, tx: Tx) -> Ran {
        let mut command = Command::new(std::env::current_exe().expect("own path"));
        command
            .arg("--pam-transaction")
            .arg(self.scratch.path.join("pam.d"))
            .arg(tx.service)
            .arg(tx.user)
            .args(&tx.args)
            .env("NSS_WRAPPER_PASSWD", self.scratch.path.join("passwd"))
            .env("NSS_WRAPPER_GROUP", self.scratch.path.join("group"))
            .env("NSS_WRAPPER_HOSTNAME", tx.hostname);
        if tx.simulated_root {
            command
                .env("LD_PRELOAD", format!("{UID_WRAPPER} {NSS_WRAPPER}"))
                .env("UID_WRAPPER", "1")
                .env("UID_WRAPPER_ROOT", "1")
                .env("UID_WRAPPER_INITIAL_GROUPS", tx.user_gid.to_string())
                .env("UID_WRAPPER_INITIAL_GROUPS_COUNT", "1");
        } else {
            command.env("LD_PRELOAD", NSS_WRAPPER);
        }
        let output = command.output().expect("run the PAM application");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            output.status.success(),
            "the PAM application failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            output.status
        );
        Ran { stdout, stderr }
    }
}

/// One PAM transaction: service, user, items, environment, steps.
struct Tx {
    service: &'static str,
    user: &'static str,
    args: Vec<String>,
    hostname: &'static str,
    simulated_root: bool,
    user_gid: u32,
}

fn tx(service: &'static str, user: &'static str) -> Tx {
    Tx {
        service,
        user,
        args: Vec::new(),
        hostname: "pam-test-host",
        simulated_root: false,
        user_gid: 0,
    }
}

impl Tx {
    fn ruser(mut self, ruser: &str) -> Tx {
        self.args.push(format!("ruser={ruser}"));
        self
    }
    fn tty(mut self, tty: &str) -> Tx {
        self.args.push(format!("tty={tty}"));
        self
    }
    fn env(mut self, name: &str, value: &str) -> Tx {
        self.args.push(format!("env:{name}={value}"));
        self
    }
    fn hostname(mut self, hostname: &'static str) -> Tx {
        self.hostname = hostname;
        self
    }
    /// Runs under uid_wrapper as (simulated) root whose groups start as `gid`
    /// alone, as after `initgroups` for a user with no other group.
    fn in_simulated_root_with_group(mut self, gid: u32) -> Tx {
        self.simulated_root = true;
        self.user_gid = gid;
        self
    }
    fn steps(mut self, steps: &[&str]) -> Tx {
        self.args.extend(steps.iter().map(|s| s.to_string()));
        self
    }
}

/// What a transaction printed: one `STEP: PAM_CODE` line per step on
/// stdout, and the log lines (through `LOG_PERROR`) on stderr.
struct Ran {
    stdout: String,
    stderr: String,
}

impl Ran {
    /// Every step's result, in order.
    fn results(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter_map(|l| l.split_once(": ").map(|(_, result)| result))
            .collect()
    }

    /// The only step's result.
    fn result(&self) -> &str {
        let results = self.results();
        assert_eq!(results.len(), 1, "one step expected:\n{}", self.stdout);
        results[0]
    }

    /// The module's log lines, as syslog would receive them.
    fn log(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter_map(|l| l.strip_prefix("pam-harness: "))
            .filter(|l| l.starts_with("pam_newgate("))
            .collect()
    }
}

fn at(policy: &Path, line: u32) -> String {
    format!("{}:{line}", policy.display())
}

// ---------------------------------------------------------------- account

fn su_permits_what_the_policy_permits() -> Outcome {
    let world = World::new("su-permit");
    let policy = trusted!(world.trusted_policy("permit alice as user deploy service su\ndeny bob as user deploy\n"));
    world.account_service("su", &format!("policy={}", policy.display()));
    let ran = world.run(tx("su", "deploy").ruser("alice").tty("pts/7").steps(&["acct_mgmt"]));
    assert_eq!(ran.result(), "PAM_SUCCESS");
    assert_eq!(
        ran.log(),
        [format!(
            "pam_newgate(su:account): alice as user deploy: permit ({}), tty pts/7",
            at(&policy, 1)
        )]
    );
    Outcome::Passed
}

fn su_denies_what_the_policy_does_not_permit() -> Outcome {
    let world = World::new("su-deny");
    let policy = trusted!(world.trusted_policy("permit alice as user deploy service su\ndeny bob as user deploy\n"));
    for service in ["su", "runuser"] {
        world.account_service(service, &format!("policy={}", policy.display()));
    }
    let denied = [
        (
            "su",
            "bob",
            "deploy",
            format!("bob as user deploy: deny ({})", at(&policy, 2)),
        ),
        (
            "su",
            "carol",
            "deploy",
            "carol as user deploy: deny (no rule matched)".into(),
        ),
        (
            "su",
            "alice",
            "carol",
            "alice as user carol: deny (no rule matched)".into(),
        ),
        (
            "su",
            "alice",
            "nobody-here",
            "alice as user nobody-here: deny (unknown user nobody-here)".into(),
        ),
        // The rule names the service su: through runuser it does not match.
        (
            "runuser",
            "alice",
            "deploy",
            "alice as user deploy: deny (no rule matched)".into(),
        ),
    ];
    for (service, ruser, user, line) in denied {
        let ran = world.run(tx(service, user).ruser(ruser).steps(&["acct_mgmt"]));
        assert_eq!(ran.result(), "PAM_PERM_DENIED", "{line}");
        assert_eq!(ran.log(), [format!("pam_newgate({service}:account): {line}")]);
    }
    Outcome::Passed
}

fn su_to_a_second_name_of_an_account_is_denied() -> Outcome {
    let world = World::new("su-second-name");
    let policy = trusted!(world.trusted_policy("permit alice as user * service su\ndeny alice as user deploy\n"));
    world.account_service("su", &format!("policy={}", policy.display()));
    let ran = world.run(tx("su", "deployer").ruser("alice").steps(&["acct_mgmt"]));
    assert_eq!(ran.result(), "PAM_PERM_DENIED");
    assert_eq!(
        ran.log(),
        [
            "pam_newgate(su:account): alice as user deployer: deny (user deployer is another name for uid 42004, deploy: ask for deploy)"
        ]
    );
    let carol = world.run(tx("su", "carol").ruser("alice").steps(&["acct_mgmt"]));
    assert_eq!(carol.result(), "PAM_SUCCESS");
    Outcome::Passed
}

fn group_membership_comes_from_nss() -> Outcome {
    let world = World::new("groups");
    let policy = trusted!(world.trusted_policy("permit %devs as user deploy\n"));
    world.account_service("su", &format!("policy={}", policy.display()));
    // bob is a member of devs in the group file nss_wrapper serves; alice is not.
    let bob = world.run(tx("su", "deploy").ruser("bob").steps(&["acct_mgmt"]));
    assert_eq!(bob.result(), "PAM_SUCCESS");
    let alice = world.run(tx("su", "deploy").ruser("alice").steps(&["acct_mgmt"]));
    assert_eq!(alice.result(), "PAM_PERM_DENIED");
    Outcome::Passed
}

/// A group line longer than nix's 1 MiB look-up buffer answered ERANGE and
/// dropped out of the caller's groups, and `deny %big` stopped applying.
fn a_group_larger_than_a_megabyte_still_denies() -> Outcome {
    let world = World::new("big-group");
    let mut big = String::from("big:x:43999:");
    for n in 0..150_000 {
        big.push_str(&format!("member-{n:06},"));
    }
    big.push_str("bob\n");
    assert!(big.len() > 1 << 20);
    world
        .scratch
        .write("group", &format!("caller:x:{}:\n{GROUP}{big}", getgid()), 0o644);
    let policy = trusted!(world.trusted_policy("permit bob as user deploy\ndeny %big as user deploy\n"));
    world.account_service("su", &format!("policy={}", policy.display()));
    let bob = world.run(tx("su", "deploy").ruser("bob").steps(&["acct_mgmt"]));
    assert_eq!(bob.result(), "PAM_PERM_DENIED");
    assert_eq!(
        bob.log(),
        [format!(
            "pam_newgate(su:account): bob as user deploy: deny ({}:2)",
            policy.display()
        )]
    );
    Outcome::Passed
}

fn host_conditions_see_this_machines_name() -> Outcome {
    let world = World::new("host");
    let policy = trusted!(world.trusted_policy("permit alice as user deploy on web-*\n"));
    world.account_service("su", &format!("policy={}", policy.display()));
    let web = world.run(
        tx("su", "deploy")
            .ruser("alice")
            .hostname("web-1")
            .steps(&["acct_mgmt"]),
    );
    assert_eq!(web.result(), "PAM_SUCCESS");
    let db = world.run(tx("su", "deploy").ruser("alice").hostname("db-1").steps(&["acct_mgmt"]));
    assert_eq!(db.result(), "PAM_PERM_DENIED");
    Outcome::Passed
}

fn use_uid_takes_the_caller_from_the_real_uid() -> Outcome {
    let world = World::new("use-uid");
    let policy = trusted!(world.trusted_policy("permit caller as user deploy\n"));
    world.account_service("su", &format!("policy={}", policy.display()));
    world.account_service("su-uid", &format!("policy={} use_uid", policy.display()));
    // PAM_RUSER says alice; the process's real uid is `caller`'s.
    let by_uid = world.run(tx("su-uid", "deploy").ruser("alice").steps(&["acct_mgmt"]));
    assert_eq!(by_uid.result(), "PAM_SUCCESS");
    assert_eq!(
        by_uid.log(),
        [format!(
            "pam_newgate(su-uid:account): caller as user deploy: permit ({})",
            at(&policy, 1)
        )]
    );
    let by_ruser = world.run(tx("su", "deploy").ruser("alice").steps(&["acct_mgmt"]));
    assert_eq!(by_ruser.result(), "PAM_PERM_DENIED");
    Outcome::Passed
}

fn a_plain_login_or_staying_yourself_is_ignored() -> Outcome {
    let world = World::new("ignore");
    // No policy file at all: a request that is not a switch never reads it.
    let policy = world.scratch.path.join("no-policy");
    let module = format!("MODULE policy={} debug", policy.display());
    world.service(
        "then-permit",
        &format!("account required {module}\naccount required pam_permit.so\n"),
    );
    world.service(
        "then-deny",
        &format!("account sufficient {module}\naccount required pam_deny.so\n"),
    );
    let not_switches = [
        (None, "no requesting user (PAM_RUSER is not set)"),
        (Some("alice"), "alice stays alice"),
    ];
    for (ruser, why) in not_switches {
        // pam_deny's account stage answers PAM_AUTH_ERR.
        for (service, result) in [("then-permit", "PAM_SUCCESS"), ("then-deny", "PAM_AUTH_ERR")] {
            let mut login = tx(service, "alice");
            if let Some(ruser) = ruser {
                login = login.ruser(ruser);
            }
            let ran = world.run(login.steps(&["acct_mgmt"]));
            assert_eq!(ran.result(), result, "{service}: the rest of the stack decides");
            assert_eq!(
                ran.log(),
                [format!("pam_newgate({service}:account): not a switch: {why}: ignored")]
            );
        }
    }
    Outcome::Passed
}

fn the_newgate_service_decides_the_handed_over_request() -> Outcome {
    let world = World::new("newgate");
    let policy =
        trusted!(world.trusted_policy(
            "permit alice as group docker cmd /usr/bin/docker args ps *\npermit alice as user deploy\n"
        ));
    world.account_service("newgate", &format!("policy={}", policy.display()));
    let args = |args: &[&str]| handoff::encode_args(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>());
    let docker = |argv: &[&str]| {
        tx("newgate", "alice")
            .ruser("alice")
            .env(handoff::GROUP, "docker")
            .env(handoff::COMMAND, "/usr/bin/docker")
            .env(handoff::ARGS, &args(argv))
            .steps(&["acct_mgmt"])
    };
    let ps = world.run(docker(&["ps", "--format", "{{.Names}} {{.Image}}"]));
    assert_eq!(ps.result(), "PAM_SUCCESS");
    assert_eq!(
        ps.log(),
        [format!(
            "pam_newgate(newgate:account): alice as group docker cmd /usr/bin/docker args ps --format {}: permit ({})",
            r#""{{.Names}} {{.Image}}""#,
            at(&policy, 1)
        )]
    );
    let rm = world.run(docker(&["rm", "-f", "web"]));
    assert_eq!(rm.result(), "PAM_PERM_DENIED");
    assert_eq!(
        rm.log(),
        [
            "pam_newgate(newgate:account): alice as group docker cmd /usr/bin/docker args rm -f web: deny (no rule matched)"
        ]
    );
    let as_deploy = world.run(
        tx("newgate", "alice")
            .ruser("alice")
            .env(handoff::TARGET_USER, "deploy")
            .env(handoff::COMMAND, "/bin/sh")
            .env(handoff::ARGS, "")
            .steps(&["acct_mgmt"]),
    );
    assert_eq!(as_deploy.result(), "PAM_SUCCESS");
    // Neither -u nor -g: the request is for root.
    let as_root = world.run(tx("newgate", "alice").ruser("alice").steps(&["acct_mgmt"]));
    assert_eq!(as_root.result(), "PAM_PERM_DENIED");
    assert_eq!(
        as_root.log(),
        ["pam_newgate(newgate:account): alice as user root: deny (no rule matched)"]
    );
    Outcome::Passed
}

/// `newgate -v` runs nothing and hands over only that it validates: under a
/// policy whose rules all name a command, whoever a rule permits something
/// passes, as the command itself decides; a grant alone permits nothing.
fn newgate_v_is_permitted_to_whom_a_rule_permits_something() -> Outcome {
    let world = World::new("validate");
    let policy = trusted!(
        world.trusted_policy("permit alice as group docker cmd /usr/bin/docker args ps *\ngrant bob group printers\n")
    );
    world.account_service("newgate", &format!("policy={}", policy.display()));
    let validate = |user: &'static str| {
        tx("newgate", user)
            .ruser(user)
            .tty("pts/4")
            .env(handoff::VALIDATE, handoff::VALIDATING)
    };
    let alice = world.run(validate("alice").steps(&["acct_mgmt"]));
    assert_eq!(
        alice.log(),
        [
            "pam_newgate(newgate:account): alice validates (newgate -v): permit (a rule permits alice something), tty pts/4"
        ]
    );
    assert_eq!(alice.result(), "PAM_SUCCESS");
    let bob = world.run(validate("bob").steps(&["acct_mgmt"]));
    assert_eq!(bob.result(), "PAM_PERM_DENIED");
    assert_eq!(
        bob.log(),
        ["pam_newgate(newgate:account): bob validates (newgate -v): deny (no rule permits bob anything), tty pts/4"]
    );
    // A run of a command is never decided as a validation.
    let beside_a_command = world.run(
        validate("alice")
            .env(handoff::COMMAND, "/bin/sh")
            .env(handoff::ARGS, "")
            .steps(&["acct_mgmt"]),
    );
    assert_eq!(beside_a_command.result(), "PAM_PERM_DENIED");
    assert_eq!(
        beside_a_command.log(),
        ["pam_newgate(newgate:account): deny (NEWGATE_VALIDATE is set with a request to run something)"]
    );
    Outcome::Passed
}

fn a_newgate_handoff_that_cannot_be_read_is_denied() -> Outcome {
    let world = World::new("handoff");
    // The request is refused before the policy is read: this needs no root.
    world.account_service("newgate", "policy=/etc/newgate/policy");
    let bad_args = world.run(
        tx("newgate", "alice")
            .ruser("alice")
            .env(handoff::GROUP, "docker")
            .env(handoff::COMMAND, "/usr/bin/docker")
            .env(handoff::ARGS, "ps %zz")
            .steps(&["acct_mgmt"]),
    );
    assert_eq!(bad_args.result(), "PAM_PERM_DENIED");
    assert_eq!(
        bad_args.log(),
        ["pam_newgate(newgate:account): deny (NEWGATE_ARGS does not decode: \"ps %zz\")"]
    );
    let other_user = world.run(tx("newgate", "root").ruser("alice").steps(&["acct_mgmt"]));
    assert_eq!(other_user.result(), "PAM_PERM_DENIED");
    assert_eq!(
        other_user.log(),
        ["pam_newgate(newgate:account): deny (PAM_USER (root) is not the caller alice)"]
    );
    Outcome::Passed
}

fn an_unknown_requesting_user_is_denied() -> Outcome {
    let world = World::new("unknown-user");
    world.account_service("su", "policy=/etc/newgate/policy");
    let ran = world.run(tx("su", "deploy").ruser("ghost").steps(&["acct_mgmt"]));
    assert_eq!(ran.result(), "PAM_PERM_DENIED");
    assert_eq!(
        ran.log(),
        ["pam_newgate(su:account): ghost as user deploy: deny (unknown user ghost)"]
    );
    Outcome::Passed
}

// ---------------------------------------------------------------- policy problems

fn a_broken_policy_denies_with_its_first_error() -> Outcome {
    let world = World::new("broken");
    trusted!(world.trust());
    let policy = world.policy("permit alice as user deploy\ninclude \"extra.conf\"\n");
    let extra = world
        .scratch
        .write("policy/extra.conf", "permt bob as user deploy\ndeny\n", 0o644);
    world.account_service("su", &format!("policy={}", policy.display()));
    // alice's rule is fine, but a policy with any error grants nothing.
    let ran = world.run(tx("su", "deploy").ruser("alice").steps(&["acct_mgmt"]));
    assert_eq!(ran.result(), "PAM_PERM_DENIED");
    assert_eq!(
        ran.log(),
        [format!(
            "pam_newgate(su:account): alice as user deploy: deny (policy refused: {}:1:1: unknown statement `permt`)",
            extra.display()
        )]
    );
    Outcome::Passed
}

fn a_missing_policy_denies() -> Outcome {
    let world = World::new("missing");
    let policy = world.scratch.path.join("policy");
    world.account_service("su", &format!("policy={}", policy.display()));
    let ran = world.run(tx("su", "deploy").ruser("alice").steps(&["acct_mgmt"]));
    assert_eq!(ran.result(), "PAM_PERM_DENIED");
    let prefix = format!(
        "pam_newgate(su:account): alice as user deploy: deny (policy refused: {}: ",
        policy.display()
    );
    let log = ran.log();
    assert!(log.len() == 1 && log[0].starts_with(&prefix), "{log:?}");
    if world.trust().is_ok() {
        assert_eq!(log[0], format!("{prefix}no such file)"));
    }
    Outcome::Passed
}

fn an_insecure_policy_denies() -> Outcome {
    let world = World::new("insecure");
    let policy = world.policy("permit alice as user deploy\n");
    world.account_service("su", &format!("policy={}", policy.display()));
    // As root, a policy anyone may write; as another user, one that user owns.
    let reason = if getuid().is_root() {
        std::fs::set_permissions(&policy, std::os::unix::fs::PermissionsExt::from_mode(0o666)).expect("chmod");
        "it is writable by everyone (mode 0666)".to_string()
    } else {
        format!("is owned by uid {}, not by root", getuid())
    };
    let ran = world.run(tx("su", "deploy").ruser("alice").steps(&["acct_mgmt"]));
    assert_eq!(ran.result(), "PAM_PERM_DENIED");
    let log = ran.log();
    assert!(
        log.len() == 1
            && log[0].starts_with("pam_newgate(su:account): alice as user deploy: deny (policy refused: ")
            && log[0].ends_with(&format!("{reason})")),
        "{log:?}"
    );
    Outcome::Passed
}

fn a_relative_policy_path_denies() -> Outcome {
    let world = World::new("relative");
    world.account_service("su", "policy=newgate/policy");
    let ran = world.run(tx("su", "deploy").ruser("alice").steps(&["acct_mgmt"]));
    assert_eq!(ran.result(), "PAM_PERM_DENIED");
    assert_eq!(
        ran.log(),
        [
            "pam_newgate(su:account): alice as user deploy: deny (policy refused: the policy path newgate/policy is not absolute)"
        ]
    );
    Outcome::Passed
}

// ---------------------------------------------------------------- arguments and stacks

fn unknown_module_arguments_are_logged_and_ignored() -> Outcome {
    let world = World::new("arguments");
    world.service(
        "login",
        "account required MODULE policy=/etc/newgate/policy nullok debug\naccount required pam_permit.so\n",
    );
    let ran = world.run(tx("login", "alice").steps(&["acct_mgmt"]));
    assert_eq!(ran.result(), "PAM_SUCCESS");
    // The unknown argument is reported; `debug` after it still counts.
    assert_eq!(
        ran.log(),
        [
            "pam_newgate(login:account): unknown option `nullok`: ignored",
            "pam_newgate(login:account): not a switch: no requesting user (PAM_RUSER is not set): ignored",
        ]
    );
    Outcome::Passed
}

fn quiet_and_nolog_silence_permits_but_not_denials() -> Outcome {
    let world = World::new("quiet");
    let policy = trusted!(world.trusted_policy("permit alice as user deploy\npermit nolog carol as user deploy\n"));
    world.account_service("su", &format!("policy={}", policy.display()));
    world.account_service("su-quiet", &format!("policy={} quiet", policy.display()));
    let quiet = world.run(tx("su-quiet", "deploy").ruser("alice").steps(&["acct_mgmt"]));
    assert_eq!((quiet.result(), quiet.log().len()), ("PAM_SUCCESS", 0));
    let nolog = world.run(tx("su", "deploy").ruser("carol").steps(&["acct_mgmt"]));
    assert_eq!((nolog.result(), nolog.log().len()), ("PAM_SUCCESS", 0));
    let denied = world.run(tx("su-quiet", "deploy").ruser("bob").steps(&["acct_mgmt"]));
    assert_eq!(denied.result(), "PAM_PERM_DENIED");
    assert_eq!(
        denied.log(),
        ["pam_newgate(su-quiet:account): bob as user deploy: deny (no rule matched)"]
    );
    Outcome::Passed
}

fn sufficient_and_requisite_decide_what_a_denial_does() -> Outcome {
    let world = World::new("control");
    let policy = trusted!(world.trusted_policy("permit alice as user deploy\n"));
    let module = format!("MODULE policy={} quiet", policy.display());
    world.service(
        "requisite",
        &format!("account requisite {module}\naccount required pam_permit.so\n"),
    );
    world.service(
        "sufficient",
        &format!("account sufficient {module}\naccount required pam_deny.so\n"),
    );
    world.service(
        "sufficient-permit",
        &format!("account sufficient {module}\naccount required pam_permit.so\n"),
    );
    let cases = [
        ("requisite", "alice", "PAM_SUCCESS"),
        ("requisite", "bob", "PAM_PERM_DENIED"),
        // sufficient: a permit ends the stack with success...
        ("sufficient", "alice", "PAM_SUCCESS"),
        ("sufficient", "bob", "PAM_AUTH_ERR"),
        // ...and a denial only hands over to the rest, which may permit.
        ("sufficient-permit", "bob", "PAM_SUCCESS"),
    ];
    for (service, ruser, result) in cases {
        let ran = world.run(tx(service, "deploy").ruser(ruser).steps(&["acct_mgmt"]));
        assert_eq!(ran.result(), result, "{service} for {ruser}");
    }
    Outcome::Passed
}

// ---------------------------------------------------------------- setcred

fn setcred_grants_the_groups_of_grant_rules() -> Outcome {
    let world = World::new("grants");
    let policy = trusted!(world.trusted_policy(
        "grant alice group printers, ghosts service login\ngrant %devs group scanners service login\n"
    ));
    world.service(
        "login",
        &format!(
            "auth required pam_permit.so\nauth optional MODULE policy={}\n",
            policy.display()
        ),
    );
    let ran = world.run(tx("login", "alice").in_simulated_root_with_group(ALICE).steps(&[
        "groups",
        "setcred",
        "groups",
        "setcred-delete",
        "groups",
    ]));
    assert_eq!(
        ran.stdout,
        "groups: alice\nsetcred: PAM_SUCCESS\ngroups: alice,printers\nsetcred-delete: PAM_SUCCESS\ngroups: alice,printers\n"
    );
    assert_eq!(
        ran.log(),
        [
            format!(
                "pam_newgate(login:setcred): alice: group ghosts ({}) does not exist: skipped",
                at(&policy, 1)
            ),
            format!(
                "pam_newgate(login:setcred): alice: granted group printers ({})",
                at(&policy, 1)
            ),
        ]
    );
    // bob is in devs: he gets scanners, and nothing of alice's.
    let bob = world.run(
        tx("login", "bob")
            .in_simulated_root_with_group(BOB)
            .steps(&["setcred", "groups"]),
    );
    assert_eq!(bob.stdout, "setcred: PAM_SUCCESS\ngroups: bob,scanners\n");
    // Through another service, the rules do not match.
    world.service(
        "sshd",
        &format!(
            "auth required pam_permit.so\nauth optional MODULE policy={}\n",
            policy.display()
        ),
    );
    let ssh = world.run(
        tx("sshd", "alice")
            .in_simulated_root_with_group(ALICE)
            .steps(&["setcred", "groups"]),
    );
    assert_eq!(ssh.stdout, "setcred: PAM_SUCCESS\ngroups: alice\n");
    Outcome::Passed
}

fn setcred_without_a_grant_changes_nothing() -> Outcome {
    let world = World::new("no-grant");
    let policy = trusted!(world.trusted_policy("grant alice group printers\n"));
    // The module alone in the stack: its own result is the stack's.
    world.service(
        "login",
        &format!("auth required MODULE policy={} debug\n", policy.display()),
    );
    world.service("login-broken", "auth required MODULE policy=/nonexistent/policy\n");
    let carol = world.run(
        tx("login", "carol")
            .in_simulated_root_with_group(CAROL)
            .steps(&["setcred", "groups"]),
    );
    // Every module ignored the call: Linux-PAM then fails setcred.
    assert_eq!(carol.stdout, "setcred: PAM_PERM_DENIED\ngroups: carol\n");
    // `debug` says where the policy was read from: not the installed
    // policy, so from its files, with no snapshot to speak of.
    assert_eq!(
        carol.log(),
        [
            format!(
                "pam_newgate(login:setcred): carol: policy {} read from its files",
                policy.display()
            ),
            "pam_newgate(login:setcred): carol: no grant rule matches".to_string()
        ]
    );
    let broken = world.run(
        tx("login-broken", "alice")
            .in_simulated_root_with_group(ALICE)
            .steps(&["setcred", "groups"]),
    );
    assert_eq!(broken.stdout, "setcred: PAM_PERM_DENIED\ngroups: alice\n");
    assert_eq!(
        broken.log(),
        [
            "pam_newgate(login-broken:setcred): alice: no groups granted (policy refused: /nonexistent/policy: its folder /nonexistent: no such file)"
        ]
    );
    Outcome::Passed
}

// ---------------------------------------------------------------- sessions, auth, password

fn sessions_are_audited() -> Outcome {
    let world = World::new("sessions");
    world.service("sshd", "session required MODULE\n");
    let ran = world.run(
        tx("sshd", "deploy")
            .ruser("alice")
            .tty("ssh")
            .steps(&["open_session", "close_session"]),
    );
    assert_eq!(ran.results(), ["PAM_SUCCESS", "PAM_SUCCESS"]);
    assert_eq!(
        ran.log(),
        [
            "pam_newgate(sshd:session): session opened for deploy by alice, tty ssh",
            "pam_newgate(sshd:session): session closed for deploy by alice, tty ssh",
        ]
    );
    Outcome::Passed
}

fn authenticate_and_chauthtok_are_ignored() -> Outcome {
    let world = World::new("auth");
    world.service(
        "login",
        "auth sufficient MODULE\nauth required pam_deny.so\npassword sufficient MODULE\npassword required pam_deny.so\n",
    );
    let ran = world.run(tx("login", "alice").steps(&["authenticate", "chauthtok"]));
    // Ignored: pam_deny decides both.
    assert_eq!(ran.results(), ["PAM_AUTH_ERR", "PAM_AUTHTOK_ERR"]);
    assert!(ran.log().is_empty(), "{:?}", ran.log());
    Outcome::Passed
}

// ---------------------------------------------------------------- the manual

fn the_man_page_renders_without_warnings() -> Outcome {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("pam_newgate.8");
    let output = match newgate_testkit::render_man(&page) {
        Ok(output) => output,
        Err(why) => return Outcome::Skipped(Needs::Machine, why),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.is_empty(),
        "man --warnings:\n{stderr}"
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("pam_newgate - enforce the newgate policy in a PAM stack"),
        "{text}"
    );
    Outcome::Passed
}
