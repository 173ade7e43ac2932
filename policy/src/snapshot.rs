//! The compiled snapshot: a stored form of a compiled [`Policy`], with the
//! record of every input it was compiled from, so that the enforcing
//! programs can skip parsing when (and only when) nothing changed.
//!
//! The file is a fixed header (a magic string, the format version, the build
//! identity of this crate, and the lengths and CRC-32 checksums of the two
//! archives after it), then two rkyv archives and the rules, each rule an
//! archive of its own:
//!
//! - the *record*: the inputs, the settings and the main file's path, which
//!   is all that deciding whether to use the snapshot needs;
//! - the *tables*: names, glob lists, options, subjects and targets that the
//!   rules share, the index (which rules concern which user and group), and
//!   where each rule stands with the CRC-32 of its bytes;
//! - the rules.
//!
//! Every archive is validated with bytecheck before any of it is read, and
//! only the rules that concern the requester are read: a 100,000-rule policy
//! costs a request its few dozen rules, not the whole file. A snapshot that
//! does not validate, comes from another format or build, or whose inputs
//! differ from the disk in any way is ignored: the caller loads the source.
//!
//! Decisions are made by the same [`Policy::decide`] whichever way the policy
//! was loaded: decoding builds the `Policy` the compiler builds, holding the
//! rules of one requester (see `Scope` in `policy.rs`).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use rkyv::rancor;
use rkyv::rend::u32_le;
use rkyv::util::AlignedVec;
use rkyv::vec::ArchivedVec;
use rkyv::{Archive, Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::glob::Glob;
use crate::load::{Loaded, ZoneFile, load_recording, open_checked, verify_inputs};
use crate::policy::{
    Action, ArgsMatch, Audit, Chdir, CommandMatch, Conditions, EnvChange, Globs, Index, Location, LogFormat, Name,
    Names, Options, Policy, Rule, Scope, Settings, Subjects, Target,
};
use crate::time::{Days, TimeRange, When};

/// The version of the layout below; bumped with every change to it (the
/// build identity changes too, but this says why in `--status`).
pub const FORMAT: u32 = 1;
const MAGIC: &[u8; 16] = b"newgate-snapshot";
/// Where the build identity stands in the header.
pub const BUILD_AT: usize = 32;
/// The lengths of the record and of the tables (little-endian u64 each).
pub const LENGTHS_AT: usize = 64;
/// The CRC-32 of the record, then of the tables (little-endian u32 each):
/// bytes that validate can still be damaged ones (a flipped bit in a name),
/// and would decide otherwise. A checksum against damage, not a hash against
/// forgery: only root can write the file.
pub const SUMS_AT: usize = 80;
/// The header's length; the record starts after it, aligned.
pub const HEADER_LEN: usize = 96;
/// The largest record or tables read, and the largest rule.
const MAX_PART: u64 = 256 << 20;

/// The build identity of this crate (a hash over its sources, its
/// dependencies' versions and its version, made at build time).
pub fn build_id() -> [u8; 32] {
    let hex = env!("NEWGATE_BUILD_ID").as_bytes();
    let mut id = [0u8; 32];
    for (i, pair) in hex.chunks(2).enumerate().take(32) {
        let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
        id[i] = digit(pair[0]) << 4 | digit(pair[1]);
    }
    id
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The checksum of a part of the file (see [`SUMS_AT`]).
fn checksum(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

fn padded(length: usize) -> usize {
    length.next_multiple_of(16)
}

/// One thing a compiled policy depends on, as it was when it was compiled.
/// Paths are kept as bytes: a file name need not be UTF-8.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    /// A policy file (the policy, a drop-in, an included file), which is read
    /// with every check of the loader again.
    File {
        path: Vec<u8>,
        device: u64,
        inode: u64,
        sha256: [u8; 32],
    },
    /// The names in a folder that a wildcard include reads.
    Listing { folder: Vec<u8>, sha256: [u8; 32] },
    /// A time-zone file (`None`: it could not be read), and for
    /// `/etc/localtime` where it points, which names the zone.
    Zone {
        path: Vec<u8>,
        link: Option<Vec<u8>>,
        sha256: Option<[u8; 32]>,
    },
}

/// What deciding whether to use the snapshot needs, and the settings.
#[derive(Archive, Serialize)]
struct Record {
    /// The main policy file it was built from.
    policy: Vec<u8>,
    inputs: Vec<Input>,
    settings: SettingsImage,
}

/// What the rules share, and where they are. Names are numbers in `names`,
/// glob lists numbers in `globs`, and so on.
#[derive(Archive, Serialize)]
struct Tables {
    files: Vec<Vec<u8>>,
    names: Vec<String>,
    globs: Vec<Vec<String>>,
    options: Vec<OptionsImage>,
    subjects: Vec<SubjectsImage>,
    targets: Vec<TargetImage>,
    /// The index: rules for anyone, and by user and by group name, sorted
    /// by name; each list ascending.
    anyone: Vec<u32>,
    by_user: Vec<Listed>,
    by_group: Vec<Listed>,
    rules: Vec<RuleAt>,
}

#[derive(Archive, Serialize)]
struct Listed {
    name: String,
    rules: Vec<u32>,
}

/// Where a rule's archive stands after the tables, and its checksum.
#[derive(Archive, Serialize)]
struct RuleAt {
    offset: u64,
    length: u32,
    sum: u32,
}

#[derive(Archive, Serialize, Clone, Copy)]
struct DurationImage {
    secs: u64,
    nanos: u32,
}

#[derive(Archive, Serialize)]
enum LogFormatImage {
    Sudo,
    Json,
}

#[derive(Archive, Serialize)]
enum AuditImage {
    BestEffort,
    Required,
    Off,
}

#[derive(Archive, Serialize)]
struct SettingsImage {
    persist: DurationImage,
    persist_default: Option<DurationImage>,
    secure_path: Vec<Vec<u8>>,
    log_format: LogFormatImage,
    passwd_tries: u32,
    timezone_name: String,
    timezone_file: Option<Vec<u8>>,
    audit: AuditImage,
    env_keep: Vec<String>,
    editor: Option<String>,
    umask: u32,
}

#[derive(Archive, Serialize)]
enum EnvImage {
    Set(String, String),
    Unset(String),
    Keep(String),
}

#[derive(Archive, Serialize)]
enum ChdirImage {
    Any,
    Matching(String),
}

#[derive(Archive, Serialize)]
struct OptionsImage {
    nopass: bool,
    persist: Option<DurationImage>,
    keepenv: bool,
    setenv: Vec<EnvImage>,
    chdir: Option<ChdirImage>,
    nolog: bool,
}

/// Names are numbers in `Image::names`, glob lists numbers in `Image::globs`.
#[derive(Archive, Serialize)]
struct SubjectsImage {
    users: Vec<u32>,
    groups: Vec<u32>,
    anyone: bool,
}

#[derive(Archive, Serialize)]
enum NamesImage {
    Any,
    Some(Vec<u32>),
}

#[derive(Archive, Serialize)]
enum TargetImage {
    Groups(NamesImage),
    Users(NamesImage),
    UserAndGroup(NamesImage, NamesImage),
}

#[derive(Archive, Serialize)]
enum ActionImage {
    Permit,
    Deny,
    Grant,
}

#[derive(Archive, Serialize)]
struct RuleImage {
    action: ActionImage,
    file: u32,
    line: u32,
    text: String,
    options: u32,
    subjects: u32,
    target: u32,
    conditions: Option<ConditionsImage>,
    command: Option<CommandImage>,
}

#[derive(Archive, Serialize)]
struct ConditionsImage {
    hosts: Option<u32>,
    services: Option<Vec<u32>>,
    when: Option<WhenImage>,
    until: Option<UntilImage>,
}

/// Days as the bit set of `Days`, windows as minutes after midnight.
#[derive(Archive, Serialize)]
struct WhenImage {
    days: u8,
    ranges: Vec<(u16, u16)>,
    text: String,
}

#[derive(Archive, Serialize)]
struct UntilImage {
    second: i64,
    nanosecond: i32,
    text: String,
}

#[derive(Archive, Serialize)]
struct CommandImage {
    paths: u32,
    args: Option<(Vec<u32>, bool)>,
}

/// Why a snapshot could not be made of a policy.
#[derive(Debug)]
pub enum BuildError {
    /// The policy has errors (the diagnostics say which): there is nothing to store.
    Invalid(Box<Loaded>),
    /// rkyv could not write the archive.
    Encode(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Invalid(_) => f.write_str("the policy has errors"),
            BuildError::Encode(why) => write!(f, "cannot encode the snapshot: {why}"),
        }
    }
}

/// Why a snapshot is not used. Every one of them means: load the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    /// There is no snapshot.
    Missing,
    /// The snapshot file itself failed the checks of a policy file (owner,
    /// mode, symbolic link, folders), or could not be read.
    Unsafe(String),
    /// Shorter than its header, not a snapshot, or its archive does not validate.
    Corrupt(String),
    /// Written in another format version.
    OtherFormat(u32),
    /// Written by another build of newgate.
    OtherBuild,
    /// Built from another policy: this path is the main file it was built from.
    OtherPolicy(PathBuf),
    /// One of the inputs changed since (or no longer passes the checks).
    Stale(String),
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ignored::Missing => f.write_str("there is no snapshot"),
            Ignored::Unsafe(why) => write!(f, "the snapshot is not safe to use: {why}"),
            Ignored::Corrupt(why) => write!(f, "the snapshot is corrupt: {why}"),
            Ignored::OtherFormat(n) => write!(f, "the snapshot is in format {n}, this newgate reads format {FORMAT}"),
            Ignored::OtherBuild => f.write_str("the snapshot was written by another build of newgate"),
            Ignored::OtherPolicy(path) => write!(f, "the snapshot was built from {}", path.display()),
            Ignored::Stale(why) => write!(f, "the snapshot is out of date: {why}"),
        }
    }
}

