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
/// or are evicted leave a small tombstone, so that reading them says what happened. Entries of a
/// kilobyte or more are kept LZ4-compressed where that saves a tenth: what cinch stores (logs,
/// listings, source) shrinks several times, and writing fewer bytes is most of a put's time.
/// Sizes and the capacity count the content as given.
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

/// How long a call waits for another process's hold on the file.
const BUSY_WAIT: Duration = Duration::from_secs(5);

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
    codec INTEGER NOT NULL DEFAULT 0,
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

/// Files made before entries could be compressed lack the column saying how.
const MIGRATE_V2: &str = "ALTER TABLE entries ADD COLUMN codec INTEGER NOT NULL DEFAULT 0";

const INSERT: &str =
    "INSERT INTO entries (namespace, key, content, size, created_ms, used_ms, codec)
    VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)
    ON CONFLICT (namespace, key) DO UPDATE SET used_ms = excluded.used_ms";
const SELECT: &str =
    "SELECT content, used_ms, codec, size FROM entries WHERE namespace = ?1 AND key = ?2";

/// How an entry's content is kept.
const AS_IS: i64 = 0;
const LZ4: i64 = 1;
/// Smaller contents are kept as they are.
const COMPRESS_MIN: usize = 1024;

/// `content` as it is to be kept, and how.
fn encode(content: &[u8]) -> (std::borrow::Cow<'_, [u8]>, i64) {
    if content.len() >= COMPRESS_MIN {
        let packed = lz4_flex::block::compress(content);
        if packed.len() < content.len() / 10 * 9 {
            return (packed.into(), LZ4);
        }
    }
    (content.into(), AS_IS)
}

