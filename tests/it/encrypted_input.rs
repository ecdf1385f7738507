//! What the third attack review also saw (issue 33): `unlock -` and `passwd -` read
//! standard input through a buffer that was never wiped, consumed the rest of a script's
//! input, and cut a line over 4096 bytes short without a word; an `Unlock` with an
//! enormous lock time panicked a daemon worker.

use std::os::unix::net::UnixStream;

use libtest_mimic::Trial;
use wandb_cred_proto::{self as proto, PROTOCOL, Request, Response, Secret};

use crate::encrypted::{PASSPHRASE, store_sandbox, unlock};
use crate::harness::DEADLINE;
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![
        unlock_reads_its_line_and_nothing_more,
        an_enormous_lock_time_is_refused_not_a_panic,
        doctor_tells_how_to_open_a_locked_store,
        a_store_on_a_volume_is_named_when_the_configuration_is_lost,
    ]
}

/// Failed before the fix: `cat` after `unlock -` printed nothing (the 8 KiB read-ahead
/// took its input), and a 5000-byte passphrase was cut to 4096 bytes silently.
fn unlock_reads_its_line_and_nothing_more() {
    let mut sb = store_sandbox();
    sb.bin_dir();
    unlock(&sb, PASSPHRASE).ok();
    sb.cmd(&["lock"]).run().ok();
    sb.program("sh", &["-c", "wandb-cred unlock - && cat"])
        .stdin(&format!("{PASSPHRASE}\nthe script's own input\n"))
        .run()
        .ok()
        .stdout_is("the script's own input\n");
    sb.cmd(&["lock"]).run().ok();
    let long = "x".repeat(5000);
    sb.cmd(&["unlock", "-"])
        .stdin(&format!("{long}\n"))
        .run()
        .fails(1)
        .stderr_has("longer than 4096 bytes");
    sb.cmd(&["passwd", "-"])
        .stdin(&format!("{PASSPHRASE}\n{long}\n"))
        .run()
        .fails(1)
        .stderr_has("longer than 4096 bytes");
    unlock(&sb, PASSPHRASE).ok();
}

/// Failed before the fix: the daemon's worker panicked adding the lock time to the
/// clock, and the request got no answer.
fn an_enormous_lock_time_is_refused_not_a_panic() {
    let sb = store_sandbox();
    unlock(&sb, PASSPHRASE).ok();
    let mut stream = UnixStream::connect(sb.daemon_dir().join("daemon.sock")).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let hello = Request::Hello {
        protocol: PROTOCOL,
        client: "test".into(),
    };
    proto::write_frame(&mut stream, &hello).unwrap();
    assert!(matches!(
        proto::read_frame::<Response>(&mut stream).unwrap(),
        Response::Hello { .. }
    ));
    let request = Request::Unlock {
        passphrase: Secret(zeroize::Zeroizing::new(PASSPHRASE.to_owned())),
        create: false,
        lock_after_secs: Some(u64::MAX),
    };
    proto::write_frame(&mut stream, &request).unwrap();
    match proto::read_frame::<Response>(&mut stream).unwrap() {
        Response::Error { message, .. } => {
            assert!(
                message.contains("longer than this machine can count"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    // The daemon still serves.
    sb.cmd(&["status"]).run().ok();
}

/// Issue 34, item 2: doctor's fix for a locked encrypted store is `wandb-cred unlock`.
/// Failed before the fix: it said to unlock the keychain, then reload.
fn doctor_tells_how_to_open_a_locked_store() {
    let sb = store_sandbox();
    unlock(&sb, PASSPHRASE).ok();
    sb.cmd(&["login", &sb.key()]).run().ok();
    sb.cmd(&["lock"]).run().ok();
    sb.cmd(&["doctor"])
        .run()
        .fails(1)
        .stdout_has("fix: `wandb-cred unlock` opens the encrypted store")
        .stdout_lacks("unlock the keychain");
}

/// Issue 34, item 4: a container whose volume keeps `keys.age` (`XDG_DATA_HOME` on it)
/// and whose HOME is new. Failed before the fix: `get` said "run `wandb-cred login`
/// first", which would have stored a key elsewhere, and never named the file.
fn a_store_on_a_volume_is_named_when_the_configuration_is_lost() {
    let mut first = store_sandbox();
    let volume = first.root.join("volume");
    first.set_env("XDG_DATA_HOME", volume.to_str().unwrap());
    let key = first.key();
    unlock(&first, PASSPHRASE).ok();
    first.cmd(&["login", &key]).run().ok();
    first.cmd(&["stop"]).run().ok();
    let mut fresh = crate::harness::Sandbox::new();
    fresh.secret(key.clone());
    fresh.set_env("XDG_DATA_HOME", volume.to_str().unwrap());
    let file = volume.join("wandb-cred/keys.age");
    fresh
        .cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has(&format!("an encrypted store is at {}", file.display()))
        .stderr_has("`wandb-cred config backend encrypted-file`")
        .stderr_lacks("wandb-cred login");
    // The image's setting: the variable, then unlock (after the daemon `get` started
    // for the automatic choice: one daemon holds one store, issue 34 item 1).
    fresh.cmd(&["stop"]).run();
    fresh.set_env("WANDB_CRED_BACKEND", "encrypted-file");
    fresh.secret(PASSPHRASE.to_owned());
    unlock(&fresh, PASSPHRASE).ok();
    fresh.get_gives(&key);
    // The containers guide shows that setting, and the message.
    crate::doc_blocks::page_says(
        "docs/guides/containers.md",
        &[
            "ENV XDG_DATA_HOME=/data",
            "ENV WANDB_CRED_BACKEND=encrypted-file",
            "an encrypted store is at /data/wandb-cred/keys.age, and nothing here chooses it",
        ],
    );
}
