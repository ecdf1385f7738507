//! `doctor` in each state the keychain tests build (healthy, locked, frozen, no bus, no
//! provider), with broken files, a plaintext copy, and `--verify` against the fake
//! server. Read through `--json`, so each check's status is asserted, not just text.

use libtest_mimic::Trial;
use serde_json::Value;

use crate::harness::{Need, Outcome, Sandbox};
use crate::keyring::{Keyring, Provider};
use crate::server::{FakeServer, Reply};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Keyring, Need::Sdk];
        healthy_keychain_round_trip_leaves_nothing_behind,
        locked_keychain_fails_with_the_unlock_hint,
        frozen_keychain_fails_within_the_timeout,
        bus_without_provider_means_netrc,
        plaintext_copy_and_open_netrc_are_warnings,
        locked_keychain_fixes_work,
        frozen_keychain_fixes_work,
    ];
    all.extend(trials![[Need::Sdk];
        no_bus_and_no_key,
        a_broken_key_gets_a_fix_that_works,
        broken_files_are_named_by_path_and_line_never_content,
        a_netrc_that_is_not_a_file_is_reported_once_with_its_own_fix,
        verify_asks_the_server_only_when_told,
        human_output_has_a_fix_per_problem,
        daemon_fixes_work,
    ]);
    all.extend(trials![[Need::Python];
        the_sdk_check_follows_the_installed_version,
    ]);
    all
}

/// One check of `doctor --json`: name, status, detail, fix.
type Check = (String, String, String, Option<String>);

/// `doctor --json`: the exit code and each check.
fn doctor(sb: &Sandbox, extra: &[&str]) -> (i32, Vec<Check>) {
    // The W&B SDK checked is the suite's (the python3 on PATH may have none).
    let python = crate::harness::sdk_python().expect("checked by Need::Sdk");
    let mut args = vec!["doctor", "--json", "--python", &python];
    args.extend_from_slice(extra);
    let out: Outcome = sb
        .cmd(&args)
        .env("WANDB_CRED_KEYCHAIN_TIMEOUT", "500ms")
        .run();
    let doc: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e})\n{}", out.report()));
    let checks = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
                c["detail"].as_str().unwrap().to_owned(),
                c["fix"].as_str().map(str::to_owned),
            )
        })
        .collect::<Vec<_>>();
    assert_eq!(
        doc["ok"].as_bool().unwrap(),
        out.code == 0,
        "{}",
        out.report()
    );
    // Any check that is not ok, a warning too, makes the exit status 1.
    assert_eq!(
        out.code,
        i32::from(checks.iter().any(|c| c.1 != "ok")),
        "{}",
        out.report()
    );
    (out.code, checks)
}

/// No check failed (warnings may be there; they too make the exit status 1).
#[track_caller]
fn no_failure(code: i32, checks: &[Check]) {
    assert!(
        checks.iter().all(|c| c.1 != "failed")
            && code == i32::from(checks.iter().any(|c| c.1 != "ok")),
        "{checks:#?}"
    );
}

#[track_caller]
fn check<'c>(checks: &'c [Check], name: &str, status: &str) -> &'c Check {
    let found = checks
        .iter()
        .find(|c| c.0 == name)
        .unwrap_or_else(|| panic!("no check {name}: {checks:#?}"));
    assert_eq!(found.1, status, "{found:#?}");
    found
}

fn healthy_keychain_round_trip_leaves_nothing_behind() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let (code, checks) = doctor(&sb, &[]);
    no_failure(code, &checks);
    for name in [
        "settings",
        "netrc",
        "server",
        "daemon",
        "backend",
        "keychain",
        "key",
        "plaintext",
    ] {
        check(&checks, name, "ok");
    }
    assert!(
        check(&checks, "keychain", "ok")
            .2
            .contains("wrote, read and deleted")
    );
    assert!(check(&checks, "key", "ok").2.contains("wandb_v1_****"));
    // The SDK reads no keychain: a warning that names exec.
    let sdk = check(&checks, "sdk", "warning");
    assert!(
        sdk.3
            .as_deref()
            .unwrap()
            .contains("wandb-cred exec -- python train.py")
    );
    assert_eq!(kr.lookup("https://wandb-cred-doctor.invalid"), None);
    assert_eq!(
        kr.lookup("https://api.wandb.ai").as_deref(),
        Some(key.as_str())
    );
    // With the key in the environment the SDK is fine.
    let python = crate::harness::sdk_python().expect("checked by Need::Sdk");
    let out = sb
        .cmd(&["doctor", "--python", &python])
        .env("WANDB_API_KEY", &key)
        .run();
    out.ok()
        .stdout_has("[ok]      sdk        wandb 0.31.0 in")
        .stdout_has("finds the key for https://api.forge.coreweave.com in WANDB_API_KEY");
}

