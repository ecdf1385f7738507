//! A locked keychain (issue 25, item 4): `status` and `doctor` agree that it is locked,
//! however long ago the daemon found it unlocked, and `wandb-cred unlock` unlocks a real
//! gnome-keyring from a terminal (a desktop reached over SSH), with no window.

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox};
use crate::keyring::{Keyring, Provider};
use crate::pty::Pty;
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![[Need::Keyring];
        status_and_doctor_say_locked_when_the_keychain_locks_later,
        unlock_asks_for_the_password_at_the_terminal,
        unlock_without_a_terminal_says_how,
    ]
}

/// Failed before: `Backend: keychain: ... (auto: unlocked and ready)` above a key error
/// saying the keychain is locked, and doctor's `[ok] backend` above a failed key.
fn status_and_doctor_say_locked_when_the_keychain_locks_later() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    sb.cmd(&["status"])
        .run()
        .ok()
        .stdout_has("unlocked and ready");
    kr.lock();
    let status = sb.cmd(&["status"]).run();
    status
        .fails(1)
        .stdout_has("Backend:   error: the keychain is locked")
        .stdout_has("wandb-cred unlock");
    assert!(
        !status.stdout.contains("unlocked and ready"),
        "{}",
        status.report()
    );
    let doctor = sb.cmd(&["doctor"]).run();
    doctor
        .fails(1)
        .stdout_has("[failed]  backend    the keychain is locked");
    assert!(
        !doctor.stdout.contains("unlocked and ready"),
        "{}",
        doctor.report()
    );
}

fn unlock_asks_for_the_password_at_the_terminal() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Locked);
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has("wandb-cred unlock");
    // A wrong password leaves it locked and says so.
    let mut pty = Pty::spawn(sb.cmd(&["unlock"]).env("TERM", "xterm").command());
    pty.expect_from(0, "Password of the keychain: ");
    pty.wait_for_hidden_input();
    pty.type_line("not-the-password");
    let (status, transcript) = pty.finish();
    assert_eq!(status.code(), Some(1), "{transcript}");
    assert!(
        transcript.contains("not unlocked") || transcript.contains("still locked"),
        "{transcript}"
    );
    assert!(
        !transcript.contains("not-the-password"),
        "echoed: {transcript}"
    );
    // The keyring's password (the test keyring's is `test`) unlocks it; the command is
    // the desktop guide's.
    let args = crate::harness::recipe_args("unlock", "", &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut pty = Pty::spawn(sb.cmd(&args).env("TERM", "xterm").command());
    pty.expect_from(0, "Password of the keychain: ");
    pty.wait_for_hidden_input();
    pty.type_line("test");
    let (status, transcript) = pty.finish();
    assert!(status.success(), "{transcript}");
    assert!(
        transcript.contains("Unlocked the keychain."),
        "{transcript}"
    );
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    sb.cmd(&["status"])
        .run()
        .ok()
        .stdout_has("unlocked and ready");
    sb.cmd(&["unlock"])
        .run()
        .ok()
        .stderr_has("unlocked already");
}

fn unlock_without_a_terminal_says_how() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Locked);
    sb.cmd(&["unlock"])
        .run()
        .fails(1)
        .stderr_has("needs a terminal")
        .stderr_has("ssh -t");
}
