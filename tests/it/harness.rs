//! The test harness: a sandbox per test (own HOME, work folder, environment), the real
//! binary run with a deadline, secret-leak checks on every output, and Python's own
//! `netrc` and `configparser` as independent oracles.

// Parts of the harness serve only the Unix-only modules.
#![cfg_attr(windows, allow(dead_code))]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
#[cfg(unix)]
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};

pub const BIN: &str = env!("CARGO_BIN_EXE_wandb-cred");
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Something a test needs from the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// `python3` with its standard library.
    Python,
    /// A Python with the official W&B SDK: `WANDB_CRED_TEST_SDK_PYTHON`.
    Sdk,
    /// Pythons with the oldest SDK the hook supports and one it does not
    /// (`WANDB_CRED_TEST_SDK_OLDEST_PYTHON`, `WANDB_CRED_TEST_SDK_UNSUPPORTED_PYTHON`).
    OlderSdks,
    /// dbus-daemon, gnome-keyring-daemon and secret-tool, for a private Secret Service.
    Keyring,
    /// Root, to create a second user and connect as another uid (useradd, setpriv).
    OtherUser,
    /// systemd-socket-activate and systemd-analyze (Debian package `systemd`).
    SystemdTools,
    /// git, for the credential helper.
    Git,
    /// groff, to render the manual pages (Debian: groff-base).
    Groff,
    /// openssl, to make a private CA (Debian: openssl).
    OpenSsl,
    /// A kernel that lets this process use keys, `keyctl` (Debian: keyutils), and
    /// `unshare`/`nsenter` for a user keyring of the test's own.
    KernelKeyring,
    /// OpenSSH's server and client, to run sshd on 127.0.0.1 (Debian: openssh-server).
    Sshd,
    /// systemd itself, run as a user manager for a throwaway user (Debian: systemd).
    SystemdUser,
    /// The age program (Debian: age), to open the encrypted store's file independently.
    Age,
    /// A C compiler, for small helpers such as a seccomp filter (Debian: gcc).
    Gcc,
    /// OpenBao's `bao` program (`WANDB_CRED_TEST_BAO`; tests/run.sh installs it).
    Bao,
    /// The wheel, sdist and .deb tests/packages.sh builds (`WANDB_CRED_TEST_PACKAGES`).
    Packages,
    /// Root and dpkg, to install the .deb (never over an installed wandb-cred package).
    Deb,
}

#[cfg(unix)]
pub fn tools_missing(tools: &[&str], hint: &str) -> Option<String> {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    (!missing.is_empty()).then(|| format!("missing {} ({hint})", missing.join(", ")))
}

