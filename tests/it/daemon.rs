//! The daemon with real processes and sockets: autostart, races, crashes, bad and silent
//! clients, signals, other users, socket activation, the version handshake.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::Trial;
use wandb_cred_proto::{self as proto, ErrorKind, PROTOCOL, Request, Response};

use crate::harness::{BIN, Need, Reaped, Sandbox, alive, stop_process};
use crate::keyring::{Keyring, Provider};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![
        login_then_get_through_the_daemon,
        first_command_starts_a_detached_daemon,
        racing_clients_start_one_daemon,
        killed_daemon_is_replaced,
        second_daemon_exits_cleanly,
        unsafe_socket_folder_is_refused,
        oversized_and_malformed_frames_get_errors,
        silent_client_does_not_block_others,
        sigterm_removes_the_socket,
        no_daemon_and_no_autostart,
        stop_and_reload,
        netrc_changes_by_others_are_seen,
        mismatched_daemon_we_started_is_replaced,
        mismatched_foreign_daemon_is_reported,
        logs_never_hold_a_key,
        idle_daemon_exits,
        readiness_is_notified,
        failed_start_names_the_log,
        silent_connections_are_closed_after_the_client_timeout,
        connections_beyond_the_limit_are_told_busy,
        floods_of_idle_and_garbage_connections_leave_it_serving,
        hello_get_answers_in_one_round_trip,
        a_reconnect_loop_does_not_starve_others,
    ];
    all.extend(trials![[Need::Keyring]; warm_get_never_touches_the_keychain]);
    all.extend(trials![[Need::OtherUser]; other_users_are_refused_and_the_daemon_is_not_dumpable]);
    all.extend(
        trials![[Need::SystemdTools]; socket_activation_through_systemd, systemd_units_verify],
    );
    all.extend(trials![[Need::Python]; launchd_plist_is_valid]);
    all
}

const DEADLINE: Duration = Duration::from_secs(20);

fn wait_until(what: &str, ready: impl Fn() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < DEADLINE,
            "timed out waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn socket(sb: &Sandbox) -> PathBuf {
    sb.daemon_dir().join("daemon.sock")
}

/// A raw protocol connection that has said hello.
fn raw(socket: &Path) -> UnixStream {
    let mut stream = UnixStream::connect(socket).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    proto::write_frame(
        &mut stream,
        &Request::Hello {
            protocol: PROTOCOL,
            client: "test".into(),
        },
    )
    .unwrap();
    assert!(matches!(
        proto::read_frame::<Response>(&mut stream).unwrap(),
        Response::Hello { .. }
    ));
    stream
}

fn logged_in(sb: &Sandbox) -> String {
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    key
}

fn get_is(sb: &Sandbox, key: &str) {
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
}

fn login_then_get_through_the_daemon() {
    let sb = Sandbox::new();
    let key = logged_in(&sb);
    let pid = sb.daemon_pid().expect("login started a daemon");
    get_is(&sb, &key);
    let status = sb.cmd(&["status"]).run();
    status
        .ok()
        .stdout_has(&format!("Daemon:    running, pid {pid}"))
        .stdout_has(&socket(&sb).display().to_string());
    let json: serde_json::Value =
        serde_json::from_str(&sb.cmd(&["status", "--json"]).run().ok().stdout).unwrap();
    assert_eq!(json["daemon"]["pid"], pid);
    sb.cmd(&["list"])
        .run()
        .ok()
        .stdout_has("api.wandb.ai")
        .stdout_has("wandb_v1_****");
    assert_eq!(
        sb.daemon_pid(),
        Some(pid),
        "one daemon served every command"
    );
}

