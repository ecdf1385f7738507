//! `migrate`: move W&B keys from netrc into the keychain. A netrc entry is removed only
//! after its key was stored in the keychain and read back identical.

use anyhow::bail;

use super::output::{say, warn};
use super::{Context, MigrateArgs};
use crate::resolve::base_url::{BaseUrl, DEFAULT_BASE_URL};
use crate::store::Store;
use crate::store::backend::Selection;
use crate::store::keychain::KeychainStore;

pub fn run(ctx: &Context, args: MigrateArgs) -> anyhow::Result<()> {
    let keychain = match ctx.selection()? {
        Selection::Keychain(keychain) => keychain,
        Selection::Netrc { why } => bail!("there is no keychain to move keys into ({why})"),
    };
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
            ctx.netrc.path().display()
        ));
        return Ok(());
    }
    let mut failed = 0;
    for url in &urls {
        if let Err(e) = migrate_one(ctx, keychain, url, args.keep_netrc) {
            warn(format_args!("{}: {e:#}", url.netloc()));
            failed += 1;
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {} keys were not moved; their netrc entries are unchanged",
            urls.len()
        );
    }
    Ok(())
}

fn migrate_one(
    ctx: &Context,
    keychain: &KeychainStore,
    url: &BaseUrl,
    keep_netrc: bool,
) -> anyhow::Result<()> {
    let netloc = url.netloc();
    let Some(found) = ctx.netrc.machine_key(netloc)? else {
        say(format_args!(
            "{netloc}: no key in {}; nothing to move.",
            ctx.netrc.path().display()
        ));
        return Ok(());
    };
    match keychain.get(url)? {
        Some(existing) if existing.key != found.key => {
            bail!(
                "the keychain already holds a different key for {url}; left both as they are (use `wandb-cred logout` and `login` to choose)"
            );
        }
        Some(_) => say(format_args!(
            "{netloc}: the keychain already holds this key."
        )),
        None => {
            keychain.set_verified(url, &found.key)?;
            say(format_args!(
                "{netloc}: stored in the keychain as {url} and read back."
            ));
        }
    }
    if keep_netrc {
        say(format_args!(
            "{netloc}: kept in {} (--keep-netrc).",
            found.location
        ));
    } else if ctx.netrc.delete(url)? {
        say(format_args!("{netloc}: removed from {}.", found.location));
    }
    Ok(())
}

/// Every netrc machine holding a W&B key, as server URLs. A machine's scheme is only
/// known when some configured URL (flag, environment, settings, the cloud) names it.
fn every_netrc_server(ctx: &Context) -> anyhow::Result<(Vec<BaseUrl>, Vec<String>)> {
    let mut known: Vec<BaseUrl> = vec![BaseUrl::default_cloud()];
    let candidates = [
        ctx.env.var("WANDB_BASE_URL"),
        ctx.settings.workspace_value("base_url").map(|s| s.value),
        ctx.settings.system_value("base_url").map(|s| s.value),
        Some(DEFAULT_BASE_URL),
    ];
    known.extend(
        candidates
            .into_iter()
            .flatten()
            .filter_map(|u| BaseUrl::parse(u).ok()),
    );
    let mut urls = Vec::new();
    let mut unknown = Vec::new();
    for machine in ctx.netrc.wandb_machines()? {
        match known.iter().find(|u| u.netloc() == machine) {
            Some(url) => urls.push(url.clone()),
            None => unknown.push(machine),
        }
    }
    Ok((urls, unknown))
}
