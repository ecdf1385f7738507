//! The daemon's client: small and synchronous (no async runtime, TLS or D-Bus on the
//! `get` path). [`DaemonService`] is the [`KeyService`] spoken over the socket.

pub mod autostart;
pub mod quick;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use wandb_cred_proto::{self as proto, FrameError, PROTOCOL, Request, Response, Secret};
use zeroize::Zeroizing;

use crate::ipc::{self, ClientStream};
use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;
use crate::service::{
    BackendInfo, DaemonStatus, Erased, ErrorKind, Found, KeyService, Listed, Migrated,
    ServiceError, ServiceResult, Stored,
};

/// How long one request may take before the client gives up (keychain calls inside the
/// daemon have their own, shorter bound).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What the daemon said about itself in `Hello`.
#[derive(Debug, Clone)]
pub struct Hello {
    pub protocol: u32,
    pub version: String,
    pub pid: u32,
    pub backend_choice: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("no daemon is listening at {}", .0.display())]
    NotRunning(PathBuf),
    #[error("the daemon at {} (pid {}) is wandb-cred {} speaking protocol {}; this is wandb-cred {} speaking protocol {PROTOCOL}", socket.display(), hello.pid, hello.version, hello.protocol, env!("CARGO_PKG_VERSION"))]
    Mismatch { socket: PathBuf, hello: Hello },
    #[error("cannot talk to the daemon at {}: {message}", socket.display())]
    Broken { socket: PathBuf, message: String },
    /// The socket is not this user's own daemon; nothing was sent to it.
    #[error("{why}")]
    Untrusted { socket: PathBuf, why: String },
}

/// A connection to the daemon after a successful handshake.
pub struct DaemonService {
    stream: RefCell<ClientStream>,
    pub hello: Hello,
}

/// How a request that lost its daemon (it exited or crashed) begins its message.
pub const LOST: &str = "lost the daemon";

/// Whether `error` says the daemon went away before it answered (rather than that it
/// answered with a failure).
pub fn lost(error: &ServiceError) -> bool {
    error.kind == ErrorKind::Internal && error.message.starts_with(LOST)
}

impl DaemonService {
    /// Connects and says hello.
    pub fn connect(socket: &Path) -> Result<Self, ConnectError> {
        let broken = |message: String| ConnectError::Broken {
            socket: socket.to_owned(),
            message,
        };
        let mut stream = match ipc::connect(socket, REQUEST_TIMEOUT) {
            Ok(stream) => stream,
            Err(ipc::ConnectFailure::NotRunning) => {
                return Err(ConnectError::NotRunning(socket.to_owned()));
            }
            Err(ipc::ConnectFailure::Untrusted(why)) => {
                return Err(ConnectError::Untrusted {
                    socket: socket.to_owned(),
                    why,
                });
            }
            Err(ipc::ConnectFailure::Io(e)) => return Err(broken(e.to_string())),
        };
        let hello = Request::Hello {
            protocol: PROTOCOL,
            client: format!("wandb-cred {}", env!("CARGO_PKG_VERSION")),
        };
        proto::write_frame(&mut stream, &hello).map_err(|e| broken(e.to_string()))?;
        match proto::read_frame::<Response>(&mut stream) {
            Ok(Response::Hello {
                protocol,
                server,
                pid,
                backend_choice,
            }) => {
                let hello = Hello {
                    protocol,
                    version: server,
                    pid,
                    backend_choice,
                };
                if protocol != PROTOCOL {
                    return Err(ConnectError::Mismatch {
                        socket: socket.to_owned(),
                        hello,
                    });
                }
                let daemon = Self {
                    stream: RefCell::new(stream),
                    hello,
                };
                // Our own bound on keychain calls, when we have one: the daemon's may be
                // longer.
                if let Some(ms) = crate::store::keychain::requested_bound_ms() {
                    daemon
                        .call(&Request::Limit {
                            keychain_timeout_ms: ms,
                        })
                        .map_err(|e| broken(e.message))?;
                }
                Ok(daemon)
            }
            Ok(Response::Error { message, .. }) => Err(broken(message)),
            Ok(other) => Err(broken(format!("unexpected answer to Hello: {other:?}"))),
            Err(FrameError::Closed) => Err(ConnectError::NotRunning(socket.to_owned())),
            Err(e) => Err(broken(e.to_string())),
        }
    }

    fn call(&self, request: &Request) -> ServiceResult<Response> {
        let mut stream = self.stream.borrow_mut();
        let lost = |e: FrameError| ServiceError::new(ErrorKind::Internal, format!("{LOST}: {e}"));
        proto::write_frame(&mut *stream, request).map_err(lost)?;
        match proto::read_frame::<Response>(&mut *stream).map_err(lost)? {
            Response::Error { kind, message } => Err(ServiceError::new(kind, message)),
            response => Ok(response),
        }
    }

