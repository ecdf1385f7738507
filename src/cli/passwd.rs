//! `passwd`: changes the encrypted store's passphrase. The file is encrypted again
//! under the new one (a new file key and salt) in one atomic replacement, then this
//! machine's daemon opens it with the new passphrase.

use anyhow::{Context as _, bail};
use clap::Args;

use super::Context;
use super::args::StoreArg;
use super::output::say;
use super::unlock_file::{hidden, new_passphrase};
use crate::prompt;
use crate::store::encrypted_file;

/// Change the passphrase of the encrypted file store.
///
/// Asks for the current passphrase and the new one twice (hidden). The file is
/// encrypted again in one atomic step: a crash leaves the old file or the new one.
/// Other machines sharing the file must unlock again with the new passphrase.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred passwd
  printf '%s\\n%s\\n' \"$OLD\" \"$NEW\" | wandb-cred passwd -   # in a script")]
pub struct PasswdArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
    /// `-`: read the current and the new passphrase from standard input, one per line.
    #[arg(value_name = "-", value_parser = ["-"])]
    pub(super) stdin: Option<String>,
}

pub fn run(ctx: &Context, args: PasswdArgs) -> anyhow::Result<()> {
    let path = encrypted_file::default_path()
        .context("no data folder for the encrypted file (is HOME set?)")?;
    if !path.exists() {
        bail!(
            "there is no encrypted store at {} yet: `wandb-cred unlock` makes one",
            path.display()
        );
    }
    let (old, new) = if args.stdin.is_some() {
        let mut input = crate::secret_input::stdin();
        let old = super::unlock_file::read_line(&mut input)?;
        let new = super::unlock_file::read_line(&mut input)?;
        (old, new)
    } else {
        if !prompt::available(&ctx.env) {
            bail!(
                "passwd asks for the passphrases and needs a terminal for that (in a script: `wandb-cred passwd -` with both on standard input)"
            );
        }
        let old = hidden("wandb-cred: Current passphrase of the encrypted store: ")?;
        let new = new_passphrase(
            "wandb-cred: New passphrase: ",
            "the two new passphrases differ; nothing was changed",
        )?;
        (old, new)
    };
    if new.is_empty() {
        bail!("the new passphrase is empty; nothing was changed");
    }
    let count = encrypted_file::change_passphrase(&path, old.as_bytes(), new.as_bytes())?;
    say(format_args!(
        "Encrypted {} again under the new passphrase ({count} key(s)).",
        path.display()
    ));
    if ctx.service().is_daemon() {
        // Only a store open now is opened again, and until the time it was to lock.
        if ctx.service().rekey(&new)? {
            say(
                "This machine's daemon holds it open with the new passphrase, until it was to lock; other machines sharing it must unlock again.",
            );
        } else {
            say("It was locked here, and it stays locked: `wandb-cred unlock` opens it.");
        }
    }
    Ok(())
}
