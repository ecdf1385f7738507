//! `status`: the server and where it came from, the settings files, the backend and why,
//! where the key comes from (masked). No network request is made.

use super::args::StoreArg;
use clap::Args;
use std::io::Write;

use serde_json::json;

use super::{Context, Exit};
use crate::config::settings_files::SettingsFile;
use crate::key::{ApiKey, KeyKind};
use crate::resolve::base_url::BaseUrl;
use crate::resolve::precedence::UrlSource;
use crate::service::BackendInfo;
use crate::store::backend::BackendChoice;

/// Show the server in use, the settings files, and where the API key comes from.
///
/// Makes no network request. The key is only ever shown masked.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred status
  wandb-cred status --json | jq .key_source")]
pub struct StatusArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
    #[command(flatten)]
    pub(super) profile: super::args::ProfileArg,
    /// The W&B server URL to report on.
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    pub(super) host: Option<String>,
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    pub(super) json: bool,
}

/// The note for a `wandb_v1_` key when the Python in use has an SDK that refuses it
/// (up to 0.22.2); none where no such SDK is installed.
fn v1_note(ctx: &Context, key: &crate::key::ApiKey) -> Option<String> {
    use crate::resolve::sdk::SdkVersion;
    let interpreter = crate::python_env::Interpreter::choose(&ctx.env, None);
    let facts = crate::python_env::probe(&interpreter).ok()?;
    let version = facts.wandb.as_deref()?;
    SdkVersion::parse(version)?.refuses(key.expose())?;
    Some(format!(
        "wandb {version} in {} ({}) rejects wandb_v1_ keys (\"must be 40 characters long\"); upgrade it: `{} -m pip install -U wandb`.",
        facts.describe(),
        interpreter.chosen_because,
        facts.executable.display()
    ))
}

fn kind_name(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::V1 => "wandb_v1",
        KeyKind::Legacy => "legacy",
        KeyKind::OnPrem => "on-prem",
        KeyKind::Jwt => "jwt",
        KeyKind::Other => "other",
    }
}

fn source_name(source: &UrlSource) -> &'static str {
    match source {
        UrlSource::Flag => "flag",
        UrlSource::Env => "env",
        UrlSource::Settings(_) => "settings",
        UrlSource::Default => "default",
    }
}

