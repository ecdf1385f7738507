//! `migrate`: move W&B keys from netrc into the keychain. A netrc entry is removed only
//! after its key was stored in the keychain and read back identical.

use super::args::StoreArg;
use anyhow::bail;
use clap::Args;

use super::Context;
use super::output::{say, warn};
use crate::resolve::base_url::BaseUrl;

/// Move W&B keys from netrc into the keychain (or the kernel keyring).
///
/// Keys go where `login` would put them: the keychain, or on Linux without one the
/// kernel keyring. Each key is stored there and read back before its netrc entry is
/// removed; nothing is removed from netrc unless that round trip succeeded.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred migrate --all
  wandb-cred migrate --host https://wandb.example.com --keep-netrc")]
pub struct MigrateArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
    /// Move the key for this server (default: the server in use).
    #[arg(
        long,
        visible_alias = "base-url",
        value_name = "URL",
        conflicts_with = "all"
    )]
    pub(super) host: Option<String>,
    /// Move every netrc entry that holds a W&B key (`login user` and a valid key).
    #[arg(long)]
    pub(super) all: bool,
    /// Leave the netrc entries in place (copy instead of move).
    #[arg(long)]
    pub(super) keep_netrc: bool,
}

pub fn run(ctx: &Context, args: MigrateArgs) -> anyhow::Result<()> {
    let urls = if args.all {
        let (urls, unknown) = every_netrc_server(ctx)?;
        for machine in unknown {
            warn(format_args!(
                "skipped {machine}: cannot tell whether it is served over http or https; run `wandb-cred migrate --host URL`"
            ));
        }
        urls
    } else {
        vec![ctx.base_url(args.host.as_deref())?.0]
    };
    if urls.is_empty() {
        say(format_args!(
            "No W&B keys in {} to move.",
            ctx.netrc_path.display()
        ));
        return Ok(());
    }
    let results = ctx
        .service()
        .migrate(&urls, &ctx.netrc_path, args.keep_netrc)?;
    let failed = results.iter().filter(|r| !r.ok).count();
    for result in &results {
        if result.ok {
            say(&result.message);
        } else {
            warn(&result.message);
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {} keys were not moved; their netrc entries are unchanged",
            results.len()
        );
    }
    Ok(())
}

/// Every netrc machine holding a W&B key, as server URLs. A machine's scheme is only
/// known when some configured URL (environment, settings, the cloud by either of its
/// names) names it.
fn every_netrc_server(ctx: &Context) -> anyhow::Result<(Vec<BaseUrl>, Vec<String>)> {
    let configured = [
        ctx.env.var("WANDB_BASE_URL"),
        ctx.settings.workspace_value("base_url").map(|s| s.value),
        ctx.settings.system_value("base_url").map(|s| s.value),
    ];
    let mut known = vec![BaseUrl::default_cloud()];
    known.extend(
        configured
            .into_iter()
            .flatten()
            .filter_map(|u| BaseUrl::parse(u).ok()),
    );
    let mut urls = Vec::new();
    let mut unknown = Vec::new();
    for machine in ctx.netrc().wandb_machines()? {
        match known.iter().find(|u| u.netrc_names().contains(&machine)) {
            // A cloud's two names are one server, moved once.
            Some(url) if urls.contains(url) => {}
            Some(url) => urls.push(url.clone()),
            None => unknown.push(machine),
        }
    }
    Ok((urls, unknown))
}
