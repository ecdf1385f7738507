//! Keys in a real Secret Service (gnome-keyring on a private D-Bus): where `login`
//! stores, how every reader finds keys, the fallbacks and the refusals.

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox};
use crate::keyring::{Keyring, Provider};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Keyring];
        login_stores_in_the_keychain_and_in_no_file,
        keychain_precedence_for_every_reader,
        two_hosts_live_side_by_side,
        logout_clears_keychain_and_netrc,
        login_into_the_keychain_drops_the_plaintext_copy,
        migrate_moves_sdk_entries_and_keeps_the_rest,
        migrate_keep_netrc_and_single_host,
        migrate_never_overwrites_a_different_keychain_key,
        bus_without_provider_falls_back_to_netrc,
        no_default_collection_falls_back_to_netrc,
        locked_collection_is_an_error_and_writes_nothing,
        unresponsive_keychain_is_bounded_by_the_timeout,
        netrc_backend_never_touches_the_keychain,
        status_names_the_backend_and_why,
        a_plaintext_copy_gets_the_command_that_removes_it,
        the_callers_keychain_bound_holds_in_the_daemon,
        relogin_on_a_locked_keychain_asks_for_nothing,
        locking_the_keychain_locks_the_cached_keys,
        faults_mid_run_fail_fast_and_never_fall_back_to_plaintext,
    ];
    all.extend(trials![
        no_bus_falls_back_to_netrc_and_says_why,
        keychain_backend_without_keychain_is_an_error,
        migrate_without_keychain_is_an_error,
        bad_backend_value_is_a_usage_error,
    ]);
    all
}

const CLOUD: &str = "https://api.wandb.ai";

/// Every byte under the sandbox, to show a key is in no file.
fn assert_in_no_file(sb: &Sandbox, key: &str) {
    for (path, bytes) in sb.snapshot() {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(key), "the key is in {}", path.display());
    }
}

fn login_stores_in_the_keychain_and_in_no_file() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    sb.cmd(&["login", &key])
        .run()
        .ok()
        .stderr_has("Stored the API key for api.wandb.ai in the Secret Service (service wandb, account https://api.wandb.ai)")
        .stderr_has("run `wandb-cred setup-python` once per Python environment");
    // login's last word names the way programs get the key.
    let out = sb
        .cmd(&["login", "--host", "https://wb.example.com", &key])
        .run();
    let last = out
        .ok()
        .stderr
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    assert!(
        last.contains("`wandb-cred exec -- python train.py`"),
        "{}",
        out.report()
    );
    assert_eq!(kr.lookup(CLOUD).as_deref(), Some(key.as_str()));
    assert!(!sb.netrc().exists());
    assert_in_no_file(&sb, &key);
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
}

fn keychain_precedence_for_every_reader() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let (chain, settings, netrc, env) = (sb.key(), sb.key(), sb.key(), sb.key());
    sb.write(
        &sb.netrc(),
        &format!("machine api.wandb.ai\n  login user\n  password {netrc}\n"),
    );
    sb.write(
        &sb.system_settings(),
        &format!("[default]\napi_key = {settings}\n"),
    );
    kr.store(CLOUD, &chain);
    let get = |env_key: Option<&str>| {
        let mut run = sb.cmd(&["get"]).key_on_stdout();
        if let Some(k) = env_key {
            run = run.env("WANDB_API_KEY", k);
        }
        run.run().ok().stdout.trim_end().to_owned()
    };
    assert_eq!(get(None), chain);
    assert_eq!(get(Some(&env)), env);
    sb.cmd(&["status"])
        .run()
        .ok()
        .stdout_has("from the Secret Service (service wandb, account https://api.wandb.ai)");
    sb.cmd(&["login"])
        .run()
        .ok()
        .stderr_has("Already logged in")
        .stderr_has("Secret Service");
    kr.secret_tool(&["clear", "service", "wandb", "username", CLOUD], None)
        .unwrap();
    // The daemon serves its cached copy until told to look again.
    assert_eq!(get(None), chain);
    sb.cmd(&["reload"])
        .run()
        .ok()
        .stderr_has("Dropped cached keys");
    assert_eq!(get(None), settings);
    std::fs::remove_file(sb.system_settings()).unwrap();
    assert_eq!(get(None), netrc);
}

