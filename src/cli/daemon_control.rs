//! `stop` and `reload`: talking to a running daemon without starting one.

use super::args::StoreArg;
use clap::Args;
use std::time::{Duration, Instant};

use super::Context;
use super::output::say;
use crate::client::{ConnectError, DaemonService};
use crate::env::Environment;
use crate::ipc;

/// Make the daemon forget cached keys and look at the keychain again.
#[derive(Debug, Args)]
#[command(after_help = "Example (after changing the keychain with another tool):
  secret-tool clear service wandb username https://api.wandb.ai && wandb-cred reload")]
pub struct ReloadArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
}

fn running(env: &Environment) -> anyhow::Result<Option<DaemonService>> {
    match DaemonService::connect(&ipc::socket_path(env)) {
        Ok(daemon) => Ok(Some(daemon)),
        Err(ConnectError::NotRunning(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The backend the daemon on this user's socket keeps keys in (its `--backend` label),
/// when one answers.
pub fn running_backend(env: &Environment) -> Option<String> {
    running(env)
        .ok()
        .flatten()
        .map(|d| d.hello.backend_choice.clone())
}

/// `stop`: asks the daemon to shut down and waits until it has.
pub fn stop(ctx: &Context) -> anyhow::Result<()> {
    match stop_running(&ctx.env)? {
        Some(pid) => say(format_args!("Stopped the daemon (pid {pid}).")),
        None => say("No daemon is running."),
    }
    Ok(())
}

/// Stops the daemon on this user's socket, if one answers, and says which it was.
pub fn stop_running(env: &Environment) -> anyhow::Result<Option<u32>> {
    let Some(daemon) = running(env)? else {
        return Ok(None);
    };
    let pid = daemon.hello.pid;
    daemon.shutdown()?;
    drop(daemon);
    // Gone when its process is (under socket activation the socket stays and answers:
    // systemd starts a new daemon on the next request); where processes cannot be
    // seen, when its socket no longer answers (it removes the socket as it exits).
    let socket = ipc::socket_path(env);
    let gone = || {
        if crate::sys::SEES_PROCESSES {
            !crate::sys::is_alive(pid)
        } else {
            matches!(
                DaemonService::connect(&socket),
                Err(ConnectError::NotRunning(_))
            )
        }
    };
    let started = Instant::now();
    while !gone() {
        if started.elapsed() > Duration::from_secs(10) {
            anyhow::bail!("the daemon (pid {pid}) did not stop within 10 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(Some(pid))
}

/// `reload`: drops every cached key and asks the stores again.
pub fn reload(ctx: &Context) -> anyhow::Result<()> {
    ctx.service().reload()?;
    say(format_args!(
        "Dropped cached keys; {} is asked again.",
        ctx.service()
            .backend()
            .name
            .as_deref()
            .map_or("the store".to_owned(), |n| format!("the {n} store"))
    ));
    Ok(())
}
