//! The cloud under its two names (SDK 0.31: `api.forge.coreweave.com` beside
//! `api.wandb.ai`): what the current SDK's own `wandb login` wrote is found, moved and
//! removed as one account, and every Forge URL form means the cloud.

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox, sdk_python};
use crate::keyring::{Keyring, Provider};
use crate::sdk::{SDK_RESOLVE, sdk};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Sdk];
        what_the_current_sdk_login_wrote_is_found_by_every_reader,
        forge_urls_are_the_cloud_and_one_key_serves_both_names,
    ];
    all.extend(trials![[Need::Sdk, Need::Keyring];
        migrate_moves_the_sdk_login_into_the_keychain,
    ]);
    all.extend(trials![[Need::Keyring];
        a_key_filed_under_the_forge_name_is_found_replaced_and_removed,
    ]);
    all.extend(trials![
        a_bare_forge_url_is_refused_as_the_sdk_refuses_it,
        netrc_names_are_read_in_the_documented_order,
    ]);
    all
}

const FORGE: &str = "api.forge.coreweave.com";

/// `wandb login --no-verify KEY` with the SDK's defaults (no host named).
fn sdk_login(sb: &Sandbox, key: &str) {
    sdk(sb, &["-m", "wandb", "login", "--no-verify", key]);
    assert_eq!(
        sb.python_netrc(&sb.netrc(), FORGE).map(|(_, _, k)| k),
        Some(key.to_owned()),
        "SDK 0.31 writes its key under its default host"
    );
}

fn neither_name_in_netrc(sb: &Sandbox) {
    let text = sb.read(&sb.netrc()).unwrap_or_default();
    for name in [FORGE, "api.wandb.ai"] {
        assert!(
            !text.contains(&format!("machine {name}")),
            "{name} is still in netrc:\n{text}"
        );
    }
}

fn what_the_current_sdk_login_wrote_is_found_by_every_reader() {
    let sb = Sandbox::new();
    let key = sb.key();
    sdk_login(&sb, &key);
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    sb.cmd(&["get", "--host", "https://forge.coreweave.com/api/wandb"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    sb.cmd(&["status"])
        .run()
        .ok()
        .stdout_has("wandb_v1_****")
        .stdout_has(FORGE);
    sb.cmd(&["list"]).run().ok().stdout_has(FORGE);
    sb.cmd(&["login"])
        .run()
        .ok()
        .stderr_has("Already logged in to https://api.wandb.ai")
        .stderr_has(&format!("machine {FORGE}"));
    // git asking for the cloud under either name gets it.
    for host in ["api.wandb.ai", FORGE] {
        sb.cmd(&["git-credential", "get"])
            .stdin(&format!("protocol=https\nhost={host}\n\n"))
            .key_on_stdout()
            .run()
            .ok()
            .stdout_is(&format!("username=api\npassword={key}\n"));
    }
    // doctor models the installed SDK: its default host, and the key it finds there.
    let python = sdk_python().expect("checked by Need::Sdk");
    // (The plaintext netrc store is a warning: exit status 1.)
    sb.cmd(&["doctor", "--python", &python])
        .run()
        .fails(1)
        .stdout_has("[ok]      key")
        .stdout_has("[ok]      sdk        wandb 0.31.0 in")
        .stdout_has(&format!("finds the key for https://{FORGE} in netrc file"));
    // The SDK under exec gets the same key, for the cloud.
    sb.cmd(&["exec", "--", &python, "-c", SDK_RESOLVE])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("https://api.wandb.ai\n{key}\n"));
    // Logging out by either name removes the one account.
    sb.cmd(&["logout", "--host", "https://api.forge.coreweave.com"])
        .run()
        .ok()
        .stderr_has("Removed the API key");
    neither_name_in_netrc(&sb);
    sb.cmd(&["get"]).run().fails(1).stderr_has("no API key");
}

fn forge_urls_are_the_cloud_and_one_key_serves_both_names() {
    let sb = Sandbox::new();
    let (old, new) = (sb.key(), sb.key());
    // Two keys for one account, as an older and a newer SDK would leave them.
    sb.write(
        &sb.netrc(),
        &format!(
            "machine api.wandb.ai\n  login user\n  password {old}\nmachine {FORGE}\n  login user\n  password {old}x\n"
        ),
    );
    sb.cmd(&[
        "login",
        "--host",
        "https://forge.coreweave.com/api/wandb",
        &new,
    ])
    .run()
    .ok()
    .stderr_has("Stored the API key for api.forge.coreweave.com");
    // One entry, under the name every SDK reads; the other name is gone.
    let text = sb.read(&sb.netrc()).unwrap();
    assert_eq!(
        text,
        format!("machine api.wandb.ai\n  login user\n  password {new}\n"),
        "{text}"
    );
    // The Forge URL is the cloud, so no base_url is remembered.
    let settings = sb.python_settings(&sb.system_settings());
    assert!(
        settings
            .get("default")
            .is_none_or(|d| !d.contains_key("base_url")),
        "{settings:?}"
    );
    // The SDK's own lookup for its default host finds it.
    let out = sdk(&sb, &["-c", SDK_RESOLVE]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("https://{FORGE}\n{new}\n")
    );
    for host in [
        "https://api.forge.coreweave.com",
        "https://API.Forge.CoreWeave.com./",
        "https://api.wandb.ai",
    ] {
        sb.cmd(&["get", "--host", host])
            .key_on_stdout()
            .run()
            .ok()
            .stdout_is(&format!("{new}\n"));
    }
    // WANDB_BASE_URL and settings naming the Forge proxy are the cloud too.
    sb.cmd(&["get"])
        .env("WANDB_BASE_URL", "https://forge.coreweave.com/api/wandb")
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{new}\n"));
    sb.write(
        &sb.workspace_settings(),
        "[default]\nbase_url = https://api.forge.coreweave.com\n",
    );
    sb.cmd(&["exec", "--", "sh", "-c", "echo $WANDB_BASE_URL"])
        .run()
        .ok()
        .stdout_is(&format!("https://{FORGE}\n"));
}

fn migrate_moves_the_sdk_login_into_the_keychain() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    sdk_login(&sb, &key);
    sb.cmd(&["migrate", "--all"])
        .run()
        .ok()
        .stderr_has("stored in the keychain as https://api.wandb.ai and read back. Removed from");
    neither_name_in_netrc(&sb);
    assert_eq!(
        kr.lookup("https://api.wandb.ai").as_deref(),
        Some(key.as_str())
    );
    // The SDK still gets it, through exec, with no file holding it.
    let python = sdk_python().expect("checked by Need::Sdk");
    sb.cmd(&["exec", "--", &python, "-c", SDK_RESOLVE])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("https://api.wandb.ai\n{key}\n"));
    sb.cmd(&["logout"]).run().ok();
    assert_eq!(kr.lookup("https://api.wandb.ai"), None);
}

