//! Windows: the Credential Manager through the keyring-core Windows store. It is always
//! present for a logged-in user.

use std::sync::Arc;

use keyring_core::api::CredentialStore;

use super::Probe;

pub const NAME: &str = "Windows Credential Manager";
pub const LOCKED: &str = "the Windows Credential Manager refused access";
pub const UNLOCK_HINT: &str = "Run as the user who owns the credentials, or keep keys without Credential Manager, in the encrypted store (`wandb-cred config backend encrypted-file`, then `wandb-cred unlock`)";

/// How `wandb-cred unlock` unlocks: there is nothing to unlock here.
pub const UNLOCK_PROGRAM: Option<&[&str]> = None;

/// The Credential Manager is open whenever its user is logged in.
pub fn unlock(_password: &[u8]) -> Result<(), String> {
    Err(
        "the Windows Credential Manager has no lock of its own: it is open while you are logged in"
            .to_owned(),
    )
}

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

/// The accounts (server URLs) of this program's items, from the target names the store
/// gives them (`<account>.wandb`). The store's own `search` is not used: it reads the
/// array `CredEnumerateW` returns with aligned reads, and Wine returns that array only
/// 4-byte aligned (a debug build aborts there); this reads it unaligned.
pub fn accounts(_store: &Arc<CredentialStore>) -> keyring_core::Result<Vec<String>> {
    use windows_sys::Win32::Security::Credentials::{CREDENTIALW, CredEnumerateW, CredFree};
    let suffix = format!(".{}", super::SERVICE);
    let mut count = 0u32;
    let mut array: *mut *mut CREDENTIALW = std::ptr::null_mut();
    // SAFETY: no filter; on success `array` holds `count` credential pointers, freed below.
    if unsafe { CredEnumerateW(std::ptr::null(), 0, &mut count, &mut array) } == 0 {
        let e = std::io::Error::last_os_error();
        const ERROR_NOT_FOUND: i32 = 1168;
        return match e.raw_os_error() {
            Some(ERROR_NOT_FOUND) => Ok(Vec::new()),
            _ => Err(keyring_core::Error::PlatformFailure(Box::new(e))),
        };
    }
    let mut accounts = Vec::new();
    for i in 0..count as usize {
        // SAFETY: `i` < `count` pointers, read without assuming alignment; each points at
        // a CREDENTIALW whose TargetName is a NUL-terminated wide string (or null).
        let name = unsafe {
            let credential = array.add(i).read_unaligned();
            let target = std::ptr::addr_of!((*credential).TargetName).read_unaligned();
            if target.is_null() {
                continue;
            }
            let wide: Vec<u16> = (0..)
                .map(|n| target.add(n).read_unaligned())
                .take_while(|&c| c != 0)
                .collect();
            String::from_utf16_lossy(&wide)
        };
        if let Some(account) = name.strip_suffix(&suffix)
            && !account.is_empty()
        {
            accounts.push(account.to_owned());
        }
    }
    // SAFETY: the buffer CredEnumerateW allocated, freed once.
    unsafe { CredFree(array.cast()) };
    Ok(accounts)
}

/// No lock notifications are watched here: cached keys stay until the cache's lifetime
/// ends or `reload`.
pub fn watch(_changed: Box<dyn Fn() + Send>) -> bool {
    false
}
