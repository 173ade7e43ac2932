//! The enforcing load with a compiled snapshot: for every reason to ignore
//! it, the snapshot is ignored and the decision comes from the source.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use newgate_policy::snapshot::{self, BUILD_AT, Ignored};
use newgate_policy::{Policy, Request, Verdict};
use newgate_system::load_with_snapshot;
use newgate_testkit::Scratch;

const POLICY: &str = "permit nopass alice as user root cmd /usr/bin/id\ninclude \"policy.d/*.conf\"\n";
const DENY: &str = "deny alice as user root\n";

fn owner() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// A policy that permits alice's `id` as root, with a snapshot of it.
struct Installed {
    scratch: Scratch,
    policy: PathBuf,
    snapshot: PathBuf,
}

impl Installed {
    fn new(name: &str, drop_ins: &[(&str, &str)]) -> Installed {
        let scratch = Scratch::new(env!("CARGO_TARGET_TMPDIR"), name);
        let policy = scratch.write("etc/policy", POLICY, 0o440);
        fs::create_dir_all(scratch.path.join("etc/policy.d")).unwrap();
        for (file, text) in drop_ins {
            scratch.write(&format!("etc/policy.d/{file}"), text, 0o440);
        }
        let snapshot = scratch.path.join("cache/policy.snapshot");
        fs::create_dir_all(snapshot.parent().unwrap()).unwrap();
        fs::write(
            &snapshot,
            snapshot::build(&policy, owner()).unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap();
        fs::set_permissions(&snapshot, fs::Permissions::from_mode(0o600)).unwrap();
        Installed {
            scratch,
            policy,
            snapshot,
        }
    }

    fn drop_in(&self, file: &str) -> PathBuf {
        self.scratch.path.join("etc/policy.d").join(file)
    }

    /// What the runner decides for alice's `id` as root, and why the snapshot was not used.
    fn decide(&self) -> (Option<Verdict>, Option<Ignored>) {
        let (enforcing, ignored) = load_with_snapshot(&self.policy, Some(&self.snapshot), owner());
        let verdict = enforcing.ok().map(|e| {
            let policy = e.for_requester("alice", &["alice".to_string()]).unwrap();
            id_as_root(&policy)
        });
        (verdict, ignored)
    }
}

fn id_as_root(policy: &Policy) -> Verdict {
    let groups = vec!["alice".to_string()];
    policy
        .decide(&Request {
            user: "alice",
            groups: &groups,
            target_user: None,
            target_group: None,
            command: Some(Path::new("/usr/bin/id")),
            args: &[],
            host: "h",
            service: "newgate",
            time: "2026-11-30T10:00:00Z".parse().unwrap(),
        })
        .verdict
}

fn stale(ignored: Option<Ignored>) -> String {
    match ignored {
        Some(Ignored::Stale(why)) => why,
        other => panic!("not ignored as stale: {other:?}"),
    }
}

#[test]
fn a_matching_snapshot_is_used() {
    let installed = Installed::new("enforce-used", &[]);
    assert_eq!(installed.decide(), (Some(Verdict::Permit), None));
}

#[test]
fn a_stale_drop_in_decides_from_the_source() {
    let installed = Installed::new("enforce-stale", &[("50-alice.conf", "# nothing yet\n")]);
    fs::write(installed.drop_in("50-alice.conf"), DENY).unwrap();
    let (verdict, ignored) = installed.decide();
    assert_eq!(verdict, Some(Verdict::Deny));
    assert!(stale(ignored).contains("50-alice.conf changed"));
}

#[test]
fn an_added_drop_in_decides_from_the_source() {
    let installed = Installed::new("enforce-added", &[]);
    installed.scratch.write("etc/policy.d/60-deny.conf", DENY, 0o440);
    let (verdict, ignored) = installed.decide();
    assert_eq!(verdict, Some(Verdict::Deny));
    assert!(stale(ignored).contains("the files in"));
}

#[test]
fn a_removed_drop_in_decides_from_the_source() {
    let installed = Installed::new("enforce-removed", &[("50-deny.conf", DENY)]);
    assert_eq!(installed.decide(), (Some(Verdict::Deny), None));
    fs::remove_file(installed.drop_in("50-deny.conf")).unwrap();
    let (verdict, ignored) = installed.decide();
    assert_eq!(verdict, Some(Verdict::Permit));
    assert!(stale(ignored).contains("the files in"));
}

#[test]
fn a_source_writable_by_others_is_refused_though_its_text_did_not_change() {
    let installed = Installed::new("enforce-source-mode", &[("50-alice.conf", "# nothing\n")]);
    fs::set_permissions(installed.drop_in("50-alice.conf"), fs::Permissions::from_mode(0o666)).unwrap();
    let (verdict, ignored) = installed.decide();
    assert_eq!(verdict, None, "the policy is refused");
    assert!(stale(ignored).contains("writable by everyone"));
}

/// The snapshot damaged in some way, after the source changed to deny: the
/// reason is the damage, and the source decides.
fn damaged(name: &str, damage: impl FnOnce(&Path)) -> Option<Ignored> {
    let installed = Installed::new(name, &[("50-alice.conf", "# nothing yet\n")]);
    fs::write(installed.drop_in("50-alice.conf"), DENY).unwrap();
    damage(&installed.snapshot);
    let (verdict, ignored) = installed.decide();
    assert_eq!(verdict, Some(Verdict::Deny));
    ignored
}

#[test]
fn a_snapshot_writable_by_others_is_ignored() {
    let ignored = damaged("enforce-mode", |s| {
        fs::set_permissions(s, fs::Permissions::from_mode(0o622)).unwrap()
    });
    assert!(matches!(ignored, Some(Ignored::Unsafe(why)) if why.contains("writable")));
}

#[test]
fn a_snapshot_owned_by_another_user_is_ignored() {
    if !newgate_testkit::root_or_skip("a_snapshot_owned_by_another_user_is_ignored") {
        return;
    }
    let ignored = damaged("enforce-owner", |s| {
        std::os::unix::fs::chown(s, Some(4321), None).unwrap()
    });
    assert!(matches!(ignored, Some(Ignored::Unsafe(why)) if why.contains("owned by uid 4321")));
}

#[test]
fn a_truncated_snapshot_is_ignored() {
    let ignored = damaged("enforce-truncated", |s| {
        let bytes = fs::read(s).unwrap();
        fs::write(s, &bytes[..snapshot::HEADER_LEN + 100]).unwrap();
    });
    assert!(matches!(ignored, Some(Ignored::Corrupt(_))), "{ignored:?}");
}

/// Rules are read when a requester's policy is asked for, after the
/// snapshot was opened and found to match: one that cannot be read then
/// gives way to the source.
#[test]
fn a_snapshot_whose_rules_are_cut_off_decides_from_the_source() {
    let installed = Installed::new("enforce-cut-rules", &[("50-alice.conf", DENY)]);
    let (enforcing, ignored) = load_with_snapshot(&installed.policy, Some(&installed.snapshot), owner());
    assert_eq!(ignored, None);
    // Between the open and the decision, the drop-in goes, and the snapshot's rules are cut off.
    fs::write(installed.drop_in("50-alice.conf"), "# nothing\n").unwrap();
    let bytes = fs::read(&installed.snapshot).unwrap();
    fs::write(&installed.snapshot, &bytes[..bytes.len() - 40]).unwrap();
    let enforcing = enforcing.unwrap();
    let policy = enforcing.for_requester("alice", &["alice".to_string()]).unwrap();
    assert_eq!(id_as_root(&policy), Verdict::Permit, "the source as it is now decides");
    // pam_newgate's `debug` line says so, not "read from its compiled snapshot".
    let origin = policy.origin().to_string();
    assert!(
        origin.starts_with("read from its files, not from its compiled snapshot: the snapshot is corrupt"),
        "{origin}"
    );
}

#[test]
fn a_snapshot_of_another_build_is_ignored() {
    let ignored = damaged("enforce-build", |s| {
        let mut bytes = fs::read(s).unwrap();
        bytes[BUILD_AT + 5] ^= 0x10;
        fs::write(s, bytes).unwrap();
    });
    assert_eq!(ignored, Some(Ignored::OtherBuild));
}
