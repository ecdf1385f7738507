//! The command line: clap definitions and dispatch, one file per subcommand.

mod context;
mod daemon_control;
mod docs;
mod doctor;
mod exec;
pub mod fast;
mod get;
mod git_credential;
mod hook_record;
mod list;
mod login;
mod logout;
mod lookup;
mod migrate;
mod output;
mod push;
mod service;
mod setup_git;
mod setup_python;
mod ssh;
mod status;
mod uninstall;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::store::backend::BackendChoice;

pub use context::Context;

/// Keeps W&B API keys safe and hands them to whoever needs them.
#[derive(Debug, Parser)]
#[command(name = "wandb-cred", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    store: StoreArg,
    #[command(subcommand)]
    command: Command,
}

/// `--backend`, on the commands that store or look up keys (and before any command).
#[derive(Debug, Args)]
pub(super) struct StoreArg {
    /// Where keys are stored: auto (the keychain if one is usable, else the kernel
    /// keyring on a headless Linux machine, else netrc), keychain, kernel-keyring, or netrc.
    #[arg(long, env = "WANDB_CRED_BACKEND", value_name = "BACKEND", value_parser = BackendParser)]
    backend: Option<BackendChoice>,
}

#[derive(Debug, Subcommand)]
enum Command {
    Login(login::LoginArgs),
    /// Print the API key for the server on stdout (for scripts and other programs).
    #[command(after_help = "Examples:
  key=$(wandb-cred get) && WANDB_API_KEY=$key python train.py
  wandb-cred get --host https://wandb.example.com
  wandb-cred get --env                              # WANDB_API_KEY=... and WANDB_BASE_URL=...")]
    Get(GetArgs),
    /// Run a program with WANDB_API_KEY and WANDB_BASE_URL set from the stored key.
    ///
    /// The key is passed in the environment, never on a command line. On Unix the
    /// program replaces wandb-cred, so signals and the exit status are its own. A
    /// WANDB_API_KEY already set in the environment takes precedence (as for every
    /// reader) and is passed on unchanged; wandb-cred says so.
    #[command(after_help = "Examples:
  wandb-cred exec -- python train.py
  wandb-cred exec --host https://wandb.example.com -- wandb sync ./wandb/offline-run-*
  wandb-cred exec -- sbatch train.sbatch            # Slurm passes the environment on
  wandb-cred exec -- docker run --rm -e WANDB_API_KEY -e WANDB_BASE_URL my-image python train.py")]
    Exec(ExecArgs),
    /// Act as a git credential helper: get, store, erase or capability (gitcredentials(7)).
    ///
    /// Reads git's request on standard input. `get` answers `username=api` and the key
    /// only for a W&B server with a stored key; for anything else it prints nothing, so
    /// git asks its next helper. `store` keeps a key given for username `api`; `erase`
    /// removes a stored key only when git names that same key. Installed as
    /// `git-credential-wandb` on PATH, the program behaves as `wandb-cred git-credential`.
    #[command(
        name = "git-credential",
        after_help = "Examples:
  printf 'protocol=https\\nhost=api.wandb.ai\\n\\n' | wandb-cred git-credential get
  git config --global credential.https://api.wandb.ai.helper '!wandb-cred git-credential'
  ln -s \"$(command -v wandb-cred)\" ~/.local/bin/git-credential-wandb   # then: helper = wandb"
    )]
    GitCredential(GitCredentialArgs),
    /// Configure git (global config) to use this helper for the W&B server.
    ///
    /// Adds an empty `credential.<URL>.helper` (which clears helpers inherited for that
    /// server) followed by this program, as `gh auth setup-git` does. Running it again
    /// changes nothing; --unset removes exactly what it added.
    #[command(
        name = "setup-git",
        after_help = "Examples:
  wandb-cred setup-git
  wandb-cred setup-git --host https://wandb.example.com
  wandb-cred setup-git --unset"
    )]
    SetupGit(SetupGitArgs),
    /// Copy the key for the server to another machine over ssh (stored in its best store).
    ///
    /// Runs `wandb-cred login -` on DESTINATION with the key on ssh's standard input,
    /// never in a command line; the remote keeps it in its keychain, kernel keyring (a
    /// headless server: until it restarts) or netrc, and says which. SSH OPTIONS go to
    /// ssh as given (-p PORT, -i FILE, -o OPTION, -J HOST, ...).
    #[command(after_help = "Examples:
  wandb-cred push gpu1
  wandb-cred push -p 2222 -i ~/.ssh/id_ed25519 me@gpu1.example.com
  wandb-cred push --host https://wandb.example.com --remote-command '~/.local/bin/wandb-cred' gpu1")]
    Push(PushArgs),
    /// Open an SSH session whose wandb-cred is served by this machine's keys (get only).
    ///
    /// Forwards the daemon's get-only socket into a private folder on DESTINATION
    /// (`ssh -R`) and sets WANDB_CRED_SOCKET there, so `wandb-cred get` and `exec --
    /// python train.py` on the remote use this machine's key for as long as the session
    /// lasts, and nothing is stored there. The remote cannot store, remove or list keys
    /// through it; each key handed out is logged here. Root on the remote can use the
    /// forwarded socket while the session lasts, as with ssh-agent forwarding.
    #[command(after_help = "Examples:
  wandb-cred ssh gpu1                               # a login shell on gpu1
  wandb-cred ssh -p 2222 me@gpu1 wandb-cred exec -- python train.py")]
    Ssh(SshArgs),
    /// Make `import wandb` in one Python environment find the stored key by itself.
    ///
    /// Installs a small hook into the environment's site-packages (default: the active
    /// virtualenv or conda env, else the user site-packages of the python3 on PATH).
    /// When a program there first imports wandb with no WANDB_API_KEY set, the hook runs
    /// `wandb-cred get --env` once (this program, by the absolute path recorded now) and
    /// sets WANDB_API_KEY and WANDB_BASE_URL, so `python train.py`, Jupyter and `wandb
    /// agent` find the key with no plaintext file. Start-up cost: one small import.
    /// WANDB_CRED_NO_HOOK=1 turns it off for a run; --unset removes it.
    #[command(
        name = "setup-python",
        after_help = "Examples:
  wandb-cred setup-python                           # the active venv (or the user site)
  wandb-cred setup-python --python ~/envs/ml/bin/python
  wandb-cred setup-python --unset"
    )]
    SetupPython(SetupPythonArgs),
    /// Remove the server's API key from the keychain and from netrc.
    #[command(after_help = "Examples:
  wandb-cred logout
  wandb-cred logout --host https://wandb.example.com")]
    Logout(HostArgs),
    /// Move W&B keys from netrc into the keychain.
    ///
    /// Each key is stored in the keychain and read back before its netrc entry is
    /// removed; nothing is removed from netrc unless that round trip succeeded.
    #[command(after_help = "Examples:
  wandb-cred migrate --all
  wandb-cred migrate --host https://wandb.example.com --keep-netrc")]
    Migrate(MigrateArgs),
    /// Show the server in use, the settings files, and where the API key comes from.
    ///
    /// Makes no network request. The key is only ever shown masked.
    #[command(after_help = "Examples:
  wandb-cred status
  wandb-cred status --json | jq .key_source")]
    Status(StatusArgs),
    /// Check everything that decides whether programs find a key, with a fix for each problem.
    ///
    /// Checks the settings and netrc files, the daemon, the backend, a keychain round
    /// trip with a throwaway item, where the key comes from, plaintext copies left in
    /// netrc, and whether the W&B SDK would find a key by itself. Exit status 1 when a
    /// check failed. No network request unless --verify.
    #[command(after_help = "Examples:
  wandb-cred doctor
  wandb-cred doctor --host https://wandb.example.com --verify
  wandb-cred doctor --json")]
    Doctor(DoctorArgs),
    /// List the servers that have stored keys (masked).
    #[command(after_help = "Examples:
  wandb-cred list
  wandb-cred list --json")]
    List(ListArgs),
    /// Run the daemon in the foreground (for systemd, launchd, or autostart).
    ///
    /// Clients start it on demand; it keeps keys in memory and answers over a local socket.
    #[command(after_help = "Examples:
  wandb-cred daemon --idle-timeout 30m
  systemctl --user enable --now wandb-cred.socket   # or let systemd run it")]
    Daemon(DaemonArgs),
    /// Ask the running daemon to shut down.
    #[command(after_help = "Example:
  wandb-cred stop")]
    Stop,
    /// Make the daemon forget cached keys and look at the keychain again.
    #[command(after_help = "Example (after changing the keychain with another tool):
  secret-tool clear service wandb username https://api.wandb.ai && wandb-cred reload")]
    Reload(ReloadArgs),
    /// Run the daemon as a service of the system's service manager (install, uninstall).
    ///
    /// Linux: systemd user units (socket activation: systemd starts the daemon on the
    /// first request). macOS: a LaunchAgent started at login. The units name this
    /// program by its real path, so install again after moving it. Not needed for
    /// anything to work: without it, commands start the daemon on demand.
    #[command(after_help = "Examples:
  wandb-cred service install
  wandb-cred service uninstall                       # or: service install --uninstall")]
    Service(service::ServiceArgs),
    /// Undo every integration wandb-cred made (Python hooks, git, service), stop the daemon.
    ///
    /// Removes the hook from each environment `setup-python` set up (and the active one),
    /// the git helper entries `setup-git` added, and the units `service install` wrote;
    /// stops the daemon; then says which keys remain where (--remove-keys removes them).
    /// Touches nothing it did not write; running it again changes nothing. Run it before
    /// removing the package.
    Uninstall(uninstall::UninstallArgs),
    /// Print shell completions (bash, zsh, fish, powershell, elvish) on stdout.
    #[command(after_help = "Examples:
  source <(wandb-cred completions bash)                          # bash, this shell
  wandb-cred completions zsh > \"${fpath[1]}/_wandb-cred\"          # zsh
  wandb-cred completions fish > ~/.config/fish/completions/wandb-cred.fish")]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on stdout, or write one page per command to a folder.
    #[command(after_help = "Examples:
  wandb-cred man | man -l -
  wandb-cred man --out-dir ~/.local/share/man/man1")]
    Man(ManArgs),
}

