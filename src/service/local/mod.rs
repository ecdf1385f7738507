//! The key service in this process: the backend chosen once (a failed choice, such as a
//! locked keychain, is retried on the next call), keychain answers cached in zeroizing
//! memory for [`KEYCHAIN_TTL`], netrc files re-read only when they change on disk. The
//! daemon serves its clients with exactly this.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{
    BackendInfo, DaemonStatus, Erased, ErrorKind, Found, KeyService, Layer, Listed, Migrated,
    ServiceError, ServiceResult, Stored,
};
use crate::config::atomic;
use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;
use crate::store::Store;
use crate::store::backend::{BackendChoice, Primary, Selection};
use crate::store::netrc::NetrcStore;

mod cache;
mod encrypted;
mod migrate;

pub use cache::KEYCHAIN_TTL;
use cache::{Caches, lock};

pub struct LocalService {
    choice: BackendChoice,
    timeout: Duration,
    /// `auto` may choose the kernel keyring (not turned off by `WANDB_CRED_NO_KERNEL_KEYRING`).
    kernel_allowed: bool,
    /// [`Self::label`], made once: the daemon compares it on every `HelloGet`.
    label: String,
    selection: Mutex<Option<Arc<Selection>>>,
    /// Held while a backend is being chosen, with the last failed choice and when it failed.
    selecting: Mutex<Option<(Instant, ServiceError)>>,
    /// This service has used a keychain: from then on a missing one is an error (it
    /// went away), never a reason to switch to plaintext netrc.
    had_keychain: std::sync::atomic::AtomicBool,
    caches: Caches,
    /// Drop cached keys when the keychain signals a change (a lock): set by the daemon,
    /// whose cache lives long; started with the first keychain selection.
    watch_keychain: std::sync::atomic::AtomicBool,
    watching: std::sync::Once,
    /// Held by every change (store, erase, migrate), so that a store's read-back sees its
    /// own write and not that of a concurrent store for the same server.
    writes: Mutex<()>,
}

/// The error of a change that ran out of time before it started: nothing was changed.
fn out_of_time(what: &str) -> ServiceError {
    ServiceError::new(
        ErrorKind::Timeout,
        format!("{what}; nothing was changed, try again"),
    )
}

impl LocalService {
    pub fn new(choice: BackendChoice, timeout: Duration, kernel_allowed: bool) -> Self {
        Self {
            choice,
            label: choice.label(kernel_allowed),
            timeout,
            kernel_allowed,
            selection: Mutex::new(None),
            selecting: Mutex::new(None),
            had_keychain: std::sync::atomic::AtomicBool::new(false),
            caches: Caches::new(),
            watch_keychain: std::sync::atomic::AtomicBool::new(false),
            watching: std::sync::Once::new(),
            writes: Mutex::new(()),
        }
    }

    /// Keys currently cached from the keychain.
    pub fn cached_hosts(&self) -> usize {
        self.caches.cached_hosts()
    }

    /// The choice and the kernel keyring's opt-out, as clients compare them
    /// ([`BackendChoice::label`]).
    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn choice(&self) -> BackendChoice {
        self.choice
    }

