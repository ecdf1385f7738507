//! `completions SHELL` and `man`: generated from the clap definitions, so they always
//! match the commands and flags this binary has.

use clap::Args;
use std::io::Write;
use std::path::Path;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::CommandFactory;

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
