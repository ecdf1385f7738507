//! Arguments several commands share: `--backend` (with its parser, which offers the
//! store names to completion and `--help`).

use clap::Args;

use crate::store::backend::BackendChoice;

/// `--backend`, on the commands that store or look up keys (and before any command).
#[derive(Debug, Args)]
pub struct StoreArg {
    /// Where keys are stored: auto (the keychain if one is usable, else the kernel
    /// keyring on a headless Linux machine, else netrc), keychain, kernel-keyring,
    /// encrypted-file (age, a passphrase; see unlock), vault (the team's Vault or
    /// OpenBao: VAULT_ADDR and a token), or netrc. Default: `backend` in
    /// `wandb-cred config`, else auto.
    #[arg(long, env = "WANDB_CRED_BACKEND", value_name = "BACKEND", value_parser = BackendParser)]
    pub(super) backend: Option<BackendChoice>,
}

/// `--profile`, on the commands that use one key of a server that has several.
#[derive(Debug, Args)]
pub struct ProfileArg {
    /// Which of the server's keys (profiles) to use; default: WANDB_CRED_PROFILE, then the
    /// profile whose entity is WANDB_ENTITY or the workspace settings' `entity`, then the
    /// server's default (`wandb-cred switch`).
    #[arg(long, value_name = "NAME")]
    pub(super) profile: Option<String>,
}

/// `--backend`: parsed by [`BackendChoice`]'s own rules (and its message), with the
/// choices offered to shell completion and `--help`.
#[derive(Clone)]
struct BackendParser;

impl clap::builder::TypedValueParser for BackendParser {
    type Value = BackendChoice;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<BackendChoice, clap::Error> {
        let text = value.to_str().unwrap_or("");
        text.parse().map_err(|message: String| {
            clap::Error::raw(clap::error::ErrorKind::InvalidValue, format!("{message}\n"))
                .with_cmd(cmd)
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(BackendChoice::ALL.into_iter().map(|choice| {
            clap::builder::PossibleValue::new(choice.name())
        })))
    }
}
