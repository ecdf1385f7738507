//! A netrc write killed before its rename (issue 33, item 12) leaves the whole new netrc
//! in a temporary file beside it (`..netrc.XXXXXX.tmp`, 0600). Nobody reported it, and
//! it stayed until the next netrc write. Now `status`, `doctor`, `migrate` and a starting
//! daemon remove it and say so. The orphan is planted as the writer names its files.

use libtest_mimic::Trial;

use crate::harness::Sandbox;
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![an_interrupted_netrc_write_leaves_no_plaintext_behind]
}

/// Failed before the fix: the orphan was still there after each command, and `doctor`
/// said "no plaintext W&B key".
fn an_interrupted_netrc_write_leaves_no_plaintext_behind() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--backend", "netrc", &key]).run().ok();
    sb.cmd(&["stop"]).run();
    let orphan = sb.home.join("..netrc.x7Qp2a.tmp");
    let unrelated = sb.home.join("..netrc.my-backup.tmp");
    sb.write(&unrelated, "mine\n");
    for command in [
        &["status"][..],
        &["doctor"],
        &["migrate", "--keep-netrc"],
        &["get"],
    ] {
        sb.write(
            &orphan,
            &format!("machine api.wandb.ai\n  login user\n  password {key}\n"),
        );
        let out = sb.cmd(command).key_on_stdout().run();
        assert!(
            !orphan.exists(),
            "{command:?} left the orphan\n{}",
            out.report()
        );
        if command != ["get"] {
            // `get` starts the daemon, which removes it and logs where.
            let said = format!("{}{}", out.stdout, out.stderr);
            assert!(
                said.contains(&format!("removed {}", orphan.display())),
                "{command:?} did not say so\n{}",
                out.report()
            );
        }
        sb.cmd(&["stop"]).run();
    }
    assert!(
        unrelated.exists(),
        "a file that is not the writer's was removed"
    );
}
