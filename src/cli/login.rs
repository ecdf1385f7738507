//! `login`: resolve the server and the key as documented, optionally verify, store,
//! then remember the server in the settings files.

use anyhow::{Context as _, bail};
use clap::Args;
use zeroize::Zeroizing;

use super::Context;
use super::args::StoreArg;
use super::output::{say, warn};
use crate::key::ApiKey;
use crate::prompt;
use crate::resolve::base_url::{BaseUrl, DEFAULT_BASE_URL};
use crate::resolve::credential::{KeySource, Resolved};
use crate::resolve::precedence::UrlSource;
use crate::secret_input::{self, WipingReader};
use crate::service::{KeyService, Layer};
use crate::verify;

/// Authenticate this machine with W&B: store an API key (as `wandb login` does).
///
/// Without KEY the key is looked up in this order: the WANDB_API_KEY environment
/// variable, the keychain, the kernel keyring (Linux), `api_key` in the workspace or
/// system settings file, the netrc file ($NETRC, ~/.netrc, ~/_netrc), and finally a
/// hidden prompt if a terminal is available. New keys go to the keychain; on Linux
/// without one, to the kernel keyring; and to netrc only where neither exists. By
/// default keys are stored without asking the server (see --verify).
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred login                                  # asks for the key (hidden)
  wandb-cred login --host https://wandb.example.com # a self-hosted server
  pass show wandb | wandb-cred login -              # the key from another program
  wandb-cred login --verify                         # check it with the server first")]
pub struct LoginArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
    #[command(flatten)]
    pub(super) profile: super::args::ProfileArg,
    /// Log in to the W&B public cloud (https://api.wandb.ai). Not with --host.
    #[arg(long)]
    pub(super) cloud: bool,
    /// Log in to a specific W&B server by URL, e.g. https://wandb.example.com. Not with --cloud.
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    pub(super) host: Option<String>,
    /// Ask for a new key even if one is already configured.
    #[arg(long)]
    pub(super) relogin: bool,
    /// Check the key with the server before storing it, and show who it belongs to.
    /// Without --profile, a new key is stored as the profile of its entity.
    #[arg(long)]
    pub(super) verify: bool,
    /// The API key (implies --relogin); `-` reads it from standard input. Arguments are
    /// visible to other local users in the process list: prefer the prompt or `-`.
    #[arg(value_name = "KEY")]
    pub(super) key: Vec<String>,
    /// For wandb-cred's Python hook: the key the W&B SDK was about to write to netrc,
    /// on standard input. Never prompts and never changes the default server; on
    /// failure, says that the program goes on with the key and how to keep it.
    #[arg(long, hide = true, conflicts_with_all = ["cloud", "relogin", "verify", "key"])]
    pub(super) from_sdk: bool,
}

/// The SDK's message when there is no key and nobody to ask, naming this tool (the SDK's
/// `wandb login` would store the key in plaintext).
pub const NO_KEY: &str = "No API key configured. Use `wandb-cred login` to log in (or `wandb-cred login -` to read the key from standard input).";

