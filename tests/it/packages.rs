//! What users install, installed and run as they would: the wheel (`maturin build`),
//! a wheel built from the sdist, and the .deb, all built by tests/packages.sh
//! (`WANDB_CRED_TEST_PACKAGES` names the folder; tests/run.sh sets it). The wheel goes
//! into a fresh venv, a `uv tool` and a `pipx` install, each run from its `bin` with
//! the venv not activated; `wandb_cred` is used with the real SDK; the .deb is
//! installed with dpkg, run from /usr/bin, and purged.

use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::Trial;

use crate::harness::{Need, Outcome, Sandbox, make_venv, purelib, sdk_python};
use crate::keyring::{Keyring, Provider};
use crate::server::{FakeServer, Reply};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Packages];
        the_wheel_is_static_manylinux_and_holds_both_programs_and_the_package,
        the_sdist_builds_the_same_programs,
    ];
    all.extend(trials![[Need::Packages, Need::Python];
        the_wheel_works_from_a_venv_a_uv_tool_and_pipx,
        the_python_api_runs_the_program_of_its_own_install,
        the_readme_install_command_installs_both_programs,
    ]);
    all.extend(trials![[Need::Packages, Need::Sdk, Need::Keyring];
        the_python_api_gives_the_keychain_key_to_the_sdk_and_writes_no_netrc,
    ]);
    all.extend(trials![[Need::Packages, Need::Deb, Need::SystemdTools, Need::SystemdUser, Need::OtherUser, Need::KernelKeyring];
        the_deb_installs_runs_from_usr_bin_and_purges_clean,
    ]);
    all
}

/// The folder tests/packages.sh built into, when it did.
pub fn packages_missing() -> Option<String> {
    match std::env::var_os("WANDB_CRED_TEST_PACKAGES") {
        Some(dir) if Path::new(&dir).join("from-sdist").is_dir() => None,
        _ => Some(
            "no packages were built (WANDB_CRED_TEST_PACKAGES: run tests/packages.sh, or tests/run.sh)"
                .to_owned(),
        ),
    }
}

/// Root and dpkg, and no wandb-cred package installed already (never replaced).
pub fn deb_missing() -> Option<String> {
    if !rustix::process::getuid().is_root() {
        return Some("not running as root (dpkg -i)".to_owned());
    }
    crate::harness::tools_missing(&["dpkg", "dpkg-deb", "lintian"], "Debian: dpkg lintian").or_else(
        || {
            let installed = Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", "wandb-cred"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("ok installed"));
            installed
                .then(|| "a wandb-cred package is installed already; not replacing it".to_owned())
        },
    )
}

fn packages() -> PathBuf {
    PathBuf::from(std::env::var_os("WANDB_CRED_TEST_PACKAGES").expect("checked by Need::Packages"))
}

/// tests/packages.sh ran the README's install command (`pip install .`) as written, in
/// a fresh venv: both programs are there and run, and `wandb_cred` imports.
fn the_readme_install_command_installs_both_programs() {
    let ran = std::fs::read_to_string(packages().join("readme-install.txt")).unwrap();
    assert_eq!(ran, crate::doc_blocks::recipe("install"));
    let venv = packages().join("readme-venv");
    let sb = Sandbox::new();
    sb.program(venv.join("bin/wandb-cred"), &["--version"])
        .run()
        .ok()
        .stdout_has("wandb-cred ");
    assert!(venv.join("bin/wandb-cred-full").is_file());
    sb.program(venv.join("bin/python"), &["-c", "import wandb_cred"])
        .run()
        .ok();
}

/// The one file in `dir` whose name ends with `suffix`.
fn one(dir: &Path, suffix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    assert_eq!(found.len(), 1, "{suffix} in {}: {found:?}", dir.display());
    found.into_iter().next().unwrap()
}

fn wheel() -> PathBuf {
    one(&packages(), ".whl")
}

/// A packaging tool tests/packages.sh installed (uv, pipx, auditwheel).
fn tool(name: &str) -> PathBuf {
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/packaging-tools/bin");
    tools.join(name)
}

