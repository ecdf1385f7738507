//! netrc files read exactly as Python's `netrc` module (3.11+) reads them, which is what
//! the W&B SDK uses (compat.md §5). The parser records where every entry and value sits
//! in the text so that [`super::netrc_edit`] can change one entry and keep every other byte.
//!
//! Parse errors never quote the offending word: it may be part of a password.

use zeroize::Zeroizing;

/// A netrc that Python would refuse, with the true (1-based) line of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// Byte range `start..end` within the parsed text.
pub type Span = (usize, usize);

/// One `machine NAME ...` or `default ...` entry.
#[derive(Debug)]
pub struct Entry {
    /// `None` for the `default` entry.
    pub machine: Option<String>,
    pub login: String,
    pub account: String,
    pub password: Zeroizing<String>,
    /// From the `machine`/`default` keyword to the end of the entry's last value.
    pub span: Span,
    /// The password value as written (quotes included), if the entry has one.
    pub password_span: Option<Span>,
    /// 1-based line of the `machine`/`default` keyword.
    pub line: usize,
}

/// A parsed netrc: its entries in file order (macro bodies are skipped, as Python does).
#[derive(Debug, Default)]
pub struct Netrc {
    pub entries: Vec<Entry>,
    /// Where a quote opens that is never closed (Python reads from there to the end of
    /// the file as one word): its line and byte offset.
    pub unclosed_quote: Option<(usize, usize)>,
}

impl Netrc {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        Parser {
            lex: Lexer::new(text),
        }
        .run()
    }

    /// Python's `authenticators(host)`: the last entry for that machine, else the last
    /// `default` entry.
    pub fn authenticators(&self, machine: &str) -> Option<&Entry> {
        self.entry_for(machine)
            .or_else(|| self.entries.iter().rev().find(|e| e.machine.is_none()))
    }

    /// The last entry named exactly `machine` (no `default` fallback).
    pub fn entry_for(&self, machine: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.machine.as_deref() == Some(machine))
    }
}

struct Token {
    text: Zeroizing<String>,
    span: Span,
    line: usize,
}

impl Token {
    fn is(&self, word: &str) -> bool {
        self.text.as_str() == word
    }
}

/// Python's `_netrclex`. `py_line` reproduces Python's line counter, which `readline()`
/// does not advance; the parser's comment rules depend on it. `line` is the true line.
struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    py_line: usize,
    pushback: Option<Token>,
    /// The first quote that reached the end of the text (line, offset).
    unclosed: Option<(usize, usize)>,
}

const WHITESPACE: [char; 4] = ['\n', '\t', '\r', ' '];

/// A token buffer's first size: room for a W&B key (86 bytes) and most other words.
const TOKEN_CAPACITY: usize = 128;

/// Appends to a token that may be a key. A `String` that grows frees its old buffer
/// without wiping it, so the growth is done here: a new, larger buffer, and the old one
/// dropped as `Zeroizing`, which wipes it.
fn push_wiped(text: &mut Zeroizing<String>, c: char) {
    if text.len() + c.len_utf8() > text.capacity() {
        let mut bigger = Zeroizing::new(String::with_capacity(text.capacity() * 2 + 4));
        bigger.push_str(text);
        *text = bigger;
    }
    text.push(c);
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            line: 1,
            py_line: 1,
            pushback: None,
            unclosed: None,
        }
    }

    /// The next character, with `\r\n` and a lone `\r` read as `\n` (Python opens the
    /// file with universal newlines).
    fn read_char(&mut self) -> Option<char> {
        let mut c = self.text[self.pos..].chars().next()?;
        self.pos += c.len_utf8();
        if c == '\r' {
            if self.text[self.pos..].starts_with('\n') {
                self.pos += 1;
            }
            c = '\n';
        }
        if c == '\n' {
            self.line += 1;
            self.py_line += 1;
        }
        Some(c)
    }

    /// The rest of the current line, its line ending included ("" at the end of the text).
    fn readline(&mut self) -> &'a str {
        let rest = &self.text[self.pos..];
        let len = match rest.find(['\n', '\r']) {
            Some(i) if rest[i..].starts_with("\r\n") => i + 2,
            Some(i) => i + 1,
            None => rest.len(),
        };
        self.pos += len;
        let line = &rest[..len];
        if line.ends_with(['\n', '\r']) {
            self.line += 1;
        }
        line
    }

    /// The next token; an empty text means the end of the file (or an empty `""`,
    /// which Python cannot tell apart from it).
    fn get_token(&mut self) -> Token {
        if let Some(token) = self.pushback.take() {
            return token;
        }
        let mut text = Zeroizing::new(String::with_capacity(TOKEN_CAPACITY));
        while let Some(c) = self.read_char() {
            if WHITESPACE.contains(&c) {
                continue;
            }
            let start = self.pos - c.len_utf8();
            let line = self.line;
            if c == '"' {
                let mut closed = false;
                while let Some(c) = self.read_char() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => {
                            if let Some(c) = self.read_char() {
                                push_wiped(&mut text, c);
                            }
                        }
                        c => push_wiped(&mut text, c),
                    }
                }
                if !closed && self.unclosed.is_none() {
                    self.unclosed = Some((line, start));
                }
                return Token {
                    text,
                    span: (start, self.pos),
                    line,
                };
            }
            let mut end;
            let mut c = c;
            loop {
                if c == '\\' {
                    if let Some(c) = self.read_char() {
                        push_wiped(&mut text, c);
                    }
                } else {
                    push_wiped(&mut text, c);
                }
                end = self.pos;
                match self.read_char() {
                    None => break,
                    Some(w) if WHITESPACE.contains(&w) => break,
                    Some(next) => c = next,
                }
            }
            return Token {
                text,
                span: (start, end),
                line,
            };
        }
        Token {
            text,
            span: (self.pos, self.pos),
            line: self.line,
        }
    }
}

