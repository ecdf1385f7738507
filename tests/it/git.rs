//! The git credential helper with real git (`git credential fill/approve/reject`), the
//! helper protocol fed directly (newer attributes, hostile input), and `setup-git`
//! against the sandbox's own global git config.

use libtest_mimic::Trial;

use crate::harness::{BIN, Need, Outcome, Sandbox};
use crate::keyring::{Keyring, Provider};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Git];
        fill_returns_the_stored_key_with_either_helper_form,
        fill_falls_through_for_everything_else,
        approve_stores_and_reject_erases_only_that_key,
        newer_attributes_and_capabilities,
        hostile_input_is_refused_without_echo,
        setup_git_is_idempotent_and_unset_restores_the_file,
    ];
    all.extend(trials![[Need::Git, Need::Keyring];
        use_http_path_and_servers_with_a_path,
        approve_into_the_keychain,
    ]);
    all.extend(trials![[Need::Git, Need::Python]; approve_keeps_netrc_readable_by_python]);
    all
}

/// An askpass program that answers every prompt, to show git fell through to it.
const ASKPASS: &str = "#!/bin/sh\necho from-askpass\n";

fn helper_absolute() -> String {
    format!("!{BIN} git-credential")
}

/// `git credential <action>` with only the given helper, no terminal prompt, and
/// askpass answering "from-askpass".
fn git_credential(
    sb: &mut Sandbox,
    helper: &str,
    action: &str,
    input: &str,
    extra: &[&str],
) -> Outcome {
    let askpass = sb.script("askpass", ASKPASS);
    let mut args = vec!["-c", "credential.helper=", "-c"];
    let helper_setting = format!("credential.helper={helper}");
    args.push(&helper_setting);
    args.extend_from_slice(extra);
    args.extend(["credential", action]);
    sb.program("git", &args)
        .env("GIT_ASKPASS", askpass.to_str().unwrap())
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(input)
        .key_on_stdout()
        .run()
}

fn fill(sb: &mut Sandbox, helper: &str, input: &str) -> String {
    git_credential(sb, helper, "fill", input, &[])
        .ok()
        .stdout
        .clone()
}

fn fill_returns_the_stored_key_with_either_helper_form() {
    let mut sb = Sandbox::new();
    sb.bin_dir();
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let want = format!("protocol=https\nhost=api.wandb.ai\nusername=api\npassword={key}\n");
    for helper in [helper_absolute().as_str(), "wandb"] {
        assert_eq!(
            fill(&mut sb, helper, "protocol=https\nhost=api.wandb.ai\n\n"),
            want,
            "{helper}"
        );
        assert_eq!(
            fill(&mut sb, helper, "url=https://api.wandb.ai/\n\n"),
            want,
            "{helper}"
        );
        assert_eq!(
            fill(&mut sb, helper, "url=https://api@api.wandb.ai\n\n"),
            want,
            "{helper}"
        );
    }
    // With a port, the port is part of the server's identity.
    let local = sb.key();
    sb.cmd(&["login", "--host", "https://wb.example.com:8443", &local])
        .run()
        .ok();
    assert_eq!(
        fill(
            &mut sb,
            "wandb",
            "url=https://wb.example.com:8443/team/repo.git\n"
        ),
        format!("protocol=https\nhost=wb.example.com:8443\nusername=api\npassword={local}\n")
    );
}

