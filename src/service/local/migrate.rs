//! Moving keys into the store `login` writes to (`migrate`): from netrc, or from the
//! other off-disk store readers still look in (the kernel keyring, once the encrypted
//! file is chosen). Each key is stored and read back before its old copy goes.

use super::LocalService;
use crate::resolve::base_url::BaseUrl;
use crate::service::{ErrorKind, Found, ServiceError, ServiceResult};
use crate::store::Store;
use crate::store::backend::Selection;
use crate::store::netrc::NetrcStore;

impl LocalService {
    pub(super) fn migrate_one(
        &self,
        selection: &Selection,
        url: &BaseUrl,
        netrc: &NetrcStore,
        keep: bool,
    ) -> ServiceResult<String> {
        let keychain = selection.store().ok_or_else(|| {
            ServiceError::new(
                ErrorKind::NoBackend,
                "there is no keychain to move keys into",
            )
        })?;
        let title = keychain.title();
        let netloc = url.netloc();
        let mut named = netrc.named_keys(url)?;
        if named.is_empty()
            && let Some(other) = selection.other.as_deref()
            && let Some(found) = self.through_keychain(other.get(url))?
        {
            return match self.through_keychain(keychain.get(url))? {
                Some(existing) if existing.key != found.key => Err(ServiceError::new(
                    ErrorKind::Internal,
                    format!(
                        "{netloc}: {title} already holds a different key for {url}; the one in {} was left alone",
                        other.title()
                    ),
                )),
                existing => {
                    if existing.is_none() {
                        self.through_keychain(keychain.set_verified(url, &found.key))?;
                    }
                    if !keep {
                        self.through_keychain(other.delete(url))?;
                    }
                    self.caches.clear();
                    Ok(format!(
                        "{netloc}: moved from {} to {title} as {}.",
                        other.title(),
                        url.account()
                    ))
                }
            };
        }
        if named.is_empty() {
            return Ok(format!(
                "{netloc}: no key in {}; nothing to move.",
                netrc.path().display()
            ));
        }
        if let Some((other, _)) = named.iter().find(|(_, k)| k.key != named[0].1.key) {
            return Err(ServiceError::new(
                ErrorKind::Internal,
                format!(
                    "{netloc}: {} holds different keys for {} and {other}, two names of one server; left both as they are (`WANDB_BASE_URL={url} wandb-cred login --relogin` stores one key for both)",
                    netrc.path().display(),
                    named[0].0
                ),
            ));
        }
        let locations: Vec<String> = named.iter().map(|(_, k)| k.location.clone()).collect();
        let (_, found) = named.swap_remove(0);
        let mut said = match self.through_keychain(keychain.get(url))? {
            Some(existing) if existing.key != found.key => {
                return Err(ServiceError::new(
                    ErrorKind::Internal,
                    format!(
                        "{netloc}: {title} already holds a different key for {url}; left both as they are (use `wandb-cred logout` and `login` to choose)"
                    ),
                ));
            }
            Some(_) => format!("{netloc}: {title} already holds this key."),
            None => {
                self.through_keychain(keychain.set_verified(url, &found.key))?;
                format!(
                    "{netloc}: stored in {title} as {} and read back.",
                    url.account()
                )
            }
        };
        self.caches.remember(
            url,
            Some(&Found {
                key: found.key.clone(),
                layer: keychain.layer(),
                location: keychain.location(url),
            }),
        );
        let locations = locations.join(" and ");
        // netrc's entry is the server's, whichever profile took its key.
        let netrc_entry = url
            .clone()
            .with_profile(None)
            .expect("no profile is always valid");
        if keep {
            said.push_str(&format!(" Kept in {locations} (--keep-netrc)."));
        } else if netrc.delete(&netrc_entry)? {
            said.push_str(&format!(" Removed from {locations}."));
        }
        Ok(said)
    }
}
