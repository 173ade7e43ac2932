//! The security promises of docs/newgate.md and docs/security.md that no
//! other suite checks, each end to end as root: the setuid newgate run by
//! real users in a private mount namespace (tests/support), and newgatectl
//! edit on a private /etc/newgate.

// Each suite uses part of the shared harness.
#[allow(dead_code)]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::{PASSWORD, Sandbox, built_binary, policy, root_or_skip, user};

fn uid_of(name: &str) -> u32 {
    nix::unistd::User::from_name(name).unwrap().unwrap().uid.as_raw()
}

fn gid_of(name: &str) -> u32 {
    nix::unistd::Group::from_name(name).unwrap().unwrap().gid.as_raw()
}

/// The four ids of a `Uid:` or `Gid:` line of /proc/PID/status: real, effective, saved, file system.
fn ids(status: &str, field: &str) -> Vec<u32> {
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in: {status}"));
    line[field.len()..]
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

/// The state letter of a process (`T` when stopped), from /proc/PID/stat.
/// Builds a test module (PAM or NSS) from `source` in tests/ into `library`.
fn shared_library(source: &str, library: &std::path::Path) -> std::path::PathBuf {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(source);
    let built = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(library)
        .arg(&source)
        .status()
        .expect("a C compiler (gcc) builds the test's module");
    assert!(built.success(), "cc {}", source.display());
    library.to_path_buf()
}

fn process_state(pid: Pid) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// The children of `pid`: the process a script on a terminal started.
fn children(pid: Pid) -> Vec<Pid> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| Pid::from_raw(p.parse().unwrap()))
        .collect()
}

/// Promise 1: the command runs with the target's ids and nothing else: real,
/// effective, saved and file-system uid and gid, as the command itself reads
/// them. (execve resets the saved ids to the effective ones, so what a
/// mistake in the switch would leave for the command is a real id of 0.)
#[test]
fn every_id_is_the_targets_the_saved_ones_too() {
    if !root_or_skip("saved ids after the switch") {
        return;
    }
    let sandbox = Sandbox::new(
        "saved-ids",
        &policy("permit nopass alice as user bob\npermit nopass alice as group docker\n"),
        0o440,
    );
    let (alice, bob, docker) = (user("alice"), user("bob"), user("docker"));
    let show = ["/bin/grep", "-E", "^(Uid|Gid):", "/proc/self/status"];
    let became_bob = sandbox.run(&alice, &[&["-u", bob.as_str()][..], &show].concat(), &[]);
    assert_eq!(became_bob.code, Some(0), "{}", became_bob.output);
    assert_eq!(
        ids(&became_bob.output, "Uid:"),
        [uid_of(&bob); 4],
        "{}",
        became_bob.output
    );
    assert_eq!(
        ids(&became_bob.output, "Gid:"),
        [gid_of(&bob); 4],
        "{}",
        became_bob.output
    );
    let as_docker = sandbox.run(&alice, &[&["-g", docker.as_str()][..], &show].concat(), &[]);
    assert_eq!(as_docker.code, Some(0), "{}", as_docker.output);
    assert_eq!(
        ids(&as_docker.output, "Uid:"),
        [uid_of(&alice); 4],
        "{}",
        as_docker.output
    );
    assert_eq!(
        ids(&as_docker.output, "Gid:"),
        [gid_of(&docker); 4],
        "{}",
        as_docker.output
    );
}

/// Promise 2: a root-owned policy with a syntax error permits nothing, and
/// the caller sees no line of its text (the administrator's comments, names,
/// the place of the error), only that it cannot be used.
#[test]
fn a_broken_policy_shows_the_caller_none_of_its_text() {
    if !root_or_skip("a policy with a syntax error") {
        return;
    }
    let text = policy("permit nopass alice as group docker  # deploy-key-rotation\npermit alice as gruop www\n");
    let sandbox = Sandbox::new("broken-policy", &text, 0o440);
    let alice = user("alice");
    for args in [&["-g", &user("docker"), "id"][..], &["-l"]] {
        let out = sandbox.run(&alice, args, &[]);
        assert_eq!(out.code, Some(1), "{args:?}: {}", out.output);
        assert!(
            out.output.contains("cannot be used, so nothing is permitted"),
            "{args:?}: {}",
            out.output
        );
        assert!(!out.output.contains("uid="), "{}", out.output);
        for secret in [
            "deploy-key-rotation",
            "gruop",
            "permit alice",
            "permit nopass",
            ":2:",
            "^",
        ] {
            assert!(
                !out.output.contains(secret),
                "{args:?}: the caller sees {secret:?}: {}",
                out.output
            );
        }
    }
}