fn fill_falls_through_for_everything_else() {
    let mut sb = Sandbox::new();
    let (cloud, local) = (sb.key(), sb.key());
    sb.cmd(&["login", &cloud]).run().ok();
    sb.cmd(&["login", "--host", "https://wb.example.com:8443", &local])
        .run()
        .ok();
    // A netrc entry that is not the SDK's (another login) is someone else's secret.
    let netrc = sb.read(&sb.netrc()).unwrap();
    let foreign = sb.key();
    sb.write(
        &sb.netrc(),
        &format!("{netrc}machine github.com\n  login bob\n  password {foreign}\n"),
    );
    for input in [
        "url=https://wb.example.com\n",
        "url=https://wb.example.com:9999\n",
        "url=http://wb.example.com:8443\n",
        "url=https://github.com/org/repo.git\n",
        "url=https://bob@api.wandb.ai\n",
        "protocol=ssh\nhost=api.wandb.ai\n",
        "protocol=https\nhost=API.wandb.ai.evil.example\n",
    ] {
        let out = fill(&mut sb, &helper_absolute(), input);
        assert!(
            out.contains("password=from-askpass\n"),
            "{input:?} did not fall through:\n{out}"
        );
        assert!(
            !out.contains(&cloud) && !out.contains(&local) && !out.contains(&foreign),
            "{input:?}"
        );
    }
    // A plain http server named in the settings is answered from netrc over http.
    let plain = sb.key();
    sb.cmd(&["login", "--host", "http://127.0.0.1:8765", &plain])
        .run()
        .ok();
    let out = fill(&mut sb, &helper_absolute(), "url=http://127.0.0.1:8765\n");
    assert!(
        out.contains(&format!("username=api\npassword={plain}\n")),
        "{out}"
    );
    // WANDB_API_KEY does not make every host a W&B server.
    sb.set_env("WANDB_API_KEY", &cloud);
    let out = git_credential(
        &mut sb,
        &helper_absolute(),
        "fill",
        "url=https://github.com\n",
        &[],
    );
    assert!(
        out.stdout.contains("password=from-askpass"),
        "{}",
        out.report()
    );
}

fn approve_stores_and_reject_erases_only_that_key() {
    let mut sb = Sandbox::new();
    let helper = helper_absolute();
    let (key, other) = (sb.key(), sb.key());
    let cred = |password: &str, user: &str| {
        format!("protocol=https\nhost=api.wandb.ai\nusername={user}\npassword={password}\n\n")
    };
    // Not ours: another username, or a password that is no W&B key.
    git_credential(&mut sb, &helper, "approve", &cred(&key, "bob"), &[]).ok();
    git_credential(&mut sb, &helper, "approve", &cred("hunter2", "api"), &[]).ok();
    assert!(!sb.netrc().exists());
    sb.cmd(&["get"]).run().fails(1);
    // Ours: stored, and a second approve of the same key writes nothing.
    git_credential(&mut sb, &helper, "approve", &cred(&key, "api"), &[]).ok();
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    let before = std::fs::metadata(sb.netrc()).unwrap();
    git_credential(&mut sb, &helper, "approve", &cred(&key, "api"), &[]).ok();
    let after = std::fs::metadata(sb.netrc()).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        (before.ino(), before.mtime_nsec()),
        (after.ino(), after.mtime_nsec())
    );
    // A rejected credential that is not the stored key changes nothing.
    let snapshot = sb.snapshot();
    git_credential(&mut sb, &helper, "reject", &cred(&other, "api"), &[]).ok();
    git_credential(&mut sb, &helper, "reject", &cred(&key, "bob"), &[]).ok();
    git_credential(
        &mut sb,
        &helper,
        "reject",
        "protocol=https\nhost=api.wandb.ai\n\n",
        &[],
    )
    .ok();
    assert_eq!(sb.snapshot(), snapshot);
    // The stored key rejected: gone.
    git_credential(&mut sb, &helper, "reject", &cred(&key, "api"), &[]).ok();
    sb.cmd(&["get"]).run().fails(1);
    // A new key replaces the old one.
    git_credential(&mut sb, &helper, "approve", &cred(&key, "api"), &[]).ok();
    git_credential(&mut sb, &helper, "approve", &cred(&other, "api"), &[]).ok();
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{other}\n"));
}

