//! `doctor`'s file checks: the netrc file (readable, private, no unclosed quote) and a
//! plaintext copy of a key the keychain also holds.

use crate::cli::context::Context;
use crate::resolve::base_url::BaseUrl;
use crate::resolve::credential::Resolved;
use crate::resolve::precedence::UrlSource;

use super::report::{Report, Status};

/// The netrc check; whether the file is there but cannot be read (the later checks
/// then point here instead of repeating its error).
pub(super) fn check_netrc(ctx: &Context, report: &mut Report) -> bool {
    let path = ctx.netrc_path.display().to_string();
    let meta = match std::fs::metadata(&ctx.netrc_path) {
        Ok(meta) => meta,
        Err(_) => {
            report.add("netrc", Status::Ok, format!("{path} (absent)"));
            return false;
        }
    };
    match ctx.netrc().wandb_machines() {
        Err(e) => {
            let fix = if matches!(e, crate::store::StoreError::Parse { .. }) {
                "fix that line; wandb-cred never rewrites a netrc file it cannot read, and the SDK cannot read it either".to_owned()
            } else {
                format!(
                    "make {path} a plain file of yours, or remove it (or point NETRC at one); wandb-cred never rewrites a netrc file it cannot read"
                )
            };
            report.fix("netrc", Status::Failed, e.to_string(), fix);
            return true;
        }
        Ok(machines) => {
            let open_to_others = crate::sys::mode(&meta).is_some_and(|m| m & 0o077 != 0);
            if let Ok(Some(line)) = ctx.netrc().unclosed_quote() {
                report.fix(
                    "netrc",
                    Status::Warning,
                    format!(
                        "{path}, line {line}, opens a quote (\") that is never closed: Python's netrc, and so the W&B SDK, read everything after it as one word, so no entry after that line counts (W&B entries seen: {})",
                        machines.len()
                    ),
                    format!("close or remove the quote on line {line} of {path}"),
                );
            } else if open_to_others {
                report.fix(
                    "netrc",
                    Status::Warning,
                    format!(
                        "{path} can be read by other users (mode {:04o})",
                        crate::sys::mode(&meta).unwrap_or(0)
                    ),
                    format!("chmod 600 {path}"),
                );
            } else {
                report.add(
                    "netrc",
                    Status::Ok,
                    format!("{path} (readable; W&B entries: {})", machines.len()),
                );
            }
        }
    }
    false
}

/// For a later check that failed: when the netrc check already failed and this error
/// is about that file, a pointer there instead of the same message again.
pub(super) fn netrc_already_said(ctx: &Context, netrc_broken: bool, error: &str) -> bool {
    netrc_broken && error.contains(&ctx.netrc_path.display().to_string())
}

pub(super) const SEE_NETRC: &str = "fix the netrc file as the netrc check above says";

pub(super) fn check_plaintext_copy(
    ctx: &Context,
    (url, source): (&BaseUrl, &UrlSource),
    key: Option<&Resolved>,
    off_disk: bool,
    report: &mut Report,
) {
    if !off_disk {
        return;
    }
    let copy = ctx.netrc().named_key(url).ok().flatten();
    let home = ctx.env.home.as_deref();
    let others = crate::cli::plaintext::shown(ctx, url, off_disk, copy.as_ref().map(|c| &c.key));
    for (finding, fix) in &others {
        report.fix(
            "plaintext",
            Status::Warning,
            finding.describe(home),
            fix.clone(),
        );
    }
    if let Some(copy) = copy {
        let flag = (*source == UrlSource::Flag).then_some(url);
        let (what, fix) =
            crate::cli::status::plaintext_advice(flag, &copy.key, key.map(|k| &k.key));
        report.fix(
            "plaintext",
            Status::Warning,
            format!("{what} for {} is still in {}", url.netloc(), copy.location),
            fix,
        );
    } else if others.is_empty() {
        report.add(
            "plaintext",
            Status::Ok,
            format!(
                "no plaintext W&B key in {}, the settings files or shell startup files",
                ctx.netrc_path.display()
            ),
        );
    }
}
