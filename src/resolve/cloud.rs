//! The W&B clouds and their two names (the W&B API host and the CoreWeave Forge host
//! in front of it), and the form in which host names are compared.

/// The public cloud, and the default when nothing else names a server.
pub const DEFAULT_BASE_URL: &str = "https://api.wandb.ai";

/// A W&B cloud and its two names: its W&B API host and the CoreWeave Forge host in
/// front of it (SDK 0.31 `urls.FORGE_HOSTS`). The API is served at the root of
/// `api` and of `api.<forge>`, and proxied at `https://<forge>/api/wandb`.
pub(crate) struct Cloud {
    pub(crate) api: &'static str,
    pub(crate) forge: &'static str,
}

impl Cloud {
    pub(crate) fn forge_api(&self) -> String {
        format!("api.{}", self.forge)
    }
}

/// The public cloud first, then CoreWeave's QA deployment.
pub(crate) const CLOUDS: &[Cloud] = &[
    Cloud {
        api: "api.wandb.ai",
        forge: "forge.coreweave.com",
    },
    Cloud {
        api: "api.qa.wandb.ai",
        forge: "qa.forge.coreweave.com",
    },
];

/// Where a Forge host proxies the W&B API (SDK `urls.FORGE_API_PATH`).
pub(crate) const FORGE_API_PATH: &str = "/api/wandb";

/// A host name as it is compared: ASCII lower case, one trailing dot dropped (DNS
/// treats `API.wandb.ai.` and `api.wandb.ai` as one host).
pub fn canonical_host(host: &str) -> String {
    let host = host.strip_suffix('.').unwrap_or(host);
    host.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use crate::resolve::base_url::{BaseUrl, UrlError};

    #[test]
    fn the_cloud_is_one_account_under_both_names() {
        let cloud = BaseUrl::default_cloud();
        for same in [
            "https://api.forge.coreweave.com",
            "https://API.Forge.CoreWeave.com./",
            "https://api.forge.coreweave.com:443",
            "https://forge.coreweave.com/api/wandb",
            "https://forge.coreweave.com/api/wandb/",
            "HTTPS://Forge.CoreWeave.com/api/wandb",
        ] {
            let url = BaseUrl::parse(same).unwrap();
            assert_eq!(url, cloud, "{same}");
            assert!(url.is_default(), "{same}");
            assert_eq!(url.account(), "https://api.wandb.ai", "{same}");
            assert_eq!(url.netrc_machine(), "api.wandb.ai", "{same}");
        }
        // The SDK's normalisation of the Forge proxy URL.
        let proxy = BaseUrl::parse("https://forge.coreweave.com/api/wandb").unwrap();
        assert_eq!(proxy.as_str(), "https://api.forge.coreweave.com");
        // The name as written is read first (as the SDK does), then the other.
        assert_eq!(
            proxy.netrc_names(),
            ["api.forge.coreweave.com", "api.wandb.ai"]
        );
        assert_eq!(
            cloud.netrc_names(),
            ["api.wandb.ai", "api.forge.coreweave.com"]
        );
        let qa = BaseUrl::parse("https://qa.forge.coreweave.com/api/wandb").unwrap();
        assert_eq!(qa.account(), "https://api.qa.wandb.ai");
        assert_eq!(qa, BaseUrl::parse("https://api.qa.wandb.ai").unwrap());
        assert_ne!(qa, cloud);
        assert_eq!(
            qa.netrc_names(),
            ["api.qa.forge.coreweave.com", "api.qa.wandb.ai"]
        );
        // Not the cloud: another port, a path, a user, plain http, any other host.
        for other in [
            "https://api.forge.coreweave.com:8443",
            "https://api.forge.coreweave.com/sub",
            "https://me@api.wandb.ai",
            "https://api.example.com",
        ] {
            let url = BaseUrl::parse(other).unwrap();
            assert_ne!(url, cloud, "{other}");
            assert_eq!(url.netrc_names(), [url.netloc()], "{other}");
            assert_eq!(url.netrc_machine(), url.netloc(), "{other}");
        }
    }

    #[test]
    fn a_forge_host_is_a_server_only_at_its_api_proxy() {
        for bad in [
            "https://forge.coreweave.com",
            "https://forge.coreweave.com/wandb",
            "https://forge.coreweave.com:8443/api/wandb",
            "https://forge.coreweave.com/api/wandb?x=1",
            "http://forge.coreweave.com/api/wandb",
        ] {
            let err = BaseUrl::parse(bad).unwrap_err();
            assert!(matches!(err, UrlError::Forge(..)), "{bad}: {err:?}");
            assert!(
                err.to_string()
                    .contains("use https://api.forge.coreweave.com"),
                "{err}"
            );
        }
        let err = BaseUrl::parse("https://qa.forge.coreweave.com").unwrap_err();
        assert!(
            err.to_string()
                .contains("https://api.qa.forge.coreweave.com"),
            "{err}"
        );
        let err = BaseUrl::parse("http://api.forge.coreweave.com").unwrap_err();
        assert_eq!(
            err.to_string(),
            "http is not secure, please use https://api.forge.coreweave.com"
        );
        let app = BaseUrl::parse("https://api.forge.coreweave.com")
            .unwrap()
            .app_url();
        assert_eq!(app, "https://forge.coreweave.com/wandb");
    }
}
