//! An in-memory [`Store`] for unit tests of code that only needs the interface.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{Store, StoreError, StoredKey};
use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;

#[derive(Default)]
pub struct MemoryStore {
    keys: Mutex<HashMap<String, ApiKey>>,
}

impl Store for MemoryStore {
    fn describe(&self) -> String {
        "memory".to_owned()
    }

    fn get(&self, url: &BaseUrl) -> Result<Option<StoredKey>, StoreError> {
        let keys = self.keys.lock().expect("not poisoned");
        Ok(keys.get(url.netloc()).map(|key| StoredKey {
            key: key.clone(),
            location: "memory".to_owned(),
        }))
    }

    fn set(&self, url: &BaseUrl, key: &ApiKey) -> Result<String, StoreError> {
        let mut keys = self.keys.lock().expect("not poisoned");
        keys.insert(url.netloc().to_owned(), key.clone());
        Ok("memory".to_owned())
    }

    fn delete(&self, url: &BaseUrl) -> Result<bool, StoreError> {
        Ok(self
            .keys
            .lock()
            .expect("not poisoned")
            .remove(url.netloc())
            .is_some())
    }
}
