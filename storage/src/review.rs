//! The review queues: per room, the items a moderator of that room has to look at (events the
//! classifier held or flagged, and later reports; specs/moderation.md §7). The store keeps each
//! item's bytes as given; the node encodes and decodes the item record.
//!
//! Bounded: at most [`MAX_REVIEW_ITEMS_PER_ROOM`] items per room and [`MAX_REVIEW_ITEMS`] in
//! all, each at most [`MAX_REVIEW_ITEM_BYTES`]. A full queue refuses new items
//! ([`StoreError::ReviewFull`]) rather than dropping old ones: an item once queued is never lost
//! to a flood; the node then applies the room's fail mode to what it could not queue. Every push
//! and removal is durable before it returns. Ids grow per room: reading in id order is reading
//! in arrival order.
//!
//! sled layout: tree [`REVIEW_TREE`]; key `0x00` → total item count (u64 BE); key
//! `0x01 ‖ room (32 bytes)` → next id (u64 BE) ‖ the room's item count (u64 BE); key
//! `0x02 ‖ room (32 bytes) ‖ id (u64 BE)` → the item's bytes. A push or removal changes the
//! counts and the item in one transaction, so the counts always match the items.

use std::collections::BTreeMap;

use causerie_crypto::{Hash32, RoomId};
use sled::transaction::TransactionalTree;

use crate::error::StoreError;
use crate::memory::lock;
use crate::side_tree::{
    Tx, abort, array_at, array_from, next_and_count_value, read_count, read_next_and_count,
    tx_read, untx,
};

/// Name of the sled tree holding the review queues.
pub const REVIEW_TREE: &[u8] = b"causerie.review";
/// Most items one room's queue holds.
pub const MAX_REVIEW_ITEMS_PER_ROOM: usize = 1_024;
/// Most items all queues hold together.
pub const MAX_REVIEW_ITEMS: usize = 65_536;
/// Largest item, in bytes (an event is at most 65,536; the record adds at most a few KiB).
pub const MAX_REVIEW_ITEM_BYTES: usize = 81_920;
/// Most items one page returns.
pub const MAX_REVIEW_PAGE: usize = 100;

mod key {
    pub(super) const TOTAL: &[u8] = &[0x00];
    pub(super) const ROOM: u8 = 0x01;
    pub(super) const ITEM: u8 = 0x02;
}

/// Where an item sits in its room's queue; ids grow with arrival, per room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReviewId(pub u64);

/// One item of a review queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewItem {
    /// Its room.
    pub room: RoomId,
    /// Its id in the room's queue.
    pub id: ReviewId,
    /// Its bytes, as pushed.
    pub bytes: Vec<u8>,
}

/// The per-room review queues. Both backends implement it.
pub trait ReviewStore {
    /// Appends `item` to `room`'s queue and makes it durable; returns its id. Refuses with
    /// [`StoreError::ReviewFull`] when the room holds [`MAX_REVIEW_ITEMS_PER_ROOM`] items or all
    /// queues [`MAX_REVIEW_ITEMS`], and with [`StoreError::ReviewItemTooLarge`] over
    /// [`MAX_REVIEW_ITEM_BYTES`]; nothing changes then.
    fn review_push(&self, room: &RoomId, item: &[u8]) -> Result<ReviewId, StoreError>;
    /// `room`'s items in id order (oldest first), strictly after `after`, at most `limit`
    /// (clamped to [`MAX_REVIEW_PAGE`]).
    fn review_items(
        &self,
        room: &RoomId,
        after: Option<ReviewId>,
        limit: usize,
    ) -> Result<Vec<ReviewItem>, StoreError>;
    /// Items of every room in (room, id) order, strictly after `after`, at most `limit`
    /// (clamped to [`MAX_REVIEW_PAGE`]): how a node reloads what its queues hide.
    fn review_all(
        &self,
        after: Option<(RoomId, ReviewId)>,
        limit: usize,
    ) -> Result<Vec<ReviewItem>, StoreError>;
    /// One item, if queued.
    fn review_item(&self, room: &RoomId, id: ReviewId) -> Result<Option<ReviewItem>, StoreError>;
    /// Removes an item, durably; `false` if it was not there.
    fn review_remove(&self, room: &RoomId, id: ReviewId) -> Result<bool, StoreError>;
    /// How many items `room`'s queue holds.
    fn review_len(&self, room: &RoomId) -> Result<usize, StoreError>;
}

