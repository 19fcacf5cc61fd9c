//! What the side trees of the sled backend share: the trees beside the event tree that hold
//! accounts, the inbox, the review queues, the report tables, the audit log, registration
//! records, revocations, aliases and read markers (each module specifies its own key layout).
//!
//! Layout:
//! - [`SledStore::with_tree`] and [`SledStore::write_tree`]: one operation on a side tree,
//!   holding the open database for its whole length (a compaction never swaps the database
//!   under it); a write is flushed before it returns, under the same hold (never a second
//!   `backing()` nor the commit lock while the first is held: a waiting compaction would block
//!   either).
//! - [`Tx`], [`tx_read`] and [`untx`]: the glue of their sled transactions.
//! - [`seq_key`] and [`seq_page`]: values keyed `tag ‖ n (u64 BE)` (inbox items, audit entries,
//!   revocations), read a page at a time.
//! - [`read_count`], [`read_next_and_count`], [`next_and_count_value`]: the counters kept beside
//!   the items, in u64 BE.
//! - [`array_at`] and [`array_from`]: fixed-width fields of a key or value, without panicking.

use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use crate::SledStore;
use crate::error::StoreError;

impl SledStore {
    /// Runs `operation` on the side tree `name`, the database held open while it runs; nothing
    /// is flushed.
    pub(crate) fn with_tree<R>(
        &self,
        name: &[u8],
        operation: impl FnOnce(&sled::Tree) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let backing = self.backing()?;
        operation(&backing.db.open_tree(name)?)
    }

    /// Runs `write` on the side tree `name` and, when `changed` says its result changed
    /// anything, flushes before returning: the result is then a durable statement. One flush
    /// makes every tree durable.
    pub(crate) fn write_tree<R>(
        &self,
        name: &[u8],
        write: impl FnOnce(&sled::Tree) -> Result<R, StoreError>,
        changed: impl FnOnce(&R) -> bool,
    ) -> Result<R, StoreError> {
        let backing = self.backing()?;
        let out = write(&backing.db.open_tree(name)?)?;
        if changed(&out) {
            backing.db.flush()?;
        }
        Ok(out)
    }
}

/// The result of a step inside a sled transaction that aborts with a [`StoreError`].
pub(crate) type Tx<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// Aborts the transaction with `error`.
pub(crate) fn abort<T>(error: StoreError) -> Tx<T> {
    Err(ConflictableTransactionError::Abort(error))
}

/// Reads `key` inside a transaction and decodes it with `read` (a decoding error aborts).
pub(crate) fn tx_read<T>(
    tx: &TransactionalTree,
    key: &[u8],
    read: impl FnOnce(Option<&[u8]>) -> Result<T, StoreError>,
) -> Tx<T> {
    let value = tx.get(key)?;
    read(value.as_deref()).map_err(ConflictableTransactionError::Abort)
}

/// The error a transaction ended with: the abort's own, or sled's.
pub(crate) fn untx(error: TransactionError<StoreError>) -> StoreError {
    match error {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::Backend(e),
    }
}

/// The key `tag ‖ n (u64 BE)`.
pub(crate) fn seq_key(tag: u8, n: u64) -> [u8; 9] {
    let mut key = [tag; 9];
    key[1..].copy_from_slice(&n.to_be_bytes());
    key
}

/// Up to `limit` values keyed [`seq_key`]`(tag, n)` with `n` from `first` on, as `(n, value)` in
/// order of `n`. A key of another length or a value over `max_bytes` is corrupt (`what`).
pub(crate) fn seq_page(
    tree: &sled::Tree,
    tag: u8,
    first: u64,
    limit: usize,
    max_bytes: usize,
    what: &'static str,
) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
    // Every tag in use is below 0xff, so `tag + 1` bounds the run.
    let end: &[u8] = &[tag + 1];
    let mut out = Vec::with_capacity(limit);
    for item in tree.range(&seq_key(tag, first)[..]..end).take(limit) {
        let (key, value) = item?;
        let n = array_from(&key, 1).ok_or_else(|| StoreError::corrupt(what, "bad key"))?;
        if value.len() > max_bytes {
            return Err(StoreError::corrupt(what, "over the size limit"));
        }
        out.push((u64::from_be_bytes(n), value.to_vec()));
    }
    Ok(out)
}

/// A counter stored as u64 BE (none stored: 0); a value of another length is corrupt (`what`).
pub(crate) fn read_count(value: Option<&[u8]>, what: &'static str) -> Result<u64, StoreError> {
    match value {
        None => Ok(0),
        Some(bytes) => array_from(bytes, 0)
            .map(u64::from_be_bytes)
            .ok_or_else(|| StoreError::corrupt(what, "not 8 bytes")),
    }
}

/// A `next id (u64 BE) ‖ item count (u64 BE)` value (none stored: both 0). A value of another
/// length, or a count over `max_count` or over the next id, is corrupt (`what`).
pub(crate) fn read_next_and_count(
    value: Option<&[u8]>,
    max_count: usize,
    what: &'static str,
) -> Result<(u64, u64), StoreError> {
    let Some(value) = value else {
        return Ok((0, 0));
    };
    // Both halves found: exactly 16 bytes.
    let (Some(next), Some(count)) = (array_at(value, 0), array_from(value, 8)) else {
        return Err(StoreError::corrupt(what, "not 16 bytes"));
    };
    let (next, count) = (u64::from_be_bytes(next), u64::from_be_bytes(count));
    if count > max_count as u64 || count > next {
        return Err(StoreError::corrupt(what, "count out of bounds"));
    }
    Ok((next, count))
}

/// The value [`read_next_and_count`] reads.
pub(crate) fn next_and_count_value(next: u64, count: u64) -> [u8; 16] {
    let mut value = [0; 16];
    value[..8].copy_from_slice(&next.to_be_bytes());
    value[8..].copy_from_slice(&count.to_be_bytes());
    value
}

/// The `N` bytes of `bytes` at `at`, if it holds that many there.
pub(crate) fn array_at<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The rest of `bytes` from `at`, if it is exactly `N` bytes long.
pub(crate) fn array_from<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..)?.try_into().ok()
}
