//! Replacing a file safely: under an exclusive lock, through a temporary file in the
//! same folder that is written, flushed to disk and renamed over the original. A reader
//! sees the old file or the new one, never a mix; a failure leaves the old one intact.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::sys;

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
}

/// Reads a UTF-8 text file; `Ok(None)` when it does not exist.
pub fn read_text(path: &Path) -> Result<Option<Zeroizing<String>>, FileError> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(|s| Some(Zeroizing::new(s)))
            .map_err(|e| {
                let text = Zeroizing::new(e.into_bytes());
                let line = 1 + text
                    .iter()
                    .take_while(|b| b.is_ascii())
                    .filter(|b| **b == b'\n')
                    .count();
                FileError::new(
                    "read",
                    path,
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("line {line} is not UTF-8 text"),
                    ),
                )
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FileError::new("read", path, e)),
    }
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

/// Reads `path` under an exclusive lock, lets `edit` compute the new contents from the
/// current ones (`""` for a missing file), and replaces the file atomically. `edit`
/// returning `Ok(None)` means "nothing to change": the file is not touched and no folder
/// is created. A new file is private to its owner; an existing file keeps its mode.
pub fn update<T, E>(
    path: &Path,
    mut edit: impl FnMut(&str) -> Result<Option<(Zeroizing<String>, T)>, E>,
) -> Result<Option<T>, E>
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
    let _lock = sys::lock_dir(&dir).map_err(|e| FileError::new("lock the folder", &dir, e))?;
    let current = read_text(&target)?;
    let Some((contents, value)) = edit(current.as_deref().map_or("", String::as_str))? else {
        return Ok(None);
    };
    write_replacing(&target, &dir, contents.as_bytes())
        .map_err(|e| FileError::new("write", &target, e))?;
    Ok(Some(value))
}

/// The random part tempfile puts between our prefix and suffix.
const TEMP_RANDOM_LEN: usize = 6;

fn write_replacing(target: &Path, dir: &Path, contents: &[u8]) -> io::Result<()> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (prefix, suffix) = (format!(".{name}."), ".tmp");
    remove_orphans(dir, &prefix, suffix);
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(suffix)
        .rand_bytes(TEMP_RANDOM_LEN)
        .tempfile_in(dir)?;
    match fs::metadata(target) {
        Ok(meta) => temp.as_file().set_permissions(meta.permissions())?,
        Err(_) => sys::make_private(temp.as_file())?,
    }
    temp.write_all(contents)?;
    temp.as_file().sync_all()?;
    temp.persist(target).map_err(|e| e.error)?;
    sys::sync_dir(dir)
}

/// Removes temporary files of writers that were killed before their rename. Writers
/// make these files only while they hold the folder's lock, which the caller holds now,
/// so any that exist belong to nobody. They may hold keys: they must not linger.
fn remove_orphans(dir: &Path, prefix: &str, suffix: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let name = file_name.to_string_lossy();
        let orphan = name.len() == prefix.len() + TEMP_RANDOM_LEN + suffix.len()
            && name.starts_with(prefix)
            && name.ends_with(suffix);
        if orphan {
            match fs::remove_file(entry.path()) {
                Ok(()) => {
                    tracing::info!(file = %entry.path().display(), "removed the temporary file of an interrupted write")
                }
                Err(e) => {
                    tracing::warn!(file = %entry.path().display(), error = %e, "cannot remove the temporary file of an interrupted write")
                }
            }
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
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        update(&path, set("two")).unwrap();
        assert_eq!(sys::mode(&fs::metadata(&path).unwrap()), Some(0o640));
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn nothing_to_do_creates_nothing() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("missing/f");
        let r: Result<Option<()>, FileError> = update(&path, |_| Ok(None));
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
