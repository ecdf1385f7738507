//! The temporary files through which `atomic` replaces a file: written unnamed where
//! the platform allows (Linux's `O_TMPFILE`, named once complete), else named
//! `.NAME.XXXXXX.tmp` beside the target, and the leftovers of killed writers found by
//! those names and removed. Callers hold the edit lock.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::sys;

/// The random part tempfile puts between our prefix and suffix.
const TEMP_RANDOM_LEN: usize = 6;

/// [`TEMP_RANDOM_LEN`] letters and digits, for naming an unnamed file as tempfile would.
fn random_part() -> Option<String> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut bytes = [0u8; TEMP_RANDOM_LEN];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).ok()?;
    Some(
        bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect(),
    )
}

/// Writes `contents` to a new file in `dir` (with the permissions `keep`, else private)
/// and renames it over `target`.
pub(super) fn write_replacing(
    target: &Path,
    dir: &Path,
    contents: &[u8],
    keep: Option<fs::Permissions>,
) -> io::Result<()> {
    let (prefix, suffix) = temp_affixes(target);
    remove_orphans(dir, &prefix, suffix);
    // Where the platform allows, the new text is written to a file with no name, named
    // only once complete and renamed at once: a writer killed while writing leaves no
    // copy of the keys behind.
    if let Some(mut file) = sys::unnamed_file(dir)
        && let Some(random) = random_part()
    {
        if let Some(permissions) = &keep {
            file.set_permissions(permissions.clone())?;
        }
        file.write_all(contents)?;
        file.sync_all()?;
        let name = dir.join(format!("{prefix}{random}{suffix}"));
        if sys::name_unnamed(&file, &name).is_ok() {
            if let Err(e) = fs::rename(&name, target) {
                let _ = fs::remove_file(&name);
                return Err(e);
            }
            return sys::sync_dir(dir);
        }
    }
    // tempfile's error names the temporary file, which means nothing to the user: say
    // what could not be done, in which folder.
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(suffix)
        .rand_bytes(TEMP_RANDOM_LEN)
        .tempfile_in(dir)
        .map_err(|e| {
            let why = e.raw_os_error().map_or_else(
                || e.kind().to_string(),
                |code| io::Error::from_raw_os_error(code).to_string(),
            );
            io::Error::new(
                e.kind(),
                format!("cannot create a new file in {} ({why})", dir.display()),
            )
        })?;
    match keep {
        Some(permissions) => temp.as_file().set_permissions(permissions)?,
        None => sys::make_private(temp.as_file())?,
    }
    temp.write_all(contents)?;
    temp.as_file().sync_all()?;
    temp.persist(target).map_err(|e| e.error)?;
    sys::sync_dir(dir)
}

/// The names of the temporary files a writer of `target` makes: `.NAME.` and `.tmp`.
pub(super) fn temp_affixes(target: &Path) -> (String, &'static str) {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (format!(".{name}."), ".tmp")
}

pub(super) fn is_temp_name(name: &str, prefix: &str, suffix: &str) -> bool {
    name.len() == prefix.len() + TEMP_RANDOM_LEN + suffix.len()
        && name.starts_with(prefix)
        && name.ends_with(suffix)
}

/// Removes temporary files of writers that were killed before their rename. Writers
/// make these files only while they hold the edit lock, which the caller holds now, so
/// any of this user's that exist belong to nobody. They may hold keys: they must not linger.
pub(super) fn remove_orphans(dir: &Path, prefix: &str, suffix: &str) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return removed;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let name = file_name.to_string_lossy();
        let orphan = is_temp_name(&name, prefix, suffix)
            && fs::symlink_metadata(entry.path())
                .is_ok_and(|m| m.is_file() && sys::foreign_owner(&m).is_none());
        if orphan {
            match fs::remove_file(entry.path()) {
                Ok(()) => {
                    tracing::info!(file = %entry.path().display(), "removed the temporary file of an interrupted write");
                    removed.push(entry.path());
                }
                Err(e) => {
                    tracing::warn!(file = %entry.path().display(), error = %e, "cannot remove the temporary file of an interrupted write")
                }
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// While the new text is written it has no name, so a writer killed then leaves no
    /// copy of the keys behind (Linux: O_TMPFILE, then linkat once complete).
    #[cfg(target_os = "linux")]
    #[test]
    fn the_new_text_has_no_name_until_it_is_complete() {
        let t = tempfile::tempdir().unwrap();
        let mut file = sys::unnamed_file(t.path()).expect("O_TMPFILE in a temp folder");
        file.write_all(b"machine h password secret\n").unwrap();
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 0);
        let named = t.path().join("named");
        sys::name_unnamed(&file, &named).unwrap();
        assert_eq!(
            fs::read_to_string(&named).unwrap(),
            "machine h password secret\n"
        );
        assert_eq!(sys::mode(&fs::metadata(&named).unwrap()), Some(0o600));
    }
}