fn two_hosts_live_side_by_side() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let (cloud, local) = (sb.key(), sb.key());
    sb.cmd(&["login", "--cloud", &cloud]).run().ok();
    sb.cmd(&["login", "--host", "http://127.0.0.1:8080/", &local])
        .run()
        .ok();
    assert_eq!(kr.lookup(CLOUD).as_deref(), Some(cloud.as_str()));
    assert_eq!(
        kr.lookup("http://127.0.0.1:8080").as_deref(),
        Some(local.as_str())
    );
    sb.cmd(&["get", "--cloud-is-not-a-flag"]).run().fails(2);
    sb.cmd(&["get", "--host", CLOUD])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{cloud}\n"));
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{local}\n"));
    assert_in_no_file(&sb, &cloud);
    assert_in_no_file(&sb, &local);
    let list = sb.cmd(&["list", "--json"]).run();
    let items: serde_json::Value = serde_json::from_str(&list.ok().stdout).unwrap();
    let mut servers: Vec<(String, String)> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["server"].as_str().unwrap().to_owned(),
                i["store"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    servers.sort();
    assert_eq!(
        servers,
        vec![
            ("http://127.0.0.1:8080".to_owned(), "keychain".to_owned()),
            (CLOUD.to_owned(), "keychain".to_owned())
        ]
    );
    assert!(items.to_string().contains("wandb_v1_****"));
}

fn logout_clears_keychain_and_netrc() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let (key, old) = (sb.key(), sb.key());
    sb.cmd(&["login", &key]).run().ok();
    // A copy another tool left in netrc, for the same server.
    sb.write(&sb.netrc(), &format!("machine github.com password tok\nmachine api.wandb.ai\n  login user\n  password {old}\n"));
    sb.cmd(&["logout"])
        .run()
        .ok()
        .stderr_has("Removed the API key for api.wandb.ai from the Secret Service")
        .stderr_has(&format!(
            "Removed the API key for api.wandb.ai from netrc file {}",
            sb.netrc().display()
        ));
    assert_eq!(kr.lookup(CLOUD), None);
    assert_eq!(
        sb.read(&sb.netrc()).unwrap(),
        "machine github.com password tok\n"
    );
    sb.cmd(&["logout"])
        .run()
        .ok()
        .stderr_has("nothing to remove")
        .stderr_has("Secret Service");
    sb.cmd(&["get"]).run().fails(1);
}

fn login_into_the_keychain_drops_the_plaintext_copy() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let (old, new) = (sb.key(), sb.key());
    sb.write(&sb.netrc(), &format!("# mine\nmachine api.wandb.ai\n  login user\n  password {old}\nmachine other password x\n"));
    sb.cmd(&["login", &new])
        .run()
        .ok()
        .stderr_has("Removed the old plaintext key for api.wandb.ai");
    assert_eq!(
        sb.read(&sb.netrc()).unwrap(),
        "# mine\nmachine other password x\n"
    );
    assert_eq!(kr.lookup(CLOUD).as_deref(), Some(new.as_str()));
}

