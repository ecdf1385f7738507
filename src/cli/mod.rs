//! The command line: clap definitions and dispatch, one file per subcommand.

mod context;
mod daemon_control;
mod get;
mod list;
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
    /// variable, the keychain, `api_key` in the workspace or system settings file, the
    /// netrc file ($NETRC, ~/.netrc, ~/_netrc), and finally a hidden prompt if a terminal
    /// is available. New keys go to the keychain, or to netrc where there is none. By
    /// default keys are stored without asking the server (see --verify).
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
    /// List the servers that have stored keys (masked).
    List(ListArgs),
    /// Run the daemon in the foreground (for systemd, launchd, or autostart).
    ///
    /// Clients start it on demand; it keeps keys in memory and answers over a local socket.
    Daemon(DaemonArgs),
    /// Ask the running daemon to shut down.
    Stop,
    /// Make the daemon forget cached keys and look at the keychain again.
    Reload,
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
    /// The API key (implies --relogin); `-` reads it from standard input. Arguments are
    /// visible to other local users in the process list: prefer the prompt or `-`.
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
struct ListArgs {
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct DaemonArgs {
    /// The socket to listen on (default: WANDB_CRED_SOCKET, else
    /// $XDG_RUNTIME_DIR/wandb-cred/daemon.sock).
    #[arg(long, value_name = "PATH")]
    socket: Option<std::path::PathBuf>,
    /// Exit after this long without clients, e.g. 30m (default: never).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    idle_timeout: Option<std::time::Duration>,
    /// Close a connection that sends no complete request for this long.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    client_timeout: std::time::Duration,
    /// Serve at most this many connections at once; more are told the daemon is busy.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u16).range(1..))]
    max_clients: u16,
    /// Started by a client (recorded so that a newer client may replace it).
    #[arg(long, hide = true)]
    autostarted: bool,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::duration::parse(text)
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

impl Cli {
    /// Whether this is the long-running daemon (it logs more, with timestamps).
    pub fn is_daemon(&self) -> bool {
        matches!(self.command, Command::Daemon(_))
    }
}

/// Runs the parsed command. Errors are reported by `main` and exit with status 1.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Daemon(args) = cli.command {
        return run_daemon(cli.backend, args);
    }
    let ctx = Context::load(cli.backend)?;
    match cli.command {
        Command::Login(args) => login::run(&ctx, args),
        Command::Get(args) => get::run(&ctx, args),
        Command::Logout(args) => logout::run(&ctx, args),
        Command::Migrate(args) => migrate::run(&ctx, args),
        Command::Status(args) => status::run(&ctx, args),
        Command::List(args) => list::run(&ctx, args),
        Command::Stop => daemon_control::stop(&ctx),
        Command::Reload => daemon_control::reload(&ctx),
        Command::Daemon(_) => unreachable!("handled above"),
    }
}

fn run_daemon(backend: BackendChoice, args: DaemonArgs) -> anyhow::Result<()> {
    let env = crate::env::Environment::from_process();
    let keychain_timeout =
        crate::store::keychain::timeout_from(&env).map_err(anyhow::Error::msg)?;
    crate::daemon::run(crate::daemon::Options {
        socket: args.socket.unwrap_or_else(|| crate::ipc::socket_path(&env)),
        idle_timeout: args.idle_timeout,
        autostarted: args.autostarted,
        backend,
        keychain_timeout,
        client_timeout: args.client_timeout,
        max_clients: usize::from(args.max_clients),
    })
}
