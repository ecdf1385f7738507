//! `wandb-cred service install/uninstall` against a real systemd user manager: one
//! per test, run for a throwaway user in a mount namespace of its own (where
//! `/run/systemd/system` says systemd is running) and a cgroup delegated to it, the
//! way logind starts `user@.service`. Commands run as that user inside the namespace.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{BIN, Need, Outcome, Reaped, Run, Sandbox, alive, trial};
use libtest_mimic::Trial;

pub fn tests() -> Vec<Trial> {
    let needs = [
        Need::OtherUser,
        Need::SystemdTools,
        Need::SystemdUser,
        Need::KernelKeyring,
    ];
    let mut trials = vec![
        trial(
            "service::install_runs_the_daemon_under_systemd_and_uninstall_removes_it",
            &needs,
            install_runs_the_daemon_under_systemd_and_uninstall_removes_it,
        ),
        trial(
            "service::install_takes_over_from_a_daemon_started_on_demand",
            &needs,
            install_takes_over_from_a_daemon_started_on_demand,
        ),
        trial(
            "service::install_follows_the_program_when_it_moved",
            &needs,
            install_follows_the_program_when_it_moved,
        ),
        trial(
            "service::unit_files_it_did_not_write_are_left_alone",
            &needs,
            unit_files_it_did_not_write_are_left_alone,
        ),
    ];
    trials.extend(crate::trials![[Need::SystemdTools]; the_shipped_unit_names_a_program_that_may_not_be_there]);
    trials.extend(crate::trials![without_a_user_manager_nothing_is_installed]);
    trials
}

/// The cgroup v2 hierarchy (unified or hybrid), where a manager gets its own cgroup.
fn cgroup2_root() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mounts.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let fs_type = right.split_whitespace().next()?;
        let mount_point = left.split_whitespace().nth(4)?;
        (fs_type == "cgroup2").then(|| PathBuf::from(mount_point))
    })
}

pub fn systemd_user_missing() -> Option<String> {
    if !Path::new("/lib/systemd/systemd").exists() {
        return Some("missing /lib/systemd/systemd (Debian: systemd)".to_owned());
    }
    crate::harness::tools_missing(
        &["systemctl", "unshare", "nsenter"],
        "Debian: systemd util-linux",
    )
    .or_else(|| {
        cgroup2_root()
            .is_none()
            .then(|| "no cgroup2 hierarchy is mounted".to_owned())
    })
}

/// A systemd user manager for one throwaway user; stopped (and its cgroup removed)
/// when dropped.
pub struct UserManager {
    uid: u32,
    gid: u32,
    home: PathBuf,
    runtime: PathBuf,
    cgroup: PathBuf,
    /// The mount namespace's holder: `unshare`, then the manager itself.
    manager: Reaped,
}