/// The content of an entry kept as `codec`, `size` bytes long.
fn decode(kept: Vec<u8>, codec: i64, size: i64) -> Result<Vec<u8>, String> {
    match codec {
        AS_IS => Ok(kept),
        LZ4 => {
            let size = usize::try_from(size).map_err(|_| "a negative size".to_string())?;
            lz4_flex::block::decompress(&kept, size)
                .map_err(|e| e.to_string())
                .and_then(|c| {
                    (c.len() == size)
                        .then_some(c)
                        .ok_or_else(|| "a size that does not match".to_string())
                })
        }
        other => Err(format!("unknown codec {other}")),
    }
}
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
            conn.busy_timeout(BUSY_WAIT)?;
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
            let has_codec: bool = tx.query_row(
                "SELECT count(*) FROM pragma_table_info('entries') WHERE name = 'codec'",
                [],
                |r| r.get::<_, i64>(0).map(|n| n > 0),
            )?;
            if !has_codec {
                tx.execute_batch(MIGRATE_V2)?;
            }
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
        // Two processes setting up one new file at once can be told "locked" at once, without
        // the busy timeout's wait (switching to the write-ahead log needs the file to itself):
        // the setup is tried again for as long as that timeout.
        let started = std::time::Instant::now();
        let conn = loop {
            match setup() {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if matches!(
                        e.code,
                        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                    ) && started.elapsed() < BUSY_WAIT =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                done => break done,
            }
        }
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
        let (kept, codec) = encode(content);
        tx.prepare_cached(INSERT)?.execute(params![
            namespace,
            key.as_str(),
            kept.as_ref(),
            size,
            now,
            codec
        ])?;
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
        let idle = self.hits.load(Ordering::Relaxed) == 0
            && self.misses.load(Ordering::Relaxed) == 0
            && self.touched.lock().is_ok_and(|t| t.used.is_empty());
        if idle {
            // A process that only stored (every `compress`) has nothing to write at its end.
            return Ok(());
        }
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
    // Adding nothing would still rewrite the counters' page in the log.
    if by == 0 {
        return Ok(());
    }
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
        let found: Option<(Vec<u8>, i64, i64, i64)> = conn
            .prepare_cached(SELECT)
            .and_then(|mut st| {
                st.query_row(params![namespace, key.as_str()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()
            })
            .map_err(err)?;
        let now = now_ms();
        // A read not yet written counts as a use.
        let found = found.map(|(content, used, codec, size)| {
            let pending = self.touched.lock().ok().and_then(|t| {
                t.used
                    .get(&(namespace.to_string(), key.as_str().to_string()))
                    .copied()
            });
            (content, used.max(pending.unwrap_or(i64::MIN)), codec, size)
        });
        match found {
            Some((kept, used, codec, size)) if now - used <= self.ttl_ms() => {
                drop(conn);
                let content = decode(kept, codec, size).map_err(|e| {
                    GetError::Backend(StoreError(format!(
                        "entry {key} in the sqlite store is damaged: {e}"
                    )))
                })?;
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

    /// What the file holds for `key`: the kept bytes' length and the codec.
    fn kept(path: &Path, key: &Key) -> (i64, i64) {
        Connection::open(path)
            .unwrap()
            .query_row(
                "SELECT length(content), codec FROM entries WHERE key = ?1",
                [key.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    }

    #[test]
    fn large_entries_are_kept_compressed_and_come_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ccr.sqlite");
        let store = SqliteStore::open(&path).unwrap();
        let log: Vec<u8> = (0..5000)
            .flat_map(|i| {
                format!("2024-05-01 12:00:{:02} INFO request {i} served\n", i % 60).into_bytes()
            })
            .collect();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let small = b"short content".to_vec();
        let keys: Vec<Key> = [&log, &noise, &small]
            .iter()
            .map(|c| store.put("t", c).unwrap())
            .collect();
        drop(store);
        let (log_len, log_codec) = kept(&path, &keys[0]);
        assert_eq!(log_codec, LZ4);
        assert!(log_len * 5 < log.len() as i64, "{log_len} of {}", log.len());
        assert_eq!(
            kept(&path, &keys[1]).1,
            AS_IS,
            "incompressible content is kept as it is"
        );
        assert_eq!(
            kept(&path, &keys[2]).1,
            AS_IS,
            "small content is kept as it is"
        );
        let store = SqliteStore::open(&path).unwrap();
        for (k, c) in keys.iter().zip([&log, &noise, &small]) {
            assert_eq!(&store.get("t", k).unwrap(), c);
        }
        let bytes = (log.len() + noise.len() + small.len()) as u64;
        assert_eq!(
            store.stats().unwrap().bytes,
            bytes,
            "sizes count the content as given"
        );
    }

    #[test]
    fn a_version_2_file_gains_compression() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&SCHEMA.replace("    codec INTEGER NOT NULL DEFAULT 0,\n", ""))
            .unwrap();
        let old = Key::of(b"old rows");
        conn.execute(
            "INSERT INTO entries VALUES ('t', ?1, ?2, 8, 0, ?3)",
            params![old.as_str(), &b"old rows"[..], now_ms()],
        )
        .unwrap();
        drop(conn);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.get("t", &old).unwrap(), b"old rows");
        let big = "the same line again\n".repeat(1000);
        let new = store.put("t", big.as_bytes()).unwrap();
        assert_eq!(store.get("t", &new).unwrap(), big.as_bytes());
        drop(store);
        assert_eq!(kept(&path, &new).1, LZ4);
    }

    #[test]
    fn a_damaged_entry_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ccr.sqlite");
        let big = "the same line again\n".repeat(1000);
        let key = SqliteStore::open(&path)
            .unwrap()
            .put("t", big.as_bytes())
            .unwrap();
        Connection::open(&path)
            .unwrap()
            .execute(
                "UPDATE entries SET content = x'ff00ff00ff' WHERE key = ?1",
                [key.as_str()],
            )
            .unwrap();
        let e = SqliteStore::open(&path)
            .unwrap()
            .get("t", &key)
            .unwrap_err();
        assert!(matches!(e, GetError::Backend(_)), "{e}");
        assert!(e.to_string().contains("damaged"), "{e}");
    }

    #[test]
    fn many_connections_can_set_up_one_new_file_at_once() {
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("new.sqlite");
            let barrier = std::sync::Barrier::new(8);
            let keys: Vec<Key> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|i| {
                        let (path, barrier) = (&path, &barrier);
                        s.spawn(move || {
                            barrier.wait();
                            let store = SqliteStore::open(path).expect("opens despite the others");
                            store.put("t", format!("entry {i}").as_bytes()).unwrap()
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let store = SqliteStore::open(&path).unwrap();
            for (i, k) in keys.iter().enumerate() {
                assert_eq!(store.get("t", k).unwrap(), format!("entry {i}").as_bytes());
            }
        }
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
