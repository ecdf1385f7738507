//! Several keys for one server (profiles), and which one a command uses. The order, per
//! invocation and never racing between shells: `--profile NAME` > `WANDB_CRED_PROFILE` >
//! the profile whose entity is `WANDB_ENTITY` or the workspace settings' `entity` (as the
//! server told `whoami` or `login --verify`) > the server's default (`switch`, kept in
//! `profiles.json`, a non-secret pointer) > the unnamed key (profile `default`).

use std::fmt;

use crate::resolve::base_url::BaseUrl;

/// Why a profile was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    /// Matched this entity (from `WANDB_ENTITY` or the workspace settings).
    Entity(String, &'static str),
    /// The server's default, set by `switch` or the first `login --profile`.
    Default,
    /// No profile chosen: the server's unnamed key.
    Unnamed,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag => f.write_str("--profile"),
            Self::Env => f.write_str("WANDB_CRED_PROFILE"),
            Self::Entity(entity, from) => write!(f, "entity {entity} in {from}"),
            Self::Default => f.write_str("the server's default; `wandb-cred switch` changes it"),
            Self::Unnamed => f.write_str("the server's only key"),
        }
    }
}

/// The profile for `url` by the order above. `entity`: `WANDB_ENTITY`, else the
/// workspace settings' `entity`, with where it came from.
pub fn choose(
    url: &BaseUrl,
    flag: Option<&str>,
    env: Option<&str>,
    entity: Option<(&str, &'static str)>,
) -> (Option<String>, Source) {
    if let Some(name) = flag {
        return (Some(name.to_owned()), Source::Flag);
    }
    if let Some(name) = env {
        return (Some(name.to_owned()), Source::Env);
    }
    if let Some((entity, from)) = entity
        && let Some(name) = crate::store::identity_record::profile_of_entity(url, entity)
    {
        return (Some(name), Source::Entity(entity.to_owned(), from));
    }
    match default_of(url) {
        Some(name) => (Some(name), Source::Default),
        None => (None, Source::Unnamed),
    }
}

pub use crate::store::profile_pointer::{default_of, set_default};
