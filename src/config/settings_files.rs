//! The workspace and system settings files as one view (workspace over system), and
//! the base URL persistence `login` does (compat.md §1). A file another user could have
//! written never chooses the server or the key ([`TRUSTED_ONLY`]); a workspace file that
//! cannot be read is a warning, not an error, so a file planted in a shared folder
//! cannot stop every command run there.

use std::path::{Path, PathBuf};

use super::atomic::{self, FileError};
use super::netrc::ParseError;
use super::paths;
use super::settings::{self, Ini, SECTION};
use crate::env::Environment;
use crate::ownership;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings file {}, line {}: {}", path.display(), error.line, error.message)]
    Parse { path: PathBuf, error: ParseError },
    #[error(transparent)]
    File(#[from] FileError),
}

/// The settings that decide where keys go and which key is used: the key, the server,
/// and the entity (which chooses the profile whose key is handed out). Taken only from
/// a file no other user could have written.
pub const TRUSTED_ONLY: &[&str] = &["api_key", "base_url", "entity"];

/// One settings file: where it is and, when it exists, what it says.
#[derive(Debug)]
pub struct SettingsFile {
    pub path: PathBuf,
    pub ini: Option<Ini>,
    /// Why another user could have written it, if one could: its [`TRUSTED_ONLY`]
    /// settings are then not used.
    pub foreign: Option<String>,
}

impl SettingsFile {
    fn load(path: PathBuf) -> Result<Self, SettingsError> {
        let ini = match atomic::read_text(&path)? {
            Some(text) => Some(Ini::parse(&text).map_err(|error| SettingsError::Parse {
                path: path.clone(),
                error,
            })?),
            None => None,
        };
        let foreign = ini.as_ref().and_then(|_| ownership::file(&path));
        Ok(Self { path, ini, foreign })
    }

    /// Like [`SettingsFile::load`], but a file that cannot be read or parsed is treated
    /// as absent, with the reason (which never quotes the file's content).
    fn load_or_skip(path: PathBuf) -> (Self, Option<String>) {
        match Self::load(path.clone()) {
            Ok(file) => (file, None),
            Err(error) => (
                Self::absent(path),
                Some(format!("{error}; the file is ignored")),
            ),
        }
    }

    fn absent(path: PathBuf) -> Self {
        Self {
            path,
            ini: None,
            foreign: None,
        }
    }

    /// The warning for the settings this file holds but that are not used because
    /// another user could have written it.
    fn ignored(&self) -> Option<String> {
        let why = self.foreign.as_ref()?;
        let ini = self.ini.as_ref()?;
        let held: Vec<&str> = TRUSTED_ONLY
            .iter()
            .copied()
            .filter(|key| ini.get(SECTION, key).is_some())
            .collect();
        let listed = match held.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => return None,
        };
        Some(format!(
            "ignoring {listed} in {}: another user could have written it ({why}); such a file never chooses your server, key or profile",
            self.path.display()
        ))
    }

    pub fn exists(&self) -> bool {
        self.ini.is_some()
    }

    pub fn get(&self, key: &str) -> Option<Setting<'_>> {
        if self.foreign.is_some() && TRUSTED_ONLY.contains(&key) {
            return None;
        }
        let ini = self.ini.as_ref()?;
        Some(Setting {
            value: ini.get(SECTION, key)?,
            path: &self.path,
            line: ini.line_of(SECTION, key)?,
        })
    }

    fn set(&self, key: &str, value: &str) -> Result<(), SettingsError> {
        atomic::update(&self.path, |text| {
            let out = settings::set_value(text, SECTION, key, value)
                .map_err(|error| self.parse_error(error))?;
            Ok::<_, SettingsError>((out != text).then(|| (out.into(), ())))
        })?;
        Ok(())
    }

    pub fn remove(&self, key: &str) -> Result<bool, SettingsError> {
        // Another user's file is not ours to edit (and its value was never used).
        if !self.exists() || self.foreign.is_some() {
            return Ok(false);
        }
        let removed = atomic::update(&self.path, |text| {
            let out = settings::remove_value(text, SECTION, key)
                .map_err(|error| self.parse_error(error))?;
            Ok::<_, SettingsError>(out.map(|text| (text.into(), ())))
        })?;
        Ok(removed.is_some())
    }

    fn parse_error(&self, error: ParseError) -> SettingsError {
        SettingsError::Parse {
            path: self.path.clone(),
            error,
        }
    }
}

/// A value found in a settings file, and where.
#[derive(Debug, Clone, Copy)]
pub struct Setting<'a> {
    pub value: &'a str,
    pub path: &'a Path,
    pub line: usize,
}

/// Both settings files, parsed. The user's own (system) file that cannot be parsed is
/// an error up front, so no command acts on half-read settings and none overwrites a
/// file it cannot read. The workspace file, which may sit in a folder others share, is
/// ignored with a warning instead.
#[derive(Debug)]
pub struct SettingsFiles {
    pub workspace: SettingsFile,
    pub system: SettingsFile,
    /// One line each, for the user: files ignored, or settings in them not used.
    pub warnings: Vec<String>,
}

impl SettingsFiles {
    pub fn load(env: &Environment) -> Result<Self, SettingsError> {
        let (workspace, unreadable) = SettingsFile::load_or_skip(paths::workspace_settings(env));
        let system = SettingsFile::load(paths::system_settings(env))?;
        let warnings = unreadable
            .into_iter()
            .chain(workspace.ignored())
            .chain(system.ignored())
            .collect();
        Ok(Self {
            workspace,
            system,
            warnings,
        })
    }

    /// Both files as if neither existed (their paths kept), for reports that go on
    /// when a file cannot be read.
    pub fn absent(env: &Environment) -> Self {
        Self {
            workspace: SettingsFile::absent(paths::workspace_settings(env)),
            system: SettingsFile::absent(paths::system_settings(env)),
            warnings: Vec::new(),
        }
    }

    pub fn workspace_value(&self, key: &str) -> Option<Setting<'_>> {
        self.workspace.get(key)
    }

    pub fn system_value(&self, key: &str) -> Option<Setting<'_>> {
        self.system.get(key)
    }

    /// The value the SDK uses: workspace over system.
    pub fn value(&self, key: &str) -> Option<Setting<'_>> {
        self.workspace_value(key).or_else(|| self.system_value(key))
    }

    /// After `login --host URL`: the URL goes to the system file and leaves the
    /// workspace file, so both tools use it from now on.
    pub fn persist_base_url(&self, url: &str) -> Result<(), SettingsError> {
        self.system.set("base_url", url)?;
        self.workspace.remove("base_url")?;
        Ok(())
    }

    /// After `login --cloud`: no file names a server any more. Returns whether any did.
    pub fn clear_base_url(&self) -> Result<bool, SettingsError> {
        let system = self.system.remove("base_url")?;
        let workspace = self.workspace.remove("base_url")?;
        Ok(system || workspace)
    }
}
