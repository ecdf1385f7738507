//! Windows: no permission bits or uids (the profile folder's ACL protects the files).

use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::path::Path;

pub const NETRC_NAME: &str = "_netrc";

/// The Python a bare command finds on PATH, and an environment's Python below its root.
pub const PYTHON_ON_PATH: &str = "python";
pub const VENV_PYTHON: &str = "Scripts\\python.exe";
pub const CONDA_PYTHON: &str = "python.exe";

/// Files inherit their folder's access rules; nothing to widen.
pub fn make_readable(_file: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// The variables of the user's session a daemon started for it needs on this platform.
pub const SYSTEM_ENV: &[&str] = &[
    "SystemRoot",
    "windir",
    "PATH",
    "USERNAME",
    "USERPROFILE",
    "HOMEDRIVE",
    "HOMEPATH",
    "APPDATA",
    "LOCALAPPDATA",
    "TEMP",
    "TMP",
];

/// The home folder `~` means, as Python's `expanduser` (and so the SDK) finds it on
/// Windows: `%USERPROFILE%`, else `%HOMEDRIVE%%HOMEPATH%`, else the profile folder.
pub fn home_dir() -> Option<std::path::PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(profile) = var("USERPROFILE") {
        return Some(profile.into());
    }
    if let (Some(drive), Some(path)) = (var("HOMEDRIVE"), var("HOMEPATH")) {
        let mut home = drive;
        home.push(path);
        return Some(home.into());
    }
    dirs::home_dir()
}

/// This machine's name and boot id: not tracked here (no kernel keyring to explain).
pub fn machine() -> (String, String) {
    (String::new(), String::new())
}

/// The folder helper programs start in: the Windows folder, which only administrators
/// can write to.
pub fn safe_dir() -> std::path::PathBuf {
    std::env::var_os("SystemRoot")
        .filter(|v| !v.is_empty())
        .map_or_else(|| std::path::PathBuf::from("C:\\Windows"), Into::into)
}

/// Windows has no mode bits: a new file inherits the ACL of the user's folder.
pub fn make_private(_file: &File) -> io::Result<()> {
    Ok(())
}

/// No unnamed files here: writers use a named temporary file.
pub fn unnamed_file(_dir: &Path) -> Option<File> {
    None
}

