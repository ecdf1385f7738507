//! An I/O failure on a named file: what was being done, to which file, and why.

use std::io;
use std::path::{Path, PathBuf};

/// An I/O failure on a named file.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {source}", path.display())]
pub struct FileError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl FileError {
    pub fn new(action: &'static str, path: &Path, source: io::Error) -> Self {
        Self {
            action,
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn refused(action: &'static str, path: &Path, why: String) -> Self {
        Self::new(
            action,
            path,
            io::Error::new(io::ErrorKind::PermissionDenied, why),
        )
    }

    pub(crate) fn timed_out(action: &'static str, path: &Path, why: &str) -> Self {
        Self::new(action, path, io::Error::new(io::ErrorKind::TimedOut, why))
    }
}
