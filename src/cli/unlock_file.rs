//! `unlock` for the encrypted file store: reads the passphrase (hidden prompt, or one
//! line of standard input with `-`) and hands it to the daemon, which opens the file and
//! serves its keys from memory. With no file yet, a new passphrase is asked twice and
//! an empty store made. The passphrase is never in argv, the environment or a log.

use anyhow::{Context as _, bail};
use zeroize::Zeroizing;

use super::Context;
use super::output::say;
use crate::prompt;
use crate::store::encrypted_file;

/// The longest passphrase read from standard input.
const MAX_PASSPHRASE: usize = 4096;

pub fn run(
    ctx: &Context,
    from_stdin: bool,
    lock_after: Option<&str>,
    accept_older: bool,
) -> anyhow::Result<()> {
    // The flag, else `lock-after` in the configuration (checked when it was read).
    let configured = crate::config::user_config::get("lock-after")?;
    let lock_after = lock_after.or(configured.as_deref());
    let after = lock_after
        .map(crate::duration::parse)
        .transpose()
        .map_err(|e| super::Exit {
            code: 2,
            message: format!("--lock-after: {e}"),
        })?;
    let path = encrypted_file::default_path()
        .context("no data folder for the encrypted file (is HOME set?)")?;
    if !ctx.service().is_daemon() {
        if let Some(other) = super::daemon_control::running_backend(&ctx.env) {
            bail!(
                "the running daemon keeps keys in {other}, not the encrypted store, so it cannot hold it open: `wandb-cred stop`, then `wandb-cred unlock` again (one for the encrypted store starts)"
            );
        }
        bail!(
            "the encrypted store is held open by the daemon, and this command runs without one (WANDB_CRED_NO_DAEMON?)"
        );
    }
    let create = !path.exists();
    let passphrase = if from_stdin {
        read_stdin()?
    } else {
        if !prompt::available(&ctx.env) {
            bail!(
                "unlock asks for the passphrase and needs a terminal for that (over SSH: `ssh -t HOST wandb-cred unlock`; in a script: `wandb-cred unlock -` with the passphrase on standard input)"
            );
        }
        ask(create)?
    };
    if passphrase.is_empty() {
        bail!("the passphrase is empty; nothing was unlocked");
    }
    let seen = encrypted_file::version::highest_seen(&path);
    if accept_older {
        encrypted_file::version::forget(&path);
    }
    if let Err(e) = ctx.service().unlock(&passphrase, create, after) {
        if accept_older {
            encrypted_file::version::seen(&path, seen);
        }
        return Err(e.into());
    }
    if accept_older && seen > 0 {
        say(format_args!(
            "Took the older store {} (version {seen} was seen here): keys rotated out or removed since then are back; rotate or remove them again.",
            path.display()
        ));
    }
    match (create, lock_after) {
        (true, _) => say(format_args!(
            "Made the encrypted store {} and unlocked it; `wandb-cred login` stores keys there.",
            path.display()
        )),
        (false, Some(after)) => say(format_args!(
            "Unlocked the encrypted store {} for {after}; `wandb-cred lock` locks it sooner.",
            path.display(),
        )),
        (false, None) => say(format_args!(
            "Unlocked the encrypted store {} until `wandb-cred lock` or the daemon stops.",
            path.display()
        )),
    }
    Ok(())
}

fn ask(create: bool) -> anyhow::Result<Zeroizing<String>> {
    if !create {
        return hidden("wandb-cred: Passphrase of the encrypted store: ");
    }
    new_passphrase(
        "wandb-cred: New passphrase for the encrypted store: ",
        "the two passphrases differ; nothing was made",
    )
}

/// A passphrase typed at a hidden prompt.
pub(super) fn hidden(prompt: &str) -> anyhow::Result<Zeroizing<String>> {
    rpassword::prompt_password(prompt)
        .map(Zeroizing::new)
        .context("cannot read the passphrase from the terminal")
}

/// A new passphrase, typed twice; `differ`: the error when the two are not the same.
pub(super) fn new_passphrase(prompt: &str, differ: &str) -> anyhow::Result<Zeroizing<String>> {
    let first = hidden(prompt)?;
    if *first != *hidden("wandb-cred: The same passphrase again: ")? {
        bail!("{differ}");
    }
    Ok(first)
}

/// One line of standard input, without its line ending.
fn read_stdin() -> anyhow::Result<Zeroizing<String>> {
    read_line(&mut crate::secret_input::stdin())
}

/// The next line of `input`, without its line ending: read a byte at a time, so that
/// nothing after it is consumed (a script's next command reads the rest), into room
/// reserved once and wiped. A line longer than [`MAX_PASSPHRASE`] is an error, never
/// cut short.
pub(super) fn read_line(input: &mut impl std::io::Read) -> anyhow::Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(Vec::with_capacity(MAX_PASSPHRASE + 1));
    let mut byte = Zeroizing::new([0u8; 1]);
    loop {
        match input.read(&mut byte[..]) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) if line.len() == MAX_PASSPHRASE + 1 => bail!(
                "the passphrase on standard input is longer than {MAX_PASSPHRASE} bytes; nothing was changed"
            ),
            Ok(_) => line.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(e).context("cannot read the passphrase from standard input");
            }
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.len() > MAX_PASSPHRASE {
        bail!(
            "the passphrase on standard input is longer than {MAX_PASSPHRASE} bytes; nothing was changed"
        );
    }
    let text =
        std::str::from_utf8(&line).context("the passphrase on standard input is not UTF-8")?;
    Ok(Zeroizing::new(text.to_owned()))
}
