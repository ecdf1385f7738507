//! The fast path of the `wandb-cred` front: `get [--host URL]` and `git-credential get`
//! answered before clap, the logger or any runtime exist, with one round trip to a
//! running daemon (`HelloGet`). It reuses the commands' own lookup code, so whatever it
//! prints is what the full program would print. Anything else, and every failure
//! (no daemon, another protocol or backend, no key, a broken file, logging asked
//! for), is handed to the full program unchanged, which then does the work, says
//! Hello, autostarts and words the errors. Nothing is printed before that hand-over.
//! The one exception: the daemon saying the keychain is locked or did not answer in
//! time is reported here, exactly as the full program would report it.

use std::ffi::OsString;
use std::io::Read;
use std::path::Path;

use zeroize::Zeroizing;

use super::{Context, GIT_HELPER_NAME, get, git_credential, report};
use crate::client::quick::QuickDaemon;
use crate::git_credential::Request;
use crate::ipc;
use crate::resolve::credential::ResolveError;
use crate::service::{ErrorKind, KeyService, ServiceError};
use crate::store::backend::BackendChoice;

/// What the fast path did.
pub enum Outcome {
    /// Answered: exit with this status.
    Done(u8),
    /// Not answered. `stdin` holds what was read from standard input, which the full
    /// program must read again.
    Handover { stdin: Option<Zeroizing<Vec<u8>>> },
}

/// The commands the fast path knows.
enum Command<'a> {
    Get { host: Option<&'a str>, env: bool },
    GitCredentialGet,
}

/// Variables that ask for behaviour only the full program has.
const FULL_PROGRAM_VARS: &[&str] = &[
    "WANDB_CRED_LOG",
    "WANDB_CRED_NO_DAEMON",
    "WANDB_IDENTITY_TOKEN_FILE",
];

pub fn serve(args: &[OsString]) -> Outcome {
    let handover = Outcome::Handover { stdin: None };
    let Some(command) = command(args) else {
        return handover;
    };
    if FULL_PROGRAM_VARS
        .iter()
        .any(|v| std::env::var_os(v).is_some())
    {
        return handover;
    }
    let backend = match std::env::var("WANDB_CRED_BACKEND") {
        Ok(text) => match text.parse::<BackendChoice>() {
            Ok(choice) => choice,
            Err(_) => return handover,
        },
        // The user's configuration, as the full program reads it; a broken one is the
        // full program's to report.
        Err(std::env::VarError::NotPresent) => match crate::config::user_config::get("backend") {
            Ok(Some(name)) => match name.parse::<BackendChoice>() {
                Ok(choice) => choice,
                Err(_) => return handover,
            },
            Ok(None) => BackendChoice::Auto,
            Err(_) => return handover,
        },
        Err(std::env::VarError::NotUnicode(_)) => return handover,
    };
    match command {
        Command::Get { host, env: false } => match lookup(backend, |ctx| get::key(ctx, host)) {
            Lookup::Found(key) => Outcome::Done(report(get::print(&key))),
            Lookup::Final(error) => Outcome::Done(report(Err(error))),
            Lookup::Handover => handover,
        },
        // No key is left to the full program, which prints nothing.
        Command::Get { host, env: true } => {
            let found =
                |ctx: &Context| get::lookup(ctx, host)?.ok_or_else(|| anyhow::anyhow!("no key"));
            match lookup(backend, found) {
                Lookup::Found((url, key)) => Outcome::Done(report(get::print_env(&url, &key))),
                Lookup::Final(error) => Outcome::Done(report(Err(error))),
                Lookup::Handover => handover,
            }
        }
        Command::GitCredentialGet => {
            if !crate::sys::HANDS_OVER_STDIN {
                return handover;
            }
            let Some(mut stdin) = crate::sys::raw_stdin() else {
                return handover;
            };
            let mut recorded = Recording {
                inner: &mut stdin,
                seen: Zeroizing::new(Vec::new()),
            };
            let answer = match Request::read(&mut recorded) {
                Ok(request) => lookup(backend, |ctx| git_credential::get(ctx, &request)),
                Err(_) => Lookup::Handover,
            };
            match answer {
                Lookup::Found(answer) => Outcome::Done(report(git_credential::print(answer))),
                Lookup::Final(error) => Outcome::Done(report(Err(error))),
                Lookup::Handover => Outcome::Handover {
                    stdin: Some(recorded.seen),
                },
            }
        }
    }
}

