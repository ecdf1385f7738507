//! `login`: the documented flags, precedence, key rules, and the files it writes,
//! checked byte for byte and with Python's own parsers.

use libtest_mimic::Trial;

#[cfg(unix)]
use crate::harness::mode;
use crate::harness::{Need, Sandbox, legacy_key};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Python];
        key_argument_writes_the_sdk_netrc_entry,
        host_is_persisted_to_system_settings_only,
        cloud_and_default_host_forget_the_server,
        replaces_in_place_and_keeps_every_other_byte,
        new_entry_goes_before_default,
        netrc_location_follows_netrc_env_and_underscore_file,
        concurrent_logins_lose_nothing,
        hidden_workspace_folder_is_used,
    ];
    #[cfg(unix)]
    all.extend(trials![[Need::Python]; existing_netrc_mode_is_kept]);
    all.extend(trials![
        cloud_with_host_is_an_error,
        key_rules_and_messages,
        bad_urls_are_refused_naming_the_rule,
        found_keys_are_not_stored_again,
        env_key_is_never_written_to_netrc,
        no_key_and_no_terminal_is_the_documented_error,
        relogin_without_terminal_fails_even_with_a_stored_key,
        base_url_precedence_picks_the_machine,
        env_base_url_is_never_persisted,
        malformed_netrc_is_reported_and_untouched,
        open_quote_at_the_end_is_named_by_file_and_line,
        malformed_settings_are_reported_and_untouched,
        first_of_several_keys_is_used,
        dash_reads_the_key_from_stdin,
        warns_when_a_stronger_source_hides_the_new_key,
    ]);
    all
}

fn sdk_entry(machine: &str, key: &str) -> String {
    format!("machine {machine}\n  login user\n  password {key}\n")
}

fn key_argument_writes_the_sdk_netrc_entry() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", &key])
        .run()
        .ok()
        .stderr_has("api.wandb.ai");
    assert_eq!(
        sb.read(&sb.netrc()).unwrap(),
        sdk_entry("api.wandb.ai", &key)
    );
    #[cfg(unix)]
    assert_eq!(mode(&sb.netrc()), 0o600);
    let (login, _, password) = sb.python_netrc(&sb.netrc(), "api.wandb.ai").unwrap();
    assert_eq!((login.as_str(), password.as_str()), ("user", key.as_str()));
    // Without --host nothing is written to the settings files.
    assert!(sb.read(&sb.system_settings()).is_none());
    assert!(sb.read(&sb.workspace_settings()).is_none());
}

fn host_is_persisted_to_system_settings_only() {
    let sb = Sandbox::new();
    sb.write(
        &sb.workspace_settings(),
        "[default]\nbase_url = http://old.example\nproject = p\n",
    );
    let key = sb.key();
    sb.cmd(&["login", "--host", "http://127.0.0.1:8765/", &key])
        .run()
        .ok();
    assert_eq!(
        sb.read(&sb.system_settings()).unwrap(),
        "[default]\nbase_url = http://127.0.0.1:8765\n\n"
    );
    assert_eq!(
        sb.read(&sb.workspace_settings()).unwrap(),
        "[default]\nproject = p\n"
    );
    let system = sb.python_settings(&sb.system_settings());
    assert_eq!(system["default"]["base_url"], "http://127.0.0.1:8765");
    assert!(!sb.python_settings(&sb.workspace_settings())["default"].contains_key("base_url"));
    assert_eq!(
        sb.python_netrc(&sb.netrc(), "127.0.0.1:8765").unwrap().2,
        key
    );
    // `machine 127.0.0.1` is a different machine.
    assert_eq!(sb.python_netrc(&sb.netrc(), "127.0.0.1"), None);
    // --base-url is the same flag, and an existing value is replaced in place.
    let key2 = sb.key();
    sb.cmd(&[
        "login",
        "--base-url",
        "https://wb.example.com:8443/sub",
        &key2,
    ])
    .run()
    .ok();
    assert_eq!(
        sb.read(&sb.system_settings()).unwrap(),
        "[default]\nbase_url = https://wb.example.com:8443/sub\n\n"
    );
    assert_eq!(
        sb.python_netrc(&sb.netrc(), "wb.example.com:8443")
            .unwrap()
            .2,
        key2
    );
}