/// Promise 3: descriptors. 0-2 closed by the caller are open again when the
/// command starts, on a harmless device (else a file newgate opens would land
/// there and be written to as if it were the terminal): for a setuid program
/// glibc opens /dev/full for stdin and /dev/null for 1 and 2 before newgate
/// runs, and newgate reopens any still closed on /dev/null. No other
/// descriptor, the caller's or newgate's own, reaches the command.
#[test]
fn the_command_gets_only_descriptors_0_to_2() {
    if !root_or_skip("inherited descriptors") {
        return;
    }
    let sandbox = Sandbox::new("descriptors", &policy("permit nopass alice as group docker\n"), 0o440);
    // The command lists its own descriptors with the shell's builtins only
    // (no program of its own opening more), then says where 0 and 2 lead.
    let script = format!(
        "{ng} -g {docker} /bin/sh -c 'for fd in 0 1 2 3 4 5 6 7 8 9 10 11 12; do [ -e /proc/$$/fd/$fd ] && echo open $fd; done; \
         echo in=$(readlink /proc/$$/fd/0) err=$(readlink /proc/$$/fd/2)' 0<&- 2>&- 5</etc/hostname 9</etc/passwd",
        ng = sandbox.harness().newgate.display(),
        docker = user("docker")
    );
    let out = sandbox.run_script_on_tty(&user("alice"), &script, &[]);
    assert_eq!(out.code, Some(0), "{}", out.output);
    let open: Vec<&str> = out.output.lines().filter(|l| l.starts_with("open ")).collect();
    assert_eq!(open, ["open 0", "open 1", "open 2"], "{}", out.output);
    assert!(
        out.output.contains("in=/dev/full err=/dev/null") || out.output.contains("in=/dev/null err=/dev/null"),
        "{}",
        out.output
    );
}

/// Promise 3, for what PAM opened: a module in newgate's stack (the test's
/// own, tests/pam_keeps_a_descriptor.c) keeps /etc/shadow open without
/// close-on-exec. The command, run as the caller with another group, gets
/// 0-2 alone; before the second adversarial review it got that descriptor
/// and read root's password hashes through it.
#[test]
fn a_descriptor_a_pam_module_keeps_never_reaches_the_command() {
    if !root_or_skip("descriptors opened by PAM modules") {
        return;
    }
    let scratch = support::harness().scratch.join("pam-module");
    std::fs::create_dir_all(&scratch).unwrap();
    let module = shared_library("pam_keeps_a_descriptor.c", &scratch.join("pam_keeps_a_descriptor.so"));
    let pam = format!(
        "@include common-auth\naccount required {}\n@include common-account\n@include common-session-noninteractive\n",
        module.display()
    );
    let sandbox = Sandbox::with_pam("pam-descriptor", &policy("permit nopass alice as group docker\n"), &pam);
    let out = sandbox.run(
        &user("alice"),
        &[
            "-g",
            &user("docker"),
            "/bin/sh",
            "-c",
            "for fd in 0 1 2 3 4 5 6 7 8 9 10 11 12; do [ -e /proc/$$/fd/$fd ] && echo open $fd $(readlink /proc/$$/fd/$fd); done; \
             for fd in 3 4 5 6 7 8 9 10 11 12; do [ -e /proc/$$/fd/$fd ] && head -1 <&$fd; done; true",
        ],
        &[],
    );
    assert_eq!(out.code, Some(0), "{}", out.output);
    assert!(!out.output.contains("/etc/shadow"), "{}", out.output);
    assert!(!out.output.contains("root:"), "{}", out.output);
    let open: Vec<&str> = out.output.lines().filter(|l| l.starts_with("open ")).collect();
    assert_eq!(open.len(), 3, "{}", out.output);
}

