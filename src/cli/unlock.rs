//! `unlock`: unlocks the keychain from this terminal, for a desktop reached over SSH
//! (GNOME Keyring takes its password through the Secret Service; macOS has `security
//! unlock-keychain`). The password is read hidden and never stored.

use anyhow::{Context as _, bail};
use clap::Args;
use zeroize::Zeroizing;

use super::Context;
use super::args::StoreArg;
use super::output::say;
use crate::prompt;
use crate::store::keychain::{self, Probe};

/// Unlock the keychain from this terminal (GNOME Keyring; macOS: the login Keychain).
///
/// For a desktop machine reached over SSH, whose keychain locked with the screen: asks
/// for the keychain's password (hidden) and unlocks it, so `get`, `exec` and the Python
/// hook work again without a window.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred unlock
  ssh desktop wandb-cred unlock     # needs a terminal: use ssh -t")]
pub struct UnlockArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
}

pub fn run(ctx: &Context, _args: UnlockArgs) -> anyhow::Result<()> {
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
