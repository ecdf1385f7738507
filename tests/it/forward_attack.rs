//! What a remote machine can get through the forwarded socket and `push` (issue 22,
//! items 3, 4, 5 and 7): W&B keys from the off-disk stores and nothing else, nothing of
//! this machine in the answers, every request accounted for in the log, memory bounded
//! whatever it asks, and `push`'s remote command and output handled safely.

use std::os::unix::net::UnixStream;

use libtest_mimic::Trial;
use wandb_cred_proto::{self as proto, ErrorKind, PROTOCOL, Request, Response, Secret};

use crate::forward::ssh_args;
use crate::harness::{Need, Sandbox, alive};
use crate::keyring::{Keyring, Provider};
use crate::sshd::Sshd;
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Sshd, Need::OtherUser, Need::Keyring];
        a_remote_gets_wandb_keys_only_and_learns_nothing_of_this_machine,
        push_runs_the_remote_program_meant_and_shows_its_output_safely,
    ];
    all.extend(trials![[Need::KernelKeyring];
        every_forwarded_request_is_logged_and_memory_stays_bounded,
    ]);
    all
}

/// The laptop's netrc holds a GitHub token and a catch-all `default` entry whose password
/// looks like a W&B key; its keychain holds the cloud key. Inside `wandb-cred ssh`, the
/// remote gets the cloud key and nothing for GitHub (https or http) or any other server;
/// no answer names a local path or the daemon's pid; `push` never sends the `default`
/// password. Failed before the fix: the remote got the GitHub token and the default
/// password, and push sent the default password.
fn a_remote_gets_wandb_keys_only_and_learns_nothing_of_this_machine() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let token = sb.secret(format!("ghp_{}", "q7W3".repeat(10)));
    let fallback = sb.key();
    sb.write(
        &sb.netrc(),
        &format!(
            "machine github.com\n  login me\n  password {token}\ndefault\n  login me\n  password {fallback}\n"
        ),
    );
    let sshd = Sshd::start(&sb.root, "wandbcredremote7");
    let (options, destination) = (sshd.options(), sshd.destination());
    let remote = "for h in https://github.com http://github.com https://other.example.com; do \
                  wandb-cred get --host $h; echo \"$h=$?\"; done; wandb-cred get; echo cloud=$?";
    let out = sb
        .cmd(&ssh_args(&options, &destination, remote))
        .key_on_stdout()
        .run();
    out.ok()
        .stdout_has("https://github.com=1\n")
        .stdout_has("http://github.com=1\n")
        .stdout_has("https://other.example.com=1\n")
        .stdout_has(&format!("{key}\ncloud=0\n"));
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(
        !said.contains(&token),
        "the GitHub token reached the remote"
    );
    assert!(
        !said.contains(&fallback),
        "netrc's default password reached the remote"
    );
    assert!(
        !said.contains(&sb.root.display().to_string()),
        "an answer named a local path: {said}"
    );
    if let Some(pid) = sb.daemon_pid() {
        assert!(!said.contains(&format!("pid {pid}")), "{said}");
    }
    // push: the default entry is never sent, here for a server with no key of its own.
    let mut args = vec!["push", "--host", "https://other.example.com"];
    args.extend(options.iter().map(String::as_str));
    args.push(&destination);
    sb.cmd(&args)
        .run()
        .fails(1)
        .stderr_has("catch-all `default` entry")
        .stderr_has("nothing was sent");
    sshd.assert_no_file_holds(&fallback);
    assert_eq!(
        sshd.remote_kernel_key("wandb-cred:https://other.example.com"),
        None
    );
}