/// Promise 3: while newgate holds a password it cannot dump core (a soft
/// RLIMIT_CORE of 0, and not dumpable), a group switch's command never dumps
/// core either (`deny_holds.rs` has the user switch, which gets the caller's
/// limit back), and the command runs with the caller's umask and the
/// policy's 022 on top (issue 10: a caller's 077 stays 077).
#[test]
fn no_core_dump_while_authenticating_and_the_umask_keeps_the_callers() {
    if !root_or_skip("core dumps and umask") {
        return;
    }
    let sandbox = Sandbox::new("core-umask", &policy("permit alice as group docker\n"), 0o440);
    let script = format!(
        "ulimit -c 2048; umask 077; echo caller $(ulimit -c); {} -g {} /bin/sh -c 'echo command $(ulimit -c) $(umask)'",
        sandbox.harness().newgate.display(),
        user("docker")
    );
    let mut limits = String::new();
    let out = sandbox.run_script_on_tty_driven(&user("alice"), &script, |mut prompt| {
        let newgate = children(prompt.pid);
        assert_eq!(newgate.len(), 1, "{newgate:?}");
        limits = std::fs::read_to_string(format!("/proc/{}/limits", newgate[0])).unwrap();
        prompt.type_line(PASSWORD);
        true
    });
    assert_eq!(out.code, Some(0), "{}", out.output);
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap_or_else(|| panic!("{limits}"));
    assert_eq!(
        core.split_whitespace().collect::<Vec<_>>()[4],
        "0",
        "soft 0 at the prompt: {core}"
    );
    assert!(out.output.contains("caller 2048"), "{}", out.output);
    assert!(
        out.output.contains("command 0 0077"),
        "a group switch dumps no core, the caller's umask 077: {}",
        out.output
    );
}

/// Promise 4: a `persist` record is trusted only as newgate wrote it, for the
/// session it was written in, for as long as the rule says. Each case
/// authenticates, lets the test change the record, then asks with `-n`.
#[test]
fn a_persist_record_is_trusted_only_as_written_for_its_session_and_time() {
    if !root_or_skip("persist records") {
        return;
    }
    let sandbox = Sandbox::new(
        "persist-records",
        &policy("permit persist alice as group docker\npermit persist=1s alice as group www\n"),
        0o440,
    );
    let alice = user("alice");
    let record = "f=$(ls /run/newgate/ts-*); read leader start at < $f";
    let cases = [
        ("untouched", "docker", String::new(), true),
        ("mode 0644", "docker", "chmod 0644 /run/newgate/ts-*".into(), false),
        (
            "owned by the caller",
            "docker",
            format!("chown {alice} /run/newgate/ts-*"),
            false,
        ),
        ("folder 0755", "docker", "chmod 0755 /run/newgate".into(), false),
        ("expired", "www", "sleep 1.5".into(), false),
        (
            "a reused pid (the leader's start time differs)",
            "docker",
            format!("{record}; printf '%s %s %s\\n' $leader $((start + 1)) $at > $f"),
            false,
        ),
        (
            "a new session (another leader)",
            "docker",
            format!("{record}; printf '%s %s %s\\n' $((leader + 1)) $start $at > $f"),
            false,
        ),
    ];
    let ng = sandbox.harness().newgate.display().to_string();
    for (case, group, change, trusted) in cases {
        sandbox.root_shell("rm -rf /run/newgate");
        let group = user(group);
        let script = format!(
            "{ng} -g {group} true && echo 'the test changes the record: password for' && read x && {ng} -n -g {group} echo still-trusted"
        );
        let mut changed = String::new();
        let out = sandbox.run_script_on_tty_driven(&alice, &script, |mut prompt| {
            if prompt.number == 2 {
                changed = sandbox.root_shell(&format!("{change}; ls -ln /run/newgate; cat /run/newgate/ts-*"));
                prompt.type_line("");
            } else {
                prompt.type_line(PASSWORD);
            }
            true
        });
        assert_eq!(
            out.output.contains("still-trusted"),
            trusted,
            "{case}: {}\nthe record: {changed}",
            out.output
        );
        if !trusted {
            assert_eq!(out.code, Some(1), "{case}: {}", out.output);
            assert!(out.output.contains("a password is required"), "{case}: {}", out.output);
        }
    }
}

