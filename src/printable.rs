//! Text from outside (a W&B server's viewer and errors, a Vault server's answers, a
//! remote program's output) made safe to print on a terminal: control characters,
//! escape sequences among them, are shown escaped and never acted on. Applied where such
//! text enters wandb-cred, so every later message, record and listing holds it safe.

/// `text` with every control character but tab written as its escape (`\u{1b}`).
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

#[cfg(test)]
mod tests {
    #[test]
    fn escape_sequences_are_shown_not_acted_on() {
        assert_eq!(
            super::escaped("ann\u{1b}]0;pwned\u{7}\r\n"),
            "ann\\u{1b}]0;pwned\\u{7}\\r\\n"
        );
        assert_eq!(super::escaped("team\tone"), "team\tone");
    }
}