#[derive(Debug, Args)]
struct HostArgs {
    #[command(flatten)]
    store: StoreArg,
    /// The W&B server URL (default: WANDB_BASE_URL, then the settings files, then https://api.wandb.ai).
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    host: Option<String>,
}

#[derive(Debug, Args)]
struct GetArgs {
    #[command(flatten)]
    store: StoreArg,
    /// The W&B server URL (default: WANDB_BASE_URL, then the settings files, then https://api.wandb.ai).
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    host: Option<String>,
    /// Print the variables `exec` sets, as NAME=VALUE lines, for programs (the Python
    /// hook). No stored key is not an error here: nothing is printed, exit status 0.
    #[arg(long)]
    env: bool,
}

#[derive(Debug, Args)]
struct ExecArgs {
    #[command(flatten)]
    store: StoreArg,
    /// The W&B server URL (default: WANDB_BASE_URL, then the settings files, then https://api.wandb.ai).
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    host: Option<String>,
    /// The program to run and its arguments (put `--` before them).
    #[arg(
        value_name = "CMD",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    command: Vec<OsString>,
}

#[derive(Debug, Args)]
struct GitCredentialArgs {
    #[command(flatten)]
    store: StoreArg,
    /// get, store, erase or capability; other operations are ignored, as git asks.
    #[arg(value_name = "OPERATION", value_parser = OperationParser)]
    operation: String,
}