/// Promise 5: the password is read from the terminal, never from stdin
/// unless the caller asks with -S: the right one piped in is not read, the
/// three wrong ones typed are.
#[test]
fn a_password_piped_on_stdin_is_never_read() {
    if !root_or_skip("a password on stdin") {
        return;
    }
    let sandbox = Sandbox::new("stdin-password", &policy("permit alice as group docker\n"), 0o440);
    let script = format!(
        "echo '{PASSWORD}' | {} -g {} id",
        sandbox.harness().newgate.display(),
        user("docker")
    );
    let out = sandbox.run_script_on_tty(&user("alice"), &script, &["nope", "nope", "nope"]);
    assert_eq!(out.code, Some(1), "{}", out.output);
    assert!(!out.output.contains("uid="), "{}", out.output);
    assert!(out.output.contains("3 incorrect password attempts"), "{}", out.output);
}

/// Promise 6: the real newgate with pam_newgate.so in its own PAM stack. The
/// runner hands the request over (group, command) and the module decides it
/// again with its own policy: the module's deny stops a request the runner's
/// policy permits.
#[test]
fn pam_newgate_in_newgates_stack_decides_the_handed_over_request() {
    if !root_or_skip("newgate with pam_newgate.so") {
        return;
    }
    // By the name an administrator gives it, so that its log lines say pam_newgate.
    let module = support::harness().scratch.join("pam_newgate.so");
    let _ = std::fs::remove_file(&module);
    std::os::unix::fs::symlink(built_binary("libpam_newgate.so"), &module).unwrap();
    let stack = format!(
        "@include common-auth\naccount required {} policy=/etc/newgate/module-policy\n\
         @include common-account\n@include common-session-noninteractive\n",
        module.display()
    );
    let sandbox = Sandbox::with_pam(
        "pam-handoff",
        &policy("permit nopass alice as group docker\npermit nopass alice as group www\n"),
        &stack,
    );
    // Written into the overlay's upper folder: the sandbox's /etc/newgate/module-policy.
    let module_policy = sandbox.dir.join("upper/newgate/module-policy");
    std::fs::write(&module_policy, policy("permit alice as group docker cmd /usr/bin/id\n")).unwrap();
    std::fs::set_permissions(&module_policy, std::fs::Permissions::from_mode(0o440)).unwrap();
    let alice = user("alice");
    let both = sandbox.run(&alice, &["-g", &user("docker"), "id", "-gn"], &[]);
    assert_eq!(both.code, Some(0), "{}", both.output);
    assert_eq!(both.output.trim(), user("docker"));
    for args in [
        &["-g", &user("docker"), "/bin/echo", "ran"][..],
        &["-g", &user("www"), "id"],
    ] {
        let out = sandbox.run(&alice, args, &[]);
        assert_eq!(out.code, Some(1), "{args:?}: the module denies: {}", out.output);
        assert!(
            !out.output.contains("ran") && !out.output.contains("uid="),
            "{}",
            out.output
        );
    }
    sandbox.logged(&alice);
    let decided = sandbox.harness().log_lines("pam_newgate(newgate:account): ");
    let docker = user("docker");
    for expected in [
        format!("{alice} as group {docker} cmd /usr/bin/id args -gn: permit (/etc/newgate/module-policy:1)"),
        format!("{alice} as group {docker} cmd /usr/bin/echo args ran: deny (no rule matched)"),
        format!(
            "{alice} as group {} cmd /usr/bin/id: deny (no rule matched)",
            user("www")
        ),
    ] {
        assert!(
            decided.iter().any(|l| l.contains(&expected)),
            "the module decided the handed-over request: {expected}\n{decided:#?}"
        );
    }
}

/// Promise 8: `nolog` silences a permitted run, never a failed authentication.
#[test]
fn a_wrong_password_under_a_nolog_rule_is_still_logged() {
    if !root_or_skip("nolog and wrong passwords") {
        return;
    }
    let sandbox = Sandbox::new("nolog-password", &policy("permit nolog alice as group docker\n"), 0o440);
    let alice = user("alice");
    let args = ["-g", &user("docker"), "true"];
    let wrong = sandbox.run_on_tty(&alice, &args, &["nope", "nope", "nope"]);
    assert_eq!(wrong.code, Some(1), "{}", wrong.output);
    let right = sandbox.run_on_tty(&alice, &args, &[PASSWORD]);
    assert_eq!(right.code, Some(0), "{}", right.output);
    let lines = sandbox.logged(&alice);
    assert_eq!(lines.len(), 1, "the failure only, not the permitted run: {lines:#?}");
    assert!(
        lines[0].starts_with("<81>") && lines[0].contains("3 incorrect password attempts"),
        "{lines:#?}"
    );
}