fn check_size(item: &[u8]) -> Result<(), StoreError> {
    if item.len() > MAX_REVIEW_ITEM_BYTES {
        return Err(StoreError::ReviewItemTooLarge {
            size: item.len(),
            max: MAX_REVIEW_ITEM_BYTES,
        });
    }
    Ok(())
}

fn room_key(room: &RoomId) -> [u8; 33] {
    let mut key = [key::ROOM; 33];
    key[1..].copy_from_slice(&room.0.0);
    key
}

fn item_key(room: &RoomId, id: ReviewId) -> [u8; 41] {
    let mut key = [key::ITEM; 41];
    key[1..33].copy_from_slice(&room.0.0);
    key[33..].copy_from_slice(&id.0.to_be_bytes());
    key
}

fn parse_item_key(key: &[u8]) -> Result<(RoomId, ReviewId), StoreError> {
    let (Some(room), Some(id)) = (array_at(key, 1), array_from(key, 33)) else {
        return Err(StoreError::corrupt("review item", "bad key"));
    };
    Ok((RoomId(Hash32(room)), ReviewId(u64::from_be_bytes(id))))
}

/// A room's next id and item count, from its meta key.
fn read_room_meta(value: Option<&[u8]>) -> Result<(u64, u64), StoreError> {
    read_next_and_count(value, MAX_REVIEW_ITEMS_PER_ROOM, "review room meta")
}

fn read_total(value: Option<&[u8]>) -> Result<u64, StoreError> {
    let total = read_count(value, "review total")?;
    if total > MAX_REVIEW_ITEMS as u64 {
        return Err(StoreError::corrupt("review total", "out of bounds"));
    }
    Ok(total)
}

fn tx_room_meta(tree: &TransactionalTree, room: &RoomId) -> Tx<(u64, u64)> {
    tx_read(tree, &room_key(room), read_room_meta)
}

fn tx_total(tree: &TransactionalTree) -> Tx<u64> {
    tx_read(tree, key::TOTAL, read_total)
}

fn sled_push(tree: &sled::Tree, room: &RoomId, item: &[u8]) -> Result<ReviewId, StoreError> {
    check_size(item)?;
    tree.transaction(|tx| {
        let (next, count) = tx_room_meta(tx, room)?;
        let total = tx_total(tx)?;
        if count >= MAX_REVIEW_ITEMS_PER_ROOM as u64 || total >= MAX_REVIEW_ITEMS as u64 {
            return abort(StoreError::ReviewFull);
        }
        let Some(after) = next.checked_add(1) else {
            return abort(StoreError::corrupt("review room meta", "ids exhausted"));
        };
        let id = ReviewId(next);
        tx.insert(&item_key(room, id)[..], item)?;
        tx.insert(
            &room_key(room)[..],
            &next_and_count_value(after, count + 1)[..],
        )?;
        tx.insert(key::TOTAL, &(total + 1).to_be_bytes()[..])?;
        Ok(id)
    })
    .map_err(untx)
}

fn sled_page(
    tree: &sled::Tree,
    start: Vec<u8>,
    end: Vec<u8>,
    limit: usize,
) -> Result<Vec<ReviewItem>, StoreError> {
    let limit = limit.min(MAX_REVIEW_PAGE);
    let mut out = Vec::with_capacity(limit);
    for entry in tree.range(start..end).take(limit) {
        let (k, value) = entry?;
        let (room, id) = parse_item_key(&k)?;
        out.push(stored_item(room, id, &value)?);
    }
    Ok(out)
}