/// Compiles the policy at `path` as the enforcing programs load it (every
/// file owned by root or `owner`), and returns it as a snapshot.
pub fn build(path: &Path, owner: u32) -> Result<Vec<u8>, BuildError> {
    let (loaded, inputs) = load_recording(path, owner);
    let Some(policy) = &loaded.policy else {
        return Err(BuildError::Invalid(Box::new(loaded)));
    };
    let encode = |e: rancor::Error| BuildError::Encode(e.to_string());
    let mut encoder = Encoder::default();
    let settings = encoder.settings(&policy.settings);
    let record = Record {
        policy: path_bytes(path),
        inputs,
        settings,
    };
    let mut rules = Vec::with_capacity(policy.rules.len());
    let mut at = Vec::with_capacity(policy.rules.len());
    let numbers: HashMap<&Path, u32> = policy
        .files
        .iter()
        .enumerate()
        .map(|(n, p)| (p.as_path(), n as u32))
        .collect();
    for rule in &policy.rules {
        // The compiler's locations are the policy's files.
        let file = numbers
            .get(&*rule.location.file)
            .ok_or_else(|| BuildError::Encode(format!("{} is not among the policy's files", rule.location)))?;
        let bytes = rkyv::to_bytes::<rancor::Error>(&encoder.rule(rule, *file)).map_err(encode)?;
        at.push(RuleAt {
            offset: rules.len() as u64,
            length: bytes.len() as u32,
            sum: checksum(&bytes),
        });
        rules.extend_from_slice(&bytes);
        rules.resize(padded(rules.len()), 0);
    }
    let tables = encoder.tables(policy, at);
    let record = rkyv::to_bytes::<rancor::Error>(&record).map_err(encode)?;
    let tables = rkyv::to_bytes::<rancor::Error>(&tables).map_err(encode)?;
    let mut bytes = Vec::with_capacity(HEADER_LEN + padded(record.len()) + padded(tables.len()) + rules.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT.to_le_bytes());
    bytes.resize(BUILD_AT, 0);
    bytes.extend_from_slice(&build_id());
    bytes.extend_from_slice(&(record.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&(tables.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&checksum(&record).to_le_bytes());
    bytes.extend_from_slice(&checksum(&tables).to_le_bytes());
    bytes.resize(HEADER_LEN, 0);
    bytes.extend_from_slice(&record);
    bytes.resize(HEADER_LEN + padded(record.len()), 0);
    bytes.extend_from_slice(&tables);
    bytes.resize(bytes.len() - tables.len() + padded(tables.len()), 0);
    bytes.extend_from_slice(&rules);
    Ok(bytes)
}

/// A snapshot that matches the disk: its settings, and the rules of any
/// requester on demand.
#[derive(Debug)]
pub struct Snapshot {
    file: File,
    /// The file's size when it was opened: no part is read past it.
    size: u64,
    settings: Settings,
    tables_at: u64,
    tables_length: u64,
    tables_sum: u32,
    rules_at: u64,
}

impl Snapshot {
    /// Opens the snapshot at `path`, which must be checked as a policy file
    /// is (owned by root or `owner`, not writable by group or other, not a
    /// symbolic link, in folders that pass the same checks up to `/`), and
    /// must hold a policy built by this build from the main file `policy`
    /// whose every input still matches the disk (checked as the loader
    /// checks, with files owned by root or `owner`).
    pub fn open(path: &Path, policy: &Path, owner: u32) -> Result<Snapshot, Ignored> {
        let file = open_checked(path, owner)?;
        let size = file.metadata().map_err(|_| short())?.len();
        let mut header = [0u8; HEADER_LEN];
        file.read_exact_at(&mut header, 0).map_err(|_| short())?;
        if &header[..MAGIC.len()] != MAGIC {
            return Err(Ignored::Corrupt("it does not start like a snapshot".into()));
        }
        let format = u32::from_le_bytes(header[16..20].try_into().expect("four bytes"));
        if format != FORMAT {
            return Err(Ignored::OtherFormat(format));
        }
        if header[BUILD_AT..LENGTHS_AT] != build_id() {
            return Err(Ignored::OtherBuild);
        }
        let length = |at: usize| u64::from_le_bytes(header[at..at + 8].try_into().expect("eight bytes"));
        let sum = |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().expect("four bytes"));
        let (record_length, tables_length) = (length(LENGTHS_AT), length(LENGTHS_AT + 8));
        if record_length > MAX_PART || tables_length > MAX_PART {
            return Err(corrupt("a part larger than any snapshot has"));
        }
        let record_bytes = read_part(&file, size, HEADER_LEN as u64, record_length, sum(SUMS_AT))?;
        let record = rkyv::access::<ArchivedRecord, rancor::Error>(&record_bytes)
            .map_err(|e| Ignored::Corrupt(e.to_string()))?;
        if record.policy.as_slice() != policy.as_os_str().as_bytes() {
            return Err(Ignored::OtherPolicy(PathBuf::from(OsStr::from_bytes(&record.policy))));
        }
        let inputs: Vec<Input> = record
            .inputs
            .iter()
            .map(rkyv::deserialize::<Input, rancor::Error>)
            .collect::<Result<_, _>>()
            .map_err(|e| Ignored::Corrupt(e.to_string()))?;
        let zones = verify_inputs(&inputs, owner).map_err(Ignored::Stale)?;
        let settings = settings(&record.settings, &zones).map_err(Ignored::Corrupt)?;
        let tables_at = (HEADER_LEN + padded(record_length as usize)) as u64;
        Ok(Snapshot {
            file,
            size,
            settings,
            tables_at,
            tables_length,
            tables_sum: sum(SUMS_AT + 4),
            rules_at: tables_at + padded(tables_length as usize) as u64,
        })
    }

    /// The policy's settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The policy for requests of `user`, a member of `groups`: every rule
    /// that concerns them, read from the snapshot, deciding as the whole
    /// policy would (and denying anyone else).
    pub fn policy_for(&self, user: &str, groups: &[String]) -> Result<Policy, Ignored> {
        let bytes = read_part(
            &self.file,
            self.size,
            self.tables_at,
            self.tables_length,
            self.tables_sum,
        )?;
        let tables =
            rkyv::access::<ArchivedTables, rancor::Error>(&bytes).map_err(|e| Ignored::Corrupt(e.to_string()))?;
        let mut wanted: Vec<u32> = tables.anyone.iter().map(|n| n.to_native()).collect();
        let mut add = |lists: &ArchivedVec<ArchivedListed>, name: &str| {
            if let Ok(found) = lists.binary_search_by(|l| l.name.as_str().cmp(name)) {
                wanted.extend(lists[found].rules.iter().map(|n| n.to_native()));
            }
        };
        add(&tables.by_user, user);
        for group in groups {
            add(&tables.by_group, group);
        }
        wanted.sort_unstable();
        wanted.dedup();
        let mut decoder = Decoder::new(tables);
        let mut rules = Vec::with_capacity(wanted.len());
        for number in wanted {
            let at = tables
                .rules
                .get(number as usize)
                .ok_or_else(|| corrupt("a rule out of range"))?;
            let length = at.length.to_native() as u64;
            let start = self
                .rules_at
                .checked_add(at.offset.to_native())
                .ok_or_else(|| corrupt("a rule out of range"))?;
            if length > MAX_PART {
                return Err(corrupt("a rule too large"));
            }
            within(self.size, start, length)?;
            let mut rule = AlignedVec::<16>::with_capacity(length as usize);
            rule.resize(length as usize, 0);
            self.file.read_exact_at(&mut rule, start).map_err(|_| short())?;
            if checksum(&rule) != at.sum.to_native() {
                return Err(corrupt("a rule's checksum does not match (damaged)"));
            }
            let image =
                rkyv::access::<ArchivedRuleImage, rancor::Error>(&rule).map_err(|e| Ignored::Corrupt(e.to_string()))?;
            rules.push(decoder.rule(image).map_err(corrupt)?);
        }
        let files = decoder.files.iter().map(|f| f.to_path_buf()).collect();
        Ok(Policy {
            settings: self.settings.clone(),
            index: Index::build(&rules),
            rules,
            files,
            scope: Some(Scope {
                user: user.to_string(),
                groups: groups.to_vec(),
            }),
        })
    }
}

fn short() -> Ignored {
    Ignored::Corrupt("it is shorter than its header says (truncated)".into())
}

fn corrupt(why: &str) -> Ignored {
    Ignored::Corrupt(why.into())
}

/// One archive of the file, read, checked against its sum, aligned for rkyv.
/// Checks that `length` bytes at `at` lie inside a file of `size` bytes,
/// before anything is allocated for them: a damaged length in the header
/// must not make every login allocate hundreds of MiB.
fn within(size: u64, at: u64, length: u64) -> Result<(), Ignored> {
    match at.checked_add(length) {
        Some(end) if end <= size => Ok(()),
        _ => Err(short()),
    }
}

fn read_part(file: &File, size: u64, at: u64, length: u64, sum: u32) -> Result<AlignedVec<16>, Ignored> {
    if length > MAX_PART {
        return Err(corrupt("a part larger than any snapshot has"));
    }
    within(size, at, length)?;
    let mut bytes = AlignedVec::<16>::with_capacity(length as usize);
    bytes.resize(length as usize, 0);
    file.read_exact_at(&mut bytes, at).map_err(|_| short())?;
    if checksum(&bytes) != sum {
        return Err(corrupt("its checksum does not match (damaged or truncated)"));
    }
    Ok(bytes)
}

/// Numbers the shared parts of a policy: each distinct name, glob list,
/// options, subjects and target once, as the compiler shares them.
#[derive(Default)]
struct Encoder {
    names: HashMap<Name, u32>,
    globs: HashMap<*const Glob, u32>,
    options: HashMap<*const Options, u32>,
    subjects: HashMap<*const Subjects, u32>,
    targets: HashMap<*const Target, u32>,
    image_names: Vec<String>,
    image_globs: Vec<Vec<String>>,
    image_options: Vec<OptionsImage>,
    image_subjects: Vec<SubjectsImage>,
    image_targets: Vec<TargetImage>,
}

fn duration(d: Duration) -> DurationImage {
    DurationImage {
        secs: d.as_secs(),
        nanos: d.subsec_nanos(),
    }
}

fn path_bytes(path: &Path) -> Vec<u8> {
    path.as_os_str().as_bytes().to_vec()
}

impl Encoder {
    fn settings(&mut self, s: &Settings) -> SettingsImage {
        SettingsImage {
            persist: duration(s.persist),
            persist_default: s.persist_default.map(duration),
            secure_path: s.secure_path.iter().map(|p| path_bytes(p)).collect(),
            log_format: match s.log_format {
                LogFormat::Sudo => LogFormatImage::Sudo,
                LogFormat::Json => LogFormatImage::Json,
            },
            passwd_tries: s.passwd_tries,
            timezone_name: s.timezone_name.clone(),
            timezone_file: s.timezone_file.as_deref().map(path_bytes),
            audit: match s.audit {
                Audit::BestEffort => AuditImage::BestEffort,
                Audit::Required => AuditImage::Required,
                Audit::Off => AuditImage::Off,
            },
            env_keep: s.env_keep.clone(),
            editor: s.editor.clone(),
            umask: s.umask,
        }
    }

    fn tables(self, policy: &Policy, rules: Vec<RuleAt>) -> Tables {
        let listed = |map: &HashMap<Name, Vec<u32>>| {
            let mut lists: Vec<Listed> = map
                .iter()
                .map(|(name, rules)| Listed {
                    name: name.to_string(),
                    rules: rules.clone(),
                })
                .collect();
            lists.sort_unstable_by(|a, b| a.name.cmp(&b.name));
            lists
        };
        Tables {
            files: policy.files.iter().map(|p| path_bytes(p)).collect(),
            names: self.image_names,
            globs: self.image_globs,
            options: self.image_options,
            subjects: self.image_subjects,
            targets: self.image_targets,
            anyone: policy.index.anyone.clone(),
            by_user: listed(&policy.index.by_user),
            by_group: listed(&policy.index.by_group),
            rules,
        }
    }

    fn rule(&mut self, rule: &Rule, file: u32) -> RuleImage {
        RuleImage {
            action: match rule.action {
                Action::Permit => ActionImage::Permit,
                Action::Deny => ActionImage::Deny,
                Action::Grant => ActionImage::Grant,
            },
            file,
            line: rule.location.line,
            text: rule.text.clone(),
            options: self.options(&rule.options),
            subjects: self.subjects(&rule.subjects),
            target: self.target(&rule.target),
            conditions: rule.conditions.as_deref().map(|c| ConditionsImage {
                hosts: c.hosts.as_ref().map(|g| self.globs(g)),
                services: c.services.as_ref().map(|s| self.names(s)),
                when: c.when.as_ref().map(|(when, text)| WhenImage {
                    days: when.days.bits(),
                    ranges: when.ranges.iter().map(|r| r.minutes()).collect(),
                    text: text.clone(),
                }),
                until: c.until.as_ref().map(|(at, text)| UntilImage {
                    second: at.as_second(),
                    nanosecond: at.subsec_nanosecond(),
                    text: text.clone(),
                }),
            }),
            command: rule.command.as_ref().map(|c| CommandImage {
                paths: self.globs(&c.paths),
                args: c.args.as_ref().map(|a| (self.names(&a.exact), a.rest)),
            }),
        }
    }

    fn name(&mut self, name: &Name) -> u32 {
        if let Some(&n) = self.names.get(name) {
            return n;
        }
        let n = self.image_names.len() as u32;
        self.image_names.push(name.to_string());
        self.names.insert(name.clone(), n);
        n
    }

    fn names(&mut self, names: &[Name]) -> Vec<u32> {
        names.iter().map(|n| self.name(n)).collect()
    }

    fn name_list(&mut self, names: &Names) -> NamesImage {
        match names {
            Names::Any => NamesImage::Any,
            Names::Some(list) => NamesImage::Some(self.names(list)),
        }
    }

    fn globs(&mut self, globs: &Globs) -> u32 {
        let key = globs.as_ptr();
        if let Some(&n) = self.globs.get(&key) {
            return n;
        }
        let n = self.image_globs.len() as u32;
        self.image_globs
            .push(globs.iter().map(|g| g.as_str().to_string()).collect());
        self.globs.insert(key, n);
        n
    }

    fn options(&mut self, options: &Arc<Options>) -> u32 {
        let key = Arc::as_ptr(options);
        if let Some(&n) = self.options.get(&key) {
            return n;
        }
        let n = self.image_options.len() as u32;
        self.image_options.push(OptionsImage {
            nopass: options.nopass,
            persist: options.persist.map(duration),
            keepenv: options.keepenv,
            setenv: options
                .setenv
                .iter()
                .map(|c| match c {
                    EnvChange::Set(n, v) => EnvImage::Set(n.clone(), v.clone()),
                    EnvChange::Unset(n) => EnvImage::Unset(n.clone()),
                    EnvChange::Keep(n) => EnvImage::Keep(n.clone()),
                })
                .collect(),
            chdir: options.chdir.as_ref().map(|c| match c {
                Chdir::Any => ChdirImage::Any,
                Chdir::Matching(p) => ChdirImage::Matching(p.clone()),
            }),
            nolog: options.nolog,
        });
        self.options.insert(key, n);
        n
    }

    fn subjects(&mut self, subjects: &Arc<Subjects>) -> u32 {
        let key = Arc::as_ptr(subjects);
        if let Some(&n) = self.subjects.get(&key) {
            return n;
        }
        let image = SubjectsImage {
            users: self.names(&subjects.users),
            groups: self.names(&subjects.groups),
            anyone: subjects.anyone,
        };
        let n = self.image_subjects.len() as u32;
        self.image_subjects.push(image);
        self.subjects.insert(key, n);
        n
    }

    fn target(&mut self, target: &Arc<Target>) -> u32 {
        let key = Arc::as_ptr(target);
        if let Some(&n) = self.targets.get(&key) {
            return n;
        }
        let image = match &**target {
            Target::Groups(g) => TargetImage::Groups(self.name_list(g)),
            Target::Users(u) => TargetImage::Users(self.name_list(u)),
            Target::UserAndGroup(u, g) => TargetImage::UserAndGroup(self.name_list(u), self.name_list(g)),
        };
        let n = self.image_targets.len() as u32;
        self.image_targets.push(image);
        self.targets.insert(key, n);
        n
    }
}

/// Decodes the rules of one requester, each shared part once, as the
/// compiler shares them. Any number out of range, or value the compiler
/// never makes, is corruption.
struct Decoder<'t> {
    tables: &'t ArchivedTables,
    files: Vec<Arc<Path>>,
    names: Vec<Option<Name>>,
    globs: Vec<Option<Globs>>,
    options: Vec<Option<Arc<Options>>>,
    subjects: Vec<Option<Arc<Subjects>>>,
    targets: Vec<Option<Arc<Target>>>,
}

