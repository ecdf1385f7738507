//! `login --verify`: the SDK's GraphQL Viewer request, byte for byte (compat.md §6).

use std::time::Duration;

use serde_json::Value;

use crate::printable::escaped;
use zeroize::Zeroizing;

use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;

/// The request body the SDK sends, exactly.
pub const VIEWER_BODY: &str = r#"{"query":"\nquery Viewer {\n\tviewer {\n\t\tid\n\t\tentity\n\t\tusername\n\t\temail\n\t\tflags\n\t\tteams {\n\t\t\tedges {\n\t\t\t\tnode {\n\t\t\t\t\tname\n\t\t\t\t}\n\t\t\t}\n\t\t}\n\t}\n}\n","operationName":"Viewer"}"#;

/// The default bound on the whole request, as in the SDK.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Who the server says the key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub username: Option<String>,
    pub entity: Option<String>,
    pub email: Option<String>,
    pub teams: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("Failed to authenticate with {url}: {message}")]
    Rejected { url: String, message: String },
    #[error("no answer from {url} within {} s (set WANDB_HTTP_TIMEOUT to wait longer)", timeout.as_secs_f64())]
    Timeout { url: String, timeout: Duration },
    #[error("cannot reach {url}: {message}")]
    Network { url: String, message: String },
    #[error(
        "unexpected answer from {url}: {message}; is that a W&B server? (check the URL given by --host, WANDB_BASE_URL or base_url)"
    )]
    Unexpected { url: String, message: String },
}

/// How the request is made: its time bound and which certificate authorities to trust.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub timeout: Duration,
    /// `None`: the public web roots.
    pub roots: Option<ureq::tls::RootCerts>,
}

/// `base64("api:" + key)` for the Basic authorization header.
pub fn basic_credentials(key: &ApiKey) -> Zeroizing<String> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = Zeroizing::new(format!("api:{}", key.expose()).into_bytes());
    let mut out = Zeroizing::new(String::with_capacity(input.len().div_ceil(3) * 4 + 6));
    out.push_str("Basic ");
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Asks the server who owns `key`. Any answer but a viewer is an error.
pub fn viewer(url: &BaseUrl, key: &ApiKey, options: &HttpOptions) -> Result<Viewer, VerifyError> {
    let endpoint = format!("{url}/graphql");
    let timeout = options.timeout;
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(roots) = &options.roots {
        tls = tls.root_certs(roots.clone());
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls.build())
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .user_agent(concat!("wandb-cred/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let authorization = basic_credentials(key);
    let sent = agent
        .post(&endpoint)
        .header("Content-Type", "application/json")
        .header("Authorization", authorization.as_str())
        .send(VIEWER_BODY);
    let transport = |e: ureq::Error| match e {
        ureq::Error::Timeout(_) => VerifyError::Timeout {
            url: endpoint.clone(),
            timeout,
        },
        e => VerifyError::Network {
            url: endpoint.clone(),
            message: e.to_string(),
        },
    };
    let mut response = sent.map_err(transport)?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().map_err(transport)?;
    interpret(url.as_str(), &endpoint, status, &body)
}

/// Turns the server's answer into a viewer or the error to show.
fn interpret(base: &str, endpoint: &str, status: u16, body: &str) -> Result<Viewer, VerifyError> {
    let json: Option<Value> = serde_json::from_str(body).ok();
    let first_error = json
        .as_ref()
        .and_then(|j| j.pointer("/errors/0/message"))
        .and_then(Value::as_str)
        .map(escaped);
    let rejected = |message: String| VerifyError::Rejected {
        url: base.to_owned(),
        message,
    };
    if status == 401 || status == 403 {
        return Err(rejected(
            first_error.unwrap_or_else(|| format!("HTTP {status}")),
        ));
    }
    if status != 200 {
        return Err(VerifyError::Unexpected {
            url: endpoint.to_owned(),
            message: format!("HTTP {status}"),
        });
    }
    let Some(json) = json else {
        return Err(VerifyError::Unexpected {
            url: endpoint.to_owned(),
            message: "the body is not JSON".to_owned(),
        });
    };
    let viewer = json.pointer("/data/viewer").filter(|v| !v.is_null());
    let Some(viewer) = viewer else {
        return Err(rejected(first_error.unwrap_or_else(|| {
            "the server did not recognise the key".to_owned()
        })));
    };
    // The server's words reach terminals (login --verify, whoami, list): escaped here.
    let text = |field: &str| viewer.get(field).and_then(Value::as_str).map(escaped);
    let teams = viewer
        .pointer("/teams/edges")
        .and_then(Value::as_array)
        .map(|edges| {
            edges
                .iter()
                .filter_map(|e| e.pointer("/node/name").and_then(Value::as_str).map(escaped))
                .collect()
        })
        .unwrap_or_default();
    Ok(Viewer {
        username: text("username"),
        entity: text("entity"),
        email: text("email"),
        teams,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_is_standard_base64() {
        let key = ApiKey::parse(Zeroizing::new("a".repeat(40))).unwrap();
        assert_eq!(
            basic_credentials(&key).as_str(),
            "Basic YXBpOmFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE="
        );
        for (n, tail) in [(41, "JiYmJi"), (42, "JiYg=="), (43, "JiYmI=")] {
            let key = ApiKey::parse(Zeroizing::new("b".repeat(n))).unwrap();
            assert!(basic_credentials(&key).ends_with(tail), "{n}");
        }
    }

    #[test]
    fn interprets_the_servers_answers() {
        let ok = r#"{"data":{"viewer":{"username":"ann","entity":"ann-co","teams":{"edges":[{"node":{"name":"t1"}}]}}}}"#;
        let v = interpret("http://h", "http://h/graphql", 200, ok).unwrap();
        assert_eq!(
            (v.username.as_deref(), v.entity.as_deref(), v.teams),
            (Some("ann"), Some("ann-co"), vec!["t1".to_owned()])
        );
        let e = interpret(
            "http://h",
            "x",
            401,
            r#"{"errors":[{"message":"user is not logged in"}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Failed to authenticate with http://h: user is not logged in"
        );
        let e = interpret("http://h", "x", 200, r#"{"data":{"viewer":null}}"#).unwrap_err();
        assert!(matches!(e, VerifyError::Rejected { .. }), "{e}");
        assert!(matches!(
            interpret("http://h", "x", 500, "").unwrap_err(),
            VerifyError::Unexpected { .. }
        ));
    }
}
