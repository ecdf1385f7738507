//! The key service in this process: the backend chosen once (a failed choice, such as a
//! locked keychain, is retried on the next call), keychain answers cached in zeroizing
//! memory for [`KEYCHAIN_TTL`], netrc files re-read only when they change on disk. The
//! daemon serves its clients with exactly this.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use zeroize::Zeroizing;

use super::{
    BackendInfo, DaemonStatus, Erased, ErrorKind, Found, KeyService, Layer, Listed, Migrated,
    ServiceError, ServiceResult, Stored,
};
use crate::config::atomic;
use crate::key::ApiKey;
use crate::locked::LockedText;
use crate::resolve::base_url::BaseUrl;
use crate::store::Store;
use crate::store::backend::{BackendChoice, Primary, Selection};
use crate::store::netrc::NetrcStore;
use crate::sys;

/// How long a keychain answer (a key, or "none") is trusted without asking again.
/// Changes made through this service update the cache at once; `reload` drops it.
pub const KEYCHAIN_TTL: Duration = Duration::from_secs(600);

/// "No key" answers remembered at most (see [`LocalService::remember`]).
const MAX_MISSES: usize = 32;
/// Keychain answers remembered at most.
const MAX_CACHED: usize = 256;
/// netrc paths whose text or file system is remembered at most (clients name the path).
const MAX_NETRC_PATHS: usize = 16;

/// A cached answer of the off-disk stores; the key in locked memory (it may stay for
/// minutes), with where it was found.
struct CachedKey {
    found: Option<(LockedText, String, Layer)>,
    at: Instant,
}

/// What identifies one version of a file on disk.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
    identity: u64,
}

struct NetrcSnapshot {
    fingerprint: Fingerprint,
    /// The text, in locked memory (it holds keys for as long as the file is unchanged).
    text: Option<Arc<LockedText>>,
}

pub struct LocalService {
    choice: BackendChoice,
    timeout: Duration,
    /// `auto` may choose the kernel keyring (not turned off by `WANDB_CRED_NO_KERNEL_KEYRING`).
    kernel_allowed: bool,
    selection: Mutex<Option<Arc<Selection>>>,
    /// Held while a backend is being chosen, with the last failed choice and when it failed.
    selecting: Mutex<Option<(Instant, ServiceError)>>,
    /// This service has used a keychain: from then on a missing one is an error (it
    /// went away), never a reason to switch to plaintext netrc.
    had_keychain: std::sync::atomic::AtomicBool,
    keychain_cache: Arc<Mutex<HashMap<String, CachedKey>>>,
    /// Drop cached keys when the keychain signals a change (a lock): set by the daemon,
    /// whose cache lives long; started with the first keychain selection.
    watch_keychain: std::sync::atomic::AtomicBool,
    watching: std::sync::Once,
    /// Held by every change (store, erase, migrate), so that a store's read-back sees its
    /// own write and not that of a concurrent store for the same server.
    writes: Mutex<()>,
    netrc_cache: Mutex<HashMap<PathBuf, NetrcSnapshot>>,
    /// For each netrc path looked at: whether it is on a network file system (then it
    /// is only ever read on a blocking thread: a hung server must not stall the daemon).
    netrc_on_network: Mutex<HashMap<PathBuf, bool>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The error of a change that ran out of time before it started: nothing was changed.
fn out_of_time(what: &str) -> ServiceError {
    ServiceError::new(
        ErrorKind::Timeout,
        format!("{what}; nothing was changed, try again"),
    )
}

fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Fingerprint {
        len: meta.len(),
        modified: meta.modified().ok(),
        identity: sys::file_identity(&meta),
    })
}

