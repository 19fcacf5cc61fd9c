//! Indexes that are pure functions of the stored events: each room's topological order,
//! children, per-author, and the per-room status sets (rejected, soft-failed, outliers,
//! "outlier waits for").
//!
//! Both backends hold them in memory as ordered sets (`BTreeSet`/`BTreeMap`, so every page comes
//! out in key order whatever the insertion order). The memory backend has nothing else; the sled
//! backend does not write them to disk at all: it rebuilds them on open with one scan of the
//! event records (`sled_store.rs` explains why: one key write per accepted event). Since every
//! entry follows from an event and its status, the rebuild gives exactly what the commits built.
//!
//! The planner (`plan.rs`) emits these entries as [`Entry`] values; [`EventIndexes::insert`] and
//! [`EventIndexes::remove`] apply them, so both backends give each entry the same meaning.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use causerie_crypto::{Event, EventId, Hash32, RoomId, UserKey};

use crate::plan::{Entry, status_entries};
use crate::record::EventStatus;
use crate::traits::{Direction, Position, page_len};

const ID_MIN: EventId = EventId(Hash32([0; 32]));
const ID_MAX: EventId = EventId(Hash32([0xff; 32]));
const ROOM_MIN: RoomId = RoomId(Hash32([0; 32]));
const ROOM_MAX: RoomId = RoomId(Hash32([0xff; 32]));

/// The derived indexes of a set of stored events.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct EventIndexes {
    /// `(room, depth, event)`: each room's topological order.
    order: BTreeSet<(RoomId, u64, EventId)>,
    /// `(author, room, event)`.
    authors: BTreeSet<(UserKey, RoomId, EventId)>,
    /// `(parent, child)` for every `prev_events` link.
    children: BTreeSet<(EventId, EventId)>,
    /// Rejected events with their reason names.
    rejected: BTreeMap<(RoomId, EventId), String>,
    soft_failed: BTreeSet<(RoomId, EventId)>,
    /// Outliers with the events they still miss.
    outliers: BTreeMap<(RoomId, EventId), BTreeSet<EventId>>,
    /// `(missing, outlier)`.
    waiting: BTreeSet<(EventId, EventId)>,
}

/// Lower bound of the keys `(prefix, id)` strictly after `after`.
fn after_bound<P: Copy>(prefix: P, after: Option<&EventId>) -> Bound<(P, EventId)> {
    match after {
        Some(id) => Bound::Excluded((prefix, *id)),
        None => Bound::Included((prefix, ID_MIN)),
    }
}

impl EventIndexes {
    /// Adds every entry a stored `event` with `status` has: the same entries the planner emits
    /// for a `PutEvent` of a new event.
    pub(crate) fn add_event(&mut self, event: &Event, status: &EventStatus) {
        let id = event.id();
        let room = event.room_id();
        self.order.insert((room, event.depth(), id));
        self.authors.insert((*event.author(), room, id));
        for parent in event.prev_events() {
            self.children.insert((*parent, id));
        }
        for entry in status_entries(room, id, status) {
            self.insert(entry);
        }
    }

