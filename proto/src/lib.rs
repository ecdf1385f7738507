//! The wire protocol between `wandb-cred` clients and its daemon: the messages, their
//! encoding (serde + bincode 2, standard configuration) and the framing (a big-endian
//! `u32` length, then that many bytes). See `README.md` beside this crate for the
//! byte-level description. This crate does no I/O policy: no sockets, no timeouts.

mod frame;
mod message;

pub use frame::{FrameError, MAX_FRAME, decode, encode, read_frame, write_frame};
#[cfg(feature = "tokio")]
pub use frame::{read_frame_async, write_frame_async};
pub use message::*;

/// The protocol this crate speaks. Bumped on every incompatible change; both sides
/// send it in `Hello` (or `HelloGet`) and refuse to go on when they differ.
pub const PROTOCOL: u32 = 6;
