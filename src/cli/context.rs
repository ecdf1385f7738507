//! What every command needs: the environment, the parsed settings files, the netrc
//! store, and the resolution of the server URL and the key.

use anyhow::Context as _;

use crate::config::paths;
use crate::config::settings_files::SettingsFiles;
use crate::env::Environment;
use crate::resolve::base_url::{BaseUrl, UrlSource, choose_base_url};
use crate::resolve::credential::{self, Layers, Resolved};
use crate::store::Store;
use crate::store::netrc::NetrcStore;

pub struct Context {
    pub env: Environment,
    pub settings: SettingsFiles,
    pub netrc: NetrcStore,
}

impl Context {
    pub fn load() -> anyhow::Result<Self> {
        Self::with_env(Environment::from_process())
    }

    pub fn with_env(env: Environment) -> anyhow::Result<Self> {
        let settings = SettingsFiles::load(&env)?;
        let netrc = NetrcStore::new(paths::netrc(&env));
        Ok(Self {
            env,
            settings,
            netrc,
        })
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
    pub fn store(&self) -> &dyn Store {
        &self.netrc
    }

    /// The key already configured for `url`, by precedence, or `None`.
    pub fn stored_key(&self, url: &BaseUrl) -> anyhow::Result<Option<Resolved>> {
        let layers = Layers {
            env_key: self.env.api_key(),
            keychain: None,
            settings: &self.settings,
            netrc: &self.netrc,
        };
        credential::stored_key(&layers, url)
            .with_context(|| format!("cannot look up the API key for {url}"))
    }
}