impl Need {
    #[cfg(unix)]
    fn missing(self) -> Option<String> {
        static PYTHON: OnceLock<bool> = OnceLock::new();
        static SDK: OnceLock<bool> = OnceLock::new();
        static KEYRING: OnceLock<Option<String>> = OnceLock::new();
        match self {
            Need::OtherUser => {
                if !rustix::process::getuid().is_root() {
                    return Some("not running as root".to_owned());
                }
                tools_missing(&["useradd", "setpriv"], "Debian: passwd util-linux")
            }
            Need::SystemdTools => tools_missing(
                &["systemd-socket-activate", "systemd-analyze"],
                "Debian: systemd",
            ),
            Need::Git => tools_missing(&["git"], "Debian: git"),
            Need::Groff => tools_missing(&["groff"], "Debian: groff-base"),
            Need::OpenSsl => tools_missing(&["openssl"], "Debian: openssl"),
            Need::Sshd => crate::sshd::tools_missing_for_sshd(),
            Need::SystemdUser => crate::service::systemd_user_missing(),
            Need::Packages => crate::packages::packages_missing(),
            Need::Deb => crate::packages::deb_missing(),
            Need::Age => tools_missing(&["age"], "Debian: age"),
            Need::Gcc => tools_missing(&["gcc"], "Debian: gcc"),
            Need::Bao => crate::bao::bao_missing(),
            Need::KernelKeyring => tools_missing(
                &["keyctl", "unshare", "nsenter"],
                "Debian: keyutils util-linux",
            )
            .or_else(|| {
                let works = Command::new("unshare")
                    .args(["--user", "--map-root-user", "keyctl", "show", "@u"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                (!works).then(|| "the kernel refuses keyctl in a user namespace".to_owned())
            }),
            Need::Keyring => KEYRING.get_or_init(crate::keyring::tools_missing).clone(),
            Need::Python => (!*PYTHON
                .get_or_init(|| python_works("python3", "import netrc, configparser")))
            .then(|| "python3 is not installed".to_owned()),
            Need::OlderSdks => (crate::hook_servers::oldest_sdk_python().is_none()
                || crate::hook_servers::unsupported_sdk_python().is_none())
            .then(|| {
                "the older W&B SDKs are not available (set WANDB_CRED_TEST_SDK_OLDEST_PYTHON and WANDB_CRED_TEST_SDK_UNSUPPORTED_PYTHON, or run tests/run.sh)".to_owned()
            }),
            Need::Sdk => (!*SDK
                .get_or_init(|| sdk_python().is_some_and(|p| python_works(&p, "import wandb"))))
            .then(|| {
                "the W&B SDK is not available (set WANDB_CRED_TEST_SDK_PYTHON, or run tests/run.sh)"
                    .to_owned()
            }),
        }
    }

    /// The Windows suite runs under Wine on Linux: a Windows program there cannot wait
    /// for the Linux python3, git or gnome-keyring, so tests needing them are ignored
    /// (and counted as such).
    #[cfg(windows)]
    fn missing(self) -> Option<String> {
        Some(format!(
            "{self:?} is not available to Windows programs under Wine"
        ))
    }
}

#[cfg(unix)]
fn python_works(python: &str, code: &str) -> bool {
    Command::new(python)
        .args(["-c", code])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn sdk_python() -> Option<String> {
    std::env::var("WANDB_CRED_TEST_SDK_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
}

/// A test trial. A test whose needs are missing is reported as ignored, except when
/// `WANDB_CRED_TEST_REQUIRE_ALL=1` (CI), where it fails instead.
pub fn trial(name: &str, needs: &[Need], test: impl FnOnce() + Send + 'static) -> Trial {
    let missing: Vec<String> = needs.iter().filter_map(|n| n.missing()).collect();
    let name = name.trim_start_matches("it::").to_owned();
    if missing.is_empty() {
        return Trial::test(name, move || {
            test();
            Ok(())
        });
    }
    let why = missing.join("; ");
    if std::env::var("WANDB_CRED_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1") {
        Trial::test(name, move || {
            Err(Failed::from(format!("required but missing: {why}")))
        })
    } else {
        eprintln!("note: skipping {name}: {why}");
        Trial::test(name, || Ok(())).with_ignored_flag(true)
    }
}

/// `trials![needs; f1, f2]` or `trials![f1, f2]`: trials named after their functions.
#[macro_export]
macro_rules! trials {
    ([$($need:expr),*]; $($f:ident),* $(,)?) => {{
        let needs: &[$crate::harness::Need] = &[$($need),*];
        vec![$($crate::harness::trial(concat!(module_path!(), "::", stringify!($f)), needs, $f)),*]
    }};
    ($($f:ident),* $(,)?) => { $crate::trials!([]; $($f),*) };
}

/// A synthetic `wandb_v1_` key (86 characters) unique to this process and call.
pub fn v1_key() -> String {
    format!("wandb_v1_{}_{}", random_alnum(27), random_alnum(49))
}

/// A synthetic legacy key: 40 lowercase hex characters.
pub fn legacy_key() -> String {
    random_alnum(200)
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .cycle()
        .take(40)
        .collect()
}

fn random_alnum(n: usize) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut state = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ALPHABET[(state % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// The variables that give a sandbox its own daemon and runtime files. Unix: the runtime
/// folder (`XDG_RUNTIME_DIR`). Windows: the profile folder (`USERPROFILE`, which is `~`
/// there), the temp folder (where the daemon's files go) and a pipe name of its own.
#[cfg(unix)]
fn platform_env(runtime: &Path) -> Vec<(String, String)> {
    vec![
        (
            "XDG_RUNTIME_DIR".to_owned(),
            runtime.to_str().unwrap().to_owned(),
        ),
        // The kernel keyring is one per uid, shared by every test of a run: the shared
        // tests expect what a machine without it gives (netrc), and the `kernel` tests
        // turn it on inside a user namespace of their own.
        ("WANDB_CRED_NO_KERNEL_KEYRING".to_owned(), "1".to_owned()),
    ]
}

#[cfg(windows)]
fn platform_env(runtime: &Path) -> Vec<(String, String)> {
    let home = runtime.parent().unwrap().join("home");
    let pipe = format!(r"\\.\pipe\wandb-cred-it-{}", random_alnum(12));
    let mut env: Vec<(String, String)> = ["SystemRoot", "windir", "USERNAME", "PATHEXT", "COMSPEC"]
        .iter()
        .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?)))
        .collect();
    env.extend([
        // The Credential Manager is always there and shared by every test of a run; the
        // shared tests expect what a Linux sandbox without a keychain gives (netrc), and
        // the `windows` tests ask for the keychain themselves.
        ("WANDB_CRED_BACKEND".to_owned(), "netrc".to_owned()),
        ("USERPROFILE".to_owned(), home.to_str().unwrap().to_owned()),
        ("TEMP".to_owned(), runtime.to_str().unwrap().to_owned()),
        ("TMP".to_owned(), runtime.to_str().unwrap().to_owned()),
        ("WANDB_CRED_SOCKET".to_owned(), pipe),
    ]);
    env
}

/// A private world for one test: HOME, a work folder (the current directory of every
/// command), and an environment with nothing inherited but PATH (and, on Windows, the
/// few variables every Windows program needs).
pub struct Sandbox {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
    pub work: PathBuf,
    env: Vec<(String, String)>,
    secrets: RefCell<Vec<String>>,
    /// With [`Sandbox::own_kernel_keyring`]: the process holding the test's user
    /// namespace, which every command enters.
    #[cfg(unix)]
    namespace: Option<Reaped>,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("wandb-cred-it.")
            .tempdir()
            .unwrap();
        let home = dir.path().join("home");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        // No session bus unless a test starts one: never the real user's keychain. The
        // daemon's socket, pid and log files live here too.
        let runtime = dir.path().join("run");
        std::fs::create_dir_all(&runtime).unwrap();
        Self {
            root: dir.path().to_owned(),
            _dir: dir,
            home,
            work,
            env: platform_env(&runtime),
            secrets: RefCell::new(Vec::new()),
            #[cfg(unix)]
            namespace: None,
        }
    }

    /// Turns the kernel keyring on, with a user keyring of this sandbox's own: every
    /// later command runs in a user namespace (root mapped to root) that a holder
    /// process keeps alive, so its keys are seen by this sandbox's commands and daemon
    /// and by no other test.
    #[cfg(unix)]
    pub fn own_kernel_keyring(&mut self) {
        let holder = Command::new("unshare")
            .args(["--user", "--map-root-user", "sleep", "3600"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let holder = Reaped(holder);
        // Wait until the holder is inside its namespace.
        let own = std::fs::read_link("/proc/self/ns/user").unwrap();
        let started = Instant::now();
        while std::fs::read_link(format!("/proc/{}/ns/user", holder.id()))
            .ok()
            .as_ref()
            == Some(&own)
            || std::fs::read_link(format!("/proc/{}/ns/user", holder.id())).is_err()
        {
            assert!(started.elapsed() < DEADLINE, "unshare did not start");
            std::thread::sleep(Duration::from_millis(2));
        }
        self.namespace = Some(holder);
        self.remove_env("WANDB_CRED_NO_KERNEL_KEYRING");
    }

    /// `wandb-cred get` succeeds and prints exactly `key`.
    pub fn get_gives(&self, key: &str) {
        self.cmd(&["get"])
            .key_on_stdout()
            .run()
            .ok()
            .stdout_is(&format!("{key}\n"));
    }

    /// `keyctl` with these arguments in this sandbox's user namespace: its stdout, or
    /// `None` when it failed.
    #[cfg(unix)]
    pub fn keyctl(&self, args: &[&str]) -> Option<String> {
        let out = self.program("keyctl", args).command().output().unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A new key that no output of this sandbox may show (except where allowed).
    pub fn key(&self) -> String {
        self.secret(v1_key())
    }

    /// Registers a key so every later command checks its output for it.
    pub fn secret(&self, key: String) -> String {
        self.secrets.borrow_mut().push(key.clone());
        key
    }

    /// Sets a variable for every later command of this sandbox.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_owned(), value.to_owned()));
    }

    /// Removes a variable from the environment of every later command.
    pub fn remove_env(&mut self, name: &str) {
        self.env.retain(|(n, _)| n != name);
    }

    /// The netrc file a new login creates: `~/.netrc`, on Windows `~/_netrc`.
    pub fn netrc(&self) -> PathBuf {
        self.home
            .join(if cfg!(windows) { "_netrc" } else { ".netrc" })
    }

    /// A `bin` folder put first on PATH for every later command, holding `wandb-cred`
    /// and `git-credential-wandb` (links to the binary under test) and any scripts a
    /// test adds with [`Sandbox::script`].
    #[cfg(unix)]
    pub fn bin_dir(&mut self) -> PathBuf {
        let bin = self.root.join("bin");
        if !bin.exists() {
            std::fs::create_dir_all(&bin).unwrap();
            for name in ["wandb-cred", "git-credential-wandb"] {
                std::os::unix::fs::symlink(BIN, bin.join(name)).unwrap();
            }
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![bin.clone()];
            dirs.extend(std::env::split_paths(&path));
            let joined = std::env::join_paths(dirs).unwrap();
            self.set_env("PATH", joined.to_str().unwrap());
        }
        bin
    }

    /// An executable script in the sandbox's `bin` folder.
    #[cfg(unix)]
    pub fn script(&mut self, name: &str, text: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.bin_dir().join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    pub fn system_settings(&self) -> PathBuf {
        self.home.join(".config").join("wandb").join("settings")
    }

    pub fn workspace_settings(&self) -> PathBuf {
        self.work.join("wandb").join("settings")
    }

    pub fn write(&self, path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// The file's contents, or `None` when it does not exist.
    pub fn read(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }

    /// A command on the real binary.
    pub fn cmd(&self, args: &[&str]) -> Run<'_> {
        self.program(BIN, args)
    }

    /// Any program, run in this sandbox's folder and environment (e.g. git, which then
    /// runs the binary as its credential helper).
    pub fn program(&self, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Run<'_> {
        let mut command = self.command_for(program.as_ref());
        command
            .args(args)
            .current_dir(&self.work)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home);
        for (name, value) in &self.env {
            command.env(name, value);
        }
        Run {
            sandbox: self,
            command,
            stdin: None,
            key_on_stdout: false,
        }
    }

    /// A command for `program`, inside this sandbox's user namespace when it has one.
    fn command_for(&self, program: &std::ffi::OsStr) -> Command {
        #[cfg(unix)]
        if let Some(holder) = &self.namespace {
            let mut command = Command::new("nsenter");
            command
                .args(["--preserve-credentials", "--user", "--target"])
                .arg(holder.id().to_string())
                .arg("--")
                .arg(program);
            return command;
        }
        Command::new(program)
    }

    /// Python's `netrc.netrc(path).authenticators(host)`.
    pub fn python_netrc(&self, path: &Path, host: &str) -> Option<(String, String, String)> {
        let out = python(
            "import netrc, json, sys; print(json.dumps(netrc.netrc(sys.argv[1]).authenticators(sys.argv[2])))",
            &[path.to_str().unwrap(), host],
        );
        serde_json::from_str(&out).unwrap()
    }

    /// Python's `configparser` view of a file: section -> key -> value.
    pub fn python_settings(&self, path: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
        let out = python(
            "import configparser, json, sys\nc = configparser.ConfigParser()\nc.read(sys.argv[1])\nprint(json.dumps({s: dict(c[s]) for s in c.sections()}))",
            &[path.to_str().unwrap()],
        );
        serde_json::from_str(&out).unwrap()
    }

    fn check_secrets(&self, what: &str, text: &str, report: &dyn Fn() -> String) {
        for secret in self.secrets.borrow().iter() {
            assert!(
                !text.contains(secret.as_str()),
                "a key appeared on {what}\n{}",
                report()
            );
        }
    }
}

/// A throwaway venv (no pip) made by `base` in `dir`: its Python and its site-packages.
#[cfg(unix)]
pub fn make_venv(base: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    let made = Command::new(base)
        .args(["-m", "venv", "--without-pip"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(made.success(), "{} -m venv failed", base.display());
    let python = dir.join("bin/python");
    let site = purelib(&python);
    (python, site)
}

/// A throwaway venv in the sandbox whose Python sees the shared SDK's packages (through
/// a `.pth` path line; the shared venv is only read): its Python and site-packages.
#[cfg(unix)]
pub fn sdk_venv(sb: &Sandbox) -> (PathBuf, PathBuf) {
    let shared = PathBuf::from(sdk_python().expect("checked by Need::Sdk"));
    let (python, site) = make_venv(&shared, &sb.root.join("venv"));
    let shared_site = purelib(&shared);
    std::fs::write(
        site.join("zz_shared_sdk.pth"),
        format!("{}\n", shared_site.display()),
    )
    .unwrap();
    (python, site)
}

/// The arguments of the one-line `wandb-cred ...` recipe NAME from the manual, with
/// each word `host` replaced by `with` (a test's sshd options and destination, say).
#[cfg(unix)]
pub fn recipe_args(name: &str, host: &str, with: &[String]) -> Vec<String> {
    let recipe = crate::doc_blocks::recipe(name);
    let mut words = recipe.split_whitespace();
    assert_eq!(words.next(), Some("wandb-cred"), "recipe {name}: {recipe}");
    words
        .flat_map(|w| {
            if w == host {
                with.to_vec()
            } else {
                vec![w.to_owned()]
            }
        })
        .collect()
}

/// [`sdk_venv`], activated for every later command of the sandbox (`VIRTUAL_ENV`, and
/// its `bin` first on `PATH`), as `source .venv/bin/activate` would.
#[cfg(unix)]
pub fn activate_sdk_venv(sb: &mut Sandbox) {
    let (python, _) = sdk_venv(sb);
    activate_venv(sb, &python);
}

/// The venv of `python` activated for every later command of the sandbox.
#[cfg(unix)]
pub fn activate_venv(sb: &mut Sandbox, python: &Path) {
    let bin = python.parent().unwrap();
    let path = match sb.var("PATH") {
        Some(path) => path.to_owned(),
        None => std::env::var("PATH").unwrap_or_default(),
    };
    sb.set_env("PATH", &format!("{}:{path}", bin.display()));
    sb.set_env("VIRTUAL_ENV", bin.parent().unwrap().to_str().unwrap());
}

/// Where a Python installs packages (`sysconfig`'s purelib).
#[cfg(unix)]
pub fn purelib(python: &Path) -> PathBuf {
    let out = Command::new(python)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} cannot say its purelib",
        python.display()
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Runs python3 with a script and arguments; its stdout, or a panic with its stderr.
pub fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub struct Run<'s> {
    sandbox: &'s Sandbox,
    command: Command,
    stdin: Option<Vec<u8>>,
    key_on_stdout: bool,
}

impl Run<'_> {
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.command.env(name, value);
        self
    }

    /// Runs in `dir` instead of the sandbox's work folder.
    pub fn dir(mut self, dir: &Path) -> Self {
        self.command.current_dir(dir);
        self
    }

    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.as_bytes().to_vec());
        self
    }

    pub fn stdin_bytes(mut self, bytes: Vec<u8>) -> Self {
        self.stdin = Some(bytes);
        self
    }

    /// This command prints a key on stdout by design (`get`).
    pub fn key_on_stdout(mut self) -> Self {
        self.key_on_stdout = true;
        self
    }

    pub fn command(self) -> Command {
        self.command
    }

    pub fn run(mut self) -> Outcome {
        self.command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let description = describe(&self.command, &self.sandbox.secrets.borrow());
        let mut child = self
            .command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {description}: {e}"));
        if let Some(input) = self.stdin.take() {
            let mut pipe = child.stdin.take().unwrap();
            std::thread::spawn(move || pipe.write_all(&input));
        }
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let out = std::thread::spawn(move || {
            let mut s = String::new();
            stdout.read_to_string(&mut s).map(|_| s)
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            stderr.read_to_string(&mut s).map(|_| s)
        });
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > DEADLINE {
                child.kill().ok();
                child.wait().ok();
                panic!("{description} did not finish within {DEADLINE:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let outcome = Outcome {
            code: status.code().unwrap_or(-1),
            stdout: out.join().unwrap().unwrap_or_default(),
            stderr: err.join().unwrap().unwrap_or_default(),
            description,
        };
        let report = || outcome.report();
        self.sandbox
            .check_secrets("stderr", &outcome.stderr, &report);
        self.sandbox
            .check_secrets("the daemon's log", &self.sandbox.daemon_logs(), &report);
        if !self.key_on_stdout {
            self.sandbox
                .check_secrets("stdout", &outcome.stdout, &report);
        }
        outcome
    }
}

/// The command line for failure reports, with every known key masked.
fn describe(command: &Command, secrets: &[String]) -> String {
    let mut text = format!("{}", command.get_program().to_string_lossy());
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    for secret in secrets {
        text = text.replace(secret.as_str(), "<key>");
    }
    text
}

/// What a command did.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    description: String,
}

impl Outcome {
    pub fn report(&self) -> String {
        format!(
            "command: {}\nexit code: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.description, self.code, self.stdout, self.stderr
        )
    }

    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success\n{}", self.report());
        self
    }

