//! W&B settings files (INI) read as Python's `configparser` (strict mode) reads them,
//! and edited line by line so only the changed key moves (compat.md §2).
//!
//! Errors never quote the offending line: a settings file may hold an `api_key`.

use zeroize::Zeroizing;

use super::netrc::ParseError;

/// The section the SDK reads.
pub const SECTION: &str = "default";
/// configparser's special section whose keys every section inherits.
const DEFAULTS: &str = "DEFAULT";

#[derive(Debug)]
struct Option_ {
    section: String,
    key: String,
    value: Zeroizing<String>,
    /// 0-based indices of the option's first line and of its last continuation line.
    lines: (usize, usize),
}

#[derive(Debug)]
struct Section {
    name: String,
    header: usize,
}

/// A parsed settings file.
#[derive(Debug, Default)]
pub struct Ini {
    options: Vec<Option_>,
    sections: Vec<Section>,
}

fn err(line: usize, message: &str) -> ParseError {
    ParseError {
        line: line + 1,
        message: message.to_owned(),
    }
}

/// The lines of `text`, each with its ending, split the way Python's universal newlines
/// split them: after `\r\n`, `\n`, or a lone `\r`.
fn split_lines(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let end = match bytes[i] {
            b'\n' => i + 1,
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => i + 2,
            b'\r' => i + 1,
            _ => {
                i += 1;
                continue;
            }
        };
        lines.push(&text[start..end]);
        start = end;
        i = end;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// Whether a line has its ending.
fn ends_line(line: &str) -> bool {
    line.ends_with(['\n', '\r'])
}

/// The text of a line without its line ending.
fn content(line: &str) -> &str {
    line.strip_suffix("\r\n")
        .or_else(|| line.strip_suffix('\n'))
        .or_else(|| line.strip_suffix('\r'))
        .unwrap_or(line)
}

/// `\[(?P<header>.+)\]` matched at the start of the stripped line.
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    (end > 0).then(|| &rest[..end])
}

impl Ini {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut ini = Ini::default();
        let mut current: Option<String> = None;
        let mut open_option: Option<usize> = None;
        let mut indent_level = usize::MAX;
        for (n, raw) in split_lines(text).into_iter().enumerate() {
            let line = content(raw);
            let stripped = line.trim();
            if stripped.starts_with('#') || stripped.starts_with(';') {
                continue;
            }
            if stripped.is_empty() {
                // configparser keeps blank lines inside a multi-line value.
                if let Some(i) = open_option {
                    ini.options[i].value.push('\n');
                }
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            if let (Some(i), true) = (open_option, indent > indent_level) {
                let value = &mut ini.options[i].value;
                value.push('\n');
                value.push_str(stripped);
                ini.options[i].lines.1 = n;
                continue;
            }
            indent_level = indent;
            if let Some(name) = section_header(stripped) {
                if name != DEFAULTS && ini.sections.iter().any(|s| s.name == name) {
                    return Err(err(n, "a [section] header appears a second time"));
                }
                ini.sections.push(Section {
                    name: name.to_owned(),
                    header: n,
                });
                current = Some(name.to_owned());
                open_option = None;
                continue;
            }
            let Some(section) = &current else {
                return Err(err(n, "a setting comes before any [section] header"));
            };
            let Some(sep) = stripped.find(['=', ':']) else {
                return Err(err(
                    n,
                    "expected `key = value`, a [section] header or a comment",
                ));
            };
            let key = stripped[..sep].trim_end().to_lowercase();
            if key.is_empty() {
                return Err(err(n, "a setting has no name before `=`"));
            }
            if ini
                .options
                .iter()
                .any(|o| &o.section == section && o.key == key)
            {
                return Err(err(n, "a setting is set a second time in its section"));
            }
            ini.options.push(Option_ {
                section: section.clone(),
                key,
                value: Zeroizing::new(stripped[sep + 1..].trim().to_owned()),
                lines: (n, n),
            });
            open_option = Some(ini.options.len() - 1);
        }
        for option in &mut ini.options {
            let trimmed = option.value.trim_end().len();
            option.value.truncate(trimmed);
        }
        Ok(ini)
    }

    fn find(&self, section: &str, key: &str) -> Option<&Option_> {
        let key = key.to_lowercase();
        self.options
            .iter()
            .find(|o| o.section == section && o.key == key)
    }

