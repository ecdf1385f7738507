//! The attack suite: another local user (a throwaway account) tries to receive the
//! victim's key, inject a key of its own, block the victim's commands or read the
//! victim's key files. The victim is this test process (root), so file permissions do
//! not protect it: only the checks wandb-cred makes do. Root-only (`Need::OtherUser`).
//!
//! The attacker's "daemon" is this test binary run as the other user in the
//! [`EVIL_DAEMON`] role: it listens where the victim's client may look, records every
//! request it gets (keys in full) and answers every lookup with the attacker's key.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use libtest_mimic::Trial;
use wandb_cred_proto::{self as proto, Layer, PROTOCOL, Request, Response, Secret};

use crate::harness::{Need, Reaped, Sandbox, other_user};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![[Need::OtherUser];
        a_squatted_temp_socket_folder_gets_no_key_and_gives_none,
        a_symlinked_socket_folder_is_refused,
        a_socket_named_by_wandb_cred_socket_is_checked_too,
        a_foreign_listener_in_a_private_folder_is_refused_by_its_peer_uid,
    ]
}

/// The role variable: when set, this binary is the attacker's daemon, not the tests.
const ROLE: &str = "WANDB_CRED_IT_ROLE";
const EVIL_DAEMON: &str = "evil-daemon";
const ATTACKER: &str = "wandbcredattacker";
const DEADLINE: Duration = Duration::from_secs(20);

/// Runs a role, if this process was started for one; its exit status.
pub fn role() -> Option<std::process::ExitCode> {
    match std::env::var(ROLE).ok()?.as_str() {
        EVIL_DAEMON => {
            evil_daemon();
            Some(std::process::ExitCode::SUCCESS)
        }
        other => panic!("unknown role {other}"),
    }
}

/// Listens on `$EVIL_SOCKET`, appends each request to `$EVIL_LOG` (keys in full, as a
/// thief would), answers Hello as a wandb-cred daemon and every lookup with `$EVIL_KEY`.
fn evil_daemon() {
    let socket = PathBuf::from(std::env::var("EVIL_SOCKET").unwrap());
    let log = PathBuf::from(std::env::var("EVIL_LOG").unwrap());
    let key = std::env::var("EVIL_KEY").unwrap();
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::write(socket.with_extension("ready"), "").unwrap();
    for stream in listener.incoming().flatten() {
        let (log, key) = (log.clone(), key.clone());
        std::thread::spawn(move || serve_as_thief(stream, &log, &key));
    }
}

fn serve_as_thief(mut stream: UnixStream, log: &Path, key: &str) {
    while let Ok(request) = proto::read_frame::<Request>(&mut stream) {
        let line = match &request {
            Request::Store { url, key, .. } => format!("store {url} {}", key.expose()),
            other => format!("{other:?}"),
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        writeln!(file, "{line}").unwrap();
        let answer = match request {
            Request::Hello { .. } => Response::Hello {
                protocol: PROTOCOL,
                server: env!("CARGO_PKG_VERSION").to_owned(),
                pid: std::process::id(),
                backend_choice: "auto".to_owned(),
            },
            Request::HelloGet { .. } | Request::Get { .. } => Response::Key {
                key: Secret::new(key),
                layer: Layer::Keychain,
                location: "the keychain".to_owned(),
            },
            Request::Store { .. } => Response::Stored {
                layer: Layer::Keychain,
                location: "the keychain".to_owned(),
                why: None,
                removed_plaintext: false,
            },
            _ => Response::Done,
        };
        if proto::write_frame(&mut stream, &answer).is_err() {
            return;
        }
    }
}

/// A folder both users can reach: `/tmp/wandb-cred-attack.XXXX` (0755, root's), with a
/// `tmp` inside that is world-writable and sticky like `/tmp`, and `attacker`, a folder
/// of the attacker's own.
struct Stage {
    base: tempfile::TempDir,
    uid: u32,
    gid: u32,
}

impl Stage {
    fn new() -> Self {
        let (uid, gid) = other_user(ATTACKER);
        let base = tempfile::Builder::new()
            .prefix("wandb-cred-attack.")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let tmp = base.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let stage = Self { base, uid, gid };
        stage.attacker_dir("attacker", 0o755);
        stage
    }

    fn tmp(&self) -> PathBuf {
        self.base.path().join("tmp")
    }

    fn attacker_home(&self) -> PathBuf {
        self.base.path().join("attacker")
    }

    /// A folder made by the attacker, with that mode.
    fn attacker_dir(&self, path: impl AsRef<Path>, mode: u32) -> PathBuf {
        let dir = self.base.path().join(path);
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        std::os::unix::fs::chown(&dir, Some(self.uid), Some(self.gid)).unwrap();
        dir
    }

    /// A command run as the attacker, with a clean environment.
    fn as_attacker(&self, program: &Path) -> Command {
        let mut command = Command::new("setpriv");
        command
            .args([
                &format!("--reuid={}", self.uid),
                &format!("--regid={}", self.gid),
                "--clear-groups",
            ])
            .arg(program)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.attacker_home());
        command
    }

    /// The attacker's daemon on `socket`, answering with `key`; returns once it listens.
    fn evil_daemon(&self, socket: &Path, key: &str) -> EvilDaemon {
        let log = self.attacker_home().join(format!(
            "stolen-{}.log",
            socket.file_name().unwrap().to_string_lossy()
        ));
        let ready = socket.with_extension("ready");
        let child = self
            .as_attacker(&std::env::current_exe().unwrap())
            .env(ROLE, EVIL_DAEMON)
            .env("EVIL_SOCKET", socket)
            .env("EVIL_LOG", &log)
            .env("EVIL_KEY", key)
            .spawn()
            .unwrap();
        let child = Reaped(child);
        let started = Instant::now();
        while !ready.exists() {
            assert!(started.elapsed() < DEADLINE, "the attacker's daemon did not start");
            std::thread::sleep(Duration::from_millis(5));
        }
        EvilDaemon { _child: child, log }
    }
}

