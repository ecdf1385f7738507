//! Load: 200 concurrent clients (separate processes, through the daemon) storing,
//! reading and erasing keys for hosts of their own and for one shared host; the netrc
//! file ends in exactly the expected state by Python's own reader, keeps its foreign
//! entries, and no temporary file is left behind.

use std::process::{Command, Stdio};

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox, alive};
use crate::keyring::{Keyring, Provider};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Python];
        two_hundred_concurrent_clients_end_in_the_expected_state,
        writers_killed_mid_update_never_cost_a_foreign_entry,
    ];
    all.extend(trials![[Need::Keyring]; two_hundred_concurrent_clients_on_the_keychain]);
    all
}

const CLIENTS: usize = 200;
const SHARED: &str = "https://shared.example";

/// Runs prepared commands in order; the first failure, described.
fn run_all(commands: Vec<(Command, Option<String>)>) -> Result<(), String> {
    for (mut command, stdin) in commands {
        command
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| e.to_string())?;
        if let Some(text) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .map_err(|e| e.to_string())?;
        }
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "{:?} failed: {}",
                command.get_args().collect::<Vec<_>>(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    Ok(())
}

fn two_hundred_concurrent_clients_end_in_the_expected_state() {
    let sb = Sandbox::new();
    let foreign = "# keep me\nmachine github.com login octo password not-a-wandb-key\n";
    sb.write(&sb.netrc(), foreign);
    let keys = run_clients(&sb);
    // Python's netrc: odd hosts keep their keys, even ones are gone, the shared host
    // holds one of the keys written to it, the foreign entry is untouched.
    for (i, key) in keys.iter().enumerate() {
        let found = sb.python_netrc(&sb.netrc(), &format!("h{i}.example"));
        if i % 2 == 0 {
            assert_eq!(found, None, "h{i} was erased");
        } else {
            assert_eq!(
                found,
                Some(("user".into(), String::new(), key.clone())),
                "h{i}"
            );
        }
    }
    let (_, _, shared) = sb.python_netrc(&sb.netrc(), "shared.example").unwrap();
    assert!(
        (0..CLIENTS).step_by(10).any(|i| keys[i] == shared),
        "the shared host holds a key nobody wrote"
    );
    assert_eq!(
        sb.python_netrc(&sb.netrc(), "github.com"),
        Some(("octo".into(), String::new(), "not-a-wandb-key".into()))
    );
    assert!(sb.read(&sb.netrc()).unwrap().starts_with("# keep me\n"));
    let leftovers: Vec<_> = std::fs::read_dir(&sb.home)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != ".netrc" && name != ".config" && name != ".local")
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

/// Starts the daemon, then runs the clients at once: client `i` stores its key for host
/// `h<i>`, reads it back, erases it when `i` is even, and every tenth also stores its key
/// for the shared host. Returns the keys.
fn run_clients(sb: &Sandbox) -> Vec<String> {
    // The daemon first, so that the clients race on it, not on starting it.
    sb.cmd(&["status"]).run().ok();
    let keys: Vec<String> = (0..CLIENTS).map(|_| sb.key()).collect();
    let url = |i: usize| format!("https://h{i}.example");
    let mut plans = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let command = |args: &[&str]| {
            let mut c = sb.cmd(args).command();
            c.env("WANDB_CRED_NO_AUTOSTART", "1");
            c
        };
        let login = |host: &str| {
            (
                command(&["login", "--host", host, "-"]),
                Some(format!("{key}\n")),
            )
        };
        let mut plan = vec![login(&url(i)), (command(&["get", "--host", &url(i)]), None)];
        if i % 2 == 0 {
            plan.push((command(&["logout", "--host", &url(i)]), None));
        }
        if i % 10 == 0 {
            plan.push(login(SHARED));
        }
        plans.push(plan);
    }
    let workers: Vec<_> = plans
        .into_iter()
        .map(|plan| std::thread::spawn(move || run_all(plan)))
        .collect();
    let failures: Vec<String> = workers
        .into_iter()
        .filter_map(|w| w.join().unwrap().err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} clients failed, e.g. {}",
        failures.len(),
        failures[0]
    );
    keys
}

fn two_hundred_concurrent_clients_on_the_keychain() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let keys = run_clients(&sb);
    for (i, key) in keys.iter().enumerate() {
        let found = kr.lookup(&format!("https://h{i}.example"));
        if i % 2 == 0 {
            assert_eq!(found, None, "h{i} was erased");
        } else {
            assert_eq!(found.as_deref(), Some(key.as_str()), "h{i}");
        }
    }
    let shared = kr.lookup(SHARED).expect("the shared host has a key");
    assert!((0..CLIENTS).step_by(10).any(|i| keys[i] == shared));
    assert!(!sb.netrc().exists(), "a key went to plaintext netrc");
}

/// `kill -9` of writers at random moments of netrc updates, both commands writing
/// themselves and the daemon writing for them: the file always parses (by Python), the
/// foreign entries are all there, and the next write leaves no temporary file behind.
fn writers_killed_mid_update_never_cost_a_foreign_entry() {
    let sb = Sandbox::new();
    let foreign = "# keep me\nmachine github.com login octo password not-a-wandb-key\nmachine other.example login me password s3cret\n";
    sb.write(&sb.netrc(), foreign);
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let check = |round: u32| {
        for (host, login, password) in [
            ("github.com", "octo", "not-a-wandb-key"),
            ("other.example", "me", "s3cret"),
        ] {
            assert_eq!(
                sb.python_netrc(&sb.netrc(), host),
                Some((login.into(), String::new(), password.into())),
                "round {round}: {host} lost"
            );
        }
    };
    for round in 0..120u32 {
        let key = sb.key();
        let host = format!("https://k{}.example", round % 7);
        let through_daemon = round % 3 == 0;
        let mut command = sb.cmd(&["login", "--host", &host, &key]).command();
        if !through_daemon {
            command.env("WANDB_CRED_NO_DAEMON", "1");
        }
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_micros(next() % 4000));
        let victim = if through_daemon {
            sb.daemon_pid().unwrap_or(child.id())
        } else {
            child.id()
        };
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_raw(victim as i32).unwrap(),
            rustix::process::Signal::KILL,
        );
        let _ = child.wait();
        let started = std::time::Instant::now();
        while alive(victim) && started.elapsed() < std::time::Duration::from_secs(5) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        check(round);
    }
    let key = sb.key();
    sb.cmd(&["login", "--host", "https://last.example", &key])
        .run()
        .ok();
    check(120);
    let temporary: Vec<_> = std::fs::read_dir(&sb.home)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(temporary.is_empty(), "left behind: {temporary:?}");
}