fn first_command_starts_a_detached_daemon() {
    let sb = Sandbox::new();
    assert!(sb.daemon_pid().is_none());
    sb.cmd(&["status"]).run().ok();
    let pid = sb.daemon_pid().expect("status started a daemon");
    // Its own session, so the terminal's signals do not reach it.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    assert_eq!(fields[3], pid.to_string(), "session id is its own pid");
    let dir = sb.daemon_dir();
    assert_eq!(crate::harness::mode(&dir), 0o700);
    assert_eq!(crate::harness::mode(&socket(&sb)), 0o600);
    assert_eq!(crate::harness::mode(&dir.join("daemon.log")), 0o600);
    let pidfile = std::fs::read_to_string(dir.join("daemon.pid")).unwrap();
    assert_eq!(pidfile, format!("{pid}\nautostarted\n"));
}

/// Live daemons whose command line names this socket.
fn daemons_for(socket: &Path) -> Vec<u32> {
    let needle = socket.to_str().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c).contains(needle)
                        && String::from_utf8_lossy(&c).contains("daemon")
                })
                .unwrap_or(false)
                && alive(*pid)
        })
        .collect()
}

fn racing_clients_start_one_daemon() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.write(
        &sb.netrc(),
        &format!("machine api.wandb.ai\n  login user\n  password {key}\n"),
    );
    let children: Vec<_> = (0..6)
        .map(|_| {
            let mut cmd = sb.cmd(&["get"]).command();
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{key}\n"));
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("working without"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    wait_until("the losing starts have exited", || {
        daemons_for(&socket(&sb)).len() == 1
    });
    assert_eq!(daemons_for(&socket(&sb)), vec![sb.daemon_pid().unwrap()]);
}

fn killed_daemon_is_replaced() {
    let sb = Sandbox::new();
    let key = logged_in(&sb);
    let old = sb.daemon_pid().unwrap();
    Command::new("kill")
        .args(["-9", &old.to_string()])
        .status()
        .unwrap();
    wait_until("the daemon died", || !alive(old));
    assert!(
        socket(&sb).exists(),
        "a killed daemon leaves its socket behind"
    );
    get_is(&sb, &key);
    let new = sb.daemon_pid().unwrap();
    assert_ne!(new, old);
}

fn second_daemon_exits_cleanly() {
    let sb = Sandbox::new();
    sb.cmd(&["status"]).run().ok();
    let first = sb.daemon_pid().unwrap();
    sb.cmd(&["daemon"]).run().ok().stderr_has("already running");
    assert_eq!(sb.daemon_pid(), Some(first));
    assert!(socket(&sb).exists());
}

fn unsafe_socket_folder_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let open = sb.root.join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let sock = open.join("daemon.sock");
    sb.cmd(&["daemon", "--socket", sock.to_str().unwrap()])
        .run()
        .fails(1)
        .stderr_has(&format!("refusing to use {}", open.display()))
        .stderr_has("mode 0755");
    let key = sb.key();
    sb.cmd(&["login", &key])
        .env("WANDB_CRED_SOCKET", sock.to_str().unwrap())
        .run()
        .ok()
        .stderr_has("refusing to use")
        .stderr_has("working without a daemon");
    assert!(!sock.exists());
}

fn oversized_and_malformed_frames_get_errors() {
    let sb = Sandbox::new();
    let key = logged_in(&sb);
    let expect_bad_request = |bytes: &[u8]| {
        let mut stream = raw(&socket(&sb));
        stream.write_all(bytes).unwrap();
        match proto::read_frame::<Response>(&mut stream).unwrap() {
            Response::Error { kind, message } => {
                assert_eq!(kind, ErrorKind::BadRequest, "{message}")
            }
            other => panic!("expected an error, got {other:?}"),
        }
        // ...and the connection is closed.
        let mut rest = Vec::new();
        assert_eq!(stream.read_to_end(&mut rest).unwrap(), 0);
    };
    expect_bad_request(&u32::MAX.to_be_bytes());
    expect_bad_request(&(proto::MAX_FRAME + 1).to_be_bytes());
    expect_bad_request(&[0, 0, 0, 3, 99, 1, 2]);
    // A first request other than Hello is refused too.
    let mut stream = UnixStream::connect(socket(&sb)).unwrap();
    proto::write_frame(&mut stream, &Request::Status).unwrap();
    assert!(matches!(
        proto::read_frame::<Response>(&mut stream).unwrap(),
        Response::Error {
            kind: ErrorKind::BadRequest,
            ..
        }
    ));
    // The daemon keeps serving.
    get_is(&sb, &key);
}

fn silent_client_does_not_block_others() {
    let sb = Sandbox::new();
    let key = logged_in(&sb);
    let _silent = UnixStream::connect(socket(&sb)).unwrap();
    let mut half = UnixStream::connect(socket(&sb)).unwrap();
    half.write_all(&[0, 0]).unwrap();
    let _greeted_but_silent = raw(&socket(&sb));
    get_is(&sb, &key);
    sb.cmd(&["status"]).run().ok();
}

fn sigterm_removes_the_socket() {
    let sb = Sandbox::new();
    logged_in(&sb);
    let pid = sb.daemon_pid().unwrap();
    let dir = sb.daemon_dir();
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    wait_until("the daemon exited", || !alive(pid));
    assert!(!dir.join("daemon.sock").exists());
    assert!(!dir.join("daemon.pid").exists());
    let log = std::fs::read_to_string(dir.join("daemon.log")).unwrap();
    assert!(
        log.contains("signal=SIGTERM") && log.contains("daemon stopped"),
        "{log}"
    );
}

fn no_daemon_and_no_autostart() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", &key])
        .env("WANDB_CRED_NO_DAEMON", "1")
        .run()
        .ok();
    sb.cmd(&["get"])
        .env("WANDB_CRED_NO_DAEMON", "1")
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    assert!(sb.daemon_pid().is_none());
    sb.cmd(&["get"])
        .env("WANDB_CRED_NO_AUTOSTART", "1")
        .key_on_stdout()
        .run()
        .ok()
        .stderr_has("no daemon is running")
        .stdout_is(&format!("{key}\n"));
    assert!(sb.daemon_pid().is_none());
    sb.cmd(&["status"]).run().ok();
    let pid = sb.daemon_pid().unwrap();
    sb.cmd(&["status"])
        .env("WANDB_CRED_NO_AUTOSTART", "1")
        .run()
        .ok()
        .stdout_has(&format!("running, pid {pid}"));
}

