//! The encrypted file store (issue 27, first part): unlocked once through the daemon,
//! served from memory, locked on request, after its timeout and when the daemon stops;
//! the file is age's format, opened by the real `age` program and made by it.

use std::path::PathBuf;

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Age];
        unlock_login_get_lock_and_the_file_is_ages,
        a_store_made_by_age_is_opened_and_a_wrong_passphrase_changes_nothing,
    ];
    all.extend(trials![
        the_lock_timeout_and_a_daemon_restart_lock_it,
        the_store_is_chosen_once_with_config,
        without_any_key_store_login_names_the_encrypted_store,
    ]);
    all.extend(trials![[Need::OtherUser];
        a_configuration_another_user_wrote_is_ignored,
    ]);
    all.extend(trials![[Need::Sdk]; the_hook_gets_the_key_and_says_when_the_store_is_locked]);
    all.extend(trials![[Need::KernelKeyring]; migrate_moves_kernel_and_netrc_keys_into_it]);
    all.extend(trials![[Need::Gcc]; in_a_container_without_keyctl_the_encrypted_store_works]);
    all
}

pub const PASSPHRASE: &str = "correct horse battery staple";

pub fn store_sandbox() -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set_env("WANDB_CRED_BACKEND", "encrypted-file");
    // The passphrase must never show in any output either.
    sb.secret(PASSPHRASE.to_owned());
    sb
}

pub fn store_file(sb: &Sandbox) -> PathBuf {
    sb.home.join(".local/share/wandb-cred/keys.age")
}

/// Runs the real `age` on a terminal (it reads passphrases only from one), typing
/// `passphrase` at each prompt; its transcript.
pub fn age_with_passphrase(args: &[&str], passphrase: &str, prompts: usize) -> String {
    let mut command = std::process::Command::new("age");
    command.args(args);
    let mut pty = crate::pty::Pty::spawn(command);
    let mut at = 0;
    for _ in 0..prompts {
        at = pty.expect_from(at, "passphrase");
        pty.wait_for_hidden_input();
        pty.type_line(passphrase);
    }
    let (status, transcript) = pty.finish();
    assert!(status.success(), "age {args:?}: {transcript}");
    transcript
}

pub fn unlock(sb: &Sandbox, passphrase: &str) -> crate::harness::Outcome {
    sb.cmd(&["unlock", "-"])
        .stdin(&format!("{passphrase}\n"))
        .run()
}

fn unlock_login_get_lock_and_the_file_is_ages() {
    let sb = store_sandbox();
    let key = sb.key();
    // No store yet: a reader says what to do, and never calls it locked (issue 34).
    sb.cmd(&["login", &key])
        .run()
        .fails(1)
        .stderr_has("there is no encrypted store at")
        .stderr_has("`wandb-cred unlock` makes one")
        .stderr_lacks("locked");
    unlock(&sb, PASSPHRASE)
        .ok()
        .stderr_has("Made the encrypted store");
    sb.cmd(&["login", &key])
        .run()
        .ok()
        .stderr_has("in the encrypted file")
        .stderr_has("survives restarts");
    sb.get_gives(&key);
    let file = store_file(&sb);
    let text = sb.read(&file).unwrap();
    assert!(
        text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"),
        "{text}"
    );
    assert!(!text.contains(&key));
    assert_eq!(crate::harness::mode(&file), 0o600);
    sb.cmd(&["list"]).run().ok().stdout_has("encrypted-file");
    // The real age opens it with the passphrase alone.
    let out = sb.root.join("opened.txt");
    age_with_passphrase(
        &["-d", "-o", out.to_str().unwrap(), file.to_str().unwrap()],
        PASSPHRASE,
        1,
    );
    let opened = std::fs::read_to_string(&out).unwrap();
    // The format's line, the version (made at 1, one login on), then each key.
    assert_eq!(
        opened,
        format!("wandb-cred keys 1\n#version 2\nhttps://api.wandb.ai {key}\n")
    );
    std::fs::remove_file(&out).unwrap();
    // Locked: every reader says so, and the key is not handed out.
    sb.cmd(&["lock"])
        .run()
        .ok()
        .stderr_has("Locked the encrypted store");
    let out = sb.cmd(&["get"]).key_on_stdout().run();
    out.fails(1)
        .stderr_has("the encrypted store is locked: run `wandb-cred unlock`");
    assert!(!out.stdout.contains(&key));
    unlock(&sb, PASSPHRASE).ok();
    sb.get_gives(&key);
    sb.cmd(&["logout"]).run().ok();
    sb.cmd(&["get"]).run().fails(1);
}

