//! `doctor`: one command that says why a key is not found, modelled on Git Credential
//! Manager's `diagnose`. Each check ends as ok, warning or failed with a one-line fix;
//! any failure makes the exit status 1. Keys are only ever shown masked, file problems
//! by path and line (never their content), and no network request is made unless
//! `--verify` asks for one.

use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::Path;

use anyhow::Context as _;

use serde_json::json;
use zeroize::Zeroizing;

use super::{Context, DoctorArgs, Exit};
use crate::client::autostart::{self, StartError};
use crate::client::{ConnectError, DaemonService};
use crate::ipc;
use crate::key::ApiKey;
use crate::python_env::{self, Interpreter};
use crate::resolve::base_url::{BaseUrl, UrlSource};
use crate::resolve::credential::Resolved;
use crate::resolve::sdk::SdkVersion;
use crate::service::KeyService;
use crate::store::backend::BackendChoice;

/// The SDK version assumed when the installed one's cannot be read.
const CURRENT_SDK: SdkVersion = SdkVersion::CURRENT;

/// The server the keychain round trip writes to: a name that can never be a real one.
const PROBE_URL: &str = "https://wandb-cred-doctor.invalid";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Warning,
    Failed,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Failed => "failed",
        }
    }
}

struct Check {
    name: &'static str,
    status: Status,
    detail: String,
    fix: Option<String>,
}

#[derive(Default)]
struct Report(Vec<Check>);

impl Report {
    fn add(&mut self, name: &'static str, status: Status, detail: impl Into<String>) {
        self.0.push(Check {
            name,
            status,
            detail: detail.into(),
            fix: None,
        });
    }

    fn fix(
        &mut self,
        name: &'static str,
        status: Status,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.0.push(Check {
            name,
            status,
            detail: detail.into(),
            fix: Some(fix.into()),
        });
    }
}