    /// Applies an index entry. Attestation entries are not held here (each backend keeps them
    /// its own way) and are ignored.
    pub(crate) fn insert(&mut self, entry: Entry) {
        match entry {
            Entry::Order { room, depth, event } => {
                self.order.insert((room, depth, event));
            }
            Entry::Author {
                author,
                room,
                event,
            } => {
                self.authors.insert((author, room, event));
            }
            Entry::Child { parent, child } => {
                self.children.insert((parent, child));
            }
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
                self.order.remove(&(*room, *depth, *event));
            }
            Entry::Author {
                author,
                room,
                event,
            } => {
                self.authors.remove(&(*author, *room, *event));
            }
            Entry::Child { parent, child } => {
                self.children.remove(&(*parent, *child));
            }
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

    /// Number of entries held (for integrity reports).
    pub(crate) fn len(&self) -> usize {
        self.order.len()
            + self.authors.len()
            + self.children.len()
            + self.rejected.len()
            + self.soft_failed.len()
            + self.outliers.len()
            + self.waiting.len()
    }

    /// Rooms with at least one stored event, in id order, after `after`.
    pub(crate) fn rooms(&self, after: Option<&RoomId>, limit: usize) -> Vec<RoomId> {
        let mut out = Vec::new();
        let mut cursor = after.copied();
        while out.len() < page_len(limit) {
            // Jump past every order entry of the previous room: one seek per room.
            let start = match cursor {
                Some(room) => Bound::Excluded((room, u64::MAX, ID_MAX)),
                None => Bound::Unbounded,
            };
            let Some((room, _, _)) = self.order.range((start, Bound::Unbounded)).next() else {
                break;
            };
            out.push(*room);
            cursor = Some(*room);
        }
        out
    }

    /// The room's events in topological order, strictly beyond `from`.
    pub(crate) fn events_by_depth(
        &self,
        room: &RoomId,
        from: Option<Position>,
        direction: Direction,
        limit: usize,
    ) -> Vec<Position> {
        let low = (*room, 0, ID_MIN);
        let high = (*room, u64::MAX, ID_MAX);
        let at = |p: Position| Bound::Excluded((*room, p.depth, p.event));
        let to_position = |(_, depth, event): &(RoomId, u64, EventId)| Position {
            depth: *depth,
            event: *event,
        };
        match direction {
            Direction::Forward => {
                let start = from.map_or(Bound::Included(low), at);
                self.order
                    .range((start, Bound::Included(high)))
                    .take(page_len(limit))
                    .map(to_position)
                    .collect()
            }
            Direction::Backward => {
                let end = from.map_or(Bound::Included(high), at);
                self.order
                    .range((Bound::Included(low), end))
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
        self.children
            .range((
                after_bound(*parent, after),
                Bound::Included((*parent, ID_MAX)),
            ))
            .take(page_len(limit))
            .map(|(_, child)| *child)
            .collect()
    }

    pub(crate) fn rejected(
        &self,
        room: &RoomId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Vec<(EventId, String)> {
        self.rejected
            .range((after_bound(*room, after), Bound::Included((*room, ID_MAX))))
            .take(page_len(limit))
            .map(|((_, id), reason)| (*id, reason.clone()))
            .collect()
    }

    pub(crate) fn soft_failed(
        &self,
        room: &RoomId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Vec<EventId> {
        self.soft_failed
            .range((after_bound(*room, after), Bound::Included((*room, ID_MAX))))
            .take(page_len(limit))
            .map(|(_, id)| *id)
            .collect()
    }

    pub(crate) fn outliers(
        &self,
        room: &RoomId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Vec<(EventId, BTreeSet<EventId>)> {
        self.outliers
            .range((after_bound(*room, after), Bound::Included((*room, ID_MAX))))
            .take(page_len(limit))
            .map(|((_, id), missing)| (*id, missing.clone()))
            .collect()
    }

    pub(crate) fn waiting_for(
        &self,
        missing: &EventId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Vec<EventId> {
        self.waiting
            .range((
                after_bound(*missing, after),
                Bound::Included((*missing, ID_MAX)),
            ))
            .take(page_len(limit))
            .map(|(_, id)| *id)
            .collect()
    }

    pub(crate) fn events_by_author(
        &self,
        author: &UserKey,
        after: Option<(RoomId, EventId)>,
        limit: usize,
    ) -> Vec<(RoomId, EventId)> {
        let start = match after {
            Some((room, id)) => Bound::Excluded((*author, room, id)),
            None => Bound::Included((*author, ROOM_MIN, ID_MIN)),
        };
        let end = Bound::Included((*author, ROOM_MAX, ID_MAX));
        self.authors
            .range((start, end))
            .take(page_len(limit))
            .map(|(_, room, id)| (*room, *id))
            .collect()
    }
}
