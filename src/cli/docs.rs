//! `completions SHELL` and `man`: generated from the clap definitions, so they always
//! match the commands and flags this binary has.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory;

use super::Cli;
use super::output::say;

const NAME: &str = "wandb-cred";

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut Cli::command(), NAME, &mut out);
    out.flush()?;
    Ok(())
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