/// The shared part numbered `n` of `table`, decoded by `make` the first time.
fn shared<T: Clone, A>(
    cache: &mut [Option<T>],
    table: &[A],
    n: &u32_le,
    make: impl FnOnce(&A) -> Result<T, &'static str>,
) -> Result<T, &'static str> {
    let n = n.to_native() as usize;
    let slot = cache.get_mut(n).ok_or("a shared part out of range")?;
    if let Some(made) = slot {
        return Ok(made.clone());
    }
    let made = make(table.get(n).ok_or("a shared part out of range")?)?;
    *slot = Some(made.clone());
    Ok(made)
}

impl<'t> Decoder<'t> {
    fn new(tables: &'t ArchivedTables) -> Decoder<'t> {
        Decoder {
            tables,
            files: tables
                .files
                .iter()
                .map(|f| Arc::from(Path::new(OsStr::from_bytes(f))))
                .collect(),
            names: vec![None; tables.names.len()],
            globs: vec![None; tables.globs.len()],
            options: vec![None; tables.options.len()],
            subjects: vec![None; tables.subjects.len()],
            targets: vec![None; tables.targets.len()],
        }
    }

    fn name(&mut self, n: &u32_le) -> Result<Name, &'static str> {
        shared(&mut self.names, &self.tables.names, n, |s| Ok(Name::from(s.as_str())))
    }

