//! What a given version of the W&B SDK does by itself, for `doctor`: its default
//! server (0.31: the cloud's Forge name), its netrc lookup (0.31 falls back from a
//! Forge name to the W&B API host), its order of sources, and the key rule it applies
//! (up to 0.22.2: exactly 40 characters, so `wandb_v1_` keys are refused).

use super::base_url::BaseUrl;
use crate::config::netrc::{Entry, Netrc};

/// An SDK version, `major.minor.patch` (anything after the numbers is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SdkVersion(u32, u32, u32);

impl SdkVersion {
    /// The current release, which the compatibility contract describes.
    pub const CURRENT: Self = Self(0, 31, 0);

    /// The first SDK the Python hook supports: it has `wandb.sdk.lib.wbauth.wbnetrc`,
    /// the per-server key reader the hook wraps.
    pub const OLDEST_HOOKED: Self = Self(0, 24, 1);

    /// Whether wandb-cred's Python hook can give this SDK per-server keys.
    pub fn takes_the_hook(self) -> bool {
        self >= Self::OLDEST_HOOKED
    }

    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('.').map(|part| {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().ok()
        });
        let major = parts.next()??;
        let minor = parts.next().flatten().unwrap_or(0);
        let patch = parts.next().flatten().unwrap_or(0);
        Some(Self(major, minor, patch))
    }

    /// From 0.31 the default server is `https://api.forge.coreweave.com`.
    fn knows_forge(self) -> bool {
        self >= Self(0, 31, 0)
    }

    /// The server the SDK uses when nothing names one.
    pub fn default_url(self) -> BaseUrl {
        let text = if self.knows_forge() {
            "https://api.forge.coreweave.com"
        } else {
            super::base_url::DEFAULT_BASE_URL
        };
        BaseUrl::parse(text).expect("a valid URL")
    }

    /// Up to 0.22.2 a key must be exactly 40 characters (after any `name-` prefix).
    pub fn refuses(self, key: &str) -> Option<String> {
        if self >= Self(0, 22, 3) || looks_like_jwt(key) {
            return None;
        }
        let secret = key.split_once('-').map_or(key, |(_, rest)| rest);
        let len = secret.chars().count();
        (len != 40).then(|| format!("API key must be 40 characters long, yours was {len}"))
    }

    /// From 0.31 netrc is read after the environment and before the settings files'
    /// `api_key`; before, after both.
    pub fn reads_netrc_before_settings(self) -> bool {
        self.knows_forge()
    }

    /// The netrc entry this SDK uses for `url`: `authenticators(netloc)` (its machine,
    /// else `default`), then, from 0.31, for a Forge name the W&B API host's.
    pub fn netrc_entry<'n>(self, netrc: &'n Netrc, url: &BaseUrl) -> Option<&'n Entry> {
        netrc.authenticators(url.netloc()).or_else(|| {
            let api = url.netrc_machine();
            (self.knows_forge() && url.is_forge_name()).then(|| netrc.authenticators(api))?
        })
    }
}

impl std::fmt::Display for SdkVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

fn looks_like_jwt(key: &str) -> bool {
    let parts: Vec<&str> = key.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_number() {
        let v = |t| SdkVersion::parse(t).unwrap();
        assert!(v("0.31.0") > v("0.22.3"));
        assert!(v("0.22.10") > v("0.22.3"));
        assert_eq!(v("0.31.0rc1"), v("0.31.0"));
        assert_eq!(v("1"), v("1.0.0"));
        assert!(SdkVersion::parse("x").is_none());
    }

    #[test]
    fn the_default_server_moved_in_0_31() {
        let v = |t| SdkVersion::parse(t).unwrap();
        assert_eq!(
            v("0.31.0").default_url().as_str(),
            "https://api.forge.coreweave.com"
        );
        assert_eq!(v("0.30.9").default_url().as_str(), "https://api.wandb.ai");
    }

    #[test]
    fn old_sdks_refuse_keys_that_are_not_40_characters() {
        let v1 = format!("wandb_v1_{}", "a".repeat(77));
        let old = SdkVersion::parse("0.22.2").unwrap();
        let why = old.refuses(&v1).unwrap();
        assert_eq!(why, "API key must be 40 characters long, yours was 86");
        assert_eq!(old.refuses(&"a".repeat(40)), None);
        assert_eq!(old.refuses(&format!("local-{}", "a".repeat(40))), None);
        assert_eq!(SdkVersion::parse("0.22.3").unwrap().refuses(&v1), None);
    }

    #[test]
    fn only_0_31_falls_back_from_the_forge_name() {
        let netrc = Netrc::parse("machine api.wandb.ai login user password k\n").unwrap();
        let forge = BaseUrl::parse("https://api.forge.coreweave.com").unwrap();
        let new = SdkVersion::parse("0.31.0").unwrap();
        let old = SdkVersion::parse("0.30.0").unwrap();
        assert!(new.netrc_entry(&netrc, &forge).is_some());
        assert!(old.netrc_entry(&netrc, &forge).is_none());
        // And never the reverse: the SDK reads api.wandb.ai under that name only.
        let netrc =
            Netrc::parse("machine api.forge.coreweave.com login user password k\n").unwrap();
        assert!(new.netrc_entry(&netrc, &BaseUrl::default_cloud()).is_none());
    }
}