#[derive(Debug, Args)]
struct SetupGitArgs {
    /// The W&B server git should use this helper for (default: the server in use).
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    host: Option<String>,
    /// Remove what setup-git added.
    #[arg(long)]
    unset: bool,
}

#[derive(Debug, Args)]
struct PushArgs {
    #[command(flatten)]
    store: StoreArg,
    /// The W&B server whose key to copy; the remote stores it under the same URL.
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    host: Option<String>,
    /// The wandb-cred program on the remote (default: `wandb-cred` on the PATH ssh gives).
    /// Quote a leading `~/` ('~/.local/bin/wandb-cred'): the remote expands it.
    #[arg(long, value_name = "PATH")]
    remote_command: Option<String>,
    /// ssh's options and the destination, as for ssh ([user@]host or ssh://...).
    #[arg(
        value_name = "SSH OPTIONS... DESTINATION",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    ssh: Vec<String>,
}

#[derive(Debug, Args)]
struct SshArgs {
    #[command(flatten)]
    store: StoreArg,
    /// ssh's options, the destination and a remote command, as for ssh.
    #[arg(
        value_name = "SSH OPTIONS... DESTINATION [COMMAND...]",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    ssh: Vec<String>,
}

#[derive(Debug, Args)]
struct SetupPythonArgs {
    /// The Python whose environment gets the hook (default: the active virtualenv or
    /// conda env, else the python3 on PATH).
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
    /// Remove what setup-python added.
    #[arg(long)]
    unset: bool,
}

