//! The forwarded socket's rules (`forward.sock`, which `wandb-cred ssh` makes reachable
//! on a remote machine, whose users this machine does not know): what it takes (`Get`
//! only, answered from the off-disk stores, never netrc), what its answers may say
//! (nothing of this machine: no path, user name or process id), and its log, in which
//! every key handed out is accounted for.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use wandb_cred_proto::{ErrorKind, Request, Response};

use super::handler;
use super::log_budget::{PER_WINDOW, WINDOW};
use crate::resolve::base_url::BaseUrl;

/// What a remote is told of where its key came from.
const LOCATION: &str = "the machine this ssh session came from";

/// A request as the forwarded socket takes it: `Hello`, or a `Get` (alone or in a
/// `HelloGet`) that reads no netrc file (it holds other services' passwords and a
/// catch-all `default` entry); anything else is refused.
pub fn admit(request: Request) -> Result<Request, String> {
    match request {
        Request::Hello { .. } | Request::Limit { .. } => Ok(request),
        Request::Get { url, .. } => Ok(Request::Get {
            url: this_machines_default(url),
            netrc: None,
        }),
        Request::HelloGet {
            protocol,
            client,
            backend_choice,
            url,
            keychain_timeout_ms,
            ..
        } => Ok(Request::HelloGet {
            protocol,
            client,
            backend_choice,
            url: this_machines_default(url),
            netrc: None,
            keychain_timeout_ms,
        }),
        other => Err(format!(
            "{} is not served on a forwarded socket: it only hands out keys (get); change stored keys on the machine that holds them",
            handler::name(&other)
        )),
    }
}

/// A request's URL that names no profile gets, among this machine's profiles for that
/// server, the one whose key belongs to the entity the remote works for (as the server
/// told `whoami` here), else this machine's default: the same order as a command here,
/// over this machine's keys and records.
fn this_machines_default(url: String) -> String {
    match BaseUrl::from_account(&url) {
        Ok(parsed) if parsed.profile().is_none() => {
            let of_entity = parsed.entity_hint().and_then(|entity| {
                crate::store::identity_record::profile_of_entity(&parsed, entity)
            });
            match of_entity.or_else(|| crate::store::profile_pointer::default_of(&parsed)) {
                Some(profile) => parsed
                    .with_profile(Some(&profile))
                    .map_or(url, |u| u.wire()),
                None => parsed.with_profile(None).map_or(url, |u| u.wire()),
            }
        }
        _ => url,
    }
}

/// A response as it leaves on the forwarded socket: the key or what went wrong, and
/// nothing of this machine (no path, user name or process id).
pub fn for_remote(response: Response) -> Response {
    match response {
        Response::Hello {
            protocol,
            server,
            backend_choice,
            ..
        } => Response::Hello {
            protocol,
            server,
            pid: 0,
            backend_choice,
        },
        Response::Key { key, layer, .. } => Response::Key {
            key,
            layer,
            location: LOCATION.to_owned(),
        },
        Response::Error { kind, message } => {
            let message = match kind {
                // Our own words about the request (its server, or why it is refused).
                ErrorKind::NotFound | ErrorKind::Forwarded | ErrorKind::BadRequest => message,
                ErrorKind::Locked => {
                    format!("the keychain on {LOCATION} is locked; unlock it there")
                }
                ErrorKind::Timeout => format!("the keychain on {LOCATION} did not answer in time"),
                _ => format!(
                    "{LOCATION} could not look up the key ({kind:?}); its `wandb-cred doctor` says why"
                ),
            };
            Response::Error { kind, message }
        }
        other => other,
    }
}

/// The server a request asked for, for the log: its netloc, never the text as sent.
pub fn asked_for(request: &Request) -> Option<String> {
    let url = match request {
        Request::Get { url, .. } | Request::HelloGet { url, .. } => url,
        _ => return None,
    };
    Some(
        BaseUrl::parse(url).map_or_else(|_| "an invalid URL".to_owned(), |u| u.netloc().to_owned()),
    )
}

/// What became of one forwarded request, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    HandedOut,
    NoKey,
    Failed,
    Refused,
}

