//! Benchmarks that print figures (never asserted): `cargo bench --bench get`.
//!
//! 1. `wandb-cred get` end to end with a warm daemon, next to `git credential-cache get`
//!    against git's own cache daemon (both holding one credential) and `/bin/true`
//!    (the cost of starting a process at all): medians and 90th percentiles.
//! 2. The daemon's throughput and latency percentiles for Get requests with 1, 4 and 16
//!    concurrent clients over the real socket, and its memory (RSS).

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wandb_cred_proto::{self as proto, PROTOCOL, Request, Response};

const BIN: &str = env!("CARGO_BIN_EXE_wandb-cred");
const RUNS: usize = 300;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn time_command(mut make: impl FnMut() -> Command, input: Option<&str>) -> (Duration, Duration) {
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let mut cmd = make();
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        cmd.stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let started = Instant::now();
        let mut child = cmd.spawn().expect("spawn");
        if let Some(text) = input {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        let status = child.wait().unwrap();
        times.push(started.elapsed());
        assert!(status.success(), "a benchmarked command failed");
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.9))
}

fn micros(d: Duration) -> String {
    format!("{:8.0} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list; there are no tests here.
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let run = dir.path().join("run");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&run).unwrap();
    let key = format!("wandb_v1_{}_{}", "A".repeat(27), "b".repeat(49));
    std::fs::write(
        home.join(".netrc"),
        format!("machine api.wandb.ai\n  login user\n  password {key}\n"),
    )
    .unwrap();
    let ours = || {
        let mut cmd = Command::new(BIN);
        cmd.arg("get")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", &run)
            .current_dir(&home);
        cmd
    };
    // Warm: starts the daemon and fills its caches.
    assert!(ours().stdout(Stdio::null()).status().unwrap().success());
    let socket = run.join("wandb-cred/daemon.sock");

    println!("get, end to end ({RUNS} runs each, sequential)      median          p90");
    let (m, p) = time_command(|| Command::new("/bin/true"), None);
    println!(
        "  /bin/true (one process spawn)          {}  {}",
        micros(m),
        micros(p)
    );
    let (ours_median, p) = time_command(ours, None);
    println!(
        "  wandb-cred get (warm daemon)           {}  {}",
        micros(ours_median),
        micros(p)
    );
    git_cache_comparison(dir.path(), &key, ours_median);

    println!();
    println!("daemon Get requests over the socket                 req/s      p50       p99");
    for clients in [1, 4, 16] {
        throughput(&socket, clients, 40_000 / clients);
    }
    if let Some((rss, peak)) = daemon_memory(&run.join("wandb-cred/daemon.pid")) {
        println!();
        println!("daemon memory: RSS {rss} kB, peak {peak} kB");
    }
    let _ = Command::new(BIN)
        .arg("stop")
        .env_clear()
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &run)
        .stderr(Stdio::null())
        .status();
}

fn git_cache_comparison(dir: &Path, key: &str, ours: Duration) {
    let socket = dir.join("git-cache/socket");
    let git = |args: &[&str]| {
        let mut cmd = Command::new("git");
        cmd.arg("credential-cache")
            .arg(format!("--socket={}", socket.display()))
            .args(args);
        cmd.env("HOME", dir);
        cmd
    };
    let stored = git(&["store"])
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(
                format!("protocol=https\nhost=api.wandb.ai\nusername=user\npassword={key}\n\n")
                    .as_bytes(),
            )?;
            child.wait()
        });
    if !stored.is_ok_and(|s| s.success()) {
        println!("  git credential-cache: not available, no comparison");
        return;
    }
    let (m, p) = time_command(
        || git(&["get"]),
        Some("protocol=https\nhost=api.wandb.ai\n\n"),
    );
    println!(
        "  git credential-cache get (warm cache)  {}  {}",
        micros(m),
        micros(p)
    );
    println!(
        "  ratio wandb-cred / git credential-cache: {:.2}",
        ours.as_secs_f64() / m.as_secs_f64()
    );
    let _ = git(&["exit"]).status();
}

fn throughput(socket: &Path, clients: usize, per_client: usize) {
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let socket = socket.to_owned();
            std::thread::spawn(move || {
                let mut stream = UnixStream::connect(&socket).unwrap();
                proto::write_frame(
                    &mut stream,
                    &Request::Hello {
                        protocol: PROTOCOL,
                        client: "bench".into(),
                    },
                )
                .unwrap();
                let _: Response = proto::read_frame(&mut stream).unwrap();
                let get = Request::Get {
                    url: "https://api.wandb.ai".into(),
                    netrc: None,
                };
                let mut latencies = Vec::with_capacity(per_client);
                for _ in 0..per_client {
                    let t = Instant::now();
                    proto::write_frame(&mut stream, &get).unwrap();
                    let _: Response = proto::read_frame(&mut stream).unwrap();
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all: Vec<Duration> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let elapsed = started.elapsed();
    all.sort();
    println!(
        "  {clients:>2} client(s), {:>6} requests              {:>9.0}  {}  {}",
        all.len(),
        all.len() as f64 / elapsed.as_secs_f64(),
        micros(percentile(&all, 0.5)).trim_start(),
        micros(percentile(&all, 0.99)).trim_start()
    );
}

fn daemon_memory(pid_file: &Path) -> Option<(u64, u64)> {
    let pid = std::fs::read_to_string(pid_file)
        .ok()?
        .lines()
        .next()?
        .trim()
        .to_owned();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}