fn stop_and_reload() {
    let sb = Sandbox::new();
    sb.cmd(&["stop"])
        .run()
        .ok()
        .stderr_has("No daemon is running.");
    sb.cmd(&["reload"])
        .run()
        .ok()
        .stderr_has("Dropped cached keys");
    let pid = sb.daemon_pid().unwrap();
    sb.cmd(&["stop"])
        .run()
        .ok()
        .stderr_has(&format!("Stopped the daemon (pid {pid})."));
    assert!(!socket(&sb).exists());
    assert!(sb.daemon_pid().is_none());
}

fn netrc_changes_by_others_are_seen() {
    let sb = Sandbox::new();
    let first = logged_in(&sb);
    get_is(&sb, &first);
    let second = sb.key();
    let text = std::fs::read_to_string(sb.netrc())
        .unwrap()
        .replace(&first, &second);
    std::fs::write(sb.netrc(), text).unwrap();
    get_is(&sb, &second);
    std::fs::remove_file(sb.netrc()).unwrap();
    sb.cmd(&["get"]).run().fails(1);
}

/// A fake daemon of another protocol, in Python, holding the sandbox's socket.
fn fake_daemon(sb: &Sandbox, autostarted: bool) -> Reaped {
    let script = r#"
import os, socket, struct, sys
path, auto = sys.argv[1], sys.argv[2] == "1"
d = os.path.dirname(path)
os.makedirs(d, mode=0o700, exist_ok=True)
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(8)
with open(os.path.join(d, "daemon.pid"), "w") as f:
    f.write(f"{os.getpid()}\n" + ("autostarted\n" if auto else ""))
def varint(n):
    if n < 251: return bytes([n])
    if n < 1 << 16: return bytes([251]) + struct.pack("<H", n)
    return bytes([252]) + struct.pack("<I", n)
def text(t):
    b = t.encode()
    return varint(len(b)) + b
print("ready", flush=True)
while True:
    c, _ = s.accept()
    n = struct.unpack(">I", c.recv(4))[0]
    c.recv(n)
    body = varint(0) + varint(999) + text("9.9.9") + varint(os.getpid()) + text("auto")
    c.sendall(struct.pack(">I", len(body)) + body)
    c.close()
"#;
    let mut child = Command::new("python3")
        .args([
            "-c",
            script,
            socket(sb).to_str().unwrap(),
            if autostarted { "1" } else { "0" },
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    Reaped(child)
}

fn mismatched_daemon_we_started_is_replaced() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.write(
        &sb.netrc(),
        &format!("machine api.wandb.ai\n  login user\n  password {key}\n"),
    );
    let mut fake = fake_daemon(&sb, true);
    let fake_pid = fake.id();
    get_is(&sb, &key);
    fake.0.wait().unwrap();
    let real = sb.daemon_pid().unwrap();
    assert_ne!(real, fake_pid);
    sb.cmd(&["status"])
        .run()
        .ok()
        .stdout_has(&format!("running, pid {real}, wandb-cred 0.1.0"));
}

fn mismatched_foreign_daemon_is_reported() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.write(
        &sb.netrc(),
        &format!("machine api.wandb.ai\n  login user\n  password {key}\n"),
    );
    let fake = fake_daemon(&sb, false);
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stderr_has(&format!("is wandb-cred 9.9.9 speaking protocol 999; this is wandb-cred 0.1.0 speaking protocol {PROTOCOL}"))
        .stdout_is(&format!("{key}\n"));
    assert!(alive(fake.id()), "a daemon we did not start is left alone");
    drop(fake);
}

