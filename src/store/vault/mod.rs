//! The Vault store (`--backend vault`): keys in a KV version 2 secrets engine of the
//! team's Vault or OpenBao, one secret per server and profile at
//! `{mount}/{prefix}/{host[:port]}/{profile}` (profile `default` for a server's unnamed
//! key), with fields `api_key` and `server` (the account URL). Read by every reader,
//! written by `login`, soft-deleted by `logout` (Vault keeps the version). What was read
//! is served from memory for a bounded time ([`settings::DEFAULT_CACHE`]), so a key
//! rotated in Vault is seen after it (or `wandb-cred reload`).

mod answer;
mod cache;
mod client;
mod path;
pub mod settings;

use std::time::Duration;

use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::{Store, StoreError, StoredKey};
use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;
use answer::Answer;
use client::{Client, Failure};
use settings::Settings;

/// The most entries `list` reads (`list`, `uninstall` and the git helper's lookups walk
/// the prefix one GET at a time).
pub const MAX_WALKED: usize = 512;

pub struct VaultStore {
    client: Client,
    /// What was read, for the cache time ([`cache::Cache`]).
    cache: cache::Cache,
}

impl VaultStore {
    pub fn open(timeout: Duration) -> Result<Self, StoreError> {
        let settings = Settings::from_env(timeout).map_err(|message| StoreError::Vault {
            address: "Vault".to_owned(),
            path: String::new(),
            message,
        })?;
        let cache = cache::Cache::new(settings.cache);
        let client = Client::new(settings).map_err(|message| StoreError::Vault {
            address: "Vault".to_owned(),
            path: String::new(),
            message,
        })?;
        Ok(Self { client, cache })
    }

    fn settings(&self) -> &Settings {
        self.client.settings()
    }

    /// The secret's path under the mount: `{prefix}/{host[:port]}/{profile}`, or why
    /// this URL names no key ([`path::relative`]).
    fn relative(&self, url: &BaseUrl) -> Result<String, StoreError> {
        path::relative(&self.settings().prefix, url).map_err(|message| StoreError::Vault {
            address: self.settings().address.clone(),
            path: String::new(),
            message,
        })
    }

    /// The path as `bao kv get -mount=MOUNT PATH` names it, for messages.
    fn shown(&self, relative: &str) -> String {
        format!("{}/{relative}", self.settings().mount)
    }

    fn error(&self, relative: &str, failure: Failure) -> StoreError {
        let message = match failure {
            Failure::Auth(m) => format!("{m} ({})", self.settings().auth.describe()),
            other => other.to_string(),
        };
        StoreError::Vault {
            address: self.settings().address.clone(),
            path: self.shown(relative),
            message,
        }
    }

    fn call(
        &self,
        method: &str,
        path: String,
        relative: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Answer), StoreError> {
        match self.client.call(method, &path, body) {
            Ok((403, body)) => Err(self.error(relative, Failure::Denied(client::errors(&body)))),
            Ok(answer) => Ok(answer),
            Err(failure) => Err(self.error(relative, failure)),
        }
    }

    fn read(&self, url: &BaseUrl) -> Result<Option<ApiKey>, StoreError> {
        let relative = self.relative(url)?;
        let path = format!("{}/data/{relative}", self.settings().mount);
        let (status, body) = self.call("GET", path, &relative, None)?;
        match status {
            200 => {}
            404 => return Ok(None),
            _ => return Err(self.error(&relative, Failure::Server(status, client::errors(&body)))),
        }
        let Some(text) = body.pointer("/data/data/api_key").and_then(Value::as_str) else {
            // A deleted version answers 200 without data on some servers.
            return Ok(None);
        };
        let key = ApiKey::parse(Zeroizing::new(text.to_owned())).map_err(|source| {
            StoreError::InvalidKey {
                machine: url.account(),
                location: format!("Vault {}", self.shown(&relative)),
                source,
            }
        })?;
        Ok(Some(key))
    }

    /// Every key under the prefix: its account and key; at most [`MAX_WALKED`] entries
    /// are read (one GET each), so a prefix a team filled costs bounded work.
    pub fn list(&self) -> Result<Vec<(String, ApiKey)>, StoreError> {
        let mount = &self.settings().mount;
        let prefix = &self.settings().prefix;
        let mut out = Vec::new();
        let mut walked = 0;
        for host in self.list_folder(prefix)? {
            let host = host.trim_end_matches('/');
            let Ok(folder) = path::folder(prefix, host) else {
                continue;
            };
            for profile in self.list_folder(&folder)? {
                let Ok(relative) = path::join(prefix, host, &profile) else {
                    continue;
                };
                walked += 1;
                if walked > MAX_WALKED {
                    tracing::warn!(prefix = %self.shown(prefix), "more than {MAX_WALKED} entries under the prefix: listing the first");
                    return Ok(out);
                }
                let (status, body) =
                    self.call("GET", format!("{mount}/data/{relative}"), &relative, None)?;
                if status != 200 {
                    continue;
                }
                let (Some(key), Some(server)) = (
                    body.pointer("/data/data/api_key").and_then(Value::as_str),
                    body.pointer("/data/data/server").and_then(Value::as_str),
                ) else {
                    continue;
                };
                if !path::belongs_at(prefix, &relative, server) {
                    tracing::warn!(path = %self.shown(&relative), "skipping a Vault entry whose server field names another server than its path");
                    continue;
                }
                if let Ok(key) = ApiKey::parse(Zeroizing::new(key.to_owned())) {
                    out.push((server.to_owned(), key));
                }
            }
        }
        Ok(out)
    }

