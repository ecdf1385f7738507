//! Where `setup-python` installed its hook: one site-packages folder per line in
//! wandb-cred's private state folder (`python-hooks`, no secret in it), so `uninstall`
//! finds every environment. Keeping it is best effort: a hook is never refused for it.

use std::path::{Path, PathBuf};

use crate::config::paths;
use crate::config::plain_file::{read_if_there, write_replacing};

const FILE: &str = "python-hooks";

fn file() -> Option<PathBuf> {
    paths::state_dir().map(|dir| dir.join(FILE))
}

/// The site-packages folders recorded, in the order they were set up.
pub fn sites() -> Vec<PathBuf> {
    let Some(file) = file() else {
        return Vec::new();
    };
    read_if_there(&file)
        .ok()
        .flatten()
        .map(|text| {
            text.lines()
                .filter(|l| !l.is_empty())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Adds `site` (once).
pub fn remember(site: &Path) {
    let mut all = sites();
    if !all.iter().any(|s| s == site) {
        all.push(site.to_owned());
        save(&all);
    }
}

/// Drops `site`.
pub fn forget(site: &Path) {
    let mut all = sites();
    let before = all.len();
    all.retain(|s| s != site);
    if all.len() != before {
        save(&all);
    }
}

fn save(all: &[PathBuf]) {
    let Some(file) = file() else {
        return;
    };
    let text: String = all
        .iter()
        .filter_map(|s| s.to_str())
        .map(|s| format!("{s}\n"))
        .collect();
    let saved = file
        .parent()
        .map_or(Ok(()), crate::sys::create_private_dir_all)
        .map_err(anyhow::Error::from)
        .and_then(|()| write_replacing(&file, &text));
    if let Err(e) = saved {
        tracing::warn!("cannot record where the Python hook is: {e:#}");
    }
}
