//! The daemon's service definitions, rendered for one program path: the systemd user
//! units (`systemd/` in the repo, which the .deb ships as they are, naming
//! `/usr/bin/wandb-cred`) and the macOS LaunchAgent (`launchd/`). Text only;
//! `cli::service` installs them.

use std::path::Path;

/// The first line of every file `wandb-cred service install` writes; only such files
/// are replaced or removed by it.
pub const MARKER: &str = "Written by `wandb-cred service install`";

const SOCKET_TEMPLATE: &str = include_str!("../systemd/wandb-cred.socket");
const SERVICE_TEMPLATE: &str = include_str!("../systemd/wandb-cred.service");
const LAUNCH_AGENT_TEMPLATE: &str = include_str!("../launchd/io.github.wandb-cred.plist");

pub const SOCKET_UNIT: &str = "wandb-cred.socket";
pub const SERVICE_UNIT: &str = "wandb-cred.service";
pub const LAUNCH_AGENT_LABEL: &str = "io.github.wandb-cred";

/// The service manager `wandb-cred service install` writes definitions for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceManager {
    /// systemd user units (Linux).
    Systemd,
    /// A LaunchAgent (macOS).
    Launchd,
}

/// A program path a service definition cannot name.
#[derive(Debug, thiserror::Error)]
#[error("{} cannot be named in a service definition ({why})", path.display())]
pub struct UnnamablePath {
    pub path: std::path::PathBuf,
    why: &'static str,
}

fn path_text(program: &Path) -> Result<&str, UnnamablePath> {
    let unnamable = |why| UnnamablePath {
        path: program.to_owned(),
        why,
    };
    let text = program.to_str().ok_or_else(|| unnamable("not UTF-8"))?;
    if text.chars().any(char::is_control) {
        return Err(unnamable("it holds a control character"));
    }
    if !program.is_absolute() {
        return Err(unnamable("not an absolute path"));
    }
    Ok(text)
}

