//! One connection: Hello (or HelloGet) first, a read deadline, one response per
//! request, changes one at a time within their budget. A bad or silent client only ever
//! affects its own connection. Requests on the forwarded socket follow
//! [`super::forwarded`]'s rules.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::OwnedSemaphorePermit;
use wandb_cred_proto::{self as proto, ErrorKind, FrameError, PROTOCOL, Request, Response};

use super::forwarded::{self, Outcome};
use super::handler;
use super::log_budget::ClientText;
use crate::ipc::ServerStream;

use super::state::State;

/// A client that does not take its response within this long is dropped.
pub(super) const WRITE_DEADLINE: Duration = Duration::from_secs(10);

/// Which socket a connection came in on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Socket {
    Main,
    /// The forwarded socket: `Get` only.
    Forwarded,
}

impl Socket {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Main => "main",
            Self::Forwarded => "forwarded",
        }
    }
}

/// What to do after answering.
pub(super) enum Then {
    Continue,
    Close,
    Shutdown,
}

pub(super) async fn connection(
    state: Arc<State>,
    mut stream: ServerStream,
    _permit: OwnedSemaphorePermit,
    socket: Socket,
) {
    let mut greeted = false;
    // The client's own bound on keychain calls (`Limit`, or in its `HelloGet`).
    let mut bound: Option<Duration> = None;
    loop {
        let request = match tokio::time::timeout(
            state.read_deadline,
            proto::read_frame_async::<Request>(&mut stream),
        )
        .await
        {
            Err(_) => {
                tracing::debug!("closing a silent connection");
                return;
            }
            Ok(Err(FrameError::Closed | FrameError::Io(_))) => return,
            Ok(Err(e)) => {
                if state.complaints.allow() {
                    tracing::warn!(error = %e, "bad frame from a client");
                }
                let bad = Response::Error {
                    kind: ErrorKind::BadRequest,
                    message: e.to_string(),
                };
                let _ = tokio::time::timeout(
                    WRITE_DEADLINE,
                    proto::write_frame_async(&mut stream, &bad),
                )
                .await;
                return;
            }
            Ok(Ok(request)) => request,
        };
        state.touch();
        let asked = (socket == Socket::Forwarded)
            .then(|| forwarded::asked_for(&request))
            .flatten();
        let request = match socket {
            Socket::Main => Ok(request),
            Socket::Forwarded => forwarded::admit(request),
        };
        let (mut response, then) = match request {
            Err(message) => (
                Response::Error {
                    kind: ErrorKind::Forwarded,
                    message,
                },
                Then::Continue,
            ),
            Ok(request) if greeted => answer(&state, request, &mut bound).await,
            Ok(request) => {
                greeted = true;
                first(&state, request, &mut bound, socket == Socket::Forwarded).await
            }
        };
        if socket == Socket::Forwarded {
            let outcome = Outcome::of(&response);
            if asked.is_some() || outcome == Outcome::Refused {
                state.forward_log.record(asked.as_deref(), outcome);
            }
            response = forwarded::for_remote(response);
        }
        match tokio::time::timeout(
            WRITE_DEADLINE,
            proto::write_frame_async(&mut stream, &response),
        )
        .await
        {
            Ok(Ok(())) => {}
            _ => return,
        }
        match then {
            Then::Continue => {}
            Then::Close => return,
            Then::Shutdown => {
                state.shutdown.notify_one();
                return;
            }
        }
    }
}

