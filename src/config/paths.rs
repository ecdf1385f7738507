//! Where the SDK keeps its settings files and netrc (compat.md §2, §5).

use std::path::{Path, PathBuf};

use crate::env::Environment;
use crate::sys;

/// `~` or `~/...` expanded against the home folder, as Python's `expanduser` does.
pub fn expand_tilde(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix('~'), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with(['/', '\\']) => {
            home.join(rest.trim_start_matches(['/', '\\']))
        }
        _ => PathBuf::from(path),
    }
}

fn home(env: &Environment) -> PathBuf {
    env.home.clone().unwrap_or_else(|| PathBuf::from("."))
}

/// The system settings file: `$WANDB_CONFIG_DIR/settings`, else `~/.config/wandb/settings`.
pub fn system_settings(env: &Environment) -> PathBuf {
    match env.var("WANDB_CONFIG_DIR") {
        Some(dir) => expand_tilde(dir, env.home.as_deref()).join("settings"),
        None => home(env).join(".config").join("wandb").join("settings"),
    }
}

/// The workspace settings file: `<root>/.wandb/settings` when `<root>/.wandb` is a
/// folder, else `<root>/wandb/settings`; `<root>` is `$WANDB_DIR` or the current folder.
pub fn workspace_settings(env: &Environment) -> PathBuf {
    let root = env
        .var("WANDB_DIR")
        .map_or_else(|| env.cwd.clone(), |d| expand_tilde(d, env.home.as_deref()));
    let root = if root.is_absolute() {
        root
    } else {
        env.cwd.join(root)
    };
    let hidden = root.join(".wandb");
    if hidden.is_dir() {
        hidden.join("settings")
    } else {
        root.join("wandb").join("settings")
    }
}

/// The netrc path, the same for reading and writing: `$NETRC`, else `~/.netrc` or
/// `~/_netrc` if one exists, else the platform's conventional name.
pub fn netrc(env: &Environment) -> PathBuf {
    if let Some(path) = env.var("NETRC") {
        return expand_tilde(path, env.home.as_deref());
    }
    let home = home(env);
    for name in [".netrc", "_netrc"] {
        let path = home.join(name);
        if path.exists() {
            return path;
        }
    }
    home.join(sys::NETRC_NAME)
}

/// wandb-cred's own per-user folder for small non-secret files (the edit lock):
/// `$XDG_STATE_HOME/wandb-cred`, else `~/.local/state/wandb-cred` (where the platform has
/// no state folder: its local data folder, e.g. `%LOCALAPPDATA%\wandb-cred`).
pub fn state_dir() -> Option<PathBuf> {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .map(|dir| dir.join("wandb-cred"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_follow_the_sdk() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("h");
        let cwd = t.path().join("w");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&cwd).unwrap();
        let env = Environment::for_test(home.clone(), cwd.clone(), &[]);
        assert_eq!(system_settings(&env), home.join(".config/wandb/settings"));
        assert_eq!(workspace_settings(&env), cwd.join("wandb/settings"));
        assert_eq!(netrc(&env), home.join(".netrc"));
        std::fs::write(home.join("_netrc"), "").unwrap();
        assert_eq!(netrc(&env), home.join("_netrc"));
        std::fs::create_dir(cwd.join(".wandb")).unwrap();
        assert_eq!(workspace_settings(&env), cwd.join(".wandb/settings"));
        let env = Environment::for_test(
            home.clone(),
            cwd,
            &[
                ("WANDB_CONFIG_DIR", "~/cfg"),
                ("NETRC", "~/n"),
                ("WANDB_DIR", "/d"),
            ],
        );
        assert_eq!(system_settings(&env), home.join("cfg/settings"));
        assert_eq!(netrc(&env), home.join("n"));
        assert_eq!(workspace_settings(&env), PathBuf::from("/d/wandb/settings"));
    }
}
