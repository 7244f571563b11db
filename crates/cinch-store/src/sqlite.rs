use cinch_core::{GetError, Key, Store, StoreError};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// The embedded default store: one SQLite file (WAL mode), safe to share between processes.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError(format!("cannot create {}: {e}", dir.display())))?;
        }
        let setup = || -> rusqlite::Result<Connection> {
            let conn = Connection::open(path)?;
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
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS ccr (
                    namespace TEXT NOT NULL,
                    key TEXT NOT NULL,
                    content BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (namespace, key)
                ) WITHOUT ROWID;",
            )?;
            // Compile the statements now: a call then pays only for its own work.
            conn.prepare_cached(INSERT)?;
            conn.prepare_cached(SELECT)?;
            Ok(conn)
        };
        let conn = setup()
            .map_err(|e| StoreError(format!("cannot use the store {}: {e}", path.display())))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| StoreError("sqlite store poisoned".into()))
    }
}

const INSERT: &str =
    "INSERT OR IGNORE INTO ccr (namespace, key, content, created_at) VALUES (?1, ?2, ?3, ?4)";
const SELECT: &str = "SELECT content FROM ccr WHERE namespace = ?1 AND key = ?2";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Store for SqliteStore {
    fn put(&self, namespace: &str, content: &[u8]) -> Result<Key, StoreError> {
        let key = Key::of(content);
        self.conn()?
            .prepare_cached(INSERT)
            .and_then(|mut st| st.execute(params![namespace, key.as_str(), content, now()]))
            .map_err(err)?;
        Ok(key)
    }

    fn put_many(&self, namespace: &str, contents: &[&[u8]]) -> Result<Vec<Key>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(err)?;
        let mut keys = Vec::with_capacity(contents.len());
        {
            let mut st = tx.prepare_cached(INSERT).map_err(err)?;
            for content in contents {
                let key = Key::of(content);
                st.execute(params![namespace, key.as_str(), content, now()])
                    .map_err(err)?;
                keys.push(key);
            }
        }
        tx.commit().map_err(err)?;
        Ok(keys)
    }

    fn get(&self, namespace: &str, key: &Key) -> Result<Vec<u8>, GetError> {
        let found: Option<Vec<u8>> = self
            .conn()?
            .prepare_cached(SELECT)
            .and_then(|mut st| {
                st.query_row(params![namespace, key.as_str()], |r| r.get(0))
                    .optional()
            })
            .map_err(err)?;
        found.ok_or_else(|| GetError::Unknown(key.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_idempotent_and_namespaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/ccr.sqlite");
        let store = SqliteStore::open(&path).unwrap();
        let k1 = store.put("a", b"rows").unwrap();
        let k2 = store.put("a", b"rows").unwrap();
        assert_eq!(k1, k2);
        assert_eq!(store.get("a", &k1).unwrap(), b"rows");
        assert!(matches!(store.get("b", &k1), Err(GetError::Unknown(_))));
        drop(store);
        let again = SqliteStore::open(&path).unwrap();
        assert_eq!(
            again.get("a", &k1).unwrap(),
            b"rows",
            "entries survive reopening"
        );
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