#[derive(Debug, Args)]
struct DoctorArgs {
    #[command(flatten)]
    store: StoreArg,
    /// The W&B server URL to check.
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    host: Option<String>,
    /// Also ask the server whether the key is accepted (a network request).
    #[arg(long)]
    verify: bool,
    /// The Python whose W&B SDK to check (default: the active virtualenv or conda env,
    /// else the python3 on PATH).
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct CompletionsArgs {
    /// The shell.
    #[arg(value_name = "SHELL")]
    shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
struct ManArgs {
    /// Write wandb-cred.1 and one page per command (wandb-cred-login.1, ...) here.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct MigrateArgs {
    #[command(flatten)]
    store: StoreArg,
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
    #[command(flatten)]
    store: StoreArg,
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct DaemonArgs {
    #[command(flatten)]
    store: StoreArg,
    /// The socket to listen on (default: WANDB_CRED_SOCKET, else
    /// $XDG_RUNTIME_DIR/wandb-cred/daemon.sock).
    #[arg(long, value_name = "PATH")]
    socket: Option<std::path::PathBuf>,
    /// Exit after this long without clients, e.g. 30m (default: WANDB_CRED_IDLE_TIMEOUT,
    /// else 1h for a daemon a command started, never for one a service manager started).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    idle_timeout: Option<std::time::Duration>,
    /// Close a connection that sends no complete request for this long.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    client_timeout: std::time::Duration,
    /// Serve at most this many connections at once; more are told the daemon is busy.
    #[arg(long, value_name = "N", default_value_t = 4096, value_parser = clap::value_parser!(u16).range(1..))]
    max_clients: u16,
    /// Started by a client (recorded so that a newer client may replace it).
    #[arg(long, hide = true)]
    autostarted: bool,
}

/// How long an autostarted daemon waits without clients before it exits, unless told.
pub const AUTOSTART_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

/// The daemon's idle timeout: `--idle-timeout`, else `WANDB_CRED_IDLE_TIMEOUT`, else
/// [`AUTOSTART_IDLE_TIMEOUT`] for a daemon a command started (one a service manager
/// started follows its unit: no timeout unless the unit sets one).
fn idle_timeout(
    env: &crate::env::Environment,
    flag: Option<std::time::Duration>,
    autostarted: bool,
) -> anyhow::Result<Option<std::time::Duration>> {
    if flag.is_some() {
        return Ok(flag);
    }
    if let Some(text) = env.var("WANDB_CRED_IDLE_TIMEOUT") {
        return crate::duration::parse(text)
            .map(Some)
            .map_err(|why| anyhow::anyhow!("WANDB_CRED_IDLE_TIMEOUT: {why}"));
    }
    Ok(autostarted.then_some(AUTOSTART_IDLE_TIMEOUT))
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::duration::parse(text)
}

#[derive(Debug, Args)]
struct ReloadArgs {
    #[command(flatten)]
    store: StoreArg,
}

#[derive(Debug, Args)]
struct StatusArgs {
    #[command(flatten)]
    store: StoreArg,
    /// The W&B server URL to report on.
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    host: Option<String>,
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// This program's absolute path, for other programs to run it by (git, the Python
/// hook): the `wandb-cred` front beside the full program (where `get` is fast) when it
/// is there. Refused when another user could replace it (see [`recordable`]).
fn front_program() -> anyhow::Result<PathBuf> {
    use anyhow::Context as _;
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let front = exe.with_file_name(format!("wandb-cred{}", std::env::consts::EXE_SUFFIX));
    recordable(if front.is_file() { front } else { exe })
}

/// `program`, if no other user could replace it: it is recorded for other programs to
/// run later as this user (on every `import wandb`, every git request, every login), so
/// a copy in a shared folder would let whoever can write there run code as this user.
fn recordable(program: PathBuf) -> anyhow::Result<PathBuf> {
    match crate::ownership::program(&program) {
        None => Ok(program),
        Some(why) => anyhow::bail!(
            "refusing to record {} for other programs to run: another user could replace it ({why}); install wandb-cred in a folder only you (or root) can write to, such as ~/.local/bin, and run it from there",
            program.display()
        ),
    }
}

/// `--backend`: parsed by [`BackendChoice`]'s own rules (and its message), with the
/// choices offered to shell completion and `--help`.
#[derive(Clone)]
struct BackendParser;

impl clap::builder::TypedValueParser for BackendParser {
    type Value = BackendChoice;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<BackendChoice, clap::Error> {
        let text = value.to_str().unwrap_or("");
        text.parse().map_err(|message: String| {
            clap::Error::raw(clap::error::ErrorKind::InvalidValue, format!("{message}\n"))
                .with_cmd(cmd)
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(BackendChoice::ALL.into_iter().map(|choice| {
            clap::builder::PossibleValue::new(choice.name())
        })))
    }
}

/// git-credential's OPERATION: any word (git may add operations; those are ignored),
/// with the ones git sends today offered to shell completion.
#[derive(Clone)]
struct OperationParser;

impl clap::builder::TypedValueParser for OperationParser {
    type Value = String;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        Ok(value.to_string_lossy().into_owned())
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            crate::git_credential::OPERATIONS
                .iter()
                .map(|op| clap::builder::PossibleValue::new(*op)),
        ))
    }
}

/// The name under which git finds this program as `credential.helper = wandb`.
pub const GIT_HELPER_NAME: &str = "git-credential-wandb";

/// A command's own exit status and message (e.g. `exec`: 127 when the program is not
/// found), carried to `main`. An empty message prints nothing.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Exit {
    pub code: u8,
    pub message: String,
}

impl Cli {
    /// The store chosen with `--backend` (after the command or before it) or
    /// WANDB_CRED_BACKEND; `auto` otherwise.
    fn backend(&self) -> BackendChoice {
        let after = match &self.command {
            Command::Login(login::LoginArgs { store, .. })
            | Command::Get(GetArgs { store, .. })
            | Command::Exec(ExecArgs { store, .. })
            | Command::GitCredential(GitCredentialArgs { store, .. })
            | Command::Push(PushArgs { store, .. })
            | Command::Ssh(SshArgs { store, .. })
            | Command::Logout(HostArgs { store, .. })
            | Command::Migrate(MigrateArgs { store, .. })
            | Command::Status(StatusArgs { store, .. })
            | Command::Doctor(DoctorArgs { store, .. })
            | Command::List(ListArgs { store, .. })
            | Command::Daemon(DaemonArgs { store, .. })
            | Command::Reload(ReloadArgs { store }) => store.backend,
            Command::SetupGit(_)
            | Command::SetupPython(_)
            | Command::Stop
            | Command::Service(_)
            | Command::Uninstall(_)
            | Command::Completions(_)
            | Command::Man(_) => None,
        };
        after.or(self.store.backend).unwrap_or_default()
    }

