//! `push [--host URL] [--remote-command PATH] [SSH OPTIONS...] DESTINATION`: copies the
//! key for the server to another machine over `ssh`, running `wandb-cred login -` there
//! with the key on ssh's standard input (never in a command line, here or there), so
//! the remote keeps it in its best store (the kernel keyring on a headless server) and
//! says where; what it said is shown line by line. The remote stores it under the same
//! server URL (given as `WANDB_BASE_URL` for that one command, so the remote's own
//! settings are left as they are).

use super::args::StoreArg;
use clap::Args;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use anyhow::{Context as _, bail};
use zeroize::Zeroizing;

use super::output::{escaped, say};
use super::push_record::{self, Copy};
use super::{Context, Exit};
use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;
use crate::resolve::credential::KeySource;
use crate::ssh::{self, shell_quote};

/// Copy the key for the server to another machine over ssh (stored in its best store).
///
/// Runs `wandb-cred login -` on DESTINATION with the key on ssh's standard input,
/// never in a command line; the remote keeps it in its keychain, kernel keyring (a
/// headless server: until it restarts) or netrc, and says which. SSH OPTIONS go to
/// ssh as given (-p PORT, -i FILE, -o OPTION, -J HOST, ...).
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wandb-cred push gpu1
  wandb-cred push -p 2222 -i ~/.ssh/id_ed25519 me@gpu1.example.com
  wandb-cred push --host https://wandb.example.com --remote-command '~/.local/bin/wandb-cred' gpu1
  wandb-cred push --again          # after a new login: every machine with the old key")]