/// `get` with any of `--env`, `--host URL`, `--host=URL` (or `--base-url`), each at
/// most once; `git-credential get`; and `get` when called as `git-credential-wandb`;
/// nothing else.
fn command(args: &[OsString]) -> Option<Command<'_>> {
    let program = Path::new(args.first()?).file_stem()?;
    let rest: Vec<&str> = args[1..]
        .iter()
        .map(|a| a.to_str())
        .collect::<Option<_>>()?;
    if program == GIT_HELPER_NAME {
        return (rest == ["get"]).then_some(Command::GitCredentialGet);
    }
    match rest.as_slice() {
        ["git-credential", "get"] => return Some(Command::GitCredentialGet),
        ["get", ..] => {}
        _ => return None,
    }
    let host_flag = |flag: &str| flag == "--host" || flag == "--base-url";
    let (mut host, mut env) = (None, false);
    let mut words = rest[1..].iter();
    while let Some(word) = words.next() {
        let value = match word.split_once('=') {
            _ if *word == "--env" && !env => {
                env = true;
                continue;
            }
            Some((flag, value)) if host_flag(flag) => value,
            None if host_flag(word) => *words.next()?,
            _ => return None,
        };
        if host.is_some() || value.starts_with('-') {
            return None;
        }
        host = Some(value);
    }
    Some(Command::Get { host, env })
}

/// What a lookup on the fast path came to.
enum Lookup<T> {
    Found(T),
    /// The daemon's own answer that the keychain is locked or did not answer in time:
    /// reported as the full program would report it (it would only ask again, and wait
    /// out the timeout a second time).
    Final(anyhow::Error),
    Handover,
}

/// Runs `find` with a context whose key service is a running daemon reached in one
/// round trip.
fn lookup<T>(
    backend: BackendChoice,
    find: impl FnOnce(&Context) -> anyhow::Result<T>,
) -> Lookup<T> {
    let Ok(ctx) = Context::load_using(backend, quick_daemon) else {
        return Lookup::Handover;
    };
    // The full program says the settings files' warnings.
    if !ctx.settings.warnings.is_empty() {
        return Lookup::Handover;
    }
    match find(&ctx) {
        Ok(found) => Lookup::Found(found),
        Err(error) if keychain_said_no(&error) => Lookup::Final(error),
        Err(_) => Lookup::Handover,
    }
}

fn keychain_said_no(error: &anyhow::Error) -> bool {
    let final_kind = |e: &ServiceError| matches!(e.kind, ErrorKind::Locked | ErrorKind::Timeout);
    error.chain().any(|cause| {
        cause.downcast_ref::<ServiceError>().is_some_and(final_kind)
            || matches!(
                cause.downcast_ref::<ResolveError>(),
                Some(ResolveError::Service(e)) if final_kind(e)
            )
    })
}

fn quick_daemon(ctx: &Context) -> Box<dyn KeyService> {
    Box::new(QuickDaemon::new(
        ipc::socket_path(&ctx.env),
        ctx.backend_label(),
    ))
}

/// Keeps every byte read, so the full program can be given the same input.
struct Recording<'a, R> {
    inner: &'a mut R,
    seen: Zeroizing<Vec<u8>>,
}

impl<R: Read> Read for Recording<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        crate::secret_input::reserve(&mut self.seen, n);
        self.seen.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}
