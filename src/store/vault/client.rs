//! Talking to a Vault or OpenBao server: one bounded HTTP request at a time, TLS
//! verified (plain http only to a loopback address), with a token got the way clusters
//! do (`VAULT_TOKEN`/`BAO_TOKEN`, `~/.vault-token`, AppRole, JWT/Kubernetes) and renewed
//! while it is used. The token lives in this process only; wandb-cred writes it nowhere.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::answer::Answer;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::settings::{Auth, Settings};

/// Why a request failed, for the store's error (which adds the address and path).
#[derive(Debug)]
pub enum Failure {
    /// The token may not do this, or is no longer valid.
    Denied(String),
    Sealed,
    Unreachable(String),
    Timeout(Duration),
    /// Anything else the server said.
    Server(u16, String),
    /// A token could not be had.
    Auth(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Denied(m) if m == "permission denied" || m == "no message" => f.write_str(
                "permission denied: the token's policies do not allow it, or the token expired or was revoked",
            ),
            Self::Denied(m) => write!(
                f,
                "permission denied ({m}): the token's policies do not allow it, or the token expired or was revoked"
            ),
            Self::Sealed => f.write_str("the server is sealed: an operator must unseal it"),
            Self::Unreachable(m) => write!(f, "cannot reach the server ({m})"),
            Self::Timeout(t) => write!(f, "the server did not answer within {} s", t.as_secs_f64()),
            Self::Server(status, m) => write!(f, "HTTP {status}: {m}"),
            Self::Auth(m) => write!(f, "no token: {m}"),
        }
    }
}

struct Token {
    value: Zeroizing<String>,
    /// Got by logging in (AppRole, JWT): may be got again when it stops working.
    from_login: bool,
    renew_at: Option<Instant>,
}

pub struct Client {
    settings: Settings,
    agent: ureq::Agent,
    token: Mutex<Option<Token>>,
}

