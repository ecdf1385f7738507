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
    let mut all = trials![[Need::OtherUser];
        a_squatted_temp_socket_folder_gets_no_key_and_gives_none,
        a_symlinked_socket_folder_is_refused,
        a_socket_named_by_wandb_cred_socket_is_checked_too,
        a_foreign_listener_in_a_private_folder_is_refused_by_its_peer_uid,
        another_user_locking_the_home_folder_blocks_no_edit,
        netrc_files_others_can_read_own_or_replace_are_tightened_or_refused,
    ];
    all.extend(trials![
        a_held_edit_lock_fails_a_login_in_bounded_time_and_never_later,
        a_pile_of_stuck_changes_leaves_lookups_served,
        a_stopped_daemon_with_a_full_backlog_hangs_no_client,
        a_fifo_a_device_or_a_huge_netrc_is_refused_at_once,
        the_git_helper_never_gives_the_environment_key_to_another_host,
        clients_cannot_flood_or_forge_the_daemon_log,
        an_autostarted_daemon_gets_a_clean_environment_and_folder,
        the_daemon_locks_cached_keys_in_memory,
        cleartext_to_the_cloud_is_refused_however_the_host_is_spelled,
    ]);
    all.extend(trials![[Need::Keyring]; a_frozen_keychain_probe_leaves_the_event_loop_serving]);
    all
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
                backend_choice: "auto without the kernel keyring".to_owned(),
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
pub struct Stage {
    pub base: tempfile::TempDir,
    pub uid: u32,
    pub gid: u32,
}

