//! Plaintext keys wherever they hide (issue 25, item 1) and key changes made visible
//! (item 2): shell startup files that real shells read, every netrc entry the real SDK
//! wrote, settings `api_key`; `migrate --all` moves what it can and names the rest;
//! `login` says which key it replaced and offers to store a key that lives only in the
//! environment.

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox};
use crate::keyring::{Keyring, Provider};
use crate::pty::Pty;
use crate::sdk::sdk;
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Keyring];
        keys_exported_by_real_shells_are_named_by_status_doctor_and_migrate,
        a_settings_api_key_is_named_and_moved_off_disk,
        login_names_the_key_it_replaced_and_the_arguments_it_ignored,
        the_troubleshooting_page_lists_these_messages,
        a_dot_env_others_could_have_written_is_not_reported,
        a_key_only_in_the_environment_is_not_logged_in,
    ];
    all.extend(trials![[Need::Keyring, Need::Sdk];
        every_wandb_netrc_entry_is_named_and_the_sdks_newer_key_can_be_adopted,
    ]);
    all
}

fn keychain_world() -> (Sandbox, Keyring, String) {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    (sb, kr, key)
}

/// What an interactive bash and a login sh of this sandbox's user really export.
fn shell_sees(sb: &Sandbox, shell: &str, flags: &str) -> String {
    sb.program(shell, &[flags, "echo \"$WANDB_API_KEY\""])
        .env("HOME", sb.home.to_str().unwrap())
        .key_on_stdout()
        .run()
        .stdout
        .trim()
        .to_owned()
}

/// Failed before: `status` and `doctor` said nothing of either file (every check
/// `[ok]`), and `migrate --all` said "No W&B keys ... to move".
fn keys_exported_by_real_shells_are_named_by_status_doctor_and_migrate() {
    let (sb, _kr, key) = keychain_world();
    let other = sb.key();
    sb.write(
        &sb.home.join(".bashrc"),
        &format!("# my settings\nalias ll='ls -l'\nexport WANDB_API_KEY={key}\n"),
    );
    sb.write(
        &sb.home.join(".profile"),
        &format!("PATH=$HOME/bin:$PATH\nWANDB_API_KEY='{other}'; export WANDB_API_KEY\n"),
    );
    // A computed value holds no key: not reported.
    sb.write(
        &sb.home.join(".zshrc"),
        "export WANDB_API_KEY=$(wandb-cred get)\n",
    );
    // The real shells read these files and export the keys found there.
    assert_eq!(shell_sees(&sb, "bash", "-ic"), key);
    assert_eq!(shell_sees(&sb, "dash", "-lc"), other);

    let out = sb.cmd(&["status"]).run();
    out.ok()
        .stdout_has("Plaintext: ")
        .stdout_has(&format!(
            "{} in ~/.bashrc, line 3 (WANDB_API_KEY); the key is stored already: delete line 3 of ~/.bashrc (wandb-cred never edits shell files)",
            masked(&key)
        ))
        .stdout_has(&format!(
            "{} in ~/.profile, line 2 (WANDB_API_KEY); store it first (`printenv WANDB_API_KEY | wandb-cred login -` in a shell that has it), then delete line 2 of ~/.profile",
            masked(&other)
        ));
    assert!(!out.stdout.contains(".zshrc"), "{}", out.report());
    let doctor = sb.cmd(&["doctor"]).run();
    doctor
        .stdout_has(&format!(
            "[warning] plaintext  {} in ~/.bashrc, line 3 (WANDB_API_KEY)",
            masked(&key)
        ))
        .stdout_has(&format!("{} in ~/.profile, line 2", masked(&other)));
    assert!(
        !doctor.stdout.contains("no plaintext"),
        "{}",
        doctor.report()
    );
    let json = sb.cmd(&["status", "--json"]).run();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let kinds: Vec<&str> = doc["plaintext"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["export", "export"]);
    // migrate --all edits no shell file and says what to do with each.
    let before = sb.read(&sb.home.join(".bashrc"));
    sb.cmd(&["migrate", "--all"])
        .run()
        .ok()
        .stderr_has(&format!(
            "{} in ~/.bashrc, line 3 (WANDB_API_KEY) is a plaintext key; the key is stored already: delete line 3 of ~/.bashrc",
            masked(&key)
        ))
        .stderr_has("~/.profile, line 2 (WANDB_API_KEY) is a plaintext key; store it first");
    assert_eq!(sb.read(&sb.home.join(".bashrc")), before);
}

