//! Entry point: parse arguments, set up logging, run, map errors to exit codes
//! (0 success, 1 failure, 2 usage).

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use wandb_cred::cli::{Cli, Exit};

fn main() -> ExitCode {
    // clap exits with status 2 on usage errors and 0 for --help/--version.
    let cli = Cli::parse_from(Cli::args_from(std::env::args_os()));
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
        Err(error) if error.is::<Exit>() => {
            let exit = error.downcast_ref::<Exit>().expect("checked above");
            if !exit.message.is_empty() {
                eprintln!("wandb-cred: error: {}", exit.message);
            }
            ExitCode::from(exit.code)
        }
        // The reader went away (`| head`): nothing left to say to anyone.
        Err(error) if is_broken_pipe(&error) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("wandb-cred: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