    fn list_folder(&self, folder: &str) -> Result<Vec<String>, StoreError> {
        // `?list=true` is LIST for clients that cannot send that method.
        let path = format!("{}/metadata/{folder}?list=true", self.settings().mount);
        let (status, body) = self.call("GET", path, folder, None)?;
        match status {
            200 => Ok(body
                .pointer("/data/keys")
                .and_then(Value::as_array)
                .map(|keys| {
                    keys.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()),
            404 => Ok(Vec::new()),
            _ => Err(self.error(folder, Failure::Server(status, client::errors(&body)))),
        }
    }

    pub fn location(&self, url: &BaseUrl) -> String {
        match self.relative(url) {
            Ok(relative) => format!(
                "Vault {} ({})",
                self.settings().address,
                self.shown(&relative)
            ),
            Err(_) => format!("Vault {}", self.settings().address),
        }
    }
}

impl Store for VaultStore {
    fn describe(&self) -> String {
        format!(
            "Vault {} (KV v2 mount {}, under {}; {})",
            self.settings().address,
            self.settings().mount,
            self.settings().prefix,
            self.settings().auth.describe()
        )
    }

    fn get(&self, url: &BaseUrl) -> Result<Option<StoredKey>, StoreError> {
        // A URL that names no key is refused before the cache remembers anything.
        self.relative(url)?;
        let account = url.account();
        let key = match self.cache.get(&account) {
            Some(text) => Some(ApiKey::parse(Zeroizing::new(text)).map_err(|source| {
                StoreError::InvalidKey {
                    machine: account.clone(),
                    location: self.location(url),
                    source,
                }
            })?),
            None => {
                let key = self.read(url)?;
                self.cache.remember(&account, key.as_ref());
                key
            }
        };
        Ok(key.map(|key| StoredKey {
            key,
            location: self.location(url),
        }))
    }

    fn set(&self, url: &BaseUrl, key: &ApiKey) -> Result<String, StoreError> {
        let relative = self.relative(url)?;
        let path = format!("{}/data/{relative}", self.settings().mount);
        let mut body = json!({"data": {"api_key": key.expose(), "server": url.account()}});
        let answered = self.call("POST", path, &relative, Some(&body));
        answer::wipe(&mut body);
        let (status, answer) = answered?;
        if status != 200 && status != 204 {
            return Err(self.error(&relative, Failure::Server(status, client::errors(&answer))));
        }
        self.cache.remember(&url.account(), Some(key));
        Ok(self.location(url))
    }

    fn delete(&self, url: &BaseUrl) -> Result<bool, StoreError> {
        let had = self.read(url)?.is_some();
        if had {
            let relative = self.relative(url)?;
            let path = format!("{}/data/{relative}", self.settings().mount);
            let (status, answer) = self.call("DELETE", path, &relative, None)?;
            if status != 200 && status != 204 {
                return Err(self.error(&relative, Failure::Server(status, client::errors(&answer))));
            }
        }
        self.cache.remember(&url.account(), None);
        Ok(had)
    }
}

impl super::SecretStore for VaultStore {
    fn layer(&self) -> wandb_cred_proto::Layer {
        wandb_cred_proto::Layer::Vault
    }
    fn title(&self) -> &'static str {
        "Vault"
    }
    fn set_verified(&self, url: &BaseUrl, key: &ApiKey) -> Result<String, StoreError> {
        let place = self.set(url, key)?;
        match self.read(url)? {
            Some(back) if back == *key => Ok(place),
            _ => Err(StoreError::Vault {
                address: self.settings().address.clone(),
                path: self.shown(&self.relative(url)?),
                message: "the key did not read back as written".to_owned(),
            }),
        }
    }
    fn list(&self) -> Result<Vec<(String, ApiKey)>, StoreError> {
        VaultStore::list(self)
    }
    fn location(&self, url: &BaseUrl) -> String {
        VaultStore::location(self, url)
    }
    fn lasts(&self) -> Option<&'static str> {
        Some("every machine with the address and a token that may read it gets it")
    }
    fn cached_by_service(&self) -> bool {
        false
    }
}