fn logs_never_hold_a_key() {
    let mut sb = Sandbox::new();
    sb.set_env("WANDB_CRED_LOG", "trace");
    let key = logged_in(&sb);
    get_is(&sb, &key);
    sb.cmd(&["list"]).run().ok();
    sb.cmd(&["logout"]).run().ok();
    // The harness checked the log after every command; make sure it had content.
    let log = std::fs::read_to_string(sb.daemon_dir().join("daemon.log")).unwrap();
    assert!(
        log.contains("request=\"store\"") && log.contains("request=\"get\""),
        "{log}"
    );
}

fn idle_daemon_exits() {
    let sb = Sandbox::new();
    let mut child = sb.cmd(&["daemon", "--idle-timeout", "200ms"]).command();
    child.stderr(Stdio::piped());
    let mut child = child.spawn().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(child.wait().unwrap().success(), "{stderr}");
    assert!(stderr.contains("idle; exiting"), "{stderr}");
    assert!(!socket(&sb).exists());
}

fn warm_get_never_touches_the_keychain() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    sb.set_env("WANDB_CRED_KEYCHAIN_TIMEOUT", "300ms");
    let key = logged_in(&sb);
    get_is(&sb, &key);
    kr.freeze();
    for _ in 0..3 {
        get_is(&sb, &key);
    }
    // A host not in the cache does go to the keychain, which no longer answers.
    sb.cmd(&["get", "--host", "https://other.example"])
        .run()
        .fails(1)
        .stderr_has("did not answer");
}

const OTHER_USER: &str = "wandbcredtest";

