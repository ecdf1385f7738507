//! The git credential helper protocol (git-credential(1), gitcredentials(7)): reading
//! the `key=value` request git sends on stdin, bounded and strict about the bytes a
//! value may hold, and writing the answer. No I/O policy and no lookups here; the
//! `git-credential` command decides what to answer.

/// The operations git sends a helper today (gitcredentials(7)); others are ignored.
pub const OPERATIONS: &[&str] = &["get", "store", "erase", "capability"];

use std::io::{self, Read};

use zeroize::Zeroizing;

use crate::secret_input::{self, WipingReader};

/// The longest line git lets through (65535 bytes with its newline), as git documents.
pub const MAX_LINE: usize = 65_535;
/// The most a whole request may hold. Real requests are a few hundred bytes.
pub const MAX_INPUT: usize = 1 << 20;

/// Why a request was refused. Messages name the line and the attribute, never a value.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("line {line} of the request is longer than {MAX_LINE} bytes")]
    LineTooLong { line: usize },
    #[error("the request is longer than {MAX_INPUT} bytes")]
    TooLarge,
    #[error("line {line} of the request has no `=` (expected key=value)")]
    NoEquals { line: usize },
    #[error("the value of `{key}` on line {line} contains a {what} character")]
    BadByte {
        key: String,
        line: usize,
        what: &'static str,
    },
    #[error("the value of `{key}` on line {line} is not UTF-8")]
    NotUtf8 { key: String, line: usize },
    #[error("cannot read the request: {0}")]
    Io(#[from] io::Error),
}

/// What git asked about. Attributes this helper does not use are dropped.
#[derive(Default, PartialEq, Eq)]
pub struct Request {
    pub protocol: Option<String>,
    pub host: Option<String>,
    pub path: Option<String>,
    pub username: Option<String>,
    pub password: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("protocol", &self.protocol)
            .field("host", &self.host)
            .field("path", &self.path)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "****"))
            .finish()
    }
}

impl Request {
    /// Reads a request: `key=value` lines up to a blank line or the end of input.
    pub fn read(input: impl Read) -> Result<Self, RequestError> {
        // One byte more than allowed tells "too large" from "exactly at the bound".
        let mut input = WipingReader::new(input.take(MAX_INPUT as u64 + 1));
        let mut request = Self::default();
        let mut line = Zeroizing::new(Vec::new());
        let mut total = 0usize;
        for number in 1.. {
            line.clear();
            let read = secret_input::read_line(&mut input, MAX_LINE + 1, &mut line)?;
            total += read;
            if total > MAX_INPUT {
                return Err(RequestError::TooLarge);
            }
            if read == 0 {
                break;
            }
            if line.len() > MAX_LINE || (line.len() == MAX_LINE && line.last() != Some(&b'\n')) {
                return Err(RequestError::LineTooLong { line: number });
            }
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            if text.is_empty() {
                break;
            }
            request.apply(text, number)?;
        }
        Ok(request)
    }

    fn apply(&mut self, text: &[u8], line: usize) -> Result<(), RequestError> {
        let Some(eq) = text.iter().position(|&b| b == b'=') else {
            return Err(RequestError::NoEquals { line });
        };
        let key = String::from_utf8_lossy(&text[..eq]).into_owned();
        let raw = &text[eq + 1..];
        let wanted = matches!(
            key.as_str(),
            "protocol" | "host" | "path" | "username" | "password" | "url"
        );
        if !wanted {
            // Unknown attributes (capability[], wwwauth[], state[], ...) are dropped,
            // whatever they hold: git may add new ones at any time.
            return Ok(());
        }
        for (byte, what) in [(0u8, "NUL"), (b'\r', "CR")] {
            if raw.contains(&byte) {
                return Err(RequestError::BadByte { key, line, what });
            }
        }
        let value =
            Zeroizing::new(
                String::from_utf8(raw.to_vec()).map_err(|_| RequestError::NotUtf8 {
                    key: key.clone(),
                    line,
                })?,
            );
        match key.as_str() {
            "protocol" => self.protocol = Some(value.to_string()),
            "host" => self.host = Some(value.to_string()),
            "path" => self.path = Some(value.to_string()),
            "username" => self.username = Some(value.to_string()),
            "password" => self.password = Some(value),
            "url" => *self = Self::from_url(&value),
            _ => unreachable!("filtered above"),
        }
        Ok(())
    }

    /// `url=`: git clears what it knew and takes the URL's parts, leaving missing
    /// parts unset (`protocol://[user[:password]@]host[:port][/path]`).
    fn from_url(url: &str) -> Self {
        let mut request = Self::default();
        let Some((protocol, rest)) = url.split_once("://") else {
            return request;
        };
        request.protocol = Some(protocol.to_owned());
        let (authority, path) = match rest.split_once('/') {
            Some((authority, path)) => (authority, Some(path)),
            None => (rest, None),
        };
        let host = match authority.rsplit_once('@') {
            Some((user, host)) => {
                let (name, password) = match user.split_once(':') {
                    Some((name, password)) => (name, Some(password)),
                    None => (user, None),
                };
                request.username = Some(percent_decode(name));
                request.password = password.map(|p| Zeroizing::new(percent_decode(p)));
                host
            }
            None => authority,
        };
        request.host = Some(percent_decode(host));
        request.path = path.filter(|p| !p.is_empty()).map(percent_decode);
        request
    }
}

