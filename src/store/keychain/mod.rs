//! Keys in the platform keychain through the keyring-core family of crates.
//!
//! Item identity (documented in docs/concepts/stores.md): service `wandb`, account = the server's
//! account URL ([`BaseUrl::account`]: for the cloud `https://api.wandb.ai`, whichever
//! name it is given by), so keys for different servers live side by side. An item
//! filed under another name of the same server (by an earlier version, which used the
//! URL as written) is still found, and is replaced or removed with it. Every call runs on a
//! worker thread and is bounded by a timeout, so a keychain waiting for a prompt that
//! nobody can answer never hangs the caller.

#[cfg(all(unix, not(target_os = "macos")))]
#[path = "secret_service.rs"]
mod platform;

#[cfg(target_os = "macos")]
#[path = "apple.rs"]
mod platform;

#[cfg(windows)]
#[path = "windows.rs"]
mod platform;

use std::sync::{Arc, Condvar, Mutex, MutexGuard, mpsc};
use std::time::Duration;
use std::time::Instant;

use keyring_core::api::CredentialStore;
use zeroize::Zeroizing;

use super::{Store, StoreError, StoredKey};
use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;

/// The service name of every item.
pub const SERVICE: &str = "wandb";

/// The default bound on one keychain call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// `WANDB_CRED_KEYCHAIN_TIMEOUT` from the environment, else [`DEFAULT_TIMEOUT`].
pub fn timeout_from(env: &crate::env::Environment) -> Result<Duration, String> {
    match env.var("WANDB_CRED_KEYCHAIN_TIMEOUT") {
        None => Ok(DEFAULT_TIMEOUT),
        Some(text) => {
            crate::duration::parse(text).map_err(|e| format!("WANDB_CRED_KEYCHAIN_TIMEOUT: {e}"))
        }
    }
}

/// What a quick look at the keychain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// Ready to store and read keys.
    Ready,
    /// There is no keychain here (the reason says what is missing).
    Missing(String),
    /// There is one, but it cannot be used without unlocking (the hint says how).
    Locked(String),
}

/// Looks at the keychain without prompting. With `may_start` the platform may start
/// the keychain service (D-Bus activation); without it only a running one counts. A
/// keychain that does not answer in time (typically waiting on a prompt nobody sees)
/// is an error, not "no keychain".
pub fn probe(timeout: Duration, may_start: bool) -> Result<Probe, StoreError> {
    bounded(timeout, move || platform::probe(may_start))
}

/// The program that unlocks this platform's keychain at a terminal by itself (macOS:
/// `security unlock-keychain`); `None` where [`unlock`] takes a password.
pub const UNLOCK_PROGRAM: Option<&[&str]> = platform::UNLOCK_PROGRAM;

/// Unlocks the keychain with its password (the Secret Service: GNOME Keyring), bounded
/// by `timeout`; the reason when it could not.
pub fn unlock(timeout: Duration, password: Zeroizing<Vec<u8>>) -> Result<(), String> {
    match bounded(timeout, move || platform::unlock(&password)) {
        Ok(done) => done,
        Err(e) => Err(e.to_string()),
    }
}

/// Calls `changed` whenever the keychain says it changed (locked, unlocked, items added
/// or removed), where the platform tells (the Secret Service does); whether it does.
pub fn watch_changes(changed: Box<dyn Fn() + Send>) -> bool {
    platform::watch(changed)
}

/// The platform keychain as a [`Store`].
pub struct KeychainStore {
    inner: Arc<CredentialStore>,
    timeout: Duration,
}

impl KeychainStore {
    /// Connects to the platform keychain (call [`probe`] first to learn whether one is usable).
    pub fn open(timeout: Duration) -> Result<Self, StoreError> {
        let inner = bounded(timeout, platform::open)?.map_err(keychain_error)?;
        Ok(Self { inner, timeout })
    }