/// The wheel's file names (Python's zipfile).
fn wheel_files(wheel: &Path) -> Vec<String> {
    crate::harness::python(
        "import sys, zipfile\nfor n in sorted(zipfile.ZipFile(sys.argv[1]).namelist()): print(n)",
        &[wheel.to_str().unwrap()],
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

/// An ELF program's facts: whether it asks for a dynamic loader (PT_INTERP) or has a
/// dynamic section naming libraries (DT_NEEDED is in PT_DYNAMIC; static-pie has one
/// too, so only the loader is checked) and whether it is position-independent.
fn static_pie(bytes: &[u8]) -> Result<(), String> {
    let u16_at = |o: usize| u16::from_le_bytes(bytes[o..o + 2].try_into().unwrap());
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
    if bytes.get(..4) != Some(b"\x7fELF") || bytes[4] != 2 {
        return Err("not a 64-bit ELF file".to_owned());
    }
    if u16_at(0x10) != 3 {
        return Err(format!(
            "ELF type {} (not position-independent)",
            u16_at(0x10)
        ));
    }
    let (phoff, size, count) = (u64_at(0x20) as usize, u16_at(0x36) as usize, u16_at(0x38));
    for i in 0..usize::from(count) {
        if u32_at(phoff + i * size) == 3 {
            return Err("it names a dynamic loader (PT_INTERP): not static".to_owned());
        }
    }
    Ok(())
}

/// Extracts the wheel's two programs and checks each is static-pie.
fn assert_static_programs(wheel: &Path) {
    for name in ["wandb-cred", "wandb-cred-full"] {
        let member = wheel_files(wheel)
            .into_iter()
            .find(|f| f.ends_with(&format!(".data/scripts/{name}")))
            .unwrap_or_else(|| panic!("{name} is not in {}", wheel.display()));
        let bytes = Command::new("python3")
            .args([
                "-c",
                "import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))",
            ])
            .arg(wheel)
            .arg(&member)
            .output()
            .unwrap()
            .stdout;
        if let Err(why) = static_pie(&bytes) {
            panic!("{member} in {}: {why}", wheel.display());
        }
    }
}

fn manylinux_tag() -> String {
    format!("manylinux_2_17_{}", std::env::consts::ARCH)
}

fn the_wheel_is_static_manylinux_and_holds_both_programs_and_the_package() {
    let wheel = wheel();
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!(
            "wandb_cred-{}-py3-none-",
            env!("CARGO_PKG_VERSION")
        )),
        "{name}"
    );
    assert!(name.contains(&manylinux_tag()), "{name}");
    let files = wheel_files(&wheel);
    for expected in ["wandb_cred/__init__.py", "wandb_cred/py.typed"] {
        assert!(files.iter().any(|f| f == expected), "{expected}: {files:?}");
    }
    assert!(
        !files.iter().any(|f| f.contains("_wandb_cred_hook")),
        "the hook is installed by setup-python, not by the wheel: {files:?}"
    );
    assert_static_programs(&wheel);
    let shown = Command::new(tool("auditwheel"))
        .arg("show")
        .arg(&wheel)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.status.success(), "{said}");
    assert!(
        said.contains("requires no external shared libraries"),
        "{said}"
    );
}

fn the_sdist_builds_the_same_programs() {
    let sdist = one(&packages(), ".tar.gz");
    let listed = crate::harness::python(
        "import sys, tarfile\nfor n in tarfile.open(sys.argv[1]).getnames(): print(n.split('/', 1)[-1])",
        &[sdist.to_str().unwrap()],
    );
    // Without its .cargo/config.toml a build from the sdist links dynamically.
    for expected in [
        ".cargo/config.toml",
        "pyproject.toml",
        "Cargo.lock",
        "python/wandb_cred/__init__.py",
    ] {
        assert!(
            listed.lines().any(|l| l == expected),
            "{expected} is not in the sdist"
        );
    }
    let built = one(&packages().join("from-sdist"), ".whl");
    assert!(
        built.to_string_lossy().contains(&manylinux_tag()),
        "{}",
        built.display()
    );
    let names = |wheel: &Path| -> Vec<String> {
        wheel_files(wheel)
            .into_iter()
            .filter(|f| !f.contains(".dist-info/"))
            .collect()
    };
    assert_eq!(names(&built), names(&wheel()));
    assert_static_programs(&built);
}

