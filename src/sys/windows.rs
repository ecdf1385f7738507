//! Windows: no permission bits (the profile folder's ACL protects the files), and a
//! lock file because a folder cannot be locked through std.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::path::Path;

pub const NETRC_NAME: &str = "_netrc";

/// Windows has no mode bits: a new file inherits the ACL of the user's folder.
pub fn make_private(_file: &File) -> io::Result<()> {
    Ok(())
}

/// Windows: no cheap file identity through std; length and time must do.
pub fn file_identity(_meta: &Metadata) -> u64 {
    0
}

pub fn mode(_meta: &Metadata) -> Option<u32> {
    None
}

/// An exclusive lock on `dir\.wandb-cred.lock`, released when the handle is dropped.
pub fn lock_dir(dir: &Path) -> io::Result<File> {
    let handle = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".wandb-cred.lock"))?;
    handle.lock()?;
    Ok(handle)
}

/// Renames are durable once `MoveFileEx` returns; nothing more to do.
pub fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// Windows: a detached process gets no console of ours.
pub fn detach(command: &mut std::process::Command) {
    use std::os::windows::process::CommandExt;
    const DETACHED_PROCESS: u32 = 0x0000_0008;
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    command.creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP);
}

/// Not checked on Windows: the daemon is asked to shut down over its pipe instead.
pub fn is_alive(_pid: u32) -> bool {
    false
}

pub fn terminate(_pid: u32) -> io::Result<()> {
    Err(io::Error::other(
        "stopping a daemon by pid is not supported on Windows",
    ))
}

/// Windows keeps other users' processes out of ours by default; nothing to add.
pub fn harden_process() {}

/// Resolves on Ctrl-C (or the console closing).
pub async fn termination() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "Ctrl-C"
}

/// Windows cannot replace a process: runs `command`, waits, and exits with its exit
/// code. Returns only when the program could not be started.
pub fn run_in_place(command: &mut std::process::Command) -> io::Error {
    match command.status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(e) => e,
    }
}
