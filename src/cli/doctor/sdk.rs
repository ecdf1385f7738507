//! `doctor`'s SDK check: what the W&B SDK of the Python in use would find by itself,
//! and whether wandb-cred's hook gives it the key.

use std::path::Path;

use anyhow::Context as _;

use zeroize::Zeroizing;

use crate::cli::context::Context;
use crate::key::ApiKey;
use crate::python_env::{self, Interpreter};
use crate::resolve::base_url::BaseUrl;
use crate::resolve::credential::Resolved;
use crate::resolve::precedence::UrlSource;
use crate::resolve::sdk::SdkVersion;

use super::files::SEE_NETRC;
use super::report::{Report, Status};

/// The SDK version assumed when the installed one's cannot be read.
pub(super) const CURRENT_SDK: SdkVersion = SdkVersion::CURRENT;

/// What the W&B SDK installed for the Python in question would find by itself: that
/// version's default server, order of sources and netrc lookup, and its key rule; with
/// wandb-cred's hook installed there, the key `get` gives. Never the keychain directly.
pub(super) fn check_sdk(
    ctx: &Context,
    (url, source): (&BaseUrl, &UrlSource),
    (key, key_failure): (Option<&Resolved>, Option<&str>),
    python: Option<&Path>,
    report: &mut Report,
) {
    let interpreter = Interpreter::choose(&ctx.env, python);
    let again = match python {
        Some(p) => format!(" --python {}", p.display()),
        None => String::new(),
    };
    let facts = match python_env::probe(&interpreter) {
        Ok(facts) => facts,
        Err(e) => {
            return report.fix(
                "sdk",
                Status::Warning,
                format!(
                    "cannot tell what the W&B SDK finds ({}): {e}",
                    interpreter.chosen_because
                ),
                "name the Python your programs run with: `wandb-cred doctor --python PATH`",
            );
        }
    };
    let Some(version_text) = facts.wandb.clone() else {
        let detail = format!(
            "{}, {}, has no W&B SDK (package wandb)",
            facts.describe(),
            interpreter.chosen_because
        );
        let fix = "check the Python that has it: `wandb-cred doctor --python PATH`";
        // Only a Python named with --python was meant to have one; the environments
        // that do are found by the `python` checks.
        return if python.is_some() {
            report.fix("sdk", Status::Warning, detail, fix)
        } else {
            report.add("sdk", Status::Ok, format!("{detail}; {fix}"))
        };
    };
    let version = SdkVersion::parse(&version_text).unwrap_or(CURRENT_SDK);
    let sdk = format!("wandb {version_text} in {}", facts.describe());
    let hook = facts.hook.as_ref().filter(|h| h.active);
    let hook_note = match hook {
        Some(h) => format!("; the wandb-cred hook is installed ({})", h.path.display()),
        None => "; no wandb-cred hook".to_owned(),
    };
    if let Some(h) = hook
        && let Some(program) = &h.wandb_cred
        && !Path::new(program).is_file()
    {
        return report.fix(
            "sdk",
            Status::Warning,
            format!("{sdk}: the wandb-cred hook runs {program}, which is not there any more"),
            format!("`wandb-cred setup-python{again}` records this wandb-cred"),
        );
    }
    let upgrade = format!("`{} -m pip install -U wandb`", facts.executable.display());
    let old_sdk_fix = || match exec_advice(ctx, version, url, key) {
        Some(exec) => format!("{upgrade}, or {exec}"),
        None => upgrade.clone(),
    };
    if hook.is_some() && !version.takes_the_hook() {
        return report.fix(
            "sdk",
            Status::Warning,
            format!(
                "{sdk}: the wandb-cred hook supports wandb {} and later, so this SDK gets no key from it{hook_note}",
                SdkVersion::OLDEST_HOOKED
            ),
            old_sdk_fix(),
        );
    }
    // The server it uses: the one named (flag, environment, settings), else its default.
    let sdk_url = match source {
        UrlSource::Default => version.default_url(),
        _ => url.clone(),
    };
    let found = sdk_finds(
        ctx,
        version,
        &sdk_url,
        hook.is_some().then_some(key).flatten(),
    );
    let (from, sdk_key) = match found {
        Ok(Some(found)) => found,
        Ok(None) => {
            return match key {
                Some(_) if !version.takes_the_hook() => report.fix(
                    "sdk",
                    Status::Warning,
                    format!("{sdk} finds no key for {sdk_url} by itself (it does not read the keychain), and the wandb-cred hook supports wandb {} and later", SdkVersion::OLDEST_HOOKED),
                    old_sdk_fix(),
                ),
                Some(_) => report.fix(
                    "sdk",
                    Status::Warning,
                    format!("{sdk} finds no key for {sdk_url} by itself (it does not read the keychain): a bare `python train.py` prompts for one and writes it to netrc in plaintext{hook_note}"),
                    format!("`wandb-cred setup-python{again}` (then `python train.py` finds the key), or start programs with `wandb-cred exec -- python train.py`"),
                ),
                None => report.fix(
                    "sdk",
                    Status::Failed,
                    format!("neither {sdk} nor wandb-cred finds a key for {}", url.netloc()),
                    match key_failure {
                        // A login cannot help while wandb-cred's own key is unreadable.
                        Some(fix) => format!("first the key check's fix: {fix}"),
                        None => format!("{}, then `wandb-cred setup-python{again}`", crate::cli::lookup::login_command(ctx, url, "")),
                    },
                ),
            };
        }
        Err(e)
            if key_failure == Some(SEE_NETRC)
                && format!("{e:#}").contains(&ctx.netrc_path.display().to_string()) =>
        {
            return report.fix(
                "sdk",
                Status::Failed,
                format!("{sdk} cannot read the netrc file either (see the netrc check)"),
                SEE_NETRC,
            );
        }
        Err(e) => {
            return report.fix(
                "sdk",
                Status::Failed,
                format!("{sdk}: {e:#}"),
                "fix the line the message names (file and line above): the SDK cannot read that file as it is",
            );
        }
    };
    if let Some(why) = version.refuses(sdk_key.expose()) {
        // A pinned SDK may still take another profile's (legacy) key.
        let fix = match accepted_profile(ctx, version, url, &sdk_key) {
            Some(other) => format!("{upgrade}, or {}", exec_with(&other)),
            None => upgrade,
        };
        return report.fix(
            "sdk",
            Status::Failed,
            format!("{sdk} refuses the key from {from}: \"{why}\" (wandb_v1_ keys need wandb 0.22.3 or later)"),
            fix,
        );
    }
    match key {
        Some(ours) if ours.key != sdk_key => report.fix(
            "sdk",
            Status::Warning,
            format!(
                "{sdk} uses a different key ({}, from {from}) for {sdk_url} than wandb-cred ({}, from {}){hook_note}",
                sdk_key.masked(),
                ours.key.masked(),
                ours.source
            ),
            format!(
                "keep wandb-cred's ({}): `wandb-cred logout --backend netrc` removes the plaintext copy",
                ours.key.masked()
            ),
        ),
        _ => report.add(
            "sdk",
            Status::Ok,
            format!("{sdk} finds the key for {sdk_url} in {from}{hook_note}"),
        ),
    }
}

