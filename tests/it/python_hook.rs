//! `setup-python` and the hook it installs, with the official SDK in a throwaway venv
//! (the suite's shared SDK venv is only read: the throwaway one sees its packages
//! through a `.pth` path line): a bare `import wandb` gets the keychain's key, and
//! nothing else runs or changes.

use std::path::{Path, PathBuf};

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox, snapshot};
use crate::keyring::{Keyring, Provider};
use crate::server::{FakeServer, Reply};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Sdk, Need::Keyring];
        a_bare_script_authenticates_with_the_keychain_key_and_writes_no_netrc,
    ];
    all.extend(trials![[Need::Sdk];
        asking_whether_wandb_exists_runs_nothing_and_the_lookup_runs_once,
        a_key_in_the_environment_or_the_opt_out_leaves_the_hook_idle,
        the_recorded_wandb_cred_runs_not_one_found_on_path,
        no_key_is_silent_and_a_failure_is_one_line,
        setup_is_idempotent_and_unset_leaves_site_packages_as_before,
        the_start_file_names_an_entry_point_that_installs_the_hook,
        doctor_says_whether_the_hook_is_installed,
    ]);
    all.extend(trials![[Need::Sdk, Need::KernelKeyring];
        a_site_packages_it_cannot_write_is_refused_clearly,
    ]);
    all.extend(trials![get_env_prints_the_variables_exec_sets]);
    all
}

/// A throwaway venv whose Python sees the shared SDK's packages, and its site-packages.
struct Venv {
    python: PathBuf,
    site: PathBuf,
}

impl Venv {
    fn new(sb: &Sandbox) -> Self {
        let (python, site) = crate::harness::sdk_venv(sb);
        Self { python, site }
    }

    fn setup(&self, sb: &Sandbox, extra: &[&str]) -> String {
        let python = self.python.to_str().unwrap();
        let mut args = vec!["setup-python", "--python", python];
        args.extend(extra);
        sb.cmd(&args).run().ok().stderr.clone()
    }

    fn spy(&self, sb: &Sandbox) -> PathBuf {
        spy(&self.site, sb)
    }

    fn run(&self, sb: &Sandbox, code: &str) -> crate::harness::Outcome {
        sb.program(&self.python, &["-c", code])
            .env("WANDB_SILENT", "true")
            .key_on_stdout()
            .run()
    }
}

/// Points the hook installed in `site` at a script that logs each run's arguments to
/// the file it returns (and its environment beside it, `.env`), then runs the wandb-cred the hook had recorded.
pub fn spy(site: &Path, sb: &Sandbox) -> PathBuf {
    let module = site.join("_wandb_cred_hook/__init__.py");
    let text = std::fs::read_to_string(&module).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("WANDB_CRED: str = "))
        .unwrap()
        .to_owned();
    let recorded: String =
        serde_json::from_str(line.trim_start_matches("WANDB_CRED: str = ")).unwrap();
    let log = sb.root.join("spy.log");
    let spy = sb.root.join("spy.sh");
    std::fs::write(
        &spy,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nenv >> '{}'\nexec '{recorded}' \"$@\"\n",
            log.display(),
            log.with_extension("env").display()
        ),
    )
    .unwrap();
    make_executable(&spy);
    let replaced = text.replace(
        &line,
        &format!("WANDB_CRED: str = {:?}", spy.to_str().unwrap()),
    );
    std::fs::write(&module, replaced).unwrap();
    log
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn runs_logged(log: &Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |t| t.lines().count())
}

const PRINT_ENV: &str = "import os, wandb; print(os.environ.get('WANDB_API_KEY')); print(os.environ.get('WANDB_BASE_URL'))";

/// The key the SDK reads for a server (through the function the hook wraps), then
/// WANDB_API_KEY (which the hook leaves alone).
fn print_key(host: &str) -> String {
    format!(
        "import os, wandb\nfrom wandb.sdk.lib.wbauth import wbnetrc\nprint(wbnetrc.read_netrc_auth(host={host:?}))\nprint(os.environ.get('WANDB_API_KEY'))"
    )
}

const CLOUD: &str = "https://api.wandb.ai";