/// The item stored as `value` under `(room, id)`; over the size limit it is corrupt.
fn stored_item(room: RoomId, id: ReviewId, value: &[u8]) -> Result<ReviewItem, StoreError> {
    check_size(value).map_err(|_| StoreError::corrupt("review item", "over the size limit"))?;
    Ok(ReviewItem {
        room,
        id,
        bytes: value.to_vec(),
    })
}

/// The first key strictly after `(room, id)`, or `None` past the last possible item.
fn key_after(room: &RoomId, id: ReviewId) -> Vec<u8> {
    match id.0.checked_add(1) {
        Some(next) => item_key(room, ReviewId(next)).to_vec(),
        // Past the room's last possible id: the room's prefix followed by 0xff... sorts after
        // every item of the room.
        None => {
            let mut key = item_key(room, ReviewId(u64::MAX)).to_vec();
            key.push(0);
            key
        }
    }
}

fn sled_items(
    tree: &sled::Tree,
    room: &RoomId,
    after: Option<ReviewId>,
    limit: usize,
) -> Result<Vec<ReviewItem>, StoreError> {
    let start = match after {
        Some(id) => key_after(room, id),
        None => item_key(room, ReviewId(0)).to_vec(),
    };
    let mut end = item_key(room, ReviewId(u64::MAX)).to_vec();
    end.push(0);
    sled_page(tree, start, end, limit)
}

fn sled_all(
    tree: &sled::Tree,
    after: Option<(RoomId, ReviewId)>,
    limit: usize,
) -> Result<Vec<ReviewItem>, StoreError> {
    let start = match after {
        Some((room, id)) => key_after(&room, id),
        None => vec![key::ITEM],
    };
    sled_page(tree, start, vec![key::ITEM + 1], limit)
}

fn sled_remove(tree: &sled::Tree, room: &RoomId, id: ReviewId) -> Result<bool, StoreError> {
    tree.transaction(|tx| {
        if tx.remove(&item_key(room, id)[..])?.is_none() {
            return Ok(false);
        }
        let (next, count) = tx_room_meta(tx, room)?;
        let total = tx_total(tx)?;
        let (Some(count), Some(total)) = (count.checked_sub(1), total.checked_sub(1)) else {
            return abort(StoreError::corrupt(
                "review room meta",
                "an item but a count of 0",
            ));
        };
        tx.insert(&room_key(room)[..], &next_and_count_value(next, count)[..])?;
        tx.insert(key::TOTAL, &total.to_be_bytes()[..])?;
        Ok(true)
    })
    .map_err(untx)
}

/// The in-memory side, held by [`crate::MemoryStore`].
#[derive(Debug, Default)]
pub(crate) struct ReviewTables {
    next: BTreeMap<RoomId, u64>,
    items: BTreeMap<(RoomId, ReviewId), Vec<u8>>,
}

impl ReviewTables {
    fn len(&self, room: &RoomId) -> usize {
        self.items
            .range((*room, ReviewId(0))..=(*room, ReviewId(u64::MAX)))
            .count()
    }

    fn push(&mut self, room: &RoomId, item: &[u8]) -> Result<ReviewId, StoreError> {
        check_size(item)?;
        if self.len(room) >= MAX_REVIEW_ITEMS_PER_ROOM || self.items.len() >= MAX_REVIEW_ITEMS {
            return Err(StoreError::ReviewFull);
        }
        let next = self.next.entry(*room).or_default();
        let id = ReviewId(*next);
        *next += 1;
        self.items.insert((*room, id), item.to_vec());
        Ok(id)
    }

    fn page(
        &self,
        from: std::ops::Bound<(RoomId, ReviewId)>,
        only: Option<&RoomId>,
        limit: usize,
    ) -> Vec<ReviewItem> {
        self.items
            .range((from, std::ops::Bound::Unbounded))
            .take_while(|((room, _), _)| only.is_none_or(|only| only == room))
            .take(limit.min(MAX_REVIEW_PAGE))
            .map(|((room, id), bytes)| ReviewItem {
                room: *room,
                id: *id,
                bytes: bytes.clone(),
            })
            .collect()
    }
}

