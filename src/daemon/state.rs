//! What every connection of the daemon shares: the key service, the counters the idle
//! exit and `status` read, the change lock, the log budgets and the forwarded log.

use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore};
use wandb_cred_proto::DaemonStatus;

use super::Options;
use super::forwarded::ForwardLog;
use super::log_budget::LogBudget;
use crate::service::KeyService;
use crate::service::local::LocalService;

/// What every connection shares.
pub struct State {
    pub(super) service: Arc<LocalService>,
    pub(super) started: Instant,
    pub(super) socket: PathBuf,
    pub(super) log_file: Option<PathBuf>,
    pub(super) read_deadline: Duration,
    pub(super) shutdown: Notify,
    pub(super) active: AtomicUsize,
    pub(super) last_activity: Mutex<Instant>,
    /// Warnings about misbehaving clients, rate-limited.
    pub(super) complaints: Arc<LogBudget>,
    /// One change (store, erase, migrate) at a time.
    pub(super) writes: Arc<Semaphore>,
    /// Every request on the forwarded socket, accounted for.
    pub(super) forward_log: ForwardLog,
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

    pub(super) fn touch(&self) {
        *self.last_activity.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    pub(super) fn idle_for(&self) -> Duration {
        self.last_activity
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }

    pub(super) fn status(&self) -> DaemonStatus {
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