fn a_bare_script_authenticates_with_the_keychain_key_and_writes_no_netrc() {
    let server = FakeServer::start(Reply::Viewer {
        username: "ann",
        entity: "ann",
        teams: &[],
    });
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    sb.cmd(&["login", "--host", &server.url(), &key]).run().ok();
    assert!(!sb.netrc().exists());
    let venv = Venv::new(&sb);
    venv.setup(&sb, &[]);
    let basic = crate::verify::basic(&key);
    for script in [
        "import wandb\nwandb.login()\nprint('logged in')",
        // The fake server's viewer lacks fields Api.viewer parses; what counts here is
        // the key the request carried.
        "import wandb\napi = wandb.Api()\ntry:\n    api.viewer\nexcept Exception as e:\n    print(type(e).__name__)",
    ] {
        let before = server.requests().len();
        let out = venv.run(&sb, script);
        out.ok();
        let sent = server.authorizations_since(before);
        assert!(
            sent.contains(&basic),
            "{script}: the server saw no request with the key ({} requests)\n{}",
            sent.len(),
            out.report()
        );
        assert!(!sb.netrc().exists(), "{script} wrote a netrc file");
    }
}

fn asking_whether_wandb_exists_runs_nothing_and_the_lookup_runs_once() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--backend", "netrc", &key]).run().ok();
    let venv = Venv::new(&sb);
    venv.setup(&sb, &[]);
    let log = venv.spy(&sb);
    venv.run(
        &sb,
        "import importlib.util, sys\nassert importlib.util.find_spec('wandb') is not None\nassert 'wandb' not in sys.modules",
    )
    .ok();
    assert_eq!(runs_logged(&log), 0, "find_spec ran wandb-cred");
    // A venv processes .pth files twice: still one finder, and one lookup.
    let out = venv.run(
        &sb,
        &format!(
            "import sys\nprint(sum(getattr(f, 'wandb_cred_hook', False) for f in sys.meta_path))\n{}\nimport importlib, wandb\nimportlib.reload(wandb)\n{}",
            print_key(CLOUD),
            print_key(CLOUD)
        ),
    );
    out.ok()
        .stdout_is(&format!("1\n{key}\nNone\n{key}\nNone\n"));
    assert_eq!(runs_logged(&log), 1);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("get --env --host {CLOUD}\n")
    );
}

fn a_key_in_the_environment_or_the_opt_out_leaves_the_hook_idle() {
    let sb = Sandbox::new();
    let (stored, own) = (sb.key(), sb.key());
    sb.cmd(&["login", "--backend", "netrc", &stored]).run().ok();
    let venv = Venv::new(&sb);
    venv.setup(&sb, &[]);
    let log = venv.spy(&sb);
    sb.program(&venv.python, &["-c", PRINT_ENV])
        .env("WANDB_API_KEY", &own)
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{own}\nNone\n"));
    sb.program(&venv.python, &["-c", PRINT_ENV])
        .env("WANDB_CRED_NO_HOOK", "1")
        .run()
        .ok()
        .stdout_is("None\nNone\n");
    sb.program(&venv.python, &["-c", PRINT_ENV])
        .env("WANDB_IDENTITY_TOKEN_FILE", "/nonexistent/token")
        .run()
        .ok()
        .stdout_is("None\nNone\n");
    assert_eq!(runs_logged(&log), 0);
}

fn the_recorded_wandb_cred_runs_not_one_found_on_path() {
    let mut sb = Sandbox::new();
    let (stored, planted) = (sb.key(), sb.key());
    sb.cmd(&["login", "--backend", "netrc", &stored]).run().ok();
    let venv = Venv::new(&sb);
    venv.setup(&sb, &[]);
    let marker = sb.root.join("planted-ran");
    sb.bin_dir();
    // Replace the PATH's wandb-cred with one that would hand out another key.
    let bin = sb.root.join("bin/wandb-cred");
    std::fs::remove_file(&bin).unwrap();
    std::fs::write(
        &bin,
        format!(
            "#!/bin/sh\ntouch '{}'\necho WANDB_API_KEY={planted}\n",
            marker.display()
        ),
    )
    .unwrap();
    make_executable(&bin);
    venv.run(&sb, &print_key(CLOUD))
        .ok()
        .stdout_is(&format!("{stored}\nNone\n"));
    assert!(!marker.exists(), "the wandb-cred on PATH was run");
}

