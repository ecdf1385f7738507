//! Unix: permission bits and owners, inode identity, non-blocking opens, processes.

use std::fs::{self, File, Metadata, Permissions};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::unix_users::{describe_gid, describe_uid, group_is_private};

pub const NETRC_NAME: &str = ".netrc";

/// The Python a bare command finds on PATH, and an environment's Python below its root.
pub const PYTHON_ON_PATH: &str = "python3";
pub const VENV_PYTHON: &str = "bin/python";
pub const CONDA_PYTHON: &str = "bin/python";

/// Lets every user read a file that holds no secret (mode 0644).
pub fn make_readable(file: &File) -> io::Result<()> {
    file.set_permissions(Permissions::from_mode(0o644))
}

/// The variables of the user's session a daemon started for it needs on this platform.
pub const SYSTEM_ENV: &[&str] = &["HOME", "USER", "LOGNAME", "TMPDIR"];

/// The home folder `~` means: `$HOME`, as Python's `expanduser` (and so the SDK) reads it.
pub fn home_dir() -> Option<std::path::PathBuf> {
    dirs::home_dir()
}

/// Restricts a new file that will hold secrets to its owner (mode 0600).
pub fn make_private(file: &File) -> io::Result<()> {
    file.set_permissions(Permissions::from_mode(0o600))
}

/// A new file in `dir` with no name (Linux's `O_TMPFILE`, 0600): a writer killed while
/// filling it leaves nothing behind. `None` where the platform or file system has none.
pub fn unnamed_file(dir: &Path) -> Option<File> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{Mode, OFlags};
        let fd = rustix::fs::open(
            dir,
            OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .ok()?;
        Some(File::from(fd))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        None
    }
}

/// Gives a file [`unnamed_file`] made the name `path` (in the same folder).
pub fn name_unnamed(file: &File, path: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    rustix::fs::linkat(
        rustix::fs::CWD,
        proc_path.as_str(),
        rustix::fs::CWD,
        path,
        rustix::fs::AtFlags::SYMLINK_FOLLOW,
    )?;
    Ok(())
}

/// A number that changes when a path comes to name another file (device and inode).
pub fn file_identity(meta: &Metadata) -> u64 {
    meta.ino() ^ meta.dev().rotate_left(32)
}

/// The permission bits, for messages and tests (`None` where there are none).
pub fn mode(meta: &Metadata) -> Option<u32> {
    Some(meta.mode() & 0o7777)
}

/// Opens a file for reading without waiting on it: a FIFO with no writer, or a terminal,
/// does not block the open (the caller refuses anything but a regular file).
pub fn open_for_reading(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

/// Opens (creating it 0600) the lock file `path` without following a symbolic link, and
/// refuses one that is not this user's own regular file.
pub fn open_lock_file(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.uid() != current_uid() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "it is not a file of yours (owner {})",
                describe_uid(meta.uid())
            ),
        ));
    }
    Ok(file)
}

/// This machine's name and the id of its current boot (which changes at every restart),
/// from Linux's `/proc`; empty elsewhere.
pub fn machine() -> (String, String) {
    if !cfg!(target_os = "linux") {
        return (String::new(), String::new());
    }
    let read = |path: &str| {
        fs::read_to_string(path)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    (
        read("/proc/sys/kernel/hostname"),
        read("/proc/sys/kernel/random/boot_id"),
    )
}

/// The folder helper programs start in: only root can put anything there.
pub fn safe_dir() -> std::path::PathBuf {
    std::path::PathBuf::from("/")
}

pub fn current_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// Whether a file that holds keys may be trusted: `None` when this user or root owns it,
/// else whose it is.
pub fn foreign_owner(meta: &Metadata) -> Option<String> {
    let uid = meta.uid();
    (uid != current_uid() && uid != 0).then(|| describe_uid(uid))
}

/// Why another user could replace or add files in the folder `meta` describes: it is
/// theirs, or anyone (or a group with other members) may write to it and it is not
/// sticky. `None` when only this user (or root) can.
pub fn foreign_control(meta: &Metadata) -> Option<String> {
    if let Some(owner) = foreign_owner(meta) {
        return Some(format!("it belongs to {owner}"));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o1000 != 0 {
        return None;
    }
    if mode & 0o002 != 0 {
        return Some(format!("anyone can write to it (mode {mode:04o})"));
    }
    (mode & 0o020 != 0 && !group_is_private(meta.gid())).then(|| {
        format!(
            "members of {} can change what is in it (mode {mode:04o})",
            describe_gid(meta.gid())
        )
    })
}

/// Why users other than this one could change the file `meta` describes (anyone may
/// write to it, or a group with other members may), if they could.
pub fn foreign_write(meta: &Metadata) -> Option<String> {
    let mode = meta.mode() & 0o7777;
    if mode & 0o002 != 0 {
        return Some(format!("anyone can change it (mode {mode:04o})"));
    }
    (mode & 0o020 != 0 && !group_is_private(meta.gid())).then(|| {
        format!(
            "members of {} can change it (mode {mode:04o})",
            describe_gid(meta.gid())
        )
    })
}

/// Why users other than the owner could change the file `meta` describes (its group or
/// everyone may write to it), if they could.
pub fn writable_by_others(meta: &Metadata) -> Option<String> {
    let mode = meta.mode() & 0o7777;
    (mode & 0o022 != 0).then(|| format!("can be changed by its group or others (mode {mode:04o})"))
}

/// Makes a folder of this user's private to it (mode 0700).
pub fn make_dir_private(dir: &Path) -> io::Result<()> {
    fs::set_permissions(dir, Permissions::from_mode(0o700))
}

/// Why a folder of this user's is not private to it (mode bits for group or others),
/// if it is not.
pub fn open_to_others(meta: &Metadata) -> Option<String> {
    let mode = meta.mode() & 0o777;
    (mode & 0o077 != 0).then(|| format!("group or others can access it (mode {mode:04o})"))
}

/// Makes a completed rename in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` and its missing parents, the new ones private to the owner.
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Starts `command` in its own session, detached from our terminal and signals.
pub fn spawn_detached(command: &mut Command) -> io::Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            rustix::process::setsid()
                .map(|_| ())
                .map_err(io::Error::from)
        });
    }
    command.spawn()
}