/// The two systemd user units (socket, service) that run `program daemon`.
pub fn systemd_units(program: &Path) -> Result<[(&'static str, String); 2], UnnamablePath> {
    let exec = format!("ExecStart={} daemon", systemd_quote(path_text(program)?));
    let service = SERVICE_TEMPLATE
        .lines()
        .map(|line| {
            if line.starts_with("ExecStart=") {
                exec.as_str()
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok([
        (SOCKET_UNIT, systemd_written(SOCKET_TEMPLATE)),
        (SERVICE_UNIT, systemd_written(&format!("{service}\n"))),
    ])
}

fn systemd_written(unit: &str) -> String {
    // The template's header says what the unit is, then how the package installs it:
    // only the first line holds here.
    let mut lines = unit.lines();
    let what = lines.next().unwrap_or_default();
    let body: String = lines
        .skip_while(|line| line.starts_with('#'))
        .map(|line| format!("{line}\n"))
        .collect();
    let body = format!("{what}\n{body}");
    format!("# {MARKER}; `wandb-cred service uninstall` removes it.\n{body}")
}

/// One word of a systemd command line: double-quoted, with `\` and `"` escaped and
/// the specifiers (`%`) and variables (`$`) systemd would expand doubled.
fn systemd_quote(word: &str) -> String {
    let mut quoted = String::from("\"");
    for c in word.chars() {
        match c {
            '\\' | '"' => {
                quoted.push('\\');
                quoted.push(c);
            }
            '%' => quoted.push_str("%%"),
            '$' => quoted.push_str("$$"),
            _ => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// The LaunchAgent that runs `program daemon --socket SOCKET` at login, restarted if
/// it fails (not after a clean exit: `wandb-cred stop`, or losing the socket to a
/// running daemon), logging to `log`. The socket is named because an agent's
/// environment is launchd's, not the shell's: its temporary folder may differ from the
/// one the shell's commands look in.
pub fn launch_agent(program: &Path, socket: &Path, log: &Path) -> Result<String, UnnamablePath> {
    let program = xml_escape(path_text(program)?);
    let socket = xml_escape(path_text(socket)?);
    let log = xml_escape(path_text(log)?);
    // The template's second comment explains the placeholders: it stays out of what is
    // installed.
    let rendered: String = LAUNCH_AGENT_TEMPLATE
        .lines()
        .scan(false, |in_note, line| {
            let skip = *in_note || line.starts_with("<!-- The template");
            *in_note = skip && !line.ends_with("-->");
            Some((!skip).then(|| format!("{line}\n")))
        })
        .flatten()
        .collect();
    Ok(rendered
        .replace("@PROGRAM@", &program)
        .replace("@SOCKET@", &socket)
        .replace("@LOG@", &log))
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The program a definition `service install` wrote runs: the systemd unit's
/// `ExecStart` word or the LaunchAgent's first program argument, unquoted.
pub fn program_of(text: &str) -> Option<std::path::PathBuf> {
    if let Some(line) = text.lines().find_map(|l| l.strip_prefix("ExecStart=")) {
        let quoted = line.strip_prefix('"')?;
        let mut word = String::new();
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Some(word.into()),
                '\\' => word.push(chars.next()?),
                '%' | '$' => {
                    chars.next();
                    word.push(c);
                }
                _ => word.push(c),
            }
        }
        return None;
    }
    let after = text.split("<key>ProgramArguments</key>").nth(1)?;
    let first = after.split("<string>").nth(1)?.split("</string>").next()?;
    Some(
        first
            .replace("&quot;", "\"")
            .replace("&gt;", ">")
            .replace("&lt;", "<")
            .replace("&amp;", "&")
            .into(),
    )
}

/// Whether a file found where a definition goes was written by `service install`.
pub fn is_ours(text: &str) -> bool {
    text.lines().take(3).any(|line| line.contains(MARKER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_launch_agent_template_is_rendered_whole() {
        assert!(LAUNCH_AGENT_TEMPLATE.contains(MARKER));
        assert!(LAUNCH_AGENT_TEMPLATE.contains(&format!("<string>{LAUNCH_AGENT_LABEL}</string>")));
        let plist = launch_agent(Path::new("/p"), Path::new("/s"), Path::new("/l")).unwrap();
        assert!(!plist.contains('@'), "{plist}");
        assert!(!plist.contains("The template"), "{plist}");
        assert!(plist.contains(MARKER));
        assert!(plist.contains("<string>/p</string>") && plist.contains("<string>/s</string>"));
        assert_eq!(plist.matches("<string>/l</string>").count(), 2);
    }

    #[test]
    fn the_service_runs_the_program_named_quoted_and_unexpanded() {
        let [(socket_name, socket), (service_name, service)] =
            systemd_units(Path::new("/opt/my tools/100%/$HOME/wandb-cred")).unwrap();
        assert_eq!((socket_name, service_name), (SOCKET_UNIT, SERVICE_UNIT));
        assert!(
            service.contains("\nExecStart=\"/opt/my tools/100%%/$$HOME/wandb-cred\" daemon\n"),
            "{service}"
        );
        assert_eq!(service.matches("ExecStart=").count(), 1);
        assert!(is_ours(&service) && is_ours(&socket));
        assert!(socket.contains("ListenStream=%t/wandb-cred/daemon.sock"));
        assert!(!service.contains("# Install:") && !service.contains("Debian"));
        assert!(!is_ours(SERVICE_TEMPLATE));
    }

    #[test]
    fn the_program_is_read_back_from_what_was_written() {
        for path in ["/opt/my tools/100%/$HOME/wandb-cred", "/a\\b\"c/wandb-cred"] {
            let [_, (_, service)] = systemd_units(Path::new(path)).unwrap();
            assert_eq!(program_of(&service).unwrap(), Path::new(path), "{service}");
            let plist = launch_agent(Path::new(path), Path::new("/s"), Path::new("/l")).unwrap();
            assert_eq!(program_of(&plist).unwrap(), Path::new(path), "{plist}");
        }
    }

    #[test]
    fn the_packaged_unit_names_the_packaged_program() {
        assert!(SERVICE_TEMPLATE.contains("\nExecStart=/usr/bin/wandb-cred daemon\n"));
    }

    #[test]
    fn paths_a_definition_cannot_hold_are_refused() {
        assert!(systemd_units(Path::new("relative/wandb-cred")).is_err());
        assert!(systemd_units(Path::new("/tmp/a\nExecStartPre=/bin/evil")).is_err());
        assert!(
            launch_agent(
                Path::new("/x/wandb-cred"),
                Path::new("/x/s"),
                Path::new("/x/\u{7}.log")
            )
            .is_err()
        );
    }

    #[test]
    fn the_launch_agent_escapes_the_path() {
        let plist = launch_agent(
            Path::new("/Users/a&b/<bin>/wandb-cred"),
            Path::new("/var/folders/xy/T/wandb-cred-501/daemon.sock"),
            Path::new("/Users/a&b/Library/Logs/wandb-cred/daemon.log"),
        )
        .unwrap();
        assert!(plist.contains("<string>/Users/a&amp;b/&lt;bin&gt;/wandb-cred</string>"));
        assert!(is_ours(&plist));
    }
}
