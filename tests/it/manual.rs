//! Every command the README and the manual show is run here, so the documentation
//! cannot drift from the program.
//!
//! A `console` block is a session: each `$ COMMAND` line runs in bash, in a sandbox of
//! its own for the block (the world named by `<!-- world: ... -->` above it), and the
//! lines under it are what it must print (stdout and stderr together). In those lines
//! `[..]` stands for any text within a line and a line `...` for any number of lines; a
//! command shown with no output is checked for success only. A command whose output
//! shows `wandb-cred: error:` must fail; every other one must succeed. Paths are shown
//! as a user sees them: the sandbox's home as `~`, its work folder as `~/project`, its
//! runtime folder as `/run/user/1000`.
//!
//! Blocks in a shell or Python are recipes: each is marked `<!-- recipe: NAME -->` and
//! run by a test of its own (recipes.rs, packages.rs, ...), which reads it by name.
//! Other blocks (`text`, `ini`, `netrc`, ...) show files or output, never commands.
//!
//! Worlds: `keychain` (a private gnome-keyring; `locked-keychain`: one that is locked), `kernel-keyring` (a user keyring of
//! the sandbox's own), neither (no keychain, no kernel keyring: netrc); `logged-in` (the
//! example key stored for the cloud first), `logged-in=URL` (for that server); `paste`
//! (a `wandb-cred login` without a key runs on a terminal and the example key is typed
//! at its prompt); `netrc` (a `~/.netrc` as `wandb login` leaves it); `profiles` (two
//! accounts on the cloud: `personal`, the default, and `work`); `exported` (a `~/.bashrc` that
//! exports the example key on line 2); `venv` (an active virtualenv whose Python has the W&B SDK).

use libtest_mimic::Trial;

use crate::doc_blocks::{self, Block};
use crate::harness::{Need, Sandbox, trial};
use crate::keyring::{Keyring, Provider};
use crate::pty::Pty;
use crate::trials;

/// The example key the manual shows (masked: `wandb_v1_****k3Qz`). A made-up key of
/// the new format: 86 characters.
/// A second example key, for pages with two accounts (masked: `wandb_v1_****Ab12`).
pub const DOC_KEY2: &str =
    "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";

pub const DOC_KEY: &str =
    "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";

const RUN_ELSEWHERE: &[&str] = &["sh", "bash", "python", "powershell"];
const NOT_COMMANDS: &[&str] = &["text", "ini", "netrc", "json", "toml", "dockerfile", "hcl"];

pub fn tests() -> Vec<Trial> {
    let mut all = trials![
        every_block_is_run_or_is_no_command,
        every_recipe_is_read_by_a_test,
        every_link_between_pages_resolves,
        the_matcher_matches_what_it_should,
        the_readme_test_command_is_what_ci_runs,
    ];
    for block in doc_blocks::all() {
        if block.info != "console" {
            continue;
        }
        let mut needs = vec![Need::Python];
        let world = block.world();
        if world.iter().any(|o| o.ends_with("keychain")) {
            needs.push(Need::Keyring);
        }
        if world.iter().any(|o| o == "kernel-keyring") {
            needs.push(Need::KernelKeyring);
        }
        if world.iter().any(|o| o == "venv") {
            needs.push(Need::Sdk);
        }
        let name = format!("manual::{}", block.place());
        all.push(trial(&name, &needs, move || run_block(&block)));
    }
    all
}

fn every_block_is_run_or_is_no_command() {
    assert_eq!(DOC_KEY.len(), 86);
    assert_eq!(DOC_KEY2.len(), 86);
    for block in doc_blocks::all() {
        let info = block.info.as_str();
        let place = block.place();
        if RUN_ELSEWHERE.contains(&info) {
            assert!(
                block.recipe().is_some(),
                "{place}: a {info} block needs <!-- recipe: NAME --> and a test that runs it"
            );
        } else if info == "console" {
            assert!(
                block.recipe().is_none(),
                "{place}: console blocks are run here, not as recipes"
            );
            assert!(
                block.body.starts_with("$ "),
                "{place}: a console block starts with a `$ ` command"
            );
        } else {
            assert!(
                NOT_COMMANDS.contains(&info),
                "{place}: a block needs a language: console (run here), one of \
                 {RUN_ELSEWHERE:?} (a recipe) or one of {NOT_COMMANDS:?} (not a command)"
            );
        }
    }
}

/// A recipe no test reads would be a command shown and never run.
fn every_recipe_is_read_by_a_test() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    let sources: String = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for block in doc_blocks::all() {
        let Some(name) = block.recipe() else { continue };
        assert!(seen.insert(name.to_owned()), "recipe {name} marked twice");
        assert!(
            sources.contains(&format!("recipe(\"{name}\")"))
                || sources.contains(&format!("recipe_args(\"{name}\"")),
            "{}: no test reads recipe {name}",
            block.place()
        );
    }
}

