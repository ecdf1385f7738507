//! The W&B server URL: validation and normalisation (compat.md §1), the netloc that
//! names a key, and the app URL shown at the prompt. The clouds' names are in
//! [`super::cloud`], the precedence in [`super::precedence`].

use std::fmt;

pub use super::cloud::DEFAULT_BASE_URL;
use super::cloud::{CLOUDS, Cloud, FORGE_API_PATH, canonical_host};
pub use super::url_error::{MAX_URL_LEN, UrlError, UrlText};

/// A validated server URL with trailing slashes removed; case, port and path are kept
/// as written, because the SDK keys netrc entries by the netloc exactly as written.
/// Two URLs are equal when they name one server ([`BaseUrl::identity`]): host names are
/// compared in canonical form, and every rule is applied to that form.
#[derive(Clone)]
pub struct BaseUrl {
    url: String,
    /// Byte range of the netloc (`host[:port]`, after any `user@`) within `url`.
    netloc: (usize, usize),
    /// Byte range of the host name (without port or brackets' contents trimmed).
    host: (usize, usize),
    /// One of several keys for this server ([`Self::with_profile`]); `None` is the
    /// server's unnamed key, the one every earlier version stored (profile `default`).
    profile: Option<String>,
    /// With no profile chosen: the entity whose profile the machine holding the keys
    /// should pick (a remote in `wandb-cred ssh` knows the entity, not the laptop's
    /// names). Only [`Self::wire`] carries it; it is no part of the account.
    entity: Option<String>,
}

