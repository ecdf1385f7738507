//! Windows: a per-user named pipe through `interprocess`. A pipe created by this user
//! gets the default security descriptor (the user, SYSTEM and administrators), which is
//! the Windows counterpart of the Unix folder and peer checks.
//! Reviewed by hand: this file cannot be compiled on the Linux CI.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use interprocess::local_socket::traits::tokio::Listener as _;
use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName};

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

/// Pipes live in no folder: the lock, pid and log files go to a per-user temp folder.
pub fn runtime_dir(_socket: &Path) -> PathBuf {
    let user = std::env::var("USERNAME").unwrap_or_else(|_| "user".to_owned());
    std::env::temp_dir().join(format!("wandb-cred-{user}"))
}

/// Named pipes live in no folder.
pub fn prepare_dir(_dir: &Path) -> Result<(), IpcError> {
    Ok(())
}

pub fn connect(path: &Path, _timeout: Duration) -> io::Result<ClientStream> {
    use interprocess::local_socket::traits::Stream as _;
    ClientStream::connect(path.to_fs_name::<GenericFilePath>()?)
}

pub fn is_not_running(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
    )
}

pub struct Listener {
    inner: interprocess::local_socket::tokio::Listener,
}

impl Listener {
    pub fn bind(path: &Path) -> io::Result<Self> {
        let name = path.to_fs_name::<GenericFilePath>()?;
        let inner = ListenerOptions::new().name(name).create_tokio()?;
        Ok(Self { inner })
    }

    /// No socket activation on Windows.
    pub fn from_systemd() -> io::Result<Option<Self>> {
        Ok(None)
    }

    /// The next connection; the pipe's security descriptor already admitted the peer.
    pub async fn accept(&self) -> io::Result<(ServerStream, Result<(), String>)> {
        let stream = self.inner.accept().await?;
        Ok((stream, Ok(())))
    }

    /// The pipe disappears with the process.
    pub fn remove(&self) {}
}

pub fn notify_ready() {}
