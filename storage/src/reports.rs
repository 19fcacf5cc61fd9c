//! The report tables (specs/accountability.md §1): what a node keeps about abuse reports.
//! The store keeps each value's bytes as given; the node encodes and decodes its records.
//!
//! Four tables, each bounded ([`ReportTable::max_items`]); a full table refuses a new key
//! ([`StoreError::ReportsFull`]) rather than dropping old ones, and replacing the value of a
//! key already held always succeeds. Every change is durable before it returns.
//! - [`ReportTable::Outbox`]: node letters waiting to be delivered, keyed by a growing id
//!   (u64 BE), so reading in key order is reading in the order they were queued.
//! - [`ReportTable::Sent`]: reports this node's users made, keyed reporter ‖ report id, with
//!   the receipts that came back.
//! - [`ReportTable::Received`]: reports delivered to this node, keyed by report id, with the
//!   state of each queue that holds them.
//! - [`ReportTable::Reporters`]: per reporter, how their reports fared and whether the operator
//!   muted them for reporting, keyed by the reporter's key.
//!
//! sled layout: tree [`REPORTS_TREE`]; key `0x00 ‖ table` → item count (u64 BE); key
//! `0x01 ‖ table ‖ key` → value; key `0x02` → the next outbox id (u64 BE). A change updates the
//! count in the same transaction, so the count always matches the items.

use std::collections::BTreeMap;

use sled::transaction::TransactionalTree;

use crate::error::StoreError;
use crate::memory::lock;
use crate::side_tree::{Tx, abort, read_count, tx_read, untx};

/// Name of the sled tree holding the report tables.
pub const REPORTS_TREE: &[u8] = b"causerie.reports";
/// Largest value, in bytes (a report is at most 60,000; receipts add at most a few KiB).
pub const MAX_REPORT_VALUE_BYTES: usize = 98_304;
/// Longest key, in bytes.
pub const MAX_REPORT_KEY_BYTES: usize = 64;
/// Most entries one [`ReportStore::report_scan`] returns.
pub const MAX_REPORT_SCAN: usize = 256;

/// One entry of a table: its key (without the table) and value.
pub type ReportEntry = (Vec<u8>, Vec<u8>);

/// One of the report tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReportTable {
    /// Letters waiting for delivery.
    Outbox,
    /// Reports this node's users made.
    Sent,
    /// Reports delivered to this node.
    Received,
    /// Per reporter: counts and mute.
    Reporters,
}

impl ReportTable {
    const fn tag(self) -> u8 {
        match self {
            ReportTable::Outbox => 1,
            ReportTable::Sent => 2,
            ReportTable::Received => 3,
            ReportTable::Reporters => 4,
        }
    }

    /// Most entries the table holds.
    pub const fn max_items(self) -> usize {
        match self {
            ReportTable::Outbox => 4_096,
            ReportTable::Sent => 65_536,
            ReportTable::Received => 16_384,
            ReportTable::Reporters => 65_536,
        }
    }
}

