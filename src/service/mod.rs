//! The key service: every operation on stored keys (keychain and netrc) behind one
//! interface, implemented in-process ([`local::LocalService`], which the daemon also
//! runs) and over the daemon's socket (`crate::client::DaemonService`). Commands use
//! [`KeyService`] and do not care which one they got.

pub mod local;

use std::fmt;
use std::path::Path;

pub use wandb_cred_proto::{DaemonStatus, ErrorKind, Layer, Listed, Migrated};

use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;
use crate::store::StoreError;

/// A key found in a store.
#[derive(Debug)]
pub struct Found {
    pub key: ApiKey,
    pub layer: Layer,
    pub location: String,
}

/// Where `store` put a key.
#[derive(Debug)]
pub struct Stored {
    pub layer: Layer,
    pub location: String,
    /// For netrc: why not the keychain.
    pub why: Option<String>,
    /// For the keychain: an old plaintext copy was removed from netrc.
    pub removed_plaintext: bool,
}

/// What `erase` removed, and where it looked.
#[derive(Debug)]
pub struct Erased {
    pub removed: Vec<String>,
    pub looked_in: Vec<String>,
}

/// The backend in use and why, or why none can be used.
#[derive(Debug, Clone)]
pub struct BackendInfo {
    pub name: Option<String>,
    pub detail: String,
}

impl BackendInfo {
    /// A backend that keeps keys off disk (the keychain, the kernel keyring).
    pub fn off_disk(&self) -> bool {
        self.name
            .as_deref()
            .is_some_and(|name| name != Layer::Netrc.name())
    }
}

/// A failure with a kind programs can act on and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    pub kind: ErrorKind,
    pub message: String,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ServiceError {}

impl ServiceError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        let kind = match &e {
            StoreError::KeychainLocked { .. } | StoreError::Locked { .. } => ErrorKind::Locked,
            StoreError::WrongPassphrase { .. } => ErrorKind::Denied,
            StoreError::KeychainTimeout { .. } => ErrorKind::Timeout,
            StoreError::NoKeychain { .. } => ErrorKind::NoBackend,
            StoreError::InvalidKey { .. } => ErrorKind::InvalidKey,
            _ => ErrorKind::Internal,
        };
        Self::new(kind, e.to_string())
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// Every operation on stored keys. `netrc` is the client's netrc path (it depends on
/// the client's environment, not the daemon's).
pub trait KeyService {
    /// The keychain's key for `url`, else (with `netrc`) the netrc file's, else `None`.
    fn get(&self, url: &BaseUrl, netrc: Option<&Path>) -> ServiceResult<Option<Found>>;
    /// Stores the key in the backend (a keychain key is read back before this returns).
    fn store(&self, url: &BaseUrl, key: &ApiKey, netrc: &Path) -> ServiceResult<Stored>;
    /// Removes the server's key from the keychain and the netrc file.
    fn erase(&self, url: &BaseUrl, netrc: &Path) -> ServiceResult<Erased>;
    /// Servers with keys, masked.
    fn list(&self, netrc: &Path) -> ServiceResult<Vec<Listed>>;
    /// Moves the servers' keys from the netrc file into the keychain.
    fn migrate(
        &self,
        urls: &[BaseUrl],
        netrc: &Path,
        keep_netrc: bool,
    ) -> ServiceResult<Vec<Migrated>>;
    /// The backend in use.
    fn backend(&self) -> BackendInfo;
    /// The daemon behind this service, if there is one.
    fn daemon(&self) -> Option<DaemonStatus>;
    /// Whether a daemon (rather than this process) serves the keys.
    fn is_daemon(&self) -> bool {
        false
    }
    /// Forgets cached keys and looks at the keychain again.
    fn reload(&self) -> ServiceResult<()>;
    /// Opens the encrypted file store in the daemon ([`crate::store::encrypted_file`]).
    fn unlock(
        &self,
        _passphrase: &zeroize::Zeroizing<String>,
        _create: bool,
        _lock_after: Option<std::time::Duration>,
    ) -> ServiceResult<()> {
        Err(ServiceError::new(
            ErrorKind::NoBackend,
            "the encrypted store is held open by the daemon, and none is running (is WANDB_CRED_NO_DAEMON set?)",
        ))
    }
    /// Closes the encrypted file store; `false` when it was not open.
    fn lock(&self) -> ServiceResult<bool> {
        Ok(false)
    }
    /// After a passphrase change: opens the encrypted file store again with `passphrase`
    /// if it is open now, keeping its lock time; `false` (and it stays locked) if not.
    fn rekey(&self, _passphrase: &zeroize::Zeroizing<String>) -> ServiceResult<bool> {
        Ok(false)
    }
}