struct Parser<'a> {
    lex: Lexer<'a>,
}

impl Parser<'_> {
    fn error(line: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            line,
            message: message.into(),
        }
    }

    fn run(mut self) -> Result<Netrc, ParseError> {
        let mut netrc = Netrc::default();
        loop {
            let saved = self.lex.py_line;
            let top = self.lex.get_token();
            if top.text.is_empty() {
                break;
            }
            if top.text.starts_with('#') {
                if self.lex.py_line == saved && top.text.chars().count() == 1 {
                    self.lex.readline();
                }
                continue;
            }
            let (machine, span) = if top.is("machine") {
                let name = self.lex.get_token();
                if name.text.is_empty() {
                    return Err(Self::error(top.line, "'machine' without a name"));
                }
                (Some(name.text.to_string()), (top.span.0, name.span.1))
            } else if top.is("default") {
                (None, top.span)
            } else if top.is("macdef") {
                self.lex.get_token();
                self.skip_macro_body(top.line)?;
                continue;
            } else {
                return Err(Self::error(
                    top.line,
                    "unexpected word (expected 'machine', 'default' or 'macdef')",
                ));
            };
            netrc.entries.push(self.entry(machine, span, top.line)?);
        }
        netrc.unclosed_quote = self.lex.unclosed;
        Ok(netrc)
    }

    fn skip_macro_body(&mut self, line: usize) -> Result<(), ParseError> {
        loop {
            match self.lex.readline() {
                "" => {
                    return Err(Self::error(
                        line,
                        "macro definition missing null line terminator (a macdef must end with a blank line)",
                    ));
                }
                "\n" | "\r\n" | "\r" => return Ok(()),
                _ => {}
            }
        }
    }

    fn entry(
        &mut self,
        machine: Option<String>,
        span: Span,
        line: usize,
    ) -> Result<Entry, ParseError> {
        let mut entry = Entry {
            machine,
            login: String::new(),
            account: String::new(),
            password: Zeroizing::new(String::new()),
            span,
            password_span: None,
            line,
        };
        loop {
            let prev = self.lex.py_line;
            let token = self.lex.get_token();
            if token.text.starts_with('#') {
                if self.lex.py_line == prev {
                    self.lex.readline();
                }
                continue;
            }
            if token.text.is_empty()
                || token.is("machine")
                || token.is("default")
                || token.is("macdef")
            {
                self.lex.pushback = Some(token);
                return Ok(entry);
            }
            let value = self.lex.get_token();
            if token.is("login") || token.is("user") {
                entry.login = value.text.to_string();
            } else if token.is("account") {
                entry.account = value.text.to_string();
            } else if token.is("password") {
                entry.password = value.text;
                entry.password_span = Some(value.span);
            } else {
                let what = entry.machine.as_deref().map_or_else(
                    || "the default entry".to_owned(),
                    |m| format!("machine {m:?}"),
                );
                return Err(Self::error(
                    token.line,
                    format!(
                        "unexpected word in the entry for {what} (expected 'login', 'account', 'password' or a new entry)"
                    ),
                ));
            }
            entry.span.1 = entry.span.1.max(value.span.1).max(token.span.1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(text: &str) -> Vec<(Option<String>, String, String)> {
        Netrc::parse(text)
            .unwrap()
            .entries
            .iter()
            .map(|e| (e.machine.clone(), e.login.clone(), e.password.to_string()))
            .collect()
    }

    #[test]
    fn reads_the_sdk_entry() {
        let text = "machine api.wandb.ai\n  login user\n  password abc\n";
        let n = Netrc::parse(text).unwrap();
        let e = n.authenticators("api.wandb.ai").unwrap();
        assert_eq!((e.login.as_str(), e.password.as_str()), ("user", "abc"));
        assert_eq!(&text[e.span.0..e.span.1], text.trim_end());
        let (s, t) = e.password_span.unwrap();
        assert_eq!(&text[s..t], "abc");
    }

    #[test]
    fn quotes_escapes_comments_and_macros() {
        let text = "# top\nmacdef init\ncd /\n\nmachine \"a b\" login u # note\n password \"x\\\"y\"\ndefault password d\n";
        assert_eq!(
            hosts(text),
            vec![
                (Some("a b".into()), "u".into(), "x\"y".into()),
                (None, String::new(), "d".into()),
            ]
        );
        let n = Netrc::parse(text).unwrap();
        assert_eq!(n.authenticators("other").unwrap().password.as_str(), "d");
    }

    #[test]
    fn python_quirks_are_kept() {
        // A lone `#` after a blank line does not start a comment in Python.
        assert!(Netrc::parse("\n\n# comment words\nmachine a password x\n").is_err());
        // `#word` at the top level skips only that word.
        assert!(Netrc::parse("#comment words\nmachine a password x\n").is_err());
        // An empty quoted word ends the file.
        assert_eq!(
            hosts("machine a password x\n\"\"\nmachine b password y\n").len(),
            1
        );
        // Later duplicates win.
        let n = Netrc::parse("machine a password 1\nmachine a password 2\n").unwrap();
        assert_eq!(n.authenticators("a").unwrap().password.as_str(), "2");
    }

    #[test]
    fn errors_name_the_line_and_never_the_word() {
        let err = Netrc::parse("machine a\n  login user\n  password secret extra\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(!err.to_string().contains("extra"), "{err}");
        let err = Netrc::parse("macdef x\nbody\n").unwrap_err();
        assert!(err.message.contains("blank line"), "{err}");
        assert_eq!(Netrc::parse("machine").unwrap_err().line, 1);
    }
}
