//! A snapshot of the process environment that the resolution rules read, so the rules
//! are pure functions of their inputs and tests can build any environment they need.

use std::collections::BTreeMap;
use std::path::PathBuf;

use zeroize::Zeroizing;

/// Variables the rules consult, besides `WANDB_API_KEY` which is held apart.
const NAMES: &[&str] = &[
    "WANDB_BASE_URL",
    "WANDB_APP_URL",
    "WANDB_CONFIG_DIR",
    "WANDB_DIR",
    "WANDB_HTTP_TIMEOUT",
    "NETRC",
    "TERM",
    "WANDB_CRED_KEYCHAIN_TIMEOUT",
    "WANDB_CRED_IDLE_TIMEOUT",
    "WANDB_CRED_SOCKET",
    "WANDB_CRED_NO_DAEMON",
    "WANDB_CRED_NO_AUTOSTART",
    "WANDB_CRED_FORWARDED",
    "WANDB_CRED_NO_KERNEL_KEYRING",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "ZDOTDIR",
    "WANDB_CRED_PROFILE",
    "WANDB_ENTITY",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "WANDB_IDENTITY_TOKEN_FILE",
    // Where the SDK environments are (`sdk_environments`).
    "PATH",
    "XDG_DATA_HOME",
    "PIPX_HOME",
    "UV_TOOL_DIR",
];

#[derive(Debug, Default, Clone)]
pub struct Environment {
    pub home: Option<PathBuf>,
    pub cwd: PathBuf,
    vars: BTreeMap<&'static str, String>,
    api_key: Option<Zeroizing<String>>,
}

impl Environment {
    pub fn from_process() -> Self {
        let vars = NAMES
            .iter()
            .filter_map(|name| Some((*name, std::env::var(name).ok()?)))
            .collect();
        Self {
            home: crate::sys::home_dir(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            vars,
            api_key: std::env::var("WANDB_API_KEY").ok().map(Zeroizing::new),
        }
    }

    /// A variable's value, `None` when unset or empty (as the SDK treats both).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `WANDB_API_KEY` when set and non-empty.
    pub fn api_key(&self) -> Option<&Zeroizing<String>> {
        self.api_key.as_ref().filter(|k| !k.is_empty())
    }

    /// For tests: an environment with the given home, directory and variables.
    pub fn for_test(home: PathBuf, cwd: PathBuf, vars: &[(&'static str, &str)]) -> Self {
        let mut env = Self {
            home: Some(home),
            cwd,
            ..Self::default()
        };
        for (name, value) in vars {
            if *name == "WANDB_API_KEY" {
                env.api_key = Some(Zeroizing::new((*value).to_owned()));
            } else {
                env.vars.insert(name, (*value).to_owned());
            }
        }
        env
    }
}
