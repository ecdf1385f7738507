//! The local service's memory: keychain answers cached in locked, zeroizing memory
//! (bounded, whatever URLs are asked for) and netrc files' text, read again only when
//! the file changed on disk.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use zeroize::Zeroizing;

use crate::config::atomic;
use crate::key::ApiKey;
use crate::locked::LockedText;
use crate::resolve::base_url::BaseUrl;
use crate::service::{ErrorKind, Found, Layer, ServiceError, ServiceResult};
use crate::store::netrc::NetrcStore;
use crate::sys;

/// How long a keychain answer (a key, or "none") is trusted without asking again.
/// Changes made through the service update the cache at once; `reload` drops it.
pub const KEYCHAIN_TTL: Duration = Duration::from_secs(600);

/// A poisoned lock still guards consistent data here (every change is one insert or
/// clear), so its data is used.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// "No key" answers remembered at most (see [`Caches::remember`]).
pub(super) const MAX_MISSES: usize = 32;

/// Keychain answers remembered at most.
pub(super) const MAX_CACHED: usize = 256;

/// netrc paths whose text or file system is remembered at most (clients name the path).
pub(super) const MAX_NETRC_PATHS: usize = 16;

/// A cached answer of the off-disk stores; the key in locked memory (it may stay for
/// minutes), with where it was found.
pub(super) struct CachedKey {
    found: Option<(LockedText, String, Layer)>,
    at: Instant,
}

/// What identifies one version of a file on disk.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
    identity: u64,
}

pub(super) struct NetrcSnapshot {
    fingerprint: Fingerprint,
    /// The text, in locked memory (it holds keys for as long as the file is unchanged).
    text: Option<Arc<LockedText>>,
}

pub(super) fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Fingerprint {
        len: meta.len(),
        modified: meta.modified().ok(),
        identity: sys::file_identity(&meta),
    })
}

/// A cached key as an [`ApiKey`] (a short-lived copy; the cache keeps the locked one).
pub(super) fn unlocked_key(key: &LockedText) -> ApiKey {
    ApiKey::parse(Zeroizing::new(key.as_str().to_owned()))
        .expect("only keys that passed the rules are cached")
}

/// What the service remembers between requests.
pub(super) struct Caches {
    /// Keychain answers by account; shared with the keychain watcher, which empties it
    /// when the keychain is locked.
    keychain: Arc<Mutex<HashMap<String, CachedKey>>>,
    netrc: Mutex<HashMap<std::path::PathBuf, NetrcSnapshot>>,
    /// For each netrc path looked at: whether it is on a network file system (then it
    /// is only ever read on a blocking thread: a hung server must not stall the daemon).
    netrc_on_network: Mutex<HashMap<std::path::PathBuf, bool>>,
}

impl Caches {
    pub(super) fn new() -> Self {
        Self {
            keychain: Arc::new(Mutex::new(HashMap::new())),
            netrc: Mutex::new(HashMap::new()),
            netrc_on_network: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets every key and file text.
    pub(super) fn clear(&self) {
        lock(&self.keychain).clear();
        lock(&self.netrc).clear();
    }

    /// Empties the keychain answers when called (for the keychain's change signal).
    pub(super) fn keychain_dropper(&self) -> impl Fn() + Send + 'static {
        let cache = self.keychain.clone();
        move || {
            let mut cache = lock(&cache);
            if !cache.is_empty() {
                tracing::info!("the keychain changed; dropped cached keys");
                cache.clear();
            }
        }
    }

    /// Whether the netrc file at `path` is known to be on a local file system.
    pub(super) fn netrc_is_local(&self, path: &Path) -> bool {
        lock(&self.netrc_on_network).get(path) == Some(&false)
    }

    /// Keys currently cached from the keychain.
    pub(super) fn cached_hosts(&self) -> usize {
        lock(&self.keychain)
            .values()
            .filter(|c| c.found.is_some())
            .count()
    }

    /// The keychain's cached answer for `url` (a key, or `Some(None)`: none there), if
    /// it is fresh.
    pub(super) fn keychain_answer(&self, url: &BaseUrl) -> Option<Option<Found>> {
        let cache = lock(&self.keychain);
        let cached = cache
            .get(&url.account())
            .filter(|c| c.at.elapsed() < KEYCHAIN_TTL)?;
        Some(cached.found.as_ref().map(|(key, location, layer)| Found {
            key: unlocked_key(key),
            layer: *layer,
            location: location.clone(),
        }))
    }

    /// Notes once per path whether a netrc file is on a network file system.
    pub(super) fn note_file_system(&self, path: &Path) {
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
    pub(super) fn remember(&self, url: &BaseUrl, found: Option<&Found>) {
        let found = found.map(|f| (LockedText::new(f.key.expose()), f.location.clone(), f.layer));
        let mut cache = lock(&self.keychain);
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
    pub(super) fn netrc_text(&self, path: &Path) -> ServiceResult<Option<Arc<LockedText>>> {
        let now = fingerprint(path);
        if let Some(now) = now
            && let Some(snapshot) = lock(&self.netrc).get(path)
            && snapshot.fingerprint == now
        {
            return Ok(snapshot.text.clone());
        }
        let text = atomic::read_own_text(path)
            .map_err(|e| ServiceError::new(ErrorKind::Internal, e.to_string()))?
            .map(|text| Arc::new(LockedText::new(&text)));
        if let Some(fingerprint) = now {
            let mut cache = lock(&self.netrc);
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

    pub(super) fn netrc_get(&self, path: &Path, url: &BaseUrl) -> ServiceResult<Option<Found>> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::local::LocalService;

    use crate::service::KeyService;
    use crate::store::backend::BackendChoice;
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
        service.caches.remember(&url, Some(&found()));
        // erase forgets the key...
        service.caches.remember(&url, None);
        service.caches.remember(&url, Some(&found()));
        // ...and so does reload.
        service.reload().unwrap();
        assert_eq!(service.cached_hosts(), 0);
        assert_eq!(test_alloc::stop(), 0, "freed memory still held a key");
    }

    #[test]
    fn the_cache_is_bounded_whatever_urls_are_asked_for() {
        let service = LocalService::new(BackendChoice::Netrc, Duration::from_secs(1), false);
        let stored = BaseUrl::parse("https://api.wandb.ai").unwrap();
        service.caches.remember(
            &stored,
            Some(&Found {
                key: marked_key(),
                layer: Layer::Keychain,
                location: "the keychain".to_owned(),
            }),
        );
        for i in 0..5_000 {
            let url = BaseUrl::parse(&format!("https://h{i}.example.com")).unwrap();
            service.caches.remember(&url, None);
        }
        let cache = lock(&service.caches.keychain);
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
            // Built in place in one wiped buffer: a temporary holding the marker, freed
            // unwiped before the watch, could be reused and freed again inside it.
            let mut text = zeroize::Zeroizing::new(String::with_capacity(64 + 11 * repeats));
            text.push_str("machine api.wandb.ai\n  login user\n  password wandb_v1_");
            for _ in 0..repeats {
                text.push_str("WIPEDCANARY");
            }
            text.push('\n');
            std::fs::write(&path, text.as_bytes()).unwrap();
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
        lock(&service.caches.netrc_on_network).insert(path.clone(), true);
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
