//! The manual's recipes for using the key, run exactly as written there: each block
//! after a `<!-- recipe: NAME -->` marker is read from the README or `docs/`, so the
//! documentation and what is tested cannot drift apart.
//!
//! Two programs the recipes name are not on this machine, Slurm's `sbatch`/`srun` and a
//! Docker engine; small stand-ins in the sandbox's PATH model only what the recipes rely
//! on: `sbatch` runs the job script with the submitting environment (Slurm's default
//! `--export=ALL`), and `docker run -e NAME` copies NAME from its own environment into the
//! container's (and nothing else).

use std::path::Path;

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox};
use crate::keyring::{Keyring, Provider};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Python];
        recipe_exec,
        recipe_get,
        recipe_jupyter,
        recipe_sbatch,
        recipe_docker,
        the_python_guide_gives_the_hook_recipe_and_its_limits,
        recipe_python_package,
    ];
    all.extend(trials![[Need::Sdk, Need::Keyring]; recipe_hook]);
    all
}

use crate::doc_blocks::recipe;

/// A sandbox whose PATH has `wandb-cred`, `python` (this machine's python3), and a
/// `train.py` that prints what the W&B SDK would be given.
fn world() -> (Sandbox, String) {
    let mut sb = Sandbox::new();
    let python3 = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v python3"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    std::os::unix::fs::symlink(python3.trim(), sb.bin_dir().join("python")).unwrap();
    sb.write(
        &sb.work.join("train.py"),
        "import os\nprint('key', os.environ.get('WANDB_API_KEY'))\nprint('url', os.environ.get('WANDB_BASE_URL'))\n",
    );
    let key = sb.key();
    sb.cmd(&["login", "--host", "https://wandb.example.com", &key])
        .run()
        .ok();
    (sb, key)
}

fn run_sh(sb: &Sandbox, script: &str) -> String {
    sb.program("bash", &["-euc", script])
        .key_on_stdout()
        .run()
        .ok()
        .stdout
        .clone()
}

fn recipe_exec() {
    let (sb, key) = world();
    assert_eq!(
        run_sh(&sb, &recipe("exec")),
        format!("key {key}\nurl https://wandb.example.com\n")
    );
}

fn recipe_get() {
    let (sb, key) = world();
    // `get` sets only the key; the server comes from the settings file, as for the SDK.
    assert_eq!(
        run_sh(&sb, &recipe("get")),
        format!("key {key}\nurl None\n")
    );
    // When `get` fails the program is not started (with or without `set -e`).
    sb.cmd(&["logout"]).run().ok();
    for shell in [&["-c"][..], &["-euc"]] {
        let mut args = shell.to_vec();
        let script = recipe("get");
        args.push(&script);
        let out = sb.program("bash", &args).run();
        assert_ne!(out.code, 0, "{}", out.report());
        assert!(
            !out.stdout.contains("key"),
            "train.py ran: {}",
            out.report()
        );
        assert!(out.stderr.contains("no API key"), "{}", out.report());
    }
}

/// The notebook cell in a venv where `setup-python` ran (which makes `wandb_cred`
/// importable there), with a stand-in `wandb` whose `init` prints the key it was given
/// and whether the environment holds one. Failed before `setup-python` installed
/// `wandb_cred`: ModuleNotFoundError.
fn recipe_jupyter() {
    let (sb, key) = world();
    let (python, site) = crate::harness::make_venv(Path::new("python3"), &sb.root.join("venv"));
    std::fs::create_dir(site.join("wandb")).unwrap();
    std::fs::write(
        site.join("wandb/__init__.py"),
        "import os\nclass Settings:\n    def __init__(self, **kw):\n        self.kw = kw\ndef init(settings):\n    print(settings.kw['api_key'], os.environ.get('WANDB_API_KEY'))\n",
    )
    .unwrap();
    sb.cmd(&["setup-python", "--python", python.to_str().unwrap()])
        .run()
        .ok()
        .stderr_has("`import wandb_cred` works there");
    sb.program(&python, &["-c", &recipe("jupyter")])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key} None\n"));
    // --unset takes the package it put there.
    sb.cmd(&[
        "setup-python",
        "--python",
        python.to_str().unwrap(),
        "--unset",
    ])
    .run()
    .ok();
    assert!(!site.join("wandb_cred").exists());
}

