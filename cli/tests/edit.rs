//! `newgatectl edit` and `install`, driven by scripted editors: every path
//! leaves either the old file or the new one, whole, and no temporary files.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use newgate_testkit::{KillOnCreate, stderr};

const OLD: &str = "permit alice as group docker\n";
const NEW: &str = "permit alice as group docker\npermit bob as group docker\n";
const BROKEN: &str = "permit bob as gruop docker\n";

/// A folder for one test: the draft policy, the scripted editor's contents, TMPDIR.
struct Bench {
    dir: PathBuf,
}

impl Bench {
    fn new(name: &str) -> Bench {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("edit-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("tmp")).unwrap();
        let bench = Bench { dir };
        bench.write("policy", OLD, 0o640);
        bench
    }

    fn write(&self, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = self.dir.join(name);
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    fn policy(&self) -> PathBuf {
        self.dir.join("policy")
    }

    fn policy_text(&self) -> String {
        fs::read_to_string(self.policy()).unwrap()
    }

    /// An editor that writes the given contents, one per run, then keeps the last.
    fn editor(&self, rounds: &[&str]) -> PathBuf {
        for (i, text) in rounds.iter().enumerate() {
            self.write(&format!("round-{i}"), text, 0o644);
        }
        let script = format!(
            "#!/bin/sh\nn=$(cat {d}/count 2>/dev/null || echo 0)\n\
             [ -f {d}/round-$n ] || n=$((n-1))\ncp {d}/round-$n \"$1\"\necho $((n+1)) > {d}/count\n",
            d = self.dir.display()
        );
        self.write("editor.sh", &script, 0o755)
    }

    fn command(&self, editor: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_newgatectl"));
        command
            .args(args)
            .env_remove("VISUAL")
            .env("EDITOR", editor)
            .env("TMPDIR", self.dir.join("tmp"))
            .env_remove("NEWGATE_USER")
            .env_remove("SUDO_USER");
        command
    }

    fn edit(&self, editor: &Path, answers: &str) -> Output {
        let mut child = self
            .command(editor, &["edit", self.policy().to_str().unwrap()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(answers.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// No private copy is left behind in TMPDIR, and no temporary file beside the policy.
    fn assert_clean(&self) {
        let leftovers: Vec<_> = fs::read_dir(self.dir.join("tmp"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(leftovers.is_empty(), "left in TMPDIR: {leftovers:?}");
        let beside: Vec<_> = fs::read_dir(&self.dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".newgatectl-"))
            .collect();
        assert!(beside.is_empty(), "left beside the policy: {beside:?}");
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_valid_change_is_saved_with_the_old_mode() {
    let bench = Bench::new("valid");
    let out = bench.edit(&bench.editor(&[NEW]), "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(bench.policy_text(), NEW);
    assert!(stderr(&out).contains("saved"), "{}", stderr(&out));
    assert_eq!(
        fs::metadata(bench.policy()).unwrap().permissions().mode() & 0o7777,
        0o640
    );
    bench.assert_clean();
}

#[test]
fn an_invalid_change_can_be_fixed() {
    let bench = Bench::new("fixed");
    let out = bench.edit(&bench.editor(&[BROKEN, NEW]), "e\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("policy:1:15: error: expected `user` or `group`, found `gruop`"),
        "{err}"
    );
    assert!(err.contains("(e)dit again, e(x)it without saving"), "{err}");
    assert_eq!(bench.policy_text(), NEW);
    bench.assert_clean();
}

#[test]
fn an_invalid_change_can_be_abandoned() {
    let bench = Bench::new("abandoned");
    for answers in ["x\n", ""] {
        let out = bench.edit(&bench.editor(&[BROKEN]), answers);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains("nothing was saved"), "{}", stderr(&out));
        assert_eq!(bench.policy_text(), OLD);
        bench.assert_clean();
    }
}

/// An editor that fails (vi with no terminal, a typo in EDITOR) is not a usage
/// error: exit 1, nothing saved, and how to choose another editor.
#[test]
fn a_failing_or_missing_editor_saves_nothing_and_says_how_to_choose_one() {
    let bench = Bench::new("editor-fails");
    for (editor, said) in [
        (
            Path::new("/bin/false"),
            "the editor `/bin/false` exited with exit status: 1; nothing was saved",
        ),
        (
            Path::new("/nonexistent/editor"),
            "cannot run the editor `/nonexistent/editor`",
        ),
    ] {
        let out = bench.edit(editor, "");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(said), "{err}");
        assert!(
            err.contains("VISUAL or EDITOR") && err.contains("sudo EDITOR="),
            "{err}"
        );
        assert!(!err.contains("--help"), "{err}");
        assert_eq!(bench.policy_text(), OLD);
        bench.assert_clean();
    }
}

#[test]
fn no_change_saves_nothing() {
    let bench = Bench::new("unchanged");
    let before = fs::metadata(bench.policy()).unwrap().modified().unwrap();
    let out = bench.edit(&bench.editor(&[OLD]), "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("no changes"), "{}", stderr(&out));
    assert_eq!(fs::metadata(bench.policy()).unwrap().modified().unwrap(), before);
    bench.assert_clean();
}

/// An edit whose editor waits until the file `release` appears.
fn slow_edit(bench: &Bench) -> Child {
    let script = format!(
        "#!/bin/sh\ntouch {d}/editing\nwhile [ ! -f {d}/release ]; do sleep 0.05; done\ncp {d}/slow-content \"$1\"\n",
        d = bench.dir.display()
    );
    bench.write("slow-content", NEW, 0o644);
    let editor = bench.write("slow.sh", &script, 0o755);
    let child = bench
        .command(&editor, &["edit", bench.policy().to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !bench.dir.join("editing").exists() {
        assert!(Instant::now() < deadline, "the editor never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn a_second_editor_is_told_to_wait() {
    let bench = Bench::new("busy");
    let first = slow_edit(&bench);
    let second = bench.edit(&bench.editor(&[OLD]), "");
    assert_eq!(second.status.code(), Some(1));
    assert!(
        stderr(&second).contains("is busy (someone else is changing it), try again later"),
        "{}",
        stderr(&second)
    );
    fs::write(bench.dir.join("release"), "").unwrap();
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(bench.policy_text(), NEW);
}

#[test]
fn a_signal_during_the_edit_saves_nothing_and_cleans_up() {
    let bench = Bench::new("signal");
    let child = slow_edit(&bench);
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("interrupted; nothing was saved"),
        "{}",
        stderr(&out)
    );
    assert_eq!(bench.policy_text(), OLD);
    bench.assert_clean();
}

/// newgatectl's temporary files beside the policy (the save writes one, then renames it).
fn saves_beside(bench: &Bench) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(&bench.dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".policy.newgatectl-"))
        .collect();
    names.sort();
    names
}

/// SIGKILL at 16 moments: half by the clock, half when the save's temporary
/// file appears (plus 0 to 1.4 ms). Each leaves the old file or the new one,
/// whole; some kills must be seen inside the save (a temporary file left, the
/// old policy still in place), or the test proved nothing (the clock alone
/// never gets there: the save is a millisecond of a run of a second); and
/// the next save removes what the killed ones left.
#[test]
fn kill_9_during_the_save_leaves_the_old_file_or_the_new_one() {
    let bench = Bench::new("kill9");
    // A large policy, so that the save takes long enough to be caught halfway.
    let large: String = (0..5_000)
        .map(|i| format!("permit user{} as group g{} cmd /bin/x{i}\n", i % 20, i % 50))
        .collect();
    let editor = bench.editor(&[&large]);
    let mut inside_the_save = 0;
    let mut landed = Vec::new();
    for attempt in 0..16u64 {
        let _ = fs::remove_file(bench.dir.join("count"));
        fs::write(bench.policy(), OLD).unwrap();
        let before = saves_beside(&bench);
        let watch = KillOnCreate::watch(&bench.dir);
        let mut child = bench
            .command(&editor, &["edit", bench.policy().to_str().unwrap()])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let status = if attempt % 2 == 0 {
            drop(watch);
            std::thread::sleep(Duration::from_micros(2_000 + attempt * 8_000));
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            child.wait().unwrap()
        } else {
            let armed = watch.arm(
                ".policy.newgatectl-",
                child.id() as i32,
                Duration::from_micros(attempt / 2 * 200),
            );
            let status = child.wait().unwrap();
            armed.finish();
            status
        };
        let text = bench.policy_text();
        assert!(
            text == OLD || text == large,
            "attempt {attempt}: a mix of {} bytes",
            text.len()
        );
        let left = saves_beside(&bench).iter().any(|name| !before.contains(name));
        let inside = status.code().is_none() && text == OLD && left;
        inside_the_save += usize::from(inside);
        landed.push((attempt, status.code(), text == large, left));
    }
    assert!(
        inside_the_save >= 3,
        "no kill landed inside the save, so nothing was tested: (attempt, exit code, saved, temporary file left) {landed:?}"
    );
    // The edit itself works when it is left alone, and clears the killed saves' leftovers.
    let _ = fs::remove_file(bench.dir.join("count"));
    fs::write(bench.policy(), OLD).unwrap();
    let out = bench.edit(&editor, "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(bench.policy_text(), large);
    assert_eq!(saves_beside(&bench), Vec::<String>::new(), "the next save removes them");
}

#[test]
fn the_administrator_is_warned_before_locking_themselves_out() {
    let bench = Bench::new("lockout");
    let policy = bench.policy();
    let ctl = "/usr/sbin/newgatectl";
    let allowed = format!("permit nobody as user root cmd {ctl} args edit {}\n", policy.display());
    fs::write(&policy, &allowed).unwrap();
    bench.write("round-0", OLD, 0o644);
    let editor = bench.editor(&[OLD]);
    let run = |answer: &str| {
        let mut child = bench
            .command(&editor, &["edit", policy.to_str().unwrap()])
            .env("NEWGATE_USER", "nobody")
            .env("NEWGATE_COMMAND", format!("{ctl} edit {}", policy.display()))
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(answer.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let refused = run("n\n");
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("nobody could no longer run this `newgatectl edit` through newgate"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(fs::read_to_string(&policy).unwrap(), allowed);
    let _ = fs::remove_file(bench.dir.join("count"));
    let saved = run("y\n");
    assert_eq!(saved.status.code(), Some(0), "{}", stderr(&saved));
    assert_eq!(fs::read_to_string(&policy).unwrap(), OLD);
}

#[test]
fn install_checks_then_replaces_atomically() {
    let bench = Bench::new("install");
    let ctl = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_newgatectl"))
            .args(args)
            .output()
            .unwrap()
    };
    let target = bench.policy();
    let good = bench.write("good", NEW, 0o644);
    let bad = bench.write("bad", BROKEN, 0o644);
    let check = ctl(&[
        "install",
        good.to_str().unwrap(),
        "--to",
        target.to_str().unwrap(),
        "--check",
    ]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    assert_eq!(bench.policy_text(), OLD, "--check changes nothing");
    let refused = ctl(&["install", bad.to_str().unwrap(), "--to", target.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("policy:1:15: error"), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("nothing was installed"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(bench.policy_text(), OLD);
    let installed = ctl(&["install", good.to_str().unwrap(), "--to", target.to_str().unwrap()]);
    assert_eq!(installed.status.code(), Some(0), "{}", stderr(&installed));
    assert_eq!(bench.policy_text(), NEW);
    assert_eq!(
        fs::metadata(&target).unwrap().permissions().mode() & 0o7777,
        0o640,
        "the mode is kept"
    );
    let again = ctl(&["install", good.to_str().unwrap(), "--to", target.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already up to date"));
    let usage = ctl(&["install"]);
    assert_eq!(usage.status.code(), Some(2));
}
