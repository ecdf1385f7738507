//! `switch NAME`: makes one of a server's keys (profiles) its default, the only thing
//! that changes which profile other shells use. Moves a pointer, never a secret.

use anyhow::bail;
use clap::Args;

use super::Context;
use super::args::StoreArg;
use super::output::{say, warn};
use super::profiles;

/// Make one of the server's keys (profiles) its default.
///
/// Commands that name no profile (no --profile, no WANDB_CRED_PROFILE, no matching
/// entity) use the default. `default` names the server's unnamed key, the one the W&B
/// SDK reads from netrc.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred switch work
  wandb-cred switch personal --host https://wandb.example.com")]
pub struct SwitchArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
    /// The W&B server URL (default: WANDB_BASE_URL, then the settings files, then https://api.wandb.ai).
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    pub(super) host: Option<String>,
    /// The profile to make the default.
    #[arg(value_name = "NAME")]
    pub(super) name: String,
}

pub fn run(ctx: &Context, args: SwitchArgs) -> anyhow::Result<()> {
    let (server, _) = ctx.base_url(args.host.as_deref())?;
    let server = server.with_profile(None)?;
    let target = server.clone().with_profile(Some(&args.name))?;
    let netrc = target
        .profile()
        .is_none()
        .then_some(ctx.netrc_path.as_path());
    let Some(found) = ctx.service().get(&target, netrc)? else {
        bail!(
            "{} has no key for profile {}; `wandb-cred login --profile {}` stores one (nothing was changed)",
            server.netloc(),
            args.name,
            args.name
        );
    };
    profiles::set_default(&server, target.profile());
    say(format_args!(
        "The default profile for {} is now {} ({}).",
        server.netloc(),
        args.name,
        found.key.masked()
    ));
    if let Some(other) = ctx.env.var("WANDB_CRED_PROFILE") {
        warn(format_args!(
            "WANDB_CRED_PROFILE={other} still chooses the profile in this shell"
        ));
    }
    if ctx.env.api_key().is_some() {
        warn("WANDB_API_KEY is set in this shell and wins over every profile");
    }
    Ok(())
}
