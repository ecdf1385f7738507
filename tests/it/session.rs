//! Jobs started without the login session's environment (cron, `env -i`, `sudo -u`,
//! Slurm `--export=NONE`) find the session's daemon (issue 23, item 3): with
//! `XDG_RUNTIME_DIR` unset, the client looks in logind's `/run/user/<uid>` when that
//! folder is the user's and private. Each test runs in a mount namespace of its own with
//! a tmpfs on `/run/user`, so the machine's own folder is never touched. Root-only.

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox};
use crate::keyring::{Keyring, Provider};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::OtherUser];
        a_job_without_xdg_runtime_dir_reaches_the_session_daemon,
    ];
    all.extend(trials![[Need::Keyring];
        a_job_that_cannot_reach_the_keychain_is_told_where_the_key_is,
    ]);
    all
}

/// A key in the desktop keychain, and a job with no way to it (no session bus, no
/// daemon): `get` and `get --env` (what the hook runs) say the key is in the keychain
/// but unreachable from here, and what reaches it. Once the key is logged out, the
/// plain "no key" again. Failed before: "run `wandb-cred login` first", and `get --env`
/// printed nothing and exited 0.
fn a_job_that_cannot_reach_the_keychain_is_told_where_the_key_is() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    sb.cmd(&["stop"]).run().ok();
    let bus = sb.var("DBUS_SESSION_BUS_ADDRESS").unwrap().to_owned();
    let runtime = sb.runtime_dir();
    // A job outside the desktop session: no bus address, and a runtime folder of its
    // own (zbus would otherwise find the session's bus there).
    let elsewhere = sb.root.join("job-run");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::set_permissions(
        &elsewhere,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    sb.remove_env("DBUS_SESSION_BUS_ADDRESS");
    sb.set_env("XDG_RUNTIME_DIR", elsewhere.to_str().unwrap());
    sb.set_env("WANDB_CRED_NO_DAEMON", "1");
    let unreachable = "in this machine's desktop keychain, which this session cannot reach";
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has(unreachable)
        .stderr_has("XDG_RUNTIME_DIR");
    let out = sb.cmd(&["get", "--env"]).run();
    out.fails(1).stderr_has(unreachable);
    assert_eq!(out.stdout, "");
    // Logged out in the desktop session: nothing is out of reach any more.
    sb.set_env("DBUS_SESSION_BUS_ADDRESS", &bus);
    sb.set_env("XDG_RUNTIME_DIR", runtime.to_str().unwrap());
    sb.cmd(&["logout"]).run().ok();
    sb.remove_env("DBUS_SESSION_BUS_ADDRESS");
    sb.set_env("XDG_RUNTIME_DIR", elsewhere.to_str().unwrap());
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has("run `wandb-cred login` first");
    sb.cmd(&["get", "--env"]).run().ok().stdout_is("");
}

/// Runs `script` with `sh` in a new mount namespace whose `/run/user` is an empty tmpfs
/// holding `/run/user/0` made with `mode`; `XDG_RUNTIME_DIR` is unset for the script.
fn in_fresh_run_user(sb: &Sandbox, mode: &str, script: &str) -> crate::harness::Outcome {
    let full = format!(
        "set -e; mount -t tmpfs tmpfs /run/user; mkdir -m {mode} /run/user/0; unset XDG_RUNTIME_DIR; {script}"
    );
    sb.program(
        "unshare",
        &["--mount", "--propagation", "private", "sh", "-c", &full],
    )
    .run()
}

/// A daemon started in the session (`XDG_RUNTIME_DIR=/run/user/0`) is the one a job with
/// no `XDG_RUNTIME_DIR` talks to; a `/run/user/0` open to others is not used. Failed
/// before the fix: the job looked in the temp folder and found no daemon.
fn a_job_without_xdg_runtime_dir_reaches_the_session_daemon() {
    let sb = Sandbox::new();
    let bin = crate::harness::BIN;
    let script = format!(
        "XDG_RUNTIME_DIR=/run/user/0 {bin} get >/dev/null 2>&1 || true; \
         WANDB_CRED_NO_AUTOSTART=1 {bin} status --json; \
         XDG_RUNTIME_DIR=/run/user/0 {bin} stop >/dev/null"
    );
    let out = in_fresh_run_user(&sb, "700", &script);
    out.ok();
    let status: serde_json::Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("not JSON ({e})\n{}", out.report()));
    let text = status.to_string();
    assert!(
        text.contains("/run/user/0/wandb-cred/daemon.sock"),
        "the job did not look in /run/user/0: {text}"
    );
    assert!(
        !out.stderr.contains("no daemon is running"),
        "{}",
        out.report()
    );
    // Open to others: not used (the temp folder instead).
    let out = in_fresh_run_user(
        &sb,
        "777",
        &format!("WANDB_CRED_NO_AUTOSTART=1 {bin} status --json"),
    );
    assert!(
        !out.stdout.contains("/run/user/0/wandb-cred"),
        "{}",
        out.report()
    );
}
