//! `git-credential get|store|erase|capability`: the git credential helper
//! (gitcredentials(7)). It answers only for W&B servers that have a stored key and
//! stays silent for everything else, so git falls through to its next helper or its
//! prompt; it stores only W&B-shaped keys for username `api`, and erases a key only
//! when git names that very key as rejected.

use super::args::StoreArg;
use clap::Args;
use std::io::Write;

use anyhow::Context as _;
use zeroize::Zeroizing;

use super::Context;
use crate::config::settings_files::SettingsFiles;
use crate::git_credential::{Request, answer};
use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;
use crate::resolve::credential::stored_key;
use crate::service::{Found, Layer, ServiceError};
use crate::store::Store as _;
use crate::store::backend::BackendChoice;

/// Act as a git credential helper: get, store, erase or capability (gitcredentials(7)).
///
/// Reads git's request on standard input. `get` answers `username=api` and the key
/// only for a W&B server with a stored key; for anything else it prints nothing, so
/// git asks its next helper. `store` keeps a key given for username `api`; `erase`
/// removes a stored key only when git names that same key. Installed as
/// `git-credential-wandb` on PATH, the program behaves as `wandb-cred git-credential`.
#[derive(Debug, Args)]
#[command(
    name = "git-credential",
    after_help = "Examples:
  printf 'protocol=https\\nhost=api.wandb.ai\\n\\n' | wandb-cred git-credential get
  git config --global credential.https://api.wandb.ai.helper '!wandb-cred git-credential'
  ln -s \"$(command -v wandb-cred)\" ~/.local/bin/git-credential-wandb   # then: helper = wandb"
)]
pub struct GitCredentialArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
    /// get, store, erase or capability; other operations are ignored, as git asks.
    #[arg(value_name = "OPERATION", value_parser = OperationParser)]
    pub(super) operation: String,
}

/// The username W&B expects with an API key (HTTP basic auth `api:<key>`).
pub const USERNAME: &str = "api";

pub fn run(backend: BackendChoice, operation: &str) -> anyhow::Result<()> {
    match operation {
        "capability" => {
            // No optional capability (authtype, state) is supported: only the version.
            let mut out = std::io::stdout().lock();
            out.write_all(b"version 0\n")?;
            out.flush()?;
            Ok(())
        }
        "get" | "store" | "erase" => {
            let request = Request::read(crate::secret_input::stdin())
                .context("git-credential: refused git's request")?;
            let ctx = Context::load(backend)?;
            match operation {
                "get" => print(get(&ctx, &request)?),
                "store" => store(&ctx, &request),
                _ => erase(&ctx, &request),
            }
        }
        // gitcredentials(7): unknown operations are ignored silently, so newer gits
        // can add some.
        _ => Ok(()),
    }
}

/// What `get` answers: `username=api` and the key, or nothing (not ours to answer).
pub fn get(ctx: &Context, request: &Request) -> anyhow::Result<Option<Zeroizing<String>>> {
    let Some(Known { url, via }) = known_server(ctx, request)? else {
        // A key the kernel keyring lost (a restart) is an error, not "ask the next
        // helper": git would go on to prompt for it.
        for url in candidates(request) {
            if let Some(why) = crate::store::record::why_missing(&url.account()) {
                anyhow::bail!("no API key for {} ({url}): {why}", url.netloc());
            }
        }
        return Ok(None);
    };
    // WANDB_API_KEY and a settings `api_key` are keys for the configured W&B server
    // only: for any other host only a key stored for that very host is answered.
    let unconfigured;
    let (env_key, settings) = if ctx.is_configured(&url) {
        (ctx.env.api_key(), &ctx.settings)
    } else {
        unconfigured = SettingsFiles::absent(&ctx.env);
        (None, &unconfigured)
    };
    // The keychain has been asked about this server already: only the environment
    // can outrank its key, and without one, settings come before netrc.
    let resolved = match via {
        Via::Keychain(found) => stored_key(env_key, settings, |_| Ok(Some(found)))?,
        Via::Netrc => stored_key(env_key, settings, |with_netrc| {
            if !with_netrc {
                return Ok(None);
            }
            let found = ctx.netrc().get(&url).map_err(ServiceError::from)?;
            Ok(found.map(|f| Found {
                key: f.key,
                layer: Layer::Netrc,
                location: f.location,
            }))
        })?,
        Via::Lookup => stored_key(env_key, settings, |with_netrc| {
            let netrc = with_netrc.then_some(ctx.netrc_path.as_path());
            ctx.service().get(&url, netrc)
        })
        .with_context(|| format!("cannot look up the API key for {url}"))?,
    };
    Ok(resolved.and_then(|resolved| answer(USERNAME, resolved.key.expose())))
}