fn cloud_and_default_host_forget_the_server() {
    for args in [vec!["--cloud"], vec!["--host", "https://api.wandb.ai/"]] {
        let sb = Sandbox::new();
        sb.write(
            &sb.system_settings(),
            "[default]\nentity = me\nbase_url = http://self.hosted\n\n",
        );
        sb.write(
            &sb.workspace_settings(),
            "[default]\nbase_url = http://other\n",
        );
        let key = sb.key();
        let mut argv = vec!["login"];
        argv.extend(&args);
        argv.push(&key);
        sb.cmd(&argv).run().ok();
        assert_eq!(
            sb.read(&sb.system_settings()).unwrap(),
            "[default]\nentity = me\n\n"
        );
        assert_eq!(sb.read(&sb.workspace_settings()).unwrap(), "[default]\n");
        assert_eq!(sb.python_netrc(&sb.netrc(), "api.wandb.ai").unwrap().2, key);
    }
}

fn cloud_with_host_is_an_error() {
    let sb = Sandbox::new();
    let key = sb.key();
    let before = sb.snapshot();
    sb.cmd(&["login", "--cloud", "--host", "http://h.example", &key])
        .run()
        .fails(1)
        .stderr_has("Cannot use --host and --cloud together.");
    assert_eq!(sb.snapshot(), before);
}

fn key_rules_and_messages() {
    let sb = Sandbox::new();
    let cases = [
        ("", "API key is empty."),
        ("abc", "API key must have 40+ characters, has 3."),
        (
            "local-abc",
            "API key must have 40+ characters after its `local-` prefix, has 3.",
        ),
        // `-` is allowed; what is counted comes after the prefix.
        (
            "abc-def",
            "API key must have 40+ characters after its `abc-` prefix, has 3.",
        ),
        (
            &*format!("{}!", "a".repeat(40)),
            "API key may only contain letters, digits, underscores and hyphens.",
        ),
        (
            &*format!(" {}", "a".repeat(40)),
            "API key cannot start or end with whitespace",
        ),
    ];
    for (key, message) in cases {
        let before = sb.snapshot();
        sb.cmd(&["login", key]).run().fails(1).stderr_has(message);
        assert_eq!(sb.snapshot(), before);
    }
    for key in [
        sb.key(),
        sb.secret(legacy_key()),
        sb.secret(format!("local-{}", legacy_key())),
        sb.secret("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl".to_owned()),
    ] {
        sb.cmd(&["login", &key]).run().ok();
        sb.cmd(&["get"])
            .key_on_stdout()
            .run()
            .ok()
            .stdout_is(&format!("{key}\n"));
    }
}

fn bad_urls_are_refused_naming_the_rule() {
    let sb = Sandbox::new();
    let key = sb.key();
    for (url, message) in [
        ("https://wandb.ai", "did you mean https://api.wandb.ai?"),
        (
            "https://app.wandb.ai/",
            "did you mean https://api.wandb.ai?",
        ),
        (
            "http://api.wandb.ai",
            "http is not secure, please use https://api.wandb.ai",
        ),
        ("ftp://files.example", "must start with http:// or https://"),
        ("https://", "no host"),
        ("http://h:0", "port"),
    ] {
        let before = sb.snapshot();
        sb.cmd(&["login", "--host", url, &key])
            .run()
            .fails(1)
            .stderr_has(message);
        assert_eq!(sb.snapshot(), before, "{url}");
    }
    sb.write(&sb.system_settings(), "[default]\nbase_url = wandb.ai\n");
    sb.cmd(&["login", &key])
        .run()
        .fails(1)
        .stderr_has("base_url in")
        .stderr_has("(line 2)");
}

