//! `push` through a real sshd on 127.0.0.1 to a throwaway user: the key lands in that
//! user's kernel keyring, in no file of its home and in no process's command line.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox};
use crate::sshd::Sshd;
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Sshd, Need::OtherUser, Need::KernelKeyring];
        push_puts_the_key_in_the_remote_kernel_keyring_and_nowhere_else,
        push_names_the_missing_remote_program_and_takes_another,
        push_stores_under_the_same_server_and_leaves_remote_settings_alone,
    ];
    all.extend(trials![
        push_refuses_ssh_options_that_would_lose_or_echo_the_key
    ]);
    all
}

/// Watches every process's command line for `secret` until dropped; whether it was seen.
struct ArgvWatch {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl ArgvWatch {
    fn new(secret: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (halt, secret) = (stop.clone(), secret.to_owned());
        let thread = std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !halt.load(Ordering::SeqCst) {
                for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                    if let Ok(argv) = std::fs::read(entry.path().join("cmdline"))
                        && String::from_utf8_lossy(&argv).contains(&secret)
                    {
                        seen.push(String::from_utf8_lossy(&argv).replace(&secret, "<key>"));
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            seen
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    fn seen(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap()
    }
}

fn push_args<'a>(sshd: &'a [String], extra: &[&'a str], destination: &'a str) -> Vec<&'a str> {
    let mut args = vec!["push"];
    args.extend(extra);
    args.extend(sshd.iter().map(String::as_str));
    args.push(destination);
    args
}

fn push_puts_the_key_in_the_remote_kernel_keyring_and_nowhere_else() {
    let sb = Sandbox::new();
    let sshd = Sshd::start(&sb.root, "wandbcredremote1");
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let (options, destination) = (sshd.options(), sshd.destination());
    let watch = ArgvWatch::new(&key);
    // The guide's command, with gpu1 standing for this sshd.
    let mut target = options.clone();
    target.push(destination.clone());
    let args = crate::harness::recipe_args("push", "gpu1", &target);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(args, push_args(&options, &[], &destination));
    let out = sb.cmd(&args).run();
    let seen = watch.seen();
    out.ok()
        .stderr_has(&format!(
            "{destination}: wandb-cred: Stored the API key for api.wandb.ai in the kernel keyring"
        ))
        .stderr_has("kernel keys last until this machine restarts")
        .stderr_has(&format!(
            "Pushed the API key for api.wandb.ai (https://api.wandb.ai) to {destination}."
        ));
    assert!(seen.is_empty(), "the key was in a command line: {seen:?}");
    assert_eq!(
        sshd.remote_kernel_key("wandb-cred:https://api.wandb.ai")
            .as_deref(),
        Some(key.as_str())
    );
    sshd.assert_no_file_holds(&key);
}

fn push_names_the_missing_remote_program_and_takes_another() {
    let sb = Sandbox::new();
    let sshd = Sshd::start(&sb.root, "wandbcredremote2");
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let (options, destination) = (sshd.options(), sshd.destination());
    sb.cmd(&push_args(
        &options,
        &["--remote-command", "wandb-cred-elsewhere"],
        &destination,
    ))
    .run()
    .fails(1)
    .stderr_has(&format!(
        "{destination} has no `wandb-cred-elsewhere` on the PATH of an ssh command (nothing was stored there)"
    ))
    .stderr_has("--remote-command PATH");
    assert_eq!(
        sshd.remote_kernel_key("wandb-cred:https://api.wandb.ai"),
        None
    );
    // Named by its path, it is found (the option may come after ssh's, too).
    let mut args = push_args(&options, &[], &destination);
    args.insert(args.len() - 1, "--remote-command");
    args.insert(args.len() - 1, crate::harness::BIN);
    sb.cmd(&args).run().ok();
    assert_eq!(
        sshd.remote_kernel_key("wandb-cred:https://api.wandb.ai")
            .as_deref(),
        Some(key.as_str())
    );
    // A destination ssh cannot reach: ssh's own failure, nothing stored.
    let mut unreachable = options.clone();
    unreachable[1] = crate::server::closed_port_url()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    sb.cmd(&push_args(&unreachable, &[], &destination))
        .run()
        .fails(1)
        .stderr_has("ssh could not reach");
}

fn push_stores_under_the_same_server_and_leaves_remote_settings_alone() {
    let sb = Sandbox::new();
    let sshd = Sshd::start(&sb.root, "wandbcredremote3");
    let key = sb.key();
    sb.cmd(&["login", "--host", "http://127.0.0.1:8765", &key])
        .run()
        .ok();
    let (options, destination) = (sshd.options(), sshd.destination());
    sb.cmd(&push_args(
        &options,
        &["--host", "http://127.0.0.1:8765"],
        &destination,
    ))
    .run()
    .ok()
    .stderr_has("Stored the API key for 127.0.0.1:8765");
    assert_eq!(
        sshd.remote_kernel_key("wandb-cred:http://127.0.0.1:8765")
            .as_deref(),
        Some(key.as_str())
    );
    assert!(
        !sshd.home.join(".config/wandb/settings").exists(),
        "push changed the remote's settings"
    );
    // No key for the server named: nothing is sent.
    sb.cmd(&push_args(
        &options,
        &["--host", "https://other.example.com"],
        &destination,
    ))
    .run()
    .fails(1)
    .stderr_has("(nothing was sent)");
}

fn push_refuses_ssh_options_that_would_lose_or_echo_the_key() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    for (option, why) in [
        ("-t", "would echo the key"),
        ("-n", "the key would not arrive"),
        ("-fN", "goes to the background"),
    ] {
        sb.cmd(&["push", option, "gpu1.invalid"])
            .run()
            .fails(2)
            .stderr_has(why);
    }
    sb.cmd(&["push", "-p"])
        .run()
        .fails(2)
        .stderr_has("needs an argument");
    sb.cmd(&["push", "gpu1.invalid", "echo", "hi"])
        .run()
        .fails(2)
        .stderr_has("push runs its own remote command");
}
