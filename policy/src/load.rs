//! Reading a policy from disk: ownership and mode checks, includes, time zones;
//! recording what a load read, for a compiled snapshot, and checking it again.
//!
//! This is the only module of the crate that opens files (the snapshot module
//! reads its file through a descriptor opened and checked here).

use std::cell::RefCell;
use std::ffi::OsStr;
use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use nix::fcntl::OFlag;

use crate::compile::{Context, Directory, Zone, compile};
use crate::diag::{Collector, Diagnostic, DiagnosticKind, Severity, Sources, Span};
use crate::glob::Glob;
use crate::policy::Policy;
use crate::snapshot::{Ignored, Input, sha256};
use crate::syntax::{Statement, parse_file};

/// The largest policy file read; anything bigger is refused.
pub const MAX_FILE_SIZE: u64 = 16 << 20;
/// The most bytes read across all files of one policy.
const MAX_TOTAL_SIZE: u64 = 64 << 20;
/// How deep includes may nest.
pub const MAX_INCLUDE_DEPTH: usize = 8;

/// How far the files on disk are trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trust {
    /// The installed policy: each file, and every folder above it, must be
    /// owned by root (or by `owner`, for tests run without root) and not
    /// writable by group or other; the files themselves must not be symlinks.
    Secure { owner: u32 },
    /// A draft named on the command line: read as it is, with no ownership checks.
    Draft,
}

impl Trust {
    pub const ROOT: Trust = Trust::Secure { owner: 0 };
}

/// How to load, and which warnings to compute.
#[derive(Clone, Copy)]
pub struct LoadOptions<'a> {
    pub trust: Trust,
    /// Warn about users, groups and hosts that do not exist.
    pub directory: Option<&'a dyn Directory>,
    /// Warn about `until` dates before this moment.
    pub now: Option<Timestamp>,
    /// Compute the warnings at all (unused aliases, rules that never decide, ...).
    pub lint: bool,
}

impl LoadOptions<'_> {
    /// What the enforcing programs use: root-owned files, no warnings.
    pub fn enforcing() -> LoadOptions<'static> {
        LoadOptions {
            trust: Trust::ROOT,
            directory: None,
            now: None,
            lint: false,
        }
    }
}

/// The result of loading: a policy when there was no error, and every diagnostic.
#[derive(Debug)]
pub struct Loaded {
    pub policy: Option<Policy>,
    pub diagnostics: Vec<Diagnostic>,
    /// Files and folders that could not be read for lack of permission: the
    /// policy is then unknown to this caller, which is not the same as invalid.
    pub unreadable: Vec<PathBuf>,
}

impl Loaded {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Warning)
    }

    /// Whether the process ran out of stack while reading the policy: the
    /// policy is refused without having been checked (see [`DiagnosticKind::OutOfStack`]).
    pub fn out_of_stack(&self) -> bool {
        self.diagnostics.iter().any(|d| d.kind == DiagnosticKind::OutOfStack)
    }
}

/// Loads the policy at `path` and every file it includes.
pub fn load(path: &Path, options: &LoadOptions) -> Loaded {
    Loader::new().load(path, options)
}

/// Loads the policy at `path` as it would be if the file `replaced` (the
/// policy itself, or a file it includes, or a new drop-in) held `text`: how
/// `newgatectl edit` and `install` check a change before it is saved.
pub fn load_replacing(path: &Path, replaced: &Path, text: &str, options: &LoadOptions) -> Loaded {
    let mut loader = Loader::new();
    loader.replacement = Some((lexically_absolute(replaced), text.to_string()));
    loader.load(path, options)
}

