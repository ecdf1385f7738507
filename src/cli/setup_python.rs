//! `setup-python [--python PATH] [--unset]`: installs the hook that gives a bare
//! `import wandb` the stored key (`python/_wandb_cred_hook`) into one Python
//! environment: the module, a `.pth` line that starts it, and the `.start` file that
//! replaces that line on Python 3.15+ (PEP 829). The hook runs this program by its
//! absolute path, recorded now. It also makes the `wandb_cred` package importable there
//! (unless pip put one there), which then runs the hook's recorded program. Idempotent;
//! `--unset` removes exactly those files.

use clap::Args;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use super::Context;
use super::output::say;
use crate::config::plain_file::{remove_if_there, write_replacing};
use crate::python_env::{self, Facts, HOOK_MODULE, Interpreter};
use crate::resolve::sdk::SdkVersion;

/// Make `import wandb` in one Python environment find the stored key by itself.
///
/// Installs a small hook into the environment's site-packages (default: the active
/// virtualenv or conda env, else the user site-packages of the python3 on PATH).
/// When the W&B SDK there (0.24.1 or later) needs a key for a server, the hook runs
/// `wandb-cred get --env --host URL` once (this program, by the absolute path recorded
/// now), so `python train.py`, Jupyter and `wandb agent` find the key with no plaintext
/// file. When the SDK would write a key to netrc (`wandb login`, `wandb.login(key=...)`,
/// a key prompt), the hook stores it with wandb-cred instead. Start-up cost: one small
/// import. WANDB_CRED_NO_HOOK=1 turns it off for a run; --unset removes it.
#[derive(Debug, Args)]
#[command(
    name = "setup-python",
    after_help = "Examples:
  wandb-cred setup-python                           # the active venv (or the user site)
  wandb-cred setup-python --python ~/envs/ml/bin/python
  wandb-cred setup-python --unset"
)]
pub struct SetupPythonArgs {
    /// The Python whose environment gets the hook (default: the active virtualenv or
    /// conda env, else the python3 on PATH).
    #[arg(long, value_name = "PATH")]
    pub(super) python: Option<PathBuf>,
    /// Remove what setup-python added.
    #[arg(long)]
    pub(super) unset: bool,
}

/// The hook's module, with the path of the wandb-cred it runs left open.
const MODULE_TEMPLATE: &str = include_str!("../../python/_wandb_cred_hook/__init__.py");
const PATH_PLACEHOLDER: &str = "\"@WANDB_CRED@\"";
/// Every installed module carries this line; `--unset` removes only such a module.
const MARKER: &str = "# Installed by wandb-cred setup-python";

/// The Python API, copied as the wheel carries it; a marker file says setup-python
/// wrote it (a `wandb_cred` that pip installed has none, and is never touched).
const API_PACKAGE: &str = "wandb_cred";
const API_INIT: &str = include_str!("../../python/wandb_cred/__init__.py");
const API_MARKER: &str = "_installed_by_setup_python";
const API_MARKER_TEXT: &str =
    "wandb-cred setup-python wrote this package; `wandb-cred setup-python --unset` removes it\n";

const PTH: &str = "wandb_cred_hook.pth";
const PTH_LINE: &str = "import _wandb_cred_hook; _wandb_cred_hook.install()\n";
const START: &str = "wandb_cred_hook.start";
const START_LINE: &str = "_wandb_cred_hook:install\n";

