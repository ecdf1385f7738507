//! `exec`: runs a program with `WANDB_API_KEY` and `WANDB_BASE_URL` set from the stored
//! key (aws-vault's `exec`), so the W&B SDK finds the key without any plaintext file and
//! without the key ever appearing on a command line.

use super::args::StoreArg;
use clap::Args;
use std::ffi::OsString;
use std::io;
use std::process::Command;

use super::output::say;
use super::{Context, Exit};
use crate::resolve::credential::KeySource;
use crate::sys;

/// Run a program with WANDB_API_KEY and WANDB_BASE_URL set from the stored key.
///
/// The key is passed in the environment, never on a command line. On Unix the
/// program replaces wandb-cred, so signals and the exit status are its own. A
/// WANDB_API_KEY already set in the environment takes precedence (as for every
/// reader) and is passed on unchanged; wandb-cred says so. With
/// WANDB_IDENTITY_TOKEN_FILE set (identity federation), only WANDB_BASE_URL is set.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred exec -- python train.py
  wandb-cred exec --host https://wandb.example.com -- wandb sync ./wandb/offline-run-*
  wandb-cred exec -- sbatch train.sbatch            # Slurm passes the environment on
  wandb-cred exec -- docker run --rm -e WANDB_API_KEY -e WANDB_BASE_URL my-image python train.py")]
pub struct ExecArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
    #[command(flatten)]
    pub(super) profile: super::args::ProfileArg,
    /// The W&B server URL (default: WANDB_BASE_URL, then the settings files, then https://api.wandb.ai).
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    pub(super) host: Option<String>,
    /// The program to run and its arguments (put `--` before them).
    #[arg(
        value_name = "CMD",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub(super) command: Vec<OsString>,
}

pub fn run(ctx: &Context, args: ExecArgs) -> anyhow::Result<()> {
    let (url, _) = ctx.base_url(args.host.as_deref())?;
    let program = args.command[0].to_string_lossy().into_owned();
    let mut command = Command::new(&args.command[0]);
    command.args(&args.command[1..]);
    if let Some(file) = super::lookup::identity_token_file(ctx) {
        say(super::lookup::identity_note(file, &program));
        command.env("WANDB_BASE_URL", url.as_str());
        return Err(start(&mut command, &program));
    }
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
    command.envs(super::lookup::variables(&url, &resolved.key));
    Err(start(&mut command, &program))
}

/// Runs the program in place of this one; returns only when it could not be started.
fn start(command: &mut Command, program: &str) -> anyhow::Error {
    let error = sys::run_in_place(command);
    // Only reached when the program could not be started (the shell's statuses).
    let (code, why) = match error.kind() {
        io::ErrorKind::NotFound => (127, "command not found".to_owned()),
        io::ErrorKind::PermissionDenied => (126, "permission denied".to_owned()),
        _ => (126, error.to_string()),
    };
    Exit {
        code,
        message: format!("{program}: {why}"),
    }
    .into()
}