pub fn print(answer: Option<Zeroizing<String>>) -> anyhow::Result<()> {
    if let Some(text) = answer {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()?;
    }
    Ok(())
}

fn store(ctx: &Context, request: &Request) -> anyhow::Result<()> {
    let (Some(password), true) = (&request.password, username_is_ours(request)) else {
        return Ok(());
    };
    // git hands every credential to every helper: anything that is not a W&B key is
    // not ours to keep.
    let Ok(key) = ApiKey::parse(password.clone()) else {
        return Ok(());
    };
    let known = known_server(ctx, request)?.map(|k| k.url);
    let Some(url) = known.or_else(|| candidates(request).pop()) else {
        return Ok(());
    };
    let service = ctx.service();
    if let Some(found) = service.get(&url, Some(&ctx.netrc_path))?
        && found.key == key
    {
        return Ok(());
    }
    service.store(&url, &key, &ctx.netrc_path)?;
    Ok(())
}

fn erase(ctx: &Context, request: &Request) -> anyhow::Result<()> {
    let (Some(password), true) = (&request.password, username_is_ours(request)) else {
        return Ok(());
    };
    let Some(Known { url, .. }) = known_server(ctx, request)? else {
        return Ok(());
    };
    let service = ctx.service();
    let stored = service.get(&url, Some(&ctx.netrc_path))?;
    if stored.is_some_and(|found| found.key.expose() == password.as_str()) {
        service.erase(&url, &ctx.netrc_path)?;
    }
    Ok(())
}

fn username_is_ours(request: &Request) -> bool {
    request.username.as_deref().is_none_or(|u| u == USERNAME)
}

/// For `get`: a `username=` other than `api` that is a profile's name names that profile.
fn named_profile(request: &Request) -> Option<&str> {
    request
        .username
        .as_deref()
        .filter(|u| *u != USERNAME && crate::resolve::base_url::valid_profile(u))
}

/// The candidates of a `get`: for the profile git's request names (`username=NAME`),
/// else the one this command would choose (`WANDB_CRED_PROFILE`, the entity, the
/// server's default).
fn profile_candidates(ctx: &Context, request: &Request) -> Vec<BaseUrl> {
    let named = named_profile(request);
    let as_api = Request {
        protocol: request.protocol.clone(),
        host: request.host.clone(),
        path: request.path.clone(),
        username: None,
        password: None,
    };
    let plain = if named.is_some() { &as_api } else { request };
    candidates(plain)
        .into_iter()
        .map(|url| {
            let profile = named.map(str::to_owned).or_else(|| ctx.profile(&url).0);
            url.clone().with_profile(profile.as_deref()).unwrap_or(url)
        })
        .collect()
}

/// The server URLs git's request could name, least specific last: with
/// `credential.useHttpPath`, `protocol://host/path` and each shorter path; always
/// `protocol://host`. Empty when the request is not for an http(s) W&B-style server.
fn candidates(request: &Request) -> Vec<BaseUrl> {
    let (Some(protocol), Some(host)) = (&request.protocol, &request.host) else {
        return Vec::new();
    };
    let plain_host = !host.is_empty() && !host.contains(['/', '?', '#', '@', '\\']);
    if !plain_host || !username_is_ours(request) {
        return Vec::new();
    }
    let base = format!("{protocol}://{host}");
    let segments: Vec<&str> = request
        .path
        .as_deref()
        .unwrap_or("")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    (0..=segments.len())
        .rev()
        .map(|n| {
            std::iter::once(base.as_str())
                .chain(segments[..n].iter().copied())
                .collect::<Vec<_>>()
                .join("/")
        })
        .filter_map(|text| BaseUrl::parse(&text).ok())
        .collect()
}

