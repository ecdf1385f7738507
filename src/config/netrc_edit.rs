//! Format-preserving netrc edits: set one machine's password or remove its entries,
//! keeping every other byte. Each result is parsed again and checked before it is
//! returned, so an edit that Python would read differently is never written.

use zeroize::Zeroizing;

use super::netrc::{Netrc, ParseError, Span};

/// The login the SDK writes for every W&B entry.
pub const SDK_LOGIN: &str = "user";

/// Quotes a value the way the SDK decides to (only when it has characters outside
/// `[A-Za-z0-9_@%+=:,./-]`), but with double quotes, which Python's netrc understands;
/// the SDK's single quotes would be read back as part of the value.
fn quote(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !value.is_empty() && value.chars().all(plain) {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The SDK's entry, byte for byte: `machine M\n  login user\n  password KEY\n`.
pub fn sdk_entry(machine: &str, key: &str) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "machine {}\n  login {SDK_LOGIN}\n  password {}\n",
        quote(machine),
        quote(key)
    ))
}

/// Why an edit was refused.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("the edited file would not read back as intended ({0}); it was left unchanged")]
    Verify(&'static str),
    #[error(
        "a quote (\") that starts on line {line} is never closed: Python's netrc, and so the W&B SDK, reads everything after it as one word, so it would swallow the new entry; close or remove that quote and try again (the file was left unchanged)"
    )]
    Swallowed { line: usize },
}

/// `text` with `machine`'s password set to `key`: the last entry for the machine is
/// changed in place (only its password, when it already has the SDK's login), earlier
/// duplicates are removed, and a new entry goes before any `default` entry, else at the end.
pub fn set_password(text: &str, machine: &str, key: &str) -> Result<Zeroizing<String>, EditError> {
    let netrc = Netrc::parse(text)?;
    let matches: Vec<_> = netrc
        .entries
        .iter()
        .filter(|e| e.machine.as_deref() == Some(machine))
        .collect();
    let mut edits: Vec<(Span, Zeroizing<String>)> = Vec::new();
    // Where the new value or entry starts in `text`, to find what swallows it.
    let new_at;
    if let Some((last, earlier)) = matches.split_last() {
        match last.password_span {
            Some(span) if last.login == SDK_LOGIN && span.0 < span.1 => {
                new_at = span.0;
                edits.push((span, Zeroizing::new(quote(key))))
            }
            _ => {
                let mut entry = sdk_entry(machine, key);
                entry.pop();
                new_at = last.span.0;
                edits.push((last.span, entry));
            }
        }
        for e in earlier {
            edits.push((widen_to_lines(text, e.span), Zeroizing::new(String::new())));
        }
    } else if let Some(default) = netrc.entries.iter().find(|e| e.machine.is_none()) {
        new_at = default.span.0;
        edits.push(((default.span.0, default.span.0), sdk_entry(machine, key)));
    } else {
        let mut entry = sdk_entry(machine, key);
        if !text.is_empty() && !text.ends_with('\n') {
            entry.insert(0, '\n');
        }
        new_at = text.len();
        edits.push(((text.len(), text.len()), entry));
    }
    let out = apply(text, edits);
    let check = Netrc::parse(&out).map_err(|_| EditError::Verify("it would not parse"))?;
    if check
        .entry_for(machine)
        .is_none_or(|e| e.password.as_str() != key)
    {
        return Err(swallowed_by(&netrc, new_at)
            .unwrap_or(EditError::Verify("the new key would not be found")));
    }
    if check.entries.len() != netrc.entries.len() - matches.len() + 1 {
        return Err(EditError::Verify("other entries would change"));
    }
    Ok(out)
}

/// A quote in `netrc` that is never closed, when it opens before the new text: Python
/// reads from it to the end of the file as one word, so it would take the new entry in.
fn swallowed_by(netrc: &Netrc, new_at: usize) -> Option<EditError> {
    netrc
        .unclosed_quote
        .filter(|(_, at)| *at < new_at)
        .map(|(line, _)| EditError::Swallowed { line })
}

