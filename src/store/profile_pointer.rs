//! Each server's default profile (`profiles.json` in the state folder): a non-secret
//! pointer to one of its keys, which only `switch` and a server's first
//! `login --profile` set. Read by commands choosing a profile, and by the daemon for a
//! forwarded request that names none (the remote chooses among this machine's keys).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::state_file;
use crate::resolve::base_url::BaseUrl;

const FILE: &str = "profiles.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    /// Server identity -> its default profile.
    #[serde(default)]
    defaults: BTreeMap<String, String>,
}

/// The server's default profile, when one was set.
pub fn default_of(url: &BaseUrl) -> Option<String> {
    state_file::read::<Record>(FILE)
        .defaults
        .get(&url.identity())
        .cloned()
}

/// Makes `name` the server's default (`None` or `default`: the unnamed key).
pub fn set_default(url: &BaseUrl, name: Option<&str>) {
    let identity = url.identity();
    state_file::change(FILE, |record: &mut Record| match name {
        None | Some("default") => record.defaults.remove(&identity).is_some(),
        Some(name) => {
            record
                .defaults
                .insert(identity.clone(), name.to_owned())
                .as_deref()
                != Some(name)
        }
    });
}
