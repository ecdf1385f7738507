//! The W&B SDK's own ways of storing a key, with the hook installed (issue 32): `wandb
//! login KEY`, `wandb.login(key=...)`, `wandb login --relogin` and the prompts of
//! `wandb.login()`, `wandb.init()` and `wandb.Api()` (on a real pty) store the key with
//! wandb-cred, in the kernel keyring here (which the SDK cannot read by itself): no
//! netrc, no key in wandb-cred's arguments or environment, and the next program sends
//! the new key to a fake W&B server that records it. The real SDK 0.31.0 and the oldest
//! the hook serves, 0.24.1, in throwaway venvs.

use std::path::PathBuf;

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox, purelib, sdk_python};
use crate::hook_servers::{oldest_sdk_python, venv_over};
use crate::pty::Pty;
use crate::server::FakeServer;
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Sdk, Need::KernelKeyring];
        every_sdk_write_goes_to_wandb_cred_with_the_current_sdk,
        a_key_that_cannot_be_kept_is_used_by_this_process_only,
        the_opt_out_writes_netrc_and_a_different_netrc_key_is_said_once,
        a_key_entered_the_wandb_way_goes_to_the_profile_the_command_chooses,
    ];
    all.extend(trials![[Need::OlderSdks, Need::KernelKeyring];
        every_sdk_write_goes_to_wandb_cred_with_the_oldest_supported_sdk,
    ]);
    all
}

/// A sandbox with its own kernel keyring, a fake W&B server named in the system
/// settings (as `wandb login --host` leaves it), and a venv over `shared` with the hook
/// (its runs of wandb-cred logged by a spy).
struct World {
    sb: Sandbox,
    server: FakeServer,
    python: PathBuf,
    spied: PathBuf,
}

impl World {
    fn new(shared: &str) -> Self {
        let server = crate::hook_servers::viewer();
        let mut sb = Sandbox::new();
        sb.own_kernel_keyring();
        let python = venv_over(&sb, shared, "venv");
        let spied = crate::python_hook::spy(&purelib(&python), &sb);
        let world = Self {
            sb,
            server,
            python,
            spied,
        };
        world.configure();
        world
    }

    fn configure(&self) {
        self.sb.write(
            &self.sb.system_settings(),
            &format!("[default]\nbase_url = {}\n", self.server.url()),
        );
    }

    /// The SDK run as a user runs it: `python -m wandb ...` or a script.
    fn python(&self, args: &[&str]) -> crate::harness::Run<'_> {
        self.sb
            .program(&self.python, args)
            .env("WANDB_MODE", "online")
            .env("WANDB_DISABLE_CODE", "true")
    }

    /// The same on a pty, answering the SDK's choice, where it offers one, with 2 (an
    /// existing account) and its hidden key prompt with `key`; the transcript up to the
    /// end of the line holding `until`, or with `None` of the whole run (which succeeds).
    fn prompted(&self, args: &[&str], key: &str, until: Option<&str>) -> String {
        const PASTE: &str = "Paste your API key";
        let mut pty = Pty::spawn(self.python(args).env("TERM", "xterm").command());
        let mut at = match pty.expect_any(0, &["Enter your choice", PASTE]) {
            (at, 0) => {
                pty.type_line("2");
                pty.expect_from(at, PASTE)
            }
            (at, _) => at,
        };
        pty.wait_for_hidden_input();
        pty.type_line(key);
        let Some(until) = until else {
            let (status, transcript) = pty.finish();
            assert!(status.success(), "{status}\n{transcript}");
            return transcript;
        };
        at = pty.expect_from(at, until);
        pty.expect_from(at, "\n");
        // wandb.init() would go on to start a run against the fake server: enough.
        std::mem::take(&mut pty.transcript)
    }

    /// The next program: `wandb.login(verify=True)` sends `key` to the server, and
    /// never `old`.
    fn next_program_sends(&self, key: &str, old: &str) {
        let before = self.server.requests().len();
        let out = self
            .python(&["-c", "import wandb\nwandb.login(verify=True)\nprint('ok')"])
            .env("WANDB_SILENT", "true")
            .run();
        out.ok().stdout_is("ok\n");
        let sent = self.server.authorizations_since(before);
        assert!(
            sent.contains(&crate::verify::basic(key)),
            "the new key was not sent ({} requests)\n{}",
            sent.len(),
            out.report()
        );
        assert!(
            !sent.contains(&crate::verify::basic(old)),
            "the old key was sent\n{}",
            out.report()
        );
    }

    /// No netrc; wandb-cred holds `key`; the spy saw `login --from-sdk` with the key in
    /// neither its arguments nor its environment.
    fn kept(&self, key: &str, what: &str, said: &str) {
        assert!(
            !self.sb.netrc().exists(),
            "{what} wrote a netrc file\n{said}"
        );
        self.sb.get_gives(key);
        let args = std::fs::read_to_string(&self.spied).unwrap_or_default();
        assert!(
            args.contains(&format!("login --from-sdk --host {}", self.server.url())),
            "{what}: wandb-cred was not given the key: {args}\n{said}"
        );
        let env = std::fs::read_to_string(self.spied.with_extension("env")).unwrap();
        assert!(
            !args.contains(key) && !env.contains(key),
            "{what}: the key was in wandb-cred's arguments or environment"
        );
        let stored = format!(
            "wandb-cred: Stored the API key for {} in the kernel keyring",
            self.server.url().trim_start_matches("http://")
        );
        assert!(
            said.contains(&stored),
            "{what}: {stored:?} not said\n{said}"
        );
        assert!(
            !said.contains("netrc file"),
            "{what}: the SDK spoke of its netrc\n{said}"
        );
    }
}

