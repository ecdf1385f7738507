//! Windows only (run under Wine by `tests/cross.sh`): keys in the Credential Manager,
//! netrc as `%USERPROFILE%\_netrc`, and the daemon behind a named pipe: autostart (which
//! once failed for want of its folder), many clients, `stop`, a second daemon, a killed
//! daemon replaced, and callers' pipes never held open.
//!
//! The Credential Manager is shared by every test of one run (one Wine prefix), so each
//! test uses servers of its own.

use std::io::Read;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use libtest_mimic::Trial;

use crate::harness::{Sandbox, pid_in, v1_key};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![
        credential_manager_round_trip,
        list_reads_the_credential_manager,
        migrate_moves_netrc_into_the_credential_manager,
        netrc_backend_writes_underscore_netrc_byte_for_byte,
        autostart_makes_its_folder_and_serves_many_clients,
        a_caller_s_output_pipe_is_not_held_by_the_daemon,
        stop_second_daemon_and_killed_daemon,
    ]
}

/// A server URL no other test uses.
fn server() -> String {
    let suffix: String = v1_key()[9..21].to_ascii_lowercase();
    format!("https://w{suffix}.example")
}

fn netloc(url: &str) -> &str {
    url.trim_start_matches("https://")
}

/// A sandbox whose commands use the Credential Manager (`auto` finds it).
fn keychain_sandbox() -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set_env("WANDB_CRED_BACKEND", "auto");
    sb
}

fn credential_manager_round_trip() {
    let sb = keychain_sandbox();
    let (url, key) = (server(), sb.key());
    sb.cmd(&["login", "--host", &url, &key])
        .run()
        .ok()
        .stderr_has("in the Windows Credential Manager (service wandb, account ")
        .stderr_has("wandb-cred exec -- python train.py");
    assert!(!sb.netrc().exists() && !sb.home.join(".netrc").exists());
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    sb.cmd(&["status"])
        .run()
        .ok()
        .stdout_has("Backend:   keychain: the Windows Credential Manager")
        .stdout_has("Daemon:    running")
        .stdout_has("API key:   wandb_v1_****")
        .stdout_has(" from the Windows Credential Manager");
    sb.cmd(&["logout"])
        .run()
        .ok()
        .stderr_has("Windows Credential Manager");
    sb.cmd(&["get"]).run().fails(1).stderr_has("no API key for");
}

fn list_reads_the_credential_manager() {
    let sb = keychain_sandbox();
    let (first, second) = (server(), server());
    for url in [&first, &second] {
        let key = sb.key();
        sb.cmd(&["login", "--host", url, &key]).run().ok();
    }
    let out = sb.cmd(&["list"]).run();
    out.ok();
    for url in [&first, &second] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with(url.as_str()) && l.contains("keychain  wandb_v1_****")),
            "{url} not listed\n{}",
            out.report()
        );
    }
    for url in [&first, &second] {
        sb.cmd(&["logout", "--host", url]).run().ok();
    }
}

fn migrate_moves_netrc_into_the_credential_manager() {
    let sb = keychain_sandbox();
    let (url, key) = (server(), sb.key());
    let other = "# mine\nmachine example.com login me password secret\n".to_owned();
    sb.write(
        &sb.netrc(),
        &format!(
            "{other}machine {}\n  login user\n  password {key}\n",
            netloc(&url)
        ),
    );
    sb.cmd(&["migrate", "--host", &url])
        .run()
        .ok()
        .stderr_has("stored in the keychain");
    assert_eq!(sb.read(&sb.netrc()).unwrap(), other);
    sb.cmd(&["get", "--host", &url])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    sb.cmd(&["logout", "--host", &url]).run().ok();
}

