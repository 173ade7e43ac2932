//! Loading from disk: ownership and modes, symlinks, sizes, includes. Any
//! problem means no policy at all: the whole policy grants nothing.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use newgate_policy::{LoadOptions, Loaded, MAX_FILE_SIZE, Trust, load};
use nix::unistd::{Uid, geteuid};

/// A folder of its own under cargo's target/tmp, removed afterwards.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("load-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        Scratch(path)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The checks of the installed policy, trusting the test's own user as if it were root
/// (the folders above target/tmp belong to root or to whoever checked out the project).
fn secure() -> LoadOptions<'static> {
    LoadOptions {
        trust: Trust::Secure {
            owner: geteuid().as_raw(),
        },
        directory: None,
        now: None,
        lint: false,
    }
}

fn draft() -> LoadOptions<'static> {
    LoadOptions {
        trust: Trust::Draft,
        directory: None,
        now: None,
        lint: false,
    }
}

fn refusal(loaded: &Loaded) -> String {
    assert!(loaded.policy.is_none(), "the policy should have been refused");
    loaded.errors().map(|d| d.to_string()).collect()
}

const RULE: &str = "permit alice as group docker\n";

#[test]
fn a_secure_file_loads() {
    let dir = Scratch::new("secure");
    let file = dir.write("policy", RULE);
    let loaded = load(&file, &secure());
    assert!(loaded.policy.is_some(), "{:?}", loaded.diagnostics);
}

#[test]
fn files_writable_by_group_or_other_are_refused() {
    let dir = Scratch::new("writable");
    let file = dir.write("policy", RULE);
    fs::set_permissions(&file, fs::Permissions::from_mode(0o664)).unwrap();
    assert!(refusal(&load(&file, &secure())).contains("is writable by its group (mode 0664)"));
    fs::set_permissions(&file, fs::Permissions::from_mode(0o646)).unwrap();
    assert!(refusal(&load(&file, &secure())).contains("is writable by everyone (mode 0646)"));
    // A draft is read all the same.
    assert!(load(&file, &draft()).policy.is_some());
}

#[test]
fn a_writable_folder_above_the_file_is_refused() {
    let dir = Scratch::new("folder");
    let file = dir.write("etc/newgate/policy", RULE);
    fs::set_permissions(dir.0.join("etc"), fs::Permissions::from_mode(0o777)).unwrap();
    let message = refusal(&load(&file, &secure()));
    assert!(message.contains("etc is writable by everyone"), "{message}");
}

#[test]
fn files_not_owned_by_root_are_refused() {
    let dir = Scratch::new("owner");
    let file = dir.write("policy", RULE);
    if geteuid().is_root() {
        // As root, hand the file to nobody; running unprivileged, the file is already ours, not root's.
        nix::unistd::chown(&file, Some(Uid::from_raw(65534)), None).unwrap();
    }
    let loaded = load(
        &file,
        &LoadOptions {
            trust: Trust::ROOT,
            ..secure()
        },
    );
    let message = refusal(&loaded);
    assert!(message.contains("not by root"), "{message}");
}

#[test]
fn a_symlinked_policy_is_refused() {
    let dir = Scratch::new("symlink");
    let real = dir.write("real", RULE);
    let link = dir.0.join("policy");
    symlink(&real, &link).unwrap();
    assert!(refusal(&load(&link, &secure())).contains("symbolic link"));
    let linked_folder = dir.0.join("linked");
    symlink(&dir.0, &linked_folder).unwrap();
    assert!(refusal(&load(&linked_folder.join("real"), &secure())).contains("is a symbolic link"));
}

#[test]
fn special_files_and_huge_files_are_refused() {
    let dir = Scratch::new("special");
    let fifo = dir.0.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    // Opening a FIFO must neither block nor read it.
    assert!(refusal(&load(&fifo, &draft())).contains("not a regular file"));
    let big = dir.write("big", "");
    fs::File::options()
        .write(true)
        .open(&big)
        .unwrap()
        .set_len(MAX_FILE_SIZE + 1)
        .unwrap();
    assert!(refusal(&load(&big, &draft())).contains("larger than 16 MiB"));
    assert!(refusal(&load(&dir.0.join("missing"), &draft())).contains("no such file"));
}

#[test]
fn invalid_utf8_is_refused_with_its_line() {
    let dir = Scratch::new("utf8");
    let file = dir.0.join("policy");
    fs::write(&file, b"permit alice as group a\npermit \xff as group b\n").unwrap();
    assert!(refusal(&load(&file, &draft())).contains("not UTF-8 text (line 2)"));
}

