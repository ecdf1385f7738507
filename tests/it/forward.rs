//! `wandb-cred ssh` through a real sshd on 127.0.0.1: the remote's `wandb-cred` is
//! served by this machine's keychain over the forwarded get-only socket, which refuses
//! every change; each key handed out is logged here; a socket a killed session left
//! behind does not break the next one.

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox};
use crate::keyring::{Keyring, Provider};
use crate::sshd::Sshd;
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![[Need::Sshd, Need::OtherUser, Need::Keyring];
        the_remote_gets_the_key_through_the_forwarded_socket_and_can_change_nothing,
        a_socket_left_by_a_killed_session_does_not_break_the_next,
    ]
}

/// `wandb-cred ssh [OPTIONS] DESTINATION COMMAND` as arguments.
pub fn ssh_args<'a>(options: &'a [String], destination: &'a str, command: &'a str) -> Vec<&'a str> {
    let mut args = vec!["ssh"];
    args.extend(options.iter().map(String::as_str));
    args.push(destination);
    args.push(command);
    args
}

fn the_remote_gets_the_key_through_the_forwarded_socket_and_can_change_nothing() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let sshd = Sshd::start(&sb.root, "wandbcredremote5");
    let (options, destination) = (sshd.options(), sshd.destination());
    // The remote's own wandb-cred, told nothing but what the session sets.
    let other = sb.key();
    let remote = format!(
        "wandb-cred get; echo get=$?; \
         printf '%s\\n' {other} | wandb-cred login -; echo login=$?; \
         wandb-cred logout; echo logout=$?; wandb-cred list; echo list=$?; \
         WANDB_CRED_NO_DAEMON=1 wandb-cred get >/dev/null 2>&1; echo local=$?"
    );
    let out = sb
        .cmd(&ssh_args(&options, &destination, &remote))
        .key_on_stdout()
        .run();
    out.ok()
        .stdout_has(&format!("{key}\nget=0\n"))
        .stdout_has("login=1\nlogout=1\nlist=1\n")
        // Nothing of the key was stored on the remote: without the session, nothing.
        .stdout_has("local=1\n")
        .stderr_has("is not served on a forwarded socket");
    // The remote changed nothing here, and kept nothing there.
    assert_eq!(
        kr.lookup("https://api.wandb.ai").as_deref(),
        Some(key.as_str())
    );
    sshd.assert_no_file_holds(&key);
    assert_eq!(
        sshd.remote_kernel_key("wandb-cred:https://api.wandb.ai"),
        None
    );
    // One log line per key handed out, naming the server, never the key.
    let log = sb.read(&sb.daemon_dir().join("daemon.log")).unwrap();
    let handed: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("forwarded get: handed out its key"))
        .collect();
    assert_eq!(handed.len(), 1, "{log}");
    assert!(handed[0].contains("api.wandb.ai"), "{log}");
    assert!(!log.contains(&key));
    // The session's socket is gone when it ends.
    let left: Vec<_> = std::fs::read_dir(sshd.home.join(".local/state/wandb-cred/forwarded"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

fn a_socket_left_by_a_killed_session_does_not_break_the_next() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let sshd = Sshd::start(&sb.root, "wandbcredremote6");
    let (options, destination) = (sshd.options(), sshd.destination());
    // The remote shell killed outright: its cleanup never runs, its socket stays.
    sb.cmd(&ssh_args(&options, &destination, "kill -9 $$"))
        .run();
    let folder = sshd.home.join(".local/state/wandb-cred/forwarded");
    let left = std::fs::read_dir(&folder).unwrap().count();
    assert_eq!(left, 1, "the killed session left its socket");
    sb.cmd(&ssh_args(&options, &destination, "wandb-cred get"))
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    // No command: the remote login shell, here reading its commands from our stdin
    // (its profile sets PATH afresh, so the program is named by its path).
    let mut args = vec!["ssh"];
    args.extend(options.iter().map(String::as_str));
    args.push(&destination);
    let program = sb.root.join("sshd/bin/wandb-cred");
    sb.cmd(&args)
        .stdin(&format!("{} get\nexit\n", program.display()))
        .key_on_stdout()
        .run()
        .ok()
        .stdout_has(&format!("{key}\n"));
}