pub fn run(backend: BackendChoice, args: DoctorArgs) -> anyhow::Result<()> {
    let (ctx, broken_settings) = Context::load_lenient(backend)?;
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
    let netrc_broken = check_netrc(&ctx, &mut report);
    let url = match ctx.base_url(args.host.as_deref()) {
        Ok((url, source)) => {
            report.add(
                "server",
                Status::Ok,
                format!("{url} ({})", source_text(&source)),
            );
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
            "unlock or start the keychain (the message says how), then `wandb-cred reload`; until then `--backend kernel-keyring` (Linux: in memory until the machine restarts) or `--backend netrc` (plaintext) work",
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
    print(&report, args.json)?;
    if report.0.iter().any(|c| c.status == Status::Failed) {
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

/// The netrc check; whether the file is there but cannot be read (the later checks
/// then point here instead of repeating its error).
fn check_netrc(ctx: &Context, report: &mut Report) -> bool {
    let path = ctx.netrc_path.display().to_string();
    let meta = match std::fs::metadata(&ctx.netrc_path) {
        Ok(meta) => meta,
        Err(_) => {
            report.add("netrc", Status::Ok, format!("{path} (absent)"));
            return false;
        }
    };
    match ctx.netrc().wandb_machines() {
        Err(e) => {
            let fix = if matches!(e, crate::store::StoreError::Parse { .. }) {
                "fix that line; wandb-cred never rewrites a netrc file it cannot read, and the SDK cannot read it either".to_owned()
            } else {
                format!(
                    "make {path} a plain file of yours, or remove it (or point NETRC at one); wandb-cred never rewrites a netrc file it cannot read"
                )
            };
            report.fix("netrc", Status::Failed, e.to_string(), fix);
            return true;
        }
        Ok(machines) => {
            let open_to_others = crate::sys::mode(&meta).is_some_and(|m| m & 0o077 != 0);
            if let Ok(Some(line)) = ctx.netrc().unclosed_quote() {
                report.fix(
                    "netrc",
                    Status::Warning,
                    format!(
                        "{path}, line {line}, opens a quote (\") that is never closed: Python's netrc, and so the W&B SDK, read everything after it as one word, so no entry after that line counts (W&B entries seen: {})",
                        machines.len()
                    ),
                    format!("close or remove the quote on line {line} of {path}"),
                );
            } else if open_to_others {
                report.fix(
                    "netrc",
                    Status::Warning,
                    format!(
                        "{path} can be read by other users (mode {:04o})",
                        crate::sys::mode(&meta).unwrap_or(0)
                    ),
                    format!("chmod 600 {path}"),
                );
            } else {
                report.add(
                    "netrc",
                    Status::Ok,
                    format!("{path} (readable; W&B entries: {})", machines.len()),
                );
            }
        }
    }
    false
}

/// For a later check that failed: when the netrc check already failed and this error
/// is about that file, a pointer there instead of the same message again.
fn netrc_already_said(ctx: &Context, netrc_broken: bool, error: &str) -> bool {
    netrc_broken && error.contains(&ctx.netrc_path.display().to_string())
}

const SEE_NETRC: &str = "fix the netrc file as the netrc check above says";

/// Inside `wandb-cred ssh`: the session's forwarded socket answers, or the session ended.
fn check_session(socket: &Path, report: &mut Report) {
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
fn check_service(ctx: &Context, report: &mut Report) {
    let Some((definition, program)) = super::service::installed(&ctx.env) else {
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

fn check_daemon(ctx: &Context, report: &mut Report) {
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
            } else if hello.backend_choice != ctx.backend_choice.to_string() {
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
            super::service::start_command().unwrap_or_else(|| {
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
fn check_round_trip(
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
            report.fix(
                "keychain",
                Status::Failed,
                format!("round trip with a throwaway item failed at {why}"),
                "unlock the keychain (or answer its prompt), then `wandb-cred reload`",
            );
        }
    }
}

/// A key that passes the rules and is never used for anything but the round trip.
fn throwaway_key() -> ApiKey {
    let mut text = Zeroizing::new(String::from("doctor"));
    while text.len() < 46 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_usize(text.len());
        text.push_str(&format!("{:016x}", hasher.finish()));
    }
    ApiKey::parse(text).expect("a valid key")
}

/// The key check; with the fix of a key that cannot be read (a locked keychain, a
/// broken WANDB_API_KEY), which the SDK check repeats rather than suggest a login.
fn check_key(
    ctx: &Context,
    url: &BaseUrl,
    netrc_broken: bool,
    report: &mut Report,
) -> (Option<Resolved>, Option<String>) {
    match ctx.stored_key(url) {
        Ok(Some(resolved)) => {
            report.add(
                "key",
                Status::Ok,
                format!(
                    "{} for {} from {}",
                    resolved.key.masked(),
                    url.netloc(),
                    resolved.source
                ),
            );
            (Some(resolved), None)
        }
        Ok(None) => {
            report.fix(
                "key",
                Status::Failed,
                format!("no API key for {} ({url})", url.netloc()),
                login_command(url),
            );
            (None, None)
        }
        Err(e) if netrc_already_said(ctx, netrc_broken, &format!("{e:#}")) => {
            report.fix(
                "key",
                Status::Failed,
                format!(
                    "cannot look up the API key for {}: the netrc file cannot be read (see the netrc check)",
                    url.netloc()
                ),
                SEE_NETRC,
            );
            (None, Some(SEE_NETRC.to_owned()))
        }
        Err(e) => {
            let fix = key_fix(ctx, url, &e);
            report.fix("key", Status::Failed, format!("{e:#}"), fix.clone());
            (None, Some(fix))
        }
    }
}

fn login_command(url: &BaseUrl) -> String {
    if url.is_default() {
        "wandb-cred login".to_owned()
    } else {
        format!("wandb-cred login --host {url}")
    }
}

/// A fix for a key that cannot be used that works in that state: the variable that
/// outranks everything goes, the settings line is named, a locked keychain is unlocked
/// first, and a broken stored key is replaced.
fn key_fix(ctx: &Context, url: &BaseUrl, error: &anyhow::Error) -> String {
    use crate::resolve::credential::ResolveError;
    use crate::service::{ErrorKind, ServiceError};
    if ctx.env.api_key().is_some() {
        return "unset WANDB_API_KEY (it outranks every stored key, so no login can help while it is set)".to_owned();
    }
    let service = error.chain().find_map(|cause| {
        cause
            .downcast_ref::<ServiceError>()
            .or(match cause.downcast_ref::<ResolveError>() {
                Some(ResolveError::Service(e)) => Some(e),
                _ => None,
            })
    });
    if let Some(e) = service {
        return match e.kind {
            ErrorKind::Locked => {
                "unlock the keychain (the message above says how), then `wandb-cred reload`"
                    .to_owned()
            }
            ErrorKind::Timeout => {
                "the keychain does not answer: unlock or restart it, then `wandb-cred reload`"
                    .to_owned()
            }
            _ => "read the message above; `wandb-cred reload` once it is dealt with".to_owned(),
        };
    }
    if let Some(setting) = ctx.settings.value("api_key") {
        return format!(
            "fix or remove `api_key` in {} (line {})",
            setting.path.display(),
            setting.line
        );
    }
    let host = if url.is_default() {
        String::new()
    } else {
        format!(" --host {url}")
    };
    format!(
        "replace the stored key: `wandb-cred login{host} --relogin` (or `wandb-cred login{host} -` to read it from standard input)"
    )
}

fn check_plaintext_copy(
    ctx: &Context,
    (url, source): (&BaseUrl, &UrlSource),
    key: Option<&Resolved>,
    off_disk: bool,
    report: &mut Report,
) {
    if !off_disk {
        return;
    }
    if let Ok(Some(copy)) = ctx.netrc().named_key(url) {
        let flag = (*source == UrlSource::Flag).then_some(url);
        let (what, fix) = super::status::plaintext_advice(flag, &copy.key, key.map(|k| &k.key));
        report.fix(
            "plaintext",
            Status::Warning,
            format!("{what} for {} is still in {}", url.netloc(), copy.location),
            fix,
        );
    } else {
        report.add(
            "plaintext",
            Status::Ok,
            format!(
                "no plaintext key for {} in {}",
                url.netloc(),
                ctx.netrc_path.display()
            ),
        );
    }
}

/// What the W&B SDK installed for the Python in question would find by itself: that
/// version's default server, order of sources and netrc lookup, and its key rule; with
/// wandb-cred's hook installed there, the key `get` gives. Never the keychain directly.
fn check_sdk(
    ctx: &Context,
    (url, source): (&BaseUrl, &UrlSource),
    (key, key_failure): (Option<&Resolved>, Option<&str>),
    python: Option<&Path>,
    report: &mut Report,
) {
    let interpreter = Interpreter::choose(&ctx.env, python);
    let again = match python {
        Some(p) => format!(" --python {}", p.display()),
        None => String::new(),
    };
    let facts = match python_env::probe(&interpreter) {
        Ok(facts) => facts,
        Err(e) => {
            return report.fix(
                "sdk",
                Status::Warning,
                format!(
                    "cannot tell what the W&B SDK finds ({}): {e}",
                    interpreter.chosen_because
                ),
                "name the Python your programs run with: `wandb-cred doctor --python PATH`",
            );
        }
    };
    let Some(version_text) = facts.wandb.clone() else {
        return report.fix(
            "sdk",
            Status::Warning,
            format!(
                "{}, {}, has no W&B SDK (package wandb)",
                facts.describe(),
                interpreter.chosen_because
            ),
            "check the Python that has it: `wandb-cred doctor --python PATH`",
        );
    };
    let version = SdkVersion::parse(&version_text).unwrap_or(CURRENT_SDK);
    let sdk = format!("wandb {version_text} in {}", facts.describe());
    let hook = facts.hook.as_ref().filter(|h| h.active);
    let hook_note = match hook {
        Some(h) => format!("; the wandb-cred hook is installed ({})", h.path.display()),
        None => "; no wandb-cred hook".to_owned(),
    };
    if let Some(h) = hook
        && let Some(program) = &h.wandb_cred
        && !Path::new(program).is_file()
    {
        return report.fix(
            "sdk",
            Status::Warning,
            format!("{sdk}: the wandb-cred hook runs {program}, which is not there any more"),
            format!("`wandb-cred setup-python{again}` records this wandb-cred"),
        );
    }
    if hook.is_some() && !version.takes_the_hook() {
        return report.fix(
            "sdk",
            Status::Warning,
            format!(
                "{sdk}: the wandb-cred hook supports wandb {} and later, so this SDK gets no key from it{hook_note}",
                SdkVersion::OLDEST_HOOKED
            ),
            format!(
                "`{} -m pip install -U wandb`, or start programs with `wandb-cred exec -- python train.py`",
                facts.executable.display()
            ),
        );
    }
    // The server it uses: the one named (flag, environment, settings), else its default.
    let sdk_url = match source {
        UrlSource::Default => version.default_url(),
        _ => url.clone(),
    };
    let found = sdk_finds(
        ctx,
        version,
        &sdk_url,
        hook.is_some().then_some(key).flatten(),
    );
    let (from, sdk_key) = match found {
        Ok(Some(found)) => found,
        Ok(None) => {
            return match key {
                Some(_) => report.fix(
                    "sdk",
                    Status::Warning,
                    format!("{sdk} finds no key for {sdk_url} by itself (it does not read the keychain): a bare `python train.py` prompts for one and writes it to netrc in plaintext{hook_note}"),
                    format!("`wandb-cred setup-python{again}` (then `python train.py` finds the key), or start programs with `wandb-cred exec -- python train.py`"),
                ),
                None => report.fix(
                    "sdk",
                    Status::Failed,
                    format!("neither {sdk} nor wandb-cred finds a key for {}", url.netloc()),
                    match key_failure {
                        // A login cannot help while wandb-cred's own key is unreadable.
                        Some(fix) => format!("first the key check's fix: {fix}"),
                        None => format!("{}, then `wandb-cred setup-python{again}`", login_command(url)),
                    },
                ),
            };
        }
        Err(e)
            if key_failure == Some(SEE_NETRC)
                && format!("{e:#}").contains(&ctx.netrc_path.display().to_string()) =>
        {
            return report.fix(
                "sdk",
                Status::Failed,
                format!("{sdk} cannot read the netrc file either (see the netrc check)"),
                SEE_NETRC,
            );
        }
        Err(e) => {
            return report.fix(
                "sdk",
                Status::Failed,
                format!("{sdk}: {e:#}"),
                "fix the line the message names (file and line above): the SDK cannot read that file as it is",
            );
        }
    };
    if let Some(why) = version.refuses(sdk_key.expose()) {
        return report.fix(
            "sdk",
            Status::Failed,
            format!("{sdk} refuses the key from {from}: \"{why}\" (wandb_v1_ keys need wandb 0.22.3 or later)"),
            format!("{} -m pip install -U wandb", facts.executable.display()),
        );
    }
    match key {
        Some(ours) if ours.key != sdk_key => report.fix(
            "sdk",
            Status::Warning,
            format!(
                "{sdk} uses a different key ({}, from {from}) for {sdk_url} than wandb-cred ({}, from {}){hook_note}",
                sdk_key.masked(),
                ours.key.masked(),
                ours.source
            ),
            format!(
                "keep wandb-cred's ({}): `wandb-cred get | wandb-cred login -` stores it again and removes the plaintext copy",
                ours.key.masked()
            ),
        ),
        _ => report.add(
            "sdk",
            Status::Ok,
            format!("{sdk} finds the key for {sdk_url} in {from}{hook_note}"),
        ),
    }
}

/// What a W&B SDK of this version would use when it starts with this environment: the
/// key and where it is from. `hook_key`: the key wandb-cred's hook would hand it.
fn sdk_finds(
    ctx: &Context,
    version: SdkVersion,
    url: &BaseUrl,
    hook_key: Option<&Resolved>,
) -> anyhow::Result<Option<(String, ApiKey)>> {
    if let Some(key) = ctx.env.api_key() {
        return Ok(Some((
            "WANDB_API_KEY".to_owned(),
            ApiKey::parse(key.clone())?,
        )));
    }
    if ctx.env.var("WANDB_IDENTITY_TOKEN_FILE").is_none()
        && let Some(found) = hook_key
    {
        let from = format!("the wandb-cred hook ({})", found.source);
        return Ok(Some((from, found.key.clone())));
    }
    let from_settings = || -> anyhow::Result<Option<(String, ApiKey)>> {
        let Some(setting) = ctx.settings.value("api_key") else {
            return Ok(None);
        };
        let from = format!(
            "api_key in {} (line {})",
            setting.path.display(),
            setting.line
        );
        let key = ApiKey::parse(Zeroizing::new(setting.value.to_owned()))
            .with_context(|| from.clone())?;
        Ok(Some((from, key)))
    };
    let from_netrc = || -> anyhow::Result<Option<(String, ApiKey)>> {
        let found = ctx
            .netrc()
            .key_by(|netrc| version.netrc_entry(netrc, url))?;
        Ok(found.map(|f| (format!("netrc file {} (plaintext)", f.location), f.key)))
    };
    if version.reads_netrc_before_settings() {
        Ok(from_netrc()?.or(from_settings()?))
    } else {
        Ok(from_settings()?.or(from_netrc()?))
    }
}

fn check_verify(ctx: &Context, url: &BaseUrl, key: &Resolved, report: &mut Report) {
    let outcome = super::login::http_options(ctx)
        .and_then(|http| Ok(crate::verify::viewer(url, &key.key, &http)?));
    match outcome {
        Ok(viewer) => report.add(
            "verify",
            Status::Ok,
            format!(
                "{url} accepts the key ({})",
                viewer
                    .username
                    .as_deref()
                    .or(viewer.email.as_deref())
                    .unwrap_or("an unnamed user")
            ),
        ),
        Err(e) => report.fix(
            "verify",
            Status::Failed,
            format!("{e:#}"),
            "check the server URL and network, or store a new key with `wandb-cred login --relogin`",
        ),
    }
}

fn print(report: &Report, as_json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if as_json {
        let checks: Vec<_> = report
            .0
            .iter()
            .map(|c| json!({"check": c.name, "status": c.status.name(), "detail": c.detail, "fix": c.fix}))
            .collect();
        let ok = report.0.iter().all(|c| c.status != Status::Failed);
        serde_json::to_writer_pretty(&mut out, &json!({"ok": ok, "checks": checks}))?;
        writeln!(out)?;
    } else {
        for check in &report.0 {
            let tag = format!("[{}]", check.status.name());
            writeln!(out, "{tag:<10}{:<11}{}", check.name, check.detail)?;
            if let Some(fix) = &check.fix {
                writeln!(out, "{:<21}fix: {fix}", "")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
