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
        Ok(self)
    }

    /// The URL as a request to the daemon carries it: as written, and `#PROFILE` when a
    /// profile is chosen (protocol 4; [`Self::from_account`] reads it back).
    pub fn wire(&self) -> String {
        match &self.profile {
            Some(profile) => format!("{}#{profile}", self.url),
            None => self.url.clone(),
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
            _ => Self::parse(account),
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
mod tests {
    #[test]
    fn a_profile_is_its_own_account_and_the_default_is_the_old_one() {
        let cloud = BaseUrl::default_cloud();
        let work = cloud.clone().with_profile(Some("work")).unwrap();
        assert_eq!(work.account(), "https://api.wandb.ai#work");
        assert_ne!(work, cloud);
        assert_eq!(cloud.clone().with_profile(Some("default")).unwrap(), cloud);
        assert_eq!(
            BaseUrl::from_account("https://api.wandb.ai#work").unwrap(),
            work
        );
        assert_eq!(
            BaseUrl::from_account("https://api.wandb.ai").unwrap(),
            cloud
        );
        // The Forge name is the same account, profile and all.
        let forge = BaseUrl::parse("https://api.forge.coreweave.com").unwrap();
        assert_eq!(forge.with_profile(Some("work")).unwrap(), work);
        for bad in ["", "a b", "a#b", "é", &"x".repeat(65)] {
            assert!(cloud.clone().with_profile(Some(bad)).is_err(), "{bad:?}");
        }
    }

    use super::*;

    #[test]
    fn netloc_is_host_and_port_as_written() {
        assert_eq!(
            BaseUrl::parse("http://127.0.0.1:8765/").unwrap().netloc(),
            "127.0.0.1:8765"
        );
        let u = BaseUrl::parse("https://WB.Example.com:8443/sub//").unwrap();
        assert_eq!(u.as_str(), "https://WB.Example.com:8443/sub");
        assert_eq!(u.netloc(), "WB.Example.com:8443");
        assert_eq!(u.host(), "WB.Example.com");
        assert_eq!(
            BaseUrl::parse("http://[::1]:80").unwrap().netloc(),
            "[::1]:80"
        );
    }

    #[test]
    fn refuses_bad_urls_naming_the_rule() {
        for (bad, want) in [
            ("ftp://x.example", "http:// or https://"),
            ("api.example.com", "http:// or https://"),
            ("https://", "no host"),
            ("https://:443", "no host"),
            ("http://h:99999", "port"),
            ("http://h:x", "port"),
            ("http://a b", "spaces"),
        ] {
            let err = BaseUrl::parse(bad).unwrap_err().to_string();
            assert!(
                err.contains(want) && err.contains(bad.trim_end_matches('/')),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn wandb_ai_must_be_the_https_api_host() {
        for bad in ["https://wandb.ai", "https://app.wandb.ai/"] {
            let err = BaseUrl::parse(bad).unwrap_err().to_string();
            assert!(err.contains("did you mean https://api.wandb.ai?"), "{err}");
        }
        assert_eq!(
            BaseUrl::parse("http://api.wandb.ai")
                .unwrap_err()
                .to_string(),
            "http is not secure, please use https://api.wandb.ai"
        );
        assert!(
            BaseUrl::parse("https://api.wandb.ai/")
                .unwrap()
                .is_default()
        );
    }

    #[test]
    fn host_rules_see_through_case_trailing_dots_and_default_ports() {
        for bad in [
            "http://api.wandb.ai.",
            "http://API.WANDB.AI.",
            "HTTP://Api.Wandb.Ai.:80/",
            "http://api.wandb.ai:80",
            "http://api.wandb.ai.:80",
        ] {
            assert!(
                matches!(BaseUrl::parse(bad), Err(UrlError::Insecure(..))),
                "{bad} was not refused as insecure: {:?}",
                BaseUrl::parse(bad)
            );
        }
        for bad in [
            "https://wandb.ai.",
            "https://APP.wandb.ai.",
            "https://Wandb.AI",
        ] {
            assert!(
                matches!(BaseUrl::parse(bad), Err(UrlError::NotApiHost(_))),
                "{bad}"
            );
        }
        let cloud = BaseUrl::default_cloud();
        for same in [
            "https://API.wandb.ai",
            "https://api.wandb.ai.",
            "HTTPS://api.wandb.ai:443/",
        ] {
            let url = BaseUrl::parse(same).unwrap();
            assert_eq!(url, cloud, "{same}");
            assert!(url.is_default(), "{same}");
        }
        assert_ne!(BaseUrl::parse("https://api.wandb.ai:8443").unwrap(), cloud);
        assert_ne!(BaseUrl::parse("https://api.wandb.ai/sub").unwrap(), cloud);
        let forge = BaseUrl::parse("https://API.forge.coreweave.com.").unwrap();
        assert_eq!(forge, cloud);
    }

    #[test]
    fn a_key_given_as_a_url_is_never_shown() {
        let key = format!("local-{}", "a1".repeat(20));
        for text in [key.clone(), format!("wandb_v1_{}", "x".repeat(77))] {
            let err = BaseUrl::parse(&text).unwrap_err().to_string();
            assert!(!err.contains(&text), "{err}");
            assert!(
                err.contains("looks like an API key") && err.contains("http://"),
                "{err}"
            );
            let debug = format!("{:?}", BaseUrl::parse(&text).unwrap_err());
            assert!(!debug.contains(&text), "{debug}");
        }
    }

    #[test]
    fn app_url_follows_the_sdk() {
        let app = |u: &str| BaseUrl::parse(u).unwrap().app_url();
        assert_eq!(app("https://api.wandb.ai"), "https://wandb.ai");
        assert_eq!(app("https://api.acme.example"), "https://app.acme.example");
        assert_eq!(app("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