pub fn run(ctx: &Context, args: LoginArgs) -> anyhow::Result<()> {
    if args.cloud && args.host.is_some() {
        bail!("Cannot use --host and --cloud together.");
    }
    let flag = if args.cloud {
        Some(DEFAULT_BASE_URL)
    } else {
        args.host.as_deref()
    };
    let (mut url, url_source) = ctx.base_url(flag)?;
    if args.from_sdk {
        return from_sdk(ctx, &url);
    }
    let http = http_options(ctx)?;

    if args.key.len() > 1 {
        warn(format_args!(
            "using the first KEY argument and ignoring the other {} (`wandb login` ignores them without a word)",
            args.key.len() - 1
        ));
    }
    let explicit = match args.key.first().map(String::as_str) {
        // `-` at a terminal: the hidden prompt (reading the line would echo the key).
        Some("-") if std::io::IsTerminal::is_terminal(&std::io::stdin()) => Some(ask(ctx, &url)?),
        Some("-") => Some(key_from_stdin()?),
        Some(text) => Some(Resolved {
            key: ApiKey::parse(Zeroizing::new(text.to_owned()))
                .context("the API key given on the command line is not valid")?,
            source: KeySource::Argument,
        }),
        None => None,
    };
    let mut store_env_key = false;
    let resolved = match explicit {
        Some(resolved) => resolved,
        None if args.relogin => ask(ctx, &url)?,
        None => match ctx.stored_key(&url)? {
            Some(found) if found.source == KeySource::Env && !is_stored(ctx, &url)? => {
                store_env_key = offer_env_key(ctx, &url, &found.key)?;
                found
            }
            Some(found) => found,
            None => ask(ctx, &url)?,
        },
    };

    if args.verify {
        let viewer = verify::viewer(&url, &resolved.key, &http)
            .map_err(|e| anyhow::anyhow!("{e}; the key was not stored, and nothing was changed"))?;
        let who = viewer
            .username
            .as_deref()
            .or(viewer.email.as_deref())
            .unwrap_or("an unnamed user");
        say(format_args!("Logged in to {url} as {who}."));
        if let Some(entity) = &viewer.entity {
            say(format_args!("Default team (entity): {entity}"));
        }
        if !viewer.teams.is_empty() {
            say(format_args!("Teams: {}", viewer.teams.join(", ")));
        }
        say(format_args!(
            "API key ({}) from {}.",
            resolved.key.masked(),
            resolved.source
        ));
        if resolved.source.is_new()
            && let Some(named) = name_by_entity(ctx, &url, viewer.entity.as_deref())
        {
            url = named;
        }
        crate::store::identity_record::remember(&url, &resolved.key, &viewer);
    }

    let mut in_keychain = false;
    if resolved.source.is_new() || store_env_key {
        in_keychain = store_key(ctx, &url, &resolved.key)?.off_disk();
        warn_about_overrides(ctx);
    } else if resolved.source == KeySource::Env {
        // offer_env_key said what there is to say.
    } else if !args.verify {
        say(format_args!(
            "Already logged in to {url} with the API key ({}) from {}. Use --relogin to enter another.",
            resolved.key.masked(),
            resolved.source
        ));
    }

    remember_server(ctx, &url, &url_source, args.cloud)?;
    if resolved.source.is_new() {
        first_profile_is_the_default(ctx, &url)?;
    }
    if in_keychain && !hook_active(ctx) {
        say(
            "The W&B SDK does not read wandb-cred's stores: run `wandb-cred setup-python` once per Python environment (then `python train.py`, Jupyter and `wandb agent` there find the key), or start programs with `wandb-cred exec -- python train.py`.",
        );
    }
    Ok(())
}

/// `login --from-sdk`: the hook hands over the key the SDK would have written to netrc
/// (`wandb login`, `wandb.login(key=...)`, a key prompt). It replaces the stored key of
/// the server (and profile) the SDK named; the SDK's own settings say which server is
/// the default, so none is remembered here.
fn from_sdk(ctx: &Context, url: &BaseUrl) -> anyhow::Result<()> {
    let resolved = key_from(secret_input::stdin())?;
    if let Err(error) = store_key(ctx, url, &resolved.key) {
        bail!(
            "the API key for {} was not kept ({error:#}); this program uses it until it ends. To keep it: `{}`",
            url.netloc(),
            super::lookup::login_command(ctx, url, " --relogin")
        );
    }
    first_profile_is_the_default(ctx, url)?;
    warn_about_overrides(ctx);
    Ok(())
}

/// Whether the Python on PATH (or the active environment's) runs wandb-cred's hook, so
/// `python train.py` finds the key already and the hint to set it up is noise.
fn hook_active(ctx: &Context) -> bool {
    let interpreter = crate::python_env::Interpreter::choose(&ctx.env, None);
    crate::python_env::probe(&interpreter)
        .is_ok_and(|facts| facts.hook.is_some_and(|hook| hook.active))
}

/// A new key given no profile name (no `--profile`, `WANDB_CRED_PROFILE` or matching
/// entity) is named by the entity the server said it belongs to: the profile already
/// holding that entity's key, else a new profile of that name. So a second account's key
/// never replaces the first's. netrc keeps its one unnamed key.
fn name_by_entity(ctx: &Context, url: &BaseUrl, entity: Option<&str>) -> Option<BaseUrl> {
    use super::profiles::Source;
    let entity = entity.filter(|e| crate::resolve::base_url::valid_profile(e))?;
    if !matches!(ctx.profile(url).1, Source::Default | Source::Unnamed)
        || ctx.forwarded_session().is_some()
        || !ctx.service().backend().off_disk()
    {
        return None;
    }
    let name = crate::store::identity_record::profile_of_entity(url, entity)
        .unwrap_or_else(|| entity.to_owned());
    let named = url.clone().with_profile(Some(&name)).ok()?;
    if named != *url {
        say(format_args!(
            "The key belongs to {entity}: storing it as profile {}; `--profile NAME` names it otherwise.",
            named.profile().unwrap_or("default")
        ));
    }
    Some(named)
}

/// The first profile stored for a server with no unnamed key becomes its default.
fn first_profile_is_the_default(ctx: &Context, url: &BaseUrl) -> anyhow::Result<()> {
    let Some(profile) = url.profile() else {
        return Ok(());
    };
    if super::profiles::default_of(url).is_some() {
        return Ok(());
    }
    let unnamed = url.clone().with_profile(None)?;
    if ctx
        .service()
        .get(&unnamed, Some(&ctx.netrc_path))?
        .is_none()
    {
        super::profiles::set_default(url, Some(profile));
        say(format_args!(
            "Profile {profile} is the default for {}; `wandb-cred switch NAME` changes it.",
            url.netloc()
        ));
    }
    Ok(())
}

