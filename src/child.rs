//! Running a helper program (Python, systemctl, launchctl) with a bound: its status
//! and output, or killed once the bound has passed. Its standard input is closed.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

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