/// Promise 9: `-s` runs the target's login shell, not the caller's.
#[test]
fn s_runs_the_targets_shell() {
    if !root_or_skip("-s") {
        return;
    }
    let sandbox = Sandbox::new("shell-s", &policy("permit nopass alice as user bob\n"), 0o440);
    let bob = user("bob");
    // bob's shell becomes bash for this test (alice's stays /bin/sh).
    let usermod = |shell: &str| {
        let status = Command::new("usermod").args(["-s", shell, &bob]).status().unwrap();
        assert!(status.success());
    };
    usermod("/bin/bash");
    let script = format!(
        "echo 'echo \"bash=${{BASH_VERSION:+yes}} shell=$SHELL\"; id -un; exit 5' | {} -s -u {bob}",
        sandbox.harness().newgate.display()
    );
    let out = sandbox.run_script_on_tty(&user("alice"), &script, &[]);
    usermod("/bin/sh");
    assert_eq!(out.code, Some(5), "{}", out.output);
    assert!(out.output.contains("bash=yes shell=/bin/bash"), "{}", out.output);
    assert!(out.output.lines().any(|l| l.trim() == bob), "{}", out.output);
}

/// Promise 9: a stopped command stops newgate (so that the shell gets the
/// terminal back); newgate continued continues the command.
#[test]
fn a_stopped_command_stops_newgate_and_resumes_with_it() {
    if !root_or_skip("stop and resume") {
        return;
    }
    let sandbox = Sandbox::new("stop-resume", &policy("permit nopass alice as group docker\n"), 0o440);
    let child = sandbox.spawn(
        &user("alice"),
        &[
            "-g",
            &user("docker"),
            "/bin/sh",
            "-c",
            "kill -STOP $$; echo resumed; exit 3",
        ],
    );
    let pid = Pid::from_raw(child.id() as i32);
    let deadline = Instant::now() + Duration::from_secs(5);
    while process_state(pid) != Some('T') && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(process_state(pid), Some('T'), "newgate stops with its command");
    kill(pid, Signal::SIGCONT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "resumed\n");
}

/// Promise 9: root is not asked for a password (there is no terminal here
/// to ask on), but is decided by the policy all the same.
#[test]
fn root_skips_authentication_but_not_the_policy() {
    if !root_or_skip("root as the caller") {
        return;
    }
    let sandbox = Sandbox::new("root-caller", &policy("permit root as group docker\n"), 0o440);
    let run = |group: &str| {
        sandbox
            .as_root(&sandbox.harness().newgate)
            .args(["-g", &user(group), "id", "-gn"])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let permitted = run("docker");
    assert_eq!(
        permitted.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&permitted.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&permitted.stdout).trim(), user("docker"));
    let denied = run("www");
    assert_eq!(denied.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&denied.stderr).contains("may not run"));
}

/// Promise 9: `set passwd_tries` is how many times the password is asked.
#[test]
fn passwd_tries_is_the_number_of_prompts() {
    if !root_or_skip("passwd_tries") {
        return;
    }
    let sandbox = Sandbox::new(
        "passwd-tries",
        &policy("set passwd_tries = 2\npermit alice as group docker\n"),
        0o440,
    );
    let out = sandbox.run_on_tty(&user("alice"), &["-g", &user("docker"), "id"], &["a", "b", "c"]);
    assert_eq!(out.code, Some(1), "{}", out.output);
    assert_eq!(out.output.matches("password for").count(), 2, "{}", out.output);
    assert!(out.output.contains("2 incorrect password attempts"), "{}", out.output);
}

