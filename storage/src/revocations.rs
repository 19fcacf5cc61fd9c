//! Attestation revocations this node holds (specs/accountability.md §3): the signed statements
//! of home nodes, its own and those learned from peers, kept in arrival order so that a peer can
//! page through what it has not seen yet. The store keeps bytes only; the node verifies a
//! statement before adding it and again when it reads it back.
//!
//! Bounded: at most [`MAX_REVOCATIONS`] statements; a full table refuses a new one
//! (`revocations_full`), never drops an old one. Each add is durable before it returns; adding a
//! statement already held changes nothing.
//!
//! sled layout: tree [`REVOCATIONS_TREE`]; key `0x01 ‖ seq (u64 BE)` → the statement's bytes (at
//! most [`MAX_STORED_REVOCATION_BYTES`]); key `0x02 ‖ statement id (32 bytes)` → seq (u64 BE).
//! Both written in one transaction. Seqs increase with arrival: a new one follows the highest
//! stored, so they keep increasing across restarts, compaction and restores.

use std::collections::BTreeMap;

use crate::error::StoreError;
use crate::memory::lock;
use crate::side_tree::{Tx, seq_key, seq_page, untx};

/// Name of the sled tree holding revocations.
pub const REVOCATIONS_TREE: &[u8] = b"causerie.revocations";
/// Most statements held.
pub const MAX_REVOCATIONS: usize = 65_536;
/// Most statements one [`RevocationStore::revocations`] page returns.
pub const MAX_REVOCATION_PAGE: usize = 256;
/// Largest statement held, in bytes (the format's own cap).
pub const MAX_STORED_REVOCATION_BYTES: usize = 512;
/// How often one add picks a new seq when concurrent adds keep taking it.
const MAX_ADD_ATTEMPTS: usize = 8;

mod prefix {
    pub(super) const BY_SEQ: u8 = 0x01;
    pub(super) const BY_ID: u8 = 0x02;
}

/// Durable, bounded storage of revocation statements. Both backends implement it.
pub trait RevocationStore {
    /// Adds the statement `bytes` with id `id`, durably, and returns its seq; `None` when a
    /// statement with this id is already held (nothing changes). Refuses a statement over
    /// [`MAX_STORED_REVOCATION_BYTES`] (`too_large`) and a new one when [`MAX_REVOCATIONS`] are
    /// held (`revocations_full`).
    fn add_revocation(&self, id: &[u8; 32], bytes: &[u8]) -> Result<Option<u64>, StoreError>;
    /// Statements with a seq greater than `after`, in seq order, at most `limit` (clamped to
    /// [`MAX_REVOCATION_PAGE`]).
    fn revocations(&self, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
}

fn id_key(id: &[u8; 32]) -> [u8; 33] {
    let mut key = [0u8; 33];
    key[0] = prefix::BY_ID;
    key[1..].copy_from_slice(id);
    key
}

/// The highest seq stored, 0 when there is none.
fn last_seq(tree: &sled::Tree) -> Result<u64, StoreError> {
    match tree.scan_prefix([prefix::BY_SEQ]).next_back().transpose()? {
        Some((key, _)) => key
            .get(1..)
            .and_then(|seq| <[u8; 8]>::try_from(seq).ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| StoreError::corrupt("revocation", "bad key")),
        None => Ok(0),
    }
}

fn check_size(bytes: &[u8]) -> Result<(), StoreError> {
    if bytes.len() > MAX_STORED_REVOCATION_BYTES {
        return Err(StoreError::RevocationTooLarge {
            size: bytes.len(),
            max: MAX_STORED_REVOCATION_BYTES,
        });
    }
    Ok(())
}

/// The in-memory side, held by [`crate::MemoryStore`].
#[derive(Debug, Default)]
pub(crate) struct RevocationTables {
    by_seq: BTreeMap<u64, Vec<u8>>,
    by_id: BTreeMap<[u8; 32], u64>,
}

impl RevocationStore for crate::MemoryStore {
    fn add_revocation(&self, id: &[u8; 32], bytes: &[u8]) -> Result<Option<u64>, StoreError> {
        check_size(bytes)?;
        let mut tables = lock(&self.revocations)?;
        if tables.by_id.contains_key(id) {
            return Ok(None);
        }
        if tables.by_seq.len() >= MAX_REVOCATIONS {
            return Err(StoreError::RevocationsFull);
        }
        let seq = tables.by_seq.keys().next_back().map_or(1, |last| last + 1);
        tables.by_seq.insert(seq, bytes.to_vec());
        tables.by_id.insert(*id, seq);
        Ok(Some(seq))
    }

