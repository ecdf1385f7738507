//! Running `ssh` for `push`: the command line split as `ssh` itself splits it (its
//! options, with or without their arguments, then the destination, then a remote
//! command), and text quoted for the POSIX shell on the other side.

/// ssh(1) options that take an argument (OpenSSH 9: `-B bind_interface`, `-p port`, ...).
const WITH_ARGUMENT: &str = "BbcDEeFIiJLlmOoPpQRSWw";
/// ssh(1) options that take none.
const FLAGS: &str = "46AaCfGgKkMNnqsTtVvXxYy";

/// `ssh [OPTIONS...] DESTINATION [COMMAND...]`, with our own long options taken out.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SshLine {
    /// ssh's options, each word as given.
    pub options: Vec<String>,
    /// The single-letter options given (`-p2222 -vv` gives `p`, `v`, `v`).
    pub letters: Vec<char>,
    pub destination: String,
    /// What follows the destination.
    pub command: Vec<String>,
    /// Our long options (`--name value` or `--name=value`) found among ssh's.
    pub ours: Vec<(String, String)>,
}

/// Splits `words` as ssh would; `ours` are the long options (`--host`) that are ours.
pub fn parse(words: &[String], ours: &[&str]) -> Result<SshLine, String> {
    let mut line = SshLine::default();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        if word == "--" {
            let Some(destination) = words.next() else {
                return Err("no destination after `--`".to_owned());
            };
            line.destination = destination.clone();
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((name, value)) => (name, value.to_owned()),
                None => (long, String::new()),
            };
            if !ours.contains(&format!("--{name}").as_str()) {
                return Err(format!("unknown option --{name}"));
            }
            let value = if long.contains('=') {
                value
            } else {
                words
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("--{name} needs a value"))?
            };
            line.ours.push((format!("--{name}"), value));
            continue;
        }
        if word.len() > 1 && word.starts_with('-') {
            line.options.push(word.clone());
            let letters: Vec<char> = word.chars().skip(1).collect();
            for (i, c) in letters.iter().enumerate() {
                line.letters.push(*c);
                if WITH_ARGUMENT.contains(*c) {
                    // The argument is the rest of this word, or the next one.
                    if i + 1 == letters.len() {
                        let argument = words
                            .next()
                            .ok_or_else(|| format!("ssh option -{c} needs an argument"))?;
                        line.options.push(argument.clone());
                    }
                    break;
                }
                if !FLAGS.contains(*c) {
                    return Err(format!("unknown ssh option -{c}"));
                }
            }
            continue;
        }
        line.destination = word.clone();
        break;
    }
    if line.destination.is_empty() {
        return Err("no destination ([user@]host or ssh://[user@]host[:port])".to_owned());
    }
    line.command = words.cloned().collect();
    Ok(line)
}

/// `text` as one word for a POSIX shell: as is when it holds only safe characters, else
/// in single quotes.
pub fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:,@%=".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn splits_as_ssh_does() {
        let line = parse(
            &words("-p 2222 -i /k -vv -oBatchMode=yes -J jump me@gpu1"),
            &["--host"],
        )
        .unwrap();
        assert_eq!(
            line.options,
            words("-p 2222 -i /k -vv -oBatchMode=yes -J jump")
        );
        assert_eq!(line.destination, "me@gpu1");
        assert!(line.command.is_empty());
        let letters: String = line.letters.iter().collect();
        assert_eq!(letters, "pivvoJ");
        let line = parse(&words("-p2222 --host=https://x gpu1 echo hi"), &["--host"]).unwrap();
        assert_eq!(line.options, ["-p2222"]);
        assert_eq!(line.ours, [("--host".to_owned(), "https://x".to_owned())]);
        assert_eq!(line.command, ["echo", "hi"]);
        let line = parse(&words("--host h -- -weird-host"), &["--host"]).unwrap();
        assert_eq!(line.destination, "-weird-host");
    }

    #[test]
    fn refuses_what_ssh_would_not_take() {
        for (bad, why) in [
            ("-p", "needs an argument"),
            ("-Z gpu1", "unknown ssh option -Z"),
            ("--nope gpu1", "unknown option --nope"),
            ("-v", "no destination"),
            ("--host", "needs a value"),
        ] {
            let err = parse(&words(bad), &["--host"]).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn quotes_for_the_remote_shell() {
        assert_eq!(shell_quote("https://api.wandb.ai"), "https://api.wandb.ai");
        assert_eq!(shell_quote("a b'c"), r"'a b'\''c'");
        assert_eq!(shell_quote("/usr/bin/wandb-cred"), "/usr/bin/wandb-cred");
        assert_eq!(shell_quote(""), "''");
    }
}
