//! `get`: the key for a server on stdout, by the documented precedence, never prompting;
//! with `--env`, the variables `exec` sets, for programs.

use super::args::StoreArg;
use clap::Args;
use std::io::Write;

use anyhow::bail;

use super::{Context, lookup};
use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;

/// Print the API key for the server on stdout (for scripts and other programs).
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  key=$(wandb-cred get) && WANDB_API_KEY=$key python train.py
  wandb-cred get --host https://wandb.example.com
  wandb-cred get --env                              # WANDB_API_KEY=... and WANDB_BASE_URL=...")]
pub struct GetArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
    #[command(flatten)]
    pub(super) profile: super::args::ProfileArg,
    /// The W&B server URL (default: WANDB_BASE_URL, then the settings files, then https://api.wandb.ai).
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    pub(super) host: Option<String>,
    /// Print the variables `exec` sets, as NAME=VALUE lines, for programs (the Python
    /// hook). When no key was ever stored for the server, nothing is printed (exit
    /// status 0); a key that should be there and is not is an error, as for `get`.
    /// With WANDB_IDENTITY_TOKEN_FILE set (identity federation), no key is printed.
    #[arg(long)]
    pub(super) env: bool,
}

pub fn run(ctx: &Context, args: GetArgs) -> anyhow::Result<()> {
    if args.env {
        let (url, _) = ctx.base_url(args.host.as_deref())?;
        if let Some(file) = lookup::identity_token_file(ctx) {
            super::output::warn(lookup::identity_note(file, "the program"));
            return Ok(());
        }
        return match ctx.stored_key(&url)? {
            Some(found) => print_env(&url, &found.key),
            // Nothing, silently, only when no key was ever stored for this server here:
            // a key that should be there (cleared by a restart, stored on another
            // machine) is an error, as for `get`, so a program's hook never stays quiet.
            None => match lookup::why_missing(ctx, &url) {
                Some(why) => bail!(lookup::no_key_because(ctx, &url, Some(why))),
                None => Ok(()),
            },
        };
    }
    print(&key(ctx, args.host.as_deref())?)
}

/// The server for `host` (or the configured one) and its key, if one is stored.
pub fn lookup(ctx: &Context, host: Option<&str>) -> anyhow::Result<Option<(BaseUrl, ApiKey)>> {
    let (url, _) = ctx.base_url(host)?;
    Ok(ctx.stored_key(&url)?.map(|found| (url, found.key)))
}

/// The key `get` prints for `host` (or the configured server).
pub fn key(ctx: &Context, host: Option<&str>) -> anyhow::Result<ApiKey> {
    let (url, _) = ctx.base_url(host)?;
    let Some(found) = ctx.stored_key(&url)? else {
        bail!(lookup::no_key(ctx, &url));
    };
    Ok(found.key)
}

pub fn print(key: &ApiKey) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", key.expose())?;
    out.flush()?;
    Ok(())
}

/// `NAME=VALUE` lines, one per variable `exec` sets. Neither a key nor a validated URL
/// holds a line break, so each line is one variable.
pub fn print_env(url: &BaseUrl, key: &ApiKey) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for (name, value) in lookup::variables(url, key) {
        writeln!(out, "{name}={value}")?;
    }
    out.flush()?;
    Ok(())
}