/// A settings file that cannot be read does not hide the rest: it is shown (the files
/// are then taken as absent) and makes the exit status 1, as any problem shown does.
pub fn run(backend: BackendChoice, args: StatusArgs) -> anyhow::Result<()> {
    let (mut ctx, broken_settings) = Context::load_lenient(backend)?;
    ctx.profile_flag = args.profile.profile.clone();
    let ctx = &ctx;
    for removed in super::plaintext::sweep_interrupted_writes(ctx) {
        super::output::warn(removed);
    }
    let (url, url_source) = ctx.base_url(args.host.as_deref())?;
    let (_, profile_source) = ctx.profile(&url);
    let service = ctx.service();
    // One Status round trip answers both when a daemon serves us. A forwarded socket
    // answers no Status: it is this ssh session's, get only.
    let session = ctx.forwarded_session().filter(|_| service.is_daemon());
    let daemon = if session.is_some() {
        None
    } else {
        service.daemon()
    };
    let backend = match (&session, &daemon) {
        (Some(socket), _) => BackendInfo {
            name: Some("forwarded".to_owned()),
            detail: format!(
                "keys served by the machine this ssh session came from, get only (socket {})",
                socket.display()
            ),
        },
        (None, Some(d)) => BackendInfo {
            name: d.backend.clone(),
            detail: d.backend_detail.clone(),
        },
        (None, None) => service.backend(),
    };
    let backend_ok = backend.name.is_some();
    let key = if backend_ok || ctx.env.api_key().is_some() {
        ctx.stored_key(&url)
    } else {
        Err(anyhow::anyhow!("unknown while the keychain cannot be read"))
    };
    let (key_ok, key_err) = match &key {
        Ok(found) => (found.as_ref(), None),
        Err(e) => (None, Some(format!("{e:#}"))),
    };
    // A plaintext copy left behind while the keychain is in use deserves a word, and
    // the command that removes it in this very state.
    let flag = (url_source == UrlSource::Flag).then_some(&url);
    let netrc_copy = backend
        .off_disk()
        .then(|| ctx.netrc().named_key(&url).ok().flatten())
        .flatten();
    let stale_netrc = netrc_copy.as_ref().map(|copy| {
        let (what, fix) = plaintext_advice(flag, &copy.key, key_ok.map(|r| &r.key));
        format!("{what} is still in {}; {fix}", copy.location)
    });
    // Every other plaintext key: other servers' netrc entries, settings, shell files.
    let plaintext = super::plaintext::shown(
        ctx,
        &url,
        backend.off_disk(),
        netrc_copy.as_ref().map(|c| &c.key),
    );
    let home = ctx.env.home.as_deref();
    let in_use = key_ok.map(|r| r.key.masked());
    let pushed = super::push_record::for_server(&url);
    let files = [
        ("workspace", &ctx.settings.workspace),
        ("system", &ctx.settings.system),
    ];
    let mut out = std::io::stdout().lock();
    if args.json {
        let file_json = |(scope, f): (&str, &SettingsFile)| json!({"scope": scope, "path": f.path, "exists": f.exists()});
        let doc = json!({
            "base_url": url.as_str(),
            "base_url_source": source_name(&url_source),
            "profile": url.profile(),
            "profile_source": profile_source.to_string(),
            "base_url_file": match &url_source { UrlSource::Settings(p) => Some(p), _ => None },
            "machine": url.netloc(),
            "settings_files": files.map(file_json),
            "backend": {
                "choice": ctx.backend_choice.to_string(),
                "name": backend.name,
                "detail": backend.detail,
                "ok": backend_ok,
            },
            "daemon": daemon.as_ref().map(|d| json!({
                "pid": d.pid,
                "version": d.version,
                "uptime_secs": d.uptime_secs,
                "socket": d.socket,
                "cached_keys": d.cached_hosts,
                "log_file": d.log_file,
            })),
            "api_key": key_ok.map(|r| json!({
                "masked": r.key.masked(),
                "kind": kind_name(r.key.kind()),
                "source": r.source.to_string(),
            })),
            "api_key_error": key_err,
            "settings_error": broken_settings.as_ref().map(ToString::to_string),
            "plaintext_copy": stale_netrc,
            "plaintext": plaintext.iter().map(|(f, fix)| json!({
                "kind": f.kind.name(),
                "key": f.key.masked(),
                "path": f.path,
                "line": f.line,
                "fix": fix,
            })).collect::<Vec<_>>(),
            "pushed": pushed.iter().map(|c| json!({
                "destination": c.destination,
                "key": c.key,
                "time": c.time,
                "current": in_use.as_deref() == Some(c.key.as_str()),
            })).collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        writeln!(out, "Server:    {url} (from {url_source})")?;
        if let Some(profile) = url.profile() {
            // As `hf auth switch` warns: the environment's key wins over any profile.
            let overridden = if ctx.env.api_key().is_some() {
                "; WANDB_API_KEY is set and is used instead"
            } else {
                ""
            };
            writeln!(
                out,
                "Profile:   {profile} (from {profile_source}){overridden}"
            )?;
        }
        match &broken_settings {
            Some(error) => writeln!(
                out,
                "Settings:  error: {error} (read as if absent; fix or remove that line)"
            )?,
            None => {
                for (i, (scope, file)) in files.iter().enumerate() {
                    let label = if i == 0 { "Settings:" } else { "" };
                    let state = if file.exists() { "" } else { ", not present" };
                    writeln!(out, "{label:<10} {} ({scope}{state})", file.path.display())?;
                }
            }
        }
        match &backend.name {
            Some(name) => writeln!(out, "Backend:   {name}: {}", backend.detail)?,
            None => writeln!(out, "Backend:   error: {}", backend.detail)?,
        }
        match &daemon {
            Some(d) => {
                writeln!(
                    out,
                    "Daemon:    running, pid {}, wandb-cred {}, up {} s, {} cached key(s)",
                    d.pid, d.version, d.uptime_secs, d.cached_hosts
                )?;
                writeln!(out, "           socket {}", d.socket)?;
                if let Some(log) = &d.log_file {
                    writeln!(out, "           log {log}")?;
                }
            }
            None if session.is_some() => writeln!(
                out,
                "Daemon:    this ssh session's forwarded socket (get only)"
            )?,
            None => writeln!(out, "Daemon:    not in use (working in-process)")?,
        }
        match (&key_ok, &key_err) {
            (Some(r), _) => writeln!(out, "API key:   {} from {}", r.key.masked(), r.source)?,
            (None, Some(e)) => writeln!(out, "API key:   error: {e}")?,
            (None, None) => writeln!(
                out,
                "API key:   none for {} (run `wandb-cred login`)",
                url.netloc()
            )?,
        }
        if let Some(advice) = &stale_netrc {
            writeln!(out, "Warning:   {advice}")?;
        }
        for (i, (finding, fix)) in plaintext.iter().enumerate() {
            let label = if i == 0 { "Plaintext:" } else { "" };
            writeln!(out, "{label:<10} {}; {fix}", finding.describe(home))?;
        }
        for (i, copy) in pushed.iter().enumerate() {
            let label = if i == 0 { "Pushed:" } else { "" };
            let note = if in_use.as_deref() == Some(copy.key.as_str()) {
                String::new()
            } else {
                format!(
                    ": an older key; `wandb-cred push --again{}` sends the one in use",
                    flag.map(|u| format!(" --host {u}")).unwrap_or_default()
                )
            };
            writeln!(out, "{label:<10} {}{note}", copy.describe())?;
        }
        if let Some(found) = key_ok.filter(|r| r.key.kind() == KeyKind::V1)
            && let Some(note) = v1_note(ctx, &found.key)
        {
            writeln!(out, "Note:      {note}")?;
        }
    }
    out.flush()?;
    drop(out);
    // Each problem is in the output above already: the exit status says there was one.
    if !backend_ok || key.is_err() || broken_settings.is_some() {
        return Err(Exit {
            code: 1,
            message: String::new(),
        }
        .into());
    }
    Ok(())
}

/// For a plaintext copy of a key left in netrc: what it is (told apart from the key in
/// use by its fingerprint) and the command that removes it in this state. The same key:
/// `migrate` (it finds the keychain already holds it). Another key: `migrate` would
/// refuse; storing the key in use again removes the plaintext one. `flag`: the URL to
/// name, when the server came from `--host`.
pub(super) fn plaintext_advice(
    flag: Option<&BaseUrl>,
    copy: &ApiKey,
    in_use: Option<&ApiKey>,
) -> (String, String) {
    let host = flag.map(|u| format!(" --host {u}")).unwrap_or_default();
    match in_use {
        Some(key) if key != copy => (
            format!(
                "a different plaintext key ({}) than the one in use ({})",
                copy.masked(),
                key.masked()
            ),
            format!(
                "the W&B SDK would use it (`wandb login` writes there); to keep it instead of {}: `wandb-cred migrate{host} --replace`; to keep {} and remove the plaintext one: `wandb-cred logout --backend netrc{host}`",
                key.masked(),
                key.masked()
            ),
        ),
        _ => (
            format!("a plaintext copy ({}) of the key", copy.masked()),
            format!("move it: `wandb-cred migrate{host}`"),
        ),
    }
}
