//! Who each stored key belongs to, as the server said (`whoami`, `login --verify`):
//! server, the key's masked fingerprint, username, entity and teams, and when
//! (`identities.json` in the state folder; no key material). `list` shows the entity;
//! the profile choice, here and in the daemon for a forwarded request, maps an entity
//! to the profile whose key it is.

use serde::{Deserialize, Serialize};

use crate::config::state_file;
use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;
use crate::verify::Viewer;

const FILE: &str = "identities.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    #[serde(default)]
    identities: Vec<Identity>,
}

/// What the server said of one key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Identity {
    /// The server's account URL.
    pub server: String,
    /// The key's masked form (`wandb_v1_****k3Qz`).
    pub key: String,
    pub username: Option<String>,
    pub entity: Option<String>,
    #[serde(default)]
    pub teams: Vec<String>,
    /// Seconds since 1970, UTC.
    pub time: u64,
}

/// Keeps what the server said of `key` (replacing what it said before).
pub fn remember(url: &BaseUrl, key: &ApiKey, viewer: &Viewer) {
    let identity = Identity {
        server: url.account(),
        key: key.masked(),
        username: viewer.username.clone(),
        entity: viewer.entity.clone(),
        teams: viewer.teams.clone(),
        time: state_file::now(),
    };
    state_file::change(FILE, |record: &mut Record| {
        let before = record.identities.clone();
        record
            .identities
            .retain(|i| !(i.server == identity.server && i.key == identity.key));
        record.identities.push(identity.clone());
        record.identities != before
    });
}

/// What the server last said of the key with this masked form for this server URL or
/// netrc machine, if anything.
pub fn of(server: &str, masked: &str) -> Option<Identity> {
    let account = BaseUrl::from_account(server).map_or_else(|_| server.to_owned(), |u| u.account());
    state_file::read::<Record>(FILE)
        .identities
        .into_iter()
        .find(|i| {
            i.key == masked && (i.server == account || i.server.ends_with(&format!("://{server}")))
        })
}

/// The profile of `url`'s server whose key the server said belongs to `entity`.
pub fn profile_of_entity(url: &BaseUrl, entity: &str) -> Option<String> {
    let identity = url.identity();
    state_file::read::<Record>(FILE)
        .identities
        .into_iter()
        .filter(|i| i.entity.as_deref() == Some(entity))
        .find_map(|i| {
            let profile = i.server.strip_prefix(&identity)?;
            match profile.strip_prefix('#') {
                Some(name) => Some(name.to_owned()),
                None if profile.is_empty() => Some("default".to_owned()),
                None => None,
            }
        })
}
