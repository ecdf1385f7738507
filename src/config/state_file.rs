//! Small JSON records in wandb-cred's private state folder (`stored.json`,
//! `pushed.json`): no key material, 0600, written atomically under the edit lock.
//! Keeping them is best effort: a record that cannot be read is empty, and one that
//! cannot be written is logged, never an error of the command.

use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::{atomic, paths};

fn path(name: &str) -> Option<PathBuf> {
    Some(paths::state_dir()?.join(name))
}

/// Seconds since 1970, UTC, as the records keep time.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The record in `name`, or the default when there is none, it cannot be read, or
/// another user could have written it (a record chooses profiles and says where keys
/// went: only this user's counts).
pub fn read<T: DeserializeOwned + Default>(name: &str) -> T {
    path(name)
        // The folders are walked only for a record that is there (`get` reads several
        // that often are not).
        .filter(|p| {
            let why = p.exists().then(|| crate::ownership::file(p)).flatten();
            if let Some(why) = &why {
                tracing::warn!(file = %p.display(), %why, "ignoring a record another user could have written");
            }
            why.is_none()
        })
        .and_then(|p| atomic::read_own_text(&p).ok().flatten())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Changes the record in `name`; `edit` returns whether it changed anything.
pub fn change<T: Serialize + DeserializeOwned + Default>(
    name: &str,
    edit: impl Fn(&mut T) -> bool,
) {
    let Some(path) = path(name) else {
        return;
    };
    let written = atomic::update(&path, |text| {
        let mut record: T = serde_json::from_str(text).unwrap_or_default();
        if !edit(&mut record) {
            return Ok::<_, atomic::FileError>(None);
        }
        let json = serde_json::to_string_pretty(&record).expect("the record serialises");
        Ok(Some((Zeroizing::new(json + "\n"), ())))
    });
    if let Err(e) = written {
        tracing::warn!(error = %e, file = name, "cannot update a record in the state folder");
    }
}
