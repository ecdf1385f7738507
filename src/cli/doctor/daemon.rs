//! `doctor`'s daemon checks: the installed service, the daemon (or this ssh session's
//! forwarded socket), and a keychain round trip with a throwaway item.

use std::hash::{BuildHasher, Hasher};
use std::path::Path;

use zeroize::Zeroizing;

use crate::cli::context::Context;
use crate::client::autostart::{self, StartError};
use crate::client::{ConnectError, DaemonService};
use crate::ipc;
use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;
use crate::service::KeyService;

use super::files::{SEE_NETRC, netrc_already_said};
use super::report::{Report, Status};

/// The server the keychain round trip writes to: a name that can never be a real one.
pub(super) const PROBE_URL: &str = "https://wandb-cred-doctor.invalid";

/// Inside `wandb-cred ssh`: the session's forwarded socket answers, or the session ended.
pub(super) fn check_session(socket: &Path, report: &mut Report) {
    match DaemonService::connect(socket) {
        Ok(_) => report.add(
            "daemon",
            Status::Ok,
            format!(
                "this ssh session's forwarded socket {} (get only; keys stay on the machine the session came from)",
                socket.display()
            ),
        ),
        Err(_) => report.fix(
            "daemon",
            Status::Failed,
            Context::session_ended(socket),
            "start a new `wandb-cred ssh` session from the machine that holds the keys",
        ),
    }
}

/// A service `service install` set up: still pointing at a program that is there.
pub(super) fn check_service(ctx: &Context, report: &mut Report) {
    let Some((definition, program)) = crate::cli::service::installed(&ctx.env) else {
        return;
    };
    match program {
        Some(program) if program.is_file() => report.add(
            "service",
            Status::Ok,
            format!("{} runs {}", definition.display(), program.display()),
        ),
        Some(program) => report.fix(
            "service",
            Status::Failed,
            format!(
                "{} runs {}, which is not there any more (moved or uninstalled): the service cannot start the daemon",
                definition.display(),
                program.display()
            ),
            "`wandb-cred service install` with the wandb-cred you use now (or `wandb-cred service uninstall`)",
        ),
        None => report.fix(
            "service",
            Status::Warning,
            format!("{} names no program wandb-cred can read", definition.display()),
            "`wandb-cred service install` writes it again",
        ),
    }
}

pub(super) fn check_daemon(ctx: &Context, report: &mut Report) {
    if ctx
        .env
        .var("WANDB_CRED_NO_DAEMON")
        .is_some_and(|v| v != "0")
    {
        return report.add(
            "daemon",
            Status::Ok,
            "not used (WANDB_CRED_NO_DAEMON is set); every command works in-process",
        );
    }
    let socket = ipc::socket_path(&ctx.env);
    let dir = ipc::runtime_dir(&socket);
    let autostart = !ctx.flag("WANDB_CRED_NO_AUTOSTART");
    // One handshake when a daemon is there; otherwise start one, as commands do.
    let (connected, was_running) = match DaemonService::connect(&socket) {
        Ok(daemon) => (Ok(daemon), true),
        Err(_) => (autostart::connect_or_start(&socket, autostart), false),
    };
    match connected {
        Ok(daemon) => {
            let hello = &daemon.hello;
            let started = if was_running { "running" } else { "started now" };
            let detail = format!(
                "{started}: pid {}, wandb-cred {}, protocol {}, socket {}",
                hello.pid,
                hello.version,
                hello.protocol,
                socket.display()
            );
            if let Err(e) = ipc::prepare_dir(&dir) {
                report.fix("daemon", Status::Failed, format!("{detail}; {e}"), format!("chmod 700 {}", dir.display()));
            } else if hello.version != env!("CARGO_PKG_VERSION") {
                report.fix(
                    "daemon",
                    Status::Warning,
                    format!("{detail}; this is wandb-cred {}", env!("CARGO_PKG_VERSION")),
                    "restart it: `wandb-cred stop` (commands start the new one)",
                );
            } else if hello.backend_choice != ctx.backend_label() {
                report.fix(
                    "daemon",
                    Status::Warning,
                    format!("{detail}; it uses --backend {} and this command {}, so commands work in-process", hello.backend_choice, ctx.backend_choice),
                    "use the same --backend (or WANDB_CRED_BACKEND) everywhere",
                );
            } else {
                report.add("daemon", Status::Ok, detail);
            }
        }
        Err(StartError::Connect(ConnectError::NotRunning(_))) => report.fix(
            "daemon",
            Status::Warning,
            format!(
                "no daemon at {} and WANDB_CRED_NO_AUTOSTART is set; commands work in-process",
                socket.display()
            ),
            crate::cli::service::start_command().unwrap_or_else(|| {
                "unset WANDB_CRED_NO_AUTOSTART (commands then start the daemon), or run it as a service: `wandb-cred service install`".to_owned()
            }),
        ),
        Err(StartError::Connect(ConnectError::Untrusted { why, .. })) => report.fix(
            "daemon",
            Status::Warning,
            format!("{why}; nothing is sent to it and commands work in-process"),
            "use a socket in a private folder of yours: `export WANDB_CRED_SOCKET=~/.local/state/wandb-cred/daemon.sock`",
        ),
        Err(e) => report.fix(
            "daemon",
            Status::Failed,
            format!("{e}; commands work in-process"),
            "read the daemon's log named above, or set WANDB_CRED_NO_DAEMON=1",
        ),
    }
}

