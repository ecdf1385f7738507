//! The README's "Using the key" recipes, run exactly as written there: each block after
//! a `<!-- recipe: NAME -->` marker is read from README.md, so the documentation and
//! what is tested cannot drift apart.
//!
//! Two programs the recipes name are not on this machine, Slurm's `sbatch`/`srun` and a
//! Docker engine; small stand-ins in the sandbox's PATH model only what the recipes rely
//! on: `sbatch` runs the job script with the submitting environment (Slurm's default
//! `--export=ALL`), and `docker run -e NAME` copies NAME from its own environment into the
//! container's (and nothing else).

use std::path::Path;

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![[Need::Python];
        recipe_exec,
        recipe_get,
        recipe_jupyter,
        recipe_sbatch,
        recipe_docker,
        readme_gives_the_hook_recipe_and_its_limits,
    ]
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The code block after `<!-- recipe: NAME -->`.
fn recipe(name: &str) -> String {
    let text = readme();
    let marker = format!("<!-- recipe: {name} -->\n");
    let start = text
        .find(&marker)
        .unwrap_or_else(|| panic!("README has no recipe {name}"));
    let rest = &text[start + marker.len()..];
    let fence_end = rest.find('\n').unwrap();
    assert!(
        rest.starts_with("```"),
        "recipe {name} is not followed by a code block"
    );
    let body = &rest[fence_end + 1..];
    body[..body.find("```").unwrap()].to_owned()
}

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

fn readme_gives_the_hook_recipe_and_its_limits() {
    let text = readme();
    let section =
        &text[text.find("## Using the key").unwrap()..text.find("## The daemon").unwrap()];
    // The recipe (run for real by tests/it/python_hook.rs), and what it cannot do.
    assert!(section.contains("wandb-cred setup-python "));
    assert!(section.contains("python train.py "));
    assert!(section.contains("**writes the key to `~/.netrc` in plaintext**"));
    for limit in [
        "`python -S`",
        "`wandb.login(key=...)`",
        "`WANDB_CRED_NO_HOOK=1`",
        "wandb-cred exec --",
    ] {
        assert!(section.contains(limit), "{limit}");
    }
}
