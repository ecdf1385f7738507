//! Text from a server reaches no terminal raw (issue 33, item 13): a W&B server whose
//! viewer carries terminal escape sequences in its username, entity and team names,
//! and a Vault entry whose `server` field names another server. Every command that
//! shows them (`login --verify`, `whoami`, `list`, `uninstall`) prints them escaped or
//! not at all.

use libtest_mimic::Trial;

use crate::bao::{Bao, ROOT, machine};
use crate::harness::{Need, Sandbox};
use crate::server::{FakeServer, Reply};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![a_servers_escape_sequences_are_shown_escaped];
    all.extend(trials![[Need::Bao];
        a_teammates_vault_entry_for_another_server_steers_nothing,
    ]);
    all
}

const ESC: char = '\u{1b}';

/// Failed before the fix: the escape sequences (here one that retitles the terminal and
/// one that clears the screen) reached stderr and stdout as they were.
fn a_servers_escape_sequences_are_shown_escaped() {
    let server = FakeServer::start(Reply::Viewer {
        username: "ann\u{1b}]0;pwned\u{7}",
        entity: "ann\u{1b}[2J",
        teams: &["team\u{1b}[31mred"],
    });
    let sb = Sandbox::new();
    let key = sb.key();
    let url = server.url();
    for out in [
        sb.cmd(&["login", "--verify", "--host", &url, &key]).run(),
        sb.cmd(&["whoami"]).run(),
        sb.cmd(&["list"]).run(),
    ] {
        out.ok();
        assert!(
            !out.stdout.contains(ESC) && !out.stderr.contains(ESC),
            "{}",
            out.report()
        );
        assert!(
            format!("{}{}", out.stdout, out.stderr).contains("\\u{1b}"),
            "{}",
            out.report()
        );
    }
}

/// A teammate's entry at the cloud's path whose `server` field says
/// `https://github.com`: `list` skips it and `uninstall --remove-keys` neither removes
/// the victim's GitHub netrc entry nor the team's shared entries. Failed before the fix:
/// uninstall deleted the GitHub entry and soft-deleted the team's key.
fn a_teammates_vault_entry_for_another_server_steers_nothing() {
    let root = Sandbox::new();
    let bao = Bao::start(&root.root);
    let admin = machine(&bao, ROOT);
    let team = admin.key();
    admin.cmd(&["login", &team]).run().ok();
    bao.ok(&[
        "kv",
        "put",
        "-mount=secret",
        "wandb-cred/api.wandb.ai/github",
        "api_key=0123456789abcdef0123456789abcdef01234567",
        "server=https://github.com",
    ]);
    let victim = machine(&bao, ROOT);
    let github = "machine github.com\n  login octocat\n  password 0123456789abcdef0123456789abcdef01234567\n";
    victim.write(&victim.netrc(), github);
    victim.cmd(&["list"]).run().ok().stdout_lacks("github.com");
    victim
        .cmd(&["uninstall", "--remove-keys"])
        .run()
        .ok()
        .stderr_has("Left the team's key");
    assert_eq!(victim.read(&victim.netrc()).as_deref(), Some(github));
    assert_eq!(bao.cloud_key(), team);
}
