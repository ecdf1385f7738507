//! The encrypted store's version, against rollback: a line `#version N` inside the
//! encrypted text (so only the passphrase's holder can set it), one higher on every
//! write, and the highest version seen for each store file kept beside the state
//! (`store-versions.json`, no key material). A file older than one seen here was put
//! back (a restore, a sync tool, an NFS admin) and could bring back a key that was
//! rotated out or removed: it is refused, naming both versions, until the user takes
//! it on purpose (`unlock --accept-older`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::state_file;
use crate::store::StoreError;

const PREFIX: &str = "#version ";
const RECORD: &str = "store-versions.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    #[serde(default)]
    highest: BTreeMap<String, u64>,
}

/// The version a decrypted text says (0 for a file from before versions).
pub fn of(text: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(PREFIX))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Whether `line` is the version line (not a key's).
pub fn is_version_line(line: &str) -> bool {
    line.starts_with(PREFIX)
}

/// The version line for `version`, with its newline.
pub fn line(version: u64) -> String {
    format!("{PREFIX}{version}\n")
}

/// `text` (a decrypted store) with its version line set to `version`, in room reserved
/// once (a growing String frees unwiped copies of the keys).
pub fn with_version(text: &str, version: u64) -> zeroize::Zeroizing<String> {
    let line = line(version);
    let mut out = zeroize::Zeroizing::new(String::with_capacity(text.len() + line.len() + 1));
    let mut lines = text.split_inclusive('\n');
    if let Some(first) = lines.next() {
        out.push_str(first);
        if !first.ends_with('\n') {
            out.push('\n');
        }
    }
    out.push_str(&line);
    for rest in lines.filter(|l| !is_version_line(l)) {
        out.push_str(rest);
    }
    out
}

/// The highest version seen here for the file at `path`.
pub fn highest_seen(path: &Path) -> u64 {
    state_file::read::<Record>(RECORD)
        .highest
        .get(&path.display().to_string())
        .copied()
        .unwrap_or(0)
}

/// Records that `version` of the file at `path` was read or written here.
pub fn seen(path: &Path, version: u64) {
    let name = path.display().to_string();
    state_file::change::<Record>(RECORD, |record| {
        let highest = record.highest.entry(name.clone()).or_insert(0);
        let grew = version > *highest;
        *highest = (*highest).max(version);
        grew
    });
}

/// Forgets the versions seen for `path` (`unlock --accept-older`).
pub fn forget(path: &Path) {
    let name = path.display().to_string();
    state_file::change::<Record>(RECORD, |record| record.highest.remove(&name).is_some());
}

/// Refuses a file whose `version` is older than one seen here; records it otherwise.
/// Not while holding the edit lock (recording takes it): [`refuse_older`] there.
pub fn check(path: &Path, version: u64) -> Result<(), StoreError> {
    refuse_older(path, version)?;
    seen(path, version);
    Ok(())
}

/// Refuses a file whose `version` is older than one seen here (records nothing).
pub fn refuse_older(path: &Path, version: u64) -> Result<(), StoreError> {
    let highest = highest_seen(path);
    if version < highest {
        return Err(StoreError::Encrypted {
            path: path.to_owned(),
            message: format!(
                "it is older than the store seen here: it holds version {version}, and version {highest} was seen here; an older copy was put back (a restore, a sync tool?) and would bring back keys rotated out or removed since. Put the newer file back, or if you restored this one on purpose: `wandb-cred unlock --accept-older`"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_version_is_read_from_its_line() {
        assert_eq!(super::of("wandb-cred keys 1\n#version 7\nacct key\n"), 7);
        assert_eq!(super::of("wandb-cred keys 1\nacct key\n"), 0);
        assert_eq!(super::line(3), "#version 3\n");
        assert_eq!(
            super::with_version("wandb-cred keys 1\n#version 7\nacct key\n", 8).as_str(),
            "wandb-cred keys 1\n#version 8\nacct key\n"
        );
        assert_eq!(
            super::with_version("wandb-cred keys 1\nacct key\n", 1).as_str(),
            "wandb-cred keys 1\n#version 1\nacct key\n"
        );
    }
}
