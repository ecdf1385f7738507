//! Which server a command uses: the documented precedence of the places that can name
//! one, and where the winner came from.

use std::fmt;

use super::base_url::{BaseUrl, UrlError};

/// Where the base URL in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlSource {
    /// `--host`/`--base-url` or `--cloud` on the command line.
    Flag,
    /// The `WANDB_BASE_URL` environment variable.
    Env,
    /// `base_url` in a settings file (the path).
    Settings(std::path::PathBuf),
    /// Nothing named a server.
    Default,
}

impl fmt::Display for UrlSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag => f.write_str("command line"),
            Self::Env => f.write_str("WANDB_BASE_URL"),
            Self::Settings(path) => write!(f, "{}", path.display()),
            Self::Default => f.write_str("default"),
        }
    }
}

/// Applies the documented precedence: flag > `WANDB_BASE_URL` > workspace settings >
/// system settings > default. Each candidate is `(text, source)`; the first present one
/// wins and must be valid (an invalid winner is an error, never silently skipped).
pub fn choose_base_url<'a>(
    candidates: impl IntoIterator<Item = (Option<&'a str>, UrlSource)>,
) -> Result<(BaseUrl, UrlSource), (UrlError, UrlSource)> {
    for (text, source) in candidates {
        if let Some(text) = text {
            return BaseUrl::parse(text)
                .map(|u| (u, source.clone()))
                .map_err(|e| (e, source));
        }
    }
    Ok((BaseUrl::default_cloud(), UrlSource::Default))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_takes_the_first_present_candidate() {
        let (u, s) = choose_base_url([
            (None, UrlSource::Flag),
            (Some("http://e:1"), UrlSource::Env),
            (Some("http://ignored"), UrlSource::Default),
        ])
        .unwrap();
        assert_eq!((u.as_str(), s), ("http://e:1", UrlSource::Env));
        let (err, s) = choose_base_url([(Some("nope"), UrlSource::Env)]).unwrap_err();
        assert!(matches!(err, UrlError::Scheme(_)) && s == UrlSource::Env);
        assert!(choose_base_url([]).unwrap().0.is_default());
    }
}
