//! Where the Vault store is and how it logs in, from the conventional variables (as the
//! `vault` and `bao` programs read them) and wandb-cred's own configuration:
//!
//! - address: `VAULT_ADDR`, else `BAO_ADDR`, else `vault-address` in `wandb-cred config`;
//!   `https://`, or `http://` to a loopback address only;
//! - `VAULT_NAMESPACE`/`BAO_NAMESPACE`, `VAULT_CACERT`/`BAO_CACERT`;
//! - the KV version 2 mount (`WANDB_CRED_VAULT_MOUNT`, `vault-mount`, default `secret`)
//!   and the path prefix (`WANDB_CRED_VAULT_PREFIX`, `vault-prefix`, default
//!   `wandb-cred`);
//! - the token: AppRole when `WANDB_CRED_VAULT_ROLE_ID_FILE` and
//!   `WANDB_CRED_VAULT_SECRET_ID_FILE` name files; JWT or Kubernetes auth when
//!   `WANDB_CRED_VAULT_JWT_FILE` does (role `WANDB_CRED_VAULT_ROLE`); else
//!   `VAULT_TOKEN`/`BAO_TOKEN`; else `~/.vault-token`. Auth methods are mounted at
//!   `WANDB_CRED_VAULT_AUTH_MOUNT` (default `approle` or `jwt`).

use std::path::PathBuf;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::config::user_config;

/// How long a key read from Vault is served before it is read again, by default.
pub const DEFAULT_CACHE: Duration = Duration::from_secs(60);

/// The variables these settings read: the daemon started on demand gets them.
pub const VARS: &[&str] = &[
    "VAULT_ADDR",
    "BAO_ADDR",
    "VAULT_NAMESPACE",
    "BAO_NAMESPACE",
    "VAULT_CACERT",
    "BAO_CACERT",
    "VAULT_TOKEN",
    "BAO_TOKEN",
    "WANDB_CRED_VAULT_MOUNT",
    "WANDB_CRED_VAULT_PREFIX",
    "WANDB_CRED_VAULT_ROLE_ID_FILE",
    "WANDB_CRED_VAULT_SECRET_ID_FILE",
    "WANDB_CRED_VAULT_JWT_FILE",
    "WANDB_CRED_VAULT_ROLE",
    "WANDB_CRED_VAULT_AUTH_MOUNT",
    "WANDB_CRED_VAULT_CACHE",
];

pub enum Auth {
    Token {
        value: Zeroizing<String>,
        from: &'static str,
    },
    TokenFile(PathBuf),
    AppRole {
        role_id_file: PathBuf,
        secret_id_file: PathBuf,
        mount: String,
    },
    Jwt {
        role: String,
        jwt_file: PathBuf,
        mount: String,
    },
}

impl Auth {
    /// How messages name it (never the token).
    pub fn describe(&self) -> String {
        match self {
            Self::Token { from, .. } => format!("the token in {from}"),
            Self::TokenFile(path) => format!("the token in {}", path.display()),
            Self::AppRole { mount, .. } => format!("AppRole (auth/{mount})"),
            Self::Jwt { role, mount, .. } => format!("JWT role {role} (auth/{mount})"),
        }
    }
}

