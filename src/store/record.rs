//! What was stored where: a small record, with no key material, of the keys kept in the
//! kernel keyring (account, machine name, boot id) and in the desktop keychain (account,
//! machine name), in wandb-cred's private state folder
//! (`stored.json`, 0600, written atomically). Kernel keys are gone after a restart, and
//! a home folder shared between machines (NFS) sees another machine's record: with it,
//! a missing key is explained ("cleared when this machine restarted", "stored on gpu1")
//! instead of "no key". Keeping the record is best effort; it never decides anything.

use crate::config::state_file;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const FILE: &str = "stored.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    /// Account URL -> where its key was put.
    #[serde(default)]
    kernel_keyring: BTreeMap<String, Placed>,
    /// Account URL -> the machine whose desktop keychain holds its key.
    #[serde(default)]
    keychain: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Placed {
    machine: String,
    boot: String,
}

fn read() -> Record {
    state_file::read(FILE)
}

fn change(edit: impl Fn(&mut Record) -> bool) {
    state_file::change(FILE, edit);
}

/// Notes that the key for `account` is now in this machine's kernel keyring.
pub fn stored_in_kernel(account: &str) {
    let (machine, boot) = crate::sys::machine();
    let placed = Placed { machine, boot };
    change(|record| {
        record
            .kernel_keyring
            .insert(account.to_owned(), placed.clone())
            != Some(placed.clone())
    });
}

/// Notes that `account` has no key in the kernel keyring of this machine any more.
pub fn removed_from_kernel(account: &str) {
    let (machine, _) = crate::sys::machine();
    change(|record| {
        let ours = record
            .kernel_keyring
            .get(account)
            .is_some_and(|p| p.machine == machine);
        ours && record.kernel_keyring.remove(account).is_some()
    });
}

/// Notes that the key for `account` is now in this machine's desktop keychain.
pub fn stored_in_keychain(account: &str) {
    let (machine, _) = crate::sys::machine();
    change(|record| {
        record.keychain.insert(account.to_owned(), machine.clone()) != Some(machine.clone())
    });
}

/// Notes that `account` has no key in this machine's desktop keychain any more.
pub fn removed_from_keychain(account: &str) {
    let (machine, _) = crate::sys::machine();
    change(|record| {
        record.keychain.get(account) == Some(&machine) && record.keychain.remove(account).is_some()
    });
}

/// Whether this machine's desktop keychain holds a key for `account`, as far as the
/// record knows (for a session that cannot reach that keychain).
pub fn in_keychain(account: &str) -> bool {
    let (machine, _) = crate::sys::machine();
    read().keychain.get(account) == Some(&machine)
}

/// Why there is no key for `account` although one was stored in a kernel keyring, for
/// the "no key" message; `None` when the record knows of none.
pub fn why_missing(account: &str) -> Option<String> {
    let record = read();
    let placed = record.kernel_keyring.get(account)?;
    let (machine, boot) = crate::sys::machine();
    Some(if placed.machine != machine {
        format!(
            "it was stored in the kernel keyring of machine {} (this home folder is shared), which this machine ({machine}) cannot read; log in here too (`wandb-cred login`)",
            placed.machine
        )
    } else if placed.boot != boot {
        "it was kept in the kernel keyring, which was cleared when this machine restarted; log in again (`wandb-cred login`), or keep keys that survive restarts, encrypted, in the encrypted store (`wandb-cred config backend encrypted-file`, then `wandb-cred unlock` after each restart)".to_owned()
    } else {
        "it was kept in the kernel keyring, which no longer has it (removed with keyctl?); log in again (`wandb-cred login`)".to_owned()
    })
}
