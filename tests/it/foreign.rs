//! The second attack suite (issue 22): another local user plants code, settings or
//! programs where the victim works, and the victim only runs wandb-cred there. The
//! victim is this test process (root), so file permissions do not protect it: only the
//! checks wandb-cred makes do. Root-only (`Need::OtherUser`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use libtest_mimic::Trial;

use crate::attack::Stage;
use crate::harness::{Need, Sandbox, install_programs, make_venv, snapshot, v1_key};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![the_manual_says_what_these_tests_check];
    all.extend(trials![[Need::OtherUser];
        the_python_probe_imports_nothing_from_the_callers_folder,
        helper_programs_run_from_a_folder_nobody_else_controls,
        a_program_another_user_could_replace_is_never_recorded,
        the_hook_never_runs_a_recorded_program_another_user_replaced,
        another_users_settings_file_chooses_neither_key_nor_server,
        a_hostile_settings_file_costs_one_warning_and_quotes_nothing,
    ]);
    all
}

/// The words the manual's security page uses for what is defended, each of which a
/// test here or in `forward_attack.rs` checks in the program's own output.
const PROMISED: &[&str] = &[
    "ignoring api_key and base_url in",
    "another user could have written it",
    "another user could replace it",
    "another user could have replaced it",
    "catch-all `default` entry",
    "PYTHONSAFEPATH",
];

fn the_manual_says_what_these_tests_check() {
    crate::doc_blocks::page_says("docs/concepts/security.md", PROMISED);
}

/// The attacker's account name, as warnings name it.
const ATTACKER_NAME: &str = "wandbcredattacker";

/// Modules the probe imports, directly or through `importlib.metadata`.
const PLANTED_MODULES: &[&str] = &[
    "json",
    "csv",
    "zipfile",
    "email",
    "importlib",
    "sysconfig",
    "site",
    "os",
    "typing",
];

/// Plants a module under each name of [`PLANTED_MODULES`] in `dir`; each appends its
/// name to the returned file when imported (as whoever imports it).
fn plant_modules(stage: &Stage, dir: &Path) -> PathBuf {
    let ran = stage.tmp().join("ran");
    for name in PLANTED_MODULES {
        let code = format!(
            "open({:?}, 'a').write('{name}\\n')\n",
            ran.display().to_string()
        );
        std::fs::write(dir.join(format!("{name}.py")), &code).unwrap();
        std::fs::create_dir_all(dir.join(name)).unwrap();
        std::fs::write(dir.join(name).join("__init__.py"), &code).unwrap();
    }
    ran
}

/// A shared project folder (the attacker's, writable by all) holding a `json.py` and
/// friends: `doctor`, `setup-python` and `setup-python --unset` run there by the victim
/// import none of them. Failed before the fix: the probe ran in the caller's folder,
/// whose `json.py` it imported first.
fn the_python_probe_imports_nothing_from_the_callers_folder() {
    let stage = Stage::new();
    let sb = Sandbox::new();
    let shared = stage.attacker_dir("project", 0o777);
    let ran = plant_modules(&stage, &shared);
    let (python, _site) = make_venv(Path::new("python3"), &sb.root.join("venv"));
    let python = python.to_str().unwrap();
    let runs: [&[&str]; 5] = [
        &["doctor", "--python", python],
        &["doctor"],
        &["setup-python", "--python", python],
        &["doctor", "--python", python],
        &["setup-python", "--python", python, "--unset"],
    ];
    for args in runs {
        let out = sb
            .cmd(args)
            .dir(&shared)
            .env("VIRTUAL_ENV", sb.root.join("venv").to_str().unwrap())
            .run();
        assert!(
            !ran.exists(),
            "`wandb-cred {}` ran code from the caller's folder: {}\n{}",
            args.join(" "),
            std::fs::read_to_string(&ran).unwrap_or_default(),
            out.report()
        );
        assert!(
            !out.stdout.contains("not understood") && !out.stderr.contains("not understood"),
            "{}",
            out.report()
        );
    }
    // The probe still saw the venv: the hook went into it and came out again.
    let said = sb
        .cmd(&["doctor", "--python", python])
        .dir(&shared)
        .run()
        .stdout
        .clone();
    assert!(
        said.contains(&sb.root.join("venv").display().to_string()),
        "{said}"
    );
}

