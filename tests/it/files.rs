//! Differential tests: many generated netrc and settings texts are read by our parsers
//! and by Python's `netrc` and `configparser`; both must agree on every one.

use std::collections::BTreeMap;

use libtest_mimic::Trial;
use wandb_cred::config::netrc::Netrc;
use wandb_cred::config::settings::Ini;

use crate::harness::Need;
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![[Need::Python]; netrc_parser_agrees_with_python, settings_parser_agrees_with_configparser]
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        items[(self.0 % items.len() as u64) as usize]
    }
}

type Hosts = BTreeMap<String, (String, String, String)>;

fn ours_netrc(text: &str) -> Option<Hosts> {
    let netrc = Netrc::parse(text).ok()?;
    Some(
        netrc
            .entries
            .iter()
            .map(|e| {
                let name = e.machine.clone().unwrap_or_else(|| "default".to_owned());
                (
                    name,
                    (e.login.clone(), e.account.clone(), e.password.to_string()),
                )
            })
            .collect(),
    )
}

fn netrc_parser_agrees_with_python() {
    let names = [
        "api.wandb.ai",
        "127.0.0.1:8080",
        "\"q q\"",
        "a",
        "x\\ y",
        "é",
        "\"\"",
    ];
    let keywords = ["login", "user", "account", "password", "password"];
    let values = [
        "user",
        "wandb_v1_x",
        "\"a\\\"b\"",
        "k#",
        "#c",
        "p w",
        "\"\"",
        "machine",
        "pw",
    ];
    let noise = [
        "# a comment\n",
        "#c ",
        "macdef m\nbody\n\n",
        "macdef m\nbody\n",
        "default ",
        "junk ",
        "\n\n",
        "\r\n",
    ];
    let gaps = [" ", "\n", "\n  ", "\t", "\r\n", "\r", " # note\n"];
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let texts: Vec<String> = (0..1500)
        .map(|_| {
            let mut text = String::new();
            for _ in 0..(1 + rng.0 % 4) {
                if rng.pick(&["entry", "entry", "entry", "noise"]) == "noise" {
                    text.push_str(rng.pick(&noise));
                    continue;
                }
                text.push_str(rng.pick(&["machine ", "machine ", "default "]));
                if !text.ends_with("default ") {
                    text.push_str(rng.pick(&names));
                }
                for _ in 0..(rng.0 % 4) {
                    text.push_str(rng.pick(&gaps));
                    text.push_str(rng.pick(&keywords));
                    text.push(' ');
                    text.push_str(rng.pick(&values));
                }
                text.push_str(rng.pick(&gaps));
            }
            text
        })
        .collect();
    let script = r#"
import json, netrc, sys, tempfile, os
out = []
for text in json.load(sys.stdin):
    with tempfile.NamedTemporaryFile('w', delete=False, encoding='utf-8', newline='') as f:
        f.write(text)
    try:
        out.append({k: list(v) for k, v in netrc.netrc(f.name).hosts.items()})
    except netrc.NetrcParseError:
        out.append(None)
    os.unlink(f.name)
print(json.dumps(out))
"#;
    let theirs: Vec<Option<BTreeMap<String, Vec<String>>>> =
        serde_json::from_str(&python_stdin(script, &texts)).unwrap();
    let mut with_entries = 0;
    for (text, theirs) in texts.iter().zip(theirs) {
        let theirs: Option<Hosts> = theirs.map(|h| {
            h.into_iter()
                .map(|(k, v)| (k, (v[0].clone(), v[1].clone(), v[2].clone())))
                .collect()
        });
        with_entries += usize::from(theirs.as_ref().is_some_and(|h| !h.is_empty()));
        assert_eq!(ours_netrc(text), theirs, "disagreement on {text:?}");
    }
    // The generator must exercise real entries, not only errors.
    assert!(
        with_entries >= texts.len() / 10,
        "only {with_entries} texts had entries"
    );
}

fn settings_parser_agrees_with_configparser() {
    let lines = [
        "[default]",
        "[DEFAULT]",
        "[other]",
        "[a]b]",
        "[]",
        "base_url = http://x",
        "Base_URL: y",
        "api_key=k",
        "  continued",
        "\tmore",
        "# c",
        "; c",
        "",
        "",
        "junk",
        "= v",
        "entity = e",
        "project :p:q",
        "base_url=",
        "  [default]",
        "api_key = k2",
        "entity=  spaced  ",
    ];
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let texts: Vec<String> = (0..1500)
        .map(|_| {
            let mut text = rng
                .pick(&["[default]\n", "[default]\n", "[default]\n", "[other]\n", ""])
                .to_owned();
            for _ in 0..(1 + rng.0 % 7) {
                text.push_str(rng.pick(&lines));
                text.push_str(rng.pick(&["\n", "\n", "\n", "\r\n", "\r"]));
            }
            text
        })
        .collect();
    let script = r#"
import configparser, json, sys
out = []
import os, tempfile
for text in json.load(sys.stdin):
    # A real file, read as the SDK reads it (open(): universal newlines).
    with tempfile.NamedTemporaryFile("w", delete=False, encoding="utf-8", newline="") as f:
        f.write(text)
    c = configparser.ConfigParser(interpolation=None)
    try:
        c.read(f.name, encoding="utf-8")
    except configparser.Error:
        os.unlink(f.name)
        out.append(None)
        continue
    os.unlink(f.name)
    got = {}
    for key in ("base_url", "api_key", "entity", "project"):
        if c.has_section("default"):
            got[key] = c.get("default", key, fallback=None)
        else:
            got[key] = None
    out.append(got)
print(json.dumps(out))
"#;
    let theirs: Vec<Option<BTreeMap<String, Option<String>>>> =
        serde_json::from_str(&python_stdin(script, &texts)).unwrap();
    let parsed = theirs
        .iter()
        .filter(|t| t.as_ref().is_some_and(|m| m.values().any(Option::is_some)))
        .count();
    assert!(parsed >= texts.len() / 10, "only {parsed} texts had values");
    for (text, theirs) in texts.iter().zip(theirs) {
        let ours = Ini::parse(text).ok().map(|ini| {
            ["base_url", "api_key", "entity", "project"]
                .into_iter()
                .map(|k| (k.to_owned(), ini.get("default", k).map(str::to_owned)))
                .collect::<BTreeMap<_, _>>()
        });
        assert_eq!(ours, theirs, "disagreement on {text:?}");
    }
}

fn python_stdin(script: &str, texts: &[String]) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(texts).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
