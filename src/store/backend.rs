//! Choosing where `login` keeps keys: `auto | keychain | netrc`. The choice is made once
//! per process with a bounded probe and remembers why, for messages and `status`.
//! A locked keychain is an error, never a silent downgrade to plaintext.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::StoreError;
use super::keychain::{self, KeychainStore, Probe};

/// What the user asked for (`--backend`, `WANDB_CRED_BACKEND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// The keychain when one is usable, else netrc.
    #[default]
    Auto,
    /// The keychain or an error.
    Keychain,
    /// netrc only; the keychain is never touched.
    Netrc,
}

impl FromStr for BackendChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(Self::Auto),
            "keychain" => Ok(Self::Keychain),
            "netrc" => Ok(Self::Netrc),
            _ => Err(format!(
                "unknown backend {} (expected auto, keychain or netrc)",
                crate::key::quoted_unless_key(s.trim())
            )),
        }
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Keychain => "keychain",
            Self::Netrc => "netrc",
        })
    }
}

/// The store `login` writes to, and why it was chosen.
pub enum Selection {
    Keychain(KeychainStore),
    Netrc { why: String },
}

impl Selection {
    pub fn select(choice: BackendChoice, timeout: Duration) -> Result<Self, StoreError> {
        match choice {
            BackendChoice::Netrc => Ok(Self::Netrc {
                why: "the netrc backend was chosen".to_owned(),
            }),
            BackendChoice::Auto => match keychain::probe(timeout, false)? {
                Probe::Ready => Ok(Self::Keychain(KeychainStore::open(timeout)?)),
                Probe::Missing(reason) => {
                    tracing::info!(%reason, "no keychain; using netrc");
                    Ok(Self::Netrc {
                        why: format!("no keychain: {reason}"),
                    })
                }
                Probe::Locked(hint) => Err(StoreError::KeychainLocked { hint }),
            },
            BackendChoice::Keychain => match keychain::probe(timeout, true)? {
                Probe::Ready => Ok(Self::Keychain(KeychainStore::open(timeout)?)),
                Probe::Missing(reason) => Err(StoreError::NoKeychain { reason }),
                Probe::Locked(hint) => Err(StoreError::KeychainLocked { hint }),
            },
        }
    }

    pub fn keychain(&self) -> Option<&KeychainStore> {
        match self {
            Self::Keychain(store) => Some(store),
            Self::Netrc { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_choices() {
        assert_eq!("AUTO".parse(), Ok(BackendChoice::Auto));
        assert_eq!("keychain".parse(), Ok(BackendChoice::Keychain));
        assert_eq!(" netrc ".parse(), Ok(BackendChoice::Netrc));
        assert!(
            "vault"
                .parse::<BackendChoice>()
                .unwrap_err()
                .contains("auto, keychain or netrc")
        );
    }

    #[test]
    fn netrc_never_touches_the_keychain() {
        let s = Selection::select(BackendChoice::Netrc, Duration::from_millis(1)).unwrap();
        assert!(s.keychain().is_none());
        assert!(matches!(s, Selection::Netrc { ref why } if why.contains("chosen")));
    }
}
