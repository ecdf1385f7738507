//! `exec`: runs a program with `WANDB_API_KEY` and `WANDB_BASE_URL` set from the stored
//! key (aws-vault's `exec`), so the W&B SDK finds the key without any plaintext file and
//! without the key ever appearing on a command line.

use std::io;
use std::process::Command;

use super::output::say;
use super::{Context, ExecArgs, Exit};
use crate::resolve::credential::KeySource;
use crate::sys;

pub fn run(ctx: &Context, args: ExecArgs) -> anyhow::Result<()> {
    let (url, _) = ctx.base_url(args.host.as_deref())?;
    let program = args.command[0].to_string_lossy().into_owned();
    let Some(resolved) = ctx.stored_key(&url)? else {
        anyhow::bail!(
            "{} ({program} was not started)",
            super::lookup::no_key(ctx, &url)
        );
    };
    if resolved.source == KeySource::Env {
        say(format_args!(
            "WANDB_API_KEY is already set in this environment; {program} gets that key, which takes precedence over stored keys (unset it to use the key stored for {})",
            url.netloc()
        ));
    }
    let mut command = Command::new(&args.command[0]);
    command
        .args(&args.command[1..])
        .envs(super::lookup::variables(&url, &resolved.key));
    let error = sys::run_in_place(&mut command);
    // Only reached when the program could not be started (the shell's statuses).
    let (code, why) = match error.kind() {
        io::ErrorKind::NotFound => (127, "command not found".to_owned()),
        io::ErrorKind::PermissionDenied => (126, "permission denied".to_owned()),
        _ => (126, error.to_string()),
    };
    Err(Exit {
        code,
        message: format!("{program}: {why}"),
    }
    .into())
}
