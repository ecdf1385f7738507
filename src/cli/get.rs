//! `get`: the key for a server on stdout, by the documented precedence, never prompting.

use std::io::Write;

use anyhow::bail;

use super::{Context, HostArgs};

pub fn run(ctx: &Context, args: HostArgs) -> anyhow::Result<()> {
    let (url, _) = ctx.base_url(args.host.as_deref())?;
    let Some(found) = ctx.stored_key(&url)? else {
        bail!(
            "no API key for {} ({url}); run `wandb-cred login` first",
            url.netloc()
        );
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", found.key.expose())?;
    out.flush()?;
    Ok(())
}
