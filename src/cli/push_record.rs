//! Where `push` copied keys: destination, how ssh reached it, server, the key's masked
//! fingerprint and when (`pushed.json` in the state folder; no key material). After a
//! key is replaced, the machines that still hold the old one can be named, and
//! `push --again` sends them the new one.

use serde::{Deserialize, Serialize};

use crate::config::state_file;
use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;

const FILE: &str = "pushed.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    #[serde(default)]
    copies: Vec<Copy>,
}

/// One key copied to one machine, for one server (the latest push there).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Copy {
    pub destination: String,
    /// ssh's options for it, as given to `push` (`-p 2222`, `-i FILE`, ...).
    pub ssh_options: Vec<String>,
    pub remote_command: Option<String>,
    /// The server as written, with `#PROFILE` for a profile's key ([`BaseUrl::wire`]).
    pub server: String,
    /// The key's masked form (`wandb_v1_****k3Qz`).
    pub key: String,
    /// Seconds since 1970, UTC.
    pub time: u64,
}

impl Copy {
    /// `gpu1 (wandb_v1_****k3Qz, 2026-12-02 15:04 UTC)`.
    pub fn describe(&self) -> String {
        format!("{} ({}, {})", self.destination, self.key, date(self.time))
    }
}

/// Notes a successful push (replacing an earlier one to the same place and server).
pub fn remember(copy: Copy) {
    state_file::change(FILE, |record: &mut Record| {
        let before = record.copies.clone();
        record
            .copies
            .retain(|c| !(c.destination == copy.destination && c.server == copy.server));
        record.copies.push(copy.clone());
        record.copies != before
    });
}

/// Every recorded copy, oldest first.
pub fn all() -> Vec<Copy> {
    state_file::read::<Record>(FILE).copies
}

/// The copies of `url`'s key.
pub fn for_server(url: &BaseUrl) -> Vec<Copy> {
    all()
        .into_iter()
        .filter(|c| BaseUrl::from_account(&c.server).is_ok_and(|s| s == *url))
        .collect()
}

/// The machines that hold another key for `url` than `current`.
pub fn stale(url: &BaseUrl, current: &ApiKey) -> Vec<Copy> {
    let masked = current.masked();
    for_server(url)
        .into_iter()
        .filter(|c| c.key != masked)
        .collect()
}

pub use crate::config::state_file::now;

/// `2026-12-02 15:04 UTC` (the civil calendar, from days since 1970).
pub fn date(time: u64) -> String {
    let days = (time / 86_400) as i64;
    let (hour, minute) = ((time % 86_400) / 3600, (time % 3600) / 60);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        assert_eq!(date(0), "1970-01-01 00:00 UTC");
        assert_eq!(date(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(date(1_796_224_800), "2026-12-02 15:20 UTC");
    }
}
