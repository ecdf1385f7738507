//! Messages for people go to stderr with the program's name; stdout carries only data.

/// An informational line on stderr: `wandb-cred: ...`.
pub fn say(message: impl std::fmt::Display) {
    eprintln!("wandb-cred: {message}");
}

/// A warning line on stderr: `wandb-cred: warning: ...`.
pub fn warn(message: impl std::fmt::Display) {
    eprintln!("wandb-cred: warning: {message}");
}

/// Text another machine or program sent, made safe to print on a terminal: control
/// characters (escape sequences among them) are shown escaped, never acted on.
pub fn escaped(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
