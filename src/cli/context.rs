//! What every command needs: the environment, the parsed settings files, the netrc
//! path, the key service (the daemon, started on demand, or this process), and the
//! resolution of the server URL and the key.

use std::cell::OnceCell;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use super::output::warn;
use crate::client::ConnectError;
use crate::client::autostart::{self, StartError};
use crate::config::paths;
use crate::config::settings_files::{Setting, SettingsError, SettingsFiles};
use crate::env::Environment;
use crate::ipc;
use crate::resolve::base_url::BaseUrl;
use crate::resolve::credential::{self, Resolved};
use crate::resolve::precedence::{UrlSource, choose_base_url};
use crate::service::KeyService;
use crate::service::local::LocalService;
use crate::store::backend::BackendChoice;
use crate::store::keychain;
use crate::store::netrc::NetrcStore;

pub struct Context {
    pub env: Environment,
    pub settings: SettingsFiles,
    pub netrc_path: PathBuf,
    pub backend_choice: BackendChoice,
    pub keychain_timeout: Duration,
    /// `--profile NAME` of this command, when it has one.
    pub profile_flag: Option<String>,
    open: Opener,
    service: OnceCell<Box<dyn KeyService>>,
}

/// How a context gets its key service on first use. A function pointer rather than a
/// method, so the `get` fast path (which brings its own) does not link the daemon,
/// the keychain or the autostart code.
pub type Opener = fn(&Context) -> Box<dyn KeyService>;

impl Context {
    /// The context every command of the full program starts from; the settings files'
    /// warnings are said here, once.
    pub fn load(backend_choice: BackendChoice) -> anyhow::Result<Self> {
        let ctx = Self::load_using(backend_choice, Self::open_service)?;
        ctx.warn_about_settings();
        Ok(ctx)
    }

    /// Like [`Context::load`], with the key service `open` makes, and nothing said.
    pub fn load_using(backend_choice: BackendChoice, open: Opener) -> anyhow::Result<Self> {
        let (ctx, broken) = Self::read(backend_choice, open)?;
        match broken {
            Some(error) => Err(error.into()),
            None => Ok(ctx),
        }
    }

    /// Like [`Context::load`], but a settings file that cannot be read is handed back
    /// beside a context that uses neither file (for `doctor`, which reports it).
    pub fn load_lenient(
        backend_choice: BackendChoice,
    ) -> anyhow::Result<(Self, Option<SettingsError>)> {
        let (ctx, broken) = Self::read(backend_choice, Self::open_service)?;
        ctx.warn_about_settings();
        Ok((ctx, broken))
    }

    fn warn_about_settings(&self) {
        for warning in &self.settings.warnings {
            warn(warning);
        }
    }

    fn read(
        backend_choice: BackendChoice,
        open: Opener,
    ) -> anyhow::Result<(Self, Option<SettingsError>)> {
        let env = Environment::from_process();
        let (settings, broken) = match SettingsFiles::load(&env) {
            Ok(settings) => (settings, None),
            Err(error) => (SettingsFiles::absent(&env), Some(error)),
        };
        let netrc_path = paths::netrc(&env);
        let keychain_timeout = keychain::timeout_from(&env).map_err(anyhow::Error::msg)?;
        let ctx = Self {
            env,
            settings,
            netrc_path,
            backend_choice,
            keychain_timeout,
            open,
            service: OnceCell::new(),
            profile_flag: None,
        };
        Ok((ctx, broken))
    }

    /// The netrc file as a store, for reads the client makes itself.
    pub fn netrc(&self) -> NetrcStore {
        NetrcStore::new(self.netrc_path.clone())
    }

    /// Whether a yes/no variable is set to anything but `0`.
    /// The backend choice with the kernel keyring's opt-out, as the daemon must share it
    /// for its answers to be this command's ([`BackendChoice::label`]).
    pub fn backend_label(&self) -> String {
        self.backend_choice
            .label(!self.flag(crate::store::kernel_keyring::OPT_OUT))
    }

    pub fn flag(&self, name: &str) -> bool {
        self.env.var(name).is_some_and(|v| v != "0")
    }

    /// Inside `wandb-cred ssh` (which sets `WANDB_CRED_FORWARDED`): the forwarded socket
    /// that serves this session's keys, get only.
    pub fn forwarded_session(&self) -> Option<PathBuf> {
        self.flag("WANDB_CRED_FORWARDED")
            .then(|| ipc::socket_path(&self.env))
    }

    /// What to say when the session's forwarded socket no longer answers.
    pub fn session_ended(socket: &std::path::Path) -> String {
        format!(
            "the `wandb-cred ssh` session that served keys here has ended ({} no longer answers); start a new one, or `unset WANDB_CRED_SOCKET WANDB_CRED_FORWARDED WANDB_CRED_NO_AUTOSTART` to use this machine's own keys",
            socket.display()
        )
    }

    /// The key service: the daemon (started if needed), or this process when no daemon
    /// can run (said, unless `WANDB_CRED_NO_DAEMON` asked for it).
    pub fn service(&self) -> &dyn KeyService {
        self.service.get_or_init(|| (self.open)(self)).as_ref()
    }

    /// This process doing the work itself, with this command's backend settings.
    pub fn local_service(&self) -> LocalService {
        LocalService::new(
            self.backend_choice,
            self.keychain_timeout,
            !self.flag(crate::store::kernel_keyring::OPT_OUT),
        )
    }

