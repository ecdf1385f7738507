//! Keys in the netrc file, exactly where and how the W&B SDK reads and writes them.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::{Store, StoreError, StoredKey};
use crate::config::atomic;
use crate::config::netrc::{Entry, Netrc};
use crate::config::netrc_edit;
use crate::key::ApiKey;
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
        let netrc = Netrc::parse(text).map_err(|e| self.parse_error(e))?;
        let Some(entry) = lookup(&netrc, url) else {
            return Ok(None);
        };
        if entry.password.is_empty() {
            tracing::warn!(machine = url.netloc(), path = %self.path.display(), "netrc entry has no password");
            return Ok(None);
        }
        match self.checked(entry, url.netloc()) {
            Ok(found) => Ok(Some(found)),
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

/// The entry the SDK would use for `url`: its machine, else `default`, else for a
/// CoreWeave Forge host the entry of the W&B API behind it.
fn lookup<'n>(netrc: &'n Netrc, url: &BaseUrl) -> Option<&'n Entry> {
    netrc.authenticators(url.netloc()).or_else(|| {
        url.forge_upstream_netloc()
            .and_then(|upstream| netrc.authenticators(upstream))
    })
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
        let written = atomic::update(&self.path, |text| {
            let out = netrc_edit::set_password(text, url.netloc(), key.expose())
                .map_err(|e| self.edit_error(e))?;
            Ok::<_, StoreError>(Some((out, ())))
        })?;
        let location = self.path.display().to_string();
        Ok(match written.and_then(|((), w)| w.note(&self.path)) {
            Some(note) => format!("{location} ({note})"),
            None => location,
        })
    }

    fn delete(&self, url: &BaseUrl) -> Result<bool, StoreError> {
        if !self.path.exists() {
            return Ok(false);
        }
        let removed = atomic::update(&self.path, |text| {
            let out =
                netrc_edit::remove_machine(text, url.netloc()).map_err(|e| self.edit_error(e))?;
            Ok::<_, StoreError>(out.map(|text: Zeroizing<String>| (text, ())))
        })?;
        if let Some(note) = removed.as_ref().and_then(|((), w)| w.note(&self.path)) {
            tracing::warn!("{note}");
        }
        Ok(removed.is_some())
    }
}
