//! The third attack review on the Vault store (issue 33, items 3 and 4): the address
//! check and the KV path. A real OpenBao dev server ([`crate::bao`]) and a hostile
//! fake server on 127.0.0.1 that records what reaches it.

use libtest_mimic::Trial;

use crate::bao::{Bao, ROOT, machine};
use crate::harness::{Need, Sandbox};
use crate::server::{FakeServer, Reply};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![a_user_part_in_the_address_never_hides_where_the_token_goes];
    all.extend(trials![[Need::Bao];
        a_server_url_reaches_no_other_path_of_the_vault,
    ]);
    all.extend(trials![[Need::OtherUser]; login_files_another_user_owns_are_refused_and_fifos_never_waited_on]);
    all
}

/// AppRole role and secret id files, the JWT file, `~/.vault-token` and `VAULT_CACERT`
/// owned by another user, and a FIFO in their place. Failed before the fix: each was
/// read and used silently, and the FIFO hung the command.
fn login_files_another_user_owns_are_refused_and_fifos_never_waited_on() {
    let stage = crate::attack::Stage::new();
    let server = FakeServer::start(Reply::NotWandb(404));
    let theirs = |name: &str, text: &str| {
        let path = stage.attacker_home().join(name);
        std::fs::write(&path, text).unwrap();
        std::os::unix::fs::chown(&path, Some(stage.uid), Some(stage.gid)).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let (role, secret) = (theirs("role-id", "role\n"), theirs("secret-id", "secret\n"));
    let jwt = theirs("jwt", "a.b.c\n");
    let ca = theirs(
        "ca.pem",
        "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
    );
    let refused = "another user could have written it";
    let vault = |sb: &mut Sandbox| {
        sb.set_env("WANDB_CRED_BACKEND", "vault");
        sb.set_env("VAULT_ADDR", &server.url());
    };
    let mut sb = Sandbox::new();
    vault(&mut sb);
    sb.set_env("WANDB_CRED_VAULT_ROLE_ID_FILE", &role);
    sb.set_env("WANDB_CRED_VAULT_SECRET_ID_FILE", &secret);
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has(&role)
        .stderr_has(refused);
    let mut sb = Sandbox::new();
    vault(&mut sb);
    sb.set_env("WANDB_CRED_VAULT_JWT_FILE", &jwt);
    sb.set_env("WANDB_CRED_VAULT_ROLE", "node");
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has(&jwt)
        .stderr_has(refused);
    let mut sb = Sandbox::new();
    vault(&mut sb);
    let token = sb.home.join(".vault-token");
    std::fs::write(&token, "s.theirs\n").unwrap();
    std::os::unix::fs::chown(&token, Some(stage.uid), Some(stage.gid)).unwrap();
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has(&token.display().to_string())
        .stderr_has(refused);
    let mut sb = Sandbox::new();
    vault(&mut sb);
    sb.set_env("VAULT_TOKEN", "s.mine");
    sb.set_env("VAULT_CACERT", &ca);
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has(&ca)
        .stderr_has(refused);
    // A FIFO where the secret id should be: refused at once, never read.
    let fifo = sb.root.join("secret-fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let mut sb = Sandbox::new();
    vault(&mut sb);
    sb.set_env("WANDB_CRED_VAULT_ROLE_ID_FILE", &fifo.display().to_string());
    sb.set_env(
        "WANDB_CRED_VAULT_SECRET_ID_FILE",
        &fifo.display().to_string(),
    );
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has("not a regular file");
    assert!(server.requests().is_empty(), "a login was attempted");
}

/// `http://[::1]@HOST`: the check read `::1`, the HTTP client connected to HOST and sent
/// the token there in clear. Failed before the fix: the server after the `@` received
/// the token. Here HOST is a recording server on 127.0.0.1.
fn a_user_part_in_the_address_never_hides_where_the_token_goes() {
    let server = FakeServer::start(Reply::NotWandb(404));
    let mut sb = Sandbox::new();
    sb.set_env("WANDB_CRED_BACKEND", "vault");
    let hostile = server.url().replace("http://", "http://[::1]@");
    sb.set_env("VAULT_ADDR", &hostile);
    let token = sb.secret("s.attacker-can-read-this-token".to_owned());
    sb.set_env("VAULT_TOKEN", &token);
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has("has a user part (before `@`)");
    assert!(
        server.requests().is_empty(),
        "a request reached the host after the @: {:?}",
        server
            .requests()
            .iter()
            .map(|r| &r.path)
            .collect::<Vec<_>>()
    );
}

/// The cloud's key, rotated once in Vault (version 2). A URL with a query and an empty
/// fragment, as a remote of `wandb-cred ssh` may send, read version 1 (the rotated-out
/// key); a path with `..` left the prefix behind a proxy that normalises paths. Failed
/// before the fix: `get --host 'https://api.wandb.ai/default?version=1#'` printed the
/// old key.
fn a_server_url_reaches_no_other_path_of_the_vault() {
    let root = Sandbox::new();
    let bao = Bao::start(&root.root);
    let admin = machine(&bao, ROOT);
    let (old, new) = (admin.key(), admin.key());
    admin.cmd(&["login", &old]).run().ok();
    bao.rotate_cloud_key(&new);
    let node = machine(&bao, ROOT);
    node.get_gives(&new);
    for url in [
        "https://api.wandb.ai/default?version=1#",
        "https://api.wandb.ai/../../other/wandb?",
        "https://wandb.example.com/team",
    ] {
        let out = node.cmd(&["get", "--host", url]).run();
        out.fails(1)
            .stderr_has("a key in Vault is named by a server's host and port only");
        assert!(!out.stdout.contains(&old) && !out.stdout.contains(&new));
    }
    node.cmd(&["get", "--profile", ".."])
        .run()
        .fails(1)
        .stderr_lacks(&old);
}
