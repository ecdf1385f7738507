//! The interactive, hidden API key prompt, offered only on a real terminal.

use std::io::{self, IsTerminal, Write};

use crate::env::Environment;
use crate::key::ApiKey;

/// The prompt text the SDK shows.
pub const PROMPT: &str = "Paste your API key and hit enter: ";

/// A prompt is possible only when stdin and stderr are terminals and `TERM` is not `dumb`.
pub fn available(env: &Environment) -> bool {
    io::stdin().is_terminal() && io::stderr().is_terminal() && env.var("TERM") != Some("dumb")
}

/// Asks until a key passes the rules. `None` when the user ends input (Ctrl-D).
pub fn ask_key(app_url: &str) -> io::Result<Option<ApiKey>> {
    let mut err = io::stderr().lock();
    writeln!(
        err,
        "wandb-cred: Create a new API key at: {app_url}/authorize"
    )?;
    writeln!(
        err,
        "wandb-cred: Store your API key securely and do not share it."
    )?;
    drop(err);
    loop {
        let typed = match rpassword::prompt_password(format!("wandb-cred: {PROMPT}")) {
            Ok(text) => zeroize::Zeroizing::new(text),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                // The terminal echoed nothing for Ctrl-D: end the prompt's line.
                eprintln!();
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        match ApiKey::parse_typed(&typed) {
            Ok(key) => return Ok(Some(key)),
            Err(problem) => eprintln!("wandb-cred: Invalid API key: {problem}"),
        }
    }
}
