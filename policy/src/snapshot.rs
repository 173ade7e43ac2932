//! The compiled snapshot: a stored form of a compiled [`Policy`], with the
//! record of every input it was compiled from, so that the enforcing
//! programs can skip parsing when (and only when) nothing changed.
//!
//! The bytes are a fixed header (a magic string, the format version and the
//! build identity of this crate) followed by an rkyv archive, which is
//! validated with bytecheck before any of it is read. A snapshot that does
//! not validate, comes from another format or build, or whose inputs differ
//! from the disk in any way is ignored: the caller loads the source.
//!
//! Decisions are made by the same [`Policy::decide`] whichever way the policy
//! was loaded: decoding builds the very same `Policy` the compiler builds.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use rkyv::rancor;
use rkyv::util::AlignedVec;
use rkyv::{Archive, Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::glob::Glob;
use crate::load::{Loaded, ZoneFile, load_recording, verify_inputs};
use crate::policy::{
    Action, ArgsMatch, Audit, Chdir, CommandMatch, Conditions, EnvChange, Globs, Index, Location, LogFormat, Name,
    Names, Options, Policy, Rule, Settings, Subjects, Target,
};
use crate::time::{Days, TimeRange, When};

/// The version of the layout below; bumped with every change to it (the
/// build identity changes too, but this says why in `--status`).
pub const FORMAT: u32 = 1;
const MAGIC: &[u8; 16] = b"newgate-snapshot";
/// The header: magic, format (little-endian u32), 12 bytes of zeros, the
/// build identity (32 bytes), the SHA-256 of the archive (32 bytes); the
/// archive starts aligned after it.
pub const HEADER_LEN: usize = 96;
/// Where the build identity stands in the header.
pub const BUILD_AT: usize = 32;
/// Where the archive's checksum stands: bytes that validate can still be
/// damaged ones (a flipped bit in a name), and would decide otherwise.
pub const SUM_AT: usize = 64;
/// The largest snapshot read: four times the largest policy the loader reads.
pub const MAX_SNAPSHOT_SIZE: u64 = 256 << 20;

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

#[derive(Archive, Serialize)]
struct Image {
    inputs: Vec<Input>,
    settings: SettingsImage,
    files: Vec<Vec<u8>>,
    names: Vec<String>,
    globs: Vec<Vec<String>>,
    options: Vec<OptionsImage>,
    subjects: Vec<SubjectsImage>,
    targets: Vec<TargetImage>,
    rules: Vec<RuleImage>,
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
    let image = Encoder::default().image(policy, inputs).map_err(BuildError::Encode)?;
    let archive = rkyv::to_bytes::<rancor::Error>(&image).map_err(|e| BuildError::Encode(e.to_string()))?;
    let mut bytes = Vec::with_capacity(HEADER_LEN + archive.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT.to_le_bytes());
    bytes.resize(BUILD_AT, 0);
    bytes.extend_from_slice(&build_id());
    bytes.extend_from_slice(&sha256(&archive));
    bytes.extend_from_slice(&archive);
    Ok(bytes)
}

/// Reads a snapshot file, checked as a policy file is (owned by root or
/// `owner`, not writable by group or other, not a symbolic link, in folders
/// that pass the same checks up to `/`).
pub fn read(path: &Path, owner: u32) -> Result<AlignedVec<16>, Ignored> {
    crate::load::read_checked(path, owner, MAX_SNAPSHOT_SIZE)
}

/// The policy a snapshot holds, when it holds a policy built by this build
/// from the main file `policy` and every input still matches the disk
/// (checked as the loader checks, with files owned by root or `owner`).
pub fn open(bytes: &[u8], policy: &Path, owner: u32) -> Result<Policy, Ignored> {
    let archive = header(bytes)?;
    // What `read` returns is aligned, and so is the archive after the header;
    // other bytes are copied to where rkyv can read them.
    let copy;
    let archive = if archive.as_ptr().align_offset(16) == 0 {
        archive
    } else {
        let mut aligned = AlignedVec::<16>::with_capacity(archive.len());
        aligned.extend_from_slice(archive);
        copy = aligned;
        &copy[..]
    };
    let image = rkyv::access::<ArchivedImage, rancor::Error>(archive).map_err(|e| Ignored::Corrupt(e.to_string()))?;
    let main = image.files.first().map(|f| PathBuf::from(OsStr::from_bytes(f)));
    if main.as_deref() != Some(policy) {
        return Err(Ignored::OtherPolicy(main.unwrap_or_default()));
    }
    let inputs: Vec<Input> = image
        .inputs
        .iter()
        .map(rkyv::deserialize::<Input, rancor::Error>)
        .collect::<Result<_, _>>()
        .map_err(|e| Ignored::Corrupt(e.to_string()))?;
    let zones = verify_inputs(&inputs, owner).map_err(Ignored::Stale)?;
    decode(image, &zones).map_err(Ignored::Corrupt)
}

/// The archive after a header of this format and build.
fn header(bytes: &[u8]) -> Result<&[u8], Ignored> {
    if bytes.len() < HEADER_LEN || &bytes[..MAGIC.len()] != MAGIC {
        return Err(Ignored::Corrupt("it does not start like a snapshot".into()));
    }
    let format = u32::from_le_bytes(bytes[16..20].try_into().expect("four bytes"));
    if format != FORMAT {
        return Err(Ignored::OtherFormat(format));
    }
    if bytes[BUILD_AT..SUM_AT] != build_id() {
        return Err(Ignored::OtherBuild);
    }
    let archive = &bytes[HEADER_LEN..];
    if bytes[SUM_AT..HEADER_LEN] != sha256(archive) {
        return Err(Ignored::Corrupt(
            "its checksum does not match (damaged or truncated)".into(),
        ));
    }
    Ok(archive)
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
    fn image(mut self, policy: &Policy, inputs: Vec<Input>) -> Result<Image, String> {
        let s = &policy.settings;
        let settings = SettingsImage {
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
        };
        let files: Vec<Vec<u8>> = policy.files.iter().map(|p| path_bytes(p)).collect();
        let numbers: HashMap<&Path, u32> = policy
            .files
            .iter()
            .enumerate()
            .map(|(n, p)| (p.as_path(), n as u32))
            .collect();
        let rules = policy
            .rules
            .iter()
            .map(|rule| {
                // The compiler's locations are the policy's files.
                let number = numbers
                    .get(&*rule.location.file)
                    .ok_or_else(|| format!("{} is not among the policy's files", rule.location))?;
                Ok(self.rule(rule, *number))
            })
            .collect::<Result<Vec<RuleImage>, String>>()?;
        Ok(Image {
            inputs,
            settings,
            files,
            names: self.image_names,
            globs: self.image_globs,
            options: self.image_options,
            subjects: self.image_subjects,
            targets: self.image_targets,
            rules,
        })
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

/// Builds the `Policy` an archive holds; `zones` are the time-zone files
/// read (and matched) while checking the inputs. Any number out of range or
/// value the compiler never makes is corruption.
fn decode(image: &ArchivedImage, zones: &[ZoneFile]) -> Result<Policy, String> {
    let names: Vec<Name> = image.names.iter().map(|n| Name::from(n.as_str())).collect();
    let globs = image
        .globs
        .iter()
        .map(|list| {
            list.iter()
                .map(|g| Glob::new(g.as_str()))
                .collect::<Result<Vec<Glob>, String>>()
                .map(Globs::from)
        })
        .collect::<Result<Vec<Globs>, String>>()?;
    let files: Vec<Arc<Path>> = image
        .files
        .iter()
        .map(|f| Arc::from(Path::new(OsStr::from_bytes(f))))
        .collect();
    let name = |n: &rkyv::rend::u32_le| names.get(n.to_native() as usize).cloned().ok_or("a name out of range");
    let name_list =
        |list: &rkyv::vec::ArchivedVec<rkyv::rend::u32_le>| list.iter().map(name).collect::<Result<Vec<Name>, _>>();
    let names_of = |n: &ArchivedNamesImage| -> Result<Names, &str> {
        Ok(match n {
            ArchivedNamesImage::Any => Names::Any,
            ArchivedNamesImage::Some(list) => Names::Some(name_list(list)?),
        })
    };
    let options = image
        .options
        .iter()
        .map(|o| Arc::new(options(o)))
        .collect::<Vec<Arc<Options>>>();
    let subjects = image
        .subjects
        .iter()
        .map(|s| {
            Ok(Arc::new(Subjects {
                users: name_list(&s.users)?,
                groups: name_list(&s.groups)?,
                anyone: s.anyone,
            }))
        })
        .collect::<Result<Vec<Arc<Subjects>>, &str>>()?;
    let targets = image
        .targets
        .iter()
        .map(|t| {
            Ok(Arc::new(match t {
                ArchivedTargetImage::Groups(g) => Target::Groups(names_of(g)?),
                ArchivedTargetImage::Users(u) => Target::Users(names_of(u)?),
                ArchivedTargetImage::UserAndGroup(u, g) => Target::UserAndGroup(names_of(u)?, names_of(g)?),
            }))
        })
        .collect::<Result<Vec<Arc<Target>>, &str>>()?;
    let pick = |n: &rkyv::rend::u32_le| n.to_native() as usize;
    let glob = |n: &rkyv::rend::u32_le| globs.get(pick(n)).cloned().ok_or("a glob list out of range");
    let mut rules = Vec::with_capacity(image.rules.len());
    for r in image.rules.iter() {
        let conditions = match r.conditions.as_ref() {
            None => None,
            Some(c) => Some(Box::new(Conditions {
                hosts: c.hosts.as_ref().map(glob).transpose()?,
                services: c.services.as_ref().map(name_list).transpose()?,
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
                        Timestamp::new(u.second.to_native(), u.nanosecond.to_native()).map_err(|e| e.to_string())?,
                        u.text.to_string(),
                    )),
                },
            })),
        };
        let command = match r.command.as_ref() {
            None => None,
            Some(c) => Some(CommandMatch {
                paths: glob(&c.paths)?,
                args: match c.args.as_ref() {
                    None => None,
                    Some(a) => Some(ArgsMatch {
                        exact: name_list(&a.0)?,
                        rest: a.1,
                    }),
                },
            }),
        };
        rules.push(Rule {
            action: match r.action {
                ArchivedActionImage::Permit => Action::Permit,
                ArchivedActionImage::Deny => Action::Deny,
                ArchivedActionImage::Grant => Action::Grant,
            },
            location: Location {
                file: files.get(pick(&r.file)).cloned().ok_or("a file out of range")?,
                line: r.line.to_native(),
            },
            text: r.text.to_string(),
            options: options.get(pick(&r.options)).cloned().ok_or("options out of range")?,
            subjects: subjects
                .get(pick(&r.subjects))
                .cloned()
                .ok_or("subjects out of range")?,
            target: targets.get(pick(&r.target)).cloned().ok_or("a target out of range")?,
            conditions,
            command,
        });
    }
    let index = Index::build(&rules);
    let settings = settings(&image.settings, zones)?;
    Ok(Policy {
        settings,
        rules,
        index,
        files: files.iter().map(|f| f.to_path_buf()).collect(),
    })
}

fn time(d: &ArchivedDurationImage) -> Duration {
    Duration::new(d.secs.to_native(), d.nanos.to_native())
}

fn options(o: &ArchivedOptionsImage) -> Options {
    Options {
        nopass: o.nopass,
        persist: o.persist.as_ref().map(time),
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
    }
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
        persist: time(&s.persist),
        persist_default: s.persist_default.as_ref().map(time),
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