fn lexically_absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Loads a policy from text, as if it were the file `path` (includes are read
/// relative to that file's folder, with the given trust).
pub fn load_str(path: &Path, text: &str, options: &LoadOptions) -> Loaded {
    // The text stands for the file at `path` when there is one, so an include of it is a cycle.
    let id = std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
    Loader::new().finish(path.to_path_buf(), text.to_string(), id, options)
}

/// Where a load records its inputs, when it does.
type Recorder = Rc<RefCell<Vec<Input>>>;

/// A file's identity, to find include cycles whatever the path says.
type FileId = (u64, u64);

struct Loader {
    sources: Sources,
    diags: Collector,
    total: u64,
    /// The files being read, outermost first, for cycle detection.
    stack: Vec<(Option<FileId>, PathBuf)>,
    /// A file whose text is taken from here instead of the disk.
    replacement: Option<(PathBuf, String)>,
    unreadable: Vec<PathBuf>,
    /// Each wildcard include: the folder it reads, its file-name glob, and
    /// where it stands (`FILE:LINE`), for the warning about files it skips.
    globbed: Vec<(PathBuf, Glob, String)>,
    /// Parse every rule while reading, for the warnings that look up the
    /// names each rule's syntax tree holds.
    keep_rule_trees: bool,
    /// Every file, folder listing and time zone read, as read, when a
    /// compiled snapshot is being built from this load.
    inputs: Option<Recorder>,
}

impl Loader {
    fn new() -> Loader {
        Loader {
            sources: Sources::default(),
            diags: Collector::default(),
            total: 0,
            stack: Vec::new(),
            replacement: None,
            unreadable: Vec::new(),
            globbed: Vec::new(),
            keep_rule_trees: false,
            inputs: None,
        }
    }

    fn load(mut self, path: &Path, options: &LoadOptions) -> Loaded {
        match self.read(path, options.trust) {
            Ok((text, id)) => self.finish(path.to_path_buf(), text, id, options),
            Err(message) => {
                self.diags.file(Severity::Error, path, message, None);
                Loaded {
                    policy: None,
                    diagnostics: self.diags.into_sorted(),
                    unreadable: self.unreadable,
                }
            }
        }
    }

    fn finish(mut self, path: PathBuf, text: String, id: Option<FileId>, options: &LoadOptions) -> Loaded {
        let mut statements = Vec::new();
        self.keep_rule_trees = options.lint && options.directory.is_some();
        self.stack.push((id, path.clone()));
        let file = self.sources.add(path, text);
        self.statements(file, options.trust, &mut statements);
        statements.shrink_to_fit();
        // Compiling would only add errors about the statements that could not
        // be read, and reads time zones, which takes stack of its own.
        if self.diags.out_of_stack_found() {
            return Loaded {
                policy: None,
                diagnostics: self.diags.into_sorted(),
                unreadable: self.unreadable,
            };
        }
        // A drop-in that no include reads (`ops` where the policy reads `*.conf`)
        // would be saved and silently ignored.
        if let Some((replaced, _)) = &self.replacement
            && !self.sources.paths().iter().any(|p| lexically_absolute(p) == *replaced)
        {
            let message = "no include of the policy reads this file: its rules would not count".to_string();
            let hint = Some(format!(
                "the policy is {}; check its `include` lines",
                self.sources.path(file).display()
            ));
            self.diags.file(Severity::Warning, &replaced.clone(), message, hint);
        }
        if options.lint {
            self.lint_unread_files();
        }
        let zone_lookup = |name: &str| time_zone(name, self.inputs.as_ref());
        let context = Context {
            local_zone: local_time_zone(self.inputs.as_ref()),
            zone_lookup: &zone_lookup,
            directory: options.directory,
            now: options.now,
            lint: options.lint,
        };
        let policy = compile(&self.sources, &statements, &context, &mut self.diags);
        drop(statements);
        // A rule line that ran out of stack: only that is worth reporting.
        let diagnostics = if self.diags.out_of_stack_found() {
            self.diags.into_out_of_stack()
        } else {
            self.diags.into_sorted()
        };
        Loaded {
            policy,
            diagnostics,
            unreadable: self.unreadable,
        }
    }

    /// Parses a file and splices in its includes, in place.
    fn statements(&mut self, file: u32, trust: Trust, out: &mut Vec<Statement>) {
        // The rule lines are parsed as they are compiled, except where the
        // names in every rule are looked up afterwards (`check` with lookups).
        let defer_rules = !self.keep_rule_trees;
        for statement in parse_file(&self.sources, file, &mut self.diags, defer_rules) {
            if self.diags.out_of_stack_found() {
                return;
            }
            if let Statement::Include { span, pattern } = &statement {
                let (span, pattern) = (*span, pattern.text.clone());
                out.push(statement);
                self.include(file, span, &pattern, trust, out);
            } else {
                out.push(statement);
            }
        }
    }

    fn include(&mut self, from: u32, span: Span, pattern: &str, trust: Trust, out: &mut Vec<Statement>) {
        if self.stack.len() > MAX_INCLUDE_DEPTH {
            self.error(span, format!("includes nest more than {MAX_INCLUDE_DEPTH} levels deep"));
            return;
        }
        let folder = self.sources.path(from).parent().unwrap_or(Path::new("/")).to_path_buf();
        let joined = folder.join(pattern);
        // The folder an include reads is checked whether or not anything in it
        // matches: whoever can write to it could otherwise remove a drop-in that
        // denies them (or rename it to a skipped name), and nothing would be read.
        if let Trust::Secure { owner } = trust {
            let checked = std::path::absolute(&joined)
                .map_err(|e| describe_io(&e))
                .and_then(|absolute| check_folders(&absolute, owner));
            if let Err(why) = checked {
                return self.error(span, format!("cannot include {pattern}: {why}"));
            }
        }
        let extra = self.replacement.as_ref().map(|(p, _)| p.clone());
        let files = match expand_include(&joined, extra.as_deref(), &mut self.unreadable, self.inputs.as_ref()) {
            Ok(files) => files,
            Err(message) => return self.error(span, message),
        };
        if let (Some(folder), Some(name)) = (joined.parent(), joined.file_name().and_then(OsStr::to_str))
            && has_wildcard(name)
            && let Ok(glob) = Glob::new(name)
        {
            let place = format!(
                "{}:{}",
                self.sources.path(from).display(),
                self.sources.position(span).line
            );
            self.globbed.push((folder.to_path_buf(), glob, place));
        }
        for path in files {
            let (text, id) = match self.read(&path, trust) {
                Ok(read) => read,
                Err(message) => {
                    self.error(span, format!("cannot include {}: {message}", path.display()));
                    continue;
                }
            };
            if let Some(start) = self.stack.iter().position(|(seen, _)| id.is_some() && *seen == id) {
                let mut chain: Vec<String> = self.stack[start..]
                    .iter()
                    .map(|(_, p)| p.display().to_string())
                    .collect();
                chain.push(path.display().to_string());
                self.error(span, format!("include cycle: {}", chain.join(" → ")));
                continue;
            }
            self.stack.push((id, path.clone()));
            let file = self.sources.add(path, text);
            self.statements(file, trust, out);
            self.stack.pop();
        }
    }

    /// A file in a folder that an include reads, whose name its glob does not
    /// match (`50-bob` where the policy reads `*.conf`), is silently ignored.
    fn lint_unread_files(&mut self) {
        let read: Vec<PathBuf> = self.sources.paths().iter().map(|p| lexically_absolute(p)).collect();
        let replaced = self.replacement.as_ref().map(|(p, _)| p.clone());
        let mut folders: Vec<&PathBuf> = self.globbed.iter().map(|(folder, _, _)| folder).collect();
        folders.dedup();
        let mut warnings = Vec::new();
        for folder in folders {
            let Ok(entries) = std::fs::read_dir(folder) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|name| !is_skipped(name) && !is_readme(name))
                .collect();
            names.sort();
            for name in names {
                let path = folder.join(&name);
                let absolute = lexically_absolute(&path);
                if read.contains(&absolute) || replaced.as_ref() == Some(&absolute) {
                    continue;
                }
                let globs: Vec<&(PathBuf, Glob, String)> =
                    self.globbed.iter().filter(|(f, _, _)| f == folder).collect();
                if globs.iter().any(|(_, glob, _)| glob.matches_file_name(&name)) {
                    continue;
                }
                let (_, glob, place) = globs[0];
                let hint = format!(
                    "{place} reads only `{}` here; rename the file to match, or remove it",
                    glob.as_str()
                );
                warnings.push((path, hint));
            }
        }
        for (path, hint) in warnings {
            let message = "no include of the policy reads this file: its rules do not count".to_string();
            self.diags.file(Severity::Warning, &path, message, Some(hint));
        }
    }

    fn error(&mut self, span: Span, message: String) {
        self.diags.at(&self.sources, Severity::Error, span, message, None);
    }

    /// Reads one file, checking it (and the folders above it) as `trust` says.
    fn read(&mut self, path: &Path, trust: Trust) -> Result<(String, Option<FileId>), String> {
        if let Trust::Secure { owner } = trust {
            let absolute = std::path::absolute(path).map_err(|e| describe_io(&e))?;
            check_folders(&absolute, owner)?;
        }
        if let Some((replaced, text)) = &self.replacement
            && *replaced == lexically_absolute(path)
        {
            let id = std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
            return Ok((text.clone(), id));
        }
        let mut flags = OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        if trust != Trust::Draft {
            flags |= OFlag::O_NOFOLLOW;
        }
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(flags.bits())
            .open(path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::PermissionDenied {
                    self.unreadable.push(path.to_path_buf());
                }
                if e.raw_os_error() == Some(nix::libc::ELOOP) {
                    "it is a symbolic link; the policy must be a regular file".to_string()
                } else {
                    describe_io(&e)
                }
            })?;
        let meta = file.metadata().map_err(|e| describe_io(&e))?;
        if !meta.is_file() {
            return Err("it is not a regular file".into());
        }
        if let Trust::Secure { owner } = trust {
            check_owner_and_mode(&meta, owner, "it")?;
        }
        if meta.len() > MAX_FILE_SIZE {
            return Err(format!("it is larger than {} MiB", MAX_FILE_SIZE >> 20));
        }
        self.total += meta.len();
        if self.total > MAX_TOTAL_SIZE {
            return Err(format!(
                "the policy's files are larger than {} MiB together",
                MAX_TOTAL_SIZE >> 20
            ));
        }
        let text = read_limited(file)?;
        if let Some(inputs) = &self.inputs {
            inputs.borrow_mut().push(Input::File {
                path: path.as_os_str().as_bytes().to_vec(),
                device: meta.dev(),
                inode: meta.ino(),
                sha256: sha256(text.as_bytes()),
            });
        }
        Ok((text, Some((meta.dev(), meta.ino()))))
    }
}