fn approve_keeps_netrc_readable_by_python() {
    let mut sb = Sandbox::new();
    let key = sb.key();
    sb.write(
        &sb.netrc(),
        "# mine\nmachine example.com login me password secret\n",
    );
    git_credential(
        &mut sb,
        &helper_absolute(),
        "approve",
        &format!("url=https://wb.example.com:8443\nusername=api\npassword={key}\n"),
        &[],
    )
    .ok();
    assert_eq!(
        sb.python_netrc(&sb.netrc(), "wb.example.com:8443"),
        Some(("user".into(), String::new(), key))
    );
    assert_eq!(
        sb.python_netrc(&sb.netrc(), "example.com"),
        Some(("me".into(), String::new(), "secret".into()))
    );
    assert!(sb.read(&sb.netrc()).unwrap().starts_with("# mine\n"));
}

fn newer_attributes_and_capabilities() {
    let mut sb = Sandbox::new();
    sb.bin_dir();
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    sb.cmd(&["git-credential", "capability"])
        .run()
        .ok()
        .stdout_is("version 0\n");
    sb.program("git-credential-wandb", &["capability"])
        .run()
        .ok()
        .stdout_is("version 0\n");
    // Attributes of newer gits are ignored; no capability is claimed, so no authtype or
    // credential comes back, only username and password.
    let input = "capability[]=authtype\ncapability[]=state\nprotocol=https\nhost=api.wandb.ai\nwwwauth[]=Basic realm=\"W&B\"\nwwwauth[]=Bearer\npassword_expiry_utc=1700000000\noauth_refresh_token=xyz\nstate[]=helper:1\nephemeral=1\nnew_attribute_from_2030=yes\n\n";
    sb.program("git-credential-wandb", &["get"])
        .stdin(input)
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("username=api\npassword={key}\n"));
    // Unknown operations: ignored, silently.
    let out = sb.cmd(&["git-credential", "frobnicate"]).stdin(input).run();
    out.ok().stdout_is("");
    assert_eq!(out.stderr, "");
    // Real git, which sends capability[] to helpers itself.
    let out = git_credential(
        &mut sb,
        "wandb",
        "fill",
        "capability[]=authtype\nprotocol=https\nhost=api.wandb.ai\n\n",
        &[],
    );
    out.ok()
        .stdout_has(&format!("username=api\npassword={key}\n"));
}

fn hostile_input_is_refused_without_echo() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let helper =
        |op: &str, input: Vec<u8>| sb.cmd(&["git-credential", op]).stdin_bytes(input).run();
    for (input, says) in [
        (
            b"protocol=https\nhost=api.wandb.ai\rSECRETHOST\n\n".to_vec(),
            "`host` on line 2 contains a CR",
        ),
        (
            b"protocol=https\nhost=api.wandb.ai\nusername=a\0SECRETUSER\n".to_vec(),
            "`username` on line 3 contains a NUL",
        ),
        (
            b"protocol=https\nSECRETLINE\n".to_vec(),
            "line 2 of the request has no `=`",
        ),
    ] {
        for op in ["get", "store", "erase"] {
            let out = helper(op, input.clone());
            out.fails(1).stderr_has(says).stdout_is("");
            assert!(!out.stderr.contains("SECRET"), "{}", out.report());
        }
    }
    // 5 MB of junk: one endless line, then endless lines of ignored attributes.
    let junk: Vec<u8> = (0..5_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    helper("get", junk)
        .fails(1)
        .stderr_has("longer than 65535 bytes")
        .stdout_is("");
    let lines = b"wwwauth[]=Negotiate\n".repeat(250_000);
    helper("get", lines.clone())
        .fails(1)
        .stderr_has("longer than 1048576 bytes");
    helper("store", lines).fails(1);
    // Nothing stored was touched.
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
}

