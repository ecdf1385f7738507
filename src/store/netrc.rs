//! Keys in the netrc file, exactly where and how the W&B SDK reads and writes them.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::{Store, StoreError, StoredKey};
use crate::config::atomic;
use crate::config::netrc::{Entry, Netrc};
use crate::config::netrc_edit;
use crate::key::{ApiKey, KeyKind};
use crate::resolve::base_url::BaseUrl;

pub struct NetrcStore {
    path: PathBuf,
}

impl NetrcStore {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn parse_error(&self, e: crate::config::netrc::ParseError) -> StoreError {
        StoreError::Parse {
            path: self.path.clone(),
            line: e.line,
            message: e.message,
        }
    }

    fn edit_error(&self, e: netrc_edit::EditError) -> StoreError {
        match e {
            netrc_edit::EditError::Parse(e) => self.parse_error(e),
            e => StoreError::Edit {
                path: self.path.clone(),
                source: e,
            },
        }
    }

    fn location(&self, entry: &Entry) -> String {
        format!("{} (line {})", self.path.display(), entry.line)
    }

    fn load(&self) -> Result<Option<Netrc>, StoreError> {
        let Some(text) = atomic::read_own_text(&self.path)? else {
            return Ok(None);
        };
        Netrc::parse(&text)
            .map(Some)
            .map_err(|e| self.parse_error(e))
    }

    fn checked(&self, entry: &Entry, machine: &str) -> Result<StoredKey, StoreError> {
        let location = self.location(entry);
        match ApiKey::parse(entry.password.clone()) {
            Ok(key) => Ok(StoredKey { key, location }),
            Err(source) => Err(StoreError::InvalidKey {
                machine: machine.to_owned(),
                location,
                source,
            }),
        }
    }