/// The first request: `Hello`, or `HelloGet`, whose `Get` is answered at once when the
/// client speaks this protocol and wants this daemon's backend (on the forwarded socket,
/// which only answers gets from this machine's stores, whatever the remote's settings).
pub(super) async fn first(
    state: &Arc<State>,
    request: Request,
    bound: &mut Option<Duration>,
    forwarded: bool,
) -> (Response, Then) {
    match request {
        Request::Hello { protocol, client } => hello(state, protocol, &client),
        Request::HelloGet {
            protocol,
            client,
            backend_choice,
            url,
            netrc,
            keychain_timeout_ms,
        } => {
            *bound = keychain_timeout_ms.map(|ms| Duration::from_millis(ms.into()));
            if protocol == PROTOCOL && (forwarded || backend_choice == state.service.label()) {
                tracing::debug!(client = %ClientText(&client), protocol, "hello with a get");
                answer(state, Request::Get { url, netrc }, bound).await
            } else {
                tracing::debug!(client = %ClientText(&client), backend_choice = %ClientText(&backend_choice), "hello with a get for another backend");
                hello(state, protocol, &client)
            }
        }
        _ => (
            Response::Error {
                kind: ErrorKind::BadRequest,
                message: "the first request must be Hello".to_owned(),
            },
            Then::Close,
        ),
    }
}

pub(super) fn hello(state: &State, protocol: u32, client: &str) -> (Response, Then) {
    tracing::debug!(client = %ClientText(client), protocol, "hello");
    let response = Response::Hello {
        protocol: PROTOCOL,
        server: env!("CARGO_PKG_VERSION").to_owned(),
        pid: std::process::id(),
        backend_choice: state.service.label().to_owned(),
    };
    let then = if protocol == PROTOCOL {
        Then::Continue
    } else {
        if state.complaints.allow() {
            tracing::warn!(client = %ClientText(client), protocol, "a client speaks another protocol");
        }
        Then::Close
    };
    (response, then)
}

pub(super) async fn answer(
    state: &Arc<State>,
    request: Request,
    bound: &mut Option<Duration>,
) -> (Response, Then) {
    tracing::debug!(request = handler::name(&request), "request");
    match request {
        Request::Limit {
            keychain_timeout_ms,
        } => {
            *bound = Some(Duration::from_millis(keychain_timeout_ms.into()));
            (Response::Done, Then::Continue)
        }
        // The status names the backend, which may have to be chosen first (a keychain
        // probe): never on the event loop.
        Request::Status => {
            let state = state.clone();
            let status = on_blocking_thread(move || Response::Status(state.status())).await;
            (status, Then::Continue)
        }
        Request::Shutdown => (Response::Done, Then::Shutdown),
        Request::Hello { .. } | Request::HelloGet { .. } => (
            Response::Error {
                kind: ErrorKind::BadRequest,
                message: "Hello was already said".to_owned(),
            },
            Then::Continue,
        ),
        request => {
            // A key in memory or in an unchanged netrc file is given at once; anything
            // that may wait on the keychain or write files runs on a blocking thread.
            if let Some(response) =
                handler::handle_at_once(&state.service, &request, &state.complaints)
            {
                return (response, Then::Continue);
            }
            let received = Instant::now();
            // Changes wait their turn here, without holding a blocking thread, so that
            // a pile of them cannot leave lookups without threads.
            let turn = if handler::is_change(&request) {
                let waited = tokio::time::timeout(
                    handler::WRITE_BUDGET,
                    state.writes.clone().acquire_owned(),
                )
                .await;
                match waited {
                    Ok(Ok(permit)) => Some(permit),
                    _ => {
                        let busy = Response::Error {
                            kind: ErrorKind::Timeout,
                            message: "another change to stored keys is still running; nothing was changed, try again".to_owned(),
                        };
                        return (busy, Then::Continue);
                    }
                }
            } else {
                None
            };
            let (service, complaints) = (state.service.clone(), state.complaints.clone());
            let bound = *bound;
            let response = on_blocking_thread(move || {
                let response = crate::store::keychain::with_caller_bound(bound, || {
                    handler::handle(&service, request, received, &complaints)
                });
                drop(turn);
                response
            })
            .await;
            (response, Then::Continue)
        }
    }
}

/// The response `work` makes on a blocking thread (it may wait on the keychain or on
/// files), so that the event loop goes on serving everyone else.
pub(super) async fn on_blocking_thread(
    work: impl FnOnce() -> Response + Send + 'static,
) -> Response {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Response::Error {
            kind: ErrorKind::Internal,
            message: format!("the request failed: {e}"),
        })
}
