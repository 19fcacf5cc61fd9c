//! Indexes that are pure functions of the stored events: each room's topological order,
//! children, per-author, and the per-room status sets (rejected, soft-failed, outliers,
//! "outlier waits for").
//!
//! Both backends hold them in memory as ordered sets (`BTreeSet`/`BTreeMap`, so every page comes
//! out in key order whatever the insertion order), except the children index: sorted lists
//! found by parent through an [`IdMap`], which is never listed. The memory backend has nothing
//! else; the sled backend does not write them to disk at all: it rebuilds them on open with one
//! scan of the event records (`sled_store.rs` explains why: one key write per accepted event). Since every
//! entry follows from an event and its status, the rebuild gives exactly what the commits built.
//!
//! The planner (`plan.rs`) emits these entries as [`Entry`] values; [`EventIndexes::insert`] and
//! [`EventIndexes::remove`] apply them, so both backends give each entry the same meaning.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use causerie_crypto::{Event, EventId, Hash32, IdMap, RoomId, UserKey};

use crate::plan::{Entry, UserBytes, status_entries};
use crate::record::EventStatus;
use crate::traits::{Direction, Position, page_len};

const ID_MIN: EventId = EventId(Hash32([0; 32]));
const ID_MAX: EventId = EventId(Hash32([0xff; 32]));

/// The derived indexes of a set of stored events.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct EventIndexes {
    /// Room → `(depth, event)`: each room's topological order. Nested rather than one set of
    /// `(room, depth, event)` so an insert compares and shifts 40-byte keys, not 72-byte ones
    /// whose first 32 bytes are nearly always equal; no empty inner set is kept.
    order: BTreeMap<RoomId, BTreeSet<(u64, EventId)>>,
    /// Author → room → events, nested for the same reason (and a third of the memory).
    authors: BTreeMap<UserBytes, BTreeMap<RoomId, BTreeSet<EventId>>>,
    /// Number of entries in `order` and `authors` (for integrity reports).
    order_len: usize,
    authors_len: usize,
    /// Parent → its children (every `prev_events` link), each list sorted. Found by parent
    /// through an [`IdMap`] (never listed), so a new event's links cost a hash each rather than
    /// an ordered insert at a random place among all links.
    children: IdMap<EventId, Vec<EventId>>,
    /// Number of links in `children`.
    children_len: usize,
    /// Rejected events with their reason names.
    rejected: BTreeMap<(RoomId, EventId), String>,
    soft_failed: BTreeSet<(RoomId, EventId)>,
    /// Outliers with the events they still miss.
    outliers: BTreeMap<(RoomId, EventId), BTreeSet<EventId>>,
    /// `(missing, outlier)`.
    waiting: BTreeSet<(EventId, EventId)>,
}

/// The range of the keys `(prefix, id)` with `id` strictly after `after` (every id of the
/// prefix without one).
fn ids_after<P: Copy>(
    prefix: P,
    after: Option<&EventId>,
) -> impl std::ops::RangeBounds<(P, EventId)> {
    let start = match after {
        Some(id) => Bound::Excluded((prefix, *id)),
        None => Bound::Included((prefix, ID_MIN)),
    };
    (start, Bound::Included((prefix, ID_MAX)))
}

/// One page of the entries of `map` under `prefix`, strictly after `after`: `(id, value)`.
fn map_page<P: Ord + Copy, V: Clone>(
    map: &BTreeMap<(P, EventId), V>,
    prefix: P,
    after: Option<&EventId>,
    limit: usize,
) -> Vec<(EventId, V)> {
    map.range(ids_after(prefix, after))
        .take(page_len(limit))
        .map(|((_, id), value)| (*id, value.clone()))
        .collect()
}

/// One page of the ids of `set` under `prefix`, strictly after `after`.
fn set_page<P: Ord + Copy>(
    set: &BTreeSet<(P, EventId)>,
    prefix: P,
    after: Option<&EventId>,
    limit: usize,
) -> Vec<EventId> {
    set.range(ids_after(prefix, after))
        .take(page_len(limit))
        .map(|(_, id)| *id)
        .collect()
}

