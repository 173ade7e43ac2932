//! The build identity of the policy crate, for the compiled snapshot: a
//! snapshot written by one build of newgate is used only by the same build
//! (the runner, the PAM module and newgatectl are separate binaries, and a
//! change to the compiler or the snapshot format must not meet old bytes).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn main() {
    let crate_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&crate_dir.join("src"), &mut files);
    files.push(crate_dir.join("Cargo.toml"));
    files.push(crate_dir.join("build.rs"));
    // The versions of rkyv and everything else the crate is built with.
    let lock = crate_dir.join("../Cargo.lock");
    if lock.is_file() {
        files.push(lock);
    }
    files.sort();
    let mut hash = Sha256::new();
    hash.update(std::env::var("CARGO_PKG_VERSION").unwrap_or_default().as_bytes());
    for file in &files {
        println!("cargo::rerun-if-changed={}", file.display());
        let relative = file.strip_prefix(&crate_dir).unwrap_or(file);
        let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        hash.update(relative.to_string_lossy().as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    println!("cargo::rerun-if-changed={}", crate_dir.join("src").display());
    let id: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    println!("cargo::rustc-env=NEWGATE_BUILD_ID={id}");
}

fn collect(folder: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(folder).unwrap_or_else(|e| panic!("cannot read {}: {e}", folder.display()));
    for entry in entries {
        let path = entry.expect("a readable source folder").path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}
