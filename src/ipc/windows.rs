//! Windows: a per-user named pipe through `interprocess`, the counterpart of the Unix
//! socket in its private folder. The pipe's DACL admits only the current user (not the
//! default, which also lets SYSTEM and administrators in, and others read); the first
//! instance is created with `FILE_FLAG_FIRST_PIPE_INSTANCE` (interprocess does this), so
//! a name someone else created first is an error, not a shared pipe; the daemon checks
//! each client's user, and each client the daemon's, by the peer's process id.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use interprocess::local_socket::traits::StreamCommon as _;
use interprocess::local_socket::traits::tokio::Listener as _;
use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName};
use interprocess::os::windows::local_socket::ListenerOptionsExt as _;
use interprocess::os::windows::security_descriptor::SecurityDescriptor;

use super::IpcError;
use crate::env::Environment;

pub type ClientStream = interprocess::local_socket::Stream;
pub type ServerStream = interprocess::local_socket::tokio::Stream;

/// Windows has no uids; peers are restricted by the pipe's security descriptor.
pub fn current_uid() -> u32 {
    0
}

pub fn default_socket_path(_env: &Environment) -> PathBuf {
    let user = std::env::var("USERNAME").unwrap_or_else(|_| "user".to_owned());
    PathBuf::from(format!(r"\\.\pipe\wandb-cred-{user}"))
}

/// Pipes live in no folder: the lock, pid and log files go to a folder of the user's
/// temp folder named after the pipe (`%TEMP%\wandb-cred-<user>` for the default pipe),
/// so daemons on different pipes never share a lock.
pub fn runtime_dir(socket: &Path) -> PathBuf {
    let name: String = socket
        .to_string_lossy()
        .rsplit(['\\', '/'])
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = if name.is_empty() {
        "wandb-cred".to_owned()
    } else {
        name
    };
    std::env::temp_dir().join(name)
}

/// Creates the per-user folder that holds the lock, pid and log files (the pipe itself
/// lives in no folder). It is under the user's own temp folder, whose ACL keeps other
/// users out.
pub fn prepare_dir(dir: &Path) -> Result<(), IpcError> {
    std::fs::create_dir_all(dir).map_err(|source| IpcError::Io {
        path: dir.to_owned(),
        source,
    })
}

/// Connects to the daemon, and refuses a pipe served by another user's process (a name
/// squatted before the daemon started) before anything is sent on it.
pub fn connect(path: &Path, _timeout: Duration) -> Result<ClientStream, super::ConnectFailure> {
    use super::ConnectFailure;
    use interprocess::local_socket::traits::Stream as _;
    let name = path
        .to_fs_name::<GenericFilePath>()
        .map_err(ConnectFailure::Io)?;
    let stream = match ClientStream::connect(name) {
        Ok(stream) => stream,
        Err(e) if is_not_running(&e) => return Err(ConnectFailure::NotRunning),
        Err(e) => return Err(ConnectFailure::Io(e)),
    };
    let server = stream.peer_creds().map_err(ConnectFailure::Io)?.pid();
    match server.map(|pid| (pid, same_user(pid))) {
        Some((_, Ok(()))) => Ok(stream),
        Some((pid, Err(why))) => Err(ConnectFailure::Untrusted(format!(
            "refusing to use {}: it is served by process {pid}, {why}",
            path.display()
        ))),
        None => Err(ConnectFailure::Untrusted(format!(
            "refusing to use {}: the serving process is unknown",
            path.display()
        ))),
    }
}

/// `Ok` when process `pid` runs as the current user; otherwise who it is, for messages.
fn same_user(pid: u32) -> Result<(), String> {
    let ours =
        crate::sys::current_user_sid().map_err(|e| format!("and our own user is unknown ({e})"))?;
    match crate::sys::process_user_sid(pid) {
        Ok(theirs) if theirs == ours => Ok(()),
        Ok(theirs) => Err(format!("which runs as {theirs}, not as you ({ours})")),
        Err(e) => Err(format!("whose user cannot be read ({e})")),
    }
}

/// `D:P(A;;GA;;;<your SID>)`: a protected DACL with one entry, for the current user.
fn owner_only() -> io::Result<SecurityDescriptor> {
    let sid = crate::sys::current_user_sid()?;
    let sddl = widestring::U16CString::from_str(format!("D:P(A;;GA;;;{sid})"))
        .map_err(io::Error::other)?;
    SecurityDescriptor::deserialize(&sddl)
}

pub fn is_not_running(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
    )
}

/// No forwarded socket: OpenSSH for Windows forwards no Unix sockets to named pipes.
pub const FORWARDS: bool = false;

pub struct Listener {
    inner: interprocess::local_socket::tokio::Listener,
}

impl Listener {
    pub fn bind(path: &Path) -> io::Result<Self> {
        let name = path.to_fs_name::<GenericFilePath>()?;
        let inner = ListenerOptions::new()
            .name(name)
            .security_descriptor(owner_only()?)
            .create_tokio()
            .map_err(|e| match e.kind() {
                io::ErrorKind::PermissionDenied | io::ErrorKind::AddrInUse => io::Error::new(
                    e.kind(),
                    format!("the pipe is already in use by another program ({e})"),
                ),
                _ => e,
            })?;
        Ok(Self { inner })
    }

    /// No socket activation on Windows.
    pub fn from_systemd() -> io::Result<Option<Self>> {
        Ok(None)
    }

    /// The next connection, and whether its peer runs as this user (`Err` says who it
    /// is). The pipe's DACL already keeps others out; this is the Unix peer check's twin.
    pub async fn accept(&self) -> io::Result<(ServerStream, Result<(), String>)> {
        let stream = self.inner.accept().await?;
        let verdict = match stream.peer_creds().map(|c| c.pid()) {
            Ok(Some(pid)) => same_user(pid).map_err(|why| format!("process {pid}, {why}")),
            Ok(None) => Err("an unknown process".to_owned()),
            Err(e) => Err(format!("an unknown peer ({e})")),
        };
        Ok((stream, verdict))
    }

    /// The pipe disappears with the process.
    pub fn remove(&self) {}
}

pub fn notify_ready() {}