fn masked(key: &str) -> String {
    format!("{}****{}", &key[..9], &key[key.len() - 4..])
}

/// Failed before: a settings `api_key` was never named, and `migrate --all` left it.
fn a_settings_api_key_is_named_and_moved_off_disk() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    let settings = sb.system_settings();
    sb.write(
        &settings,
        &format!("[default]\nentity = ann\napi_key = {key}\n"),
    );
    sb.cmd(&["doctor"])
        .run()
        .stdout_has(&format!(
            "[warning] plaintext  {} in ~/.config/wandb/settings, line 3 (api_key)",
            masked(&key)
        ))
        .stdout_has("`wandb-cred migrate --all` moves it off disk");
    sb.cmd(&["migrate", "--all"])
        .run()
        .ok()
        .stderr_has("api_key in ~/.config/wandb/settings (line 3): stored in the Secret Service")
        .stderr_has("Removed the line.");
    // The file keeps everything else, as Python's configparser reads it.
    let parsed = sb.python_settings(&settings);
    assert_eq!(
        parsed["default"].get("entity").map(String::as_str),
        Some("ann")
    );
    assert!(!parsed["default"].contains_key("api_key"));
    sb.cmd(&["get", "--backend", "keychain"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
}

/// Failed before: `login` over a stored key said nothing of the old one, and extra KEY
/// arguments were dropped without a word.
fn login_names_the_key_it_replaced_and_the_arguments_it_ignored() {
    let (sb, _kr, old) = keychain_world();
    let new = sb.key();
    let third = sb.key();
    sb.cmd(&["login", &new, &third])
        .run()
        .ok()
        .stderr_has("using the first KEY argument and ignoring the other 1")
        .stderr_has(&format!(
            "It replaced the API key {} (from the Secret Service",
            masked(&old)
        ));
    sb.get_gives(&new);
    // The same key again replaces nothing.
    let again = sb.cmd(&["login", &new]).run();
    assert!(!again.stderr.contains("It replaced"), "{}", again.report());
}

/// Failed before: "Already logged in ... from the WANDB_API_KEY environment variable",
/// while nothing was stored. Now: without a terminal it says how to store it; at one, it
/// asks, and stores on yes.
fn a_key_only_in_the_environment_is_not_logged_in() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    sb.cmd(&["login"])
        .env("WANDB_API_KEY", &key)
        .run()
        .ok()
        .stderr_has("WANDB_API_KEY holds an API key")
        .stderr_has("but none is stored")
        .stderr_has("To store it: `printenv WANDB_API_KEY | wandb-cred login -`");
    sb.cmd(&["get"]).run().fails(1);
    let mut pty = Pty::spawn(
        sb.cmd(&["login"])
            .env("WANDB_API_KEY", &key)
            .env("TERM", "xterm")
            .command(),
    );
    pty.expect_from(0, "[Y/n] ");
    pty.type_line("y");
    let (status, transcript) = pty.finish();
    assert!(status.success(), "{transcript}");
    assert!(
        transcript.contains("Stored the API key for api.wandb.ai in the Secret Service"),
        "{transcript}"
    );
    sb.get_gives(&key);
}