/// Fake `git`, `ssh`, `systemctl` and `python3` that record the folder they were started
/// in: every helper wandb-cred runs starts in `/`, never in the caller's folder (here the
/// attacker's). Failed before the fix: each recorded the caller's folder.
fn helper_programs_run_from_a_folder_nobody_else_controls() {
    let stage = Stage::new();
    let mut sb = Sandbox::new();
    let shared = stage.attacker_dir("project", 0o777);
    let log = sb.root.join("cwd.log");
    for tool in ["git", "ssh", "systemctl", "python3"] {
        sb.script(
            tool,
            &format!(
                "#!/bin/sh\necho \"{tool} $(pwd)\" >> '{}'\nexit 1\n",
                log.display()
            ),
        );
    }
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let runs: [&[&str]; 5] = [
        &["setup-git"],
        &["push", "somewhere"],
        &["ssh", "somewhere"],
        &["service", "install"],
        &["setup-python"],
    ];
    for args in runs {
        sb.cmd(args).dir(&shared).run();
    }
    let seen = std::fs::read_to_string(&log).unwrap_or_default();
    for tool in ["git", "ssh", "systemctl", "python3"] {
        assert!(
            seen.lines().any(|l| l.starts_with(&format!("{tool} "))),
            "{tool} was never run: {seen}"
        );
    }
    for line in seen.lines() {
        assert!(
            line.ends_with(" /"),
            "a helper ran outside `/`: {line}\n{seen}"
        );
    }
    assert!(
        std::fs::metadata(&shared).unwrap().permissions().mode() & 0o777 == 0o777,
        "the shared folder is as the attacker left it"
    );
}

/// A stand-in for the W&B SDK in `site`: the one function the hook wraps (as in SDK
/// 0.24.1 and later), which finds nothing by itself.
pub fn stand_in_sdk(site: &Path) {
    let wbauth = site.join("wandb/sdk/lib/wbauth");
    std::fs::create_dir_all(&wbauth).unwrap();
    for init in [
        "wandb",
        "wandb/sdk",
        "wandb/sdk/lib",
        "wandb/sdk/lib/wbauth",
    ] {
        std::fs::write(site.join(init).join("__init__.py"), "").unwrap();
    }
    std::fs::write(
        wbauth.join("auth.py"),
        "class AuthApiKey:\n    def __init__(self, *, host, api_key):\n        self.host, self.api_key = host, api_key\n\n\nclass AuthWithSource:\n    def __init__(self, *, auth, source):\n        self.auth, self.source = auth, source\n",
    )
    .unwrap();
    std::fs::write(
        wbauth.join("wbnetrc.py"),
        "def read_netrc_auth_with_source(*, host):\n    return None\n",
    )
    .unwrap();
}

/// Asks the stand-in SDK for the cloud's key as the SDK would; prints it and
/// WANDB_API_KEY.
pub const ASK_KEY: &str = "import os, wandb\nfrom wandb.sdk.lib.wbauth import wbnetrc\nclass Host:\n    url = 'https://api.wandb.ai'\nfound = wbnetrc.read_netrc_auth_with_source(host=Host)\nprint(found.auth.api_key if found else None, os.environ.get('WANDB_API_KEY'))";

/// A trial copy run from a folder others can write to: `setup-python`, `setup-git` and
/// `service install` each refuse to record it, say why, and change nothing. Failed
/// before the fix: all three recorded the path.
fn a_program_another_user_could_replace_is_never_recorded() {
    let stage = Stage::new();
    let sb = Sandbox::new();
    let shared = stage.attacker_dir("scratch", 0o777);
    let program = install_programs(&shared);
    let program = program.to_str().unwrap();
    let (python, site) = make_venv(Path::new("python3"), &sb.root.join("venv"));
    let before = snapshot(&sb.root);
    let python = python.to_str().unwrap();
    let runs: [&[&str]; 3] = [
        &["setup-python", "--python", python],
        &["setup-git"],
        &["service", "install"],
    ];
    for args in runs {
        sb.program(program, args)
            .run()
            .fails(1)
            .stderr_has("another user could replace it")
            .stderr_has(&shared.display().to_string());
    }
    assert!(!site.join("_wandb_cred_hook").exists());
    assert_eq!(
        snapshot(&sb.root),
        before,
        "a refused command changed files"
    );
    // A copy in a folder of the user's own below a sticky shared folder is fine.
    let own = stage.tmp().join("trial");
    std::fs::create_dir(&own).unwrap();
    let program = install_programs(&own);
    sb.program(&program, &["setup-python", "--python", python])
        .run()
        .ok();
    assert!(site.join("_wandb_cred_hook").exists());
}