#[test]
fn includes_are_sorted_skip_leftovers_and_sit_where_they_stand() {
    let dir = Scratch::new("include");
    let main = dir.write(
        "policy",
        "permit alice as group a\ninclude \"policy.d/*.conf\"\ndeny alice as group c\n",
    );
    dir.write("policy.d/20-late.conf", "deny alice as group a\n");
    dir.write(
        "policy.d/10-early.conf",
        "permit alice as group b\npermit alice as group c\n",
    );
    dir.write("policy.d/30-old.conf.dpkg-old", "syntax error here\n");
    dir.write("policy.d/.hidden.conf", "syntax error here\n");
    dir.write("policy.d/40-backup.conf~", "syntax error here\n");
    let loaded = load(&main, &secure());
    let policy = loaded.policy.unwrap_or_else(|| panic!("{:?}", loaded.diagnostics));
    let order: Vec<String> = policy
        .rules()
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r.location.file.file_name().unwrap().to_string_lossy(),
                r.location.line
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            "policy:1",
            "10-early.conf:1",
            "10-early.conf:2",
            "20-late.conf:1",
            "policy:3"
        ]
    );
    assert_eq!(policy.files.len(), 3);
}

#[test]
fn an_insecure_included_file_refuses_the_whole_policy() {
    let dir = Scratch::new("include-insecure");
    let main = dir.write("policy", "permit alice as group a\ninclude \"extra\"\n");
    let extra = dir.write("extra", RULE);
    fs::set_permissions(&extra, fs::Permissions::from_mode(0o666)).unwrap();
    let message = refusal(&load(&main, &secure()));
    assert!(message.contains("policy:2:1: error: cannot include"), "{message}");
    assert!(message.contains("writable by everyone"), "{message}");
}

#[test]
fn include_problems_are_errors() {
    let dir = Scratch::new("include-errors");
    let cycle = dir.write("a", "include \"b\"\n");
    dir.write("b", "include \"a\"\n");
    assert!(refusal(&load(&cycle, &draft())).contains("include cycle"));
    let missing = dir.write("m", "include \"nothing-here\"\n");
    assert!(refusal(&load(&missing, &draft())).contains("no such file"));
    let missing_folder = dir.write("mf", "include \"gone.d/*.conf\"\n");
    assert!(refusal(&load(&missing_folder, &draft())).contains("cannot read"));
    let wild_folder = dir.write("wf", "include \"*.d/x.conf\"\n");
    assert!(refusal(&load(&wild_folder, &draft())).contains("only the file name"));
    for depth in 0..10 {
        dir.write(&format!("d{depth}"), &format!("include \"d{}\"\n", depth + 1));
    }
    dir.write("d10", RULE);
    assert!(refusal(&load(&dir.0.join("d0"), &draft())).contains("more than 8 levels deep"));
    let within = dir.write("w0", "include \"d3\"\n");
    assert!(load(&within, &draft()).policy.is_some(), "eight levels are allowed");
}

#[test]
fn one_error_anywhere_grants_nothing() {
    let dir = Scratch::new("any-error");
    let main = dir.write("policy", "permit alice as group a\ninclude \"broken\"\n");
    dir.write("broken", "permit bob as gruop b\n");
    let loaded = load(&main, &draft());
    assert!(loaded.policy.is_none());
    let message = refusal(&loaded);
    assert!(message.contains("broken:1:15: error:"), "{message}");
}

#[test]
fn a_change_is_checked_as_the_whole_policy_would_be() {
    let dir = Scratch::new("replacing");
    let main = dir.write("policy", "permit alice as group a\ninclude \"policy.d/*.conf\"\n");
    dir.write("policy.d/10-old.conf", "permit bob as group b\n");
    let existing = dir.0.join("policy.d/10-old.conf");
    let new_drop_in = dir.0.join("policy.d/20-new.conf");
    // A broken drop-in breaks the whole policy, and is reported in its own file.
    let loaded = newgate_policy::load_replacing(&main, &existing, "permit bob as gruop b\n", &secure());
    assert!(refusal(&loaded).contains("10-old.conf:1:15: error"));
    // A new drop-in that the include would pick up is read in its place, in order.
    let loaded = newgate_policy::load_replacing(&main, &new_drop_in, "deny bob as group b\n", &secure());
    assert_eq!(loaded.warnings().count(), 0);
    let policy = loaded.policy.expect("valid");
    assert_eq!(policy.rules().len(), 3);
    assert!(policy.files.iter().any(|f| f.ends_with("20-new.conf")));
    // A drop-in the include would not pick up is valid, but said to count for nothing.
    let ignored = dir.0.join("policy.d/30-no-suffix");
    let loaded = newgate_policy::load_replacing(&main, &ignored, "deny bob as group b\n", &secure());
    let warning = loaded.warnings().next().expect("a warning").to_string();
    assert_eq!(loaded.policy.expect("valid").rules().len(), 2);
    assert!(
        warning.contains("30-no-suffix: warning: no include of the policy reads this file"),
        "{warning}"
    );
    // The main file itself.
    let loaded = newgate_policy::load_replacing(&main, &main, "permit carol as group c\n", &secure());
    assert_eq!(loaded.policy.expect("valid").rules().len(), 1);
    assert_eq!(
        std::fs::read_to_string(&main).unwrap(),
        "permit alice as group a\ninclude \"policy.d/*.conf\"\n"
    );
}