/// Never called: [`unnamed_file`] makes none.
pub fn name_unnamed(_file: &File, _path: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Windows: no cheap file identity through std; length and time must do.
pub fn file_identity(_meta: &Metadata) -> u64 {
    0
}

pub fn mode(_meta: &Metadata) -> Option<u32> {
    None
}

/// Opens a file for reading (Windows has no FIFOs that block an open).
pub fn open_for_reading(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// Opens (creating it) the lock file `path`; the user's profile folder, where it lives,
/// keeps other users out.
pub fn open_lock_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

/// Files carry no uid here: the profile folder's ACL decides who may touch them.
pub fn foreign_owner(_meta: &Metadata) -> Option<String> {
    None
}

/// Folders carry no mode bits here: the ACL of the profile folder decides.
pub fn foreign_control(_meta: &Metadata) -> Option<String> {
    None
}

/// No mode bits: the folder's ACL decides who may change a file.
pub fn writable_by_others(_meta: &Metadata) -> Option<String> {
    None
}

/// No mode bits: the folder's ACL decides who may change a file.
pub fn foreign_write(_meta: &Metadata) -> Option<String> {
    None
}

/// Nothing to do: the ACL of the profile folder decides.
pub fn make_dir_private(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Folders carry no mode bits here: the ACL of the profile folder decides.
pub fn open_to_others(_meta: &Metadata) -> Option<String> {
    None
}

/// Renames are durable once `MoveFileEx` returns; nothing more to do.
pub fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// Starts `command` detached: no console of ours, its own process group, and none of
/// our own standard handles. Windows children inherit every inheritable handle of the
/// parent, so a daemon started from `X=$(wandb-cred get)` would otherwise hold the
/// caller's output pipe open for as long as it runs, and the caller would never finish.
pub fn spawn_detached(command: &mut std::process::Command) -> io::Result<std::process::Child> {
    use std::os::windows::process::CommandExt;
    const DETACHED_PROCESS: u32 = 0x0000_0008;
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    command.creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP);
    let _private = StdHandlesPrivate::new();
    command.spawn()
}

/// Our standard handles made non-inheritable until dropped (then as they were).
struct StdHandlesPrivate(Vec<(windows_sys::Win32::Foundation::HANDLE, u32)>);

impl StdHandlesPrivate {
    fn new() -> Self {
        use windows_sys::Win32::Foundation::{
            GetHandleInformation, HANDLE_FLAG_INHERIT, INVALID_HANDLE_VALUE, SetHandleInformation,
        };
        use windows_sys::Win32::System::Console::{
            GetStdHandle, STD_ERROR_HANDLE, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
        };
        let mut changed = Vec::new();
        for which in [STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE] {
            // SAFETY: plain Win32 calls on this process's own standard handles; a null or
            // invalid handle is skipped, and flags are only read and set.
            unsafe {
                let handle = GetStdHandle(which);
                if handle.is_null() || handle == INVALID_HANDLE_VALUE {
                    continue;
                }
                let mut flags = 0u32;
                if GetHandleInformation(handle, &mut flags) != 0
                    && flags & HANDLE_FLAG_INHERIT != 0
                    && SetHandleInformation(handle, HANDLE_FLAG_INHERIT, 0) != 0
                {
                    changed.push((handle, flags & HANDLE_FLAG_INHERIT));
                }
            }
        }
        Self(changed)
    }
}

impl Drop for StdHandlesPrivate {
    fn drop(&mut self) {
        use windows_sys::Win32::Foundation::{HANDLE_FLAG_INHERIT, SetHandleInformation};
        for (handle, flag) in &self.0 {
            // SAFETY: the same handles as above, given back the flag they had.
            unsafe { SetHandleInformation(*handle, HANDLE_FLAG_INHERIT, *flag) };
        }
    }
}

/// [`is_alive`] cannot tell here.
pub const SEES_PROCESSES: bool = false;

/// Not checked on Windows: the daemon is asked to shut down over its pipe instead.
pub fn is_alive(_pid: u32) -> bool {
    false
}

pub fn terminate(_pid: u32) -> io::Result<()> {
    Err(io::Error::other(
        "stopping a daemon by pid is not supported on Windows",
    ))
}

/// Windows keeps other users' processes out of ours by default; nothing to add.
pub fn harden_process() {}

/// Windows has no per-process open-files limit to raise.
pub fn raise_open_files(wanted: u64) -> Option<u64> {
    Some(wanted)
}

/// Resolves on Ctrl-C (or the console closing).
pub async fn termination() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "Ctrl-C"
}

/// Windows cannot replace a process: runs `command`, waits, and exits with its exit
/// code. Returns only when the program could not be started.
pub fn run_in_place(command: &mut std::process::Command) -> io::Error {
    match command.status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(e) => e,
    }
}

/// The SID (`S-1-5-21-...`) of the user this process runs as.
pub fn current_user_sid() -> io::Result<String> {
    // SAFETY: the pseudo-handle of the current process needs no closing.
    token_user_sid(unsafe { windows_sys::Win32::System::Threading::GetCurrentProcess() })
}

/// The SID of the user the process `pid` runs as (for the pipe's peer checks).
pub fn process_user_sid(pid: u32) -> io::Result<String> {
    use windows_sys::Win32::Foundation::CloseHandle;
    use windows_sys::Win32::System::Threading::{OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION};
    // SAFETY: OpenProcess returns an owned handle or null; it is closed below.
    let process = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if process.is_null() {
        return Err(io::Error::last_os_error());
    }
    let sid = token_user_sid(process);
    // SAFETY: the handle opened above, closed once.
    unsafe { CloseHandle(process) };
    sid
}

