//! The `wandb-cred` front: `get` and `git-credential get` answered by the front alone
//! (a copy of it with no `wandb-cred-full` beside it still answers them), everything
//! else handed to the full program with the same arguments, name and standard input,
//! and the front linked statically where the repository's build config says so.

use std::path::PathBuf;

use libtest_mimic::Trial;

use crate::harness::{BIN, Sandbox};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![
        get_is_answered_by_the_front_alone,
        what_the_front_cannot_answer_goes_to_the_full_program,
        a_handed_over_git_request_is_read_again_in_full,
        closed_standard_descriptors_are_opened_on_dev_null,
    ];
    // Only Linux with glibc is linked statically (elsewhere the front is dynamic).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    all.extend(trials![the_front_is_statically_linked]);
    all
}

const REQUEST: &str = "protocol=https\nhost=api.wandb.ai\n\n";

/// A sandbox with a key stored through a running daemon, and a copy of the front in a
/// folder of its own (no full program beside it).
fn with_lonely_front() -> (Sandbox, String, PathBuf) {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    assert!(sb.daemon_pid().is_some(), "login started a daemon");
    let lonely = sb.root.join("lonely");
    std::fs::create_dir_all(&lonely).unwrap();
    let front = lonely.join("wandb-cred");
    crate::harness::copy_program(BIN.as_ref(), &front);
    (sb, key, front)
}

fn get_is_answered_by_the_front_alone() {
    let (sb, key, front) = with_lonely_front();
    for args in [
        &["get"][..],
        &["get", "--host", "https://api.wandb.ai"],
        &["get", "--base-url=https://api.wandb.ai"],
    ] {
        sb.program(&front, args)
            .key_on_stdout()
            .run()
            .ok()
            .stdout_is(&format!("{key}\n"));
    }
    sb.program(&front, &["git-credential", "get"])
        .stdin(REQUEST)
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("username=api\npassword={key}\n"));
    let helper = front.with_file_name("git-credential-wandb");
    std::os::unix::fs::symlink(&front, &helper).unwrap();
    sb.program(&helper, &["get"])
        .stdin(REQUEST)
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("username=api\npassword={key}\n"));
    // The full program answers exactly the same.
    sb.cmd(&["get"])
        .env("WANDB_CRED_LOG", "warn")
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
}

fn what_the_front_cannot_answer_goes_to_the_full_program() {
    let (sb, _key, front) = with_lonely_front();
    let missing = front.with_file_name("wandb-cred-full");
    let handed_over = format!("cannot run {}", missing.display());
    // Arguments, and variables set.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: [Case; 6] = [
        (&["status"], &[]),
        (&["get", "--host", "https://other.example.com"], &[]),
        (&["get", "--verbose"], &[]),
        (&["get"], &[("WANDB_CRED_LOG", "debug")]),
        (&["get"], &[("WANDB_CRED_NO_DAEMON", "1")]),
        (&["get"], &[("WANDB_CRED_BACKEND", "netrc")]),
    ];
    for (args, env) in cases {
        let mut run = sb.program(&front, args);
        for (name, value) in env {
            run = run.env(name, value);
        }
        run.run().fails(1).stderr_has(&handed_over);
    }
    // With no daemon at all, even a stored key is the full program's to find.
    sb.cmd(&["stop"]).run().ok();
    sb.program(&front, &["get"])
        .run()
        .fails(1)
        .stderr_has(&handed_over);
}

/// The front reads git's request before it knows it cannot answer (here: the daemon
/// serves another backend than the one asked for); the full program must then read
/// the very same request.
fn a_handed_over_git_request_is_read_again_in_full() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    assert!(sb.daemon_pid().is_some(), "login started a daemon");
    sb.cmd(&["git-credential", "get"])
        .env("WANDB_CRED_BACKEND", "netrc")
        .stdin(REQUEST)
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("username=api\npassword={key}\n"));
    // Called as git-credential-wandb, the name reaches the full program too.
    let helper = sb.root.join("git-credential-wandb");
    std::os::unix::fs::symlink(BIN, &helper).unwrap();
    sb.program(&helper, &["capability"])
        .run()
        .ok()
        .stdout_is("version 0\n");
}

/// With standard descriptors closed, the front behaves as the full program (which has
/// std's start-up) does: output to a closed stdout is dropped, exit 0; a closed stdin
/// or stderr changes nothing. (The front also opens them on /dev/null as std does, as
/// a precaution: today nothing it opens is still open when it prints.)
fn closed_standard_descriptors_are_opened_on_dev_null() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    for full in ["", "WANDB_CRED_LOG=warn "] {
        sb.program("sh", &["-c", &format!("{full}exec {BIN} get >&-")])
            .run()
            .ok()
            .stdout_is("");
        sb.program("sh", &["-c", &format!("{full}exec {BIN} get <&- 2>&-")])
            .key_on_stdout()
            .run()
            .ok()
            .stdout_is(&format!("{key}\n"));
    }
}

/// The speed of `get` rests on the front starting without the dynamic loader
/// (.cargo/config.toml). Checked on the ELF program headers: no PT_INTERP.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn the_front_is_statically_linked() {
    let elf = std::fs::read(BIN).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF");
    let u16_at = |at: usize| u16::from_le_bytes(elf[at..at + 2].try_into().unwrap()) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    const PT_INTERP: u32 = 3;
    let types: Vec<u32> = (0..phnum)
        .map(|i| {
            let at = phoff + i * phentsize;
            u32::from_le_bytes(elf[at..at + 4].try_into().unwrap())
        })
        .collect();
    assert!(!types.is_empty(), "no program headers read");
    assert!(
        !types.contains(&PT_INTERP),
        "{BIN} asks for a dynamic loader; build it with the repository's .cargo/config.toml"
    );
}
