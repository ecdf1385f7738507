//! Reading and replacing the files that hold keys, safely. Reads are bounded: only
//! regular files (a FIFO or a device is refused, never waited on) of at most
//! [`MAX_FILE`] bytes. Replacing happens under an exclusive lock that only this user can
//! open (a 0600 file in wandb-cred's private state folder), waited on for a bounded
//! time, through a temporary file in the same folder that is written, flushed to disk
//! and renamed over the original. A reader sees the old file or the new one, never a
//! mix; a failure leaves the old one intact. A file or folder that another user owns or
//! can write to is never written to, and a netrc another user owns is not trusted.

use std::fs::{self};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::sys;

pub use super::deadline::{deadline, out_of_time, with_deadline};
use super::edit_lock::EditLock;
pub use super::edit_lock::LOCK_WAIT;
pub use super::file_error::FileError;
use super::temp_file::{is_temp_name, remove_orphans, temp_affixes, write_replacing};

/// The most a netrc or settings file may hold. Real ones hold a few hundred bytes.
pub const MAX_FILE: u64 = 1 << 20;

/// Reads a UTF-8 text file; `Ok(None)` when it does not exist.
pub fn read_text(path: &Path) -> Result<Option<Zeroizing<String>>, FileError> {
    read_bounded(path, false)
}

/// Like [`read_text`], for a file that decides where a token goes or whom to trust (a
/// Vault token, role id, secret id or JWT file, a CA bundle): one that another user
/// could have written ([`crate::ownership::file`]) is refused, named, and never read.
pub fn read_trusted_text(path: &Path) -> Result<Option<Zeroizing<String>>, FileError> {
    if let Some(why) = crate::ownership::file(path) {
        return Err(FileError::refused(
            "use",
            path,
            format!("another user could have written it ({why})"),
        ));
    }
    read_text(path)
}

/// Like [`read_text`], for a file whose keys are used (netrc): one that another user
/// owns is refused (root's are accepted: root can do anything anyway).
pub fn read_own_text(path: &Path) -> Result<Option<Zeroizing<String>>, FileError> {
    read_bounded(path, true)
}

fn read_bounded(path: &Path, own: bool) -> Result<Option<Zeroizing<String>>, FileError> {
    let error = |e| FileError::new("read", path, e);
    let mut file = match sys::open_for_reading(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(error(e)),
    };
    let meta = file.metadata().map_err(error)?;
    if let Some(why) = not_a_plain_file(&meta) {
        return Err(FileError::refused("read", path, why));
    }
    if own && let Some(owner) = sys::foreign_owner(&meta) {
        return Err(FileError::refused(
            "use",
            path,
            format!(
                "it belongs to {owner}, not to you, so the keys in it are not trusted (make it yours with `chown`, or remove it)"
            ),
        ));
    }
    // Exactly as much room as the file holds, and one byte to notice growth: no
    // reallocation leaves a copy of a key behind in freed memory.
    let mut bytes = Zeroizing::new(vec![0u8; meta.len() as usize + 1]);
    let mut filled = 0;
    while filled < bytes.len() {
        match file.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(error(e)),
        }
    }
    if filled == bytes.len() {
        return Err(error(io::Error::other(
            "it changed while being read; try again",
        )));
    }
    bytes.truncate(filled);
    let bytes = std::mem::take(&mut *bytes);
    String::from_utf8(bytes)
        .map(|s| Some(Zeroizing::new(s)))
        .map_err(|e| {
            let text = Zeroizing::new(e.into_bytes());
            let line = 1 + text
                .iter()
                .take_while(|b| b.is_ascii())
                .filter(|b| **b == b'\n')
                .count();
            error(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("line {line} is not UTF-8 text"),
            ))
        })
}

/// Why a file is not one to read keys or settings from: not a regular file, or larger
/// than any such file can need.
fn not_a_plain_file(meta: &fs::Metadata) -> Option<String> {
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a folder"
        } else {
            "a FIFO, socket or device"
        };
        return Some(format!("it is not a regular file but {what}"));
    }
    (meta.len() > MAX_FILE).then(|| {
        format!(
            "it is {} bytes long; a netrc or settings file of more than {} KiB is refused",
            meta.len(),
            MAX_FILE / 1024
        )
    })
}

