//! `login --verify` against a fake W&B server on 127.0.0.1: the exact request, and
//! every kind of answer. A key that fails is never stored and nothing stored is lost.

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox};
use crate::server::{FakeServer, Reply, closed_port_url};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    // Python's base64 is the oracle for the Authorization header.
    let mut all = trials![[Need::Python]; sends_the_sdk_request_byte_for_byte];
    all.extend(trials![
        shows_who_is_logged_in,
        a_host_name_is_resolved_by_the_static_binary,
        rejected_key_is_not_stored_and_nothing_is_lost,
        null_viewer_is_a_rejection,
        unreachable_server_is_a_clear_error,
        slow_server_is_bounded_by_the_timeout,
        without_verify_no_request_is_made,
        verify_checks_an_already_stored_key,
        a_server_that_is_not_wandb_is_named_and_nothing_is_stored,
    ]);
    all
}

const VIEWER: Reply = Reply::Viewer {
    username: "ann",
    entity: "ann-team",
    teams: &["vision", "nlp"],
};

const BODY: &str = r#"{"query":"\nquery Viewer {\n\tviewer {\n\t\tid\n\t\tentity\n\t\tusername\n\t\temail\n\t\tflags\n\t\tteams {\n\t\t\tedges {\n\t\t\t\tnode {\n\t\t\t\t\tname\n\t\t\t\t}\n\t\t\t}\n\t\t}\n\t}\n}\n","operationName":"Viewer"}"#;

pub fn basic(key: &str) -> String {
    let encoded = crate::harness::python(
        "import base64, sys; print(base64.b64encode(('api:' + sys.argv[1]).encode()).decode())",
        &[key],
    );
    format!("Basic {}", encoded.trim())
}

fn sends_the_sdk_request_byte_for_byte() {
    let server = FakeServer::start(VIEWER);
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&[
        "login",
        "--verify",
        "--host",
        &format!("{}/base/", server.url()),
        &key,
    ])
    .run()
    .ok();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/base/graphql")
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("authorization"), Some(basic(&key).as_str()));
    assert_eq!(String::from_utf8(r.body.clone()).unwrap(), BODY);
}

fn shows_who_is_logged_in() {
    let server = FakeServer::start(VIEWER);
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--verify", "--host", &server.url(), &key])
        .run()
        .ok()
        .stderr_has("as ann")
        .stderr_has("ann-team")
        .stderr_has("vision, nlp")
        .stderr_has("from the command line");
    assert!(sb.read(&sb.netrc()).unwrap().contains(&key));
}

/// The binaries are linked statically (ARCHITECTURE.md "How `get` is fast"): glibc's `files`
/// service, built in, still resolves `localhost` from /etc/hosts.
fn a_host_name_is_resolved_by_the_static_binary() {
    let server = FakeServer::start(VIEWER);
    let url = server.url().replace("127.0.0.1", "localhost");
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--verify", "--host", &url, &key])
        .run()
        .ok()
        .stderr_has("as ann");
    assert_eq!(server.requests().len(), 1);
}

fn rejected_key_is_not_stored_and_nothing_is_lost() {
    let good = FakeServer::start(VIEWER);
    let sb = Sandbox::new();
    let old = sb.key();
    sb.cmd(&["login", "--host", &good.url(), &old]).run().ok();
    let bad = FakeServer::start(Reply::Unauthorized);
    let before = sb.snapshot();
    let new = sb.key();
    sb.cmd(&["login", "--verify", "--host", &bad.url(), &new])
        .run()
        .fails(1)
        .stderr_has(&format!(
            "Failed to authenticate with {}: user is not logged in",
            bad.url()
        ));
    assert_eq!(sb.snapshot(), before);
    // Replacing an existing key for the same server: the old one survives a rejection.
    let sb2 = Sandbox::new();
    let kept = sb2.key();
    sb2.cmd(&["login", "--host", &bad.url(), &kept]).run().ok();
    let before = sb2.snapshot();
    let rejected = sb2.key();
    sb2.cmd(&["login", "--verify", "--relogin", &rejected])
        .run()
        .fails(1);
    assert_eq!(sb2.snapshot(), before);
    sb2.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{kept}\n"));
}

fn null_viewer_is_a_rejection() {
    let server = FakeServer::start(Reply::NullViewer);
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--verify", "--host", &server.url(), &key])
        .run()
        .fails(1)
        .stderr_has(&format!("Failed to authenticate with {}", server.url()));
    assert!(sb.snapshot().is_empty());
}

fn unreachable_server_is_a_clear_error() {
    let url = closed_port_url();
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--verify", "--host", &url, &key])
        .run()
        .fails(1)
        .stderr_has(&format!("cannot reach {url}/graphql"));
    assert!(sb.snapshot().is_empty());
}

fn slow_server_is_bounded_by_the_timeout() {
    let server = FakeServer::start(Reply::Silent);
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--verify", "--host", &server.url(), &key])
        .env("WANDB_HTTP_TIMEOUT", "0.5")
        .run()
        .fails(1)
        .stderr_has(&format!(
            "no answer from {}/graphql within 0.5 s",
            server.url()
        ));
    assert!(sb.snapshot().is_empty());
    sb.cmd(&["login", "--verify", "--host", &server.url(), &key])
        .env("WANDB_HTTP_TIMEOUT", "soon")
        .run()
        .fails(1)
        .stderr_has("WANDB_HTTP_TIMEOUT");
}

fn without_verify_no_request_is_made() {
    let server = FakeServer::start(VIEWER);
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--host", &server.url(), &key]).run().ok();
    assert!(server.requests().is_empty());
}

fn verify_checks_an_already_stored_key() {
    let server = FakeServer::start(VIEWER);
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--host", &server.url(), &key]).run().ok();
    sb.cmd(&["login", "--verify"])
        .run()
        .ok()
        .stderr_has("as ann")
        .stderr_has(&format!("{} (line 1)", sb.netrc().display()));
    assert_eq!(server.requests().len(), 1);
}

fn a_server_that_is_not_wandb_is_named_and_nothing_is_stored() {
    let server = FakeServer::start(Reply::NotWandb(501));
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--verify", "--host", &server.url(), &key])
        .run()
        .fails(1)
        .stderr_has(&format!(
            "unexpected answer from {}/graphql: HTTP 501",
            server.url()
        ))
        .stderr_has("is that a W&B server?")
        .stderr_has("the key was not stored, and nothing was changed");
    assert!(sb.snapshot().is_empty());
}