fn found_keys_are_not_stored_again() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.write(
        &sb.system_settings(),
        &format!("[default]\napi_key = {key}\n"),
    );
    sb.cmd(&["login"])
        .run()
        .ok()
        .stderr_has("Already logged in")
        .stderr_has("api_key in");
    assert!(sb.read(&sb.netrc()).is_none());
    std::fs::remove_file(sb.system_settings()).unwrap();
    sb.write(&sb.netrc(), &sdk_entry("api.wandb.ai", &key));
    let before = sb.snapshot();
    sb.cmd(&["login"])
        .run()
        .ok()
        .stderr_has("Already logged in")
        .stderr_has(&format!("{} (line 1)", sb.netrc().display()));
    assert_eq!(sb.snapshot(), before);
}

fn env_key_is_never_written_to_netrc() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login"])
        .env("WANDB_API_KEY", &key)
        .run()
        .ok()
        .stderr_has("WANDB_API_KEY");
    sb.cmd(&["login", "--host", "http://h.example:1"])
        .env("WANDB_API_KEY", &key)
        .run()
        .ok();
    assert!(sb.read(&sb.netrc()).is_none());
    // An invalid key in the environment is reported, naming the variable.
    sb.cmd(&["login"])
        .env("WANDB_API_KEY", "short")
        .run()
        .fails(1)
        .stderr_has("WANDB_API_KEY")
        .stderr_has("API key must have 40+ characters, has 5.");
}

fn no_key_and_no_terminal_is_the_documented_error() {
    let sb = Sandbox::new();
    sb.cmd(&["login"])
        .run()
        .fails(1)
        .stderr_has("No API key configured. Use `wandb-cred login` to log in (or `wandb-cred login -` to read the key from standard input).");
    assert!(sb.snapshot().is_empty());
}

fn relogin_without_terminal_fails_even_with_a_stored_key() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let before = sb.snapshot();
    sb.cmd(&["login", "--relogin"])
        .run()
        .fails(1)
        .stderr_has("No API key configured.");
    sb.cmd(&["login", "--relogin", "--host", "http://h.example"])
        .run()
        .fails(1);
    assert_eq!(sb.snapshot(), before);
}

fn base_url_precedence_picks_the_machine() {
    let mut sb = Sandbox::new();
    sb.write(
        &sb.system_settings(),
        "[default]\nbase_url = http://system.example\n",
    );
    let stored_on = |sb: &Sandbox, args: &[&str]| {
        let key = sb.key();
        let mut argv = vec!["login"];
        argv.extend(args);
        argv.push(&key);
        sb.cmd(&argv).run().ok();
        let text = sb.read(&sb.netrc()).unwrap();
        let at = text.find(&key).unwrap();
        let machine_line = text[..at].rfind("machine ").unwrap();
        text[machine_line + 8..].lines().next().unwrap().to_owned()
    };
    assert_eq!(stored_on(&sb, &[]), "system.example");
    sb.write(
        &sb.workspace_settings(),
        "[default]\nbase_url = http://workspace.example\n",
    );
    assert_eq!(stored_on(&sb, &[]), "workspace.example");
    sb.set_env("WANDB_BASE_URL", "http://env.example/");
    assert_eq!(stored_on(&sb, &[]), "env.example");
    assert_eq!(
        stored_on(&sb, &["--host", "http://flag.example"]),
        "flag.example"
    );
}

fn env_base_url_is_never_persisted() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", &key])
        .env("WANDB_BASE_URL", "http://env.example")
        .run()
        .ok();
    assert!(sb.read(&sb.system_settings()).is_none());
    sb.cmd(&["get"])
        .env("WANDB_BASE_URL", "http://env.example")
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
}