    pub fn status(&self) -> ServiceResult<DaemonStatus> {
        match self.call(&Request::Status)? {
            Response::Status(status) => Ok(status),
            other => Err(unexpected(&other)),
        }
    }

    pub fn shutdown(&self) -> ServiceResult<()> {
        match self.call(&Request::Shutdown)? {
            Response::Done => Ok(()),
            other => Err(unexpected(&other)),
        }
    }
}

fn unexpected(response: &Response) -> ServiceError {
    let name = format!("{response:?}");
    let name = name
        .split([' ', '(', '{'])
        .next()
        .unwrap_or_default()
        .to_owned();
    ServiceError::new(
        ErrorKind::Internal,
        format!("the daemon answered with an unexpected {name}"),
    )
}

/// The key in a `Key` answer.
fn found_from(response: Response) -> ServiceResult<Found> {
    match response {
        Response::Key {
            key,
            layer,
            location,
        } => {
            let key = ApiKey::parse(key.0)
                .map_err(|e| ServiceError::new(ErrorKind::InvalidKey, e.to_string()))?;
            Ok(Found {
                key,
                layer,
                location,
            })
        }
        other => Err(unexpected(&other)),
    }
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

impl KeyService for DaemonService {
    fn get(&self, url: &BaseUrl, netrc: Option<&Path>) -> ServiceResult<Option<Found>> {
        let request = Request::Get {
            url: url.wire(),
            netrc: netrc.map(path_text),
        };
        match self.call(&request) {
            Ok(response) => found_from(response).map(Some),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn store(&self, url: &BaseUrl, key: &ApiKey, netrc: &Path) -> ServiceResult<Stored> {
        let request = Request::Store {
            url: url.wire(),
            key: Secret(Zeroizing::new(key.expose().to_owned())),
            netrc: path_text(netrc),
        };
        match self.call(&request)? {
            Response::Stored {
                layer,
                location,
                why,
                removed_plaintext,
            } => Ok(Stored {
                layer,
                location,
                why,
                removed_plaintext,
            }),
            other => Err(unexpected(&other)),
        }
    }

    fn erase(&self, url: &BaseUrl, netrc: &Path) -> ServiceResult<Erased> {
        let request = Request::Erase {
            url: url.wire(),
            netrc: path_text(netrc),
        };
        match self.call(&request)? {
            Response::Erased { removed, looked_in } => Ok(Erased { removed, looked_in }),
            other => Err(unexpected(&other)),
        }
    }

    fn list(&self, netrc: &Path) -> ServiceResult<Vec<Listed>> {
        match self.call(&Request::List {
            netrc: path_text(netrc),
        })? {
            Response::Listed { servers } => Ok(servers),
            other => Err(unexpected(&other)),
        }
    }

    fn migrate(
        &self,
        urls: &[BaseUrl],
        netrc: &Path,
        keep_netrc: bool,
    ) -> ServiceResult<Vec<Migrated>> {
        let request = Request::Migrate {
            urls: urls.iter().map(BaseUrl::wire).collect(),
            netrc: path_text(netrc),
            keep_netrc,
        };
        match self.call(&request)? {
            Response::Migrated { results } => Ok(results),
            other => Err(unexpected(&other)),
        }
    }

    fn backend(&self) -> BackendInfo {
        match self.status() {
            Ok(status) => BackendInfo {
                name: status.backend,
                detail: status.backend_detail,
            },
            Err(e) => BackendInfo {
                name: None,
                detail: e.message,
            },
        }
    }

    fn daemon(&self) -> Option<DaemonStatus> {
        self.status().ok()
    }

    fn is_daemon(&self) -> bool {
        true
    }

    fn rekey(&self, passphrase: &zeroize::Zeroizing<String>) -> ServiceResult<bool> {
        let request = Request::Rekey {
            passphrase: wandb_cred_proto::Secret(passphrase.clone()),
        };
        match self.call(&request) {
            Ok(Response::Done) => Ok(true),
            Err(e) if e.kind == ErrorKind::Locked => Ok(false),
            Err(e) => Err(e),
            Ok(other) => Err(unexpected(&other)),
        }
    }

    fn unlock(
        &self,
        passphrase: &zeroize::Zeroizing<String>,
        create: bool,
        lock_after: Option<std::time::Duration>,
    ) -> ServiceResult<()> {
        let request = Request::Unlock {
            passphrase: wandb_cred_proto::Secret(passphrase.clone()),
            create,
            lock_after_secs: lock_after.map(|d| d.as_secs().max(1)),
        };
        match self.call(&request)? {
            Response::Done => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    fn lock(&self) -> ServiceResult<bool> {
        match self.call(&Request::Lock)? {
            Response::Done => Ok(true),
            other => Err(unexpected(&other)),
        }
    }

    fn reload(&self) -> ServiceResult<()> {
        match self.call(&Request::Reload)? {
            Response::Done => Ok(()),
            other => Err(unexpected(&other)),
        }
    }
}