    fn name_list(&mut self, list: &ArchivedVec<u32_le>) -> Result<Vec<Name>, &'static str> {
        list.iter().map(|n| self.name(n)).collect()
    }

    fn names_of(&mut self, names: &ArchivedNamesImage) -> Result<Names, &'static str> {
        Ok(match names {
            ArchivedNamesImage::Any => Names::Any,
            ArchivedNamesImage::Some(list) => Names::Some(self.name_list(list)?),
        })
    }

    fn globs(&mut self, n: &u32_le) -> Result<Globs, &'static str> {
        shared(&mut self.globs, &self.tables.globs, n, |list| {
            list.iter()
                .map(|g| Glob::new(g.as_str()))
                .collect::<Result<Vec<Glob>, String>>()
                .map(Globs::from)
                .map_err(|_| "a pattern that does not compile")
        })
    }

    fn rule(&mut self, r: &ArchivedRuleImage) -> Result<Rule, &'static str> {
        let tables = self.tables;
        let options = shared(&mut self.options, &tables.options, &r.options, |o| {
            Ok(Arc::new(options(o)?))
        })?;
        let subjects = match self.subjects.get(r.subjects.to_native() as usize) {
            Some(Some(made)) => made.clone(),
            _ => {
                let image = tables
                    .subjects
                    .get(r.subjects.to_native() as usize)
                    .ok_or("subjects out of range")?;
                let made = Arc::new(Subjects {
                    users: self.name_list(&image.users)?,
                    groups: self.name_list(&image.groups)?,
                    anyone: image.anyone,
                });
                self.subjects[r.subjects.to_native() as usize] = Some(made.clone());
                made
            }
        };
        let target = match self.targets.get(r.target.to_native() as usize) {
            Some(Some(made)) => made.clone(),
            _ => {
                let image = tables
                    .targets
                    .get(r.target.to_native() as usize)
                    .ok_or("a target out of range")?;
                let made = Arc::new(match image {
                    ArchivedTargetImage::Groups(g) => Target::Groups(self.names_of(g)?),
                    ArchivedTargetImage::Users(u) => Target::Users(self.names_of(u)?),
                    ArchivedTargetImage::UserAndGroup(u, g) => {
                        Target::UserAndGroup(self.names_of(u)?, self.names_of(g)?)
                    }
                });
                self.targets[r.target.to_native() as usize] = Some(made.clone());
                made
            }
        };
        let conditions = match r.conditions.as_ref() {
            None => None,
            Some(c) => Some(Box::new(Conditions {
                hosts: c.hosts.as_ref().map(|n| self.globs(n)).transpose()?,
                services: c.services.as_ref().map(|s| self.name_list(s)).transpose()?,
                when: match c.when.as_ref() {
                    None => None,
                    Some(w) => {
                        let ranges = w
                            .ranges
                            .iter()
                            .map(|r| TimeRange::from_minutes(r.0.to_native(), r.1.to_native()))
                            .collect::<Option<Vec<TimeRange>>>()
                            .ok_or("a time window out of range")?;
                        let days = Days::from_bits(w.days).ok_or("days out of range")?;
                        Some((When { days, ranges }, w.text.to_string()))
                    }
                },
                until: match c.until.as_ref() {
                    None => None,
                    Some(u) => Some((
                        Timestamp::new(u.second.to_native(), u.nanosecond.to_native())
                            .map_err(|_| "a time out of range")?,
                        u.text.to_string(),
                    )),
                },
            })),
        };
        let command = match r.command.as_ref() {
            None => None,
            Some(c) => Some(CommandMatch {
                paths: self.globs(&c.paths)?,
                args: match c.args.as_ref() {
                    None => None,
                    Some(a) => Some(ArgsMatch {
                        exact: self.name_list(&a.0)?,
                        rest: a.1,
                    }),
                },
            }),
        };
        Ok(Rule {
            action: match r.action {
                ArchivedActionImage::Permit => Action::Permit,
                ArchivedActionImage::Deny => Action::Deny,
                ArchivedActionImage::Grant => Action::Grant,
            },
            location: Location {
                file: self
                    .files
                    .get(r.file.to_native() as usize)
                    .cloned()
                    .ok_or("a file out of range")?,
                line: r.line.to_native(),
            },
            text: r.text.to_string(),
            options,
            subjects,
            target,
            conditions,
            command,
        })
    }
}