    /// The key the SDK would use for `url`, from netrc text already read from this file.
    pub fn get_in(&self, text: &str, url: &BaseUrl) -> Result<Option<StoredKey>, StoreError> {
        // netrc holds the server's unnamed (default) key only.
        if url.profile().is_some() {
            return Ok(None);
        }
        let netrc = Netrc::parse(text).map_err(|e| self.parse_error(e))?;
        let Some(entry) = lookup(&netrc, url) else {
            return Ok(None);
        };
        if entry.password.is_empty() {
            tracing::warn!(machine = url.netloc(), path = %self.path.display(), "netrc entry has no password");
            return Ok(None);
        }
        match self.checked(entry, url.netloc()) {
            // Found under the account's other name: say which.
            Ok(mut found) => {
                if let Some(machine) = &entry.machine
                    && machine != url.netloc()
                {
                    found.location = format!(
                        "{} (line {}, machine {machine})",
                        self.path.display(),
                        entry.line
                    );
                }
                Ok(Some(found))
            }
            // A catch-all `default` entry usually belongs to some other service.
            Err(_) if entry.machine.is_none() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The key of the entry for exactly this machine (no `default`, no fallback).
    pub fn machine_key(&self, machine: &str) -> Result<Option<StoredKey>, StoreError> {
        let Some(netrc) = self.load()? else {
            return Ok(None);
        };
        match netrc.entry_for(machine) {
            Some(entry) if !entry.password.is_empty() => self.checked(entry, machine).map(Some),
            _ => Ok(None),
        }
    }

    /// The key of the entry `pick` chooses (for modelling another reader, such as a
    /// given SDK version); an entry with no password is none.
    pub fn key_by(
        &self,
        pick: impl for<'n> FnOnce(&'n Netrc) -> Option<&'n Entry>,
    ) -> Result<Option<StoredKey>, StoreError> {
        let Some(netrc) = self.load()? else {
            return Ok(None);
        };
        match pick(&netrc) {
            Some(entry) if !entry.password.is_empty() => {
                let machine = entry
                    .machine
                    .clone()
                    .unwrap_or_else(|| "default".to_owned());
                self.checked(entry, &machine).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The line of a quote that is never closed (everything after it is one word to
    /// Python, and so to the SDK), if the file has one.
    pub fn unclosed_quote(&self) -> Result<Option<usize>, StoreError> {
        Ok(self
            .load()?
            .and_then(|netrc| netrc.unclosed_quote.map(|(line, _)| line)))
    }

    /// The server's own entries (its netrc names, [`BaseUrl::netrc_names`]; no
    /// `default`): each machine with a key, in reading order.
    pub fn named_keys(&self, url: &BaseUrl) -> Result<Vec<(String, StoredKey)>, StoreError> {
        let Some(netrc) = self.load()? else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for name in url.netrc_names() {
            if let Some(entry) = netrc.entry_for(&name)
                && !entry.password.is_empty()
            {
                let key = self.checked(entry, &name)?;
                found.push((name, key));
            }
        }
        Ok(found)
    }

    /// The first of the server's own entries with a key (see [`Self::named_keys`]).
    pub fn named_key(&self, url: &BaseUrl) -> Result<Option<StoredKey>, StoreError> {
        Ok(self.named_keys(url)?.into_iter().next().map(|(_, key)| key))
    }

    /// Every entry that holds a W&B key, whatever its machine: the SDK's (`login user`
    /// and a valid key) and any whose password is a key of W&B's own formats
    /// (`wandb_v1_`, `local-`), `default` included. `(machine, line, key)`.
    pub fn wandb_entries(&self) -> Result<Vec<(Option<String>, usize, ApiKey)>, StoreError> {
        let Some(netrc) = self.load()? else {
            return Ok(Vec::new());
        };
        Ok(netrc
            .entries
            .iter()
            .filter_map(|entry| {
                let key = ApiKey::parse(entry.password.clone()).ok()?;
                let wandb = entry.login == netrc_edit::SDK_LOGIN
                    || matches!(key.kind(), KeyKind::V1 | KeyKind::OnPrem);
                wandb.then(|| (entry.machine.clone(), entry.line, key))
            })
            .collect())
    }

    /// The machines whose entries look like the SDK's: `login user` and a valid key.
    pub fn wandb_machines(&self) -> Result<Vec<String>, StoreError> {
        let Some(netrc) = self.load()? else {
            return Ok(Vec::new());
        };
        let mut machines: Vec<String> = Vec::new();
        for entry in &netrc.entries {
            if let Some(machine) = &entry.machine
                && entry.login == netrc_edit::SDK_LOGIN
                && ApiKey::parse(entry.password.clone()).is_ok()
                && !machines.contains(machine)
            {
                machines.push(machine.clone());
            }
        }
        Ok(machines)
    }
}

/// The entry used for `url`: the first of its netrc names that has an entry (the name
/// as written, then a cloud's other name: the SDK's Forge fallback and its reverse),
/// else the `default` entry.
fn lookup<'n>(netrc: &'n Netrc, url: &BaseUrl) -> Option<&'n Entry> {
    let names = url.netrc_names();
    names
        .iter()
        .find_map(|name| netrc.entry_for(name))
        .or_else(|| netrc.authenticators(&names[0]))
}

impl Store for NetrcStore {
    fn describe(&self) -> String {
        format!("netrc file {}", self.path.display())
    }

    fn get(&self, url: &BaseUrl) -> Result<Option<StoredKey>, StoreError> {
        match atomic::read_own_text(&self.path)? {
            Some(text) => self.get_in(&text, url),
            None => Ok(None),
        }
    }
    fn set(&self, url: &BaseUrl, key: &ApiKey) -> Result<String, StoreError> {
        if let Some(profile) = url.profile() {
            return Err(StoreError::NetrcProfile {
                profile: profile.to_owned(),
            });
        }
        let written = atomic::update(&self.path, |text| {
            let machine = url.netrc_machine();
            let mut out = netrc_edit::set_password(text, machine, key.expose())
                .map_err(|e| self.edit_error(e))?;
            // One key per server: a copy under its other name goes.
            for other in url.netrc_names().iter().filter(|n| *n != machine) {
                if let Some(edited) =
                    netrc_edit::remove_machine(&out, other).map_err(|e| self.edit_error(e))?
                {
                    out = edited;
                }
            }
            Ok::<_, StoreError>(Some((out, ())))
        })?;
        let location = self.path.display().to_string();
        Ok(match written.and_then(|((), w)| w.note(&self.path)) {
            Some(note) => format!("{location} ({note})"),
            None => location,
        })
    }

    fn delete(&self, url: &BaseUrl) -> Result<bool, StoreError> {
        if !self.path.exists() || url.profile().is_some() {
            return Ok(false);
        }
        let removed = atomic::update(&self.path, |text| {
            // Only the SDK's own kind of entry (`login user`): a machine's entry another
            // program wrote (git's, a token for that host) is never wandb-cred's to remove.
            let parsed = Netrc::parse(text).map_err(|e| self.parse_error(e))?;
            let mut out: Option<Zeroizing<String>> = None;
            for name in url.netrc_names() {
                if parsed
                    .entry_for(&name)
                    .is_some_and(|e| e.machine.is_some() && e.login != netrc_edit::SDK_LOGIN)
                {
                    tracing::info!(machine = %name, "left a netrc entry that is not a W&B one");
                    continue;
                }
                let current = out.as_deref().map_or(text, String::as_str);
                if let Some(edited) =
                    netrc_edit::remove_machine(current, &name).map_err(|e| self.edit_error(e))?
                {
                    out = Some(edited);
                }
            }
            Ok::<_, StoreError>(out.map(|text| (text, ())))
        })?;
        if let Some(note) = removed.as_ref().and_then(|((), w)| w.note(&self.path)) {
            tracing::warn!("{note}");
        }
        Ok(removed.is_some())
    }
}