/// What users run first, from `bin` (not on PATH, venv not activated): each must reach
/// the full program through the front, and find the key it stored.
fn run_the_first_commands(bin: &Path, layout: &str) {
    let sb = Sandbox::new();
    let program = bin.join("wandb-cred");
    let run = |args: &[&str]| sb.program(&program, args);
    let key = sb.key();
    run(&["login", "-"]).stdin(&key).run().ok();
    let got = run(&["get"]).key_on_stdout().run();
    assert_eq!(got.stdout, format!("{key}\n"), "{layout}\n{}", got.report());
    run(&[
        "exec",
        "--",
        "python3",
        "-c",
        "import os, sys; sys.exit(os.environ['WANDB_API_KEY'] != sys.argv[1])",
        &key,
    ])
    .run()
    .ok();
    run(&["status"]).run().ok().stdout_has("netrc");
    run(&["git-credential", "get"])
        .stdin("protocol=https\nhost=api.wandb.ai\n\n")
        .key_on_stdout()
        .run()
        .ok()
        .stdout_has(&format!("password={key}\n"));
    // The daemon these commands started is this layout's full program.
    if let Some(pid) = sb.daemon_pid() {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
        assert_eq!(exe.file_name().unwrap(), "wandb-cred-full", "{layout}");
        assert_eq!(
            exe.parent().unwrap(),
            std::fs::canonicalize(bin.join("wandb-cred"))
                .unwrap()
                .parent()
                .unwrap(),
            "{layout}: the daemon is another install's program"
        );
    }
}

fn ok_run(command: &mut Command, what: &str) {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn the_wheel_works_from_a_venv_a_uv_tool_and_pipx() {
    let root = tempfile::tempdir().unwrap();
    let wheel = wheel();
    // A fresh venv, the wheel installed by its own pip.
    let venv = root.path().join("venv");
    ok_run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
    );
    ok_run(
        Command::new(venv.join("bin/python"))
            .args(["-m", "pip", "install", "-q", "--no-index", "--no-deps"])
            .arg(&wheel),
        "pip install",
    );
    run_the_first_commands(&venv.join("bin"), "venv");
    // uv tool install: the programs are linked into a bin folder of their own.
    let uv_bin = root.path().join("uv-bin");
    ok_run(
        Command::new(tool("uv"))
            .args(["tool", "install", "--offline", "--python", "python3"])
            .arg(&wheel)
            .env("UV_TOOL_DIR", root.path().join("uv-tools"))
            .env("UV_TOOL_BIN_DIR", &uv_bin)
            .env("UV_CACHE_DIR", root.path().join("uv-cache")),
        "uv tool install",
    );
    assert!(
        std::fs::symlink_metadata(uv_bin.join("wandb-cred"))
            .unwrap()
            .is_symlink()
    );
    run_the_first_commands(&uv_bin, "uv tool");
    // pipx install: the same, through pipx's own venv.
    let pipx_bin = root.path().join("pipx-bin");
    ok_run(
        Command::new(tool("pipx"))
            .arg("install")
            .arg(&wheel)
            .env("PIPX_HOME", root.path().join("pipx"))
            .env("PIPX_BIN_DIR", &pipx_bin)
            .env("PIPX_MAN_DIR", root.path().join("pipx-man")),
        "pipx install",
    );
    run_the_first_commands(&pipx_bin, "pipx");
}

/// A throwaway venv that sees the suite's SDK (read only, through a `.pth` line), with
/// the wheel installed into it.
fn sdk_venv_with_the_wheel(sb: &Sandbox) -> PathBuf {
    let shared = PathBuf::from(sdk_python().expect("checked by Need::Sdk"));
    let (python, site) = make_venv(&shared, &sb.root.join("venv"));
    std::fs::write(
        site.join("zz_shared_sdk.pth"),
        format!("{}\n", purelib(&shared).display()),
    )
    .unwrap();
    ok_run(
        Command::new(&python)
            .args(["-m", "pip", "install", "-q", "--no-index", "--no-deps"])
            .arg(wheel()),
        "pip install into the SDK venv",
    );
    python
}

fn python_in(sb: &Sandbox, python: &Path, code: &str) -> Outcome {
    sb.program(python, &["-c", code])
        .env("WANDB_SILENT", "true")
        .run()
}

