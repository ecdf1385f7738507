//! The few operating-system differences outside IPC: file modes, file identity,
//! locking a folder, and the conventional netrc name. Each platform file is small.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
mod unix_users;
#[cfg(unix)]
pub use unix::*;
#[cfg(unix)]
pub use unix_users::{describe_gid, describe_uid};

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;
