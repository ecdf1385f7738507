//! `wandb-cred`: a small front. `get` and `git-credential get` are answered here when a
//! daemon is running (`cli::fast`); every other command, and every case the fast path
//! does not take, goes to the full program (`wandb-cred-full` beside this one, exec'd;
//! on Windows run in this process). ARCHITECTURE.md "How `get` is fast" explains why.
//!
//! `main` is the C entry point (`no_main`): std's own start-up (ignoring SIGPIPE, a
//! stack-overflow guard for the main thread, which reads /proc/self/maps) costs a good
//! part of a lookup. std works as usual without it; its one safety measure, opening
//! closed standard descriptors on /dev/null, is done here; what changes is that a write
//! to a closed pipe ends this front by SIGPIPE, as it would `cat` or git. The full
//! program has std's start-up as usual.

#![no_main]

use std::ffi::{OsString, c_char, c_int};

use wandb_cred::cli::fast::{self, Outcome};

// SAFETY: the one C `main` symbol of this program; it takes no pointers from its
// arguments (std reads the arguments itself).
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    wandb_cred::sys::open_closed_standard_fds();
    let args: Vec<OsString> = std::env::args_os().collect();
    let code = match fast::serve(&args) {
        Outcome::Done(code) => code,
        Outcome::Handover { stdin } => {
            wandb_cred::sys::hand_over(&args, stdin.as_deref().map(Vec::as_slice))
        }
    };
    c_int::from(code)
}