/// The report tables. Both backends implement them.
pub trait ReportStore {
    /// Sets `key` to `value` in `table`, durably. A new key in a full table is refused with
    /// [`StoreError::ReportsFull`]; oversized keys or values with
    /// [`StoreError::ReportValueTooLarge`]. Nothing changes then.
    fn report_put(&self, table: ReportTable, key: &[u8], value: &[u8]) -> Result<(), StoreError>;
    /// The value of `key`, if held.
    fn report_get(&self, table: ReportTable, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Removes `key`, durably; `false` if it was not held.
    fn report_remove(&self, table: ReportTable, key: &[u8]) -> Result<bool, StoreError>;
    /// Entries whose key starts with `prefix`, in key order, strictly after `after` (a full
    /// key), at most `limit` (clamped to [`MAX_REPORT_SCAN`]).
    fn report_scan(
        &self,
        table: ReportTable,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<ReportEntry>, StoreError>;
    /// How many entries `table` holds.
    fn report_len(&self, table: ReportTable) -> Result<usize, StoreError>;
    /// A new outbox key (u64 BE), growing; durable with the next change.
    fn report_next_outbox_id(&self) -> Result<u64, StoreError>;
}

fn check_sizes(key: &[u8], value: &[u8]) -> Result<(), StoreError> {
    if key.is_empty() || key.len() > MAX_REPORT_KEY_BYTES || value.len() > MAX_REPORT_VALUE_BYTES {
        return Err(StoreError::ReportValueTooLarge {
            size: value.len().max(key.len()),
            max: MAX_REPORT_VALUE_BYTES,
        });
    }
    Ok(())
}

fn count_key(table: ReportTable) -> [u8; 2] {
    [0x00, table.tag()]
}

fn item_key(table: ReportTable, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + key.len());
    out.push(0x01);
    out.push(table.tag());
    out.extend_from_slice(key);
    out
}

const NEXT_OUTBOX: &[u8] = &[0x02];

fn tx_count(tree: &TransactionalTree, table: ReportTable) -> Tx<u64> {
    tx_read(tree, &count_key(table), |value| {
        read_count(value, "report table count")
    })
}

fn sled_put(
    tree: &sled::Tree,
    table: ReportTable,
    key: &[u8],
    value: &[u8],
) -> Result<(), StoreError> {
    check_sizes(key, value)?;
    let full = item_key(table, key);
    tree.transaction(|tx| {
        if tx.insert(&full[..], value)?.is_none() {
            let count = tx_count(tx, table)?;
            if count >= table.max_items() as u64 {
                return abort(StoreError::ReportsFull);
            }
            tx.insert(&count_key(table)[..], &(count + 1).to_be_bytes()[..])?;
        }
        Ok(())
    })
    .map_err(untx)
}

fn sled_remove(tree: &sled::Tree, table: ReportTable, key: &[u8]) -> Result<bool, StoreError> {
    let full = item_key(table, key);
    tree.transaction(|tx| {
        if tx.remove(&full[..])?.is_none() {
            return Ok(false);
        }
        let Some(count) = tx_count(tx, table)?.checked_sub(1) else {
            return abort(StoreError::corrupt(
                "report table count",
                "an item but a count of 0",
            ));
        };
        tx.insert(&count_key(table)[..], &count.to_be_bytes()[..])?;
        Ok(true)
    })
    .map_err(untx)
}

fn sled_scan(
    tree: &sled::Tree,
    table: ReportTable,
    prefix: &[u8],
    after: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<ReportEntry>, StoreError> {
    let start = item_key(table, prefix);
    let mut out = Vec::new();
    for entry in tree.scan_prefix(&start) {
        if out.len() >= limit.min(MAX_REPORT_SCAN) {
            break;
        }
        let (key, value) = entry?;
        let key = key
            .get(2..)
            .ok_or_else(|| StoreError::corrupt("report table", "short key"))?;
        if after.is_some_and(|after| key <= after) {
            continue;
        }
        out.push((key.to_vec(), value.to_vec()));
    }
    Ok(out)
}

impl ReportStore for crate::SledStore {
    fn report_put(&self, table: ReportTable, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.write_tree(
            REPORTS_TREE,
            |tree| sled_put(tree, table, key, value),
            |_| true,
        )
    }

    fn report_get(&self, table: ReportTable, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_tree(REPORTS_TREE, |tree| {
            Ok(tree.get(item_key(table, key))?.map(|v| v.to_vec()))
        })
    }

    fn report_remove(&self, table: ReportTable, key: &[u8]) -> Result<bool, StoreError> {
        self.write_tree(
            REPORTS_TREE,
            |tree| sled_remove(tree, table, key),
            |removed| *removed,
        )
    }

    fn report_scan(
        &self,
        table: ReportTable,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<ReportEntry>, StoreError> {
        self.with_tree(REPORTS_TREE, |tree| {
            sled_scan(tree, table, prefix, after, limit)
        })
    }

    fn report_len(&self, table: ReportTable) -> Result<usize, StoreError> {
        let value = self.with_tree(REPORTS_TREE, |tree| Ok(tree.get(count_key(table))?))?;
        let count = read_count(value.as_deref(), "report table count")?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    fn report_next_outbox_id(&self) -> Result<u64, StoreError> {
        let previous = self.with_tree(REPORTS_TREE, |tree| {
            Ok(tree.fetch_and_update(NEXT_OUTBOX, |old| {
                let next = old
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map_or(0, u64::from_be_bytes)
                    .saturating_add(1);
                Some(next.to_be_bytes().to_vec())
            })?)
        })?;
        read_count(previous.as_deref(), "next outbox id")
    }
}

/// The in-memory side, held by [`crate::MemoryStore`].
#[derive(Debug, Default)]
pub(crate) struct ReportTables {
    next_outbox: u64,
    items: BTreeMap<(ReportTable, Vec<u8>), Vec<u8>>,
    counts: BTreeMap<ReportTable, usize>,
}

impl ReportStore for crate::MemoryStore {
    fn report_put(&self, table: ReportTable, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        check_sizes(key, value)?;
        let mut tables = lock(&self.reports)?;
        let entry = (table, key.to_vec());
        if !tables.items.contains_key(&entry) {
            let count = tables.counts.entry(table).or_default();
            if *count >= table.max_items() {
                return Err(StoreError::ReportsFull);
            }
            *count += 1;
        }
        tables.items.insert(entry, value.to_vec());
        Ok(())
    }

    fn report_get(&self, table: ReportTable, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let tables = lock(&self.reports)?;
        Ok(tables.items.get(&(table, key.to_vec())).cloned())
    }

    fn report_remove(&self, table: ReportTable, key: &[u8]) -> Result<bool, StoreError> {
        let mut tables = lock(&self.reports)?;
        let removed = tables.items.remove(&(table, key.to_vec())).is_some();
        if removed {
            let count = tables.counts.entry(table).or_default();
            *count = count.saturating_sub(1);
        }
        Ok(removed)
    }

    fn report_scan(
        &self,
        table: ReportTable,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<ReportEntry>, StoreError> {
        let tables = lock(&self.reports)?;
        Ok(tables
            .items
            .range((table, prefix.to_vec())..)
            .take_while(|((t, k), _)| *t == table && k.starts_with(prefix))
            .filter(|((_, k), _)| after.is_none_or(|after| k.as_slice() > after))
            .take(limit.min(MAX_REPORT_SCAN))
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }

    fn report_len(&self, table: ReportTable) -> Result<usize, StoreError> {
        let tables = lock(&self.reports)?;
        Ok(tables.counts.get(&table).copied().unwrap_or(0))
    }

    fn report_next_outbox_id(&self) -> Result<u64, StoreError> {
        let mut tables = lock(&self.reports)?;
        let id = tables.next_outbox;
        tables.next_outbox += 1;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryStore, SledStore};

    fn exercise(store: &dyn ReportStore) {
        let t = ReportTable::Received;
        store.report_put(t, b"b1", b"one").unwrap();
        store.report_put(t, b"a1", b"zero").unwrap();
        store.report_put(t, b"b2", b"two").unwrap();
        store.report_put(t, b"b1", b"one again").unwrap();
        store
            .report_put(ReportTable::Sent, b"b3", b"other table")
            .unwrap();
        assert_eq!(store.report_len(t).unwrap(), 3);
        assert_eq!(store.report_get(t, b"b1").unwrap().unwrap(), b"one again");
        let scan = store.report_scan(t, b"b", None, 10).unwrap();
        assert_eq!(scan.len(), 2);
        assert_eq!(scan[0].0, b"b1");
        let after = store.report_scan(t, b"", Some(b"a1"), 10).unwrap();
        assert_eq!(after.len(), 2);
        assert!(store.report_remove(t, b"b1").unwrap());
        assert!(!store.report_remove(t, b"b1").unwrap());
        assert_eq!(store.report_len(t).unwrap(), 2);
        assert_eq!(store.report_len(ReportTable::Sent).unwrap(), 1);
        let first = store.report_next_outbox_id().unwrap();
        assert_eq!(store.report_next_outbox_id().unwrap(), first + 1);
        assert!(matches!(
            store.report_put(t, b"k", &vec![0; MAX_REPORT_VALUE_BYTES + 1]),
            Err(StoreError::ReportValueTooLarge { .. })
        ));
    }

    #[test]
    fn both_backends_keep_the_tables() {
        exercise(&MemoryStore::new());
        let dir = tempfile::tempdir().unwrap();
        exercise(&SledStore::open(dir.path()).unwrap());
    }

    #[test]
    fn a_full_table_refuses_new_keys_only() {
        let store = MemoryStore::new();
        let t = ReportTable::Outbox;
        for i in 0..t.max_items() as u64 {
            store.report_put(t, &i.to_be_bytes(), b"x").unwrap();
        }
        assert!(matches!(
            store.report_put(t, b"new", b"x"),
            Err(StoreError::ReportsFull)
        ));
        store.report_put(t, &0u64.to_be_bytes(), b"y").unwrap();
    }
}
