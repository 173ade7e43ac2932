//! What the adversarial reviews found, as the real setuid newgate meets them:
//! two ways past a `deny` (an include folder the caller can empty, a group too
//! large for a look-up buffer), each of which must refuse, never permit; and a
//! group switch whose core dump would hand the caller the group's data.

// Each suite uses its own part of the shared support.
#[allow(dead_code)]
mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use support::{Sandbox, root_or_skip, user};

#[test]
fn emptying_a_writable_include_folder_does_not_lift_a_deny() {
    if !root_or_skip("a writable include folder") {
        return;
    }
    let alice = user("alice");
    let policy = format!("permit nopass {alice} as user root cmd /usr/bin/id\ninclude \"policy.d/*.conf\"\n");
    let sandbox = Sandbox::new("writable-include", &policy, 0o440);
    // The state the caller reaches by removing (or renaming to `50-deny.conf~`)
    // the root-owned drop-in that denied them from a folder anyone can write.
    sandbox.root_shell(&format!(
        "mkdir -m 0777 /etc/newgate/policy.d && echo 'deny {alice} as user root' > /etc/newgate/policy.d/50-deny.conf~"
    ));
    let out = sandbox.run(&alice, &["-n", "id"], &[]);
    assert!(!out.output.contains("uid=0"), "ran as root: {}", out.output);
    assert_eq!(out.code, Some(1), "{}", out.output);
    assert!(
        out.output.contains("cannot be used, so nothing is permitted"),
        "{}",
        out.output
    );
    let marker = format!("{alice} : policy /etc/newgate/policy refused");
    let logged = sandbox.harness().wait_for_log(&marker, 1);
    assert!(
        logged[0].contains("policy.d is writable by everyone (mode 0777)"),
        "{}",
        logged[0]
    );

    // newgatectl check says the same of the installed policy, not OK.
    let check = sandbox.root_shell(&format!(
        "{} check /etc/newgate/policy; echo status=$?",
        support::built_binary("newgatectl").display()
    ));
    assert!(
        check.contains("policy.d is writable by everyone") && check.contains("status=1"),
        "{check}"
    );
}

#[test]
fn a_group_larger_than_a_megabyte_still_denies() {
    if !root_or_skip("a very large group") {
        return;
    }
    let alice = user("alice");
    let big = user("big");
    let gid = (45_000..46_000)
        .find(|&g| nix::unistd::Group::from_gid(g.into()).is_ok_and(|found| found.is_none()))
        .expect("a free gid");
    let policy = format!("permit nopass {alice} as user root cmd /usr/bin/id\ndeny %{big} as user root\n");
    let sandbox = Sandbox::new("big-group", &policy, 0o440);
    // 150,000 members make the line longer than nix's 1 MiB look-up buffer,
    // where a look-up answers ERANGE; `id` still lists the group. /etc is the
    // sandbox's own overlay: the machine's group file does not change.
    let mut line = format!("{big}:x:{gid}:");
    for n in 0..150_000 {
        line.push_str(&format!("ngt-member-{n},"));
    }
    line.push_str(&alice);
    line.push('\n');
    assert!(line.len() > 1 << 20);
    let lines = sandbox.dir.join("group-line");
    fs::write(&lines, &line).unwrap();
    fs::set_permissions(&lines, fs::Permissions::from_mode(0o644)).unwrap();
    sandbox.root_shell(&format!("cat {} >> /etc/group", lines.display()));

    let out = sandbox.run(&alice, &["-n", "id"], &[]);
    assert!(!out.output.contains("uid=0"), "ran as root: {}", out.output);
    assert_eq!(out.code, Some(1), "{}", out.output);
    assert!(
        out.output.contains("may not run /usr/bin/id as user root"),
        "{}",
        out.output
    );
}

/// A command switched to a group stays the caller's uid: its core dump would
/// be a file the caller owns, holding what the group let the command read.
/// It never dumps core; a switch to another user keeps the caller's limit.
#[test]
fn a_group_switch_never_dumps_core() {
    if !root_or_skip("core dumps of group switches") {
        return;
    }
    let alice = user("alice");
    let policy = format!(
        "permit nopass {alice} as group {} cmd /usr/bin/sh\npermit nopass {alice} as user {} cmd /usr/bin/sh\n",
        user("docker"),
        user("bob")
    );
    let sandbox = Sandbox::new("core-limit", &policy, 0o440);
    let limits = "echo soft=$(ulimit -Sc) hard=$(ulimit -Hc)";
    let group = sandbox.run(&alice, &["-g", &user("docker"), "/bin/sh", "-c", limits], &[]);
    assert_eq!(group.code, Some(0), "{}", group.output);
    assert!(group.output.contains("soft=0 hard=0"), "{}", group.output);
    // The caller's own hard limit, as a shell in the test run sees it.
    let caller = std::process::Command::new("sh")
        .args(["-c", "ulimit -Hc"])
        .output()
        .unwrap();
    let caller_hard = String::from_utf8_lossy(&caller.stdout).trim().to_string();
    let other = sandbox.run(&alice, &["-u", &user("bob"), "/bin/sh", "-c", limits], &[]);
    assert_eq!(other.code, Some(0), "{}", other.output);
    assert!(
        other.output.contains(&format!("hard={caller_hard}")),
        "{} vs {caller_hard}",
        other.output
    );
}
