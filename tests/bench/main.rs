//! Benchmarks that print figures (never asserted): `cargo bench --bench get`
//! (`cargo bench --bench get -- --end-to-end` for part 1 alone; `--with-settings` adds
//! a system settings file, whose ownership every `get` then checks).
//! BENCHMARKS.md records what they printed and on which machine.
//!
//! 1. `get` and `git-credential get` end to end with a warm daemon, next to
//!    `git credential-cache get` against git's own cache daemon (both holding one
//!    credential) and `/bin/true`: interleaved runs, each through the same
//!    `sh -c 'exec ... < request'` wrapper, medians and ratios to git's cache. With
//!    `WANDB_CRED_BENCH_BASELINE=PATH`, another build's `wandb-cred` front is run beside
//!    this one, against the same daemon, to show what a change to the front costs.
//! 2. The daemon: Get throughput and latency percentiles with 1, 8 and 64 busy clients,
//!    then with 1,000 open connections served in turn by 8 clients; its memory idle
//!    and with the 1,000 connections open.
//! 3. The status quo: `login KEY` next to the SDK's `wandb login --no-verify KEY`, and
//!    `get` next to `python -c "import wandb"` finding its key (when the SDK is there:
//!    `WANDB_CRED_TEST_SDK_PYTHON`, or the one tests/run.sh installs).

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wandb_cred_proto::{self as proto, PROTOCOL, Request, Response};

const BIN: &str = env!("CARGO_BIN_EXE_wandb-cred");
const RUNS: usize = 400;
const HELD: usize = 1000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn micros(d: Duration) -> String {
    format!("{:7.0} µs", d.as_secs_f64() * 1e6)
}

fn millis(d: Duration) -> String {
    format!("{:7.3} ms", d.as_secs_f64() * 1e3)
}

