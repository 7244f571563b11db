//! CCR (compress, cache, retrieve): content keys, the marker grammar and the [`Store`] trait.
//!
//! **Keys.** A key is the first [`KEY_LEN`] lowercase hex digits of the BLAKE3 hash of the stored
//! bytes. One hash and one length for the whole project: the same content always gets the same
//! key, so storing twice is idempotent and a key can be checked against what it returns.
//!
//! **Markers.** `<<ccr:KEY SUMMARY>>`, where SUMMARY says in a few words what was left out. In JSON
//! output a marker sits inside a string value; in text it is a line of its own.

pub mod entry;
mod memory;
pub mod search;

pub use memory::MemoryStore;

use std::fmt;
use std::time::Duration;

/// Number of hex digits in a key (64 bits of BLAKE3).
pub const KEY_LEN: usize = 16;

/// A content-derived retrieval key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(String);

impl Key {
    /// The key of `content`.
    pub fn of(content: &[u8]) -> Key {
        let hex = blake3::hash(content).to_hex();
        Key(hex[..KEY_LEN].to_string())
    }

    /// Parses a key as a user or a model typed it.
    pub fn parse(text: &str) -> Result<Key, BadKey> {
        let ok =
            text.len() == KEY_LEN && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if ok {
            Ok(Key(text.to_string()))
        } else {
            Err(BadKey(text.chars().take(80).collect()))
        }
    }

    /// The key as hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A string that is not a key.
#[derive(Debug, thiserror::Error)]
#[error("not a cinch key: {0:?} (expected {KEY_LEN} lowercase hex digits)")]
pub struct BadKey(String);

/// Renders a marker. `>` in the summary is replaced so the marker stays one token-stream unit.
pub fn marker(key: &Key, summary: &str) -> String {
    let summary = summary.replace(">>", "> >").replace('\n', " ");
    format!("<<ccr:{key} {summary}>>")
}

/// Every key named by a marker in `text`, in order of appearance, without repeats.
pub fn marker_keys(text: &str) -> Vec<Key> {
    let mut keys: Vec<Key> = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find("<<ccr:") {
        rest = &rest[pos + 6..];
        let end = rest
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(rest.len());
        if let Ok(key) = Key::parse(&rest[..end]) {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

/// Why a `get` returned nothing. The messages are written for an agent to act on.
#[derive(Debug, thiserror::Error)]
pub enum GetError {
    /// The key was never stored in this namespace (or belongs to another one).
    #[error("unknown key {0}: nothing was stored under it here; check the key against the marker")]
    Unknown(Key),
    /// The key was stored but went unread for longer than the store keeps entries.
    #[error("expired key {0}: the original is no longer stored; re-run the tool to get it again")]
    Expired(Key),
    /// The key was stored but was evicted to make room for newer entries.
    #[error("evicted key {0}: the store ran out of room and dropped the original; re-run the tool to get it again")]
    Evicted(Key),
    /// The stored bytes no longer hash to the key: the store damaged them.
    #[error("corrupt entry {0}: the stored bytes do not match their key, so they are not the original; re-run the tool to get it again")]
    Corrupt(Key),
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] StoreError),
}

/// A backend failure.
#[derive(Debug, thiserror::Error)]
#[error("store error: {0}")]
pub struct StoreError(pub String);

/// How long entries live and how much a store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// An entry expires when it has not been read (or stored again) for this long: every
    /// access restarts the clock.
    pub ttl: Duration,
    /// Total bytes of content kept; past it the least recently used entries are evicted.
    pub capacity: u64,
}

impl Limits {
    /// Seven days: agents' sessions last hours or days, and a key in a transcript should still
    /// answer when the session is picked up again.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
    /// The default capacity of a persistent store: 1 GiB.
    pub const DEFAULT_CAPACITY: u64 = 1 << 30;
    /// The default capacity of an in-memory store: 256 MiB.
    pub const DEFAULT_MEMORY_CAPACITY: u64 = 256 << 20;
}

impl Limits {
    /// Refuses contents that could not all be held at once: storing them would evict some of
    /// them, and their keys would name nothing.
    pub fn check_fits(&self, contents: &[&[u8]]) -> Result<(), StoreError> {
        let total: u64 = contents.iter().map(|c| c.len() as u64).sum();
        if total > self.capacity {
            return Err(StoreError(format!(
                "{total} bytes of content do not fit in the store's capacity of {} bytes",
                self.capacity
            )));
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ttl: Self::DEFAULT_TTL,
            capacity: Self::DEFAULT_CAPACITY,
        }
    }
}

/// What a store holds and how it has been used (`cinch store stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreStats {
    /// The backend's name.
    pub backend: &'static str,
    /// Entries held, all namespaces.
    pub entries: u64,
    /// Bytes of content held.
    pub bytes: u64,
    /// Reads that found their entry.
    pub hits: u64,
    /// Reads of keys never stored (in that namespace).
    pub misses: u64,
    /// Reads of keys whose entry had expired or been evicted.
    pub expired: u64,
    /// Entries evicted to stay within the capacity.
    pub evicted: u64,
    /// The expiry, in seconds since the last access.
    pub ttl_secs: u64,
    /// The capacity in bytes.
    pub capacity_bytes: u64,
}

/// Where dropped content is kept. `put` is idempotent (content-addressed) and, like `get`,
/// restarts the entry's expiry; `get` tells unknown from expired and evicted. Entries are
/// scoped to a namespace: from another namespace a key answers exactly as an unknown one.
pub trait Store: Send + Sync {
    /// Stores `content` and returns its key. Content larger than the store's capacity is an
    /// error (the caller then keeps the input whole).
    fn put(&self, namespace: &str, content: &[u8]) -> Result<Key, StoreError>;
    /// The content stored under `key`.
    fn get(&self, namespace: &str, key: &Key) -> Result<Vec<u8>, GetError>;
    /// Stores several contents at once (one transaction where the backend has them); returns
    /// their keys in order.
    fn put_many(&self, namespace: &str, contents: &[&[u8]]) -> Result<Vec<Key>, StoreError> {
        contents.iter().map(|c| self.put(namespace, c)).collect()
    }
    /// Counts of what is held and how it was used.
    fn stats(&self) -> Result<StoreStats, StoreError>;
    /// Removes expired entries now (they are otherwise removed when next read); returns how many.
    fn gc(&self) -> Result<u64, StoreError>;
    /// Removes every entry of `namespace`, or of all namespaces; returns how many.
    fn clear(&self, namespace: Option<&str>) -> Result<u64, StoreError>;
}

/// The namespace used when none is given.
pub const DEFAULT_NAMESPACE: &str = "default";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_short() {
        let k = Key::of(b"hello");
        assert_eq!(k.as_str().len(), KEY_LEN);
        assert_eq!(k, Key::of(b"hello"));
        assert_ne!(k, Key::of(b"hello!"));
        assert_eq!(Key::parse(k.as_str()).unwrap(), k);
    }

    #[test]
    fn bad_keys_are_rejected() {
        for bad in [
            "",
            "xyz",
            "ABCDEF0123456789",
            "0123456789abcdef0",
            "../../etc/passwd",
        ] {
            assert!(Key::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn markers_round_trip_their_keys() {
        let k = Key::of(b"rows");
        let m = marker(&k, "87 of 100 rows >> omitted\nhere");
        assert!(m.starts_with("<<ccr:") && m.ends_with(">>"));
        assert_eq!(m.matches(">>").count(), 1);
        assert_eq!(marker_keys(&format!("a {m} b {m}")), vec![k]);
    }
}
