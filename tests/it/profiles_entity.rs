//! Several keys for one server, named and chosen by who they belong to (issue 26, second
//! part): `login --verify` names a new key by its entity, a remote in `wandb-cred ssh`
//! gets the laptop's profile of the entity it works for, and a pinned old SDK is told
//! which profile's key it accepts.

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox, legacy_key};
use crate::keyring::{Keyring, Provider};
use crate::server::{FakeServer, Reply};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Keyring];
        login_verify_names_each_accounts_key_by_its_entity,
        a_legacy_and_a_v1_key_live_side_by_side,
    ];
    all.extend(trials![login_verify_into_netrc_keeps_the_one_unnamed_key]);
    all.extend(trials![[Need::Keyring, Need::Sshd, Need::OtherUser];
        a_remote_gets_the_profile_of_the_entity_it_works_for
    ]);
    all
}

/// A server that says `ann` owns one key and `acme-research` the other; a sandbox
/// with a private keychain; the two keys.
fn two_accounts() -> (Sandbox, Keyring, FakeServer, String, String) {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let (personal, work) = (sb.key(), sb.key());
    let server = FakeServer::start(Reply::EntityPerKey(vec![
        (personal.clone(), "ann".to_owned()),
        (work.clone(), "acme-research".to_owned()),
    ]));
    (sb, kr, server, personal, work)
}

fn get(sb: &Sandbox, host: &str, env: &[(&str, &str)]) -> String {
    let mut run = sb.cmd(&["get", "--host", host]).key_on_stdout();
    for (name, value) in env {
        run = run.env(name, value);
    }
    run.run().ok().stdout.trim().to_owned()
}

/// Without `--profile`, the server's answer names the key: a second account's key
/// becomes a second profile instead of replacing the first; the first is the default.
fn login_verify_names_each_accounts_key_by_its_entity() {
    let (sb, kr, server, personal, work) = two_accounts();
    let host = server.url();
    sb.cmd(&["login", "--host", &host, "--verify", &personal])
        .run()
        .ok()
        .stderr_has("The key belongs to ann: storing it as profile ann")
        .stderr_has("Profile ann is the default for 127.0.0.1:");
    sb.cmd(&["login", "--host", &host, "--verify", &work])
        .run()
        .ok()
        .stderr_has("storing it as profile acme-research");
    let account = |profile: &str| format!("{host}#{profile}");
    assert_eq!(
        kr.lookup(&account("ann")).as_deref(),
        Some(personal.as_str())
    );
    assert_eq!(
        kr.lookup(&account("acme-research")).as_deref(),
        Some(work.as_str())
    );
    assert_eq!(kr.lookup(&host), None, "an unnamed copy was stored");
    assert_eq!(get(&sb, &host, &[]), personal);
    assert_eq!(get(&sb, &host, &[("WANDB_ENTITY", "acme-research")]), work);
    let list = sb.cmd(&["list"]).run();
    list.ok()
        .stdout_has("(entity ann)")
        .stdout_has("(entity acme-research)");
    // The same account's key again goes to its profile, whatever the default is.
    sb.cmd(&["switch", "--host", &host, "acme-research"])
        .run()
        .ok();
    sb.cmd(&["login", "--host", &host, "--verify", "--relogin", &personal])
        .run()
        .ok()
        .stderr_has("storing it as profile ann");
    assert_eq!(get(&sb, &host, &[]), work);
    // A name given wins over the entity's.
    sb.cmd(&[
        "login",
        "--host",
        &host,
        "--verify",
        "--profile",
        "mine",
        &personal,
    ])
    .run()
    .ok()
    .stderr_lacks("The key belongs to");
    assert_eq!(
        kr.lookup(&account("mine")).as_deref(),
        Some(personal.as_str())
    );
}

/// netrc holds the SDK's one key per server: `login --verify` there stores it
/// unnamed, as the SDK reads it.
fn login_verify_into_netrc_keeps_the_one_unnamed_key() {
    let sb = Sandbox::new();
    let key = sb.key();
    let server = FakeServer::start(Reply::EntityPerKey(vec![(key.clone(), "ann".to_owned())]));
    let host = server.url();
    sb.cmd(&["login", "--host", &host, "--verify", &key])
        .run()
        .ok()
        .stderr_lacks("storing it as profile");
    let netrc = sb.read(&sb.netrc()).unwrap();
    assert!(netrc.contains(&key), "{netrc}");
    assert_eq!(get(&sb, &host, &[]), key);
}

/// A legacy 40-character key and a `wandb_v1_` key for the same server, two profiles;
/// for an SDK pinned below 0.22.3, which refuses the default's v1 key (and is too old
/// for the hook), `doctor` names the profile whose key it accepts, and that profile's
/// key is what the command it gives hands over.
fn a_legacy_and_a_v1_key_live_side_by_side() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let (v1, legacy) = (sb.key(), sb.secret(legacy_key()));
    sb.cmd(&["login", "--profile", "current", &v1]).run().ok();
    sb.cmd(&["login", "--profile", "legacy", &legacy])
        .run()
        .ok();
    let pinned = crate::doctor::python_with_sdk_version(&sb, "0.22.2");
    let fix = "`wandb-cred exec --profile legacy -- python train.py`";
    // With the hook set up there (which that SDK cannot use), and without; each a
    // warning, so doctor exits 1.
    sb.cmd(&["doctor", "--python", &pinned])
        .run()
        .fails(1)
        .stdout_has("wandb 0.22.2 in")
        .stdout_has(fix);
    sb.cmd(&["setup-python", "--python", &pinned]).run().ok();
    sb.cmd(&["doctor", "--python", &pinned])
        .run()
        .fails(1)
        .stdout_has("the wandb-cred hook supports wandb 0.24.1 and later")
        .stdout_has(fix);
    // What that command gives the SDK: the legacy key.
    let code = "import os; print(os.environ['WANDB_API_KEY'])";
    sb.cmd(&["exec", "--profile", "legacy", "--", &pinned, "-c", code])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{legacy}\n"));
    // Where it is the default, an SDK that old takes it straight away.
    sb.cmd(&["switch", "legacy"]).run().ok();
    sb.cmd(&["doctor", "--python", &pinned])
        .run()
        .fails(1)
        .stdout_has("start programs with `wandb-cred exec -- python train.py`");
}

/// Inside `wandb-cred ssh`, a remote command whose `WANDB_ENTITY` (or project
/// settings) names an entity gets the laptop's profile whose key the server said is
/// that entity's, though the remote has no record of it; else the laptop's default.
/// A real sshd on 127.0.0.1.
fn a_remote_gets_the_profile_of_the_entity_it_works_for() {
    let (sb, _kr, server, personal, work) = two_accounts();
    let host = server.url();
    for key in [&personal, &work] {
        sb.cmd(&["login", "--host", &host, "--verify", key])
            .run()
            .ok();
    }
    let sshd = crate::sshd::Sshd::start(&sb.root, "wandbcredremote12");
    let (options, destination) = (sshd.options(), sshd.destination());
    let remote = format!(
        "wandb-cred get --host {host}; echo ---; WANDB_ENTITY=acme-research wandb-cred get --host {host}; echo ---; WANDB_ENTITY=nobody wandb-cred get --host {host}"
    );
    sb.cmd(&crate::forward::ssh_args(&options, &destination, &remote))
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{personal}\n---\n{work}\n---\n{personal}\n"));
}
