//! Compaction: rewriting the database so that nothing it no longer holds stays in its files.
//!
//! sled is log-structured: replacing a value (a chunk rewritten without a redacted event's
//! content) appends the new version, and the old one stays in its segment until sled happens
//! to reuse that space. [`SledStore::compact`] copies every tree, key by key, into a fresh
//! database in the sibling directory `<store>.compacting`, flushes it, closes both, swaps the
//! directories (`<store>` → `<store>.old`, `<store>.compacting` → `<store>`, the parent
//! directory synced after each rename) and deletes `<store>.old`, then reopens. The copy holds
//! only current values, so a redacted event's text is in no file of the store afterwards.
//!
//! The copy is byte-for-byte the same keys and values, so the in-memory indexes (chunk
//! locations included) stay valid and are not rebuilt. Commits wait while it runs (it holds the
//! commit lock); reads wait for the swap only.
//!
//! Crash safety: the live directory is renamed away only once the copy is complete and durable,
//! and [`recover`] (run by [`SledStore::open`]) finishes or undoes an interrupted swap:
//!
//! | found on open                          | meaning                         | action                        |
//! |----------------------------------------|---------------------------------|-------------------------------|
//! | `<store>` and `<store>.compacting`     | copy not finished or not swapped | delete `.compacting`          |
//! | `.old` and `.compacting`, no `<store>` | swap half done (copy complete)  | rename `.compacting`, delete `.old` |
//! | `.old` only, no `<store>`              | (cannot happen) swap undone     | rename `.old` back            |
//! | `<store>` and `.old`                   | swap done, cleanup interrupted  | delete `.old`                 |

use std::path::{Path, PathBuf};
use std::time::Instant;

use sled::Batch;

use super::{Backing, Place, SledStore, open_backing};
use crate::error::StoreError;
use crate::traits::CompactReport;

/// Most key-value pairs one sled batch carries while copying.
pub(crate) const COMPACT_COPY_BATCH: usize = 1_024;
/// Suffix of the directory a compaction writes its copy into.
pub(crate) const COMPACTING_SUFFIX: &str = ".compacting";
/// Suffix the old directory takes while the copy replaces it.
pub(crate) const OLD_SUFFIX: &str = ".old";

/// `<path><suffix>`, beside `path`.
fn sibling(path: &Path, suffix: &str) -> Result<PathBuf, StoreError> {
    let name = path
        .file_name()
        .ok_or_else(|| StoreError::CompactPath(path.to_path_buf()))?;
    let mut name = name.to_os_string();
    name.push(suffix);
    Ok(path.with_file_name(name))
}

/// Makes the renames in `path`'s parent directory durable.
fn sync_parent(path: &Path) -> Result<(), StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// Total size of the regular files under `path` (0 if it does not exist).
pub(crate) fn disk_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => disk_bytes(&entry.path()),
            Ok(_) => entry.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

/// Finishes or undoes a compaction a crash interrupted (table in the module docs).
pub(crate) fn recover(path: &Path) -> Result<(), StoreError> {
    // A path without a file name cannot have been compacted.
    let (Ok(compacting), Ok(old)) = (sibling(path, COMPACTING_SUFFIX), sibling(path, OLD_SUFFIX))
    else {
        return Ok(());
    };
    if !path.exists() {
        if compacting.exists() {
            std::fs::rename(&compacting, path)?;
        } else if old.exists() {
            std::fs::rename(&old, path)?;
        }
        sync_parent(path)?;
    }
    if compacting.exists() {
        std::fs::remove_dir_all(&compacting)?;
    }
    if old.exists() {
        std::fs::remove_dir_all(&old)?;
    }
    Ok(())
}

/// Copies every tree of `from` into the empty `to`, in batches; returns the pairs copied.
fn copy(from: &sled::Db, to: &sled::Db) -> Result<u64, StoreError> {
    let mut copied = 0u64;
    for name in from.tree_names() {
        let source = from.open_tree(&name)?;
        let target = to.open_tree(&name)?;
        let mut batch = Batch::default();
        let mut in_batch = 0;
        for item in source.iter() {
            let (key, value) = item?;
            batch.insert(key, value);
            in_batch += 1;
            copied += 1;
            if in_batch == COMPACT_COPY_BATCH {
                target.apply_batch(std::mem::take(&mut batch))?;
                in_batch = 0;
            }
        }
        target.apply_batch(batch)?;
    }
    to.flush()?;
    Ok(copied)
}

impl SledStore {
    /// Rewrites the database so that no old version of any value stays in its files (module
    /// docs): after it returns, content removed from the store (a redacted event's text) is in
    /// no file under the store's directory. Commits wait while it runs. Costs one read and one
    /// write of everything stored.
    pub fn compact(&self) -> Result<CompactReport, StoreError> {
        let started = Instant::now();
        let _sequence = self.sequence.lock().map_err(|_| StoreError::Poisoned)?;
        let mut backing = self.backing.write().map_err(|_| StoreError::Poisoned)?;
        let old = backing.as_ref().ok_or(StoreError::Closed)?;
        old.db.flush()?;
        let mut report = CompactReport::default();
        match &self.place {
            Place::Temporary => {
                let fresh = open_backing(&Place::Temporary)?;
                report.entries = copy(&old.db, &fresh.db)?;
                // The old temporary directory is deleted as the old database closes.
                *backing = Some(fresh);
            }
            Place::Dir(path) => {
                let compacting = sibling(path, COMPACTING_SUFFIX)?;
                let old_dir = sibling(path, OLD_SUFFIX)?;
                report.bytes_before = disk_bytes(path);
                if compacting.exists() {
                    std::fs::remove_dir_all(&compacting)?;
                }
                let copied = open_backing(&Place::Dir(compacting.clone()))
                    .and_then(|fresh| copy(&old.db, &fresh.db));
                report.entries = match copied {
                    Ok(entries) => entries,
                    Err(e) => {
                        let _ = std::fs::remove_dir_all(&compacting);
                        return Err(e);
                    }
                };
                // Close the live database, swap the directories, reopen. From here on a
                // failure leaves the store closed; `recover` then repairs the files on the
                // next open.
                *backing = None;
                let swapped = (|| -> Result<Backing, StoreError> {
                    std::fs::rename(path, &old_dir)?;
                    sync_parent(path)?;
                    std::fs::rename(&compacting, path)?;
                    sync_parent(path)?;
                    std::fs::remove_dir_all(&old_dir)?;
                    open_backing(&self.place)
                })();
                let reopened = match swapped {
                    Ok(reopened) => reopened,
                    Err(e) => {
                        recover(path)?;
                        *backing = Some(open_backing(&self.place)?);
                        return Err(e);
                    }
                };
                *backing = Some(reopened);
                report.bytes_after = disk_bytes(path);
            }
        }
        report.millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(report)
    }
}
