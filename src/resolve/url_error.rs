//! Why a server URL (or a profile name) was refused, with the refused text quoted, or
//! left out when it looks like an API key pasted in the wrong place.

use std::fmt;

use zeroize::Zeroizing;

use super::cloud::DEFAULT_BASE_URL;

/// The longest server URL taken (a W&B server's address is far shorter): what a
/// request may make the daemon parse, log or remember is bounded.
pub const MAX_URL_LEN: usize = 2048;

/// Why a URL was refused. Each message names the URL and the rule, except that text
/// which passes the API key rules (a key pasted as `--host`) is named by the rule only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("invalid URL {0}: it must start with http:// or https://")]
    Scheme(UrlText),
    #[error("invalid URL {0}: it has no host name")]
    NoHost(UrlText),
    #[error("invalid URL {0}: the port must be a number from 1 to 65535")]
    Port(UrlText),
    #[error("invalid URL {0}: it contains spaces or control characters")]
    Characters(UrlText),
    #[error("invalid URL {0}: it is longer than {MAX_URL_LEN} bytes")]
    TooLong(UrlText),
    #[error("{0} is not a valid server address, did you mean {DEFAULT_BASE_URL}?")]
    NotApiHost(UrlText),
    #[error("http is not secure, please use {1}")]
    Insecure(UrlText, String),
    #[error("invalid Forge server address {0}; use {1}")]
    Forge(UrlText, String),
    #[error("invalid profile name {0}: use 1-64 letters, digits, `_`, `-` and `.`")]
    Profile(UrlText),
}

/// The text of a refused URL, for messages: quoted, or, when it looks like an API key,
/// not shown at all (so a key pasted in the wrong place reaches no terminal or CI log).
#[derive(Clone, PartialEq, Eq)]
pub struct UrlText(Zeroizing<String>);

impl UrlText {
    pub(super) fn new(text: &str) -> Self {
        Self(Zeroizing::new(text.to_owned()))
    }
}

impl fmt::Display for UrlText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::key::quoted_unless_key(&self.0))
    }
}

impl fmt::Debug for UrlText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
