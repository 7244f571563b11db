//! The in-memory store: bounded by bytes, least recently used entries evicted first.

use super::{GetError, Key, Limits, Store, StoreError, StoreStats};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// How many expired or evicted keys are remembered, so that reading one says what happened to
/// it rather than "unknown".
const GONE_MAX: usize = 1 << 16;

/// A store in process memory: for tests, benchmarks, one-shot use and a single proxy process.
/// Everything is lost when the process ends.
#[derive(Debug)]
pub struct MemoryStore {
    limits: Limits,
    inner: Mutex<Inner>,
}

type Slot = (String, Key);

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<Slot, Entry>,
    /// Entries by last use: the first is the next to evict.
    by_use: BTreeMap<u64, Slot>,
    /// Increases with every access; orders `by_use`.
    clock: u64,
    bytes: u64,
    /// Keys that are gone, and whether they were evicted (else expired); oldest first.
    gone: HashMap<Slot, bool>,
    gone_order: VecDeque<Slot>,
    stats: StoreStats,
}

#[derive(Debug)]
struct Entry {
    content: Vec<u8>,
    tick: u64,
    used: Instant,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new(Limits {
            capacity: Limits::DEFAULT_MEMORY_CAPACITY,
            ..Limits::default()
        })
    }
}

impl MemoryStore {
    /// An empty store with these limits.
    pub fn new(limits: Limits) -> MemoryStore {
        MemoryStore {
            limits,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError("memory store poisoned by a panic".into()))
    }
}

impl Inner {
    fn touch(&mut self, slot: &Slot) {
        self.clock += 1;
        let tick = self.clock;
        if let Some(e) = self.entries.get_mut(slot) {
            self.by_use.remove(&e.tick);
            e.tick = tick;
            e.used = Instant::now();
            self.by_use.insert(tick, slot.clone());
        }
    }

    fn remove(&mut self, slot: &Slot, evicted: bool) {
        if let Some(e) = self.entries.remove(slot) {
            self.by_use.remove(&e.tick);
            self.bytes -= e.content.len() as u64;
            if self.gone.insert(slot.clone(), evicted).is_none() {
                self.gone_order.push_back(slot.clone());
            }
            while self.gone_order.len() > GONE_MAX {
                if let Some(old) = self.gone_order.pop_front() {
                    self.gone.remove(&old);
                }
            }
        }
    }

    fn is_expired(&self, e: &Entry, limits: &Limits) -> bool {
        e.used.elapsed() > limits.ttl
    }
}

impl Store for MemoryStore {
    fn put(&self, namespace: &str, content: &[u8]) -> Result<Key, StoreError> {
        self.limits.check_fits(&[content])?;
        let size = content.len() as u64;
        let key = Key::of(content);
        let slot = (namespace.to_string(), key.clone());
        let mut inner = self.lock()?;
        if !inner.entries.contains_key(&slot) {
            inner.gone.remove(&slot);
            inner.entries.insert(
                slot.clone(),
                Entry {
                    content: content.to_vec(),
                    tick: 0,
                    used: Instant::now(),
                },
            );
            inner.bytes += size;
        }
        inner.touch(&slot);
        while inner.bytes > self.limits.capacity {
            let Some(oldest) = inner.by_use.values().next().cloned() else {
                break;
            };
            inner.remove(&oldest, true);
            inner.stats.evicted += 1;
        }
        Ok(key)
    }

    fn put_many(&self, namespace: &str, contents: &[&[u8]]) -> Result<Vec<Key>, StoreError> {
        self.limits.check_fits(contents)?;
        contents.iter().map(|c| self.put(namespace, c)).collect()
    }

    fn get(&self, namespace: &str, key: &Key) -> Result<Vec<u8>, GetError> {
        let slot = (namespace.to_string(), key.clone());
        let mut inner = self.lock()?;
        let expired = match inner.entries.get(&slot) {
            Some(e) => inner.is_expired(e, &self.limits),
            None => false,
        };
        if expired {
            inner.remove(&slot, false);
        }
        if inner.entries.contains_key(&slot) {
            inner.touch(&slot);
            inner.stats.hits += 1;
            return Ok(inner.entries[&slot].content.clone());
        }
        match inner.gone.get(&slot).copied() {
            Some(evicted) => {
                inner.stats.expired += 1;
                Err(if evicted {
                    GetError::Evicted(key.clone())
                } else {
                    GetError::Expired(key.clone())
                })
            }
            None => {
                inner.stats.misses += 1;
                Err(GetError::Unknown(key.clone()))
            }
        }
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let inner = self.lock()?;
        Ok(StoreStats {
            backend: "memory",
            entries: inner.entries.len() as u64,
            bytes: inner.bytes,
            ttl_secs: self.limits.ttl.as_secs(),
            capacity_bytes: self.limits.capacity,
            ..inner.stats.clone()
        })
    }

    fn gc(&self) -> Result<u64, StoreError> {
        let mut inner = self.lock()?;
        let expired: Vec<Slot> = inner
            .entries
            .iter()
            .filter(|(_, e)| inner.is_expired(e, &self.limits))
            .map(|(s, _)| s.clone())
            .collect();
        for slot in &expired {
            inner.remove(slot, false);
        }
        Ok(expired.len() as u64)
    }

    fn clear(&self, namespace: Option<&str>) -> Result<u64, StoreError> {
        let mut inner = self.lock()?;
        let doomed: Vec<Slot> = inner
            .entries
            .keys()
            .filter(|(ns, _)| namespace.is_none_or(|n| n == ns))
            .cloned()
            .collect();
        for slot in &doomed {
            if let Some(e) = inner.entries.remove(slot) {
                inner.by_use.remove(&e.tick);
                inner.bytes -= e.content.len() as u64;
            }
        }
        inner
            .gone
            .retain(|(ns, _), _| namespace.is_some_and(|n| n != ns));
        let gone = &inner.gone;
        let kept: VecDeque<Slot> = inner
            .gone_order
            .iter()
            .filter(|s| gone.contains_key(*s))
            .cloned()
            .collect();
        inner.gone_order = kept;
        Ok(doomed.len() as u64)
    }
}