impl UserManager {
    pub fn start(user: &str) -> Self {
        let (uid, gid, home) = crate::sshd::remote_user(user);
        let runtime = PathBuf::from(format!("/tmp/wandb-cred-it-run-{uid}"));
        let _ = std::fs::remove_dir_all(&runtime);
        std::fs::create_dir_all(&runtime).unwrap();
        std::os::unix::fs::chown(&runtime, Some(uid), Some(gid)).unwrap();
        std::fs::set_permissions(
            &runtime,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let cgroup = cgroup2_root()
            .unwrap()
            .join(format!("wandb-cred-it-{user}"));
        remove_cgroup(&cgroup);
        std::fs::create_dir(&cgroup).unwrap();
        for entry in std::iter::once(cgroup.clone()).chain(
            std::fs::read_dir(&cgroup)
                .unwrap()
                .map(|e| e.unwrap().path()),
        ) {
            std::os::unix::fs::chown(&entry, Some(uid), Some(gid)).unwrap();
        }
        std::fs::create_dir_all("/run/systemd").unwrap();
        let script = format!(
            "mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/system && echo $$ > {procs} && \
             exec setpriv --reuid={uid} --regid={gid} --clear-groups \
             env -i HOME={home} XDG_RUNTIME_DIR={runtime} PATH=/usr/bin:/bin /lib/systemd/systemd --user",
            procs = cgroup.join("cgroup.procs").display(),
            home = home.display(),
            runtime = runtime.display(),
        );
        let manager = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let manager = Self {
            uid,
            gid,
            home,
            runtime,
            cgroup,
            manager: Reaped(manager),
        };
        let started = Instant::now();
        loop {
            let state = manager.systemctl(&["is-system-running"]);
            if ["running", "degraded"].contains(&state.stdout.trim()) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the systemd user manager did not start: {}",
                state.report()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        manager
    }

    /// `program args` as the user, inside the manager's mount namespace, with the
    /// user's own environment (and `env`), through the sandbox's checks.
    fn as_user<'s>(
        &self,
        sb: &'s Sandbox,
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Run<'s> {
        let mut full = vec![
            "--mount".to_owned(),
            format!("--target={}", self.manager.id()),
            "--".to_owned(),
            "setpriv".to_owned(),
            format!("--reuid={}", self.uid),
            format!("--regid={}", self.gid),
            "--clear-groups".to_owned(),
            "env".to_owned(),
            "-i".to_owned(),
            format!("HOME={}", self.home.display()),
            format!("XDG_RUNTIME_DIR={}", self.runtime.display()),
            "PATH=/usr/bin:/bin".to_owned(),
        ];
        full.extend(env.iter().map(|(name, value)| format!("{name}={value}")));
        full.push(program.to_owned());
        full.extend(args.iter().map(|a| a.to_string()));
        sb.program(
            "nsenter",
            &full.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    }

    fn run(&self, sb: &Sandbox, program: &str, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        self.as_user(sb, program, args, env).run()
    }

    /// `get` as the user, from the daemon systemd runs: the key it printed.
    pub fn get(&self, sb: &Sandbox) -> String {
        let got = self
            .as_user(sb, BIN, &["get"], &[("WANDB_CRED_NO_AUTOSTART", "1")])
            .key_on_stdout()
            .run();
        got.ok();
        got.stdout.trim().to_owned()
    }

    pub fn systemctl(&self, args: &[&str]) -> Outcome {
        let sb = Sandbox::new();
        let mut full = vec!["--user"];
        full.extend_from_slice(args);
        self.run(&sb, "systemctl", &full, &[])
    }

    fn unit_dir(&self) -> PathBuf {
        self.home.join(".config/systemd/user")
    }

    fn socket(&self) -> PathBuf {
        self.runtime.join("wandb-cred/daemon.sock")
    }

    /// The pid of the manager itself (the holder `exec`s into it).
    pub fn pid(&self) -> u32 {
        self.manager.id()
    }
}

impl Drop for UserManager {
    fn drop(&mut self) {
        let _ = self
            .as_user(&Sandbox::new(), "systemctl", &["--user", "exit"], &[])
            .command()
            .output();
        let started = Instant::now();
        while alive(self.pid()) && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self
            .as_user(&Sandbox::new(), "keyctl", &["clear", "@u"], &[])
            .command()
            .output();
        // Anything left in its cgroup (the daemon, if the exit was refused).
        kill_cgroup(&self.cgroup);
        remove_cgroup(&self.cgroup);
        let _ = std::fs::remove_dir_all(&self.runtime);
    }
}

fn kill_cgroup(cgroup: &Path) {
    let kill = cgroup.join("cgroup.kill");
    if kill.exists() {
        let _ = std::fs::write(kill, "1");
    }
}

/// Removes a cgroup and the ones systemd made inside it, deepest first.
fn remove_cgroup(cgroup: &Path) {
    let Ok(entries) = std::fs::read_dir(cgroup) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            kill_cgroup(&entry.path());
            remove_cgroup(&entry.path());
        }
    }
    let started = Instant::now();
    while std::fs::remove_dir(cgroup).is_err() && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The parent pid of a process.
pub fn parent_of(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

pub fn daemon_pid(sb: &Sandbox, manager: &UserManager) -> u32 {
    let status = manager.run(
        sb,
        BIN,
        &["status", "--json"],
        &[("WANDB_CRED_NO_AUTOSTART", "1")],
    );
    status.ok();
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    json["daemon"]["pid"]
        .as_u64()
        .unwrap_or_else(|| panic!("no daemon pid\n{}", status.report())) as u32
}

/// The program `service install` must name: this build's full program, links resolved.
fn full_program() -> PathBuf {
    std::fs::canonicalize(Path::new(BIN).with_file_name("wandb-cred-full")).unwrap()
}

/// `login -` as the user: the key goes to the user's kernel keyring (no desktop
/// keyring here) through the daemon, which `get` then asks.
pub fn login(sb: &Sandbox, manager: &UserManager, key: &str) {
    manager
        .as_user(sb, BIN, &["login", "-"], &[])
        .stdin(key)
        .run()
        .ok()
        .stderr_has("kernel keyring");
}

fn install_runs_the_daemon_under_systemd_and_uninstall_removes_it() {
    let sb = Sandbox::new();
    let manager = UserManager::start("wandbcredsvc1");
    let key = sb.key();
    let program = full_program();

    // The desktop guide's command, as written there.
    let args = crate::harness::recipe_args("service-install", "", &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let installed = manager.run(&sb, BIN, &args, &[]);
    installed
        .ok()
        .stderr_has("Installed the daemon as systemd user units")
        .stderr_has(&program.display().to_string());
    let service = std::fs::read_to_string(manager.unit_dir().join("wandb-cred.service")).unwrap();
    assert!(
        service.contains(&format!("\nExecStart=\"{}\" daemon\n", program.display())),
        "{service}"
    );
    // systemd's own checker accepts the units as written (the binary is there).
    let verified = manager.run(
        &sb,
        "systemd-analyze",
        &[
            "--user",
            "verify",
            manager
                .unit_dir()
                .join("wandb-cred.socket")
                .to_str()
                .unwrap(),
            manager
                .unit_dir()
                .join("wandb-cred.service")
                .to_str()
                .unwrap(),
        ],
        &[],
    );
    verified.ok();
    assert_eq!(
        manager
            .systemctl(&["is-enabled", "wandb-cred.socket"])
            .stdout
            .trim(),
        "enabled"
    );
    assert_eq!(
        manager
            .systemctl(&["is-active", "wandb-cred.socket"])
            .stdout
            .trim(),
        "active"
    );

    // The first request starts the daemon through the socket: systemd's child.
    login(&sb, &manager, &key);
    assert_eq!(manager.get(&sb), key);
    let pid = daemon_pid(&sb, &manager);
    assert_eq!(
        parent_of(pid),
        manager.pid(),
        "the daemon is not systemd's child"
    );

    // Again: nothing changes, the daemon keeps running.
    let before = std::fs::metadata(manager.unit_dir().join("wandb-cred.service"))
        .unwrap()
        .modified()
        .unwrap();
    manager
        .run(&sb, BIN, &["service", "install"], &[])
        .ok()
        .stderr_has("already installed")
        .stderr_has("nothing changed");
    let after = std::fs::metadata(manager.unit_dir().join("wandb-cred.service"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
    assert_eq!(daemon_pid(&sb, &manager), pid);

    // Uninstall stops it, removes exactly its files, and says so; again: nothing to do.
    manager
        .run(&sb, BIN, &["service", "uninstall"], &[])
        .ok()
        .stderr_has("removed wandb-cred.socket and wandb-cred.service");
    assert!(!manager.unit_dir().join("wandb-cred.service").exists());
    assert!(!manager.unit_dir().join("wandb-cred.socket").exists());
    assert!(!alive(pid), "the daemon still runs");
    assert_ne!(
        manager.systemctl(&["is-enabled", "wandb-cred.socket"]).code,
        0
    );
    assert!(!manager.socket().exists());
    manager
        .run(&sb, BIN, &["service", "install", "--uninstall"], &[])
        .ok()
        .stderr_has("not installed");
}

fn install_takes_over_from_a_daemon_started_on_demand() {
    let sb = Sandbox::new();
    let manager = UserManager::start("wandbcredsvc2");
    let key = sb.key();
    // A command starts a daemon by itself (as without a service).
    login(&sb, &manager, &key);
    let on_demand = daemon_pid(&sb, &manager);
    assert_ne!(parent_of(on_demand), manager.pid());

    manager
        .run(&sb, BIN, &["service", "install"], &[])
        .ok()
        .stderr_has(&format!(
            "Stopped the daemon started on demand (pid {on_demand})"
        ));
    assert!(!alive(on_demand));
    assert_eq!(manager.get(&sb), key);
    assert_eq!(parent_of(daemon_pid(&sb, &manager)), manager.pid());
}

fn install_follows_the_program_when_it_moved() {
    let sb = Sandbox::new();
    let manager = UserManager::start("wandbcredsvc3");
    manager.run(&sb, BIN, &["service", "install"], &[]).ok();
    login(&sb, &manager, &sb.key());
    let old_daemon = daemon_pid(&sb, &manager);

    // The same program from another folder (a new venv, say): the units name it and
    // the running daemon of the old unit is replaced.
    let moved = manager.home.join("venv/bin");
    std::fs::create_dir_all(&moved).unwrap();
    for name in ["wandb-cred", "wandb-cred-full"] {
        crate::harness::copy_program(&Path::new(BIN).with_file_name(name), &moved.join(name));
    }
    let moved_front = moved.join("wandb-cred");
    manager
        .run(
            &sb,
            moved_front.to_str().unwrap(),
            &["service", "install"],
            &[],
        )
        .ok()
        .stderr_has(&moved.join("wandb-cred-full").display().to_string());
    assert!(!alive(old_daemon), "the old unit's daemon still runs");
    manager.get(&sb);
    let new_daemon = daemon_pid(&sb, &manager);
    let exe = std::fs::read_link(format!("/proc/{new_daemon}/exe")).unwrap();
    assert_eq!(exe, moved.join("wandb-cred-full"));

    // That copy removed (the venv deleted): doctor says the service cannot start the
    // daemon, and its fix, run, makes the check pass.
    manager.run(&sb, BIN, &["stop"], &[]).ok();
    std::fs::remove_dir_all(manager.home.join("venv")).unwrap();
    let service_check = |sb: &Sandbox| -> serde_json::Value {
        let out = manager.run(
            sb,
            BIN,
            &["doctor", "--json"],
            &[("WANDB_CRED_NO_AUTOSTART", "1")],
        );
        let doc: serde_json::Value =
            serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", out.report()));
        doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "service")
            .cloned()
            .unwrap_or_else(|| panic!("no service check\n{}", out.report()))
    };
    let broken = service_check(&sb);
    assert_eq!(broken["status"], "failed", "{broken}");
    assert!(
        broken["detail"]
            .as_str()
            .unwrap()
            .contains("is not there any more"),
        "{broken}"
    );
    assert!(
        broken["fix"]
            .as_str()
            .unwrap()
            .starts_with("`wandb-cred service install`"),
        "{broken}"
    );
    manager.run(&sb, BIN, &["service", "install"], &[]).ok();
    let fixed = service_check(&sb);
    assert_eq!(fixed["status"], "ok", "{fixed}");
    assert!(
        fixed["detail"]
            .as_str()
            .unwrap()
            .contains(&full_program().display().to_string())
    );
}

fn unit_files_it_did_not_write_are_left_alone() {
    let sb = Sandbox::new();
    let manager = UserManager::start("wandbcredsvc4");
    let dir = manager.unit_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let own = "[Service]\nExecStart=/opt/mine/wandb-cred daemon --idle-timeout 1h\n";
    std::fs::write(dir.join("wandb-cred.service"), own).unwrap();
    for (args, what) in [
        (&["service", "install"][..], "install"),
        (&["service", "uninstall"][..], "uninstall"),
    ] {
        manager
            .run(&sb, BIN, args, &[])
            .fails(1)
            .stderr_has(&format!(
                "{} was not written by `wandb-cred service install`",
                dir.join("wandb-cred.service").display()
            ));
        assert_eq!(
            std::fs::read_to_string(dir.join("wandb-cred.service")).unwrap(),
            own,
            "{what}"
        );
        assert!(!dir.join("wandb-cred.socket").exists(), "{what}");
    }
}

/// The finding: the unit shipped for copying named `%h/.cargo/bin/wandb-cred`,
/// which `systemd-analyze verify` rejects wherever the program is elsewhere. The
/// shipped unit now names the packaged path; `service install` names the real one.
fn the_shipped_unit_names_a_program_that_may_not_be_there() {
    let sb = Sandbox::new();
    let dir = sb.root.join("units");
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = include_str!("../../systemd/wandb-cred.service");
    let old = shipped.replace(
        "ExecStart=/usr/bin/wandb-cred",
        "ExecStart=%h/.cargo/bin/wandb-cred",
    );
    std::fs::write(dir.join("wandb-cred.service"), old).unwrap();
    std::fs::write(
        dir.join("wandb-cred.socket"),
        include_str!("../../systemd/wandb-cred.socket"),
    )
    .unwrap();
    let verify = sb.program(
        "systemd-analyze",
        &[
            "--user",
            "verify",
            dir.join("wandb-cred.service").to_str().unwrap(),
        ],
    );
    verify.run().fails(1);
}

fn without_a_user_manager_nothing_is_installed() {
    let sb = Sandbox::new();
    let before = sb.snapshot();
    sb.cmd(&["service", "install"])
        .run()
        .fails(1)
        .stderr_has("no systemd user manager answers, so nothing was installed")
        .stderr_has("commands start the daemon on demand");
    assert_eq!(sb.snapshot(), before);
    sb.cmd(&["service", "uninstall"])
        .run()
        .ok()
        .stderr_has("not installed");
}