    /// The option configparser's `get(section, key)` finds: the section's own, else
    /// one inherited from `[DEFAULT]`; nothing when the section does not exist.
    fn lookup(&self, section: &str, key: &str) -> Option<&Option_> {
        if !self.sections.iter().any(|s| s.name == section) {
            return None;
        }
        self.find(section, key).or_else(|| self.find(DEFAULTS, key))
    }

    /// The value configparser's `get(section, key)` returns.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.lookup(section, key).map(|o| o.value.as_str())
    }

    /// The 1-based line where the value [`Ini::get`] returns is set.
    pub fn line_of(&self, section: &str, key: &str) -> Option<usize> {
        self.lookup(section, key).map(|o| o.lines.0 + 1)
    }
}

/// Line ending to use for inserted lines: the file's own, `\n` for a new file.
fn newline_of(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// The leading whitespace of a line.
fn indent_of(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// Whether `out` reads as `before` with only `key` in `[section]` changed to `expected`
/// (configparser's continuation rules make a careless edit change other values).
fn reads_as_intended(
    before: &Ini,
    out: &str,
    section: &str,
    key: &str,
    expected: Option<&str>,
) -> bool {
    let Ok(after) = Ini::parse(out) else {
        return false;
    };
    let others = |ini: &Ini| {
        let mut v: Vec<(String, String, String)> = ini
            .options
            .iter()
            .filter(|o| !(o.section == section && o.key == key))
            .map(|o| (o.section.clone(), o.key.clone(), o.value.to_string()))
            .collect();
        v.sort();
        v
    };
    after.find(section, key).map(|o| o.value.as_str()) == expected
        && others(&after) == others(before)
}

fn refused(line: usize) -> ParseError {
    ParseError {
        line: line + 1,
        message: "the file's indentation leaves no place to change this setting without changing others; edit it by hand".to_owned(),
    }
}

/// `text` with `key = value` set in `[section]`, every other line kept. A new file gets
/// exactly what the SDK writes: `[default]\nkey = value\n\n`. An edit that would change
/// how any other setting reads is refused.
pub fn set_value(text: &str, section: &str, key: &str, value: &str) -> Result<String, ParseError> {
    let ini = Ini::parse(text)?;
    let nl = newline_of(text);
    let lines: Vec<&str> = split_lines(text);
    let setting = |indent: &str| format!("{indent}{key} = {value}{nl}");
    let mut candidates: Vec<String> = Vec::new();
    let at;
    if let Some(option) = ini.find(section, key) {
        at = option.lines.0;
        // Keep the line's own indentation: following lines are read relative to it.
        let mut out = lines
            .clone()
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        out.splice(
            option.lines.0..=option.lines.1,
            [setting(indent_of(lines[option.lines.0]))],
        );
        candidates.push(out.concat());
    } else if let Some(header) = ini.sections.iter().find(|s| s.name == section) {
        let last = ini
            .options
            .iter()
            .filter(|o| o.section == section)
            .map(|o| o.lines.1)
            .max()
            .unwrap_or(header.header);
        at = last;
        // Unindented first; else as indented as the next line, so it is not read as
        // a continuation of the new setting.
        let next_indent = lines.get(last + 1).map_or("", |l| indent_of(l));
        for indent in ["", next_indent] {
            let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
            if !ends_line(&out[last]) {
                out[last].push_str(nl);
            }
            out.insert(last + 1, setting(indent));
            candidates.push(out.concat());
        }
    } else {
        at = lines.len().saturating_sub(1);
        let mut out = text.to_owned();
        if !out.is_empty() {
            if !ends_line(&out) {
                out.push_str(nl);
            }
            if !content(lines[lines.len() - 1]).trim().is_empty() {
                out.push_str(nl);
            }
        }
        out.push_str(&format!("[{section}]{nl}{}{nl}", setting("")));
        candidates.push(out);
    }
    candidates
        .into_iter()
        .find(|out| reads_as_intended(&ini, out, section, key, Some(value)))
        .ok_or_else(|| refused(at))
}

/// `text` without `key` in `[section]`, or `None` when it is not set there.
pub fn remove_value(text: &str, section: &str, key: &str) -> Result<Option<String>, ParseError> {
    let ini = Ini::parse(text)?;
    let Some(option) = ini.find(section, key) else {
        return Ok(None);
    };
    let mut lines: Vec<&str> = split_lines(text);
    lines.drain(option.lines.0..=option.lines.1);
    let out = lines.concat();
    if !reads_as_intended(&ini, &out, section, key, None) {
        return Err(refused(option.lines.0));
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_configparser() {
        let text = "# c\n[DEFAULT]\nentity = e\n[default]\nBase_URL : http://x \n; c\napi_key=k\n  more\n\n[other]\nbase_url = y\n";
        let ini = Ini::parse(text).unwrap();
        assert_eq!(ini.get("default", "base_url"), Some("http://x"));
        assert_eq!(ini.get("default", "api_key"), Some("k\nmore"));
        assert_eq!(ini.get("default", "entity"), Some("e"));
        assert_eq!(ini.line_of("default", "BASE_URL"), Some(5));
        assert_eq!(ini.get("default", "missing"), None);
    }

    #[test]
    fn refuses_what_configparser_refuses_naming_the_line() {
        for (text, line) in [
            ("base_url = x\n", 1),
            ("[default]\nnot a setting\n", 2),
            ("[default]\na = 1\n[default]\n", 3),
            ("[default]\na = 1\nA = 2\n", 3),
            ("[default]\n= 2\n", 2),
        ] {
            assert_eq!(Ini::parse(text).unwrap_err().line, line, "{text:?}");
        }
    }

    #[test]
    fn writes_what_the_sdk_writes() {
        assert_eq!(
            set_value("", SECTION, "base_url", "http://h:1").unwrap(),
            "[default]\nbase_url = http://h:1\n\n"
        );
        assert_eq!(
            set_value(
                "[default]\nbase_url = http://old\n\n",
                SECTION,
                "base_url",
                "http://new"
            )
            .unwrap(),
            "[default]\nbase_url = http://new\n\n"
        );
        assert_eq!(
            set_value(
                "[default]\nentity = me\n\n",
                SECTION,
                "base_url",
                "http://new"
            )
            .unwrap(),
            "[default]\nentity = me\nbase_url = http://new\n\n"
        );
        assert_eq!(
            remove_value("[default]\nbase_url = http://h\n\n", SECTION, "base_url")
                .unwrap()
                .unwrap(),
            "[default]\n\n"
        );
    }

    #[test]
    fn never_turns_a_following_line_into_a_continuation() {
        // Found by the fuzzer: an indented line after the header is a section of its
        // own until a setting above it would make it a continuation.
        let text = "[default]\n\x0b[x]\n";
        let out = set_value(text, SECTION, "base_url", "http://h").unwrap();
        let ini = Ini::parse(&out).unwrap();
        assert_eq!(ini.get(SECTION, "base_url"), Some("http://h"));
        assert!(ini.sections.iter().any(|s| s.name == "x"), "{out:?}");
        // Replacing keeps the line's indentation, so `b` stays a setting of its own.
        let text = "[default]\n  base_url = old\n b = 2\n";
        let out = set_value(text, SECTION, "base_url", "new").unwrap();
        assert_eq!(out, "[default]\n  base_url = new\n b = 2\n");
        assert_eq!(Ini::parse(&out).unwrap().get(SECTION, "b"), Some("2"));
    }

    #[test]
    fn lines_end_as_python_ends_them() {
        assert_eq!(split_lines("a\r\nb\rc\nd"), ["a\r\n", "b\r", "c\n", "d"]);
        let ini = Ini::parse("[default]\rbase_url = x\r\r[other]\rbase_url = y").unwrap();
        assert_eq!(ini.get(SECTION, "base_url"), Some("x"));
    }

    #[test]
    fn keeps_comments_order_and_other_sections() {
        let text = "; mine\n[other]\nx = 1\n\n[default]\n# why\nentity = me\nbase_url = http://old\n  cont\nproject = p";
        let out = set_value(text, SECTION, "base_url", "http://new").unwrap();
        assert_eq!(
            out,
            "; mine\n[other]\nx = 1\n\n[default]\n# why\nentity = me\nbase_url = http://new\nproject = p"
        );
        let out = set_value("[other]\nx = 1", SECTION, "base_url", "http://n").unwrap();
        assert_eq!(out, "[other]\nx = 1\n\n[default]\nbase_url = http://n\n\n");
        assert_eq!(
            remove_value("[other]\nbase_url = 1\n", SECTION, "base_url").unwrap(),
            None
        );
    }
}
