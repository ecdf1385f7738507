//! `exec`: the key and server in the program's environment and nowhere else, the
//! program's own exit status and signals, and the official SDK finding the key with no
//! netrc file on disk.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use libtest_mimic::Trial;

use crate::harness::{Need, Reaped, Sandbox, sdk_python};
use crate::keyring::{Keyring, Provider};
use crate::server::{FakeServer, Reply};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![
        exec_passes_key_and_server_in_the_environment,
        exec_exit_statuses,
        exec_replaces_itself_and_signals_reach_the_program,
        exec_says_when_wandb_api_key_wins,
    ];
    all.extend(trials![[Need::Keyring, Need::Sdk]; sdk_under_exec_finds_the_keychain_key]);
    all
}

const PRINT_ENV: &str = r#"printf '%s\n%s\n' "$WANDB_API_KEY" "$WANDB_BASE_URL""#;

fn exec_passes_key_and_server_in_the_environment() {
    let sb = Sandbox::new();
    let (cloud, local) = (sb.key(), sb.key());
    sb.cmd(&["login", "--cloud", &cloud]).run().ok();
    sb.cmd(&["login", "--host", "http://127.0.0.1:8765/", &local])
        .run()
        .ok();
    // The server in use (remembered by the last login), then an explicit one.
    sb.cmd(&["exec", "--", "sh", "-c", PRINT_ENV])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{local}\nhttp://127.0.0.1:8765\n"));
    sb.cmd(&[
        "exec",
        "--host",
        "https://api.wandb.ai",
        "--",
        "sh",
        "-c",
        PRINT_ENV,
    ])
    .key_on_stdout()
    .run()
    .ok()
    .stdout_is(&format!("{cloud}\nhttps://api.wandb.ai\n"));
    // Arguments after the program are its own, flags included.
    sb.cmd(&[
        "exec",
        "--",
        "sh",
        "-c",
        r#"printf '%s|' "$@""#,
        "x",
        "--host",
        "-v",
        "--",
    ])
    .run()
    .ok()
    .stdout_is("--host|-v|--|");
    // Without `--` too.
    sb.cmd(&["exec", "printf", "%s|", "-v"])
        .run()
        .ok()
        .stdout_is("-v|");
}

fn exec_exit_statuses() {
    let sb = Sandbox::new();
    sb.cmd(&["exec", "--", "true"])
        .run()
        .fails(1)
        .stderr_has("no API key for api.wandb.ai")
        .stderr_has("true was not started");
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    sb.cmd(&["exec", "--", "sh", "-c", "exit 7"]).run().fails(7);
    sb.cmd(&["exec", "--", "no-such-program-anywhere", "arg"])
        .run()
        .fails(127)
        .stderr_has("no-such-program-anywhere: command not found");
    let not_executable = sb.work.join("data.txt");
    sb.write(&not_executable, "not a program");
    sb.cmd(&["exec", "--", not_executable.to_str().unwrap()])
        .run()
        .fails(126)
        .stderr_has("permission denied");
    sb.cmd(&["exec"]).run().fails(2);
}

fn exec_replaces_itself_and_signals_reach_the_program() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let script = r#"trap 'echo got-TERM; exit 42' TERM; echo ready; while :; do sleep 0.05; done"#;
    let mut command = sb.cmd(&["exec", "--", "sh", "-c", script]).command();
    command.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = Reaped(command.spawn().unwrap());
    let pid = child.id();
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    // The same process is now the program: its command line is the program's, without
    // the key, and the key is in its environment.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(cmdline.starts_with("sh -c trap"), "{cmdline}");
    assert!(!cmdline.contains(&key));
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let wanted = format!("WANDB_API_KEY={key}");
    assert!(
        environ
            .split(|&b| b == 0)
            .any(|var| var == wanted.as_bytes())
    );
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "got-TERM");
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(42));
}

fn exec_says_when_wandb_api_key_wins() {
    let sb = Sandbox::new();
    let (stored, from_env) = (sb.key(), sb.key());
    sb.cmd(&["login", &stored]).run().ok();
    sb.cmd(&["exec", "--", "sh", "-c", PRINT_ENV])
        .env("WANDB_API_KEY", &from_env)
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{from_env}\nhttps://api.wandb.ai\n"))
        .stderr_has("WANDB_API_KEY is already set in this environment; sh gets that key");
    // An invalid one is an error naming its source, and nothing runs.
    sb.cmd(&["exec", "--", "sh", "-c", "echo ran"])
        .env("WANDB_API_KEY", "short")
        .run()
        .fails(1)
        .stderr_has("the WANDB_API_KEY environment variable does not hold a valid API key")
        .stdout_is("");
}

/// The SDK's own resolution without prompting, then `wandb.Api()` (which checks the key
/// with the server): prints the base URL, whether each saw our key, and the Api's URL.
const SDK_CHECK: &str = "
import os, wandb
from wandb.sdk import wandb_setup
from wandb.sdk.lib.wbauth import authenticate_session
s = wandb_setup.singleton().settings
auth = authenticate_session(host=s.base_url, source='test', prompt=False, update_session=False)
want = os.environ['WANT']
print(s.base_url)
print(auth is not None and auth.api_key == want)
api = wandb.Api(timeout=20)
print(api.api_key == want)
";

fn sdk_under_exec_finds_the_keychain_key() {
    let server = FakeServer::start(Reply::Viewer {
        username: "ann",
        entity: "ann",
        teams: &[],
    });
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let key = sb.key();
    sb.cmd(&["login", "--host", &server.url(), &key]).run().ok();
    assert_eq!(kr.lookup(&server.url()).as_deref(), Some(key.as_str()));
    assert!(!sb.netrc().exists());
    let python = sdk_python().expect("checked by Need::Sdk");
    let out = sb
        .cmd(&["exec", "--", "timeout", "120", &python, "-c", SDK_CHECK])
        .env("WANT", &key)
        .env("WANDB_SILENT", "true")
        .run();
    out.ok()
        .stdout_is(&format!("{}\nTrue\nTrue\n", server.url()));
    // The server saw the key from the environment, and no plaintext copy was written.
    let basic = |k: &str| {
        let out = crate::harness::python(
            "import base64, sys; print(base64.b64encode(('api:' + sys.argv[1]).encode()).decode())",
            &[k],
        );
        format!("Basic {}", out.trim())
    };
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.header("Authorization") == Some(basic(&key).as_str())),
        "the SDK never sent the key to the server"
    );
    assert!(!sb.netrc().exists());
    assert!(!sb.home.join("_netrc").exists());
}
