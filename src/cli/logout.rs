//! `logout`: remove the server's key from where `login` stores keys.

use super::output::{say, warn};
use super::{Context, HostArgs};

pub fn run(ctx: &Context, args: HostArgs) -> anyhow::Result<()> {
    let (url, _) = ctx.base_url(args.host.as_deref())?;
    let store = ctx.store();
    if store.delete(&url)? {
        say(format_args!(
            "Removed the API key for {} from {}.",
            url.netloc(),
            store.describe()
        ));
    } else {
        say(format_args!(
            "No stored API key for {} in {}; nothing to remove.",
            url.netloc(),
            store.describe()
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
