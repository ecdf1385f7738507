//! The Vault store (issue 28) against a real OpenBao server ([`crate::bao`]): written
//! where `bao kv get` finds it, read on a second machine with only the address and a
//! token, rotations seen after the cache time, and every failure (revoked token, sealed
//! server, denied path, stopped or silent server) clear, bounded, and never a fall back
//! to plaintext. Logins and the manual's recipes: vault_auth.rs.

use std::time::{Duration, Instant};

use libtest_mimic::Trial;

use crate::bao::{Bao, ROOT, machine};
use crate::harness::{Need, Sandbox};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Bao];
        login_writes_where_bao_finds_it_and_another_machine_reads_it,
        migrate_moves_a_netrc_key_into_vault,
        a_rotation_in_vault_is_seen_after_the_cache_time,
        failures_are_clear_bounded_and_never_plaintext,
        a_read_only_team_policy_reads_and_cannot_write,
        a_shell_naming_another_vault_is_not_served_by_this_ones_daemon,
    ];
    all.extend(trials![[Need::Bao, Need::Sdk]; the_hook_gives_the_sdk_the_key_from_vault]);
    all.extend(trials![a_server_that_never_answers_is_bounded]);
    all
}

fn login_writes_where_bao_finds_it_and_another_machine_reads_it() {
    let laptop = Sandbox::new();
    let bao = Bao::start(&laptop.root);
    let admin = machine(&bao, ROOT);
    let key = admin.key();
    admin.cmd(&["login", &key]).run().ok().stderr_has(&format!(
        "Stored the API key for api.wandb.ai in Vault {} (secret/wandb-cred/api.wandb.ai/default)",
        bao.address
    ));
    assert_eq!(bao.cloud_key(), key);
    // A second machine: another home, only the address and a token.
    let node = machine(&bao, ROOT);
    node.get_gives(&key);
    node.cmd(&["list"])
        .run()
        .ok()
        .stdout_has("https://api.wandb.ai  vault");
    // exec hands it to the program; nothing lands in a file.
    node.cmd(&[
        "exec",
        "--",
        "sh",
        "-c",
        "test \"$WANDB_API_KEY\" = \"$1\" && echo same",
        "sh",
        &key,
    ])
    .run()
    .ok()
    .stdout_is("same\n");
    assert!(!node.netrc().exists() && !admin.netrc().exists());
    // A profile is a path of its own; logout removes one, and Vault keeps its version.
    let work = admin.key();
    admin.cmd(&["login", "--profile", "work", &work]).run().ok();
    bao.ok(&["kv", "get", "-mount=secret", "wandb-cred/api.wandb.ai/work"]);
    admin.cmd(&["logout", "--profile", "work"]).run().ok();
    node.cmd(&["get", "--profile", "work"]).run().fails(1);
    node.get_gives(&key);
}

