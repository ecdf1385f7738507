//! Daemons do not outlive their welcome (issue 23, item 5): an autostarted daemon exits
//! after its idle timeout (`WANDB_CRED_IDLE_TIMEOUT`), and a daemon whose program file
//! was replaced (an upgrade) or removed (an uninstall) exits, the next command starting
//! the program that is there now.

use std::time::{Duration, Instant};

use libtest_mimic::Trial;

use crate::harness::{Sandbox, alive, install_programs};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![
        an_autostarted_daemon_exits_after_its_idle_timeout,
        a_daemon_whose_program_file_changes_exits_and_the_next_command_starts_the_new_one,
    ]
}

/// Waits until `pid` has exited; panics (naming `what`) if it is still there after a
/// generous bound.
fn wait_for_exit(pid: u32, what: &str) {
    let started = Instant::now();
    while alive(pid) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the daemon (pid {pid}) did not exit: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Failed before the fix: the variable was not read and the daemon never exited.
fn an_autostarted_daemon_exits_after_its_idle_timeout() {
    let mut sb = Sandbox::new();
    sb.set_env("WANDB_CRED_IDLE_TIMEOUT", "2s");
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let pid = sb.daemon_pid().expect("login started a daemon");
    wait_for_exit(pid, "idle for WANDB_CRED_IDLE_TIMEOUT=2s");
    let log = sb
        .read(&sb.daemon_dir().join("daemon.log"))
        .unwrap_or_default();
    assert!(log.contains("idle; exiting"), "{log}");
    // A bad value is named.
    sb.cmd(&[
        "daemon",
        "--socket",
        sb.root.join("x.sock").to_str().unwrap(),
    ])
    .env("WANDB_CRED_IDLE_TIMEOUT", "soon")
    .run()
    .fails(1)
    .stderr_has("WANDB_CRED_IDLE_TIMEOUT");
}

/// Failed before the fix: the daemon went on serving from the replaced (and then the
/// deleted) file.
fn a_daemon_whose_program_file_changes_exits_and_the_next_command_starts_the_new_one() {
    let sb = Sandbox::new();
    let dir = sb.root.join("installed");
    let program = install_programs(&dir);
    let key = sb.key();
    sb.program(&program, &["login", &key]).run().ok();
    let first = sb.daemon_pid().expect("login started a daemon");
    // An upgrade: a new file renamed over the old one.
    install_programs(&dir);
    wait_for_exit(first, "its program file was replaced");
    let log = sb
        .read(&sb.daemon_dir().join("daemon.log"))
        .unwrap_or_default();
    assert!(log.contains("was replaced"), "{log}");
    sb.program(&program, &["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    let second = sb.daemon_pid().expect("get started a new daemon");
    assert_ne!(first, second);
    // An uninstall: the file removed.
    std::fs::remove_file(dir.join("wandb-cred-full")).unwrap();
    wait_for_exit(second, "its program file was removed");
}