/// Loads the policy at `path` as the enforcing programs do (files owned by
/// root or `owner`, no warnings), and records every input the result depends
/// on, as it was read: what a compiled snapshot is built from.
pub(crate) fn load_recording(path: &Path, owner: u32) -> (Loaded, Vec<Input>) {
    let inputs = Rc::new(RefCell::new(Vec::new()));
    let mut loader = Loader::new();
    loader.inputs = Some(inputs.clone());
    let options = LoadOptions {
        trust: Trust::Secure { owner },
        ..LoadOptions::enforcing()
    };
    let loaded = loader.load(path, &options);
    let inputs = inputs.take();
    (loaded, inputs)
}

/// Opens a file checked as a policy file is (owner, mode, symbolic link, its
/// folders up to `/`): a compiled snapshot.
pub(crate) fn open_checked(path: &Path, owner: u32) -> Result<File, Ignored> {
    let absolute = std::path::absolute(path).map_err(|e| Ignored::Unsafe(describe_io(&e)))?;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW).bits())
        .open(&absolute)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ignored::Missing,
            _ if e.raw_os_error() == Some(nix::libc::ELOOP) => Ignored::Unsafe("it is a symbolic link".into()),
            _ => Ignored::Unsafe(describe_io(&e)),
        })?;
    check_folders(&absolute, owner).map_err(Ignored::Unsafe)?;
    let meta = file.metadata().map_err(|e| Ignored::Unsafe(describe_io(&e)))?;
    if !meta.is_file() {
        return Err(Ignored::Unsafe("it is not a regular file".into()));
    }
    check_owner_and_mode(&meta, owner, "it").map_err(Ignored::Unsafe)?;
    Ok(file)
}

