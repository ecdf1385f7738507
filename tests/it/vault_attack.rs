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
    all
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
