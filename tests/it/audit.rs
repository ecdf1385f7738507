//! The secrets audit: every command, run with `WANDB_CRED_LOG=trace` against a real
//! keychain and against netrc, must not show the key, or any 12-character piece of it,
//! in its output, errors, JSON or the daemon's log, except where showing it is the job
//! (`get` and `git-credential get` on stdout). The key is never in the daemon's argv.

use libtest_mimic::Trial;

use crate::harness::{Need, Outcome, Sandbox};
use crate::keyring::{Keyring, Provider};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Keyring, Need::Git];
        keychain_backend_at_trace_level_keeps_keys_to_itself
    ];
    all.extend(trials![[Need::Git]; netrc_backend_at_trace_level_keeps_keys_to_itself]);
    all
}

const PIECE: usize = 12;

/// The first 12-character piece of `key` that `text` holds.
fn leaked_piece<'k>(text: &str, key: &'k str) -> Option<&'k str> {
    (0..=key.len() - PIECE)
        .map(|i| &key[i..i + PIECE])
        .find(|piece| text.contains(piece))
}

struct Audit<'s> {
    sb: &'s Sandbox,
    keys: Vec<String>,
}

impl Audit<'_> {
    #[track_caller]
    fn clean(&self, what: &str, text: &str) {
        for key in &self.keys {
            if let Some(piece) = leaked_piece(text, key) {
                panic!("{what} holds a piece of a key ({piece:?}):\n{text}");
            }
        }
    }

    /// Runs a command at trace level; its stdout may hold a key only when `key_out`.
    #[track_caller]
    fn run(&mut self, args: &[&str], stdin: Option<&str>, key_out: bool) -> Outcome {
        let mut run = self.sb.cmd(args).env("WANDB_CRED_LOG", "trace");
        if let Some(input) = stdin {
            run = run.stdin(input);
        }
        if key_out {
            run = run.key_on_stdout();
        }
        let out = run.run();
        let name = args.join(" ");
        self.clean(&format!("stderr of `{name}`"), &out.stderr);
        if !key_out {
            self.clean(&format!("stdout of `{name}`"), &out.stdout);
        }
        out
    }

    fn daemon_is_clean(&self) {
        let dir = self.sb.daemon_dir();
        let log = std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default();
        assert!(
            log.contains("TRACE") || log.contains("DEBUG"),
            "the daemon did not log at trace level:\n{log}"
        );
        self.clean("the daemon's log", &log);
        if let Some(pid) = self.sb.daemon_pid() {
            let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
            self.clean("the daemon's argv", &String::from_utf8_lossy(&argv));
        }
    }
}

/// Every command a user has, with keys in play: stored, found, listed, moved, erased.
fn every_command(audit: &mut Audit<'_>, first: &str, second: &str) {
    let host = "https://wb.example.com";
    audit
        .run(&["login", "-"], Some(&format!("{first}\n")), false)
        .ok();
    audit
        .run(
            &["login", "--host", host, "-"],
            Some(&format!("{second}\n")),
            false,
        )
        .ok();
    audit.run(&["login", "--cloud"], None, false).ok();
    audit.run(&["get"], None, true).ok();
    audit.run(&["get", "--host", host], None, true).ok();
    audit.run(&["status"], None, false).ok();
    audit.run(&["status", "--json"], None, false).ok();
    audit.run(&["list"], None, false).ok();
    audit.run(&["list", "--json"], None, false).ok();
    audit.run(&["doctor"], None, false);
    audit.run(&["doctor", "--json"], None, false);
    let request = "protocol=https\nhost=api.wandb.ai\n\n";
    audit
        .run(&["git-credential", "get"], Some(request), true)
        .ok();
    let store = format!("protocol=https\nhost=wb.example.com\nusername=api\npassword={second}\n\n");
    audit
        .run(&["git-credential", "store"], Some(&store), false)
        .ok();
    audit
        .run(
            &["git-credential", "erase"],
            Some(&format!(
                "protocol=https\nhost=wb.example.com\nusername=api\npassword={first}\n\n"
            )),
            false,
        )
        .ok();
    audit
        .run(
            &["exec", "--", "sh", "-c", "test -n \"$WANDB_API_KEY\""],
            None,
            false,
        )
        .ok();
    audit.run(&["setup-git"], None, false).ok();
    audit.run(&["setup-git", "--unset"], None, false).ok();
    audit.run(&["migrate", "--all"], None, false);
    audit.run(&["reload"], None, false).ok();
    // Failures must not quote keys either.
    audit
        .run(&["login", &format!("{first}!")], None, false)
        .fails(1);
    audit
        .run(&["get", "--host", "https://nothing.example"], None, false)
        .fails(1);
    audit.run(&["logout", "--host", host], None, false).ok();
    audit.run(&["logout"], None, false).ok();
}

/// Every command, then the daemon's log and argv, for the sandbox's backend.
fn audit_everything(sb: &Sandbox) {
    let (first, second) = (sb.key(), sb.key());
    let mut audit = Audit {
        sb,
        keys: vec![first.clone(), second.clone()],
    };
    every_command(&mut audit, &first, &second);
    audit.daemon_is_clean();
    audit.run(&["stop"], None, false).ok();
}

fn keychain_backend_at_trace_level_keeps_keys_to_itself() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    audit_everything(&sb);
}

fn netrc_backend_at_trace_level_keeps_keys_to_itself() {
    audit_everything(&Sandbox::new());
}
