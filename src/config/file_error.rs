//! An I/O failure on a named file: what was being done, to which file, and why.

use std::io;
use std::path::{Path, PathBuf};

/// An I/O failure on a named file. The message already holds the I/O error's, so it
/// is not also given as the source: an error chain would say it twice.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {cause}", path.display())]
pub struct FileError {
    pub action: &'static str,
    pub path: PathBuf,
    pub cause: io::Error,
}

impl FileError {
    pub fn new(action: &'static str, path: &Path, source: io::Error) -> Self {
        Self {
            action,
            path: path.to_owned(),
            cause: source,
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
