//! `get`, `logout` and `status`: precedence, messages, masking, and no network.

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox};
use crate::server::{FakeServer, Reply};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![
        get_follows_the_documented_precedence,
        get_without_a_key_names_the_host,
        get_never_prompts,
        logout_removes_only_that_host,
        logout_with_nothing_stored_says_so,
        status_masks_the_key_and_names_every_source,
        status_makes_no_network_request,
        usage_errors_exit_2,
        an_unclosed_quote_in_netrc_is_named_everywhere,
        list_is_sorted_and_status_speaks_of_keys,
        status_says_each_problem_once_and_shows_the_rest,
    ];
    all.extend(trials![[Need::Python]; logout_keeps_other_bytes]);
    all
}

fn get_follows_the_documented_precedence() {
    let sb = Sandbox::new();
    let (env_key, settings_key, netrc_key) = (sb.key(), sb.key(), sb.key());
    let get = |sb: &Sandbox, env: Option<&str>| {
        let mut run = sb.cmd(&["get"]).key_on_stdout();
        if let Some(k) = env {
            run = run.env("WANDB_API_KEY", k);
        }
        run.run().ok().stdout.trim_end().to_owned()
    };
    sb.cmd(&["login", &netrc_key]).run().ok();
    assert_eq!(get(&sb, None), netrc_key);
    sb.write(
        &sb.system_settings(),
        &format!("[default]\napi_key = {settings_key}\n"),
    );
    assert_eq!(get(&sb, None), settings_key);
    assert_eq!(get(&sb, Some(&env_key)), env_key);
    // An empty variable counts as unset.
    assert_eq!(get(&sb, Some("")), settings_key);
    // Workspace settings win over system settings.
    let workspace_key = sb.key();
    sb.write(
        &sb.workspace_settings(),
        &format!("[default]\napi_key = {workspace_key}\n"),
    );
    assert_eq!(get(&sb, None), workspace_key);
}

fn get_without_a_key_names_the_host() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--host", "http://127.0.0.1:8765", &key])
        .run()
        .ok();
    sb.cmd(&["get", "--host", "https://wb.example.com:8443"])
        .run()
        .fails(1)
        .stderr_has("wb.example.com:8443")
        .stdout_is("");
    // The host remembered by login is the default for get.
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    sb.cmd(&["get", "--host", "http://127.0.0.1:8765/"])
        .key_on_stdout()
        .run()
        .ok();
}

fn get_never_prompts() {
    let sb = Sandbox::new();
    // Even with input available, get does not read a key from stdin.
    let key = sb.key();
    sb.cmd(&["get"]).stdin(&format!("{key}\n")).run().fails(1);
}

fn logout_removes_only_that_host() {
    let sb = Sandbox::new();
    let (a, b) = (sb.key(), sb.key());
    sb.cmd(&["login", "--host", "http://a.example", &a])
        .run()
        .ok();
    sb.cmd(&["login", "--host", "http://b.example", &b])
        .run()
        .ok();
    sb.cmd(&["logout", "--host", "http://a.example"])
        .run()
        .ok()
        .stderr_has("Removed the API key for a.example");
    sb.cmd(&["get", "--host", "http://a.example"])
        .run()
        .fails(1);
    sb.cmd(&["get", "--host", "http://b.example"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{b}\n"));
}

fn logout_keeps_other_bytes() {
    let sb = Sandbox::new();
    let key = sb.key();
    let others = "# mine\nmachine github.com login me password tok\n";
    sb.write(&sb.netrc(), others);
    sb.cmd(&["login", &key]).run().ok();
    sb.cmd(&["logout"]).run().ok();
    assert_eq!(sb.read(&sb.netrc()).unwrap(), others);
    assert_eq!(sb.python_netrc(&sb.netrc(), "api.wandb.ai"), None);
}

fn logout_with_nothing_stored_says_so() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["logout"])
        .run()
        .ok()
        .stderr_has("nothing to remove");
    assert!(!sb.netrc().exists());
    sb.cmd(&["logout"])
        .env("WANDB_API_KEY", &key)
        .run()
        .ok()
        .stderr_has("WANDB_API_KEY is still set");
}

fn status_masks_the_key_and_names_every_source() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--host", "http://127.0.0.1:8765", &key])
        .run()
        .ok();
    let out = sb.cmd(&["status"]).run();
    out.ok()
        .stdout_has("http://127.0.0.1:8765 (from ")
        .stdout_has(&sb.system_settings().display().to_string())
        .stdout_has(&sb.workspace_settings().display().to_string())
        .stdout_has("wandb_v1_****")
        .stdout_has(&format!("{} (line 1)", sb.netrc().display()))
        // No SDK that refuses wandb_v1_ keys is installed (hints.rs shows one that is).
        .stdout_lacks("0.22.2");
    let json = sb.cmd(&["status", "--json"]).run();
    json.ok();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["base_url"], "http://127.0.0.1:8765");
    assert_eq!(doc["base_url_source"], "settings");
    assert_eq!(doc["machine"], "127.0.0.1:8765");
    let masked = doc["api_key"]["masked"].as_str().unwrap();
    assert!(
        masked.starts_with("wandb_v1_****") && masked.len() == 17,
        "{masked}"
    );
    assert_eq!(doc["api_key"]["kind"], "wandb_v1");
    assert_eq!(doc["settings_files"][1]["exists"], true);
    let env = sb
        .cmd(&["status", "--json"])
        .env("WANDB_BASE_URL", "http://e.example")
        .run();
    let doc: serde_json::Value = serde_json::from_str(&env.ok().stdout).unwrap();
    assert_eq!(doc["base_url_source"], "env");
    assert!(doc["api_key"].is_null());
    // A broken key source is shown, and the command fails.
    sb.cmd(&["status"])
        .env("WANDB_API_KEY", "bad")
        .run()
        .fails(1)
        .stdout_has("API key:   error:");
}