impl LocalService {
    pub fn new(choice: BackendChoice, timeout: Duration, kernel_allowed: bool) -> Self {
        Self {
            choice,
            timeout,
            kernel_allowed,
            selection: Mutex::new(None),
            selecting: Mutex::new(None),
            had_keychain: std::sync::atomic::AtomicBool::new(false),
            keychain_cache: Arc::new(Mutex::new(HashMap::new())),
            watch_keychain: std::sync::atomic::AtomicBool::new(false),
            watching: std::sync::Once::new(),
            writes: Mutex::new(()),
            netrc_cache: Mutex::new(HashMap::new()),
            netrc_on_network: Mutex::new(HashMap::new()),
        }
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
            let cache = self.keychain_cache.clone();
            let watched = crate::store::keychain::watch_changes(Box::new(move || {
                let mut cache = lock(&cache);
                if !cache.is_empty() {
                    tracing::info!("the keychain changed; dropped cached keys");
                    cache.clear();
                }
            }));
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

    /// Keys currently cached from the keychain.
    pub fn cached_hosts(&self) -> usize {
        lock(&self.keychain_cache)
            .values()
            .filter(|c| c.found.is_some())
            .count()
    }

    /// The key in the off-disk stores (the chosen one, then the other this machine
    /// has), from the cache when it is fresh.
    fn keychain_get(&self, selection: &Selection, url: &BaseUrl) -> ServiceResult<Option<Found>> {
        if selection.store().is_none() {
            return Ok(None);
        }
        if let Some(cached) = self.cached_keychain_answer(url) {
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
        self.remember(url, answer.as_ref());
        Ok(answer)
    }

    /// The keychain's cached answer for `url` (a key, or `Some(None)`: none there), if
    /// it is fresh.
    fn cached_keychain_answer(&self, url: &BaseUrl) -> Option<Option<Found>> {
        let cache = lock(&self.keychain_cache);
        let cached = cache
            .get(&url.account())
            .filter(|c| c.at.elapsed() < KEYCHAIN_TTL)?;
        Some(cached.found.as_ref().map(|(key, location, layer)| Found {
            key: unlocked_key(key),
            layer: *layer,
            location: location.clone(),
        }))
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
        if selection.store().is_some()
            && let Some(found) = self.cached_keychain_answer(url)?
        {
            return Some(Ok(Some(found)));
        }
        Some(match netrc {
            Some(path) => {
                let local = lock(&self.netrc_on_network).get(path) == Some(&false);
                if !local {
                    return None;
                }
                self.netrc_get(path, url)
            }
            None => Ok(None),
        })
    }

    /// Notes once per path whether a netrc file is on a network file system.
    fn note_file_system(&self, path: &Path) {
        if !lock(&self.netrc_on_network).contains_key(path) {
            let on_network = sys::on_network_fs(path);
            let mut known = lock(&self.netrc_on_network);
            if known.len() >= MAX_NETRC_PATHS {
                known.clear();
            }
            known.insert(path.to_owned(), on_network);
        }
    }

    /// Caches the keychain's answer. Bounded: any URL can be asked for, so at most
    /// [`MAX_MISSES`] "none there" answers are kept (the oldest goes first), and at most
    /// [`MAX_CACHED`] answers in all; stale ones are dropped first.
    fn remember(&self, url: &BaseUrl, found: Option<&Found>) {
        let found = found.map(|f| (LockedText::new(f.key.expose()), f.location.clone(), f.layer));
        let mut cache = lock(&self.keychain_cache);
        cache.retain(|_, c| c.at.elapsed() < KEYCHAIN_TTL);
        let oldest = |cache: &HashMap<String, CachedKey>, misses_only: bool| {
            cache
                .iter()
                .filter(|(_, c)| !misses_only || c.found.is_none())
                .min_by_key(|(_, c)| c.at)
                .map(|(k, _)| k.clone())
        };
        let misses = cache.values().filter(|c| c.found.is_none()).count();
        let evict = if found.is_none() && misses >= MAX_MISSES {
            oldest(&cache, true)
        } else if cache.len() >= MAX_CACHED {
            oldest(&cache, false)
        } else {
            None
        };
        if let Some(account) = evict {
            cache.remove(&account);
        }
        cache.insert(
            url.account(),
            CachedKey {
                found,
                at: Instant::now(),
            },
        );
    }

    /// The netrc file's text, read again only when the file changed on disk. The cache's
    /// lock is held only to look and to store, never while the file is read: a slow
    /// file (a hung network mount) delays only the request that reads it.
    fn netrc_text(&self, path: &Path) -> ServiceResult<Option<Arc<LockedText>>> {
        let now = fingerprint(path);
        if let Some(now) = now
            && let Some(snapshot) = lock(&self.netrc_cache).get(path)
            && snapshot.fingerprint == now
        {
            return Ok(snapshot.text.clone());
        }
        let text = atomic::read_own_text(path)
            .map_err(|e| ServiceError::new(ErrorKind::Internal, e.to_string()))?
            .map(|text| Arc::new(LockedText::new(&text)));
        if let Some(fingerprint) = now {
            let mut cache = lock(&self.netrc_cache);
            if cache.len() >= MAX_NETRC_PATHS && !cache.contains_key(path) {
                cache.clear();
            }
            cache.insert(
                path.to_owned(),
                NetrcSnapshot {
                    fingerprint,
                    text: text.clone(),
                },
            );
        }
        Ok(text)
    }

    fn netrc_get(&self, path: &Path, url: &BaseUrl) -> ServiceResult<Option<Found>> {
        let Some(text) = self.netrc_text(path)? else {
            return Ok(None);
        };
        let found = NetrcStore::new(path.to_owned()).get_in(text.as_str(), url)?;
        Ok(found.map(|f| Found {
            key: f.key,
            layer: Layer::Netrc,
            location: f.location,
        }))
    }

    fn migrate_one(
        &self,
        selection: &Selection,
        url: &BaseUrl,
        netrc: &NetrcStore,
        keep: bool,
    ) -> ServiceResult<String> {
        let keychain = selection.store().ok_or_else(|| {
            ServiceError::new(
                ErrorKind::NoBackend,
                "there is no keychain to move keys into",
            )
        })?;
        let title = keychain.title();
        let netloc = url.netloc();
        let mut named = netrc.named_keys(url)?;
        if named.is_empty() {
            return Ok(format!(
                "{netloc}: no key in {}; nothing to move.",
                netrc.path().display()
            ));
        }
        if let Some((other, _)) = named.iter().find(|(_, k)| k.key != named[0].1.key) {
            return Err(ServiceError::new(
                ErrorKind::Internal,
                format!(
                    "{netloc}: {} holds different keys for {} and {other}, two names of one server; left both as they are (`wandb-cred login --host {url}` stores one key for both)",
                    netrc.path().display(),
                    named[0].0
                ),
            ));
        }
        let locations: Vec<String> = named.iter().map(|(_, k)| k.location.clone()).collect();
        let (_, found) = named.swap_remove(0);
        let mut said = match self.through_keychain(keychain.get(url))? {
            Some(existing) if existing.key != found.key => {
                return Err(ServiceError::new(
                    ErrorKind::Internal,
                    format!(
                        "{netloc}: {title} already holds a different key for {url}; left both as they are (use `wandb-cred logout` and `login` to choose)"
                    ),
                ));
            }
            Some(_) => format!("{netloc}: {title} already holds this key."),
            None => {
                self.through_keychain(keychain.set_verified(url, &found.key))?;
                format!(
                    "{netloc}: stored in {title} as {} and read back.",
                    url.account()
                )
            }
        };
        self.remember(
            url,
            Some(&Found {
                key: found.key.clone(),
                layer: keychain.layer(),
                location: keychain.location(url),
            }),
        );
        let locations = locations.join(" and ");
        if keep {
            said.push_str(&format!(" Kept in {locations} (--keep-netrc)."));
        } else if netrc.delete(url)? {
            said.push_str(&format!(" Removed from {locations}."));
        }
        Ok(said)
    }
}

/// A cached key as an [`ApiKey`] (a short-lived copy; the cache keeps the locked one).
fn unlocked_key(key: &LockedText) -> ApiKey {
    ApiKey::parse(Zeroizing::new(key.as_str().to_owned()))
        .expect("only keys that passed the rules are cached")
}

impl KeyService for LocalService {
    fn get(&self, url: &BaseUrl, netrc: Option<&Path>) -> ServiceResult<Option<Found>> {
        let selection = self.selection()?;
        if let Some(found) = self.keychain_get(&selection, url)? {
            return Ok(Some(found));
        }
        match netrc {
            Some(path) => {
                self.note_file_system(path);
                self.netrc_get(path, url)
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
                self.remember(
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
            self.remember(url, None);
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
                    let also = selection
                        .other
                        .as_ref()
                        .map(|o| format!("; also read: {}", o.describe()))
                        .unwrap_or_default();
                    let ready = match k.name() {
                        "keychain" => "unlocked and ready",
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
        lock(&self.keychain_cache).clear();
        lock(&self.netrc_cache).clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_alloc;

    const MARKER: &[u8] = b"WIPEDCANARY";

    /// A key holding the marker, built in place (no temporary copy of it is freed).
    fn marked_key() -> ApiKey {
        let mut text = Zeroizing::new(String::with_capacity(128));
        text.push_str("wandb_v1_");
        for _ in 0..7 {
            text.push_str("WIPEDCANARY");
        }
        ApiKey::parse(text).unwrap()
    }

    #[test]
    fn cached_keychain_keys_are_wiped_when_erased_or_reloaded() {
        let url = BaseUrl::parse("https://api.wandb.ai").unwrap();
        let service = LocalService::new(BackendChoice::Netrc, Duration::from_secs(1), false);
        test_alloc::watch(MARKER);
        let found = || Found {
            key: marked_key(),
            layer: Layer::Keychain,
            location: "the keychain".to_owned(),
        };
        service.remember(&url, Some(&found()));
        // erase forgets the key...
        service.remember(&url, None);
        service.remember(&url, Some(&found()));
        // ...and so does reload.
        service.reload().unwrap();
        assert_eq!(service.cached_hosts(), 0);
        assert_eq!(test_alloc::stop(), 0, "freed memory still held a key");
    }

    #[test]
    fn the_cache_is_bounded_whatever_urls_are_asked_for() {
        let service = LocalService::new(BackendChoice::Netrc, Duration::from_secs(1), false);
        let stored = BaseUrl::parse("https://api.wandb.ai").unwrap();
        service.remember(
            &stored,
            Some(&Found {
                key: marked_key(),
                layer: Layer::Keychain,
                location: "the keychain".to_owned(),
            }),
        );
        for i in 0..5_000 {
            let url = BaseUrl::parse(&format!("https://h{i}.example.com")).unwrap();
            service.remember(&url, None);
        }
        let cache = lock(&service.keychain_cache);
        assert_eq!(cache.len(), MAX_MISSES + 1, "misses are bounded");
        assert!(
            cache.contains_key(&stored.account()),
            "a key is never pushed out by misses"
        );
        // The newest misses are the ones kept.
        let newest = BaseUrl::parse("https://h4999.example.com").unwrap();
        assert!(cache.contains_key(&newest.account()));
    }

    #[test]
    fn netrc_text_cached_and_read_is_wiped_on_reload() {
        // One key shorter than the parser's first buffer, one that makes it grow.
        for repeats in [7, 40] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(".netrc");
            let text = format!(
                "machine api.wandb.ai\n  login user\n  password wandb_v1_{}\n",
                "WIPEDCANARY".repeat(repeats)
            );
            std::fs::write(&path, &text).unwrap();
            let url = BaseUrl::parse("https://api.wandb.ai").unwrap();
            let service = LocalService::new(BackendChoice::Netrc, Duration::from_secs(1), false);
            test_alloc::watch(MARKER);
            let found = service.get(&url, Some(&path)).unwrap().unwrap();
            drop(found);
            service.reload().unwrap();
            let leaked = test_alloc::stop();
            drop(text);
            assert_eq!(
                leaked, 0,
                "freed memory still held a key ({repeats} markers)"
            );
        }
    }

    #[test]
    fn gets_are_answered_without_the_keychain_only_once_the_backend_is_chosen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".netrc");
        let url = BaseUrl::parse("https://api.wandb.ai").unwrap();
        let netrc = |c: char| {
            format!(
                "machine api.wandb.ai\n  login user\n  password {}\n",
                c.to_string().repeat(40)
            )
        };
        std::fs::write(&path, netrc('a')).unwrap();
        let service = LocalService::new(BackendChoice::Netrc, Duration::from_secs(1), false);
        assert!(
            service
                .get_without_keychain_call(&url, Some(&path))
                .is_none(),
            "the backend is not chosen yet"
        );
        service.get(&url, Some(&path)).unwrap().unwrap();
        let first = |service: &LocalService| {
            let found = service.get_without_keychain_call(&url, Some(&path));
            found
                .unwrap()
                .unwrap()
                .map(|f| f.key.expose().chars().next().unwrap())
        };
        assert_eq!(first(&service), Some('a'));
        // A changed file is read again (a different length, so even a coarse clock sees it).
        std::fs::write(&path, format!("{}# changed\n", netrc('b'))).unwrap();
        assert_eq!(first(&service), Some('b'));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(first(&service), None);
        assert!(
            service
                .get_without_keychain_call(&url, None)
                .unwrap()
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_netrc_on_a_network_file_system_is_left_to_blocking_threads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".netrc");
        let url = BaseUrl::parse("https://api.wandb.ai").unwrap();
        std::fs::write(
            &path,
            format!(
                "machine api.wandb.ai\n  login user\n  password {}\n",
                "a".repeat(40)
            ),
        )
        .unwrap();
        let service = LocalService::new(BackendChoice::Netrc, Duration::from_secs(1), false);
        service.get(&url, Some(&path)).unwrap().unwrap();
        #[cfg(target_os = "linux")]
        assert!(!sys::on_network_fs(&path), "a temporary folder is local");
        // As if the folder were an NFS mount.
        lock(&service.netrc_on_network).insert(path.clone(), true);
        assert!(
            service
                .get_without_keychain_call(&url, Some(&path))
                .is_none()
        );
        // A netrc path that `get` has not looked at yet is not known to be local either.
        let other = dir.path().join("other-netrc");
        assert!(
            service
                .get_without_keychain_call(&url, Some(&other))
                .is_none()
        );
    }

    #[test]
    fn the_check_sees_a_copy_that_was_not_wiped() {
        test_alloc::watch(MARKER);
        drop(String::from_utf8(MARKER.repeat(2)).unwrap());
        assert_eq!(test_alloc::stop(), 1);
    }
}