fn migrate_moves_sdk_entries_and_keeps_the_rest() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let (cloud, local, unknown) = (sb.key(), sb.key(), sb.key());
    sb.write(
        &sb.system_settings(),
        "[default]\nbase_url = http://127.0.0.1:8765\n",
    );
    sb.write(
        &sb.netrc(),
        &format!(
            "machine api.wandb.ai\n  login user\n  password {cloud}\n# keep\nmachine github.com login me password tok\nmachine 127.0.0.1:8765\n  login user\n  password {local}\nmachine wb.example.com\n  login user\n  password {unknown}\n"
        ),
    );
    sb.cmd(&["migrate", "--all"])
        .run()
        .ok()
        .stderr_has("api.wandb.ai: stored in the keychain as https://api.wandb.ai and read back.")
        .stderr_has("127.0.0.1:8765: stored in the keychain as http://127.0.0.1:8765 and read back. Removed from")
        .stderr_has("skipped wb.example.com");
    assert_eq!(kr.lookup(CLOUD).as_deref(), Some(cloud.as_str()));
    assert_eq!(
        kr.lookup("http://127.0.0.1:8765").as_deref(),
        Some(local.as_str())
    );
    assert_eq!(
        sb.read(&sb.netrc()).unwrap(),
        format!(
            "# keep\nmachine github.com login me password tok\nmachine wb.example.com\n  login user\n  password {unknown}\n"
        )
    );
    // The skipped one moves when its URL is named.
    sb.cmd(&["migrate", "--host", "https://wb.example.com"])
        .run()
        .ok();
    assert_eq!(
        kr.lookup("https://wb.example.com").as_deref(),
        Some(unknown.as_str())
    );
    assert_eq!(
        sb.read(&sb.netrc()).unwrap(),
        "# keep\nmachine github.com login me password tok\n"
    );
    sb.cmd(&["migrate", "--all"])
        .run()
        .ok()
        .stderr_has("No W&B keys");
}

fn migrate_keep_netrc_and_single_host() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    let text = format!("machine api.wandb.ai\n  login user\n  password {key}\n");
    sb.write(&sb.netrc(), &text);
    sb.cmd(&["migrate", "--keep-netrc"])
        .run()
        .ok()
        .stderr_has("--keep-netrc");
    assert_eq!(sb.read(&sb.netrc()).unwrap(), text);
    assert_eq!(kr.lookup(CLOUD).as_deref(), Some(key.as_str()));
    sb.cmd(&["migrate"])
        .run()
        .ok()
        .stderr_has("already holds this key");
    assert_eq!(sb.read(&sb.netrc()).unwrap(), "");
    sb.cmd(&["migrate", "--all", "--host", CLOUD])
        .run()
        .fails(2);
}

fn migrate_never_overwrites_a_different_keychain_key() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let (in_chain, in_netrc) = (sb.key(), sb.key());
    kr.store(CLOUD, &in_chain);
    let text = format!("machine api.wandb.ai\n  login user\n  password {in_netrc}\n");
    sb.write(&sb.netrc(), &text);
    sb.cmd(&["migrate"])
        .run()
        .fails(1)
        .stderr_has("already holds a different key");
    assert_eq!(sb.read(&sb.netrc()).unwrap(), text);
    assert_eq!(kr.lookup(CLOUD).as_deref(), Some(in_chain.as_str()));
}

fn no_bus_falls_back_to_netrc_and_says_why() {
    // The sandbox's runtime folder has no bus socket in it.
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", &key])
        .run()
        .ok()
        .stderr_has("(plaintext; no keychain: no desktop keyring session (no D-Bus session bus)");
    assert!(sb.read(&sb.netrc()).unwrap().contains(&key));
    let out = sb.cmd(&["status"]).run();
    out.ok()
        .stdout_has(
            "Backend:   netrc: plaintext file (auto: no keychain: no desktop keyring session",
        )
        .stdout_has("no D-Bus session bus");
    // Said in words, once: not the bus library's socket path and errno.
    let login = sb.cmd(&["login", "--relogin", &key]).run();
    for out in [&out.stdout, &login.stderr] {
        assert!(!out.contains("Failed to connect"), "{out}");
        assert!(!out.contains("os error"), "{out}");
    }
}

fn bus_without_provider_falls_back_to_netrc() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::None);
    let key = sb.key();
    sb.cmd(&["login", &key])
        .run()
        .ok()
        .stderr_has("(plaintext; no keychain: no Secret Service provider on the session bus; the kernel keyring is turned off (WANDB_CRED_NO_KERNEL_KEYRING))");
    assert!(sb.read(&sb.netrc()).unwrap().contains(&key));
}

