//! Whether another user could have written a file wandb-cred reads, or replaced a
//! program it records for other programs to run: the trust rule for anything that
//! decides where a key goes or what runs as this user. This user and root are trusted;
//! a file anyone, or a group with other members, may write to is not; nor is one in a
//! folder they may write to, unless it has the sticky bit (others cannot replace what
//! is in it). A user private group (Debian's and Fedora's per-user group) is this user.

use std::path::Path;

use crate::sys;

/// Why another user could have written the file at `path` or put another file there,
/// if one could: it belongs to someone else, others (or a shared group) may change it,
/// or a folder above it (as written or with links resolved) is another user's or open
/// to others.
pub fn file(path: &Path) -> Option<String> {
    if let Ok(meta) = std::fs::metadata(path) {
        if let Some(owner) = sys::foreign_owner(&meta) {
            return Some(format!("it belongs to {owner}"));
        }
        if let Some(why) = sys::foreign_write(&meta) {
            return Some(why);
        }
    }
    folders(path)
}

/// Why another user could replace the program at `path`, if one could: as [`file`],
/// and also when it is writable by its group or others.
pub fn program(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(meta) => {
            if let Some(why) = sys::writable_by_others(&meta) {
                return Some(format!("{} {why}", path.display()));
            }
        }
        Err(e) => return Some(format!("{} cannot be read ({e})", path.display())),
    }
    file(path).map(|why| match why.strip_prefix("it ") {
        Some(rest) => format!("{} {rest}", path.display()),
        None => why,
    })
}

/// The first folder above `path`, as written or with links resolved, that another user
/// controls, and why.
fn folders(path: &Path) -> Option<String> {
    let resolved = std::fs::canonicalize(path).ok();
    for start in std::iter::once(path).chain(resolved.as_deref()) {
        for dir in start
            .ancestors()
            .skip(1)
            .filter(|d| !d.as_os_str().is_empty())
        {
            if let Ok(meta) = std::fs::metadata(dir)
                && let Some(why) = sys::foreign_control(&meta)
            {
                return Some(format!(
                    "its folder {} {}",
                    dir.display(),
                    why.trim_start_matches("it ")
                ));
            }
        }
    }
    None
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn open_folders_are_named_and_sticky_ones_are_not() {
        let t = tempfile::tempdir().unwrap();
        let open = t.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::write(open.join("f"), "").unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let why = file(&open.join("f")).unwrap();
        assert!(why.contains(&open.display().to_string()), "{why}");
        assert!(why.contains("anyone can write"), "{why}");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(file(&open.join("f")), None);
        // A program in it is refused for being writable by others, not for the folder.
        std::fs::set_permissions(open.join("f"), std::fs::Permissions::from_mode(0o775)).unwrap();
        assert!(program(&open.join("f")).unwrap().contains("mode 0775"));
    }
}