pub struct Settings {
    pub address: String,
    pub namespace: Option<String>,
    pub ca_cert: Option<PathBuf>,
    pub ca_cert_var: &'static str,
    pub mount: String,
    pub prefix: String,
    pub auth: Auth,
    pub cache: Duration,
    pub timeout: Duration,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn first(names: &[&'static str]) -> Option<(String, &'static str)> {
    names.iter().find_map(|n| var(n).map(|v| (v, *n)))
}

/// The address as written (`VAULT_ADDR`, `BAO_ADDR`, then the configuration), unchecked.
pub fn address() -> Option<String> {
    address_in(|| crate::config::user_config::read().unwrap_or_default())
}

/// As [`address`], with the configuration read only when no variable names it.
fn address_in(config: impl FnOnce() -> Vec<(String, String)>) -> Option<String> {
    match first(&["VAULT_ADDR", "BAO_ADDR"]) {
        Some((address, _)) => Some(address),
        None => user_config::value_in(&config(), "vault-address").map(str::to_owned),
    }
    .map(|a| a.trim().trim_end_matches('/').to_owned())
}

impl Settings {
    /// From this process's environment and the user's configuration; `timeout` bounds
    /// every request.
    pub fn from_env(timeout: Duration) -> Result<Self, String> {
        // Read once (a broken line is an error here), then looked up.
        let values = user_config::read().map_err(|e| e.to_string())?;
        let config = |name: &str| user_config::value_in(&values, name).map(str::to_owned);
        let address = address_in(|| values.clone()).ok_or(
            "no Vault address: set VAULT_ADDR (or BAO_ADDR), or `wandb-cred config vault-address URL`",
        )?;
        let address = check_address(&address)?;
        let (ca_cert, ca_cert_var) = match first(&["VAULT_CACERT", "BAO_CACERT"]) {
            Some((path, name)) => (Some(PathBuf::from(path)), name),
            None => (None, "VAULT_CACERT"),
        };
        let mount = match var("WANDB_CRED_VAULT_MOUNT") {
            Some(m) => m,
            None => config("vault-mount").unwrap_or_else(|| "secret".to_owned()),
        };
        let prefix = match var("WANDB_CRED_VAULT_PREFIX") {
            Some(p) => p,
            None => config("vault-prefix").unwrap_or_else(|| "wandb-cred".to_owned()),
        };
        let cache = match var("WANDB_CRED_VAULT_CACHE") {
            Some(text) => {
                crate::duration::parse(&text).map_err(|e| format!("WANDB_CRED_VAULT_CACHE: {e}"))?
            }
            None => DEFAULT_CACHE,
        };
        Ok(Self {
            address,
            namespace: first(&["VAULT_NAMESPACE", "BAO_NAMESPACE"]).map(|(n, _)| n),
            ca_cert,
            ca_cert_var,
            mount: mount.trim_matches('/').to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            auth: auth()?,
            cache,
            timeout,
        })
    }
}

fn auth() -> Result<Auth, String> {
    let mount =
        |default: &str| var("WANDB_CRED_VAULT_AUTH_MOUNT").unwrap_or_else(|| default.to_owned());
    match (
        var("WANDB_CRED_VAULT_ROLE_ID_FILE"),
        var("WANDB_CRED_VAULT_SECRET_ID_FILE"),
    ) {
        (Some(role), Some(secret)) => {
            return Ok(Auth::AppRole {
                role_id_file: role.into(),
                secret_id_file: secret.into(),
                mount: mount("approle"),
            });
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err("AppRole needs both WANDB_CRED_VAULT_ROLE_ID_FILE and WANDB_CRED_VAULT_SECRET_ID_FILE".to_owned());
        }
        (None, None) => {}
    }
    if let Some(jwt) = var("WANDB_CRED_VAULT_JWT_FILE") {
        let role = var("WANDB_CRED_VAULT_ROLE")
            .ok_or("JWT login needs the role: set WANDB_CRED_VAULT_ROLE")?;
        return Ok(Auth::Jwt {
            role,
            jwt_file: jwt.into(),
            mount: mount("jwt"),
        });
    }
    if let Some((token, from)) = first(&["VAULT_TOKEN", "BAO_TOKEN"]) {
        return Ok(Auth::Token {
            value: Zeroizing::new(token),
            from,
        });
    }
    let file = crate::sys::home_dir()
        .map(|home| home.join(".vault-token"))
        .filter(|p| p.is_file())
        .ok_or("no Vault token: set VAULT_TOKEN, log in with `vault login` or `bao login` (~/.vault-token), or name AppRole or JWT files (WANDB_CRED_VAULT_ROLE_ID_FILE and WANDB_CRED_VAULT_SECRET_ID_FILE, or WANDB_CRED_VAULT_JWT_FILE)")?;
    Ok(Auth::TokenFile(file))
}

/// `https://HOST[:PORT]`, or `http://` to 127.0.0.1, `::1` or `localhost` only: a token
/// and keys never travel in the clear over a network. Parsed once, by the parser the
/// HTTP client uses, and given back as that parser understood it (scheme, host, port
/// and any path), so the host checked is the host connected to; a user part
/// (`http://[::1]@HOST`) is refused.
fn check_address(address: &str) -> Result<String, String> {
    if !address.contains("://") {
        return Err(format!(
            "the Vault address {address:?} has no scheme (https://...)"
        ));
    }
    let uri: ureq::http::Uri = address
        .parse()
        .map_err(|e| format!("the Vault address {address:?} is not a URL: {e}"))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(format!("the Vault address {address:?} names no host"));
    };
    if authority.as_str().contains('@') {
        return Err(format!(
            "the Vault address {address:?} has a user part (before `@`): give it as https://HOST[:PORT]"
        ));
    }
    if uri.query().is_some() {
        return Err(format!(
            "the Vault address {address:?} has a query (`?`): give it as https://HOST[:PORT]"
        ));
    }
    let host = authority.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = authority
        .port_u16()
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let path = uri.path().trim_end_matches('/');
    let address = format!("{scheme}://{}{port}{path}", authority.host());
    match scheme {
        "https" if !host.is_empty() => Ok(address),
        "http" if matches!(host, "127.0.0.1" | "::1" | "localhost") => Ok(address),
        "http" => Err(format!(
            "the Vault address {address} is plain http to another machine: tokens and keys would cross the network in the clear; use https"
        )),
        _ => Err(format!("the Vault address {address:?} is not an https URL")),
    }
}

#[cfg(test)]
mod tests {
    use super::check_address;

    #[test]
    fn plain_http_only_to_this_machine() {
        assert!(check_address("https://vault.example.com:8200").is_ok());
        assert!(check_address("http://127.0.0.1:8200").is_ok());
        assert!(check_address("http://[::1]:8200").is_ok());
        assert!(check_address("http://localhost:8200").is_ok());
        let e = check_address("http://vault.example.com:8200").unwrap_err();
        assert!(e.contains("in the clear"), "{e}");
        assert!(check_address("vault.example.com").is_err());
        assert!(check_address("ftp://x").is_err());
    }

    /// Failed before the fix: the check read `::1` as the host of
    /// `http://[::1]@vault.example.com`, where the HTTP client connects (and sends the
    /// token in the clear).
    #[test]
    fn a_user_part_never_hides_the_host() {
        for address in [
            "http://[::1]@vault.example.com:8200",
            "http://127.0.0.1@vault.example.com",
            "http://localhost:8200@vault.example.com",
            "https://user@vault.example.com",
        ] {
            let e = check_address(address).unwrap_err();
            assert!(e.contains("user part"), "{address}: {e}");
        }
        assert_eq!(
            check_address("https://vault.example.com:8200/").unwrap(),
            "https://vault.example.com:8200"
        );
    }
}
