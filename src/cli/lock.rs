//! `lock`: the daemon forgets the encrypted store's keys and file key; readers then say
//! it is locked until the next `unlock`.

use clap::Args;

use super::Context;
use super::args::StoreArg;
use super::output::say;

/// Lock the encrypted file store: the daemon forgets its keys until the next unlock.
#[derive(Debug, Args)]
#[command(after_help = "Example:
  wandb-cred --backend encrypted-file lock")]
pub struct LockArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
}

pub fn run(ctx: &Context, _args: LockArgs) -> anyhow::Result<()> {
    if ctx.service().lock()? {
        say("Locked the encrypted store: its keys are out of memory until `wandb-cred unlock`.");
    } else {
        say("No daemon holds the encrypted store open; nothing to lock.");
    }
    Ok(())
}
