//! The hidden prompt, driven through a real pseudo-terminal.

use libtest_mimic::Trial;

use crate::harness::Sandbox;
use crate::pty::Pty;
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![
        prompts_reprompts_on_an_invalid_key_and_stores_the_valid_one,
        relogin_prompts_even_with_a_stored_key,
        dumb_terminal_gets_no_prompt,
        end_of_input_at_the_prompt_stores_nothing,
        login_dash_at_a_terminal_prompts_hidden,
    ]
}

fn prompts_reprompts_on_an_invalid_key_and_stores_the_valid_one() {
    let sb = Sandbox::new();
    let key = sb.key();
    let mut pty = Pty::spawn(
        sb.cmd(&["login", "--host", "https://api.acme.example"])
            .env("TERM", "xterm")
            .command(),
    );
    let at = pty.expect_from(
        0,
        "Create a new API key at: https://app.acme.example/authorize",
    );
    let at = pty.expect_from(at, "Paste your API key and hit enter: ");
    pty.wait_for_hidden_input();
    pty.type_line("too-short");
    let at = pty.expect_from(
        at,
        "Invalid API key: API key must have 40+ characters after its `too-` prefix, has 5.",
    );
    let _ = pty.expect_from(at, "Paste your API key and hit enter: ");
    pty.wait_for_hidden_input();
    pty.type_line(&key);
    let (status, transcript) = pty.finish();
    assert!(status.success(), "{transcript}");
    assert!(
        !transcript.contains(&key),
        "the key was echoed:\n{transcript}"
    );
    assert!(
        transcript.contains("Stored the API key for api.acme.example"),
        "{transcript}"
    );
    let netrc = sb.read(&sb.netrc()).unwrap();
    assert_eq!(
        netrc,
        format!("machine api.acme.example\n  login user\n  password {key}\n")
    );
}

fn relogin_prompts_even_with_a_stored_key() {
    let sb = Sandbox::new();
    let (old, new) = (sb.key(), sb.key());
    sb.cmd(&["login", &old]).run().ok();
    let mut pty = Pty::spawn(
        sb.cmd(&["login", "--relogin"])
            .env("TERM", "xterm")
            .command(),
    );
    pty.expect_from(0, "https://wandb.ai/authorize");
    pty.expect_from(0, "Paste your API key and hit enter: ");
    pty.wait_for_hidden_input();
    pty.type_line(&new);
    let (status, transcript) = pty.finish();
    assert!(status.success(), "{transcript}");
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{new}\n"));
}

fn dumb_terminal_gets_no_prompt() {
    let sb = Sandbox::new();
    let pty = Pty::spawn(sb.cmd(&["login"]).env("TERM", "dumb").command());
    let (status, transcript) = pty.finish();
    assert_eq!(status.code(), Some(1), "{transcript}");
    assert!(
        transcript.contains("No API key configured."),
        "{transcript}"
    );
    assert!(!transcript.contains("Paste your API key"), "{transcript}");
}

fn end_of_input_at_the_prompt_stores_nothing() {
    let sb = Sandbox::new();
    let mut pty = Pty::spawn(sb.cmd(&["login"]).env("TERM", "xterm").command());
    pty.expect_from(0, "Paste your API key and hit enter: ");
    pty.wait_for_hidden_input();
    // Ctrl-D on an empty line ends input.
    use std::io::Write;
    let mut master = pty_master(&pty);
    master.write_all(&[4]).unwrap();
    let (status, transcript) = pty.finish();
    assert_eq!(status.code(), Some(1), "{transcript}");
    assert!(transcript.contains("no API key entered"), "{transcript}");
    // The error starts a line of its own, not after the prompt.
    assert!(
        !transcript.contains("hit enter: wandb-cred"),
        "{transcript}"
    );
    assert!(sb.snapshot().is_empty());
}

fn login_dash_at_a_terminal_prompts_hidden() {
    let sb = Sandbox::new();
    let key = sb.key();
    let mut pty = Pty::spawn(sb.cmd(&["login", "-"]).env("TERM", "xterm").command());
    pty.expect_from(0, "Paste your API key and hit enter: ");
    pty.wait_for_hidden_input();
    pty.type_line(&key);
    let (status, transcript) = pty.finish();
    assert!(status.success(), "{transcript}");
    assert!(
        !transcript.contains(&key),
        "the key was echoed:\n{transcript}"
    );
    sb.cmd(&["get"])
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
}

fn pty_master(pty: &Pty) -> std::fs::File {
    pty.master_clone()
}
