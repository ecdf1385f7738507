//! `wandb-cred uninstall` (issue 23, item 7): every integration undone (the hook in
//! each environment setup-python set up, git's helper entries, the daemon), nothing it
//! did not write touched, the keys' places named (or, with `--remove-keys`, emptied);
//! a second run changes nothing.

use std::path::Path;

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox, make_venv, snapshot};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![[Need::Git, Need::Python];
        uninstall_undoes_every_integration_and_only_those,
    ]
}

/// Failed before: there was no `uninstall` command (clap: unrecognized subcommand).
fn uninstall_undoes_every_integration_and_only_those() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let mut sites = Vec::new();
    for name in ["one", "two"] {
        let (python, site) = make_venv(Path::new("python3"), &sb.root.join(name));
        sb.cmd(&["setup-python", "--python", python.to_str().unwrap()])
            .run()
            .ok();
        assert!(site.join("_wandb_cred_hook").is_dir());
        sites.push(site);
    }
    sb.cmd(&["setup-git"]).run().ok();
    // A helper of someone else's, for another server: left alone.
    sb.program(
        "git",
        &[
            "config",
            "--global",
            "credential.https://example.com.helper",
            "store",
        ],
    )
    .run()
    .ok();
    let pid = sb.daemon_pid().expect("a daemon runs");
    let out = sb.cmd(&["uninstall"]).run();
    // Each site named once (it said "for SITE from SITE" before).
    out.ok()
        .stderr_has(&format!(
            "Removed the wandb-cred hook from {}.",
            sites[0].display()
        ))
        .stderr_has(&format!("Stopped the daemon (pid {pid})"))
        .stderr_has("remains in")
        .stderr_has("--remove-keys");
    for site in &sites {
        for name in [
            "_wandb_cred_hook",
            "wandb_cred_hook.pth",
            "wandb_cred_hook.start",
            "wandb_cred",
        ] {
            assert!(
                !site.join(name).exists(),
                "{} is still there",
                site.join(name).display()
            );
        }
    }
    let config = std::fs::read_to_string(sb.home.join(".gitconfig")).unwrap_or_default();
    assert!(!config.contains("wandb-cred"), "{config}");
    assert!(config.contains("helper = store"), "{config}");
    assert!(!crate::harness::alive(pid), "the daemon still runs");
    // The key is still there (only named), and a second run changes nothing.
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    sb.cmd(&["stop"]).run().ok();
    let before: Vec<_> = sites.iter().map(|s| snapshot(s)).collect();
    let home_before = std::fs::read(sb.home.join(".gitconfig")).unwrap();
    sb.cmd(&["uninstall"])
        .run()
        .ok()
        .stderr_has("nothing to undo");
    let after: Vec<_> = sites.iter().map(|s| snapshot(s)).collect();
    assert!(before == after, "a second uninstall changed site-packages");
    assert_eq!(
        std::fs::read(sb.home.join(".gitconfig")).unwrap(),
        home_before
    );
    // --remove-keys empties the stores.
    sb.cmd(&["uninstall", "--remove-keys"])
        .run()
        .ok()
        .stderr_has("Removed the API key for api.wandb.ai");
    sb.cmd(&["get"]).run().fails(1);
}
