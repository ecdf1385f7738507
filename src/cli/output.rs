//! Messages for people go to stderr with the program's name; stdout carries only data.

/// An informational line on stderr: `wandb-cred: ...`.
pub fn say(message: impl std::fmt::Display) {
    eprintln!("wandb-cred: {message}");
}

/// A warning line on stderr: `wandb-cred: warning: ...`.
pub fn warn(message: impl std::fmt::Display) {
    eprintln!("wandb-cred: warning: {message}");
}

pub use crate::printable::escaped;
