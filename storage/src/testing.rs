//! Helpers for tests that check what a store leaves in its files (feature `testing`).

use std::path::Path;

/// Whether any file under `dir` (recursively) holds `needle` as raw bytes: how tests prove that
/// redacted, purged, erased or expired content has left a store's files, not just its indexes.
/// A file that vanishes while it is read (a compaction swapping files) holds nothing; a
/// directory that cannot be read holds nothing.
pub fn files_contain(dir: &Path, needle: &[u8]) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            files_contain(&path, needle)
        } else {
            std::fs::read(&path).is_ok_and(|bytes| {
                !needle.is_empty() && bytes.windows(needle.len()).any(|w| w == needle)
            })
        }
    })
}

/// Records `version` as the schema version of the (closed) sled store in `dir`: how tests make
/// a store that looks written by another build.
pub fn set_schema_version(dir: &Path, version: u32) -> Result<(), crate::StoreError> {
    let db = sled::open(dir)?;
    let tree = db.open_tree(crate::sled_store::TREE_NAME)?;
    tree.insert(crate::sled_store::SCHEMA_KEY, &version.to_be_bytes())?;
    db.flush()?;
    Ok(())
}
