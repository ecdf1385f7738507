//! The encrypted store refuses to go back in time (issue 33, item 11): an older
//! `keys.age` put back by a restore, a sync tool or an NFS admin would bring back a key
//! that was rotated out or removed. The file carries a version inside its encrypted text,
//! and the highest seen is kept beside the state; an older one is refused, naming both,
//! on a fresh unlock and while unlocked, until `unlock --accept-older` takes it.

use libtest_mimic::Trial;

use crate::encrypted::{PASSPHRASE, store_file, store_sandbox, unlock};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![an_older_store_file_put_back_is_refused]
}

/// Failed before the fix: after the old file was put back, `get` handed out the key
/// that had been rotated out, while unlocked and after a fresh unlock alike.
fn an_older_store_file_put_back_is_refused() {
    let sb = store_sandbox();
    let (old, new) = (sb.key(), sb.key());
    unlock(&sb, PASSPHRASE).ok();
    sb.cmd(&["login", &old]).run().ok();
    let file = store_file(&sb);
    let backup = sb.root.join("keys.age.backup");
    std::fs::copy(&file, &backup).unwrap();
    sb.cmd(&["login", &new]).run().ok();
    sb.get_gives(&new);
    // Put back while unlocked: the daemon reads it again and refuses it.
    std::fs::copy(&backup, &file).unwrap();
    let out = sb.cmd(&["get"]).key_on_stdout().run();
    out.fails(1)
        .stderr_has("it is older than the store seen here")
        .stderr_has("version");
    assert!(!out.stdout.contains(&old), "{}", out.report());
    // A fresh unlock refuses it too, naming the versions and the way to take it.
    sb.cmd(&["lock"]).run().ok();
    unlock(&sb, PASSPHRASE)
        .fails(1)
        .stderr_has("version 3 was seen here")
        .stderr_has("--accept-older");
    sb.cmd(&["get"]).run().fails(1).stderr_lacks(&old);
    // Taken on purpose: it opens, and says what it brought back.
    sb.cmd(&["unlock", "-", "--accept-older"])
        .stdin(&format!("{PASSPHRASE}\n"))
        .run()
        .ok()
        .stderr_has("older");
    sb.get_gives(&old);
}