pub struct PushArgs {
    #[command(flatten)]
    pub(super) store: StoreArg,
    /// The W&B server whose key to copy; the remote stores it under the same URL.
    #[arg(long, visible_alias = "base-url", value_name = "URL")]
    pub(super) host: Option<String>,
    /// The wandb-cred program on the remote (default: `wandb-cred` on the PATH ssh gives).
    /// Quote a leading `~/` ('~/.local/bin/wandb-cred'): the remote expands it.
    #[arg(long, value_name = "PATH")]
    pub(super) remote_command: Option<String>,
    /// Which of the server's keys to copy; the remote stores it under the same profile.
    #[arg(long, value_name = "NAME")]
    pub(super) profile: Option<String>,
    /// Push the key again to every machine an earlier push gave another key for this
    /// server (after `login` replaced it), with the ssh options used then.
    #[arg(long, conflicts_with = "remote_command")]
    pub(super) again: bool,
    /// ssh's options and the destination, as for ssh ([user@]host or ssh://...).
    #[arg(
        value_name = "SSH OPTIONS... DESTINATION",
        required_unless_present = "again",
        conflicts_with = "again",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub(super) ssh: Vec<String>,
}

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
    if args.again {
        return again(ctx, args.host.as_deref());
    }
    let line = ssh::parse(
        &args.ssh,
        &["--host", "--base-url", "--remote-command", "--profile"],
    )
    .map_err(
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
    let mut profile = args.profile.clone();
    for (name, value) in &line.ours {
        let slot = match name.as_str() {
            "--remote-command" => &mut remote_program,
            "--profile" => &mut profile,
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
    // The profile is this machine's choice (an entity hint is for a remote's requests).
    let chosen = profile.or_else(|| url.profile().map(str::to_owned));
    let url = url.with_profile(chosen.as_deref())?;
    let key = key_to_send(ctx, &url)?;
    let copy = Copy {
        destination: line.destination.clone(),
        ssh_options: line.options.clone(),
        remote_command: remote_program,
        server: url.wire(),
        key: key.masked(),
        time: 0,
    };
    send(&url, &key, &copy)?;
    if !url.is_default() {
        say(format_args!(
            "On {}, the key is filed under {url}; its default server stays what it was. Programs there reach {url} with `WANDB_BASE_URL={url}` or `--host {url}`; `wandb-cred login --host {url}` there makes it the default.",
            copy.destination
        ));
    }
    Ok(())
}

/// `push --again`: every recorded copy of another key for the server gets the current
/// one, the way it was pushed before.
fn again(ctx: &Context, host: Option<&str>) -> anyhow::Result<()> {
    let (url, _) = ctx.base_url(host)?;
    let key = key_to_send(ctx, &url)?;
    let stale = push_record::stale(&url, &key);
    if stale.is_empty() {
        say(format_args!(
            "No machine holds an older key for {url} that push put there; nothing to do."
        ));
        return Ok(());
    }
    let mut failed = Vec::new();
    for copy in stale {
        if let Err(e) = send(&url, &key, &copy) {
            crate::cli::output::warn(format_args!("{}: {e:#}", copy.destination));
            failed.push(copy.destination);
        }
    }
    if !failed.is_empty() {
        bail!("the key was not pushed to {}", failed.join(", "));
    }
    Ok(())
}

/// The key `push` may send for `url`: a stored one, never netrc's catch-all entry.
fn key_to_send(ctx: &Context, url: &BaseUrl) -> anyhow::Result<ApiKey> {
    let Some(found) = ctx.stored_key(url)? else {
        bail!("{} (nothing was sent)", super::lookup::no_key(ctx, url));
    };
    if let KeySource::Netrc(_) = &found.source
        && !has_machine_entry(ctx, url)?
    {
        bail!(
            "the only key for {url} is the catch-all `default` entry of {}, which push never sends (it usually belongs to another service); store the W&B key with `wandb-cred login` first (nothing was sent)",
            ctx.netrc_path.display()
        );
    }
    Ok(found.key)
}

/// Sends `key` to `copy`'s destination and, when the remote stored it, records the copy.
fn send(url: &BaseUrl, key: &ApiKey, copy: &Copy) -> anyhow::Result<()> {
    let remote_program = copy.remote_command.as_deref().unwrap_or("wandb-cred");
    // `env` runs in every remote login shell (sh, bash, zsh, fish, tcsh); the URL and
    // the program are quoted (but for a leading `~/`, which the remote expands).
    // The same profile there (names are plain words: no quoting needed).
    let profile = url
        .profile()
        .map(|p| format!(" --profile {p}"))
        .unwrap_or_default();
    let remote = format!(
        "env WANDB_BASE_URL={} {} login{profile} -",
        shell_quote(url.as_str()),
        remote_word(remote_program)?
    );
    let destination = &copy.destination;
    let mut child = crate::child::helper("ssh")
        // No terminal on the remote side: the key stays out of any echo.
        .arg("-T")
        .args(&copy.ssh_options)
        .arg("--")
        .arg(destination)
        .arg(&remote)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run ssh (is OpenSSH's client installed?)")?;
    let stdout = child.stdout.take().expect("piped");
    let remote_stdout = std::thread::spawn(move || -> Vec<String> {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect()
    });
    let mut key_line = Zeroizing::new(key.expose().to_owned());
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
    let said_on_stdout = remote_stdout.join().unwrap_or_default();
    // What the remote printed, never raw: it could hold terminal escape sequences.
    for text in said_on_stdout.iter().chain(&said) {
        say(format_args!("{destination}: {}", escaped(text)));
    }
    match status.code() {
        Some(0) if sent.is_ok() => {
            say(format_args!(
                "Pushed the API key for {} ({url}) to {destination}.",
                url.netloc()
            ));
            push_record::remember(Copy {
                time: push_record::now(),
                key: key.masked(),
                ..copy.clone()
            });
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

/// Whether netrc has an entry of its own for one of the server's names (a key found
/// there otherwise came from the catch-all `default` entry).
fn has_machine_entry(ctx: &Context, url: &BaseUrl) -> anyhow::Result<bool> {
    let netrc = ctx.netrc();
    for name in url.netrc_names() {
        if netrc.machine_key(&name)?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `--remote-command` as one word for the remote shell: quoted, but for a leading `~/`,
/// which the remote expands to its own home (`"$HOME"/...`); a value with a `=`, which
/// `env` would take for a variable assignment, is refused.
fn remote_word(program: &str) -> Result<String, Exit> {
    if program.is_empty() || program.contains('=') {
        return Err(Exit {
            code: 2,
            message: format!(
                "--remote-command {}: not a program path (`env` would read a `=` as a variable to set); name the remote wandb-cred, e.g. --remote-command '~/.local/bin/wandb-cred'",
                escaped(program)
            ),
        });
    }
    Ok(match program.strip_prefix("~/") {
        Some(rest) => format!("\"$HOME\"/{}", shell_quote(rest)),
        None => shell_quote(program),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remote_program_word() {
        assert_eq!(
            remote_word("~/.local/bin/wandb-cred").unwrap(),
            "\"$HOME\"/.local/bin/wandb-cred"
        );
        assert_eq!(remote_word("~/a b").unwrap(), "\"$HOME\"/'a b'");
        assert_eq!(
            remote_word("/opt/w c/wandb-cred").unwrap(),
            "'/opt/w c/wandb-cred'"
        );
        assert!(remote_word("A=b").is_err());
        assert!(remote_word("").is_err());
    }
}
