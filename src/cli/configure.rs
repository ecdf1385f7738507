//! `config`: shows and changes wandb-cred's own persistent settings
//! ([`crate::config::user_config`]), such as the store to use on this machine.

use std::io::Write;

use anyhow::bail;
use clap::Args;

use super::output::say;
use crate::config::user_config::{self, KNOWN};

/// Show or change wandb-cred's settings for this user (kept in ~/.config/wandb-cred/config).
///
/// With no NAME, lists every setting and its value. With NAME, prints its value; with
/// NAME and VALUE, sets it. `--backend` and WANDB_CRED_BACKEND still win over `backend`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred config backend encrypted-file   # a headless server: keys survive restarts
  wandb-cred config lock-after 12h
  wandb-cred config --unset backend
  wandb-cred config")]
pub struct ConfigArgs {
    /// The setting: backend or lock-after.
    #[arg(value_name = "NAME")]
    pub(super) name: Option<String>,
    /// Its new value.
    #[arg(value_name = "VALUE", conflicts_with = "unset")]
    pub(super) value: Option<String>,
    /// Remove the setting (back to the default).
    #[arg(long, requires = "name")]
    pub(super) unset: bool,
}

/// A daemon keeping keys in another store than `backend` now names is stopped: the
/// next command starts one (or the service manager does) for the new store.
fn restart_for(backend: &str) -> anyhow::Result<()> {
    let env = crate::env::Environment::from_process();
    let Some(running) = super::daemon_control::running_backend(&env) else {
        return Ok(());
    };
    if running.split(' ').next() == Some(backend) {
        return Ok(());
    }
    if let Some(pid) = super::daemon_control::stop_running(&env)? {
        say(format_args!(
            "Stopped the daemon (pid {pid}), which kept keys in {running}; the next command starts one for {backend}."
        ));
    }
    Ok(())
}

pub fn run(args: ConfigArgs) -> anyhow::Result<()> {
    let path = user_config::path().map_or_else(|| "(none)".to_owned(), |p| p.display().to_string());
    match (args.name.as_deref(), args.value.as_deref()) {
        (None, _) => {
            let values = user_config::read()?;
            let mut out = std::io::stdout().lock();
            for known in KNOWN {
                let value = values.iter().rev().find(|(n, _)| n == known.name);
                match value {
                    Some((_, v)) => writeln!(out, "{} = {v}", known.name)?,
                    None => writeln!(out, "# {} (not set): {}", known.name, known.about)?,
                }
            }
        }
        (Some(name), None) if args.unset => {
            if user_config::set(name, None)? {
                say(format_args!("Removed {name} from {path}."));
                if name == "backend" {
                    restart_for("auto")?;
                }
            } else {
                say(format_args!("{name} was not set in {path}."));
            }
        }
        (Some(name), None) => {
            if !KNOWN.iter().any(|k| k.name == name) {
                bail!(user_config::ConfigError::Unknown(name.to_owned()));
            }
            match user_config::get(name)? {
                Some(value) => println!("{value}"),
                None => bail!("{name} is not set in {path}"),
            }
        }
        (Some(name), Some(value)) => {
            user_config::set(name, Some(value))?;
            say(format_args!("Set {name} = {value} in {path}."));
            if name == "backend" {
                if std::env::var_os("WANDB_CRED_BACKEND").is_some() {
                    say("WANDB_CRED_BACKEND is set in this shell and wins over it.");
                } else {
                    restart_for(&value.trim().to_ascii_lowercase())?;
                }
            }
        }
    }
    Ok(())
}