fn other_users_are_refused_and_the_daemon_is_not_dumpable() {
    let (uid, gid) = crate::harness::other_user(OTHER_USER);
    let base = tempfile::Builder::new()
        .prefix("wandb-cred-other.")
        .tempdir_in("/tmp")
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = base.path().join("sock");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
    let sock = dir.join("daemon.sock");
    let log = base.path().join("daemon.log");
    let daemon = Command::new("setpriv")
        .args([
            &format!("--reuid={uid}"),
            &format!("--regid={gid}"),
            "--clear-groups",
            BIN,
            "daemon",
            "--socket",
        ])
        .arg(&sock)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &dir)
        .env("XDG_RUNTIME_DIR", &dir)
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let daemon = Reaped(daemon);
    wait_until("the other user's daemon listens", || {
        UnixStream::connect(&sock).is_ok()
    });
    // We are root: the folder does not stop us, the peer check must.
    let mut stream = UnixStream::connect(&sock).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let _ = proto::write_frame(
        &mut stream,
        &Request::Hello {
            protocol: PROTOCOL,
            client: "intruder".into(),
        },
    );
    match proto::read_frame::<Response>(&mut stream) {
        Ok(Response::Error { kind, .. }) => assert_eq!(kind, ErrorKind::Denied),
        other => panic!("expected Denied, got {other:?}"),
    }
    wait_until("the refusal is logged", || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("refused a connection from another user")
    });
    assert!(std::fs::read_to_string(&log).unwrap().contains("uid 0"));
    // Not dumpable: its /proc files belong to root, not to its own user; no core dumps.
    let pid = daemon.id();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(format!("/proc/{pid}/environ"))
            .unwrap()
            .uid(),
        0
    );
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(
        core.split_whitespace().collect::<Vec<_>>()[4..6],
        ["0", "0"],
        "{core}"
    );
    drop(daemon);
}

fn socket_activation_through_systemd() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.write(
        &sb.netrc(),
        &format!("machine api.wandb.ai\n  login user\n  password {key}\n"),
    );
    let dir = sb.root.join("activated/run");
    std::fs::create_dir_all(&dir).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let sock = dir.join("daemon.sock");
    let activator = Command::new("systemd-socket-activate")
        .arg("-l")
        .arg(&sock)
        .args(["-E", "HOME", "-E", "PATH"])
        // As the sandbox's commands: a daemon with another setting is not theirs.
        .args(["-E", "WANDB_CRED_NO_KERNEL_KEYRING=1", BIN, "daemon"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &sb.home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut activator = Reaped(activator);
    wait_until("systemd-socket-activate listens", || sock.exists());
    let with_socket = |args: &[&str]| {
        sb.cmd(args)
            .env("WANDB_CRED_SOCKET", sock.to_str().unwrap())
            .env("WANDB_CRED_NO_AUTOSTART", "1")
    };
    let out = with_socket(&["get"]).key_on_stdout().run();
    out.ok().stdout_is(&format!("{key}\n"));
    assert!(!out.stderr.contains("no daemon"), "{}", out.report());
    let status = with_socket(&["status", "--json"]).run();
    let doc: serde_json::Value = serde_json::from_str(&status.ok().stdout).unwrap();
    let pid = doc["daemon"]["pid"].as_u64().unwrap() as u32;
    // systemd-socket-activate hands over the listening socket and execs the daemon.
    assert_eq!(pid, activator.id());
    assert!(
        doc["daemon"]["log_file"].is_null(),
        "an activated daemon logs to the journal"
    );
    // The socket belongs to systemd: the daemon leaves it in place when it exits.
    stop_process(pid);
    activator.0.wait().unwrap();
    assert!(sock.exists());
}

fn systemd_units_verify() {
    let t = tempfile::tempdir().unwrap();
    let bin = t.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("wandb-cred")).unwrap();
    let units = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd");
    for unit in ["wandb-cred.socket", "wandb-cred.service"] {
        let text = std::fs::read_to_string(units.join(unit)).unwrap();
        // The only install-specific part: where the package puts the binary.
        std::fs::write(
            t.path().join(unit),
            text.replace(
                "/usr/bin/wandb-cred",
                bin.join("wandb-cred").to_str().unwrap(),
            ),
        )
        .unwrap();
    }
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(t.path().join("wandb-cred.socket"))
        .arg(t.path().join("wandb-cred.service"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {stderr}"
    );
    let service = std::fs::read_to_string(units.join("wandb-cred.service")).unwrap();
    for line in ["Type=notify", "ExecStart=/usr/bin/wandb-cred daemon"] {
        assert!(service.contains(line), "{line}");
    }
    let socket_unit = std::fs::read_to_string(units.join("wandb-cred.socket")).unwrap();
    assert!(
        socket_unit.contains("ListenStream=%t/wandb-cred/daemon.sock")
            && socket_unit.contains("SocketMode=0600")
    );
}

/// The LaunchAgent `service install` writes on macOS, read by Python's plistlib.
fn launchd_plist_is_valid() {
    let t = tempfile::tempdir().unwrap();
    let plist = t.path().join("io.github.wandb-cred.plist");
    let text = wandb_cred::units::launch_agent(
        Path::new("/Users/me/my & tools/wandb-cred"),
        Path::new("/var/folders/ab/T/wandb-cred-501/daemon.sock"),
        Path::new("/Users/me/Library/Logs/wandb-cred/daemon.log"),
    )
    .unwrap();
    std::fs::write(&plist, text).unwrap();
    let out = crate::harness::python(
        "import json, plistlib, sys\nprint(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))",
        &[plist.to_str().unwrap()],
    );
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["Label"], "io.github.wandb-cred");
    assert_eq!(doc["RunAtLoad"], true);
    // Restarted when it fails, not after `wandb-cred stop` or losing the socket.
    assert_eq!(doc["KeepAlive"]["SuccessfulExit"], false);
    assert_eq!(
        doc["ProgramArguments"],
        serde_json::json!([
            "/Users/me/my & tools/wandb-cred",
            "daemon",
            "--socket",
            "/var/folders/ab/T/wandb-cred-501/daemon.sock"
        ])
    );
    for key in ["StandardOutPath", "StandardErrorPath"] {
        assert!(
            doc[key].as_str().is_some_and(|p| p.starts_with('/')),
            "{key}"
        );
    }
}

