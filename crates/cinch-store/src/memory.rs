use cinch_core::{GetError, Key, Store, StoreError};
use std::collections::HashMap;
use std::sync::Mutex;

/// A store in process memory (for tests and one-shot use).
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<(String, Key), Vec<u8>>>,
}

impl Store for MemoryStore {
    fn put(&self, namespace: &str, content: &[u8]) -> Result<Key, StoreError> {
        let key = Key::of(content);
        let mut map = self
            .entries
            .lock()
            .map_err(|_| StoreError("memory store poisoned".into()))?;
        map.entry((namespace.to_string(), key.clone()))
            .or_insert_with(|| content.to_vec());
        Ok(key)
    }

    fn get(&self, namespace: &str, key: &Key) -> Result<Vec<u8>, GetError> {
        let map = self
            .entries
            .lock()
            .map_err(|_| StoreError("memory store poisoned".into()))?;
        map.get(&(namespace.to_string(), key.clone()))
            .cloned()
            .ok_or_else(|| GetError::Unknown(key.clone()))
    }
}