fn every_sdk_write_goes_to_wandb_cred_with_the_current_sdk() {
    every_sdk_write_goes_to_wandb_cred(&sdk_python().expect("checked by Need::Sdk"));
}

fn every_sdk_write_goes_to_wandb_cred_with_the_oldest_supported_sdk() {
    every_sdk_write_goes_to_wandb_cred(&oldest_sdk_python().expect("checked by Need::OlderSdks"));
}

const LOGIN_WITH_KEY: &str = "import sys, wandb\nkey = sys.stdin.readline().strip()\nwandb.login(key=key, verify=True)\nprint('ok')";
const INIT: &str = "import wandb\ntry:\n    wandb.init(project='p', settings=wandb.Settings(init_timeout=5))\nexcept Exception as e:\n    print(type(e).__name__)";
const API: &str = "import wandb\ntry:\n    wandb.Api().viewer\nexcept Exception as e:\n    print(type(e).__name__)";

/// Each path, one after the other, each with a new key: it replaces the stored one and
/// the next program sends it. The prompts of `wandb.login()`, `wandb.init()` and
/// `wandb.Api()` appear only when no key is stored: logged out first. Failed before the
/// fix: every path appended the key to ~/.netrc, and the next program sent the old key.
fn every_sdk_write_goes_to_wandb_cred(shared: &str) {
    let w = World::new(shared);
    let sb = &w.sb;
    let mut old = sb.key();
    sb.cmd(&["login", &old]).run().ok();
    let url = w.server.url();
    let host = url.trim_start_matches("http://");
    for what in [
        "wandb login KEY",
        "wandb.login(key=...)",
        "wandb login --relogin",
        "wandb.login() prompt",
        "wandb.init() prompt",
        "wandb.Api() prompt",
    ] {
        let key = sb.key();
        if what.ends_with("prompt") {
            sb.cmd(&["logout"]).run().ok();
        }
        let said = match what {
            "wandb login KEY" => {
                let out = w.python(&["-m", "wandb", "login", &key]).run();
                out.ok();
                out.stderr.clone()
            }
            "wandb.login(key=...)" => {
                let out = w
                    .python(&["-c", LOGIN_WITH_KEY])
                    .stdin(&format!("{key}\n"))
                    .run();
                out.ok().stdout_is("ok\n");
                out.stderr.clone()
            }
            "wandb login --relogin" => {
                w.prompted(&["-m", "wandb", "login", "--relogin"], &key, None)
            }
            "wandb.login() prompt" => w.prompted(
                &["-c", "import wandb\nwandb.login()\nprint('logged in')"],
                &key,
                None,
            ),
            "wandb.init() prompt" => w.prompted(&["-c", INIT], &key, Some("in the kernel keyring")),
            _ => w.prompted(&["-c", API], &key, Some("in the kernel keyring")),
        };
        assert!(!said.contains(&key), "{what} showed the key");
        w.kept(&key, what, &said);
        if what == "wandb login --relogin" {
            assert!(
                said.contains(&format!("It replaced the API key {}", masked(&old))),
                "{what}: the replaced key was not named\n{said}"
            );
        }
        assert!(said.contains(host), "{said}");
        w.configure();
        w.next_program_sends(&key, &old);
        old = key;
    }
}

/// The last four characters, as wandb-cred masks a `wandb_v1_` key.
fn masked(key: &str) -> String {
    format!("wandb_v1_****{}", &key[key.len() - 4..])
}

