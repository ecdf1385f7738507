//! The lock every edit of this user's holds while it replaces a file.

use std::fs::{self, File};
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use super::deadline::deadline;
use super::file_error::FileError;
use crate::sys;

/// How long an edit waits for another edit (of this user's) to finish.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The lock every edit of this user's holds: a 0600 file in wandb-cred's private state
/// folder, so no other user can open it, let alone hold it. Waited for at most
/// [`LOCK_WAIT`] (and never past the request's deadline).
pub(super) struct EditLock {
    _file: File,
}

impl EditLock {
    pub(super) fn take() -> Result<Self, FileError> {
        let dir = crate::config::paths::state_dir().ok_or_else(|| {
            FileError::new(
                "find",
                Path::new("the state folder"),
                io::Error::other("no home folder is known (set HOME)"),
            )
        })?;
        sys::create_private_dir_all(&dir)
            .map_err(|e| FileError::new("create the folder", &dir, e))?;
        let meta = fs::symlink_metadata(&dir).map_err(|e| FileError::new("use", &dir, e))?;
        if !meta.is_dir() {
            return Err(FileError::refused(
                "use",
                &dir,
                "it is not a folder".to_owned(),
            ));
        }
        if let Some(owner) = sys::foreign_owner(&meta) {
            return Err(FileError::refused(
                "use",
                &dir,
                format!("it belongs to {owner}"),
            ));
        }
        if sys::open_to_others(&meta).is_some() {
            sys::make_dir_private(&dir).map_err(|e| FileError::new("make private", &dir, e))?;
        }
        let path = dir.join("edit.lock");
        let file =
            sys::open_lock_file(&path).map_err(|e| FileError::new("open the lock", &path, e))?;
        let give_up = Instant::now() + LOCK_WAIT;
        let give_up = deadline().map_or(give_up, |d| d.min(give_up));
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(fs::TryLockError::WouldBlock) if Instant::now() < give_up => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(FileError::timed_out(
                        "lock",
                        &path,
                        "another wandb-cred command of yours has been changing files for too long; nothing was changed, try again",
                    ));
                }
                Err(fs::TryLockError::Error(e)) => return Err(FileError::new("lock", &path, e)),
            }
        }
    }
}