fn recipe_sbatch() {
    let (mut sb, key) = world();
    sb.script(
        "sbatch",
        "#!/bin/sh\n# Stand-in for Slurm's sbatch: runs the job now, with this environment.\nbash \"$1\" > slurm-1.out 2>&1\necho 'Submitted batch job 1'\n",
    );
    sb.script("srun", "#!/bin/sh\nexec \"$@\"\n");
    sb.write(&sb.work.join("train.sbatch"), &recipe("sbatch-script"));
    assert!(recipe("sbatch-script").starts_with("#!/bin/bash\n#SBATCH"));
    assert_eq!(run_sh(&sb, &recipe("sbatch")), "Submitted batch job 1\n");
    assert_eq!(
        sb.read(&sb.work.join("slurm-1.out")).unwrap(),
        format!("key {key}\nurl https://wandb.example.com\n")
    );
}

fn recipe_docker() {
    let (mut sb, key) = world();
    sb.script(
        "docker",
        r#"#!/usr/bin/env python3
# Stand-in for `docker run` (no engine here): the container gets only the variables
# named by `-e NAME`, with their values from this environment, as docker does.
import os, sys
args = sys.argv[1:]
assert args.pop(0) == "run"
env = {"PATH": os.environ["PATH"]}
while args[0].startswith("-"):
    flag = args.pop(0)
    if flag == "-e":
        name = args.pop(0)
        if "=" in name:
            sys.exit("a value was given on docker's command line")
        if name in os.environ:
            env[name] = os.environ[name]
args.pop(0)  # the image
os.execvpe(args[0], args, env)
"#,
    );
    assert_eq!(
        run_sh(&sb, &recipe("docker")),
        format!("key {key}\nurl https://wandb.example.com\n")
    );
    assert!(!recipe("docker").contains("WANDB_API_KEY="));
}

fn the_python_guide_gives_the_hook_recipe_and_its_limits() {
    let page = crate::doc_blocks::read("docs/guides/python.md")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    // The recipe (run by recipe_hook), and what it cannot do.
    assert!(recipe("hook").contains("wandb-cred setup-python "));
    assert!(recipe("hook").contains("python train.py "));
    assert!(page.contains("**writes the key to `~/.netrc` in plaintext**"));
    for limit in [
        "`python -S`",
        "`wandb.login(key=...)`",
        "`WANDB_CRED_NO_HOOK=1`",
        "wandb-cred exec --",
    ] {
        assert!(page.contains(limit), "{limit}");
    }
}

/// The hook recipe, as written, in an active venv whose Python has the real SDK: the
/// SDK finds the keychain's key for the server, and no netrc is written.
fn recipe_hook() {
    let mut sb = Sandbox::new();
    sb.bin_dir();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    sb.cmd(&["login", "--host", "https://wandb.example.com", &key])
        .run()
        .ok();
    crate::harness::activate_sdk_venv(&mut sb);
    sb.write(
        &sb.work.join("train.py"),
        "from wandb.sdk.lib.wbauth import wbnetrc\nprint(wbnetrc.read_netrc_auth(host='https://wandb.example.com'))\n",
    );
    let out = run_sh(&sb, &recipe("hook"));
    assert!(out.contains(&key), "the SDK did not get the key: {out}");
    assert!(!sb.netrc().exists(), "a netrc was written");
}

/// The `wandb_cred` package's lines, run one by one as at Python's prompt (each
/// expression's value is printed), where `setup-python` installed the package.
fn recipe_python_package() {
    let (sb, key) = world();
    let (python, _) = crate::harness::make_venv(Path::new("python3"), &sb.root.join("venv"));
    sb.cmd(&["setup-python", "--python", python.to_str().unwrap()])
        .run()
        .ok();
    let out = sb
        .program(&python, &["-q", "-i"])
        .stdin(&recipe("python-package"))
        .key_on_stdout()
        .run();
    out.ok();
    // get_key(), get_key(URL) and environ() each print the key.
    assert_eq!(out.stdout.matches(&key).count(), 3, "{}", out.report());
    assert!(
        out.stdout
            .contains("'WANDB_BASE_URL': 'https://wandb.example.com'"),
        "{}",
        out.report()
    );
}