/// Whether any store (netrc included) holds a key for `url`.
fn is_stored(ctx: &Context, url: &BaseUrl) -> anyhow::Result<bool> {
    Ok(ctx.service().get(url, Some(&ctx.netrc_path))?.is_some())
}

/// A key that lives only in `WANDB_API_KEY` is not logged in: programs started without
/// that variable find none. At a terminal, offers to store it (returns the answer);
/// elsewhere says how.
fn offer_env_key(ctx: &Context, url: &BaseUrl, key: &ApiKey) -> anyhow::Result<bool> {
    say(format_args!(
        "WANDB_API_KEY holds an API key ({}) for {url}, but none is stored: programs started without that variable find no key.",
        key.masked()
    ));
    if prompt::available(&ctx.env) {
        let backend = ctx.service().backend();
        let into = backend.name.as_deref().unwrap_or("the store");
        return Ok(prompt::confirm(&format!("Store it ({into})?"))?);
    }
    say(format_args!(
        "To store it: `printenv WANDB_API_KEY | wandb-cred login{} -`",
        host_flag(ctx, url)
    ));
    Ok(false)
}

/// ` --host URL` when `url` is not the configured server, for commands to show.
fn host_flag(ctx: &Context, url: &BaseUrl) -> String {
    if ctx.is_configured(url) {
        String::new()
    } else {
        format!(" --host {url}")
    }
}

/// Stores the key where the backend says, saying where and, for netrc, why, and which
/// key it replaced. A key put into the keychain leaves no plaintext copy for that
/// server behind in netrc.
fn store_key(ctx: &Context, url: &BaseUrl, key: &ApiKey) -> anyhow::Result<Layer> {
    let netloc = url.netloc();
    // The daemon may have gone away while the key was typed at the prompt: the key is
    // not lost for that, this process stores it.
    let local = std::cell::OnceCell::new();
    let service = |e: &crate::service::ServiceError| -> &dyn KeyService {
        if crate::client::lost(e) {
            warn(format_args!("{e}; storing the key without it"));
        }
        local.get_or_init(|| ctx.local_service())
    };
    let netrc = Some(ctx.netrc_path.as_path());
    // Through a forwarded socket a store is refused: ask for no key there.
    let before = match ctx.forwarded_session() {
        Some(_) => None,
        None => match ctx.service().get(url, netrc) {
            Err(e) if crate::client::lost(&e) => service(&e).get(url, netrc)?,
            before => before?,
        },
    };
    let stored = match local.get() {
        Some(local) => local.store(url, key, &ctx.netrc_path)?,
        None => match ctx.service().store(url, key, &ctx.netrc_path) {
            Err(e) if crate::client::lost(&e) => service(&e).store(url, key, &ctx.netrc_path)?,
            stored => stored?,
        },
    };
    match (stored.layer, &stored.why) {
        (Layer::Netrc, Some(why)) => {
            say(format_args!(
                "Stored the API key for {netloc} in {} (plaintext; {why}).",
                stored.location
            ));
            if ctx.backend_choice == crate::store::backend::BackendChoice::Auto {
                say(
                    "To keep keys encrypted here instead (a passphrase, unlocked once per restart): `wandb-cred config backend encrypted-file`, `wandb-cred unlock`, then log in again.",
                );
            }
        }
        (_, Some(lasts)) => say(format_args!(
            "Stored the API key for {netloc} in {}; {lasts}.",
            stored.location
        )),
        _ => say(format_args!(
            "Stored the API key for {netloc} in {}.",
            stored.location
        )),
    }
    if let Some(old) = before.filter(|old| old.key != *key) {
        say(format_args!(
            "It replaced the API key {} (from {}).",
            old.key.masked(),
            old.location
        ));
    }
    let stale = super::push_record::stale(url, key);
    if !stale.is_empty() {
        let machines: Vec<String> = stale.iter().map(|c| c.describe()).collect();
        say(format_args!(
            "Still holding an older key for {netloc} (copied there by push): {}. `wandb-cred push --again{}` sends them this one.",
            machines.join(", "),
            host_flag(ctx, url)
        ));
    }
    if stored.removed_plaintext {
        say(format_args!(
            "Removed the old plaintext key for {netloc} from {}.",
            ctx.netrc_path.display()
        ));
    }
    Ok(stored.layer)
}

/// `login -`: one line from standard input, so the key never shows in a process list.
fn key_from_stdin() -> anyhow::Result<Resolved> {
    key_from(secret_input::stdin())
}