/// The W&B server the request is for: the most specific candidate with a key in the
/// keychain, else the host whose netrc entry is the SDK's (`login user`, a valid key;
/// over https, or http when that is the configured server),
/// else, when git sent no path (its default), the one keychain server on that host
/// whose URL has a path (`https://host/sub`).
fn known_server(ctx: &Context, request: &Request) -> anyhow::Result<Option<Known>> {
    let candidates = profile_candidates(ctx, request);
    let Some(host_only) = candidates.last().cloned() else {
        return Ok(None);
    };
    let service = ctx.service();
    for url in candidates {
        if let Some(found) = service.get(&url, None)?
            && found.layer.off_disk()
        {
            return Ok(Some(Known {
                url,
                via: Via::Keychain(found),
            }));
        }
    }
    // netrc knows no scheme: never hand an https key to a plain http request unless
    // that http URL is the server configured for this machine.
    let scheme_known = host_only.as_str().starts_with("https://") || ctx.is_configured(&host_only);
    let in_netrc = scheme_known
        && ctx
            .netrc()
            .wandb_machines()?
            .iter()
            .any(|machine| host_only.netrc_names().contains(machine));
    if in_netrc {
        return Ok(Some(Known {
            url: host_only,
            via: Via::Netrc,
        }));
    }
    if request.path.is_some() {
        return Ok(None);
    }
    let below = format!("{host_only}/");
    let mut under_host = service
        .list(&ctx.netrc_path)?
        .into_iter()
        .filter(|listed| listed.layer.off_disk() && listed.server.starts_with(&below))
        .filter_map(|listed| BaseUrl::from_account(&listed.server).ok())
        .filter(|url| url.profile() == host_only.profile());
    match (under_host.next(), under_host.next()) {
        (Some(url), None) => Ok(Some(Known {
            url,
            via: Via::Lookup,
        })),
        _ => Ok(None),
    }
}

/// A W&B server a request is for, and how it was found.
struct Known {
    url: BaseUrl,
    via: Via,
}

enum Via {
    /// Its key in the keychain.
    Keychain(Found),
    /// An SDK-style entry in netrc; the keychain has none.
    Netrc,
    /// The one keychain server under the host git named: to be looked up.
    Lookup,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(protocol: &str, host: &str, path: Option<&str>, user: Option<&str>) -> Request {
        Request {
            protocol: Some(protocol.into()),
            host: Some(host.into()),
            path: path.map(Into::into),
            username: user.map(Into::into),
            password: None,
        }
    }

    fn urls(r: &Request) -> Vec<String> {
        candidates(r)
            .iter()
            .map(|u| u.as_str().to_owned())
            .collect()
    }

    #[test]
    fn candidates_go_from_the_full_path_to_the_host() {
        let r = request("https", "wb.example.com:8443", Some("sub/repo.git"), None);
        assert_eq!(
            urls(&r),
            [
                "https://wb.example.com:8443/sub/repo.git",
                "https://wb.example.com:8443/sub",
                "https://wb.example.com:8443"
            ]
        );
        assert_eq!(
            urls(&request("https", "api.wandb.ai", None, Some("api"))),
            ["https://api.wandb.ai"]
        );
    }

    #[test]
    fn no_candidates_for_other_protocols_users_or_odd_hosts() {
        for r in [
            request("ssh", "api.wandb.ai", None, None),
            request("http", "api.wandb.ai", None, None),
            request("https", "api.wandb.ai", None, Some("bob")),
            request("https", "", None, None),
            request("https", "evil.example/x@api.wandb.ai", None, None),
            request("https", "a b", None, None),
        ] {
            assert!(candidates(&r).is_empty(), "{r:?}");
        }
    }
}

/// git-credential's OPERATION: any word (git may add operations; those are ignored),
/// with the ones git sends today offered to shell completion.
#[derive(Clone)]
struct OperationParser;

impl clap::builder::TypedValueParser for OperationParser {
    type Value = String;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        Ok(value.to_string_lossy().into_owned())
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            crate::git_credential::OPERATIONS
                .iter()
                .map(|op| clap::builder::PossibleValue::new(*op)),
        ))
    }
}
