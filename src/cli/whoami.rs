//! `whoami`: asks the server who the key in use belongs to (the SDK's `viewer` query),
//! prints username, entity and teams, and keeps them (no key) for `list`.

use std::io::Write;

use anyhow::bail;
use clap::Args;
use serde_json::json;

use super::Context;
use super::args::StoreArg;
use crate::store::identity_record;
use crate::verify;

/// Ask the server who the API key belongs to: username, default entity, teams.
///
/// Makes one request to the server (the W&B SDK's GraphQL `viewer` query) with the key
/// every other command would use; the key is only ever shown masked.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred whoami
  wandb-cred whoami --host https://wandb.example.com --json")]
pub struct WhoamiArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
    #[command(flatten)]
    pub(super) profile: super::args::ProfileArg,
    /// The W&B server URL (default: WANDB_BASE_URL, then the settings files, then https://api.wandb.ai).
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    pub(super) host: Option<String>,
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    pub(super) json: bool,
}

pub fn run(ctx: &Context, args: WhoamiArgs) -> anyhow::Result<()> {
    let (url, _) = ctx.base_url(args.host.as_deref())?;
    let Some(found) = ctx.stored_key(&url)? else {
        bail!("{}", super::lookup::no_key(ctx, &url));
    };
    let http = super::login::http_options(ctx)?;
    let viewer = verify::viewer(&url, &found.key, &http)?;
    identity_record::remember(&url, &found.key, &viewer);
    let mut out = std::io::stdout().lock();
    if args.json {
        let doc = json!({
            "server": url.as_str(),
            "username": viewer.username,
            "entity": viewer.entity,
            "email": viewer.email,
            "teams": viewer.teams,
            "key": found.key.masked(),
            "key_source": found.source.to_string(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        let none = || "(none)".to_owned();
        writeln!(out, "Server:    {url}")?;
        writeln!(
            out,
            "User:      {}",
            viewer
                .username
                .clone()
                .or(viewer.email.clone())
                .unwrap_or_else(none)
        )?;
        writeln!(
            out,
            "Entity:    {}",
            viewer.entity.clone().unwrap_or_else(none)
        )?;
        let teams = if viewer.teams.is_empty() {
            none()
        } else {
            viewer.teams.join(", ")
        };
        writeln!(out, "Teams:     {teams}")?;
        writeln!(
            out,
            "API key:   {} from {}",
            found.key.masked(),
            found.source
        )?;
    }
    Ok(())
}