    /// Every W&B item in the keychain: its account (the server URL) and key. Items
    /// whose secret is not a valid key are skipped with a log line.
    pub fn list(&self) -> Result<Vec<(String, ApiKey)>, StoreError> {
        let inner = self.inner.clone();
        let found = bounded(self.timeout, move || {
            let mut items = Vec::new();
            for account in platform::accounts(&inner)? {
                let entry = platform::build_entry(&inner, &account)?;
                match entry.get_password() {
                    Ok(secret) => items.push((account, Zeroizing::new(secret))),
                    // Deleted between the listing and the read.
                    Err(keyring_core::Error::NoEntry) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(items)
        })?
        .map_err(keychain_error)?;
        Ok(found
            .into_iter()
            .filter_map(|(account, secret)| match ApiKey::parse(secret) {
                Ok(key) => Some((account, key)),
                Err(e) => {
                    tracing::warn!(%account, error = %e, "skipping a keychain item that is not a valid key");
                    None
                }
            })
            .collect())
    }

    /// Stores the key and reads it back; only a key that comes back identical counts
    /// as stored. Returns where it went.
    /// Items under the server's other names are removed only after that.
    pub fn set_verified(&self, url: &BaseUrl, key: &ApiKey) -> Result<String, StoreError> {
        self.write(url, key)?;
        match self.get_account(&url.account())? {
            Some(text) if text.as_str() == key.expose() => {}
            _ => {
                return Err(StoreError::Keychain {
                    message: format!("the key stored for {url} did not read back the same"),
                });
            }
        }
        self.drop_aliases(url)?;
        Ok(location(url))
    }

    fn write(&self, url: &BaseUrl, key: &ApiKey) -> Result<(), StoreError> {
        let secret = Zeroizing::new(key.expose().to_owned());
        self.with_entry(&url.account(), move |entry| entry.set_password(&secret))?
            .map_err(keychain_error)
    }

    /// Removes the items under the server's other names; whether there were any.
    fn drop_aliases(&self, url: &BaseUrl) -> Result<bool, StoreError> {
        let mut removed = false;
        for alias in self.aliases(url)? {
            removed |= self.delete_account(&alias)?;
        }
        Ok(removed)
    }

    /// Runs `op` on the item with this account on a worker thread, within the timeout.
    fn with_entry<T: Send + 'static>(
        &self,
        account: &str,
        op: impl FnOnce(keyring_core::Entry) -> keyring_core::Result<T> + Send + 'static,
    ) -> Result<keyring_core::Result<T>, StoreError> {
        let inner = self.inner.clone();
        let account = account.to_owned();
        bounded(self.timeout, move || {
            let entry = platform::build_entry(&inner, &account)?;
            op(entry)
        })
    }

    /// The key of the item with exactly this account.
    fn get_account(&self, account: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        match self.with_entry(account, |entry| entry.get_password().map(Zeroizing::new))? {
            Ok(text) => Ok(Some(text)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(keychain_error(e)),
        }
    }

    fn delete_account(&self, account: &str) -> Result<bool, StoreError> {
        match self.with_entry(account, |entry| entry.delete_credential())? {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(keychain_error(e)),
        }
    }

    /// The accounts of other items for the same server: its other names, and the URL as
    /// an earlier version wrote it. One search of the keychain.
    fn aliases(&self, url: &BaseUrl) -> Result<Vec<String>, StoreError> {
        let inner = self.inner.clone();
        let accounts =
            bounded(self.timeout, move || platform::accounts(&inner))?.map_err(keychain_error)?;
        let account = url.account();
        Ok(accounts
            .into_iter()
            .filter(|a| *a != account && BaseUrl::from_account(a).is_ok_and(|u| u == *url))
            .collect())
    }
}

impl Store for KeychainStore {
    fn describe(&self) -> String {
        format!("the {} (service {SERVICE})", platform::NAME)
    }

    /// The item under the server's account, else one under another of its names.
    fn get(&self, url: &BaseUrl) -> Result<Option<StoredKey>, StoreError> {
        let account = url.account();
        let mut found = self.get_account(&account)?.map(|text| (account, text));
        if found.is_none() {
            for alias in self.aliases(url)? {
                if let Some(text) = self.get_account(&alias)? {
                    found = Some((alias, text));
                    break;
                }
            }
        }
        let Some((account, text)) = found else {
            return Ok(None);
        };
        let location = location_of(&account);
        match ApiKey::parse(text) {
            Ok(key) => Ok(Some(StoredKey { key, location })),
            Err(source) => Err(StoreError::InvalidKey {
                machine: url.netloc().to_owned(),
                location,
                source,
            }),
        }
    }

    /// Files the key under the server's account; items under its other names go.
    fn set(&self, url: &BaseUrl, key: &ApiKey) -> Result<String, StoreError> {
        self.write(url, key)?;
        self.drop_aliases(url)?;
        Ok(location(url))
    }

    /// Removes the server's items under every name it has.
    fn delete(&self, url: &BaseUrl) -> Result<bool, StoreError> {
        let removed = self.delete_account(&url.account())?;
        let removed = self.drop_aliases(url)? || removed;
        super::record::removed_from_keychain(&url.account());
        Ok(removed)
    }
}

/// Maps keyring errors to ours without ever showing secret bytes.
fn keychain_error(e: keyring_core::Error) -> StoreError {
    use keyring_core::Error as E;
    match e {
        E::NoStorageAccess(inner) => StoreError::KeychainLocked {
            hint: format!("{} ({inner}). {}", platform::LOCKED, platform::UNLOCK_HINT),
        },
        E::BadEncoding(_) | E::BadDataFormat(..) => StoreError::Keychain {
            message: "the stored item is not a UTF-8 text key".to_owned(),
        },
        other => StoreError::Keychain {
            message: other.to_string(),
        },
    }
}

mod caller {
    // Clippy 1.96 for x86_64-pc-windows-gnu (tests/cross.sh) asks for the `const`
    // initializer that is already there.
    #![allow(clippy::missing_const_for_thread_local)]
    use std::cell::Cell;
    use std::time::Duration;

    thread_local! {
        /// The bound the client this thread works for asked for, if any.
        pub static BOUND: Cell<Option<Duration>> = const { Cell::new(None) };
    }
}
use caller::BOUND as CALLER_BOUND;

/// Runs `work` with every keychain call it makes bounded by `bound` too (the shorter of
/// it and the store's own timeout applies): a daemon serving a client that asked for a
/// shorter `WANDB_CRED_KEYCHAIN_TIMEOUT` than its own.
pub fn with_caller_bound<R>(bound: Option<Duration>, work: impl FnOnce() -> R) -> R {
    let before = CALLER_BOUND.with(|b| b.replace(bound));
    let result = work();
    CALLER_BOUND.with(|b| b.set(before));
    result
}

/// This process's `WANDB_CRED_KEYCHAIN_TIMEOUT` in milliseconds, when it sets one: what a
/// client asks the daemon to hold to for it.
pub fn requested_bound_ms() -> Option<u32> {
    let text = std::env::var("WANDB_CRED_KEYCHAIN_TIMEOUT").ok()?;
    let bound = crate::duration::parse(&text).ok()?;
    Some(u32::try_from(bound.as_millis()).unwrap_or(u32::MAX))
}

fn caller_bound() -> Option<Duration> {
    CALLER_BOUND.with(std::cell::Cell::get)
}

/// Keychain calls still running on worker threads (including abandoned ones), and the
/// signal that one finished.
static IN_FLIGHT: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// At most this many keychain calls run at once. More wait for a free slot within their
/// own timeout: a busy keychain only delays them, while one that stopped answering
/// cannot pile up threads (its calls fail once their time is up).
pub const MAX_IN_FLIGHT: usize = 16;

fn in_flight() -> MutexGuard<'static, usize> {
    IN_FLIGHT.0.lock().unwrap_or_else(|p| p.into_inner())
}

fn release_slot() {
    *in_flight() -= 1;
    IN_FLIGHT.1.notify_one();
}

/// Runs `f` on a worker thread and waits at most `timeout` for it (including any wait
/// for a free slot). A call that does not return in time is abandoned (its thread ends
/// when the platform call does).
pub(crate) fn bounded<T: Send + 'static>(
    timeout: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    let timeout = caller_bound().map_or(timeout, |bound| bound.min(timeout));
    let deadline = Instant::now() + timeout;
    {
        let (mut count, waited) = IN_FLIGHT
            .1
            .wait_timeout_while(in_flight(), timeout, |n| *n >= MAX_IN_FLIGHT)
            .unwrap_or_else(|p| p.into_inner());
        if waited.timed_out() && *count >= MAX_IN_FLIGHT {
            return Err(StoreError::Keychain {
                message: format!(
                    "{MAX_IN_FLIGHT} keychain calls have been waiting for an answer for over {} s; the keychain may be stuck",
                    timeout.as_secs_f64()
                ),
            });
        }
        *count += 1;
    }
    let (tx, rx) = mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name("keychain".to_owned())
        .spawn(move || {
            let _ = tx.send(f());
            release_slot();
        });
    if let Err(e) = spawned {
        release_slot();
        return Err(StoreError::Keychain {
            message: format!("cannot start a worker thread: {e}"),
        });
    }
    rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .map_err(|_| StoreError::KeychainTimeout { timeout })
}

