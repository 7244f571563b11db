//! Store backends for CCR: where cinch keeps everything it leaves out.
//!
//! [`open`] turns a store URL into a backend: `sqlite:PATH` (or a bare path; the embedded
//! default), `memory:`, `redis://HOST:PORT/DB`.
#![deny(missing_docs)]

mod redis;
mod sqlite;
pub mod testing;

pub use cinch_core::ccr::MemoryStore;
pub use redis::RedisStore;
pub use sqlite::SqliteStore;

use cinch_core::ccr::Limits;
use cinch_core::{Store, StoreError};
use std::path::PathBuf;
use std::time::Duration;

/// A store URL that cinch cannot open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL names a backend cinch does not have.
    #[error("unsupported store URL {0:?} (expected sqlite:PATH, a path, memory:, or redis://HOST:PORT/DB)")]
    Unsupported(String),
    /// A setting in the URL's query is unknown or malformed.
    #[error("bad store setting {0:?} (expected ttl=DURATION such as 90m, 12h, 7d, or capacity=SIZE such as 500MB, 2GiB)")]
    BadSetting(String),
    /// The backend failed to open.
    #[error(transparent)]
    Backend(#[from] StoreError),
}

/// Stands in for a store that could not be opened: every write fails with the reason, so
/// compression keeps its lossless results and passes through anything it would have had to drop.
#[derive(Debug)]
pub struct Unavailable(pub String);

impl Store for Unavailable {
    fn put(&self, _: &str, _: &[u8]) -> Result<cinch_core::Key, StoreError> {
        Err(StoreError(self.0.clone()))
    }
    fn get(&self, _: &str, _: &cinch_core::Key) -> Result<Vec<u8>, cinch_core::GetError> {
        Err(StoreError(self.0.clone()).into())
    }
    fn stats(&self) -> Result<cinch_core::ccr::StoreStats, StoreError> {
        Err(StoreError(self.0.clone()))
    }
    fn gc(&self) -> Result<u64, StoreError> {
        Err(StoreError(self.0.clone()))
    }
    fn clear(&self, _: Option<&str>) -> Result<u64, StoreError> {
        Err(StoreError(self.0.clone()))
    }
}

/// The default store location: `cinch/ccr.sqlite` in the user's data directory.
pub fn default_path() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("cinch")
        .join("ccr.sqlite")
}

/// Opens the store named by `url`; `None` means the default SQLite file.
///
/// `sqlite:PATH`, `memory:` and `redis://…` take settings after a `?`: `ttl=` (how long an unread entry
/// lives: `90m`, `12h`, `7d`, or seconds) and `capacity=` (bytes of content kept: `500MB`,
/// `2GiB`, or bytes), e.g. `sqlite:/var/cinch/ccr.sqlite?ttl=2d&capacity=4GB`.
pub fn open(url: Option<&str>) -> Result<Box<dyn Store>, OpenError> {
    let url = url.map(str::trim).filter(|u| !u.is_empty());
    let Some(url) = url else {
        return Ok(Box::new(SqliteStore::open(&default_path())?));
    };
    if let Some(rest) = url.strip_prefix("memory:") {
        let limits = settings(
            rest,
            Limits {
                capacity: Limits::DEFAULT_MEMORY_CAPACITY,
                ..Limits::default()
            },
        )?;
        return Ok(Box::new(MemoryStore::new(limits)));
    }
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() {
            return Err(OpenError::Unsupported(url.to_string()));
        }
        let limits = settings(&format!("?{query}"), Limits::default())?;
        return Ok(Box::new(SqliteStore::open_with(path.as_ref(), limits)?));
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let limits = settings(&format!("?{query}"), Limits::default())?;
        return Ok(Box::new(RedisStore::open(base, limits)?));
    }
    // A typo in a scheme (`sqlit:`, `memory`, `redis:/x`) must not quietly become a new file
    // of that name.
    if url.contains("://") || has_scheme(url) || matches!(url, "memory" | "sqlite" | "redis") {
        return Err(OpenError::Unsupported(url.to_string()));
    }
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let limits = settings(&format!("?{query}"), Limits::default())?;
    Ok(Box::new(SqliteStore::open_with(path.as_ref(), limits)?))
}

/// Whether `url` starts like `scheme:` (two or more letters before the colon, so that a
/// Windows drive such as `C:\\` is still a path).
fn has_scheme(url: &str) -> bool {
    let Some((scheme, _)) = url.split_once(':') else {
        return false;
    };
    scheme.len() >= 2
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Applies the settings of a URL's `?a=b&c=d` tail to `limits`.
fn settings(tail: &str, mut limits: Limits) -> Result<Limits, OpenError> {
    let query = match tail.strip_prefix('?') {
        Some(q) => q,
        None if tail.is_empty() => "",
        None => return Err(OpenError::BadSetting(tail.to_string())),
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let bad = || OpenError::BadSetting(pair.to_string());
        match pair.split_once('=') {
            Some(("ttl", v)) => limits.ttl = parse_duration(v).ok_or_else(bad)?,
            Some(("capacity", v)) => limits.capacity = parse_size(v).ok_or_else(bad)?,
            _ => return Err(bad()),
        }
    }
    Ok(limits)
}

/// `90`, `90s`, `90m`, `12h`, `7d`.
fn parse_duration(text: &str) -> Option<Duration> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: u64 = n.parse().ok()?;
    let secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    Some(Duration::from_secs(n.checked_mul(secs)?)).filter(|d| !d.is_zero())
}

/// `1048576`, `512k`, `500MB`, `2GiB` (decimal for `kB`/`MB`/`GB`, binary for `k`/`KiB`/…).
fn parse_size(text: &str) -> Option<u64> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: u64 = n.parse().ok()?;
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(scale).filter(|&b| b > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse() {
        let l = settings("?ttl=90m&capacity=2GiB", Limits::default()).unwrap();
        assert_eq!(l.ttl, Duration::from_secs(5400));
        assert_eq!(l.capacity, 2 << 30);
        assert_eq!(parse_size("500MB"), Some(500_000_000));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(7 * 86400)));
        for bad in ["?ttl=soon", "?capacity=-1", "?colour=red", "?ttl=0", "junk"] {
            assert!(settings(bad, Limits::default()).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_pick_backends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        let url = format!("sqlite:{}?ttl=1h&capacity=10MB", path.display());
        let s = open(Some(&url)).unwrap().stats().unwrap();
        assert_eq!(
            (s.backend, s.ttl_secs, s.capacity_bytes),
            ("sqlite", 3600, 10_000_000)
        );
        let m = open(Some("memory:?capacity=1k")).unwrap().stats().unwrap();
        assert_eq!((m.backend, m.capacity_bytes), ("memory", 1024));
        assert!(matches!(
            open(Some("ftp://x")),
            Err(OpenError::Unsupported(_))
        ));
        // A bare path takes settings too.
        let bare = format!("{}?ttl=2h", dir.path().join("b.sqlite").display());
        assert_eq!(open(Some(&bare)).unwrap().stats().unwrap().ttl_secs, 7200);
    }

    /// A typo in a store URL is an error, never a new file named after the typo.
    #[test]
    fn malformed_urls_are_errors_not_files() {
        for u in [
            "sqlit:/tmp/x.db",
            "memory",
            "sqlite",
            "sqlite:",
            "redis:/localhost",
            "memroy:",
            "s3://bucket/x",
        ] {
            assert!(
                matches!(open(Some(u)), Err(OpenError::Unsupported(_))),
                "{u} was not refused"
            );
            assert!(!std::path::Path::new(u).exists(), "{u} was created");
        }
    }
}
