//! `daemon`: runs the daemon in the foreground (systemd, launchd, by hand, or started
//! by a command on demand), with its idle timeout.

use crate::store::backend::BackendChoice;
use clap::Args;

use super::args::StoreArg;

/// Run the daemon in the foreground (for systemd, launchd, or autostart).
///
/// Clients start it on demand; it keeps keys in memory and answers over a local socket.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred daemon --idle-timeout 30m
  systemctl --user enable --now wandb-cred.socket   # or let systemd run it")]
pub struct DaemonArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
    /// The socket to listen on (default: WANDB_CRED_SOCKET, else
    /// $XDG_RUNTIME_DIR/wandb-cred/daemon.sock).
    #[arg(long, value_name = "PATH")]
    pub(super) socket: Option<std::path::PathBuf>,
    /// Exit after this long without clients, e.g. 30m (default: WANDB_CRED_IDLE_TIMEOUT,
    /// else 1h for a daemon a command started, never for one a service manager started).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(super) idle_timeout: Option<std::time::Duration>,
    /// Close a connection that sends no complete request for this long.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub(super) client_timeout: std::time::Duration,
    /// Serve at most this many connections at once; more are told the daemon is busy.
    #[arg(long, value_name = "N", default_value_t = 4096, value_parser = clap::value_parser!(u16).range(1..))]
    pub(super) max_clients: u16,
    /// Started by a client (recorded so that a newer client may replace it).
    #[arg(long, hide = true)]
    pub(super) autostarted: bool,
}

/// How long an autostarted daemon waits without clients before it exits, unless told.
pub const AUTOSTART_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

/// The daemon's idle timeout: `--idle-timeout`, else `WANDB_CRED_IDLE_TIMEOUT`, else
/// [`AUTOSTART_IDLE_TIMEOUT`] for a daemon a command started (one a service manager
/// started follows its unit: no timeout unless the unit sets one).
fn idle_timeout(
    env: &crate::env::Environment,
    flag: Option<std::time::Duration>,
    autostarted: bool,
) -> anyhow::Result<Option<std::time::Duration>> {
    if flag.is_some() {
        return Ok(flag);
    }
    if let Some(text) = env.var("WANDB_CRED_IDLE_TIMEOUT") {
        return crate::duration::parse(text)
            .map(Some)
            .map_err(|why| anyhow::anyhow!("WANDB_CRED_IDLE_TIMEOUT: {why}"));
    }
    Ok(autostarted.then_some(AUTOSTART_IDLE_TIMEOUT))
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::duration::parse(text)
}

pub fn run(backend: BackendChoice, args: DaemonArgs) -> anyhow::Result<()> {
    let env = crate::env::Environment::from_process();
    let keychain_timeout =
        crate::store::keychain::timeout_from(&env).map_err(anyhow::Error::msg)?;
    crate::daemon::run(crate::daemon::Options {
        socket: args.socket.unwrap_or_else(|| crate::ipc::socket_path(&env)),
        idle_timeout: idle_timeout(&env, args.idle_timeout, args.autostarted)?,
        autostarted: args.autostarted,
        backend,
        kernel_keyring: env
            .var(crate::store::kernel_keyring::OPT_OUT)
            .is_none_or(|v| v == "0"),
        keychain_timeout,
        client_timeout: args.client_timeout,
        max_clients: usize::from(args.max_clients),
    })
}
