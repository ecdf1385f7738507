//! The hook gives the SDK, for each server it talks to, the key wandb-cred holds for
//! that server or none (issue 23, item 1): two fake W&B servers on two ports, keys in
//! the kernel keyring (which the SDK cannot read by itself), the real SDK 0.31 and the
//! oldest SDK the hook supports in throwaway venvs, and an SDK it does not support.

use std::path::PathBuf;

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox, make_venv, purelib, sdk_python};
use crate::server::{FakeServer, Reply};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![a_settings_api_key_belongs_to_its_own_server];
    all.extend(trials![[Need::Python]; a_wandb_cred_package_pip_installed_is_left_alone]);
    all.extend(trials![[Need::Sdk, Need::KernelKeyring];
        each_server_gets_its_own_key_with_the_current_sdk,
    ]);
    all.extend(trials![[Need::OlderSdks, Need::KernelKeyring];
        each_server_gets_its_own_key_with_the_oldest_supported_sdk,
        an_unsupported_sdk_leaves_the_hook_idle_and_doctor_says_so,
    ]);
    all.extend(trials![[Need::Sdk, Need::KernelKeyring];
        a_key_cleared_by_a_restart_is_said_before_the_sdk_prompts,
    ]);
    all
}

/// The oldest SDK the hook supports, and one it does not (tests/run.sh installs both).
pub fn oldest_sdk_python() -> Option<String> {
    std::env::var("WANDB_CRED_TEST_SDK_OLDEST_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
}

pub fn unsupported_sdk_python() -> Option<String> {
    std::env::var("WANDB_CRED_TEST_SDK_UNSUPPORTED_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
}

/// A throwaway venv that sees `shared`'s packages (read-only, through a `.pth` line),
/// with the hook set up: its Python.
pub fn venv_over(sb: &Sandbox, shared: &str, name: &str) -> PathBuf {
    let shared = PathBuf::from(shared);
    let (python, site) = make_venv(&shared, &sb.root.join(name));
    std::fs::write(
        site.join("zz_shared_sdk.pth"),
        format!("{}\n", purelib(&shared).display()),
    )
    .unwrap();
    sb.cmd(&["setup-python", "--python", python.to_str().unwrap()])
        .run()
        .ok();
    python
}

/// A fake W&B server that accepts any key (its viewer is ann).
pub fn viewer() -> FakeServer {
    FakeServer::start(Reply::Viewer {
        username: "ann",
        entity: "ann",
        teams: &[],
    })
}

/// Each way a program names a server, as a script run with `B` set to that server.
const NAMING_B: &[(&str, &str)] = &[
    (
        "wandb.login(host=B)",
        "import os, wandb\nB = os.environ['B']\ntry:\n    wandb.login(host=B, verify=True)\nexcept Exception as e:\n    print(type(e).__name__)",
    ),
    (
        "WANDB_BASE_URL set after import",
        "import os, wandb\nos.environ['WANDB_BASE_URL'] = os.environ['B']\ntry:\n    wandb.login(verify=True)\nexcept Exception as e:\n    print(type(e).__name__)",
    ),
    (
        "wandb.Api(overrides=...)",
        "import os, wandb\ntry:\n    wandb.Api(overrides={'base_url': os.environ['B']}).viewer\nexcept Exception as e:\n    print(type(e).__name__)",
    ),
    (
        "wandb.init(settings=Settings(base_url=B))",
        "import os, wandb\ntry:\n    run = wandb.init(settings=wandb.Settings(base_url=os.environ['B'], init_timeout=15))\n    run.finish()\nexcept Exception as e:\n    print(type(e).__name__)",
    ),
];

/// Server A is the configured one (`login --host A`); B and C are named by the program.
/// B gets B's key and never A's, C (no key) gets none and never A's; A gets A's; the
/// key is never left in `os.environ`. Failed before the fix: the hook set A's key in
/// WANDB_API_KEY, which the SDK sent to whatever server the program named.
fn servers_get_their_own_keys(shared: &str, current: bool) {
    let (a, b, c) = (viewer(), viewer(), viewer());
    let mut sb = Sandbox::new();
    sb.own_kernel_keyring();
    let (key_a, key_b) = (sb.key(), sb.key());
    // B's key first: the last login names the configured server, A.
    sb.cmd(&["login", "--host", &b.url(), &key_b]).run().ok();
    sb.cmd(&["login", "--host", &a.url(), &key_a]).run().ok();
    let python = venv_over(&sb, shared, "venv");
    let (basic_a, basic_b) = (crate::verify::basic(&key_a), crate::verify::basic(&key_b));
    for (what, script) in NAMING_B {
        if !current && what.starts_with("wandb.init") {
            continue;
        }
        for (server, own) in [(&b, Some(&basic_b)), (&c, None)] {
            // A is the configured server (`wandb.login(host=...)` persists its host).
            configure(&sb, &a);
            let (before_a, before) = (a.requests().len(), server.requests().len());
            let out = sb
                .program(&python, &["-c", script])
                .env("B", &server.url())
                .env("WANDB_SILENT", "true")
                .env("WANDB_MODE", "online")
                .run();
            let sent = server.authorizations_since(before);
            assert!(
                !sent.contains(&basic_a),
                "{what}: {} got A's key\n{}",
                server.url(),
                out.report()
            );
            if let Some(own) = own {
                assert!(
                    sent.contains(own),
                    "{what}: B did not get its own key ({} requests)\n{}",
                    sent.len(),
                    out.report()
                );
            }
            // The SDK may still talk to the configured server A: with A's key only. (Before
            // 0.28.2, `wandb.Api(overrides=...)` checks B's key against the configured
            // server, an SDK bug the hook cannot change: not asserted there.)
            let to_a = a.authorizations_since(before_a);
            if !current && what.starts_with("wandb.Api") {
                continue;
            }
            assert!(
                to_a.iter().all(|h| h == &basic_a),
                "{what}: A got another key: {to_a:?} (B's is {basic_b})"
            );
        }
    }
    // A itself, and nothing left in the environment.
    configure(&sb, &a);
    let before = a.requests().len();
    let out = sb
        .program(
            &python,
            &["-c", "import os, wandb\nwandb.login(verify=True)\nprint(os.environ.get('WANDB_API_KEY'))"],
        )
        .env("WANDB_SILENT", "true")
        .run();
    out.ok().stdout_is("None\n");
    assert!(
        a.authorizations_since(before).contains(&basic_a),
        "{}",
        out.report()
    );
}

/// Names `server` in the system settings file, as `login --host` leaves it.
fn configure(sb: &Sandbox, server: &FakeServer) {
    sb.write(
        &sb.system_settings(),
        &format!("[default]\nbase_url = {}\n", server.url()),
    );
}

fn each_server_gets_its_own_key_with_the_current_sdk() {
    servers_get_their_own_keys(&sdk_python().expect("checked by Need::Sdk"), true);
}

/// wandb 0.24.1, the first with the function the hook wraps.
fn each_server_gets_its_own_key_with_the_oldest_supported_sdk() {
    servers_get_their_own_keys(
        &oldest_sdk_python().expect("checked by Need::OlderSdks"),
        false,
    );
}

/// wandb 0.22.3 reads keys another way: the hook gives it nothing (never a key for the
/// wrong server), and `doctor --python` says the hook does not support that SDK.
fn an_unsupported_sdk_leaves_the_hook_idle_and_doctor_says_so() {
    let a = viewer();
    let mut sb = Sandbox::new();
    sb.own_kernel_keyring();
    let key = sb.key();
    sb.cmd(&["login", "--host", &a.url(), &key]).run().ok();
    let python = venv_over(
        &sb,
        &unsupported_sdk_python().expect("checked by Need::OlderSdks"),
        "old",
    );
    sb.program(
        &python,
        &[
            "-c",
            "import os, wandb\nprint(os.environ.get('WANDB_API_KEY'))",
        ],
    )
    .run()
    .ok()
    .stdout_is("None\n");
    let out = sb
        .cmd(&["doctor", "--python", python.to_str().unwrap()])
        .run();
    assert!(
        out.stdout.contains("supports wandb 0.24.1 and later"),
        "{}",
        out.report()
    );
}

/// The same rule outside the hook: a settings `api_key` is the key of the server the
/// configuration names (the SDK 0.31 uses it only for its `base_url`), so `get --host`
/// another server does not print it. Failed before the fix: it printed the settings key
/// for any --host, http included.
fn a_settings_api_key_belongs_to_its_own_server() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.write(
        &sb.workspace_settings(),
        &format!("[default]\napi_key = {key}\n"),
    );
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    for other in ["https://other.example.com", "http://other.example.com"] {
        let out = sb.cmd(&["get", "--host", other]).run();
        out.fails(1).stderr_has("no API key");
        assert!(!out.stdout.contains(&key), "{}", out.report());
        let out = sb.cmd(&["get", "--env", "--host", other]).run();
        assert!(!out.stdout.contains(&key), "{}", out.report());
    }
}

/// The kernel keyring emptied by a restart: `import wandb; wandb.login()` gets one line
/// from the hook saying the key was cleared and what to do, before the SDK gives up
/// (no terminal, so it cannot prompt), and no netrc is written. Failed before the fix:
/// `get --env` printed nothing and exited 0, and the hook said nothing.
fn a_key_cleared_by_a_restart_is_said_before_the_sdk_prompts() {
    let mut sb = Sandbox::new();
    sb.own_kernel_keyring();
    sb.set_env("WANDB_CRED_NO_DAEMON", "1");
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let python = venv_over(&sb, &sdk_python().expect("checked by Need::Sdk"), "venv");
    sb.keyctl(&["clear", "@u"]).unwrap();
    let path = sb.home.join(".local/state/wandb-cred/stored.json");
    let record = sb.read(&path).unwrap();
    let mut record: serde_json::Value = serde_json::from_str(&record).unwrap();
    for placed in record["kernel_keyring"]
        .as_object_mut()
        .unwrap()
        .values_mut()
    {
        placed["boot"] = serde_json::Value::from("00000000-0000-0000-0000-000000000000");
    }
    sb.write(&path, &record.to_string());
    let out = sb
        .program(
            &python,
            &["-c", "import wandb\ntry:\n    wandb.login()\nexcept Exception as e:\n    print(type(e).__name__)"],
        )
        .run();
    let first = out
        .stderr
        .lines()
        .find(|l| l.contains("wandb-cred"))
        .unwrap_or_default();
    assert!(
        first.contains("cleared when this machine restarted") && first.contains("wandb-cred login"),
        "{}",
        out.report()
    );
    assert!(!sb.netrc().exists(), "the SDK wrote a netrc");
}

/// A `wandb_cred` that pip installed (no setup-python marker) is neither replaced by
/// `setup-python` nor removed by `--unset`.
fn a_wandb_cred_package_pip_installed_is_left_alone() {
    let sb = Sandbox::new();
    let (python, site) = make_venv(std::path::Path::new("python3"), &sb.root.join("venv"));
    std::fs::create_dir(site.join("wandb_cred")).unwrap();
    std::fs::write(site.join("wandb_cred/__init__.py"), "# pip's\n").unwrap();
    let python = python.to_str().unwrap();
    sb.cmd(&["setup-python", "--python", python]).run().ok();
    assert_eq!(
        std::fs::read_to_string(site.join("wandb_cred/__init__.py")).unwrap(),
        "# pip's\n"
    );
    sb.cmd(&["setup-python", "--python", python, "--unset"])
        .run()
        .ok();
    assert!(site.join("wandb_cred/__init__.py").is_file());
    assert!(!site.join("_wandb_cred_hook").exists());
}
