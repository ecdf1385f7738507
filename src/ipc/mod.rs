//! Local IPC: where the daemon's socket lives, the private folder around it, and the
//! listener/stream types. The only place where Unix sockets and Windows named pipes
//! differ; `unix.rs` and `windows.rs` are siblings with the same functions.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;

use std::path::PathBuf;

use crate::env::Environment;

/// Why the socket's folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    #[error("refusing to use {}: {why}", path.display())]
    Unsafe { path: PathBuf, why: String },
    #[error("cannot use {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Why a client did not get a connection to a daemon it can trust.
#[derive(Debug)]
pub enum ConnectFailure {
    /// Nothing is listening there (no folder, no socket, or nobody accepting).
    NotRunning,
    /// Something is there that is not this user's own private daemon: the socket's
    /// folder is not this user's or not private, or another user's process listens.
    /// Nothing was sent to it. Says what and whose.
    Untrusted(String),
    /// Any other failure to connect.
    Io(std::io::Error),
}

impl std::fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotRunning => f.write_str("no daemon is listening"),
            Self::Untrusted(why) => f.write_str(why),
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

/// The daemon's files beside its socket: the lock that makes one daemon win, the pid
/// file (`<pid>` and, for a daemon a client started, `autostarted`), and the log of an
/// autostarted daemon.
#[derive(Debug, Clone)]
pub struct RuntimeFiles {
    pub dir: PathBuf,
    pub lock: PathBuf,
    pub pid: PathBuf,
    pub log: PathBuf,
    /// The get-only socket `wandb-cred ssh` forwards to a remote machine.
    pub forward: PathBuf,
}

impl RuntimeFiles {
    pub fn for_socket(socket: &std::path::Path) -> Self {
        let dir = runtime_dir(socket);
        Self {
            lock: dir.join("daemon.lock"),
            pid: dir.join("daemon.pid"),
            log: dir.join("daemon.log"),
            forward: dir.join("forward.sock"),
            dir,
        }
    }

    /// The pid in the pid file and whether that daemon was autostarted.
    pub fn read_pid(&self) -> Option<(u32, bool)> {
        let text = std::fs::read_to_string(&self.pid).ok()?;
        let mut lines = text.lines();
        let pid = lines.next()?.trim().parse().ok()?;
        Some((pid, lines.any(|l| l.trim() == "autostarted")))
    }
}

/// The daemon's socket: `WANDB_CRED_SOCKET`, else the platform's per-user default.
pub fn socket_path(env: &Environment) -> PathBuf {
    match env.var("WANDB_CRED_SOCKET") {
        Some(path) => PathBuf::from(path),
        None => default_socket_path(env),
    }
}
