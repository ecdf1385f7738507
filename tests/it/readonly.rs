//! A home folder on a read-only file system (a bind mount made read-only in a mount
//! namespace of the test's own, so that it holds for root too): errors name the file
//! the user knows and the folder, never wandb-cred's temporary file, and nothing changes.

use libtest_mimic::Trial;

use crate::harness::{BIN, Need, Sandbox};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![[Need::KernelKeyring]; a_read_only_home_is_named_as_such]
}

fn login_in(sb: &Sandbox, read_only: &str, key: &str) -> crate::harness::Outcome {
    let script = format!(
        "mount --bind '{read_only}' '{read_only}' && mount -o remount,bind,ro '{read_only}' && exec '{BIN}' login --backend netrc '{key}'"
    );
    sb.program(
        "unshare",
        &["--user", "--map-root-user", "--mount", "sh", "-c", &script],
    )
    .run()
}

fn a_read_only_home_is_named_as_such() {
    let mut sb = Sandbox::new();
    let key = sb.key();
    let home = sb.home.display().to_string();
    // wandb-cred's own lock folder is in the read-only home too.
    let out = login_in(&sb, &home, &key);
    out.fails(1)
        .stderr_has(&format!("cannot write {home}/.netrc: cannot create the folder {home}/.local/state/wandb-cred (Read-only file system"));
    // With the state folder elsewhere, the netrc's own folder is the one named.
    let state = sb.root.join("state");
    std::fs::create_dir_all(&state).unwrap();
    sb.set_env("XDG_STATE_HOME", state.to_str().unwrap());
    let out = login_in(&sb, &home, &key);
    out.fails(1)
        .stderr_has(&format!("cannot write {home}/.netrc"))
        .stderr_has(&format!("cannot create a new file in {home} ("));
    assert!(
        out.stderr.to_lowercase().contains("read-only"),
        "{}",
        out.report()
    );
    assert!(!out.stderr.contains(".tmp"), "{}", out.report());
    assert!(!sb.netrc().exists());
}
