//! `setup-git [--host URL] [--unset]`: points git's global configuration at this helper
//! for one W&B server, the way `gh auth setup-git` does: an empty
//! `credential.<URL>.helper` (which clears helpers inherited for that URL) followed by
//! this program. Idempotent; `--unset` removes exactly those two values.

use clap::Args;
use std::process::Output;

use anyhow::{Context as _, bail};

use super::Context;
use super::output::say;

/// Configure git (global config) to use this helper for the W&B server.
///
/// Adds an empty `credential.<URL>.helper` (which clears helpers inherited for that
/// server) followed by this program, as `gh auth setup-git` does. Running it again
/// changes nothing; --unset removes exactly what it added.
#[derive(Debug, Args)]
#[command(
    name = "setup-git",
    after_help = "Examples:
  wandb-cred setup-git
  wandb-cred setup-git --host https://wandb.example.com
  wandb-cred setup-git --unset"
)]
pub struct SetupGitArgs {
    /// The W&B server git should use this helper for (default: the server in use).
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    pub(super) host: Option<String>,
    /// Remove what setup-git added.
    #[arg(long)]
    pub(super) unset: bool,
}

pub fn run(ctx: &Context, args: SetupGitArgs) -> anyhow::Result<()> {
    let (url, _) = ctx.base_url(args.host.as_deref())?;
    let name = format!("credential.{url}.helper");
    let ours = helper_command()?;
    let values = get_all(&name)?;
    if args.unset {
        return unset(&url.to_string(), &name, &ours, &values);
    }
    if values.ends_with(&[String::new(), ours.clone()]) {
        say(format_args!(
            "git already asks wandb-cred for {url} ({name}); nothing changed."
        ));
        return Ok(());
    }
    git(&["config", "--global", "--add", &name, ""])?;
    git(&["config", "--global", "--add", &name, &ours])?;
    say(format_args!(
        "git now asks wandb-cred for {url} ({name} in your global git config); `wandb-cred setup-git --unset` undoes this."
    ));
    Ok(())
}

/// Removes every helper entry this program (or an older copy of it) added to the global
/// git config, for `uninstall`; how many servers had one.
pub fn remove_everywhere() -> anyhow::Result<usize> {
    // Any copy's entry counts (is_ours), wherever this program runs from now.
    let ours = "!wandb-cred git-credential";
    let out = run_git(&[
        "config",
        "--global",
        "--get-regexp",
        r"^credential\..*\.helper$",
    ])?;
    let mut names: Vec<String> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let (name, value) = line.split_once(' ').unwrap_or((line, ""));
        if is_ours(value, ours) && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    for name in &names {
        let url = name
            .strip_prefix("credential.")
            .and_then(|n| n.strip_suffix(".helper"))
            .unwrap_or(name);
        unset(url, name, ours, &get_all(name)?)?;
    }
    Ok(names.len())
}

fn unset(url: &str, name: &str, ours: &str, values: &[String]) -> anyhow::Result<()> {
    let mine: Vec<&String> = values.iter().filter(|v| is_ours(v, ours)).collect();
    if mine.is_empty() {
        say(format_args!(
            "git does not use wandb-cred for {url}; nothing changed."
        ));
        return Ok(());
    }
    let empty = values.iter().any(String::is_empty).then_some("");
    for value in mine.into_iter().map(String::as_str).chain(empty) {
        git(&[
            "config",
            "--global",
            "--fixed-value",
            "--unset-all",
            name,
            value,
        ])?;
    }
    // Leave no empty `[credential "URL"]` section behind.
    let section = format!("credential.{url}");
    let names = git(&["config", "--global", "--name-only", "--list"])?;
    let prefix = format!("{}.", section.to_ascii_lowercase());
    let left = String::from_utf8_lossy(&names.stdout)
        .lines()
        .any(|n| n.to_ascii_lowercase().starts_with(&prefix));
    if !left {
        // Fails harmlessly when git already dropped the section.
        let _ = run_git(&["config", "--global", "--remove-section", &section]);
    }
    say(format_args!(
        "git no longer asks wandb-cred for {url} ({name} removed from your global git config)."
    ));
    Ok(())
}

/// `!'<this program>' git-credential`: an absolute path, so git finds it whatever PATH
/// holds, quoted for the shell git runs it with. The program is the `wandb-cred` front
/// beside this one (where `get` is fast) when it is there.
fn helper_command() -> anyhow::Result<String> {
    let exe = super::front_program()?;
    let exe = exe.to_string_lossy();
    Ok(format!("!{} git-credential", crate::ssh::shell_quote(&exe)))
}

/// A helper value this program added: the current one, or one naming an older copy.
fn is_ours(value: &str, current: &str) -> bool {
    value == current
        || (value.starts_with('!')
            && value.ends_with(" git-credential")
            && value.contains("wandb-cred"))
}

/// Every value of `name` in the global config, in order (none when unset).
fn get_all(name: &str) -> anyhow::Result<Vec<String>> {
    let out = run_git(&["config", "--global", "--null", "--get-all", name])?;
    match out.status.code() {
        Some(0) => Ok(String::from_utf8_lossy(&out.stdout)
            .split_terminator('\0')
            .map(str::to_owned)
            .collect()),
        // git config exits 1 when the name has no value.
        Some(1) => Ok(Vec::new()),
        _ => bail!(
            "git config --get-all {name} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    }
}

fn run_git(args: &[&str]) -> anyhow::Result<Output> {
    crate::child::helper("git")
        .args(args)
        .output()
        .context("cannot run git (is it installed and on PATH?)")
}

fn git(args: &[&str]) -> anyhow::Result<Output> {
    let out = run_git(args)?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_its_own_helpers() {
        let current = "!/new/wandb-cred git-credential";
        assert!(is_ours(current, current));
        assert!(is_ours("!'/old path/wandb-cred' git-credential", current));
        assert!(!is_ours("cache --timeout 300", current));
        assert!(!is_ours("", current));
    }
}