    /// Whether this is the long-running daemon (it logs more, with timestamps).
    pub fn is_daemon(&self) -> bool {
        matches!(self.command, Command::Daemon(_))
    }

    /// The program's arguments, as `wandb-cred git-credential ...` when it was started
    /// under the name git gives helpers (`git-credential-wandb`).
    pub fn args_from(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
        let mut args: Vec<OsString> = args.into_iter().collect();
        let as_helper = args
            .first()
            .and_then(|a| Path::new(a).file_stem())
            .is_some_and(|stem| stem == GIT_HELPER_NAME);
        if as_helper {
            args.insert(1, OsString::from("git-credential"));
        }
        args
    }
}

/// The whole program: parse the arguments, set up logging, run, report. Exit status 0
/// on success, 1 on failure, 2 for usage errors (clap exits by itself for those and for
/// --help/--version).
pub fn main(args: Vec<OsString>) -> u8 {
    let cli = match Cli::try_parse_from(Cli::args_from(args)) {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            // Usage errors quote what was typed, which may be a key in the wrong place
            // (`wandb-cred KEY`, `--backend KEY`): never show one.
            // Prefixed like every other message of ours (`wandb-cred: error: ...`).
            eprint!("wandb-cred: {}", crate::key::redact_keys(&e.to_string()));
            return e.exit_code().try_into().unwrap_or(2);
        }
        Err(e) => e.exit(),
    };
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
    report(run(cli))
}