/// Promise 10: `newgatectl edit` refuses to run setuid, edits a 0700/0600
/// private copy, saves the installed policy root:root 0440 whatever its mode
/// was, and removes what a killed earlier save left beside it.
#[test]
fn newgatectl_edit_keeps_the_policy_roots_alone() {
    if !root_or_skip("newgatectl edit") {
        return;
    }
    let sandbox = Sandbox::new("ctl-edit", &policy("permit alice as group docker\n"), 0o644);
    let ctl = built_binary("newgatectl");
    // Setuid root and run by alice: refused before anything.
    let setuid = sandbox.dir.join("cwd/newgatectl");
    std::fs::copy(&ctl, &setuid).unwrap();
    std::fs::set_permissions(&setuid, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let out = Command::new("setpriv")
        .args([
            &format!("--reuid={}", user("alice")),
            &format!("--regid={}", user("alice")),
            "--init-groups",
        ])
        .arg(&setuid)
        .args(["edit", "/etc/newgate/policy"])
        .env("EDITOR", "/bin/true")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refusing to run setuid"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A killed earlier save's temporary file, and an editor that reports what it edits.
    let upper = sandbox.dir.join("upper/newgate");
    std::fs::write(upper.join(".policy.newgatectl-leftover"), "half").unwrap();
    let seen = sandbox.dir.join("seen");
    let editor = sandbox.dir.join("editor.sh");
    std::fs::write(
        &editor,
        format!(
            "#!/bin/sh\nstat -c '%a %U' \"$1\" \"$(dirname \"$1\")\" > {}\necho '# edited' >> \"$1\"\n",
            seen.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = sandbox
        .as_root(&ctl)
        .args(["edit"])
        .env("EDITOR", &editor)
        .env_remove("VISUAL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap(),
        "600 root\n700 root\n",
        "the private copy and its folder"
    );
    let saved = sandbox.root_shell("stat -c '%a %U %G' /etc/newgate/policy; tail -1 /etc/newgate/policy");
    assert_eq!(saved, "440 root root\n# edited\n", "saved root:root 0440");
    let beside = sandbox.root_shell("ls -A /etc/newgate");
    assert!(
        !beside.contains(".newgatectl-"),
        "the earlier save's leftover is removed: {beside}"
    );
}

/// Promise 7: a name that NSS matched loosely never stands for an account.
/// An NSS module of the test's own (tests/nss_casefold.c, built here with the
/// machine's C compiler) answers `NGT-BOB` with the entry of `ngt-bob`, as a
/// directory that ignores case does; the policy denies `ngt-bob` by name.
#[test]
fn a_name_nss_matched_loosely_is_refused() {
    if !root_or_skip("NSS that matches names without regard to case") {
        return;
    }
    let sandbox = Sandbox::new(
        "casefold",
        &policy("permit nopass alice as user *\ndeny alice as user bob\n"),
        0o440,
    );
    let module = shared_library("nss_casefold.c", &sandbox.dir.join("libnss_casefold.so.2"));
    // The module joins the library folder and the passwd line of
    // nsswitch.conf in the sandbox only; /etc is already its own overlay.
    let libs = sandbox.root_shell("dirname $(readlink -f $(ldconfig -p | sed -n 's/.*libc.so.6 .*=> //p' | head -1))");
    let libs = libs.trim();
    let d = sandbox.dir.display();
    let set_up = sandbox.root_shell(&format!(
        "set -e; mkdir -p {d}/libs-upper {d}/libs-work; cp {m} {d}/libs-upper/;
         mount -t overlay overlay -o lowerdir={libs},upperdir={d}/libs-upper,workdir={d}/libs-work {libs};
         sed -i 's/^passwd:.*/passwd: files casefold/' /etc/nsswitch.conf; getent passwd {loud} && echo ready",
        m = module.display(),
        loud = user("bob").to_uppercase(),
    ));
    assert!(set_up.trim_end().ends_with("ready"), "the loose NSS answers: {set_up}");
    let loud = user("bob").to_uppercase();
    let out = sandbox.run(&user("alice"), &["-n", "-u", &loud, "id"], &[]);
    assert!(
        !out.output.contains("uid="),
        "ran as bob through a loose name: {}",
        out.output
    );
    assert_eq!(out.code, Some(1), "{}", out.output);
    assert!(
        out.output.contains(&format!(
            "user {loud} is another name for uid {}, {}: ask for {}",
            uid_of(&user("bob")),
            user("bob"),
            user("bob")
        )),
        "{}",
        out.output
    );
}
