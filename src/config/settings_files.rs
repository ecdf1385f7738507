//! The workspace and system settings files as one view (workspace over system), and
//! the base URL persistence `login` does (compat.md §1).

use std::path::{Path, PathBuf};

use super::atomic::{self, FileError};
use super::netrc::ParseError;
use super::paths;
use super::settings::{self, Ini, SECTION};
use crate::env::Environment;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings file {}, line {}: {}", path.display(), error.line, error.message)]
    Parse { path: PathBuf, error: ParseError },
    #[error(transparent)]
    File(#[from] FileError),
}

/// One settings file: where it is and, when it exists, what it says.
#[derive(Debug)]
pub struct SettingsFile {
    pub path: PathBuf,
    pub ini: Option<Ini>,
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
        Ok(Self { path, ini })
    }

    pub fn exists(&self) -> bool {
        self.ini.is_some()
    }

    fn get(&self, key: &str) -> Option<Setting<'_>> {
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

    fn remove(&self, key: &str) -> Result<bool, SettingsError> {
        if !self.exists() {
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

/// Both settings files, parsed. A file that cannot be parsed is an error up front, so
/// no command acts on half-read settings and none overwrites a file it cannot read.
#[derive(Debug)]
pub struct SettingsFiles {
    pub workspace: SettingsFile,
    pub system: SettingsFile,
}

impl SettingsFiles {
    pub fn load(env: &Environment) -> Result<Self, SettingsError> {
        Ok(Self {
            workspace: SettingsFile::load(paths::workspace_settings(env))?,
            system: SettingsFile::load(paths::system_settings(env))?,
        })
    }

    /// Both files as if neither existed (their paths kept), for reports that go on
    /// when a file cannot be read.
    pub fn absent(env: &Environment) -> Self {
        Self {
            workspace: SettingsFile {
                path: paths::workspace_settings(env),
                ini: None,
            },
            system: SettingsFile {
                path: paths::system_settings(env),
                ini: None,
            },
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
