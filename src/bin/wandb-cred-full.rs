//! The full program behind `wandb-cred`: every command, the daemon included. The
//! `wandb-cred` front answers `get` itself when it can and runs this for the rest.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(wandb_cred::cli::main(std::env::args_os().collect()))
}
