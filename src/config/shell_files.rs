//! Shell startup files, and a project's `.env`, that give `WANDB_API_KEY` a literal key:
//! the most common plaintext copy of a W&B key. Read only: wandb-cred never edits them.
//!
//! Recognised, one statement per line (after `;`, `&&` or `||` too): `export NAME=V`,
//! `NAME=V`, `declare -x`/`typeset -x`/`readonly NAME=V` (sh, bash, zsh, ksh, `.env`,
//! environment.d), `set [-x|-gx|-Ux|...] NAME V` (fish), `setenv NAME V` (csh), and
//! fish's universal variables file (`SETUVAR --export NAME:V`). A value that is computed
//! (`$(wandb-cred get)`, `$OTHER`, backquotes) is not plaintext and is not reported.

use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::env::Environment;
use crate::key::ApiKey;

const NAME: &str = "WANDB_API_KEY";

/// A line that assigns a literal key.
pub struct Export {
    pub path: PathBuf,
    pub line: usize,
    pub key: ApiKey,
}

/// The files a login or interactive shell of this user reads, that exist or not, and the
/// project's `.env` (in `$WANDB_DIR` or the current folder).
pub fn candidates(env: &Environment) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Some(home) = &env.home {
        for name in [
            ".profile",
            ".bash_profile",
            ".bash_login",
            ".bashrc",
            ".bash_aliases",
            ".kshrc",
            ".cshrc",
            ".tcshrc",
            ".login",
        ] {
            found.push(home.join(name));
        }
        let zdot = env
            .var("ZDOTDIR")
            .map_or_else(|| home.clone(), PathBuf::from);
        for name in [".zshenv", ".zprofile", ".zshrc", ".zlogin"] {
            found.push(zdot.join(name));
        }
        let config = env
            .var("XDG_CONFIG_HOME")
            .map_or_else(|| home.join(".config"), PathBuf::from);
        found.push(config.join("fish/config.fish"));
        found.push(config.join("fish/fish_variables"));
        found.extend(files_in(&config.join("fish/conf.d"), "fish"));
        found.extend(files_in(&config.join("environment.d"), "conf"));
    }
    let project = env
        .var("WANDB_DIR")
        .map_or_else(|| env.cwd.clone(), PathBuf::from);
    found.push(project.join(".env"));
    found
}

/// The files of a folder with this extension, sorted (at most 64: a conf.d folder).
fn files_in(dir: &std::path::Path, extension: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .take(64)
        .collect();
    files.sort();
    files
}

/// Every literal key assigned to `WANDB_API_KEY` in the user's startup files. Files that
/// cannot be read (absent, not a plain file, too large) are skipped, and so are files
/// another user could have written (a `.env` in a shared folder): their keys are not
/// this user's to be told about.
pub fn find(env: &Environment) -> Vec<Export> {
    let mut found = Vec::new();
    for path in candidates(env) {
        let Ok(Some(text)) = super::atomic::read_text(&path) else {
            continue;
        };
        if crate::ownership::file(&path).is_some() {
            continue;
        }
        for (line, value) in assignments(&text) {
            if let Ok(key) = ApiKey::parse(value) {
                found.push(Export {
                    path: path.clone(),
                    line,
                    key,
                });
            }
        }
    }
    found
}

/// `(line, literal value)` for each assignment of `WANDB_API_KEY` in `text`.
pub fn assignments(text: &str) -> Vec<(usize, Zeroizing<String>)> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("SETUVAR ") {
            let rest = rest.strip_prefix("--export ").unwrap_or(rest);
            if let Some(value) = rest.strip_prefix(NAME).and_then(|r| r.strip_prefix(':')) {
                found.push((index + 1, Zeroizing::new(value.trim_end().to_owned())));
            }
            continue;
        }
        for statement in statements(line) {
            if let Some(value) = statement_value(statement) {
                found.push((index + 1, value));
            }
        }
    }
    found
}

/// The statements of one line, split where `;`, `&&` or `||` separate them.
fn statements(line: &str) -> impl Iterator<Item = &str> {
    line.split([';', '&', '|']).map(str::trim)
}