fn readiness_is_notified() {
    let sb = Sandbox::new();
    let notify = sb.root.join("notify.sock");
    let listener = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    listener.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut cmd = sb
        .cmd(&["daemon"])
        .env("NOTIFY_SOCKET", notify.to_str().unwrap())
        .command();
    cmd.stderr(Stdio::null());
    let daemon = Reaped(cmd.spawn().unwrap());
    let mut buf = [0u8; 64];
    let n = listener.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"READY=1");
    // Ready means ready: a client is served at once.
    assert!(UnixStream::connect(socket(&sb)).is_ok());
    drop(daemon);
}

fn failed_start_names_the_log() {
    let sb = Sandbox::new();
    // A folder where the daemon's lock file should be: the daemon starts and fails.
    let dir = sb.daemon_dir();
    std::fs::create_dir_all(dir.join("daemon.lock")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let key = sb.key();
    sb.cmd(&["login", &key])
        .run()
        .ok()
        .stderr_has("the daemon exited at start")
        .stderr_has(&format!("see its log {}", dir.join("daemon.log").display()))
        .stderr_has("working without a daemon");
    let log = std::fs::read_to_string(dir.join("daemon.log")).unwrap();
    assert!(
        log.contains("cannot open") && log.contains("daemon.lock"),
        "{log}"
    );
}

/// A daemon started by the test with extra flags, stopped when the guard drops.
fn daemon_with(sb: &Sandbox, flags: &[&str]) -> Reaped {
    let mut args = vec!["daemon"];
    args.extend(flags);
    let mut cmd = sb.cmd(&args).command();
    cmd.stderr(Stdio::null());
    let daemon = Reaped(cmd.spawn().unwrap());
    wait_until("the daemon listens", || {
        UnixStream::connect(socket(sb)).is_ok()
    });
    daemon
}

fn silent_connections_are_closed_after_the_client_timeout() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.write(
        &sb.netrc(),
        &format!("machine api.wandb.ai\n  login user\n  password {key}\n"),
    );
    let _daemon = daemon_with(&sb, &["--client-timeout", "200ms"]);
    let mut silent = UnixStream::connect(socket(&sb)).unwrap();
    let mut greeted = raw(&socket(&sb));
    silent.set_read_timeout(Some(DEADLINE)).unwrap();
    // The daemon closes both: reading gives end of file, not our own timeout.
    let mut buf = [0u8; 16];
    assert_eq!(silent.read(&mut buf).unwrap(), 0);
    assert_eq!(greeted.read(&mut buf).unwrap(), 0);
    get_is(&sb, &key);
}