    #[track_caller]
    pub fn fails(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            code,
            "expected exit code {code}\n{}",
            self.report()
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\n{}",
            self.report()
        );
        self
    }

    #[track_caller]
    pub fn stderr_lacks(&self, text: &str) -> &Self {
        assert!(
            !self.stderr.contains(text),
            "stderr has {text:?}\n{}",
            self.report()
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n{}",
            self.report()
        );
        self
    }

    #[track_caller]
    pub fn stdout_lacks(&self, text: &str) -> &Self {
        assert!(
            !self.stdout.contains(text),
            "stdout holds {text:?}\n{}",
            self.report()
        );
        self
    }

    #[track_caller]
    pub fn stdout_is(&self, text: &str) -> &Self {
        assert_eq!(self.stdout, text, "unexpected stdout\n{}", self.report());
        self
    }
}

impl Sandbox {
    /// Every file of the sandbox with its bytes, except runtime folders (`run`: the
    /// daemon's socket, pid and log files).
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        snapshot(&self.root)
    }

    /// The runtime folder commands use now (`XDG_RUNTIME_DIR`).
    #[cfg(unix)]
    pub fn runtime_dir(&self) -> PathBuf {
        self.var("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.join("run"))
    }

    /// A variable set for this sandbox's commands.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The daemon's folder (socket, pid file, log) for this sandbox.
    #[cfg(unix)]
    pub fn daemon_dir(&self) -> PathBuf {
        self.runtime_dir().join("wandb-cred")
    }

    /// The daemon's folder (pid file, lock, log) for this sandbox: named after its pipe
    /// in its temp folder.
    #[cfg(windows)]
    pub fn daemon_dir(&self) -> PathBuf {
        let pipe = self.var("WANDB_CRED_SOCKET").unwrap();
        self.root
            .join("run")
            .join(pipe.rsplit('\\').next().unwrap())
    }

    /// The pid of the daemon serving this sandbox, if one is running.
    #[cfg(unix)]
    pub fn daemon_pid(&self) -> Option<u32> {
        pid_in(&self.daemon_dir()).filter(|pid| alive(*pid))
    }

    /// Every folder a daemon of this sandbox may use: the default runtime folder and
    /// the one a private keyring brings.
    #[cfg(unix)]
    fn daemon_dirs(&self) -> Vec<PathBuf> {
        vec![
            self.root.join("run/wandb-cred"),
            self.root.join("keyring/run/wandb-cred"),
        ]
    }

    #[cfg(windows)]
    fn daemon_dirs(&self) -> Vec<PathBuf> {
        vec![self.daemon_dir()]
    }

    /// Every daemon log of this sandbox, to check for leaked keys.
    fn daemon_logs(&self) -> String {
        self.daemon_dirs()
            .iter()
            .filter_map(|dir| std::fs::read_to_string(dir.join("daemon.log")).ok())
            .collect()
    }
}