impl EventIndexes {
    /// Adds every entry a stored `event` with `status` has: the same entries the planner emits
    /// for a `PutEvent` of a new event.
    pub(crate) fn add_event(&mut self, event: &Event, status: &EventStatus) {
        let id = event.id();
        let room = event.room_id();
        self.insert_order(room, event.depth(), id);
        self.insert_author(*event.author().as_bytes(), room, id);
        for parent in event.prev_events() {
            self.insert_child(*parent, id);
        }
        for entry in status_entries(room, id, status) {
            self.insert(entry);
        }
    }

    /// Applies an index entry. Attestation entries are not held here (each backend keeps them
    /// its own way) and are ignored.
    pub(crate) fn insert(&mut self, entry: Entry) {
        match entry {
            Entry::Order { room, depth, event } => self.insert_order(room, depth, event),
            Entry::Author {
                author,
                room,
                event,
            } => self.insert_author(author, room, event),
            Entry::Child { parent, child } => self.insert_child(parent, child),
            Entry::Rejected {
                room,
                event,
                reason,
            } => {
                self.rejected.insert((room, event), reason);
            }
            Entry::SoftFailed { room, event } => {
                self.soft_failed.insert((room, event));
            }
            Entry::Outlier {
                room,
                event,
                missing,
            } => {
                self.outliers.insert((room, event), missing);
            }
            Entry::Waiting { missing, outlier } => {
                self.waiting.insert((missing, outlier));
            }
            Entry::AttestationOf { .. } => {}
        }
    }

    /// Removes an index entry (ignoring attestation entries, as [`Self::insert`]).
    pub(crate) fn remove(&mut self, entry: &Entry) {
        match entry {
            Entry::Order { room, depth, event } => {
                if let Some(events) = self.order.get_mut(room)
                    && events.remove(&(*depth, *event))
                {
                    self.order_len -= 1;
                    if events.is_empty() {
                        self.order.remove(room);
                    }
                }
            }
            Entry::Author {
                author,
                room,
                event,
            } => {
                if let Some(rooms) = self.authors.get_mut(author)
                    && let Some(events) = rooms.get_mut(room)
                    && events.remove(event)
                {
                    self.authors_len -= 1;
                    if events.is_empty() {
                        rooms.remove(room);
                        if rooms.is_empty() {
                            self.authors.remove(author);
                        }
                    }
                }
            }
            Entry::Child { parent, child } => self.remove_child(parent, child),
            Entry::Rejected { room, event, .. } => {
                self.rejected.remove(&(*room, *event));
            }
            Entry::SoftFailed { room, event } => {
                self.soft_failed.remove(&(*room, *event));
            }
            Entry::Outlier { room, event, .. } => {
                self.outliers.remove(&(*room, *event));
            }
            Entry::Waiting { missing, outlier } => {
                self.waiting.remove(&(*missing, *outlier));
            }
            Entry::AttestationOf { .. } => {}
        }
    }

    fn insert_order(&mut self, room: RoomId, depth: u64, event: EventId) {
        if self.order.entry(room).or_default().insert((depth, event)) {
            self.order_len += 1;
        }
    }

    fn insert_author(&mut self, author: UserBytes, room: RoomId, event: EventId) {
        let events = self
            .authors
            .entry(author)
            .or_default()
            .entry(room)
            .or_default();
        if events.insert(event) {
            self.authors_len += 1;
        }
    }

    /// Number of entries held (for integrity reports).
    pub(crate) fn len(&self) -> usize {
        self.order_len
            + self.authors_len
            + self.children_len
            + self.rejected.len()
            + self.soft_failed.len()
            + self.outliers.len()
            + self.waiting.len()
    }

