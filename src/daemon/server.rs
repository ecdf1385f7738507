//! The accept loop: the peer check, a bound on connections, signals, the idle exit, the
//! housekeeping tick, and a bounded drain; each connection then runs on a task of its
//! own ([`super::connection`]).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use wandb_cred_proto::{self as proto, ErrorKind, Response};

use super::connection::{Socket, WRITE_DEADLINE, connection};
use super::state::State;
use crate::ipc::{self, Listener, ServerStream};
use crate::sys;

/// How long open connections may finish after a shutdown was asked for.
const DRAIN: Duration = Duration::from_secs(3);

/// At most this many "busy" answers are being written at once.
const BUSY_REPLIES: usize = 64;

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
                    // An unlocked encrypted store keeps the daemon: exiting would lock it
                    // under the later jobs it was unlocked for (its lock timeout decides).
                    if let Some(limit) = self.idle_timeout
                        && self.state.active.load(Ordering::SeqCst) == 0
                        && self.state.idle_for() >= limit
                        && !crate::store::encrypted_file::holds_keys()
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