fn locked_keychain_fails_with_the_unlock_hint() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Locked);
    let (code, checks) = doctor(&sb, &[]);
    assert_eq!(code, 1);
    let backend = check(&checks, "backend", "failed");
    assert!(backend.2.contains("the keychain is locked"), "{backend:?}");
    assert!(backend.3.is_some());
    check(&checks, "key", "failed");
    check(&checks, "settings", "ok");
}

fn frozen_keychain_fails_within_the_timeout() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    kr.freeze();
    let (code, checks) = doctor(&sb, &[]);
    assert_eq!(code, 1);
    let backend = check(&checks, "backend", "failed");
    assert!(
        backend.2.contains("did not answer within 0.5 s"),
        "{backend:?}"
    );
}

/// Issue 16: locked, `key` said "fix the source named above" and `sdk` said `wandb-cred
/// login`, which fails while locked. Each fix now works in that state: unlock (here the
/// keyring starts unlocked, as at the next desktop login), then `wandb-cred reload`.
fn locked_keychain_fixes_work() {
    let mut sb = Sandbox::new();
    let mut kr = Keyring::start(&mut sb, Provider::Locked);
    let (code, checks) = doctor(&sb, &[]);
    assert_eq!(code, 1);
    for name in ["backend", "key"] {
        let fix = check(&checks, name, "failed").3.clone().unwrap();
        assert!(
            fix.contains("unlock") && fix.contains("then `wandb-cred reload`"),
            "{name}: {fix}"
        );
        assert!(!fix.contains("wandb-cred login"), "{name}: {fix}");
    }
    let sdk = check(&checks, "sdk", "failed").3.clone().unwrap();
    assert!(
        sdk.starts_with("first the key check's fix: unlock"),
        "{sdk}"
    );
    kr.kill();
    kr.restart();
    sb.cmd(&["reload"]).run().ok();
    let (_, checks) = doctor(&sb, &[]);
    check(&checks, "backend", "ok");
    check(&checks, "keychain", "ok");
    // Unlocked and empty: now a login is the fix, and it works.
    assert_eq!(
        check(&checks, "key", "failed").3.as_deref(),
        Some("wandb-cred login")
    );
    let key = sb.key();
    sb.cmd(&["login", "-"]).stdin(&key).run().ok();
    let (code, checks) = doctor(&sb, &[]);
    no_failure(code, &checks);
    check(&checks, "key", "ok");
}

/// A keychain that stops answering: restarting it and `wandb-cred reload`, as the fix says.
fn frozen_keychain_fixes_work() {
    let mut sb = Sandbox::new();
    let mut kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    sb.cmd(&["reload"]).run().ok();
    kr.freeze();
    let (code, checks) = doctor(&sb, &[]);
    assert_eq!(code, 1);
    for name in ["backend", "key"] {
        let fix = check(&checks, name, "failed").3.clone().unwrap();
        assert!(fix.contains("then `wandb-cred reload`"), "{name}: {fix}");
    }
    kr.kill();
    kr.restart();
    sb.cmd(&["reload"]).run().ok();
    let (code, checks) = doctor(&sb, &[]);
    no_failure(code, &checks);
    check(&checks, "backend", "ok");
    check(&checks, "key", "ok");
}

fn bus_without_provider_means_netrc() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::None);
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let (code, checks) = doctor(&sb, &[]);
    no_failure(code, &checks);
    let backend = check(&checks, "backend", "warning");
    assert!(
        backend
            .2
            .contains("no Secret Service provider on the session bus")
    );
    assert!(check(&checks, "sdk", "ok").2.contains("netrc"));
    assert!(!checks.iter().any(|c| c.0 == "keychain"));
}