/// `text` without any entry for `machine`, or `None` when it has none.
pub fn remove_machine(text: &str, machine: &str) -> Result<Option<Zeroizing<String>>, EditError> {
    let netrc = Netrc::parse(text)?;
    let edits: Vec<_> = netrc
        .entries
        .iter()
        .filter(|e| e.machine.as_deref() == Some(machine))
        .map(|e| (widen_to_lines(text, e.span), Zeroizing::new(String::new())))
        .collect();
    if edits.is_empty() {
        return Ok(None);
    }
    let removed = edits.len();
    let out = apply(text, edits);
    let check = Netrc::parse(&out).map_err(|_| EditError::Verify("it would not parse"))?;
    if check.entry_for(machine).is_some() || check.entries.len() != netrc.entries.len() - removed {
        return Err(EditError::Verify("other entries would change"));
    }
    Ok(Some(out))
}

/// Grows an entry's span to whole lines when nothing but whitespace (or a trailing
/// comment) shares its first and last lines, so removing it leaves no blank remnant.
fn widen_to_lines(text: &str, (start, end): Span) -> Span {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
    let before = text[line_start..start].trim();
    let after = text[end..line_end].trim();
    if before.is_empty() && (after.is_empty() || after.starts_with('#')) {
        (line_start, line_end)
    } else {
        (start, end)
    }
}

