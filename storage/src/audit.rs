//! The audit log's storage (specs/accountability.md §4): an append-only sequence of entry bytes
//! numbered from 1, with the last entry's hash kept beside them so the next entry can chain to
//! it. The store does not decode entries (the node signs them and verifies them when it reads
//! them back); it only refuses an append whose seq is not the last one plus one, so two writers
//! can never fork the chain.
//!
//! Bounded: at most [`MAX_AUDIT_ENTRIES`] entries of at most [`MAX_AUDIT_ENTRY_BYTES`] each; a
//! full log refuses ([`StoreError::AuditFull`]): entries are never dropped or rewritten. Every
//! append is durable before it returns.
//!
//! sled layout: tree [`AUDIT_TREE`]; key `0x00` → last seq (u64 BE) ‖ last hash (32 bytes);
//! key `0x01 ‖ seq (u64 BE)` → the entry's bytes. An append writes both in one transaction.

use std::collections::BTreeMap;

use causerie_crypto::Hash32;
use sled::transaction::ConflictableTransactionError;

use crate::error::StoreError;
use crate::memory::lock;
use crate::side_tree::{array_at, array_from, seq_key, seq_page, tx_read, untx};

/// Name of the sled tree holding the audit log.
pub const AUDIT_TREE: &[u8] = b"causerie.audit";
/// Most entries the log holds.
pub const MAX_AUDIT_ENTRIES: u64 = 1 << 24;
/// Largest entry, in bytes (the crypto crate's cap on an encoded entry).
pub const MAX_AUDIT_ENTRY_BYTES: usize = causerie_crypto::audit::MAX_AUDIT_ENTRY_BYTES;
/// Most entries one [`AuditStore::audit_entries`] page returns.
pub const MAX_AUDIT_PAGE: usize = 1_000;

mod key {
    pub(super) const META: &[u8] = &[0x00];
    pub(super) const ENTRY: u8 = 0x01;
}

/// Where the log ends: its last entry's seq and hash (0 and zero bytes when empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditTip {
    /// The last entry's seq; 0 for the empty log.
    pub seq: u64,
    /// The last entry's hash; zero bytes for the empty log.
    pub hash: Hash32,
}

impl AuditTip {
    /// The empty log's tip.
    pub const EMPTY: AuditTip = AuditTip {
        seq: 0,
        hash: Hash32([0; 32]),
    };
}

/// The audit log. Both backends implement it.
pub trait AuditStore {
    /// Where the log ends.
    fn audit_tip(&self) -> Result<AuditTip, StoreError>;
    /// Appends entry `seq` with its `hash` and `bytes`, durably. Refuses with
    /// [`StoreError::AuditConflict`] unless `seq` is the tip's plus one, with
    /// [`StoreError::AuditFull`] at [`MAX_AUDIT_ENTRIES`], and with
    /// [`StoreError::AuditEntryTooLarge`] over [`MAX_AUDIT_ENTRY_BYTES`]; nothing changes then.
    fn audit_append(&self, seq: u64, hash: Hash32, bytes: &[u8]) -> Result<(), StoreError>;
    /// Entries `(seq, bytes)` in seq order, strictly after `after` (0: from the first), at most
    /// `limit` (clamped to [`MAX_AUDIT_PAGE`]).
    fn audit_entries(&self, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
}

fn check(tip: AuditTip, seq: u64, bytes: &[u8]) -> Result<(), StoreError> {
    if bytes.len() > MAX_AUDIT_ENTRY_BYTES {
        return Err(StoreError::AuditEntryTooLarge {
            size: bytes.len(),
            max: MAX_AUDIT_ENTRY_BYTES,
        });
    }
    if tip.seq >= MAX_AUDIT_ENTRIES {
        return Err(StoreError::AuditFull);
    }
    if Some(seq) != tip.seq.checked_add(1) {
        return Err(StoreError::AuditConflict {
            expected: tip.seq.saturating_add(1),
            found: seq,
        });
    }
    Ok(())
}

fn read_meta(value: Option<&[u8]>) -> Result<AuditTip, StoreError> {
    let Some(value) = value else {
        return Ok(AuditTip::EMPTY);
    };
    // Both parts found: exactly 40 bytes.
    let (Some(seq), Some(hash)) = (array_at(value, 0), array_from(value, 8)) else {
        return Err(StoreError::corrupt("audit meta", "not 40 bytes"));
    };
    Ok(AuditTip {
        seq: u64::from_be_bytes(seq),
        hash: Hash32(hash),
    })
}

fn meta_value(tip: AuditTip) -> [u8; 40] {
    let mut value = [0; 40];
    value[..8].copy_from_slice(&tip.seq.to_be_bytes());
    value[8..].copy_from_slice(&tip.hash.0);
    value
}

fn sled_tip(tree: &sled::Tree) -> Result<AuditTip, StoreError> {
    read_meta(tree.get(key::META)?.as_deref())
}

fn sled_append(tree: &sled::Tree, seq: u64, hash: Hash32, bytes: &[u8]) -> Result<(), StoreError> {
    tree.transaction(|tx| {
        let tip = tx_read(tx, key::META, read_meta)?;
        check(tip, seq, bytes).map_err(ConflictableTransactionError::Abort)?;
        tx.insert(&seq_key(key::ENTRY, seq)[..], bytes)?;
        tx.insert(key::META, &meta_value(AuditTip { seq, hash })[..])?;
        Ok(())
    })
    .map_err(untx)
}

fn sled_entries(
    tree: &sled::Tree,
    after: u64,
    limit: usize,
) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
    let Some(first) = after.checked_add(1) else {
        return Ok(Vec::new());
    };
    seq_page(
        tree,
        key::ENTRY,
        first,
        limit.min(MAX_AUDIT_PAGE),
        MAX_AUDIT_ENTRY_BYTES,
        "audit entry",
    )
}