fn the_python_api_gives_the_keychain_key_to_the_sdk_and_writes_no_netrc() {
    let server = FakeServer::start(Reply::Viewer {
        username: "ann",
        entity: "ann",
        teams: &[],
    });
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let python = sdk_venv_with_the_wheel(&sb);
    // Nothing stored yet: None, not an error, and no prompt.
    python_in(
        &sb,
        &python,
        "import wandb_cred; print(wandb_cred.get_key())",
    )
    .ok()
    .stdout_is("None\n");
    let (cloud, local) = (sb.key(), sb.key());
    // (--host remembers the server as `wandb login` does; --cloud makes it the default again.)
    sb.cmd(&["login", "--host", &server.url(), &local])
        .run()
        .ok();
    sb.cmd(&["login", "--cloud", &cloud]).run().ok();
    assert!(!sb.netrc().exists());
    // A wandb-cred earlier on PATH is never the one run.
    let planted = sb.root.join("planted");
    let marker = sb.root.join("planted-ran");
    plant_decoy(&planted, &marker);
    let path = format!("{}:{}", planted.display(), std::env::var("PATH").unwrap());
    let checks = format!(
        "import os, wandb_cred\n\
         print(wandb_cred.find_wandb_cred().parent == __import__('pathlib').Path({bin:?}))\n\
         print(wandb_cred.get_key() == os.environ['CLOUD'])\n\
         print(wandb_cred.get_key({url:?}) == os.environ['LOCAL'])\n\
         print(wandb_cred.get_key('https://nothing.example.com'))\n\
         env = wandb_cred.environ({url:?})\n\
         print(sorted(env), env['WANDB_BASE_URL'])\n",
        bin = python.parent().unwrap().display().to_string(),
        url = server.url(),
    );
    sb.program(&python, &["-c", &checks])
        .env("PATH", &path)
        .env("CLOUD", &cloud)
        .env("LOCAL", &local)
        .run()
        .ok()
        .stdout_is(&format!(
            "True\nTrue\nTrue\nNone\n['WANDB_API_KEY', 'WANDB_BASE_URL'] {}\n",
            server.url()
        ));
    assert!(!marker.exists(), "the wandb-cred on PATH ran");
    // A failure is an exception with wandb-cred's reason (never a key).
    python_in(
        &sb,
        &python,
        "import wandb_cred\ntry:\n    wandb_cred.get_key('ftp://x')\nexcept wandb_cred.WandbCredError as e:\n    print('error:', e)",
    )
    .ok()
    .stdout_has("error: ");
    // The notebook recipe, exactly as documented (the server named by WANDB_BASE_URL):
    // the key reaches the server, no netrc is written. The fake server answers only the
    // viewer query, so the run itself cannot start; what counts is the key it carried.
    // wandb.Api with the same key, on its own: the key is the one stored.
    let basic = crate::verify::basic(&local);
    let recipe = [
        "import wandb, wandb_cred",
        "try:",
        "    run = wandb.init(settings=wandb.Settings(api_key=wandb_cred.get_key(), init_timeout=20))",
        "    run.finish()",
        "except Exception as e:",
        "    print(type(e).__name__)",
    ]
    .join("\n");
    let api = [
        "import wandb, wandb_cred",
        "try:",
        "    wandb.Api(api_key=wandb_cred.get_key(), timeout=20).viewer",
        "except Exception as e:",
        "    print(type(e).__name__)",
    ]
    .join("\n");
    let mut outs = Vec::new();
    for (what, script) in [("wandb.init", &recipe), ("wandb.Api", &api)] {
        let before = server.requests().len();
        let out = sb
            .program(&python, &["-c", script.as_str()])
            .env("WANDB_BASE_URL", &server.url())
            .env("WANDB_SILENT", "true")
            .run();
        let sent = server.authorizations_since(before);
        assert!(
            sent.contains(&basic),
            "{what}: the server saw no request with the key ({} requests)\n{}",
            sent.len(),
            out.report()
        );
        outs.push(out);
    }
    let out = &outs[0];
    assert!(
        !sb.netrc().exists(),
        "the recipe wrote a netrc file\n{}",
        out.report()
    );
    assert!(
        !crate::harness::snapshot(&sb.home)
            .values()
            .any(|bytes| String::from_utf8_lossy(bytes).contains(&local)),
        "a file under HOME holds the key"
    );
}

