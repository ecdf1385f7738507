//! The Linux kernel keyring for real, as on a headless server: no session bus, keys in
//! the user keyring of a user namespace of the test's own (`Sandbox::own_kernel_keyring`),
//! looked at with `keyctl`. Another uid, and a full quota, with a throwaway user.

use libtest_mimic::Trial;

use crate::harness::{BIN, Need, Sandbox, other_user};
use crate::keyring::{Keyring, Provider};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::KernelKeyring];
        headless_login_keeps_the_key_in_the_kernel_keyring_and_no_file,
        a_revoked_session_does_not_hide_the_key_from_the_daemon_or_a_new_session,
        after_a_restart_readers_say_the_key_was_cleared,
        migrate_moves_netrc_keys_into_the_kernel_keyring,
        doctor_round_trips_through_the_kernel_keyring,
    ];
    all.extend(trials![[Need::KernelKeyring, Need::Keyring];
        a_kernel_key_is_still_found_when_a_secret_service_appears,
    ]);
    all.extend(trials![[Need::KernelKeyring, Need::OtherUser];
        another_user_cannot_read_the_key,
        a_full_quota_is_a_clear_error_and_loses_nothing,
    ]);
    all
}

const ACCOUNT: &str = "wandb-cred:https://api.wandb.ai";

fn kernel_sandbox() -> Sandbox {
    let mut sb = Sandbox::new();
    sb.own_kernel_keyring();
    sb
}

/// The payload of the key with this description in the sandbox's user keyring.
fn kernel_key(sb: &Sandbox, description: &str) -> Option<String> {
    let id = sb.keyctl(&["search", "@u", "user", description])?;
    sb.keyctl(&["pipe", id.trim()])
}

fn assert_in_no_file(sb: &Sandbox, key: &str) {
    for (path, bytes) in sb.snapshot() {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(key),
            "the key is in {}",
            path.display()
        );
    }
}

fn headless_login_keeps_the_key_in_the_kernel_keyring_and_no_file() {
    let sb = kernel_sandbox();
    let key = sb.key();
    sb.cmd(&["login", &key])
        .run()
        .ok()
        .stderr_has(&format!(
            "Stored the API key for api.wandb.ai in the kernel keyring (user keyring, key {ACCOUNT}); kernel keys last until this machine restarts; for keys that survive restarts (encrypted, unlocked after each): `wandb-cred config backend encrypted-file`."
        ));
    assert_eq!(kernel_key(&sb, ACCOUNT).as_deref(), Some(key.as_str()));
    // Readable by the owner and the possessor only.
    let id = sb.keyctl(&["search", "@u", "user", ACCOUNT]).unwrap();
    let described = sb.keyctl(&["rdescribe", id.trim()]).unwrap();
    assert!(described.starts_with("user;0;0;3f3f0000;"), "{described}");
    assert!(!sb.netrc().exists());
    assert_in_no_file(&sb, &key);
    for args in [
        vec!["get"],
        vec!["exec", "--", "sh", "-c", "echo $WANDB_API_KEY"],
    ] {
        sb.cmd(&args)
            .key_on_stdout()
            .run()
            .ok()
            .stdout_is(&format!("{key}\n"));
    }
    sb.cmd(&["git-credential", "get"])
        .stdin("protocol=https\nhost=api.wandb.ai\n\n")
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("username=api\npassword={key}\n"));
    sb.cmd(&["status"])
        .run()
        .ok()
        .stdout_has("kernel-keyring")
        .stdout_has("from the kernel keyring");
    sb.cmd(&["list"]).run().ok().stdout_has("kernel-keyring");
    sb.cmd(&["logout"])
        .run()
        .ok()
        .stderr_has("Removed the API key for api.wandb.ai from the kernel keyring");
    assert_eq!(kernel_key(&sb, ACCOUNT), None);
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has("run `wandb-cred login` first");
}