impl BaseUrl {
    pub fn parse(text: &str) -> Result<Self, UrlError> {
        if text.len() > MAX_URL_LEN {
            // Not quoted whole: the first characters say which URL it was.
            let shown: String = text.chars().take(60).collect();
            return Err(UrlError::TooLong(UrlText::new(&format!("{shown}..."))));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::Characters(UrlText::new(text)));
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(UrlError::Scheme(UrlText::new(text)));
        };
        let https = scheme.eq_ignore_ascii_case("https");
        if !https && !scheme.eq_ignore_ascii_case("http") {
            return Err(UrlError::Scheme(UrlText::new(text)));
        }
        let scheme_len = scheme.len();
        let authority_start = scheme_len + 3;
        let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_len];
        // Python's urlsplit keeps `user@` in the netloc; the SDK does too.
        let netloc = (authority_start, authority_start + authority_len);
        let host_start = authority.rfind('@').map_or(0, |i| i + 1);
        let hostport = &authority[host_start..];
        let (host, port) = split_port(hostport);
        if let Some(port) = port
            && !port.is_empty()
            && !matches!(port.parse::<u16>(), Ok(p) if p > 0)
        {
            return Err(UrlError::Port(UrlText::new(text)));
        }
        let host_ok = !host.is_empty()
            && (host.starts_with('[') && host.ends_with(']')
                || host
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '%')));
        if !host_ok {
            return Err(UrlError::NoHost(UrlText::new(text)));
        }
        let host_at = authority_start + host_start;
        let host = (host_at, host_at + host.len());
        // Trailing slashes come after a non-empty authority, so the ranges stay valid.
        let url = text.trim_end_matches('/').to_owned();
        let parsed = Self {
            url,
            netloc,
            host,
            profile: None,
            entity: None,
        };
        let lower = canonical_host(parsed.host());
        if let Some(cloud) = CLOUDS.iter().find(|c| lower == c.forge) {
            return Self::forge_proxy(
                text,
                cloud,
                https && port.is_none_or(str::is_empty),
                &rest[authority_len..],
            );
        }
        if lower == "wandb.ai" || lower.ends_with(".wandb.ai") {
            if !lower.starts_with("api.") {
                return Err(UrlError::NotApiHost(UrlText::new(text)));
            }
            if !https {
                return Err(UrlError::Insecure(
                    UrlText::new(text),
                    DEFAULT_BASE_URL.to_owned(),
                ));
            }
        }
        if let Some(cloud) = CLOUDS.iter().find(|c| lower == c.forge_api())
            && !https
        {
            return Err(UrlError::Insecure(
                UrlText::new(text),
                format!("https://{}", cloud.forge_api()),
            ));
        }
        Ok(parsed)
    }

    /// A URL on a bare Forge host: only its W&B API proxy, `https://<forge>/api/wandb`,
    /// is a server address, and it means `https://api.<forge>` (SDK
    /// `normalize_forge_base_url`).
    fn forge_proxy(
        text: &str,
        cloud: &Cloud,
        https_on_443: bool,
        path: &str,
    ) -> Result<Self, UrlError> {
        if https_on_443 && path.trim_end_matches('/') == FORGE_API_PATH {
            return Self::parse(&format!("https://{}", cloud.forge_api()));
        }
        Err(UrlError::Forge(
            UrlText::new(text),
            format!("https://{}", cloud.forge_api()),
        ))
    }

    /// The public cloud URL.
    pub fn default_cloud() -> Self {
        Self::parse(DEFAULT_BASE_URL).expect("the default URL is valid")
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// `host[:port]` exactly as written: the netrc machine name and the key's identity.
    pub fn netloc(&self) -> &str {
        &self.url[self.netloc.0..self.netloc.1]
    }

    pub fn host(&self) -> &str {
        &self.url[self.host.0..self.host.1]
    }

    /// The public cloud, by either of its names.
    pub fn is_default(&self) -> bool {
        self.identity() == Self::default_cloud().identity()
    }

    /// The W&B cloud this URL names, by either name: `https`, the API host or the Forge
    /// API host, the default port, no user, no path.
    fn cloud(&self) -> Option<&'static Cloud> {
        let scheme_end = self.url.find("://")?;
        if !self.url[..scheme_end].eq_ignore_ascii_case("https") || self.netloc.0 != self.host.0 {
            return None;
        }
        if !matches!(&self.url[self.host.1..], "" | ":443") {
            return None;
        }
        let host = canonical_host(self.host());
        CLOUDS
            .iter()
            .find(|c| host == c.api || host == c.forge_api())
    }

    /// A cloud given by its Forge name (`https://api.forge.coreweave.com`).
    pub fn is_forge_name(&self) -> bool {
        self.cloud()
            .is_some_and(|cloud| canonical_host(self.host()) == cloud.forge_api())
    }

    /// The account keys for this server are filed under in the keychain: the URL's
    /// [`identity`](Self::identity), which for a cloud named by its Forge host is its
    /// API URL (`https://api.wandb.ai`).
    pub fn account(&self) -> String {
        match &self.profile {
            // `#` never occurs in an identity: the profile cannot be mistaken for a URL.
            Some(profile) => format!("{}#{profile}", self.identity()),
            None => self.identity(),
        }
    }

    /// This server with one of its profiles chosen (`None` or `default`: the unnamed
    /// key). Names are 1-64 letters, digits, `_`, `-` and `.`.
    pub fn with_profile(mut self, profile: Option<&str>) -> Result<Self, UrlError> {
        self.profile = match profile {
            None | Some("default") => None,
            Some(name) if valid_profile(name) => Some(name.to_owned()),
            Some(name) => return Err(UrlError::Profile(UrlText::new(name))),
        };
        self.entity = None;
        Ok(self)
    }

    /// With no profile chosen, asks the machine that holds the keys for the profile of
    /// `entity` ([`Self::entity_hint`]); ignored once a profile is chosen.
    pub fn with_entity_hint(mut self, entity: &str) -> Self {
        if self.profile.is_none() && valid_profile(entity) {
            self.entity = Some(entity.to_owned());
        }
        self
    }

    /// The entity a request with no profile asks for ([`Self::with_entity_hint`]).
    pub fn entity_hint(&self) -> Option<&str> {
        self.entity.as_deref()
    }

    /// The URL as a request to the daemon carries it: as written, `#PROFILE` when a
    /// profile is chosen, else `#@ENTITY` with an entity hint (protocol 4;
    /// [`Self::from_account`] reads both back).
    pub fn wire(&self) -> String {
        match (&self.profile, &self.entity) {
            (Some(profile), _) => format!("{}#{profile}", self.url),
            (None, Some(entity)) => format!("{}#@{entity}", self.url),
            (None, None) => self.url.clone(),
        }
    }

    /// The chosen profile (`None`: the server's unnamed key, profile `default`).
    pub fn profile(&self) -> Option<&str> {
        self.profile.as_deref()
    }

    /// A store account ([`Self::account`]) back as a URL with its profile.
    pub fn from_account(account: &str) -> Result<Self, UrlError> {
        match account.rsplit_once('#') {
            Some((url, profile)) if valid_profile(profile) => {
                Self::parse(url)?.with_profile(Some(profile))
            }
            Some((url, hint)) => match hint.strip_prefix('@') {
                Some(entity) if valid_profile(entity) => {
                    Ok(Self::parse(url)?.with_entity_hint(entity))
                }
                _ => Self::parse(account),
            },
            None => Self::parse(account),
        }
    }

    /// The netrc machines that hold this server's key, in the order they are read: the
    /// netloc as written (the SDK's own lookup), then, for a cloud, its other names.
    pub fn netrc_names(&self) -> Vec<String> {
        let mut names = vec![self.netloc().to_owned()];
        if let Some(cloud) = self.cloud() {
            for name in [cloud.api.to_owned(), cloud.forge_api()] {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// The netrc machine a key for this server is written under: the netloc as written,
    /// but for a cloud its API host, which every SDK reads (0.31 falls back to it from
    /// the Forge name; older ones know no other).
    pub fn netrc_machine(&self) -> &str {
        match self.cloud() {
            Some(cloud) => cloud.api,
            None => self.netloc(),
        }
    }

    /// The URL as it is compared: scheme and host name in canonical form (see
    /// [`canonical_host`]), the scheme's default port dropped, the rest as written.
    /// Two URLs with one identity name one server; a cloud's is its API URL whichever
    /// name it was given by.
    pub fn identity(&self) -> String {
        if let Some(cloud) = self.cloud() {
            return format!("https://{}", cloud.api);
        }
        let scheme_end = self.url.find("://").expect("parsed URLs have a scheme");
        let scheme = self.url[..scheme_end].to_ascii_lowercase();
        let userinfo = &self.url[self.netloc.0..self.host.0];
        let after_host = &self.url[self.host.1..];
        let (port, rest) = match after_host.strip_prefix(':') {
            Some(p) => {
                let end = p.find(['/', '?', '#']).unwrap_or(p.len());
                (&p[..end], &p[end..])
            }
            None => ("", after_host),
        };
        let default_port = matches!((scheme.as_str(), port), ("https", "443") | ("http", "80"));
        let port = if port.is_empty() || default_port {
            String::new()
        } else {
            format!(":{port}")
        };
        format!(
            "{scheme}://{userinfo}{}{port}{rest}",
            canonical_host(self.host())
        )
    }

    /// The web UI's URL, where keys are created (SDK `util.api_to_app_url`; but the
    /// cloud named `api.wandb.ai` keeps `https://wandb.ai`, as the login docs say).
    pub fn app_url(&self) -> String {
        if let Some(cloud) = self.cloud().filter(|_| self.is_forge_name()) {
            return format!("https://{}/wandb", cloud.forge);
        }
        let url = &self.url;
        if let Some(i) = url.find("://api.wandb.")
            && !url[i..].starts_with("://api.wandb.test")
        {
            return url.replacen("://api.", "://", 1);
        }
        if url.contains("://api.") {
            return url.replacen("://api.", "://app.", 1);
        }
        url.clone()
    }
}

impl PartialEq for BaseUrl {
    fn eq(&self, other: &Self) -> bool {
        self.identity() == other.identity() && self.profile == other.profile
    }
}

impl Eq for BaseUrl {}

impl std::hash::Hash for BaseUrl {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
        self.profile.hash(state);
    }
}

/// A profile name: 1-64 letters, digits, `_`, `-` and `.` (no `#`, no spaces).
pub fn valid_profile(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Splits `host:port` (or `[v6]:port`); the port part is `None` when there is no colon.
fn split_port(hostport: &str) -> (&str, Option<&str>) {
    if hostport.starts_with('[') {
        return match hostport.find(']') {
            Some(end) => {
                let (host, rest) = hostport.split_at(end + 1);
                (host, rest.strip_prefix(':'))
            }
            None => ("", None),
        };
    }
    match hostport.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (hostport, None),
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BaseUrl({:?})", self.url)
    }
}

#[cfg(test)]
#[path = "base_url_tests.rs"]
mod tests;
