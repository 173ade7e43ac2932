//! `newgate` as users run it: a setuid-root copy, real users and groups, the
//! repository's PAM service with pam_unix and a real password, a syslog
//! socket at /dev/log; each test in a private mount namespace.

// Each suite uses part of the shared harness.
#[allow(dead_code)]
mod support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;

use support::{PASSWORD, Sandbox, can_raise_hard_limits, policy, root_or_skip, user};

fn id_line(output: &str) -> &str {
    output
        .lines()
        .find(|l| l.starts_with("uid="))
        .unwrap_or_else(|| panic!("no id output in: {output}"))
}

#[test]
fn group_switches_happen_exactly_as_the_policy_allows() {
    if !root_or_skip("group switches") {
        return;
    }
    let sandbox = Sandbox::new("switch", &policy("permit nopass alice as group docker\n"), 0o440);
    let alice = user("alice");
    let out = sandbox.run(&alice, &["-g", &user("docker"), "id"], &[]);
    assert_eq!(out.code, Some(0), "{}", out.output);
    let id = id_line(&out.output);
    let uid = nix::unistd::User::from_name(&alice).unwrap().unwrap().uid;
    assert!(id.starts_with(&format!("uid={uid}({alice}) gid=")), "{id}");
    assert!(id.contains(&format!("({})", user("docker"))), "{id}");
    assert!(
        id.split(" groups=").nth(1).unwrap().contains(&alice),
        "the caller keeps their own groups: {id}"
    );
    // The primary group is the target group.
    let gid = nix::unistd::Group::from_name(&user("docker")).unwrap().unwrap().gid;
    assert!(id.contains(&format!("gid={gid}(")), "{id}");

    let denied = sandbox.run(&alice, &["-g", &user("audit"), "id"], &[]);
    assert_eq!(denied.code, Some(1), "{}", denied.output);
    assert!(
        denied.output.contains("may not run /usr/bin/id as group"),
        "{}",
        denied.output
    );
    assert!(!denied.output.contains("uid="));
    let bob = sandbox.run(&user("bob"), &["-g", &user("docker"), "id"], &[]);
    assert_eq!(bob.code, Some(1));

    let marker = sandbox.cwd().display().to_string();
    let lines = sandbox.harness().wait_for_log(&marker, 3);
    let permit = lines
        .iter()
        .find(|l| l.contains(&format!("{alice} : TTY=")))
        .expect("a permit line");
    assert!(permit.starts_with("<85>"), "authpriv.notice: {permit}");
    assert!(permit.contains("newgate["), "{permit}");
    assert!(
        permit.contains(&format!(
            "TTY=unknown ; PWD={marker} ; USER={alice} ; GROUP={} ; RULE=/etc/newgate/policy:1 ; COMMAND=/usr/bin/id",
            user("docker")
        )),
        "{permit}"
    );
    let denial = lines
        .iter()
        .find(|l| l.contains(&format!("{alice} : command not allowed")))
        .expect("a denial line");
    assert!(denial.starts_with("<81>"), "authpriv.alert: {denial}");
    assert!(
        denial.contains(&format!("GROUP={} ; COMMAND=/usr/bin/id", user("audit"))),
        "{denial}"
    );
}

#[test]
fn becoming_a_user_takes_their_groups() {
    if !root_or_skip("user switches") {
        return;
    }
    let sandbox = Sandbox::new(
        "user",
        &policy("permit nopass alice as user bob\npermit nopass alice as user bob group www\n"),
        0o440,
    );
    let out = sandbox.run(&user("alice"), &["-u", &user("bob"), "id"], &[]);
    assert_eq!(out.code, Some(0), "{}", out.output);
    let id = id_line(&out.output);
    assert!(
        id.contains(&format!("({})", user("bob"))) && !id.contains(&user("alice")),
        "{id}"
    );
    let both = sandbox.run(
        &user("alice"),
        &["-u", &user("bob"), "-g", &user("www"), "id", "-gn"],
        &[],
    );
    assert_eq!(both.code, Some(0), "{}", both.output);
    assert_eq!(both.output.trim(), user("www"));
    // Neither -u nor -g means root, which this policy does not allow.
    assert_eq!(sandbox.run(&user("alice"), &["id"], &[]).code, Some(1));
}

#[test]
fn a_second_name_for_an_account_is_refused() {
    if !root_or_skip("second names of accounts") {
        return;
    }
    let sandbox = Sandbox::new(
        "alias",
        &policy(
            "permit nopass alice as user *\ndeny alice as user bob\npermit nopass alice as group *\ndeny alice as group docker\n",
        ),
        0o440,
    );
    let alice = user("alice");
    let bobby = sandbox.run(&alice, &["-u", &user("bobby"), "id"], &[]);
    assert_eq!(bobby.code, Some(1), "{}", bobby.output);
    assert!(
        bobby.output.contains("another name for uid") && bobby.output.contains(&format!("ask for {}", user("bob"))),
        "{}",
        bobby.output
    );
    assert!(!bobby.output.contains("uid="), "{}", bobby.output);
    let dockr = sandbox.run(&alice, &["-g", &user("dockr"), "id"], &[]);
    assert_eq!(dockr.code, Some(1), "{}", dockr.output);
    assert!(
        dockr.output.contains(&format!("ask for {}", user("docker"))),
        "{}",
        dockr.output
    );
    assert!(!dockr.output.contains("uid="), "{}", dockr.output);
    // newgatectl explain says so too, rather than answer by the name alone.
    let explained = std::process::Command::new(support::built_binary("newgatectl"))
        .args(["explain", "--policy"])
        .arg(sandbox.dir.join("upper/newgate/policy"))
        .args(["--user", &alice, "--as-user", &user("bobby")])
        .output()
        .unwrap();
    let note = String::from_utf8_lossy(&explained.stderr);
    assert!(
        note.contains(&format!(
            "newgate refuses this request whatever the policy says: user {} is another name for uid",
            user("bobby")
        )),
        "{note}"
    );
    // The accounts' own names are decided by the policy as written.
    assert_eq!(sandbox.run(&alice, &["-u", &user("carol"), "id"], &[]).code, Some(0));
    assert_eq!(sandbox.run(&alice, &["-u", &user("bob"), "id"], &[]).code, Some(1));
}

#[test]
fn the_password_is_asked_on_the_terminal() {
    if !root_or_skip("password prompts") {
        return;
    }
    let sandbox = Sandbox::new("password", &policy("permit alice as group docker\n"), 0o440);
    let alice = user("alice");
    let docker = user("docker");
    let ok = sandbox.run_on_tty(&alice, &["-g", &docker, "id", "-gn"], &[PASSWORD]);
    assert_eq!(ok.code, Some(0), "{}", ok.output);
    assert!(
        ok.output.contains(&format!("[newgate] password for {alice}: ")),
        "{}",
        ok.output
    );
    assert!(
        !ok.output.contains(PASSWORD),
        "the password is not echoed: {}",
        ok.output
    );
    assert!(ok.output.trim_end().ends_with(&docker), "{}", ok.output);

    let wrong = sandbox.run_on_tty(&alice, &["-g", &docker, "id"], &["nope", "nope again", "still no"]);
    assert_eq!(wrong.code, Some(1), "{}", wrong.output);
    assert_eq!(
        wrong.output.matches("password for").count(),
        3,
        "passwd_tries = 3: {}",
        wrong.output
    );
    assert!(
        wrong.output.contains("3 incorrect password attempts"),
        "{}",
        wrong.output
    );
    let marker = sandbox.cwd().display().to_string();
    let lines = sandbox.harness().wait_for_log(&marker, 2);
    assert!(
        lines.iter().any(
            |l| l.starts_with("<81>") && l.contains(&format!("{alice} : 3 incorrect password attempts ; TTY=pts/"))
        ),
        "{lines:#?}"
    );

    // Without a terminal there is nobody to ask; -n never asks.
    let no_tty = sandbox.run(&alice, &["-g", &docker, "id"], &[]);
    assert_eq!(no_tty.code, Some(1), "{}", no_tty.output);
    assert!(!no_tty.output.contains("uid="));
    let never = sandbox.run_on_tty(&alice, &["-n", "-g", &docker, "id"], &[]);
    assert_eq!(never.code, Some(1), "{}", never.output);
    assert!(!never.output.contains("password for"), "{}", never.output);
    assert!(never.output.contains("a password is required"), "{}", never.output);
}

#[test]
fn persist_lasts_for_the_terminal_session_and_k_forgets() {
    if !root_or_skip("persist") {
        return;
    }
    let sandbox = Sandbox::new("persist", &policy("permit persist alice as group docker\n"), 0o440);
    let alice = user("alice");
    let docker = user("docker");
    // Nothing is remembered yet.
    let cold = sandbox.run_on_tty(&alice, &["-n", "-g", &docker, "true"], &[]);
    assert_eq!(cold.code, Some(1), "{}", cold.output);
    // Within one terminal session, the second run is not asked again.
    let ng = sandbox.harness().newgate.display().to_string();
    let script = format!("{ng} -g {docker} true && {ng} -n -g {docker} echo remembered");
    let session = sandbox.run_script_on_tty(&alice, &script, &[PASSWORD]);
    assert_eq!(session.code, Some(0), "{}", session.output);
    assert_eq!(session.output.matches("password for").count(), 1, "{}", session.output);
    assert!(session.output.contains("remembered"), "{}", session.output);
    let listing = sandbox.root_shell("ls -l /run/newgate");
    assert!(
        listing.contains("-rw------- 1 root root"),
        "a root-only record: {listing}"
    );
    // A new terminal is a new session: asked again.
    let other = sandbox.run_on_tty(&alice, &["-n", "-g", &docker, "true"], &[]);
    assert_eq!(other.code, Some(1), "{}", other.output);
    assert!(other.output.contains("a password is required"), "{}", other.output);
    // -k forgets everything of the caller's.
    assert_eq!(sandbox.run(&alice, &["-k"], &[]).code, Some(0));
    let listing = sandbox.root_shell("ls /run/newgate");
    assert!(!listing.contains("ts-"), "{listing}");
}

