//! `migrate`: move W&B keys from netrc into the keychain. A netrc entry is removed only
//! after its key was stored in the keychain and read back identical.

use super::args::StoreArg;
use anyhow::bail;
use clap::Args;

use super::Context;
use super::output::{say, warn};
use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;
use crate::service::Migrated;
use zeroize::Zeroizing;

use super::plaintext;

/// Move W&B keys from netrc into the keychain (or the kernel keyring).
///
/// Keys go where `login` would put them: the keychain, or on Linux without one the
/// kernel keyring. Each key is stored there and read back before its netrc entry is
/// removed; nothing is removed from netrc unless that round trip succeeded. Run
/// `setup-python` first in each Python environment: afterwards, migrate names every
/// `wandb` on PATH (and pipx or uv tool environment) that has no hook and so no key.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred migrate --all
  wandb-cred migrate --host https://wandb.example.com --keep-netrc
  wandb-cred migrate --profile work  # into the profile work
  wandb-cred migrate --replace     # netrc's newer key replaces the stored one")]
pub struct MigrateArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
    /// Move the key for this server (default: the server in use).
    #[arg(
        long,
        visible_alias = "base-url",
        value_name = "URL",
        conflicts_with = "all"
    )]
    pub(super) host: Option<String>,
    /// Move every netrc entry that holds a W&B key (`login user` and a valid key), each
    /// into its server's default profile.
    #[arg(long)]
    pub(super) all: bool,
    #[command(flatten)]
    pub(super) profile: super::args::ProfileArg,
    /// Leave the netrc entries in place (copy instead of move).
    #[arg(long)]
    pub(super) keep_netrc: bool,
    /// Take netrc's key even where a different one is stored off disk (after the SDK's
    /// `wandb login --relogin` wrote a newer key to netrc); the stored one is replaced.
    #[arg(long)]
    pub(super) replace: bool,
}

pub fn run(ctx: &Context, args: MigrateArgs) -> anyhow::Result<()> {
    for removed in plaintext::sweep_interrupted_writes(ctx) {
        warn(removed);
    }
    if args.all && args.profile.profile.is_some() {
        return Err(super::Exit {
            code: 2,
            message: "--profile names one server's key: use --host, not --all".to_owned(),
        }
        .into());
    }
    let urls = if args.all {
        let (mut urls, unknown) = every_netrc_server(ctx)?;
        urls.extend(in_the_other_store(ctx, &urls)?);
        for machine in unknown {
            warn(format_args!(
                "skipped {machine}: cannot tell whether it is served over http or https; run `wandb-cred migrate --host URL`"
            ));
        }
        urls
    } else {
        vec![ctx.base_url(args.host.as_deref())?.0]
    };
    let replaced = if args.replace {
        replace_with_netrc_keys(ctx, &urls)?
    } else {
        Vec::new()
    };
    // A key `--replace` just stored has left netrc already: nothing more to move for it.
    let urls: Vec<BaseUrl> = urls.into_iter().filter(|u| !replaced.contains(u)).collect();
    let mut results = if urls.is_empty() {
        Vec::new()
    } else {
        ctx.service()
            .migrate(&urls, &ctx.netrc_path, args.keep_netrc)?
    };
    if args.all {
        results.extend(settings_keys(ctx, args.keep_netrc)?);
    }
    if results.is_empty() && replaced.is_empty() {
        say(format_args!(
            "No W&B keys in {} or the settings files to move.",
            ctx.netrc_path.display()
        ));
    }
    let failed = results.iter().filter(|r| !r.ok).count();
    for result in &results {
        if result.ok {
            say(&result.message);
        } else {
            warn(&result.message);
        }
    }
    if args.all {
        shell_exports(ctx);
    }
    if !args.keep_netrc && results.iter().any(|r| r.ok) {
        environments_left_without_a_key(ctx);
    }
    if failed > 0 {
        bail!(
            "{failed} of {} keys were not moved; the files that hold them are unchanged",
            results.len()
        );
    }
    Ok(())
}

/// `--replace`: where netrc holds a different key than the off-disk store, netrc's
/// goes into the store (the plaintext copy is then removed, or kept with the rest by
/// `migrate` itself when `--keep-netrc` is given: the store's copy is the same key).
fn replace_with_netrc_keys(ctx: &Context, urls: &[BaseUrl]) -> anyhow::Result<Vec<BaseUrl>> {
    let service = ctx.service();
    let mut replaced = Vec::new();
    if !service.backend().off_disk() {
        bail!("--replace needs a keychain or kernel keyring to put netrc's key into");
    }
    for url in urls {
        let Some(copy) = ctx.netrc().named_key(url)? else {
            continue;
        };
        if let Some(found) = service.get(url, None)?
            && found.key != copy.key
        {
            let stored = service.store(url, &copy.key, &ctx.netrc_path)?;
            let removed = if stored.removed_plaintext {
                " Removed it from netrc."
            } else {
                ""
            };
            say(format_args!(
                "{}: netrc's key ({}, {}) replaced {} in {}.{removed}",
                url.netloc(),
                copy.key.masked(),
                copy.location,
                found.key.masked(),
                stored.location
            ));
            replaced.push(url.clone());
        }
    }
    Ok(replaced)
}