pub fn run(ctx: &Context, args: SetupPythonArgs) -> anyhow::Result<()> {
    let interpreter = Interpreter::choose(&ctx.env, args.python.as_deref());
    let facts = python_env::probe(&interpreter).with_context(|| {
        format!(
            "cannot ask {}, {}, where it installs packages",
            interpreter.program.display(),
            interpreter.chosen_because
        )
    })?;
    let Some(site) = facts.hook_site() else {
        bail!(
            "{} is not a virtualenv or conda env and reads no user site-packages (PYTHONNOUSERSITE is set, or it runs with -s); activate a virtualenv, or name one with --python PATH",
            facts.describe()
        );
    };
    let hook = Hook::at(site);
    let which = format!("{}, {}", facts.describe(), interpreter.chosen_because);
    if args.unset {
        return unset(&hook, Some(&which));
    }
    let wandb_cred = super::front_program()?;
    let files = hook.files(&wandb_cred)?;
    let current: Vec<Option<Vec<u8>>> = files.iter().map(|(p, _)| std::fs::read(p).ok()).collect();
    if files
        .iter()
        .zip(&current)
        .all(|((_, want), have)| have.as_deref() == Some(want.as_bytes()))
    {
        say(format_args!(
            "The wandb-cred hook is already installed for {which} (in {}); nothing changed.",
            site.display()
        ));
        return Ok(());
    }
    if let Err(error) = install(&hook, &files, &facts) {
        let denied = error.chain().any(|cause| {
            cause.downcast_ref::<std::io::Error>().is_some_and(|e| {
                matches!(
                    e.kind(),
                    std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
                )
            })
        });
        let hint = if denied {
            " (you cannot write there; a system Python's packages belong to root: activate a virtualenv, or name one with --python PATH)"
        } else {
            ""
        };
        return Err(error.context(format!(
            "cannot install the wandb-cred hook for {which} into {}{hint}",
            site.display()
        )));
    }
    super::hook_record::remember(site);
    if let Some(why) = crate::ownership::file(site) {
        super::output::warn(format_args!(
            "another user could change {} ({why}): they could replace the hook there, which runs in every Python that starts in it; use an environment only you can write to",
            site.display()
        ));
    }
    let replaced = current.iter().any(Option::is_some);
    say(format_args!(
        "{} the wandb-cred hook for {which}, in {}: {}; `import wandb_cred` works there. `wandb-cred setup-python --unset{}` removes it.",
        if replaced { "Updated" } else { "Installed" },
        site.display(),
        what_the_sdk_gets(&facts, &wandb_cred),
        python_flag(&args.python),
    ));
    if !facts.venv && !facts.conda {
        // The user site is shared: say who else now gets the hook.
        let minor: Vec<&str> = facts.version.split('.').take(2).collect();
        say(format_args!(
            "{} is your user site-packages: every Python {} you run outside a virtualenv or conda env gets the hook too (other Python versions read their own).",
            site.display(),
            minor.join(".")
        ));
    }
    Ok(())
}

/// What the hook now does for the SDK installed there: every key it reads or writes goes
/// through wandb-cred, unless there is no SDK yet or one the hook does not serve.
fn what_the_sdk_gets(facts: &Facts, wandb_cred: &Path) -> String {
    let oldest = SdkVersion::OLDEST_HOOKED;
    match facts.wandb.as_deref() {
        None => format!(
            "no W&B SDK is installed there yet; once one is (`{} -m pip install wandb`, {oldest} or later), `import wandb` there gets the key from {}",
            facts.executable.display(),
            wandb_cred.display()
        ),
        Some(version) if SdkVersion::parse(version).is_some_and(|v| !v.takes_the_hook()) => {
            format!(
                "wandb {version} there is older than {oldest}, the first the hook serves, so it gets no key from wandb-cred and `wandb login` there still writes netrc; upgrade it: `{} -m pip install -U wandb`",
                facts.executable.display()
            )
        }
        Some(version) => format!(
            "wandb {version} there now gets the key from {} unless WANDB_API_KEY is set, and `wandb login` there stores the key with wandb-cred, not in netrc",
            wandb_cred.display()
        ),
    }
}

fn python_flag(python: &Option<PathBuf>) -> String {
    python
        .as_ref()
        .map(|p| format!(" --python {}", p.display()))
        .unwrap_or_default()
}

/// The hook's files in one site-packages folder.
struct Hook {
    site: PathBuf,
}

impl Hook {
    fn at(site: &Path) -> Self {
        Self {
            site: site.to_owned(),
        }
    }

    fn module_dir(&self) -> PathBuf {
        self.site.join(HOOK_MODULE)
    }

    fn module(&self) -> PathBuf {
        self.module_dir().join("__init__.py")
    }

    fn api_dir(&self) -> PathBuf {
        self.site.join(API_PACKAGE)
    }

    /// Whether `wandb_cred` there is setup-python's (or not there at all), so it may be
    /// written or removed.
    fn api_is_ours_or_absent(&self) -> bool {
        !self.api_dir().exists() || self.api_dir().join(API_MARKER).is_file()
    }