fn a_key_filed_under_the_forge_name_is_found_replaced_and_removed() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let (old, new) = (sb.key(), sb.key());
    // As `login --host https://api.forge.coreweave.com` filed it before both names
    // were one account.
    kr.store("https://api.forge.coreweave.com", &old);
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{old}\n"));
    sb.cmd(&["login", &new]).run().ok();
    assert_eq!(
        kr.lookup("https://api.wandb.ai").as_deref(),
        Some(new.as_str())
    );
    assert_eq!(kr.lookup("https://api.forge.coreweave.com"), None);
    sb.cmd(&["get", "--host", "https://api.forge.coreweave.com"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{new}\n"));
    kr.store("https://forge.coreweave.com/api/wandb", &old);
    sb.cmd(&["logout"]).run().ok();
    for account in [
        "https://api.wandb.ai",
        "https://forge.coreweave.com/api/wandb",
    ] {
        assert_eq!(kr.lookup(account), None, "{account}");
    }
}

fn a_bare_forge_url_is_refused_as_the_sdk_refuses_it() {
    let sb = Sandbox::new();
    let key = sb.key();
    for host in [
        "https://forge.coreweave.com",
        "https://forge.coreweave.com/wandb",
    ] {
        sb.cmd(&["login", "--host", host, &key])
            .run()
            .fails(1)
            .stderr_has(&format!("invalid Forge server address \"{host}\""))
            .stderr_has("use https://api.forge.coreweave.com");
    }
    assert!(!sb.netrc().exists());
}

fn netrc_names_are_read_in_the_documented_order() {
    let sb = Sandbox::new();
    let (a, f, d) = (sb.key(), sb.key(), sb.key());
    sb.write(
        &sb.netrc(),
        &format!(
            "default login user password {d}\nmachine {FORGE} login user password {f}\nmachine api.wandb.ai login user password {a}\n"
        ),
    );
    // The name the URL gives first, then the account's other name, then `default`.
    for (host, want) in [
        ("https://api.wandb.ai", &a),
        ("https://api.forge.coreweave.com", &f),
        ("https://wb.example.com", &d),
    ] {
        sb.cmd(&["get", "--host", host])
            .key_on_stdout()
            .run()
            .ok()
            .stdout_is(&format!("{want}\n"));
    }
    sb.write(
        &sb.netrc(),
        &format!("default login user password {d}\nmachine {FORGE} login user password {f}\n"),
    );
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{f}\n"));
}
