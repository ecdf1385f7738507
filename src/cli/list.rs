//! `list`: the servers that have stored keys, masked, in the keychain and in netrc.

use super::args::StoreArg;
use clap::Args;
use std::io::Write;

use serde_json::json;

use super::Context;
use super::output::say;
use crate::service::Layer;

/// List the servers that have stored keys (masked).
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred list
  wandb-cred list --json")]
pub struct ListArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    pub(super) json: bool,
}

pub fn run(ctx: &Context, args: ListArgs) -> anyhow::Result<()> {
    let mut servers = ctx.service().list(&ctx.netrc_path)?;
    // One order for every store: by server (a URL, or for netrc the machine name, which
    // carries no scheme), then by store.
    servers.sort_by(|a, b| {
        let server = |s: &str| {
            let bare = s.split_once("://").map_or(s, |(_, rest)| rest);
            bare.to_ascii_lowercase()
        };
        (server(&a.server), a.layer.name()).cmp(&(server(&b.server), b.layer.name()))
    });
    let mut out = std::io::stdout().lock();
    let layer = |l: Layer| l.name();
    if args.json {
        let items: Vec<_> = servers
            .iter()
            .map(|s| json!({"server": s.server, "store": layer(s.layer), "key": s.masked, "location": s.location}))
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&items)?)?;
    } else if servers.is_empty() {
        drop(out);
        say("No stored keys.");
    } else {
        let width = servers.iter().map(|s| s.server.len()).max().unwrap_or(0);
        for s in &servers {
            writeln!(
                out,
                "{:<width$}  {:<8}  {:<14}  {}",
                s.server,
                layer(s.layer),
                s.masked,
                s.location
            )?;
        }
    }
    Ok(())
}