fn no_key_is_silent_and_a_failure_is_one_line() {
    let sb = Sandbox::new();
    let venv = Venv::new(&sb);
    venv.setup(&sb, &[]);
    let out = venv.run(&sb, &print_key(CLOUD));
    out.ok().stdout_is("None\nNone\n");
    assert_eq!(out.stderr, "", "{}", out.report());
    // A failure (here a setting wandb-cred refuses): one line, and the program goes on.
    let out = sb
        .program(
            &venv.python,
            &["-c", &format!("{}\nprint('went on')", print_key(CLOUD))],
        )
        .env("WANDB_CRED_KEYCHAIN_TIMEOUT", "soon")
        .run();
    out.ok().stdout_is("None\nNone\nwent on\n");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.report());
    assert!(
        lines[0].starts_with("wandb-cred: error:")
            && lines[0].contains("WANDB_CRED_KEYCHAIN_TIMEOUT")
            && lines[0].contains("WANDB_CRED_NO_HOOK=1"),
        "{}",
        out.report()
    );
    // wandb-cred gone (uninstalled): one line saying how to remove the hook, and its
    // command works.
    let log = venv.spy(&sb);
    std::fs::remove_file(sb.root.join("spy.sh")).unwrap();
    let out = venv.run(&sb, &print_key(CLOUD));
    out.ok().stdout_is("None\nNone\n");
    assert_eq!(runs_logged(&log), 0);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.report());
    assert!(
        lines[0].contains("cannot run") && lines[0].contains("wandb-cred setup-python"),
        "{}",
        out.report()
    );
    let rm = lines[0]
        .split("remove this hook: ")
        .nth(1)
        .and_then(|rest| rest.split(" (the W&B SDK").next())
        .unwrap_or_else(|| panic!("no command in {:?}", lines[0]));
    let removed = std::process::Command::new("sh")
        .args(["-c", rm])
        .status()
        .unwrap();
    assert!(removed.success(), "{rm}");
    for name in [
        "_wandb_cred_hook",
        "wandb_cred_hook.pth",
        "wandb_cred_hook.start",
    ] {
        assert!(
            !venv.site.join(name).exists(),
            "{name} is still there after {rm}"
        );
    }
    venv.run(&sb, &print_key(CLOUD))
        .ok()
        .stdout_is("None\nNone\n");
}

fn setup_is_idempotent_and_unset_leaves_site_packages_as_before() {
    let sb = Sandbox::new();
    let venv = Venv::new(&sb);
    let before = snapshot(&venv.site);
    let said = venv.setup(&sb, &[]);
    assert!(
        said.contains("Installed the wandb-cred hook for")
            && said.contains("--python")
            && said.contains(&venv.site.display().to_string()),
        "{said}"
    );
    for name in [
        "wandb_cred_hook.pth",
        "wandb_cred_hook.start",
        "_wandb_cred_hook/__init__.py",
    ] {
        assert!(venv.site.join(name).is_file(), "{name}");
    }
    // (Python writes bytecode beside the module whenever it runs there: not counted.)
    let sources = || -> Vec<(PathBuf, Vec<u8>)> {
        snapshot(&venv.site)
            .into_iter()
            .filter(|(p, _)| !p.components().any(|c| c.as_os_str() == "__pycache__"))
            .collect()
    };
    let installed = sources();
    assert!(venv.setup(&sb, &[]).contains("already installed"));
    assert!(
        sources() == installed,
        "a second setup-python changed files"
    );
    // Python caches the module's bytecode beside it; --unset takes that too.
    venv.run(&sb, "import wandb").ok();
    assert!(
        venv.setup(&sb, &["--unset"])
            .contains("Removed the wandb-cred hook")
    );
    let after = snapshot(&venv.site);
    assert!(
        after == before,
        "site-packages differs after --unset: {:?}",
        after
            .keys()
            .filter(|p| !before.contains_key(*p))
            .collect::<Vec<_>>()
    );
    assert!(!venv.site.join("_wandb_cred_hook").exists());
    assert!(venv.setup(&sb, &["--unset"]).contains("not installed"));
    // Files of the same names that wandb-cred did not write are left alone.
    std::fs::write(
        venv.site.join("wandb_cred_hook.pth"),
        "import something_else\n",
    )
    .unwrap();
    let python = venv.python.to_str().unwrap();
    sb.cmd(&["setup-python", "--python", python, "--unset"])
        .run()
        .fails(1)
        .stderr_has("did not write");
    assert!(venv.site.join("wandb_cred_hook.pth").exists());
}

