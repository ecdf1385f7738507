//! `--verify` against a self-hosted server behind a private CA: an HTTPS server on
//! 127.0.0.1 (Python's `ssl`) with a certificate signed by a CA this test makes with
//! `openssl`. Unknown to the public roots, trusted once the environment names the CA the
//! way the SDK's HTTP stacks read it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use libtest_mimic::Trial;

use crate::harness::{Need, Reaped, Sandbox};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![[Need::Python, Need::OpenSsl]; private_ca_is_trusted_when_the_environment_names_it]
}

/// A CA and a server certificate for 127.0.0.1 signed by it, in `dir`.
fn make_ca(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=wandb-cred test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ]
    .concat());
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
}

const HTTPS_SERVER: &str = r#"
import http.server, json, ssl, sys
class Viewer(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"data": {"viewer": {"id": "1", "entity": "ann", "username": "ann",
            "email": "ann@example.com", "flags": "{}", "teams": {"edges": []}}}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Viewer)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

fn private_ca_is_trusted_when_the_environment_names_it() {
    let sb = Sandbox::new();
    let pki = sb.root.join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    make_ca(&pki);
    let mut server = Reaped(
        Command::new("python3")
            .args(["-c", HTTPS_SERVER])
            .arg(pki.join("server.pem"))
            .arg(pki.join("server.key"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut port = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let url = format!("https://127.0.0.1:{}", port.trim());
    let key = sb.key();
    let login = |var: Option<(&str, &Path)>| {
        let mut run = sb.cmd(&["login", "--verify", "--host", &url, &key]);
        if let Some((name, path)) = var {
            run = run.env(name, path.to_str().unwrap());
        }
        run.run()
    };
    // The public roots do not know this CA: refused, nothing stored.
    login(None)
        .fails(1)
        .stderr_has(&format!("cannot reach {url}/graphql"))
        .stderr_has("UnknownIssuer");
    assert!(!sb.netrc().exists());
    // Each way the SDK's stacks name a CA bundle works.
    let ca = pki.join("ca.pem");
    for name in ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"] {
        login(Some((name, &ca)))
            .ok()
            .stderr_has(&format!("Logged in to {url} as ann."));
    }
    let dir = sb.root.join("certs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&ca, dir.join("private-ca.pem")).unwrap();
    login(Some(("SSL_CERT_DIR", &dir)))
        .ok()
        .stderr_has("as ann.");
    // A bundle that cannot be used is named, and nothing is tried.
    login(Some(("SSL_CERT_FILE", &pki.join("missing.pem"))))
        .fails(1)
        .stderr_has(&format!(
            "SSL_CERT_FILE names {}, which cannot be read",
            pki.join("missing.pem").display()
        ));
    // Trusting only the private CA (as the SDK's stacks do) is what was asked, so doctor
    // --verify agrees.
    // (It exits 1 for the plaintext netrc store's warning.)
    sb.cmd(&["doctor", "--verify"])
        .env("SSL_CERT_FILE", ca.to_str().unwrap())
        .run()
        .fails(1)
        .stdout_lacks("[failed]")
        .stdout_has(&format!("{url} accepts the key (ann)"));
}