impl Stage {
    pub fn new() -> Self {
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

    pub fn tmp(&self) -> PathBuf {
        self.base.path().join("tmp")
    }

    pub fn attacker_home(&self) -> PathBuf {
        self.base.path().join("attacker")
    }

    /// A folder made by the attacker, with that mode.
    pub fn attacker_dir(&self, path: impl AsRef<Path>, mode: u32) -> PathBuf {
        let dir = self.base.path().join(path);
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        std::os::unix::fs::chown(&dir, Some(self.uid), Some(self.gid)).unwrap();
        dir
    }

    /// A command run as the attacker, with a clean environment.
    pub fn as_attacker(&self, program: &Path) -> Command {
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
            assert!(
                started.elapsed() < DEADLINE,
                "the attacker's daemon did not start"
            );
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
    login
        .ok()
        .stderr_has(refused)
        .stderr_has("working without a daemon");
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
    // doctor names it too, with a fix that works: a socket in a private folder.
    let doctor = sb.cmd(&["doctor"]).run();
    assert!(
        doctor.stdout.contains("nothing is sent to it") && doctor.stdout.contains(ATTACKER),
        "{}",
        doctor.report()
    );
    let private = sb.home.join(".local/state/wandb-cred/daemon.sock");
    sb.cmd(&["get"])
        .env("WANDB_CRED_SOCKET", private.to_str().unwrap())
        .key_on_stdout()
        .run()
        .ok();
    assert!(
        private.exists(),
        "no daemon started on the suggested socket"
    );
    sb.cmd(&["stop"])
        .env("WANDB_CRED_SOCKET", private.to_str().unwrap())
        .run()
        .ok()
        .stderr_has("Stopped the daemon");
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

/// A sandbox whose key is stored (in netrc: no keychain), and the key.
fn logged_in() -> (Sandbox, String) {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "-"])
        .stdin(&format!("{key}\n"))
        .run()
        .ok();
    (sb, key)
}

/// Waits (bounded) until `path` exists.
fn wait_for(path: &Path, what: &str) {
    let started = Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < DEADLINE,
            "timed out waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `flock PATH` held by `command` until the guard is dropped; returns once it is held.
fn hold_flock(mut command: Command, path: &Path, held: &Path) -> Reaped {
    // `-o`: the lock stays with flock itself, so stopping it releases the lock.
    let child = command
        .arg("-o")
        .arg(path)
        .arg("-c")
        .arg(format!("touch '{}' && exec sleep 300", held.display()))
        .spawn()
        .unwrap();
    let guard = Reaped(child);
    wait_for(held, "the lock is held");
    guard
}

fn another_user_locking_the_home_folder_blocks_no_edit() {
    let stage = Stage::new();
    let sb = Sandbox::new();
    // A world-readable home (the default on many systems), reachable by the attacker.
    for dir in [&sb.root, &sb.home] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let held = stage.attacker_home().join("held");
    let _lock = hold_flock(
        stage.as_attacker(Path::new("/usr/bin/flock")),
        &sb.home,
        &held,
    );
    let key = sb.key();
    sb.cmd(&["login", "-"])
        .env("WANDB_CRED_NO_DAEMON", "1")
        .stdin(&format!("{key}\n"))
        .run()
        .ok();
    let other = sb.key();
    sb.cmd(&["login", "-"])
        .stdin(&format!("{other}\n"))
        .run()
        .ok();
    assert_eq!(
        sb.python_netrc(&sb.netrc(), "api.wandb.ai").unwrap().2,
        other
    );
}

fn a_held_edit_lock_fails_a_login_in_bounded_time_and_never_later() {
    let sb = Sandbox::new();
    let holder = hold_edit_lock(&sb);
    let key = sb.key();
    // In-process, and through the daemon: both give up, say why, and change nothing.
    for no_daemon in ["1", "0"] {
        sb.cmd(&["login", "-"])
            .env("WANDB_CRED_NO_DAEMON", no_daemon)
            .stdin(&format!("{key}\n"))
            .run()
            .fails(1)
            .stderr_has("edit.lock")
            .stderr_has("try again");
        assert!(!sb.netrc().exists());
    }
    drop(holder);
    // A change through the same daemon waits for any change before it: once it is done,
    // a failed login that was still pending would have been written.
    sb.cmd(&["logout", "--host", "https://other.example"])
        .run()
        .ok();
    assert!(
        sb.read(&sb.netrc()).is_none_or(|text| !text.contains(&key)),
        "a login that failed was applied later"
    );
}

/// Holds this sandbox's edit lock (as another command of the same user would) until the
/// guard is dropped.
fn hold_edit_lock(sb: &Sandbox) -> Reaped {
    let state = sb.home.join(".local/state/wandb-cred");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    let lock = state.join("edit.lock");
    std::fs::write(&lock, "").unwrap();
    std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(0o600)).unwrap();
    hold_flock(Command::new("flock"), &lock, &sb.root.join("held"))
}

fn a_pile_of_stuck_changes_leaves_lookups_served() {
    let sb = Sandbox::new();
    sb.cmd(&["status"]).run().ok();
    let holder = hold_edit_lock(&sb);
    let mut logins: Vec<Reaped> = (0..20)
        .map(|_| {
            let mut login = sb.cmd(&["login", "-"]).command();
            login
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            let mut child = login.spawn().unwrap();
            let key = sb.key();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{key}\n").as_bytes())
                .unwrap();
            Reaped(child)
        })
        .collect();
    // A lookup that needs one of the daemon's blocking threads (a netrc it has not seen)
    // is answered while every change is still waiting for the lock.
    let fresh = sb.root.join("fresh-netrc");
    sb.cmd(&["get", "--host", "https://fresh.example"])
        .env("NETRC", fresh.to_str().unwrap())
        .run()
        .fails(1)
        .stderr_has("no API key");
    let mut finished = 0;
    for login in &mut logins {
        if login.0.try_wait().unwrap().is_some() {
            finished += 1;
        }
    }
    assert_eq!(finished, 0, "changes ended before the lookup was answered");
    drop(holder);
    let started = Instant::now();
    for login in &mut logins {
        let status = loop {
            if let Some(status) = login.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "a login never ended"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(status.success(), "a login failed once the lock was free");
    }
}

/// A daemon that is stopped (`kill -STOP`, Ctrl-Z on a foreground `wandb-cred daemon`)
/// while clients keep connecting: once its backlog is full, a connect would wait for as
/// long as it stays stopped. `get` gives up on it and answers in-process.
fn a_stopped_daemon_with_a_full_backlog_hangs_no_client() {
    let (sb, key) = logged_in();
    let pid = sb.daemon_pid().expect("a daemon is running");
    let socket = sb.daemon_dir().join("daemon.sock");
    let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let wanted = somaxconn as u64 + 64;
    // Room for that many descriptors in this process (root may raise the hard limit).
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    if limit.current.is_some_and(|c| c < wanted) {
        let raised = rustix::process::Rlimit {
            current: Some(wanted),
            maximum: limit.maximum.map(|m| m.max(wanted)),
        };
        rustix::process::setrlimit(rustix::process::Resource::Nofile, raised).unwrap();
    }
    let stopped = rustix::process::Pid::from_raw(pid as i32).unwrap();
    rustix::process::kill_process(stopped, rustix::process::Signal::STOP).unwrap();
    // The backlog holds `somaxconn` + 1 connections that nobody accepts.
    let queued: Vec<UnixStream> = (0..=somaxconn)
        .map(|_| UnixStream::connect(&socket).unwrap())
        .collect();
    let answered = sb.cmd(&["get"]).key_on_stdout().run();
    rustix::process::kill_process(stopped, rustix::process::Signal::CONT).unwrap();
    drop(queued);
    answered
        .ok()
        .stdout_is(&format!("{key}\n"))
        .stderr_has("did not take the connection")
        .stderr_has("working without a daemon");
}

fn a_fifo_a_device_or_a_huge_netrc_is_refused_at_once() {
    let (sb, key) = logged_in();
    let fifo = sb.root.join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let huge = sb.root.join("huge");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    for (netrc, why) in [
        (fifo.as_path(), "not a regular file"),
        (Path::new("/dev/zero"), "not a regular file"),
        (huge.as_path(), "more than 1024 KiB"),
    ] {
        let netrc = netrc.to_str().unwrap();
        for log in [None, Some("warn")] {
            let mut get = sb.cmd(&["get"]).env("NETRC", netrc);
            if let Some(level) = log {
                get = get.env("WANDB_CRED_LOG", level);
            }
            get.run().fails(1).stderr_has(netrc).stderr_has(why);
        }
        sb.cmd(&["login", "-"])
            .env("NETRC", netrc)
            .stdin(&format!("{}\n", sb.key()))
            .run()
            .fails(1)
            .stderr_has(why);
        // The daemon serves everyone else meanwhile.
        sb.cmd(&["get"])
            .key_on_stdout()
            .run()
            .ok()
            .stdout_is(&format!("{key}\n"));
        sb.cmd(&["status"]).run().ok();
    }
    assert_eq!(std::fs::metadata(&huge).unwrap().len(), 2 << 30);
}

fn netrc_files_others_can_read_own_or_replace_are_tightened_or_refused() {
    let stage = Stage::new();
    let sb = Sandbox::new();
    let foreign = "machine example.com\n  login me\n  password hunter2\n";
    // Readable by others: made private, and the user told.
    sb.write(&sb.netrc(), foreign);
    std::fs::set_permissions(sb.netrc(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let key = sb.key();
    sb.cmd(&["login", "-"])
        .stdin(&format!("{key}\n"))
        .run()
        .ok()
        .stderr_has("could be read by other users (mode 0644)");
    assert_eq!(crate::harness::mode(&sb.netrc()), 0o600);
    assert_eq!(sb.python_netrc(&sb.netrc(), "api.wandb.ai").unwrap().2, key);
    // Owned by another user: neither written nor trusted.
    std::os::unix::fs::chown(sb.netrc(), Some(stage.uid), Some(stage.gid)).unwrap();
    let before = std::fs::read(sb.netrc()).unwrap();
    for no_daemon in ["1", "0"] {
        sb.cmd(&["login", "-"])
            .env("WANDB_CRED_NO_DAEMON", no_daemon)
            .stdin(&format!("{}\n", sb.key()))
            .run()
            .fails(1)
            .stderr_has(ATTACKER)
            .stderr_has(&sb.netrc().display().to_string());
        let out = sb
            .cmd(&["get"])
            .env("WANDB_CRED_NO_DAEMON", no_daemon)
            .run();
        out.fails(1).stderr_has("not trusted").stderr_has(ATTACKER);
        // The reason is given once (it was repeated by the error chain).
        assert_eq!(
            out.stderr.matches("not trusted").count(),
            1,
            "{}",
            out.report()
        );
    }
    assert_eq!(std::fs::read(sb.netrc()).unwrap(), before);
    // A link to a file of ours in a folder of the attacker's: they could swap it.
    std::fs::remove_file(sb.netrc()).unwrap();
    let theirs = stage.attacker_dir("attacker-netrc", 0o777);
    std::fs::write(theirs.join("netrc"), foreign).unwrap();
    std::fs::set_permissions(theirs.join("netrc"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(theirs.join("netrc"), sb.netrc()).unwrap();
    sb.cmd(&["login", "-"])
        .stdin(&format!("{}\n", sb.key()))
        .run()
        .fails(1)
        .stderr_has("another user could replace it")
        .stderr_has(ATTACKER);
    assert_eq!(
        std::fs::read_to_string(theirs.join("netrc")).unwrap(),
        foreign
    );
}

fn the_git_helper_never_gives_the_environment_key_to_another_host() {
    let sb = Sandbox::new();
    let token = sb.secret(format!("ghp_{}", "a1B2".repeat(10)));
    let stored = sb.key();
    sb.write(
        &sb.netrc(),
        &format!(
            "machine github.com\n  login user\n  password {token}\nmachine api.wandb.ai\n  login user\n  password {stored}\n"
        ),
    );
    let env_key = sb.key();
    let asked = |host: &str| {
        sb.cmd(&["git-credential", "get"])
            .env("WANDB_API_KEY", &env_key)
            .stdin(&format!("protocol=https\nhost={host}\n\n"))
            .key_on_stdout()
            .run()
    };
    let github = asked("github.com");
    github.ok();
    assert!(!github.stdout.contains(&env_key), "{}", github.report());
    // The configured server gets the environment's key, as `get` gives it (it outranks
    // the stored one).
    asked("api.wandb.ai")
        .ok()
        .stdout_is(&format!("username=api\npassword={env_key}\n"));
}

fn clients_cannot_flood_or_forge_the_daemon_log() {
    let sb = Sandbox::new();
    sb.cmd(&["status"]).run().ok();
    let socket = sb.daemon_dir().join("daemon.sock");
    let log = sb.daemon_dir().join("daemon.log");
    let forged = format!("x\nFORGED INFO daemon started pid=1{}", "y".repeat(30_000));
    for i in 0..300 {
        let mut stream = UnixStream::connect(&socket).unwrap();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        let protocol = if i % 2 == 0 { PROTOCOL + 1 } else { PROTOCOL };
        proto::write_frame(
            &mut stream,
            &Request::Hello {
                protocol,
                client: forged.clone(),
            },
        )
        .unwrap();
        let _ = proto::read_frame::<Response>(&mut stream);
        if protocol == PROTOCOL {
            let get = Request::Get {
                url: forged.clone(),
                netrc: Some(forged.clone()),
            };
            proto::write_frame(&mut stream, &get).unwrap();
            let _ = proto::read_frame::<Response>(&mut stream).unwrap();
        }
    }
    sb.cmd(&["status"]).run().ok();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.len() < 64 * 1024,
        "the log grew to {} bytes",
        text.len()
    );
    assert!(
        !text.contains("\nFORGED"),
        "a client wrote a line of its own:\n{text}"
    );
}

fn an_autostarted_daemon_gets_a_clean_environment_and_folder() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["list"])
        .env("WANDB_API_KEY", &key)
        .env("MY_PRIVATE_TOKEN", "s3cret-token-value")
        .run()
        .ok();
    let pid = sb.daemon_pid().expect("a daemon was started");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    for (leaked, name) in [
        (key.as_str(), "the key"),
        ("MY_PRIVATE_TOKEN", "MY_PRIVATE_TOKEN"),
        ("WANDB_API_KEY", "WANDB_API_KEY"),
    ] {
        assert!(!environ.contains(leaked), "the daemon inherited {name}");
    }
    assert!(environ.contains("HOME="), "the daemon was not given HOME");
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
    assert_eq!(
        cwd,
        sb.daemon_dir().canonicalize().unwrap(),
        "not in its own folder"
    );
}

fn the_daemon_locks_cached_keys_in_memory() {
    let (sb, key) = logged_in();
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    let pid = sb.daemon_pid().expect("a daemon is running");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let locked: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(locked > 0, "no memory is locked:\n{status}");
}

fn cleartext_to_the_cloud_is_refused_however_the_host_is_spelled() {
    let sb = Sandbox::new();
    let key = sb.key();
    for url in [
        "http://api.wandb.ai.",
        "http://API.WANDB.AI.:80/",
        "HTTP://Api.Wandb.Ai.",
    ] {
        sb.cmd(&["login", "--verify", "-"])
            .env("WANDB_BASE_URL", url)
            .stdin(&format!("{key}\n"))
            .run()
            .fails(1)
            .stderr_has("http is not secure");
        sb.cmd(&["exec", "--", "true"])
            .env("WANDB_BASE_URL", url)
            .env("WANDB_API_KEY", &key)
            .run()
            .fails(1)
            .stderr_has("http is not secure");
    }
    // A key pasted as --host, as a command, as an option's value or into a setting is
    // named by the rule it breaks only (the harness fails on any output holding it).
    sb.cmd(&["login", "--host", &key])
        .run()
        .fails(1)
        .stderr_has("looks like an API key");
    sb.cmd(&[&key])
        .run()
        .fails(2)
        .stderr_has("looks like an API key");
    sb.cmd(&["--backend", &key, "status"])
        .run()
        .fails(2)
        .stderr_has("looks like an API key");
    sb.cmd(&["status"])
        .env("WANDB_CRED_KEYCHAIN_TIMEOUT", &key)
        .run()
        .fails(1)
        .stderr_has("looks like an API key");
}

/// The unique names of the connections to the sandbox's session bus.
fn bus_connections(sb: &Sandbox) -> std::collections::BTreeSet<String> {
    let out = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.ListNames",
        ])
        .env_clear()
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            sb.var("DBUS_SESSION_BUS_ADDRESS").unwrap(),
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "dbus-send failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("string \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|name| name.starts_with(':'))
        .map(str::to_owned)
        .collect()
}

