//! The Python environments a user's W&B SDK commands run in, found without being told:
//! each `wandb` command on `PATH` (its script names its Python) and each pipx or uv tool
//! environment that holds one. An environment without wandb-cred's hook writes the key
//! in plaintext to netrc at `wandb login`, and loses it once `migrate` moves netrc's
//! keys away: `doctor` and `migrate` name them.

use std::path::{Path, PathBuf};

use crate::env::Environment;
use crate::python_env::{self, Facts, Interpreter, ProbeError};
use crate::resolve::sdk::SdkVersion;

/// One environment with a `wandb` command, and how it was found.
#[derive(Debug, Clone)]
pub struct SdkEnvironment {
    /// Its Python, as the `wandb` script (or the tool manager's layout) names it.
    pub python: PathBuf,
    /// `wandb on PATH (/usr/local/bin/wandb)`, `pipx environment wandb`, ...
    pub found_as: String,
}

/// What one environment is, once asked.
#[derive(Debug)]
pub enum Verdict {
    /// The hook is installed and serves its SDK.
    Hooked(Facts),
    /// An SDK the hook serves, and no hook: `wandb login` there writes plaintext.
    Unhooked(Facts),
    /// The hook is installed, but the SDK there is older than the hook serves.
    TooOld(Facts),
    /// Its Python has no wandb package after all (a stale script).
    NoSdk,
    /// Its Python could not be asked.
    Unknown(ProbeError),
}

impl SdkEnvironment {
    /// Asks the environment's Python about itself (one run, bounded in time).
    pub fn verdict(&self) -> Verdict {
        let interpreter = Interpreter {
            program: self.python.clone(),
            chosen_because: self.found_as.clone(),
        };
        let facts = match python_env::probe(&interpreter) {
            Ok(facts) => facts,
            Err(e) => return Verdict::Unknown(e),
        };
        let Some(version) = facts.wandb.as_deref() else {
            return Verdict::NoSdk;
        };
        let served = SdkVersion::parse(version).is_none_or(SdkVersion::takes_the_hook);
        match facts.hook.as_ref().is_some_and(|h| h.active) {
            true if served => Verdict::Hooked(facts),
            true => Verdict::TooOld(facts),
            false => Verdict::Unhooked(facts),
        }
    }
}

/// The name of the SDK's command on this platform.
fn wandb_command() -> String {
    format!("wandb{}", std::env::consts::EXE_SUFFIX)
}

/// Every environment found, each once (by the folder of its Python), `PATH` first.
pub fn find(env: &Environment) -> Vec<SdkEnvironment> {
    let mut found: Vec<SdkEnvironment> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut add = |candidate: SdkEnvironment| {
        let folder = candidate
            .python
            .parent()
            .and_then(|f| std::fs::canonicalize(f).ok())
            .map(|f| f.join(candidate.python.file_name().unwrap_or_default()));
        if let Some(folder) = folder
            && !seen.contains(&folder)
        {
            seen.push(folder);
            found.push(candidate);
        }
    };
    if let Some(path) = env.var("PATH") {
        for dir in std::env::split_paths(path).filter(|d| d.is_absolute()) {
            let script = dir.join(wandb_command());
            if script.is_file()
                && let Some(python) = python_of(&script)
            {
                add(SdkEnvironment {
                    python,
                    found_as: format!("wandb on PATH ({})", script.display()),
                });
            }
        }
    }
    for (manager, root) in tool_roots(env) {
        let Ok(entries) = std::fs::read_dir(&root) else {
            continue;
        };
        let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        for venv in names {
            let python = venv.join(crate::sys::VENV_PYTHON);
            let bin = python.parent().unwrap_or(&venv).to_owned();
            if bin.join(wandb_command()).is_file() && python.is_file() {
                let name = venv.file_name().unwrap_or_default().to_string_lossy();
                add(SdkEnvironment {
                    python,
                    found_as: format!("{manager} environment {name}"),
                });
            }
        }
    }
    found
}

/// The folders pipx and uv keep their tool environments in.
fn tool_roots(env: &Environment) -> Vec<(&'static str, PathBuf)> {
    let mut roots = Vec::new();
    let home = env.home.clone();
    let data = env
        .var("XDG_DATA_HOME")
        .filter(|d| Path::new(d).is_absolute())
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".local/share")));
    match env.var("PIPX_HOME").filter(|d| !d.is_empty()) {
        Some(pipx) => roots.push(("pipx", Path::new(pipx).join("venvs"))),
        None => {
            if let Some(data) = &data {
                roots.push(("pipx", data.join("pipx/venvs")));
            }
            if let Some(home) = &home {
                roots.push(("pipx", home.join(".local/pipx/venvs")));
            }
        }
    }
    match env.var("UV_TOOL_DIR").filter(|d| !d.is_empty()) {
        Some(uv) => roots.push(("uv tool", PathBuf::from(uv))),
        None => {
            if let Some(data) = &data {
                roots.push(("uv tool", data.join("uv/tools")));
            }
        }
    }
    roots
}

/// The Python a `wandb` script runs: its `#!` line (or pip's `'''exec'` form for long
/// paths), else a Python beside it (a venv's `bin`, with links resolved).
fn python_of(script: &Path) -> Option<PathBuf> {
    let real = std::fs::canonicalize(script).ok()?;
    if let Some(python) = shebang(&real) {
        return Some(python);
    }
    let beside = real
        .parent()?
        .join(Path::new(crate::sys::VENV_PYTHON).file_name()?);
    beside.is_file().then_some(beside)
}

fn shebang(script: &Path) -> Option<PathBuf> {
    use std::io::Read as _;
    let mut head = [0u8; 1024];
    let mut file = std::fs::File::open(script).ok()?;
    let n = file.read(&mut head).ok()?;
    let text = std::str::from_utf8(&head[..n]).ok()?;
    let mut lines = text.lines();
    let first = lines.next()?.strip_prefix("#!")?.trim();
    let program = if first == "/bin/sh" {
        // pip: #!/bin/sh and '''exec' "/long path/python" "$0" "$@"
        let line = lines.next()?.strip_prefix("'''exec' ")?;
        let quoted = line.strip_prefix('"')?;
        quoted[..quoted.find('"')?].to_owned()
    } else {
        first.split_whitespace().next()?.to_owned()
    };
    let program = PathBuf::from(program);
    let name = program.file_name()?.to_string_lossy().into_owned();
    (program.is_absolute() && name.starts_with("python")).then_some(program)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("wandb");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_scripts_python_is_read_from_either_form_of_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let plain = script(dir.path(), "#!/opt/env/bin/python3.11\nimport sys\n");
        assert_eq!(
            shebang(&plain),
            Some(PathBuf::from("/opt/env/bin/python3.11"))
        );
        let long = script(
            dir.path(),
            "#!/bin/sh\n'''exec' \"/very long/env/bin/python\" \"$0\" \"$@\"\n' '''\n",
        );
        assert_eq!(
            shebang(&long),
            Some(PathBuf::from("/very long/env/bin/python"))
        );
        for other in [
            "#!/usr/bin/env python3\n",
            "#!/bin/bash\necho\n",
            "MZ\x00binary",
        ] {
            assert_eq!(shebang(&script(dir.path(), other)), None, "{other:?}");
        }
    }
}