fn token_user_sid(process: windows_sys::Win32::Foundation::HANDLE) -> io::Result<String> {
    use windows_sys::Win32::Foundation::{CloseHandle, LocalFree};
    use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
    use windows_sys::Win32::Security::{GetTokenInformation, TOKEN_QUERY, TOKEN_USER, TokenUser};
    use windows_sys::Win32::System::Threading::OpenProcessToken;
    let mut token = std::ptr::null_mut();
    // SAFETY: `process` is a valid process handle; the token is closed below.
    if unsafe { OpenProcessToken(process, TOKEN_QUERY, &mut token) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let sid = (|| {
        let mut len = 0u32;
        // SAFETY: a size query with no buffer; it fails and sets `len`.
        unsafe { GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut len) };
        // u64s keep the buffer aligned for TOKEN_USER's pointer.
        let mut buffer = vec![0u64; (len as usize).div_ceil(8)];
        // SAFETY: the buffer holds `len` bytes, as the query above asked.
        if unsafe {
            GetTokenInformation(token, TokenUser, buffer.as_mut_ptr().cast(), len, &mut len)
        } == 0
        {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: GetTokenInformation(TokenUser) filled the buffer with a TOKEN_USER.
        let user = unsafe { &*buffer.as_ptr().cast::<TOKEN_USER>() };
        let mut text = std::ptr::null_mut();
        // SAFETY: the SID points into `buffer`, alive here; `text` is freed below.
        if unsafe { ConvertSidToStringSidW(user.User.Sid, &mut text) } == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: ConvertSidToStringSidW wrote a NUL-terminated wide string.
        let length = (0..).take_while(|&i| unsafe { *text.add(i) } != 0).count();
        // SAFETY: `length` characters before the NUL, as counted above.
        let sid = String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(text, length) });
        // SAFETY: the string LocalAlloc'd by ConvertSidToStringSidW, freed once.
        unsafe { LocalFree(text.cast()) };
        Ok(sid)
    })();
    // SAFETY: the token opened above, closed once.
    unsafe { CloseHandle(token) };
    sid
}

/// Windows has no exec, and a second process would cost more than the fast path saves:
/// the full program runs here, in this process. `stdin` is never given (see
/// [`HANDS_OVER_STDIN`]).
pub fn hand_over(args: &[std::ffi::OsString], _stdin: Option<&[u8]>) -> u8 {
    crate::cli::main(args.to_vec())
}

/// Not told apart on Windows (a roaming profile can be on a share): yes.
pub fn on_network_fs(_path: &Path) -> bool {
    true
}

/// Nothing to do: Windows gives a process without standard handles null handles, which
/// no file or pipe it opens can take.
pub fn open_closed_standard_fds() {}

/// Standard input cannot be handed over on Windows (no `dup2` onto it that std would
/// see), so the fast path does not read it: `git-credential get` takes the full path.
pub const HANDS_OVER_STDIN: bool = false;

/// Standard input as an unbuffered file of its own (a duplicated handle), so that
/// nothing read through it is held back in std's buffer. `None` without a standard
/// input handle.
pub fn raw_stdin() -> Option<File> {
    use std::os::windows::io::AsHandle;
    let handle = io::stdin().as_handle().try_clone_to_owned().ok()?;
    Some(File::from(handle))
}

/// The size of a memory page.
pub fn page_size() -> usize {
    use windows_sys::Win32::System::SystemInformation::{GetSystemInfo, SYSTEM_INFO};
    // SAFETY: GetSystemInfo fills the struct it is given.
    let mut info: SYSTEM_INFO = unsafe { std::mem::zeroed() };
    unsafe { GetSystemInfo(&mut info) };
    info.dwPageSize as usize
}

/// Locks `len` bytes at `ptr` in memory (`VirtualLock`), so they never reach the page file.
pub fn lock_pages(ptr: *mut u8, len: usize) -> io::Result<()> {
    // SAFETY: the caller owns the pages for as long as they stay locked.
    match unsafe { windows_sys::Win32::System::Memory::VirtualLock(ptr.cast(), len) } {
        0 => Err(io::Error::last_os_error()),
        _ => Ok(()),
    }
}

/// Undoes [`lock_pages`].
pub fn unlock_pages(ptr: *mut u8, len: usize) -> io::Result<()> {
    // SAFETY: as for `lock_pages`.
    match unsafe { windows_sys::Win32::System::Memory::VirtualUnlock(ptr.cast(), len) } {
        0 => Err(io::Error::last_os_error()),
        _ => Ok(()),
    }
}

/// No service manager runs the daemon here: commands start it on demand.
pub const SERVICE_MANAGER: Option<crate::units::ServiceManager> = None;

/// Windows has no launchd.
pub fn launchd_domain() -> Option<String> {
    None
}
