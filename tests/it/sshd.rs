//! A real OpenSSH server on 127.0.0.1 for one test: a generated host key, a generated
//! client key authorized for a throwaway user with a shell and a home folder, and
//! `PATH` (through sshd's `SetEnv`) leading to this build of `wandb-cred`.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{BIN, Reaped, tools_missing};

pub fn tools_missing_for_sshd() -> Option<String> {
    tools_missing(
        &["ssh", "ssh-keygen", "usermod"],
        "Debian: openssh-client openssh-server passwd",
    )
    .or_else(|| {
        (!Path::new("/usr/sbin/sshd").exists())
            .then(|| "missing /usr/sbin/sshd (Debian: openssh-server)".to_owned())
    })
}

pub struct Sshd {
    pub port: u16,
    /// The client's private key.
    pub identity: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
    user: String,
    _server: Reaped,
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The remote user: a shell, a home folder emptied for this test, no password but not
/// locked (sshd without PAM refuses locked accounts even for keys).
pub fn remote_user(user: &str) -> (u32, u32, PathBuf) {
    let home = PathBuf::from(format!("/home/{user}"));
    if Command::new("id")
        .arg(user)
        .output()
        .unwrap()
        .status
        .success()
    {
        run("usermod", &["--shell", "/bin/sh", user]);
    } else {
        let out = Command::new("useradd")
            .args(["--create-home", "--shell", "/bin/sh", user])
            .output()
            .unwrap();
        let exists = Command::new("id")
            .arg(user)
            .output()
            .unwrap()
            .status
            .success();
        assert!(
            out.status.success() || exists,
            "useradd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    run("usermod", &["-p", "*", user]);
    let (uid, gid) = crate::harness::other_user(user);
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(uid), Some(gid)).unwrap();
    (uid, gid, home)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Sshd {
    /// Starts the server for logins as `user` (one per test: its home folder and kernel
    /// keyring are the test's); `dir` holds the keys and configuration.
    pub fn start(dir: &Path, user: &str) -> Self {
        let (uid, gid, home) = remote_user(user);
        let dir = dir.join("sshd");
        std::fs::create_dir_all(&dir).unwrap();
        let host_key = dir.join("host_key");
        let identity = dir.join("client_key");
        for key in [&host_key, &identity] {
            run(
                "ssh-keygen",
                &["-q", "-t", "ed25519", "-N", "", "-f", key.to_str().unwrap()],
            );
        }
        let authorized = dir.join("authorized_keys");
        std::fs::copy(identity.with_extension("pub"), &authorized).unwrap();
        // The remote finds this build as `wandb-cred` on its PATH.
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(BIN, bin.join("wandb-cred")).unwrap();
        // sshd wants its privilege-separation folder.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let port = free_port();
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nPidFile {dir}/sshd.pid\n\
                 AuthorizedKeysFile {authorized}\nStrictModes no\nUsePAM no\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
                 AllowUsers {user}\nLogLevel ERROR\n\
                 SetEnv PATH={bin}:/usr/local/bin:/usr/bin:/bin WANDB_CRED_NO_DAEMON=1\n",
                host = host_key.display(),
                dir = dir.display(),
                authorized = authorized.display(),
                bin = bin.display(),
            ),
        )
        .unwrap();
        let server = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Reaped(server);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "sshd did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            port,
            identity,
            uid,
            gid,
            home,
            user: user.to_owned(),
            _server: server,
        }
    }

    /// ssh's options to reach the remote user: as a user would type them.
    pub fn options(&self) -> Vec<String> {
        [
            "-p",
            &self.port.to_string(),
            "-i",
            self.identity.to_str().unwrap(),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "LogLevel=ERROR",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn destination(&self) -> String {
        format!("{}@127.0.0.1", self.user)
    }

    /// Runs a program as the remote user on this machine (to look at its keyring).
    pub fn as_remote_user(&self, program: &str, args: &[&str]) -> std::process::Output {
        Command::new("setpriv")
            .args([
                format!("--reuid={}", self.uid),
                format!("--regid={}", self.gid),
                "--clear-groups".to_owned(),
            ])
            .arg(program)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &self.home)
            .output()
            .unwrap()
    }

    /// Panics when any file under the remote user's home holds `key`.
    pub fn assert_no_file_holds(&self, key: &str) {
        for (path, bytes) in crate::harness::snapshot(&self.home) {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(key),
                "the key is in {} on the remote",
                path.display()
            );
        }
    }

    /// The payload of the remote user's kernel key with this description.
    pub fn remote_kernel_key(&self, description: &str) -> Option<String> {
        let found = self.as_remote_user("keyctl", &["search", "@u", "user", description]);
        if !found.status.success() {
            return None;
        }
        let id = String::from_utf8(found.stdout).unwrap();
        let read = self.as_remote_user("keyctl", &["pipe", id.trim()]);
        read.status
            .success()
            .then(|| String::from_utf8(read.stdout).unwrap())
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.as_remote_user("keyctl", &["clear", "@u"]);
    }
}
