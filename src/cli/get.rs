//! `get`: the key for a server on stdout, by the documented precedence, never prompting.

use std::io::Write;

use anyhow::bail;

use super::{Context, HostArgs};
use crate::key::ApiKey;

pub fn run(ctx: &Context, args: HostArgs) -> anyhow::Result<()> {
    print(&key(ctx, args.host.as_deref())?)
}

/// The key `get` prints for `host` (or the configured server).
pub fn key(ctx: &Context, host: Option<&str>) -> anyhow::Result<ApiKey> {
    let (url, _) = ctx.base_url(host)?;
    let Some(found) = ctx.stored_key(&url)? else {
        bail!(
            "no API key for {} ({url}); run `wandb-cred login` first",
            url.netloc()
        );
    };
    Ok(found.key)
}

pub fn print(key: &ApiKey) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", key.expose())?;
    out.flush()?;
    Ok(())
}