fn a_rotation_in_vault_is_seen_after_the_cache_time() {
    let laptop = Sandbox::new();
    let bao = Bao::start(&laptop.root);
    let mut node = machine(&bao, ROOT);
    node.set_env("WANDB_CRED_VAULT_CACHE", "2s");
    let (old, new) = (node.key(), node.key());
    node.cmd(&["login", &old]).run().ok();
    node.get_gives(&old);
    bao.rotate_cloud_key(&new);
    // Served from the daemon's memory until the cache time passes, then the new one.
    let started = Instant::now();
    loop {
        let out = node.cmd(&["get"]).key_on_stdout().run();
        out.ok();
        if out.stdout.trim() == new {
            break;
        }
        assert_eq!(out.stdout.trim(), old);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the rotation was never seen"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // `reload` sees a rotation at once.
    let newer = node.key();
    bao.rotate_cloud_key(&newer);
    node.cmd(&["reload"]).run().ok();
    node.get_gives(&newer);
}

fn failures_are_clear_bounded_and_never_plaintext() {
    let laptop = Sandbox::new();
    let bao = Bao::start(&laptop.root);
    let admin = machine(&bao, ROOT);
    let key = admin.key();
    admin.cmd(&["login", &key]).run().ok();
    let path = "secret/wandb-cred/api.wandb.ai/default";
    // A token revoked.
    let token = bao.token_with("default");
    let mut node = machine(&bao, &token);
    node.set_env("WANDB_CRED_NO_DAEMON", "1");
    bao.ok(&["token", "revoke", &token]);
    node.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has(&format!("{}: {path}: permission denied", bao.address))
        .stderr_has("expired or was revoked");
    // A path the token's policy does not cover.
    let denied = machine(&bao, &bao.token_with("default"));
    denied
        .cmd(&["get"])
        .env("WANDB_CRED_NO_DAEMON", "1")
        .run()
        .fails(1)
        .stderr_has("permission denied");
    // A sealed server.
    bao.ok(&["operator", "seal"]);
    let sealed = machine(&bao, ROOT);
    sealed
        .cmd(&["get"])
        .env("WANDB_CRED_NO_DAEMON", "1")
        .run()
        .fails(1)
        .stderr_has("the server is sealed");
    sealed
        .cmd(&["login", &sealed.key()])
        .env("WANDB_CRED_NO_DAEMON", "1")
        .run()
        .fails(1)
        .stderr_has("sealed");
    // A stopped server: bounded by the timeout, and nothing written elsewhere.
    drop(bao);
    let gone = Sandbox::new();
    let mut gone_machine = gone;
    gone_machine.set_env("WANDB_CRED_BACKEND", "vault");
    gone_machine.set_env("VAULT_ADDR", "http://127.0.0.1:9");
    gone_machine.set_env("VAULT_TOKEN", "anything");
    gone_machine.set_env("WANDB_CRED_KEYCHAIN_TIMEOUT", "2s");
    gone_machine
        .cmd(&["login", &gone_machine.key()])
        .env("WANDB_CRED_NO_DAEMON", "1")
        .run()
        .fails(1)
        .stderr_has("http://127.0.0.1:9")
        .stderr_has("cannot reach the server");
    for sb in [&node, &denied, &sealed, &gone_machine] {
        assert!(!sb.netrc().exists(), "a netrc was written");
    }
    // Plain http to another machine is refused before anything is sent.
    gone_machine
        .cmd(&["get"])
        .env("VAULT_ADDR", "http://vault.example.com:8200")
        .env("WANDB_CRED_NO_DAEMON", "1")
        .run()
        .fails(1)
        .stderr_has("plain http to another machine");
}

/// The manual's policy for a team: its members read the team's keys, and cannot
/// change them.
fn a_read_only_team_policy_reads_and_cannot_write() {
    let laptop = Sandbox::new();
    let bao = Bao::start(&laptop.root);
    let policy = crate::doc_blocks::recipe("vault-policy");
    let out = bao.bao_as(
        ROOT,
        &["policy", "write", "wandb-readers", "-"],
        Some(&policy),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin = machine(&bao, ROOT);
    let key = admin.key();
    admin.cmd(&["login", &key]).run().ok();
    let member = machine(&bao, &bao.token_with("wandb-readers"));
    member.get_gives(&key);
    member
        .cmd(&["login", &member.key()])
        .env("WANDB_CRED_NO_DAEMON", "1")
        .run()
        .fails(1)
        .stderr_has("permission denied");
    member.get_gives(&key);
    // doctor writes no throwaway item into the team's Vault.
    let out = member.cmd(&["doctor"]).run();
    assert!(!out.stdout.contains("throwaway"), "{}", out.report());
    out.stdout_has("[ok]      key        wandb_v1_");
    assert!(
        !bao.ok(&["kv", "list", "-mount=secret", "wandb-cred"])
            .contains("invalid")
    );
}

fn migrate_moves_a_netrc_key_into_vault() {
    let laptop = Sandbox::new();
    let bao = Bao::start(&laptop.root);
    let node = machine(&bao, ROOT);
    let key = node.key();
    node.write(
        &node.netrc(),
        &format!("machine api.wandb.ai\n  login user\n  password {key}\n"),
    );
    node.cmd(&["migrate"])
        .run()
        .ok()
        .stderr_has("stored in Vault");
    assert_eq!(bao.cloud_key(), key);
    assert!(!node.read(&node.netrc()).unwrap_or_default().contains(&key));
}

/// The real SDK 0.31 through the hook gets the key from Vault; no netrc is written.
fn the_hook_gives_the_sdk_the_key_from_vault() {
    let laptop = Sandbox::new();
    let bao = Bao::start(&laptop.root);
    let mut node = machine(&bao, ROOT);
    let key = node.key();
    node.cmd(&["login", &key]).run().ok();
    crate::harness::activate_sdk_venv(&mut node);
    node.cmd(&["setup-python"]).run().ok();
    let read = "from wandb.sdk.lib.wbauth import wbnetrc\nprint(wbnetrc.read_netrc_auth(host='https://api.wandb.ai'))";
    node.program("python", &["-c", read])
        .env("WANDB_SILENT", "true")
        .key_on_stdout()
        .run()
        .ok()
        .stdout_has(&key);
    assert!(!node.netrc().exists(), "the SDK wrote a netrc");
}

/// A server that accepts the connection and never answers: the command fails within
/// its bound (WANDB_CRED_KEYCHAIN_TIMEOUT), naming the address.
fn a_server_that_never_answers_is_bounded() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", silent.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in silent.incoming().take(4).flatten() {
            open.push(stream);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let mut sb = Sandbox::new();
    sb.set_env("WANDB_CRED_BACKEND", "vault");
    sb.set_env("VAULT_ADDR", &address);
    sb.set_env("VAULT_TOKEN", "anything");
    sb.cmd(&["get"])
        .env("WANDB_CRED_NO_DAEMON", "1")
        .env("WANDB_CRED_KEYCHAIN_TIMEOUT", "1s")
        .run()
        .fails(1)
        .stderr_has(&address)
        .stderr_has("did not answer within 1 s");
    assert!(!sb.netrc().exists());
}

/// Two Vaults (say, two teams'): a shell whose VAULT_ADDR names the second is never
/// answered by the daemon started for the first.
fn a_shell_naming_another_vault_is_not_served_by_this_ones_daemon() {
    let laptop = Sandbox::new();
    let (one, two) = (
        Bao::start(&laptop.root.join("one")),
        Bao::start(&laptop.root.join("two")),
    );
    let sb = machine(&one, ROOT);
    let (first, second) = (sb.key(), sb.key());
    sb.cmd(&["login", &first]).run().ok();
    sb.cmd(&["login", &second])
        .env("VAULT_ADDR", &two.address)
        .run()
        .ok();
    for _ in 0..2 {
        sb.get_gives(&first);
        sb.cmd(&["get"])
            .env("VAULT_ADDR", &two.address)
            .key_on_stdout()
            .run()
            .ok()
            .stdout_is(&format!("{second}\n"));
    }
    assert_eq!(one.cloud_key(), first);
    assert_eq!(two.cloud_key(), second);
}