fn no_default_collection_falls_back_to_netrc() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::NoDefaultCollection);
    let key = sb.key();
    sb.cmd(&["login", &key])
        .run()
        .ok()
        .stderr_has("(plaintext; no keychain: the Secret Service has no default collection; the kernel keyring is turned off");
    assert!(sb.read(&sb.netrc()).unwrap().contains(&key));
    sb.cmd(&["status", "--backend", "keychain"])
        .run()
        .fails(1)
        .stdout_has("no keychain is available: the Secret Service has no default collection");
}

fn locked_collection_is_an_error_and_writes_nothing() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Locked);
    let key = sb.key();
    let before = sb.snapshot();
    sb.cmd(&["login", &key])
        .run()
        .fails(1)
        .stderr_has("the keychain is locked")
        .stderr_has("Unlock it")
        .stderr_has("`wandb-cred config backend encrypted-file`")
        .stderr_lacks("netrc");
    assert_eq!(sb.snapshot(), before);
    sb.cmd(&["get"]).run().fails(1).stderr_has("locked");
    sb.cmd(&["status"])
        .run()
        .fails(1)
        .stdout_has("Backend:   error: the keychain is locked");
    // The way out the hint names works.
    sb.cmd(&["login", "--backend", "netrc", &key]).run().ok();
    assert!(sb.read(&sb.netrc()).unwrap().contains(&key));
    drop(kr);
}

fn unresponsive_keychain_is_bounded_by_the_timeout() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    kr.freeze();
    let key = sb.key();
    let before = sb.snapshot();
    sb.cmd(&["login", &key])
        .env("WANDB_CRED_KEYCHAIN_TIMEOUT", "300ms")
        .run()
        .fails(1)
        .stderr_has("the keychain did not answer within 0.3 s");
    assert_eq!(sb.snapshot(), before);
    // The daemon is asked once: the fast path reports its timeout itself rather than
    // handing `get` to the full program, which would wait the timeout out again.
    let log = sb.daemon_dir().join("daemon.log");
    let timeouts = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("kind=Timeout")
            .count()
    };
    let before = timeouts();
    sb.cmd(&["get"])
        .env("WANDB_CRED_KEYCHAIN_TIMEOUT", "300ms")
        .run()
        .fails(1)
        .stderr_has("the keychain did not answer within 0.3 s");
    assert_eq!(
        timeouts(),
        before + 1,
        "the daemon was asked more than once"
    );
    sb.cmd(&["get"])
        .env("WANDB_CRED_KEYCHAIN_TIMEOUT", "never")
        .run()
        .fails(1)
        .stderr_has("WANDB_CRED_KEYCHAIN_TIMEOUT");
}

fn keychain_backend_without_keychain_is_an_error() {
    // The sandbox's runtime folder has no bus socket in it.
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--backend", "keychain", &key])
        .run()
        .fails(1)
        .stderr_has("no keychain is available: no desktop keyring session (no D-Bus session bus)");
    sb.cmd(&["login", &key])
        .env("WANDB_CRED_BACKEND", "keychain")
        .run()
        .fails(1);
    assert!(sb.snapshot().is_empty());
}

fn migrate_without_keychain_is_an_error() {
    let sb = Sandbox::new();
    let key = sb.key();
    let text = format!("machine api.wandb.ai\n  login user\n  password {key}\n");
    sb.write(&sb.netrc(), &text);
    sb.cmd(&["migrate", "--all"])
        .run()
        .fails(1)
        .stderr_has("there is no keychain to move keys into");
    assert_eq!(sb.read(&sb.netrc()).unwrap(), text);
}

fn netrc_backend_never_touches_the_keychain() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let (in_chain, key) = (sb.key(), sb.key());
    kr.store(CLOUD, &in_chain);
    sb.set_env("WANDB_CRED_BACKEND", "netrc");
    sb.cmd(&["login", &key])
        .run()
        .ok()
        .stderr_has("(plaintext; chosen with --backend netrc)");
    sb.cmd(&["status"])
        .run()
        .ok()
        .stdout_has("Backend:   netrc: plaintext file (chosen with --backend netrc)");
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    assert_eq!(kr.lookup(CLOUD).as_deref(), Some(in_chain.as_str()));
}