fn connections_beyond_the_limit_are_told_busy() {
    let sb = Sandbox::new();
    let _daemon = daemon_with(&sb, &["--max-clients", "2"]);
    // wait_until's probe connection is gone once the daemon has counted it out.
    let first = raw(&socket(&sb));
    let second = raw(&socket(&sb));
    let mut third = UnixStream::connect(socket(&sb)).unwrap();
    third.set_read_timeout(Some(DEADLINE)).unwrap();
    match proto::read_frame::<Response>(&mut third).unwrap() {
        Response::Error { message, .. } => {
            assert!(message.contains("busy (2 connections)"), "{message}")
        }
        other => panic!("expected busy, got {other:?}"),
    }
    drop(first);
    // A freed slot is served again.
    wait_until("a freed slot is served", || {
        let Ok(mut stream) = UnixStream::connect(socket(&sb)) else {
            return false;
        };
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        let hello = Request::Hello {
            protocol: PROTOCOL,
            client: "test".into(),
        };
        proto::write_frame(&mut stream, &hello).is_ok()
            && matches!(
                proto::read_frame::<Response>(&mut stream),
                Ok(Response::Hello { .. })
            )
    });
    drop(second);
}

/// 1,000 connections that never say a word and 10,000 that send garbage: a legitimate
/// `get` is still answered by the daemon, whose memory stays bounded. Then a client
/// reconnecting in a tight loop: the daemon's descriptors and log stay bounded, and it
/// serves again as soon as the loop stops (and meanwhile: the next test).
fn floods_of_idle_and_garbage_connections_leave_it_serving() {
    let sb = Sandbox::new();
    let key = logged_in(&sb);
    get_is(&sb, &key);
    let socket = socket(&sb);
    let pid = sb.daemon_pid().unwrap();
    let idle: Vec<UnixStream> = (0..1000)
        .map(|_| UnixStream::connect(&socket).unwrap())
        .collect();
    for i in 0..10_000u32 {
        let mut s = UnixStream::connect(&socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let junk = i.to_le_bytes().repeat(3);
        let mut frame = (junk.len() as u32).to_be_bytes().to_vec();
        frame.extend(junk);
        s.write_all(&frame).unwrap();
        // An error answer, then the daemon hangs up; never a hang.
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).unwrap();
        assert!(!answer.is_empty(), "no answer to garbage frame {i}");
    }
    let out = sb.cmd(&["get"]).key_on_stdout().run();
    out.ok().stdout_is(&format!("{key}\n"));
    assert!(!out.stderr.contains("without"), "{}", out.report());
    let kb = |field: &str| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap()
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap()
    };
    assert!(
        kb("VmRSS:") < 32 * 1024,
        "the daemon grew to {} kB",
        kb("VmRSS:")
    );
    drop(idle);
    // A reconnect loop on another thread for a while.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let looping = {
        let (socket, stop) = (socket.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                if let Ok(mut s) = UnixStream::connect(&socket) {
                    let _ = s.write_all(&[0, 0, 0, 1, 0xff]);
                }
            }
        })
    };
    let mut most = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        most = most.max(
            std::fs::read_dir(format!("/proc/{pid}/fd"))
                .unwrap()
                .count(),
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    looping.join().unwrap();
    // The connection bound (4096), the busy answers in flight (64), and its own files.
    assert!(most <= 4096 + 64 + 64, "the daemon held {most} descriptors");
    let log = std::fs::read_to_string(sb.daemon_dir().join("daemon.log")).unwrap();
    assert!(
        log.lines().count() < 200,
        "the log grew to {} lines",
        log.lines().count()
    );
    get_is(&sb, &key);
}

