//! The inbox: items another node delivered to this one, outside any room (node letters:
//! specs/federation.md, request `deliver`; abuse reports travel this way). The store keeps each
//! item's bytes as given; the node decodes and verifies them when it reads them back.
//!
//! Bounded: at most [`MAX_INBOX_ITEMS`] items of at most [`MAX_INBOX_ITEM_BYTES`] each. A full
//! inbox refuses new items ([`StoreError::InboxFull`]) rather than dropping old ones: a report
//! once acknowledged is not lost to a flood; the sender may try again once items are removed.
//! Every push and removal is durable before it returns. Ids grow: reading in id order is
//! reading in arrival order.
//!
//! sled layout: tree [`INBOX_TREE`]; key `0x00` → next id (u64 BE) ‖ item count (u64 BE);
//! key `0x01 ‖ id (u64 BE)` → the item's bytes. A push or removal changes both in one
//! transaction, so the count always matches the items.

use std::collections::BTreeMap;

use sled::transaction::TransactionalTree;

use crate::error::StoreError;
use crate::memory::lock;
use crate::side_tree::{
    Tx, abort, next_and_count_value, read_next_and_count, seq_key, seq_page, tx_read, untx,
};

/// Name of the sled tree holding the inbox.
pub const INBOX_TREE: &[u8] = b"causerie.inbox";
/// Most items the inbox holds.
pub const MAX_INBOX_ITEMS: usize = 1_024;
/// Largest item, in bytes (a node letter is at most 70,000).
pub const MAX_INBOX_ITEM_BYTES: usize = 73_728;
/// Most items one [`InboxStore::inbox_items`] page returns.
pub const MAX_INBOX_PAGE: usize = 64;

mod key {
    pub(super) const META: &[u8] = &[0x00];
    pub(super) const ITEM: u8 = 0x01;
}

/// Where an item sits in the inbox; ids grow with arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InboxId(pub u64);

/// One item of the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxItem {
    /// Its id.
    pub id: InboxId,
    /// Its bytes, as pushed.
    pub bytes: Vec<u8>,
}

/// The inbox of items delivered to this node. Both backends implement it.
pub trait InboxStore {
    /// Appends `item` and makes it durable; returns its id. Refuses with
    /// [`StoreError::InboxFull`] when [`MAX_INBOX_ITEMS`] are held and with
    /// [`StoreError::InboxItemTooLarge`] over [`MAX_INBOX_ITEM_BYTES`]; nothing changes then.
    fn inbox_push(&self, item: &[u8]) -> Result<InboxId, StoreError>;
    /// Items in id order (oldest first), strictly after `after`, at most `limit` (clamped to
    /// [`MAX_INBOX_PAGE`]).
    fn inbox_items(
        &self,
        after: Option<InboxId>,
        limit: usize,
    ) -> Result<Vec<InboxItem>, StoreError>;
    /// Removes an item, durably; `false` if it was not there.
    fn inbox_remove(&self, id: InboxId) -> Result<bool, StoreError>;
    /// How many items are held.
    fn inbox_len(&self) -> Result<usize, StoreError>;
}

fn check_size(item: &[u8]) -> Result<(), StoreError> {
    if item.len() > MAX_INBOX_ITEM_BYTES {
        return Err(StoreError::InboxItemTooLarge {
            size: item.len(),
            max: MAX_INBOX_ITEM_BYTES,
        });
    }
    Ok(())
}

fn item_key(id: InboxId) -> [u8; 9] {
    seq_key(key::ITEM, id.0)
}

/// The sled side: next id and count, read from the meta key.
fn read_meta(value: Option<&[u8]>) -> Result<(u64, u64), StoreError> {
    read_next_and_count(value, MAX_INBOX_ITEMS, "inbox meta")
}

fn tx_meta(tree: &TransactionalTree) -> Tx<(u64, u64)> {
    tx_read(tree, key::META, read_meta)
}

pub(crate) fn sled_push(tree: &sled::Tree, item: &[u8]) -> Result<InboxId, StoreError> {
    check_size(item)?;
    tree.transaction(|tx| {
        let (next, count) = tx_meta(tx)?;
        if count >= MAX_INBOX_ITEMS as u64 {
            return abort(StoreError::InboxFull);
        }
        let Some(after) = next.checked_add(1) else {
            return abort(StoreError::corrupt("inbox meta", "ids exhausted"));
        };
        let id = InboxId(next);
        tx.insert(&item_key(id)[..], item)?;
        tx.insert(key::META, &next_and_count_value(after, count + 1)[..])?;
        Ok(id)
    })
    .map_err(untx)
}

