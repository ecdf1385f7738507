//! Completions, the manual page and `--help`: generated from the clap definitions, so
//! these tests check that they load and say what users need, not their exact text.

use libtest_mimic::Trial;

use crate::harness::{BIN, Need, Sandbox};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![
        bash_completions_load_and_complete,
        every_shell_gets_completions,
        man_page_is_roff_naming_every_command,
        every_command_help_has_an_example,
    ];
    all.extend(trials![[Need::Groff]; groff_renders_the_pages_cleanly]);
    all
}

const COMMANDS: &[&str] = &[
    "login",
    "get",
    "exec",
    "git-credential",
    "setup-git",
    "logout",
    "migrate",
    "status",
    "doctor",
    "list",
    "daemon",
    "stop",
    "reload",
    "completions",
    "man",
];

fn bash_completions_load_and_complete() {
    let sb = Sandbox::new();
    // Loaded into a real bash, then asked for what follows `wandb-cred ` and
    // `wandb-cred doctor --` (the second failed with clap_complete's own output).
    let script = format!(
        r#"source <('{BIN}' completions bash)
spec=$(complete -p wandb-cred)
fn=${{spec#*-F }}; fn=${{fn%% *}}
COMP_WORDS=(wandb-cred ""); COMP_CWORD=1; COMP_LINE="wandb-cred "; COMP_POINT=${{#COMP_LINE}}
"$fn" wandb-cred "" wandb-cred
printf '%s\n' "${{COMPREPLY[@]}}"
echo ---
COMP_WORDS=(wandb-cred doctor --); COMP_CWORD=2; COMP_LINE="wandb-cred doctor --"; COMP_POINT=${{#COMP_LINE}}
"$fn" wandb-cred -- doctor
printf '%s\n' "${{COMPREPLY[@]}}"
"#
    );
    let out = sb.program("bash", &["-c", &script]).run();
    out.ok();
    let (commands, doctor) = out.stdout.split_once("---\n").unwrap();
    for command in COMMANDS {
        assert!(
            commands.lines().any(|l| l == *command),
            "{command} not completed:\n{}",
            out.report()
        );
    }
    for flag in ["--host", "--verify", "--json", "--backend"] {
        assert!(
            doctor.lines().any(|l| l == flag),
            "{flag}:\n{}",
            out.report()
        );
    }
}

fn every_shell_gets_completions() {
    let sb = Sandbox::new();
    for (shell, marker) in [
        ("zsh", "#compdef wandb-cred"),
        ("fish", "complete -c wandb-cred"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[wandb-cred]"),
    ] {
        let out = sb.cmd(&["completions", shell]).run();
        out.ok().stdout_has(marker).stdout_has("git-credential");
    }
    sb.cmd(&["completions", "tcsh"]).run().fails(2);
}

fn man_page_is_roff_naming_every_command() {
    let sb = Sandbox::new();
    let out = sb.cmd(&["man"]).run();
    out.ok().stdout_has(".TH wandb-cred 1");
    for command in COMMANDS {
        out.stdout_has(&format!("wandb\\-cred\\-{}", command.replace('-', "\\-")));
    }
    // One page per command on request, each a roff page of its own.
    let dir = sb.root.join("man1");
    sb.cmd(&["man", "--out-dir", dir.to_str().unwrap()])
        .run()
        .ok();
    for command in COMMANDS {
        let page = sb
            .read(&dir.join(format!("wandb-cred-{command}.1")))
            .unwrap_or_else(|| panic!("no page for {command}"));
        assert!(page.contains(".TH wandb-cred-"), "{command}");
    }
}

fn groff_renders_the_pages_cleanly() {
    let sb = Sandbox::new();
    let dir = sb.root.join("man1");
    sb.cmd(&["man", "--out-dir", dir.to_str().unwrap()])
        .run()
        .ok();
    for (page, says) in [
        ("wandb-cred.1", "git-credential"),
        ("wandb-cred-exec.1", "WANDB_API_KEY"),
    ] {
        let path = dir.join(page);
        let rendered = sb
            .program("groff", &["-man", "-Tutf8", "-ww", path.to_str().unwrap()])
            .run();
        rendered.ok().stdout_has(says);
        assert_eq!(rendered.stderr, "", "{}", rendered.report());
    }
}

fn every_command_help_has_an_example() {
    let sb = Sandbox::new();
    for command in COMMANDS {
        let out = sb.cmd(&[command, "--help"]).run();
        out.ok().stdout_has("Example");
        let examples = &out.stdout[out.stdout.find("Example").unwrap()..];
        assert!(examples.contains("wandb-cred "), "{}", out.report());
    }
}
