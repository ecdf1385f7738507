//! `doctor`'s key checks: the key found for the server (with a fix that works in the
//! state found) and, with `--verify`, the server's answer to it.

use crate::cli::context::Context;
use crate::resolve::base_url::BaseUrl;
use crate::resolve::credential::Resolved;

use super::files::{SEE_NETRC, netrc_already_said};
use super::report::{Report, Status};

/// The key check; with the fix of a key that cannot be read (a locked keychain, a
/// broken WANDB_API_KEY), which the SDK check repeats rather than suggest a login.
pub(super) fn check_key(
    ctx: &Context,
    url: &BaseUrl,
    netrc_broken: bool,
    report: &mut Report,
) -> (Option<Resolved>, Option<String>) {
    match ctx.stored_key(url) {
        Ok(Some(resolved)) => {
            report.add(
                "key",
                Status::Ok,
                format!(
                    "{} for {} from {}",
                    resolved.key.masked(),
                    url.netloc(),
                    resolved.source
                ),
            );
            (Some(resolved), None)
        }
        Ok(None) => {
            report.fix(
                "key",
                Status::Failed,
                format!("no API key for {} ({url})", url.netloc()),
                crate::cli::lookup::login_command(ctx, url, ""),
            );
            (None, None)
        }
        Err(e) if netrc_already_said(ctx, netrc_broken, &format!("{e:#}")) => {
            report.fix(
                "key",
                Status::Failed,
                format!(
                    "cannot look up the API key for {}: the netrc file cannot be read (see the netrc check)",
                    url.netloc()
                ),
                SEE_NETRC,
            );
            (None, Some(SEE_NETRC.to_owned()))
        }
        Err(e) => {
            let fix = key_fix(ctx, url, &e);
            report.fix("key", Status::Failed, format!("{e:#}"), fix.clone());
            (None, Some(fix))
        }
    }
}

/// A fix for a key that cannot be used that works in that state: the variable that
/// outranks everything goes, the settings line is named, a locked keychain is unlocked
/// first, and a broken stored key is replaced.
pub(super) fn key_fix(ctx: &Context, url: &BaseUrl, error: &anyhow::Error) -> String {
    use crate::resolve::credential::ResolveError;
    use crate::service::{ErrorKind, ServiceError};
    if ctx.env.api_key().is_some() {
        return "unset WANDB_API_KEY (it outranks every stored key, so no login can help while it is set)".to_owned();
    }
    let service = error.chain().find_map(|cause| {
        cause
            .downcast_ref::<ServiceError>()
            .or(match cause.downcast_ref::<ResolveError>() {
                Some(ResolveError::Service(e)) => Some(e),
                _ => None,
            })
    });
    if let Some(e) = service {
        return match e.kind {
            ErrorKind::Locked if ctx.backend_choice == crate::store::backend::BackendChoice::EncryptedFile => {
                "`wandb-cred unlock` opens the encrypted store (over SSH: `ssh -t HOST wandb-cred unlock`)".to_owned()
            }
            ErrorKind::Locked => {
                "unlock the keychain (the message above says how), then `wandb-cred reload`"
                    .to_owned()
            }
            ErrorKind::Timeout => {
                "the keychain does not answer: unlock or restart it, then `wandb-cred reload`"
                    .to_owned()
            }
            _ => "read the message above; `wandb-cred reload` once it is dealt with".to_owned(),
        };
    }
    if let Some(setting) = ctx.settings.value("api_key") {
        return format!(
            "fix or remove `api_key` in {} (line {})",
            setting.path.display(),
            setting.line
        );
    }
    let lookup = crate::cli::lookup::login_command;
    format!(
        "replace the stored key: `{}` (or `{}` to read it from standard input)",
        lookup(ctx, url, " --relogin"),
        lookup(ctx, url, " -")
    )
}

pub(super) fn check_verify(ctx: &Context, url: &BaseUrl, key: &Resolved, report: &mut Report) {
    let outcome = crate::cli::login::http_options(ctx)
        .and_then(|http| Ok(crate::verify::viewer(url, &key.key, &http)?));
    match outcome {
        Ok(viewer) => report.add(
            "verify",
            Status::Ok,
            format!(
                "{url} accepts the key ({})",
                viewer
                    .username
                    .as_deref()
                    .or(viewer.email.as_deref())
                    .unwrap_or("an unnamed user")
            ),
        ),
        Err(e) => report.fix(
            "verify",
            Status::Failed,
            format!("{e:#}"),
            "check the server URL and network, or store a new key with `wandb-cred login --relogin`",
        ),
    }
}
