//! Where keys are kept. [`Store`] is the one interface the commands (and later the
//! daemon) use; the netrc file is one implementation, the platform keychain another.

pub mod backend;
pub mod encrypted_file;
pub mod identity_record;
pub mod kernel_keyring;
pub mod keychain;
pub mod netrc;
pub mod profile_pointer;
pub mod record;
pub mod vault;

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
    #[error("the keychain did not answer within {} s; it may be waiting for an unlock prompt nobody can see, or be stuck: unlock or restart it, then try again", timeout.as_secs_f64())]
    KeychainTimeout { timeout: std::time::Duration },
    #[error(
        "the kernel's key quota is full: {limits}; nothing was changed (remove keys you no longer need with `keyctl`, or ask an administrator to raise the limits)"
    )]
    Quota { limits: String },
    #[error("keychain error: {message}")]
    Keychain { message: String },
    #[error("no keychain is available: {reason}")]
    NoKeychain { reason: String },
    #[error(
        "netrc holds one key per server, the default profile's (the one the W&B SDK reads); profile {profile} needs the keychain or the kernel keyring, and nothing was changed"
    )]
    NetrcProfile { profile: String },
    #[error("the encrypted store is locked: run `wandb-cred unlock` ({})", path.display())]
    Locked { path: PathBuf },
    #[error("the passphrase does not open the encrypted store {}; it stays locked", path.display())]
    WrongPassphrase { path: PathBuf },
    #[error("there is no encrypted store at {} yet: `wandb-cred unlock` makes one (it asks for a new passphrase twice)", path.display())]
    NoEncryptedFile { path: PathBuf },
    #[error("{address}: {}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
    Vault {
        address: String,
        path: String,
        message: String,
    },
    #[error("cannot use the encrypted store {}: {message}", path.display())]
    Encrypted { path: PathBuf, message: String },
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

/// A store that keeps keys off disk: the platform keychain or the kernel keyring.
pub trait SecretStore: Store + Send + Sync {
    /// How the protocol names where a key came from.
    fn layer(&self) -> wandb_cred_proto::Layer;
    /// The backend's name, as `--backend` spells it.
    fn name(&self) -> &'static str {
        self.layer().name()
    }
    /// How messages name it: `the keychain`, `the kernel keyring`.
    fn title(&self) -> &'static str;
    /// Stores the key and reads it back; only an identical key counts as stored.
    fn set_verified(&self, url: &BaseUrl, key: &ApiKey) -> Result<String, StoreError>;
    /// Every W&B key in the store: its account (the server URL) and key.
    fn list(&self) -> Result<Vec<(String, ApiKey)>, StoreError>;
    /// Where this store puts the key for `url`, for messages.
    fn location(&self, url: &BaseUrl) -> String;
    /// What `login` adds after storing here (how long the key lasts), if anything.
    fn lasts(&self) -> Option<&'static str> {
        None
    }
    /// Whether the daemon may keep this store's answers (false for a store that keeps
    /// its own, time-bounded or locked, in memory).
    fn cached_by_service(&self) -> bool {
        true
    }
}

impl SecretStore for keychain::KeychainStore {
    fn layer(&self) -> wandb_cred_proto::Layer {
        wandb_cred_proto::Layer::Keychain
    }
    fn title(&self) -> &'static str {
        "the keychain"
    }
    fn set_verified(&self, url: &BaseUrl, key: &ApiKey) -> Result<String, StoreError> {
        let place = keychain::KeychainStore::set_verified(self, url, key)?;
        record::stored_in_keychain(&url.account());
        Ok(place)
    }
    fn list(&self) -> Result<Vec<(String, ApiKey)>, StoreError> {
        keychain::KeychainStore::list(self)
    }
    fn location(&self, url: &BaseUrl) -> String {
        keychain::location(url)
    }
}

impl SecretStore for kernel_keyring::KernelKeyring {
    fn layer(&self) -> wandb_cred_proto::Layer {
        wandb_cred_proto::Layer::KernelKeyring
    }
    fn title(&self) -> &'static str {
        "the kernel keyring"
    }
    fn set_verified(&self, url: &BaseUrl, key: &ApiKey) -> Result<String, StoreError> {
        let place = kernel_keyring::KernelKeyring::set_verified(self, url, key)?;
        record::stored_in_kernel(&url.account());
        Ok(place)
    }
    fn list(&self) -> Result<Vec<(String, ApiKey)>, StoreError> {
        kernel_keyring::KernelKeyring::list(self)
    }
    fn location(&self, url: &BaseUrl) -> String {
        kernel_keyring::location(url)
    }
    fn lasts(&self) -> Option<&'static str> {
        Some(
            "kernel keys last until this machine restarts; for keys that survive restarts (encrypted, unlocked after each): `wandb-cred config backend encrypted-file`",
        )
    }
}

impl SecretStore for encrypted_file::EncryptedFile {
    fn layer(&self) -> wandb_cred_proto::Layer {
        wandb_cred_proto::Layer::EncryptedFile
    }
    fn title(&self) -> &'static str {
        "the encrypted file"
    }
    fn set_verified(&self, url: &BaseUrl, key: &ApiKey) -> Result<String, StoreError> {
        let place = self.set(url, key)?;
        match self.get(url)? {
            Some(back) if back.key == *key => Ok(place),
            _ => Err(StoreError::Encrypted {
                path: self.path().to_owned(),
                message: "the key did not read back as written".to_owned(),
            }),
        }
    }
    fn list(&self) -> Result<Vec<(String, ApiKey)>, StoreError> {
        encrypted_file::EncryptedFile::list(self)
    }
    fn location(&self, _url: &BaseUrl) -> String {
        self.describe()
    }
    fn cached_by_service(&self) -> bool {
        false
    }
    fn lasts(&self) -> Option<&'static str> {
        Some(
            "it is encrypted on disk and survives restarts; after one, `wandb-cred unlock` opens it again (`wandb-cred config --unset backend` goes back to the automatic choice)",
        )
    }
}