fn the_start_file_names_an_entry_point_that_installs_the_hook() {
    // Python 3.15's site.py resolves each .start line with pkgutil.resolve_name and
    // calls it (PEP 829); no 3.15 is available here, so this does the same by hand.
    let sb = Sandbox::new();
    let venv = Venv::new(&sb);
    venv.setup(&sb, &[]);
    let start = venv.site.join("wandb_cred_hook.start");
    let code = format!(
        "import sys, pkgutil\nsys.path.insert(0, {site:?})\nfor line in open({start:?}):\n    pkgutil.resolve_name(line.strip())()\nprint(sum(getattr(f, 'wandb_cred_hook', False) for f in sys.meta_path))",
        site = venv.site.to_str().unwrap(),
        start = start.to_str().unwrap(),
    );
    sb.program(&venv.python, &["-S", "-c", &code])
        .run()
        .ok()
        .stdout_is("1\n");
}

fn doctor_says_whether_the_hook_is_installed() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "--backend", "netrc", &key]).run().ok();
    let venv = Venv::new(&sb);
    let python = venv.python.to_str().unwrap();
    // The plaintext netrc store is a warning: exit status 1.
    sb.cmd(&["doctor", "--python", python])
        .run()
        .fails(1)
        .stdout_has("wandb 0.31.0 in")
        .stdout_has("no wandb-cred hook");
    venv.setup(&sb, &[]);
    sb.cmd(&["doctor", "--python", python])
        .run()
        .fails(1)
        .stdout_has("the wandb-cred hook is installed");
}

fn get_env_prints_the_variables_exec_sets() {
    let sb = Sandbox::new();
    // No key: nothing, and no error (the hook's "nothing to do").
    for no_daemon in ["0", "1"] {
        let out = sb
            .cmd(&["get", "--env"])
            .env("WANDB_CRED_NO_DAEMON", no_daemon)
            .run();
        out.ok().stdout_is("");
    }
    let key = sb.key();
    sb.cmd(&["login", "--host", "http://127.0.0.1:8765/", &key])
        .run()
        .ok();
    let want = format!("WANDB_API_KEY={key}\nWANDB_BASE_URL=http://127.0.0.1:8765\n");
    // Through the daemon (the front's fast path) and in-process, in any argument order.
    for (no_daemon, args) in [
        ("0", vec!["get", "--env"]),
        ("0", vec!["get", "--host=http://127.0.0.1:8765", "--env"]),
        ("1", vec!["get", "--env", "--host", "http://127.0.0.1:8765"]),
    ] {
        sb.cmd(&args)
            .env("WANDB_CRED_NO_DAEMON", no_daemon)
            .key_on_stdout()
            .run()
            .ok()
            .stdout_is(&want);
    }
    // Errors are still errors.
    sb.cmd(&["get", "--env", "--host", "ftp://x"])
        .run()
        .fails(1)
        .stderr_has("http:// or https://");
}

fn a_site_packages_it_cannot_write_is_refused_clearly() {
    // Read-only for root too: a bind mount remounted read-only in a mount namespace.
    let sb = Sandbox::new();
    let venv = Venv::new(&sb);
    let before = snapshot(&venv.site);
    let site = venv.site.display().to_string();
    let script = format!(
        "mount --bind '{site}' '{site}' && mount -o remount,bind,ro '{site}' && exec '{}' setup-python --python '{}'",
        crate::harness::BIN,
        venv.python.display()
    );
    let out = sb
        .program(
            "unshare",
            &["--user", "--map-root-user", "--mount", "sh", "-c", &script],
        )
        .run();
    out.fails(1)
        .stderr_has(&format!(
            "cannot install the wandb-cred hook for {}",
            venv.python.display()
        ))
        .stderr_has(&format!("into {site}"))
        .stderr_has("you cannot write there")
        .stderr_has("activate a virtualenv, or name one with --python PATH");
    assert_eq!(snapshot(&venv.site), before);
}