    /// Each file and its text, in the order they are written: the `.pth` line that
    /// starts the hook comes last.
    fn files(&self, wandb_cred: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
        let Some(path) = wandb_cred.to_str() else {
            bail!(
                "this program's path {} is not UTF-8 text, which the hook cannot record",
                wandb_cred.display()
            );
        };
        let literal = serde_json::to_string(path).expect("a string serialises");
        debug_assert!(MODULE_TEMPLATE.contains(MARKER));
        let module = MODULE_TEMPLATE.replacen(PATH_PLACEHOLDER, &literal, 1);
        let mut files = Vec::new();
        if self.api_is_ours_or_absent() {
            let api = self.api_dir();
            files.push((api.join(API_MARKER), API_MARKER_TEXT.to_owned()));
            files.push((api.join("__init__.py"), API_INIT.to_owned()));
            files.push((api.join("py.typed"), String::new()));
        }
        files.extend([
            (self.module(), module),
            (self.site.join(START), START_LINE.to_owned()),
            (self.site.join(PTH), PTH_LINE.to_owned()),
        ]);
        Ok(files)
    }
}

fn install(hook: &Hook, files: &[(PathBuf, String)], facts: &Facts) -> anyhow::Result<()> {
    if !hook.site.is_dir() && facts.user_site.as_deref() == Some(hook.site.as_path()) {
        // A user site-packages folder is often not there yet; Python reads it once it is.
        std::fs::create_dir_all(&hook.site)
            .with_context(|| format!("cannot create {}", hook.site.display()))?;
    }
    for dir in [hook.api_dir(), hook.module_dir()] {
        if files.iter().any(|(path, _)| path.starts_with(&dir)) {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
    }
    for (path, text) in files {
        write_replacing(path, text)?;
    }
    Ok(())
}

/// Removes the hook (and the `wandb_cred` package setup-python put there) from one
/// site-packages folder, for `uninstall`; whether there was one.
pub fn remove_at(site: &Path) -> anyhow::Result<bool> {
    let hook = Hook::at(site);
    let there =
        hook.module().exists() || hook.site.join(PTH).exists() || hook.site.join(START).exists();
    if there {
        unset(&hook, None)?;
    } else {
        super::hook_record::forget(site);
    }
    Ok(there)
}

/// Removes the hook's files; `which` names the Python they were for, when known.
fn unset(hook: &Hook, which: Option<&str>) -> anyhow::Result<()> {
    let which = which.map(|w| format!(" for {w}")).unwrap_or_default();
    let module = std::fs::read_to_string(hook.module()).ok();
    let pth = std::fs::read_to_string(hook.site.join(PTH)).ok();
    let start = std::fs::read_to_string(hook.site.join(START)).ok();
    if module.is_none() && pth.is_none() && start.is_none() {
        say(format_args!(
            "The wandb-cred hook is not installed{which} (looked in {}); nothing changed.",
            hook.site.display()
        ));
        return Ok(());
    }
    if module.as_deref().is_some_and(|m| !m.contains(MARKER))
        || pth.as_deref().is_some_and(|p| p != PTH_LINE)
        || start.as_deref().is_some_and(|s| s != START_LINE)
    {
        bail!(
            "{} holds {HOOK_MODULE}, {PTH} or {START} files that wandb-cred did not write; left them as they are",
            hook.site.display()
        );
    }
    // The line that starts the hook goes first, the module it imports last.
    for file in [PTH, START] {
        remove_if_there(&hook.site.join(file))?;
    }
    if module.is_some() {
        std::fs::remove_dir_all(hook.module_dir())
            .with_context(|| format!("cannot remove {}", hook.module_dir().display()))?;
    }
    if hook.api_dir().join(API_MARKER).is_file() {
        std::fs::remove_dir_all(hook.api_dir())
            .with_context(|| format!("cannot remove {}", hook.api_dir().display()))?;
    }
    super::hook_record::forget(&hook.site);
    say(format_args!(
        "Removed the wandb-cred hook{which} from {}.",
        hook.site.display()
    ));
    Ok(())
}