fn a_store_made_by_age_is_opened_and_a_wrong_passphrase_changes_nothing() {
    let sb = store_sandbox();
    let key = sb.key();
    let file = store_file(&sb);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let plain = sb.root.join("plain.txt");
    std::fs::write(
        &plain,
        format!("wandb-cred keys 1\nhttps://api.wandb.ai {key}\n"),
    )
    .unwrap();
    age_with_passphrase(
        &[
            "-p",
            "-a",
            "-o",
            file.to_str().unwrap(),
            plain.to_str().unwrap(),
        ],
        PASSPHRASE,
        2,
    );
    std::fs::remove_file(&plain).unwrap();
    let before = std::fs::read(&file).unwrap();
    unlock(&sb, "not the passphrase")
        .fails(1)
        .stderr_has("the passphrase does not open the encrypted store");
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has("the encrypted store is locked");
    assert_eq!(std::fs::read(&file).unwrap(), before);
    unlock(&sb, PASSPHRASE)
        .ok()
        .stderr_has("Unlocked the encrypted store");
    sb.get_gives(&key);
}

fn the_lock_timeout_and_a_daemon_restart_lock_it() {
    let sb = store_sandbox();
    let key = sb.key();
    unlock(&sb, PASSPHRASE).ok();
    sb.cmd(&["login", &key]).run().ok();
    // A daemon restart forgets the keys: nothing is kept unlocked on disk.
    sb.cmd(&["stop"]).run().ok();
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has("the encrypted store is locked");
    // Long enough for the next command on a busy machine.
    sb.cmd(&["unlock", "-", "--lock-after", "4s"])
        .stdin(&format!("{PASSPHRASE}\n"))
        .run()
        .ok()
        .stderr_has("for 4s");
    sb.get_gives(&key);
    // Within a bound, it locks by itself.
    let started = std::time::Instant::now();
    loop {
        let out = sb.cmd(&["get"]).key_on_stdout().run();
        if out.code == 1 {
            out.stderr_has("the encrypted store is locked");
            break;
        }
        assert!(
            started.elapsed().as_secs() < 30,
            "still unlocked: {}",
            out.report()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// `wandb-cred config backend encrypted-file` chooses the store once: later commands
/// need no flag; the flag and WANDB_CRED_BACKEND still win; a broken configuration is
/// named by file and line, and `config --unset` mends it.
fn the_store_is_chosen_once_with_config() {
    let sb = Sandbox::new();
    sb.secret(PASSPHRASE.to_owned());
    let key = sb.key();
    sb.cmd(&["config", "backend", "encrypted-file"])
        .run()
        .ok()
        .stderr_has("Set backend = encrypted-file in ");
    sb.cmd(&["config", "backend"])
        .run()
        .ok()
        .stdout_is("encrypted-file\n");
    // The lock timeout, chosen once too (the store exists: made on the first unlock).
    unlock(&sb, PASSPHRASE).ok();
    sb.cmd(&["config", "lock-after", "8h"]).run().ok();
    sb.cmd(&["lock"]).run().ok();
    unlock(&sb, PASSPHRASE).ok().stderr_has("for 8h");
    sb.cmd(&["login", &key])
        .run()
        .ok()
        .stderr_has("in the encrypted file");
    sb.get_gives(&key);
    sb.cmd(&["status"])
        .run()
        .ok()
        .stdout_has("Backend:   encrypted-file: the encrypted file");
    // The environment wins over the configuration.
    sb.cmd(&["status"])
        .env("WANDB_CRED_BACKEND", "netrc")
        .run()
        .ok()
        .stdout_has("Backend:   netrc");
    let config = sb.home.join(".config/wandb-cred/config");
    sb.write(&config, "backend = encrypted-file\nlock-after = soon\n");
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has(&format!("{}, line 2: lock-after:", config.display()));
    sb.cmd(&["config", "--unset", "lock-after"]).run().ok();
    sb.get_gives(&key);
    sb.cmd(&["config", "colour", "blue"])
        .run()
        .fails(1)
        .stderr_has("unknown setting \"colour\" (known: backend, vault-address, vault-mount, vault-prefix, lock-after)");
}

/// With neither a keychain nor a kernel keyring, `auto` still writes netrc (what the
/// SDK reads), but says how to keep keys encrypted instead.
fn without_any_key_store_login_names_the_encrypted_store() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", &key])
        .env("WANDB_CRED_NO_KERNEL_KEYRING", "1")
        .run()
        .ok()
        .stderr_has("(plaintext; no keychain")
        .stderr_has("`wandb-cred config backend encrypted-file`, `wandb-cred unlock`");
}

/// A configuration another user could have written chooses nothing.
fn a_configuration_another_user_wrote_is_ignored() {
    let sb = Sandbox::new();
    let config = sb.home.join(".config/wandb-cred/config");
    sb.write(&config, "backend = encrypted-file\n");
    let (uid, gid) = crate::harness::other_user("wandbcredcfg");
    std::os::unix::fs::chown(&config, Some(uid), Some(gid)).unwrap();
    let out = sb.cmd(&["status"]).run();
    out.ok()
        .stderr_has(&format!("ignoring {}", config.display()))
        .stderr_has("another user could have written it");
    assert!(!out.stdout.contains("encrypted-file"), "{}", out.report());
}

/// The real SDK through the hook: unlocked, `import wandb` gets the key from the
/// store; locked, the hook says so on stderr before the SDK asks (never silent), and
/// the SDK writes no plaintext netrc.
fn the_hook_gets_the_key_and_says_when_the_store_is_locked() {
    let mut sb = store_sandbox();
    let key = sb.key();
    unlock(&sb, PASSPHRASE).ok();
    sb.cmd(&["login", &key]).run().ok();
    crate::harness::activate_sdk_venv(&mut sb);
    sb.cmd(&["setup-python"]).run().ok();
    let read = "from wandb.sdk.lib.wbauth import wbnetrc\nprint(wbnetrc.read_netrc_auth(host='https://api.wandb.ai'))";
    sb.program("python", &["-c", read])
        .env("WANDB_SILENT", "true")
        .key_on_stdout()
        .run()
        .ok()
        .stdout_has(&key);
    sb.cmd(&["lock"]).run().ok();
    let login = "import wandb\ntry:\n    wandb.login()\nexcept Exception as e:\n    print(type(e).__name__)";
    let out = sb.program("python", &["-c", login]).run();
    let said = out
        .stderr
        .lines()
        .find(|l| l.contains("wandb-cred"))
        .unwrap_or_default();
    assert!(
        said.contains("the encrypted store is locked: run `wandb-cred unlock`"),
        "{}",
        out.report()
    );
    assert!(!out.stdout.contains(&key), "{}", out.report());
    assert!(!sb.netrc().exists(), "the SDK wrote a netrc");
}

/// `migrate` moves keys into the encrypted store from the kernel keyring (still read
/// after the switch) and from netrc; each is read back before its old copy goes.
fn migrate_moves_kernel_and_netrc_keys_into_it() {
    let mut sb = Sandbox::new();
    sb.own_kernel_keyring();
    sb.secret(PASSPHRASE.to_owned());
    let (kept, plain) = (sb.key(), sb.key());
    sb.cmd(&["login", &kept])
        .run()
        .ok()
        .stderr_has("in the kernel keyring");
    sb.write(
        &sb.netrc(),
        &format!("machine wandb.example.com\n  login user\n  password {plain}\n"),
    );
    // The daemon that kept keys in the kernel keyring makes way for one that can hold
    // the encrypted store open.
    sb.cmd(&["config", "backend", "encrypted-file"])
        .run()
        .ok()
        .stderr_has("which kept keys in auto; the next command starts one for encrypted-file");
    unlock(&sb, PASSPHRASE).ok();
    // Still found where it was.
    sb.get_gives(&kept);
    sb.cmd(&["migrate", "--all"])
        .env("WANDB_BASE_URL", "https://wandb.example.com")
        .run()
        .ok()
        .stderr_has("api.wandb.ai: moved from the kernel keyring to the encrypted file")
        .stderr_has("wandb.example.com: stored in the encrypted file");
    assert_eq!(
        sb.keyctl(&["search", "@u", "user", "wandb-cred:https://api.wandb.ai"]),
        None
    );
    assert!(!sb.read(&sb.netrc()).unwrap_or_default().contains(&plain));
    sb.cmd(&["status"])
        .run()
        .ok()
        .stdout_has("from the encrypted file");
    sb.get_gives(&kept);
    sb.cmd(&["get", "--host", "https://wandb.example.com"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{plain}\n"));
}

/// In a container whose seccomp profile refuses the kernel keyring (as Docker's default
/// does; here a real seccomp filter, `tests/helpers/no_keyctl.c`, over this process
/// tree, daemon included), `auto` falls back to netrc and names the encrypted store,
/// which then works there without keyctl.
fn in_a_container_without_keyctl_the_encrypted_store_works() {
    let mut sb = Sandbox::new();
    // The filter, not this switch, keeps the kernel keyring out.
    sb.remove_env("WANDB_CRED_NO_KERNEL_KEYRING");
    sb.secret(PASSPHRASE.to_owned());
    let helper = sb.root.join("no_keyctl");
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/helpers/no_keyctl.c");
    let built = std::process::Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(&helper)
        .arg(source)
        .status()
        .unwrap();
    assert!(built.success());
    let contained = |args: &[&str]| {
        let mut all = vec![crate::harness::BIN];
        all.extend(args);
        sb.program(&helper, &all)
    };
    let refused = sb.program(&helper, &["keyctl", "show", "@u"]).run();
    assert_ne!(refused.code, 0, "keyctl was allowed: {}", refused.report());
    let key = sb.key();
    contained(&["login", &key])
        .run()
        .ok()
        .stderr_has("the kernel refuses keyctl here")
        .stderr_has("`wandb-cred config backend encrypted-file`");
    std::fs::remove_file(sb.netrc()).unwrap();
    contained(&["config", "backend", "encrypted-file"])
        .run()
        .ok();
    contained(&["unlock", "-"])
        .stdin(&format!("{PASSPHRASE}\n"))
        .run()
        .ok();
    contained(&["login", &key])
        .run()
        .ok()
        .stderr_has("in the encrypted file");
    contained(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    assert!(!sb.netrc().exists(), "a netrc was written");
    contained(&["stop"]).run().ok();
}