/// Links to other pages of the repository (`[x](../SECURITY.md)`, `[x](daemon.md#socket)`)
/// name files that exist.
fn every_link_between_pages_resolves() {
    for file in doc_blocks::files() {
        let text = doc_blocks::read(&file);
        let base = std::path::Path::new(&file).parent().unwrap().to_owned();
        for (at, _) in text.match_indices("](") {
            let rest = &text[at + 2..];
            let target = &rest[..rest.find(')').unwrap_or(0)];
            if target.contains("://") || target.starts_with('#') || target.starts_with('<') {
                continue;
            }
            let path = target.split('#').next().unwrap();
            let joined = base.join(path);
            assert!(
                doc_blocks::exists(joined.to_str().unwrap()),
                "{file}: the link to {target} names no file"
            );
        }
    }
}

/// One `$ COMMAND` line (with its `\` continuations) and the output shown under it.
struct Step {
    command: String,
    expected: Vec<String>,
}

fn steps(body: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continued = false;
    for line in body.lines() {
        if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step {
                command: command.to_owned(),
                expected: Vec::new(),
            });
        } else if continued {
            let step = steps.last_mut().unwrap();
            step.command.push('\n');
            step.command.push_str(line);
        } else {
            steps.last_mut().unwrap().expected.push(line.to_owned());
        }
        continued = line.ends_with('\\');
    }
    steps
}

struct World {
    sb: Sandbox,
    _keyring: Option<Keyring>,
    paste: bool,
    /// `wandb-cred unlock` at a terminal: the passphrase is typed at its prompts.
    passphrase: bool,
}

/// The encrypted store's passphrase in the manual's examples.
const DOC_PASSPHRASE: &str = "a long and private passphrase";

fn world(block: &Block) -> World {
    let mut sb = Sandbox::new();
    sb.bin_dir();
    sb.secret(DOC_KEY.to_owned());
    let mut keyring = None;
    let mut paste = false;
    let mut passphrase = false;
    for option in block.world() {
        match option.split_once('=').unwrap_or((&option, "")) {
            ("keychain", "") => keyring = Some(Keyring::start(&mut sb, Provider::Unlocked)),
            ("locked-keychain", "") => keyring = Some(Keyring::start(&mut sb, Provider::Locked)),
            ("kernel-keyring", "") => sb.own_kernel_keyring(),
            ("logged-in", host) => {
                let mut args = vec!["login", "-"];
                if !host.is_empty() {
                    args.extend(["--host", host]);
                }
                sb.cmd(&args).stdin(DOC_KEY).run().ok();
            }
            ("paste", "") => paste = true,
            ("passphrase", "") => {
                passphrase = true;
                sb.secret(DOC_PASSPHRASE.to_owned());
            }
            ("encrypted", "") => {
                // A store made and unlocked, with the key in it.
                sb.set_env("WANDB_CRED_BACKEND", "encrypted-file");
                sb.cmd(&["unlock", "-"]).stdin(DOC_PASSPHRASE).run().ok();
                sb.cmd(&["login", "-"]).stdin(DOC_KEY).run().ok();
            }
            ("profiles", "") => {
                // Two accounts on the cloud: `personal` (logged in first) and `work`.
                sb.secret(DOC_KEY2.to_owned());
                for (profile, key) in [("personal", DOC_KEY2), ("work", DOC_KEY)] {
                    sb.cmd(&["login", "--profile", profile, "-"])
                        .stdin(key)
                        .run()
                        .ok();
                }
            }
            ("exported", "") => {
                // The most common plaintext key: an export in a shell startup file.
                let text = format!("# ~/.bashrc\nexport WANDB_API_KEY={DOC_KEY}\n");
                sb.write(&sb.home.join(".bashrc"), &text);
            }
            ("netrc", "") => {
                // What `wandb login` leaves behind.
                let entry = format!("machine api.wandb.ai\n  login user\n  password {DOC_KEY}\n");
                sb.write(&sb.home.join(".netrc"), &entry);
            }
            ("venv", "") => crate::harness::activate_sdk_venv(&mut sb),
            _ => panic!("{}: unknown world option {option:?}", block.place()),
        }
    }
    World {
        sb,
        _keyring: keyring,
        paste,
        passphrase,
    }
}

fn run_block(block: &Block) {
    let world = world(block);
    for step in steps(&block.body) {
        let (code, output) = run_step(&world, &step.command);
        let shown = normalize(&world.sb, &output);
        let place = block.place();
        let fails = step
            .expected
            .iter()
            .any(|l| l.starts_with("wandb-cred: error:"));
        assert_eq!(
            code != 0,
            fails,
            "{place}: `{}` exited with {code}; it printed:\n{shown}",
            step.command
        );
        if !step.expected.is_empty() && !matches(&step.expected, &shown) {
            panic!(
                "{place}: `{}` printed what the page does not show.\n--- shown ---\n{}\n--- printed ---\n{shown}",
                step.command,
                step.expected.join("\n")
            );
        }
    }
}

