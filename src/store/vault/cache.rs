//! What the Vault store read, served from memory for a bounded time and in bounded
//! number: keys found (in locked memory), never "none there" answers, so requests for
//! arbitrary servers (a remote of `wandb-cred ssh` may send any) cost a request to Vault
//! each and no memory here.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::key::ApiKey;
use crate::locked::LockedText;

/// The most keys held, as the service's own cache holds at most 256 answers.
pub const MAX_CACHED: usize = 256;

pub struct Cache {
    fresh: Duration,
    keys: Mutex<HashMap<String, (LockedText, Instant)>>,
}

impl Cache {
    pub fn new(fresh: Duration) -> Self {
        Self {
            fresh,
            keys: Mutex::new(HashMap::new()),
        }
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, HashMap<String, (LockedText, Instant)>> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key read for `account` less than the cache time ago, as text.
    pub fn get(&self, account: &str) -> Option<String> {
        let keys = self.keys();
        let (key, at) = keys.get(account)?;
        (at.elapsed() < self.fresh).then(|| key.as_str().to_owned())
    }

    /// Keeps `key` for `account`; with none, forgets what was kept. Stale entries go
    /// first, then the oldest, so at most [`MAX_CACHED`] are held.
    pub fn remember(&self, account: &str, key: Option<&ApiKey>) {
        let mut keys = self.keys();
        let Some(key) = key else {
            keys.remove(account);
            return;
        };
        if !keys.contains_key(account) && keys.len() >= MAX_CACHED {
            let fresh = self.fresh;
            keys.retain(|_, (_, at)| at.elapsed() < fresh);
            if keys.len() >= MAX_CACHED
                && let Some(oldest) = keys
                    .iter()
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(a, _)| a.clone())
            {
                keys.remove(&oldest);
            }
        }
        keys.insert(
            account.to_owned(),
            (LockedText::new(key.expose()), Instant::now()),
        );
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.keys().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    /// Failed before the fix (a plain map in the store): 24,000 forwarded gets for
    /// distinct URLs grew a laptop daemon from 6.6 to 61 MB.
    #[test]
    fn thousands_of_servers_cost_bounded_memory_and_misses_none() {
        let cache = Cache::new(Duration::from_secs(60));
        let key = ApiKey::parse(Zeroizing::new("a".repeat(40))).unwrap();
        for i in 0..24_000 {
            cache.remember(&format!("https://h{i}.example.com"), Some(&key));
            cache.remember(&format!("https://miss{i}.example.com"), None);
        }
        assert_eq!(cache.len(), MAX_CACHED);
        assert!(cache.get("https://h23999.example.com").is_some());
        assert!(cache.get("https://h0.example.com").is_none());
        cache.remember("https://h23999.example.com", None);
        assert!(cache.get("https://h23999.example.com").is_none());
    }
}
