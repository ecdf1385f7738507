//! A real pseudo-terminal for driving the hidden prompt: the child gets the terminal as
//! its controlling tty, stdin, stdout and stderr; the test reads and types on the master.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

const DEADLINE: Duration = Duration::from_secs(30);
/// How long output may pause after the program exited before the transcript is closed.
const QUIET_AFTER_EXIT: Duration = Duration::from_secs(3);

pub struct Pty {
    master: File,
    child: Child,
    output: Receiver<Vec<u8>>,
    pub transcript: String,
}

impl Pty {
    pub fn spawn(mut command: Command) -> Self {
        let master: OwnedFd = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let slave = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(rustix::fs::OFlags::NOCTTY.bits() as i32)
            .open(name.to_str().unwrap())
            .unwrap();
        command
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        // SAFETY: only async-signal-safe system calls run between fork and exec.
        unsafe {
            command.pre_exec(|| {
                rustix::process::setsid()?;
                rustix::process::ioctl_tiocsctty(std::io::stdin())?;
                Ok(())
            });
        }
        let child = command.spawn().unwrap();
        drop(command); // closes our copies of the slave side
        let master = File::from(master);
        let mut reader = master.try_clone().unwrap();
        let (tx, output) = channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Self {
            master,
            child,
            output,
            transcript: String::new(),
        }
    }

    /// Waits until the output contains `needle` (searching from `from`), returning the
    /// offset just past it.
    pub fn expect_from(&mut self, from: usize, needle: &str) -> usize {
        self.expect_any(from, &[needle]).0
    }

    /// Waits until the output contains one of `needles` (searching from `from`):
    /// the offset just past the first one found, and which one it was.
    pub fn expect_any(&mut self, from: usize, needles: &[&str]) -> (usize, usize) {
        let started = Instant::now();
        loop {
            let rest = &self.transcript[from.min(self.transcript.len())..];
            if let Some((at, which)) = needles
                .iter()
                .enumerate()
                .filter_map(|(i, n)| rest.find(n).map(|at| (at + n.len(), i)))
                .min()
            {
                return (from + at, which);
            }
            let left = DEADLINE.saturating_sub(started.elapsed());
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.transcript.push_str(&String::from_utf8_lossy(&bytes)),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    panic!(
                        "{needles:?} never appeared; transcript:\n{}",
                        self.transcript
                    )
                }
            }
        }
    }

    /// Waits until the terminal no longer echoes (a hidden prompt is reading).
    pub fn wait_for_hidden_input(&self) {
        let started = Instant::now();
        while rustix::termios::tcgetattr(&self.master)
            .unwrap()
            .local_modes
            .contains(rustix::termios::LocalModes::ECHO)
        {
            assert!(
                started.elapsed() < DEADLINE,
                "echo was never turned off:\n{}",
                self.transcript
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Another handle on the terminal's master side, for raw bytes such as Ctrl-D.
    pub fn master_clone(&self) -> File {
        self.master.try_clone().unwrap()
    }

    pub fn type_line(&mut self, text: &str) {
        self.master
            .write_all(format!("{text}\r").as_bytes())
            .unwrap();
    }

    /// Waits for the child to exit and collects the rest of its output.
    pub fn finish(mut self) -> (ExitStatus, String) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > DEADLINE {
                self.child.kill().ok();
                panic!("the program did not exit; transcript:\n{}", self.transcript);
            }
            while let Ok(bytes) = self.output.try_recv() {
                self.transcript.push_str(&String::from_utf8_lossy(&bytes));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        // The reader ends when the last holder of the terminal closes it. A busy machine
        // may deliver the tail of the output well after the exit, so wait for the end,
        // bounded by a quiet spell in case something the program started holds it open.
        while let Ok(bytes) = self.output.recv_timeout(QUIET_AFTER_EXIT) {
            self.transcript.push_str(&String::from_utf8_lossy(&bytes));
        }
        (status, std::mem::take(&mut self.transcript))
    }
}

impl Drop for Pty {
    /// A test that fails half way must not leave its program waiting at the prompt.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