/// A symlinked file is edited where it points (dotfile managers link these files).
fn resolve(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
        }
        _ => path.to_owned(),
    }
}

/// What [`update`] did besides the edit.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// The file could be read by group or others with this mode; it is 0600 now.
    pub tightened_from: Option<u32>,
}

impl Written {
    /// A sentence for the user, when there is something to say.
    pub fn note(&self, path: &Path) -> Option<String> {
        self.tightened_from.map(|mode| {
            format!(
                "{} could be read by other users (mode {mode:04o}); it is now 0600",
                path.display()
            )
        })
    }
}

/// Reads `path` under the edit lock, lets `edit` compute the new contents from the
/// current ones (`""` for a missing file), and replaces the file atomically. `edit`
/// returning `Ok(None)` means "nothing to change": the file is not touched and no folder
/// is created. A new file is private to its owner; an existing one keeps its mode unless
/// group or others could read it, when it becomes 0600 (said in [`Written`]). A file
/// another user owns, or in a folder another user controls, is refused.
pub fn update<T, E>(
    path: &Path,
    mut edit: impl FnMut(&str) -> Result<Option<(Zeroizing<String>, T)>, E>,
) -> Result<Option<(T, Written)>, E>
where
    E: From<FileError>,
{
    let target = resolve(path);
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        // Nothing exists yet: only create the folder when there is something to write.
        if edit("")?.is_none() {
            return Ok(None);
        }
        sys::create_private_dir_all(&dir)
            .map_err(|e| FileError::new("create the folder", &dir, e))?;
    }
    check_folders(&target, &dir)?;
    // Named as the edit of `target` that it is (the lock is ours, the file is the user's).
    let _lock = EditLock::take().map_err(|e| {
        let why = format!("cannot {} {} ({})", e.action, e.path.display(), e.cause);
        FileError::new("write", &target, io::Error::new(e.cause.kind(), why))
    })?;
    let existing = check_target(&target)?;
    let current = read_text(&target)?;
    let Some((contents, value)) = edit(current.as_deref().map_or("", String::as_str))? else {
        return Ok(None);
    };
    let tightened_from = existing
        .as_ref()
        .and_then(sys::mode)
        .filter(|m| m & 0o077 != 0);
    // The new file keeps the old one's mode, unless that let others read it.
    let keep = existing
        .filter(|_| tightened_from.is_none())
        .map(|meta| meta.permissions());
    if out_of_time() {
        return Err(FileError::timed_out(
            "write",
            &target,
            "the request ran out of time before the new file was in place; nothing was changed",
        )
        .into());
    }
    write_replacing(&target, &dir, contents.as_bytes(), keep)
        .map_err(|e| FileError::new("write", &target, e))?;
    Ok(Some((value, Written { tightened_from })))
}

/// Refuses to write where another user could replace the file or read it as it is
/// written: the folder and every folder above it must be this user's or root's, and not
/// writable by anyone unless sticky (as `/tmp` is).
fn check_folders(target: &Path, dir: &Path) -> Result<(), FileError> {
    let real = fs::canonicalize(dir).map_err(|e| FileError::new("write", target, e))?;
    for folder in real.ancestors() {
        let meta = fs::metadata(folder).map_err(|e| FileError::new("write", target, e))?;
        if let Some(why) = sys::foreign_control(&meta) {
            return Err(FileError::refused(
                "write",
                target,
                format!(
                    "another user could replace it: its folder {} {why}; keep the file in a folder of your own (set NETRC to such a path)",
                    folder.display()
                ),
            ));
        }
    }
    Ok(())
}