fn pid_of(pid: u32) -> io::Result<rustix::process::Pid> {
    rustix::process::Pid::from_raw(pid as i32).ok_or_else(|| io::Error::other("pid 0"))
}

/// Whether [`is_alive`] can tell (it cannot on Windows).
pub const SEES_PROCESSES: bool = true;

/// Whether a process with this pid exists and has not exited (a zombie waiting to be
/// reaped by its parent counts as gone).
pub fn is_alive(pid: u32) -> bool {
    if !pid_of(pid).is_ok_and(|p| rustix::process::test_kill_process(p).is_ok()) {
        return false;
    }
    #[cfg(target_os = "linux")]
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        && let Some((_, after_name)) = stat.rsplit_once(')')
    {
        return !after_name.trim_start().starts_with(['Z', 'X']);
    }
    true
}

/// Asks a process to exit (SIGTERM), waits up to 5 s, then kills it.
pub fn terminate(pid: u32) -> io::Result<()> {
    let target = pid_of(pid)?;
    rustix::process::kill_process(target, rustix::process::Signal::TERM)?;
    let started = Instant::now();
    while is_alive(pid) {
        if started.elapsed() > Duration::from_secs(5) {
            rustix::process::kill_process(target, rustix::process::Signal::KILL)?;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// Lets the daemon hold as many connections as its bound allows: the open-files soft
/// limit (often 1,024) raised to the hard limit, at most `wanted`. Returns the limit.
pub fn raise_open_files(wanted: u64) -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let target = limit.maximum.map_or(wanted, |max| max.min(wanted));
    if limit.current.is_some_and(|current| current >= target) {
        return limit.current;
    }
    let raised = Rlimit {
        current: Some(target),
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => Some(target),
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-files limit");
            limit.current
        }
    }
}

/// No core dumps and no ptrace by other processes of the user (Linux: not dumpable).
pub fn harden_process() {
    let no_core = rustix::process::Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    if let Err(e) = rustix::process::setrlimit(rustix::process::Resource::Core, no_core) {
        tracing::warn!(error = %e, "cannot disable core dumps");
    }
    #[cfg(target_os = "linux")]
    if let Err(e) =
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
    {
        tracing::warn!(error = %e, "cannot make the process non-dumpable");
    }
}

/// Resolves on SIGTERM or SIGINT, with the signal's name.
pub async fn termination() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot listen for signals");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

/// Replaces this process with `command` (exec), so signals and the exit status are the
/// program's own. Returns only when the program could not be started.
pub fn run_in_place(command: &mut Command) -> io::Error {
    use std::os::unix::process::CommandExt;
    command.exec()
}

/// Whether `path` lives on a network or user-space file system, where a `stat` can hang
/// as long as a server does. Linux: by the file system's magic number (NFS, SMB/CIFS,
/// FUSE, Ceph, Lustre, GPFS, AFS, 9P, ...); where that cannot be told: yes.
pub fn on_network_fs(path: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        const NETWORK: &[u64] = &[
            0x6969,      // NFS
            0x517B,      // SMB
            0xFE53_4D42, // SMB2
            0xFF53_4D42, // CIFS
            0x6573_5546, // FUSE (sshfs, s3fs, ...)
            0x00C3_6400, // Ceph
            0x0BD0_0BD0, // Lustre
            0x4750_4653, // GPFS
            0x5346_414F, // AFS
            0x0102_1997, // 9P
            0x7461_636F, // OCFS2
            0x0133_7D20, // GFS2
        ];
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(path);
        match rustix::fs::statfs(dir) {
            #[allow(clippy::unnecessary_cast)] // the field's type differs by architecture
            Ok(fs) => NETWORK.contains(&(fs.f_type as u64 & 0xFFFF_FFFF)),
            Err(_) => true,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        true
    }
}

/// The full program, beside this one: the `wandb-cred` front hands it every command it
/// does not answer itself.
const FULL_PROGRAM: &str = "wandb-cred-full";

/// The full program beside this one. Reached through a link (`uv tool` and `pipx` link
/// `~/.local/bin/wandb-cred` into their venv), it is beside the link's target: Linux
/// gives that target as the current executable already, macOS gives the link.
fn full_program() -> io::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    let beside = exe.with_file_name(FULL_PROGRAM);
    if beside.exists() {
        return Ok(beside);
    }
    Ok(std::fs::canonicalize(&exe)
        .map(|real| real.with_file_name(FULL_PROGRAM))
        .unwrap_or(beside))
}