/// The accounts (server URLs) of this program's items, for stores that search by the
/// `service` attribute (Secret Service, macOS Keychain).
#[cfg(not(windows))]
pub fn accounts_by_service(store: &Arc<CredentialStore>) -> keyring_core::Result<Vec<String>> {
    let spec = std::collections::HashMap::from([("service", SERVICE)]);
    Ok(store
        .search(&spec)?
        .iter()
        .filter_map(|entry| entry.get_specifiers())
        .filter(|(service, _)| service == SERVICE)
        .map(|(_, account)| account)
        .collect())
}

/// Where a server's key lives in the keychain, for messages.
pub fn location(url: &BaseUrl) -> String {
    location_of(&url.account())
}

fn location_of(account: &str) -> String {
    format!(
        "the {} (service {SERVICE}, account {account})",
        platform::NAME
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    /// The slots are shared by the whole process: these tests take turns.
    static SLOTS: Mutex<()> = Mutex::new(());

    #[test]
    fn stuck_calls_are_capped_and_released() {
        let _turn = SLOTS.lock().unwrap_or_else(|p| p.into_inner());
        let release = Arc::new(Barrier::new(MAX_IN_FLIGHT + 1));
        for _ in 0..MAX_IN_FLIGHT {
            let release = release.clone();
            let r = bounded(Duration::from_millis(1), move || {
                release.wait();
            });
            assert!(matches!(r, Err(StoreError::KeychainTimeout { .. })));
        }
        // All slots held by stuck calls: a new call waits its timeout, then says so.
        let refused = bounded(Duration::from_millis(100), || 1)
            .unwrap_err()
            .to_string();
        assert!(refused.contains("may be stuck"), "{refused}");
        release.wait();
        // Once they return, calls run again (waiting for a slot if need be).
        assert_eq!(bounded(Duration::from_secs(5), || 2).unwrap(), 2);
    }

    #[test]
    fn a_busy_keychain_delays_calls_instead_of_refusing_them() {
        let _turn = SLOTS.lock().unwrap_or_else(|p| p.into_inner());
        let calls: Vec<_> = (0..64)
            .map(|i| {
                std::thread::spawn(move || {
                    bounded(Duration::from_secs(10), move || {
                        std::thread::sleep(Duration::from_millis(20));
                        i
                    })
                })
            })
            .collect();
        for (i, call) in calls.into_iter().enumerate() {
            assert_eq!(call.join().unwrap().unwrap(), i);
        }
    }
}