fn status_names_the_backend_and_why() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let (key, stale) = (sb.key(), sb.key());
    sb.cmd(&["login", &key]).run().ok();
    sb.write(
        &sb.netrc(),
        &format!("machine api.wandb.ai\n  login user\n  password {stale}\n"),
    );
    sb.cmd(&["status"])
        .run()
        .ok()
        .stdout_has(
            "Backend:   keychain: the Secret Service (service wandb) (auto: unlocked and ready)",
        )
        .stdout_has("API key:   wandb_v1_****")
        .stdout_has(" from the Secret Service")
        .stdout_has("still in");
    let json = sb.cmd(&["status", "--json"]).run();
    let doc: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    assert_eq!(doc["backend"]["name"], "keychain");
    assert_eq!(doc["backend"]["choice"], "auto");
}

fn bad_backend_value_is_a_usage_error() {
    let sb = Sandbox::new();
    sb.cmd(&["status", "--backend", "keepass"])
        .run()
        .fails(2)
        .stderr_has("auto, keychain, kernel-keyring, encrypted-file, vault or netrc");
    sb.cmd(&["status"])
        .env("WANDB_CRED_BACKEND", "keepass")
        .run()
        .fails(2);
}

/// With the daemon running on a working keychain: the keychain stops answering, is
/// killed, is locked. Each time the calls that need it fail within the timeout with a
/// clear message, nothing is written in plaintext, and the daemon serves again once the
/// keychain is back.
fn faults_mid_run_fail_fast_and_never_fall_back_to_plaintext() {
    let mut sb = Sandbox::new();
    let mut kr = Keyring::start(&mut sb, Provider::Unlocked);
    sb.set_env("WANDB_CRED_KEYCHAIN_TIMEOUT", "500ms");
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let get = |sb: &Sandbox| {
        sb.cmd(&["get", "--host", CLOUD])
            .key_on_stdout()
            .run()
            .ok()
            .stdout_is(&format!("{key}\n"));
    };
    get(&sb);
    let attempt = |sb: &Sandbox, n: u32| {
        let other = sb.key();
        let host = format!("https://fault{n}.example");
        let out = sb.cmd(&["login", "--host", &host, &other]).run();
        out.fails(1);
        assert!(
            !sb.netrc().exists(),
            "a key went to plaintext\n{}",
            out.report()
        );
        out.stderr
    };
    // Hangs: bounded by the timeout.
    kr.freeze();
    let said = attempt(&sb, 1);
    assert!(said.contains("did not answer within 0.5 s"), "{said}");
    get(&sb); // served from the daemon's memory meanwhile
    kr.thaw();
    let fresh = sb.key();
    sb.cmd(&["login", "--host", "https://back1.example", &fresh])
        .run()
        .ok();
    assert_eq!(
        kr.lookup("https://back1.example").as_deref(),
        Some(fresh.as_str())
    );
    // Killed: an error, not a switch to netrc.
    kr.kill();
    let said = attempt(&sb, 2);
    assert!(said.contains("keychain"), "{said}");
    kr.restart();
    let fresh = sb.key();
    sb.cmd(&["login", "--host", "https://back2.example", &fresh])
        .run()
        .ok();
    assert_eq!(
        kr.lookup("https://back2.example").as_deref(),
        Some(fresh.as_str())
    );
    // Locked: said so, with the way out; and its keys are no longer handed out from the
    // daemon's memory either (see locking_the_keychain_locks_the_cached_keys).
    kr.lock();
    let said = attempt(&sb, 3);
    assert!(said.contains("locked"), "{said}");
}

