//! W&B API keys: the SDK's format rules (compat.md §4), a zeroizing holder, masking.
//!
//! An [`ApiKey`] can only be built through [`ApiKey::parse`], so every key the program
//! handles has passed the rules. It never prints itself: `Debug` and [`ApiKey::masked`]
//! show the public prefix only.

use std::fmt;

use zeroize::Zeroizing;

/// Why a string is not an acceptable API key. The messages are the SDK's, except where
/// the SDK's would be untrue: `-` is allowed, and a `name-` prefix does not count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("API key is empty.")]
    Empty,
    #[error("API key cannot start or end with whitespace")]
    Whitespace,
    #[error("API key may only contain letters, digits, underscores and hyphens.")]
    Characters,
    #[error("API key must have 40+ characters{}, has {len}.", after_prefix(prefix))]
    TooShort {
        len: usize,
        /// The `name-` before the counted part, when there is one (shown only when short,
        /// so that no key pasted before a `-` is ever printed).
        prefix: Option<String>,
    },
}

/// The shape of a valid key, for messages and compatibility warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `wandb_v1_` + 77 characters (86 in all).
    V1,
    /// 40 lowercase hex characters.
    Legacy,
    /// A prefix, a `-`, and a secret of 40+ characters (`local-...`).
    OnPrem,
    /// Three dot-separated base64url segments.
    Jwt,
    /// Anything else the rules accept.
    Other,
}

const V1_PREFIX: &str = "wandb_v1_";
const MASK: &str = "****";

/// A validated API key. The text is wiped from memory when the value is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Zeroizing<String>);

impl ApiKey {
    /// Checks `text` against the SDK's rules and takes ownership of it.
    pub fn parse(text: Zeroizing<String>) -> Result<Self, KeyError> {
        check(&text)?;
        Ok(Self(text))
    }

    /// Like [`ApiKey::parse`] for text typed at a prompt: surrounding whitespace,
    /// which a paste often carries, is removed first.
    pub fn parse_typed(text: &str) -> Result<Self, KeyError> {
        Self::parse(Zeroizing::new(text.trim().to_owned()))
    }

    /// The key itself. Only `get`, `exec`, git-credential output and the store may use it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> KeyKind {
        kind_of(&self.0)
    }

    /// The key hidden but for its public prefix and its last four characters, the
    /// fingerprint W&B's own UI shows, so that two keys can be told apart:
    /// `wandb_v1_****k3Qz`, `local-****9f0e`, `****1a2b`. The length is not revealed.
    pub fn masked(&self) -> String {
        let prefix = match self.kind() {
            KeyKind::V1 => V1_PREFIX,
            KeyKind::OnPrem => self.0.split_once('-').map_or("", |(p, _)| p),
            _ => "",
        };
        let chars: Vec<char> = self.0.chars().collect();
        let last: String = chars[chars.len().saturating_sub(4)..].iter().collect();
        if prefix.is_empty() {
            format!("{MASK}{last}")
        } else if prefix == V1_PREFIX {
            format!("{V1_PREFIX}{MASK}{last}")
        } else {
            format!("{prefix}-{MASK}{last}")
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({})", self.masked())
    }
}

fn is_word_char(c: char) -> bool {
    // Python's `\w` on str patterns: Unicode letters, digits and the underscore.
    c == '_' || c.is_alphanumeric()
}

fn is_word_or_dash(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| is_word_char(c) || c == '-')
}

/// `[\w-]+\.[\w-]+\.[\w-]+`, matched against the whole key.
fn is_jwt_shaped(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| is_word_or_dash(p))
}

/// Whether `text` passes the key rules and is as long as a key (JWT-shaped text such as
/// `api.example.com` passes the rules): text to be kept out of messages (a key pasted
/// where a URL or a name was expected).
pub fn looks_like_key(text: &str) -> bool {
    text.chars().count() >= 40 && check(text).is_ok()
}

/// `text` quoted for a message, or, when it [looks like a key](looks_like_key), a note
/// saying it is not shown: for any value a user may have pasted a key into by mistake.
pub fn quoted_unless_key(text: &str) -> String {
    if looks_like_key(text) {
        "(not shown: it looks like an API key)".to_owned()
    } else {
        format!("{text:?}")
    }
}

/// `text` with every word that [looks like a key](looks_like_key) replaced by a note:
/// for messages that quote what the user typed (a key given as a command, an option's
/// value), which may be shown on a terminal or in a CI log.
pub fn redact_keys(text: &str) -> String {
    let is_word = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(is_word) {
        out.push_str(&rest[..start]);
        let word_len = rest[start..]
            .find(|c| !is_word(c))
            .unwrap_or(rest.len() - start);
        let word = &rest[start..start + word_len];
        if looks_like_key(word) {
            out.push_str("(not shown: it looks like an API key)");
        } else {
            out.push_str(word);
        }
        rest = &rest[start + word_len..];
    }
    out.push_str(rest);
    out
}