#[test]
fn a_sticky_root_folder_like_tmp_is_trusted_but_not_what_others_own_in_it() {
    // /tmp is root-owned with the sticky bit: others can add entries there but
    // not replace ours, and the folders and files below it are checked themselves.
    let tmp = std::fs::metadata("/tmp").unwrap();
    if tmp.uid() != 0 || tmp.permissions().mode() & 0o1777 != 0o1777 {
        newgate_testkit::skipped(
            newgate_testkit::Needs::Machine,
            "a sticky root folder is trusted",
            "/tmp is not a root-owned sticky folder here",
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("newgate-sticky-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.join("policy");
    fs::write(&file, RULE).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    let loaded = load(&file, &secure());
    let open_folder = dir.join("open");
    fs::create_dir_all(&open_folder).unwrap();
    fs::set_permissions(&open_folder, fs::Permissions::from_mode(0o777)).unwrap();
    fs::write(open_folder.join("policy"), RULE).unwrap();
    let refused = load(&open_folder.join("policy"), &secure());
    fs::remove_dir_all(&dir).unwrap();
    assert!(loaded.policy.is_some(), "{:?}", loaded.diagnostics);
    assert!(refusal(&refused).contains("writable by everyone (mode 0777)"));
}

/// Whoever can write to an include's folder could remove (or rename to a
/// skipped name) a drop-in that denies them: the folder is refused even when
/// nothing in it matches, so an empty folder is no way past a `deny`.
#[test]
fn an_include_folder_is_checked_even_when_nothing_matches() {
    let dir = Scratch::new("include-folder");
    let main = dir.write("policy", "permit alice as user root\ninclude \"policy.d/*.conf\"\n");
    let drop_in = dir.write("policy.d/50-deny.conf", "deny alice as user root\n");
    assert!(load(&main, &secure()).policy.is_some());

    fs::set_permissions(dir.0.join("policy.d"), fs::Permissions::from_mode(0o777)).unwrap();
    let with_file = refusal(&load(&main, &secure()));
    assert!(with_file.contains("writable by everyone"), "{with_file}");
    fs::remove_file(&drop_in).unwrap();
    let message = refusal(&load(&main, &secure()));
    assert!(
        message.contains("policy:2:1: error: cannot include policy.d/*.conf: its folder")
            && message.contains("policy.d is writable by everyone (mode 0777)"),
        "{message}"
    );
    dir.write("policy.d/50-deny.conf~", "deny alice as user root\n");
    assert!(refusal(&load(&main, &secure())).contains("writable by everyone"));

    fs::set_permissions(dir.0.join("policy.d"), fs::Permissions::from_mode(0o775)).unwrap();
    assert!(refusal(&load(&main, &secure())).contains("policy.d is writable by its group"));
}

#[test]
fn an_include_folder_that_is_a_symbolic_link_is_refused_even_when_empty() {
    let dir = Scratch::new("include-link");
    let main = dir.write("policy", "permit alice as user root\ninclude \"policy.d/*.conf\"\n");
    fs::create_dir(dir.0.join("elsewhere")).unwrap();
    fs::set_permissions(dir.0.join("elsewhere"), fs::Permissions::from_mode(0o755)).unwrap();
    symlink(dir.0.join("elsewhere"), dir.0.join("policy.d")).unwrap();
    let message = refusal(&load(&main, &secure()));
    assert!(message.contains("policy.d is a symbolic link"), "{message}");
    // A draft reads through it: nothing is enforced from a draft.
    assert!(load(&main, &draft()).policy.is_some());
}
