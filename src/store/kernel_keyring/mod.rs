//! Keys in the Linux kernel's key retention service: a key store with no desktop, for
//! headless servers and SSH logins (what aws-vault's `keyctl` backend and Kerberos'
//! `KEYRING:persistent` use). Each key is a `user` key in the user keyring (`@u`),
//! described `wandb-cred:<account URL>` ([`BaseUrl::account`]), readable by this uid
//! alone (possessor and user: all; group and others: nothing), so it survives the end
//! of the SSH session that stored it, and a daemon restart, but not a reboot. Every call
//! is bounded by the keychain timeout. Elsewhere than Linux the store is absent.

#[cfg(target_os = "linux")]
#[path = "linux.rs"]
mod platform;

#[cfg(not(target_os = "linux"))]
#[path = "other.rs"]
mod platform;

use std::time::Duration;

use super::keychain::bounded;
use super::{Store, StoreError, StoredKey};
use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;

/// Every description starts with this.
const PREFIX: &str = "wandb-cred:";

/// Turns the kernel keyring off for `auto` (as a container that refuses `keyctl` would):
/// keys then go to netrc where there is no keychain.
pub const OPT_OUT: &str = "WANDB_CRED_NO_KERNEL_KEYRING";

/// Whether the kernel keyring can be used here; why not, otherwise.
pub fn probe(timeout: Duration) -> Result<Result<(), String>, StoreError> {
    if !platform::AVAILABLE {
        return Ok(Err("the kernel keyring exists only on Linux".to_owned()));
    }
    bounded(timeout, || {
        platform::usable().map_err(|e| match e.raw_os_error() {
            Some(code) if code == platform::ENOSYS => {
                "this kernel has no key retention service (keyctl: function not implemented)"
                    .to_owned()
            }
            _ => format!("the kernel refuses keyctl here ({e}; a container's seccomp profile?)"),
        })
    })
}

/// Gives the daemon a session keyring of its own linking the user keyring (see
/// `platform::own_session`). Harmless where there is no kernel keyring.
pub fn own_session() {
    if platform::AVAILABLE
        && let Err(e) = platform::own_session()
    {
        tracing::debug!(error = %e, "no session keyring of our own");
    }
}

pub struct KernelKeyring {
    timeout: Duration,
}

fn description(account: &str) -> String {
    format!("{PREFIX}{account}")
}

fn kernel_error(what: &str, e: std::io::Error) -> StoreError {
    if e.raw_os_error() == Some(platform::EDQUOT) {
        return StoreError::Quota {
            limits: platform::quota_limits(),
        };
    }
    StoreError::Keychain {
        message: format!("kernel keyring: cannot {what}: {e}"),
    }
}

impl KernelKeyring {
    pub fn open(timeout: Duration) -> Self {
        Self { timeout }
    }

    /// The key under this account, if any.
    fn read_account(&self, account: &str) -> Result<Option<ApiKey>, StoreError> {
        let desc = platform::c_description(&description(account))
            .map_err(|e| kernel_error("name the key", e))?;
        let found = bounded(self.timeout, move || -> std::io::Result<_> {
            match platform::search(platform::USER_KEYRING, &desc)? {
                Some(id) => platform::read(id).map(Some),
                None => Ok(None),
            }
        })?
        .map_err(|e| kernel_error("read", e))?;
        let Some(bytes) = found else {
            return Ok(None);
        };
        let text = String::from_utf8(bytes.to_vec()).map_err(|_| StoreError::Keychain {
            message: "kernel keyring: the stored key is not UTF-8 text".to_owned(),
        })?;
        ApiKey::parse(zeroize::Zeroizing::new(text))
            .map(Some)
            .map_err(|source| StoreError::InvalidKey {
                machine: account.to_owned(),
                location: location_of(account),
                source,
            })
    }

