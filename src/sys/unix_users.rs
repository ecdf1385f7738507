//! Users and groups by number (POSIX): names for messages, and whether a group can hold
//! anyone but this user, for the trust rule's "could another user have written it".

use std::ffi::CStr;

/// `uid N (name)` for messages about who owns or serves something; the name is left
/// out when the user database does not know the uid.
pub fn describe_uid(uid: u32) -> String {
    match user(uid) {
        Some((name, _)) => format!("uid {uid} ({name})"),
        None => format!("uid {uid}"),
    }
}

/// `group NAME` (or `group N` when the group database does not know it).
pub fn describe_gid(gid: u32) -> String {
    match group(gid) {
        Some((name, _)) => format!("group {name}"),
        None => format!("group {gid}"),
    }
}

/// Whether nobody but this user can be a member of group `gid`: a user private group
/// (the user's primary group, with the user's name, listing no other member), as
/// Debian and Fedora give each user. A team's group is not; neither is a group the
/// databases cannot name (counted as shared).
pub fn group_is_private(gid: u32) -> bool {
    let uid = rustix::process::getuid().as_raw();
    let Some((name, primary)) = user(uid) else {
        return false;
    };
    if primary != gid {
        return false;
    }
    match group(gid) {
        Some((group_name, members)) => group_name == name && members.iter().all(|m| *m == name),
        None => false,
    }
}

/// The user's name and primary group.
fn user(uid: u32) -> Option<(String, u32)> {
    with_buffer(|buffer| {
        // SAFETY: a zeroed passwd is a valid value for getpwuid_r to fill.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the sizes given; `result` is set to
        // `&entry` or to null, and `entry`'s strings point into `buffer`.
        let rc = unsafe {
            libc::getpwuid_r(
                uid,
                &mut entry,
                buffer.as_mut_ptr(),
                buffer.len(),
                &mut result,
            )
        };
        if rc != 0 || result.is_null() || entry.pw_name.is_null() {
            return Err(rc);
        }
        // SAFETY: getpwuid_r succeeded: `pw_name` is a NUL-terminated string in `buffer`.
        let name = unsafe { CStr::from_ptr(entry.pw_name) };
        Ok((name.to_string_lossy().into_owned(), entry.pw_gid))
    })
}

/// The group's name and its listed members.
fn group(gid: u32) -> Option<(String, Vec<String>)> {
    with_buffer(|buffer| {
        // SAFETY: a zeroed group is a valid value for getgrgid_r to fill.
        let mut entry: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: as for getpwuid_r above.
        let rc = unsafe {
            libc::getgrgid_r(
                gid,
                &mut entry,
                buffer.as_mut_ptr(),
                buffer.len(),
                &mut result,
            )
        };
        if rc != 0 || result.is_null() || entry.gr_name.is_null() {
            return Err(rc);
        }
        // SAFETY: getgrgid_r succeeded: `gr_name` is a NUL-terminated string in
        // `buffer`, and `gr_mem` a null-terminated array of such strings (or null).
        let name = unsafe { CStr::from_ptr(entry.gr_name) };
        let mut members = Vec::new();
        let mut at = entry.gr_mem;
        while !at.is_null() && unsafe { !(*at).is_null() } {
            members.push(
                unsafe { CStr::from_ptr(*at) }
                    .to_string_lossy()
                    .into_owned(),
            );
            at = unsafe { at.add(1) };
        }
        Ok((name.to_string_lossy().into_owned(), members))
    })
}

/// Runs a `get*_r` lookup with a buffer that grows (to 1 MiB) while it is too small.
fn with_buffer<T>(mut lookup: impl FnMut(&mut [libc::c_char]) -> Result<T, i32>) -> Option<T> {
    let mut size = 4096;
    loop {
        let mut buffer = vec![0 as libc::c_char; size];
        match lookup(&mut buffer) {
            Ok(found) => return Some(found),
            Err(libc::ERANGE) if size < 1 << 20 => size *= 4,
            Err(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_its_group_are_named() {
        assert_eq!(describe_uid(0), "uid 0 (root)");
        assert_eq!(describe_gid(0), "group root");
    }
}
