//! `logout`: remove the server's key everywhere this tool puts keys (daemon memory, the
//! keychain, its netrc entry), saying what it removed from where.

use super::output::{say, warn};
use super::{Context, HostArgs};

pub fn run(ctx: &Context, args: HostArgs) -> anyhow::Result<()> {
    let (url, _) = ctx.base_url(args.host.as_deref())?;
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