/// The literal value a statement gives `WANDB_API_KEY`, if it gives one.
fn statement_value(statement: &str) -> Option<Zeroizing<String>> {
    let mut words = statement.split_whitespace().peekable();
    let first = *words.peek()?;
    match first {
        "set" => {
            words.next();
            while words.peek()?.starts_with('-') {
                words.next();
            }
            (words.next()? == NAME).then_some(())?;
            let rest = statement.split_once(NAME)?.1.trim_start();
            literal(rest)
        }
        "setenv" => {
            let rest = statement.strip_prefix("setenv")?.trim_start();
            literal(
                rest.strip_prefix(NAME)?
                    .strip_prefix([' ', '\t'])?
                    .trim_start(),
            )
        }
        _ => {
            // `export`, `declare -x`, `typeset -x`, `readonly` and plain assignments:
            // skip the leading words up to the one that assigns.
            let at = statement.find(&format!("{NAME}="))?;
            let before = &statement[..at];
            let ok = before.is_empty()
                || before.ends_with(' ')
                    && before.split_whitespace().all(|w| {
                        matches!(w, "export" | "declare" | "typeset" | "readonly" | "local")
                            || w.starts_with('-')
                    });
            ok.then(|| literal(&statement[at + NAME.len() + 1..]))?
        }
    }
}

/// The literal word at the start of `text`: quoted with `'` or `"`, or bare. `None` when
/// it is computed (`$`, backquotes, `(`) or empty.
fn literal(text: &str) -> Option<Zeroizing<String>> {
    let (value, computed) = match text.chars().next()? {
        '\'' => (text[1..].split('\'').next()?, false),
        '"' => {
            let inner = text[1..].split('"').next()?;
            (inner, inner.contains(['$', '`', '\\']))
        }
        _ => {
            let end = text
                .find(|c: char| c.is_whitespace() || c == ')')
                .unwrap_or(text.len());
            let word = &text[..end];
            (word, word.contains(['$', '`', '(', '\\', '"', '\'']))
        }
    };
    (!computed && !value.is_empty()).then(|| Zeroizing::new(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef01234567";

    fn values(text: &str) -> Vec<(usize, String)> {
        assignments(text)
            .into_iter()
            .map(|(line, v)| (line, v.to_string()))
            .collect()
    }

    #[test]
    fn literal_assignments_in_every_shell_are_found() {
        for line in [
            format!("export WANDB_API_KEY={KEY}"),
            format!("export WANDB_API_KEY='{KEY}'"),
            format!("export WANDB_API_KEY=\"{KEY}\""),
            format!("WANDB_API_KEY={KEY}"),
            format!("  declare -x WANDB_API_KEY={KEY}"),
            format!("cd ~ && export WANDB_API_KEY={KEY}; echo hi"),
            format!("set -gx WANDB_API_KEY {KEY}"),
            format!("set -x WANDB_API_KEY '{KEY}'"),
            format!("setenv WANDB_API_KEY {KEY}"),
            format!("SETUVAR --export WANDB_API_KEY:{KEY}"),
        ] {
            assert_eq!(
                values(&format!("# a comment\n{line}\n")),
                vec![(2, KEY.to_owned())],
                "{line}"
            );
        }
    }

    #[test]
    fn computed_values_and_other_names_are_not_plaintext() {
        for line in [
            "export WANDB_API_KEY=$(wandb-cred get)",
            "export WANDB_API_KEY=\"$(wandb-cred get)\"",
            "export WANDB_API_KEY=`wandb-cred get`",
            "export WANDB_API_KEY=$KEY",
            "export WANDB_API_KEY=",
            "set -x WANDB_API_KEY (wandb-cred get)",
            &format!("# export WANDB_API_KEY={KEY}"),
            &format!("export MY_WANDB_API_KEY={KEY}"),
            &format!("echo WANDB_API_KEY={KEY}"),
            "unset WANDB_API_KEY",
        ] {
            assert_eq!(values(line), vec![], "{line}");
        }
    }
}