    /// Stores the key and reads it back; only a key that comes back identical counts.
    pub fn set_verified(&self, url: &BaseUrl, key: &ApiKey) -> Result<String, StoreError> {
        let place = self.set(url, key)?;
        match self.read_account(&url.account())? {
            Some(found) if found == *key => Ok(place),
            _ => Err(StoreError::Keychain {
                message: format!("the key stored for {url} did not read back the same"),
            }),
        }
    }

    /// Every wandb-cred key in the user keyring: its account and key.
    pub fn list(&self) -> Result<Vec<(String, ApiKey)>, StoreError> {
        let accounts = bounded(self.timeout, || -> std::io::Result<Vec<String>> {
            let mut accounts = Vec::new();
            for id in platform::links(platform::USER_KEYRING)? {
                // `type;uid;gid;perm;description`; the description may hold `;`.
                let Ok(text) = platform::describe(id) else {
                    continue;
                };
                let mut fields = text.splitn(5, ';');
                if fields.next() == Some("user")
                    && let Some(account) = fields.nth(3).and_then(|d| d.strip_prefix(PREFIX))
                {
                    accounts.push(account.to_owned());
                }
            }
            Ok(accounts)
        })?
        .map_err(|e| kernel_error("list keys", e))?;
        let mut keys = Vec::new();
        for account in accounts {
            if let Some(key) = self.read_account(&account)? {
                keys.push((account, key));
            }
        }
        Ok(keys)
    }
}

impl Store for KernelKeyring {
    fn describe(&self) -> String {
        "the kernel keyring (user keyring)".to_owned()
    }

    fn get(&self, url: &BaseUrl) -> Result<Option<StoredKey>, StoreError> {
        let account = url.account();
        Ok(self.read_account(&account)?.map(|key| StoredKey {
            key,
            location: location_of(&account),
        }))
    }

    /// Makes the key in this thread's own keyring (so it is possessed, whatever session
    /// keyring the process has, and its permissions can be set), makes it private, and
    /// only then links it into the user keyring, which replaces a key of the same
    /// description atomically: a failure, such as a full quota, leaves the old key.
    fn set(&self, url: &BaseUrl, key: &ApiKey) -> Result<String, StoreError> {
        let account = url.account();
        let desc = platform::c_description(&description(&account))
            .map_err(|e| kernel_error("name the key", e))?;
        let secret = zeroize::Zeroizing::new(key.expose().as_bytes().to_vec());
        bounded(self.timeout, move || -> std::io::Result<()> {
            let id = platform::add_key(&desc, &secret, platform::THREAD_KEYRING)?;
            let linked = platform::set_permissions(id, platform::PRIVATE_PERMISSIONS)
                .and_then(|()| platform::link(id, platform::USER_KEYRING));
            let _ = platform::unlink(id, platform::THREAD_KEYRING);
            if let Err(e) = linked {
                let _ = platform::invalidate(id);
                return Err(e);
            }
            Ok(())
        })?
        .map_err(|e| kernel_error("store the key", e))?;
        Ok(location_of(&account))
    }

    fn delete(&self, url: &BaseUrl) -> Result<bool, StoreError> {
        let account = url.account();
        let desc = platform::c_description(&description(&account))
            .map_err(|e| kernel_error("name the key", e))?;
        let removed = bounded(self.timeout, move || -> std::io::Result<bool> {
            match platform::search(platform::USER_KEYRING, &desc)? {
                Some(id) => {
                    // Invalidation removes it at once from every keyring; an old
                    // kernel without it still gets the link dropped.
                    if platform::invalidate(id).is_err() {
                        platform::unlink(id, platform::USER_KEYRING)?;
                    }
                    Ok(true)
                }
                None => Ok(false),
            }
        })?
        .map_err(|e| kernel_error("remove the key", e))?;
        super::record::removed_from_kernel(&account);
        Ok(removed)
    }
}

/// Where a server's key lives in the kernel keyring, for messages.
pub fn location(url: &BaseUrl) -> String {
    location_of(&url.account())
}

fn location_of(account: &str) -> String {
    format!(
        "the kernel keyring (user keyring, key {})",
        description(account)
    )
}