fn status_makes_no_network_request() {
    let server = FakeServer::start(Reply::Unauthorized);
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--host", &server.url(), &key]).run().ok();
    sb.cmd(&["status"]).run().ok().stdout_has(&server.url());
    sb.cmd(&["get"]).key_on_stdout().run().ok();
    sb.cmd(&["logout"]).run().ok();
    assert_eq!(server.requests().len(), 0);
}

fn usage_errors_exit_2() {
    let sb = Sandbox::new();
    sb.cmd(&["login", "--no-such-flag"]).run().fails(2);
    sb.cmd(&["frobnicate"]).run().fails(2);
    sb.cmd(&[]).run().fails(2);
    // Prefixed like every message of ours, and no suggestion of a flag that is not there.
    let out = sb.cmd(&["status", "--verify"]).run();
    out.fails(2);
    assert!(
        out.stderr.starts_with("wandb-cred: error:"),
        "{}",
        out.report()
    );
    assert!(!out.stderr.contains("--version"), "{}", out.report());
    sb.cmd(&["--version"]).run().ok().stdout_has("wandb-cred ");
    // Shell completion offers the backends.
    sb.cmd(&["completions", "bash"])
        .run()
        .ok()
        .stdout_has("auto keychain kernel-keyring encrypted-file vault netrc");
    sb.cmd(&["--help"]).run().ok().stdout_has("login");
    sb.cmd(&["login", "--help"])
        .run()
        .ok()
        .stdout_has("--base-url")
        .stdout_has("--relogin")
        .stdout_has("--verify");
}

fn an_unclosed_quote_in_netrc_is_named_everywhere() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.write(
        &sb.netrc(),
        &format!("# mine\nmachine \"api.wandb.ai\n  login user\n  password {key}\n"),
    );
    let before = sb.snapshot();
    let swallowed = "line 2, opens a quote (\") that is never closed";
    let everything = "read everything after it as one word";
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has(&format!("{}, {swallowed}", sb.netrc().display()))
        .stderr_has(everything);
    let other = sb.key();
    sb.cmd(&["login", "--backend", "netrc", &other])
        .run()
        .fails(1)
        .stderr_has("a quote (\") that starts on line 2 is never closed")
        .stderr_has("reads everything after it as one word");
    assert_eq!(sb.snapshot(), before, "a failed login changed a file");
    sb.cmd(&["doctor"])
        .run()
        .stdout_has(&format!(
            "[warning] netrc      {}, {swallowed}",
            sb.netrc().display()
        ))
        .stdout_has(&format!(
            "fix: close or remove the quote on line 2 of {}",
            sb.netrc().display()
        ));
}

fn list_is_sorted_and_status_speaks_of_keys() {
    let sb = Sandbox::new();
    let mut text = String::new();
    for machine in ["zeta.example.com", "alpha.example.com", "127.0.0.1:8765"] {
        text.push_str(&format!(
            "machine {machine}\n  login user\n  password {}\n",
            sb.key()
        ));
    }
    sb.write(&sb.netrc(), &text);
    let out = sb.cmd(&["list"]).run();
    let servers: Vec<&str> = out
        .ok()
        .stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        servers,
        ["127.0.0.1:8765", "alpha.example.com", "zeta.example.com"]
    );
    let json = sb.cmd(&["status", "--json"]).run();
    let doc: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    assert!(doc["daemon"]["cached_keys"].is_number(), "{doc}");
    assert!(doc["daemon"].get("cached_hosts").is_none(), "{doc}");
}

fn status_says_each_problem_once_and_shows_the_rest() {
    let sb = Sandbox::new();
    // A broken key: once, in its line.
    let out = sb.cmd(&["status"]).env("WANDB_API_KEY", "garbage").run();
    out.fails(1);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(
        said.matches("API key must have 40+ characters").count(),
        1,
        "{}",
        out.report()
    );
    // A broken settings file: named with its line, and the rest is still shown.
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    sb.write(
        &sb.system_settings(),
        "[default]\nbase_url = http://a\nthis is not ini\n",
    );
    let out = sb.cmd(&["status"]).run();
    out.fails(1)
        .stdout_has(&format!(
            "Settings:  error: cannot read settings file {}, line 3",
            sb.system_settings().display()
        ))
        .stdout_has("Backend:   netrc")
        .stdout_has("API key:   wandb_v1_****");
    assert_eq!(out.stderr, "", "{}", out.report());
}
