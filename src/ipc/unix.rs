//! Unix domain sockets: a private 0700 folder, a 0600 socket, peer uid checks, and
//! systemd socket activation (`LISTEN_FDS`) and readiness (`NOTIFY_SOCKET`).

use std::io;
use std::os::fd::FromRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::IpcError;
use crate::env::Environment;

pub type ClientStream = std::os::unix::net::UnixStream;
pub type ServerStream = tokio::net::UnixStream;

pub use crate::sys::current_uid;

/// `$XDG_RUNTIME_DIR/wandb-cred/daemon.sock`, else `<temp>/wandb-cred-<uid>/daemon.sock`.
pub fn default_socket_path(env: &Environment) -> PathBuf {
    let dir = match env.var("XDG_RUNTIME_DIR") {
        Some(runtime) => Path::new(runtime).join("wandb-cred"),
        None => match session_runtime_dir() {
            Some(runtime) => runtime.join("wandb-cred"),
            None => std::env::temp_dir().join(format!("wandb-cred-{}", current_uid())),
        },
    };
    dir.join("daemon.sock")
}

/// Where logind puts this user's runtime folder, `/run/user/<uid>`, when it is there, is
/// this user's and is private: jobs started without the login session's environment
/// (cron, `env -i`, `sudo -u`, Slurm `--export=NONE`) then find the session's daemon.
fn session_runtime_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(format!("/run/user/{}", current_uid()));
    check_private_dir(&dir).is_ok().then_some(dir)
}

/// The folder of the socket, which also holds the lock, pid and log files.
pub fn runtime_dir(socket: &Path) -> PathBuf {
    match socket.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Creates the socket's folder (0700) if needed, and refuses one that another user owns
/// or that group or others can enter.
pub fn prepare_dir(dir: &Path) -> Result<(), IpcError> {
    if std::fs::symlink_metadata(dir).is_err() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| IpcError::Io {
                path: dir.to_owned(),
                source,
            })?;
    }
    check_private_dir(dir)
}

/// Whether `dir` is a folder (not a symbolic link) that this user owns and nobody else
/// can enter: the only kind of folder whose socket a client trusts and a daemon uses.
pub fn check_private_dir(dir: &Path) -> Result<(), IpcError> {
    let meta = std::fs::symlink_metadata(dir).map_err(|source| IpcError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let unsafe_dir = |why: String| IpcError::Unsafe {
        path: dir.to_owned(),
        why,
    };
    if meta.file_type().is_symlink() {
        let to =
            std::fs::read_link(dir).map_or_else(|_| "?".to_owned(), |t| t.display().to_string());
        return Err(unsafe_dir(format!(
            "it is a symbolic link (to {to}), not a folder of yours"
        )));
    }
    if !meta.is_dir() {
        return Err(unsafe_dir("it is not a folder".to_owned()));
    }
    if meta.uid() != current_uid() {
        return Err(unsafe_dir(format!(
            "it belongs to {}, not to you ({})",
            crate::sys::describe_uid(meta.uid()),
            crate::sys::describe_uid(current_uid())
        )));
    }
    if let Some(why) = crate::sys::open_to_others(&meta) {
        return Err(unsafe_dir(format!(
            "{why}; run `chmod 700 {}`",
            dir.display()
        )));
    }
    Ok(())
}

/// Connects to the daemon, with a bound on each read and write, after making sure it
/// is this user's own: the socket's folder is private to this user (checked before
/// connecting) and the process listening on it runs as this user (its peer
/// credentials, checked before anything is sent).
pub fn connect(path: &Path, timeout: Duration) -> Result<ClientStream, super::ConnectFailure> {
    use super::ConnectFailure;
    let dir = runtime_dir(path);
    match check_private_dir(&dir) {
        Ok(()) => {}
        Err(IpcError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            return Err(ConnectFailure::NotRunning);
        }
        Err(e) => return Err(ConnectFailure::Untrusted(e.to_string())),
    }
    let stream = match connect_bounded(path, timeout.min(CONNECT_TIMEOUT)) {
        Ok(stream) => stream,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            return Err(ConnectFailure::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the daemon at {} did not take the connection within {} s (is it stopped?)",
                    path.display(),
                    timeout.min(CONNECT_TIMEOUT).as_secs()
                ),
            )));
        }
        Err(e) if is_not_running(&e) => return Err(ConnectFailure::NotRunning),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            return Err(ConnectFailure::Untrusted(format!(
                "refusing to use {}: {e} (it is not your socket)",
                path.display()
            )));
        }
        Err(e) => return Err(ConnectFailure::Io(e)),
    };
    match peer_uid(&stream) {
        Ok(uid) if uid == current_uid() => {}
        Ok(uid) => {
            return Err(ConnectFailure::Untrusted(format!(
                "refusing to use {}: it is served by {}, not by you ({})",
                path.display(),
                crate::sys::describe_uid(uid),
                crate::sys::describe_uid(current_uid())
            )));
        }
        Err(e) => {
            return Err(ConnectFailure::Untrusted(format!(
                "refusing to use {}: cannot tell who serves it ({e})",
                path.display()
            )));
        }
    }
    let bounded = (|| {
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))
    })();
    bounded.map_err(ConnectFailure::Io)?;
    Ok(stream)
}