/// While one request waits for a frozen keychain to be probed (the backend is chosen
/// again after `reload`), a second lookup must not stop the daemon's event loop: a new
/// client's Hello is still answered before the probe ends.
fn a_frozen_keychain_probe_leaves_the_event_loop_serving() {
    let mut sb = Sandbox::new();
    let kr = crate::keyring::Keyring::start(&mut sb, crate::keyring::Provider::Unlocked);
    sb.set_env("WANDB_CRED_KEYCHAIN_TIMEOUT", "30s");
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    sb.cmd(&["reload"]).run().ok();
    let socket = Path::new(sb.var("XDG_RUNTIME_DIR").unwrap()).join("wandb-cred/daemon.sock");
    let open = || {
        let stream = UnixStream::connect(&socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream
    };
    let hello_get = |host: &str| Request::HelloGet {
        protocol: PROTOCOL,
        client: "test".into(),
        backend_choice: "auto without the kernel keyring".into(),
        url: format!("https://{host}"),
        netrc: None,
        keychain_timeout_ms: None,
    };
    kr.freeze();
    let before = bus_connections(&sb);
    // A: its Get makes the daemon choose the backend again: it connects to the bus and
    // asks the (frozen) keychain, which does not answer.
    let mut first = open();
    proto::write_frame(&mut first, &hello_get("first.example")).unwrap();
    let started = Instant::now();
    while bus_connections(&sb).is_subset(&before) {
        assert!(
            started.elapsed() < DEADLINE,
            "the daemon never asked the keychain"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // B: a lookup the event loop looks at first.
    let mut second = open();
    proto::write_frame(&mut second, &hello_get("second.example")).unwrap();
    // C, then D: new clients are greeted one after the other while A still waits (two
    // round trips, so that an answer to A made ready at the same moment as C's would
    // be written before D's).
    for _ in 0..2 {
        let mut newcomer = open();
        proto::write_frame(
            &mut newcomer,
            &Request::Hello {
                protocol: PROTOCOL,
                client: "test".into(),
            },
        )
        .unwrap();
        assert!(matches!(
            proto::read_frame::<Response>(&mut newcomer),
            Ok(Response::Hello { .. })
        ));
    }
    first.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    use std::io::Read;
    assert!(
        matches!(first.read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the keychain probe ended before a new client was greeted: the event loop waited for it"
    );
    kr.thaw();
}