/// The encrypted store chosen but never unlocked: `wandb.login(key=...)` goes on with
/// the key, which this process then reads, one line says it was not kept, why and how
/// to keep it; nothing reaches netrc, and the program does not fail. Failed before the
/// fix: the key went to netrc in plaintext.
fn a_key_that_cannot_be_kept_is_used_by_this_process_only() {
    let w = World::new(&sdk_python().expect("checked by Need::Sdk"));
    let sb = &w.sb;
    sb.cmd(&["config", "backend", "encrypted-file"]).run().ok();
    let key = sb.key();
    let script = format!(
        "{LOGIN_WITH_KEY}\nfrom wandb.sdk.lib.wbauth import wbnetrc\nprint(wbnetrc.read_netrc_auth(host={:?}) == key)",
        w.server.url()
    );
    let out = w.python(&["-c", &script]).stdin(&format!("{key}\n")).run();
    out.ok().stdout_is("ok\nTrue\n");
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("was not kept"))
        .unwrap_or_else(|| panic!("no line said so\n{}", out.report()));
    assert!(
        line.starts_with(&format!(
            "wandb-cred: the API key for {} was not kept (",
            w.server.url().trim_start_matches("http://")
        )) && line.contains("unlock")
            && line.contains("this program uses it until it ends")
            && line.ends_with("To keep it: `wandb-cred login --relogin`"),
        "{line}"
    );
    assert!(
        !sb.netrc().exists(),
        "the key went to netrc\n{}",
        out.report()
    );
    // A prompt path (it does not catch errors in the SDK) goes on as well.
    let key = sb.key();
    let said = w.prompted(
        &["-c", "import wandb\nwandb.login()\nprint('logged in')"],
        &key,
        None,
    );
    assert!(said.contains("was not kept"), "{said}");
    assert!(!sb.netrc().exists(), "the key went to netrc\n{said}");
}

/// `WANDB_CRED_NO_HOOK=1 wandb login KEY` writes netrc as the SDK does. The next program
/// with the hook uses wandb-cred's key and says, once, that netrc holds another, with
/// the command that adopts it; `doctor` warns (and exits 1); after that command the next
/// program sends the netrc key. Failed before the fix: nothing was said.
fn the_opt_out_writes_netrc_and_a_different_netrc_key_is_said_once() {
    let w = World::new(&sdk_python().expect("checked by Need::Sdk"));
    let sb = &w.sb;
    let (stored, newer) = (sb.key(), sb.key());
    sb.cmd(&["login", &stored]).run().ok();
    w.python(&["-m", "wandb", "login", &newer])
        .env("WANDB_CRED_NO_HOOK", "1")
        .run()
        .ok();
    let host = w.server.url().trim_start_matches("http://").to_owned();
    let entry = sb.python_netrc(&sb.netrc(), &host).expect("netrc entry");
    assert_eq!(entry.2, newer);
    sb.get_gives(&stored);
    let out = w
        .python(&[
            "-c",
            "import wandb\nwandb.login(verify=True)\nwandb.login(verify=True, relogin=False)\nprint('ok')",
        ])
        .run();
    out.ok();
    let said: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("holds another API key"))
        .collect();
    assert_eq!(said.len(), 1, "{}", out.report());
    let adopt = format!("`wandb-cred migrate --replace --host {}`", w.server.url());
    assert!(
        said[0].contains(&masked(&newer))
            && said[0].contains(&masked(&stored))
            && said[0].ends_with(&adopt),
        "{}",
        said[0]
    );
    let doctor = sb.cmd(&["doctor"]).run();
    doctor.fails(1);
    assert!(
        doctor
            .stdout
            .lines()
            .any(|l| l.starts_with("[warning]") && l.contains(&masked(&newer))),
        "{}",
        doctor.report()
    );
    let words: Vec<String> = adopt
        .trim_matches('`')
        .split(' ')
        .skip(1)
        .map(str::to_owned)
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    // Said once, truly (it ended with "no key in ~/.netrc; nothing to move").
    sb.cmd(&words)
        .run()
        .ok()
        .stderr_has("netrc's key (")
        .stderr_lacks("nothing to move");
    w.next_program_sends(&newer, &stored);
}

/// `WANDB_CRED_PROFILE=work wandb login KEY`: the key goes to profile `work`, and the
/// server's other key stays as it was. Failed before the fix: it went to netrc, which
/// has no profiles.
fn a_key_entered_the_wandb_way_goes_to_the_profile_the_command_chooses() {
    let w = World::new(&sdk_python().expect("checked by Need::Sdk"));
    let sb = &w.sb;
    let (personal, work) = (sb.key(), sb.key());
    sb.cmd(&["login", &personal]).run().ok();
    w.python(&["-m", "wandb", "login", &work])
        .env("WANDB_CRED_PROFILE", "work")
        .env("WANDB_SILENT", "true")
        .run()
        .ok();
    assert!(!sb.netrc().exists(), "wandb login wrote a netrc file");
    sb.cmd(&["get", "--profile", "work"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{work}\n"));
    sb.get_gives(&personal);
}
