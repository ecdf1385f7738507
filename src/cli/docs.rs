//! `completions SHELL` and `man`, and the manual's command reference
//! (`docs/reference/commands.md`): generated from the clap definitions, so they always
//! match the commands and flags this binary has.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, CommandFactory};

use super::Cli;
use super::output::say;

/// Print shell completions (bash, zsh, fish, powershell, elvish) on stdout.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  source <(wandb-cred completions bash)                          # bash, this shell
  wandb-cred completions zsh > \"${fpath[1]}/_wandb-cred\"          # zsh
  wandb-cred completions fish > ~/.config/fish/completions/wandb-cred.fish")]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_name = "SHELL")]
    pub(super) shell: clap_complete::Shell,
}

/// Print the manual page (roff) on stdout, or write one page per command to a folder.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred man | man -l -
  wandb-cred man --out-dir ~/.local/share/man/man1")]
pub struct ManArgs {
    /// Write wandb-cred.1 and one page per command (wandb-cred-login.1, ...) here.
    #[arg(long, value_name = "DIR")]
    pub(super) out_dir: Option<PathBuf>,
}

const NAME: &str = "wandb-cred";

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), NAME, &mut script);
    if shell == clap_complete::Shell::Bash {
        script = fix_bash_states(&script);
    }
    let mut out = std::io::stdout().lock();
    out.write_all(&script)?;
    out.flush()?;
    Ok(())
}

/// clap_complete (4.6.11 and earlier; clap-rs/clap#6421) spells the bash case labels of
/// a hyphenated program's subcommands `wandb__subcmd__cred__subcmd__X` while its loop
/// builds `wandb__cred__subcmd__X`, so no subcommand's options ever completed. The
/// labels are rewritten to the loop's spelling.
fn fix_bash_states(script: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(script)
        .replace("wandb__subcmd__cred", "wandb__cred")
        .into_bytes()
}

/// The main page on stdout, or with `out_dir` every page (`wandb-cred.1`,
/// `wandb-cred-login.1`, ...) written there.
pub fn man(out_dir: Option<&Path>) -> anyhow::Result<()> {
    let command = Cli::command().name(NAME);
    match out_dir {
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(command).render(&mut out)?;
            out.flush()?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("cannot write the pages to {}", dir.display()))?;
            say(format_args!("Wrote the manual pages to {}.", dir.display()));
        }
    }
    Ok(())
}

#[cfg(test)]
/// The manual's command reference in Markdown: every command's full `--help`, as this
/// program prints it. A unit test keeps `docs/reference/commands.md` equal to it
/// (`WANDB_CRED_BLESS=1 cargo test --lib reference` rewrites the file).
pub fn reference() -> String {
    let mut cli = Cli::command().name(NAME).bin_name(NAME);
    cli.build();
    let mut out = String::from(
        "# Command reference\n\nEvery command's `--help`, generated from the program's own definitions (do not edit: `WANDB_CRED_BLESS=1 cargo test --lib reference` rewrites this file when they change).\n\n",
    );
    let mut help = |path: &str, cmd: &mut clap::Command| {
        out.push_str(&format!("## `{path}`\n\n```text\n"));
        out.push_str(cmd.render_long_help().to_string().trim_end());
        out.push_str("\n```\n\n");
    };
    help(NAME, &mut cli.clone());
    for sub in cli.get_subcommands_mut().filter(|c| !c.is_hide_set()) {
        let path = format!("{NAME} {}", sub.get_name());
        help(&path, sub);
        for nested in sub
            .get_subcommands_mut()
            .filter(|c| !c.is_hide_set() && c.get_name() != "help")
        {
            help(&format!("{path} {}", nested.get_name()), nested);
        }
    }
    out.trim_end().to_owned() + "\n"
}

#[cfg(test)]
mod tests {
    /// The checked-in reference is what this program prints; `WANDB_CRED_BLESS=1`
    /// rewrites it instead.
    #[test]
    fn the_reference_is_not_stale() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/reference/commands.md");
        let now = super::reference();
        if std::env::var_os("WANDB_CRED_BLESS").is_some() {
            std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
            std::fs::write(path, &now).unwrap();
        }
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            checked_in == now,
            "docs/reference/commands.md is stale: run `WANDB_CRED_BLESS=1 cargo test --lib reference`"
        );
    }
}
