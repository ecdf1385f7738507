//! One Python environment, asked about itself: which interpreter is meant (`--python`,
//! the active virtualenv or conda env, or the Python on PATH), where it installs
//! packages, the W&B SDK version it has, and whether wandb-cred's hook runs in it. The
//! interpreter is run once, standard input closed, for at most [`PROBE_TIMEOUT`]; it
//! imports neither wandb nor anything that would start the hook's lookup.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::child::{self, ChildError};
use crate::env::Environment;
use crate::sys;

/// How long the interpreter may take to answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// The name of the module the hook installs (a package folder in site-packages).
pub const HOOK_MODULE: &str = "_wandb_cred_hook";

/// Which interpreter, and why that one.
#[derive(Debug, Clone)]
pub struct Interpreter {
    pub program: PathBuf,
    pub chosen_because: String,
}

impl Interpreter {
    /// `--python PATH`, else the active virtualenv (`VIRTUAL_ENV`), else the active conda
    /// env (`CONDA_PREFIX`), else the Python on PATH.
    pub fn choose(env: &Environment, explicit: Option<&Path>) -> Self {
        if let Some(path) = explicit {
            return Self {
                program: path.to_owned(),
                chosen_because: "--python".to_owned(),
            };
        }
        for (variable, below, what) in [
            ("VIRTUAL_ENV", sys::VENV_PYTHON, "the active virtualenv"),
            ("CONDA_PREFIX", sys::CONDA_PYTHON, "the active conda env"),
        ] {
            if let Some(root) = env.var(variable).filter(|v| !v.is_empty()) {
                return Self {
                    program: Path::new(root).join(below),
                    chosen_because: format!("{what} ({variable}={root})"),
                };
            }
        }
        Self {
            program: PathBuf::from(sys::PYTHON_ON_PATH),
            chosen_because: format!("the {} on PATH", sys::PYTHON_ON_PATH),
        }
    }
}

/// What the interpreter said about itself.
#[derive(Debug, Clone, Deserialize)]
pub struct Facts {
    pub executable: PathBuf,
    /// Python's own version, `3.11.7`.
    pub version: String,
    pub prefix: PathBuf,
    /// A virtual environment (`sys.prefix != sys.base_prefix`).
    pub venv: bool,
    /// A conda environment (`conda-meta` in its prefix).
    pub conda: bool,
    /// Where packages of this environment go.
    pub purelib: PathBuf,
    /// The user's site-packages folder, when this Python reads it.
    pub user_site: Option<PathBuf>,
    /// The W&B SDK's version, when it is installed.
    pub wandb: Option<String>,
    /// wandb-cred's hook, when this Python started it.
    pub hook: Option<HookFacts>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HookFacts {
    /// The folder of the hook's module.
    pub path: PathBuf,
    /// The wandb-cred it runs.
    pub wandb_cred: Option<String>,
    /// Its finder is on `sys.meta_path`.
    pub active: bool,
}

impl Facts {
    /// Where a hook for this environment goes: its own site-packages for a virtualenv
    /// or conda env, else the user's site-packages (`None`: this Python reads none).
    pub fn hook_site(&self) -> Option<&Path> {
        if self.venv || self.conda {
            Some(&self.purelib)
        } else {
            self.user_site.as_deref()
        }
    }

    /// `/path/to/python3 (Python 3.11.7)`.
    pub fn describe(&self) -> String {
        format!("{} (Python {})", self.executable.display(), self.version)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot run {}: {source}", program.display())]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("{} did not answer within {} s", program.display(), PROBE_TIMEOUT.as_secs())]
    Timeout { program: PathBuf },
    #[error("{} failed ({status}): {stderr}", program.display())]
    Failed {
        program: PathBuf,
        status: String,
        stderr: String,
    },
    #[error("{} gave an answer that is not understood: {why}", program.display())]
    Garbled { program: PathBuf, why: String },
}

/// Printed as one line of JSON by the interpreter; see [`Facts`].
const PROBE: &str = r#"
import json, os, site, sys, sysconfig
try:
    from importlib.metadata import version
    wandb = version("wandb")
except Exception:
    wandb = None
hook = sys.modules.get("_wandb_cred_hook")
print(json.dumps({
    "executable": sys.executable,
    "version": "%d.%d.%d" % sys.version_info[:3],
    "prefix": sys.prefix,
    "venv": sys.prefix != sys.base_prefix,
    "conda": os.path.isdir(os.path.join(sys.prefix, "conda-meta")),
    "purelib": sysconfig.get_paths()["purelib"],
    "user_site": site.getusersitepackages() if site.ENABLE_USER_SITE else None,
    "wandb": wandb,
    "hook": None if hook is None else {
        "path": os.path.dirname(getattr(hook, "__file__", None) or ""),
        "wandb_cred": getattr(hook, "WANDB_CRED", None),
        "active": any(getattr(f, "wandb_cred_hook", False) for f in sys.meta_path),
    },
}))
"#;

/// Runs the interpreter once and reads its answer.
pub fn probe(interpreter: &Interpreter) -> Result<Facts, ProbeError> {
    let program = interpreter.program.clone();
    // From `/` (child::helper) and with PYTHONSAFEPATH (Python 3.11+): `-c` puts the
    // current folder first on sys.path, and a `json.py` left there would run as the user.
    let mut command = child::helper(&program);
    command
        .args(["-c", PROBE])
        .env("PYTHONSAFEPATH", "1")
        .env_remove("PYTHONSTARTUP")
        .env_remove("PYTHONINSPECT");
    let finished = child::run_within(&mut command, PROBE_TIMEOUT).map_err(|e| match e {
        ChildError::Spawn(source) => ProbeError::Spawn {
            program: program.clone(),
            source,
        },
        ChildError::Timeout(_) => ProbeError::Timeout {
            program: program.clone(),
        },
    })?;
    if !finished.status.success() {
        return Err(ProbeError::Failed {
            program,
            status: finished.status.to_string(),
            stderr: finished.last_error_line(),
        });
    }
    // The last line: a .pth file may print before the probe does.
    let text = String::from_utf8_lossy(&finished.stdout);
    let line = text.trim().lines().last().unwrap_or("");
    serde_json::from_str(line).map_err(|e| ProbeError::Garbled {
        program,
        why: e.to_string(),
    })
}