/// A private HOME and runtime folder with one key in netrc (or, with `--vault`, in a
/// dev OpenBao server of its own).
struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    run: PathBuf,
    key: String,
    /// Variables every command gets (the Vault store's).
    extra: Vec<(String, String)>,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let (home, run) = (root.join("home"), root.join("run"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&run).unwrap();
        let key = format!("wandb_v1_{}_{}", "A".repeat(27), "b".repeat(49));
        std::fs::write(
            home.join(".netrc"),
            format!("machine api.wandb.ai\n  login user\n  password {key}\n"),
        )
        .unwrap();
        std::fs::write(
            root.join("request"),
            "protocol=https\nhost=api.wandb.ai\n\n",
        )
        .unwrap();
        Self {
            _dir: dir,
            root,
            home,
            run,
            key,
            extra: Vec::new(),
        }
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("XDG_RUNTIME_DIR", &self.run)
            .envs(self.extra.iter().map(|(n, v)| (n, v)))
            .current_dir(&self.home);
        cmd
    }

    fn socket(&self) -> PathBuf {
        self.run.join("wandb-cred/daemon.sock")
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list; there are no tests here.
    }
    let mut world = World::new();
    // `--vault`: the key in a dev OpenBao server (WANDB_CRED_TEST_BAO names `bao`), so
    // `get` is answered from the Vault store's memory (its cache time is an hour here).
    let bao = std::env::args()
        .any(|a| a == "--vault")
        .then(|| vault_world(&mut world));
    // `--encrypted`: the key in the encrypted file store, unlocked in the daemon.
    let encrypted = std::env::args().any(|a| a == "--encrypted");
    if encrypted {
        world
            .extra
            .push(("WANDB_CRED_BACKEND".to_owned(), "encrypted-file".to_owned()));
        std::fs::remove_file(world.home.join(".netrc")).unwrap();
    }
    // `--with-settings`: a system settings file naming the server, as `wandb login
    // --host` leaves one; every `get` then also checks who could have written it.
    if std::env::args().any(|a| a == "--with-settings") {
        let dir = world.home.join(".config/wandb");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("settings"),
            "[default]\nbase_url = https://api.wandb.ai\n",
        )
        .unwrap();
        println!("(with a system settings file)");
    }
    // The daemon, started by hand so that it may hold more connections than the default.
    let mut daemon: Child = world
        .command(BIN)
        .args(["daemon", "--max-clients", "2000"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    if encrypted {
        encrypted_world(&world);
    }
    let warm = world.command(BIN).arg("get").stdout(Stdio::null()).status();
    assert!(warm.unwrap().success(), "wandb-cred get failed");
    end_to_end(&world);
    if !std::env::args().any(|a| a == "--end-to-end") {
        println!();
        daemon_and_status_quo(&world, daemon.id());
    }
    let _ = world
        .command(BIN)
        .arg("stop")
        .stderr(Stdio::null())
        .status();
    let _ = daemon.wait();
    if let Some(mut server) = bao {
        let _ = server.kill();
        let _ = server.wait();
    }
}

/// Makes and unlocks the encrypted store in the running daemon, and stores the key.
fn encrypted_world(world: &World) {
    use std::io::Write;
    let started = Instant::now();
    while !world.socket().exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the daemon did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for (args, input) in [
        (["unlock", "-"], "bench passphrase\n".to_owned()),
        (["login", "-"], world.key.clone()),
    ] {
        let mut child = world
            .command(BIN)
            .args(args)
            .stdin(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "{args:?} failed");
    }
    println!("(the key in the encrypted file store, unlocked in the daemon)");
}

/// Starts `bao server -dev` on a free port, points the world at it and stores the key.
fn vault_world(world: &mut World) -> Child {
    let bao = std::env::var("WANDB_CRED_TEST_BAO").expect("--vault needs WANDB_CRED_TEST_BAO");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("http://127.0.0.1:{port}");
    let server = Command::new(&bao)
        .args([
            "server",
            "-dev",
            &format!("-dev-listen-address=127.0.0.1:{port}"),
            "-dev-root-token-id=bench",
        ])
        .env("HOME", &world.root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for (name, value) in [
        ("WANDB_CRED_BACKEND", "vault"),
        ("VAULT_ADDR", address.as_str()),
        ("VAULT_TOKEN", "bench"),
        ("WANDB_CRED_VAULT_CACHE", "1h"),
    ] {
        world.extra.push((name.to_owned(), value.to_owned()));
    }
    std::fs::remove_file(world.home.join(".netrc")).unwrap();
    let started = Instant::now();
    loop {
        let up = Command::new(&bao)
            .arg("status")
            .env("VAULT_ADDR", &address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if up.is_ok_and(|s| s.success()) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "bao did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut login = world
        .command(BIN)
        .args(["login", "-"])
        .env("WANDB_CRED_NO_DAEMON", "1")
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    login
        .stdin
        .take()
        .unwrap()
        .write_all(world.key.as_bytes())
        .unwrap();
    assert!(login.wait().unwrap().success(), "login into Vault failed");
    println!("(the key in Vault {address}, served from the store's memory)");
    server
}

/// Parts 2 and 3 (skipped with `--end-to-end`).
fn daemon_and_status_quo(world: &World, pid: u32) {
    let idle = daemon_rss(pid);
    daemon_load(world);
    held_connections(world, pid);
    if let Some(rss) = idle {
        println!("  daemon RSS idle (after the end-to-end runs): {rss} kB");
    }
    println!();
    status_quo(world);
}

fn end_to_end(world: &World) {
    // git refuses a cache socket in a folder others can enter.
    let git_dir = world.root.join("git");
    std::fs::create_dir_all(&git_dir).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&git_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let git_socket = git_dir.join("socket");
    let git_socket = git_socket.display();
    let stored = world
        .command("sh")
        .arg("-c")
        .arg(format!(
            "printf 'protocol=https\\nhost=api.wandb.ai\\nusername=api\\npassword={}\\n\\n' | git credential-cache --socket {git_socket} --timeout 3600 store",
            world.key
        ))
        .status();
    let request = world.root.join("request");
    let request = request.display();
    let mut commands = vec![
        ("/bin/true", format!("exec /bin/true < {request}")),
        ("wandb-cred get", format!("exec {BIN} get < {request}")),
        (
            "wandb-cred git-credential get",
            format!("exec {BIN} git-credential get < {request}"),
        ),
    ];
    // Another build's front (`WANDB_CRED_BENCH_BASELINE=/path/to/wandb-cred`), asking the
    // same daemon (it must speak the same protocol): what a change to the front costs.
    if let Ok(baseline) = std::env::var("WANDB_CRED_BENCH_BASELINE") {
        commands.push(("baseline get", format!("exec {baseline} get < {request}")));
        commands.push((
            "baseline git-credential get",
            format!("exec {baseline} git-credential get < {request}"),
        ));
    }
    let have_git = stored.is_ok_and(|s| s.success());
    if have_git {
        commands.push((
            "git credential-cache get",
            format!("exec git credential-cache --socket {git_socket} get < {request}"),
        ));
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(RUNS); commands.len()];
    for _ in 0..RUNS {
        for (i, (_, script)) in commands.iter().enumerate() {
            let started = Instant::now();
            let status = world
                .command("sh")
                .args(["-c", script])
                .stdout(Stdio::null())
                .status()
                .unwrap();
            times[i].push(started.elapsed());
            assert!(status.success(), "{script} failed");
        }
    }
    let medians: Vec<Duration> = times
        .iter_mut()
        .map(|t| {
            t.sort();
            percentile(t, 0.5)
        })
        .collect();
    let git = have_git.then(|| medians[commands.len() - 1]);
    println!("end to end, {RUNS} interleaved runs each through `sh -c 'exec ... < request'`");
    println!("                                      median        p90   vs git credential-cache");
    for (i, (name, _)) in commands.iter().enumerate() {
        let ratio = git.map_or("-".to_owned(), |g| {
            format!("{:.2}x", medians[i].as_secs_f64() / g.as_secs_f64())
        });
        println!(
            "  {name:<32} {}  {}  {ratio}",
            millis(medians[i]),
            millis(percentile(&times[i], 0.9))
        );
    }
    if have_git {
        let _ = world
            .command("git")
            .args(["credential-cache", "--socket"])
            .arg(world.root.join("git/socket"))
            .arg("exit")
            .status();
    } else {
        println!("  (git credential-cache is not available: no comparison)");
    }
}

/// A connection that has said hello.
fn connect(socket: &Path) -> UnixStream {
    let mut stream = UnixStream::connect(socket).unwrap();
    proto::write_frame(
        &mut stream,
        &Request::Hello {
            protocol: PROTOCOL,
            client: "bench".into(),
        },
    )
    .unwrap();
    let _: Response = proto::read_frame(&mut stream).unwrap();
    stream
}

fn get_request(world: &World) -> Request {
    Request::Get {
        url: "https://api.wandb.ai".into(),
        netrc: Some(world.home.join(".netrc").to_string_lossy().into_owned()),
    }
}

fn timed_get(stream: &mut UnixStream, get: &Request) -> Duration {
    let started = Instant::now();
    proto::write_frame(stream, get).unwrap();
    match proto::read_frame::<Response>(stream).unwrap() {
        Response::Key { .. } => started.elapsed(),
        other => panic!("the daemon answered {other:?}"),
    }
}

fn report(label: &str, mut all: Vec<Duration>, elapsed: Duration) {
    all.sort();
    println!(
        "  {label:<40} {:>9.0}  {}  {}",
        all.len() as f64 / elapsed.as_secs_f64(),
        micros(percentile(&all, 0.5)),
        micros(percentile(&all, 0.99))
    );
}

fn daemon_load(world: &World) {
    println!("daemon, Get requests over the socket (key found)        req/s        p50        p99");
    for clients in [1, 8, 64] {
        let per_client = 80_000 / clients;
        let started = Instant::now();
        let workers: Vec<_> = (0..clients)
            .map(|_| {
                let (socket, get) = (world.socket(), get_request(world));
                std::thread::spawn(move || {
                    let mut stream = connect(&socket);
                    (0..per_client)
                        .map(|_| timed_get(&mut stream, &get))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let all: Vec<Duration> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        report(
            &format!("{clients} busy client(s), {} requests", all.len()),
            all,
            started.elapsed(),
        );
    }
}

/// 1,000 connections open at once, each served in turn by 8 clients (125 each, round
/// robin), so every connection is live and the daemon holds all of them.
fn held_connections(world: &World, pid: u32) {
    let streams: Vec<UnixStream> = (0..HELD).map(|_| connect(&world.socket())).collect();
    let rss = daemon_rss(pid);
    let mut groups: Vec<Vec<UnixStream>> = (0..8).map(|_| Vec::new()).collect();
    for (i, stream) in streams.into_iter().enumerate() {
        groups[i % 8].push(stream);
    }
    let rounds = 20;
    let started = Instant::now();
    let workers: Vec<_> = groups
        .into_iter()
        .map(|mut group| {
            let get = get_request(world);
            std::thread::spawn(move || {
                let mut times = Vec::new();
                for _ in 0..rounds {
                    for stream in &mut group {
                        times.push(timed_get(stream, &get));
                    }
                }
                times
            })
        })
        .collect();
    let all: Vec<Duration> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    report(
        &format!("{HELD} open connections, 8 clients, {}", all.len()),
        all,
        started.elapsed(),
    );
    if let Some(rss) = rss {
        println!("  daemon RSS with {HELD} connections open: {rss} kB");
    }
}

fn daemon_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn sdk_python() -> Option<PathBuf> {
    let configured = std::env::var_os("WANDB_CRED_TEST_SDK_PYTHON").map(PathBuf::from);
    let installed =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/wandb-sdk-0.31.0/bin/python");
    configured
        .into_iter()
        .chain(std::iter::once(installed))
        .find(|p| p.exists())
}

/// The median of `runs` runs of a command made by `make` (which must succeed).
fn median_of(runs: usize, mut make: impl FnMut() -> Command) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            let status = make()
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "a status-quo command failed");
            started.elapsed()
        })
        .collect();
    times.sort();
    percentile(&times, 0.5)
}

fn status_quo(world: &World) {
    let Some(python) = sdk_python() else {
        println!("status quo: the W&B SDK is not installed (run tests/run.sh once); skipped");
        return;
    };
    let key = world.key.clone();
    println!(
        "status quo (the W&B SDK {}), medians of 15 runs",
        python.display()
    );
    let ours = median_of(15, || {
        let mut cmd = world.command(BIN);
        cmd.args(["login", "--host", "http://bench.example", &key]);
        cmd
    });
    let sdk = median_of(15, || {
        let mut cmd = world.command(&python);
        cmd.args([
            "-m",
            "wandb",
            "login",
            "--no-verify",
            "--host",
            "http://bench.example",
            &key,
        ])
        .env("WANDB_SILENT", "true");
        cmd
    });
    println!("  wandb-cred login KEY                   {}", millis(ours));
    println!(
        "  wandb login --no-verify KEY (SDK)      {}  ({:.0}x)",
        millis(sdk),
        sdk.as_secs_f64() / ours.as_secs_f64()
    );
    let ours = median_of(15, || {
        let mut cmd = world.command(BIN);
        cmd.arg("get");
        cmd
    });
    let script = "from wandb.sdk import wandb_setup\nfrom wandb.sdk.lib.wbauth import authenticate_session\ns = wandb_setup.singleton().settings\nauthenticate_session(host=s.base_url, source='bench', prompt=False, update_session=False)";
    let sdk = median_of(15, || {
        let mut cmd = world.command(&python);
        cmd.args(["-c", script]);
        cmd
    });
    println!("  wandb-cred get                         {}", millis(ours));
    println!(
        "  python: import wandb, find the key     {}  ({:.0}x)",
        millis(sdk),
        sdk.as_secs_f64() / ours.as_secs_f64()
    );
}
