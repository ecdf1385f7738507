//! `logout`: remove the server's key everywhere this tool puts keys (daemon memory, the
//! keychain, its netrc entry), saying what it removed from where.

use super::Context;
use super::args::StoreArg;
use super::output::{say, warn};
use clap::Args;

/// Remove the server's API key from the keychain and from netrc.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred logout
  wandb-cred logout --host https://wandb.example.com
  wandb-cred logout --cloud          # the public cloud, whatever server is configured")]
pub struct HostArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
    #[command(flatten)]
    pub(super) profile: super::args::ProfileArg,
    /// The W&B server URL (default: WANDB_BASE_URL, then the settings files, then https://api.wandb.ai).
    #[arg(
        long,
        visible_alias = "base-url",
        value_name = "URL",
        conflicts_with = "cloud"
    )]
    pub(super) host: Option<String>,
    /// The W&B public cloud (https://api.wandb.ai), as `login --cloud` names it.
    #[arg(long)]
    pub(super) cloud: bool,
}

pub fn run(ctx: &Context, args: HostArgs) -> anyhow::Result<()> {
    let flag = if args.cloud {
        Some(crate::resolve::base_url::DEFAULT_BASE_URL)
    } else {
        args.host.as_deref()
    };
    let (url, _) = ctx.base_url(flag)?;
    let netloc = url.netloc();
    let erased = ctx.service().erase(&url, &ctx.netrc_path)?;
    for place in &erased.removed {
        say(format_args!(
            "Removed the API key for {netloc} from {place}."
        ));
    }
    if erased.removed.is_empty() {
        say(format_args!(
            "No stored API key for {netloc}; nothing to remove (looked in {}).",
            erased.looked_in.join(" and ")
        ));
    } else if url.profile().is_some()
        && super::profiles::default_of(&url).as_deref() == url.profile()
    {
        next_default(ctx, &url)?;
    }
    if ctx.env.api_key().is_some() {
        warn("WANDB_API_KEY is still set in this environment; unset it to log out completely.");
    }
    if let Some(setting) = ctx.settings.value("api_key") {
        warn(format_args!(
            "api_key in {} (line {}) still provides a key; remove it to log out completely.",
            setting.path.display(),
            setting.line
        ));
    }
    Ok(())
}

/// The default profile was removed: the server's unnamed key, else its first remaining
/// profile by name, becomes the default, and the user is told which.
fn next_default(ctx: &Context, removed: &crate::resolve::base_url::BaseUrl) -> anyhow::Result<()> {
    let identity = removed.identity();
    let mut left: Vec<Option<String>> = ctx
        .service()
        .list(&ctx.netrc_path)?
        .into_iter()
        .filter_map(|listed| crate::resolve::base_url::BaseUrl::from_account(&listed.server).ok())
        .filter(|url| url.identity() == identity)
        .map(|url| url.profile().map(str::to_owned))
        .collect();
    left.sort();
    left.dedup();
    let next = left.into_iter().next();
    super::profiles::set_default(removed, next.as_ref().and_then(|n| n.as_deref()));
    match next {
        Some(name) => say(format_args!(
            "The default profile for {} is now {}.",
            removed.netloc(),
            name.as_deref().unwrap_or("default (the unnamed key)")
        )),
        None => say(format_args!("{} has no other key.", removed.netloc())),
    }
    Ok(())
}
