//! Jobs started without the login session's environment (cron, `env -i`, `sudo -u`,
//! Slurm `--export=NONE`) find the session's daemon (issue 23, item 3): with
//! `XDG_RUNTIME_DIR` unset, the client looks in logind's `/run/user/<uid>` when that
//! folder is the user's and private. Each test runs in a mount namespace of its own with
//! a tmpfs on `/run/user`, so the machine's own folder is never touched. Root-only.

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![[Need::OtherUser];
        a_job_without_xdg_runtime_dir_reaches_the_session_daemon,
    ]
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
