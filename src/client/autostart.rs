//! Starting the daemon when none answers: `wandb-cred daemon --autostarted` detached in
//! its own session, output to the log file beside the socket, then polled for readiness
//! against a deadline. Two clients racing here end up with one daemon: the daemon's
//! lock file lets only one of the started processes serve.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{ConnectError, DaemonService};
use crate::ipc::{self, RuntimeFiles};
use crate::sys;

/// The variables an autostarted daemon gets from its client (besides the platform's
/// [`sys::SYSTEM_ENV`]): where the user's files and session bus are, and wandb-cred's
/// own settings for the daemon.
const DAEMON_ENV: &[&str] = &[
    "DBUS_SESSION_BUS_ADDRESS",
    "XDG_RUNTIME_DIR",
    "XDG_STATE_HOME",
    // The configuration (its `backend`) and the encrypted store's file.
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "WANDB_CRED_BACKEND",
    "WANDB_CRED_KEYCHAIN_TIMEOUT",
    "WANDB_CRED_IDLE_TIMEOUT",
    "WANDB_CRED_LOG",
    "WANDB_CRED_NO_KERNEL_KEYRING",
];

/// How long a started daemon may take to answer.
const READY_DEADLINE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Unsafe(#[from] ipc::IpcError),
    #[error("cannot start the daemon: {message}")]
    Spawn { message: String },
    #[error("the daemon did not become ready within {} s; see its log {}", READY_DEADLINE.as_secs(), log.display())]
    NotReady { log: PathBuf },
    #[error("the daemon exited at start ({status}); see its log {}", log.display())]
    Exited { status: String, log: PathBuf },
}

/// A running daemon for `socket`: the one there, or one started now (`autostart`).
/// A daemon speaking another protocol is replaced only if a client started it.
pub fn connect_or_start(socket: &Path, autostart: bool) -> Result<DaemonService, StartError> {
    match DaemonService::connect(socket) {
        Ok(service) => Ok(service),
        Err(ConnectError::NotRunning(_)) if autostart => start(socket),
        Err(ConnectError::Mismatch { hello, socket: at }) => {
            let files = RuntimeFiles::for_socket(socket);
            match files.read_pid() {
                Some((pid, true)) if pid == hello.pid && autostart => {
                    tracing::info!(pid, "replacing an autostarted daemon of another protocol");
                    sys::terminate(pid).map_err(|e| StartError::Spawn {
                        message: format!("cannot stop the old daemon (pid {pid}): {e}"),
                    })?;
                    start(socket)
                }
                _ => Err(ConnectError::Mismatch { socket: at, hello }.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn start(socket: &Path) -> Result<DaemonService, StartError> {
    let files = RuntimeFiles::for_socket(socket);
    ipc::prepare_dir(&files.dir)?;
    let spawn_error = |message: String| StartError::Spawn { message };
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&files.log)
        .map_err(|e| spawn_error(format!("cannot open the log {}: {e}", files.log.display())))?;
    sys::make_private(&log).map_err(|e| spawn_error(e.to_string()))?;
    let exe = std::env::current_exe()
        .map_err(|e| spawn_error(format!("cannot find this program: {e}")))?;
    let mut command = Command::new(exe);
    // A clean environment (never the client's WANDB_API_KEY or anything else it holds)
    // and a neutral working folder (the daemon's own), so it pins no folder of the
    // client's and learns nothing it does not need.
    command.env_clear().current_dir(&files.dir);
    let vault = crate::store::vault::settings::VARS;
    for name in DAEMON_ENV.iter().chain(sys::SYSTEM_ENV).chain(vault) {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
        .arg("daemon")
        .arg("--socket")
        .arg(socket)
        .arg("--autostarted")
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| spawn_error(e.to_string()))?)
        .stderr(log);
    let mut child = sys::spawn_detached(&mut command).map_err(|e| spawn_error(e.to_string()))?;
    let started = Instant::now();
    loop {
        match DaemonService::connect(socket) {
            Ok(service) => return Ok(service),
            Err(ConnectError::NotRunning(_)) => {}
            Err(e) => return Err(e.into()),
        }
        // A start that lost the race exits 0 while the winner gets ready.
        if let Ok(Some(status)) = child.try_wait()
            && !status.success()
        {
            return Err(StartError::Exited {
                status: status.to_string(),
                log: files.log,
            });
        }
        if started.elapsed() > READY_DEADLINE {
            return Err(StartError::NotReady { log: files.log });
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