/// A duration as stored; nanoseconds past a second (which would make
/// `Duration::new` panic, inside sshd or su for pam_newgate) are damage.
fn time(d: &ArchivedDurationImage) -> Result<Duration, &'static str> {
    let nanos = d.nanos.to_native();
    if nanos >= 1_000_000_000 {
        return Err("a duration out of range");
    }
    Ok(Duration::new(d.secs.to_native(), nanos))
}

fn options(o: &ArchivedOptionsImage) -> Result<Options, &'static str> {
    Ok(Options {
        nopass: o.nopass,
        persist: o.persist.as_ref().map(time).transpose()?,
        keepenv: o.keepenv,
        setenv: o
            .setenv
            .iter()
            .map(|c| match c {
                ArchivedEnvImage::Set(n, v) => EnvChange::Set(n.to_string(), v.to_string()),
                ArchivedEnvImage::Unset(n) => EnvChange::Unset(n.to_string()),
                ArchivedEnvImage::Keep(n) => EnvChange::Keep(n.to_string()),
            })
            .collect(),
        chdir: o.chdir.as_ref().map(|c| match c {
            ArchivedChdirImage::Any => Chdir::Any,
            ArchivedChdirImage::Matching(p) => Chdir::Matching(p.to_string()),
        }),
        nolog: o.nolog,
    })
}