fn apply(text: &str, mut edits: Vec<(Span, Zeroizing<String>)>) -> Zeroizing<String> {
    edits.sort_by_key(|((start, _), _)| std::cmp::Reverse(*start));
    let mut out = Zeroizing::new(text.to_owned());
    for ((start, end), replacement) in edits {
        out.replace_range(start..end, &replacement);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "wandb_v1_k";

    #[test]
    fn new_file_gets_the_sdk_entry() {
        assert_eq!(
            set_password("", "api.wandb.ai", KEY).unwrap().as_str(),
            "machine api.wandb.ai\n  login user\n  password wandb_v1_k\n"
        );
    }

    #[test]
    fn replaces_in_place_and_keeps_every_other_byte() {
        let text = "# mine\nmachine other login me password p # c\n\nmachine h\n  login user\n  password old\n# tail\n";
        let out = set_password(text, "h", KEY).unwrap();
        assert_eq!(out.as_str(), text.replace("old", KEY));
    }

    #[test]
    fn inserts_before_default_and_appends_otherwise() {
        let text = "machine a password x\ndefault login anon password y\n";
        assert_eq!(
            set_password(text, "h", KEY).unwrap().as_str(),
            format!(
                "machine a password x\n{}default login anon password y\n",
                sdk_entry("h", KEY).as_str()
            )
        );
        assert_eq!(
            set_password("machine a password x", "h", KEY)
                .unwrap()
                .as_str(),
            format!("machine a password x\n{}", sdk_entry("h", KEY).as_str())
        );
    }

    #[test]
    fn rewrites_a_foreign_login_and_drops_stale_duplicates() {
        let text =
            "machine h login me password 1\nmachine x password 2\nmachine h login bob password 3\n";
        assert_eq!(
            set_password(text, "h", KEY).unwrap().as_str(),
            "machine x password 2\nmachine h\n  login user\n  password wandb_v1_k\n"
        );
    }

    #[test]
    fn removes_every_entry_for_the_machine() {
        let text = "machine h\n  login user\n  password 1\nmachine x password 2\nmachine h password 3 # old\n";
        assert_eq!(
            remove_machine(text, "h").unwrap().unwrap().as_str(),
            "machine x password 2\n"
        );
        assert!(remove_machine(text, "nope").unwrap().is_none());
    }

    #[test]
    fn quotes_only_what_needs_it_in_a_form_python_reads() {
        assert_eq!(quote("127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(quote("[::1]:80"), "\"[::1]:80\"");
        let out = set_password("", "[::1]:80", "k\"é").unwrap();
        let n = Netrc::parse(&out).unwrap();
        assert_eq!(n.entry_for("[::1]:80").unwrap().password.as_str(), "k\"é");
    }

    #[test]
    fn refuses_an_edit_python_would_not_see() {
        // Python stops reading at an empty quoted word, so an appended entry is invisible.
        let err = set_password("machine a password x\n\"\"\n", "h", KEY).unwrap_err();
        assert!(matches!(err, EditError::Verify(_)), "{err}");
    }

    #[test]
    fn names_the_line_of_a_quote_that_never_closes() {
        // Python reads an open quote to the end of the file: an entry appended after it
        // would become part of that value. The message names the line, never the value.
        let text = "# mine\nmachine a\n  login me\n  password \"sec ret\nmore\n";
        let error = set_password(text, "h", KEY).unwrap_err();
        assert!(matches!(error, EditError::Swallowed { line: 4 }), "{error}");
        let message = error.to_string();
        assert!(
            message.contains("starts on line 4 is never closed"),
            "{message}"
        );
        assert!(!message.contains("sec ret"), "{message}");
        // On the first line, without a final newline.
        let error = set_password("machine a password \"x", "h", KEY).unwrap_err();
        assert!(matches!(error, EditError::Swallowed { line: 1 }), "{error}");
    }

    /// A small deterministic generator, so a failure names its seed and repeats.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[(self.next() % items.len() as u64) as usize]
        }
    }

    /// A netrc of SDK entries, foreign entries, comments, macros, blank lines and a
    /// `default`, laid out in the ways people write them.
    fn random_netrc(rng: &mut Rng) -> String {
        let machines = ["h", "api.wandb.ai", "other.example", "127.0.0.1:8080", "x"];
        let values = [
            "user",
            "me",
            "s3cr3t",
            "\"two words\"",
            "p#ss",
            "a\\b",
            "\"\"",
        ];
        let mut text = String::new();
        for _ in 0..rng.next() % 8 {
            match rng.next() % 7 {
                0 => text.push_str("# a comment, with machine h inside\n"),
                1 => text.push('\n'),
                2 => text.push_str("macdef init\ncd /x\nmachine h\n\n"),
                3 => text.push_str(&format!(
                    "machine {} login {} password {}\n",
                    rng.pick(&machines),
                    rng.pick(&values),
                    rng.pick(&values)
                )),
                4 => text.push_str(&format!(
                    "machine {}\n  login user\n  password {}  # trailing\n",
                    rng.pick(&machines),
                    rng.pick(&values)
                )),
                5 => text.push_str(&format!(
                    "machine {}\n\taccount {}\n\tpassword {}\n",
                    rng.pick(&machines),
                    rng.pick(&values),
                    rng.pick(&values)
                )),
                _ => text.push_str("default login anon password guest\n"),
            }
        }
        text
    }

    fn others(netrc: &Netrc, machine: &str) -> Vec<(Option<String>, String, String, String)> {
        netrc
            .entries
            .iter()
            .filter(|e| e.machine.as_deref() != Some(machine))
            .map(|e| {
                (
                    e.machine.clone(),
                    e.login.clone(),
                    e.account.clone(),
                    e.password.to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn edits_keep_every_foreign_byte_and_entry() {
        let (mut accepted, mut compared) = (0, 0);
        for seed in 1..3000u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let text = random_netrc(&mut rng);
            let Ok(before) = Netrc::parse(&text) else {
                continue;
            };
            let machine = rng.pick(&["h", "api.wandb.ai", "new.example"]);
            let Ok(out) = set_password(&text, machine, "wandb_v1_new") else {
                continue;
            };
            accepted += 1;
            let after = Netrc::parse(&out).unwrap_or_else(|e| panic!("seed {seed}: {e:?}"));
            assert_eq!(
                others(&after, machine),
                others(&before, machine),
                "seed {seed}"
            );
            // Without the machine's entries, the files are the same bytes. (Removing can
            // be refused, rightly: Python reads a comment line differently depending on
            // what precedes it, so some removals would leave a file it cannot read.)
            let strip = |t: &str| match remove_machine(t, machine) {
                Ok(Some(rest)) => Some(rest.to_string()),
                Ok(None) => Some(t.to_owned()),
                Err(_) => None,
            };
            let (Some(mut expected), Some(got)) = (strip(&text), strip(&out)) else {
                continue;
            };
            if !expected.is_empty()
                && !expected.ends_with('\n')
                && before.entry_for(machine).is_none()
            {
                expected.push('\n');
            }
            assert_eq!(
                got,
                expected,
                "seed {seed}\n--- before\n{text}--- after\n{}",
                out.as_str()
            );
            compared += 1;
        }
        assert!(accepted > 1000, "only {accepted} edits were accepted");
        assert!(compared > 500, "only {compared} byte comparisons were made");
    }
}
