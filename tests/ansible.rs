//! Ansible's `sudo` become method with newgate as its `become_exe`: a real
//! playbook (ansible-core from PyPI, in a virtual environment the set-up
//! makes) on localhost, `connection: local`, run by an unprivileged user in a
//! sandbox, with a `nopass` rule, with a password, and refused.

// Each suite uses part of the shared harness.
#[allow(dead_code)]
mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{PASSWORD, Sandbox, policy, root_or_skip, user};

/// The version installed: one that has `--become-password-file`.
const ANSIBLE_CORE: &str = "ansible-core>=2.15,<2.20";

/// A virtual environment with ansible-core, made once and kept in the target
/// folder (readable by the test users); `Err` says why it could not be made.
fn ansible_playbook() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ansible-venv");
    let playbook = venv.join("bin/ansible-playbook");
    if playbook.exists() {
        return Ok(playbook);
    }
    // Debian's Python, not one in root's home that the test users cannot read.
    let made = Command::new("/usr/bin/python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .map_err(|e| format!("/usr/bin/python3: {e}"))?;
    if !made.status.success() {
        return Err(format!(
            "python3 -m venv failed (is python3-venv installed?): {}",
            String::from_utf8_lossy(&made.stderr)
        ));
    }
    let installed = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", ANSIBLE_CORE])
        .output()
        .map_err(|e| format!("pip: {e}"))?;
    if !installed.status.success() {
        let _ = fs::remove_dir_all(&venv);
        return Err(format!(
            "pip could not install {ANSIBLE_CORE} from PyPI: {}",
            String::from_utf8_lossy(&installed.stderr)
        ));
    }
    Ok(playbook)
}

/// A folder of the playbook run, where `alice` may write.
fn workspace(sandbox: &Sandbox, alice: &str) -> PathBuf {
    let dir = sandbox.dir.join("ansible");
    for sub in ["", "home", "tmp"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let owner = nix::unistd::User::from_name(alice).unwrap().unwrap();
    for sub in ["", "home", "tmp"] {
        nix::unistd::chown(&dir.join(sub), Some(owner.uid), Some(owner.gid)).unwrap();
        fs::set_permissions(dir.join(sub), fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// The play: a file created as root, then `id` with a group-only become.
fn write_playbook(dir: &Path, newgate: &Path, python: &Path, group: &str) -> PathBuf {
    let created = dir.join("created-by-root");
    let text = format!(
        "- hosts: localhost
  connection: local
  gather_facts: false
  become_method: sudo
  vars:
    ansible_python_interpreter: {python}
    ansible_become_exe: {newgate}
  tasks:
    - name: a file created as root
      become: true
      ansible.builtin.file:
        path: {created}
        state: touch
        mode: '0644'
    - name: id with a group-only become
      become: true
      become_user: ''
      become_flags: '-H -S -g {group}'
      ansible.builtin.command: id
      register: id_output
    - name: what id said
      ansible.builtin.debug:
        msg: 'ID={{{{ id_output.stdout }}}}'
",
        python = python.display(),
        newgate = newgate.display(),
        created = created.display(),
    );
    let playbook = dir.join("play.yml");
    fs::write(&playbook, text).unwrap();
    playbook
}

/// Runs the play as `alice` in the sandbox; `password`: given with --become-password-file.
fn run_play(sandbox: &Sandbox, alice: &str, playbook_exe: &Path, dir: &Path, password: Option<&str>) -> (bool, String) {
    let mut args: Vec<String> = vec![
        playbook_exe.display().to_string(),
        "-i".into(),
        "localhost,".into(),
        dir.join("play.yml").display().to_string(),
    ];
    if let Some(password) = password {
        let file = dir.join("become-password");
        fs::write(&file, format!("{password}\n")).unwrap();
        let owner = nix::unistd::User::from_name(alice).unwrap().unwrap();
        nix::unistd::chown(&file, Some(owner.uid), Some(owner.gid)).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        args.push(format!("--become-password-file={}", file.display()));
    }
    let home = dir.join("home").display().to_string();
    let tmp = dir.join("tmp").display().to_string();
    let env = [
        ("HOME", home.as_str()),
        ("ANSIBLE_LOCAL_TEMP", tmp.as_str()),
        ("ANSIBLE_REMOTE_TMP", tmp.as_str()),
        ("ANSIBLE_NOCOLOR", "1"),
        ("ANSIBLE_HOST_KEY_CHECKING", "0"),
        ("LANG", "C.UTF-8"),
    ];
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = sandbox.run_program(alice, &words, &env);
    (out.code == Some(0), out.output)
}

#[test]
fn ansible_becomes_through_newgate() {
    if !root_or_skip("Ansible's sudo become through newgate") {
        return;
    }
    let playbook_exe = match ansible_playbook() {
        Ok(path) => path,
        Err(why) => panic!("the Ansible test cannot be set up: {why}"),
    };
    let python = playbook_exe.with_file_name("python3");
    // The test users and groups.
    support::harness();
    let alice = user("alice");
    let docker = user("docker");
    let docker_gid = nix::unistd::Group::from_name(&docker).unwrap().unwrap().gid;

    for (name, rules, password) in [
        (
            "ansible-nopass",
            "permit nopass alice as user root\npermit nopass alice as group docker\n",
            None,
        ),
        (
            "ansible-password",
            "permit alice as user root\npermit alice as group docker\n",
            Some(PASSWORD),
        ),
    ] {
        let sandbox = Sandbox::new(name, &policy(rules), 0o440);
        let dir = workspace(&sandbox, &alice);
        write_playbook(&dir, &sandbox.harness().newgate, &python, &docker);
        let (ok, output) = run_play(&sandbox, &alice, &playbook_exe, &dir, password);
        assert!(ok, "{name}: the play fails:\n{output}");
        let created = fs::metadata(dir.join("created-by-root")).expect("the file was created");
        assert_eq!(std::os::unix::fs::MetadataExt::uid(&created), 0, "{name}: made by root");
        let id = output
            .lines()
            .find_map(|l| l.split("\"msg\": \"ID=").nth(1))
            .unwrap_or_else(|| panic!("{name}: no id output:\n{output}"));
        let uid = nix::unistd::User::from_name(&alice).unwrap().unwrap().uid;
        assert!(
            id.starts_with(&format!("uid={uid}({alice}) gid={docker_gid}({docker})")),
            "{name}: alice, with primary group docker: {id}"
        );
        let lines = sandbox.harness().wait_for_log(&format!("{alice} : TTY="), 1);
        assert!(
            lines
                .iter()
                .any(|l| l.contains(" ; USER=root ; ") && l.contains(&format!("COMMAND={}", "/usr/bin/sh -c"))),
            "{name}: the root task is logged: {lines:#?}"
        );
    }

    // Refused by the policy: the play fails and nothing ran.
    let sandbox = Sandbox::new("ansible-refused", &policy("permit nopass alice as group www\n"), 0o440);
    let dir = workspace(&sandbox, &alice);
    write_playbook(&dir, &sandbox.harness().newgate, &python, &docker);
    let (ok, output) = run_play(&sandbox, &alice, &playbook_exe, &dir, None);
    assert!(!ok, "the play succeeds:\n{output}");
    assert!(
        output.contains(&format!("{alice} may not run /usr/bin/sh -c")),
        "{output}"
    );
    assert!(!dir.join("created-by-root").exists(), "nothing ran: {output}");
}
