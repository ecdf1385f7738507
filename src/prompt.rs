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

/// Asks a yes/no question on the terminal (the answer is echoed: it is no secret).
/// Enter alone is yes; end of input is no.
pub fn confirm(question: &str) -> io::Result<bool> {
    eprint!("wandb-cred: {question} [Y/n] ");
    io::stderr().flush()?;
    let mut answer = String::new();
    if io::stdin().read_line(&mut answer)? == 0 {
        eprintln!();
        return Ok(false);
    }
    let answer = answer.trim().to_ascii_lowercase();
    Ok(answer.is_empty() || answer == "y" || answer == "yes")
}
