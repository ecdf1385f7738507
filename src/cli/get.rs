//! `get`: the key for a server on stdout, by the documented precedence, never prompting;
//! with `--env`, the variables `exec` sets, for programs.

use std::io::Write;

use anyhow::bail;

use super::{Context, GetArgs, exec};
use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;

pub fn run(ctx: &Context, args: GetArgs) -> anyhow::Result<()> {
    if args.env {
        let (url, _) = ctx.base_url(args.host.as_deref())?;
        return match ctx.stored_key(&url)? {
            Some(found) => print_env(&url, &found.key),
            // Nothing, silently, only when no key was ever stored for this server here:
            // a key that should be there (cleared by a restart, stored on another
            // machine) is an error, as for `get`, so a program's hook never stays quiet.
            None if should_have_key(ctx, &url) => bail!(no_key(ctx, &url)),
            None => Ok(()),
        };
    }
    print(&key(ctx, args.host.as_deref())?)
}

/// The server for `host` (or the configured one) and its key, if one is stored.
pub fn lookup(ctx: &Context, host: Option<&str>) -> anyhow::Result<Option<(BaseUrl, ApiKey)>> {
    let (url, _) = ctx.base_url(host)?;
    Ok(ctx.stored_key(&url)?.map(|found| (url, found.key)))
}

/// The key `get` prints for `host` (or the configured server).
pub fn key(ctx: &Context, host: Option<&str>) -> anyhow::Result<ApiKey> {
    let (url, _) = ctx.base_url(host)?;
    let Some(found) = ctx.stored_key(&url)? else {
        bail!(no_key(ctx, &url));
    };
    Ok(found.key)
}

/// The "no key" error: why there is none when a kernel keyring had one (the machine
/// restarted, or it is another machine's), else to log in; and a netrc quote that is
/// never closed, which hides every entry after it.
pub fn no_key(ctx: &Context, url: &BaseUrl) -> String {
    let why = crate::store::record::why_missing(&url.account())
        .or_else(|| unreachable_keychain(ctx, url));
    let mut said = match why {
        Some(why) => format!("no API key for {} ({url}): {why}", url.netloc()),
        None => format!(
            "no API key for {} ({url}); run `wandb-cred login` first",
            url.netloc()
        ),
    };
    if let Ok(Some(line)) = ctx.netrc().unclosed_quote() {
        said.push_str(&format!(
            " (note: {}, line {line}, opens a quote (\") that is never closed: Python's netrc, and so the W&B SDK, read everything after it as one word, so no entry after that line counts; close or remove that quote)",
            ctx.netrc_path.display()
        ));
    }
    said
}

/// Whether a key for `url` was stored here and is missing or out of reach now (then
/// `get --env` fails instead of printing nothing).
fn should_have_key(ctx: &Context, url: &BaseUrl) -> bool {
    crate::store::record::why_missing(&url.account()).is_some()
        || unreachable_keychain(ctx, url).is_some()
}

/// When the record says this machine's desktop keychain holds the key but this session
/// uses another store (no desktop session: cron, ssh, `env -i`): why, and what reaches it.
fn unreachable_keychain(ctx: &Context, url: &BaseUrl) -> Option<String> {
    if !crate::store::record::in_keychain(&url.account()) {
        return None;
    }
    let backend = ctx.service().backend();
    if backend.name.as_deref() == Some(crate::service::Layer::Keychain.name()) {
        return None;
    }
    Some(format!(
        "it is in this machine's desktop keychain, which this session cannot reach ({}); run the command in the desktop session, let it reach that session's daemon (`export XDG_RUNTIME_DIR=/run/user/$(id -u)`), or start the program from a desktop shell with `wandb-cred exec`",
        backend.detail
    ))
}

pub fn print(key: &ApiKey) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", key.expose())?;
    out.flush()?;
    Ok(())
}

/// `NAME=VALUE` lines, one per variable `exec` sets. Neither a key nor a validated URL
/// holds a line break, so each line is one variable.
pub fn print_env(url: &BaseUrl, key: &ApiKey) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for (name, value) in exec::variables(url, key) {
        writeln!(out, "{name}={value}")?;
    }
    out.flush()?;
    Ok(())
}
