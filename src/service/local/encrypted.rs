//! The encrypted file store's unlock, passphrase change and lock, for the local service
//! (the daemon): the caller holds the service's write lock; each drops the cached
//! answers, so keys looked up while the state was other are looked up again.

use std::time::Duration;

use super::cache::Caches;
use crate::service::{ErrorKind, ServiceError, ServiceResult};
use crate::store::encrypted_file;

pub(super) fn unlock(
    caches: &Caches,
    passphrase: &zeroize::Zeroizing<String>,
    create: bool,
    lock_after: Option<Duration>,
) -> ServiceResult<()> {
    let path = encrypted_file::default_path().ok_or_else(|| {
        ServiceError::new(
            ErrorKind::NoBackend,
            "no data folder for the encrypted file (is HOME set?)",
        )
    })?;
    let count = encrypted_file::unlock(&path, passphrase.as_bytes(), create, lock_after)?;
    caches.clear();
    tracing::info!(keys = count, "unlocked the encrypted store");
    Ok(())
}

pub(super) fn rekey(
    caches: &Caches,
    passphrase: &zeroize::Zeroizing<String>,
) -> ServiceResult<bool> {
    let Some(path) = encrypted_file::default_path() else {
        return Ok(false);
    };
    let open = encrypted_file::rekey(&path, passphrase.as_bytes())?;
    caches.clear();
    tracing::info!(open, "opened the encrypted store with its new passphrase");
    Ok(open)
}

pub(super) fn lock(caches: &Caches) -> ServiceResult<bool> {
    let was = encrypted_file::lock();
    caches.clear();
    tracing::info!(was_unlocked = was, "locked the encrypted store");
    Ok(was)
}
