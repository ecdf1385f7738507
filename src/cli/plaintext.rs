//! Every plaintext W&B key this user's files hold, for `status`, `doctor` and `migrate`:
//! netrc entries for any W&B server, `api_key` in the settings files, and
//! `WANDB_API_KEY` given a literal key in shell startup files or a project's `.env`.
//! Each is named by file and line, masked, with the command that removes it.

use std::path::{Path, PathBuf};

use crate::config::shell_files;
use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;

use super::Context;

/// One plaintext key and where it is.
pub struct Finding {
    pub key: ApiKey,
    pub path: PathBuf,
    pub line: usize,
    pub kind: Kind,
}

pub enum Kind {
    /// A netrc entry, for this machine (`None`: the `default` entry).
    Netrc(Option<String>),
    /// `api_key` in a settings file.
    Settings,
    /// `WANDB_API_KEY` assigned in a shell startup file or `.env`.
    Export,
}

impl Finding {
    /// `wandb_v1_****k3Qz in ~/.bashrc, line 3 (WANDB_API_KEY)`.
    pub fn describe(&self, home: Option<&Path>) -> String {
        let what = match &self.kind {
            Kind::Netrc(Some(machine)) => format!("machine {machine}"),
            Kind::Netrc(None) => "the default entry".to_owned(),
            Kind::Settings => "api_key".to_owned(),
            Kind::Export => "WANDB_API_KEY".to_owned(),
        };
        format!(
            "{} in {}, line {} ({what})",
            self.key.masked(),
            short_path(&self.path, home),
            self.line
        )
    }

    /// The command or step that removes it. `kept`: whether an off-disk store already
    /// holds this very key.
    pub fn fix(&self, kept: bool, home: Option<&Path>) -> String {
        let place = format!("line {} of {}", self.line, short_path(&self.path, home));
        match (&self.kind, kept) {
            (Kind::Netrc(_) | Kind::Settings, _) => {
                "`wandb-cred migrate --all` moves it off disk".to_owned()
            }
            (Kind::Export, true) => format!(
                "the key is stored already: delete {place} (wandb-cred never edits shell files)"
            ),
            (Kind::Export, false) => format!(
                "store it first (`printenv WANDB_API_KEY | wandb-cred login -` in a shell that has it), then delete {place} (wandb-cred never edits shell files)"
            ),
        }
    }
}

/// `~/...` for paths in the home folder, as users write them.
pub fn short_path(path: &Path, home: Option<&Path>) -> String {
    match home.and_then(|h| path.strip_prefix(h).ok()) {
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    }
}

/// Every plaintext key: with `netrc`, the netrc file's W&B entries too (leave them out
/// where netrc is the store in use). A file that cannot be read is left out here; the
/// checks that read it say why.
pub fn find(ctx: &Context, netrc: bool) -> Vec<Finding> {
    let mut found = Vec::new();
    if netrc && let Ok(entries) = ctx.netrc().wandb_entries() {
        found.extend(entries.into_iter().map(|(machine, line, key)| Finding {
            key,
            path: ctx.netrc_path.clone(),
            line,
            kind: Kind::Netrc(machine),
        }));
    }
    for file in [&ctx.settings.workspace, &ctx.settings.system] {
        if let Some(setting) = file.get("api_key")
            && let Ok(key) = ApiKey::parse(zeroize::Zeroizing::new(setting.value.to_owned()))
        {
            found.push(Finding {
                key,
                path: setting.path.to_owned(),
                line: setting.line,
                kind: Kind::Settings,
            });
        }
    }
    found.extend(
        shell_files::find(&ctx.env)
            .into_iter()
            .map(|export| Finding {
                key: export.key,
                path: export.path,
                line: export.line,
                kind: Kind::Export,
            }),
    );
    found
}

/// What `status` and `doctor` show, each finding with its fix. Only where an off-disk
/// store is in use: elsewhere netrc is the store, and there is nowhere safer to move a
/// key. The server's own netrc copy is left out when it is `already` (a copy the caller
/// warns about with its own advice).
pub fn shown(
    ctx: &Context,
    url: &BaseUrl,
    off_disk: bool,
    already: Option<&ApiKey>,
) -> Vec<(Finding, String)> {
    if !off_disk {
        return Vec::new();
    }
    let findings = find(ctx, true)
        .into_iter()
        .filter(|f| !(matches!(f.kind, Kind::Netrc(_)) && already == Some(&f.key)))
        .collect();
    with_fixes(ctx, Some(url), findings)
}

/// Each finding with its fix; whether an exported key is stored already is asked of
/// `url`'s off-disk key (one lookup for them all).
pub fn with_fixes(
    ctx: &Context,
    url: Option<&BaseUrl>,
    findings: Vec<Finding>,
) -> Vec<(Finding, String)> {
    let kept = url
        .and_then(|url| ctx.service().get(url, None).ok().flatten())
        .map(|f| f.key);
    let home = ctx.env.home.as_deref();
    findings
        .into_iter()
        .map(|f| {
            let fix = f.fix(kept.as_ref() == Some(&f.key), home);
            (f, fix)
        })
        .collect()
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Netrc(_) => "netrc",
            Kind::Settings => "settings",
            Kind::Export => "export",
        }
    }
}

/// Removes the temporary copies an interrupted netrc write left (each may hold every
/// key netrc holds, in plaintext), saying what went: for `status`, `doctor` and
/// `migrate`. The messages, one per file removed.
pub fn sweep_interrupted_writes(ctx: &Context) -> Vec<String> {
    crate::config::atomic::sweep(&ctx.netrc_path)
        .into_iter()
        .map(|path| {
            format!(
                "removed {}, a plaintext copy of netrc that an interrupted write left behind",
                path.display()
            )
        })
        .collect()
}