/// `HelloGet`: the key in the first answer when protocol and backend agree, else the
/// daemon's `Hello` (the conversation goes on, or ends for another protocol); only ever
/// the first request.
fn hello_get_answers_in_one_round_trip() {
    let sb = Sandbox::new();
    let key = logged_in(&sb);
    let netrc = sb.netrc().display().to_string();
    let hello_get = |protocol: u32, backend: &str| Request::HelloGet {
        protocol,
        client: "test".into(),
        backend_choice: backend.into(),
        url: "https://api.wandb.ai".into(),
        netrc: Some(netrc.clone()),
        keychain_timeout_ms: None,
    };
    let get = Request::Get {
        url: "https://api.wandb.ai".into(),
        netrc: Some(netrc.clone()),
    };
    let ask = |stream: &mut UnixStream, request: &Request| {
        proto::write_frame(&mut *stream, request)
            .and_then(|()| proto::read_frame::<Response>(stream))
    };
    let open = || {
        let stream = UnixStream::connect(socket(&sb)).unwrap();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        stream
    };
    let is_key = |r: Response| matches!(r, Response::Key { key: k, .. } if k.expose() == key);

    let mut agreed = open();
    assert!(is_key(
        // The sandbox's commands and daemon opt out of the kernel keyring.
        ask(
            &mut agreed,
            &hello_get(PROTOCOL, "auto without the kernel keyring")
        )
        .unwrap()
    ));
    assert!(
        is_key(ask(&mut agreed, &get).unwrap()),
        "the conversation goes on"
    );
    match ask(&mut agreed, &hello_get(PROTOCOL, "auto")).unwrap() {
        Response::Error { kind, .. } => assert_eq!(kind, ErrorKind::BadRequest),
        other => panic!("a second hello answered {other:?}"),
    }

    let mut other_backend = open();
    match ask(&mut other_backend, &hello_get(PROTOCOL, "netrc")).unwrap() {
        Response::Hello { backend_choice, .. } => {
            assert_eq!(backend_choice, "auto without the kernel keyring")
        }
        other => panic!("expected the daemon's Hello, got {other:?}"),
    }
    assert!(is_key(ask(&mut other_backend, &get).unwrap()));

    // A client that would use the kernel keyring is not answered by a daemon that won't.
    let mut kernel_allowed = open();
    match ask(&mut kernel_allowed, &hello_get(PROTOCOL, "auto")).unwrap() {
        Response::Hello { .. } => {}
        other => panic!("expected the daemon's Hello, got {other:?}"),
    }

    let mut other_protocol = open();
    match ask(&mut other_protocol, &hello_get(PROTOCOL + 1, "auto")).unwrap() {
        Response::Hello { protocol, .. } => assert_eq!(protocol, PROTOCOL),
        other => panic!("expected the daemon's Hello, got {other:?}"),
    }
    assert!(
        ask(&mut other_protocol, &get).is_err(),
        "the daemon hung up on another protocol"
    );
}

/// Clients that connect, send garbage and hang up in a tight loop (one per core) while
/// others want keys: every `get` is answered by the daemon, none fails or falls back.
fn a_reconnect_loop_does_not_starve_others() {
    let sb = Sandbox::new();
    let key = logged_in(&sb);
    let socket = socket(&sb);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let loops: Vec<_> = (0..2)
        .map(|_| {
            let (socket, stop) = (socket.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut connections = 0u64;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    if let Ok(mut s) = UnixStream::connect(&socket) {
                        let _ = s.write_all(&[0, 0, 0, 1, 0xff]);
                        connections += 1;
                    }
                }
                connections
            })
        })
        .collect();
    for _ in 0..20 {
        let out = sb.cmd(&["get"]).key_on_stdout().run();
        out.ok().stdout_is(&format!("{key}\n"));
        assert!(!out.stderr.contains("without"), "{}", out.report());
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let looped: u64 = loops.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(looped > 1000, "the loops made only {looped} connections");
}