/// The existing target (`None` when there is none), after making sure it is a regular
/// file of this user's.
fn check_target(target: &Path) -> Result<Option<fs::Metadata>, FileError> {
    let meta = match fs::symlink_metadata(target) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(FileError::new("write", target, e)),
    };
    if let Some(why) = not_a_plain_file(&meta) {
        return Err(FileError::refused("write", target, why));
    }
    if let Some(owner) = sys::foreign_owner(&meta) {
        return Err(FileError::refused(
            "write",
            target,
            format!(
                "it belongs to {owner}, not to you; refusing to put a key in a file another user controls (make it yours with `chown`, or use a netrc of your own)"
            ),
        ));
    }
    Ok(Some(meta))
}

/// Removes, under the edit lock, the temporary files a killed writer of `target` left
/// behind (each may hold the whole new text of a netrc: plaintext keys): for `status`,
/// `doctor`, `migrate` and the daemon's start, so such a copy never waits for the next
/// write. The paths removed; none when the lock cannot be had in its bounded time.
pub fn sweep(target: &Path) -> Vec<PathBuf> {
    let target = resolve(target);
    let Some(dir) = target.parent().filter(|d| d.is_dir()) else {
        return Vec::new();
    };
    let (prefix, suffix) = temp_affixes(&target);
    if !fs::read_dir(dir).is_ok_and(|mut e| {
        e.any(|e| e.is_ok_and(|e| is_temp_name(&e.file_name().to_string_lossy(), &prefix, suffix)))
    }) {
        return Vec::new();
    }
    match EditLock::take() {
        Ok(_lock) => remove_orphans(dir, &prefix, suffix),
        Err(e) => {
            tracing::warn!(error = %e.cause, "cannot take the edit lock to remove an interrupted write's temporary file");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(
        text: &str,
    ) -> impl FnMut(&str) -> Result<Option<(Zeroizing<String>, ())>, FileError> + '_ {
        move |_| Ok(Some((Zeroizing::new(text.to_owned()), ())))
    }

    #[cfg(unix)]
    #[test]
    fn creates_private_files_and_keeps_existing_modes() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("sub/f");
        update(&path, set("one")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "one");
        assert_eq!(sys::mode(&fs::metadata(&path).unwrap()), Some(0o600));
        assert_eq!(
            sys::mode(&fs::metadata(path.parent().unwrap()).unwrap()),
            Some(0o700)
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        update(&path, set("two")).unwrap();
        assert_eq!(sys::mode(&fs::metadata(&path).unwrap()), Some(0o400));
        // A file others can read is made private, and the caller is told.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let (_, written) = update(&path, set("three")).unwrap().unwrap();
        assert_eq!(written.tightened_from, Some(0o644));
        assert_eq!(sys::mode(&fs::metadata(&path).unwrap()), Some(0o600));
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn nothing_to_do_creates_nothing() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("missing/f");
        let r: Result<Option<((), Written)>, FileError> = update(&path, |_| Ok(None));
        assert!(r.unwrap().is_none());
        assert!(!t.path().join("missing").exists());
    }

    #[cfg(unix)]
    #[test]
    fn edits_the_target_of_a_symlink() {
        let t = tempfile::tempdir().unwrap();
        let real = t.path().join("real");
        fs::write(&real, "old").unwrap();
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        update(&link, set("new")).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
    }

    #[test]
    fn reports_non_utf8_with_the_line() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("f");
        fs::write(&path, b"ok\nok\n\xff\n").unwrap();
        let err = read_text(&path).unwrap_err().to_string();
        assert!(
            err.contains("line 3") && err.contains(&path.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn a_killed_writer_s_temporary_file_is_removed_by_the_next_write() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join(".netrc");
        // The names this module gives them: `.` + the file's name + `.` + 6 + `.tmp`.
        let orphan = t.path().join("..netrc.a1B2c3.tmp");
        let unrelated = t.path().join("..netrc.my-backup.tmp");
        fs::write(&orphan, "machine h password secret\n").unwrap();
        fs::write(&unrelated, "mine").unwrap();
        update(&path, |_| {
            Ok::<_, FileError>(Some((Zeroizing::new("x\n".to_owned()), ())))
        })
        .unwrap();
        assert!(!orphan.exists());
        assert!(unrelated.exists(), "a file that is not ours was removed");
        assert_eq!(fs::read_to_string(&path).unwrap(), "x\n");
    }
}
