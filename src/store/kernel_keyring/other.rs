//! Not Linux: there is no kernel keyring; every call says so.

use std::ffi::{CStr, CString};
use std::io;

use zeroize::Zeroizing;

pub const AVAILABLE: bool = false;
pub const USER_KEYRING: i32 = 0;
pub const THREAD_KEYRING: i32 = 0;
pub const PRIVATE_PERMISSIONS: u32 = 0;
pub const EDQUOT: i32 = -1;
pub const ENOSYS: i32 = -1;

fn absent<T>() -> io::Result<T> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

pub fn usable() -> io::Result<()> {
    absent()
}

pub fn add_key(_description: &CStr, _payload: &[u8], _ring: i32) -> io::Result<i32> {
    absent()
}

pub fn set_permissions(_id: i32, _permissions: u32) -> io::Result<()> {
    absent()
}

pub fn search(_ring: i32, _description: &CStr) -> io::Result<Option<i32>> {
    absent()
}

pub fn read(_id: i32) -> io::Result<Zeroizing<Vec<u8>>> {
    absent()
}

pub fn invalidate(_id: i32) -> io::Result<()> {
    absent()
}

pub fn link(_id: i32, _ring: i32) -> io::Result<()> {
    absent()
}

pub fn unlink(_id: i32, _ring: i32) -> io::Result<()> {
    absent()
}

pub fn links(_ring: i32) -> io::Result<Vec<i32>> {
    absent()
}

pub fn describe(_id: i32) -> io::Result<String> {
    absent()
}

pub fn own_session() -> io::Result<()> {
    absent()
}

pub fn quota_limits() -> String {
    String::new()
}

pub fn c_description(text: &str) -> io::Result<CString> {
    CString::new(text).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}
