//! The one-round-trip client for the `get` fast path: a connection whose first `Get`
//! carries the handshake (`HelloGet`). It only looks keys up; everything else, and any
//! disagreement with the daemon, is an error, after which the caller hands the command
//! to the full program (which says Hello, autostarts, explains mismatches).

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};

use wandb_cred_proto::{self as proto, PROTOCOL, Request, Response};

use super::{REQUEST_TIMEOUT, found_from, path_text};
use crate::ipc::{self, ClientStream};
use crate::resolve::base_url::BaseUrl;
use crate::service::{
    BackendInfo, DaemonStatus, Erased, ErrorKind, Found, KeyService, Listed, Migrated,
    ServiceError, ServiceResult, Stored,
};

/// A daemon to be reached on first use, and greeted with that first `Get`.
pub struct QuickDaemon {
    socket: PathBuf,
    stream: RefCell<Option<ClientStream>>,
    backend_label: String,
    greeted: Cell<bool>,
}

/// Why the fast path cannot go on; never shown (the full program takes over).
fn not_here(what: &str) -> ServiceError {
    ServiceError::new(
        ErrorKind::Internal,
        format!("{what} is not on the fast path"),
    )
}

impl QuickDaemon {
    /// Does nothing yet: the first `get` connects (no daemon there is an error).
    pub fn new(socket: PathBuf, backend_label: String) -> Self {
        Self {
            socket,
            stream: RefCell::new(None),
            backend_label,
            greeted: Cell::new(false),
        }
    }
}

impl KeyService for QuickDaemon {
    fn get(&self, url: &BaseUrl, netrc: Option<&Path>) -> ServiceResult<Option<Found>> {
        let (url, netrc) = (url.wire(), netrc.map(path_text));
        let request = if self.greeted.replace(true) {
            Request::Get { url, netrc }
        } else {
            Request::HelloGet {
                protocol: PROTOCOL,
                client: concat!("wandb-cred ", env!("CARGO_PKG_VERSION")).to_owned(),
                backend_choice: self.backend_label.clone(),
                url,
                netrc,
                keychain_timeout_ms: crate::store::keychain::requested_bound_ms(),
            }
        };
        let mut stream = self.stream.borrow_mut();
        if stream.is_none() {
            let connected = ipc::connect(&self.socket, REQUEST_TIMEOUT).map_err(|e| {
                ServiceError::new(ErrorKind::Internal, format!("no daemon to ask: {e}"))
            })?;
            *stream = Some(connected);
        }
        let stream = stream.as_mut().expect("connected above");
        let lost = |e: proto::FrameError| {
            ServiceError::new(ErrorKind::Internal, format!("lost the daemon: {e}"))
        };
        proto::write_frame(stream, &request).map_err(lost)?;
        match proto::read_frame::<Response>(stream).map_err(lost)? {
            Response::Error {
                kind: ErrorKind::NotFound,
                ..
            } => Ok(None),
            Response::Error { kind, message } => Err(ServiceError::new(kind, message)),
            Response::Hello { .. } => Err(not_here("a daemon of another protocol or backend")),
            response => found_from(response).map(Some),
        }
    }

    fn store(&self, _: &BaseUrl, _: &crate::key::ApiKey, _: &Path) -> ServiceResult<Stored> {
        Err(not_here("storing"))
    }

    fn erase(&self, _: &BaseUrl, _: &Path) -> ServiceResult<Erased> {
        Err(not_here("erasing"))
    }

    fn list(&self, _: &Path) -> ServiceResult<Vec<Listed>> {
        Err(not_here("listing"))
    }

    fn migrate(&self, _: &[BaseUrl], _: &Path, _: bool) -> ServiceResult<Vec<Migrated>> {
        Err(not_here("migrating"))
    }

    fn backend(&self) -> BackendInfo {
        BackendInfo {
            name: None,
            detail: "not asked on the fast path".to_owned(),
        }
    }

    fn daemon(&self) -> Option<DaemonStatus> {
        None
    }

    fn reload(&self) -> ServiceResult<()> {
        Err(not_here("reloading"))
    }
}