fn run_step(world: &World, command: &str) -> (i32, String) {
    let sb = &world.sb;
    if world.passphrase
        && command.starts_with("wandb-cred unlock")
        && !command.split_whitespace().any(|w| w == "-")
    {
        return type_passphrase(sb, command);
    }
    if world.paste
        && command.starts_with("wandb-cred login")
        && !command.split_whitespace().any(|w| w == "-")
    {
        let mut pty = Pty::spawn(
            sb.program("bash", &["-c", command])
                .env("TERM", "xterm")
                .command(),
        );
        pty.expect_from(0, "Paste your API key and hit enter: ");
        pty.wait_for_hidden_input();
        pty.type_line(DOC_KEY);
        let (status, transcript) = pty.finish();
        assert!(!transcript.contains(DOC_KEY), "the key was echoed");
        return (status.code().unwrap_or(-1), transcript.replace('\r', ""));
    }
    let out = sb
        .program("bash", &["-c", &format!("exec 2>&1\n{command}")])
        .key_on_stdout()
        .run();
    (out.code, out.stdout.clone())
}

/// Runs `command` on a terminal, typing the passphrase at each prompt (twice for a
/// new store, whose file is not there yet).
fn type_passphrase(sb: &Sandbox, command: &str) -> (i32, String) {
    let new = !sb.home.join(".local/share/wandb-cred/keys.age").exists();
    let mut pty = Pty::spawn(
        sb.program("bash", &["-c", command])
            .env("TERM", "xterm")
            .command(),
    );
    let prompts: &[&str] = if new {
        &[
            "New passphrase for the encrypted store: ",
            "The same passphrase again: ",
        ]
    } else {
        &["Passphrase of the encrypted store: "]
    };
    let mut at = 0;
    for prompt in prompts {
        at = pty.expect_from(at, prompt);
        pty.wait_for_hidden_input();
        pty.type_line(DOC_PASSPHRASE);
    }
    let (status, transcript) = pty.finish();
    assert!(
        !transcript.contains(DOC_PASSPHRASE),
        "the passphrase was echoed"
    );
    (status.code().unwrap_or(-1), transcript.replace('\r', ""))
}

/// The output as a user would see it on their machine.
fn normalize(sb: &Sandbox, output: &str) -> String {
    let root = sb.root.to_str().unwrap();
    output
        .replace(&format!("{root}/keyring/run"), "/run/user/1000")
        .replace(&format!("{root}/run"), "/run/user/1000")
        .replace(&format!("{root}/home"), "~")
        .replace(&format!("{root}/work"), "~/project")
        .replace(&format!("{root}/venv"), "~/project/.venv")
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `output` matches the lines shown (`...` lines and `[..]` wildcards).
fn matches(expected: &[String], output: &str) -> bool {
    let lines: Vec<&str> = output.lines().collect();
    match_from(expected, &lines)
}

fn match_from(expected: &[String], lines: &[&str]) -> bool {
    let Some((first, rest)) = expected.split_first() else {
        return lines.is_empty();
    };
    if first == "..." {
        return (0..=lines.len()).any(|skip| match_from(rest, &lines[skip..]));
    }
    match lines.split_first() {
        Some((line, more)) => line_matches(first.trim_end(), line) && match_from(rest, more),
        None => false,
    }
}

fn line_matches(pattern: &str, line: &str) -> bool {
    let mut parts = pattern.split("[..]");
    let first = parts.next().unwrap();
    let Some(mut rest) = line.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i == parts.len() - 1 {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// The README's test command is the one `.ci/run` runs (after installing what it needs).
fn the_readme_test_command_is_what_ci_runs() {
    let command = doc_blocks::recipe("test-suite");
    assert_eq!(command, "tests/run.sh\n");
    let ci = doc_blocks::read(".ci/run");
    assert!(
        ci.lines().any(|l| l == command.trim()),
        ".ci/run does not run {command}"
    );
}

/// The matcher itself: wildcards match what they should and nothing more.
fn the_matcher_matches_what_it_should() {
    let lines = |t: &str| t.lines().map(str::to_owned).collect::<Vec<_>>();
    assert!(matches(&lines("a [..] c\n...\nz"), "a b c\nx\ny\nz"));
    assert!(matches(&lines("a [..] c\n...\nz"), "a  c\nz"));
    assert!(!matches(&lines("a [..] c"), "a b d"));
    assert!(!matches(&lines("a"), "a\nb"));
    assert!(!matches(&lines("a\nb"), "a"));
    assert!(matches(
        &lines("[..]k3Qz[..]"),
        "key wandb_v1_****k3Qz here"
    ));
    assert!(!matches(&lines("x[..]y[..]z"), "xzy"));
}