impl Client {
    pub fn new(settings: Settings) -> Result<Self, String> {
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(path) = &settings.ca_cert {
            let roots = crate::trust::bundle_roots(settings.ca_cert_var, path)
                .map_err(|e| e.to_string())?;
            tls = tls.root_certs(roots);
        }
        let agent = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .timeout_global(Some(settings.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("wandb-cred/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Self {
            settings,
            agent,
            token: Mutex::new(None),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// `GET`, `POST` or `DELETE` of `/v1/{path}` with the token: the status and
    /// the body as JSON (`Null` when there is none). A token got by logging in that is
    /// refused is got again, once.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Answer), Failure> {
        let token = self.token()?;
        let answer = self.send(method, path, body, Some(&token.0))?;
        if answer.0 == 403 && token.1 {
            *self.lock() = None;
            let token = self.token()?;
            return self.send(method, path, body, Some(&token.0));
        }
        Ok(answer)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Token>> {
        self.token.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The token to use, logged in or renewed first when it is time.
    fn token(&self) -> Result<(Zeroizing<String>, bool), Failure> {
        let mut slot = self.lock();
        if slot.is_none() {
            let (value, from_login) = self.get_token()?;
            let renew_at = self.renewal_time(&value);
            *slot = Some(Token {
                value,
                from_login,
                renew_at,
            });
        } else if let Some(token) = slot.as_mut()
            && token.renew_at.is_some_and(|at| Instant::now() >= at)
        {
            // Renewing is best effort: a token that cannot be renewed still works
            // until it expires, and one got by logging in is got again then.
            let renewed = self.send(
                "POST",
                "auth/token/renew-self",
                Some(&json!({})),
                Some(&token.value),
            );
            token.renew_at = match renewed {
                Ok((200, body)) => body
                    .pointer("/auth")
                    .and_then(|a| renew_at(a, "lease_duration")),
                _ => None,
            };
            tracing::info!(
                renewed = token.renew_at.is_some(),
                "renewed the Vault token"
            );
        }
        let token = slot.as_ref().expect("set above");
        Ok((token.value.clone(), token.from_login))
    }

    /// When a renewable token should be renewed: two thirds into its time to live.
    fn renewal_time(&self, token: &str) -> Option<Instant> {
        match self.send("GET", "auth/token/lookup-self", None, Some(token)) {
            Ok((200, body)) => renew_at(body.pointer("/data")?, "ttl"),
            _ => None,
        }
    }

    fn get_token(&self) -> Result<(Zeroizing<String>, bool), Failure> {
        match &self.settings.auth {
            Auth::Token { value, .. } => Ok((value.clone(), false)),
            Auth::TokenFile(path) => read_secret_file(path).map(|t| (t, false)),
            Auth::AppRole {
                role_id_file,
                secret_id_file,
                mount,
            } => {
                let role_id = read_secret_file(role_id_file)?;
                let secret_id = read_secret_file(secret_id_file)?;
                let body = json!({"role_id": role_id.as_str(), "secret_id": secret_id.as_str()});
                self.login(&format!("auth/{mount}/login"), &body)
                    .map(|t| (t, true))
            }
            Auth::Jwt {
                role,
                jwt_file,
                mount,
            } => {
                let jwt = read_secret_file(jwt_file)?;
                let body = json!({"role": role, "jwt": jwt.as_str()});
                self.login(&format!("auth/{mount}/login"), &body)
                    .map(|t| (t, true))
            }
        }
    }

    fn login(&self, path: &str, body: &Value) -> Result<Zeroizing<String>, Failure> {
        let (status, answer) = self.send("POST", path, Some(body), None)?;
        if status != 200 {
            return Err(Failure::Auth(format!(
                "logging in at {path} failed: {}",
                Failure::Server(status, errors(&answer))
            )));
        }
        answer
            .pointer("/auth/client_token")
            .and_then(Value::as_str)
            .map(|t| Zeroizing::new(t.to_owned()))
            .ok_or_else(|| Failure::Auth(format!("{path} gave no token")))
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Result<(u16, Answer), Failure> {
        let url = format!("{}/v1/{path}", self.settings.address);
        let mut request = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(token) = token {
            request = request.header("X-Vault-Token", token);
        }
        if let Some(namespace) = &self.settings.namespace {
            request = request.header("X-Vault-Namespace", namespace);
        }
        // Serialised into room that is wiped, and sent from there.
        let mut text = Wiping(Zeroizing::new(Vec::new()));
        if let Some(body) = body {
            serde_json::to_writer(&mut text, body)
                .map_err(|e| Failure::Unreachable(e.to_string()))?;
        }
        let request = request
            .header("Content-Type", "application/json")
            .body(&text.0[..])
            .map_err(|e| Failure::Unreachable(e.to_string()))?;
        let sent = self.agent.run(request).map_err(|e| match e {
            ureq::Error::Timeout(_) => Failure::Timeout(self.settings.timeout),
            e => Failure::Unreachable(e.to_string()),
        })?;
        let status = sent.status().as_u16();
        let mut text = Wiping(Zeroizing::new(Vec::new()));
        let mut reader = sent
            .into_body()
            .into_with_config()
            .limit(MAX_ANSWER)
            .reader();
        std::io::copy(&mut reader, &mut text).map_err(|e| match e.kind() {
            std::io::ErrorKind::TimedOut => Failure::Timeout(self.settings.timeout),
            _ => Failure::Unreachable(e.to_string()),
        })?;
        let json = Answer(serde_json::from_slice(&text.0).unwrap_or(Value::Null));
        if status == 503 && errors(&json).contains("sealed") {
            return Err(Failure::Sealed);
        }
        // A 403 stays a status: `call` logs in again, the store names it.
        Ok((status, json))
    }
}

/// The most an answer of Vault's may hold.
const MAX_ANSWER: u64 = 10 << 20;

/// A buffer for secret bytes that grows by moving them into wiped room by hand
/// ([`crate::secret_input::reserve`]): a `Vec` that grows frees its old buffer unwiped.
struct Wiping(Zeroizing<Vec<u8>>);

impl std::io::Write for Wiping {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        crate::secret_input::reserve(&mut self.0, bytes.len());
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The first error message of a Vault answer.
pub fn errors(body: &Value) -> String {
    body.pointer("/errors")
        .and_then(Value::as_array)
        .map(|e| {
            e.iter()
                .filter_map(Value::as_str)
                .map(crate::printable::escaped)
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "no message".to_owned())
}

/// When to renew a renewable token: two thirds into the time to live `part` gives in
/// its field `ttl_field` (`lookup-self`'s `ttl`, `renew-self`'s `lease_duration`).
fn renew_at(part: &Value, ttl_field: &str) -> Option<Instant> {
    if part.get("renewable") != Some(&Value::Bool(true)) {
        return None;
    }
    let ttl = part.get(ttl_field).and_then(Value::as_u64)?;
    (ttl > 0).then(|| Instant::now() + Duration::from_secs(ttl * 2 / 3))
}

/// A token, role id, secret id or JWT from a file: its first line, trimmed. Read as
/// netrc is: a regular file of bounded size (a FIFO is refused, never waited on), and
/// refused when another user could have written it.
fn read_secret_file(path: &Path) -> Result<Zeroizing<String>, Failure> {
    let text = crate::config::atomic::read_trusted_text(path)
        .map_err(|e| Failure::Auth(e.to_string()))?
        .ok_or_else(|| {
            Failure::Auth(format!("cannot read {}: it does not exist", path.display()))
        })?;
    let value = text.lines().next().unwrap_or("").trim();
    if value.is_empty() {
        return Err(Failure::Auth(format!("{} is empty", path.display())));
    }
    Ok(Zeroizing::new(value.to_owned()))
}
