//! Choosing where `login` keeps keys: `auto | keychain | kernel-keyring |
//! encrypted-file | vault | netrc`. The
//! choice is made once per process with a bounded probe and remembers why, for messages
//! and `status`. A locked keychain is an error, never a silent downgrade.

use std::time::Duration;

use super::encrypted_file::{self, EncryptedFile};
use super::kernel_keyring::{self, KernelKeyring};
use super::keychain::{self, KeychainStore, Probe};
use super::vault::VaultStore;
use super::{SecretStore, StoreError};

pub use crate::config::backend_choice::BackendChoice;

impl BackendChoice {
    /// What a client and the daemon compare to know they would store alike: the choice,
    /// and whether the kernel keyring may be used (`WANDB_CRED_NO_KERNEL_KEYRING`).
    /// For Vault, the address too: a daemon serving another Vault is not this one's.
    pub fn label(self, kernel_allowed: bool) -> String {
        if self == Self::Vault {
            return match super::vault::settings::address() {
                Some(address) => format!("vault at {address}"),
                None => "vault".to_owned(),
            };
        }
        if kernel_allowed {
            self.to_string()
        } else {
            format!("{self} without the kernel keyring")
        }
    }
}

/// The store `login` writes to, and why it was chosen; and, for readers, the other
/// off-disk store this machine has, so that a key kept there is still found.
pub struct Selection {
    pub primary: Primary,
    pub other: Option<Box<dyn SecretStore>>,
}

pub enum Primary {
    Secret(Box<dyn SecretStore>),
    Netrc { why: String },
}

impl Selection {
    /// `kernel_allowed`: false when `WANDB_CRED_NO_KERNEL_KEYRING` turns it off for `auto`.
    pub fn select(
        choice: BackendChoice,
        timeout: Duration,
        kernel_allowed: bool,
    ) -> Result<Self, StoreError> {
        let kernel = || -> Result<Result<KernelKeyring, String>, StoreError> {
            Ok(kernel_keyring::probe(timeout)?.map(|()| KernelKeyring::open(timeout)))
        };
        let secret = |store: Box<dyn SecretStore>, other| Self {
            primary: Primary::Secret(store),
            other,
        };
        match choice {
            BackendChoice::Netrc => Ok(Self {
                primary: Primary::Netrc {
                    why: "chosen with --backend netrc".to_owned(),
                },
                other: None,
            }),
            BackendChoice::Auto => match keychain::probe(timeout, false)? {
                Probe::Ready => {
                    let other = match kernel_allowed.then(kernel).transpose()? {
                        Some(Ok(k)) => Some(Box::new(k) as Box<dyn SecretStore>),
                        _ => None,
                    };
                    Ok(secret(Box::new(KeychainStore::open(timeout)?), other))
                }
                Probe::Missing(reason) => match kernel_allowed.then(kernel).transpose()? {
                    Some(Ok(k)) => {
                        tracing::info!(%reason, "no keychain; using the kernel keyring");
                        Ok(secret(Box::new(k), None))
                    }
                    Some(Err(why_not)) => Ok(Self::netrc(format!(
                        "no keychain: {reason}; no kernel keyring: {why_not}"
                    ))),
                    None => Ok(Self::netrc(format!(
                        "no keychain: {reason}; the kernel keyring is turned off ({})",
                        kernel_keyring::OPT_OUT
                    ))),
                },
                Probe::Locked(hint) => Err(StoreError::KeychainLocked { hint }),
            },
            BackendChoice::Keychain => match keychain::probe(timeout, true)? {
                Probe::Ready => Ok(secret(Box::new(KeychainStore::open(timeout)?), None)),
                Probe::Missing(reason) => Err(StoreError::NoKeychain { reason }),
                Probe::Locked(hint) => Err(StoreError::KeychainLocked { hint }),
            },
            BackendChoice::EncryptedFile => match encrypted_file::default_path() {
                // Keys kept in the kernel keyring before are still found (and moved by
                // `migrate`).
                Some(path) => {
                    let other = match kernel_allowed.then(kernel).transpose()? {
                        Some(Ok(k)) => Some(Box::new(k) as Box<dyn SecretStore>),
                        _ => None,
                    };
                    Ok(secret(Box::new(EncryptedFile::open(path)), other))
                }
                None => Err(StoreError::NoKeychain {
                    reason: "no data folder for the encrypted file (is HOME set?)".to_owned(),
                }),
            },
            // Never a fall back: a Vault that cannot be used is an error.
            BackendChoice::Vault => Ok(secret(Box::new(VaultStore::open(timeout)?), None)),
            BackendChoice::KernelKeyring => match kernel()? {
                Ok(k) => {
                    // A keychain that is ready without asking is read too.
                    let other = match keychain::probe(timeout, false) {
                        Ok(Probe::Ready) => KeychainStore::open(timeout)
                            .ok()
                            .map(|k| Box::new(k) as Box<dyn SecretStore>),
                        _ => None,
                    };
                    Ok(secret(Box::new(k), other))
                }
                Err(reason) => Err(StoreError::NoKeychain { reason }),
            },
        }
    }

    fn netrc(why: String) -> Self {
        tracing::info!(%why, "using netrc");
        Self {
            primary: Primary::Netrc { why },
            other: None,
        }
    }

    /// The off-disk store keys are written to, if any.
    pub fn store(&self) -> Option<&dyn SecretStore> {
        match &self.primary {
            Primary::Secret(store) => Some(store.as_ref()),
            Primary::Netrc { .. } => None,
        }
    }

    /// Every off-disk store readers look in: the primary, then the other.
    pub fn readable(&self) -> impl Iterator<Item = &dyn SecretStore> {
        self.store().into_iter().chain(self.other.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_choices() {
        assert_eq!("AUTO".parse(), Ok(BackendChoice::Auto));
        assert_eq!("keychain".parse(), Ok(BackendChoice::Keychain));
        assert_eq!("vault".parse(), Ok(BackendChoice::Vault));
        assert_eq!(" netrc ".parse(), Ok(BackendChoice::Netrc));
        assert_eq!("Kernel-Keyring".parse(), Ok(BackendChoice::KernelKeyring));
        assert!(
            "keepass"
                .parse::<BackendChoice>()
                .unwrap_err()
                .contains("auto, keychain, kernel-keyring, encrypted-file, vault or netrc")
        );
        assert_eq!("".parse(), Ok(BackendChoice::Auto));
    }

    #[test]
    fn every_choice_is_parsed_by_its_name_and_named_in_the_error() {
        let error = "keepass".parse::<BackendChoice>().unwrap_err();
        for choice in BackendChoice::ALL {
            assert_eq!(choice.name().parse(), Ok(choice));
            assert_eq!(choice.to_string(), choice.name());
            assert!(error.contains(choice.name()), "{error} lacks {choice}");
        }
    }

    #[test]
    fn netrc_never_touches_the_keychain() {
        let s = Selection::select(BackendChoice::Netrc, Duration::from_millis(1), true).unwrap();
        assert!(s.store().is_none() && s.other.is_none());
        assert!(matches!(s.primary, Primary::Netrc { ref why } if why.contains("chosen")));
    }
}