/// How long a connect may wait for the daemon to take it. A daemon that is running takes
/// connections at once; one that is stopped (or frozen) must not hang its clients.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connected stream. On Linux a connect waits while the listener's backlog is full
/// (a stopped daemon with clients queued), bounded here by the socket's send timeout;
/// elsewhere such a connect is refused at once.
#[cfg(target_os = "linux")]
fn connect_bounded(path: &Path, timeout: Duration) -> io::Result<ClientStream> {
    use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType, sockopt};
    let fd = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )?;
    sockopt::set_socket_timeout(&fd, sockopt::Timeout::Send, Some(timeout))?;
    rustix::net::connect(&fd, &SocketAddrUnix::new(path)?)?;
    Ok(ClientStream::from(fd))
}

#[cfg(not(target_os = "linux"))]
fn connect_bounded(path: &Path, _timeout: Duration) -> io::Result<ClientStream> {
    ClientStream::connect(path)
}

/// The uid of the process that listens on the other end of a connected socket.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn peer_uid(stream: &ClientStream) -> io::Result<u32> {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: u32::MAX,
        gid: u32::MAX,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes of the sizes passed, and the
    // descriptor belongs to `stream` for the whole call.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut cred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(cred.uid)
}

/// The uid of the process that listens on the other end of a connected socket.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn peer_uid(stream: &ClientStream) -> io::Result<u32> {
    use std::os::fd::AsRawFd;
    let (mut uid, mut gid) = (libc::uid_t::MAX, libc::gid_t::MAX);
    // SAFETY: both out-pointers are valid; the descriptor belongs to `stream`.
    let rc = unsafe { libc::getpeereid(stream.as_raw_fd(), &mut uid, &mut gid) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(uid)
}

/// Whether a connection failure means "no daemon there" (as opposed to a real error).
pub fn is_not_running(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
    )
}

/// The daemon serves a get-only socket that `wandb-cred ssh` forwards (`ssh -R`).
pub const FORWARDS: bool = true;

pub struct Listener {
    inner: tokio::net::UnixListener,
    /// The socket file we created and must remove on exit (`None` under systemd).
    owned: Option<(PathBuf, u64)>,
}

impl Listener {
    /// Binds a new socket at `path` (mode 0600), replacing a stale file; the caller
    /// has made sure no live daemon is there.
    pub fn bind(path: &Path) -> io::Result<Self> {
        match std::fs::remove_file(path) {
            Ok(()) => tracing::info!(path = %path.display(), "removed a stale socket"),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let std_listener = std::os::unix::net::UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        std_listener.set_nonblocking(true)?;
        let identity = std::fs::metadata(path)?.ino();
        Ok(Self {
            inner: tokio::net::UnixListener::from_std(std_listener)?,
            owned: Some((path.to_owned(), identity)),
        })
    }

    /// The socket systemd passed (`LISTEN_PID` is us and `LISTEN_FDS` >= 1), if any.
    pub fn from_systemd() -> io::Result<Option<Self>> {
        let ours = std::env::var("LISTEN_PID")
            .ok()
            .and_then(|p| p.parse::<u32>().ok())
            == Some(std::process::id());
        let count = std::env::var("LISTEN_FDS")
            .ok()
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0);
        if !ours || count == 0 {
            return Ok(None);
        }
        // SAFETY: systemd passes listening sockets starting at fd 3 and nothing else
        // in this process owns fd 3; we take it over exactly once.
        let std_listener = unsafe { std::os::unix::net::UnixListener::from_raw_fd(3) };
        std_listener.set_nonblocking(true)?;
        for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
            // SAFETY: called before the runtime starts other threads.
            unsafe { std::env::remove_var(name) };
        }
        Ok(Some(Self {
            inner: tokio::net::UnixListener::from_std(std_listener)?,
            owned: None,
        }))
    }

    /// The next connection, and whether its peer is this user (`Err` says who it is).
    pub async fn accept(&self) -> io::Result<(ServerStream, Result<(), String>)> {
        let (stream, _) = self.inner.accept().await?;
        let verdict = match stream.peer_cred() {
            Ok(cred) if cred.uid() == current_uid() => Ok(()),
            Ok(cred) => Err(format!(
                "uid {} (pid {})",
                cred.uid(),
                cred.pid().map_or("?".to_owned(), |p| p.to_string())
            )),
            Err(e) => Err(format!("an unknown peer ({e})")),
        };
        Ok((stream, verdict))
    }

    /// Removes the socket file, but only if it is still the one this process created.
    pub fn remove(&self) {
        if let Some((path, identity)) = &self.owned
            && std::fs::metadata(path).map(|m| m.ino()).ok() == Some(*identity)
        {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Tells systemd the daemon is ready (`Type=notify`), when it asked.
pub fn notify_ready() {
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let sent = (|| -> io::Result<()> {
        let socket = std::os::unix::net::UnixDatagram::unbound()?;
        let bytes = target.as_encoded_bytes();
        #[cfg(target_os = "linux")]
        if let Some(name) = bytes.strip_prefix(b"@") {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(b"READY=1", &addr)?;
            return Ok(());
        }
        let _ = bytes;
        socket.send_to(b"READY=1", Path::new(&target))?;
        Ok(())
    })();
    if let Err(e) = sent {
        tracing::warn!(error = %e, "could not notify systemd");
    }
}
