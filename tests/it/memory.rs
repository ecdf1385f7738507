//! Keys do not outlive `lock` (issue 33, items 8, 9 and 10): as root, the daemon's
//! memory is read through `/proc/PID/maps` and `/proc/PID/mem` and each key's copies
//! counted, locked pages and swappable ones alike, after a dozen keys were logged in so
//! the encrypted store's text was rebuilt many times. The lock timeout takes the keys
//! out on time, with no request to wake the daemon, and `passwd` keeps the timeout and
//! opens no store its timeout had locked.

use std::io::{Read, Seek, SeekFrom};
use std::time::{Duration, Instant};

use libtest_mimic::Trial;

use crate::encrypted::{PASSPHRASE, store_sandbox, unlock};
use crate::harness::{Need, Sandbox};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    trials![[Need::OtherUser];
        lock_leaves_no_copy_of_any_key_in_the_daemon,
        the_lock_timeout_takes_the_keys_out_on_time,
        passwd_keeps_the_lock_timeout_and_opens_no_locked_store,
    ]
}

/// How many times `needle` occurs in the readable memory of process `pid`.
pub fn copies_in_memory(pid: u32, needle: &[u8]) -> usize {
    copies_of_each(pid, &[needle])[0]
}

/// How many times each needle occurs in the readable memory of process `pid`, the
/// memory read once for all of them.
pub fn copies_of_each(pid: u32, needles: &[&[u8]]) -> Vec<usize> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let mut found = vec![0; needles.len()];
    let Ok(mut mem) = std::fs::File::open(format!("/proc/{pid}/mem")) else {
        return found;
    };
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        if !perms.starts_with('r') || line.ends_with("[vvar]") || line.ends_with("[vsyscall]") {
            continue;
        }
        let (start, end) = range.split_once('-').unwrap();
        let (start, end) = (
            u64::from_str_radix(start, 16).unwrap(),
            u64::from_str_radix(end, 16).unwrap(),
        );
        let mut region = vec![0u8; (end - start) as usize];
        if mem.seek(SeekFrom::Start(start)).is_err() || mem.read_exact(&mut region).is_err() {
            continue;
        }
        for (count, needle) in found.iter_mut().zip(needles) {
            *count += occurrences(&region, needle);
        }
    }
    found
}

/// Occurrences of `needle` in `haystack`, found from its first byte.
fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    let mut count = 0;
    let mut at = 0;
    while let Some(offset) = haystack[at..].iter().position(|b| *b == needle[0]) {
        let start = at + offset;
        if haystack[start..].starts_with(needle) {
            count += 1;
        }
        at = start + 1;
    }
    count
}

fn daemon(sb: &Sandbox) -> u32 {
    sb.daemon_pid().expect("a daemon is running")
}

/// A dozen keys, stored one after another in the unlocked store.
fn a_dozen_keys(sb: &Sandbox) -> Vec<String> {
    unlock(sb, PASSPHRASE).ok();
    let keys: Vec<String> = (0..12).map(|_| sb.key()).collect();
    for (i, key) in keys.iter().enumerate() {
        sb.cmd(&["login", "--profile", &format!("p{i}"), key])
            .run()
            .ok();
    }
    sb.cmd(&["get", "--profile", "p3"])
        .key_on_stdout()
        .run()
        .ok();
    keys
}

/// Failed before the fix: the store's text grew by `push_str`, and each reallocation
/// freed an unwiped copy; one in three keys was still in the daemon after `lock`.
fn lock_leaves_no_copy_of_any_key_in_the_daemon() {
    let sb = store_sandbox();
    let keys = a_dozen_keys(&sb);
    let pid = daemon(&sb);
    assert!(
        copies_in_memory(pid, keys[3].as_bytes()) > 0,
        "the scan sees nothing"
    );
    sb.cmd(&["lock"]).run().ok();
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            copies_in_memory(pid, key.as_bytes()),
            0,
            "key {i} outlived lock"
        );
    }
}

/// Polls until no key of `keys` is in the daemon's memory, without a request to it;
/// `Err` with the copies of each key still there in a scan begun after the bound.
fn gone_within(pid: u32, keys: &[String], bound: Duration) -> Result<(), Vec<usize>> {
    let started = Instant::now();
    let needles: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
    loop {
        let late = started.elapsed() > bound;
        let copies = copies_of_each(pid, &needles);
        if copies.iter().all(|c| *c == 0) {
            return Ok(());
        }
        if late {
            return Err(copies);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Failed before the fix: the keys stayed in the daemon until the next request came,
/// long after a 2 s lock timeout.
fn the_lock_timeout_takes_the_keys_out_on_time() {
    let sb = store_sandbox();
    let keys = a_dozen_keys(&sb);
    sb.cmd(&["lock"]).run().ok();
    sb.cmd(&["unlock", "-", "--lock-after", "2s"])
        .stdin(&format!("{PASSPHRASE}\n"))
        .run()
        .ok();
    sb.cmd(&["get", "--profile", "p5"])
        .key_on_stdout()
        .run()
        .ok();
    let pid = daemon(&sb);
    if let Err(copies) = gone_within(pid, &keys, Duration::from_secs(30)) {
        panic!(
            "the keys were still in the daemon well after the lock timeout (copies of each: {copies:?})\n{}",
            sb.cmd(&["status"]).run().report()
        );
    }
}

/// Failed before the fix: `passwd` opened the store again with no timeout, also when
/// its timeout had locked it.
fn passwd_keeps_the_lock_timeout_and_opens_no_locked_store() {
    let sb = store_sandbox();
    let key = sb.key();
    sb.secret("another passphrase".to_owned());
    unlock(&sb, PASSPHRASE).ok();
    sb.cmd(&["login", &key]).run().ok();
    sb.cmd(&["lock"]).run().ok();
    // Unlocked for 10 s (passwd takes seconds of scrypt); passwd at once: the new
    // passphrase, and the same timeout.
    sb.cmd(&["unlock", "-", "--lock-after", "10s"])
        .stdin(&format!("{PASSPHRASE}\n"))
        .run()
        .ok();
    sb.cmd(&["passwd", "-"])
        .stdin(&format!("{PASSPHRASE}\nanother passphrase\n"))
        .run()
        .ok();
    sb.get_gives(&key);
    let pid = daemon(&sb);
    if let Err(copies) = gone_within(pid, std::slice::from_ref(&key), Duration::from_secs(30)) {
        panic!("passwd dropped the lock timeout (copies: {copies:?})");
    }
    // Locked by its timeout: passwd changes the file and leaves the store locked.
    sb.cmd(&["passwd", "-"])
        .stdin("another passphrase\nanother passphrase\n")
        .run()
        .ok()
        .stderr_has("stays locked");
    sb.cmd(&["get"])
        .run()
        .fails(1)
        .stderr_has("the encrypted store is locked");
}
