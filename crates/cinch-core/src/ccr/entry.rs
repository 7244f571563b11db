//! What a key names: the original a marker stands for, and which of its items the output kept.
//!
//! A compressor that drops part of a text stores the **whole** original, so that retrieving the
//! key gives back exactly the input (byte for byte), and records which items (lines of a text,
//! rows of a JSON array) stayed visible, so that `retrieve --dropped` can give only the rest.
//! The stored bytes are a one-line header and the original:
//!
//! ```text
//! \0cinch-entry v1 {"kind":"log","kept":[[0,3],[17,18]]}\n<original bytes>
//! ```
//!
//! `kept` holds half-open ranges of item indices; `path` (JSON only) names the array whose rows
//! are the items, as object keys and array indices from the document's root. Content stored
//! without a header (a function body, a long string, entries of older versions) is an original
//! of which nothing was kept. The key is the hash of the stored bytes, header included, so a
//! fetched entry can be checked against its key ([`fetch`]).

use super::{GetError, Key, Store};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// The first bytes of a stored entry with a header.
const MAGIC: &[u8] = b"\0cinch-entry v1 ";

/// One step of a path into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Step {
    /// An object's key.
    Key(String),
    /// An array's index.
    Index(usize),
}

/// What the header says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// The kind of content (`log`, `table`, `json`, ...), as the compressor saw it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Items that stayed visible, as half-open ranges of item indices, in order.
    #[serde(default)]
    pub kept: Vec<(usize, usize)>,
    /// For JSON: the array whose rows are the items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<Step>>,
}

/// A stored entry, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The header (empty for content stored without one).
    pub header: Header,
    /// The original, exactly as it was given.
    pub original: &'a [u8],
}

/// The bytes to store for `original` under `header`: the original alone when the header says
/// nothing (and the original cannot be mistaken for an entry with one).
pub fn stored(header: &Header, original: &[u8]) -> Vec<u8> {
    if header == &Header::default() && !original.starts_with(MAGIC) {
        return original.to_vec();
    }
    encode(header, original)
}

/// The stored bytes for `original` with `header`.
pub fn encode(header: &Header, original: &[u8]) -> Vec<u8> {
    let json = serde_json::to_vec(header).expect("a header serialises");
    let mut out = Vec::with_capacity(MAGIC.len() + json.len() + 1 + original.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&json);
    out.push(b'\n');
    out.extend_from_slice(original);
    out
}

/// A header that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("the stored entry's header is damaged: {0}")]
pub struct BadHeader(String);

/// Reads stored bytes: the header, if any, and the original.
pub fn decode(stored: &[u8]) -> Result<Entry<'_>, BadHeader> {
    let Some(rest) = stored.strip_prefix(MAGIC) else {
        return Ok(Entry {
            header: Header::default(),
            original: stored,
        });
    };
    let end = memchr::memchr(b'\n', rest).ok_or_else(|| BadHeader("no end of line".into()))?;
    let header: Header =
        serde_json::from_slice(&rest[..end]).map_err(|e| BadHeader(e.to_string()))?;
    if header.kept.windows(2).any(|w| w[0].1 > w[1].0) || header.kept.iter().any(|r| r.0 > r.1) {
        return Err(BadHeader("kept ranges out of order".into()));
    }
    Ok(Entry {
        header,
        original: &rest[end + 1..],
    })
}

/// Half-open ranges of the indices where `keep` is true.
pub fn ranges(keep: &[bool]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (i, &k) in keep.iter().enumerate() {
        if !k {
            continue;
        }
        match out.last_mut() {
            Some(r) if r.1 == i => r.1 = i + 1,
            _ => out.push((i, i + 1)),
        }
    }
    out
}

/// The indices below `n` that `kept` leaves out.
pub fn dropped(kept: &[(usize, usize)], n: usize) -> impl Iterator<Item = usize> + '_ {
    let mut next = 0;
    (0..n).filter(move |&i| {
        while next < kept.len() && kept[next].1 <= i {
            next += 1;
        }
        !kept.get(next).is_some_and(|r| r.0 <= i && i < r.1)
    })
}

