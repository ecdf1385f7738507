//! What the user asked for as the store (`--backend`, `WANDB_CRED_BACKEND`, `backend` in
//! `wandb-cred config`): the choice's names and parsing. Which store that means here is
//! `store::backend`'s business.

use std::fmt;
use std::str::FromStr;

/// What the user asked for (`--backend`, `WANDB_CRED_BACKEND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// The keychain when one is usable, else the kernel keyring (Linux), else netrc.
    #[default]
    Auto,
    /// The keychain or an error.
    Keychain,
    /// The Linux kernel keyring or an error.
    KernelKeyring,
    /// The encrypted file (age, a passphrase), held open by the daemon.
    EncryptedFile,
    /// The team's Vault or OpenBao (KV version 2).
    Vault,
    /// netrc only; the keychain is never touched.
    Netrc,
}

impl BackendChoice {
    /// Every choice, in the order `--help` and completions offer them.
    pub const ALL: [Self; 6] = [
        Self::Auto,
        Self::Keychain,
        Self::KernelKeyring,
        Self::EncryptedFile,
        Self::Vault,
        Self::Netrc,
    ];

    /// The name `--backend` and `WANDB_CRED_BACKEND` take.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Keychain => "keychain",
            Self::KernelKeyring => "kernel-keyring",
            Self::EncryptedFile => "encrypted-file",
            Self::Vault => "vault",
            Self::Netrc => "netrc",
        }
    }
}

impl FromStr for BackendChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        if wanted.is_empty() {
            return Ok(Self::Auto);
        }
        Self::ALL
            .into_iter()
            .find(|choice| choice.name() == wanted)
            .ok_or_else(|| {
                format!(
                    "unknown backend {} (expected auto, keychain, kernel-keyring, encrypted-file, vault or netrc)",
                    crate::key::quoted_unless_key(s.trim())
                )
            })
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
