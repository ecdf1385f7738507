//! Inside `wandb-cred ssh` (issue 23, item 4): `status` and `doctor` on the remote
//! describe the session (keys served by the machine the session came from, get only)
//! instead of reporting failures, and a command that still names the socket of a
//! session that has ended says so and starts no daemon there. A real sshd on 127.0.0.1.

use libtest_mimic::Trial;

use crate::forward::ssh_args;
use crate::harness::{Need, Sandbox};
use crate::keyring::{Keyring, Provider};
use crate::sshd::Sshd;
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![[Need::Sshd, Need::OtherUser, Need::Keyring];
        status_and_doctor_describe_the_session_and_an_ended_one_is_named,
    ]
}

fn status_and_doctor_describe_the_session_and_an_ended_one_is_named() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let sshd = Sshd::start(&sb.root, "wandbcredremote9");
    let (options, destination) = (sshd.options(), sshd.destination());
    let remote = "wandb-cred status; echo status=$?; wandb-cred doctor; echo doctor=$?; \
                  echo \"$WANDB_CRED_SOCKET\" > ~/session-socket";
    // The guide's command, with gpu1 standing for this sshd, and a command typed there.
    let mut target = options.clone();
    target.push(destination.clone());
    let mut args = crate::harness::recipe_args("ssh", "gpu1", &target);
    args.push(remote.to_owned());
    assert_eq!(args, ssh_args(&options, &destination, remote));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = sb.cmd(&args).run();
    out.ok()
        .stdout_has("status=0\n")
        .stdout_has("doctor=0\n")
        .stdout_has("Backend:   forwarded: keys served by the machine this ssh session came from")
        .stdout_has("Daemon:    this ssh session's forwarded socket (get only)")
        .stdout_has("[ok]      backend    forwarded")
        .stdout_has("[ok]      key ");
    assert!(!out.stdout.contains("[failed]"), "{}", out.report());
    // The session is over; a shell that still has its variables is told so, and no
    // daemon is started on the socket's path.
    let socket = std::fs::read_to_string(sshd.home.join("session-socket")).unwrap();
    let socket = socket.trim();
    let script = format!(
        "WANDB_CRED_SOCKET='{socket}' WANDB_CRED_FORWARDED=1 WANDB_CRED_NO_AUTOSTART=1 {} get; echo get=$?",
        sb.root.join("sshd/bin/wandb-cred").display()
    );
    let ended = sshd.as_remote_user("sh", &["-c", &script]);
    let said = String::from_utf8_lossy(&ended.stderr);
    let stdout = String::from_utf8_lossy(&ended.stdout);
    assert!(stdout.contains("get=1"), "{stdout}{said}");
    assert!(
        said.contains("session that served keys here has ended"),
        "{said}"
    );
    assert!(
        !std::path::Path::new(socket).exists(),
        "a daemon was started on the session's socket"
    );
}