/// Replaces this process with the full program, given the same arguments (`args[0]`
/// too, so it names itself as the user called it) and, when `stdin` is given, those
/// bytes as its standard input (what the front already read). Returns only on failure.
pub fn hand_over(args: &[std::ffi::OsString], stdin: Option<&[u8]>) -> u8 {
    use std::os::unix::process::CommandExt;
    let error = (|| {
        let full = full_program()?;
        if let Some(bytes) = stdin {
            replace_stdin(bytes)?;
        }
        let mut command = Command::new(&full);
        if let Some(name) = args.first() {
            command.arg0(name);
        }
        let error = command.args(args.iter().skip(1)).exec();
        Err(io::Error::new(
            error.kind(),
            format!("cannot run {}: {error}", full.display()),
        ))
    })()
    .unwrap_or_else(|e: io::Error| e);
    eprintln!("wandb-cred: error: {error}");
    1
}

/// What std's start-up does and the front's C `main` skips: a standard input, output or
/// error that is closed is opened on /dev/null, so that no socket or file this process
/// opens takes its number (a key printed to "stdout" could otherwise go into it).
pub fn open_closed_standard_fds() {
    use rustix::stdio;
    use std::os::fd::IntoRawFd;
    for fd in [stdio::stdin(), stdio::stdout(), stdio::stderr()] {
        if rustix::io::fcntl_getfd(fd) == Err(rustix::io::Errno::BADF) {
            // The lowest free number is this one: the ones below are open by now.
            match fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
            {
                Ok(null) => _ = null.into_raw_fd(),
                Err(_) => std::process::abort(),
            }
        }
    }
}

/// What the front read of standard input can be given to the full program
/// ([`hand_over`]), so the front may read it.
pub const HANDS_OVER_STDIN: bool = true;

/// Standard input as an unbuffered file of its own (a duplicate descriptor), so that
/// nothing read through it is held back in std's buffer.
pub fn raw_stdin() -> Option<File> {
    use std::os::fd::AsFd;
    let fd = io::stdin().as_fd().try_clone_to_owned().ok()?;
    Some(File::from(fd))
}

/// Makes `bytes` this process's standard input. Linux keeps them in memory (memfd);
/// elsewhere in an unlinked private temporary file.
fn replace_stdin(bytes: &[u8]) -> io::Result<()> {
    use std::io::{Seek, Write};
    #[cfg(target_os = "linux")]
    let mut file = File::from(rustix::fs::memfd_create(
        "wandb-cred-stdin",
        rustix::fs::MemfdFlags::CLOEXEC,
    )?);
    #[cfg(not(target_os = "linux"))]
    let mut file = tempfile::tempfile()?;
    file.write_all(bytes)?;
    file.seek(io::SeekFrom::Start(0))?;
    rustix::stdio::dup2_stdin(&file)?;
    Ok(())
}

/// The size of a memory page.
pub fn page_size() -> usize {
    rustix::param::page_size()
}

/// Locks `len` bytes at `ptr` (whole pages) in memory, so they never reach swap.
pub fn lock_pages(ptr: *mut u8, len: usize) -> io::Result<()> {
    // SAFETY: the caller owns the pages for as long as they stay locked.
    unsafe { rustix::mm::mlock(ptr.cast(), len) }.map_err(io::Error::from)
}

/// Undoes [`lock_pages`].
pub fn unlock_pages(ptr: *mut u8, len: usize) -> io::Result<()> {
    // SAFETY: as for `lock_pages`.
    unsafe { rustix::mm::munlock(ptr.cast(), len) }.map_err(io::Error::from)
}

/// The service manager that runs the daemon for a user here.
pub const SERVICE_MANAGER: Option<crate::units::ServiceManager> = if cfg!(target_os = "macos") {
    Some(crate::units::ServiceManager::Launchd)
} else {
    Some(crate::units::ServiceManager::Systemd)
};

/// The launchd domain of this user's GUI session (`gui/<uid>`), for a LaunchAgent.
pub fn launchd_domain() -> Option<String> {
    Some(format!("gui/{}", current_uid()))
}