fn a_plaintext_copy_gets_the_command_that_removes_it() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    sb.bin_dir(); // `wandb-cred` on PATH, as the advice assumes
    let (chain, plain) = (sb.key(), sb.key());
    sb.cmd(&["login", &chain]).run().ok();
    let entry = |key: &str| format!("machine api.wandb.ai\n  login user\n  password {key}\n");
    // Another key in netrc: told apart by fingerprints; migrate would refuse, so the
    // advice is to remove the plaintext one, which leaves the key in use.
    sb.write(&sb.netrc(), &entry(&plain));
    let fingerprint = |key: &str| format!("wandb_v1_****{}", &key[key.len() - 4..]);
    let advice = "`wandb-cred logout --backend netrc`";
    sb.cmd(&["status"])
        .run()
        .ok()
        .stdout_has(&format!(
            "a different plaintext key ({}) than the one in use ({})",
            fingerprint(&plain),
            fingerprint(&chain)
        ))
        .stdout_has(advice);
    sb.program("sh", &["-c", "wandb-cred logout --backend netrc"])
        .run()
        .ok();
    assert!(!sb.read(&sb.netrc()).unwrap().contains(&plain));
    assert_eq!(kr.lookup(CLOUD).as_deref(), Some(chain.as_str()));
    let out = sb.cmd(&["status"]).run();
    assert!(!out.stdout.contains("Warning:"), "{}", out.report());
    // The same key in netrc: migrate, which then works.
    sb.write(&sb.netrc(), &entry(&chain));
    sb.cmd(&["status"])
        .run()
        .ok()
        .stdout_has("move it: `wandb-cred migrate`");
    sb.cmd(&["migrate"]).run().ok();
    assert!(!sb.read(&sb.netrc()).unwrap().contains(&chain));
}

fn the_callers_keychain_bound_holds_in_the_daemon() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    // The daemon starts with a long bound of its own.
    let key = sb.key();
    sb.cmd(&["login", &key])
        .env("WANDB_CRED_KEYCHAIN_TIMEOUT", "30s")
        .run()
        .ok();
    kr.freeze();
    // A command asking for less is held to its own bound (full program: Limit).
    let other = sb.key();
    let out = sb
        .cmd(&["login", &other])
        .env("WANDB_CRED_KEYCHAIN_TIMEOUT", "300ms")
        .run();
    out.fails(1)
        .stderr_has("the keychain did not answer within 0.3 s")
        .stderr_has("unlock or restart it");
    assert!(!out.stderr.contains("wait longer"), "{}", out.report());
    // And so is the front's one-frame get (HelloGet), once the cache is dropped.
    sb.cmd(&["reload"]).run();
    sb.cmd(&["get"])
        .env("WANDB_CRED_KEYCHAIN_TIMEOUT", "300ms")
        .run()
        .fails(1)
        .stderr_has("the keychain did not answer within 0.3 s");
    kr.thaw();
}

fn relogin_on_a_locked_keychain_asks_for_nothing() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Locked);
    let pty = crate::pty::Pty::spawn(
        sb.cmd(&["login", "--relogin"])
            .env("TERM", "xterm")
            .command(),
    );
    let (status, transcript) = pty.finish();
    assert_eq!(status.code(), Some(1), "{transcript}");
    assert!(!transcript.contains("Paste your API key"), "{transcript}");
    assert!(
        transcript.contains("the keychain is locked"),
        "{transcript}"
    );
    assert!(
        transcript.contains("nothing was asked or stored"),
        "{transcript}"
    );
    // The unlock hint names something that unlocks a running keyring.
    assert!(
        !transcript.contains("gnome-keyring-daemon --unlock"),
        "{transcript}"
    );
}

fn locking_the_keychain_locks_the_cached_keys() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    // Answered from the daemon's cache from now on.
    for _ in 0..2 {
        sb.cmd(&["get"])
            .key_on_stdout()
            .run()
            .ok()
            .stdout_is(&format!("{key}\n"));
    }
    kr.lock();
    // The daemon hears of it (a signal, handled on its own thread): within a bound, get
    // stops handing out the key and says the keychain is locked.
    let started = std::time::Instant::now();
    loop {
        let out = sb.cmd(&["get"]).key_on_stdout().run();
        if out.code != 0 {
            out.fails(1).stderr_has("the keychain is locked");
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the cached key was still handed out 30 s after the keychain was locked"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
