//! What every command needs: the environment, the parsed settings files, the netrc
//! store, and the resolution of the server URL and the key.

use std::cell::OnceCell;
use std::time::Duration;

use anyhow::Context as _;

use crate::config::paths;
use crate::config::settings_files::SettingsFiles;
use crate::env::Environment;
use crate::resolve::base_url::{BaseUrl, UrlSource, choose_base_url};
use crate::resolve::credential::{self, Layers, Resolved};
use crate::store::Store;
use crate::store::backend::{BackendChoice, Selection};
use crate::store::keychain;
use crate::store::netrc::NetrcStore;

pub struct Context {
    pub env: Environment,
    pub settings: SettingsFiles,
    pub netrc: NetrcStore,
    pub backend_choice: BackendChoice,
    pub keychain_timeout: Duration,
    selection: OnceCell<Selection>,
}

impl Context {
    pub fn load(backend_choice: BackendChoice) -> anyhow::Result<Self> {
        Self::with_env(Environment::from_process(), backend_choice)
    }

    pub fn with_env(env: Environment, backend_choice: BackendChoice) -> anyhow::Result<Self> {
        let settings = SettingsFiles::load(&env)?;
        let netrc = NetrcStore::new(paths::netrc(&env));
        let keychain_timeout = match env.var("WANDB_CRED_KEYCHAIN_TIMEOUT") {
            None => keychain::DEFAULT_TIMEOUT,
            Some(text) => crate::duration::parse(text)
                .map_err(|e| anyhow::anyhow!("WANDB_CRED_KEYCHAIN_TIMEOUT: {e}"))?,
        };
        Ok(Self {
            env,
            settings,
            netrc,
            backend_choice,
            keychain_timeout,
            selection: OnceCell::new(),
        })
    }

    /// The store `login` writes to, chosen on first use (a bounded keychain probe).
    pub fn selection(&self) -> anyhow::Result<&Selection> {
        if let Some(selection) = self.selection.get() {
            return Ok(selection);
        }
        let selection = Selection::select(self.backend_choice, self.keychain_timeout)?;
        Ok(self.selection.get_or_init(|| selection))
    }

    /// The server, by precedence: `flag` > `WANDB_BASE_URL` > workspace > system > default.
    pub fn base_url(&self, flag: Option<&str>) -> anyhow::Result<(BaseUrl, UrlSource)> {
        let workspace = self.settings.workspace_value("base_url");
        let system = self.settings.system_value("base_url");
        let setting_source = |s: Option<crate::config::settings_files::Setting<'_>>| {
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

    /// Where `login` stores keys.
    pub fn store(&self) -> anyhow::Result<&dyn Store> {
        Ok(match self.selection()? {
            Selection::Keychain(store) => store,
            Selection::Netrc { .. } => &self.netrc,
        })
    }

    /// The key already configured for `url`, by precedence, or `None`. The keychain is
    /// not consulted (nor probed) when `WANDB_API_KEY` decides.
    pub fn stored_key(&self, url: &BaseUrl) -> anyhow::Result<Option<Resolved>> {
        let env_key = self.env.api_key();
        let keychain = match env_key {
            Some(_) => None,
            None => self.selection()?.keychain().map(|k| k as &dyn Store),
        };
        let layers = Layers {
            env_key,
            keychain,
            settings: &self.settings,
            netrc: &self.netrc,
        };
        credential::stored_key(&layers, url)
            .with_context(|| format!("cannot look up the API key for {url}"))
    }
}
