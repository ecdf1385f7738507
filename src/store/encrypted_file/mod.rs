//! The encrypted file store (`--backend encrypted-file`): every key in one file,
//! `keys.age` under wandb-cred's data folder, encrypted with a passphrase in the age
//! format ([`age`], ASCII-armored), so the standard `age -d` opens it. The daemon holds
//! it unlocked: `unlock` gives it the passphrase once, it keeps the file key and the
//! decrypted keys (in locked memory) until `lock` or the lock timeout, and serves keys
//! from memory. While locked, every read and write fails with [`StoreError::Locked`].
//!
//! Inside the file, after a first line naming the format and a line with its version
//! ([`version`], against rollback), one line per key: its account
//! ([`BaseUrl::account`]) and the key, separated by a space. Another machine sharing the
//! home (NFS) writes under the same file key: a changed file is read again on the next
//! lookup.

pub mod age;
pub mod version;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use zeroize::Zeroizing;

use super::{Store, StoreError, StoredKey};
use crate::config::atomic;
use crate::key::ApiKey;
use crate::locked::LockedText;
use crate::resolve::base_url::BaseUrl;

/// The first line of the decrypted file.
const FORMAT: &str = "wandb-cred keys 1";
/// The file's name in the data folder.
pub const FILE_NAME: &str = "keys.age";

/// The file, in wandb-cred's data folder: `$XDG_DATA_HOME/wandb-cred/keys.age`, else
/// `~/.local/share/wandb-cred/keys.age` (the platform's data folder elsewhere).
pub fn default_path() -> Option<PathBuf> {
    dirs::data_dir().map(|dir| dir.join("wandb-cred").join(FILE_NAME))
}

/// What an unlocked store holds, in this process only.
struct Unlocked {
    path: PathBuf,
    sealed: age::Sealed,
    /// The decrypted file, in locked memory.
    text: LockedText,
    /// The file as last read or written, to notice another writer.
    stamp: Option<(SystemTime, u64)>,
    lock_at: Option<Instant>,
}

static UNLOCKED: Mutex<Option<Unlocked>> = Mutex::new(None);

fn unlocked() -> std::sync::MutexGuard<'static, Option<Unlocked>> {
    UNLOCKED.lock().unwrap_or_else(|e| e.into_inner())
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn locked_error(path: &Path) -> StoreError {
    StoreError::Locked {
        path: path.to_owned(),
    }
}

/// The armored file opened with `passphrase`: its contents and what later writes take.
fn open_with(
    path: &Path,
    armored: &str,
    passphrase: &[u8],
) -> Result<(Zeroizing<Vec<u8>>, age::Sealed), StoreError> {
    let file = age::unarmor(armored).map_err(|e| file_error(path, e))?;
    age::decrypt(&file, passphrase).map_err(|e| match e {
        age::AgeError::WrongPassphrase => StoreError::WrongPassphrase {
            path: path.to_owned(),
        },
        other => file_error(path, other),
    })
}

/// The armored file opened with the file key an unlock got.
fn reopen(
    path: &Path,
    sealed: &age::Sealed,
    armored: &str,
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    let file = age::unarmor(armored).map_err(|e| file_error(path, e))?;
    sealed.reopen(&file).map_err(|e| file_error(path, e))
}

/// The decrypted file as text.
fn text_of<'p>(path: &Path, plain: &'p [u8]) -> Result<&'p str, StoreError> {
    std::str::from_utf8(plain).map_err(|_| file_error(path, "its contents are not text"))
}

