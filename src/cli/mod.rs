//! The command line: clap definitions and dispatch, one file per subcommand.

mod context;
mod get;
mod login;
mod logout;
mod migrate;
mod output;
mod status;

use clap::{Args, Parser, Subcommand};

use crate::store::backend::BackendChoice;

pub use context::Context;

/// Keeps W&B API keys safe and hands them to whoever needs them.
#[derive(Debug, Parser)]
#[command(
    name = "wandb-cred",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Where keys are stored: auto (the keychain if one is usable, else netrc),
    /// keychain, or netrc.
    #[arg(long, global = true, env = "WANDB_CRED_BACKEND", value_name = "BACKEND", default_value = "auto",
          value_parser = clap::value_parser!(BackendChoice))]
    backend: BackendChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Authenticate this machine with W&B: store an API key (as `wandb login` does).
    ///
    /// Without KEY the key is looked up in this order: the WANDB_API_KEY environment
    /// variable, `api_key` in the workspace or system settings file, the netrc file
    /// ($NETRC, ~/.netrc, ~/_netrc), and finally a hidden prompt if a terminal is
    /// available. By default keys are stored without asking the server (see --verify).
    Login(LoginArgs),
    /// Print the API key for the server on stdout (for scripts and other programs).
    Get(HostArgs),
    /// Remove the server's API key from the keychain and from netrc.
    Logout(HostArgs),
    /// Move W&B keys from netrc into the keychain.
    ///
    /// Each key is stored in the keychain and read back before its netrc entry is
    /// removed; nothing is removed from netrc unless that round trip succeeded.
    Migrate(MigrateArgs),
    /// Show the server in use, the settings files, and where the API key comes from.
    ///
    /// Makes no network request. The key is only ever shown masked.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
struct LoginArgs {
    /// Log in to the W&B public cloud (https://api.wandb.ai). Not with --host.
    #[arg(long)]
    cloud: bool,
    /// Log in to a specific W&B server by URL, e.g. https://wandb.example.com. Not with --cloud.
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    host: Option<String>,
    /// Ask for a new key even if one is already configured.
    #[arg(long)]
    relogin: bool,
    /// Check the key with the server before storing it, and show who it belongs to.
    #[arg(long)]
    verify: bool,
    /// The API key (implies --relogin). Note: arguments are visible to other local
    /// users in the process list; prefer the prompt on shared machines.
    #[arg(value_name = "KEY")]
    key: Vec<String>,
}

#[derive(Debug, Args)]
struct HostArgs {
    /// The W&B server URL (default: WANDB_BASE_URL, then the settings files, then https://api.wandb.ai).
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    host: Option<String>,
}

#[derive(Debug, Args)]
struct MigrateArgs {
    /// Move the key for this server (default: the server in use).
    #[arg(
        long,
        visible_alias = "base-url",
        value_name = "URL",
        conflicts_with = "all"
    )]
    host: Option<String>,
    /// Move every netrc entry that holds a W&B key (`login user` and a valid key).
    #[arg(long)]
    all: bool,
    /// Leave the netrc entries in place (copy instead of move).
    #[arg(long)]
    keep_netrc: bool,
}

#[derive(Debug, Args)]
struct StatusArgs {
    /// The W&B server URL to report on.
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    host: Option<String>,
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs the parsed command. Errors are reported by `main` and exit with status 1.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = Context::load(cli.backend)?;
    match cli.command {
        Command::Login(args) => login::run(&ctx, args),
        Command::Get(args) => get::run(&ctx, args),
        Command::Logout(args) => logout::run(&ctx, args),
        Command::Migrate(args) => migrate::run(&ctx, args),
        Command::Status(args) => status::run(&ctx, args),
    }
}