fn malformed_netrc_is_reported_and_untouched() {
    let sb = Sandbox::new();
    let secret = sb.key();
    sb.write(
        &sb.netrc(),
        &format!("machine a\n  login user\n  password {secret} oops\n"),
    );
    let before = sb.snapshot();
    let key = sb.key();
    sb.cmd(&["login", &key])
        .run()
        .fails(1)
        .stderr_has(&sb.netrc().display().to_string())
        .stderr_has("line 3");
    sb.cmd(&["login", "--host", "http://x.example", &key])
        .run()
        .fails(1);
    sb.cmd(&["get"]).run().fails(1).stderr_has("line 3");
    assert_eq!(sb.snapshot(), before);
}

fn open_quote_at_the_end_is_named_by_file_and_line() {
    let sb = Sandbox::new();
    let text = "machine a\n  login me\n  password \"half-quoted secret\n";
    sb.write(&sb.netrc(), text);
    let before = sb.snapshot();
    let key = sb.key();
    let out = sb.cmd(&["login", &key]).run();
    out.fails(1)
        .stderr_has(&format!("cannot update {}", sb.netrc().display()))
        .stderr_has("a quote (\") that starts on line 3 is never closed");
    assert!(!out.stderr.contains("half-quoted"), "{}", out.report());
    assert_eq!(sb.snapshot(), before);
}

fn malformed_settings_are_reported_and_untouched() {
    let sb = Sandbox::new();
    sb.write(
        &sb.system_settings(),
        "[default]\nbase_url = http://a\nthis is not ini\n",
    );
    let before = sb.snapshot();
    let key = sb.key();
    sb.cmd(&["login", "--host", "http://b.example", &key])
        .run()
        .fails(1)
        .stderr_has(&sb.system_settings().display().to_string())
        .stderr_has("line 3");
    assert_eq!(sb.snapshot(), before);
}

fn first_of_several_keys_is_used() {
    let sb = Sandbox::new();
    let (first, second) = (sb.key(), sb.key());
    sb.cmd(&["login", &first, &second]).run().ok();
    assert_eq!(
        sb.read(&sb.netrc()).unwrap(),
        sdk_entry("api.wandb.ai", &first)
    );
}

fn warns_when_a_stronger_source_hides_the_new_key() {
    let sb = Sandbox::new();
    let (env_key, key) = (sb.key(), sb.key());
    sb.cmd(&["login", &key])
        .env("WANDB_API_KEY", &env_key)
        .run()
        .ok()
        .stderr_has("WANDB_API_KEY is set in this environment and takes precedence");
    assert_eq!(
        sb.read(&sb.netrc()).unwrap(),
        sdk_entry("api.wandb.ai", &key)
    );
}

fn replaces_in_place_and_keeps_every_other_byte() {
    let sb = Sandbox::new();
    let (old, new) = (sb.key(), sb.key());
    let before = format!(
        "# my machines\nmachine github.com login me password tok # gh\n\nmachine api.wandb.ai\n  login user\n  password {old}\n\nmacdef init\ncd /\n\ndefault login anonymous password me@example.com\n"
    );
    sb.write(&sb.netrc(), &before);
    sb.cmd(&["login", &new]).run().ok();
    assert_eq!(sb.read(&sb.netrc()).unwrap(), before.replace(&old, &new));
    assert_eq!(sb.python_netrc(&sb.netrc(), "api.wandb.ai").unwrap().2, new);
    assert_eq!(sb.python_netrc(&sb.netrc(), "github.com").unwrap().2, "tok");
}

fn new_entry_goes_before_default() {
    let sb = Sandbox::new();
    let key = sb.key();
    let before = "machine github.com login me password tok\ndefault login anonymous password x\n";
    sb.write(&sb.netrc(), before);
    sb.cmd(&["login", "--host", "http://127.0.0.1:9000", &key])
        .run()
        .ok();
    assert_eq!(
        sb.read(&sb.netrc()).unwrap(),
        format!(
            "machine github.com login me password tok\n{}default login anonymous password x\n",
            sdk_entry("127.0.0.1:9000", &key)
        )
    );
    assert_eq!(
        sb.python_netrc(&sb.netrc(), "127.0.0.1:9000").unwrap().2,
        key
    );
}

