//! Interoperability with the official W&B Python SDK, in both directions: the SDK finds
//! what `wandb-cred login` wrote, and `wandb-cred` finds what `wandb login` wrote.

use std::process::Command;

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox, legacy_key, sdk_python};
use crate::server::{FakeServer, Reply};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![[Need::Sdk];
        sdk_uses_the_key_and_server_wandb_cred_stored,
        sdk_uses_the_cloud_key_wandb_cred_stored,
        wandb_cred_reads_what_wandb_login_wrote,
    ]
}

/// The SDK's own resolution, without prompting: prints the base URL and the key.
pub const SDK_RESOLVE: &str = "
from wandb.sdk import wandb_setup
from wandb.sdk.lib.wbauth import authenticate_session
s = wandb_setup.singleton().settings
auth = authenticate_session(host=s.base_url, source='test', prompt=False, update_session=False)
print(s.base_url)
print(auth.api_key if auth else 'NONE')
";

pub fn sdk(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    let python = sdk_python().expect("checked by Need::Sdk");
    let mut cmd = Command::new("timeout");
    cmd.arg("120")
        .arg(python)
        .args(args)
        .current_dir(&sb.work)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &sb.home)
        .env("WANDB_SILENT", "true")
        .env("WANDB_DISABLE_CODE", "true");
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "SDK command failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn sdk_uses_the_key_and_server_wandb_cred_stored() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--host", "http://127.0.0.1:8765/", &key])
        .run()
        .ok();
    let out = sdk(&sb, &["-c", SDK_RESOLVE]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout, format!("http://127.0.0.1:8765\n{key}\n"));
}

fn sdk_uses_the_cloud_key_wandb_cred_stored() {
    let sb = Sandbox::new();
    let key = sb.secret(legacy_key());
    sb.cmd(&["login", "--cloud", &key]).run().ok();
    // SDK 0.31 defaults to its Forge host, whose netrc lookup falls back to api.wandb.ai.
    let out = sdk(&sb, &["-c", SDK_RESOLVE]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.ends_with(&format!("\n{key}\n")), "{stdout}");
}

fn wandb_cred_reads_what_wandb_login_wrote() {
    let server = FakeServer::start(Reply::Viewer {
        username: "ann",
        entity: "ann",
        teams: &[],
    });
    let sb = Sandbox::new();
    let key = sb.key();
    sdk(
        &sb,
        &[
            "-m",
            "wandb",
            "login",
            "--no-verify",
            "--host",
            &server.url(),
            &key,
        ],
    );
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    sb.cmd(&["status"])
        .run()
        .ok()
        .stdout_has(&server.url())
        .stdout_has("wandb_v1_****");
    // And our edits keep the SDK's file readable by the SDK.
    let other = sb.key();
    sb.cmd(&["login", "--host", "http://second.example", &other])
        .run()
        .ok();
    let out = sdk(&sb, &["-c", SDK_RESOLVE]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("http://second.example\n{other}\n")
    );
}