    /// From now on, a change the keychain signals (locking it, above all) drops every
    /// cached key, so that a locked keychain's keys are not handed out from memory.
    pub fn watch_keychain(&self) {
        self.watch_keychain
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn start_watching(&self) {
        if !self
            .watch_keychain
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        self.watching.call_once(|| {
            let watched =
                crate::store::keychain::watch_changes(Box::new(self.caches.keychain_dropper()));
            tracing::debug!(watched, "watching the keychain for locking");
        });
    }

    /// The backend, chosen on first use; an error is not remembered, so a keychain
    /// unlocked later is picked up by the next call.
    fn selection(&self) -> ServiceResult<Arc<Selection>> {
        if let Some(selection) = lock(&self.selection).clone() {
            return Ok(selection);
        }
        // One choice at a time (a frozen keychain is probed once, not by every caller),
        // and never under the lock `get_without_keychain_call` takes on the daemon's
        // event loop: the probe may wait as long as the keychain timeout.
        let asked = Instant::now();
        let mut last_failure = lock(&self.selecting);
        if let Some(selection) = lock(&self.selection).clone() {
            return Ok(selection);
        }
        // A choice that failed while this caller waited is its answer too.
        if let Some((at, error)) = last_failure.as_ref()
            && *at >= asked
        {
            return Err(error.clone());
        }
        let selection = match self.select() {
            Ok(selection) => selection,
            Err(error) => {
                *last_failure = Some((Instant::now(), error.clone()));
                return Err(error);
            }
        };
        *lock(&self.selection) = Some(selection.clone());
        Ok(selection)
    }

    fn select(&self) -> ServiceResult<Arc<Selection>> {
        let selection = Arc::new(Selection::select(
            self.choice,
            self.timeout,
            self.kernel_allowed,
        )?);
        use std::sync::atomic::Ordering::SeqCst;
        match &selection.primary {
            Primary::Secret(store) => {
                self.had_keychain.store(true, SeqCst);
                if store.layer() == Layer::Keychain || selection.other.is_some() {
                    self.start_watching();
                }
            }
            Primary::Netrc { why } if self.had_keychain.load(SeqCst) => {
                return Err(ServiceError::new(
                    ErrorKind::NoBackend,
                    format!(
                        "the keychain this daemon was using is gone ({why}); start it again (nothing is written to plaintext netrc meanwhile)"
                    ),
                ));
            }
            Primary::Netrc { .. } => {}
        }
        Ok(selection)
    }

    /// A keychain call's result; when the keychain failed (not just "no such key"), the
    /// connection is dropped so that the next call opens a fresh one: a restarted
    /// keychain forgets the sessions of the old one.
    fn through_keychain<T>(&self, result: Result<T, crate::store::StoreError>) -> ServiceResult<T> {
        if let Err(crate::store::StoreError::Keychain { .. }) = &result {
            *lock(&self.selection) = None;
        }
        result.map_err(ServiceError::from)
    }

    /// The key in the off-disk stores (the chosen one, then the other this machine
    /// has), from the cache when it is fresh.
    fn keychain_get(&self, selection: &Selection, url: &BaseUrl) -> ServiceResult<Option<Found>> {
        let Some(primary) = selection.store() else {
            return Ok(None);
        };
        // The encrypted file is in memory already, and its answers must stop the moment
        // it locks (its timeout) or another machine changes it: never cached.
        let cache = primary.cached_by_service();
        if cache && let Some(cached) = self.caches.keychain_answer(url) {
            return Ok(cached);
        }
        let mut answer = None;
        for store in selection.readable() {
            if let Some(found) = self.through_keychain(store.get(url))? {
                answer = Some(Found {
                    key: found.key,
                    layer: store.layer(),
                    location: found.location,
                });
                break;
            }
        }
        if cache {
            self.caches.remember(url, answer.as_ref());
        }
        Ok(answer)
    }

    /// `get` when it needs no keychain call: the backend is chosen and the keychain's
    /// answer for `url` is cached, or there is no keychain. Then only memory and the
    /// netrc file are looked at (a `stat`, and a read when the file changed), so the
    /// daemon answers on its own thread instead of a blocking one; but a netrc file not
    /// yet seen by `get`, or on a network file system, is left to `get`. `None`: use
    /// `get`.
    pub fn get_without_keychain_call(
        &self,
        url: &BaseUrl,
        netrc: Option<&Path>,
    ) -> Option<ServiceResult<Option<Found>>> {
        let selection = lock(&self.selection).clone()?;
        // A store that keeps its own answers (the encrypted file, Vault) is asked.
        if selection.store().is_some_and(|s| !s.cached_by_service()) {
            return None;
        }
        if selection.store().is_some()
            && let Some(found) = self.caches.keychain_answer(url)?
        {
            return Some(Ok(Some(found)));
        }
        Some(match netrc {
            Some(path) => {
                let local = self.caches.netrc_is_local(path);
                if !local {
                    return None;
                }
                self.caches.netrc_get(path, url)
            }
            None => Ok(None),
        })
    }
}

impl KeyService for LocalService {
    fn get(&self, url: &BaseUrl, netrc: Option<&Path>) -> ServiceResult<Option<Found>> {
        let selection = self.selection()?;
        if let Some(found) = self.keychain_get(&selection, url)? {
            return Ok(Some(found));
        }
        match netrc {
            Some(path) => {
                self.caches.note_file_system(path);
                self.caches.netrc_get(path, url)
            }
            None => Ok(None),
        }
    }

