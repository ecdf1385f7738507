//! The encrypted store loses nothing (issue 27): a passphrase changed atomically, a
//! daemon killed while it writes, two machines writing at once, and a store file
//! another user could have written refused.

use libtest_mimic::Trial;

use crate::encrypted::{PASSPHRASE, age_with_passphrase, store_file, store_sandbox, unlock};
use crate::harness::Need;
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Age]; passwd_changes_the_passphrase_atomically];
    all.extend(trials![
        two_machines_sharing_a_home_lose_no_key,
        a_crash_during_a_write_leaves_a_whole_file,
        an_unlocked_store_keeps_the_daemon_past_its_idle_time,
    ]);
    all.extend(trials![[Need::OtherUser]; a_store_file_another_user_could_write_is_refused]);
    all
}

/// `passwd` encrypts the store again under a new passphrase: the old one no longer
/// opens it (here nor with `age`), the new one does, and this machine's daemon keeps
/// serving; a wrong current passphrase changes nothing.
fn passwd_changes_the_passphrase_atomically() {
    let sb = store_sandbox();
    let new = sb.secret("an entirely new passphrase".to_owned());
    let key = sb.key();
    unlock(&sb, PASSPHRASE).ok();
    sb.cmd(&["login", &key]).run().ok();
    let file = store_file(&sb);
    let before = std::fs::read(&file).unwrap();
    sb.cmd(&["passwd", "-"])
        .stdin(&format!("not it\n{new}\n"))
        .run()
        .fails(1)
        .stderr_has("the passphrase does not open the encrypted store");
    assert_eq!(std::fs::read(&file).unwrap(), before);
    sb.cmd(&["passwd", "-"])
        .stdin(&format!("{PASSPHRASE}\n{new}\n"))
        .run()
        .ok()
        .stderr_has("again under the new passphrase (1 key(s))");
    sb.get_gives(&key);
    sb.cmd(&["lock"]).run().ok();
    unlock(&sb, PASSPHRASE)
        .fails(1)
        .stderr_has("the passphrase does not open");
    unlock(&sb, &new).ok();
    sb.get_gives(&key);
    let out = sb.root.join("opened.txt");
    age_with_passphrase(
        &["-d", "-o", out.to_str().unwrap(), file.to_str().unwrap()],
        &new,
        1,
    );
    assert!(std::fs::read_to_string(&out).unwrap().contains(&key));
}

/// The daemon killed (-9) at random moments while it stores keys: the file is always
/// the old one or the new one, and opens with the passphrase.
fn a_crash_during_a_write_leaves_a_whole_file() {
    let mut sb = store_sandbox();
    unlock(&sb, PASSPHRASE).ok();
    sb.cmd(&["login", &sb.key()]).run().ok();
    sb.bin_dir();
    let file = store_file(&sb);
    for round in 0..12u64 {
        let key = sb.key();
        let pid = std::fs::read_to_string(sb.runtime_dir().join("wandb-cred/daemon.pid"))
            .unwrap_or_default();
        let script = format!(
            "wandb-cred login --profile p{round} {key} >/dev/null 2>&1 & sleep 0.{:03}; kill -9 {} 2>/dev/null; wait",
            (round * 37) % 200,
            pid.trim()
        );
        sb.program("bash", &["-c", &script]).run();
        let text = sb.read(&file).unwrap();
        assert!(
            text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"),
            "round {round}: {text}"
        );
        assert!(
            text.ends_with("-----END AGE ENCRYPTED FILE-----\n"),
            "round {round}: {text}"
        );
        // Whatever happened, the file opens (a new daemon, after a crash).
        unlock(&sb, PASSPHRASE).ok();
    }
    // A write killed half way leaves its temporary file; the next write clears it.
    sb.cmd(&["login", "--profile", "last", &sb.key()])
        .run()
        .ok();
    let leftovers: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n != "keys.age")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// A store file another user owns (or could write) is refused, not opened.
fn a_store_file_another_user_could_write_is_refused() {
    let sb = store_sandbox();
    unlock(&sb, PASSPHRASE).ok();
    sb.cmd(&["lock"]).run().ok();
    let file = store_file(&sb);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    unlock(&sb, PASSPHRASE)
        .fails(1)
        .stderr_has("another user could have written it");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (uid, gid) = crate::harness::other_user("wandbcredcfg");
    std::os::unix::fs::chown(&file, Some(uid), Some(gid)).unwrap();
    unlock(&sb, PASSPHRASE)
        .fails(1)
        .stderr_has("another user could have written it");
    sb.cmd(&["get"]).run().fails(1);
}

/// Two machines sharing a home (NFS), each with its own daemon: each unlocks the one
/// file, both store keys at once, and no key is lost; each sees the other's.
fn two_machines_sharing_a_home_lose_no_key() {
    let mut sb = store_sandbox();
    let machine_b = sb.root.join("run-b");
    std::fs::create_dir_all(&machine_b).unwrap();
    std::fs::set_permissions(
        &machine_b,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let machine_b = machine_b.to_str().unwrap().to_owned();
    unlock(&sb, PASSPHRASE).ok();
    sb.cmd(&["unlock", "-"])
        .env("XDG_RUNTIME_DIR", &machine_b)
        .stdin(&format!("{PASSPHRASE}\n"))
        .run()
        .ok();
    let keys: Vec<(String, String)> = (0..12)
        .map(|i| {
            (
                format!("{}{i}", if i % 2 == 0 { "a" } else { "b" }),
                sb.key(),
            )
        })
        .collect();
    let mut script = String::new();
    for side in ["a", "b"] {
        let runtime = if side == "b" {
            format!("XDG_RUNTIME_DIR={machine_b} ")
        } else {
            String::new()
        };
        script.push('(');
        for (profile, key) in keys.iter().filter(|(p, _)| p.starts_with(side)) {
            script.push_str(&format!(
                "{runtime}wandb-cred login --profile {profile} {key} || exit 1; "
            ));
        }
        script.push_str(&format!(") & {side}=$!\n"));
    }
    script.push_str("wait $a && wait $b");
    sb.bin_dir();
    sb.program("bash", &["-c", &script]).run().ok();
    for (profile, key) in &keys {
        for runtime in [None, Some(machine_b.as_str())] {
            let mut run = sb.cmd(&["get", "--profile", profile]).key_on_stdout();
            if let Some(dir) = runtime {
                run = run.env("XDG_RUNTIME_DIR", dir);
            }
            run.run().ok().stdout_is(&format!("{key}\n"));
        }
    }
}

/// The daemon's idle exit would lock the store under the cron and Slurm jobs it was
/// unlocked for: while it holds the store open it stays; once locked, it goes idle.
fn an_unlocked_store_keeps_the_daemon_past_its_idle_time() {
    let mut sb = store_sandbox();
    sb.set_env("WANDB_CRED_IDLE_TIMEOUT", "300ms");
    let key = sb.key();
    unlock(&sb, PASSPHRASE).ok();
    sb.cmd(&["login", &key]).run().ok();
    let socket = sb.runtime_dir().join("wandb-cred/daemon.sock");
    // Well past the idle time (the daemon looks every second or so), still unlocked.
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(
        socket.exists(),
        "the daemon exited while holding the store open"
    );
    sb.get_gives(&key);
    sb.cmd(&["lock"]).run().ok();
    let started = std::time::Instant::now();
    while socket.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the daemon never went idle after lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
