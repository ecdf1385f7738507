//! macOS: the login Keychain through the keyring-core Apple store. There is always a
//! keychain; access prompts are bounded by the caller's timeout.

use std::sync::Arc;

use keyring_core::api::CredentialStore;

use super::Probe;

pub const NAME: &str = "macOS Keychain";
pub const LOCKED: &str = "the macOS Keychain is locked or access was denied";
pub const UNLOCK_HINT: &str = "Unlock it (`security unlock-keychain`) or allow access when asked, or keep keys without the keychain, in the encrypted store (`wandb-cred config backend encrypted-file`, then `wandb-cred unlock`)";

/// How `wandb-cred unlock` unlocks: `security` asks for the password itself.
pub const UNLOCK_PROGRAM: Option<&[&str]> = Some(&["security", "unlock-keychain"]);

/// Unlocking is `security unlock-keychain`'s job here ([`UNLOCK_PROGRAM`]).
pub fn unlock(_password: &[u8]) -> Result<(), String> {
    Err("run `security unlock-keychain`".to_owned())
}

pub fn probe(_may_start: bool) -> Probe {
    match open() {
        Ok(_) => Probe::Ready,
        Err(e) => Probe::Missing(format!("cannot open the macOS Keychain: {e}")),
    }
}

pub fn open() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = apple_native_keyring_store::keychain::Store::new()?;
    Ok(store)
}

pub fn build_entry(
    store: &Arc<CredentialStore>,
    account: &str,
) -> keyring_core::Result<keyring_core::Entry> {
    store.build(super::SERVICE, account, None)
}

/// The accounts of this program's items: this store searches by service.
pub use super::accounts_by_service as accounts;

/// No lock notifications are watched here: cached keys stay until the cache's lifetime
/// ends or `reload`.
pub fn watch(_changed: Box<dyn Fn() + Send>) -> bool {
    false
}
