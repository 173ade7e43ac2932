//! Finding a command's program the way the policy matches it: through
//! `secure_path`, never through the caller's `PATH`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Why a command could not be resolved; the runner maps these to 127 and 126.
#[derive(Debug, PartialEq, Eq)]
pub enum ResolveError {
    NotFound(String),
    NotExecutable(PathBuf),
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResolveError::NotFound(name) if name.contains('/') => write!(f, "{name}: no such command"),
            ResolveError::NotFound(name) => write!(f, "{name}: command not found in secure_path"),
            ResolveError::NotExecutable(path) => {
                write!(f, "{}: not an executable file", path.display())
            }
        }
    }
}

/// Resolves `name` to an absolute path: a name with a `/` is taken as it is
/// (made absolute against `cwd`), any other is searched in `secure_path`.
/// The folder is resolved to its real path (no symlink or `..` left in it),
/// while the file name stays as found, so that `/usr/bin/psql` is still
/// `psql` even where it is a symlink to a wrapper.
pub fn resolve_command(name: &str, secure_path: &[PathBuf], cwd: &Path) -> Result<PathBuf, ResolveError> {
    if name.is_empty() {
        return Err(ResolveError::NotFound(name.into()));
    }
    if name.contains('/') {
        let path = cwd.join(name);
        return executable(&path).ok_or_else(|| classify(&path, name));
    }
    for folder in secure_path {
        if let Some(found) = executable(&folder.join(name)) {
            return Ok(found);
        }
    }
    match secure_path.iter().map(|f| f.join(name)).find(|p| p.exists()) {
        Some(path) => Err(ResolveError::NotExecutable(path)),
        None => Err(ResolveError::NotFound(name.into())),
    }
}

fn executable(path: &Path) -> Option<PathBuf> {
    let folder = path.parent()?.canonicalize().ok()?;
    let found = folder.join(path.file_name()?);
    let meta = found.metadata().ok()?;
    (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then_some(found)
}

fn classify(path: &Path, name: &str) -> ResolveError {
    if path.exists() {
        ResolveError::NotExecutable(path.to_path_buf())
    } else {
        ResolveError::NotFound(name.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_secure_path_not_path() {
        let secure = [
            PathBuf::from("/nonexistent"),
            PathBuf::from("/bin"),
            PathBuf::from("/usr/bin"),
        ];
        let found = resolve_command("sh", &secure, Path::new("/")).unwrap();
        assert!(found.is_absolute() && found.file_name().is_some());
        let only_missing = [PathBuf::from("/nonexistent")];
        assert_eq!(
            resolve_command("sh", &only_missing, Path::new("/")),
            Err(ResolveError::NotFound("sh".into()))
        );
    }

    #[test]
    fn files_that_are_not_executable_are_refused() {
        let plain = std::env::temp_dir().join(format!("newgate-resolve-{}", std::process::id()));
        std::fs::write(&plain, "not a program").unwrap();
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
        let result = resolve_command(plain.to_str().unwrap(), &[], Path::new("/"));
        std::fs::remove_file(&plain).unwrap();
        assert_eq!(result, Err(ResolveError::NotExecutable(plain)));
        assert!(matches!(
            resolve_command("./nope", &[], Path::new("/")),
            Err(ResolveError::NotFound(_))
        ));
    }
}
