//! Starting and stopping the daemon. Steal-safe start: an exclusive lock file beside the
//! socket makes one daemon win; the winner replaces a socket left by a dead daemon and
//! the loser exits cleanly. Under systemd the socket comes from `LISTEN_FDS` instead.
//! On exit only our own socket and pid file are removed.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::time::Instant;

use anyhow::Context as _;

use super::Options;
use super::server::Server;
use super::state::State;
use crate::ipc::{self, Listener, RuntimeFiles};
use crate::service::KeyService;
use crate::service::local::LocalService;
use crate::sys;

/// Runs the daemon until SIGTERM/SIGINT, `Shutdown`, or the idle timeout.
pub fn run(options: Options) -> anyhow::Result<()> {
    sys::harden_process();
    // Possess the kernel keyring's keys whatever becomes of the session that started us.
    crate::store::kernel_keyring::own_session();
    // Each connection is a descriptor; keep room for the files and the keychain too.
    let wanted = options.max_clients as u64 + 64;
    let open_files = sys::raise_open_files(wanted);
    if open_files.is_some_and(|limit| limit < wanted) {
        tracing::warn!(limit = ?open_files, max_clients = options.max_clients, "the open-files limit is below --max-clients; some connections may wait");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(16)
        .build()
        .context("cannot start the async runtime")?;
    let _context = runtime.enter();
    let files = RuntimeFiles::for_socket(&options.socket);
    let (listener, _lock, activated) = match Listener::from_systemd()
        .context("cannot use the socket from systemd")?
    {
        Some(listener) => (listener, None, true),
        None => {
            ipc::prepare_dir(&files.dir)?;
            let Some(lock) = take_lock(&files)? else {
                return Ok(());
            };
            if ipc::connect(&options.socket, std::time::Duration::from_secs(1)).is_ok() {
                tracing::info!(socket = %options.socket.display(), "a daemon is already serving this socket; exiting");
                return Ok(());
            }
            let listener = Listener::bind(&options.socket)
                .with_context(|| format!("cannot listen on {}", options.socket.display()))?;
            (listener, Some(lock), false)
        }
    };
    let pid_written = write_pid(&files, options.autostarted);
    // A netrc write killed before its rename left its whole new text beside netrc.
    let netrc = crate::config::paths::netrc(&crate::env::Environment::from_process());
    for removed in crate::config::atomic::sweep(&netrc) {
        tracing::warn!(file = %removed.display(), "removed the temporary file of an interrupted netrc write");
    }
    // The get-only socket `wandb-cred ssh` forwards, beside the main one.
    let forward = if ipc::FORWARDS {
        Listener::bind(&files.forward)
            .inspect_err(|e| tracing::warn!(error = %e, path = %files.forward.display(), "no forwarded socket"))
            .ok()
    } else {
        None
    };
    let service = LocalService::new(
        options.backend,
        options.keychain_timeout,
        options.kernel_keyring,
    );
    service.watch_keychain();
    let backend = service.backend();
    tracing::info!(
        pid = std::process::id(),
        version = env!("CARGO_PKG_VERSION"),
        socket = %options.socket.display(),
        activated,
        backend = backend.name.as_deref().unwrap_or("none"),
        detail = %backend.detail,
        "daemon started"
    );
    let state = State::new(
        service,
        &options,
        Instant::now(),
        (!activated).then(|| files.log.clone()),
    );
    let result = runtime.block_on(
        Server::new(
            listener,
            forward,
            state,
            options.idle_timeout,
            options.max_clients,
        )
        .serve(),
    );
    if let Ok((listener, forward)) = &result {
        listener.remove();
        if let Some(forward) = forward {
            forward.remove();
        }
    }
    if pid_written {
        remove_pid(&files);
    }
    // Keychain calls that never returned must not keep the process alive.
    drop(_context);
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    tracing::info!("daemon stopped");
    result.map(|_| ())
}

/// The start lock, or `None` when another daemon holds it (it serves, or is starting).
fn take_lock(files: &RuntimeFiles) -> anyhow::Result<Option<File>> {
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&files.lock)
        .with_context(|| format!("cannot open {}", files.lock.display()))?;
    match lock.try_lock() {
        Ok(()) => Ok(Some(lock)),
        Err(TryLockError::WouldBlock) => {
            let pid = files
                .read_pid()
                .map_or_else(|| "starting".to_owned(), |(pid, _)| format!("pid {pid}"));
            tracing::info!(owner = %pid, "another daemon holds {}; exiting", files.lock.display());
            eprintln!("wandb-cred: a daemon is already running ({pid}); nothing to do.");
            Ok(None)
        }
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", files.lock.display()))
        }
    }
}

fn write_pid(files: &RuntimeFiles, autostarted: bool) -> bool {
    let text = format!(
        "{}\n{}",
        std::process::id(),
        if autostarted { "autostarted\n" } else { "" }
    );
    let written = File::create(&files.pid).and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = &written {
        tracing::warn!(error = %e, path = %files.pid.display(), "cannot write the pid file");
    }
    written.is_ok()
}

fn remove_pid(files: &RuntimeFiles) {
    if files
        .read_pid()
        .is_some_and(|(pid, _)| pid == std::process::id())
    {
        let _ = std::fs::remove_file(&files.pid);
    }
}
