//! Files that hold no secret but must never be seen half written (the Python hook,
//! service units): written to a temporary file beside them and renamed over them,
//! readable by everyone (0644); removed only when there.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;

/// Writes `text` to `path` in one step: a reader sees the old file or the new one.
pub fn write_replacing(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .with_context(|| format!("{} names no folder", path.display()))?;
    let written = (|| -> std::io::Result<()> {
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        crate::sys::make_readable(file.as_file())?;
        file.write_all(text.as_bytes())?;
        file.as_file().sync_all()?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    })();
    written.with_context(|| format!("cannot write {}", path.display()))
}

/// Removes `path`; a file that is not there is not an error.
pub fn remove_if_there(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The file's text, `None` when it is not there.
pub fn read_if_there(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}
