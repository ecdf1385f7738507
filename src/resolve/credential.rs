//! Which API key applies, in the documented order (compat.md §3):
//! KEY argument > `WANDB_API_KEY` > keychain > settings `api_key` > netrc > prompt.
//! This module covers the stored layers; the argument and the prompt belong to `login`.

use std::fmt;
use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::config::settings_files::SettingsFiles;
use crate::key::{ApiKey, KeyError};
use crate::service::{Found, ServiceError};

/// Where a key came from; shown by `status`, `login --verify` and in errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Argument,
    /// `login -`: read from standard input.
    Stdin,
    Prompt,
    Env,
    /// The keychain, with where exactly.
    Keychain(String),
    Settings {
        path: PathBuf,
        line: usize,
    },
    /// The netrc file, with the path and line.
    Netrc(String),
}

impl KeySource {
    /// Keys typed or passed by the user are stored by `login`; found ones are not.
    pub fn is_new(&self) -> bool {
        matches!(self, Self::Argument | Self::Stdin | Self::Prompt)
    }
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Argument => f.write_str("the command line"),
            Self::Stdin => f.write_str("standard input"),
            Self::Prompt => f.write_str("the prompt"),
            Self::Env => f.write_str("the WANDB_API_KEY environment variable"),
            Self::Keychain(what) => f.write_str(what),
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
    Service(#[from] ServiceError),
}

/// The key that applies without asking anyone, or `None`. `stores(with_netrc)` asks
/// the keychain and, when `with_netrc`, falls back to the netrc file: netrc is only
/// consulted when no settings `api_key` outranks it. A key that is present but breaks
/// the rules is an error naming where it is, never silently skipped.
pub fn stored_key(
    env_key: Option<&Zeroizing<String>>,
    settings: &SettingsFiles,
    stores: impl FnOnce(bool) -> Result<Option<Found>, ServiceError>,
) -> Result<Option<Resolved>, ResolveError> {
    if let Some(text) = env_key {
        return checked(text.clone(), KeySource::Env).map(Some);
    }
    let setting = settings.value("api_key");
    let found = stores(setting.is_none())?;
    if let Some(found) = &found
        && found.layer.off_disk()
    {
        return Ok(Some(Resolved {
            key: found.key.clone(),
            source: KeySource::Keychain(found.location.clone()),
        }));
    }
    if let Some(setting) = setting {
        let source = KeySource::Settings {
            path: setting.path.to_owned(),
            line: setting.line,
        };
        return checked(Zeroizing::new(setting.value.to_owned()), source).map(Some);
    }
    Ok(found.map(|found| Resolved {
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
    use crate::service::Layer;

    fn key(c: char) -> ApiKey {
        ApiKey::parse(Zeroizing::new(c.to_string().repeat(40))).unwrap()
    }

    fn found(c: char, layer: Layer) -> Option<Found> {
        Some(Found {
            key: key(c),
            layer,
            location: format!("{layer:?}"),
        })
    }

    #[test]
    fn precedence_is_env_keychain_settings_netrc() {
        let t = tempfile::tempdir().unwrap();
        let env = Environment::for_test(t.path().into(), t.path().into(), &[]);
        let first = |r: Result<Option<Resolved>, ResolveError>| {
            r.unwrap()
                .map(|r| (r.key.expose().chars().next().unwrap(), r.source))
        };
        let none = SettingsFiles::load(&env).unwrap();
        let env_key = Zeroizing::new("e".repeat(40));
        assert_eq!(
            first(stored_key(Some(&env_key), &none, |_| panic!(
                "stores asked"
            )))
            .unwrap()
            .0,
            'e'
        );
        assert_eq!(
            first(stored_key(None, &none, |with_netrc| {
                assert!(with_netrc);
                Ok(found('k', Layer::Keychain))
            })),
            Some(('k', KeySource::Keychain("Keychain".into())))
        );
        assert_eq!(
            first(stored_key(None, &none, |_| Ok(found('n', Layer::Netrc))))
                .unwrap()
                .0,
            'n'
        );
        assert_eq!(first(stored_key(None, &none, |_| Ok(None))), None);
        std::fs::create_dir_all(t.path().join(".config/wandb")).unwrap();
        std::fs::write(
            t.path().join(".config/wandb/settings"),
            format!("[default]\napi_key = {}\n", "s".repeat(40)),
        )
        .unwrap();
        let with_setting = SettingsFiles::load(&env).unwrap();
        // The settings key outranks netrc, so netrc is not even asked for...
        let got = first(stored_key(None, &with_setting, |with_netrc| {
            assert!(!with_netrc);
            Ok(None)
        }));
        assert_eq!(got.unwrap().0, 's');
        // ...but the keychain still outranks the settings key.
        assert_eq!(
            first(stored_key(None, &with_setting, |_| Ok(found(
                'k',
                Layer::Keychain
            ))))
            .unwrap()
            .0,
            'k'
        );
    }

    #[test]
    fn an_invalid_key_is_an_error_naming_its_source() {
        let t = tempfile::tempdir().unwrap();
        let env = Environment::for_test(t.path().into(), t.path().into(), &[]);
        let settings = SettingsFiles::load(&env).unwrap();
        let bad = Zeroizing::new(" short".to_owned());
        let err = stored_key(Some(&bad), &settings, |_| Ok(None))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "the WANDB_API_KEY environment variable does not hold a valid API key: API key cannot start or end with whitespace"
        );
    }
}
