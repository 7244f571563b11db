//! Decisions taken on earlier requests, so every later turn sends a tool output the same way.
//!
//! In memory: a bounded map from an output's identity (namespace, tool, query, budget,
//! tokenizer, bytes) to what was sent. Eviction is oldest-first; an evicted compressed output
//! is simply compressed again (deterministically, to the same bytes). Outputs sent whole for a
//! reason that depends on the request (see `decide`) are also recorded in the store, which
//! outlives the process.

use super::view::ToolOutput;
use crate::ccr::{Key, Store};
use crate::detect::Kind;
use crate::tokens::Tokenizer;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// What was sent for one output.
#[derive(Debug)]
pub(crate) enum Decision {
    /// The client's bytes.
    Whole { reason: String, tokens: usize },
    /// A compressed version: the JSON string spliced into the body.
    Compressed {
        json: String,
        kind: Kind,
        strategy: &'static str,
        tokens_before: usize,
        tokens_after: usize,
        keys: Vec<String>,
    },
}

impl Decision {
    fn bytes(&self) -> usize {
        let body = match self {
            Decision::Whole { reason, .. } => reason.len(),
            Decision::Compressed { json, keys, .. } => json.len() + keys.len() * 16,
        };
        body + 96
    }
}

/// The identity of an output: a BLAKE3 hash of everything its compression depends on.
pub(crate) type Id = [u8; 32];

pub(crate) fn id(
    namespace: &str,
    out: &ToolOutput,
    budget: usize,
    kind: Option<Kind>,
    tokenizer: Tokenizer,
) -> Id {
    let mut h = blake3::Hasher::new();
    for part in [
        namespace,
        out.tool.as_deref().unwrap_or(""),
        &out.query,
        tokenizer.name(),
        kind.map_or("", Kind::name),
    ] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.update(&(budget as u64).to_le_bytes());
    h.update(out.raw.as_bytes());
    *h.finalize().as_bytes()
}

/// Decisions of earlier requests, bounded in bytes.
pub struct Memo {
    inner: Mutex<Inner>,
    capacity: usize,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Id, Arc<Decision>>,
    order: VecDeque<Id>,
    bytes: usize,
}

impl Memo {
    /// A memo holding about `capacity` bytes of decisions.
    pub fn new(capacity: usize) -> Memo {
        Memo {
            inner: Mutex::new(Inner::default()),
            capacity,
        }
    }

    /// How many decisions are held.
    pub fn decisions(&self) -> usize {
        self.lock().map.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the map consistent (every update is one
        // insert or remove), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn get(&self, id: &Id) -> Option<Arc<Decision>> {
        self.lock().map.get(id).cloned()
    }

    /// Records `decision` unless one is already there (two requests raced): the first one
    /// stays, and is returned, so both requests send the same bytes.
    pub(crate) fn put(&self, id: Id, decision: Decision) -> Arc<Decision> {
        let mut inner = self.lock();
        if let Some(d) = inner.map.get(&id) {
            return d.clone();
        }
        let size = decision.bytes();
        let d = Arc::new(decision);
        inner.map.insert(id, d.clone());
        inner.order.push_back(id);
        inner.bytes += size;
        while inner.bytes > self.capacity && inner.order.len() > 1 {
            let Some(old) = inner.order.pop_front() else {
                break;
            };
            if let Some(gone) = inner.map.remove(&old) {
                inner.bytes -= gone.bytes();
            }
        }
        d
    }
}

impl Default for Memo {
    /// 8 MiB: a compressed output is a few KB, so a few thousand outputs, many sessions'
    /// worth; an evicted one is compressed again, to the same bytes.
    fn default() -> Memo {
        Memo::new(8 << 20)
    }
}

/// The store record saying an output was sent whole: its content names the output's identity,
/// so its key can be computed from the identity alone.
fn record(id: &Id, reason: &str) -> Vec<u8> {
    let mut r = b"cinch: tool output sent whole ".to_vec();
    r.extend_from_slice(blake3::Hash::from(*id).to_hex().as_bytes());
    r.push(b'\n');
    r.extend_from_slice(reason.as_bytes());
    r
}

/// The reasons that are recorded (and so can be found again).
const DURABLE_REASONS: &[&str] = &[
    super::CACHE_CONTROL,
    "the request's compression deadline had passed",
];

pub(crate) fn record_sent_whole(store: &dyn Store, namespace: &str, id: &Id, reason: &str) {
    // A store that cannot take the record only loses durability across restarts; the memo
    // still holds the decision.
    let _ = store.put(namespace, &record(id, reason));
}

pub(crate) fn was_sent_whole(store: &dyn Store, namespace: &str, id: &Id) -> Option<String> {
    DURABLE_REASONS.iter().find_map(|reason| {
        let key = Key::of(&record(id, reason));
        store
            .get(namespace, &key)
            .ok()
            .map(|_| (*reason).to_string())
    })
}