fn settings(s: &ArchivedSettingsImage, zones: &[ZoneFile]) -> Result<Settings, String> {
    let name = s.timezone_name.to_string();
    let timezone = match s.timezone_file.as_ref() {
        None => TimeZone::UTC,
        Some(file) => {
            let (_, bytes) = zones
                .iter()
                .find(|(path, _)| path.as_slice() == file.as_slice())
                .ok_or("the time zone's file is not among the inputs")?;
            TimeZone::tzif(&name, bytes).map_err(|e| e.to_string())?
        }
    };
    Ok(Settings {
        persist: time(&s.persist)?,
        persist_default: s.persist_default.as_ref().map(time).transpose()?,
        secure_path: s
            .secure_path
            .iter()
            .map(|p| PathBuf::from(OsStr::from_bytes(p)))
            .collect(),
        log_format: match s.log_format {
            ArchivedLogFormatImage::Sudo => LogFormat::Sudo,
            ArchivedLogFormatImage::Json => LogFormat::Json,
        },
        passwd_tries: s.passwd_tries.to_native(),
        timezone,
        timezone_name: name,
        timezone_file: s.timezone_file.as_ref().map(|f| PathBuf::from(OsStr::from_bytes(f))),
        audit: match s.audit {
            ArchivedAuditImage::BestEffort => Audit::BestEffort,
            ArchivedAuditImage::Required => Audit::Required,
            ArchivedAuditImage::Off => Audit::Off,
        },
        env_keep: s.env_keep.iter().map(|e| e.to_string()).collect(),
        editor: s.editor.as_ref().map(|e| e.to_string()),
        umask: s.umask.to_native(),
    })
}
