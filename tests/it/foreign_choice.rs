//! The third attack review (issue 33, items 1 and 2): a settings file another user
//! left, or could edit, chooses neither the server nor the key nor the profile. The
//! victim is this test process (root) with a throwaway attacker; a group shared with the
//! attacker stands for a team's Unix group. Root-only (`Need::OtherUser`).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use libtest_mimic::Trial;

use crate::attack::Stage;
use crate::harness::{Need, Sandbox};
use crate::server::{FakeServer, Reply};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![the_security_page_says_what_the_third_review_tests_check];
    all.extend(trials![[Need::OtherUser, Need::KernelKeyring];
        another_users_entity_chooses_no_profile,
        a_file_a_group_could_change_is_not_yours,
    ]);
    all
}

/// The words the security page uses for what the third review's fixes defend, each
/// checked in the program's own output by a test (here, vault_attack.rs,
/// encrypted_rollback.rs, interrupted.rs).
const PROMISED: &[&str] = &[
    "members of group",
    "it is older than the store seen here",
    "has a user part",
    "a key in Vault is named by a server's host and port only",
    "removed PATH",
];

fn the_security_page_says_what_the_third_review_tests_check() {
    crate::doc_blocks::page_says("docs/concepts/security.md", PROMISED);
}

/// Every reader, run in `dir`, hands out `key` for `url`, and says once that it
/// ignored `what` in `settings`.
fn readers_hand_out(
    sb: &Sandbox,
    dir: &Path,
    (key, url): (&str, &str),
    what: &str,
    settings: &Path,
) {
    let said = format!("ignoring {what} in {}", settings.display());
    let out = sb.cmd(&["get"]).dir(dir).key_on_stdout().run();
    out.ok().stdout_is(&format!("{key}\n")).stderr_has(&said);
    let out = sb.cmd(&["get", "--env"]).dir(dir).key_on_stdout().run();
    out.ok()
        .stdout_has(&format!("WANDB_API_KEY={key}\n"))
        .stdout_has(&format!("WANDB_BASE_URL={url}\n"))
        .stderr_has(&said);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.report());
    sb.cmd(&["exec", "--", "sh", "-c", "echo $WANDB_API_KEY"])
        .dir(dir)
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"))
        .stderr_has(&said);
    let (protocol, host) = url.split_once("://").unwrap();
    sb.cmd(&["git-credential", "get"])
        .dir(dir)
        .stdin(&format!("protocol={protocol}\nhost={host}\n\n"))
        .key_on_stdout()
        .run()
        .ok()
        .stdout_has(&format!("password={key}\n"));
}

/// The victim has a personal key (the default) and the shared team's key (profile
/// `acme-shared`, whose entity the server named). A workspace settings file the
/// attacker left in a shared project folder says only `entity = acme-shared`. Failed
/// before the fix: every reader there handed out the team key, silently.
fn another_users_entity_chooses_no_profile() {
    let stage = Stage::new();
    let mut sb = Sandbox::new();
    sb.own_kernel_keyring();
    let (mine, team) = (sb.key(), sb.key());
    let server = FakeServer::start(Reply::EntityPerKey(vec![
        (mine.clone(), "victim".to_owned()),
        (team.clone(), "acme-shared".to_owned()),
    ]));
    // Each key's entity as the server says (`login --verify`); personal is the default.
    let url = server.url();
    for (profile, key) in [("personal", &mine), ("acme-shared", &team)] {
        sb.cmd(&[
            "login",
            "--verify",
            "--host",
            &url,
            "--profile",
            profile,
            key,
        ])
        .run()
        .ok();
    }
    let project = stage.attacker_dir("project", 0o755);
    let wandb = project.join("wandb");
    std::fs::create_dir(&wandb).unwrap();
    let settings = wandb.join("settings");
    std::fs::write(&settings, "[default]\nentity = acme-shared\n").unwrap();
    for path in [&wandb, &settings] {
        std::os::unix::fs::chown(path, Some(stage.uid), Some(stage.gid)).unwrap();
    }
    readers_hand_out(&sb, &project, (&mine, &url), "entity", &settings);
    sb.cmd(&["status"])
        .dir(&project)
        .run()
        .ok()
        .stdout_lacks("acme-shared");
}

/// A team folder: the victim's own settings file there, mode 0664 and in the team's
/// group (umask 002 in a setgid folder), which a group member changed; and one in a
/// folder the group may write to (no sticky bit). Failed before the fix: both counted as
/// the victim's, so the member chose the server (and with it where the key goes).
fn a_file_a_group_could_change_is_not_yours() {
    let stage = Stage::new();
    let mut sb = Sandbox::new();
    sb.own_kernel_keyring();
    let mine = sb.key();
    sb.cmd(&["login", &mine]).run().ok();
    let evil = "[default]\nbase_url = https://evil.example.com\n";
    // The file open to the group, in a folder only the victim may write to.
    let own = stage.base.path().join("own");
    std::fs::create_dir_all(own.join("wandb")).unwrap();
    let file = own.join("wandb/settings");
    std::fs::write(&file, evil).unwrap();
    std::os::unix::fs::chown(&file, None, Some(stage.gid)).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o664)).unwrap();
    // A 0644 file of the victim's, in a setgid folder the group may write to.
    let team = stage.base.path().join("team");
    std::fs::create_dir(&team).unwrap();
    std::os::unix::fs::chown(&team, None, Some(stage.gid)).unwrap();
    std::fs::set_permissions(&team, std::fs::Permissions::from_mode(0o2775)).unwrap();
    std::fs::create_dir(team.join("wandb")).unwrap();
    let in_team = team.join("wandb/settings");
    std::fs::write(&in_team, evil).unwrap();
    for (dir, settings) in [(&own, &file), (&team, &in_team)] {
        readers_hand_out(
            &sb,
            dir,
            (&mine, "https://api.wandb.ai"),
            "base_url",
            settings,
        );
        let out = sb.cmd(&["get", "--env"]).dir(dir).key_on_stdout().run();
        out.stderr_has("can change")
            .stderr_lacks("evil.example.com");
    }
    // wandb-cred's own configuration, open to the group the same way: ignored, said.
    let config = sb.home.join(".config/wandb-cred/config");
    sb.write(&config, "backend = netrc\n");
    std::os::unix::fs::chown(&config, None, Some(stage.gid)).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o664)).unwrap();
    sb.cmd(&["status"])
        .run()
        .ok()
        .stderr_has(&format!("ignoring {}: members of group", config.display()))
        .stdout_has("Backend:   kernel-keyring");
}