#[test]
fn an_insecure_policy_permits_nothing() {
    if !root_or_skip("insecure policy") {
        return;
    }
    let sandbox = Sandbox::new("insecure", &policy("permit nopass alice as group docker\n"), 0o666);
    let out = sandbox.run(&user("alice"), &["-g", &user("docker"), "id"], &[]);
    assert_eq!(out.code, Some(1), "{}", out.output);
    assert!(
        out.output.contains("cannot be used, so nothing is permitted"),
        "{}",
        out.output
    );
    assert!(!out.output.contains("uid="));
    assert!(
        !out.output.contains("permit nopass"),
        "the policy's text is not shown to the caller"
    );
    // Other tests' refusals run at the same time: this one's carry its folder.
    let marker = sandbox.cwd().display().to_string();
    let lines = sandbox.harness().wait_for_log(&marker, 1);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("refused") && l.contains("writable by everyone")),
        "{lines:#?}"
    );
}

#[test]
fn dangerous_variables_never_reach_the_command() {
    if !root_or_skip("environment") {
        return;
    }
    let sandbox = Sandbox::new(
        "env",
        &policy("permit nopass alice as group docker\npermit nopass keepenv alice as group www\n"),
        0o440,
    );
    let hostile = [
        ("LD_PRELOAD", "/tmp/evil.so"),
        ("LD_LIBRARY_PATH", "/tmp"),
        ("GCONV_PATH", "/tmp"),
        ("BASH_ENV", "/tmp/rc"),
        ("ENV", "/tmp/rc"),
        ("IFS", "x"),
        ("SHELLOPTS", "xtrace"),
        ("PATH", "/tmp/evil:/usr/bin:/bin"),
        ("FUNKY", "() { echo pwned; }"),
        ("TERM", "xterm"),
        ("EDITOR", "vim"),
        ("NEWGATE_USER", "root"),
        // Where git, curl and others read their configuration, which can name
        // a program to run or a file to read: a `keepenv` rule for `git
        // status` or `curl URL` ran anything as root (second adversarial review).
        ("XDG_CONFIG_HOME", "/tmp/evil-config"),
        ("GIT_DIR", "/tmp/evil-repo/.git"),
        ("CURL_HOME", "/tmp/evil-curl"),
    ];
    for group in ["docker", "www"] {
        let out = sandbox.run(&user("alice"), &["-g", &user(group), "/usr/bin/env"], &hostile);
        assert_eq!(out.code, Some(0), "{}", out.output);
        // Only the command's own output: the wrappers around it (setpriv, nsenter)
        // are not setuid, so the loader complains there about LD_PRELOAD.
        let env: Vec<&str> = out.output.lines().filter(|l| !l.starts_with("ERROR: ld.so")).collect();
        let has = |name: &str| env.iter().any(|l| l.starts_with(&format!("{name}=")));
        for name in [
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "GCONV_PATH",
            "BASH_ENV",
            "ENV",
            "IFS",
            "SHELLOPTS",
            "FUNKY",
            "XDG_CONFIG_HOME",
            "GIT_DIR",
            "CURL_HOME",
        ] {
            assert!(!has(name), "{group}: {name} reached the command:\n{}", out.output);
        }
        assert!(env.contains(&"TERM=xterm"), "{}", out.output);
        assert!(
            env.contains(&format!("NEWGATE_USER={}", user("alice")).as_str()),
            "{}",
            out.output
        );
        assert!(
            env.contains(&"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
            "{}",
            out.output
        );
        assert_eq!(
            has("EDITOR"),
            group == "www",
            "only keepenv keeps EDITOR: {}",
            out.output
        );
    }
}

#[test]
fn commands_are_looked_up_with_the_callers_rights_and_refusals_are_logged() {
    if !root_or_skip("command lookup") {
        return;
    }
    let sandbox = Sandbox::new("lookup", &policy("permit nopass alice as group docker\n"), 0o440);
    let (alice, docker) = (user("alice"), user("docker"));
    // A folder only root may look into, holding a program and a plain file.
    let hidden = sandbox.dir.join("hidden");
    std::fs::create_dir(&hidden).unwrap();
    std::fs::write(hidden.join("program"), "#!/bin/sh\necho ran\n").unwrap();
    std::fs::set_permissions(hidden.join("program"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(hidden.join("plain"), "text").unwrap();
    std::fs::set_permissions(&hidden, std::fs::Permissions::from_mode(0o700)).unwrap();
    let answers: Vec<(Option<i32>, String)> = ["program", "plain", "absent"]
        .iter()
        .map(|name| {
            let path = hidden.join(name);
            let out = sandbox.run(&alice, &["-g", &docker, path.to_str().unwrap()], &[]);
            (out.code, out.output.replace(name, "NAME"))
        })
        .collect();
    assert_eq!(answers[0].0, Some(127), "{answers:?}");
    assert!(answers[0].1.contains("no such command"), "{answers:?}");
    assert!(
        answers.iter().all(|a| *a == answers[0]),
        "the same answer whether the file exists or not: {answers:?}"
    );
    let unknown = sandbox.run(&alice, &["-g", &user("nosuchgroup"), "id"], &[]);
    assert_eq!(unknown.code, Some(1), "{}", unknown.output);

    let lines = sandbox.logged(&alice);
    assert_eq!(lines.len(), 4, "every refusal is logged, once: {lines:?}");
    assert!(lines.iter().all(|l| l.starts_with("<81>")), "as alerts: {lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("{alice} : {}/absent: no such command ; ", hidden.display()))),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("unknown group {}", user("nosuchgroup")))),
        "{lines:?}"
    );
}

#[test]
fn exit_codes_and_signals_pass_through() {
    if !root_or_skip("exit codes") {
        return;
    }
    let sandbox = Sandbox::new("exit", &policy("permit nopass alice as group docker\n"), 0o440);
    let alice = user("alice");
    let docker = user("docker");
    let run = |args: &[&str]| sandbox.run(&alice, &[&["-g", docker.as_str()][..], args].concat(), &[]);
    assert_eq!(run(&["sh", "-c", "exit 7"]).code, Some(7));
    assert_eq!(run(&["sh", "-c", "kill -TERM $$"]).code, Some(128 + 15));
    let missing = run(&["no-such-command-here"]);
    assert_eq!(missing.code, Some(127), "{}", missing.output);
    assert!(
        missing.output.contains("not found in secure_path"),
        "{}",
        missing.output
    );
    let plain = sandbox.cwd().join("plain-file");
    std::fs::write(&plain, "not a program").unwrap();
    assert_eq!(run(&[plain.to_str().unwrap()]).code, Some(126));
    // The caller's PATH is never used to find a command.
    let out = sandbox.run(&alice, &["-g", &docker, "id"], &[("PATH", "/nonexistent")]);
    assert_eq!(out.code, Some(0), "{}", out.output);
}

#[test]
fn newgate_refuses_to_run_without_its_rights() {
    if !root_or_skip("self-check") {
        return;
    }
    let sandbox = Sandbox::new("selfcheck", &policy("permit nopass alice as group docker\n"), 0o440);
    let copy = sandbox.cwd().join("not-setuid");
    std::fs::copy(&sandbox.harness().newgate, &copy).unwrap();
    std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args([
            &format!("--reuid={}", user("alice")),
            &format!("--regid={}", user("alice")),
            "--init-groups",
        ])
        .arg(&copy)
        .args(["-g", &user("docker"), "id"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("must be installed setuid root") && err.contains("chmod 4755"),
        "{err}"
    );
    let out = std::process::Command::new("setpriv")
        .args([
            "--no-new-privs",
            &format!("--reuid={}", user("alice")),
            &format!("--regid={}", user("alice")),
            "--init-groups",
        ])
        .arg(&sandbox.harness().newgate)
        .args(["-g", &user("docker"), "id"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no_new_privs"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn signals_sent_to_newgate_reach_the_command() {
    if !root_or_skip("signal forwarding") {
        return;
    }
    let sandbox = Sandbox::new("signals", &policy("permit nopass alice as group docker\n"), 0o440);
    let script = "trap 'echo got TERM; exit 3' TERM; echo started; while :; do sleep 0.1; done";
    let mut child = sandbox.spawn(&user("alice"), &["-g", &user("docker"), "/bin/sh", "-c", script]);
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 8];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    assert_eq!(&first, b"started\n");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "got TERM\n");
    assert_eq!(status.code(), Some(3), "newgate exits with the command's status");
}

#[test]
fn an_interrupted_password_prompt_leaves_nothing_behind() {
    if !root_or_skip("interrupted authentication") {
        return;
    }
    let sandbox = Sandbox::new("interrupt", &policy("permit persist alice as group docker\n"), 0o440);
    // ^C at the prompt: the terminal sends SIGINT to newgate's process group.
    let out = sandbox.run_on_tty(&user("alice"), &["-g", &user("docker"), "id"], &["\u{3}"]);
    assert_eq!(out.code, Some(128 + 2), "{}", out.output);
    assert!(out.output.contains("interrupted"), "{}", out.output);
    assert!(!out.output.contains("uid="), "{}", out.output);
    let records = sandbox.root_shell("ls -A /run/newgate 2>/dev/null");
    assert!(!records.contains("ts-"), "no authentication is remembered: {records}");
}

/// The state letter of a process (`T` when stopped), from /proc/PID/stat.
fn process_state(pid: nix::unistd::Pid) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

#[test]
fn only_signals_that_mean_stop_end_the_password_prompt() {
    if !root_or_skip("signals at the prompt") {
        return;
    }
    let rule = policy("permit alice as group docker\n");
    let sandbox = Sandbox::new("prompt-signals", &rule, 0o440);
    let args = ["-g", &user("docker"), "id"];
    let settle = || std::thread::sleep(std::time::Duration::from_millis(300));
    // Resizing the window (SIGWINCH to the terminal's foreground group), or
    // SIGCONT: the prompt goes on and takes the password typed next.
    let resized = sandbox.run_on_tty_driven(&user("alice"), &args, |mut prompt| {
        let size = nix::libc::winsize {
            ws_row: 40,
            ws_col: 100,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one winsize from the pointer, which lives through the call.
        let r = unsafe {
            nix::libc::ioctl(
                std::os::fd::AsRawFd::as_raw_fd(&*prompt.master),
                nix::libc::TIOCSWINSZ,
                &size,
            )
        };
        assert_eq!(r, 0);
        settle();
        prompt.type_line(PASSWORD);
        true
    });
    assert_eq!(
        resized.code,
        Some(0),
        "a resize does not end the prompt: {}",
        resized.output
    );
    assert!(resized.output.contains("uid="), "{}", resized.output);
    let continued = sandbox.run_on_tty_driven(&user("alice"), &args, |mut prompt| {
        nix::sys::signal::kill(prompt.pid, nix::sys::signal::Signal::SIGCONT).unwrap();
        settle();
        prompt.type_line(PASSWORD);
        true
    });
    assert_eq!(
        continued.code,
        Some(0),
        "SIGCONT does not end the prompt: {}",
        continued.output
    );
    // ^Z suspends newgate at the prompt, as sudo does; `fg` asks again.
    let mut stopped = false;
    let suspended = sandbox.run_on_tty_driven(&user("alice"), &args, |mut prompt| {
        if prompt.number == 1 {
            prompt.master.write_all(b"half typed\x1a").unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
            while process_state(prompt.pid) != Some('T') && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            stopped = process_state(prompt.pid) == Some('T');
            nix::sys::signal::kill(prompt.pid, nix::sys::signal::Signal::SIGCONT).unwrap();
        } else {
            prompt.type_line(PASSWORD);
        }
        true
    });
    assert!(stopped, "^Z stops newgate at the prompt: {}", suspended.output);
    assert_eq!(suspended.code, Some(0), "{}", suspended.output);
    assert_eq!(
        suspended.output.matches("password for").count(),
        2,
        "{}",
        suspended.output
    );
    // A PAM module that runs a program (its SIGCHLD) before the prompt.
    let stack = "auth optional pam_exec.so quiet /bin/true\n\
                 @include common-auth\n@include common-account\n@include common-session-noninteractive\n";
    let exec = Sandbox::with_pam("prompt-pam-exec", &rule, stack);
    let out = exec.run_on_tty(&user("alice"), &args, &[PASSWORD]);
    assert_eq!(out.code, Some(0), "pam_exec does not end the prompt: {}", out.output);
    // SIGTERM still ends it, with the terminal restored and 128+15.
    let ended = sandbox.run_on_tty_driven(&user("alice"), &args, |prompt| {
        nix::sys::signal::kill(prompt.pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        settle();
        true
    });
    assert_eq!(ended.code, Some(128 + 15), "{}", ended.output);
    assert!(!ended.output.contains("uid="), "{}", ended.output);
}

#[test]
fn a_file_size_limit_neither_kills_newgate_nor_reaches_past_the_command() {
    if !root_or_skip("RLIMIT_FSIZE") {
        return;
    }
    let sandbox = Sandbox::new("fsize", &policy("permit persist alice as group docker\n"), 0o440);
    // The caller's blocked and ignored signals, then the command's, and its limit.
    let signals = "grep -E \"^Sig(Blk|Ign)\" /proc/self/status";
    let script = format!(
        "{signals}; /usr/bin/prlimit --fsize=0 -- {} -g {} /bin/sh -c 'ulimit -f; exec {signals}'",
        sandbox.harness().newgate.display(),
        user("docker")
    );
    let out = sandbox.run_script_on_tty(&user("alice"), &script, &[PASSWORD]);
    assert_eq!(out.code, Some(0), "{}", out.output);
    let lines: Vec<&str> = out.output.lines().map(str::trim).collect();
    let masks: Vec<&str> = lines.iter().copied().filter(|l| l.starts_with("Sig")).collect();
    assert_eq!(masks.len(), 4, "{}", out.output);
    assert_eq!(
        masks[..2],
        masks[2..],
        "the command gets the caller's signal mask and dispositions: {}",
        out.output
    );
    let ignored = u64::from_str_radix(masks[3].trim_start_matches("SigIgn:").trim(), 16).unwrap();
    assert_eq!(ignored & (1 << (25 - 1)), 0, "SIGXFSZ is not ignored: {}", out.output);
    assert!(
        lines.contains(&"0"),
        "the command runs with the caller's limit: {}",
        out.output
    );
    let records = sandbox.root_shell("ls -A /run/newgate");
    assert!(!records.contains(".ts-"), "no temporary file is left: {records}");
    // Where newgate cannot raise the hard limit the caller lowered, the write
    // fails with EFBIG and costs only a prompt next time.
    assert_eq!(
        records.contains("ts-"),
        can_raise_hard_limits(),
        "the persist record is written where the limit can be raised: {records}"
    );
    // A soft limit alone newgate raises anywhere: the record is written.
    let soft = script.replace("--fsize=0 ", "--fsize=0:unlimited ");
    let out = sandbox.run_script_on_tty(&user("alice"), &soft, &[PASSWORD]);
    assert_eq!(out.code, Some(0), "{}", out.output);
    let records = sandbox.root_shell("ls -A /run/newgate");
    assert!(records.contains("ts-") && !records.contains(".ts-"), "{records}");
    let marker = sandbox.cwd().display().to_string();
    let lines = sandbox.harness().wait_for_log(&marker, 1);
    assert!(
        lines.iter().any(|l| l.contains("COMMAND=/usr/bin/sh -c")),
        "the run is logged: {lines:?}"
    );
}

#[test]
fn a_small_stack_or_few_descriptors_are_the_commands_not_newgates() {
    if !root_or_skip("RLIMIT_STACK") {
        return;
    }
    // `set` first: at 16 KiB of stack, newgate said "unknown statement `set`".
    let sandbox = Sandbox::new(
        "stack",
        &policy("set passwd_tries = 3\npermit nopass alice as group docker\n"),
        0o440,
    );
    let show = ["-g", &user("docker"), "/bin/sh", "-c", "ulimit -s; ulimit -n"];
    // A soft limit newgate raises for itself; the command gets it back.
    let soft = sandbox.run_under(
        &user("alice"),
        &["/usr/bin/prlimit", "--stack=16384:unlimited", "--nofile=16", "--"],
        &show,
    );
    assert_eq!(soft.code, Some(0), "{}", soft.output);
    assert_eq!(soft.output, "16\n16\n", "the command runs with the caller's limits");
    // A hard limit too: raised where newgate has CAP_SYS_RESOURCE (it has on
    // a plain system); in a container without it, refused as what it is.
    let hard = sandbox.run_under(&user("alice"), &["/usr/bin/prlimit", "--stack=16384", "--"], &show);
    if can_raise_hard_limits() {
        assert_eq!(hard.code, Some(0), "{}", hard.output);
        assert_eq!(hard.output, "16\n", "{}", hard.output);
    } else {
        assert_eq!(hard.code, Some(1), "{}", hard.output);
        assert!(
            hard.output
                .contains("the stack size limit (16 KiB) is too small for newgate"),
            "{}",
            hard.output
        );
    }
}

#[test]
fn long_command_lines_run_and_a_failed_exec_is_logged() {
    if !root_or_skip("long command lines") {
        return;
    }
    let huge = "v".repeat(140_000);
    let sandbox = Sandbox::new(
        "long-args",
        &policy(&format!(
            "permit nopass alice as group docker\npermit nopass keepenv alice as group www\n\
             permit nopass setenv {{ HUGE={huge} }} alice as group audit\n"
        )),
        0o440,
    );
    // Two arguments of 70 KB: each below the kernel's 128 KiB per string, the
    // whole line above it.
    let (a, b) = ("a".repeat(70_000), "b".repeat(70_000));
    let show = "echo ${#1} ${#2} ${#NEWGATE_COMMAND}; env | grep -cE '^NEWGATE_(ARGS|GROUP|TARGET_USER)=' || true";
    for group in ["docker", "www"] {
        let out = sandbox.run(
            &user("alice"),
            &["-g", &user(group), "/bin/sh", "-c", show, "sh", &a, &b],
            &[],
        );
        assert_eq!(out.code, Some(0), "{group}: {:.300}", out.output);
        assert_eq!(
            out.output, "70000 70000 4096\n0\n",
            "{group}: the arguments whole, NEWGATE_COMMAND capped, no hand-off variable"
        );
    }
    // An environment the kernel refuses (one value over 128 KiB): the failure
    // is said, and logged after the permit line.
    let out = sandbox.run(&user("alice"), &["-g", &user("audit"), "/bin/true"], &[]);
    assert_eq!(out.code, Some(126), "{}", out.output);
    assert!(
        out.output.contains("cannot run /usr/bin/true: Argument list too long")
            && out.output.contains("at most 128 KiB each"),
        "{}",
        out.output
    );
    let marker = sandbox.cwd().display().to_string();
    let lines = sandbox.harness().wait_for_log(&marker, 4);
    assert!(
        lines.iter().any(|l| l.starts_with("<81>")
            && l.contains(&format!(
                "{} : cannot run the command: Argument list too long",
                user("alice")
            ))
            && l.contains("COMMAND=/usr/bin/true")),
        "{lines:#?}"
    );
}

#[test]
fn refusals_before_and_after_the_decision_are_logged() {
    if !root_or_skip("audit of refusals") {
        return;
    }
    let rule = policy("permit nopass alice as group docker\n");
    let sandbox = Sandbox::new("audit-refusals", &rule, 0o440);
    let alice = user("alice");
    let marker = sandbox.cwd().display().to_string();
    // Options that cannot go together.
    for combined in ["-kl", "-lk"] {
        let out = sandbox.run(&alice, &[combined], &[]);
        assert_eq!(out.code, Some(1), "{}", out.output);
        assert!(out.output.contains("-l and -k stand alone"), "{}", out.output);
    }
    // An argument that is not UTF-8: refused, and logged byte for byte.
    let bytes: std::ffi::OsString = std::os::unix::ffi::OsStringExt::from_vec(vec![b'x', 0xff]);
    let docker = user("docker");
    let out = sandbox.run_bytes(&alice, &["-g".as_ref(), docker.as_ref(), "echo".as_ref(), &bytes]);
    assert_eq!(out.code, Some(1), "{}", out.output);
    assert!(out.output.contains("arguments must be UTF-8 text"), "{}", out.output);
    let lines = sandbox.harness().wait_for_log(&marker, 3);
    for (problem, command) in [
        ("-l and -k stand alone", "-kl".to_string()),
        ("-l and -k stand alone", "-lk".to_string()),
        ("arguments must be UTF-8 text", format!("-g {docker} echo x\\377")),
    ] {
        let expected =
            format!("{alice} : usage error: {problem} ; TTY=unknown ; PWD={marker} ; USER= ; COMMAND={command}");
        assert!(
            lines.iter().any(|l| l.starts_with("<81>") && l.ends_with(&expected)),
            "{expected}\n{lines:#?}"
        );
    }
    // PAM that cannot start, after the policy permitted: logged too.
    let broken = Sandbox::with_pam("audit-no-pam", &rule, "@include ngt-no-such-stack\n");
    let out = broken.run(&alice, &["-g", &docker, "echo", "a b", ""], &[]);
    assert_eq!(out.code, Some(1), "{}", out.output);
    assert!(out.output.contains("cannot start PAM"), "{}", out.output);
    let marker = broken.cwd().display().to_string();
    let lines = broken.harness().wait_for_log(&marker, 1);
    assert!(
        lines.iter().any(|l| l.starts_with("<81>")
            && l.contains(&format!("{alice} : cannot start PAM: "))
            && l.ends_with("COMMAND=/usr/bin/echo 'a b' ''")),
        "{lines:#?}"
    );
}

#[test]
fn audit_required_refuses_to_run_without_a_log() {
    if !root_or_skip("audit = required") {
        return;
    }
    // Written out: policy() would rename the setting `audit` along with the group.
    let rule = policy("permit nopass alice as group docker\n");
    let required = Sandbox::without_log("audit-required", &format!("set audit = required\n{rule}"));
    let out = required.run(&user("alice"), &["-g", &user("docker"), "id"], &[]);
    assert_eq!(out.code, Some(1), "{}", out.output);
    assert!(out.output.contains("requires an audit log"), "{}", out.output);
    assert!(!out.output.contains("uid="), "{}", out.output);
    let best_effort = Sandbox::without_log("audit-best-effort", &policy("permit nopass alice as group docker\n"));
    let out = best_effort.run(&user("alice"), &["-g", &user("docker"), "id"], &[]);
    assert_eq!(out.code, Some(0), "{}", out.output);
    assert!(
        out.output.contains("warning: no audit log: /dev/log is not a socket"),
        "{}",
        out.output
    );
}

#[test]
fn json_audit_lines_and_nolog() {
    if !root_or_skip("json audit") {
        return;
    }
    let sandbox = Sandbox::new(
        "json",
        &policy("set log_format = json\npermit nopass alice as group docker\npermit nopass nolog alice as group www\n"),
        0o440,
    );
    assert_eq!(
        sandbox
            .run(&user("alice"), &["-g", &user("docker"), "echo", "a\"b"], &[])
            .code,
        Some(0)
    );
    assert_eq!(
        sandbox.run(&user("alice"), &["-g", &user("www"), "true"], &[]).code,
        Some(0)
    );
    assert_eq!(
        sandbox.run(&user("alice"), &["-g", &user("audit"), "true"], &[]).code,
        Some(1)
    );
    let lines = sandbox.logged(&user("alice"));
    assert_eq!(lines.len(), 2, "nolog leaves no line for the permitted run: {lines:#?}");
    let accept = lines
        .iter()
        .find(|l| l.contains("\"event\":\"accept\""))
        .expect("accept");
    assert!(accept.starts_with("<85>"), "{accept}");
    assert!(accept.contains(r#""command":"/usr/bin/echo 'a\"b'""#), "{accept}");
    assert!(accept.contains(r#""rule":"/etc/newgate/policy:2""#), "{accept}");
    let reject = lines
        .iter()
        .find(|l| l.contains("\"event\":\"reject\""))
        .expect("reject");
    assert!(
        reject.starts_with("<81>") && reject.contains(r#""reason":"command not allowed""#),
        "{reject}"
    );
}

#[test]
fn without_a_command_the_shell_runs_and_l_lists_the_rules() {
    if !root_or_skip("shell and -l") {
        return;
    }
    let sandbox = Sandbox::new(
        "shell",
        &policy("permit nopass alice as group docker\ndeny bob as group docker\n"),
        0o440,
    );
    // Like newgrp: no command means the caller's login shell (/bin/sh here), which reads stdin.
    let out = sandbox.run_script_on_tty(
        &user("alice"),
        &format!(
            "echo 'id -gn; exit 4' | {} -g {}",
            sandbox.harness().newgate.display(),
            user("docker")
        ),
        &[],
    );
    assert_eq!(out.code, Some(4), "{}", out.output);
    assert!(out.output.contains(&user("docker")), "{}", out.output);
    let listed = sandbox.run(&user("alice"), &["-l"], &[]);
    assert_eq!(listed.code, Some(0), "{}", listed.output);
    assert!(
        listed
            .output
            .contains(&format!("permit nopass {} as group {}", user("alice"), user("docker"))),
        "{}",
        listed.output
    );
    assert!(
        !listed.output.contains(&user("bob")),
        "only the caller's rules: {}",
        listed.output
    );
}

#[test]
fn s_reads_the_password_from_standard_input_behind_the_p_prompt() {
    if !root_or_skip("-S and -p") {
        return;
    }
    let sandbox = Sandbox::new("stdin-password", &policy("permit alice as group docker\n"), 0o440);
    let alice = user("alice");
    let docker = user("docker");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let short = host.trim().split('.').next().unwrap();
    // The rest of standard input is the command's: the password line alone is read.
    let (out, stderr) = sandbox.run_with_input(
        &alice,
        &[
            "-S",
            "-p",
            "%u|%U|%h|%p|%%:",
            "-g",
            &docker,
            "/bin/sh",
            "-c",
            "read l; echo got:$l; id -gn",
        ],
        &format!("{PASSWORD}\nhello\n"),
    );
    assert_eq!(out.code, Some(0), "{}", out.output);
    assert!(
        stderr.starts_with(&format!("{alice}|{alice}|{short}|{alice}|%:")),
        "the prompt, on stderr: {stderr}"
    );
    assert!(
        out.output.contains("got:hello") && out.output.contains(&docker),
        "{}",
        out.output
    );
    assert!(!out.output.contains(PASSWORD), "{}", out.output);

    let (wrong, _) = sandbox.run_with_input(&alice, &["-S", "-g", &docker, "id"], "a\nb\nc\n");
    assert_eq!(wrong.code, Some(1), "{}", wrong.output);
    assert_eq!(
        wrong.output.matches("[newgate] password for").count(),
        3,
        "{}",
        wrong.output
    );
    assert!(
        wrong.output.contains("3 incorrect password attempts"),
        "{}",
        wrong.output
    );
    assert!(!wrong.output.contains("uid="), "{}", wrong.output);

    let (empty, _) = sandbox.run_with_input(&alice, &["-S", "-g", &docker, "id"], "");
    assert_eq!(empty.code, Some(1), "{}", empty.output);
    assert!(
        empty.output.contains("no password on standard input (-S)"),
        "{}",
        empty.output
    );
    // -n still never asks.
    let (never, _) = sandbox.run_with_input(&alice, &["-n", "-S", "-g", &docker, "id"], &format!("{PASSWORD}\n"));
    assert_eq!(never.code, Some(1), "{}", never.output);
    assert!(never.output.contains("a password is required"), "{}", never.output);
    assert!(!never.output.contains("password for"), "{}", never.output);
}

#[test]
fn i_runs_the_targets_login_shell_in_its_home() {
    if !root_or_skip("-i") {
        return;
    }
    let sandbox = Sandbox::new(
        "login",
        // /bin/sh, the login shell, is /usr/bin/sh where /bin is a link to /usr/bin.
        &policy(
            "commands SH = /bin/sh, /usr/bin/sh\n\
             permit keepenv alice as user bob cmd SH\n\
             permit nopass alice as user bob cmd /usr/bin/env\n",
        ),
        0o440,
    );
    let bob = user("bob");
    let home = sandbox.dir.join("home-bob");
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let bob_ids = nix::unistd::User::from_name(&bob).unwrap().unwrap();
    nix::unistd::chown(&home, Some(bob_ids.uid), Some(bob_ids.gid)).unwrap();
    // In the sandbox's own /etc only. Not usermod: it refuses while another
    // test runs a process as bob.
    let changed = sandbox.root_shell(&format!(
        "awk -F: -v OFS=: '$1 == \"{bob}\" {{ $6 = \"{}\" }} {{ print }}' /etc/passwd > /etc/passwd.new && \
         cat /etc/passwd.new > /etc/passwd && rm /etc/passwd.new && getent passwd {bob} | grep -q home-bob && echo changed",
        home.display()
    ));
    assert!(changed.contains("changed"), "{changed}");

    let (out, _) = sandbox.run_with_input(
        &user("alice"),
        &[
            "-S",
            "-i",
            "-u",
            &bob,
            "echo",
            "$0",
            "in",
            "`pwd`",
            "home=$HOME",
            "editor=$EDITOR",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(out.code, Some(0), "{}", out.output);
    // A login shell (`-sh`), in bob's home (a 0700 folder entered as bob), with bob's login
    // environment even under keepenv; the words reach the shell as typed.
    assert!(
        out.output
            .contains(&format!("-sh in `pwd` home={} editor=\n", home.display())),
        "{}",
        out.output
    );
    let (pwd, _) = sandbox.run_with_input(
        &user("alice"),
        &["-S", "-i", "-u", &bob, "pwd"],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(pwd.code, Some(0), "{}", pwd.output);
    assert!(pwd.output.contains(&format!("{}\n", home.display())), "{}", pwd.output);
    // The policy sees the shell: a rule for /usr/bin/env alone does not permit `-i env`.
    let env = sandbox.run(&user("alice"), &["-n", "-i", "-u", &bob, "env"], &[]);
    assert_eq!(env.code, Some(1), "{}", env.output);
    assert!(
        env.output.contains("a password is required"),
        "the /bin/sh rule decided: {}",
        env.output
    );
    // -H is accepted: HOME is the target's anyway.
    let h = sandbox.run(&user("alice"), &["-H", "-u", &bob, "/usr/bin/env"], &[]);
    assert_eq!(h.code, Some(0), "{}", h.output);
    assert!(h.output.contains(&format!("HOME={}\n", home.display())), "{}", h.output);
}

#[test]
fn e_keeps_the_environment_only_where_the_rule_says_keepenv() {
    if !root_or_skip("-E") {
        return;
    }
    let sandbox = Sandbox::new(
        "keep-env",
        &policy("permit alice as group docker\npermit keepenv alice as group www\n"),
        0o440,
    );
    let alice = user("alice");
    let kept = sandbox.run_on_tty(&alice, &["-E", "-g", &user("www"), "/usr/bin/env"], &[PASSWORD]);
    assert_eq!(kept.code, Some(0), "{}", kept.output);
    assert!(kept.output.contains("TERM=dumb"), "{}", kept.output);
    // Refused before any password is asked.
    let refused = sandbox.run_on_tty(&alice, &["-E", "-g", &user("docker"), "/usr/bin/env"], &[]);
    assert_eq!(refused.code, Some(1), "{}", refused.output);
    assert!(
        refused.output.contains(&format!(
            "{alice} may not keep the environment (-E): the deciding rule, /etc/newgate/policy:1, does not say keepenv"
        )),
        "{}",
        refused.output
    );
    assert!(!refused.output.contains("password for"), "{}", refused.output);
}

#[test]
fn d_runs_the_command_in_a_folder_the_rule_allows() {
    if !root_or_skip("-D") {
        return;
    }
    let sandbox = Sandbox::new("chdir", "", 0o440);
    let open = sandbox.cwd().join("open");
    let closed = sandbox.cwd().join("closed");
    std::fs::create_dir(&open).unwrap();
    std::fs::create_dir(&closed).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(
        sandbox.dir.join("upper/newgate/policy"),
        policy(&format!(
            "permit chdir={}/* alice as group docker\npermit nopass alice as group www\n",
            sandbox.cwd().display()
        )),
    )
    .unwrap();
    let alice = user("alice");
    let docker = user("docker");
    let (out, _) = sandbox.run_with_input(
        &alice,
        &["-S", "-D", &open.display().to_string(), "-g", &docker, "pwd"],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(out.code, Some(0), "{}", out.output);
    assert!(out.output.contains(&format!("{}\n", open.display())), "{}", out.output);
    // Entered with the target's rights, after the switch: root's 0700 folder is closed to alice.
    let (denied, _) = sandbox.run_with_input(
        &alice,
        &["-S", "-D", &closed.display().to_string(), "-g", &docker, "pwd"],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(denied.code, Some(126), "{}", denied.output);
    assert!(
        denied
            .output
            .contains(&format!("Permission denied (os error 13) (in {})", closed.display())),
        "{}",
        denied.output
    );
    // A symbolic link that the glob matches, leading elsewhere: refused,
    // since the glob allowed its path and not where it leads.
    let link = sandbox.cwd().join("link");
    std::os::unix::fs::symlink("/etc", &link).unwrap();
    let (linked, _) = sandbox.run_with_input(
        &alice,
        &["-S", "-D", &link.display().to_string(), "-g", &docker, "pwd"],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(linked.code, Some(126), "{}", linked.output);
    assert!(!linked.output.contains("\n/etc\n"), "{}", linked.output);
    assert!(
        linked.output.contains(&format!(
            "{} holds a symbolic link; -D takes the folder's real path",
            link.display()
        )),
        "{}",
        linked.output
    );
    // A folder the rule does not allow, or a rule without chdir: refused before the password.
    for (folder, group, rule) in [("/etc", &docker, 1), (&open.display().to_string()[..], &user("www"), 2)] {
        let refused = sandbox.run_on_tty(&alice, &["-D", folder, "-g", group, "pwd"], &[]);
        assert_eq!(refused.code, Some(1), "{}", refused.output);
        assert!(
            refused.output.contains(&format!(
                "may not run the command in {folder} (-D): the deciding rule, /etc/newgate/policy:{rule}, does not allow it with chdir"
            )),
            "{}",
            refused.output
        );
        assert!(!refused.output.contains("password for"), "{}", refused.output);
    }
    let climbing = sandbox.run(
        &alice,
        &["-D", &format!("{}/..", open.display()), "-g", &docker, "pwd"],
        &[],
    );
    assert_eq!(climbing.code, Some(1), "{}", climbing.output);
    assert!(
        climbing.output.contains("give an absolute folder without"),
        "{}",
        climbing.output
    );
}

#[test]
fn set_persist_v_k_and_capital_k_manage_the_remembered_authentication() {
    if !root_or_skip("-v, -k CMD, -K, set persist") {
        return;
    }
    let sandbox = Sandbox::new(
        "validate",
        &policy("set persist = 5m\npermit alice as group docker\n"),
        0o440,
    );
    let alice = user("alice");
    let docker = user("docker");
    let ng = sandbox.harness().newgate.display().to_string();
    // -v asks once; `set persist` makes the rule remember it; -k CMD asks again.
    let script = format!(
        "{ng} -v && {ng} -n -g {docker} echo remembered && {ng} -k -g {docker} echo asked-again && {ng} -K && {ng} -n -g {docker} true; echo status=$?"
    );
    let session = sandbox.run_script_on_tty(&alice, &script, &[PASSWORD, PASSWORD]);
    assert_eq!(session.output.matches("password for").count(), 2, "{}", session.output);
    assert!(session.output.contains("remembered\n"), "{}", session.output);
    assert!(session.output.contains("asked-again\n"), "{}", session.output);
    assert!(
        session.output.contains(&format!(
            "newgate: removed 1 remembered authentication of {alice}: the next run asks for a password"
        )),
        "{}",
        session.output
    );
    assert!(session.output.contains("a password is required"), "{}", session.output);
    assert!(session.output.contains("status=1"), "{}", session.output);
    let marker = sandbox.cwd().display().to_string();
    let lines = sandbox.harness().wait_for_log(&marker, 3);
    assert!(
        lines.iter().any(|l| l.starts_with("<85>")
            && l.contains(&format!("{alice} : TTY=pts/"))
            && l.ends_with("USER= ; COMMAND=validate")),
        "{lines:#?}"
    );
    // -v for someone no rule permits anything.
    let nobody = sandbox.run(&user("carol"), &["-v"], &[]);
    assert_eq!(nobody.code, Some(1), "{}", nobody.output);
    assert!(
        nobody.output.contains("may not switch to anything here"),
        "{}",
        nobody.output
    );
}

/// A rule's `persist=DURATION` bounds how long ago the caller last proved
/// themselves for it: runs through a rule that remembers longer, or `-v`
/// under a longer `set persist`, do not stretch it. Before the second
/// adversarial review each of them refreshed the one record for every rule,
/// so that `persist=5s` for one group held for as long as the caller kept
/// using a `persist=10m` rule for another.
#[test]
fn a_longer_persist_does_not_stretch_a_shorter_one() {
    if !root_or_skip("persist per rule") {
        return;
    }
    let sandbox = Sandbox::new(
        "persist-windows",
        &policy(
            "set persist = 10m\n\
             permit persist=5s alice as group docker cmd /usr/bin/id\n\
             permit alice as group www cmd /usr/bin/true\n",
        ),
        0o440,
    );
    let (docker, www) = (user("docker"), user("www"));
    let ng = sandbox.harness().newgate.display().to_string();
    let script = format!(
        "{ng} -g {www} /usr/bin/true && sleep 6 && \
         {ng} -n -g {www} /usr/bin/true && echo www-remembered && \
         {ng} -n -g {docker} /usr/bin/id -u; echo after-use=$? && \
         {ng} -n -v && echo validated && \
         {ng} -n -g {docker} /usr/bin/id -u; echo after-v=$? && \
         {ng} -g {docker} /usr/bin/id -gn && \
         {ng} -n -g {docker} /usr/bin/id -gn; echo right-after=$?"
    );
    let session = sandbox.run_script_on_tty(&user("alice"), &script, &[PASSWORD, PASSWORD]);
    let out = &session.output;
    assert!(out.contains("www-remembered") && out.contains("validated"), "{out}");
    assert!(
        out.contains("after-use=1"),
        "a use of the 10m rule stretched the 5s one: {out}"
    );
    assert!(
        out.contains("after-v=1"),
        "-v under set persist = 10m stretched the 5s rule: {out}"
    );
    assert_eq!(out.matches("a password is required").count(), 2, "{out}");
    // Within five seconds of a password typed for it, the 5s rule remembers.
    assert!(out.contains("right-after=0"), "{out}");
    assert_eq!(out.matches(&format!("{docker}\n")).count(), 2, "{out}");
    assert_eq!(out.matches("password for").count(), 2, "{out}");
}

#[test]
fn l_with_a_command_says_whether_it_may_run() {
    if !root_or_skip("-l CMD") {
        return;
    }
    let sandbox = Sandbox::new(
        "may-i",
        &policy("permit persist=10m alice as group docker cmd /usr/bin/id\npermit nopass bob as group www\n"),
        0o440,
    );
    let alice = user("alice");
    let docker = user("docker");
    let yes = sandbox.run(&alice, &["-l", "-g", &docker, "id", "-u"], &[]);
    assert_eq!(yes.code, Some(0), "{}", yes.output);
    assert_eq!(
        yes.output,
        format!(
            "/etc/newgate/policy:1: permit persist=10m {alice} as group {docker} cmd /usr/bin/id\noptions: persist=10m\n"
        )
    );
    let no = sandbox.run(&alice, &["-l", "-g", &user("www"), "id"], &[]);
    assert_eq!(no.code, Some(1), "{}", no.output);
    assert_eq!(
        no.output,
        format!(
            "newgate: {alice} may not run /usr/bin/id as group {} here\n",
            user("www")
        )
    );
    // Only about oneself, unless root.
    let other = sandbox.run(&alice, &["-l", "-U", &user("bob"), "-g", &user("www"), "id"], &[]);
    assert_eq!(other.code, Some(1), "{}", other.output);
    assert!(
        other.output.contains("only root may ask about another user"),
        "{}",
        other.output
    );
    let root = sandbox
        .as_root(&sandbox.harness().newgate)
        .args(["-l", "-U", &user("bob"), "-g", &user("www"), "id"])
        .output()
        .unwrap();
    assert!(root.status.success(), "{root:?}");
    assert!(
        String::from_utf8_lossy(&root.stdout).contains("options: nopass"),
        "{root:?}"
    );
    let rules_of_bob = sandbox
        .as_root(&sandbox.harness().newgate)
        .args(["-l", "-U", &user("bob")])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&rules_of_bob.stdout);
    assert!(
        listed.contains(&format!("permit nopass {} as group {}", user("bob"), user("www"))) && !listed.contains(&alice),
        "{rules_of_bob:?}"
    );
    let marker = sandbox.cwd().display().to_string();
    let lines = sandbox.harness().wait_for_log(&marker, 3);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<85>") && l.ends_with("RULE=/etc/newgate/policy:1 ; COMMAND=list /usr/bin/id -u")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("<81>")
            && l.contains("command not allowed")
            && l.ends_with("COMMAND=list /usr/bin/id")),
        "{lines:#?}"
    );
}

#[test]
fn the_command_keeps_the_callers_umask_and_the_policys_bits() {
    if !root_or_skip("umask") {
        return;
    }
    let alice = user("alice");
    let docker = user("docker");
    let rule = policy("permit nopass alice as group docker\n");
    let with_umask = |sandbox: &Sandbox, mask: &str| {
        let out = sandbox.run_under(
            &alice,
            &["/bin/sh", "-c", &format!("umask {mask}; exec \"$0\" \"$@\"")],
            &["-g", &docker, "/bin/sh", "-c", "umask"],
        );
        assert_eq!(out.code, Some(0), "{}", out.output);
        out.output.trim().to_string()
    };
    let default = Sandbox::new("umask-default", &rule, 0o440);
    assert_eq!(with_umask(&default, "077"), "0077", "a caller's 077 stays 077");
    assert_eq!(with_umask(&default, "000"), "0022", "at least the policy's 022");
    assert_eq!(with_umask(&default, "027"), "0027");
    let strict = Sandbox::new("umask-strict", &format!("set umask = 007\n{rule}"), 0o440);
    assert_eq!(with_umask(&strict, "022"), "0027", "the union of both");
}

#[test]
fn wrong_passwords_are_logged_in_sudos_words_whatever_pam_says() {
    if !root_or_skip("incorrect password attempts") {
        return;
    }
    // pam_unix on its own (not behind Debian's pam_deny) answers the third
    // failure of one transaction with PAM_MAXTRIES, "Have exhausted maximum
    // number of retries for service": still wrong passwords, three of them.
    let stack = "auth required pam_unix.so\n\
                 @include common-account\n\
                 @include common-session-noninteractive\n";
    let sandbox = Sandbox::with_pam(
        "maxtries",
        &policy("set passwd_tries = 5\npermit alice as group docker\n"),
        stack,
    );
    let alice = user("alice");
    let out = sandbox.run_on_tty(&alice, &["-g", &user("docker"), "id"], &["a", "b", "c", "d", "e"]);
    assert_eq!(out.code, Some(1), "{}", out.output);
    assert_eq!(out.output.matches("password for").count(), 3, "{}", out.output);
    assert!(
        out.output.contains("newgate: 3 incorrect password attempts\n"),
        "{}",
        out.output
    );
    assert!(!out.output.contains("exhausted"), "{}", out.output);
    let lines = sandbox.harness().wait_for_log(&sandbox.cwd().display().to_string(), 1);
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("{alice} : 3 incorrect password attempts ; TTY=pts/"))),
        "{lines:#?}"
    );
}

#[test]
fn a_refused_policy_is_logged_with_its_first_error_and_the_request() {
    if !root_or_skip("refused policy audit") {
        return;
    }
    let sandbox = Sandbox::new(
        "refused-policy",
        &policy("permit nopass alice as group docker\npermit alice as grup www\n"),
        0o440,
    );
    let alice = user("alice");
    let out = sandbox.run(&alice, &["-g", &user("docker"), "id", "-u"], &[]);
    assert_eq!(out.code, Some(1), "{}", out.output);
    assert!(
        out.output.contains("cannot be used, so nothing is permitted"),
        "{}",
        out.output
    );
    let listed = sandbox.run(&alice, &["-l", "-g", &user("docker"), "id"], &[]);
    assert_eq!(listed.code, Some(1), "{}", listed.output);
    let marker = sandbox.cwd().display().to_string();
    let lines = sandbox.harness().wait_for_log(&marker, 2);
    let refused = format!("{alice} : policy /etc/newgate/policy refused: /etc/newgate/policy:2:");
    for (command, what) in [("COMMAND=id -u", "a run"), ("COMMAND=list id", "-l")] {
        assert!(
            lines.iter().any(|l| l.starts_with("<81>")
                && l.contains(&refused)
                && l.contains(&format!("USER={alice} ; GROUP={} ; ", user("docker")))
                && l.ends_with(command)),
            "{what}: {lines:#?}"
        );
    }
}

#[test]
fn without_a_controlling_terminal_newgate_says_why_and_logs_no_tty() {
    if !root_or_skip("no controlling terminal") {
        return;
    }
    let sandbox = Sandbox::new("no-ctty", &policy("permit alice as group docker\n"), 0o440);
    let alice = user("alice");
    // Standard input is a terminal, but not the session's: `su - alice -c 'newgate ...'`.
    let out = sandbox.run_on_tty_without_control(&alice, &["-g", &user("docker"), "id"]);
    assert_eq!(out.code, Some(1), "{}", out.output);
    assert!(
        out.output.contains("no terminal to read a password from")
            && out
                .output
                .contains("Use `su -P`, give the password on standard input with -S"),
        "{}",
        out.output
    );
    let lines = sandbox.harness().wait_for_log(&sandbox.cwd().display().to_string(), 1);
    assert!(
        lines.iter().any(
            |l| l.contains(&format!("{alice} : no terminal to read a password from: "))
                && l.contains(" ; TTY=unknown ; ")
        ),
        "{lines:#?}"
    );
}

#[test]
fn without_a_syslog_daemon_one_short_warning_and_none_with_audit_off() {
    if !root_or_skip("no syslog daemon") {
        return;
    }
    let rule = policy("permit nopass alice as group docker\n");
    let alice = user("alice");
    let docker = user("docker");
    let best_effort = Sandbox::without_log("no-syslog", &rule);
    let out = best_effort.run(&alice, &["-g", &docker, "id", "-gn"], &[]);
    assert_eq!(out.code, Some(0), "{}", out.output);
    assert_eq!(
        out.output,
        format!(
            "{docker}\nnewgate: warning: no audit log: /dev/log is not a socket: no syslog daemon or journald made it; going on without one (set audit = off to say so)\n"
        )
    );
    // Written out: policy() would rename the setting `audit` along with the group.
    let off = Sandbox::without_log("audit-off", &format!("set audit = off\n{rule}"));
    let out = off.run(&alice, &["-g", &docker, "id", "-gn"], &[]);
    assert_eq!(out.code, Some(0), "{}", out.output);
    assert_eq!(out.output, format!("{docker}\n"));
}

/// The compiled snapshot that `newgatectl compile` writes is used by the
/// setuid runner only while it matches the policy's files: a drop-in added
/// after it was written decides at once, without a new `compile`.
#[test]
fn a_stale_snapshot_never_decides() {
    if !root_or_skip("a stale snapshot never decides") {
        return;
    }
    let sandbox = Sandbox::new(
        "snapshot-stale",
        &policy("permit nopass alice as user root cmd /usr/bin/id\ninclude \"policy.d/*.conf\"\n"),
        0o440,
    );
    let newgatectl = support::built_binary("newgatectl");
    let ctl = |args: &str| sandbox.root_shell(&format!("{} {args}", newgatectl.display()));
    sandbox.root_shell("mkdir -m 755 /etc/newgate/policy.d");
    let written = ctl("compile");
    assert!(
        written.contains("/var/cache/newgate/policy.snapshot: written"),
        "{written}"
    );
    assert!(ctl("compile --status").contains(": in use"));
    let mode = sandbox.root_shell("stat -c '%a %U' /var/cache/newgate/policy.snapshot /var/cache/newgate");
    assert_eq!(mode, "600 root\n755 root\n");
    let alice = user("alice");
    let permitted = sandbox.run(&alice, &["-n", "/usr/bin/id", "-u"], &[]);
    assert_eq!(permitted.code, Some(0), "{}", permitted.output);
    assert!(permitted.output.starts_with("0\n"), "{}", permitted.output);

    sandbox.root_shell(&format!(
        "printf 'deny {alice} as user root\\n' > /etc/newgate/policy.d/50-deny.conf && chmod 440 /etc/newgate/policy.d/50-deny.conf"
    ));
    let denied = sandbox.run(&alice, &["-n", "/usr/bin/id", "-u"], &[]);
    assert_eq!(denied.code, Some(1), "the stale snapshot decided: {}", denied.output);
    assert!(!denied.output.starts_with("0\n"), "{}", denied.output);
    let status = ctl("compile --status");
    assert!(
        status.contains("not used") && status.contains("out of date"),
        "{status}"
    );

    // `install` of the policy as it is (configuration management's
    // idempotent run) changes no file but brings the snapshot up to date.
    sandbox.root_shell("cp /etc/newgate/policy.d/50-deny.conf /run/50-deny.conf");
    let install = || ctl("install /run/50-deny.conf --to /etc/newgate/policy.d/50-deny.conf");
    let installed = install();
    assert!(
        installed.contains("is already up to date")
            && installed.contains("policy.snapshot was not in use (the snapshot is out of date: ")
            && installed.contains("): written anew"),
        "{installed}"
    );
    assert!(ctl("compile --status").contains(": in use"));
    // A snapshot in use is left as it is, and nothing is said about it.
    let inode = || sandbox.root_shell("stat -c %i /var/cache/newgate/policy.snapshot");
    let before = inode();
    let again = install();
    assert!(!again.contains("snapshot"), "{again}");
    assert_eq!(inode(), before, "a snapshot in use was rewritten");

    // `check` of the installed policy, as root, brings the snapshot up to date.
    sandbox.root_shell(
        "printf '# empty\n' > /etc/newgate/policy.d/60-more.conf && chmod 440 /etc/newgate/policy.d/60-more.conf",
    );
    assert!(ctl("compile --status").contains("out of date"));
    assert!(ctl("check --no-lookups").contains("OK"));
    assert!(ctl("compile --status").contains(": in use"));
    let still_denied = sandbox.run(&alice, &["-n", "/usr/bin/id", "-u"], &[]);
    assert_eq!(still_denied.code, Some(1), "{}", still_denied.output);

    // A folder others may write to: what is written there would be ignored,
    // and `compile` says so instead of "written".
    sandbox.root_shell("chmod 777 /var/cache/newgate");
    let unusable = ctl("compile; echo \"exit $?\"");
    assert!(
        unusable.contains("was written, but newgate would not use it") && unusable.contains("exit 1\n"),
        "{unusable}"
    );
    sandbox.root_shell("chmod 755 /var/cache/newgate");
}

/// A new time zone (`/etc/localtime` pointed elsewhere) makes the snapshot
/// stale: an `until` is read in the new zone at once.
#[test]
fn a_snapshot_of_another_time_zone_never_decides() {
    if !root_or_skip("a snapshot of another time zone never decides") {
        return;
    }
    // An hour from now in UTC; six hours east (Dhaka, no daylight saving)
    // that local time was five hours ago.
    let out = std::process::Command::new("date")
        .args(["-u", "-d", "+1 hour", "+%Y-%m-%dT%H:%M"])
        .output()
        .unwrap();
    let until = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let sandbox = Sandbox::new(
        "snapshot-zone",
        &policy(&format!(
            "permit nopass alice as user root until {until} cmd /usr/bin/id\n"
        )),
        0o440,
    );
    let newgatectl = support::built_binary("newgatectl");
    let ctl = |args: &str| sandbox.root_shell(&format!("{} {args}", newgatectl.display()));
    sandbox.root_shell("ln -sfn /usr/share/zoneinfo/Etc/UTC /etc/localtime");
    let written = ctl("compile");
    assert!(written.contains(": written"), "{written}");
    let alice = user("alice");
    let permitted = sandbox.run(&alice, &["-n", "/usr/bin/id", "-u"], &[]);
    assert_eq!(permitted.code, Some(0), "{}", permitted.output);

    sandbox.root_shell("ln -sfn /usr/share/zoneinfo/Asia/Dhaka /etc/localtime");
    let denied = sandbox.run(&alice, &["-n", "/usr/bin/id", "-u"], &[]);
    assert_eq!(
        denied.code,
        Some(1),
        "the old zone's snapshot decided: {}",
        denied.output
    );
    let status = ctl("compile --status");
    assert!(status.contains("the time zone /etc/localtime changed"), "{status}");
}

/// pam_newgate reads the installed policy through the same snapshot while it
/// matches, and with `debug` logs where the policy came from: the snapshot,
/// or its files and why the snapshot was not used.
#[test]
fn pam_newgate_reads_the_snapshot_and_debug_says_so() {
    if !root_or_skip("pam_newgate and the snapshot") {
        return;
    }
    let sandbox = Sandbox::new(
        "snapshot-pam",
        &policy("permit alice as user root\ninclude \"policy.d/*.conf\"\n"),
        0o440,
    );
    let service = "ngt-snapshot-pam";
    let module = support::built_binary("libpam_newgate.so");
    std::fs::write(
        sandbox.dir.join("upper/pam.d").join(service),
        format!("account required {} debug\n", module.display()),
    )
    .unwrap();
    sandbox.root_shell("mkdir -m 755 /etc/newgate/policy.d");
    let newgatectl = support::built_binary("newgatectl");
    let written = sandbox.root_shell(&format!("{} compile", newgatectl.display()));
    assert!(written.contains(": written"), "{written}");
    let alice = user("alice");
    let pamtester = || {
        sandbox
            .as_root("/usr/bin/pamtester")
            .args(["-I", &format!("ruser={alice}"), service, "root", "acct_mgmt"])
            .output()
            .unwrap()
    };
    let origin = format!("pam_newgate({service}:account): {alice} as user root: policy /etc/newgate/policy read from");

    let permitted = pamtester();
    assert!(permitted.status.success(), "{permitted:?}");
    let lines = sandbox.harness().wait_for_log(&origin, 1);
    assert!(
        lines.len() == 1 && lines[0].ends_with(&format!("{origin} its compiled snapshot")),
        "{lines:?}"
    );

    sandbox.root_shell(&format!(
        "printf 'deny {alice} as user root\\n' > /etc/newgate/policy.d/50-deny.conf && chmod 440 /etc/newgate/policy.d/50-deny.conf"
    ));
    let denied = pamtester();
    assert!(!denied.status.success(), "the stale snapshot decided: {denied:?}");
    let lines = sandbox.harness().wait_for_log(&origin, 2);
    assert!(
        lines.len() == 2
            && lines[1].contains(&format!(
                "{origin} its files, not from its compiled snapshot: the snapshot is out of date: "
            ))
            && lines[1].ends_with("(`newgatectl compile` writes it anew)"),
        "{lines:?}"
    );
}

/// A password prompt may wait for minutes: once the password is typed the
/// policy decides again, as it is then. A deny added while the caller was at
/// the prompt refuses the command, says why, and is logged.
#[test]
fn a_deny_added_at_the_password_prompt_refuses() {
    if !root_or_skip("a deny added at the password prompt") {
        return;
    }
    let sandbox = Sandbox::new(
        "prompt-changed",
        &policy("permit alice as user root cmd /usr/bin/id\ninclude \"policy.d/*.conf\"\n"),
        0o440,
    );
    sandbox.root_shell("mkdir -m 755 /etc/newgate/policy.d");
    let alice = user("alice");
    let args = ["/usr/bin/id", "-u"];
    let unchanged = sandbox.run_on_tty(&alice, &args, &[PASSWORD]);
    assert_eq!(unchanged.code, Some(0), "{}", unchanged.output);
    assert!(unchanged.output.lines().any(|l| l == "0"), "{}", unchanged.output);

    let changed = sandbox.run_on_tty_with(&alice, &args, &[PASSWORD], |_| {
        sandbox.root_shell(&format!(
            "printf 'deny {alice} as user root\\nset log_format = json\\n' > /etc/newgate/policy.d/50-deny.conf && chmod 440 /etc/newgate/policy.d/50-deny.conf"
        ));
    });
    assert_eq!(
        changed.code,
        Some(1),
        "the deny added at the prompt decides: {}",
        changed.output
    );
    assert!(!changed.output.lines().any(|l| l == "0"), "{}", changed.output);
    assert!(
        changed.output.contains(&format!(
            "newgate: {alice} may not run /usr/bin/id -u as user root here (decided again after authentication)\n"
        )),
        "{}",
        changed.output
    );
    // Logged as the policy that refused says: in JSON.
    let logged = sandbox.logged(&alice);
    assert!(
        logged.iter().any(|l| l.contains(r#""event":"reject""#)
            && l.contains(r#""reason":"command not allowed (decided again after authentication)""#)),
        "{logged:#?}"
    );
}

/// The caller's groups are read again too: a member taken out of the group
/// a rule names, while at the prompt, is refused.
#[test]
fn a_group_taken_away_at_the_password_prompt_refuses() {
    if !root_or_skip("a group taken away at the password prompt") {
        return;
    }
    let (carol, oncall) = (user("carol"), user("oncall"));
    let sandbox = Sandbox::new(
        "prompt-group",
        &format!("permit %{oncall} as user root cmd /usr/bin/id\n"),
        0o440,
    );
    // The group and carol's membership exist in the sandbox's /etc alone.
    sandbox.root_shell(&format!("groupadd {oncall} && gpasswd -a {carol} {oncall}"));
    let member = sandbox.run_on_tty(&carol, &["/usr/bin/id", "-u"], &[PASSWORD]);
    assert_eq!(member.code, Some(0), "{}", member.output);
    let out = sandbox.run_on_tty_with(&carol, &["/usr/bin/id", "-u"], &[PASSWORD], |_| {
        sandbox.root_shell(&format!("gpasswd -d {carol} {oncall}"));
    });
    assert_eq!(out.code, Some(1), "the group she no longer has decided: {}", out.output);
    assert!(
        out.output.contains("(decided again after authentication)"),
        "{}",
        out.output
    );
}

/// `-v` remembers the authentication only if the policy still permits the
/// caller something once the password is typed: a group taken away at the
/// prompt leaves no `persist` record behind. Found by a cold review.
#[test]
fn v_remembers_nothing_for_a_group_taken_away_at_the_password_prompt() {
    if !root_or_skip("-v and a group taken away at the password prompt") {
        return;
    }
    let (carol, oncall) = (user("carol"), user("oncall"));
    let sandbox = Sandbox::new(
        "validate-group",
        &format!("set persist = 10m\npermit %{oncall} as user root cmd /usr/bin/id\n"),
        0o440,
    );
    sandbox.root_shell(&format!("groupadd {oncall} && gpasswd -a {carol} {oncall}"));
    let out = sandbox.run_on_tty_with(&carol, &["-v"], &[PASSWORD], |_| {
        sandbox.root_shell(&format!("gpasswd -d {carol} {oncall}"));
    });
    assert_eq!(out.code, Some(1), "{}", out.output);
    assert!(
        out.output.contains(&format!(
            "{carol} may not switch to anything here (decided again after authentication)"
        )),
        "{}",
        out.output
    );
    let records = sandbox.root_shell("ls -A /run/newgate 2>/dev/null");
    assert!(!records.contains("ts-"), "nothing is remembered: {records}");
    // The same -v by a member is remembered: the listing above could show it.
    sandbox.root_shell(&format!("gpasswd -a {carol} {oncall}"));
    let member = sandbox.run_on_tty(&carol, &["-v"], &[PASSWORD]);
    assert_eq!(member.code, Some(0), "{}", member.output);
    let records = sandbox.root_shell("ls -A /run/newgate");
    assert!(records.contains("ts-"), "{records}");
}

/// With pam_newgate in newgate's own account stack, `newgate -v` hands over
/// that it validates, and the module asks what the command asks: whether a
/// rule permits the caller something. Before, the module was handed no
/// request at all, decided "a shell as root", and refused `-v` to everyone
/// whose rules name a command.
#[test]
fn v_passes_pam_newgate_in_newgates_own_stack() {
    if !root_or_skip("-v through pam_newgate in the newgate stack") {
        return;
    }
    let module = support::built_binary("libpam_newgate.so");
    let stack = format!(
        "@include common-auth\naccount required {}\n@include common-account\n@include common-session-noninteractive\n",
        module.display()
    );
    let sandbox = Sandbox::with_pam(
        "validate-module",
        &policy("permit alice as user root cmd /usr/bin/id\n"),
        &stack,
    );
    let (alice, carol) = (user("alice"), user("carol"));
    let validated = sandbox.run_on_tty(&alice, &["-v"], &[PASSWORD]);
    assert_eq!(validated.code, Some(0), "{}", validated.output);
    let permit = format!("pam_newgate(newgate:account): {alice} validates (newgate -v): permit");
    assert_eq!(sandbox.harness().wait_for_log(&permit, 1).len(), 1);
    // The rule's command still passes the module as a request to run it.
    let id = sandbox.run_on_tty(&alice, &["/usr/bin/id", "-u"], &[PASSWORD]);
    assert_eq!(id.code, Some(0), "{}", id.output);
    assert!(id.output.lines().any(|l| l == "0"), "{}", id.output);
    let run = format!("pam_newgate(newgate:account): {alice} as user root cmd /usr/bin/id args -u: permit");
    assert_eq!(sandbox.harness().wait_for_log(&run, 1).len(), 1);
    // Someone no rule permits anything is refused by newgate before PAM.
    let nobody = sandbox.run(&carol, &["-v"], &[]);
    assert_eq!(nobody.code, Some(1), "{}", nobody.output);
    assert!(
        nobody.output.contains("may not switch to anything here"),
        "{}",
        nobody.output
    );
}

/// A module that asks nothing (a finger on a reader, a key to touch, a push
/// to approve) may keep the caller waiting as long as a prompt: the policy
/// decides again after it too. Here the module itself adds the deny, so
/// that nothing is typed and nothing is left to timing.
#[test]
fn a_deny_added_while_a_module_that_asks_nothing_waits_refuses() {
    if !root_or_skip("a deny added while a module that asks nothing waits") {
        return;
    }
    let alice = user("alice");
    let stack = "auth required pam_exec.so seteuid quiet /etc/newgate/deny-alice
                 auth required pam_permit.so
                 @include common-account
@include common-session-noninteractive
";
    let sandbox = Sandbox::with_pam(
        "silent-module",
        &policy("permit alice as user root cmd /usr/bin/id\ninclude \"policy.d/*.conf\"\n"),
        stack,
    );
    sandbox.root_shell(&format!(
        "mkdir -m 755 /etc/newgate/policy.d && \
         printf '#!/bin/sh\\nprintf \\047deny {alice} as user root\\\\n\\047 > /etc/newgate/policy.d/50-deny.conf\\nchmod 440 /etc/newgate/policy.d/50-deny.conf\\n' > /etc/newgate/deny-alice && \
         chmod 755 /etc/newgate/deny-alice"
    ));
    let out = sandbox.run_on_tty(&alice, &["/usr/bin/id", "-u"], &[]);
    assert!(!out.output.contains("password for"), "nothing is asked: {}", out.output);
    assert_eq!(out.code, Some(1), "the deny the module added decides: {}", out.output);
    assert!(!out.output.lines().any(|l| l == "0"), "{}", out.output);
    assert!(
        out.output.contains("(decided again after authentication)"),
        "{}",
        out.output
    );
}

/// The audit settings of the policy read again hold for the run:
/// `audit = required` set at the prompt, with no system log, stops it.
#[test]
fn audit_required_set_at_the_password_prompt_holds() {
    if !root_or_skip("audit = required set at the password prompt") {
        return;
    }
    let rule = policy("permit alice as user root cmd /usr/bin/id\n");
    let sandbox = Sandbox::without_log("prompt-audit", &rule);
    let alice = user("alice");
    let out = sandbox.run_on_tty_with(&alice, &["/usr/bin/id", "-u"], &[PASSWORD], |_| {
        sandbox.root_shell(&format!(
            "printf 'set audit = required\\n{rule}' > /run/policy && chmod 440 /run/policy && mv /run/policy /etc/newgate/policy"
        ));
    });
    assert_eq!(out.code, Some(1), "{}", out.output);
    assert!(!out.output.lines().any(|l| l == "0"), "{}", out.output);
    assert!(
        out.output
            .contains("the policy requires an audit log (set audit = required), so nothing runs"),
        "{}",
        out.output
    );
}
