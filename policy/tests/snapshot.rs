//! The compiled snapshot: used only while it matches what it was built
//! from; ignored, with the reason, for every way it can stop matching.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use newgate_policy::snapshot::{self, BUILD_AT, HEADER_LEN, Ignored, LENGTHS_AT, SUMS_AT, Snapshot};
use newgate_policy::{Policy, Request, Verdict};
use newgate_testkit::Scratch;
use nix::unistd::geteuid;

const POLICY: &str = "permit nopass alice as user root cmd /usr/bin/id\ninclude \"policy.d/*.conf\"\n";
const DENY: &str = "deny alice as user root\n";

fn owner() -> u32 {
    geteuid().as_raw()
}

/// A policy with one drop-in, and a snapshot of it beside them.
struct Fixture {
    scratch: Scratch,
    policy: PathBuf,
    snapshot: PathBuf,
}

impl Fixture {
    fn new(name: &str, drop_in: &str) -> Fixture {
        let scratch = Scratch::new(env!("CARGO_TARGET_TMPDIR"), name);
        let policy = scratch.write("policy", POLICY, 0o440);
        scratch.write("policy.d/50-alice.conf", drop_in, 0o440);
        let snapshot = scratch.path.join("policy.snapshot");
        let bytes = snapshot::build(&policy, owner()).unwrap_or_else(|e| panic!("{e}"));
        fs::write(&snapshot, bytes).unwrap();
        fs::set_permissions(&snapshot, fs::Permissions::from_mode(0o600)).unwrap();
        Fixture {
            scratch,
            policy,
            snapshot,
        }
    }

    /// The policy for alice from the snapshot, or why the snapshot is not used.
    fn open(&self) -> Result<Policy, Ignored> {
        open(&self.snapshot, &self.policy)
    }
}

fn open(snapshot: &Path, policy: &Path) -> Result<Policy, Ignored> {
    Snapshot::open(snapshot, policy, owner())?.policy_for("alice", &["alice".to_string()])
}

fn id_as_root(policy: &Policy) -> (Verdict, Option<String>) {
    id_as_root_by(policy, "alice")
}

/// `newgate -n /usr/bin/id` by `user`, a member of the group alice.
fn id_as_root_by(policy: &Policy, user: &str) -> (Verdict, Option<String>) {
    let groups = vec!["alice".to_string()];
    let decision = policy.decide(&Request {
        user,
        groups: &groups,
        target_user: None,
        target_group: None,
        command: Some(Path::new("/usr/bin/id")),
        args: &[],
        host: "h",
        service: "newgate",
        time: "2026-11-30T10:00:00Z".parse().unwrap(),
    });
    (
        decision.verdict,
        decision.rule.map(|r| format!("{} {}", r.location, r.text)),
    )
}

fn stale(result: Result<Policy, Ignored>) -> String {
    match result {
        Err(Ignored::Stale(why)) => why,
        Err(other) => panic!("ignored for another reason: {other}"),
        Ok(_) => panic!("a stale snapshot was used"),
    }
}

#[test]
fn a_matching_snapshot_decides_as_the_source() {
    let f = Fixture::new("snapshot-matches", "# nothing yet\n");
    let from_snapshot = f.open().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id_as_root(&from_snapshot).0, Verdict::Permit);
    assert_eq!(from_snapshot.files.len(), 2);
    // A policy read for alice knows nothing of bob, and permits him nothing.
    assert_eq!(id_as_root_by(&from_snapshot, "bob").0, Verdict::Deny);
    assert!(!from_snapshot.settings.timezone_name.is_empty());
}

#[test]
fn a_changed_drop_in_makes_it_stale() {
    let f = Fixture::new("snapshot-changed", "# nothing yet\n");
    fs::write(f.scratch.path.join("policy.d/50-alice.conf"), DENY).unwrap();
    assert!(stale(f.open()).contains("50-alice.conf changed"));
}

#[test]
fn an_added_drop_in_makes_it_stale() {
    let f = Fixture::new("snapshot-added", "# nothing yet\n");
    f.scratch.write("policy.d/60-deny.conf", DENY, 0o440);
    assert!(stale(f.open()).contains("the files in"));
}

#[test]
fn a_removed_drop_in_makes_it_stale() {
    let f = Fixture::new("snapshot-removed", DENY);
    fs::remove_file(f.scratch.path.join("policy.d/50-alice.conf")).unwrap();
    assert!(stale(f.open()).contains("the files in"));
}

#[test]
fn a_replaced_policy_file_makes_it_stale_even_with_the_same_text() {
    let f = Fixture::new("snapshot-replaced", DENY);
    // As an editor saves: a new file renamed over the old one.
    let new = f.scratch.write("policy.d/.new", DENY, 0o440);
    fs::rename(new, f.scratch.path.join("policy.d/50-alice.conf")).unwrap();
    assert!(stale(f.open()).contains("was replaced"));
}

#[test]
fn a_drop_in_writable_by_others_makes_it_stale_with_the_same_text() {
    let f = Fixture::new("snapshot-writable-source", DENY);
    let drop_in = f.scratch.path.join("policy.d/50-alice.conf");
    fs::set_permissions(&drop_in, fs::Permissions::from_mode(0o666)).unwrap();
    assert!(stale(f.open()).contains("writable by everyone"));
}