fn use_http_path_and_servers_with_a_path() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    sb.cmd(&["login", "--host", "https://wb.example.com:8443/sub", &key])
        .run()
        .ok();
    let path = ["-c", "credential.useHttpPath=true"];
    let helper = helper_absolute();
    let want = format!("username=api\npassword={key}\n");
    let out = git_credential(
        &mut sb,
        &helper,
        "fill",
        "url=https://wb.example.com:8443/sub/team/repo.git\n",
        &path,
    );
    out.ok()
        .stdout_has("path=sub/team/repo.git\n")
        .stdout_has(&want);
    let out = git_credential(
        &mut sb,
        &helper,
        "fill",
        "url=https://wb.example.com:8443/other/repo.git\n",
        &path,
    );
    out.ok().stdout_has("password=from-askpass");
    // git's default strips the path: the one server on that host answers.
    let out = git_credential(
        &mut sb,
        &helper,
        "fill",
        "url=https://wb.example.com:8443/other/repo.git\n",
        &[],
    );
    out.ok().stdout_has(&want);
    // Two servers on one host and no path: which one is unknowable, so fall through.
    let second = sb.key();
    sb.cmd(&[
        "login",
        "--host",
        "https://wb.example.com:8443/two",
        &second,
    ])
    .run()
    .ok();
    let out = git_credential(
        &mut sb,
        &helper,
        "fill",
        "url=https://wb.example.com:8443/x\n",
        &[],
    );
    out.ok().stdout_has("password=from-askpass");
}

fn approve_into_the_keychain() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    let cred = format!("url=https://api.wandb.ai\nusername=api\npassword={key}\n\n");
    git_credential(&mut sb, &helper_absolute(), "approve", &cred, &[]).ok();
    assert_eq!(
        kr.lookup("https://api.wandb.ai").as_deref(),
        Some(key.as_str())
    );
    assert!(!sb.netrc().exists());
    let out = fill(&mut sb, &helper_absolute(), "url=https://api.wandb.ai\n");
    assert!(out.contains(&format!("password={key}\n")), "{out}");
    git_credential(&mut sb, &helper_absolute(), "reject", &cred, &[]).ok();
    assert_eq!(kr.lookup("https://api.wandb.ai"), None);
}

fn global_config(sb: &Sandbox) -> String {
    sb.read(&sb.home.join(".gitconfig")).unwrap_or_default()
}

fn setup_git_is_idempotent_and_unset_restores_the_file() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    // An inherited helper that answers for every host.
    let original = "[user]\n\tname = Test\n[credential]\n\thelper = \"!f() { echo username=inherited; echo password=inherited; }; f\"\n";
    sb.write(&sb.home.join(".gitconfig"), original);
    sb.cmd(&["setup-git"])
        .run()
        .ok()
        .stderr_has("git now asks wandb-cred for https://api.wandb.ai");
    let values = sb
        .program(
            "git",
            &[
                "config",
                "--global",
                "--get-all",
                "credential.https://api.wandb.ai.helper",
            ],
        )
        .run()
        .ok()
        .stdout
        .clone();
    assert_eq!(values, format!("\n!{BIN} git-credential\n"));
    let configured = global_config(&sb);
    sb.cmd(&["setup-git"])
        .run()
        .ok()
        .stderr_has("nothing changed");
    assert_eq!(global_config(&sb), configured);
    // git itself (no -c) now asks wandb-cred for W&B, the inherited helper for the rest.
    let git_fill = |sb: &Sandbox, url: &str| {
        sb.program("git", &["credential", "fill"])
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(&format!("url={url}\n\n"))
            .key_on_stdout()
            .run()
            .ok()
            .stdout
            .clone()
    };
    assert!(
        git_fill(&sb, "https://api.wandb.ai").contains(&format!("username=api\npassword={key}\n"))
    );
    assert!(git_fill(&sb, "https://github.com").contains("password=inherited"));
    // Another server next to it, then both removed again: the file is as it was.
    sb.cmd(&["setup-git", "--host", "https://wb.example.com:8443"])
        .run()
        .ok();
    sb.cmd(&["setup-git", "--unset"])
        .run()
        .ok()
        .stderr_has("no longer asks");
    sb.cmd(&[
        "setup-git",
        "--unset",
        "--host",
        "https://wb.example.com:8443",
    ])
    .run()
    .ok();
    assert_eq!(global_config(&sb), original);
    sb.cmd(&["setup-git", "--unset"])
        .run()
        .ok()
        .stderr_has("nothing changed");
    assert!(git_fill(&sb, "https://api.wandb.ai").contains("password=inherited"));
}