fn plaintext_copy_and_open_netrc_are_warnings() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let (chain, plain) = (sb.key(), sb.key());
    sb.cmd(&["login", &chain]).run().ok();
    sb.write(
        &sb.netrc(),
        &format!("machine api.wandb.ai\n  login user\n  password {plain}\n"),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(sb.netrc(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, checks) = doctor(&sb, &[]);
    no_failure(code, &checks);
    let copy = check(&checks, "plaintext", "warning");
    assert!(copy.2.contains(".netrc (line 1)"));
    assert!(copy.2.contains("a different plaintext key"), "{}", copy.2);
    assert!(
        copy.3
            .as_deref()
            .unwrap()
            .ends_with("`wandb-cred logout --backend netrc`"),
        "{:?}",
        copy.3
    );
    let netrc = check(&checks, "netrc", "warning");
    assert!(netrc.2.contains("mode 0644"));
    assert_eq!(
        netrc.3.as_deref().unwrap(),
        format!("chmod 600 {}", sb.netrc().display())
    );
    // The SDK would use the stale plaintext key; both fixes say the same command, and
    // running it leaves the keychain's key and no plaintext copy.
    let sdk = check(&checks, "sdk", "warning");
    assert!(
        sdk.3
            .as_deref()
            .unwrap()
            .contains("`wandb-cred logout --backend netrc`"),
        "{sdk:?}"
    );
    sb.program(
        "sh",
        &[
            "-c",
            &format!("'{}' logout --backend netrc", crate::harness::BIN),
        ],
    )
    .run()
    .ok();
    let (_, checks) = doctor(&sb, &[]);
    check(&checks, "plaintext", "ok");
    assert!(
        check(&checks, "key", "ok")
            .2
            .contains(&sb.secret(chain.clone())[chain.len() - 4..])
    );
    // Now only the keychain holds it: the SDK's fix is the hook (tests/it/python_hook.rs
    // runs it and shows this check passing).
    let sdk = check(&checks, "sdk", "warning");
    assert!(
        sdk.3
            .as_deref()
            .unwrap()
            .contains("wandb-cred setup-python"),
        "{sdk:?}"
    );
}

fn no_bus_and_no_key() {
    let sb = Sandbox::new();
    let (code, checks) = doctor(&sb, &[]);
    assert_eq!(code, 1);
    let backend = check(&checks, "backend", "warning");
    assert!(backend.2.contains("no D-Bus session bus"));
    assert_eq!(
        check(&checks, "key", "failed").3.as_deref(),
        Some("wandb-cred login")
    );
    check(&checks, "sdk", "failed");
    let (_, checks) = doctor(&sb, &["--host", "https://wb.example.com"]);
    assert_eq!(
        check(&checks, "key", "failed").3.as_deref(),
        // For that one command: `login --host` would make it the default server.
        Some("WANDB_BASE_URL=https://wb.example.com wandb-cred login")
    );
    // Without a daemon by choice, the daemon check says so.
    let out = sb.cmd(&["doctor"]).env("WANDB_CRED_NO_DAEMON", "1").run();
    out.fails(1)
        .stdout_has("not used (WANDB_CRED_NO_DAEMON is set)");
    // The fix, done: the key check passes, and the SDK finds the key in netrc.
    let key = sb.key();
    sb.cmd(&["login", "-"]).stdin(&key).run().ok();
    let (code, checks) = doctor(&sb, &[]);
    no_failure(code, &checks);
    check(&checks, "key", "ok");
    check(&checks, "sdk", "ok");
}

/// The daemon check's fixes, each applied: no daemon while autostart is off, and a
/// socket in a folder other users can enter.
fn daemon_fixes_work() {
    let mut sb = Sandbox::new();
    sb.cmd(&["login", "-"]).stdin(&sb.key()).run().ok();
    sb.cmd(&["stop"]).run().ok();
    sb.set_env("WANDB_CRED_NO_AUTOSTART", "1");
    let (_, checks) = doctor(&sb, &[]);
    let fix = check(&checks, "daemon", "warning").3.clone().unwrap();
    assert!(fix.starts_with("unset WANDB_CRED_NO_AUTOSTART"), "{fix}");
    sb.remove_env("WANDB_CRED_NO_AUTOSTART");
    let (code, checks) = doctor(&sb, &[]);
    no_failure(code, &checks);
    check(&checks, "daemon", "ok");

    let shared = sb.root.join("shared");
    std::fs::create_dir(&shared).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    sb.set_env(
        "WANDB_CRED_SOCKET",
        shared.join("daemon.sock").to_str().unwrap(),
    );
    let (_, checks) = doctor(&sb, &[]);
    let fix = check(&checks, "daemon", "warning").3.clone().unwrap();
    let suggested = fix
        .split("export WANDB_CRED_SOCKET=")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("{fix}"));
    let socket = suggested.replacen('~', sb.home.to_str().unwrap(), 1);
    sb.set_env("WANDB_CRED_SOCKET", &socket);
    let (code, checks) = doctor(&sb, &[]);
    no_failure(code, &checks);
    assert!(check(&checks, "daemon", "ok").2.contains(&socket));
    sb.cmd(&["stop"]).run().ok();
}