/// A `wandb-cred` in `dir` that only records that it ran (by creating `marker`).
fn plant_decoy(dir: &Path, marker: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let program = dir.join("wandb-cred");
    std::fs::write(
        &program,
        format!("#!/bin/sh\ntouch '{}'\nexit 3\n", marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `pip install --prefix`, `--target` and `--user` put the programs elsewhere than the
/// running interpreter's scripts folder: the package runs the one its own install put
/// beside it, never the interpreter's (here a decoy in the venv's `bin`).
fn the_python_api_runs_the_program_of_its_own_install() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", "-"]).stdin(&key).run().ok();
    let venv = sb.root.join("venv");
    ok_run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
    );
    let python = venv.join("bin/python");
    let marker = sb.root.join("decoy-ran");
    plant_decoy(&venv.join("bin"), &marker);
    let pip = |python: &Path, how: &[&str], env: &[(&str, &Path)]| {
        let mut command = Command::new(python);
        command
            .args(["-m", "pip", "install", "-q", "--no-index", "--no-deps"])
            .args(how)
            .arg(wheel());
        for (name, value) in env {
            command.env(name, value);
        }
        ok_run(&mut command, &format!("pip install {how:?}"));
    };
    let check = |python: &Path, env: &[(&str, &Path)], bin: &Path, layout: &str| {
        let mut run = sb.program(
            python,
            &[
                "-c",
                "import wandb_cred; print(wandb_cred.find_wandb_cred()); print(wandb_cred.get_key())",
            ],
        );
        for (name, value) in env {
            run = run.env(name, value.to_str().unwrap());
        }
        let out = run.key_on_stdout().run();
        out.ok();
        let program = bin.join("wandb-cred").display().to_string();
        assert_eq!(
            out.stdout.lines().next(),
            Some(program.as_str()),
            "{layout}: not the program its own install put beside it"
        );
        assert!(
            out.stdout == format!("{program}\n{key}\n"),
            "{layout}: get_key() is not the stored key\n{}",
            out.report()
        );
    };
    let prefix = sb.root.join("prefix");
    pip(&python, &["--prefix", prefix.to_str().unwrap()], &[]);
    let prefix_site = purelib(&python)
        .strip_prefix(&venv)
        .map(|relative| prefix.join(relative))
        .unwrap();
    check(
        &python,
        &[("PYTHONPATH", &prefix_site)],
        &prefix.join("bin"),
        "--prefix",
    );
    let target = sb.root.join("target");
    pip(&python, &["--target", target.to_str().unwrap()], &[]);
    check(
        &python,
        &[("PYTHONPATH", &target)],
        &target.join("bin"),
        "--target",
    );
    assert!(!marker.exists(), "the interpreter's wandb-cred ran");
    // --user, into a user base of this test's own (the interpreter outside any venv).
    let user_base = sb.root.join("user-base");
    let user = [("PYTHONUSERBASE", user_base.as_path())];
    pip(
        Path::new("python3"),
        &["--user", "--break-system-packages"],
        &user,
    );
    check(
        Path::new("python3"),
        &user,
        &user_base.join("bin"),
        "--user",
    );
}

fn the_deb_installs_runs_from_usr_bin_and_purges_clean() {
    let deb = one(&packages(), ".deb");
    let contents = Command::new("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&contents.stdout);
    for path in [
        "./usr/bin/wandb-cred",
        "./usr/bin/wandb-cred-full",
        "./usr/bin/git-credential-wandb -> wandb-cred",
        "./usr/lib/systemd/user/wandb-cred.socket",
        "./usr/lib/systemd/user/wandb-cred.service",
        "./usr/share/man/man1/wandb-cred.1.gz",
        "./usr/share/man/man1/wandb-cred-login.1.gz",
        "./usr/share/bash-completion/completions/wandb-cred",
        "./usr/share/zsh/vendor-completions/_wandb-cred",
        "./usr/share/fish/vendor_completions.d/wandb-cred.fish",
        "./usr/share/doc/wandb-cred/README.md",
        "./usr/share/doc/wandb-cred/copyright",
        "./usr/share/doc/wandb-cred/changelog.Debian.gz",
        "./usr/share/man/man1/git-credential-wandb.1.gz",
    ] {
        assert!(
            listing.lines().any(|l| l.ends_with(path)),
            "{path} is not in the .deb:\n{listing}"
        );
    }
    // Debian's own checker: no error or warning (the overrides the package carries say
    // why each of theirs does not apply: packaging/lintian-overrides).
    let lintian = Command::new("lintian")
        .args(["--tag-display-limit", "0"])
        .arg(&deb)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&lintian.stdout);
    let problems: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("E:") || l.starts_with("W:"))
        .collect();
    assert!(problems.is_empty(), "lintian: {problems:#?}");
    struct Purge;
    impl Drop for Purge {
        fn drop(&mut self) {
            let _ = Command::new("dpkg")
                .args(["--purge", "wandb-cred"])
                .output();
        }
    }
    let _purge = Purge;
    ok_run(Command::new("dpkg").arg("-i").arg(&deb), "dpkg -i");
    let files = Command::new("dpkg")
        .args(["-L", "wandb-cred"])
        .output()
        .unwrap();
    let installed: Vec<PathBuf> = String::from_utf8_lossy(&files.stdout)
        .lines()
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .collect();
    assert!(installed.len() >= 10, "{installed:?}");
    run_the_first_commands(Path::new("/usr/bin"), ".deb");
    // `credential.helper = wandb`: git finds the packaged git-credential-wandb on PATH.
    let sb = Sandbox::new();
    let key = sb.key();
    sb.program("/usr/bin/wandb-cred", &["login", "-"])
        .stdin(&key)
        .run()
        .ok();
    sb.program(
        "git",
        &[
            "-c",
            "credential.helper=",
            "-c",
            "credential.helper=wandb",
            "credential",
            "fill",
        ],
    )
    .env("PATH", "/usr/bin:/bin")
    .env("GIT_TERMINAL_PROMPT", "0")
    .stdin("protocol=https\nhost=api.wandb.ai\n\n")
    .key_on_stdout()
    .run()
    .ok()
    .stdout_has(&format!("password={key}\n"));
    // systemd's own checker on the installed units (the program is where they say).
    let runtime = tempfile::tempdir().unwrap();
    let verify = Command::new("systemd-analyze")
        .args(["--user", "--man=no", "verify"])
        .args([
            "/usr/lib/systemd/user/wandb-cred.socket",
            "/usr/lib/systemd/user/wandb-cred.service",
        ])
        .env("XDG_RUNTIME_DIR", runtime.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(
        verify.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );
    // Any user: `systemctl --user enable --now wandb-cred.socket` on the packaged units
    // (a real user manager for a throwaway user), and the daemon systemd starts is the
    // packaged program.
    {
        let sb = Sandbox::new();
        let manager = crate::service::UserManager::start("wandbcredsvc5");
        manager
            .systemctl(&["enable", "--now", "wandb-cred.socket"])
            .ok();
        let key = sb.key();
        crate::service::login(&sb, &manager, &key);
        assert_eq!(manager.get(&sb), key);
        let pid = crate::service::daemon_pid(&sb, &manager);
        assert_eq!(crate::service::parent_of(pid), manager.pid());
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
        assert_eq!(exe, Path::new("/usr/bin/wandb-cred-full"));
        manager
            .systemctl(&[
                "disable",
                "--now",
                "wandb-cred.socket",
                "wandb-cred.service",
            ])
            .ok();
    }
    // The man page is found where man looks.
    ok_run(
        Command::new("gzip").args(["-t", "/usr/share/man/man1/wandb-cred.1.gz"]),
        "gzip -t",
    );
    ok_run(
        Command::new("dpkg").args(["--purge", "wandb-cred"]),
        "dpkg --purge",
    );
    for path in &installed {
        assert!(!path.exists(), "{} is left after purge", path.display());
    }
    let status = Command::new("dpkg-query")
        .args(["-W", "wandb-cred"])
        .output()
        .unwrap();
    assert!(!status.status.success(), "dpkg still knows the package");
}