/// Says what went wrong, if anything, and gives the exit status.
pub fn report(result: anyhow::Result<()>) -> u8 {
    const FAILURE: u8 = 1;
    match result {
        Ok(()) => 0,
        Err(error) if error.is::<Exit>() => {
            let exit = error.downcast_ref::<Exit>().expect("checked above");
            if !exit.message.is_empty() {
                eprintln!("wandb-cred: error: {}", exit.message);
            }
            exit.code
        }
        // The reader went away (`| head`): nothing left to say to anyone.
        Err(error) if is_broken_pipe(&error) => FAILURE,
        Err(error) => {
            eprintln!("wandb-cred: error: {error:#}");
            FAILURE
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

/// Runs the parsed command. Errors are reported by [`report`] and exit with status 1
/// (or an [`Exit`]'s own status).
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let backend = cli.backend();
    match cli.command {
        Command::Daemon(args) => return run_daemon(backend, args),
        Command::Completions(args) => return docs::completions(args.shell),
        Command::Man(args) => return docs::man(args.out_dir.as_deref()),
        Command::GitCredential(args) => return git_credential::run(backend, &args.operation),
        Command::Doctor(args) => return doctor::run(backend, args),
        Command::Status(args) => return status::run(backend, args),
        Command::Service(args) => return service::run(args),
        _ => {}
    }
    let ctx = Context::load(backend)?;
    match cli.command {
        Command::Login(args) => login::run(&ctx, args),
        Command::Get(args) => get::run(&ctx, args),
        Command::Exec(args) => exec::run(&ctx, args),
        Command::SetupGit(args) => setup_git::run(&ctx, args),
        Command::SetupPython(args) => setup_python::run(&ctx, args),
        Command::Push(args) => push::run(&ctx, args),
        Command::Ssh(args) => ssh::run(&ctx, args),
        Command::Logout(args) => logout::run(&ctx, args),
        Command::Migrate(args) => migrate::run(&ctx, args),
        Command::List(args) => list::run(&ctx, args),
        Command::Stop => daemon_control::stop(&ctx),
        Command::Uninstall(args) => uninstall::run(&ctx, args),
        Command::Reload(_) => daemon_control::reload(&ctx),
        Command::Daemon(_)
        | Command::Completions(_)
        | Command::Man(_)
        | Command::GitCredential(_)
        | Command::Doctor(_)
        | Command::Status(_)
        | Command::Service(_) => unreachable!("handled above"),
    }
}

fn run_daemon(backend: BackendChoice, args: DaemonArgs) -> anyhow::Result<()> {
    let env = crate::env::Environment::from_process();
    let keychain_timeout =
        crate::store::keychain::timeout_from(&env).map_err(anyhow::Error::msg)?;
    crate::daemon::run(crate::daemon::Options {
        socket: args.socket.unwrap_or_else(|| crate::ipc::socket_path(&env)),
        idle_timeout: idle_timeout(&env, args.idle_timeout, args.autostarted)?,
        autostarted: args.autostarted,
        backend,
        kernel_keyring: env
            .var(crate::store::kernel_keyring::OPT_OUT)
            .is_none_or(|v| v == "0"),
        keychain_timeout,
        client_timeout: args.client_timeout,
        max_clients: usize::from(args.max_clients),
    })
}