/// `setup-python` from a trial copy in the user's own folder below a shared sticky one;
/// the copy is deleted and another user re-creates its path with a program of theirs:
/// the SDK's key lookup does not run it and says why in one line. Failed before the fix: the
/// attacker's program ran as the victim. The hook also runs its program from that
/// program's folder, with the workspace named by WANDB_DIR.
fn the_hook_never_runs_a_recorded_program_another_user_replaced() {
    let stage = Stage::new();
    let sb = Sandbox::new();
    let (python, site) = make_venv(Path::new("python3"), &sb.root.join("venv"));
    stand_in_sdk(&site);
    let trial = stage.tmp().join("trial");
    std::fs::create_dir(&trial).unwrap();
    let program = install_programs(&trial);
    sb.program(
        &program,
        &["setup-python", "--python", python.to_str().unwrap()],
    )
    .run()
    .ok();
    // The recorded program runs from its own folder and is told the workspace.
    let seen = sb.root.join("seen");
    std::fs::remove_file(&program).unwrap();
    std::fs::write(
        &program,
        format!(
            "#!/bin/sh\necho \"$(pwd) $WANDB_DIR\" > '{}'\n",
            seen.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    sb.program(&python, &["-c", ASK_KEY]).run().ok();
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap().trim(),
        format!("{} {}", trial.display(), sb.work.display())
    );
    // Deleted, and re-created by the attacker.
    std::fs::remove_dir_all(&trial).unwrap();
    let theirs = stage.attacker_dir("tmp/trial", 0o755);
    let ran = stage.tmp().join("ran");
    let evil = theirs.join("wandb-cred");
    std::fs::write(
        &evil,
        format!("#!/bin/sh\necho ran > '{}'\n", ran.display()),
    )
    .unwrap();
    std::fs::set_permissions(&evil, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(&evil, Some(stage.uid), Some(stage.gid)).unwrap();
    let out = sb.program(&python, &["-c", ASK_KEY]).run();
    out.ok()
        .stderr_has("not running")
        .stderr_has("another user could have replaced it");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.report());
    assert!(!ran.exists(), "the attacker's program ran as the victim");
    // Theirs, in a folder of the victim's: refused for its owner alone.
    std::fs::remove_dir_all(&theirs).unwrap();
    std::fs::create_dir(&trial).unwrap();
    let planted = trial.join("wandb-cred");
    std::fs::write(
        &planted,
        format!("#!/bin/sh\necho ran > '{}'\n", ran.display()),
    )
    .unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(&planted, Some(stage.uid), Some(stage.gid)).unwrap();
    sb.program(&python, &["-c", ASK_KEY])
        .run()
        .ok()
        .stderr_has("belongs to uid");
    // Ours but writable by others: refused too.
    std::os::unix::fs::chown(&planted, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o777)).unwrap();
    sb.program(&python, &["-c", ASK_KEY])
        .run()
        .ok()
        .stderr_has("mode 0777");
    assert!(!ran.exists(), "a replaceable program ran as the victim");
}

