//! Connections: the accept loop (peer check, a bound on connections, signals, idle exit,
//! a bounded drain) and one task per connection (Hello, or HelloGet, first; a read deadline, one
//! response per request). A bad or silent client only ever affects its own connection.
//! Connections on the forwarded socket follow [`super::forwarded`]'s rules.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use wandb_cred_proto::{
    self as proto, DaemonStatus, ErrorKind, FrameError, PROTOCOL, Request, Response,
};

use super::Options;
use super::forwarded::{self, ForwardLog, Outcome};
use super::handler;
use super::log_budget::{ClientText, LogBudget};
use crate::ipc::{self, Listener, ServerStream};
use crate::service::KeyService;
use crate::service::local::LocalService;
use crate::sys;

/// A client that does not take its response within this long is dropped.
const WRITE_DEADLINE: Duration = Duration::from_secs(10);
/// How long open connections may finish after a shutdown was asked for.
const DRAIN: Duration = Duration::from_secs(3);

/// At most this many "busy" answers are being written at once.
const BUSY_REPLIES: usize = 64;

/// What every connection shares.
pub struct State {
    service: Arc<LocalService>,
    started: Instant,
    socket: PathBuf,
    log_file: Option<PathBuf>,
    read_deadline: Duration,
    shutdown: Notify,
    active: AtomicUsize,
    last_activity: Mutex<Instant>,
    /// Warnings about misbehaving clients, rate-limited.
    complaints: Arc<LogBudget>,
    /// One change (store, erase, migrate) at a time.
    writes: Arc<Semaphore>,
    /// Every request on the forwarded socket, accounted for.
    forward_log: ForwardLog,
}

impl State {
    pub fn new(
        service: LocalService,
        options: &Options,
        started: Instant,
        log_file: Option<PathBuf>,
    ) -> Arc<Self> {
        Arc::new(Self {
            service: Arc::new(service),
            started,
            socket: options.socket.clone(),
            log_file,
            read_deadline: options.client_timeout,
            shutdown: Notify::new(),
            active: AtomicUsize::new(0),
            last_activity: Mutex::new(started),
            complaints: Arc::new(LogBudget::default()),
            writes: Arc::new(Semaphore::new(1)),
            forward_log: ForwardLog::default(),
        })
    }

    fn touch(&self) {
        *self.last_activity.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    fn idle_for(&self) -> Duration {
        self.last_activity
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }

    fn status(&self) -> DaemonStatus {
        let backend = self.service.backend();
        DaemonStatus {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            uptime_secs: self.started.elapsed().as_secs(),
            backend: backend.name,
            backend_detail: backend.detail,
            cached_hosts: self.service.cached_hosts() as u32,
            socket: self.socket.display().to_string(),
            log_file: self.log_file.as_ref().map(|p| p.display().to_string()),
        }
    }
}

/// Counts a connection as active while it lives.
struct Active(Arc<State>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
        self.0.touch();
    }
}

pub struct Server {
    listener: Listener,
    /// The get-only socket for `wandb-cred ssh`, when it could be made.
    forward: Option<Listener>,
    state: Arc<State>,
    idle_timeout: Option<Duration>,
    slots: Arc<Semaphore>,
    /// "Busy" answers being written; past [`BUSY_REPLIES`] a surplus connection is just
    /// closed, so a client that reconnects in a loop cannot pile up descriptors.
    busy_replies: Arc<Semaphore>,
    max_clients: usize,
}

impl Server {
    pub fn new(
        listener: Listener,
        forward: Option<Listener>,
        state: Arc<State>,
        idle_timeout: Option<Duration>,
        max_clients: usize,
    ) -> Self {
        Self {
            listener,
            forward,
            state,
            idle_timeout,
            slots: Arc::new(Semaphore::new(max_clients)),
            busy_replies: Arc::new(Semaphore::new(BUSY_REPLIES)),
            max_clients,
        }
    }

