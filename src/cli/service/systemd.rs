//! The daemon as systemd user units: `wandb-cred.socket` (socket activation at
//! `%t/wandb-cred/daemon.sock`) and `wandb-cred.service`, in the user's unit folder.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use super::{Definition, hand_over_from_on_demand_daemon, home, manager, manager_says_yes};
use crate::cli::output::{say, warn};
use crate::env::Environment;
use crate::units::{self, SERVICE_UNIT, SOCKET_UNIT};

const SYSTEMCTL: &str = "systemctl";

/// `systemctl --user ARGS`: what it printed, or what it said when it failed.
fn systemctl(args: &[&str]) -> anyhow::Result<String> {
    let finished = manager(SYSTEMCTL, &[&["--user"], args].concat())?;
    Ok(String::from_utf8_lossy(&finished.stdout).trim().to_owned())
}

fn systemctl_says_yes(args: &[&str]) -> bool {
    manager_says_yes(SYSTEMCTL, &[&["--user"], args].concat())
}

/// Where systemd reads a user's own units: `$XDG_CONFIG_HOME/systemd/user`, else
/// `~/.config/systemd/user`.
fn unit_dir(env: &Environment) -> anyhow::Result<PathBuf> {
    let config = match env.var("XDG_CONFIG_HOME") {
        Some(dir) if Path::new(dir).is_absolute() => PathBuf::from(dir),
        _ => home()?.join(".config"),
    };
    Ok(config.join("systemd").join("user"))
}

/// The user's systemd answers, or why not (nothing has been changed yet).
fn reach_manager(doing: &str) -> anyhow::Result<()> {
    systemctl(&["show", "--property=Version"]).map(|_| ()).with_context(|| {
        format!(
            "no systemd user manager answers, so {doing} (without one, commands start the daemon on demand: nothing needs installing)"
        )
    })
}

/// Where `service install` puts the service unit for this user.
pub fn service_file(env: &Environment) -> Option<PathBuf> {
    unit_dir(env).ok().map(|dir| dir.join(SERVICE_UNIT))
}

/// Whether the units are there for this user: written by `service install`, or the
/// package's in a system folder.
pub fn is_installed(env: &Environment) -> bool {
    let own = unit_dir(env).map(|dir| dir.join(SOCKET_UNIT));
    own.is_ok_and(|unit| unit.is_file())
        || [
            "/usr/lib/systemd/user",
            "/lib/systemd/user",
            "/etc/systemd/user",
        ]
        .iter()
        .any(|dir| Path::new(dir).join(SOCKET_UNIT).is_file())
}

pub fn install(env: &Environment, program: &Path) -> anyhow::Result<()> {
    reach_manager("nothing was installed")?;
    let dir = unit_dir(env)?;
    let definitions = units::systemd_units(program)?
        .into_iter()
        .map(|(name, text)| Definition::at(dir.join(name), text))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for definition in &definitions {
        definition.check_ours()?;
    }
    let current = definitions.iter().all(Definition::is_current);
    let enabled = systemctl_says_yes(&["is-enabled", "--quiet", SOCKET_UNIT]);
    let listening = systemctl_says_yes(&["is-active", "--quiet", SOCKET_UNIT]);
    if current && enabled && listening {
        say(format_args!(
            "The daemon is already installed as systemd user units in {} (running {}); nothing changed.",
            dir.display(),
            program.display()
        ));
        return Ok(());
    }
    if !listening {
        hand_over_from_on_demand_daemon(env)?;
    }
    if !current {
        // The service first: the socket names it.
        for definition in definitions.iter().rev() {
            definition.write()?;
        }
    }
    if let Err(e) = start(&dir, current, listening) {
        if !current {
            for definition in &definitions {
                definition.restore();
            }
            let _ = systemctl(&["daemon-reload"]);
        }
        return Err(
            e.context("the service was not installed; the unit files were left as they were")
        );
    }
    say(format_args!(
        "Installed the daemon as systemd user units ({} and {} in {}), running {}: systemd starts it on the first request.\nLogs: journalctl --user -u wandb-cred. Remove with: wandb-cred service uninstall",
        SOCKET_UNIT,
        SERVICE_UNIT,
        dir.display(),
        program.display()
    ));
    warn_if_clients_look_elsewhere(env);
    Ok(())
}

/// Loads the units, checks systemd reads ours (not another folder's), enables the
/// socket and (re)starts it; a running daemon of an older unit is restarted.
fn start(dir: &Path, current: bool, listening: bool) -> anyhow::Result<()> {
    systemctl(&["daemon-reload"])?;
    let fragment = systemctl(&["show", "--property=FragmentPath", "--value", SERVICE_UNIT])?;
    let ours = dir.join(SERVICE_UNIT);
    if Path::new(&fragment) != ours {
        bail!(
            "systemd reads {SERVICE_UNIT} from {fragment:?}, not from {} (is XDG_CONFIG_HOME different for the systemd user manager?)",
            ours.display()
        );
    }
    systemctl(&["enable", SOCKET_UNIT])?;
    if listening && !current {
        systemctl(&["stop", SERVICE_UNIT])?;
        systemctl(&["restart", SOCKET_UNIT])?;
    } else {
        systemctl(&["start", SOCKET_UNIT])?;
    }
    Ok(())
}

/// systemd listens at `%t/wandb-cred/daemon.sock`; commands in a shell without
/// XDG_RUNTIME_DIR (or with WANDB_CRED_SOCKET) look elsewhere.
fn warn_if_clients_look_elsewhere(env: &Environment) {
    let Ok(listen) = systemctl(&["show", "--property=Listen", "--value", SOCKET_UNIT]) else {
        return;
    };
    let systemd_socket = listen.split_whitespace().next().unwrap_or_default();
    let ours = crate::ipc::socket_path(env);
    if !systemd_socket.is_empty() && Path::new(systemd_socket) != ours {
        warn(format_args!(
            "commands in this shell look for the daemon at {} (WANDB_CRED_SOCKET or XDG_RUNTIME_DIR), not at systemd's {systemd_socket}",
            ours.display()
        ));
    }
}

pub fn uninstall(env: &Environment) -> anyhow::Result<()> {
    let dir = unit_dir(env)?;
    let definitions = [SOCKET_UNIT, SERVICE_UNIT]
        .into_iter()
        .map(|name| Definition::found(dir.join(name)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if definitions.iter().all(|d| d.found.is_none()) {
        say(format_args!(
            "The daemon is not installed as a systemd user service (nothing in {}); nothing changed.",
            dir.display()
        ));
        return Ok(());
    }
    for definition in &definitions {
        definition.check_ours()?;
    }
    reach_manager("nothing was removed")?;
    systemctl(&["disable", "--now", SOCKET_UNIT, SERVICE_UNIT])
        .context("the service was not removed")?;
    for definition in &definitions {
        super::remove_if_there(&definition.path)?;
    }
    systemctl(&["daemon-reload"])?;
    say(format_args!(
        "Stopped the daemon and removed {SOCKET_UNIT} and {SERVICE_UNIT} from {}; commands start the daemon on demand again.",
        dir.display()
    ));
    Ok(())
}
