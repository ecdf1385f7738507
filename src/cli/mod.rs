//! The command line: clap definitions and dispatch, one file per subcommand.

mod args;
mod configure;
mod context;
mod daemon;
mod daemon_control;
mod docs;
mod doctor;
mod exec;
pub mod fast;
mod get;
mod git_credential;
mod hook_record;
mod list;
mod lock;
mod login;
mod logout;
mod lookup;
mod migrate;
mod output;
mod passwd;
mod plaintext;
mod profiles;
mod push;
mod push_record;
mod service;
mod setup_git;
mod setup_python;
mod ssh;
mod status;
mod switch;
mod uninstall;
mod unlock;
mod unlock_file;
mod whoami;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use args::StoreArg;
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

#[derive(Debug, Subcommand)]
enum Command {
    Login(login::LoginArgs),
    Get(get::GetArgs),
    Exec(exec::ExecArgs),
    GitCredential(git_credential::GitCredentialArgs),
    SetupGit(setup_git::SetupGitArgs),
    Push(push::PushArgs),
    Ssh(ssh::SshArgs),
    SetupPython(setup_python::SetupPythonArgs),
    Logout(logout::HostArgs),
    Migrate(migrate::MigrateArgs),
    Status(status::StatusArgs),
    Doctor(doctor::DoctorArgs),
    List(list::ListArgs),
    Unlock(unlock::UnlockArgs),
    Lock(lock::LockArgs),
    Passwd(passwd::PasswdArgs),
    Config(configure::ConfigArgs),
    Whoami(whoami::WhoamiArgs),
    Switch(switch::SwitchArgs),
    Daemon(daemon::DaemonArgs),
    /// Ask the running daemon to shut down.
    #[command(after_help = "Example:
  wandb-cred stop")]
    Stop,
    Reload(daemon_control::ReloadArgs),
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
    Completions(docs::CompletionsArgs),
    Man(docs::ManArgs),
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
    /// WANDB_CRED_BACKEND, else `backend` in the user's configuration; `auto` otherwise.
    fn backend(&self) -> anyhow::Result<BackendChoice> {
        let after = match &self.command {
            Command::Login(login::LoginArgs { store, .. })
            | Command::Get(get::GetArgs { store, .. })
            | Command::Exec(exec::ExecArgs { store, .. })
            | Command::GitCredential(git_credential::GitCredentialArgs { store, .. })
            | Command::Push(push::PushArgs { store, .. })
            | Command::Ssh(ssh::SshArgs { store, .. })
            | Command::Logout(logout::HostArgs { store, .. })
            | Command::Migrate(migrate::MigrateArgs { store, .. })
            | Command::Status(status::StatusArgs { store, .. })
            | Command::Doctor(doctor::DoctorArgs { store, .. })
            | Command::List(list::ListArgs { store, .. })
            | Command::Unlock(unlock::UnlockArgs { store, .. })
            | Command::Lock(lock::LockArgs { store })
            | Command::Passwd(passwd::PasswdArgs { store, .. })
            | Command::Whoami(whoami::WhoamiArgs { store, .. })
            | Command::Switch(switch::SwitchArgs { store, .. })
            | Command::Daemon(daemon::DaemonArgs { store, .. })
            | Command::Reload(daemon_control::ReloadArgs { store }) => store.backend,
            Command::SetupGit(_)
            | Command::Config(_)
            | Command::SetupPython(_)
            | Command::Stop
            | Command::Service(_)
            | Command::Uninstall(_)
            | Command::Completions(_)
            | Command::Man(_) => None,
        };
        match after.or(self.store.backend) {
            Some(choice) => Ok(choice),
            // Then the user's configuration (`wandb-cred config backend`), else auto.
            None => Ok(match crate::config::user_config::get("backend")? {
                Some(name) => name.parse().map_err(anyhow::Error::msg)?,
                None => BackendChoice::Auto,
            }),
        }
    }

    /// `--profile NAME`, on the commands that take one.
    fn profile_flag(&self) -> Option<String> {
        match &self.command {
            Command::Login(login::LoginArgs { profile, .. })
            | Command::Get(get::GetArgs { profile, .. })
            | Command::Exec(exec::ExecArgs { profile, .. })
            | Command::Logout(logout::HostArgs { profile, .. })
            | Command::Whoami(whoami::WhoamiArgs { profile, .. })
            | Command::Migrate(migrate::MigrateArgs { profile, .. }) => profile.profile.clone(),
            _ => None,
        }
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
    // Before the configuration is read: it is how a broken one is mended.
    if let Command::Config(args) = cli.command {
        return configure::run(args);
    }
    let backend = cli.backend()?;
    match cli.command {
        Command::Daemon(args) => return daemon::run(backend, args),
        Command::Completions(args) => return docs::completions(args.shell),
        Command::Man(args) => return docs::man(args.out_dir.as_deref()),
        Command::GitCredential(args) => return git_credential::run(backend, &args.operation),
        Command::Doctor(args) => return doctor::run(backend, args),
        Command::Status(args) => return status::run(backend, args),
        Command::Service(args) => return service::run(args),
        _ => {}
    }
    let profile = cli.profile_flag();
    let mut ctx = Context::load(backend)?;
    ctx.profile_flag = profile;
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
        Command::Unlock(args) => unlock::run(&ctx, args),
        Command::Lock(args) => lock::run(&ctx, args),
        Command::Passwd(args) => passwd::run(&ctx, args),
        Command::Whoami(args) => whoami::run(&ctx, args),
        Command::Switch(args) => switch::run(&ctx, args),
        Command::Stop => daemon_control::stop(&ctx),
        Command::Uninstall(args) => uninstall::run(&ctx, args),
        Command::Reload(_) => daemon_control::reload(&ctx),
        Command::Daemon(_)
        | Command::Config(_)
        | Command::Completions(_)
        | Command::Man(_)
        | Command::GitCredential(_)
        | Command::Doctor(_)
        | Command::Status(_)
        | Command::Service(_) => unreachable!("handled above"),
    }
}