/// Writes, reads and deletes a throwaway item through the same path `login` uses.
pub(super) fn check_round_trip(
    ctx: &Context,
    service: &dyn KeyService,
    netrc_broken: bool,
    report: &mut Report,
) {
    let url = BaseUrl::parse(PROBE_URL).expect("a valid URL");
    let key = throwaway_key();
    let netrc = ctx.netrc_path.as_path();
    let trip = || -> Result<(), String> {
        service
            .store(&url, &key, netrc)
            .map_err(|e| format!("write: {e}"))?;
        match service.get(&url, None).map_err(|e| format!("read: {e}"))? {
            Some(found) if found.key == key => {}
            _ => return Err("read: the item just written was not found".to_owned()),
        }
        let erased = service
            .erase(&url, netrc)
            .map_err(|e| format!("delete: {e}"))?;
        if erased.removed.is_empty() {
            return Err("delete: the keychain had no such item".to_owned());
        }
        Ok(())
    };
    match trip() {
        Ok(()) => report.add(
            "keychain",
            Status::Ok,
            format!("wrote, read and deleted a throwaway item ({PROBE_URL})"),
        ),
        Err(why) if netrc_already_said(ctx, netrc_broken, &why) => {
            let _ = service.erase(&url, netrc);
            let step = why.split(':').next().unwrap_or("a step");
            report.fix(
                "keychain",
                Status::Failed,
                format!("round trip with a throwaway item stopped at {step}: the netrc file (see the netrc check)"),
                SEE_NETRC,
            );
        }
        Err(why) => {
            let _ = service.erase(&url, netrc);
            let fix = if ctx.backend_choice == crate::store::backend::BackendChoice::EncryptedFile {
                "`wandb-cred unlock` opens the encrypted store (over SSH: `ssh -t HOST wandb-cred unlock`)"
            } else {
                "unlock the keychain (or answer its prompt), then `wandb-cred reload`"
            };
            report.fix(
                "keychain",
                Status::Failed,
                format!("round trip with a throwaway item failed at {why}"),
                fix,
            );
        }
    }
}

/// A key that passes the rules and is never used for anything but the round trip.
pub(super) fn throwaway_key() -> ApiKey {
    let mut text = Zeroizing::new(String::from("doctor"));
    while text.len() < 46 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_usize(text.len());
        text.push_str(&format!("{:016x}", hasher.finish()));
    }
    ApiKey::parse(text).expect("a valid key")
}