fn broken_files_are_named_by_path_and_line_never_content() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.write(
        &sb.system_settings(),
        "[default]\nbase_url = https://api.wandb.ai\nSECRETLINE-without-separator\n",
    );
    sb.write(
        &sb.netrc(),
        &format!("machine api.wandb.ai\n  login user\n  password {key}\n  SECRETTOKEN x\n"),
    );
    let (code, checks) = doctor(&sb, &[]);
    assert_eq!(code, 1);
    let settings = check(&checks, "settings", "failed");
    assert!(
        settings
            .2
            .contains(&format!("{}, line 3", sb.system_settings().display())),
        "{settings:?}"
    );
    let netrc = check(&checks, "netrc", "failed");
    assert!(
        netrc.2.contains(&sb.netrc().display().to_string()),
        "{netrc:?}"
    );
    assert!(netrc.2.contains("line 4"), "{netrc:?}");
    let all = format!("{checks:?}");
    assert!(!all.contains("SECRET"), "{all}");
    // The rest of the checks still ran.
    check(&checks, "server", "ok");
    check(&checks, "daemon", "ok");
}

/// A FIFO where the netrc should be: the netrc check says so, with a fix for a file
/// (not "fix that line"), and the key check points there instead of repeating it.
/// Failed before: the same error three times, the last two with keychain fixes.
fn a_netrc_that_is_not_a_file_is_reported_once_with_its_own_fix() {
    let sb = Sandbox::new();
    let made = std::process::Command::new("mkfifo")
        .arg(sb.netrc())
        .status()
        .unwrap();
    assert!(made.success());
    let (code, checks) = doctor(&sb, &[]);
    assert_eq!(code, 1);
    let netrc = check(&checks, "netrc", "failed");
    assert!(netrc.2.contains("FIFO"), "{netrc:?}");
    let fix = netrc.3.clone().unwrap_or_default();
    assert!(!fix.contains("that line"), "{fix}");
    assert!(fix.contains(&sb.netrc().display().to_string()), "{fix}");
    let said = checks.iter().filter(|c| c.2.contains("FIFO")).count();
    assert_eq!(said, 1, "{checks:#?}");
    let key = check(&checks, "key", "failed");
    assert!(key.2.contains("see the netrc check"), "{key:?}");
}

fn verify_asks_the_server_only_when_told() {
    let good = FakeServer::start(Reply::Viewer {
        username: "ann",
        entity: "ann",
        teams: &[],
    });
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--host", &good.url(), &key]).run().ok();
    let (code, checks) = doctor(&sb, &[]);
    no_failure(code, &checks);
    assert!(!checks.iter().any(|c| c.0 == "verify"));
    assert!(good.requests().is_empty());
    let (code, checks) = doctor(&sb, &["--verify"]);
    no_failure(code, &checks);
    assert!(
        check(&checks, "verify", "ok")
            .2
            .contains("accepts the key (ann)")
    );
    let bad = FakeServer::start(Reply::Unauthorized);
    let other = sb.key();
    sb.cmd(&["login", "--host", &bad.url(), &other]).run().ok();
    let (code, checks) = doctor(&sb, &["--verify"]);
    assert_eq!(code, 1);
    assert!(
        check(&checks, "verify", "failed")
            .2
            .contains("user is not logged in")
    );
}

fn human_output_has_a_fix_per_problem() {
    let sb = Sandbox::new();
    let out = sb.cmd(&["doctor"]).run();
    out.fails(1)
        .stdout_has("[failed]  key        no API key for api.wandb.ai")
        .stdout_has("fix: wandb-cred login\n")
        .stdout_has("[ok]      server     https://api.wandb.ai (the default)");
}

