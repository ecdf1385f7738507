//! The files the W&B SDK shares with us: settings (INI) and netrc. Parsers that read
//! them as the SDK's Python does, editors that change only what they must, and the
//! atomic, locked writer both use.

pub mod atomic;
pub mod backend_choice;
mod deadline;
mod edit_lock;
mod file_error;
pub mod netrc;
pub mod netrc_edit;
pub mod paths;
pub mod plain_file;
pub mod settings;
pub mod settings_files;
pub mod shell_files;
pub mod state_file;
mod temp_file;
pub mod user_config;