    fn revocations(&self, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let tables = lock(&self.revocations)?;
        Ok(tables
            .by_seq
            .range(after.saturating_add(1)..)
            .take(limit.min(MAX_REVOCATION_PAGE))
            .map(|(seq, bytes)| (*seq, bytes.clone()))
            .collect())
    }
}

impl RevocationStore for crate::SledStore {
    fn add_revocation(&self, id: &[u8; 32], bytes: &[u8]) -> Result<Option<u64>, StoreError> {
        check_size(bytes)?;
        let backing = self.backing()?;
        let tree = backing.db.open_tree(REVOCATIONS_TREE)?;
        if tree.contains_key(id_key(id))? {
            return Ok(None);
        }
        // Both prefixes share the tree: at most twice as many keys as statements.
        if tree.len() >= 2 * MAX_REVOCATIONS {
            return Err(StoreError::RevocationsFull);
        }
        // The next seq follows the last one stored, so it survives restarts, compaction and a
        // restore (sled's id counter does not: compaction copies the trees only). The
        // transaction refuses a seq another add took meanwhile, and the add tries again.
        let mut attempts = 0;
        let seq = loop {
            let seq = last_seq(&tree)?.saturating_add(1);
            let outcome = tree
                .transaction(|t| -> Tx<Option<bool>> {
                    if t.get(id_key(id))?.is_some() {
                        return Ok(Some(false));
                    }
                    if t.get(seq_key(prefix::BY_SEQ, seq))?.is_some() {
                        return Ok(None);
                    }
                    t.insert(&id_key(id)[..], &seq.to_be_bytes()[..])?;
                    t.insert(&seq_key(prefix::BY_SEQ, seq)[..], bytes)?;
                    Ok(Some(true))
                })
                .map_err(untx)?;
            match outcome {
                Some(true) => break seq,
                Some(false) => return Ok(None),
                None if attempts + 1 < MAX_ADD_ATTEMPTS => attempts += 1,
                None => return Err(StoreError::RevocationsBusy),
            }
        };
        // Flushed under the same hold of the database (see `side_tree.rs`).
        backing.db.flush()?;
        Ok(Some(seq))
    }

    fn revocations(&self, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.with_tree(REVOCATIONS_TREE, |tree| {
            seq_page(
                tree,
                prefix::BY_SEQ,
                after.saturating_add(1),
                limit.min(MAX_REVOCATION_PAGE),
                MAX_STORED_REVOCATION_BYTES,
                "revocation",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(store: &dyn RevocationStore) {
        assert!(store.revocations(0, 10).unwrap().is_empty());
        let first = store.add_revocation(&[1; 32], b"one").unwrap().unwrap();
        let second = store.add_revocation(&[2; 32], b"two").unwrap().unwrap();
        assert!(second > first);
        // Known again: nothing changes.
        assert_eq!(store.add_revocation(&[1; 32], b"one").unwrap(), None);
        let all = store.revocations(0, 10).unwrap();
        assert_eq!(
            all,
            vec![(first, b"one".to_vec()), (second, b"two".to_vec())]
        );
        assert_eq!(
            store.revocations(first, 10).unwrap(),
            vec![(second, b"two".to_vec())]
        );
        assert_eq!(store.revocations(0, 1).unwrap().len(), 1);
        let big = vec![0u8; MAX_STORED_REVOCATION_BYTES + 1];
        assert_eq!(
            store.add_revocation(&[3; 32], &big).unwrap_err().reason(),
            "too_large"
        );
    }

    #[test]
    fn memory_backend() {
        exercise(&crate::MemoryStore::new());
    }

    #[test]
    fn sled_backend_and_reopen() {
        let dir = crate::test_stores::sled_dir_after(|store| exercise(store));
        let store = crate::SledStore::open(dir.path()).unwrap();
        let all = store.revocations(0, 10).unwrap();
        assert_eq!(all.len(), 2);
        // Seqs keep increasing after a reopen.
        let third = store.add_revocation(&[4; 32], b"four").unwrap().unwrap();
        assert!(third > all[1].0);
    }

    #[test]
    fn seqs_keep_increasing_after_compaction() {
        let dir = crate::test_stores::sled_dir_after(|store| exercise(store));
        let store = crate::SledStore::open(dir.path()).unwrap();
        let before = store.revocations(0, 10).unwrap();
        store.compact().unwrap();
        // Compaction rewrites the database; a new statement must not take an old one's seq.
        let third = store.add_revocation(&[4; 32], b"four").unwrap().unwrap();
        assert!(third > before[1].0, "seq {third} after {:?}", before);
        let after = store.revocations(0, 10).unwrap();
        assert_eq!(after[..2], before[..]);
        assert_eq!(after[2], (third, b"four".to_vec()));
        // And the statements already held stay known.
        assert_eq!(store.add_revocation(&[1; 32], b"one").unwrap(), None);
    }
}