/// A Python whose only "wandb" is its package metadata, as an SDK of that version
/// would leave (doctor reads the version, never imports wandb).
pub fn python_with_sdk_version(sb: &Sandbox, version: &str) -> String {
    let dir = sb.root.join(format!("venv-{version}"));
    let made = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(made.success());
    let python = dir.join("bin/python");
    let site = crate::harness::python(
        "import subprocess, sys; print(subprocess.check_output([sys.argv[1], '-c', 'import sysconfig; print(sysconfig.get_paths()[\"purelib\"])'], text=True).strip())",
        &[python.to_str().unwrap()],
    );
    let info = std::path::Path::new(site.trim()).join(format!("wandb-{version}.dist-info"));
    std::fs::create_dir_all(&info).unwrap();
    std::fs::write(
        info.join("METADATA"),
        format!("Metadata-Version: 2.1\nName: wandb\nVersion: {version}\n"),
    )
    .unwrap();
    python.to_str().unwrap().to_owned()
}

fn the_sdk_check_follows_the_installed_version() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--backend", "netrc", &key]).run().ok();
    // Up to 0.22.2 the SDK refuses an 86-character wandb_v1_ key.
    let old = python_with_sdk_version(&sb, "0.22.2");
    let out = sb.cmd(&["doctor", "--python", &old]).run();
    out.fails(1)
        .stdout_has("[failed]  sdk        wandb 0.22.2 in")
        .stdout_has("refuses the key from netrc file")
        .stdout_has("\"API key must be 40 characters long, yours was 86\"")
        .stdout_has("-m pip install -U wandb");
    // Before 0.31 its default server is api.wandb.ai; from 0.31 the Forge name, whose
    // netrc lookup falls back to the api.wandb.ai entry.
    // (The plaintext netrc store is a warning, so doctor exits 1 throughout.)
    let before = python_with_sdk_version(&sb, "0.30.0");
    sb.cmd(&["doctor", "--python", &before])
        .run()
        .fails(1)
        .stdout_has("wandb 0.30.0 in")
        .stdout_has("finds the key for https://api.wandb.ai in netrc file");
    let now = python_with_sdk_version(&sb, "0.31.0");
    sb.cmd(&["doctor", "--python", &now])
        .run()
        .fails(1)
        .stdout_has("finds the key for https://api.forge.coreweave.com in netrc file");
    // A Python without the SDK is named, with the way to check another.
    let none = sb.root.join("venv-none");
    std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&none)
        .status()
        .unwrap();
    sb.cmd(&[
        "doctor",
        "--python",
        none.join("bin/python").to_str().unwrap(),
    ])
    .run()
    .fails(1)
    .stdout_has("has no W&B SDK (package wandb)")
    .stdout_has("fix: check the Python that has it: `wandb-cred doctor --python PATH`");
}

fn a_broken_key_gets_a_fix_that_works() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    // WANDB_API_KEY outranks everything: no login can help, unsetting it does.
    let python = crate::harness::sdk_python().expect("checked by Need::Sdk");
    let doctor = |env: Option<(&str, &str)>| {
        let mut run = sb.cmd(&["doctor", "--json", "--python", &python]);
        if let Some((name, value)) = env {
            run = run.env(name, value);
        }
        let out = run.run();
        let doc: Value = serde_json::from_str(&out.stdout).unwrap();
        doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "key")
            .cloned()
            .unwrap()
    };
    let broken = doctor(Some(("WANDB_API_KEY", "garbage")));
    assert_eq!(broken["status"], "failed");
    assert!(
        broken["fix"]
            .as_str()
            .unwrap()
            .starts_with("unset WANDB_API_KEY"),
        "{broken}"
    );
    // The fix done (the variable unset): the check passes.
    assert_eq!(doctor(None)["status"], "ok");
    // A broken api_key in a settings file: the file and line, and removing it works.
    sb.write(&sb.system_settings(), "[default]\napi_key = short\n");
    let broken = doctor(None);
    assert_eq!(broken["status"], "failed");
    assert_eq!(
        broken["fix"].as_str().unwrap(),
        format!(
            "fix or remove `api_key` in {} (line 2)",
            sb.system_settings().display()
        )
    );
    sb.write(&sb.system_settings(), "[default]\n");
    assert_eq!(doctor(None)["status"], "ok");
}
