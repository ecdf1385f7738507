//! `doctor`: one command that says why a key is not found, modelled on Git Credential
//! Manager's `diagnose`. Each check ends as ok, warning or failed with a one-line fix;
//! any check that is not ok (a warning too) makes the exit status 1, as `brew doctor`. Keys are only ever shown masked, file problems
//! by path and line (never their content), and no network request is made unless
//! `--verify` asks for one.

mod daemon;
mod environments;
mod files;
mod key;
mod report;
mod sdk;

use super::{Context, Exit};
use crate::cli::args::StoreArg;
use crate::resolve::precedence::UrlSource;
use crate::store::backend::BackendChoice;
use clap::Args;
use daemon::{check_daemon, check_round_trip, check_service, check_session};
use environments::check_environments;
use files::{check_netrc, check_plaintext_copy};
use key::{check_key, check_verify};
use report::{Report, Status, print};
use sdk::check_sdk;
use std::path::PathBuf;

/// Check everything that decides whether programs find a key, with a fix for each problem.
///
/// Checks the settings and netrc files, the daemon, the backend, a keychain round
/// trip with a throwaway item, where the key comes from, plaintext copies left in
/// netrc, whether the W&B SDK would find a key by itself, and every `wandb` on PATH
/// (and pipx or uv tool environment) whose Python has no hook. Exit status 1 when a
/// check is not ok (a warning or a failure). No network request unless --verify.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred doctor
  wandb-cred doctor --host https://wandb.example.com --verify
  wandb-cred doctor --json")]
pub struct DoctorArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
    #[command(flatten)]
    pub(super) profile: super::args::ProfileArg,
    /// The W&B server URL to check.
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    pub(super) host: Option<String>,
    /// Also ask the server whether the key is accepted (a network request).
    #[arg(long)]
    pub(super) verify: bool,
    /// The Python whose W&B SDK to check (default: the active virtualenv or conda env,
    /// else the python3 on PATH).
    #[arg(long, value_name = "PATH")]
    pub(super) python: Option<PathBuf>,
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    pub(super) json: bool,
}

pub fn run(backend: BackendChoice, args: DoctorArgs) -> anyhow::Result<()> {
    let (mut ctx, broken_settings) = Context::load_lenient(backend)?;
    ctx.profile_flag = args.profile.profile.clone();
    let mut report = Report::default();
    match &broken_settings {
        Some(error) => report.fix(
            "settings",
            Status::Failed,
            error.to_string(),
            "fix or remove that line; neither wandb-cred nor the W&B SDK can use the file as it is",
        ),
        None => report.add("settings", Status::Ok, settings_summary(&ctx)),
    }
    for removed in crate::cli::plaintext::sweep_interrupted_writes(&ctx) {
        report.add("plaintext", Status::Ok, removed);
    }
    let netrc_broken = check_netrc(&ctx, &mut report);
    let url = match ctx.base_url(args.host.as_deref()) {
        Ok((url, source)) => {
            report.add(
                "server",
                Status::Ok,
                format!("{url} ({})", source_text(&source)),
            );
            if let Some(profile) = url.profile() {
                let (_, why) = ctx.profile(&url);
                report.add("profile", Status::Ok, format!("{profile} (from {why})"));
            }
            Some((url, source))
        }
        Err(e) => {
            report.fix("server", Status::Failed, format!("{e:#}"), "set a valid http(s) URL with --host, WANDB_BASE_URL or base_url in the settings file");
            None
        }
    };
    let session = ctx.forwarded_session();
    if let Some(socket) = &session {
        check_session(socket, &mut report);
    } else {
        check_service(&ctx, &mut report);
        check_daemon(&ctx, &mut report);
    }
    let service = ctx.service();
    let backend = service.backend();
    let off_disk = backend.off_disk() || session.is_some();
    match backend.name.as_deref() {
        _ if session.is_some() => report.add(
            "backend",
            Status::Ok,
            "forwarded: keys served by the machine this ssh session came from (get only)",
        ),
        // A team's Vault is not written to by a check (its readers may not write);
        // the key check reads from it.
        Some("vault") => report.add("backend", Status::Ok, backend.detail),
        Some(_) if off_disk => {
            report.add("backend", Status::Ok, backend.detail);
            check_round_trip(&ctx, service, netrc_broken, &mut report);
        }
        Some(_) => report.fix(
            "backend",
            Status::Warning,
            format!("{}; keys are kept in plaintext", backend.detail),
            "to keep keys off disk, run a Secret Service (GNOME Keyring, KeePassXC) on a session bus, or on Linux use the kernel keyring (`--backend kernel-keyring`, until the machine restarts), then `wandb-cred migrate --all`",
        ),
        None => report.fix(
            "backend",
            Status::Failed,
            backend.detail,
            "unlock or start the keychain (the message says how), then `wandb-cred reload`; until then `--backend kernel-keyring` (Linux: in memory until the machine restarts) or the encrypted store (`wandb-cred config backend encrypted-file`, then `wandb-cred unlock`) work",
        ),
    }
    if let Some((url, url_source)) = &url {
        let (key, key_failure) = check_key(&ctx, url, netrc_broken, &mut report);
        check_plaintext_copy(&ctx, (url, url_source), key.as_ref(), off_disk, &mut report);
        check_sdk(
            &ctx,
            (url, url_source),
            (key.as_ref(), key_failure.as_deref()),
            args.python.as_deref(),
            &mut report,
        );
        if args.verify
            && let Some(key) = &key
        {
            check_verify(&ctx, url, key, &mut report);
        }
    }
    check_environments(&ctx, &mut report);
    print(&report, args.json)?;
    if !report.ok() {
        return Err(Exit {
            code: 1,
            message: String::new(),
        }
        .into());
    }
    Ok(())
}

fn settings_summary(ctx: &Context) -> String {
    let describe = |scope: &str, file: &crate::config::settings_files::SettingsFile| {
        let state = if file.exists() { "readable" } else { "absent" };
        format!("{scope} {} ({state})", file.path.display())
    };
    format!(
        "{}; {}",
        describe("workspace", &ctx.settings.workspace),
        describe("system", &ctx.settings.system)
    )
}

fn source_text(source: &UrlSource) -> String {
    match source {
        UrlSource::Flag => "from --host".to_owned(),
        UrlSource::Env => "from WANDB_BASE_URL".to_owned(),
        UrlSource::Settings(path) => format!("base_url in {}", path.display()),
        UrlSource::Default => "the default".to_owned(),
    }
}