/// The lines `get --env` printed, as a map.
fn env_lines(stdout: &str) -> std::collections::BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A workspace settings file with another user's `api_key` and `base_url`, in their
/// folder, and the same file of the victim's own in a folder anyone can write to: `get
/// --env`, `exec` and the hook give the victim's own key for the cloud, and one warning
/// names the file, why, and what was ignored. With only `base_url` planted, neither
/// WANDB_API_KEY nor netrc's `default` password goes to their server. Failed before the
/// fix: the attacker's key was exported, and the victim's keys went to their URL.
fn another_users_settings_file_chooses_neither_key_nor_server() {
    let stage = Stage::new();
    let sb = Sandbox::new();
    let mine = sb.key();
    sb.cmd(&["login", &mine]).run().ok();
    let theirs = v1_key();
    let evil_url = "https://evil.example.com";
    let planted = format!("[default]\napi_key = {theirs}\nbase_url = {evil_url}\n");
    let theirs_dir = stage.attacker_dir("project", 0o755);
    let in_their_folder = theirs_dir.join("wandb");
    std::fs::create_dir(&in_their_folder).unwrap();
    std::fs::write(in_their_folder.join("settings"), &planted).unwrap();
    std::os::unix::fs::chown(&in_their_folder, Some(stage.uid), Some(stage.gid)).unwrap();
    std::os::unix::fs::chown(
        in_their_folder.join("settings"),
        Some(stage.uid),
        Some(stage.gid),
    )
    .unwrap();
    // The victim's own file, below a folder anyone can write to (no sticky bit).
    let open = stage.base.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let ours_dir = open.join("project");
    std::fs::create_dir_all(ours_dir.join("wandb")).unwrap();
    std::fs::write(ours_dir.join("wandb/settings"), &planted).unwrap();
    let (python, site) = make_venv(Path::new("python3"), &sb.root.join("venv"));
    stand_in_sdk(&site);
    sb.cmd(&["setup-python", "--python", python.to_str().unwrap()])
        .run()
        .ok();
    for (dir, why) in [
        (&theirs_dir, ATTACKER_NAME),
        (&ours_dir, "anyone can write to it"),
    ] {
        let settings = dir.join("wandb/settings").display().to_string();
        let out = sb.cmd(&["get", "--env"]).dir(dir).key_on_stdout().run();
        out.ok()
            .stderr_has("ignoring api_key and base_url in")
            .stderr_has(&settings)
            .stderr_has(why);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.report());
        let vars = env_lines(&out.stdout);
        assert_eq!(vars.get("WANDB_API_KEY"), Some(&mine), "{}", out.report());
        assert_eq!(
            vars.get("WANDB_BASE_URL").map(String::as_str),
            Some("https://api.wandb.ai")
        );
        let out = sb
            .cmd(&[
                "exec",
                "--",
                "sh",
                "-c",
                "echo \"$WANDB_API_KEY $WANDB_BASE_URL\"",
            ])
            .dir(dir)
            .key_on_stdout()
            .run();
        out.ok().stderr_has(&settings);
        assert_eq!(out.stdout.trim(), format!("{mine} https://api.wandb.ai"));
        let out = sb
            .program(&python, &["-c", ASK_KEY])
            .dir(dir)
            .key_on_stdout()
            .run();
        out.ok().stderr_has(&settings);
        assert_eq!(out.stdout.trim(), format!("{mine} None"));
    }
    // Only base_url planted: the environment's key and netrc's default password stay
    // with the cloud.
    std::fs::write(
        in_their_folder.join("settings"),
        format!("[default]\nbase_url = {evil_url}\n"),
    )
    .unwrap();
    let env_key = sb.key();
    let out = sb
        .cmd(&["get", "--env"])
        .dir(&theirs_dir)
        .env("WANDB_API_KEY", &env_key)
        .key_on_stdout()
        .run();
    out.ok().stderr_has("ignoring base_url in");
    assert!(!out.stdout.contains("evil"), "{}", out.report());
    let fallback = sb.key();
    sb.write(
        &sb.netrc(),
        &format!("default\n  login user\n  password {fallback}\n"),
    );
    let out = sb
        .cmd(&["get", "--env"])
        .dir(&theirs_dir)
        .key_on_stdout()
        .run();
    assert!(!out.stdout.contains("evil"), "{}", out.report());
    let out = sb.cmd(&["status"]).dir(&theirs_dir).run();
    assert!(!out.stdout.contains("evil"), "{}", out.report());
    out.stderr_has("ignoring base_url in");
}

/// Garbage, a link to the victim's netrc, and a FIFO as the workspace settings file of a
/// shared folder: each costs one warning naming the file, `get` still works there,
/// nothing hangs and no byte of the file is quoted. Failed before the fix: every
/// command in the folder failed, and a `[section]` or key name was quoted.
fn a_hostile_settings_file_costs_one_warning_and_quotes_nothing() {
    let stage = Stage::new();
    let sb = Sandbox::new();
    let mine = sb.key();
    sb.cmd(&["login", &mine]).run().ok();
    let dir = stage.attacker_dir("project", 0o777);
    let wandb = dir.join("wandb");
    let settings = wandb.join("settings");
    let secret = sb.secret(format!("ghp_{}", "x9Y8".repeat(10)));
    let garbage = format!("[{secret}]\na = 1\n[{secret}]\n");
    let link = |target: &Path| std::os::unix::fs::symlink(target, &settings).unwrap();
    type Make<'a> = Box<dyn Fn() + 'a>;
    let cases: [(&str, Make); 4] = [
        (
            "garbage",
            Box::new(|| std::fs::write(&settings, &garbage).unwrap()),
        ),
        (
            "a secret as a key",
            Box::new(|| {
                std::fs::write(&settings, format!("[default]\n{secret}: 1\n{secret}: 2\n")).unwrap()
            }),
        ),
        ("a link to the netrc", Box::new(|| link(&sb.netrc()))),
        (
            "a fifo",
            Box::new(|| {
                let made = std::process::Command::new("mkfifo")
                    .arg(&settings)
                    .status()
                    .unwrap();
                assert!(made.success());
            }),
        ),
    ];
    for (what, make) in cases {
        let _ = std::fs::remove_dir_all(&wandb);
        std::fs::create_dir(&wandb).unwrap();
        make();
        let out = sb.cmd(&["get"]).dir(&dir).key_on_stdout().run();
        out.ok().stderr_has(&settings.display().to_string());
        assert_eq!(out.stdout.trim(), mine, "{what}: {}", out.report());
        assert_eq!(out.stderr.lines().count(), 1, "{what}: {}", out.report());
        assert!(!out.stderr.contains(&secret), "{what}: {}", out.report());
        assert!(!out.stderr.contains("ghp_"), "{what}: {}", out.report());
    }
}
