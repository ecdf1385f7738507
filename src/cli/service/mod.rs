//! `service install [--uninstall]` / `service uninstall`: runs the daemon under the
//! platform's service manager (systemd user units on Linux, a LaunchAgent on macOS),
//! naming this program by its real path. Idempotent; files that `service install`
//! did not write are never replaced or removed; a failed install leaves what was there.

mod launchd;
mod systemd;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::daemon_control::stop_running;
use super::output::say;
use crate::child::{self, Finished};
use crate::config::plain_file::{read_if_there, remove_if_there, write_replacing};
use crate::env::Environment;
use crate::units::{self, ServiceManager};

/// How long systemctl or launchctl may take for one step.
const MANAGER_BOUND: Duration = Duration::from_secs(30);

#[derive(Debug, clap::Args)]
pub struct ServiceArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Install the daemon as a service (systemd user units, or a macOS LaunchAgent)
    /// that runs this program from where it is now, and start it.
    #[command(after_help = "Examples:
  wandb-cred service install
  wandb-cred service install --uninstall")]
    Install {
        /// Remove what `service install` installed (as `service uninstall`).
        #[arg(long)]
        uninstall: bool,
    },
    /// Stop the service and remove what `service install` installed.
    #[command(after_help = "Example:
  wandb-cred service uninstall")]
    Uninstall,
}

pub fn run(args: ServiceArgs) -> anyhow::Result<()> {
    let env = Environment::from_process();
    let uninstall = matches!(
        args.action,
        Action::Uninstall | Action::Install { uninstall: true }
    );
    match crate::sys::SERVICE_MANAGER {
        None => bail!(
            "there is no service to install on this platform: commands start the daemon on demand and it stays for the session"
        ),
        Some(ServiceManager::Systemd) if uninstall => systemd::uninstall(&env),
        Some(ServiceManager::Systemd) => systemd::install(&env, &this_program()?),
        Some(ServiceManager::Launchd) if uninstall => launchd::uninstall(&env),
        Some(ServiceManager::Launchd) => launchd::install(&env, &this_program()?),
    }
}

/// Removes the service `service install` set up, if any (for `uninstall`); nothing is
/// said on a platform without one.
pub fn uninstall_if_installed() -> anyhow::Result<()> {
    let env = Environment::from_process();
    match crate::sys::SERVICE_MANAGER {
        None => Ok(()),
        Some(ServiceManager::Systemd) => systemd::uninstall(&env),
        Some(ServiceManager::Launchd) => launchd::uninstall(&env),
    }
}

/// The command that starts the installed service (for `doctor`'s fix when
/// WANDB_CRED_NO_AUTOSTART is set and no daemon runs), `None` when none is installed.
pub fn start_command() -> Option<String> {
    let env = Environment::from_process();
    match crate::sys::SERVICE_MANAGER? {
        ServiceManager::Systemd => systemd::is_installed(&env)
            .then(|| "start the service: `systemctl --user start wandb-cred.socket`".to_owned()),
        ServiceManager::Launchd => launchd::is_installed().then(|| {
            "start the service: `launchctl kickstart gui/$(id -u)/io.github.wandb-cred`".to_owned()
        }),
    }
}

/// What `service install` installed for this user: the definition file and the program
/// it runs (for `doctor`: a program moved or removed since leaves a service that fails).
pub fn installed(env: &Environment) -> Option<(PathBuf, Option<PathBuf>)> {
    let definition = match crate::sys::SERVICE_MANAGER? {
        ServiceManager::Systemd => systemd::service_file(env)?,
        ServiceManager::Launchd => launchd::plist_path().ok()?,
    };
    let text = std::fs::read_to_string(&definition).ok()?;
    units::is_ours(&text).then(|| (definition, units::program_of(&text)))
}

/// The program the service runs: this one, symbolic links resolved (a venv's or a
/// tool folder's `bin` entry may be one), so the unit keeps working from any shell.
fn this_program() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let exe =
        std::fs::canonicalize(&exe).with_context(|| format!("cannot resolve {}", exe.display()))?;
    super::recordable(exe)
}

fn home() -> anyhow::Result<PathBuf> {
    crate::sys::home_dir().context("cannot find the home folder (HOME is not set)")
}

/// One definition file: where it goes, what `service install` writes, what is there.
struct Definition {
    path: PathBuf,
    text: String,
    found: Option<String>,
}

impl Definition {
    fn at(path: PathBuf, text: String) -> anyhow::Result<Self> {
        let found = read_if_there(&path)?;
        Ok(Self { path, text, found })
    }

    /// The file's current state, for removal: `None` when it is not there.
    fn found(path: PathBuf) -> anyhow::Result<Self> {
        Self::at(path, String::new())
    }

    fn is_current(&self) -> bool {
        self.found.as_deref() == Some(self.text.as_str())
    }

    /// Refuses a file of that name that `service install` did not write.
    fn check_ours(&self) -> anyhow::Result<()> {
        match &self.found {
            Some(text) if !units::is_ours(text) => bail!(
                "{} was not written by `wandb-cred service install`; left it as it is (move it away first to have wandb-cred manage the service)",
                self.path.display()
            ),
            _ => Ok(()),
        }
    }

    fn write(&self) -> anyhow::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        write_replacing(&self.path, &self.text)
    }

    /// Puts back what was there before [`Definition::write`].
    fn restore(&self) {
        let restored = match &self.found {
            Some(text) => write_replacing(&self.path, text),
            None => remove_if_there(&self.path),
        };
        if let Err(e) = restored {
            tracing::warn!("could not put back {}: {e:#}", self.path.display());
        }
    }
}

/// Runs the service manager's tool once (bounded); `Err` says what it said.
fn manager(tool: &str, args: &[&str]) -> anyhow::Result<Finished> {
    let finished = child::run_within(child::helper(tool).args(args), MANAGER_BOUND)
        .with_context(|| format!("`{tool} {}`", args.join(" ")))?;
    if !finished.status.success() {
        let said = finished.last_error_line();
        bail!(
            "`{tool} {}` failed ({}){}",
            args.join(" "),
            finished.status,
            if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            }
        );
    }
    Ok(finished)
}

/// Whether the tool's answer to a question is yes (exit status 0), bounded.
fn manager_says_yes(tool: &str, args: &[&str]) -> bool {
    child::run_within(child::helper(tool).args(args), MANAGER_BOUND)
        .is_ok_and(|finished| finished.status.success())
}

/// Stops a daemon a command started on demand, so the service manager's own owns the
/// socket from now on.
fn hand_over_from_on_demand_daemon(env: &Environment) -> anyhow::Result<()> {
    if let Some(pid) = stop_running(env).context("cannot stop the daemon that is running")? {
        say(format_args!(
            "Stopped the daemon started on demand (pid {pid}); the service runs it from now on."
        ));
    }
    Ok(())
}
