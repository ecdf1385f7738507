//! `ssh [SSH OPTIONS...] DESTINATION [COMMAND...]`: an SSH session in which the remote
//! machine's `wandb-cred` is served by this machine's daemon, through its get-only
//! forwarded socket (as ssh-agent forwarding and gpg-agent's extra socket do): the key is
//! used there and stored nowhere there. A first connection makes a private folder on the
//! remote (`~/.local/state/wandb-cred/forwarded`, 0700); the session then forwards a socket
//! with a name of its own into it (`ssh -R`, `ExitOnForwardFailure`, so a refused
//! forwarding fails instead of leaving a session without keys), sets `WANDB_CRED_SOCKET`
//! (and `WANDB_CRED_NO_AUTOSTART`; `WANDB_CRED_NO_DAEMON` unset) for the remote command or
//! login shell, and removes the
//! socket file when it ends. A name per session means a socket a killed session left
//! behind never blocks the next one.

use super::args::StoreArg;
use anyhow::{Context as _, bail};
use clap::Args;

use super::{Context, Exit};
use crate::client::autostart;
use crate::ipc::{self, RuntimeFiles};
use crate::ssh::{self as ssh_line, shell_quote};

/// Open an SSH session whose wandb-cred is served by this machine's keys (get only).
///
/// Forwards the daemon's get-only socket into a private folder on DESTINATION
/// (`ssh -R`) and sets WANDB_CRED_SOCKET there, so `wandb-cred get` and `exec --
/// python train.py` on the remote use this machine's key for as long as the session
/// lasts, and nothing is stored there. The remote cannot store, remove or list keys
/// through it; each key handed out is logged here. Root on the remote can use the
/// forwarded socket while the session lasts, as with ssh-agent forwarding.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred ssh gpu1                               # a login shell on gpu1
  wandb-cred ssh -p 2222 me@gpu1 wandb-cred exec -- python train.py")]
pub struct SshArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
    /// ssh's options, the destination and a remote command, as for ssh.
    #[arg(
        value_name = "SSH OPTIONS... DESTINATION [COMMAND...]",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub(super) ssh: Vec<String>,
}

/// Run on the remote first: makes the private folder and prints its absolute path.
/// Sockets older than 30 days there are ones killed sessions left behind.
const PREPARE: &str = r#"umask 077; d="$HOME/.local/state/wandb-cred/forwarded"; mkdir -p "$d" && chmod 700 "$d" && find "$d" -name '*.sock' -mtime +30 -exec rm -f {} + 2>/dev/null; printf '%s\n' "$d""#;

pub fn run(ctx: &Context, args: SshArgs) -> anyhow::Result<()> {
    let line = ssh_line::parse(&args.ssh, &[]).map_err(|why| Exit {
        code: 2,
        message: format!("{why}\nUsage: wandb-cred ssh [SSH OPTIONS...] DESTINATION [COMMAND...]"),
    })?;
    if !ipc::FORWARDS {
        bail!("wandb-cred ssh needs Unix sockets, which this platform's ssh cannot forward");
    }
    if ctx.flag("WANDB_CRED_NO_DAEMON") {
        bail!("wandb-cred ssh forwards the daemon's socket, and WANDB_CRED_NO_DAEMON is set");
    }
    // The daemon (started if needed) serves the forwarded socket beside its own.
    let socket = ipc::socket_path(&ctx.env);
    autostart::connect_or_start(&socket, !ctx.flag("WANDB_CRED_NO_AUTOSTART"))
        .with_context(|| format!("no daemon to forward ({})", socket.display()))?;
    let local = RuntimeFiles::for_socket(&socket).forward;
    if !local.exists() {
        bail!(
            "the daemon at {} has no forwarded socket ({} is missing; `wandb-cred stop` and try again: a daemon of this version makes one)",
            socket.display(),
            local.display()
        );
    }
    let destination = &line.destination;
    let remote_dir = prepare(&line.options, destination)?;
    let remote = format!("{remote_dir}/{}.sock", session_name());
    let command = if line.command.is_empty() {
        r#""${SHELL:-/bin/sh}" -l"#.to_owned()
    } else {
        // As ssh does: the words joined by spaces, for the remote shell to read.
        line.command.join(" ")
    };
    let script = session_script(&remote, &command);
    let mut ssh = crate::child::helper("ssh");
    ssh.arg("-R")
        .arg(format!("{remote}:{}", local.display()))
        .args(["-o", "ExitOnForwardFailure=yes"])
        .args(["-o", "StreamLocalBindUnlink=yes"]);
    // A login shell wants a terminal (ssh gives one by itself only without a command).
    if line.command.is_empty() && !line.letters.contains(&'T') {
        ssh.arg("-t");
    }
    ssh.args(&line.options)
        .arg("--")
        .arg(destination)
        .arg(format!("sh -c {}", shell_quote(&script)));
    let error = crate::sys::run_in_place(&mut ssh);
    Err(Exit {
        code: 127,
        message: format!("cannot run ssh: {error}"),
    }
    .into())
}

/// The remote side of the session: the socket's variables, a trap that removes the
/// socket when the session ends (the path read from the variable, so any path works,
/// spaces and quotes included), then `command`.
fn session_script(socket: &str, command: &str) -> String {
    format!(
        "WANDB_CRED_SOCKET={}; WANDB_CRED_NO_AUTOSTART=1; WANDB_CRED_FORWARDED=1; export WANDB_CRED_SOCKET WANDB_CRED_NO_AUTOSTART WANDB_CRED_FORWARDED; unset WANDB_CRED_NO_DAEMON; trap 'rm -f \"$WANDB_CRED_SOCKET\"' EXIT HUP TERM; {command}",
        shell_quote(socket)
    )
}

/// Makes the remote's private folder for forwarded sockets; its absolute path.
fn prepare(options: &[String], destination: &str) -> anyhow::Result<String> {
    let out = crate::child::helper("ssh")
        .arg("-T")
        .args(options)
        .arg("--")
        .arg(destination)
        .arg(format!("sh -c {}", shell_quote(PREPARE)))
        .stdin(std::process::Stdio::null())
        .output()
        .context("cannot run ssh (is OpenSSH's client installed?)")?;
    // What the remote (or ssh) said, never raw: it could hold terminal escape sequences.
    for said in String::from_utf8_lossy(&out.stderr).lines() {
        eprintln!("{}", super::output::escaped(said));
    }
    let dir = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .to_owned();
    if !out.status.success() || !dir.starts_with('/') {
        bail!(
            "cannot make a private folder for the forwarded socket on {destination} (ssh exit status {}; its message is above)",
            out.status
                .code()
                .map_or("none".to_owned(), |c| c.to_string())
        );
    }
    Ok(dir)
}

/// A name no other session uses: time and process id, hex.
fn session_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}-{:x}", nanos & 0xffff_ffff_ffff, std::process::id())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// The clean-up works for a home folder whose path needs quoting (it broke on a
    /// space before: the quoted path was put inside the trap's own quotes).
    #[test]
    fn the_session_removes_its_socket_whatever_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("it's a home");
        std::fs::create_dir(&home).unwrap();
        let socket = home.join("s.sock");
        std::fs::write(&socket, "").unwrap();
        let script = session_script(socket.to_str().unwrap(), "test -e \"$WANDB_CRED_SOCKET\"");
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .status()
            .unwrap();
        assert!(status.success(), "the command saw the socket's variable");
        assert!(!socket.exists(), "the trap removed the socket");
    }
}
