//! Entry point: parse arguments, set up logging, run, map errors to exit codes
//! (0 success, 1 failure, 2 usage).

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // clap exits with status 2 on usage errors and 0 for --help/--version.
    let cli = wandb_cred::cli::Cli::parse();
    // The daemon logs its life (start, backend, refusals); commands only problems.
    let default_level = if cli.is_daemon() { "info" } else { "warn" };
    let filter =
        EnvFilter::try_from_env("WANDB_CRED_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false)
        .init();
    match wandb_cred::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("wandb-cred: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