fn netrc_backend_writes_underscore_netrc_byte_for_byte() {
    let mut sb = Sandbox::new();
    sb.set_env("WANDB_CRED_BACKEND", "netrc");
    let (url, key) = (server(), sb.key());
    sb.cmd(&["login", "--host", &url, &key])
        .run()
        .ok()
        .stderr_has("_netrc (plaintext; chosen with --backend netrc)");
    assert_eq!(
        sb.read(&sb.home.join("_netrc")).unwrap(),
        format!("machine {}\n  login user\n  password {key}\n", netloc(&url))
    );
    assert!(!sb.home.join(".netrc").exists());
    assert_eq!(
        sb.read(&sb.home.join(".config").join("wandb").join("settings"))
            .unwrap(),
        format!("[default]\nbase_url = {url}\n\n")
    );
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    sb.cmd(&["logout"]).run().ok();
    assert_eq!(sb.read(&sb.home.join("_netrc")).unwrap(), "");
}

fn autostart_makes_its_folder_and_serves_many_clients() {
    let sb = keychain_sandbox();
    let (url, key) = (server(), sb.key());
    assert!(!sb.daemon_dir().exists());
    let out = sb.cmd(&["login", "--host", &url, &key]).run();
    out.ok();
    assert!(!out.stderr.contains("working without"), "{}", out.report());
    assert!(sb.daemon_dir().join("daemon.log").exists());
    let pid = pid_in(&sb.daemon_dir()).expect("a pid file");
    for _ in 0..10 {
        let out = sb.cmd(&["status"]).run();
        out.ok()
            .stdout_has(&format!("Daemon:    running, pid {pid}"));
    }
    // Rounds of eight clients at once, each its own process.
    for _ in 0..3 {
        let children: Vec<_> = (0..8)
            .map(|_| {
                let mut command = sb.cmd(&["get"]).command();
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
                command.spawn().unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success());
            assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{key}\n"));
            assert_eq!(String::from_utf8_lossy(&out.stderr), "");
        }
    }
    assert_eq!(pid_in(&sb.daemon_dir()), Some(pid));
    sb.cmd(&["logout"]).run().ok();
}

fn a_caller_s_output_pipe_is_not_held_by_the_daemon() {
    // `X=$(wandb-cred get)` reads until every holder of the pipe closes it: a daemon
    // started by this `get` must not inherit it.
    let sb = keychain_sandbox();
    let (url, key) = (server(), sb.key());
    sb.cmd(&["login", "--backend", "keychain", "--host", &url, &key])
        .env("WANDB_CRED_NO_DAEMON", "1")
        .run()
        .ok();
    assert!(pid_in(&sb.daemon_dir()).is_none());
    let mut command = sb.cmd(&["get"]).command();
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    let text = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the output pipe stayed open after `get` exited: the daemon holds it");
    let mut errors = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut errors)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "get failed ({status}): {errors}");
    assert_eq!(text, format!("{key}\n"));
    assert!(pid_in(&sb.daemon_dir()).is_some(), "get started a daemon");
    sb.cmd(&["logout"]).run().ok();
}

fn stop_second_daemon_and_killed_daemon() {
    let sb = keychain_sandbox();
    let (url, key) = (server(), sb.key());
    sb.cmd(&["login", "--host", &url, &key]).run().ok();
    let first = pid_in(&sb.daemon_dir()).unwrap();
    // A second daemon on the same pipe exits cleanly, leaving the first serving.
    sb.cmd(&["daemon"]).run().ok().stderr_has("already running");
    sb.cmd(&["status"])
        .run()
        .ok()
        .stdout_has(&format!("pid {first}"));
    sb.cmd(&["stop"])
        .run()
        .ok()
        .stderr_has(&format!("Stopped the daemon (pid {first})"));
    sb.cmd(&["stop"])
        .run()
        .ok()
        .stderr_has("No daemon is running.");
    // The next command starts a new one; killed outright, it is replaced again.
    sb.cmd(&["get"]).key_on_stdout().run().ok();
    let second = pid_in(&sb.daemon_dir()).unwrap();
    assert_ne!(second, first);
    sb.program("taskkill", &["/F", "/PID", &second.to_string()])
        .run()
        .ok();
    let out = sb.cmd(&["get"]).key_on_stdout().run();
    out.ok().stdout_is(&format!("{key}\n"));
    let third = pid_in(&sb.daemon_dir()).unwrap();
    assert_ne!(third, second);
    sb.cmd(&["status"])
        .run()
        .ok()
        .stdout_has(&format!("Daemon:    running, pid {third}"));
    sb.cmd(&["logout"]).run().ok();
}