#[cfg(unix)]
fn existing_netrc_mode_is_kept() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    sb.write(&sb.netrc(), "machine other password x\n");
    // A private mode is kept...
    std::fs::set_permissions(sb.netrc(), std::fs::Permissions::from_mode(0o400)).unwrap();
    sb.cmd(&["login", &sb.key()]).run().ok();
    assert_eq!(mode(&sb.netrc()), 0o400);
    // ...one that lets group or others read the key is not, and the user is told.
    std::fs::set_permissions(sb.netrc(), std::fs::Permissions::from_mode(0o640)).unwrap();
    let key = sb.key();
    sb.cmd(&["login", &key])
        .run()
        .ok()
        .stderr_has("could be read by other users (mode 0640); it is now 0600");
    assert_eq!(mode(&sb.netrc()), 0o600);
    // No temporary file is left next to it.
    let names: Vec<_> = std::fs::read_dir(&sb.home)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|name| name != ".local")
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from(".netrc")]);
}

fn netrc_location_follows_netrc_env_and_underscore_file() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.write(&sb.home.join("_netrc"), "");
    sb.cmd(&["login", &key]).run().ok();
    assert_eq!(
        sb.python_netrc(&sb.home.join("_netrc"), "api.wandb.ai")
            .unwrap()
            .2,
        key
    );
    assert!(!sb.netrc().exists());
    let custom = sb.root.join("elsewhere/my-netrc");
    std::fs::create_dir_all(custom.parent().unwrap()).unwrap();
    let key2 = sb.key();
    sb.cmd(&["login", &key2])
        .env("NETRC", custom.to_str().unwrap())
        .run()
        .ok()
        .stderr_has("my-netrc");
    assert_eq!(sb.python_netrc(&custom, "api.wandb.ai").unwrap().2, key2);
    sb.cmd(&["get"])
        .env("NETRC", custom.to_str().unwrap())
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key2}\n"));
}

fn concurrent_logins_lose_nothing() {
    let sb = Sandbox::new();
    sb.write(&sb.netrc(), "# keep me\n");
    let keys: Vec<String> = (0..8).map(|_| sb.key()).collect();
    let mut children = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let mut cmd = sb
            .cmd(&["login", "--host", &format!("http://h{i}.example"), key])
            .command();
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        children.push(cmd.spawn().unwrap());
    }
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let text = sb.read(&sb.netrc()).unwrap();
    assert!(text.starts_with("# keep me\n"), "{}", text.len());
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            sb.python_netrc(&sb.netrc(), &format!("h{i}.example"))
                .unwrap()
                .2,
            *key
        );
    }
}

fn hidden_workspace_folder_is_used() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.work.join(".wandb")).unwrap();
    sb.write(
        &sb.work.join(".wandb/settings"),
        "[default]\nbase_url = http://hidden.example\n",
    );
    sb.write(
        &sb.workspace_settings(),
        "[default]\nbase_url = http://visible.example\n",
    );
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    assert!(sb.python_netrc(&sb.netrc(), "hidden.example").is_some());
}

fn dash_reads_the_key_from_stdin() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "-"])
        .stdin(&format!("{key}\n"))
        .run()
        .ok()
        .stderr_has("Stored the API key for api.wandb.ai");
    assert_eq!(
        sb.read(&sb.netrc()).unwrap(),
        sdk_entry("api.wandb.ai", &key)
    );
    let before = sb.snapshot();
    sb.cmd(&["login", "-"])
        .stdin("short\n")
        .run()
        .fails(1)
        .stderr_has("standard input is not valid")
        .stderr_has("API key must have 40+ characters, has 5.");
    sb.cmd(&["login", "-"])
        .run()
        .fails(1)
        .stderr_has("API key is empty.");
    assert_eq!(sb.snapshot(), before);
}