#[test]
fn a_changed_time_zone_makes_it_stale() {
    let scratch = Scratch::new(env!("CARGO_TARGET_TMPDIR"), "snapshot-zone");
    let zone = Path::new("/usr/share/zoneinfo/Europe/Berlin");
    let Ok(zone_bytes) = fs::read(zone) else {
        return newgate_testkit::skipped(
            newgate_testkit::Needs::Machine,
            "a_changed_time_zone_makes_it_stale",
            "no /usr/share/zoneinfo/Europe/Berlin (tzdata)",
        );
    };
    let policy = scratch.write(
        "policy",
        "set timezone = \"Europe/Berlin\"\npermit alice as user root when Mon-Fri 08:00-18:00\n",
        0o440,
    );
    let stored = scratch.path.join("policy.snapshot");
    let mut bytes = snapshot::build(&policy, owner()).unwrap_or_else(|e| panic!("{e}"));
    fs::write(&stored, &bytes).unwrap();
    assert!(open(&stored, &policy).is_ok());
    // The snapshot as it would be had the zone file held other rules when it was built.
    let hash: [u8; 32] = sha2_of(&zone_bytes);
    let at = bytes
        .windows(32)
        .position(|w| w == hash)
        .expect("the zone file's hash is recorded");
    bytes[at] ^= 1;
    let length = u64::from_le_bytes(bytes[LENGTHS_AT..LENGTHS_AT + 8].try_into().unwrap()) as usize;
    let sum = crc32fast::hash(&bytes[HEADER_LEN..HEADER_LEN + length]);
    bytes[SUMS_AT..SUMS_AT + 4].copy_from_slice(&sum.to_le_bytes());
    fs::write(&stored, &bytes).unwrap();
    match open(&stored, &policy) {
        Err(Ignored::Stale(why)) => assert!(why.contains("Europe/Berlin"), "{why}"),
        other => panic!("not ignored as stale: {:?}", other.map(|_| ())),
    }
}

fn sha2_of(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

#[test]
fn a_snapshot_writable_by_others_is_ignored() {
    let f = Fixture::new("snapshot-mode", "# nothing\n");
    fs::set_permissions(&f.snapshot, fs::Permissions::from_mode(0o666)).unwrap();
    assert!(matches!(f.open(), Err(Ignored::Unsafe(why)) if why.contains("writable by everyone")));
}

#[test]
fn a_snapshot_owned_by_another_user_is_ignored() {
    if !newgate_testkit::root_or_skip("a_snapshot_owned_by_another_user_is_ignored") {
        return;
    }
    let f = Fixture::new("snapshot-owner", "# nothing\n");
    std::os::unix::fs::chown(&f.snapshot, Some(4321), None).unwrap();
    assert!(matches!(f.open(), Err(Ignored::Unsafe(why)) if why.contains("owned by uid 4321")));
}

#[test]
fn a_symlinked_snapshot_is_ignored() {
    let f = Fixture::new("snapshot-symlink", "# nothing\n");
    let link = f.scratch.path.join("link.snapshot");
    std::os::unix::fs::symlink(&f.snapshot, &link).unwrap();
    assert!(matches!(open(&link, &f.policy), Err(Ignored::Unsafe(_))));
}

#[test]
fn a_truncated_snapshot_is_ignored() {
    let f = Fixture::new("snapshot-truncated", "# nothing\n");
    let bytes = fs::read(&f.snapshot).unwrap();
    // The last cut is inside the last rule (padding is at most 15 bytes).
    for keep in [
        0,
        HEADER_LEN / 2,
        HEADER_LEN,
        HEADER_LEN + 8,
        bytes.len() / 2,
        bytes.len() - 40,
    ] {
        fs::write(&f.snapshot, &bytes[..keep]).unwrap();
        assert!(
            matches!(f.open(), Err(Ignored::Corrupt(_))),
            "truncated to {keep} bytes"
        );
    }
}

#[test]
fn a_snapshot_of_another_build_is_ignored() {
    let f = Fixture::new("snapshot-build", "# nothing\n");
    let mut bytes = fs::read(&f.snapshot).unwrap();
    bytes[BUILD_AT] ^= 0xff;
    fs::write(&f.snapshot, &bytes).unwrap();
    assert_eq!(f.open().err(), Some(Ignored::OtherBuild));
}

#[test]
fn a_snapshot_of_another_policy_is_ignored() {
    let f = Fixture::new("snapshot-other-policy", "# nothing\n");
    let other = f.scratch.write("other", POLICY, 0o440);
    assert!(matches!(open(&f.snapshot, &other), Err(Ignored::OtherPolicy(_))));
}

#[test]
fn a_missing_snapshot_is_ignored() {
    let f = Fixture::new("snapshot-missing", "# nothing\n");
    fs::remove_file(&f.snapshot).unwrap();
    assert_eq!(f.open().err(), Some(Ignored::Missing));
}

#[test]
fn a_damaged_snapshot_is_ignored() {
    let f = Fixture::new("snapshot-damaged", DENY);
    let bytes = fs::read(&f.snapshot).unwrap();
    let decided = id_as_root(&f.open().unwrap());
    // Every byte after the format and build, flipped: the snapshot is ignored
    // as corrupt (a flipped letter of `alice` would validate, and decide
    // otherwise), except in the padding between parts, which nothing reads.
    let mut unnoticed = 0;
    for at in BUILD_AT + 32..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x01;
        fs::write(&f.snapshot, &flipped).unwrap();
        match f.open() {
            Err(Ignored::Corrupt(_)) => {}
            Ok(policy) if id_as_root(&policy) == decided => unnoticed += 1,
            other => panic!("a flipped byte at {at}: {:?}", other.map(|p| id_as_root(&p))),
        }
    }
    assert!(unnoticed < 16 * 4, "{unnoticed} flipped bytes went unnoticed");
}
