//! `push [--host URL] [--remote-command PATH] [SSH OPTIONS...] DESTINATION`: copies the
//! key for the server to another machine over `ssh`, running `wandb-cred login -` there
//! with the key on ssh's standard input (never in a command line, here or there), so
//! the remote keeps it in its best store (the kernel keyring on a headless server) and
//! says where; what it said is shown line by line. The remote stores it under the same
//! server URL (given as `WANDB_BASE_URL` for that one command, so the remote's own
//! settings are left as they are).

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use anyhow::{Context as _, bail};
use zeroize::Zeroizing;

use super::output::say;
use super::{Context, Exit, PushArgs};
use crate::ssh::{self, shell_quote};

/// ssh options that would keep the key from reaching the remote's standard input, or
/// hand it to a terminal that echoes it.
const REFUSED: &[(char, &str)] = &[
    (
        'n',
        "reads standard input from /dev/null, so the key would not arrive",
    ),
    ('f', "goes to the background before the key is sent"),
    ('N', "runs no remote command"),
    ('t', "gives the remote a terminal, which would echo the key"),
    (
        'W',
        "forwards standard input to a port instead of running a command",
    ),
];

pub fn run(ctx: &Context, args: PushArgs) -> anyhow::Result<()> {
    let line = ssh::parse(&args.ssh, &["--host", "--base-url", "--remote-command"]).map_err(
        |why| Exit {
            code: 2,
            message: format!("{why}\nUsage: wandb-cred push [--host URL] [--remote-command PATH] [SSH OPTIONS...] DESTINATION"),
        },
    )?;
    if !line.command.is_empty() {
        return Err(Exit {
            code: 2,
            message: format!(
                "push runs its own remote command; unexpected {:?} after {}",
                line.command.join(" "),
                line.destination
            ),
        }
        .into());
    }
    if let Some((c, why)) = REFUSED.iter().find(|(c, _)| line.letters.contains(c)) {
        return Err(Exit {
            code: 2,
            message: format!("ssh option -{c} {why}; push cannot use it"),
        }
        .into());
    }
    let mut host = args.host.clone();
    let mut remote_program = args.remote_command.clone();
    for (name, value) in &line.ours {
        let slot = match name.as_str() {
            "--remote-command" => &mut remote_program,
            _ => &mut host,
        };
        if slot.replace(value.clone()).is_some() {
            return Err(Exit {
                code: 2,
                message: format!("{name} given twice"),
            }
            .into());
        }
    }
    let (url, _) = ctx.base_url(host.as_deref())?;
    let Some(found) = ctx.stored_key(&url)? else {
        bail!("{} (nothing was sent)", super::get::no_key(ctx, &url));
    };
    let remote_program = remote_program.unwrap_or_else(|| "wandb-cred".to_owned());
    // `env` runs in every remote login shell (sh, bash, zsh, fish, tcsh); the URL is
    // the only variable part, quoted.
    let remote = format!(
        "env WANDB_BASE_URL={} {} login -",
        shell_quote(url.as_str()),
        shell_quote(&remote_program)
    );
    let destination = &line.destination;
    let mut child = crate::child::helper("ssh")
        // No terminal on the remote side: the key stays out of any echo.
        .arg("-T")
        .args(&line.options)
        .arg("--")
        .arg(destination)
        .arg(&remote)
        .stdin(Stdio::piped())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run ssh (is OpenSSH's client installed?)")?;
    let mut key_line = Zeroizing::new(found.key.expose().to_owned());
    key_line.push('\n');
    let sent = child
        .stdin
        .take()
        .expect("piped")
        .write_all(key_line.as_bytes());
    drop(key_line);
    let said: Vec<String> = BufReader::new(child.stderr.take().expect("piped"))
        .lines()
        .map_while(Result::ok)
        .collect();
    let status = child.wait().context("ssh did not finish")?;
    for text in &said {
        say(format_args!("{destination}: {text}"));
    }
    match status.code() {
        Some(0) if sent.is_ok() => {
            say(format_args!(
                "Pushed the API key for {} ({url}) to {destination}.",
                url.netloc()
            ));
            Ok(())
        }
        Some(127) => bail!(
            "{destination} has no `{remote_program}` on the PATH of an ssh command (nothing was stored there); install wandb-cred there, or name where it is with --remote-command PATH (ssh runs commands with a short PATH, often without ~/.local/bin or ~/.cargo/bin)"
        ),
        Some(255) => bail!(
            "ssh could not reach {destination} (exit status 255; its message is above); nothing was stored there"
        ),
        code => bail!(
            "the login on {destination} failed ({}); its message is above",
            code.map_or("killed by a signal".to_owned(), |c| format!(
                "exit status {c}"
            ))
        ),
    }
}
