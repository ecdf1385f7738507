//! Unix: permission bits, inode identity, `flock` on the folder itself.

use std::fs::{self, File, Metadata, Permissions};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

pub const NETRC_NAME: &str = ".netrc";

/// Restricts a new file that will hold secrets to its owner (mode 0600).
pub fn make_private(file: &File) -> io::Result<()> {
    file.set_permissions(Permissions::from_mode(0o600))
}

/// The permission bits, for messages and tests (`None` where there are none).
pub fn mode(meta: &Metadata) -> Option<u32> {
    Some(meta.mode() & 0o7777)
}

/// An exclusive advisory lock that serialises our writers of files in `dir`. Locking
/// the folder, not the file, survives the rename that replaces the file, and leaves no
/// lock file behind. Released when the returned handle is dropped.
pub fn lock_dir(dir: &Path) -> io::Result<File> {
    let handle = File::open(dir)?;
    handle.lock()?;
    Ok(handle)
}

/// Makes a completed rename in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` and its missing parents, the new ones private to the owner.
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}