fn check(key: &str) -> Result<(), KeyError> {
    if key.is_empty() {
        return Err(KeyError::Empty);
    }
    if key.trim() != key {
        return Err(KeyError::Whitespace);
    }
    if is_jwt_shaped(key) {
        return Ok(());
    }
    let (prefix, secret) = match key.split_once('-') {
        Some((prefix, secret)) => (Some(prefix), secret),
        None => (None, key),
    };
    if !is_word_or_dash(secret) {
        return Err(KeyError::Characters);
    }
    let len = secret.chars().count();
    if len < 40 {
        return Err(KeyError::TooShort {
            len,
            prefix: prefix.map(|p| format!("{p}-")),
        });
    }
    Ok(())
}

/// ` after its `local-` prefix` (or ` after its prefix` for a long one).
fn after_prefix(prefix: &Option<String>) -> String {
    match prefix {
        Some(p) if p.chars().count() <= 16 && !p.trim_end_matches('-').is_empty() => {
            format!(" after its `{p}` prefix")
        }
        Some(_) => " after its prefix (up to the first `-`)".to_owned(),
        None => String::new(),
    }
}

fn kind_of(key: &str) -> KeyKind {
    if is_jwt_shaped(key) {
        KeyKind::Jwt
    } else if key.starts_with(V1_PREFIX) {
        KeyKind::V1
    } else if key.len() == 40 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
        KeyKind::Legacy
    } else if key.contains('-') {
        KeyKind::OnPrem
    } else {
        KeyKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_key_shaped_words_only() {
        let key = format!("wandb_v1_{}", "Ab3".repeat(26)[..77].to_owned());
        let text = format!("error: unrecognized subcommand '{key}'\n  tip: see 'api.example.com'");
        let shown = redact_keys(&text);
        assert!(!shown.contains(&key), "{shown}");
        assert_eq!(
            shown,
            "error: unrecognized subcommand '(not shown: it looks like an API key)'\n  tip: see 'api.example.com'"
        );
    }

    fn parse(s: &str) -> Result<ApiKey, KeyError> {
        ApiKey::parse(Zeroizing::new(s.to_owned()))
    }

    fn v1() -> String {
        format!("wandb_v1_{}_{}", "A".repeat(27), "b".repeat(49))
    }

    #[test]
    fn accepts_the_shapes_seen_in_the_wild() {
        assert_eq!(v1().len(), 86);
        assert_eq!(parse(&v1()).unwrap().kind(), KeyKind::V1);
        assert_eq!(
            parse(&"0123456789abcdef".repeat(3)[..40]).unwrap().kind(),
            KeyKind::Legacy
        );
        assert_eq!(
            parse(&format!("local-{}", "f".repeat(40))).unwrap().kind(),
            KeyKind::OnPrem
        );
        assert_eq!(parse("aa.bb.c-c").unwrap().kind(), KeyKind::Jwt);
    }

    #[test]
    fn rejects_with_the_sdk_messages_made_true() {
        assert_eq!(parse("").unwrap_err().to_string(), "API key is empty.");
        assert_eq!(
            parse("abc").unwrap_err().to_string(),
            "API key must have 40+ characters, has 3."
        );
        assert_eq!(
            parse(&format!("{}!", "a".repeat(40)))
                .unwrap_err()
                .to_string(),
            "API key may only contain letters, digits, underscores and hyphens."
        );
        // A long part before the first `-` (a key pasted in front of one) is not shown.
        let long = format!("{}-x", "a".repeat(40));
        let said = parse(&long).unwrap_err().to_string();
        assert_eq!(
            said,
            "API key must have 40+ characters after its prefix (up to the first `-`), has 1."
        );
        assert_eq!(
            parse(&format!(" {}", "a".repeat(40)))
                .unwrap_err()
                .to_string(),
            "API key cannot start or end with whitespace"
        );
        // The length counted is the part after the first dash, in code points.
        assert_eq!(
            parse(&format!("local-{}", "é".repeat(39))).unwrap_err(),
            KeyError::TooShort {
                len: 39,
                prefix: Some("local-".to_owned())
            }
        );
        assert!(parse(&format!("local-{}", "é".repeat(40))).is_ok());
    }

    #[test]
    fn masks_show_the_prefix_and_a_four_character_fingerprint_only() {
        assert_eq!(parse(&v1()).unwrap().masked(), "wandb_v1_****bbbb");
        let legacy = format!("{}1a2b", "a".repeat(36));
        assert_eq!(parse(&legacy).unwrap().masked(), "****1a2b");
        assert_eq!(
            parse(&format!("local-{}9f0e", "f".repeat(40)))
                .unwrap()
                .masked(),
            "local-****9f0e"
        );
        // Two keys that differ are told apart by their fingerprints.
        let other = format!("{}3c4d", "a".repeat(36));
        assert_ne!(
            parse(&legacy).unwrap().masked(),
            parse(&other).unwrap().masked()
        );
        let dbg = format!("{:?}", parse(&v1()).unwrap());
        assert!(!dbg.contains(&"b".repeat(5)), "{dbg}");
    }

    #[test]
    fn typed_keys_lose_surrounding_whitespace() {
        let key = ApiKey::parse_typed(&format!("  {}\n", v1())).unwrap();
        assert_eq!(key.expose(), v1());
    }
}
