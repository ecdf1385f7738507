//! The KV path of a server's key in Vault: `{prefix}/{host[:port]}/{profile}`, built
//! from the parsed host, port and profile only, each a single encoded path segment. A
//! server URL with a user part, a path, a query or a fragment, or a segment `.` or `..`,
//! names no key: a request from `wandb-cred ssh`'s remote cannot reach another path of
//! the team's Vault (another version, or outside the prefix behind a proxy that
//! normalises paths).

use crate::resolve::base_url::BaseUrl;

/// The path under the mount, or why this URL cannot name a key in Vault.
pub fn relative(prefix: &str, url: &BaseUrl) -> Result<String, String> {
    let identity = url.identity();
    let rest = identity
        .split_once("://")
        .map_or(identity.as_str(), |(_, rest)| rest);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (netloc, after) = rest.split_at(end);
    if !after.is_empty() && after != "/" {
        return Err(format!(
            "{url} has a path, query or fragment: a key in Vault is named by a server's host and port only"
        ));
    }
    if netloc.contains('@') {
        return Err(format!(
            "{url} has a user part: a key in Vault is named by a server's host and port only"
        ));
    }
    join(prefix, netloc, url.profile().unwrap_or("default"))
}

/// `{prefix}/{netloc}`, the folder of one server's keys, its name one encoded segment
/// (for a folder `LIST` named).
pub fn folder(prefix: &str, netloc: &str) -> Result<String, String> {
    Ok(format!("{prefix}/{}", segment(netloc)?))
}

/// `{prefix}/{netloc}/{profile}`, each of the two an encoded segment.
pub fn join(prefix: &str, netloc: &str, profile: &str) -> Result<String, String> {
    Ok(format!("{}/{}", folder(prefix, netloc)?, segment(profile)?))
}

/// Whether the `server` field of the entry at `relative` names the server whose key
/// belongs there: an entry a teammate wrote with another server in it (GitHub's, say)
/// names nothing, so no command acts on that other server for it.
pub fn belongs_at(prefix: &str, relative: &str, server: &str) -> bool {
    BaseUrl::from_account(server)
        .ok()
        .and_then(|url| self::relative(prefix, &url).ok())
        .is_some_and(|expected| expected == relative)
}

/// One path segment: letters, digits, `.`, `-`, `_` and `:` as they are, anything else
/// percent-encoded; never empty, `.` or `..`.
fn segment(text: &str) -> Result<String, String> {
    if matches!(text, "" | "." | "..") {
        return Err(format!("{text:?} cannot name a key in Vault"));
    }
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b".-_:".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(url: &str, profile: Option<&str>) -> Result<String, String> {
        let url = BaseUrl::parse(url).unwrap().with_profile(profile).unwrap();
        relative("wandb-cred", &url)
    }

    #[test]
    fn a_key_is_named_by_host_port_and_profile() {
        assert_eq!(
            path("https://api.wandb.ai", None).unwrap(),
            "wandb-cred/api.wandb.ai/default"
        );
        assert_eq!(
            path("http://127.0.0.1:8080/", Some("work")).unwrap(),
            "wandb-cred/127.0.0.1:8080/work"
        );
        assert_eq!(
            path("http://[::1]:8080", None).unwrap(),
            "wandb-cred/%5B::1%5D:8080/default"
        );
    }

    /// Failed before the fix: the URL's path and query went into the KV path as written
    /// (`wandb-cred/api.wandb.ai/default?version=1/default` read an old version; `..`
    /// behind a proxy that normalises paths read outside the prefix).
    #[test]
    fn paths_queries_and_dot_segments_name_no_key() {
        for url in [
            "https://api.wandb.ai/default?version=1",
            "https://h.example.com/../../teamb/wandb",
            "https://h.example.com/wandb",
            "https://h.example.com?x",
        ] {
            assert!(path(url, None).is_err(), "{url}");
        }
        assert!(path("https://h.example.com", Some("..")).is_err());
        assert!(path("https://h.example.com", Some(".")).is_err());
    }
}