    /// Rooms with at least one stored event, in id order, after `after`.
    pub(crate) fn rooms(&self, after: Option<&RoomId>, limit: usize) -> Vec<RoomId> {
        let start = after.map_or(Bound::Unbounded, |room| Bound::Excluded(*room));
        self.order
            .range((start, Bound::Unbounded))
            .take(page_len(limit))
            .map(|(room, _)| *room)
            .collect()
    }

    /// The room's events in topological order, strictly beyond `from`.
    pub(crate) fn events_by_depth(
        &self,
        room: &RoomId,
        from: Option<Position>,
        direction: Direction,
        limit: usize,
    ) -> Vec<Position> {
        let Some(events) = self.order.get(room) else {
            return Vec::new();
        };
        let at = |p: Position| Bound::Excluded((p.depth, p.event));
        let to_position = |(depth, event): &(u64, EventId)| Position {
            depth: *depth,
            event: *event,
        };
        match direction {
            Direction::Forward => {
                let start = from.map_or(Bound::Unbounded, at);
                events
                    .range((start, Bound::Unbounded))
                    .take(page_len(limit))
                    .map(to_position)
                    .collect()
            }
            Direction::Backward => {
                let end = from.map_or(Bound::Unbounded, at);
                events
                    .range((Bound::Unbounded, end))
                    .rev()
                    .take(page_len(limit))
                    .map(to_position)
                    .collect()
            }
        }
    }

