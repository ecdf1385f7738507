//! `whoami` (issue 26, item 4): the server says who the key in use belongs to, through
//! the SDK's `viewer` query to a real HTTP server on 127.0.0.1; what it said is kept (no
//! key) and `list` shows the entity; `login --verify` keeps it too.

use libtest_mimic::Trial;

use crate::harness::Sandbox;
use crate::server::{FakeServer, Reply};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![
        whoami_asks_the_server_and_list_shows_the_entity,
        whoami_without_a_key_or_with_a_rejected_one_fails_clearly,
        login_verify_keeps_what_the_server_said_too,
    ]
}

fn whoami_asks_the_server_and_list_shows_the_entity() {
    let server = FakeServer::start(Reply::Viewer {
        username: "ann",
        entity: "ann-org",
        teams: &["vision", "nlp"],
    });
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--host", &server.url(), &key]).run().ok();
    let masked = format!("{}****{}", &key[..9], &key[key.len() - 4..]);
    sb.cmd(&["whoami"])
        .run()
        .ok()
        .stdout_has(&format!("Server:    {}\n", server.url()))
        .stdout_has("User:      ann\n")
        .stdout_has("Entity:    ann-org\n")
        .stdout_has("Teams:     vision, nlp\n")
        .stdout_has(&format!("API key:   {masked} from netrc file"));
    let json = sb.cmd(&["whoami", "--json"]).run();
    let doc: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    assert_eq!(doc["entity"], "ann-org");
    assert_eq!(doc["teams"], serde_json::json!(["vision", "nlp"]));
    // The key went to the server as the SDK sends it, and nowhere else.
    assert!(server.requests().iter().all(|r| r.path == "/graphql"));
    sb.cmd(&["list"])
        .run()
        .ok()
        .stdout_has(&format!("{masked}  "))
        .stdout_has("(entity ann-org)");
    let record = sb.home.join(".local/state/wandb-cred/identities.json");
    let text = sb.read(&record).unwrap();
    assert!(!text.contains(&key), "{text}");
    assert_eq!(crate::harness::mode(&record) & 0o077, 0);
}

fn whoami_without_a_key_or_with_a_rejected_one_fails_clearly() {
    let server = FakeServer::start(Reply::Unauthorized);
    let sb = Sandbox::new();
    sb.cmd(&["whoami", "--host", &server.url()])
        .run()
        .fails(1)
        .stderr_has("no API key for");
    let key = sb.key();
    sb.cmd(&["login", "--host", &server.url(), &key]).run().ok();
    sb.cmd(&["whoami"])
        .run()
        .fails(1)
        .stderr_has("Failed to authenticate with");
    assert!(
        !sb.home
            .join(".local/state/wandb-cred/identities.json")
            .exists()
    );
}

fn login_verify_keeps_what_the_server_said_too() {
    let server = FakeServer::start(Reply::Viewer {
        username: "bob",
        entity: "bob-lab",
        teams: &[],
    });
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--verify", "--host", &server.url(), &key])
        .run()
        .ok()
        .stderr_has("as bob");
    sb.cmd(&["list"]).run().ok().stdout_has("(entity bob-lab)");
}
