//! `list`: the servers that have stored keys, masked, in the keychain, the kernel keyring
//! and netrc, and the copies `push` made on other machines.

use super::args::StoreArg;
use clap::Args;
use std::io::Write;

use serde_json::json;

use super::Context;
use super::output::say;
use super::push_record;
use crate::store::identity_record;

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

/// One row: a stored key, or a copy `push` made on another machine.
struct Row {
    server: String,
    store: &'static str,
    masked: String,
    location: String,
    /// The key's entity, when the server said it (`whoami`, `login --verify`).
    entity: Option<String>,
}

pub fn run(ctx: &Context, args: ListArgs) -> anyhow::Result<()> {
    let mut rows: Vec<Row> = ctx
        .service()
        .list(&ctx.netrc_path)?
        .into_iter()
        .map(|s| Row {
            server: s.server,
            store: s.layer.name(),
            masked: s.masked,
            location: s.location,
            entity: None,
        })
        .collect();
    // Who each key belongs to, where `whoami` or `login --verify` asked the server.
    for row in &mut rows {
        if let Some(who) = identity_record::of(&row.server, &row.masked)
            && let Some(entity) = who.entity
        {
            row.entity = Some(entity);
        }
    }
    // The default profile of a server with several keys is marked.
    for row in &mut rows {
        if let Ok(url) = crate::resolve::base_url::BaseUrl::from_account(&row.server)
            && let Some(profile) = url.profile()
            && super::profiles::default_of(&url).as_deref() == Some(profile)
        {
            row.location.push_str(" (default)");
        }
    }
    // Copies `push` made live on other machines: their location is the machine.
    rows.extend(push_record::all().into_iter().map(|c| Row {
        location: format!("{}, {}", c.destination, push_record::date(c.time)),
        server: c.server,
        store: "pushed",
        masked: c.key,
        entity: None,
    }));
    // One order for every store: by server (a URL, or for netrc the machine name, which
    // carries no scheme), then by store.
    rows.sort_by(|a, b| {
        let server = |s: &str| {
            let bare = s.split_once("://").map_or(s, |(_, rest)| rest);
            bare.to_ascii_lowercase()
        };
        (server(&a.server), a.store).cmp(&(server(&b.server), b.store))
    });
    let mut out = std::io::stdout().lock();
    if args.json {
        let items: Vec<_> = rows
            .iter()
            .map(|s| json!({"server": s.server, "store": s.store, "key": s.masked, "location": s.location, "entity": s.entity}))
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&items)?)?;
    } else if rows.is_empty() {
        drop(out);
        say("No stored keys.");
    } else {
        let width = rows.iter().map(|s| s.server.len()).max().unwrap_or(0);
        for s in &rows {
            // Servers and entities came from stores and servers: shown escaped.
            let entity = s
                .entity
                .as_ref()
                .map(|e| format!(" (entity {})", super::output::escaped(e)))
                .unwrap_or_default();
            writeln!(
                out,
                "{:<width$}  {:<8}  {:<14}  {}{entity}",
                super::output::escaped(&s.server),
                s.store,
                s.masked,
                super::output::escaped(&s.location)
            )?;
        }
    }
    Ok(())
}