/// The most `login -` reads: far more than any key with its whitespace.
const MAX_KEY_LINE: usize = 4096;

fn key_from(input: impl std::io::Read) -> anyhow::Result<Resolved> {
    let mut line = Zeroizing::new(Vec::new());
    secret_input::read_line(&mut WipingReader::new(input), MAX_KEY_LINE, &mut line)
        .context("cannot read the API key from standard input")?;
    let text = std::str::from_utf8(&line)
        .map_err(|_| anyhow::anyhow!("the API key read from standard input is not UTF-8 text"))?;
    let key =
        ApiKey::parse_typed(text).context("the API key read from standard input is not valid")?;
    Ok(Resolved {
        key,
        source: KeySource::Stdin,
    })
}

/// The hidden prompt, or the SDK's error when no terminal can show it. A backend that
/// cannot take the key (a locked keychain) is an error before anything is asked, so no
/// paste is wasted.
fn ask(ctx: &Context, url: &BaseUrl) -> anyhow::Result<Resolved> {
    if !prompt::available(&ctx.env) {
        bail!(NO_KEY);
    }
    let backend = ctx.service().backend();
    if backend.name.is_none() {
        bail!("{}; nothing was asked or stored", backend.detail);
    }
    let app_url = ctx
        .env
        .var("WANDB_APP_URL")
        .map(|u| u.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| url.app_url());
    match prompt::ask_key(&app_url).context("cannot read the API key from the terminal")? {
        Some(key) => Ok(Resolved {
            key,
            source: KeySource::Prompt,
        }),
        None => bail!("no API key entered"),
    }
}

/// Keys that take precedence over the one just stored would hide it from every reader.
fn warn_about_overrides(ctx: &Context) {
    if ctx.env.api_key().is_some() {
        warn("WANDB_API_KEY is set in this environment and takes precedence over the stored key.");
    }
    if let Some(setting) = ctx.settings.value("api_key") {
        warn(format_args!(
            "api_key in {} (line {}) takes precedence over the stored key.",
            setting.path.display(),
            setting.line
        ));
    }
}

/// After a successful login: `--host URL` is remembered in the system settings file
/// (and dropped from the workspace file); `--cloud` or the default URL forgets any
/// server. A URL from `WANDB_BASE_URL` or the files is left as it is.
fn remember_server(
    ctx: &Context,
    url: &BaseUrl,
    source: &UrlSource,
    cloud: bool,
) -> anyhow::Result<()> {
    if *source != UrlSource::Flag {
        return Ok(());
    }
    if cloud || url.is_default() {
        if ctx.settings.clear_base_url()? {
            say("The settings files no longer name a server; the public cloud is the default.");
        }
    } else {
        ctx.settings.persist_base_url(url.as_str())?;
        say(format_args!(
            "{url} is now the default server (base_url in {}).",
            ctx.settings.system.path.display()
        ));
    }
    Ok(())
}

/// For `--verify`: `WANDB_HTTP_TIMEOUT` (seconds, or a duration such as `500ms`), else
/// the SDK's 10 s; and the CA bundles the environment names (see [`crate::trust`]).
pub(super) fn http_options(ctx: &Context) -> anyhow::Result<verify::HttpOptions> {
    let timeout = match ctx.env.var("WANDB_HTTP_TIMEOUT") {
        None => verify::DEFAULT_TIMEOUT,
        Some(text) => {
            crate::duration::parse(text).map_err(|e| anyhow::anyhow!("WANDB_HTTP_TIMEOUT: {e}"))?
        }
    };
    let roots = crate::trust::roots(&ctx.env)?;
    Ok(verify::HttpOptions { timeout, roots })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_read_from_stdin_leaves_no_copy_in_freed_memory() {
        const KEY: &[u8] = b"0123456789abcdef0123456789abcdef01234567";
        let mut text = b"  ".to_vec();
        text.extend_from_slice(KEY);
        // Trailing blanks (trimmed) make a line that outgrows buffers holding the key.
        text.extend_from_slice(&[b' '; 200]);
        text.push(b'\n');
        crate::test_alloc::watch(KEY);
        let resolved = key_from(crate::secret_input::Trickle(&text)).unwrap();
        assert_eq!(resolved.key.expose().as_bytes(), KEY);
        drop(resolved);
        assert_eq!(crate::test_alloc::stop(), 0, "freed memory held the key");
    }

    #[test]
    fn bad_stdin_is_named_without_echoing_it() {
        let error = key_from(&b"\xff\xfe-not-text\n"[..]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the API key read from standard input is not UTF-8 text"
        );
        let error = key_from(&b"short-but-secret\n"[..]).unwrap_err();
        let shown = format!("{error:#}");
        assert!(shown.starts_with("the API key read from standard input is not valid"));
        assert!(!shown.contains("short-but-secret"), "{shown}");
    }
}
