//! Identity federation is left alone, and every hint leads to the safest fix that
//! works (issue 32, items 6 and 7): with `WANDB_IDENTITY_TOKEN_FILE` set, `exec`, `get
//! --env` and the hook give no API key (the SDK refuses both) and say why; the fixes
//! `status` prints never move the default server; the note about SDKs that refuse
//! `wandb_v1_` keys appears only where such an SDK is installed.

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox, activate_venv, sdk_python};
use crate::hook_servers::venv_over;
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Sdk, Need::KernelKeyring];
        identity_federation_gets_no_api_key,
    ];
    all.extend(trials![[Need::KernelKeyring];
        the_fixes_status_prints_leave_the_default_server_alone,
    ]);
    all.extend(trials![[Need::Python];
        the_v1_note_appears_only_where_such_an_sdk_is_installed,
    ]);
    all
}

const SAYS_WHY: &str = "WANDB_IDENTITY_TOKEN_FILE is set";

/// Failed before the fix: `exec` and `get --env` set WANDB_API_KEY beside the token
/// file, and the SDK then refused to start.
fn identity_federation_gets_no_api_key() {
    let mut sb = Sandbox::new();
    sb.own_kernel_keyring();
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let token = sb.root.join("token");
    std::fs::write(&token, "header.payload.signature").unwrap();
    let token = token.to_str().unwrap();
    sb.cmd(&[
        "exec",
        "--",
        "sh",
        "-c",
        "echo \"${WANDB_API_KEY-unset} $WANDB_BASE_URL\"",
    ])
    .env("WANDB_IDENTITY_TOKEN_FILE", token)
    .run()
    .ok()
    .stdout_is("unset https://api.wandb.ai\n")
    .stderr_has(SAYS_WHY);
    let out = sb
        .cmd(&["get", "--env"])
        .env("WANDB_IDENTITY_TOKEN_FILE", token)
        .run();
    out.ok().stdout_is("").stderr_has(SAYS_WHY);
    // The hook, asked by the SDK, gives none and says why; without the file, the key.
    let python = venv_over(&sb, &sdk_python().expect("checked by Need::Sdk"), "venv");
    let read = "from wandb.sdk.lib.wbauth import wbnetrc\nprint(wbnetrc.read_netrc_auth(host='https://api.wandb.ai'))";
    sb.program(&python, &["-c", read])
        .env("WANDB_IDENTITY_TOKEN_FILE", token)
        .run()
        .ok()
        .stdout_is("None\n")
        .stderr_has(
            "WANDB_IDENTITY_TOKEN_FILE is set: the W&B SDK signs in with that identity token",
        );
    sb.program(&python, &["-c", read])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
}

/// Server A is the default, B another; netrc holds another key for B. `status --host B`
/// shows both fixes with `--host B`; the one that keeps the stored key removes netrc's
/// and A stays the default. Failed before the fix: that fix was `wandb-cred get --host
/// B | wandb-cred login --host B -`, which made B the default server.
fn the_fixes_status_prints_leave_the_default_server_alone() {
    const A: &str = "https://a.example.com";
    const B: &str = "https://b.example.com";
    let mut sb = Sandbox::new();
    sb.own_kernel_keyring();
    let (key_a, key_b, plain) = (sb.key(), sb.key(), sb.key());
    sb.cmd(&["login", "--host", B, &key_b]).run().ok();
    sb.cmd(&["login", "--host", A, &key_a]).run().ok();
    sb.write(
        &sb.netrc(),
        &format!("machine b.example.com\n  login user\n  password {plain}\n"),
    );
    let out = sb.cmd(&["status", "--host", B]).run();
    let keep = format!("`wandb-cred logout --backend netrc --host {B}`");
    out.stdout_has(&keep)
        .stdout_has(&format!("`wandb-cred migrate --host {B} --replace`"));
    let words: Vec<&str> = keep.trim_matches('`').split(' ').skip(1).collect();
    sb.cmd(&words).run().ok();
    let settings = sb.python_settings(&sb.system_settings());
    assert_eq!(
        settings["default"]["base_url"], A,
        "the default server moved"
    );
    assert_eq!(sb.python_netrc(&sb.netrc(), "b.example.com"), None);
    sb.cmd(&["get", "--host", B])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key_b}\n"));
}

/// Failed before the fix: every `status` of a `wandb_v1_` key said "W&B SDK versions
/// up to 0.22.2 reject wandb_v1_ keys", SDK or not.
fn the_v1_note_appears_only_where_such_an_sdk_is_installed() {
    let mut sb = Sandbox::new();
    sb.cmd(&["login", "--backend", "netrc", &sb.key()])
        .run()
        .ok();
    let out = sb.cmd(&["status"]).run();
    out.ok();
    assert!(!out.stdout.contains("Note:"), "{}", out.report());
    let old = crate::doctor::python_with_sdk_version(&sb, "0.22.2");
    activate_venv(&mut sb, std::path::Path::new(&old));
    sb.cmd(&["status"])
        .run()
        .ok()
        .stdout_has("Note:      wandb 0.22.2 in ")
        .stdout_has("rejects wandb_v1_ keys")
        .stdout_has(&format!("`{old} -m pip install -U wandb`"));
}