/// The real SDK's `wandb login --relogin` writes a newer key to netrc, for the cloud
/// (under its Forge name) and for another server. Failed before: doctor said "[ok]
/// plaintext no plaintext key for api.wandb.ai" while netrc held another server's key,
/// and nothing but an undocumented pipe adopted the SDK's newer key.
fn every_wandb_netrc_entry_is_named_and_the_sdks_newer_key_can_be_adopted() {
    let (sb, _kr, old) = keychain_world();
    let newer = sb.key();
    let elsewhere = sb.key();
    sdk(
        &sb,
        &["-m", "wandb", "login", "--no-verify", "--relogin", &newer],
    );
    sdk(
        &sb,
        &[
            "-m",
            "wandb",
            "login",
            "--no-verify",
            "--host",
            "https://wandb.example.com",
            &elsewhere,
        ],
    );
    // Not a W&B key: a GitHub token under another login.
    let netrc = sb.netrc();
    let mut text = sb.read(&netrc).unwrap();
    text.push_str(
        "machine github.com\n  login git\n  password ghp_0123456789abcdefghijklmnopqrstuvwxyz\n",
    );
    sb.write(&netrc, &text);
    // The SDK's own login made wandb.example.com the configured server: ask about the cloud.
    let status = sb.cmd(&["status", "--host", "https://api.wandb.ai"]).run();
    status
        .stdout_has(&format!(
            "a different plaintext key ({}) than the one in use ({})",
            masked(&newer),
            masked(&old)
        ))
        .stdout_has("`wandb-cred migrate --host https://api.wandb.ai --replace`")
        .stdout_has(&format!("{} in ~/.netrc, line", masked(&elsewhere)))
        .stdout_has("(machine wandb.example.com); `wandb-cred migrate --all` moves it off disk");
    assert!(!status.stdout.contains("github"), "{}", status.report());
    sb.cmd(&["doctor", "--host", "https://api.wandb.ai"])
        .run()
        .stdout_has(&format!(
            "[warning] plaintext  {} in ~/.netrc",
            masked(&elsewhere)
        ));
    // One command adopts the newer key; netrc keeps only what is not W&B's.
    // The upgrading guide's command (for the cloud: the SDK configured another server).
    let mut args = crate::harness::recipe_args("migrate-replace", "", &[]);
    args.extend(["--host".to_owned(), "https://api.wandb.ai".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sb.cmd(&args)
        .run()
        .ok()
        .stderr_has(&format!("replaced {} in the Secret Service", masked(&old)));
    sb.cmd(&["get", "--host", "https://api.wandb.ai"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{newer}\n"));
    assert!(sb.python_netrc(&netrc, "api.forge.coreweave.com").is_none());
    assert!(sb.python_netrc(&netrc, "github.com").is_some());
}

/// Issue 25's messages, each of which a test here, in push.rs, unlock.rs or truths.rs
/// checks in the program's own output, as the troubleshooting page shows them.
const LISTED: &[&str] = &[
    "(WANDB_API_KEY); the key is stored already: delete line",
    "`wandb-cred migrate --all` moves it off disk",
    "a different plaintext key (",
    "WANDB_API_KEY holds an API key (",
    "but none is stored: programs started without that variable find no key.",
    "It replaced the API key ",
    "using the first KEY argument and ignoring the other 1",
    "Still holding an older key for api.wandb.ai (copied there by push)",
    "`wandb-cred push --again` sends them this one.",
    "wandb-cred unlock",
    "needs a terminal for that (over SSH: `ssh -t HOST wandb-cred unlock`)",
    "run `WANDB_BASE_URL=https://wandb.example.com wandb-cred login` first",
    // Each line the Python hook can print (issue 32).
    "wandb-cred: Stored the API key for api.wandb.ai in",
    "was not kept (...); this program uses it until it ends. To keep it:",
    "holds another API key for https://api.wandb.ai (",
    "`wandb-cred migrate --replace --host URL`",
    "WANDB_IDENTITY_TOKEN_FILE is set: the W&B SDK signs in with that identity token",
    "the hook could not wrap the W&B SDK",
    "has no wandb-cred hook: `wandb login` there writes the key to netrc in plaintext",
];

fn the_troubleshooting_page_lists_these_messages() {
    crate::doc_blocks::page_says("docs/troubleshooting.md", LISTED);
}

/// A project's `.env` below a folder anyone can write to (no sticky bit) holds a key
/// someone else may have put there: it is not reported as this user's plaintext key
/// (nor its fix, which would have them store it). The same file in a private folder is.
/// Failed before: the shared one was listed with "store it first".
fn a_dot_env_others_could_have_written_is_not_reported() {
    use std::os::unix::fs::PermissionsExt;
    let (sb, _kr, _key) = keychain_world();
    let planted = sb.key();
    let open = sb.root.join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let private = sb.root.join("private");
    for folder in [&open, &private] {
        std::fs::create_dir_all(folder.join("project")).unwrap();
        sb.write(
            &folder.join("project/.env"),
            &format!("WANDB_API_KEY={planted}\n"),
        );
    }
    let shared = sb.cmd(&["status"]).dir(&open.join("project")).run();
    shared.ok();
    assert!(!shared.stdout.contains(".env"), "{}", shared.report());
    sb.cmd(&["status"])
        .dir(&private.join("project"))
        .run()
        .ok()
        .stdout_has("project/.env, line 1 (WANDB_API_KEY)");
}
