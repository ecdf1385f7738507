//! Smaller truths (issue 25, item 5), each of which failed before: the fix for a missing
//! key names the `--host` it was asked for; a daemon that dies while `login` waits at
//! the prompt does not lose the key typed there; a running daemon never stores into the
//! kernel keyring for a command that opted out of it; `logout --cloud`; `setup-python`
//! into a user site says who else gets the hook; `login`'s hint to run `setup-python`
//! only where the hook is not active.

use std::path::Path;

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox, make_venv, stop_process};
use crate::keyring::{Keyring, Provider};
use crate::pty::Pty;
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![
        a_missing_key_for_another_server_names_that_host_in_the_fix,
        logout_cloud_removes_the_cloud_key_whatever_server_is_configured,
    ];
    all.extend(trials![[Need::Keyring];
        a_daemon_that_dies_at_the_prompt_does_not_lose_the_typed_key,
    ]);
    all.extend(trials![[Need::Keyring, Need::Python];
        login_suggests_setup_python_only_where_the_hook_is_not_active,
    ]);
    all.extend(
        trials![[Need::Python]; setup_python_into_the_user_site_says_who_else_gets_the_hook],
    );
    all.extend(trials![[Need::KernelKeyring];
        a_running_daemon_honours_the_kernel_keyring_opt_out,
    ]);
    all
}

const OTHER: &str = "https://wandb.example.com";

/// Before: "run `wandb-cred login` first", which logs in to the configured server; then
/// "run `wandb-cred login --host OTHER` first", which made OTHER the default server.
fn a_missing_key_for_another_server_names_that_host_in_the_fix() {
    let mut sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let fix = format!("run `WANDB_BASE_URL={OTHER} wandb-cred login` first");
    sb.cmd(&["get", "--host", OTHER])
        .run()
        .fails(1)
        .stderr_has(&fix);
    sb.cmd(&["exec", "--host", OTHER, "--", "true"])
        .run()
        .fails(1)
        .stderr_has(&fix);
    // The fix (the key on standard input here) leaves the default server as it was.
    sb.bin_dir();
    let other = sb.key();
    sb.program(
        "sh",
        &["-c", &format!("WANDB_BASE_URL={OTHER} wandb-cred login -")],
    )
    .stdin(&format!("{other}\n"))
    .run()
    .ok();
    sb.get_gives(&key);
    assert!(!sb.system_settings().exists(), "the default server moved");
    sb.cmd(&["get", "--host", OTHER])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{other}\n"));
    // The configured server's fix stays as it was.
    sb.cmd(&["logout"]).run().ok();
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has("run `wandb-cred login` first");
}

/// Before: `logout --cloud` was a usage error, and `logout` with another server
/// configured could not name the cloud but by its URL.
fn logout_cloud_removes_the_cloud_key_whatever_server_is_configured() {
    let sb = Sandbox::new();
    let cloud = sb.key();
    let other = sb.key();
    sb.cmd(&["login", &cloud]).run().ok();
    sb.cmd(&["login", "--host", OTHER, &other]).run().ok();
    sb.cmd(&["logout", "--cloud"])
        .run()
        .ok()
        .stderr_has("Removed the API key for api.wandb.ai");
    sb.cmd(&["get", "--host", "https://api.wandb.ai"])
        .run()
        .fails(1);
    sb.get_gives(&other);
    sb.cmd(&["logout", "--cloud", "--host", OTHER])
        .run()
        .fails(2);
}

/// Before: the daemon that answered when `login` started was the one asked to store
/// the key; once it had died, the typed key was lost with an error.
fn a_daemon_that_dies_at_the_prompt_does_not_lose_the_typed_key() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    let mut pty = Pty::spawn(sb.cmd(&["login"]).env("TERM", "xterm").command());
    pty.expect_from(0, "Paste your API key and hit enter: ");
    pty.wait_for_hidden_input();
    let daemon = sb.daemon_pid().expect("login started a daemon");
    stop_process(daemon);
    pty.type_line(&key);
    let (status, transcript) = pty.finish();
    assert!(status.success(), "{transcript}");
    assert!(
        transcript.contains("storing the key without it"),
        "{transcript}"
    );
    assert!(
        transcript.contains("Stored the API key for api.wandb.ai in the Secret Service"),
        "{transcript}"
    );
    sb.get_gives(&key);
}

/// Before: a command with WANDB_CRED_NO_KERNEL_KEYRING=1 asked the running daemon,
/// which put the key into the kernel keyring all the same.
fn a_running_daemon_honours_the_kernel_keyring_opt_out() {
    let mut sb = Sandbox::new();
    sb.own_kernel_keyring();
    let first = sb.key();
    sb.cmd(&["login", &first])
        .run()
        .ok()
        .stderr_has("in the kernel keyring");
    assert!(sb.daemon_pid().is_some());
    let second = sb.key();
    sb.cmd(&["login", &second])
        .env("WANDB_CRED_NO_KERNEL_KEYRING", "1")
        .run()
        .ok()
        .stderr_has("(plaintext;")
        .stderr_has("WANDB_CRED_NO_KERNEL_KEYRING");
    assert!(sb.read(&sb.netrc()).unwrap().contains(&second));
    assert_eq!(
        sb.keyctl(&["pipe", "%user:wandb-cred:https://api.wandb.ai"])
            .as_deref(),
        Some(first.as_str())
    );
}

/// Before: nothing said that a user site-packages hook reaches every Python of that
/// version outside a virtualenv.
fn setup_python_into_the_user_site_says_who_else_gets_the_hook() {
    let sb = Sandbox::new();
    let out = sb.cmd(&["setup-python", "--python", "python3"]).run();
    out.ok()
        .stderr_has("is your user site-packages: every Python 3.")
        .stderr_has("you run outside a virtualenv or conda env gets the hook too");
    let venv = sb.root.join("venv");
    let (python, _) = make_venv(Path::new("python3"), &venv);
    let inside = sb
        .cmd(&["setup-python", "--python", python.to_str().unwrap()])
        .run();
    assert!(
        !inside.stderr.contains("user site-packages"),
        "{}",
        inside.report()
    );
}

/// Before: every login into the keychain said "run `wandb-cred setup-python`", also
/// where the hook was already active for the Python in use.
fn login_suggests_setup_python_only_where_the_hook_is_not_active() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let (python, _) = make_venv(Path::new("python3"), &sb.root.join("venv"));
    crate::harness::activate_venv(&mut sb, &python);
    const HINT: &str = "run `wandb-cred setup-python` once per Python environment";
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok().stderr_has(HINT);
    sb.cmd(&["setup-python"]).run().ok();
    let again = sb.cmd(&["login", &sb.key()]).run();
    again.ok();
    assert!(!again.stderr.contains(HINT), "{}", again.report());
}