/// The in-memory side, held by [`crate::MemoryStore`].
#[derive(Debug)]
pub(crate) struct AuditTables {
    tip: AuditTip,
    entries: BTreeMap<u64, Vec<u8>>,
}

impl Default for AuditTables {
    fn default() -> Self {
        AuditTables {
            tip: AuditTip::EMPTY,
            entries: BTreeMap::new(),
        }
    }
}

impl AuditStore for crate::MemoryStore {
    fn audit_tip(&self) -> Result<AuditTip, StoreError> {
        Ok(lock(&self.audit)?.tip)
    }

    fn audit_append(&self, seq: u64, hash: Hash32, bytes: &[u8]) -> Result<(), StoreError> {
        let mut tables = lock(&self.audit)?;
        check(tables.tip, seq, bytes)?;
        tables.entries.insert(seq, bytes.to_vec());
        tables.tip = AuditTip { seq, hash };
        Ok(())
    }

    fn audit_entries(&self, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let tables = lock(&self.audit)?;
        Ok(tables
            .entries
            .range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
            .take(limit.min(MAX_AUDIT_PAGE))
            .map(|(seq, bytes)| (*seq, bytes.clone()))
            .collect())
    }
}

impl AuditStore for crate::SledStore {
    fn audit_tip(&self) -> Result<AuditTip, StoreError> {
        self.with_tree(AUDIT_TREE, sled_tip)
    }

    fn audit_append(&self, seq: u64, hash: Hash32, bytes: &[u8]) -> Result<(), StoreError> {
        self.write_tree(
            AUDIT_TREE,
            |tree| sled_append(tree, seq, hash, bytes),
            |_| true,
        )
    }

    fn audit_entries(&self, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.with_tree(AUDIT_TREE, |tree| sled_entries(tree, after, limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(store: &dyn AuditStore) {
        assert_eq!(store.audit_tip().unwrap(), AuditTip::EMPTY);
        let err = store.audit_append(2, Hash32([1; 32]), b"x").unwrap_err();
        assert_eq!(err.reason(), "audit_conflict");
        for seq in 1..=5u64 {
            store
                .audit_append(seq, Hash32([seq as u8; 32]), &[seq as u8; 3])
                .unwrap();
        }
        let err = store.audit_append(5, Hash32([9; 32]), b"y").unwrap_err();
        assert_eq!(err.reason(), "audit_conflict");
        let big = vec![0; MAX_AUDIT_ENTRY_BYTES + 1];
        let err = store.audit_append(6, Hash32([9; 32]), &big).unwrap_err();
        assert_eq!(err.reason(), "audit_entry_too_large");
        assert_eq!(
            store.audit_tip().unwrap(),
            AuditTip {
                seq: 5,
                hash: Hash32([5; 32])
            }
        );
        let page = store.audit_entries(2, 2).unwrap();
        assert_eq!(page, vec![(3, vec![3; 3]), (4, vec![4; 3])]);
        assert_eq!(store.audit_entries(5, 10).unwrap(), Vec::new());
        assert_eq!(store.audit_entries(u64::MAX, 10).unwrap(), Vec::new());
    }

    #[test]
    fn both_backends_append_in_order_and_page() {
        exercise(&crate::MemoryStore::new());
        let dir = crate::test_stores::sled_dir_after(|store| exercise(store));
        // Durable across a reopen.
        let store = crate::SledStore::open(dir.path()).unwrap();
        assert_eq!(store.audit_tip().unwrap().seq, 5);
        assert_eq!(store.audit_entries(0, 100).unwrap().len(), 5);
    }
}