/// `api_key` in the settings files belongs to the configured server: each is stored
/// off disk for it and read back, then its line is removed (kept with `keep`). A
/// different key already stored for that server is left alone, as for netrc.
fn settings_keys(ctx: &Context, keep: bool) -> anyhow::Result<Vec<Migrated>> {
    let mut results = Vec::new();
    let home = ctx.env.home.as_deref();
    let service = ctx.service();
    // Asked once, and only when a settings file holds a key.
    let target = std::cell::OnceCell::new();
    for file in [&ctx.settings.workspace, &ctx.settings.system] {
        let Some(setting) = file.get("api_key") else {
            continue;
        };
        let place = format!(
            "api_key in {} (line {})",
            plaintext::short_path(setting.path, home),
            setting.line
        );
        let Ok(key) = ApiKey::parse(Zeroizing::new(setting.value.to_owned())) else {
            continue;
        };
        let (url, off_disk) = match target.get() {
            Some(known) => known,
            None => {
                let (url, _) = ctx.base_url(None)?;
                target.get_or_init(|| (url, service.backend().off_disk()))
            }
        };
        let result = match service.get(url, None)? {
            Some(found) if found.key != key => Migrated {
                url: url.to_string(),
                ok: false,
                message: format!(
                    "{place}: {} already holds a different key ({}) for {url}; both were left alone (to keep the settings key instead: `{}` with it on standard input, then remove the line)",
                    found.location,
                    found.key.masked(),
                    super::lookup::login_command(ctx, url, " -")
                ),
            },
            _ if !*off_disk => Migrated {
                url: url.to_string(),
                ok: false,
                message: format!("{place}: there is no keychain or kernel keyring to move it to"),
            },
            found => {
                let stored = match found {
                    Some(found) => found.location,
                    None => service.store(url, &key, &ctx.netrc_path)?.location,
                };
                let removed = if keep { false } else { file.remove("api_key")? };
                let tail = if removed { " Removed the line." } else { "" };
                Migrated {
                    url: url.to_string(),
                    ok: true,
                    message: format!("{place}: stored in {stored} for {url}.{tail}"),
                }
            }
        };
        results.push(result);
    }
    Ok(results)
}

/// The environments that found their key in netrc and cannot read where it went: each
/// `wandb` whose Python has no hook (its next `wandb login` writes plaintext again).
fn environments_left_without_a_key(ctx: &Context) {
    use crate::sdk_environments::Verdict;
    for found in crate::sdk_environments::find(&ctx.env) {
        let python = found.python.display();
        match found.verdict() {
            Verdict::Unhooked(_) => warn(format_args!(
                "{} (Python {python}) read the key from netrc and has no wandb-cred hook: its programs now find no key, and its `wandb login` writes plaintext again; run `wandb-cred setup-python --python {python}`",
                found.found_as
            )),
            Verdict::TooOld(facts) => warn(format_args!(
                "{} (Python {python}) read the key from netrc, and its wandb {} is older than the wandb-cred hook serves: upgrade it (`{python} -m pip install -U wandb`)",
                found.found_as,
                facts.wandb.as_deref().unwrap_or("?")
            )),
            _ => {}
        }
    }
}

/// wandb-cred never edits shell files: each line that exports a plaintext key is named,
/// with what to do.
fn shell_exports(ctx: &Context) {
    let exports: Vec<_> = plaintext::find(ctx, false)
        .into_iter()
        .filter(|f| matches!(f.kind, plaintext::Kind::Export))
        .collect();
    if exports.is_empty() {
        return;
    }
    let url = ctx.base_url(None).ok().map(|(url, _)| url);
    let home = ctx.env.home.as_deref();
    for (finding, fix) in plaintext::with_fixes(ctx, url.as_ref(), exports) {
        warn(format_args!(
            "{} is a plaintext key; {fix}",
            finding.describe(home)
        ));
    }
}

/// The keys readers find in an off-disk store other than the one `login` writes to
/// (the kernel keyring once the encrypted file is chosen), by account: `--all` moves
/// them too.
fn in_the_other_store(ctx: &Context, already: &[BaseUrl]) -> anyhow::Result<Vec<BaseUrl>> {
    let service = ctx.service();
    let Some(primary) = service.backend().name else {
        return Ok(Vec::new());
    };
    Ok(service
        .list(&ctx.netrc_path)?
        .into_iter()
        .filter(|l| l.layer.off_disk() && l.layer.name() != primary)
        .filter_map(|l| BaseUrl::from_account(&l.server).ok())
        .filter(|u| !already.contains(u))
        .collect())
}

/// Every netrc machine holding a W&B key, as server URLs. A machine's scheme is only
/// known when some configured URL (environment, settings, the cloud by either of its
/// names) names it.
fn every_netrc_server(ctx: &Context) -> anyhow::Result<(Vec<BaseUrl>, Vec<String>)> {
    let configured = [
        ctx.env.var("WANDB_BASE_URL"),
        ctx.settings.workspace_value("base_url").map(|s| s.value),
        ctx.settings.system_value("base_url").map(|s| s.value),
    ];
    let mut known = vec![BaseUrl::default_cloud()];
    known.extend(
        configured
            .into_iter()
            .flatten()
            .filter_map(|u| BaseUrl::parse(u).ok()),
    );
    let mut urls = Vec::new();
    let mut unknown = Vec::new();
    for machine in ctx.netrc().wandb_machines()? {
        match known.iter().find(|u| u.netrc_names().contains(&machine)) {
            // A cloud's two names are one server, moved once.
            Some(url)
                if urls
                    .iter()
                    .any(|u: &BaseUrl| u.identity() == url.identity()) => {}
            // Into the profile a command would choose (netrc holds the default's key).
            Some(url) => urls.push(url.clone().with_profile(ctx.profile(url).0.as_deref())?),
            None => unknown.push(machine),
        }
    }
    Ok((urls, unknown))
}
