//! Running a helper program (Python, ssh, git, systemctl, launchctl): started from a
//! folder nobody else controls ([`helper`]), and, with a bound, its status and output,
//! or killed once the bound has passed (standard input closed).

use std::ffi::OsStr;
use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Variables that point a program at a repository or folder the user works in, and
/// that would make a helper's own, unrelated job read that folder's files.
const WORKSPACE_VARS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
];

/// A command for a helper program that wandb-cred runs on its own behalf (never the
/// user's own command, which `exec` runs where the user is). It starts in a folder only
/// root controls ([`crate::sys::safe_dir`]), never the caller's: a Python there would
/// import the caller's folder first, git would read a repository found there, and a
/// relative program path or PATH entry would name a file there. A relative program path
/// with a folder in it is made absolute against the caller's folder first, so the
/// program meant is still the one run.
pub fn helper(program: impl AsRef<OsStr>) -> Command {
    let program = program.as_ref();
    let path = std::path::Path::new(program);
    let mut command = if path.is_relative() && path.components().count() > 1 {
        match std::env::current_dir() {
            Ok(cwd) => Command::new(cwd.join(path)),
            Err(_) => Command::new(program),
        }
    } else {
        Command::new(program)
    };
    command.current_dir(crate::sys::safe_dir());
    for name in WORKSPACE_VARS {
        command.env_remove(name);
    }
    command
}

/// How a program that was run to its end finished.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Finished {
    /// The last line the program wrote to standard error (its reason, as a rule).
    pub fn last_error_line(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr);
        text.trim().lines().last().unwrap_or("").to_owned()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("cannot run it: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("it did not finish within {} s", .0.as_secs())]
    Timeout(Duration),
}

/// Runs `command` to its end, or kills it after `bound`.
pub fn run_within(command: &mut Command, bound: Duration) -> Result<Finished, ChildError> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(ChildError::Spawn)?;
    let readers = [
        child.stdout.take().map(read_all),
        child.stderr.take().map(read_all),
    ];
    let deadline = Instant::now() + bound;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ChildError::Timeout(bound));
            }
        }
    };
    let [stdout, stderr] = readers.map(|r| r.and_then(|h| h.join().ok()).unwrap_or_default());
    Ok(Finished {
        status,
        stdout,
        stderr,
    })
}

/// Reads a pipe to its end on its own thread (so a full pipe never stalls the child).
fn read_all(pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.take(1 << 20).read_to_end(&mut bytes);
        bytes
    })
}