fn file_error(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Encrypted {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// Opens the store at `path` with `passphrase` and keeps it open in this process (the
/// daemon) until [`lock`] or `lock_after`. `create`: where there is no file yet, make
/// an empty one under this passphrase. Returns how many keys it holds.
pub fn unlock(
    path: &Path,
    passphrase: &[u8],
    create: bool,
    lock_after: Option<std::time::Duration>,
) -> Result<usize, StoreError> {
    refuse_foreign(path)?;
    // A lock time past what the clock can hold is refused, not a panic of the daemon.
    let lock_at = match lock_after {
        Some(after) => Some(Instant::now().checked_add(after).ok_or_else(|| {
            file_error(
                path,
                format!(
                    "a lock time of {} s is longer than this machine can count",
                    after.as_secs()
                ),
            )
        })?),
        None => None,
    };
    let armored = atomic::read_own_text(path)?;
    let (sealed, text) = match armored {
        Some(armored) => {
            let (plain, sealed) = open_with(path, &armored, passphrase)?;
            let text = text_of(path, &plain)?;
            parse(path, text)?;
            version::check(path, version::of(text))?;
            (sealed, LockedText::new(text))
        }
        None if create => {
            let sealed =
                age::Sealed::new(passphrase, age::LOG_N).map_err(|e| file_error(path, e))?;
            let text = format!("{FORMAT}\n{}", version::line(1));
            write_new(path, &sealed, &text)?;
            version::seen(path, 1);
            (sealed, LockedText::new(&text))
        }
        None => {
            return Err(StoreError::NoEncryptedFile {
                path: path.to_owned(),
            });
        }
    };
    let count = parse(path, text.as_str())?.len();
    *unlocked() = Some(Unlocked {
        path: path.to_owned(),
        sealed,
        text,
        stamp: stamp(path),
        lock_at,
    });
    if let Some(at) = lock_at {
        lock_on_time(at);
    }
    Ok(count)
}

/// Locks the store when `at` comes, whether or not a request comes then: its keys are
/// not kept a moment longer than the lock time said. A later unlock's own timer (or
/// none) takes over; this one then finds nothing due and does nothing.
fn lock_on_time(at: Instant) {
    let spawned = std::thread::Builder::new()
        .name("lock-after".to_owned())
        .spawn(move || {
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
            let mut guard = unlocked();
            if guard
                .as_ref()
                .is_some_and(|u| u.lock_at.is_some_and(|t| t <= Instant::now()))
            {
                *guard = None;
                tracing::info!("the encrypted store's lock timeout passed; locked it");
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the lock timer; the store locks at the next request after its time");
    }
}

/// After `passwd`: the store open in this process (and not past its lock time) is
/// opened again with `passphrase`, keeping that lock time; `false` when it is locked,
/// which it stays.
pub fn rekey(path: &Path, passphrase: &[u8]) -> Result<bool, StoreError> {
    let mut guard = unlocked();
    if guard
        .as_ref()
        .is_some_and(|u| u.lock_at.is_some_and(|at| Instant::now() >= at))
    {
        *guard = None;
    }
    let Some(state) = guard.as_mut().filter(|u| u.path == path) else {
        return Ok(false);
    };
    refuse_foreign(path)?;
    let armored = atomic::read_own_text(path)?.ok_or_else(|| StoreError::NoEncryptedFile {
        path: path.to_owned(),
    })?;
    let (plain, sealed) = open_with(path, &armored, passphrase)?;
    let text = text_of(path, &plain)?;
    parse(path, text)?;
    version::check(path, version::of(text))?;
    state.sealed = sealed;
    state.text = LockedText::new(text);
    state.stamp = stamp(path);
    Ok(true)
}

/// Encrypts the store at `path` again under `new` (a new file key and salt), in one
/// atomic replacement under the edit lock: the file is the old one or the new one,
/// never neither. Returns how many keys it holds. Every daemon holding the store open
/// (here or on another machine) must be unlocked again with `new`.
pub fn change_passphrase(path: &Path, old: &[u8], new: &[u8]) -> Result<usize, StoreError> {
    refuse_foreign(path)?;
    let mut count = 0;
    let mut written = 0;
    let replaced = atomic::update(path, |armored| {
        if armored.is_empty() {
            return Err(StoreError::NoEncryptedFile {
                path: path.to_owned(),
            });
        }
        let (plain, _) = open_with(path, armored, old)?;
        let text = text_of(path, &plain)?;
        count = parse(path, text)?.len();
        version::refuse_older(path, version::of(text))?;
        // One version on, so the file under the old passphrase is older than this one.
        written = version::of(text).max(version::highest_seen(path)) + 1;
        let text = version::with_version(text, written);
        let sealed = age::Sealed::new(new, age::LOG_N).map_err(|e| file_error(path, e))?;
        let file = sealed
            .encrypt(text.as_bytes())
            .map_err(|e| file_error(path, e))?;
        Ok::<_, StoreError>(Some((age::armor(&file), ())))
    })?;
    if replaced.is_none() {
        return Err(StoreError::NoEncryptedFile {
            path: path.to_owned(),
        });
    }
    version::seen(path, written);
    Ok(count)
}

/// A store file another user owns or could write, or in a folder another user
/// controls, is refused: it could have been replaced.
fn refuse_foreign(path: &Path) -> Result<(), StoreError> {
    if !path.exists() {
        return Ok(());
    }
    match crate::ownership::program(path) {
        Some(why) => Err(file_error(
            path,
            format!("refused: another user could have written it ({why})"),
        )),
        None => Ok(()),
    }
}

/// Forgets the keys and the file key. `false` when the store was locked already.
pub fn lock() -> bool {
    unlocked().take().is_some()
}

/// Whether this process holds an encrypted store open (and not past its lock timeout).
pub fn holds_keys() -> bool {
    unlocked()
        .as_ref()
        .is_some_and(|u| u.lock_at.is_none_or(|at| Instant::now() < at))
}

/// Whether the store at `path` is unlocked in this process (and not past its timeout).
pub fn is_unlocked(path: &Path) -> bool {
    with_unlocked(path, |_| Ok(())).is_ok()
}

/// Runs `f` on the unlocked store, read again first when the file changed; locks it
/// when its time is up.
fn with_unlocked<T>(
    path: &Path,
    f: impl FnOnce(&mut Unlocked) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut guard = unlocked();
    if guard
        .as_ref()
        .is_some_and(|u| u.lock_at.is_some_and(|at| Instant::now() >= at))
    {
        tracing::info!("the encrypted store's lock timeout passed; locked it");
        *guard = None;
    }
    // A store that does not exist is never called locked: the fix differs.
    let state = guard.as_mut().filter(|u| u.path == path).ok_or_else(|| {
        if path.exists() {
            locked_error(path)
        } else {
            StoreError::NoEncryptedFile {
                path: path.to_owned(),
            }
        }
    })?;
    let now = stamp(path);
    if now != state.stamp {
        let armored = atomic::read_own_text(path)?.ok_or_else(|| {
            file_error(
                path,
                "it was removed while unlocked; run `wandb-cred unlock` to make a new one",
            )
        })?;
        let plain = reopen(path, &state.sealed, &armored)?;
        let text = text_of(path, &plain)?;
        parse(path, text)?;
        version::check(path, version::of(text))?;
        state.text = LockedText::new(text);
        state.stamp = now;
    }
    f(state)
}

/// The keys in a decrypted file, by account, in order.
fn parse<'t>(path: &Path, text: &'t str) -> Result<Vec<(&'t str, &'t str)>, StoreError> {
    let mut lines = text.lines();
    if lines.next() != Some(FORMAT) {
        return Err(file_error(
            path,
            format!("its first line is not `{FORMAT}`"),
        ));
    }
    lines
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !version::is_version_line(line))
        .map(|(i, line)| {
            line.split_once(' ').ok_or_else(|| {
                file_error(
                    path,
                    format!("line {} of its contents is not `ACCOUNT KEY`", i + 2),
                )
            })
        })
        .collect()
}

/// Writes a new file with `text` as its contents, atomically and 0600.
fn write_new(path: &Path, sealed: &age::Sealed, text: &str) -> Result<(), StoreError> {
    let file = sealed
        .encrypt(text.as_bytes())
        .map_err(|e| file_error(path, e))?;
    let armored = age::armor(&file);
    atomic::update(path, |current| {
        if !current.is_empty() {
            return Err(file_error(
                path,
                "another process made it meanwhile; run `wandb-cred unlock` again",
            ));
        }
        Ok::<_, StoreError>(Some((armored.clone(), ())))
    })?;
    Ok(())
}

/// The store at one path, served from the unlocked state of this process.
pub struct EncryptedFile {
    path: PathBuf,
}

impl EncryptedFile {
    pub fn open(path: PathBuf) -> Self {
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every key: its account and key.
    pub fn list(&self) -> Result<Vec<(String, ApiKey)>, StoreError> {
        with_unlocked(&self.path, |state| {
            parse(&self.path, state.text.as_str())?
                .into_iter()
                .map(|(account, key)| {
                    let key = ApiKey::parse(Zeroizing::new(key.to_owned())).map_err(|source| {
                        StoreError::InvalidKey {
                            machine: account.to_owned(),
                            location: self.path.display().to_string(),
                            source,
                        }
                    })?;
                    Ok((account.to_owned(), key))
                })
                .collect()
        })
    }

    /// Sets (`Some`) or removes `account`'s key: the file as it is now is read,
    /// changed and written back under the edit lock, so a key another process or
    /// machine stored meanwhile is kept. Returns whether `account` had a key.
    fn change(&self, account: &str, key: Option<&ApiKey>) -> Result<bool, StoreError> {
        with_unlocked(&self.path, |state| {
            let path = &self.path;
            let mut had = false;
            let mut kept = None;
            let mut written = 0;
            atomic::update(path, |armored| {
                if armored.is_empty() {
                    return Err(file_error(
                        path,
                        "it was removed while unlocked; run `wandb-cred unlock` to make a new one",
                    ));
                }
                let plain = reopen(path, &state.sealed, armored)?;
                let now = text_of(path, &plain)?;
                let lines = parse(path, now)?;
                had = lines.iter().any(|(a, _)| *a == account);
                if key.is_none() && !had {
                    return Ok(None);
                }
                let others = lines.iter().filter(|(a, _)| *a != account);
                let new = key.map(|k| (account, k.expose()));
                written = version::of(now).max(version::highest_seen(path)) + 1;
                let version_line = version::line(written);
                // Room for all of it at once: a String that grows frees its old buffer
                // unwiped, and that buffer held keys.
                let room = FORMAT.len()
                    + 1
                    + version_line.len()
                    + others
                        .clone()
                        .copied()
                        .chain(new)
                        .map(|(a, k)| a.len() + k.len() + 2)
                        .sum::<usize>();
                let mut text = Zeroizing::new(String::with_capacity(room));
                text.push_str(FORMAT);
                text.push('\n');
                text.push_str(&version_line);
                for (a, k) in others.copied().chain(new) {
                    text.push_str(a);
                    text.push(' ');
                    text.push_str(k);
                    text.push('\n');
                }
                let sealed = state
                    .sealed
                    .encrypt(text.as_bytes())
                    .map_err(|e| file_error(path, e))?;
                kept = Some(LockedText::new(&text));
                Ok::<_, StoreError>(Some((age::armor(&sealed), ())))
            })?;
            if let Some(text) = kept {
                state.text = text;
                state.stamp = stamp(path);
                version::seen(path, written);
            }
            Ok(had)
        })
    }
}

impl Store for EncryptedFile {
    fn describe(&self) -> String {
        format!("the encrypted file {}", self.path.display())
    }

    fn get(&self, url: &BaseUrl) -> Result<Option<StoredKey>, StoreError> {
        let account = url.account();
        with_unlocked(&self.path, |state| {
            let lines = parse(&self.path, state.text.as_str())?;
            let Some((_, key)) = lines.into_iter().find(|(a, _)| *a == account) else {
                return Ok(None);
            };
            let key = ApiKey::parse(Zeroizing::new(key.to_owned())).map_err(|source| {
                StoreError::InvalidKey {
                    machine: account.clone(),
                    location: self.path.display().to_string(),
                    source,
                }
            })?;
            Ok(Some(StoredKey {
                key,
                location: self.describe(),
            }))
        })
    }

    fn set(&self, url: &BaseUrl, key: &ApiKey) -> Result<String, StoreError> {
        self.change(&url.account(), Some(key))?;
        Ok(self.describe())
    }

    fn delete(&self, url: &BaseUrl) -> Result<bool, StoreError> {
        self.change(&url.account(), None)
    }
}
