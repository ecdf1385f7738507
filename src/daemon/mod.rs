//! The daemon: one trusted process that talks to the keychain, keeps keys in zeroizing
//! memory, and answers every other process over a local socket. `lifecycle` owns the
//! start (one daemon per socket) and the exit, `server` the connections, `handler` the
//! requests, `log_budget` keeps misbehaving clients from flooding the log, `program`
//! notices when the daemon's own program file is removed or replaced.

mod connection;
mod forwarded;
mod handler;
mod lifecycle;
mod log_budget;
mod program;
mod server;
mod state;

use std::path::PathBuf;
use std::time::Duration;

pub use lifecycle::run;

use crate::store::backend::BackendChoice;

/// How `wandb-cred daemon` was asked to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub socket: PathBuf,
    /// Exit after this long without connections.
    pub idle_timeout: Option<Duration>,
    /// Started by a client (recorded in the pid file, so a client may replace it).
    pub autostarted: bool,
    pub backend: BackendChoice,
    /// `auto` may choose the kernel keyring.
    pub kernel_keyring: bool,
    pub keychain_timeout: Duration,
    /// A connection that sends no complete request for this long is closed.
    pub client_timeout: Duration,
    /// Connections served at once; more are answered "busy" and closed.
    pub max_clients: usize,
}
