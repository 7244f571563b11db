//! Store backends for CCR: where cinch keeps everything it leaves out.
//!
//! [`open`] turns a store URL into a backend: `sqlite:PATH` (or a bare path; the embedded
//! default), `memory:`.
#![deny(missing_docs)]

mod sqlite;

pub use cinch_core::ccr::MemoryStore;
pub use sqlite::SqliteStore;

use cinch_core::{Store, StoreError};
use std::path::PathBuf;

/// A store URL that cinch cannot open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL names a backend cinch does not have.
    #[error("unsupported store URL {0:?} (expected sqlite:PATH, a path, or memory:)")]
    Unsupported(String),
    /// The backend failed to open.
    #[error(transparent)]
    Backend(#[from] StoreError),
}

/// The default store location: `cinch/ccr.sqlite` in the user's data directory.
pub fn default_path() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("cinch")
        .join("ccr.sqlite")
}

/// Opens the store named by `url`; `None` means the default SQLite file.
pub fn open(url: Option<&str>) -> Result<Box<dyn Store>, OpenError> {
    let url = url.map(str::trim).filter(|u| !u.is_empty());
    match url {
        None => Ok(Box::new(SqliteStore::open(&default_path())?)),
        Some("memory:") => Ok(Box::new(MemoryStore::default())),
        Some(u) if u.starts_with("sqlite:") => Ok(Box::new(SqliteStore::open(
            u.trim_start_matches("sqlite:").as_ref(),
        )?)),
        Some(u) if u.contains("://") => Err(OpenError::Unsupported(u.to_string())),
        Some(path) => Ok(Box::new(SqliteStore::open(path.as_ref())?)),
    }
}