pub(crate) fn sled_items(
    tree: &sled::Tree,
    after: Option<InboxId>,
    limit: usize,
) -> Result<Vec<InboxItem>, StoreError> {
    let first = match after {
        Some(InboxId(id)) => match id.checked_add(1) {
            Some(first) => first,
            None => return Ok(Vec::new()),
        },
        None => 0,
    };
    let page = seq_page(
        tree,
        key::ITEM,
        first,
        limit.min(MAX_INBOX_PAGE),
        MAX_INBOX_ITEM_BYTES,
        "inbox item",
    )?;
    Ok(page
        .into_iter()
        .map(|(id, bytes)| InboxItem {
            id: InboxId(id),
            bytes,
        })
        .collect())
}

pub(crate) fn sled_remove(tree: &sled::Tree, id: InboxId) -> Result<bool, StoreError> {
    tree.transaction(|tx| {
        if tx.remove(&item_key(id)[..])?.is_none() {
            return Ok(false);
        }
        let (next, count) = tx_meta(tx)?;
        let Some(count) = count.checked_sub(1) else {
            return abort(StoreError::corrupt(
                "inbox meta",
                "an item but a count of 0",
            ));
        };
        tx.insert(key::META, &next_and_count_value(next, count)[..])?;
        Ok(true)
    })
    .map_err(untx)
}

pub(crate) fn sled_len(tree: &sled::Tree) -> Result<usize, StoreError> {
    let value = tree.get(key::META)?;
    let (_, count) = read_meta(value.as_deref())?;
    // At most MAX_INBOX_ITEMS: checked by read_meta.
    Ok(usize::try_from(count).unwrap_or(MAX_INBOX_ITEMS))
}

/// The in-memory side, held by [`crate::MemoryStore`].
#[derive(Debug, Default)]
pub(crate) struct InboxTables {
    next: u64,
    items: BTreeMap<InboxId, Vec<u8>>,
}

impl InboxTables {
    fn push(&mut self, item: &[u8]) -> Result<InboxId, StoreError> {
        check_size(item)?;
        if self.items.len() >= MAX_INBOX_ITEMS {
            return Err(StoreError::InboxFull);
        }
        let id = InboxId(self.next);
        self.next += 1;
        self.items.insert(id, item.to_vec());
        Ok(id)
    }

    fn items(&self, after: Option<InboxId>, limit: usize) -> Vec<InboxItem> {
        let from = match after {
            Some(id) => std::ops::Bound::Excluded(id),
            None => std::ops::Bound::Unbounded,
        };
        self.items
            .range((from, std::ops::Bound::Unbounded))
            .take(limit.min(MAX_INBOX_PAGE))
            .map(|(id, bytes)| InboxItem {
                id: *id,
                bytes: bytes.clone(),
            })
            .collect()
    }
}

impl InboxStore for crate::MemoryStore {
    fn inbox_push(&self, item: &[u8]) -> Result<InboxId, StoreError> {
        lock(&self.inbox)?.push(item)
    }

    fn inbox_items(
        &self,
        after: Option<InboxId>,
        limit: usize,
    ) -> Result<Vec<InboxItem>, StoreError> {
        Ok(lock(&self.inbox)?.items(after, limit))
    }

    fn inbox_remove(&self, id: InboxId) -> Result<bool, StoreError> {
        Ok(lock(&self.inbox)?.items.remove(&id).is_some())
    }

    fn inbox_len(&self) -> Result<usize, StoreError> {
        Ok(lock(&self.inbox)?.items.len())
    }
}

impl InboxStore for crate::SledStore {
    fn inbox_push(&self, item: &[u8]) -> Result<InboxId, StoreError> {
        self.write_tree(INBOX_TREE, |tree| sled_push(tree, item), |_| true)
    }

    fn inbox_items(
        &self,
        after: Option<InboxId>,
        limit: usize,
    ) -> Result<Vec<InboxItem>, StoreError> {
        self.with_tree(INBOX_TREE, |tree| sled_items(tree, after, limit))
    }

    fn inbox_remove(&self, id: InboxId) -> Result<bool, StoreError> {
        self.write_tree(INBOX_TREE, |tree| sled_remove(tree, id), |removed| *removed)
    }

    fn inbox_len(&self) -> Result<usize, StoreError> {
        self.with_tree(INBOX_TREE, sled_len)
    }
}