    /// Serves until asked to stop; gives the listeners back so the caller can remove them.
    pub async fn serve(self) -> anyhow::Result<(Listener, Option<Listener>)> {
        ipc::notify_ready();
        let termination = sys::termination();
        tokio::pin!(termination);
        let tick = self
            .idle_timeout
            .map(|d| (d / 4).clamp(Duration::from_millis(50), Duration::from_secs(30)));
        let program = super::program::ProgramFile::now();
        let mut housekeeping = tokio::time::interval(super::program::CHECK_EVERY);
        loop {
            let idle_check = async {
                match tick {
                    Some(t) => tokio::time::sleep(t).await,
                    None => std::future::pending().await,
                }
            };
            let forwarded = async {
                match &self.forward {
                    Some(forward) => forward.accept().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                accepted = forwarded => self.take(accepted, Socket::Forwarded).await,
                accepted = self.listener.accept() => self.take(accepted, Socket::Main).await,
                signal = &mut termination => {
                    tracing::info!(%signal, "shutting down");
                    break;
                }
                () = self.state.shutdown.notified() => {
                    tracing::info!("shutdown requested by a client");
                    break;
                }
                _ = housekeeping.tick() => {
                    self.state.forward_log.flush_if_due();
                    if let Some(why) = program.as_ref().and_then(|p| p.changed()) {
                        tracing::info!("{why}; exiting so the next command starts the program that is there now");
                        break;
                    }
                }
                () = idle_check => {
                    self.state.forward_log.flush_if_due();
                    if let Some(limit) = self.idle_timeout
                        && self.state.active.load(Ordering::SeqCst) == 0
                        && self.state.idle_for() >= limit
                    {
                        tracing::info!(idle_secs = limit.as_secs(), "idle; exiting");
                        break;
                    }
                }
            }
        }
        let drained_by = Instant::now() + DRAIN;
        while self.state.active.load(Ordering::SeqCst) > 0 && Instant::now() < drained_by {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.state.forward_log.flush();
        Ok((self.listener, self.forward))
    }

    /// A connection the accept loop took on `socket`: served, or refused when its peer
    /// is another user.
    async fn take(
        &self,
        accepted: std::io::Result<(ServerStream, Result<(), String>)>,
        socket: Socket,
    ) {
        match accepted {
            Ok((stream, Ok(()))) => {
                self.start_connection(stream, socket);
                // One connection per turn: the connections already accepted run before
                // the next is taken, so a client that reconnects in a loop cannot fill
                // every slot with connections not yet served.
                tokio::task::yield_now().await;
            }
            Ok((stream, Err(who))) => refuse(stream, &who).await,
            Err(e) => {
                tracing::warn!(error = %e, socket = socket.name(), "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    fn start_connection(&self, mut stream: ServerStream, socket: Socket) {
        let Ok(permit) = self.slots.clone().try_acquire_owned() else {
            let Ok(replying) = self.busy_replies.clone().try_acquire_owned() else {
                return; // Closed at once: the client sees the daemon hang up.
            };
            let limit = self.max_clients;
            if self.state.complaints.allow() {
                tracing::warn!(limit, "too many connections; refusing one");
            }
            tokio::spawn(async move {
                let busy = Response::Error {
                    kind: ErrorKind::Internal,
                    message: format!("the daemon is busy ({limit} connections); try again"),
                };
                let _ = tokio::time::timeout(
                    WRITE_DEADLINE,
                    proto::write_frame_async(&mut stream, &busy),
                )
                .await;
                drop(replying);
            });
            return;
        };
        self.state.active.fetch_add(1, Ordering::SeqCst);
        let state = self.state.clone();
        tokio::spawn(async move {
            let _active = Active(state.clone());
            connection(state, stream, permit, socket).await;
        });
    }
}

async fn refuse(mut stream: ServerStream, who: &str) {
    tracing::warn!(peer = %who, "refused a connection from another user");
    let denied = Response::Error {
        kind: ErrorKind::Denied,
        message: "this daemon serves only its own user".to_owned(),
    };
    let _ = tokio::time::timeout(
        WRITE_DEADLINE,
        proto::write_frame_async(&mut stream, &denied),
    )
    .await;
}

/// Which socket a connection came in on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Socket {
    Main,
    /// The forwarded socket: `Get` only.
    Forwarded,
}

impl Socket {
    fn name(self) -> &'static str {
        match self {
            Self::Main => "main",
            Self::Forwarded => "forwarded",
        }
    }
}

/// What to do after answering.
enum Then {
    Continue,
    Close,
    Shutdown,
}

async fn connection(
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
                first(&state, request, &mut bound).await
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
/// client speaks this protocol and wants this daemon's backend.
async fn first(
    state: &Arc<State>,
    request: Request,
    bound: &mut Option<Duration>,
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
            if protocol == PROTOCOL && backend_choice == state.service.choice().to_string() {
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

fn hello(state: &State, protocol: u32, client: &str) -> (Response, Then) {
    tracing::debug!(client = %ClientText(client), protocol, "hello");
    let response = Response::Hello {
        protocol: PROTOCOL,
        server: env!("CARGO_PKG_VERSION").to_owned(),
        pid: std::process::id(),
        backend_choice: state.service.choice().to_string(),
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

async fn answer(
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
async fn on_blocking_thread(work: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Response::Error {
            kind: ErrorKind::Internal,
            message: format!("the request failed: {e}"),
        })
}
