//! The reads answered from the in-memory [`EventIndexes`]: [`RoomDagStore`] and [`AuthorIndex`],
//! written once for both backends.
//!
//! Both backends hold the same indexes (see `index.rs`), so every DAG query but the extremities
//! (which each backend stores its own way) is the same lookup; a backend only says how to reach
//! its indexes ([`IndexedBackend`]) and gets the two traits from the blanket impls here.

use std::collections::BTreeSet;

use causerie_crypto::{EventId, RoomId, UserKey};

use crate::error::StoreError;
use crate::index::EventIndexes;
use crate::traits::{AuthorIndex, Direction, Position, RoomDagStore};

/// A backend that holds [`EventIndexes`] behind a lock.
pub(crate) trait IndexedBackend {
    /// Runs `read` on the indexes under the backend's read lock.
    fn with_indexes<R>(&self, read: impl FnOnce(&EventIndexes) -> R) -> Result<R, StoreError>;

    /// The room's stored forward extremities (empty for an unknown room).
    fn stored_extremities(&self, room: &RoomId) -> Result<BTreeSet<EventId>, StoreError>;
}

impl<B: IndexedBackend> RoomDagStore for B {
    fn rooms(&self, after: Option<&RoomId>, limit: usize) -> Result<Vec<RoomId>, StoreError> {
        self.with_indexes(|indexes| indexes.rooms(after, limit))
    }

    fn extremities(&self, room: &RoomId) -> Result<BTreeSet<EventId>, StoreError> {
        self.stored_extremities(room)
    }

    fn children(
        &self,
        parent: &EventId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<EventId>, StoreError> {
        self.with_indexes(|indexes| indexes.children(parent, after, limit))
    }

    fn events_by_depth(
        &self,
        room: &RoomId,
        from: Option<Position>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Position>, StoreError> {
        self.with_indexes(|indexes| indexes.events_by_depth(room, from, direction, limit))
    }

    fn rejected(
        &self,
        room: &RoomId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<(EventId, String)>, StoreError> {
        self.with_indexes(|indexes| indexes.rejected(room, after, limit))
    }

    fn soft_failed(
        &self,
        room: &RoomId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<EventId>, StoreError> {
        self.with_indexes(|indexes| indexes.soft_failed(room, after, limit))
    }

    fn outliers(
        &self,
        room: &RoomId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<(EventId, BTreeSet<EventId>)>, StoreError> {
        self.with_indexes(|indexes| indexes.outliers(room, after, limit))
    }

    fn waiting_for(
        &self,
        missing: &EventId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<EventId>, StoreError> {
        self.with_indexes(|indexes| indexes.waiting_for(missing, after, limit))
    }
}

impl<B: IndexedBackend> AuthorIndex for B {
    fn events_by_author(
        &self,
        author: &UserKey,
        after: Option<(RoomId, EventId)>,
        limit: usize,
    ) -> Result<Vec<(RoomId, EventId)>, StoreError> {
        self.with_indexes(|indexes| indexes.events_by_author(author, after, limit))
    }
}