/// A time-zone file read while checking a snapshot's inputs: its path and bytes.
pub(crate) type ZoneFile = (Vec<u8>, Vec<u8>);

/// Why a snapshot's inputs no longer match the disk, in words.
pub(crate) type Stale = String;

/// Checks every input a snapshot was built from against the disk, with the
/// same checks as a load (owner, mode, symbolic links, every folder up to
/// `/`), and returns the bytes of each time-zone file read, by path.
pub(crate) fn verify_inputs(inputs: &[Input], owner: u32) -> Result<Vec<ZoneFile>, Stale> {
    let trust = Trust::Secure { owner };
    let mut loader = Loader::new();
    let mut zones = Vec::new();
    for input in inputs {
        match input {
            Input::File {
                path,
                device,
                inode,
                sha256: hash,
            } => {
                let path = Path::new(OsStr::from_bytes(path));
                let (text, id) = loader
                    .read(path, trust)
                    .map_err(|why| format!("{}: {why}", path.display()))?;
                if id != Some((*device, *inode)) {
                    return Err(format!("{} was replaced", path.display()));
                }
                if sha256(text.as_bytes()) != *hash {
                    return Err(format!("{} changed", path.display()));
                }
            }
            Input::Listing { folder, sha256: hash } => {
                let folder = Path::new(OsStr::from_bytes(folder));
                let absolute = std::path::absolute(folder.join("listing")).map_err(|e| describe_io(&e))?;
                check_folders(&absolute, owner).map_err(|why| format!("{}: {why}", folder.display()))?;
                let names = std::fs::read_dir(folder)
                    .and_then(|entries| {
                        entries
                            .map(|e| e.map(|e| e.file_name().as_bytes().to_vec()))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .map_err(|e| format!("{}: {}", folder.display(), describe_io(&e)))?;
                if listing_hash(names) != *hash {
                    return Err(format!("the files in {} changed", folder.display()));
                }
            }
            Input::Zone {
                path,
                link,
                sha256: hash,
            } => {
                let file = Path::new(OsStr::from_bytes(path));
                let now_link = zone_link(file, path.as_slice() == LOCALTIME.as_bytes());
                let bytes = read_zone_file(file);
                if now_link != *link || bytes.as_deref().map(sha256) != *hash {
                    return Err(format!("the time zone {} changed", file.display()));
                }
                if let Some(bytes) = bytes {
                    zones.push((path.clone(), bytes));
                }
            }
        }
    }
    Ok(zones)
}

/// The names in a folder an include reads, whatever they are: a file added,
/// removed or renamed there changes it.
fn listing_hash(mut names: Vec<Vec<u8>>) -> [u8; 32] {
    names.sort();
    let mut all = Vec::new();
    for name in names {
        all.extend_from_slice(&(name.len() as u64).to_le_bytes());
        all.extend_from_slice(&name);
    }
    sha256(&all)
}

fn read_limited(file: File) -> Result<String, String> {
    // Sized from the file's length (a hint: it may change while read), so a
    // large policy is not held in a buffer grown by doubling.
    let hint = file.metadata().map_or(0, |m| m.len().min(MAX_FILE_SIZE + 1));
    let mut bytes = Vec::with_capacity(hint as usize + 1);
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| describe_io(&e))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(format!("it is larger than {} MiB", MAX_FILE_SIZE >> 20));
    }
    String::from_utf8(bytes).map_err(|e| {
        let line = e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        format!("it is not UTF-8 text (line {line})")
    })
}

