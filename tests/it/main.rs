//! Integration tests: the real binary, real files, real parsers, a real HTTP server,
//! a real pseudo-terminal. One binary, run by libtest-mimic so that tests whose needs
//! are missing are reported as ignored (and fail under WANDB_CRED_TEST_REQUIRE_ALL=1).

mod commands;
mod daemon;
mod docs;
mod doctor;
mod exec;
mod files;
mod git;
mod harness;
mod keychain;
mod keyring;
mod login;
mod prompt;
mod pty;
mod recipes;
mod sdk;
mod server;
mod verify;

fn main() -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let mut trials = Vec::new();
    trials.extend(login::tests());
    trials.extend(commands::tests());
    trials.extend(verify::tests());
    trials.extend(prompt::tests());
    trials.extend(sdk::tests());
    trials.extend(files::tests());
    trials.extend(keychain::tests());
    trials.extend(daemon::tests());
    trials.extend(git::tests());
    trials.extend(exec::tests());
    trials.extend(recipes::tests());
    trials.extend(doctor::tests());
    trials.extend(docs::tests());
    libtest_mimic::run(&args, trials).exit_code()
}