/// Whether index `i` is inside one of `kept`.
pub fn is_kept(kept: &[(usize, usize)], i: usize) -> bool {
    let at = kept.partition_point(|r| r.1 <= i);
    kept.get(at).is_some_and(|r| r.0 <= i)
}

/// The ranges of `kept` as [`Range`]s.
pub fn as_ranges(kept: &[(usize, usize)]) -> impl Iterator<Item = Range<usize>> + '_ {
    kept.iter().map(|&(a, b)| a..b)
}

/// The content stored under `key`, checked against the key: a stored entry whose bytes no
/// longer hash to its key (a damaged file, a bit flipped on disk) is an error, never an
/// answer.
pub fn fetch(store: &dyn Store, namespace: &str, key: &Key) -> Result<Vec<u8>, GetError> {
    let bytes = store.get(namespace, key)?;
    if Key::of(&bytes) != *key {
        return Err(GetError::Corrupt(key.clone()));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ccr::MemoryStore;
    use proptest::prelude::*;

    #[test]
    fn content_without_a_header_is_an_original_of_which_nothing_was_kept() {
        let e = decode(b"plain text\n").unwrap();
        assert_eq!(e.header, Header::default());
        assert_eq!(e.original, b"plain text\n");
    }

    #[test]
    fn a_damaged_header_is_an_error() {
        let mut bytes = encode(
            &Header {
                kind: "log".into(),
                kept: vec![(0, 2)],
                path: None,
            },
            b"a\nb\nc\n",
        );
        bytes[MAGIC.len() + 3] = b'#';
        assert!(decode(&bytes).is_err());
        assert!(decode(b"\0cinch-entry v1 {\"kept\":[[3,1]]}\nx").is_err());
        assert!(decode(b"\0cinch-entry v1 {}").is_err());
    }

    #[test]
    fn a_flipped_bit_is_reported_not_returned() {
        // A store that hands back other bytes than it was given under the key.
        struct Flipping(MemoryStore);
        impl Store for Flipping {
            fn put(&self, ns: &str, c: &[u8]) -> Result<Key, crate::StoreError> {
                self.0.put(ns, c)
            }
            fn get(&self, ns: &str, key: &Key) -> Result<Vec<u8>, GetError> {
                let mut b = self.0.get(ns, key)?;
                b[0] ^= 1;
                Ok(b)
            }
            fn stats(&self) -> Result<crate::ccr::StoreStats, crate::StoreError> {
                self.0.stats()
            }
            fn gc(&self) -> Result<u64, crate::StoreError> {
                self.0.gc()
            }
            fn clear(&self, ns: Option<&str>) -> Result<u64, crate::StoreError> {
                self.0.clear(ns)
            }
        }
        let store = Flipping(MemoryStore::default());
        let key = store.put("t", b"the original").unwrap();
        assert!(matches!(
            fetch(&store, "t", &key),
            Err(GetError::Corrupt(k)) if k == key
        ));
        assert_eq!(fetch(&store.0, "t", &key).unwrap(), b"the original");
    }

    proptest! {
        #[test]
        fn entries_round_trip(
            original in proptest::collection::vec(any::<u8>(), 0..300),
            keep in proptest::collection::vec(any::<bool>(), 0..60),
            kind in "[a-z]{0,8}",
        ) {
            let header = Header { kind, kept: ranges(&keep), path: None };
            let bytes = encode(&header, &original);
            let back = decode(&bytes).unwrap();
            prop_assert_eq!(&back.header, &header);
            prop_assert_eq!(back.original, &original[..]);
            let gone: Vec<usize> = dropped(&header.kept, keep.len()).collect();
            let want: Vec<usize> = (0..keep.len()).filter(|&i| !keep[i]).collect();
            prop_assert_eq!(gone, want);
            for (i, &k) in keep.iter().enumerate() {
                prop_assert_eq!(is_kept(&header.kept, i), k);
            }
        }
    }
}