struct EvilDaemon {
    _child: Reaped,
    log: PathBuf,
}

impl EvilDaemon {
    /// Everything the attacker received.
    fn received(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A victim sandbox whose socket folder is `<tmp>/wandb-cred-<uid>`: no
/// XDG_RUNTIME_DIR (su, sudo -u, cron, Slurm jobs) and the shared temp folder.
fn victim_without_runtime_dir(stage: &Stage) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.remove_env("XDG_RUNTIME_DIR");
    sb.set_env("TMPDIR", stage.tmp().to_str().unwrap());
    sb
}

/// The victim logs in, then looks the key up every way there is, while `evil` listens
/// where the victim's client looks. Nothing may reach the attacker, and every lookup
/// must give the victim's own key. The client says whom it refused.
fn victim_keeps_its_key(sb: &Sandbox, evil: &EvilDaemon, refused: &str) {
    let key = sb.key();
    let login = sb.cmd(&["login", "-"]).stdin(&format!("{key}\n")).run();
    login.ok().stderr_has(refused).stderr_has("working without a daemon");
    assert!(
        !evil.received().contains(&key),
        "the attacker received the victim's key:\n{}",
        evil.received()
    );
    assert_eq!(
        sb.python_netrc(&sb.netrc(), "api.wandb.ai").unwrap().2,
        key,
        "the key was not stored in-process"
    );
    // get, through the fast front and the full program.
    for env in [None, Some(("WANDB_CRED_LOG", "warn"))] {
        let mut get = sb.cmd(&["get"]).key_on_stdout();
        if let Some((name, value)) = env {
            get = get.env(name, value);
        }
        get.run().ok().stdout_is(&format!("{key}\n"));
    }
    sb.cmd(&["git-credential", "get"])
        .stdin("protocol=https\nhost=api.wandb.ai\n\n")
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("username=api\npassword={key}\n"));
    sb.cmd(&["exec", "--", "sh", "-c", "printf %s \"$WANDB_API_KEY\""])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&key);
    assert!(
        !evil.received().contains("store"),
        "the attacker was asked to store:\n{}",
        evil.received()
    );
}

fn no_victim_files_in(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::symlink_metadata(entry.path()).unwrap();
        assert_ne!(
            meta.uid(),
            0,
            "the victim made {} in the attacker's folder (autostart)",
            entry.path().display()
        );
    }
}

fn a_squatted_temp_socket_folder_gets_no_key_and_gives_none() {
    let stage = Stage::new();
    let sb = victim_without_runtime_dir(&stage);
    let squatted = stage.attacker_dir(Path::new("tmp").join("wandb-cred-0"), 0o777);
    let evil = stage.evil_daemon(&squatted.join("daemon.sock"), &crate::harness::v1_key());
    victim_keeps_its_key(&sb, &evil, ATTACKER);
    no_victim_files_in(&squatted);
    // The message names the folder and its owner.
    sb.cmd(&["status"])
        .run()
        .stderr_has(&squatted.display().to_string())
        .stderr_has(ATTACKER);
}

fn a_symlinked_socket_folder_is_refused() {
    let stage = Stage::new();
    let sb = victim_without_runtime_dir(&stage);
    // A private-looking folder of the attacker's, linked where the victim looks.
    let real = stage.attacker_dir("attacker-sock", 0o700);
    let link = stage.tmp().join("wandb-cred-0");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(stage.uid), Some(stage.gid)).unwrap();
    let evil = stage.evil_daemon(&real.join("daemon.sock"), &crate::harness::v1_key());
    victim_keeps_its_key(&sb, &evil, "symbolic link");
    no_victim_files_in(&real);
}

fn a_socket_named_by_wandb_cred_socket_is_checked_too() {
    let stage = Stage::new();
    let mut sb = Sandbox::new();
    let dir = stage.attacker_dir("attacker-named", 0o700);
    let socket = dir.join("daemon.sock");
    sb.set_env("WANDB_CRED_SOCKET", socket.to_str().unwrap());
    let evil = stage.evil_daemon(&socket, &crate::harness::v1_key());
    victim_keeps_its_key(&sb, &evil, ATTACKER);
    no_victim_files_in(&dir);
}

/// The folder is the victim's own and private, but the socket in it was made and is
/// served by the attacker (moved in by someone who could): only the peer check stops it.
fn a_foreign_listener_in_a_private_folder_is_refused_by_its_peer_uid() {
    let stage = Stage::new();
    let mut sb = Sandbox::new();
    let theirs = stage.attacker_dir("attacker-listener", 0o755);
    let evil = stage.evil_daemon(&theirs.join("daemon.sock"), &crate::harness::v1_key());
    let ours = sb.root.join("private-run");
    std::fs::create_dir(&ours).unwrap();
    std::fs::set_permissions(&ours, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::rename(theirs.join("daemon.sock"), ours.join("daemon.sock")).unwrap();
    sb.set_env(
        "WANDB_CRED_SOCKET",
        ours.join("daemon.sock").to_str().unwrap(),
    );
    sb.set_env("WANDB_CRED_NO_AUTOSTART", "1");
    victim_keeps_its_key(&sb, &evil, "is served by uid");
}
