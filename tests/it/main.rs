//! Integration tests: the real binary, real files, real parsers, a real HTTP server,
//! a real pseudo-terminal. One binary, run by libtest-mimic so that tests whose needs
//! are missing are reported as ignored (and fail under WANDB_CRED_TEST_REQUIRE_ALL=1).
//!
//! The same binary is built for Windows and run under Wine by `tests/cross.sh`: the
//! modules that need Unix (D-Bus keyrings, PTYs, signals, `/proc`, bash, git, Python)
//! are left out there, and `windows` adds the Credential Manager and the named pipe.

mod commands;
mod files;
mod harness;
mod login;
mod server;
mod verify;
#[cfg(unix)]
mod whoami;

#[cfg(unix)]
mod attack;
#[cfg(unix)]
mod audit;
#[cfg(unix)]
mod bao;
#[cfg(unix)]
mod cloud;
#[cfg(unix)]
mod daemon;
#[cfg(unix)]
mod doc_blocks;
#[cfg(unix)]
mod docs;
#[cfg(unix)]
mod doctor;
#[cfg(unix)]
mod encrypted;
#[cfg(unix)]
mod encrypted_input;
#[cfg(unix)]
mod encrypted_rollback;
#[cfg(unix)]
mod encrypted_safety;
#[cfg(unix)]
mod exec;
#[cfg(unix)]
mod foreign;
#[cfg(unix)]
mod foreign_choice;
#[cfg(unix)]
mod forward;
#[cfg(unix)]
mod forward_attack;
#[cfg(unix)]
mod front;
#[cfg(unix)]
mod git;
#[cfg(unix)]
mod hints;
#[cfg(unix)]
mod hook_servers;
#[cfg(unix)]
mod interrupted;
#[cfg(unix)]
mod kernel;
#[cfg(unix)]
mod keychain;
#[cfg(unix)]
mod keyring;
#[cfg(unix)]
mod lifetime;
#[cfg(unix)]
mod load;
#[cfg(unix)]
mod manual;
#[cfg(unix)]
mod memory;
#[cfg(unix)]
mod packages;
#[cfg(unix)]
mod plaintext;
#[cfg(unix)]
mod profiles;
#[cfg(unix)]
mod profiles_entity;
#[cfg(unix)]
mod prompt;
#[cfg(unix)]
mod pty;
#[cfg(unix)]
mod push;
#[cfg(unix)]
mod python_hook;
#[cfg(unix)]
mod readonly;
#[cfg(unix)]
mod recipes;
#[cfg(unix)]
mod sdk;
#[cfg(unix)]
mod sdk_environments;
#[cfg(unix)]
mod sdk_writes;
#[cfg(unix)]
mod server_text;
#[cfg(unix)]
mod service;
#[cfg(unix)]
mod session;
#[cfg(unix)]
mod session_remote;
#[cfg(unix)]
mod sshd;
#[cfg(unix)]
mod tls;
#[cfg(unix)]
mod truths;
#[cfg(unix)]
mod uninstall;
#[cfg(unix)]
mod unlock;
#[cfg(unix)]
mod vault;
#[cfg(unix)]
mod vault_attack;
#[cfg(unix)]
mod vault_auth;
#[cfg(windows)]
mod windows;

fn main() -> std::process::ExitCode {
    #[cfg(unix)]
    if let Some(code) = attack::role() {
        return code;
    }
    let args = libtest_mimic::Arguments::from_args();
    let mut trials = Vec::new();
    trials.extend(login::tests());
    trials.extend(commands::tests());
    trials.extend(verify::tests());
    trials.extend(files::tests());
    #[cfg(unix)]
    for more in [
        prompt::tests(),
        sdk::tests(),
        sdk_writes::tests(),
        sdk_environments::tests(),
        hints::tests(),
        cloud::tests(),
        python_hook::tests(),
        keychain::tests(),
        kernel::tests(),
        interrupted::tests(),
        push::tests(),
        service::tests(),
        packages::tests(),
        memory::tests(),
        forward::tests(),
        daemon::tests(),
        git::tests(),
        front::tests(),
        exec::tests(),
        recipes::tests(),
        manual::tests(),
        plaintext::tests(),
        readonly::tests(),
        doctor::tests(),
        docs::tests(),
        tls::tests(),
        audit::tests(),
        load::tests(),
        attack::tests(),
        foreign::tests(),
        foreign_choice::tests(),
        forward_attack::tests(),
        hook_servers::tests(),
        session::tests(),
        session_remote::tests(),
        lifetime::tests(),
        truths::tests(),
        uninstall::tests(),
        unlock::tests(),
        whoami::tests(),
        profiles::tests(),
        encrypted::tests(),
        encrypted_safety::tests(),
        encrypted_rollback::tests(),
        encrypted_input::tests(),
        vault::tests(),
        vault_auth::tests(),
        vault_attack::tests(),
        server_text::tests(),
        profiles_entity::tests(),
    ] {
        trials.extend(more);
    }
    #[cfg(windows)]
    trials.extend(windows::tests());
    libtest_mimic::run(&args, trials).exit_code()
}