    fn open_service(ctx: &Context) -> Box<dyn KeyService> {
        let local = || -> Box<dyn KeyService> { Box::new(ctx.local_service()) };
        if ctx.flag("WANDB_CRED_NO_DAEMON") {
            return local();
        }
        let socket = ipc::socket_path(&ctx.env);
        let autostart = !ctx.flag("WANDB_CRED_NO_AUTOSTART");
        match autostart::connect_or_start(&socket, autostart) {
            // A forwarded socket serves gets from the other machine's stores, whatever
            // this machine's settings.
            Ok(daemon)
                if ctx.forwarded_session().is_some()
                    || daemon.hello.backend_choice == ctx.backend_label() =>
            {
                Box::new(daemon)
            }
            Ok(daemon) => {
                tracing::info!(daemon = %daemon.hello.backend_choice, wanted = %ctx.backend_choice, "backend differs from the daemon's; working in-process");
                local()
            }
            Err(StartError::Connect(ConnectError::NotRunning(_)))
                if ctx.forwarded_session().is_some() =>
            {
                warn(format_args!(
                    "{}; working without a daemon",
                    Self::session_ended(&socket)
                ));
                local()
            }
            Err(StartError::Connect(ConnectError::NotRunning(_))) => {
                warn(format_args!(
                    "no daemon is running at {} (WANDB_CRED_NO_AUTOSTART is set); working without one",
                    socket.display()
                ));
                local()
            }
            Err(StartError::Connect(ConnectError::Untrusted { why, .. })) => {
                warn(format_args!(
                    "{why}; working without a daemon (nothing was sent to it). To use one, put its socket in a private folder of yours: export WANDB_CRED_SOCKET=~/.local/state/wandb-cred/daemon.sock"
                ));
                local()
            }
            Err(e) => {
                warn(format_args!("{e}; working without a daemon"));
                local()
            }
        }
    }

    /// The server, by precedence: `flag` > `WANDB_BASE_URL` > workspace > system > default,
    /// with the profile this command uses for it ([`Self::profile`]).
    pub fn base_url(&self, flag: Option<&str>) -> anyhow::Result<(BaseUrl, UrlSource)> {
        let (url, source) = self.server(flag)?;
        let (profile, why) = self.profile(&url);
        let mut url = url
            .with_profile(profile.as_deref())
            .context("cannot use that profile")?;
        // No profile here, but an entity: a daemon holding another machine's keys (the
        // forwarded socket of `wandb-cred ssh`) picks that entity's profile among them.
        if why == super::profiles::Source::Unnamed
            && let Some((entity, _)) = self.entity()
        {
            url = url.with_entity_hint(entity);
        }
        Ok((url, source))
    }

    /// Which profile of `url`'s server this command uses, and why
    /// ([`super::profiles::choose`]).
    pub fn profile(&self, url: &BaseUrl) -> (Option<String>, super::profiles::Source) {
        super::profiles::choose(
            url,
            self.profile_flag.as_deref(),
            self.env.var("WANDB_CRED_PROFILE"),
            self.entity(),
        )
    }

    /// The entity this command works for: `WANDB_ENTITY`, else the workspace settings'
    /// `entity`, with where it came from.
    fn entity(&self) -> Option<(&str, &'static str)> {
        match self.env.var("WANDB_ENTITY") {
            Some(entity) => Some((entity, "WANDB_ENTITY")),
            None => self
                .settings
                .workspace_value("entity")
                .map(|s| (s.value, "the workspace settings")),
        }
    }

    /// The server alone, by the precedence of [`Self::base_url`].
    fn server(&self, flag: Option<&str>) -> anyhow::Result<(BaseUrl, UrlSource)> {
        let workspace = self.settings.workspace_value("base_url");
        let system = self.settings.system_value("base_url");
        let setting_source = |s: Option<Setting<'_>>| {
            s.map(|s| UrlSource::Settings(s.path.to_owned()))
                .unwrap_or(UrlSource::Default)
        };
        let candidates = [
            (flag, UrlSource::Flag),
            (self.env.var("WANDB_BASE_URL"), UrlSource::Env),
            (workspace.map(|s| s.value), setting_source(workspace)),
            (system.map(|s| s.value), setting_source(system)),
        ];
        choose_base_url(candidates).map_err(|(error, source)| {
            let place = match (&source, workspace.or(system)) {
                (UrlSource::Settings(_), Some(s)) => {
                    format!("base_url in {} (line {})", s.path.display(), s.line)
                }
                (UrlSource::Flag, _) => "--host".to_owned(),
                _ => source.to_string(),
            };
            anyhow::anyhow!(error).context(format!("{place} is not a usable server URL"))
        })
    }

    /// Whether `url` is the server the configuration names (flag aside: environment,
    /// settings files, default), whose key a settings `api_key` or `WANDB_API_KEY` is.
    pub fn is_configured(&self, url: &BaseUrl) -> bool {
        self.server(None)
            .is_ok_and(|(configured, _)| configured.identity() == url.identity())
    }

    /// The key already configured for `url`, by precedence, or `None`. Neither the
    /// daemon nor the keychain is consulted when `WANDB_API_KEY` decides.
    /// A settings `api_key` belongs to the server the configuration names (as the SDK
    /// 0.31 uses it only for its `base_url`): for any other server it does not count.
    pub fn stored_key(&self, url: &BaseUrl) -> anyhow::Result<Option<Resolved>> {
        let unconfigured;
        let settings = if self.is_configured(url) {
            &self.settings
        } else {
            unconfigured = SettingsFiles::absent(&self.env);
            &unconfigured
        };
        credential::stored_key(self.env.api_key(), settings, |with_netrc| {
            let netrc = with_netrc.then_some(self.netrc_path.as_path());
            self.service().get(url, netrc)
        })
        .with_context(|| format!("cannot look up the API key for {url}"))
    }
}