/// `%XX` escapes as git decodes them in URLs; anything malformed is kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    // Sized once and wiped: the text may be a password.
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The answer to `get`: `username=...` and `password=...`, or `None` when a value would
/// break the format (a newline, CR or NUL inside it), which git could not read back.
pub fn answer(username: &str, password: &str) -> Option<Zeroizing<String>> {
    let clean = |v: &str| !v.contains(['\n', '\r', '\0']);
    (clean(username) && clean(password))
        .then(|| Zeroizing::new(format!("username={username}\npassword={password}\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &[u8]) -> Result<Request, RequestError> {
        Request::read(text)
    }

    #[test]
    fn reads_attributes_up_to_the_blank_line() {
        let r = read(b"protocol=https\nhost=example.com:8443\npath=a/b.git\nusername=api\npassword=p=q\n\nhost=ignored\n").unwrap();
        assert_eq!(r.protocol.as_deref(), Some("https"));
        assert_eq!(r.host.as_deref(), Some("example.com:8443"));
        assert_eq!(r.path.as_deref(), Some("a/b.git"));
        assert_eq!(r.username.as_deref(), Some("api"));
        assert_eq!(r.password.as_deref().map(|p| p.as_str()), Some("p=q"));
    }

    #[test]
    fn end_of_input_ends_the_request_too() {
        let r = read(b"protocol=https\nhost=h").unwrap();
        assert_eq!(r.host.as_deref(), Some("h"));
        assert_eq!(read(b"").unwrap(), Request::default());
    }

    #[test]
    fn unknown_attributes_are_dropped_whatever_they_hold() {
        let r = read(b"capability[]=authtype\ncapability[]=state\nwwwauth[]=Basic realm=\"x\"\npassword_expiry_utc=1\noauth_refresh_token=x\r\0\nstate[]=a\nhost=h\n").unwrap();
        assert_eq!(
            r,
            Request {
                host: Some("h".into()),
                ..Request::default()
            }
        );
    }

    #[test]
    fn url_replaces_what_came_before() {
        let r =
            read(b"host=old\nusername=x\nurl=https://api%40x:s%3Ac@wb.example.com:8443/sub/repo\n")
                .unwrap();
        assert_eq!(r.protocol.as_deref(), Some("https"));
        assert_eq!(r.host.as_deref(), Some("wb.example.com:8443"));
        assert_eq!(r.path.as_deref(), Some("sub/repo"));
        assert_eq!(r.username.as_deref(), Some("api@x"));
        assert_eq!(r.password.as_deref().map(|p| p.as_str()), Some("s:c"));
        let r = read(b"url=https://api.wandb.ai\nusername=api\n").unwrap();
        assert_eq!(r.host.as_deref(), Some("api.wandb.ai"));
        assert_eq!((r.path, r.username.as_deref()), (None, Some("api")));
    }

    #[test]
    fn nul_and_cr_are_refused_without_echoing_the_value() {
        for input in [&b"host=a\0b\n"[..], b"password=sec\rret\n"] {
            let e = read(input).unwrap_err().to_string();
            assert!(e.contains("line 1"), "{e}");
            assert!(!e.contains("sec") && !e.contains("a\0b"), "{e}");
        }
        assert!(read(b"host\n").unwrap_err().to_string().contains("no `=`"));
    }

    #[test]
    fn lines_and_inputs_are_bounded() {
        let mut long = b"host=".to_vec();
        long.resize(MAX_LINE + 10, b'a');
        assert!(matches!(
            read(&long),
            Err(RequestError::LineTooLong { line: 1 })
        ));
        // Exactly at the bound with its newline is fine.
        let mut edge = b"host=".to_vec();
        edge.resize(MAX_LINE - 1, b'a');
        edge.push(b'\n');
        assert!(read(&edge).is_ok());
        let many = b"wwwauth[]=x\n".repeat(MAX_INPUT / 12 + 10);
        assert!(matches!(read(&many), Err(RequestError::TooLarge)));
    }

    #[test]
    fn answers_never_hold_line_breaks_inside_values() {
        assert_eq!(
            answer("api", "k").unwrap().as_str(),
            "username=api\npassword=k\n"
        );
        assert!(answer("api", "a\nprotocol=http").is_none());
        assert!(answer("api", "a\r").is_none());
        assert!(answer("a\0", "k").is_none());
    }

    #[test]
    fn debug_hides_the_password() {
        let r = read(b"password=topsecret\n").unwrap();
        assert!(!format!("{r:?}").contains("topsecret"));
    }

    #[test]
    fn no_copy_of_the_password_is_left_in_freed_memory() {
        const MARKER: &[u8] = b"5ecret-9f8e7d6c5b4a-marker";
        let marker = std::str::from_utf8(MARKER).unwrap();
        // Long values, read a few bytes at a time: a line that grew in steps would
        // leave its outgrown buffers behind.
        let tail = ".".repeat(200);
        for text in [
            format!("protocol=https\nhost=h\npassword={marker}{tail}\n\n"),
            format!("url=https://user:{marker}{tail}@h/p\n"),
            format!("url=https://user:{marker}%21{tail}@h/p\n"),
        ] {
            let text = text.into_bytes();
            crate::test_alloc::watch(MARKER);
            let request = Request::read(crate::secret_input::Trickle(&text)).unwrap();
            assert!(request.password.as_deref().unwrap().starts_with(marker));
            drop(request);
            assert_eq!(
                crate::test_alloc::stop(),
                0,
                "freed memory held the password ({:?})",
                String::from_utf8_lossy(&text[..4])
            );
        }
    }
}
