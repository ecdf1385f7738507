//! Where keys are kept. [`Store`] is the one interface the commands (and later the
//! daemon) use; the netrc file is one implementation, the platform keychain another.

pub mod backend;
pub mod keychain;
pub mod netrc;

use std::path::PathBuf;

use crate::config::atomic::FileError;
use crate::config::netrc_edit::EditError;
use crate::key::{ApiKey, KeyError};
use crate::resolve::base_url::BaseUrl;

/// A key found in a store, and a human description of exactly where.
#[derive(Debug)]
pub struct StoredKey {
    pub key: ApiKey,
    pub location: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read {}, line {line}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("cannot update {}: {source}", path.display())]
    Edit {
        path: PathBuf,
        #[source]
        source: EditError,
    },
    #[error(transparent)]
    File(#[from] FileError),
    #[error("the keychain is locked: {hint}")]
    KeychainLocked { hint: String },
    #[error("the keychain did not answer within {} s (set WANDB_CRED_KEYCHAIN_TIMEOUT to wait longer)", timeout.as_secs_f64())]
    KeychainTimeout { timeout: std::time::Duration },
    #[error("keychain error: {message}")]
    Keychain { message: String },
    #[error("no keychain is available: {reason}")]
    NoKeychain { reason: String },
    #[error("the key for {machine} in {location} is not a valid API key: {source}")]
    InvalidKey {
        machine: String,
        location: String,
        #[source]
        source: KeyError,
    },
}

/// A place keys can be read from, written to and removed from, one key per server.
pub trait Store {
    /// What and where the store is, e.g. `netrc file /home/me/.netrc`.
    fn describe(&self) -> String;
    /// The key for the server, if the store has one.
    fn get(&self, url: &BaseUrl) -> Result<Option<StoredKey>, StoreError>;
    /// Stores the key for the server, replacing any other; returns where it went.
    fn set(&self, url: &BaseUrl, key: &ApiKey) -> Result<String, StoreError>;
    /// Removes the server's key; `false` when there was none.
    fn delete(&self, url: &BaseUrl) -> Result<bool, StoreError>;
}
