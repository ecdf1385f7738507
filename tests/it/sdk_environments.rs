//! Every environment that would write a key in plaintext is found (issue 32): `doctor`
//! names each `wandb` on PATH and each pipx or uv tool environment whose Python has no
//! hook, with the `setup-python` that fixes it (run here, then `wandb login` there
//! writes no netrc); `migrate` names the ones that lose their key; `setup-python` says
//! what the SDK there gets. Real SDK 0.31.0 (and 0.22.3) through throwaway venvs whose
//! `wandb` commands are console scripts as pip writes them.

use std::path::{Path, PathBuf};

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox, make_venv, purelib, sdk_python};
use crate::hook_servers::unsupported_sdk_python;
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Sdk, Need::KernelKeyring];
        doctor_names_each_wandb_without_the_hook_and_its_fix_works,
        migrate_names_the_environments_that_lose_their_key,
    ];
    all.extend(trials![[Need::Sdk, Need::OlderSdks];
        setup_python_says_what_the_sdk_there_gets,
    ]);
    all.extend(trials![[Need::Python]; a_site_packages_anyone_can_change_is_named]);
    all
}

/// A venv at `dir` whose Python sees `shared`'s packages (none with `None`), with a
/// `wandb` console script in its `bin`, as `pip install wandb` leaves it: its Python.
pub fn wandb_env(dir: &Path, shared: Option<&str>) -> PathBuf {
    let (python, site) = make_venv(Path::new("python3"), dir);
    if let Some(shared) = shared {
        std::fs::write(
            site.join("zz_shared_sdk.pth"),
            format!("{}\n", purelib(Path::new(shared)).display()),
        )
        .unwrap();
    }
    let script = dir.join("bin/wandb");
    std::fs::write(
        &script,
        format!(
            "#!{}\n# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom wandb.cli.cli import cli\nif __name__ == \"__main__\":\n    sys.argv[0] = re.sub(r\"(-script\\.pyw|\\.exe)?$\", \"\", sys.argv[0])\n    sys.exit(cli())\n",
            python.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    python
}

/// `doctor`'s `wandb` lines: (status, detail, fix).
fn wandb_checks(sb: &Sandbox) -> (i32, Vec<(String, String, Option<String>)>) {
    let python = sdk_python().expect("checked by Need::Sdk");
    let out = sb.cmd(&["doctor", "--json", "--python", &python]).run();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let checks = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"] == "wandb")
        .map(|c| {
            (
                c["status"].as_str().unwrap().to_owned(),
                c["detail"].as_str().unwrap().to_owned(),
                c["fix"].as_str().map(str::to_owned),
            )
        })
        .collect();
    (out.code, checks)
}

/// A `wandb` on PATH, a pipx and a uv tool environment (in their default folders under
/// HOME), and a stale `wandb` whose Python has no SDK (not named): doctor warns about
/// the three, exit status 1, each fix is `setup-python --python` that Python, and once
/// run they are ok; then `wandb login KEY` through that `wandb` writes no netrc. Failed
/// before the fix: doctor named none of them and exited 0.
fn doctor_names_each_wandb_without_the_hook_and_its_fix_works() {
    let shared = sdk_python().expect("checked by Need::Sdk");
    let server = crate::hook_servers::viewer();
    let mut sb = Sandbox::new();
    sb.own_kernel_keyring();
    sb.cmd(&["login", "--host", &server.url(), &sb.key()])
        .run()
        .ok();
    let on_path = wandb_env(&sb.root.join("project-venv"), Some(&shared));
    let stale = wandb_env(&sb.root.join("stale-venv"), None);
    let pipx = wandb_env(
        &sb.home.join(".local/share/pipx/venvs/wandb"),
        Some(&shared),
    );
    let uv = wandb_env(&sb.home.join(".local/share/uv/tools/wandb"), Some(&shared));
    sb.bin_dir(); // `wandb-cred` on PATH, for the recipe
    let path = sb.var("PATH").unwrap().to_owned();
    sb.set_env(
        "PATH",
        &format!(
            "{}:{}:{path}",
            on_path.parent().unwrap().display(),
            stale.parent().unwrap().display()
        ),
    );
    let (code, checks) = wandb_checks(&sb);
    assert_eq!(code, 1, "{checks:#?}");
    assert_eq!(checks.len(), 3, "{checks:#?}");
    // The upgrading guide's recipe for the first, the fixes doctor shows for the others.
    let recipe = crate::doc_blocks::recipe("setup-every-env");
    assert!(recipe.contains("wandb-cred setup-python --python ~/envs/ml/bin/python\n"));
    assert!(recipe.ends_with("wandb-cred doctor\n"), "{recipe}");
    for ((status, detail, fix), (python, found_as)) in checks.iter().zip([
        (
            &on_path,
            format!(
                "wandb on PATH ({})",
                sb.root.join("project-venv/bin/wandb").display()
            ),
        ),
        (&pipx, "pipx environment wandb".to_owned()),
        (&uv, "uv tool environment wandb".to_owned()),
    ]) {
        assert_eq!(status, "warning", "{detail}");
        assert!(detail.starts_with(&found_as), "{detail}");
        assert!(
            detail.contains("wandb 0.31.0") && detail.contains("no wandb-cred hook"),
            "{detail}"
        );
        let want = format!("`wandb-cred setup-python --python {}`", python.display());
        assert_eq!(fix.as_deref(), Some(want.as_str()));
        if python != &on_path {
            let words: Vec<&str> = want.trim_matches('`').split(' ').skip(1).collect();
            sb.cmd(&words).run().ok();
        }
    }
    let script = recipe.replace("~/envs/ml/bin/python", on_path.to_str().unwrap());
    sb.program("sh", &["-c", &script])
        .run()
        .ok()
        .stdout_has("[ok]      wandb      wandb on PATH");
    let (_, checks) = wandb_checks(&sb);
    assert_eq!(checks.len(), 3, "{checks:#?}");
    assert!(
        checks
            .iter()
            .all(|(s, d, _)| s == "ok" && d.contains("with the wandb-cred hook")),
        "{checks:#?}"
    );
    // The fix works: that environment's own `wandb login` keeps the key off disk.
    let key = sb.key();
    sb.program(on_path.parent().unwrap().join("wandb"), &["login", &key])
        .env("WANDB_SILENT", "true")
        .run()
        .ok();
    assert!(!sb.netrc().exists(), "wandb login wrote a netrc");
    sb.get_gives(&key);
}

/// `migrate` moves the netrc key into the kernel keyring and names the `wandb` on PATH
/// that read it from netrc and has no hook, with the fix; with `--keep-netrc` nothing
/// is lost and nothing is said. Failed before the fix: migrate said nothing.
fn migrate_names_the_environments_that_lose_their_key() {
    let shared = sdk_python().expect("checked by Need::Sdk");
    let mut sb = Sandbox::new();
    sb.own_kernel_keyring();
    let python = wandb_env(&sb.root.join("env"), Some(&shared));
    let path = std::env::var("PATH").unwrap();
    sb.set_env(
        "PATH",
        &format!("{}:{path}", python.parent().unwrap().display()),
    );
    let key = sb.key();
    sb.cmd(&["login", "--backend", "netrc", &key]).run().ok();
    let named = format!("wandb-cred setup-python --python {}", python.display());
    sb.cmd(&["migrate", "--keep-netrc"])
        .run()
        .ok()
        .stderr_lacks(&named);
    sb.cmd(&["migrate"])
        .run()
        .ok()
        .stderr_has("read the key from netrc and has no wandb-cred hook")
        .stderr_has(&named);
}

/// No SDK yet, one older than the hook serves, and the current one: each is said as it
/// is. Failed before the fix: each got "`import wandb` there now gets the key".
fn setup_python_says_what_the_sdk_there_gets() {
    let sb = Sandbox::new();
    let bare = wandb_env(&sb.root.join("bare"), None);
    let old = wandb_env(
        &sb.root.join("old"),
        Some(&unsupported_sdk_python().expect("checked by Need::OlderSdks")),
    );
    let current = wandb_env(&sb.root.join("current"), Some(&sdk_python().unwrap()));
    for (python, said) in [
        (&bare, "no W&B SDK is installed there yet; once one is ("),
        (
            &old,
            "wandb 0.22.3 there is older than 0.24.1, the first the hook serves",
        ),
        (&current, "wandb 0.31.0 there now gets the key from"),
    ] {
        let out = sb
            .cmd(&["setup-python", "--python", python.to_str().unwrap()])
            .run();
        out.ok().stderr_has(said);
        if python != &current {
            out.stderr_lacks("now gets the key");
        }
    }
}

/// A site-packages folder anyone may write to (issue 33, also seen): the hook goes in,
/// and setup-python says who else could replace it. Failed before the fix: not a word.
fn a_site_packages_anyone_can_change_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let python = wandb_env(&sb.root.join("shared-env"), None);
    let site = purelib(&python);
    std::fs::set_permissions(&site, std::fs::Permissions::from_mode(0o777)).unwrap();
    sb.cmd(&["setup-python", "--python", python.to_str().unwrap()])
        .run()
        .ok()
        .stderr_has(&format!("another user could change {}", site.display()))
        .stderr_has("anyone can change it");
}