    pub(crate) fn children(
        &self,
        parent: &EventId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Vec<EventId> {
        let Some(children) = self.children.get(parent) else {
            return Vec::new();
        };
        let start = after.map_or(0, |after| children.partition_point(|c| c <= after));
        children
            .iter()
            .skip(start)
            .take(page_len(limit))
            .copied()
            .collect()
    }

    fn insert_child(&mut self, parent: EventId, child: EventId) {
        match self.children.get_mut(&parent) {
            Some(children) => {
                if let Err(at) = children.binary_search(&child) {
                    children.insert(at, child);
                    self.children_len += 1;
                }
            }
            None => {
                self.children.insert(parent, vec![child]);
                self.children_len += 1;
            }
        }
    }

    fn remove_child(&mut self, parent: &EventId, child: &EventId) {
        let Some(children) = self.children.get_mut(parent) else {
            return;
        };
        if let Ok(at) = children.binary_search(child) {
            children.remove(at);
            self.children_len -= 1;
        }
        if children.is_empty() {
            self.children.remove(parent);
        }
    }

    pub(crate) fn rejected(
        &self,
        room: &RoomId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Vec<(EventId, String)> {
        map_page(&self.rejected, *room, after, limit)
    }

    pub(crate) fn soft_failed(
        &self,
        room: &RoomId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Vec<EventId> {
        set_page(&self.soft_failed, *room, after, limit)
    }

    pub(crate) fn outliers(
        &self,
        room: &RoomId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Vec<(EventId, BTreeSet<EventId>)> {
        map_page(&self.outliers, *room, after, limit)
    }

    pub(crate) fn waiting_for(
        &self,
        missing: &EventId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Vec<EventId> {
        set_page(&self.waiting, *missing, after, limit)
    }

    pub(crate) fn events_by_author(
        &self,
        author: &UserKey,
        after: Option<(RoomId, EventId)>,
        limit: usize,
    ) -> Vec<(RoomId, EventId)> {
        let Some(rooms) = self.authors.get(author.as_bytes()) else {
            return Vec::new();
        };
        let limit = page_len(limit);
        let mut out = Vec::new();
        // The cursor's room continues after the cursor's event; later rooms from their start.
        let first = after.map_or(Bound::Unbounded, |(room, _)| Bound::Included(room));
        for (room, events) in rooms.range((first, Bound::Unbounded)) {
            let start = match after {
                Some((after_room, id)) if after_room == *room => Bound::Excluded(id),
                _ => Bound::Unbounded,
            };
            for id in events.range((start, Bound::Unbounded)) {
                if out.len() == limit {
                    return out;
                }
                out.push((*room, *id));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> EventId {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&n.to_be_bytes());
        EventId(Hash32(bytes))
    }

    fn room(n: u8) -> RoomId {
        RoomId(Hash32([n; 32]))
    }

    /// The nested order and author indexes page exactly like flat sets of tuples would, from
    /// every cursor, in both directions, after inserts and removes.
    #[test]
    fn nested_indexes_page_like_flat_sets() {
        let authors: Vec<UserKey> = (1..=3u8)
            .map(|s| causerie_crypto::UserSecret::from_seed(&[s; 32]).public())
            .collect();
        let mut indexes = EventIndexes::default();
        let mut order = BTreeSet::new();
        let mut by_author = BTreeSet::new();
        // A fixed pseudo-random sequence (seed 7), so a failure replays.
        let mut x: u64 = 7;
        let mut next = |n: u64| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) % n
        };
        for step in 0..400u64 {
            let (r, depth, event) = (room(next(4) as u8), next(6), id(next(60)));
            let author = authors[next(3) as usize];
            let order_entry = Entry::Order {
                room: r,
                depth,
                event,
            };
            let author_entry = Entry::Author {
                author: *author.as_bytes(),
                room: r,
                event,
            };
            if step % 5 == 4 {
                indexes.remove(&order_entry);
                indexes.remove(&author_entry);
                order.remove(&(r, depth, event));
                by_author.remove(&(author, r, event));
            } else {
                indexes.insert(order_entry);
                indexes.insert(author_entry);
                order.insert((r, depth, event));
                by_author.insert((author, r, event));
            }
        }
        assert_eq!(indexes.len(), order.len() + by_author.len());
        let rooms: Vec<RoomId> = order
            .iter()
            .map(|(r, ..)| *r)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(indexes.rooms(None, 100), rooms);
        for (i, r) in rooms.iter().enumerate() {
            assert_eq!(
                indexes.rooms(Some(r), 1),
                rooms[i + 1..].iter().take(1).copied().collect::<Vec<_>>()
            );
        }
        for r in (0..5).map(room) {
            let all: Vec<Position> = order
                .iter()
                .filter(|(o, ..)| *o == r)
                .map(|(_, depth, event)| Position {
                    depth: *depth,
                    event: *event,
                })
                .collect();
            assert_eq!(
                indexes.events_by_depth(&r, None, Direction::Forward, 1_000),
                all
            );
            let mut reversed = all.clone();
            reversed.reverse();
            assert_eq!(
                indexes.events_by_depth(&r, None, Direction::Backward, 1_000),
                reversed
            );
            for (i, p) in all.iter().enumerate() {
                assert_eq!(
                    indexes.events_by_depth(&r, Some(*p), Direction::Forward, 3),
                    all[i + 1..].iter().take(3).copied().collect::<Vec<_>>()
                );
                assert_eq!(
                    indexes.events_by_depth(&r, Some(*p), Direction::Backward, 3),
                    all[..i].iter().rev().take(3).copied().collect::<Vec<_>>()
                );
            }
        }
        for author in &authors {
            let all: Vec<(RoomId, EventId)> = by_author
                .iter()
                .filter(|(a, ..)| a == author)
                .map(|(_, r, e)| (*r, *e))
                .collect();
            assert_eq!(indexes.events_by_author(author, None, 1_000), all);
            assert!(indexes.events_by_author(author, None, 0).is_empty());
            for (i, cursor) in all.iter().enumerate() {
                for limit in [1, 4, 1_000] {
                    assert_eq!(
                        indexes.events_by_author(author, Some(*cursor), limit),
                        all[i + 1..].iter().take(limit).copied().collect::<Vec<_>>()
                    );
                }
            }
            // A cursor that is not an entry still pages from the right place.
            let cursor = (room(2), id(30));
            assert_eq!(
                indexes.events_by_author(author, Some(cursor), 1_000),
                all.iter()
                    .filter(|e| **e > cursor)
                    .copied()
                    .collect::<Vec<_>>()
            );
        }
    }
}
