//! Which API key applies, in the documented order (compat.md §3):
//! KEY argument > `WANDB_API_KEY` > keychain > settings `api_key` > netrc > prompt.
//! This module covers the stored layers; the argument and the prompt belong to `login`.

use std::fmt;
use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::config::settings_files::SettingsFiles;
use crate::key::{ApiKey, KeyError};
use crate::resolve::base_url::BaseUrl;
use crate::store::{Store, StoreError};

/// Where a key came from; shown by `status`, `login --verify` and in errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Argument,
    Prompt,
    Env,
    /// A store other than netrc (the keychain), with its description.
    Store(String),
    Settings {
        path: PathBuf,
        line: usize,
    },
    Netrc(String),
}

impl KeySource {
    /// Keys typed or passed by the user are stored by `login`; found ones are not.
    pub fn is_new(&self) -> bool {
        matches!(self, Self::Argument | Self::Prompt)
    }
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Argument => f.write_str("the command line"),
            Self::Prompt => f.write_str("the prompt"),
            Self::Env => f.write_str("the WANDB_API_KEY environment variable"),
            Self::Store(what) => f.write_str(what),
            Self::Settings { path, line } => {
                write!(f, "api_key in {} (line {line})", path.display())
            }
            Self::Netrc(location) => write!(f, "netrc file {location}"),
        }
    }
}

/// A key and where it came from.
#[derive(Debug)]
pub struct Resolved {
    pub key: ApiKey,
    pub source: KeySource,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("{source_desc} does not hold a valid API key: {error}")]
    Invalid {
        source_desc: String,
        error: KeyError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The places a key may already be, in precedence order after the command line.
pub struct Layers<'a> {
    pub env_key: Option<&'a Zeroizing<String>>,
    pub keychain: Option<&'a dyn Store>,
    pub settings: &'a SettingsFiles,
    pub netrc: &'a dyn Store,
}

/// The key that applies to `url` without asking anyone, or `None`. A key that is present
/// but breaks the rules is an error naming where it is, never silently skipped.
pub fn stored_key(layers: &Layers<'_>, url: &BaseUrl) -> Result<Option<Resolved>, ResolveError> {
    if let Some(text) = layers.env_key {
        return checked(text.clone(), KeySource::Env).map(Some);
    }
    if let Some(store) = layers.keychain
        && let Some(found) = store.get(url)?
    {
        return Ok(Some(Resolved {
            key: found.key,
            source: KeySource::Store(found.location),
        }));
    }
    if let Some(setting) = layers.settings.value("api_key") {
        let source = KeySource::Settings {
            path: setting.path.to_owned(),
            line: setting.line,
        };
        return checked(Zeroizing::new(setting.value.to_owned()), source).map(Some);
    }
    Ok(layers.netrc.get(url)?.map(|found| Resolved {
        key: found.key,
        source: KeySource::Netrc(found.location),
    }))
}

fn checked(text: Zeroizing<String>, source: KeySource) -> Result<Resolved, ResolveError> {
    match ApiKey::parse(text) {
        Ok(key) => Ok(Resolved { key, source }),
        Err(error) => Err(ResolveError::Invalid {
            source_desc: source.to_string(),
            error,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Environment;
    use crate::store::memory::MemoryStore;

    fn key(c: char) -> ApiKey {
        ApiKey::parse(Zeroizing::new(c.to_string().repeat(40))).unwrap()
    }

    #[test]
    fn precedence_is_env_keychain_settings_netrc() {
        let t = tempfile::tempdir().unwrap();
        let url = BaseUrl::default_cloud();
        let env = Environment::for_test(t.path().into(), t.path().into(), &[]);
        let settings = SettingsFiles::load(&env).unwrap();
        let (keychain, netrc) = (MemoryStore::default(), MemoryStore::default());
        let env_key = Zeroizing::new("e".repeat(40));
        let mut layers = Layers {
            env_key: Some(&env_key),
            keychain: Some(&keychain),
            settings: &settings,
            netrc: &netrc,
        };
        let found = |l: &Layers<'_>| {
            stored_key(l, &url)
                .unwrap()
                .map(|r| (r.key.expose().chars().next(), r.source))
        };
        netrc.set(&url, &key('n')).unwrap();
        keychain.set(&url, &key('k')).unwrap();
        assert_eq!(found(&layers), Some((Some('e'), KeySource::Env)));
        layers.env_key = None;
        assert_eq!(
            found(&layers),
            Some((Some('k'), KeySource::Store("memory".into())))
        );
        keychain.delete(&url).unwrap();
        assert_eq!(
            found(&layers),
            Some((Some('n'), KeySource::Netrc("memory".into())))
        );
        netrc.delete(&url).unwrap();
        assert_eq!(found(&layers), None);
    }

    #[test]
    fn an_invalid_key_is_an_error_naming_its_source() {
        let t = tempfile::tempdir().unwrap();
        let env = Environment::for_test(t.path().into(), t.path().into(), &[]);
        let settings = SettingsFiles::load(&env).unwrap();
        let netrc = MemoryStore::default();
        let bad = Zeroizing::new(" short".to_owned());
        let layers = Layers {
            env_key: Some(&bad),
            keychain: None,
            settings: &settings,
            netrc: &netrc,
        };
        let err = stored_key(&layers, &BaseUrl::default_cloud())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "the WANDB_API_KEY environment variable does not hold a valid API key: API key cannot start or end with whitespace"
        );
    }
}
