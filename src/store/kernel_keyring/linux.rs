//! Linux: the key retention service's system calls (`add_key`, `keyctl`; keyrings(7)),
//! called directly, and the machine's identity (host name, boot id).

use std::ffi::{CStr, CString, c_long};
use std::io;

use zeroize::Zeroizing;

pub const AVAILABLE: bool = true;

/// `KEY_SPEC_USER_KEYRING`: the user keyring of the caller's uid (`@u`).
pub const USER_KEYRING: i32 = -4;
/// `KEY_SPEC_SESSION_KEYRING` (`@s`).
const SESSION_KEYRING: i32 = -3;
/// `KEY_SPEC_THREAD_KEYRING` (`@t`): private to the calling thread, created on demand.
pub const THREAD_KEYRING: i32 = -1;

const KEYCTL_GET_KEYRING_ID: c_long = 0;
const KEYCTL_JOIN_SESSION_KEYRING: c_long = 1;
const KEYCTL_SETPERM: c_long = 5;
const KEYCTL_DESCRIBE: c_long = 6;
const KEYCTL_LINK: c_long = 8;
const KEYCTL_UNLINK: c_long = 9;
const KEYCTL_SEARCH: c_long = 10;
const KEYCTL_READ: c_long = 11;
const KEYCTL_INVALIDATE: c_long = 21;

/// View, read, write, search, link and set attributes, for the possessor and the owner
/// (uid); nothing for the group or anyone else. Read by uid lets a process read its key
/// without possessing it (after the session that stored it was revoked).
pub const PRIVATE_PERMISSIONS: u32 = 0x3f3f_0000;

fn keyctl(op: c_long, a: c_long, b: c_long, c: c_long, d: c_long) -> io::Result<c_long> {
    // SAFETY: keyctl takes integers and, for the operations used here, pointers to
    // buffers that outlive the call with their lengths (checked by each caller).
    let r = unsafe { libc::syscall(libc::SYS_keyctl, op, a, b, c, d) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Whether the kernel lets this process use keys at all (a seccomp profile, as in
/// Docker's default one, refuses `keyctl`); the user keyring is created if needed.
pub fn usable() -> io::Result<()> {
    keyctl(KEYCTL_GET_KEYRING_ID, USER_KEYRING as c_long, 1, 0, 0).map(drop)
}

/// Adds (or replaces) a `user` key in `ring`; its id.
pub fn add_key(description: &CStr, payload: &[u8], ring: i32) -> io::Result<i32> {
    // SAFETY: both strings are NUL-terminated and the payload is `len` bytes, all
    // alive for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_add_key,
            c"user".as_ptr(),
            description.as_ptr(),
            payload.as_ptr(),
            payload.len(),
            ring as c_long,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as i32)
    }
}

pub fn set_permissions(id: i32, permissions: u32) -> io::Result<()> {
    keyctl(KEYCTL_SETPERM, id as c_long, permissions as c_long, 0, 0).map(drop)
}

/// The id of the `user` key with this description in `ring` (searched recursively),
/// `None` when there is none.
pub fn search(ring: i32, description: &CStr) -> io::Result<Option<i32>> {
    match keyctl(
        KEYCTL_SEARCH,
        ring as c_long,
        c"user".as_ptr() as c_long,
        description.as_ptr() as c_long,
        0,
    ) {
        Ok(id) => Ok(Some(id as i32)),
        Err(e) if e.raw_os_error() == Some(libc::ENOKEY) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A key's (or keyring's) payload, in memory wiped when dropped (never reallocated).
pub fn read(id: i32) -> io::Result<Zeroizing<Vec<u8>>> {
    let mut buffer = Zeroizing::new(vec![0u8; 4096]);
    loop {
        let len = keyctl(
            KEYCTL_READ,
            id as c_long,
            buffer.as_mut_ptr() as c_long,
            buffer.len() as c_long,
            0,
        )? as usize;
        if len <= buffer.len() {
            buffer.truncate(len);
            return Ok(buffer);
        }
        // Larger than any key; read again into a buffer that fits.
        buffer = Zeroizing::new(vec![0u8; len]);
    }
}

/// Removes the key at once, from every keyring that links it.
pub fn invalidate(id: i32) -> io::Result<()> {
    keyctl(KEYCTL_INVALIDATE, id as c_long, 0, 0, 0).map(drop)
}

/// Links a key into a keyring, displacing (atomically) one of the same type and
/// description there.
pub fn link(id: i32, ring: i32) -> io::Result<()> {
    keyctl(KEYCTL_LINK, id as c_long, ring as c_long, 0, 0).map(drop)
}

pub fn unlink(id: i32, ring: i32) -> io::Result<()> {
    keyctl(KEYCTL_UNLINK, id as c_long, ring as c_long, 0, 0).map(drop)
}

/// The ids a keyring links (its payload: one native-endian `i32` per link).
pub fn links(ring: i32) -> io::Result<Vec<i32>> {
    Ok(read(ring)?
        .chunks_exact(4)
        .map(|id| i32::from_ne_bytes([id[0], id[1], id[2], id[3]]))
        .collect())
}

/// `type;uid;gid;perm;description` of a key.
pub fn describe(id: i32) -> io::Result<String> {
    let mut text = vec![0u8; 4200];
    let len = keyctl(
        KEYCTL_DESCRIBE,
        id as c_long,
        text.as_mut_ptr() as c_long,
        text.len() as c_long,
        0,
    )? as usize;
    text.truncate(len.min(text.len()));
    let text = CStr::from_bytes_until_nul(&text)
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(text)
}

/// Gives this process a session keyring of its own that links the user keyring, so it
/// possesses its keys whatever happens to the session it was started from (an SSH
/// login's keyring is revoked at logout by `pam_keyinit ... revoke`).
pub fn own_session() -> io::Result<()> {
    keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)?;
    keyctl(
        KEYCTL_LINK,
        USER_KEYRING as c_long,
        SESSION_KEYRING as c_long,
        0,
        0,
    )
    .map(drop)
}

/// The C form of a description (no NUL inside: accounts are validated URLs).
pub fn c_description(text: &str) -> io::Result<CString> {
    CString::new(text).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

pub const EDQUOT: i32 = libc::EDQUOT;
pub const ENOSYS: i32 = libc::ENOSYS;

/// The kernel's key quota for this user, for the message when it is full.
pub fn quota_limits() -> String {
    let root = rustix::process::getuid().is_root();
    let (keys, bytes) = if root {
        ("root_maxkeys", "root_maxbytes")
    } else {
        ("maxkeys", "maxbytes")
    };
    let read = |name: &str| {
        std::fs::read_to_string(format!("/proc/sys/kernel/keys/{name}"))
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "?".to_owned())
    };
    format!(
        "the kernel allows each user {} keys and {} bytes (/proc/sys/kernel/keys/{keys} and {bytes}; what is used: /proc/key-users)",
        read(keys),
        read(bytes)
    )
}
