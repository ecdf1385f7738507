//! `unlock`: unlocks the keychain from this terminal, for a desktop reached over SSH
//! (GNOME Keyring takes its password through the Secret Service; macOS has `security
//! unlock-keychain`), or, with the encrypted file store, opens it in the daemon
//! (`unlock_file.rs`). The password is read hidden and never stored.

use anyhow::{Context as _, bail};
use clap::Args;
use zeroize::Zeroizing;

use super::Context;
use super::args::StoreArg;
use super::output::say;
use crate::prompt;
use crate::store::keychain::{self, Probe};

/// Unlock the keychain, or the encrypted file store, from this terminal.
///
/// For a desktop machine reached over SSH, whose keychain locked with the screen: asks
/// for the keychain's password (hidden) and unlocks it, so `get`, `exec` and the Python
/// hook work again without a window. With `--backend encrypted-file`: asks for the
/// store's passphrase and has the daemon serve its keys from memory until `lock`, the
/// lock timeout, or the daemon stops (the first unlock makes the store).
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred unlock
  ssh -t gpu1 wandb-cred --backend encrypted-file unlock --lock-after 12h
  wandb-cred --backend encrypted-file unlock - < passphrase-file")]
pub struct UnlockArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
    /// `-`: read the encrypted store's passphrase from standard input (one line).
    #[arg(value_name = "-", value_parser = ["-"])]
    pub(super) stdin: Option<String>,
    /// Lock the encrypted store again after this long, e.g. `12h` or `30m`.
    #[arg(long, value_name = "DURATION")]
    pub(super) lock_after: Option<String>,
    /// Take an encrypted store file older than one seen here (one you restored from a
    /// backup on purpose); without it, such a file is refused.
    #[arg(long)]
    pub(super) accept_older: bool,
}

pub fn run(ctx: &Context, args: UnlockArgs) -> anyhow::Result<()> {
    if ctx.backend_choice == crate::store::backend::BackendChoice::EncryptedFile {
        return super::unlock_file::run(
            ctx,
            args.stdin.is_some(),
            args.lock_after.as_deref(),
            args.accept_older,
        );
    }
    if args.stdin.is_some() || args.lock_after.is_some() || args.accept_older {
        bail!(
            "`-`, --lock-after and --accept-older are for the encrypted store (--backend encrypted-file)"
        );
    }
    match keychain::probe(ctx.keychain_timeout, true)? {
        Probe::Ready => {
            say("The keychain is unlocked already.");
            return Ok(());
        }
        Probe::Missing(why) => bail!("there is no keychain to unlock: {why}"),
        Probe::Locked(_) => {}
    }
    if let Some(program) = keychain::UNLOCK_PROGRAM {
        let status = std::process::Command::new(program[0])
            .args(&program[1..])
            .status()
            .with_context(|| format!("cannot run {}", program.join(" ")))?;
        if !status.success() {
            bail!(
                "{} did not unlock the keychain ({status})",
                program.join(" ")
            );
        }
    } else {
        if !prompt::available(&ctx.env) {
            bail!(
                "unlock asks for the keychain's password and needs a terminal for that (over SSH: `ssh -t HOST wandb-cred unlock`)"
            );
        }
        let password = rpassword::prompt_password("wandb-cred: Password of the keychain: ")
            .map(Zeroizing::new)
            .context("cannot read the password from the terminal")?;
        let bytes = Zeroizing::new(password.as_bytes().to_vec());
        drop(password);
        keychain::unlock(ctx.keychain_timeout, bytes)
            .map_err(|why| anyhow::anyhow!("the keychain was not unlocked: {why}"))?;
        if matches!(
            keychain::probe(ctx.keychain_timeout, false)?,
            Probe::Locked(_)
        ) {
            bail!("the keychain is still locked: the password was not the keychain's");
        }
    }
    // Keys read before the lock may be cached no longer; the daemon looks again.
    ctx.service().reload().ok();
    say("Unlocked the keychain.");
    Ok(())
}