/// The pid in a daemon folder's pid file.
pub fn pid_in(dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(dir.join("daemon.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}

/// Whether a process exists and has not exited (zombies count as gone).
#[cfg(unix)]
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// Stops a process: SIGTERM, wait up to 10 s, then SIGKILL.
#[cfg(unix)]
pub fn stop_process(pid: u32) {
    let Some(p) = rustix::process::Pid::from_raw(pid as i32) else {
        return;
    };
    let _ = rustix::process::kill_process(p, rustix::process::Signal::TERM);
    let started = Instant::now();
    while alive(pid) {
        if started.elapsed() > Duration::from_secs(10) {
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A process a test started, stopped when the guard goes out of scope, even when the
/// test fails half way.
pub struct Reaped(pub std::process::Child);

impl Reaped {
    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            #[cfg(unix)]
            stop_process(self.0.id());
            #[cfg(windows)]
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Daemons this sandbox's commands started are stopped with it.
        #[cfg(unix)]
        for dir in self.daemon_dirs() {
            if let Some(pid) = pid_in(&dir) {
                stop_process(pid);
            }
        }
        #[cfg(windows)]
        if pid_in(&self.daemon_dir()).is_some() {
            let mut stop = self.cmd(&["stop"]).command();
            let _ = stop.stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
    }
}

/// Copies a program and waits until it can be run: while another thread of this test
/// binary forks, its child holds the copy's write descriptor until it execs, and running
/// the copy then fails with "Text file busy" (ETXTBSY).
#[cfg(unix)]
pub fn copy_program(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
    let started = Instant::now();
    loop {
        match Command::new(to)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            Err(e) if e.raw_os_error() == Some(libc_etxtbsy()) && started.elapsed() < DEADLINE => {
                std::thread::sleep(Duration::from_millis(5));
            }
            _ => return,
        }
    }
}

/// Puts both programs (the front and the full one) into `dir`, as an install or an
/// upgrade does: the full program is written beside and renamed over any old one (a new
/// file, never the running one changed in place). The front's path.
#[cfg(unix)]
pub fn install_programs(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let full = Path::new(BIN).with_file_name("wandb-cred-full");
    copy_program(&full, &dir.join("wandb-cred-full.new"));
    std::fs::rename(dir.join("wandb-cred-full.new"), dir.join("wandb-cred-full")).unwrap();
    if !dir.join("wandb-cred").exists() {
        copy_program(Path::new(BIN), &dir.join("wandb-cred"));
    }
    dir.join("wandb-cred")
}

#[cfg(unix)]
fn libc_etxtbsy() -> i32 {
    rustix::io::Errno::TXTBSY.raw_os_error()
}

/// Every file below `dir` with its bytes, to show that a failed command changed nothing.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let kind = std::fs::symlink_metadata(&path).unwrap().file_type();
            if kind.is_dir() && path.file_name().is_some_and(|n| n == "run") {
                continue;
            }
            // Every edit takes wandb-cred's lock, an empty file in its state folder
            // (README "Files"); it never holds anything.
            if path.ends_with("wandb-cred/edit.lock") {
                continue;
            }
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// The uid and gid of a local user made for tests, created when missing.
#[cfg(unix)]
pub fn other_user(name: &str) -> (u32, u32) {
    let id = |flag: &str| {
        let out = Command::new("id").args([flag, name]).output().unwrap();
        out.status.success().then(|| {
            String::from_utf8(out.stdout)
                .unwrap()
                .trim()
                .parse::<u32>()
                .unwrap()
        })
    };
    if id("-u").is_none() {
        let out = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                name,
            ])
            .output()
            .unwrap();
        // Another test may have created it at the same moment.
        assert!(
            out.status.success() || id("-u").is_some(),
            "useradd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (id("-u").unwrap(), id("-g").unwrap())
}

#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}