/// `push --remote-command '~/my bin/wandb-cred'` runs the remote user's program (the
/// remote expands `~`, the space is quoted); a value with `=` is refused; what the remote
/// prints reaches the terminal with its escape sequences escaped. Failed before the fix:
/// `~` was quoted and never expanded (exit 127), and an escape sequence arrived raw.
fn push_runs_the_remote_program_meant_and_shows_its_output_safely() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let sshd = Sshd::start(&sb.root, "wandbcredremote8");
    let (options, destination) = (sshd.options(), sshd.destination());
    let bin = sshd.home.join("my bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(sb.root.join("sshd/bin/wandb-cred"), bin.join("wandb-cred"))
        .unwrap();
    let push = |program: &str| {
        let mut args = vec![
            "push".to_owned(),
            "--remote-command".to_owned(),
            program.to_owned(),
        ];
        args.extend(options.iter().cloned());
        args.push(destination.clone());
        args
    };
    let args = push("~/my bin/wandb-cred");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sb.cmd(&args).run().ok().stderr_has("Pushed the API key");
    let args = push("WANDB_BASE_URL=https://evil.example.com");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sb.cmd(&args).run().fails(2).stderr_has("--remote-command");
    // A remote program that prints an escape sequence (it sets the terminal's title).
    let noisy = sshd.home.join("noisy");
    std::fs::write(
        &noisy,
        "#!/bin/sh\nprintf 'hello \\033]0;owned\\007 there\\n'; printf '\\033[2J\\n' >&2; exit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&noisy, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let args = push("~/noisy");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = sb.cmd(&args).run();
    out.fails(1).stderr_has("hello ").stderr_has("there");
    assert!(!out.stderr.contains('\u{1b}'), "{:?}", out.stderr);
    assert!(!out.stdout.contains('\u{1b}'), "{:?}", out.stdout);
}

/// A raw connection to the daemon's forwarded socket, greeted.
fn forwarded(sb: &Sandbox) -> UnixStream {
    let mut stream = UnixStream::connect(sb.daemon_dir().join("forward.sock")).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let hello = Request::Hello {
        protocol: PROTOCOL,
        client: "remote".into(),
    };
    match ask(&mut stream, &hello) {
        Response::Hello { pid, .. } => assert_eq!(pid, 0, "the forwarded Hello names no pid"),
        other => panic!("expected Hello, got {other:?}"),
    }
    stream
}

fn ask(stream: &mut UnixStream, request: &Request) -> Response {
    proto::write_frame(&mut *stream, request).unwrap();
    proto::read_frame::<Response>(stream).unwrap()
}

fn get(url: &str) -> Request {
    Request::Get {
        url: url.to_owned(),
        netrc: Some("/nonexistent/.netrc".to_owned()),
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// 25 decoy gets and then the real one: the log accounts for the key handed out (and
/// for the refused change) once the daemon stops. 20,000 gets for distinct 2 KB URLs
/// leave the daemon's memory bounded; a URL over the limit is refused. Failed before the
/// fix: the real get went unlogged, a refused request was never logged, and memory grew
/// with every URL asked for.
fn every_forwarded_request_is_logged_and_memory_stays_bounded() {
    let mut sb = Sandbox::new();
    sb.own_kernel_keyring();
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let pid = sb.daemon_pid().expect("login started a daemon");
    let mut stream = forwarded(&sb);
    for i in 0..25 {
        match ask(&mut stream, &get(&format!("https://decoy{i}.example.com"))) {
            Response::Error { kind, .. } => assert_eq!(kind, ErrorKind::NotFound),
            other => panic!("a decoy got {other:?}"),
        }
    }
    match ask(&mut stream, &get("https://api.wandb.ai")) {
        Response::Key {
            key: got, location, ..
        } => {
            assert_eq!(got.expose(), key);
            assert!(!location.contains('/'), "{location}");
        }
        other => panic!("expected the key, got {other:?}"),
    }
    let store = Request::Store {
        url: "https://api.wandb.ai".into(),
        key: Secret(zeroize::Zeroizing::new(sb.key())),
        netrc: "/tmp/x".into(),
    };
    assert!(matches!(
        ask(&mut stream, &store),
        Response::Error {
            kind: ErrorKind::Forwarded,
            ..
        }
    ));
    // Memory: distinct long URLs, "no key" each.
    let before = rss_kib(pid);
    let long = "a".repeat(1950);
    for i in 0..20_000 {
        let answer = ask(
            &mut stream,
            &get(&format!("https://h{i}.example.com/{long}")),
        );
        assert!(matches!(
            answer,
            Response::Error {
                kind: ErrorKind::NotFound,
                ..
            }
        ));
    }
    let grown = rss_kib(pid).saturating_sub(before);
    assert!(
        grown < 12 * 1024,
        "the daemon grew by {grown} KiB for 20,000 URLs"
    );
    let too_long = format!("https://h.example.com/{}", "a".repeat(5000));
    match ask(&mut stream, &get(&too_long)) {
        Response::Error { kind, message } => {
            assert_eq!(kind, ErrorKind::BadRequest);
            assert!(message.contains("longer than"), "{message}");
        }
        other => panic!("a 5 KB URL got {other:?}"),
    }
    drop(stream);
    sb.cmd(&["stop"]).run().ok();
    while alive(pid) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let log = sb.read(&sb.daemon_dir().join("daemon.log")).unwrap();
    let accounted = log.lines().any(|l| {
        l.contains("api.wandb.ai")
            && l.contains("handed out its key")
            && l.contains("forwarded get")
    });
    assert!(accounted, "the key handed out is not in the log:\n{log}");
    assert!(
        log.contains("refused"),
        "the refused change is not in the log:\n{log}"
    );
    assert!(!log.contains(&key));
}
