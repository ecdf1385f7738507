//! `logout`: remove the server's key everywhere this tool puts keys: the keychain and
//! its netrc entry. Says what it removed from where.

use super::output::{say, warn};
use super::{Context, HostArgs};
use crate::store::Store;

pub fn run(ctx: &Context, args: HostArgs) -> anyhow::Result<()> {
    let (url, _) = ctx.base_url(args.host.as_deref())?;
    let netloc = url.netloc();
    // A keychain that cannot be reached is an error before anything is removed.
    let keychain = ctx.selection()?.keychain();
    let mut looked = Vec::new();
    let mut removed = false;
    if let Some(keychain) = keychain {
        if keychain.delete(&url)? {
            say(format_args!(
                "Removed the API key for {netloc} from {}.",
                keychain.describe()
            ));
            removed = true;
        }
        looked.push(keychain.describe());
    }
    if ctx.netrc.delete(&url)? {
        say(format_args!(
            "Removed the API key for {netloc} from {}.",
            ctx.netrc.describe()
        ));
        removed = true;
    }
    looked.push(ctx.netrc.describe());
    if !removed {
        say(format_args!(
            "No stored API key for {netloc}; nothing to remove (looked in {}).",
            looked.join(" and ")
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
