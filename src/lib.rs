//! wandb-cred: W&B API keys kept safe, found the documented way, handed to whoever
//! needs them. The binary in `main.rs` is a thin shell around [`cli::run`].

pub mod child;
pub mod cli;
pub mod client;
pub mod config;
pub mod daemon;
pub mod duration;
pub mod env;
pub mod git_credential;
pub mod ipc;
pub mod key;
pub mod locked;
pub mod ownership;
pub mod printable;
pub mod prompt;
pub mod python_env;
pub mod resolve;
pub mod sdk_environments;
pub mod secret_input;
pub mod service;
pub mod ssh;
pub mod store;
pub mod sys;
pub mod trust;
pub mod units;
pub mod verify;

#[cfg(test)]
mod test_alloc;
#[cfg(test)]
#[global_allocator]
static ALLOCATOR: test_alloc::Scanning = test_alloc::Scanning;
