//! Windows: the Credential Manager through the keyring-core Windows store. It is always
//! present for a logged-in user.

use std::sync::Arc;

use keyring_core::api::CredentialStore;

use super::Probe;

pub const NAME: &str = "Windows Credential Manager";
pub const LOCKED: &str = "the Windows Credential Manager refused access";
pub const UNLOCK_HINT: &str = "Run as the user who owns the credentials, or set WANDB_CRED_BACKEND=netrc to keep keys in plaintext netrc instead";

pub fn probe(_may_start: bool) -> Probe {
    match open() {
        Ok(_) => Probe::Ready,
        Err(e) => Probe::Missing(format!("cannot open the Windows Credential Manager: {e}")),
    }
}

pub fn open() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = windows_native_keyring_store::Store::new()?;
    Ok(store)
}

pub fn build_entry(
    store: &Arc<CredentialStore>,
    account: &str,
) -> keyring_core::Result<keyring_core::Entry> {
    store.build(super::SERVICE, account, None)
}