    fn store(&self, url: &BaseUrl, key: &ApiKey, netrc: &Path) -> ServiceResult<Stored> {
        let _writing = lock(&self.writes);
        let selection = self.selection()?;
        let netrc = NetrcStore::new(netrc.to_owned());
        match &selection.primary {
            Primary::Secret(keychain) => {
                if atomic::out_of_time() {
                    return Err(out_of_time(
                        "the request ran out of time before the keychain was asked",
                    ));
                }
                let location = self.through_keychain(keychain.set_verified(url, key))?;
                let layer = keychain.layer();
                self.caches.remember(
                    url,
                    Some(&Found {
                        key: key.clone(),
                        layer,
                        location: location.clone(),
                    }),
                );
                // One key per account: a copy in the other off-disk store goes too.
                if let Some(other) = &selection.other
                    && let Err(e) = other.delete(url)
                {
                    tracing::warn!(error = %e, "could not remove the copy in {}", other.title());
                }
                let removed_plaintext = match netrc.delete(url) {
                    Ok(removed) => removed,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not remove the plaintext copy from netrc");
                        false
                    }
                };
                Ok(Stored {
                    layer,
                    location,
                    why: keychain.lasts().map(str::to_owned),
                    removed_plaintext,
                })
            }
            Primary::Netrc { why } => Ok(Stored {
                layer: Layer::Netrc,
                location: netrc.set(url, key)?,
                why: Some(why.clone()),
                removed_plaintext: false,
            }),
        }
    }

    fn erase(&self, url: &BaseUrl, netrc: &Path) -> ServiceResult<Erased> {
        let _writing = lock(&self.writes);
        // A keychain that cannot be reached is an error before anything is removed.
        let selection = self.selection()?;
        let netrc = NetrcStore::new(netrc.to_owned());
        let mut erased = Erased {
            removed: Vec::new(),
            looked_in: Vec::new(),
        };
        for store in selection.readable() {
            if self.through_keychain(store.delete(url))? {
                erased.removed.push(store.describe());
            }
            erased.looked_in.push(store.describe());
        }
        if selection.store().is_some() {
            self.caches.remember(url, None);
        }
        if netrc.delete(url)? {
            erased.removed.push(netrc.describe());
        }
        erased.looked_in.push(netrc.describe());
        Ok(erased)
    }

    fn list(&self, netrc: &Path) -> ServiceResult<Vec<Listed>> {
        let selection = self.selection()?;
        let mut servers = Vec::new();
        for store in selection.readable() {
            for (account, key) in self.through_keychain(store.list())? {
                servers.push(Listed {
                    location: store.describe(),
                    server: account,
                    layer: store.layer(),
                    masked: key.masked(),
                });
            }
        }
        let netrc = NetrcStore::new(netrc.to_owned());
        for machine in netrc.wandb_machines()? {
            if let Some(found) = netrc.machine_key(&machine)? {
                servers.push(Listed {
                    server: machine,
                    layer: Layer::Netrc,
                    masked: found.key.masked(),
                    location: found.location,
                });
            }
        }
        Ok(servers)
    }

