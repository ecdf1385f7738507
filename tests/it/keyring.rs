//! A private, throwaway Secret Service for one test: its own D-Bus session bus (no
//! service activation) and its own gnome-keyring-daemon with its own data folder, so
//! tests run in parallel without touching each other or the user's keyring.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::Sandbox;

const DEADLINE: Duration = Duration::from_secs(20);

/// What the private bus offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// gnome-keyring, unlocked.
    Unlocked,
    /// gnome-keyring with an existing but locked login collection.
    Locked,
    /// Nothing owns the Secret Service name.
    None,
    /// gnome-keyring running with no keyring at all, so no default collection.
    NoDefaultCollection,
}

pub struct Keyring {
    dir: PathBuf,
    bus: Child,
    daemon: Option<Child>,
    pub address: String,
}

pub fn tools_missing() -> Option<String> {
    crate::harness::tools_missing(
        &[
            "dbus-daemon",
            "gnome-keyring-daemon",
            "secret-tool",
            "dbus-send",
        ],
        "Debian: dbus gnome-keyring libsecret-tools",
    )
}

impl Keyring {
    /// Starts a bus (and a keyring per `provider`) in a folder of the sandbox, and points
    /// every later command of the sandbox at it.
    pub fn start(sb: &mut Sandbox, provider: Provider) -> Self {
        let dir = sb.root.join("keyring");
        for sub in ["run", "data"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        set_mode(&dir.join("run"), 0o700);
        let socket = dir.join("run/bus");
        let config = dir.join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .unwrap();
        let mut bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line.trim().to_owned();
        assert!(
            address.starts_with("unix:"),
            "dbus-daemon printed {address:?}"
        );
        let mut keyring = Self {
            dir,
            bus,
            daemon: None,
            address,
        };
        match provider {
            Provider::None => {}
            Provider::NoDefaultCollection => keyring.start_daemon(false),
            Provider::Unlocked => keyring.start_daemon(true),
            Provider::Locked => {
                // Create the login collection, then restart without unlocking it.
                keyring.start_daemon(true);
                keyring.stop_daemon();
                keyring.start_daemon(false);
            }
        }
        sb.set_env("DBUS_SESSION_BUS_ADDRESS", &keyring.address);
        sb.set_env("XDG_RUNTIME_DIR", keyring.dir.join("run").to_str().unwrap());
        sb.set_env("XDG_DATA_HOME", keyring.dir.join("data").to_str().unwrap());
        keyring
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.dir)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("XDG_RUNTIME_DIR", self.dir.join("run"))
            .env("XDG_DATA_HOME", self.dir.join("data"));
        cmd
    }

    fn start_daemon(&mut self, unlock: bool) {
        let mut cmd = self.command("gnome-keyring-daemon");
        cmd.args(["--foreground", "--components=secrets"]);
        if unlock {
            cmd.arg("--unlock");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        if unlock {
            stdin.write_all(b"test").unwrap();
        }
        drop(stdin);
        self.daemon = Some(child);
        if unlock {
            // --unlock reports success even when it failed: trust only a round trip.
            self.wait_until("a store/lookup round trip works", |k| {
                k.secret_tool(
                    &["store", "--label=probe", "wandb-cred-test", "probe"],
                    Some("ok"),
                )
                .is_some()
                    && k.secret_tool(&["lookup", "wandb-cred-test", "probe"], None)
                        .as_deref()
                        == Some("ok")
            });
        } else {
            self.wait_until("the Secret Service owns its bus name", |k| k.name_owned());
        }
    }

    fn stop_daemon(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            child.kill().ok();
            child.wait().ok();
        }
        self.wait_until("the Secret Service name is released", |k| !k.name_owned());
    }

    /// Freezes the keyring daemon: it keeps its bus name but answers nothing, like a
    /// keychain waiting on a prompt that nobody will see.
    pub fn freeze(&self) {
        let pid = self.daemon.as_ref().expect("a keyring daemon").id();
        assert!(
            Command::new("kill")
                .args(["-STOP", &pid.to_string()])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Lets a frozen keyring daemon run again.
    pub fn thaw(&self) {
        let pid = self.daemon.as_ref().expect("a keyring daemon").id();
        assert!(
            Command::new("kill")
                .args(["-CONT", &pid.to_string()])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Kills the keyring daemon outright (its name leaves the bus).
    pub fn kill(&mut self) {
        self.thaw();
        self.stop_daemon();
    }

    /// Starts the keyring daemon again, unlocked, on the same data (keys kept).
    pub fn restart(&mut self) {
        self.start_daemon(true);
    }

    /// Locks the login collection, as a screen lock or `secret-tool lock` would.
    pub fn lock(&self) {
        let out = self
            .command("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "lock: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn wait_until(&self, what: &str, ready: impl Fn(&Self) -> bool) {
        let started = Instant::now();
        while !ready(self) {
            assert!(
                started.elapsed() < DEADLINE,
                "the test keyring never got ready: {what}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn name_owned(&self) -> bool {
        let out = self
            .command("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("boolean true")
    }

    /// Runs secret-tool; its stdout on success.
    pub fn secret_tool(&self, args: &[&str], input: Option<&str>) -> Option<String> {
        let mut child = self
            .command("secret-tool")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        if let Some(input) = input {
            stdin.write_all(input.as_bytes()).unwrap();
        }
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The secret stored under our item identity for a server URL, per `secret-tool`.
    pub fn lookup(&self, url: &str) -> Option<String> {
        self.secret_tool(&["lookup", "service", "wandb", "username", url], None)
    }

    /// Stores a secret under our item identity, as another program could.
    pub fn store(&self, url: &str, secret: &str) {
        self.secret_tool(
            &["store", "--label=test", "service", "wandb", "username", url],
            Some(secret),
        )
        .expect("secret-tool store works");
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        if let Some(child) = &mut self.daemon {
            let pid = child.id().to_string();
            Command::new("kill").args(["-CONT", &pid]).status().ok();
            child.kill().ok();
            child.wait().ok();
        }
        self.bus.kill().ok();
        self.bus.wait().ok();
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