/// How `wandb-cred exec` gives an SDK too old for the hook a key it accepts: the key
/// this command uses, else another profile's (a legacy key for an SDK that refuses
/// `wandb_v1_` keys); `None` when no stored key would do.
fn exec_advice(
    ctx: &Context,
    version: SdkVersion,
    url: &BaseUrl,
    key: Option<&Resolved>,
) -> Option<String> {
    match key {
        Some(ours) if version.refuses(ours.key.expose()).is_some() => {
            accepted_profile(ctx, version, url, &ours.key).map(|other| exec_with(&other))
        }
        _ => Some("start programs with `wandb-cred exec -- python train.py`".to_owned()),
    }
}

fn exec_with(profile: &str) -> String {
    format!(
        "start programs with profile {profile}'s key, which it accepts: `wandb-cred exec --profile {profile} -- python train.py`"
    )
}

/// A profile of `url`'s server whose key `version` accepts (not `refused`), by name.
fn accepted_profile(
    ctx: &Context,
    version: SdkVersion,
    url: &BaseUrl,
    refused: &ApiKey,
) -> Option<String> {
    let service = ctx.service();
    service
        .list(&ctx.netrc_path)
        .ok()?
        .into_iter()
        .filter_map(|listed| BaseUrl::from_account(&listed.server).ok())
        .filter(|other| other.identity() == url.identity())
        .find_map(|other| {
            let found = service.get(&other, None).ok()??;
            (found.key != *refused && version.refuses(found.key.expose()).is_none())
                .then(|| other.profile().unwrap_or("default").to_owned())
        })
}

/// What a W&B SDK of this version would use when it starts with this environment: the
/// key and where it is from. `hook_key`: the key wandb-cred's hook would hand it.
pub(super) fn sdk_finds(
    ctx: &Context,
    version: SdkVersion,
    url: &BaseUrl,
    hook_key: Option<&Resolved>,
) -> anyhow::Result<Option<(String, ApiKey)>> {
    if let Some(key) = ctx.env.api_key() {
        return Ok(Some((
            "WANDB_API_KEY".to_owned(),
            ApiKey::parse(key.clone())?,
        )));
    }
    if ctx.env.var("WANDB_IDENTITY_TOKEN_FILE").is_none()
        && let Some(found) = hook_key
    {
        let from = format!("the wandb-cred hook ({})", found.source);
        return Ok(Some((from, found.key.clone())));
    }
    let from_settings = || -> anyhow::Result<Option<(String, ApiKey)>> {
        let Some(setting) = ctx.settings.value("api_key") else {
            return Ok(None);
        };
        let from = format!(
            "api_key in {} (line {})",
            setting.path.display(),
            setting.line
        );
        let key = ApiKey::parse(Zeroizing::new(setting.value.to_owned()))
            .with_context(|| from.clone())?;
        Ok(Some((from, key)))
    };
    let from_netrc = || -> anyhow::Result<Option<(String, ApiKey)>> {
        let found = ctx
            .netrc()
            .key_by(|netrc| version.netrc_entry(netrc, url))?;
        Ok(found.map(|f| (format!("netrc file {} (plaintext)", f.location), f.key)))
    };
    if version.reads_netrc_before_settings() {
        Ok(from_netrc()?.or(from_settings()?))
    } else {
        Ok(from_settings()?.or(from_netrc()?))
    }
}
