//! The daemon as a macOS LaunchAgent (`~/Library/LaunchAgents/io.github.wandb-cred.plist`)
//! in the user's GUI domain, logging to `~/Library/Logs/wandb-cred/daemon.log`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::{Definition, hand_over_from_on_demand_daemon, home, manager, manager_says_yes};
use crate::cli::output::say;
use crate::env::Environment;
use crate::units::{self, LAUNCH_AGENT_LABEL};

const LAUNCHCTL: &str = "launchctl";

pub fn plist_path() -> anyhow::Result<PathBuf> {
    Ok(home()?
        .join("Library/LaunchAgents")
        .join(format!("{LAUNCH_AGENT_LABEL}.plist")))
}

fn log_path() -> anyhow::Result<PathBuf> {
    Ok(home()?.join("Library/Logs/wandb-cred/daemon.log"))
}

/// `gui/<uid>`, and the agent's name in it.
fn domain() -> anyhow::Result<(String, String)> {
    let domain = crate::sys::launchd_domain().context("there is no launchd domain here")?;
    let target = format!("{domain}/{LAUNCH_AGENT_LABEL}");
    Ok((domain, target))
}

/// Whether the LaunchAgent is there.
pub fn is_installed() -> bool {
    plist_path().is_ok_and(|plist| plist.is_file())
}

pub fn install(env: &Environment, program: &Path) -> anyhow::Result<()> {
    let (domain, target) = domain()?;
    let log = log_path()?;
    let socket = crate::ipc::socket_path(env);
    let definition = Definition::at(plist_path()?, units::launch_agent(program, &socket, &log)?)?;
    definition.check_ours()?;
    let loaded = manager_says_yes(LAUNCHCTL, &["print", &target]);
    if definition.is_current() && loaded {
        say(format_args!(
            "The daemon is already installed as the LaunchAgent {} (running {}); nothing changed.",
            definition.path.display(),
            program.display()
        ));
        return Ok(());
    }
    if loaded {
        manager(LAUNCHCTL, &["bootout", &target])?;
    } else {
        hand_over_from_on_demand_daemon(env)?;
    }
    if let Some(dir) = log.parent() {
        crate::sys::create_private_dir_all(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    definition.write()?;
    let plist = definition.path.to_string_lossy().into_owned();
    if let Err(e) = manager(LAUNCHCTL, &["bootstrap", &domain, &plist]) {
        definition.restore();
        if loaded && definition.found.is_some() {
            let _ = manager(LAUNCHCTL, &["bootstrap", &domain, &plist]);
        }
        return Err(e.context("the LaunchAgent was not installed; its file was left as it was"));
    }
    say(format_args!(
        "Installed the daemon as the LaunchAgent {} (running {}): launchd starts it at login.\nLogs: {}. Remove with: wandb-cred service uninstall",
        definition.path.display(),
        program.display(),
        log.display()
    ));
    Ok(())
}

pub fn uninstall(_env: &Environment) -> anyhow::Result<()> {
    let (_, target) = domain()?;
    let definition = Definition::found(plist_path()?)?;
    if definition.found.is_none() {
        say(format_args!(
            "The daemon is not installed as a LaunchAgent (no {}); nothing changed.",
            definition.path.display()
        ));
        return Ok(());
    }
    definition.check_ours()?;
    if manager_says_yes(LAUNCHCTL, &["print", &target]) {
        manager(LAUNCHCTL, &["bootout", &target]).context("the LaunchAgent was not removed")?;
    }
    super::remove_if_there(&definition.path)?;
    say(format_args!(
        "Stopped the daemon and removed the LaunchAgent {}; commands start the daemon on demand again.",
        definition.path.display()
    ));
    Ok(())
}
