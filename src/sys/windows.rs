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
