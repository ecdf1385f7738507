//! Turns one request into one response with the in-process key service. Runs on a
//! blocking thread: keychain and file calls block. Keys are never logged.

use std::path::Path;
use std::time::{Duration, Instant};

use wandb_cred_proto::{ErrorKind, Request, Response, Secret};
use zeroize::Zeroizing;

use super::log_budget::{ClientText, LogBudget};
use crate::config::atomic;
use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;
use crate::service::local::LocalService;
use crate::service::{Found, KeyService, ServiceError};

/// The request's kind, for logs (never its contents).
pub fn name(request: &Request) -> &'static str {
    match request {
        Request::Hello { .. } => "hello",
        Request::HelloGet { .. } => "hello-get",
        Request::Get { .. } => "get",
        Request::Store { .. } => "store",
        Request::Erase { .. } => "erase",
        Request::List { .. } => "list",
        Request::Migrate { .. } => "migrate",
        Request::Status => "status",
        Request::Reload => "reload",
        Request::Shutdown => "shutdown",
        Request::Limit { .. } => "limit",
        Request::Unlock { .. } => "unlock",
        Request::Rekey { .. } => "rekey",
        Request::Lock => "lock",
    }
}

fn error(e: ServiceError) -> Response {
    Response::Error {
        kind: e.kind,
        message: e.message,
    }
}

/// A request's URL, with its `#PROFILE` when it names one ([`BaseUrl::wire`]).
fn url(text: &str) -> Result<BaseUrl, ServiceError> {
    BaseUrl::from_account(text).map_err(|e| ServiceError::new(ErrorKind::BadRequest, e.to_string()))
}

/// How long a change may take from the moment its request arrived. Clients wait 60 s
/// for an answer; a change not made by this deadline is abandoned (nothing changed) and
/// reported, so a client that reported failure never sees the change happen later.
pub const WRITE_BUDGET: Duration = Duration::from_secs(40);

/// Whether the request changes stored keys (and so runs under [`WRITE_BUDGET`]).
pub fn is_change(request: &Request) -> bool {
    matches!(
        request,
        Request::Store { .. } | Request::Erase { .. } | Request::Migrate { .. }
    )
}

pub fn handle(
    service: &LocalService,
    request: Request,
    received: Instant,
    complaints: &LogBudget,
) -> Response {
    let kind = name(&request);
    let result = if is_change(&request) {
        atomic::with_deadline(received + WRITE_BUDGET, || respond(service, request))
    } else {
        respond(service, request)
    };
    logged(kind, result, complaints)
}

/// The answer to a `Get` that needs no keychain call (see
/// [`LocalService::get_without_keychain_call`]), for the daemon to give at once; `None`
/// for any other request, or when the keychain must be asked.
pub fn handle_at_once(
    service: &LocalService,
    request: &Request,
    complaints: &LogBudget,
) -> Option<Response> {
    let Request::Get { url: text, netrc } = request else {
        return None;
    };
    let result = match url(text) {
        Ok(url) => {
            let found = service.get_without_keychain_call(&url, netrc.as_deref().map(Path::new))?;
            found.and_then(|found| key_response(&url, found))
        }
        Err(e) => Err(e),
    };
    Some(logged("get", result, complaints))
}

/// The response, with a failure logged: within the budget for lines clients cause, and
/// with the message (which may quote a client's URL or path) bounded and escaped.
fn logged(kind: &str, result: Result<Response, ServiceError>, complaints: &LogBudget) -> Response {
    if let Err(e) = &result
        && e.kind != ErrorKind::NotFound
        && complaints.allow()
    {
        tracing::info!(request = kind, kind = ?e.kind, message = %ClientText(&e.message), "request failed");
    }
    result.unwrap_or_else(error)
}

fn key_response(url: &BaseUrl, found: Option<Found>) -> Result<Response, ServiceError> {
    match found {
        Some(found) => Ok(Response::Key {
            key: Secret(Zeroizing::new(found.key.expose().to_owned())),
            layer: found.layer,
            location: found.location,
        }),
        None => Err(ServiceError::new(
            ErrorKind::NotFound,
            format!("no API key for {}", url.netloc()),
        )),
    }
}

fn respond(service: &LocalService, request: Request) -> Result<Response, ServiceError> {
    Ok(match request {
        Request::Get { url: text, netrc } => {
            let url = url(&text)?;
            key_response(&url, service.get(&url, netrc.as_deref().map(Path::new))?)?
        }
        Request::Store {
            url: text,
            key,
            netrc,
        } => {
            let url = url(&text)?;
            let key = ApiKey::parse(key.0)
                .map_err(|e| ServiceError::new(ErrorKind::InvalidKey, e.to_string()))?;
            let stored = service.store(&url, &key, Path::new(&netrc))?;
            Response::Stored {
                layer: stored.layer,
                location: stored.location,
                why: stored.why,
                removed_plaintext: stored.removed_plaintext,
            }
        }
        Request::Erase { url: text, netrc } => {
            let erased = service.erase(&url(&text)?, Path::new(&netrc))?;
            Response::Erased {
                removed: erased.removed,
                looked_in: erased.looked_in,
            }
        }
        Request::List { netrc } => Response::Listed {
            servers: service.list(Path::new(&netrc))?,
        },
        Request::Migrate {
            urls,
            netrc,
            keep_netrc,
        } => {
            let urls = urls.iter().map(|u| url(u)).collect::<Result<Vec<_>, _>>()?;
            Response::Migrated {
                results: service.migrate(&urls, Path::new(&netrc), keep_netrc)?,
            }
        }
        Request::Unlock {
            passphrase,
            create,
            lock_after_secs,
        } => {
            let lock_after = lock_after_secs.map(Duration::from_secs);
            service.unlock(&passphrase.0, create, lock_after)?;
            Response::Done
        }
        Request::Lock => {
            service.lock()?;
            Response::Done
        }
        Request::Rekey { passphrase } => {
            if !service.rekey(&passphrase.0)? {
                return Err(ServiceError::new(
                    ErrorKind::Locked,
                    "the encrypted store is locked; it stays locked",
                ));
            }
            Response::Done
        }
        Request::Reload => {
            service.reload()?;
            tracing::info!("dropped cached keys");
            Response::Done
        }
        Request::Hello { .. }
        | Request::HelloGet { .. }
        | Request::Status
        | Request::Shutdown
        | Request::Limit { .. } => {
            return Err(ServiceError::new(ErrorKind::BadRequest, "not handled here"));
        }
    })
}
