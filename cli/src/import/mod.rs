//! Converting a sudoers file or a doas.conf into a newgate policy, with a
//! report of what could not be carried over (docs/migration.md). The
//! converted policy permits at most what the source did; where a construct
//! cannot be carried over faithfully it permits less and the report says so.
//! `newgatectl import` writes the results; the `import_sudoers` and
//! `import_doas` fuzz targets check that any source either is refused with a
//! reason or converts into a policy that loads.

mod doas;
mod output;
mod sudoers;

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use newgate_policy::MAX_FILE_SIZE;

pub use output::{Item, Report};

/// The formats `newgatectl import` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Sudoers,
    Doas,
}

impl Format {
    /// The name the converted policy's header and the report give the format.
    pub fn label(self) -> &'static str {
        match self {
            Format::Sudoers => "sudoers",
            Format::Doas => "doas.conf",
        }
    }

    /// Where the format's file is when no file is named.
    pub fn default_path(self) -> &'static Path {
        Path::new(match self {
            Format::Sudoers => "/etc/sudoers",
            Format::Doas => "/etc/doas.conf",
        })
    }
}

/// A converted source: the policy text, laid out and checked to load, and
/// what was not carried over.
#[derive(Debug)]
pub struct Converted {
    pub policy: String,
    pub report: Report,
}

/// Converts the file at `source` (and, for sudoers, the files it includes).
pub fn convert(format: Format, source: &Path) -> Result<Converted, SourceError> {
    let (mut draft, mut report) = match format {
        Format::Sudoers => sudoers::convert(source)?,
        Format::Doas => doas::convert(source)?,
    };
    let policy = output::render(format.label(), source, &mut draft, &mut report)?;
    Ok(Converted { policy, report })
}

/// Why a source cannot be converted at all: nothing is written.
#[derive(Debug)]
pub enum SourceError {
    Read(PathBuf, std::io::Error),
    TooLarge(PathBuf),
    NotText(PathBuf, String),
    Syntax {
        file: PathBuf,
        line: usize,
        message: String,
    },
    Include {
        file: PathBuf,
        line: usize,
        message: String,
    },
    /// A rule or an alias newgate cannot hold: leaving it out could permit more.
    Unrepresentable {
        file: PathBuf,
        line: usize,
        message: String,
    },
    /// The converted policy does not load: a bug of the converter.
    Invalid(String),
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceError::Read(path, e) => write!(f, "cannot read {}: {e}", path.display()),
            SourceError::TooLarge(path) => write!(
                f,
                "{} is larger than {} MiB; it is not a configuration file",
                path.display(),
                MAX_FILE_SIZE >> 20
            ),
            SourceError::NotText(path, why) => write!(f, "{} is not a text file: {why}", path.display()),
            SourceError::Syntax { file, line, message } => write!(f, "{}:{line}: {message}", file.display()),
            SourceError::Include { file, line, message } | SourceError::Unrepresentable { file, line, message } => {
                write!(f, "{}:{line}: {message}", file.display())
            }
            SourceError::Invalid(message) => write!(
                f,
                "the converted policy does not load, so it is not written (a bug of the converter):\n{message}"
            ),
        }
    }
}

/// A source file's text: at most [`MAX_FILE_SIZE`] bytes of UTF-8 without NUL bytes.
fn read_source(path: &Path) -> Result<String, SourceError> {
    let file = File::open(path).map_err(|e| SourceError::Read(path.to_path_buf(), e))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| SourceError::Read(path.to_path_buf(), e))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(SourceError::TooLarge(path.to_path_buf()));
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(SourceError::NotText(
            path.to_path_buf(),
            format!("a NUL byte at offset {at}"),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        SourceError::NotText(
            path.to_path_buf(),
            format!("invalid UTF-8 at offset {}", e.utf8_error().valid_up_to()),
        )
    })
}
