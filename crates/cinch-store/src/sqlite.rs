use cinch_core::ccr::{Limits, StoreStats};
use cinch_core::{GetError, Key, Store, StoreError};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The embedded default store: one SQLite file (WAL mode), safe to share between threads and
/// processes.
///
/// Each entry records when it was last used (stored or read); one older than the TTL is
/// expired, and past the capacity the least recently used entries are evicted. Keys that expire
/// or are evicted leave a small tombstone, so that reading them says what happened.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
    limits: Limits,
    /// What reads have not yet written (so that a read costs no write): the counts to add to
    /// the file's counters and the entries' new use times. Written before anything that
    /// depends on them (a put's evictions, gc, stats), when many pile up, and on drop.
    hits: AtomicU64,
    misses: AtomicU64,
    touched: Mutex<Touched>,
    /// Bytes stored since the last checkpoint.
    written: AtomicU64,
}

/// A long-running process checkpoints the log after this many bytes stored.
const CHECKPOINT_EVERY: u64 = 16 << 20;

#[derive(Debug, Default)]
struct Touched {
    used: std::collections::HashMap<(String, String), i64>,
    since: Option<std::time::Instant>,
}

/// Reads' use times are written at least this often.
const TOUCH_EVERY: Duration = Duration::from_secs(1);
const TOUCH_MAX: usize = 4096;

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entries (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    content BLOB NOT NULL,
    size INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    used_ms INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)
);
CREATE INDEX IF NOT EXISTS entries_by_use ON entries (used_ms);
CREATE TABLE IF NOT EXISTS gone (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    evicted INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO counters VALUES ('bytes', 0), ('hits', 0), ('misses', 0), ('expired', 0), ('evicted', 0);
";

/// Version 1 kept entries in `ccr` without use times; its entries move over as used now.
const MIGRATE_V1: &str = "
INSERT OR IGNORE INTO entries (namespace, key, content, size, created_ms, used_ms)
    SELECT namespace, key, content, length(content), created_at * 1000, ?1 FROM ccr;
DROP TABLE ccr;
";

const INSERT: &str = "INSERT INTO entries (namespace, key, content, size, created_ms, used_ms)
    VALUES (?1, ?2, ?3, ?4, ?5, ?5)
    ON CONFLICT (namespace, key) DO UPDATE SET used_ms = excluded.used_ms";
const SELECT: &str = "SELECT content, used_ms FROM entries WHERE namespace = ?1 AND key = ?2";
const TOUCH: &str = "UPDATE entries SET used_ms = ?3 WHERE namespace = ?1 AND key = ?2";
const GONE: &str = "SELECT evicted FROM gone WHERE namespace = ?1 AND key = ?2";

/// Tombstones are kept this long at least (and at least as long as the TTL).
const GONE_KEEP: Duration = Duration::from_secs(30 * 24 * 3600);

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` with the default limits.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, Limits::default())
    }

    /// Opens (creating if needed) the store at `path`.
    pub fn open_with(path: &Path, limits: Limits) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError(format!("cannot create {}: {e}", dir.display())))?;
        }
        let setup = || -> rusqlite::Result<Connection> {
            let mut conn = Connection::open(path)?;
            conn.busy_timeout(Duration::from_secs(5))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            // Each CLI run is one short-lived connection. By default the last connection to
            // close deletes the log and its index, and the next run's first write creates them
            // again, which costs more than the write; keep them (the log is reused from its
            // start after each checkpoint, so it does not grow without bound).
            conn.file_control(
                rusqlite::DEFAULT_NAME,
                rusqlite::FileControl::PersistWal(&mut 1),
            )?;
            // Checkpoints (copying the log into the database, with a sync to disk) would land
            // in whichever put crosses the threshold; they run instead when the store closes or
            // after every CHECKPOINT_EVERY bytes written.
            conn.pragma_update(None, "wal_autocheckpoint", 0)?;
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute_batch(SCHEMA)?;
            let v1: bool = tx
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'ccr'",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n > 0)?;
            if v1 {
                tx.execute_batch(&MIGRATE_V1.replace("?1", &now_ms().to_string()))?;
                tx.execute(
                    "UPDATE counters SET value = (SELECT coalesce(sum(size), 0) FROM entries) WHERE name = 'bytes'",
                    [],
                )?;
            }
            tx.commit()?;
            // Compile the statements now: a call then pays only for its own work.
            for sql in [INSERT, SELECT, TOUCH, GONE] {
                conn.prepare_cached(sql)?;
            }
            Ok(conn)
        };
        let conn = setup()
            .map_err(|e| StoreError(format!("cannot use the store {}: {e}", path.display())))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            limits,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            touched: Mutex::new(Touched::default()),
            written: AtomicU64::new(0),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| StoreError("sqlite store poisoned by a panic".into()))
    }

    fn ttl_ms(&self) -> i64 {
        i64::try_from(self.limits.ttl.as_millis()).unwrap_or(i64::MAX)
    }

    /// Adds one entry in `tx`; returns its key.
    fn insert(&self, tx: &Transaction, namespace: &str, content: &[u8]) -> rusqlite::Result<Key> {
        let key = Key::of(content);
        let now = now_ms();
        // A key that expired and is stored again is no longer gone.
        let size = content.len() as i64;
        let existed: bool = tx
            .prepare_cached("SELECT 1 FROM entries WHERE namespace = ?1 AND key = ?2")?
            .exists(params![namespace, key.as_str()])?;
        tx.prepare_cached(INSERT)?
            .execute(params![namespace, key.as_str(), content, size, now])?;
        if !existed {
            tx.prepare_cached("DELETE FROM gone WHERE namespace = ?1 AND key = ?2")?
                .execute(params![namespace, key.as_str()])?;
            bump(tx, "bytes", size)?;
        }
        Ok(key)
    }

    /// Evicts least recently used entries until the content fits the capacity.
    fn evict(&self, tx: &Transaction) -> rusqlite::Result<()> {
        let capacity = i64::try_from(self.limits.capacity).unwrap_or(i64::MAX);
        let mut bytes = counter(tx, "bytes")?;
        while bytes > capacity {
            let oldest: Option<(String, String, i64)> = tx
                .prepare_cached(
                    "SELECT namespace, key, size FROM entries ORDER BY used_ms, rowid LIMIT 1",
                )?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            let Some((ns, key, size)) = oldest else {
                break;
            };
            bury(tx, &ns, &key, true)?;
            bump(tx, "evicted", 1)?;
            bytes -= size;
        }
        Ok(())
    }

    /// Writes what reads have left pending, in `tx`.
    fn flush_reads_in(&self, tx: &Transaction) -> Result<(), StoreError> {
        let touched = std::mem::take(
            &mut *self
                .touched
                .lock()
                .map_err(|_| StoreError("sqlite store poisoned by a panic".into()))?,
        );
        for ((ns, key), used) in touched.used {
            tx.prepare_cached(TOUCH)
                .and_then(|mut st| st.execute(params![ns, key, used]))
                .map_err(err)?;
        }
        let hits = self.hits.swap(0, Ordering::Relaxed) as i64;
        let misses = self.misses.swap(0, Ordering::Relaxed) as i64;
        bump(tx, "hits", hits).map_err(err)?;
        bump(tx, "misses", misses).map_err(err)
    }

    fn flush_reads(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        self.flush_reads_in(&tx)?;
        tx.commit().map_err(err)
    }

    /// Notes a read's use time; writes the pending ones when they are many or old.
    fn touch(&self, namespace: &str, key: &Key, now: i64) -> Result<(), StoreError> {
        let due = {
            let mut t = self
                .touched
                .lock()
                .map_err(|_| StoreError("sqlite store poisoned by a panic".into()))?;
            t.used
                .insert((namespace.to_string(), key.as_str().to_string()), now);
            let since = *t.since.get_or_insert_with(std::time::Instant::now);
            t.used.len() >= TOUCH_MAX || since.elapsed() >= TOUCH_EVERY
        };
        if due {
            self.flush_reads()?;
        }
        Ok(())
    }

    fn put_all(&self, namespace: &str, contents: &[&[u8]]) -> Result<Vec<Key>, StoreError> {
        self.limits.check_fits(contents)?;
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        // Evictions go by use times: the reads' ones first.
        self.flush_reads_in(&tx)?;
        let keys = contents
            .iter()
            .map(|c| self.insert(&tx, namespace, c))
            .collect::<rusqlite::Result<Vec<Key>>>()
            .map_err(err)?;
        self.evict(&tx).map_err(err)?;
        tx.commit().map_err(err)?;
        let size: u64 = contents.iter().map(|c| c.len() as u64).sum();
        if self.written.fetch_add(size, Ordering::Relaxed) + size >= CHECKPOINT_EVERY {
            self.written.store(0, Ordering::Relaxed);
            checkpoint(&conn);
        }
        Ok(keys)
    }
}

/// Moves an entry to the tombstones.
fn bury(tx: &Transaction, namespace: &str, key: &str, evicted: bool) -> rusqlite::Result<()> {
    let size: Option<i64> = tx
        .prepare_cached("DELETE FROM entries WHERE namespace = ?1 AND key = ?2 RETURNING size")?
        .query_row(params![namespace, key], |r| r.get(0))
        .optional()?;
    if let Some(size) = size {
        bump(tx, "bytes", -size)?;
        tx.prepare_cached(
            "INSERT OR REPLACE INTO gone (namespace, key, evicted, at_ms) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![namespace, key, evicted, now_ms()])?;
    }
    Ok(())
}

fn bump(tx: &Connection, name: &str, by: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE counters SET value = value + ?2 WHERE name = ?1")?
        .execute(params![name, by])?;
    Ok(())
}

fn counter(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT value FROM counters WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
}

/// Copies the log into the database file as far as readers allow. A checkpoint that cannot
/// finish now is finished by a later one; nothing is lost either way.
fn checkpoint(conn: &Connection) {
    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Counters are statistics: a failure to record them must not fail anything else.
        let _ = self.flush_reads();
        if let Ok(conn) = self.conn.lock() {
            checkpoint(&conn);
        }
    }
}

impl Store for SqliteStore {
    fn put(&self, namespace: &str, content: &[u8]) -> Result<Key, StoreError> {
        Ok(self.put_all(namespace, &[content])?.remove(0))
    }

    fn put_many(&self, namespace: &str, contents: &[&[u8]]) -> Result<Vec<Key>, StoreError> {
        self.put_all(namespace, contents)
    }

    fn get(&self, namespace: &str, key: &Key) -> Result<Vec<u8>, GetError> {
        let conn = self.conn()?;
        let found: Option<(Vec<u8>, i64)> = conn
            .prepare_cached(SELECT)
            .and_then(|mut st| {
                st.query_row(params![namespace, key.as_str()], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
            })
            .map_err(err)?;
        let now = now_ms();
        // A read not yet written counts as a use.
        let found = found.map(|(content, used)| {
            let pending = self.touched.lock().ok().and_then(|t| {
                t.used
                    .get(&(namespace.to_string(), key.as_str().to_string()))
                    .copied()
            });
            (content, used.max(pending.unwrap_or(i64::MIN)))
        });
        match found {
            Some((content, used)) if now - used <= self.ttl_ms() => {
                drop(conn);
                self.touch(namespace, key, now)?;
                self.hits.fetch_add(1, Ordering::Relaxed);
                Ok(content)
            }
            Some(_) => {
                drop(conn);
                let mut conn = self.conn()?;
                let tx = conn.transaction().map_err(err)?;
                bury(&tx, namespace, key.as_str(), false).map_err(err)?;
                bump(&tx, "expired", 1).map_err(err)?;
                tx.commit().map_err(err)?;
                Err(GetError::Expired(key.clone()))
            }
            None => {
                let gone: Option<bool> = conn
                    .prepare_cached(GONE)
                    .and_then(|mut st| {
                        st.query_row(params![namespace, key.as_str()], |r| r.get(0))
                            .optional()
                    })
                    .map_err(err)?;
                match gone {
                    Some(evicted) => {
                        bump(&conn, "expired", 1).map_err(err)?;
                        Err(if evicted {
                            GetError::Evicted(key.clone())
                        } else {
                            GetError::Expired(key.clone())
                        })
                    }
                    None => {
                        self.misses.fetch_add(1, Ordering::Relaxed);
                        Err(GetError::Unknown(key.clone()))
                    }
                }
            }
        }
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        self.flush_reads()?;
        let conn = self.conn()?;
        let get = |name: &str| counter(&conn, name).map(|v| v.max(0) as u64).map_err(err);
        let entries: i64 = conn
            .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
            .map_err(err)?;
        Ok(StoreStats {
            backend: "sqlite",
            entries: entries as u64,
            bytes: get("bytes")?,
            hits: get("hits")?,
            misses: get("misses")?,
            expired: get("expired")?,
            evicted: get("evicted")?,
            ttl_secs: self.limits.ttl.as_secs(),
            capacity_bytes: self.limits.capacity,
        })
    }

    fn gc(&self) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        self.flush_reads_in(&tx)?;
        let cutoff = now_ms().saturating_sub(self.ttl_ms());
        let expired: Vec<(String, String)> = tx
            .prepare("SELECT namespace, key FROM entries WHERE used_ms < ?1")
            .and_then(|mut st| {
                st.query_map([cutoff], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .map_err(err)?;
        for (ns, key) in &expired {
            bury(&tx, ns, key, false).map_err(err)?;
        }
        let keep = GONE_KEEP.max(self.limits.ttl).as_millis() as i64;
        tx.execute(
            "DELETE FROM gone WHERE at_ms < ?1",
            [now_ms().saturating_sub(keep)],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(expired.len() as u64)
    }

    fn clear(&self, namespace: Option<&str>) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        let removed = match namespace {
            Some(ns) => {
                tx.execute("DELETE FROM gone WHERE namespace = ?1", [ns])
                    .map_err(err)?;
                tx.execute("DELETE FROM entries WHERE namespace = ?1", [ns])
            }
            None => {
                tx.execute("DELETE FROM gone", []).map_err(err)?;
                tx.execute("DELETE FROM entries", [])
            }
        }
        .map_err(err)?;
        tx.execute(
            "UPDATE counters SET value = (SELECT coalesce(sum(size), 0) FROM entries) WHERE name = 'bytes'",
            [],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(removed as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/ccr.sqlite");
        let k = SqliteStore::open(&path).unwrap().put("a", b"rows").unwrap();
        let again = SqliteStore::open(&path).unwrap();
        assert_eq!(again.get("a", &k).unwrap(), b"rows");
    }

    #[test]
    fn a_version_1_file_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE ccr (namespace TEXT NOT NULL, key TEXT NOT NULL, content BLOB NOT NULL,
             created_at INTEGER NOT NULL, PRIMARY KEY (namespace, key)) WITHOUT ROWID;",
        )
        .unwrap();
        let key = Key::of(b"old rows");
        conn.execute(
            "INSERT INTO ccr VALUES ('default', ?1, ?2, 1700000000)",
            params![key.as_str(), &b"old rows"[..]],
        )
        .unwrap();
        drop(conn);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.get("default", &key).unwrap(), b"old rows");
        assert_eq!(store.stats().unwrap().bytes, 8);
    }

    #[test]
    fn corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.sqlite");
        std::fs::write(
            &path,
            b"this is not a database, just text that is long enough to look like a header",
        )
        .unwrap();
        let e = SqliteStore::open(&path).unwrap_err();
        assert!(e.to_string().contains("bad.sqlite"), "{e}");
    }
}