impl Outcome {
    pub fn of(response: &Response) -> Self {
        match response {
            Response::Key { .. } => Self::HandedOut,
            Response::Error {
                kind: ErrorKind::NotFound,
                ..
            } => Self::NoKey,
            Response::Error {
                kind: ErrorKind::Forwarded,
                ..
            } => Self::Refused,
            Response::Error { .. } => Self::Failed,
            _ => Self::NoKey,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Self::HandedOut => "handed out its key",
            Self::NoKey => "no key",
            Self::Failed => "failed",
            Self::Refused => "refused (not a get)",
        }
    }
}

/// Distinct (server, outcome) counts kept while lines are saved; past it, counts are
/// added to one line for all other servers (never dropped).
const MAX_COUNTED: usize = 64;

/// The forwarded socket's log: a line per request, [`PER_WINDOW`] lines per [`WINDOW`];
/// past that, counts per server and outcome, written when the window turns, when the
/// daemon is idle a window long ([`ForwardLog::flush_if_due`]) or when it stops.
#[derive(Default)]
pub struct ForwardLog {
    inner: Mutex<Counts>,
}

struct Counts {
    window: Instant,
    lines: u32,
    saved: BTreeMap<(String, Outcome), u64>,
    other_servers: BTreeMap<Outcome, u64>,
}

impl Default for Counts {
    fn default() -> Self {
        Self {
            window: Instant::now(),
            lines: 0,
            saved: BTreeMap::new(),
            other_servers: BTreeMap::new(),
        }
    }
}

impl ForwardLog {
    /// Accounts for one forwarded request for `server` (`None`: it named none).
    pub fn record(&self, server: Option<&str>, outcome: Outcome) {
        let mut counts = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if counts.window.elapsed() >= WINDOW {
            counts.flush();
        }
        let server = server.unwrap_or("no server");
        if counts.lines < PER_WINDOW {
            counts.lines += 1;
            tracing::info!(server = %server, "forwarded get: {}", outcome.words());
            return;
        }
        let key = (server.to_owned(), outcome);
        if counts.saved.len() < MAX_COUNTED || counts.saved.contains_key(&key) {
            *counts.saved.entry(key).or_default() += 1;
        } else {
            *counts.other_servers.entry(outcome).or_default() += 1;
        }
    }

    /// Writes the counts of a window that has passed.
    pub fn flush_if_due(&self) {
        let mut counts = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if counts.window.elapsed() >= WINDOW {
            counts.flush();
        }
    }

    /// Writes the counts now (the daemon is stopping).
    pub fn flush(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).flush();
    }
}

impl Counts {
    fn flush(&mut self) {
        for ((server, outcome), count) in std::mem::take(&mut self.saved) {
            tracing::info!(server = %server, count, "forwarded gets not logged one by one: {}", outcome.words());
        }
        for (outcome, count) in std::mem::take(&mut self.other_servers) {
            tracing::info!(
                server = "other servers",
                count,
                "forwarded gets not logged one by one: {}",
                outcome.words()
            );
        }
        self.window = Instant::now();
        self.lines = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wandb_cred_proto::{Layer, Secret};

    #[test]
    fn answers_say_nothing_of_this_machine() {
        let hello = for_remote(Response::Hello {
            protocol: 3,
            server: "0.1.0".into(),
            pid: 4242,
            backend_choice: "auto".into(),
        });
        assert!(matches!(hello, Response::Hello { pid: 0, .. }));
        let key = for_remote(Response::Key {
            key: Secret(zeroize::Zeroizing::new("k".into())),
            layer: Layer::Keychain,
            location: "/home/alice/.netrc".into(),
        });
        assert!(matches!(key, Response::Key { location, .. } if location == LOCATION));
        let failed = for_remote(Response::Error {
            kind: ErrorKind::Internal,
            message: "cannot read /home/alice/x".into(),
        });
        assert!(matches!(failed, Response::Error { message, .. } if !message.contains("alice")));
    }

    #[test]
    fn gets_never_read_a_netrc() {
        let asked = Request::Get {
            url: "https://github.com".into(),
            netrc: Some("/home/alice/.netrc".into()),
        };
        assert!(matches!(admit(asked), Ok(Request::Get { netrc: None, .. })));
    }
}