    fn migrate(
        &self,
        urls: &[BaseUrl],
        netrc: &Path,
        keep_netrc: bool,
    ) -> ServiceResult<Vec<Migrated>> {
        let _writing = lock(&self.writes);
        let selection = self.selection()?;
        if let Primary::Netrc { why } = &selection.primary {
            return Err(ServiceError::new(
                ErrorKind::NoBackend,
                format!("there is no keychain to move keys into ({why})"),
            ));
        }
        let netrc = NetrcStore::new(netrc.to_owned());
        Ok(urls
            .iter()
            .map(
                |url| match self.migrate_one(&selection, url, &netrc, keep_netrc) {
                    Ok(message) => Migrated {
                        url: url.to_string(),
                        ok: true,
                        message,
                    },
                    Err(e) => Migrated {
                        url: url.to_string(),
                        ok: false,
                        message: e.message,
                    },
                },
            )
            .collect())
    }

    fn backend(&self) -> BackendInfo {
        let choice = self.choice;
        match self.selection() {
            Ok(selection) => match &selection.primary {
                Primary::Secret(k) => {
                    // The keychain's state now, not when it was chosen: it may have been
                    // locked since (status and doctor must not call it ready then).
                    if k.name() == "keychain" {
                        match crate::store::keychain::probe(self.timeout, false) {
                            Ok(crate::store::keychain::Probe::Locked(hint)) => {
                                return BackendInfo {
                                    name: None,
                                    detail: format!("the keychain is locked: {hint}"),
                                };
                            }
                            Err(e) => {
                                return BackendInfo {
                                    name: None,
                                    detail: e.to_string(),
                                };
                            }
                            Ok(_) => {}
                        }
                    }
                    let also = selection
                        .other
                        .as_ref()
                        .map(|o| format!("; also read: {}", o.describe()))
                        .unwrap_or_default();
                    let ready = match k.layer() {
                        Layer::Keychain => "unlocked and ready",
                        // Open or not is the daemon's state: a lookup says which.
                        Layer::Vault => {
                            "the team's secrets manager; read keys are served for a bounded time"
                        }
                        Layer::EncryptedFile => {
                            "age-encrypted with a passphrase; the daemon serves it once `wandb-cred unlock` opened it"
                        }
                        _ => {
                            "no keychain, so the kernel keyring; keys last until the machine restarts"
                        }
                    };
                    BackendInfo {
                        name: Some(k.name().to_owned()),
                        detail: format!("{} ({choice}: {ready}{also})", k.describe()),
                    }
                }
                Primary::Netrc { why } => BackendInfo {
                    name: Some("netrc".to_owned()),
                    detail: match choice {
                        BackendChoice::Netrc => format!("plaintext file ({why})"),
                        _ => format!("plaintext file ({choice}: {why})"),
                    },
                },
            },
            Err(e) => BackendInfo {
                name: None,
                detail: e.message,
            },
        }
    }

    fn daemon(&self) -> Option<DaemonStatus> {
        None
    }

    fn reload(&self) -> ServiceResult<()> {
        *lock(&self.selection) = None;
        self.caches.clear();
        Ok(())
    }

    fn unlock(
        &self,
        passphrase: &zeroize::Zeroizing<String>,
        create: bool,
        lock_after: Option<Duration>,
    ) -> ServiceResult<()> {
        let _writing = lock(&self.writes);
        encrypted::unlock(&self.caches, passphrase, create, lock_after)
    }

    fn rekey(&self, passphrase: &zeroize::Zeroizing<String>) -> ServiceResult<bool> {
        let _writing = lock(&self.writes);
        encrypted::rekey(&self.caches, passphrase)
    }

    fn lock(&self) -> ServiceResult<bool> {
        encrypted::lock(&self.caches)
    }
}
