//! The daemon's own program file. A daemon whose file was removed or replaced (an
//! uninstall, an upgrade) exits, so it never serves from a deleted binary and the next
//! command starts the program that is there now.

use std::path::PathBuf;
use std::time::Duration;

use crate::sys;

/// How often the program file is looked at (one `stat`).
pub const CHECK_EVERY: Duration = Duration::from_secs(2);

/// The program file as it was when the daemon started.
pub struct ProgramFile {
    path: PathBuf,
    identity: u64,
}

impl ProgramFile {
    /// This process's program file, if it can be found.
    pub fn now() -> Option<Self> {
        let path = std::env::current_exe().ok()?;
        let identity = sys::file_identity(&std::fs::metadata(&path).ok()?);
        Some(Self { path, identity })
    }

    /// Why the daemon should exit: its file is gone or is another file now.
    pub fn changed(&self) -> Option<String> {
        match std::fs::metadata(&self.path) {
            Err(_) => Some(format!("{} was removed", self.path.display())),
            Ok(meta) if sys::file_identity(&meta) != self.identity => {
                Some(format!("{} was replaced", self.path.display()))
            }
            Ok(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_or_removed_file_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prog");
        std::fs::write(&path, "a").unwrap();
        let identity = sys::file_identity(&std::fs::metadata(&path).unwrap());
        let file = ProgramFile {
            path: path.clone(),
            identity,
        };
        assert_eq!(file.changed(), None);
        let new = dir.path().join("new");
        std::fs::write(&new, "b").unwrap();
        std::fs::rename(&new, &path).unwrap();
        if cfg!(unix) {
            assert!(file.changed().unwrap().contains("replaced"));
        }
        std::fs::remove_file(&path).unwrap();
        assert!(file.changed().unwrap().contains("removed"));
    }
}
