//! The shared corpus, for tests that check every real item (`CINCH_CORPUS`, or `../shared/corpus`
//! beside the workspace). Where it is missing those tests have nothing to check.

use std::path::PathBuf;

/// The corpus folder.
pub(crate) fn dir() -> String {
    std::env::var("CINCH_CORPUS")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus").into())
}

/// Every text file of the corpus, with its path.
pub(crate) fn files() -> Vec<(PathBuf, String)> {
    let Ok(entries) = std::fs::read_dir(dir()) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| Some((e.path(), std::fs::read_to_string(e.path()).ok()?)))
        .collect()
}
