//! Completions, the manual page and `--help`: generated from the clap definitions, so
//! these tests check that they load and say what users need, not their exact text.

use libtest_mimic::Trial;

use crate::harness::{BIN, Need, Sandbox};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![
        bash_completions_load_and_complete,
        completions_offer_values_and_only_options_that_apply,
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
    "service",
    "setup-python",
    "push",
    "ssh",
    "completions",
    "man",
    "uninstall",
    "unlock",
    "whoami",
    "switch",
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

/// What a real bash completes after `words` (the last one is the word being typed).
fn bash_completes(sb: &Sandbox, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        r#"source <('{BIN}' completions bash)
spec=$(complete -p wandb-cred)
fn=${{spec#*-F }}; fn=${{fn%% *}}
COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}
"$fn" wandb-cred "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}"
"#,
        words = quoted.join(" "),
        cword = words.len() - 1,
        line = words.join(" "),
    );
    let out = sb.program("bash", &["-c", &script]).run();
    out.ok();
    out.stdout.lines().map(str::to_owned).collect()
}

/// Issue 16: `git-credential <TAB>` and `--backend <TAB>` offered nothing, and
/// `--backend` was offered (and accepted) on commands where it means nothing.
fn completions_offer_values_and_only_options_that_apply() {
    let sb = Sandbox::new();
    let operations = bash_completes(&sb, &["wandb-cred", "git-credential", ""]);
    for op in ["get", "store", "erase", "capability"] {
        assert!(operations.iter().any(|o| o == op), "{op}: {operations:?}");
    }
    let backends = bash_completes(&sb, &["wandb-cred", "login", "--backend", ""]);
    for backend in ["auto", "keychain", "kernel-keyring", "netrc"] {
        assert!(
            backends.iter().any(|b| b == backend),
            "{backend}: {backends:?}"
        );
    }
    for command in ["completions", "man", "service", "setup-python", "setup-git"] {
        let offered = bash_completes(&sb, &["wandb-cred", command, "--"]);
        assert!(
            !offered.iter().any(|o| o == "--backend"),
            "{command}: {offered:?}"
        );
        sb.cmd(&[command, "--help"]).run().ok();
        let help = sb.cmd(&[command, "--help"]).run();
        assert!(!help.stdout.contains("--backend"), "{}", help.report());
    }
    sb.cmd(&["man", "--backend", "netrc"])
        .run()
        .fails(2)
        .stderr_has("unexpected argument '--backend'");
    // Where it applies it is offered, after the command or before it.
    let status = bash_completes(&sb, &["wandb-cred", "status", "--"]);
    assert!(status.iter().any(|o| o == "--backend"), "{status:?}");
    for args in [
        &["--backend", "netrc", "status", "--json"][..],
        &["status", "--backend", "netrc", "--json"],
    ] {
        let out = sb.cmd(args).run();
        out.ok();
        let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(doc["backend"]["choice"], "netrc", "{}", out.report());
    }
    // An unknown operation is still accepted (and ignored), as git asks of helpers.
    sb.cmd(&["git-credential", "frobnicate"])
        .stdin("")
        .run()
        .ok()
        .stdout_is("");
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