fn a_revoked_session_does_not_hide_the_key_from_the_daemon_or_a_new_session() {
    let sb = kernel_sandbox();
    let key = sb.key();
    // Log in from a session keyring that is then revoked, as pam_keyinit's `revoke`
    // does at the end of an SSH login; the daemon autostarted from it stays.
    let script = format!("'{BIN}' login '{key}' && '{BIN}' get >/dev/null && keyctl revoke @s");
    sb.program("keyctl", &["session", "-", "sh", "-c", &script])
        .run()
        .ok();
    // From another session: through that daemon, and in-process.
    for no_daemon in ["0", "1"] {
        sb.program("keyctl", &["session", "-", BIN, "get"])
            .env("WANDB_CRED_NO_DAEMON", no_daemon)
            .key_on_stdout()
            .run()
            .ok()
            .stdout_is(&format!("{key}\n"));
    }
    // A daemon started afresh reads it too.
    sb.cmd(&["stop"]).run().ok();
    sb.program("keyctl", &["session", "-", BIN, "get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
}

/// Rewrites the record of where keys were put, as a restart (a new boot id) or another
/// machine (same home folder over NFS) would find it.
fn pretend(sb: &Sandbox, field: &str, value: &str) {
    let path = sb.home.join(".local/state/wandb-cred/stored.json");
    let text = sb.read(&path).expect("login keeps a record");
    let mut record: serde_json::Value = serde_json::from_str(&text).unwrap();
    for placed in record["kernel_keyring"]
        .as_object_mut()
        .unwrap()
        .values_mut()
    {
        placed[field] = serde_json::Value::from(value);
    }
    sb.write(&path, &record.to_string());
}

fn after_a_restart_readers_say_the_key_was_cleared() {
    let mut sb = kernel_sandbox();
    sb.set_env("WANDB_CRED_NO_DAEMON", "1");
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let record = sb
        .read(&sb.home.join(".local/state/wandb-cred/stored.json"))
        .unwrap();
    assert!(!record.contains(&key), "the record holds the key");
    assert!(record.contains("https://api.wandb.ai"), "{record}");
    // A restart empties the kernel's keyrings and changes the boot id.
    sb.keyctl(&["clear", "@u"]).unwrap();
    pretend(&sb, "boot", "00000000-0000-0000-0000-000000000000");
    let cleared = "cleared when this machine restarted; log in again (`wandb-cred login`)";
    // The way to keep keys across restarts is the encrypted store, never plaintext.
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has(cleared)
        .stderr_has("`wandb-cred config backend encrypted-file`")
        .stderr_lacks("netrc");
    // What the Python hook runs says the same, never an empty success.
    let out = sb.cmd(&["get", "--env"]).run();
    out.fails(1).stderr_has(cleared);
    assert_eq!(out.stdout, "", "{}", out.report());
    sb.cmd(&["exec", "--", "true"])
        .run()
        .fails(1)
        .stderr_has(cleared)
        .stderr_has("(true was not started)");
    sb.cmd(&["git-credential", "get"])
        .stdin("protocol=https\nhost=api.wandb.ai\n\n")
        .run()
        .fails(1)
        .stderr_has(cleared);
    // The same home folder seen from another machine names the one that has the key.
    pretend(&sb, "machine", "gpu-node-7");
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has("stored in the kernel keyring of machine gpu-node-7");
    // Logging in again clears the story.
    let again = sb.key();
    sb.cmd(&["login", &again]).run().ok();
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{again}\n"));
    sb.cmd(&["logout"]).run().ok();
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has("run `wandb-cred login` first");
    // No key stored any more: `get --env` prints nothing and succeeds.
    sb.cmd(&["get", "--env"]).run().ok().stdout_is("");
}

fn migrate_moves_netrc_keys_into_the_kernel_keyring() {
    let sb = kernel_sandbox();
    let key = sb.key();
    sb.write(
        &sb.netrc(),
        &format!("machine api.wandb.ai\n  login user\n  password {key}\n"),
    );
    sb.cmd(&["migrate", "--all"])
        .run()
        .ok()
        .stderr_has("api.wandb.ai: stored in the kernel keyring as https://api.wandb.ai and read back. Removed from");
    assert_eq!(kernel_key(&sb, ACCOUNT).as_deref(), Some(key.as_str()));
    assert!(!sb.read(&sb.netrc()).unwrap().contains(&key));
}

fn doctor_round_trips_through_the_kernel_keyring() {
    let sb = kernel_sandbox();
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    sb.cmd(&["doctor"])
        .run()
        .stdout_has("[ok]      backend    the kernel keyring")
        .stdout_has("[ok]      keychain   wrote, read and deleted a throwaway item");
    assert_eq!(
        kernel_key(&sb, "wandb-cred:https://wandb-cred-doctor.invalid"),
        None
    );
    assert_eq!(kernel_key(&sb, ACCOUNT).as_deref(), Some(key.as_str()));
}

fn a_kernel_key_is_still_found_when_a_secret_service_appears() {
    let mut sb = kernel_sandbox();
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    sb.cmd(&["stop"]).run().ok();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    // A new login goes to the Secret Service and takes the kernel copy away.
    let new = sb.key();
    sb.cmd(&["login", &new]).run().ok();
    assert_eq!(
        kr.lookup("https://api.wandb.ai").as_deref(),
        Some(new.as_str())
    );
    assert_eq!(kernel_key(&sb, ACCOUNT), None);
}

/// A user of the real (initial) namespace, with a home folder of its own.
struct Outsider {
    uid: u32,
    gid: u32,
    home: tempfile::TempDir,
}

impl Outsider {
    fn new(name: &str) -> Self {
        let (uid, gid) = other_user(name);
        let home = tempfile::Builder::new()
            .prefix("wandb-cred-kernel.")
            .tempdir()
            .unwrap();
        std::os::unix::fs::chown(home.path(), Some(uid), Some(gid)).unwrap();
        Self { uid, gid, home }
    }

    /// Runs a program as this user, in its own session keyring (as a login would give).
    fn run(&self, program: &str, args: &[&str]) -> std::process::Output {
        std::process::Command::new("setpriv")
            .args([
                format!("--reuid={}", self.uid),
                format!("--regid={}", self.gid),
                "--clear-groups".to_owned(),
            ])
            .args(["keyctl", "session", "-", program])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("WANDB_CRED_NO_DAEMON", "1")
            .current_dir(self.home.path())
            .output()
            .unwrap()
    }
}

fn another_user_cannot_read_the_key() {
    let owner = Outsider::new("wandbcredkeyowner");
    let thief = Outsider::new("wandbcredkeythief");
    let key = crate::harness::v1_key();
    let out = owner.run(BIN, &["login", &key]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = owner.run("keyctl", &["search", "@u", "user", ACCOUNT]);
    assert!(id.status.success());
    let id = String::from_utf8(id.stdout).unwrap();
    let stolen = thief.run("keyctl", &["pipe", id.trim()]);
    assert!(!stolen.status.success(), "another user read the key");
    assert!(!String::from_utf8_lossy(&stolen.stdout).contains(&key));
    assert!(String::from_utf8_lossy(&stolen.stderr).contains("Permission denied"));
    // And its own wandb-cred finds nothing.
    let got = thief.run(BIN, &["get"]);
    assert_eq!(got.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&got.stdout).contains(&key));
    owner.run(BIN, &["logout"]);
}

fn a_full_quota_is_a_clear_error_and_loses_nothing() {
    let user = Outsider::new("wandbcredkeyquota");
    user.run("keyctl", &["clear", "@u"]);
    let (first, second) = (crate::harness::v1_key(), crate::harness::v1_key());
    let out = user.run(BIN, &["login", "--host", "https://a.example.com", &first]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Fill the user's byte quota with other keys (the kernel's default: 20,000 bytes).
    // Large keys first, then ever smaller ones, until not one byte more fits.
    let mut script = String::from("i=0\n");
    for size in [1000, 100, 10, 1] {
        let filler = "x".repeat(size);
        script.push_str(&format!(
            "while keyctl add user filler$i {filler} @u >/dev/null 2>&1; do i=$((i+1)); done\n"
        ));
    }
    user.run("sh", &["-c", &script]);
    let out = user.run(BIN, &["login", "--host", "https://b.example.com", &second]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the kernel's key quota is full")
            && stderr.contains("/proc/sys/kernel/keys/maxkeys")
            && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    // The first key is still there, and no plaintext copy was written instead.
    let got = user.run(BIN, &["get", "--host", "https://a.example.com"]);
    assert_eq!(String::from_utf8_lossy(&got.stdout), format!("{first}\n"));
    assert!(!user.home.path().join(".netrc").exists());
    user.run("keyctl", &["clear", "@u"]);
}
