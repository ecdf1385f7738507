//! `uninstall [--remove-keys]`: undoes every integration wandb-cred made for this user
//! (the Python hook in each environment `setup-python` recorded, and in the active
//! one; its git helper entries; its service units), stops the daemon, and says which
//! keys remain where, or with `--remove-keys` removes them. Idempotent: it touches
//! nothing it did not write. Run it before removing the package.

use clap::Args;

use super::Context;
use super::output::{escaped, say, warn};
use crate::python_env::{self, Interpreter};
use crate::resolve::base_url::BaseUrl;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred uninstall
  wandb-cred uninstall --remove-keys")]
pub struct UninstallArgs {
    /// Also remove every stored key (keychain, kernel keyring, encrypted store, and the
    /// W&B netrc entries wandb-cred lists); without it, says where they remain. A team's
    /// Vault entries are shared with every machine and are left, with the command that
    /// removes one.
    #[arg(long)]
    remove_keys: bool,
}

pub fn run(ctx: &Context, args: UninstallArgs) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    python_hooks(ctx, &mut failed);
    match super::setup_git::remove_everywhere() {
        Ok(0) => say("git uses wandb-cred for no server; nothing to undo there."),
        Ok(_) => {}
        Err(e) => failed.push(format!("git: {e:#}")),
    }
    if let Err(e) = super::service::uninstall_if_installed() {
        failed.push(format!("service: {e:#}"));
    }
    if let Err(e) = keys(ctx, args.remove_keys) {
        failed.push(format!("keys: {e:#}"));
    }
    match super::daemon_control::stop_running(&ctx.env) {
        Ok(Some(pid)) => say(format_args!("Stopped the daemon (pid {pid}).")),
        Ok(None) => {}
        Err(e) => failed.push(format!("daemon: {e:#}")),
    }
    if failed.is_empty() {
        say(
            "wandb-cred's integrations are removed; you can now remove the package (`pip uninstall wandb-cred`, `uv tool uninstall wandb-cred`, `pipx uninstall wandb-cred`, `apt remove wandb-cred` or `cargo uninstall wandb-cred`).",
        );
        return Ok(());
    }
    for failure in &failed {
        warn(failure);
    }
    anyhow::bail!(
        "some integrations were not removed (above); run `wandb-cred uninstall` again once that is dealt with"
    )
}

/// The hook in every recorded environment and in the active one (a hook set up before
/// environments were recorded is found there).
fn python_hooks(ctx: &Context, failed: &mut Vec<String>) {
    let mut sites = super::hook_record::sites();
    if let Ok(facts) = python_env::probe(&Interpreter::choose(&ctx.env, None))
        && let Some(site) = facts.hook_site()
        && !sites.iter().any(|s| s == site)
    {
        sites.push(site.to_owned());
    }
    let mut removed = 0;
    for site in sites {
        match super::setup_python::remove_at(&site) {
            Ok(true) => removed += 1,
            Ok(false) => {}
            Err(e) => failed.push(format!("Python hook in {}: {e:#}", site.display())),
        }
    }
    if removed == 0 {
        say("No Python environment has the wandb-cred hook; nothing to undo there.");
    }
}

/// Says which keys remain where, or removes them.
fn keys(ctx: &Context, remove: bool) -> anyhow::Result<()> {
    let servers = ctx.service().list(&ctx.netrc_path)?;
    if servers.is_empty() {
        say("No stored keys.");
        return Ok(());
    }
    if !remove {
        for s in &servers {
            say(format_args!(
                "A key ({}) for {} remains in {}.",
                s.masked,
                escaped(&s.server),
                escaped(&s.location)
            ));
        }
        say(
            "`wandb-cred uninstall --remove-keys` removes them, or `wandb-cred logout --host URL` one at a time.",
        );
        return Ok(());
    }
    for s in &servers {
        let text = if s.server.contains("://") {
            s.server.clone()
        } else {
            format!("https://{}", s.server)
        };
        let url = BaseUrl::from_account(&text)?;
        // A team's Vault entry is every node's key, not this user's to remove in passing.
        if s.layer == crate::service::Layer::Vault {
            say(format_args!(
                "Left the team's key ({}) for {} in {}: every machine that reads it uses it; `wandb-cred logout --backend vault --host {}{}` removes it for all of them.",
                s.masked,
                escaped(&s.server),
                escaped(&s.location),
                url.clone().with_profile(None)?,
                url.profile()
                    .map(|p| format!(" --profile {p}"))
                    .unwrap_or_default()
            ));
            continue;
        }
        let erased = ctx.service().erase(&url, &ctx.netrc_path)?;
        for place in &erased.removed {
            say(format_args!(
                "Removed the API key for {} from {place}.",
                url.netloc()
            ));
        }
    }
    Ok(())
}
