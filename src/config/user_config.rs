//! wandb-cred's own configuration (`wandb-cred config`): a few non-secret choices that
//! persist for the user, in `$XDG_CONFIG_HOME/wandb-cred/config` (else
//! `~/.config/wandb-cred/config`; the platform's config folder elsewhere). One
//! `name = value` per line; `#` starts a comment. Flags and environment variables win
//! over it. A file another user could have written is ignored, with a warning.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::atomic;

/// A setting wandb-cred knows: its name, what it is, and how its value is checked.
pub struct Known {
    pub name: &'static str,
    pub about: &'static str,
    pub check: fn(&str) -> Result<(), String>,
}

/// Every setting, in the order `config --list` shows them.
pub const KNOWN: &[Known] = &[
    Known {
        name: "backend",
        about: "where keys are stored when no --backend or WANDB_CRED_BACKEND says (auto, keychain, kernel-keyring, encrypted-file, netrc)",
        check: |v| {
            v.parse::<super::backend_choice::BackendChoice>()
                .map(|_| ())
        },
    },
    Known {
        name: "vault-address",
        about: "the Vault or OpenBao server when VAULT_ADDR and BAO_ADDR are not set (https://...)",
        check: |v| {
            (v.starts_with("https://") || v.starts_with("http://"))
                .then_some(())
                .ok_or_else(|| "expected an https:// URL".to_owned())
        },
    },
    Known {
        name: "vault-mount",
        about: "the KV version 2 mount keys are kept in (default: secret)",
        check: |v| {
            (!v.is_empty())
                .then_some(())
                .ok_or_else(|| "empty".to_owned())
        },
    },
    Known {
        name: "vault-prefix",
        about: "the path under the mount (default: wandb-cred)",
        check: |v| {
            (!v.is_empty())
                .then_some(())
                .ok_or_else(|| "empty".to_owned())
        },
    },
    Known {
        name: "lock-after",
        about: "how long `unlock` keeps the encrypted store open when no --lock-after says (e.g. 12h)",
        check: |v| crate::duration::parse(v).map(|_| ()),
    },
];

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}, line {line}: {message}", path.display())]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(transparent)]
    File(#[from] atomic::FileError),
    #[error("unknown setting {0:?} (known: {known})", known = names())]
    Unknown(String),
    #[error("{name}: {message}")]
    Value { name: String, message: String },
    #[error("no config folder (is HOME set?)")]
    NoFolder,
}

fn names() -> String {
    KNOWN.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

/// The file's path.
pub fn path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("wandb-cred").join("config"))
}

/// The settings in the file, checked, in file order; none when there is no file (or
/// another user could have written it: then a warning).
pub fn read() -> Result<Vec<(String, String)>, ConfigError> {
    let Some(path) = path() else {
        return Ok(Vec::new());
    };
    read_from(&path)
}

fn read_from(path: &Path) -> Result<Vec<(String, String)>, ConfigError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    if let Some(why) = crate::ownership::file(path) {
        tracing::warn!(file = %path.display(), %why, "ignoring a wandb-cred config another user could have written");
        eprintln!(
            "wandb-cred: warning: ignoring {}: {why}, so another user could have written it",
            path.display()
        );
        return Ok(Vec::new());
    }
    match atomic::read_own_text(path)? {
        Some(text) => parse(path, &text),
        None => Ok(Vec::new()),
    }
}

fn parse(path: &Path, text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split_once('#').map_or(raw, |(before, _)| before).trim();
        if line.is_empty() {
            continue;
        }
        let at = |message: String| ConfigError::Line {
            path: path.to_owned(),
            line: i + 1,
            message,
        };
        let (name, value) = line
            .split_once('=')
            .ok_or_else(|| at("expected `name = value`".to_owned()))?;
        let (name, value) = (name.trim(), value.trim());
        let known = KNOWN
            .iter()
            .find(|k| k.name == name)
            .ok_or_else(|| at(format!("unknown setting {name:?} (known: {})", names())))?;
        (known.check)(value).map_err(|message| at(format!("{name}: {message}")))?;
        out.push((name.to_owned(), value.to_owned()));
    }
    Ok(out)
}

/// The value of `name`, when the file sets it.
pub fn get(name: &str) -> Result<Option<String>, ConfigError> {
    Ok(value_in(&read()?, name).map(str::to_owned))
}

/// The value of `name` among settings [`read`] gave (the last line naming it wins).
pub fn value_in<'v>(values: &'v [(String, String)], name: &str) -> Option<&'v str> {
    values
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Sets `name` to `value` (`None`: removes it), keeping other lines and comments;
/// written atomically. Returns whether the file changed.
pub fn set(name: &str, value: Option<&str>) -> Result<bool, ConfigError> {
    let known = KNOWN
        .iter()
        .find(|k| k.name == name)
        .ok_or_else(|| ConfigError::Unknown(name.to_owned()))?;
    if let Some(value) = value {
        (known.check)(value).map_err(|message| ConfigError::Value {
            name: name.to_owned(),
            message,
        })?;
    }
    let path = path().ok_or(ConfigError::NoFolder)?;
    // Other lines are kept as they are, broken or not: this is how one is mended.
    let written = atomic::update(&path, |text| {
        let mut out = String::new();
        let mut done = false;
        for line in text.lines() {
            let setting = line.split_once('#').map_or(line, |(b, _)| b);
            let is_it = setting
                .split_once('=')
                .is_some_and(|(n, _)| n.trim() == name);
            if !is_it {
                out.push_str(line);
                out.push('\n');
            } else if let (Some(value), false) = (value, done) {
                out.push_str(&format!("{name} = {value}\n"));
                done = true;
            }
        }
        if let (Some(value), false) = (value, done) {
            out.push_str(&format!("{name} = {value}\n"));
        }
        Ok::<_, ConfigError>((out != text).then(|| (Zeroizing::new(out), ())))
    })?;
    Ok(written.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_named_by_file_and_line() {
        let path = Path::new("/home/me/.config/wandb-cred/config");
        let ok = parse(
            path,
            "# mine\nbackend = encrypted-file # headless\n\nlock-after=12h\n",
        )
        .unwrap();
        assert_eq!(
            ok,
            [
                ("backend".to_owned(), "encrypted-file".to_owned()),
                ("lock-after".to_owned(), "12h".to_owned())
            ]
        );
        let e = parse(path, "backend = keepass\n").unwrap_err().to_string();
        assert!(
            e.starts_with("/home/me/.config/wandb-cred/config, line 1: backend: unknown backend"),
            "{e}"
        );
        let e = parse(path, "\ncolour = blue\n").unwrap_err().to_string();
        assert!(e.contains("line 2: unknown setting \"colour\""), "{e}");
        let e = parse(path, "backend\n").unwrap_err().to_string();
        assert!(e.contains("line 1: expected `name = value`"), "{e}");
    }
}