fn describe_io(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        // The installed policy is root:root 0440: the usual cause is a missing sudo.
        std::io::ErrorKind::PermissionDenied => "permission denied (not run as root?)".into(),
        _ => error.to_string(),
    }
}

/// Every folder from `/` down to the file's own must be a real folder, owned
/// by root (or `owner`), and not writable by group or other.
fn check_folders(path: &Path, owner: u32) -> Result<(), String> {
    let mut folder = PathBuf::new();
    let parent = path.parent().ok_or("it has no parent folder")?;
    for component in parent.components() {
        folder.push(component);
        let meta = std::fs::symlink_metadata(&folder)
            .map_err(|e| format!("its folder {}: {}", folder.display(), describe_io(&e)))?;
        if meta.file_type().is_symlink() {
            return Err(format!("its folder {} is a symbolic link", folder.display()));
        }
        check_owner_and_mode(&meta, owner, &format!("its folder {}", folder.display()))?;
    }
    Ok(())
}

fn check_owner_and_mode(meta: &Metadata, owner: u32, what: &str) -> Result<(), String> {
    if meta.uid() != 0 && meta.uid() != owner {
        return Err(format!("{what} is owned by uid {}, not by root", meta.uid()));
    }
    // A root-owned folder with the sticky bit (like /tmp) lets others add
    // entries but not replace or remove ours; the entries below are checked too.
    let sticky_root_folder = meta.is_dir() && meta.uid() == 0 && meta.mode() & 0o1000 != 0;
    if meta.mode() & 0o022 != 0 && !sticky_root_folder {
        let writers = if meta.mode() & 0o002 != 0 {
            "everyone"
        } else {
            "its group"
        };
        return Err(format!(
            "{what} is writable by {writers} (mode {:04o})",
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

/// The files an `include` names: one file, or the matches of a file-name glob
/// in sorted order, skipping hidden files and package-manager leftovers.
/// `extra` is a file that is about to exist: it is included when it would match.
fn expand_include(
    pattern: &Path,
    extra: Option<&Path>,
    unreadable: &mut Vec<PathBuf>,
    inputs: Option<&Recorder>,
) -> Result<Vec<PathBuf>, String> {
    let name = pattern
        .file_name()
        .and_then(OsStr::to_str)
        .ok_or("an include must name a file")?;
    let folder = pattern.parent().unwrap_or(Path::new("/"));
    if folder
        .components()
        .any(|c| matches!(c, Component::Normal(s) if s.to_str().is_some_and(has_wildcard)))
    {
        return Err("only the file name of an include may hold wildcards".into());
    }
    if !has_wildcard(name) {
        return Ok(vec![pattern.to_path_buf()]);
    }
    let glob = Glob::new(name).map_err(|why| format!("bad include pattern: {why}"))?;
    let entries = std::fs::read_dir(folder).map_err(|e| {
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            unreadable.push(folder.to_path_buf());
        }
        format!("cannot read {}: {}", folder.display(), describe_io(&e))
    })?;
    let mut names: Vec<String> = Vec::new();
    let mut listing = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {}", folder.display(), describe_io(&e)))?;
        if inputs.is_some() {
            listing.push(entry.file_name().as_bytes().to_vec());
        }
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if !is_skipped(&name) && glob.matches_file_name(&name) {
            names.push(name);
        }
    }
    if let Some(extra) = extra
        && extra.parent() == Some(&lexically_absolute(folder))
        && let Some(name) = extra.file_name().and_then(OsStr::to_str)
        && !is_skipped(name)
        && glob.matches_file_name(name)
        && !names.iter().any(|n| n == name)
    {
        names.push(name.to_string());
    }
    if let Some(inputs) = inputs {
        inputs.borrow_mut().push(Input::Listing {
            folder: folder.as_os_str().as_bytes().to_vec(),
            sha256: listing_hash(listing),
        });
    }
    names.sort();
    Ok(names.into_iter().map(|n| folder.join(n)).collect())
}

/// A README beside the drop-ins (Debian ships one in policy.d) is not policy.
fn is_readme(name: &str) -> bool {
    name.to_ascii_lowercase().starts_with("readme")
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Editor backups and package-manager leftovers are never policy.
fn is_skipped(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with('~')
        || name.ends_with(".bak")
        || name.contains(".dpkg-")
        || name.contains(".rpm")
        || name.contains(".ucf-")
}

const ZONEINFO: &str = "/usr/share/zoneinfo";

/// Loads a named time zone from the system's database. `TZ` and `TZDIR` are
/// ignored on purpose: the caller of a setuid program controls them.
fn time_zone(name: &str, inputs: Option<&Recorder>) -> Result<Zone, String> {
    if name == "UTC" {
        return Ok((TimeZone::UTC, None));
    }
    let valid = !name.is_empty()
        && !name.starts_with('/')
        && name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c));
    let unknown = || format!("unknown time zone `{name}`; use a name from {ZONEINFO}, like `Europe/Berlin`");
    if !valid {
        return Err(unknown());
    }
    let path = Path::new(ZONEINFO).join(name);
    let bytes = read_zone_file(&path);
    record_zone(inputs, &path, None, bytes.as_deref());
    let zone = TimeZone::tzif(name, &bytes.ok_or_else(unknown)?).map_err(|_| unknown())?;
    Ok((zone, Some(path)))
}

const LOCALTIME: &str = "/etc/localtime";

fn record_zone(inputs: Option<&Recorder>, path: &Path, link: Option<Vec<u8>>, bytes: Option<&[u8]>) {
    if let Some(inputs) = inputs {
        inputs.borrow_mut().push(Input::Zone {
            path: path.as_os_str().as_bytes().to_vec(),
            link,
            sha256: bytes.map(sha256),
        });
    }
}

/// Where `/etc/localtime` points, which names the system's zone.
fn zone_link(path: &Path, read: bool) -> Option<Vec<u8>> {
    if !read {
        return None;
    }
    std::fs::read_link(path)
        .ok()
        .map(|target| target.as_os_str().as_bytes().to_vec())
}

/// The system's zone, from `/etc/localtime`; UTC when there is none, as the C library does.
fn local_time_zone(inputs: Option<&Recorder>) -> (TimeZone, String, Option<PathBuf>) {
    let path = Path::new(LOCALTIME);
    let link = zone_link(path, true);
    let name = link
        .as_ref()
        .and_then(|target| {
            let target = String::from_utf8_lossy(target);
            target.split_once("zoneinfo/").map(|(_, name)| name.to_string())
        })
        .unwrap_or_else(|| "localtime".into());
    let bytes = read_zone_file(path);
    record_zone(inputs, path, link, bytes.as_deref());
    match bytes.and_then(|bytes| TimeZone::tzif(&name, &bytes).ok()) {
        Some(zone) => (zone, name, Some(path.to_path_buf())),
        None => (TimeZone::UTC, "UTC".into(), None),
    }
}

fn read_zone_file(path: &Path) -> Option<Vec<u8>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_NONBLOCK.bits())
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(1 << 20).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_are_skipped() {
        for name in [
            ".hidden.conf",
            "a.conf~",
            "a.conf.bak",
            "a.conf.dpkg-old",
            "a.conf.rpmnew",
            "a.conf.ucf-dist",
        ] {
            assert!(is_skipped(name), "{name}");
        }
        assert!(!is_skipped("10-admins.conf"));
    }

    #[test]
    fn zone_names_cannot_escape_the_database() {
        assert!(time_zone("../../etc/passwd", None).is_err());
        assert!(time_zone("/etc/localtime", None).is_err());
        assert!(time_zone("Europe/Nowhere", None).is_err());
        assert!(time_zone("UTC", None).is_ok());
    }
}