impl ReviewStore for crate::MemoryStore {
    fn review_push(&self, room: &RoomId, item: &[u8]) -> Result<ReviewId, StoreError> {
        self.review
            .lock()
            .map_err(|_| StoreError::Poisoned)?
            .push(room, item)
    }

    fn review_items(
        &self,
        room: &RoomId,
        after: Option<ReviewId>,
        limit: usize,
    ) -> Result<Vec<ReviewItem>, StoreError> {
        use std::ops::Bound;
        let tables = lock(&self.review)?;
        let from = match after {
            Some(id) => Bound::Excluded((*room, id)),
            None => Bound::Included((*room, ReviewId(0))),
        };
        Ok(tables.page(from, Some(room), limit))
    }

    fn review_all(
        &self,
        after: Option<(RoomId, ReviewId)>,
        limit: usize,
    ) -> Result<Vec<ReviewItem>, StoreError> {
        use std::ops::Bound;
        let tables = lock(&self.review)?;
        let from = match after {
            Some(key) => Bound::Excluded(key),
            None => Bound::Unbounded,
        };
        Ok(tables.page(from, None, limit))
    }

    fn review_item(&self, room: &RoomId, id: ReviewId) -> Result<Option<ReviewItem>, StoreError> {
        let tables = lock(&self.review)?;
        Ok(tables.items.get(&(*room, id)).map(|bytes| ReviewItem {
            room: *room,
            id,
            bytes: bytes.clone(),
        }))
    }

    fn review_remove(&self, room: &RoomId, id: ReviewId) -> Result<bool, StoreError> {
        let mut tables = lock(&self.review)?;
        Ok(tables.items.remove(&(*room, id)).is_some())
    }

    fn review_len(&self, room: &RoomId) -> Result<usize, StoreError> {
        let tables = lock(&self.review)?;
        Ok(tables.len(room))
    }
}

impl ReviewStore for crate::SledStore {
    fn review_push(&self, room: &RoomId, item: &[u8]) -> Result<ReviewId, StoreError> {
        self.write_tree(REVIEW_TREE, |tree| sled_push(tree, room, item), |_| true)
    }

    fn review_items(
        &self,
        room: &RoomId,
        after: Option<ReviewId>,
        limit: usize,
    ) -> Result<Vec<ReviewItem>, StoreError> {
        self.with_tree(REVIEW_TREE, |tree| sled_items(tree, room, after, limit))
    }

    fn review_all(
        &self,
        after: Option<(RoomId, ReviewId)>,
        limit: usize,
    ) -> Result<Vec<ReviewItem>, StoreError> {
        self.with_tree(REVIEW_TREE, |tree| sled_all(tree, after, limit))
    }

    fn review_item(&self, room: &RoomId, id: ReviewId) -> Result<Option<ReviewItem>, StoreError> {
        let value = self.with_tree(REVIEW_TREE, |tree| Ok(tree.get(item_key(room, id))?))?;
        value
            .map(|value| stored_item(*room, id, &value))
            .transpose()
    }

    fn review_remove(&self, room: &RoomId, id: ReviewId) -> Result<bool, StoreError> {
        self.write_tree(
            REVIEW_TREE,
            |tree| sled_remove(tree, room, id),
            |removed| *removed,
        )
    }

    fn review_len(&self, room: &RoomId) -> Result<usize, StoreError> {
        let value = self.with_tree(REVIEW_TREE, |tree| Ok(tree.get(room_key(room))?))?;
        let (_, count) = read_room_meta(value.as_deref())?;
        // At most MAX_REVIEW_ITEMS_PER_ROOM: checked by read_room_meta.
        Ok(usize::try_from(count).unwrap_or(MAX_REVIEW_ITEMS_PER_ROOM))
    }
}
