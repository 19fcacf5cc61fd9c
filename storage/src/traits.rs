//! The storage interface, one small trait per domain, and [`Store`], which adds the write path.
//!
//! Paged reads take an exclusive cursor (`after` / `from`: the last item of the previous page)
//! and a `limit`, clamped to [`MAX_PAGE_LEN`], so no query returns an unbounded list.

use std::collections::BTreeSet;

use causerie_crypto::{Attestation, AttestationId, EventId, RoomId, UserKey};

use crate::accounts::AccountStore;
use crate::audit::AuditStore;
use crate::batch::{Applied, Durable, WriteBatch};
use crate::error::StoreError;
use crate::inbox::InboxStore;
use crate::record::StoredEvent;
use crate::records::RecordStore;
use crate::review::ReviewStore;
use crate::state::{SnapshotId, StateSnapshot};

/// Most items one paged query returns.
pub const MAX_PAGE_LEN: usize = 1_000;
/// Most forward extremities stored for one room. The room engine keeps the DAG far narrower;
/// this bounds what storage will hold whatever the caller does.
pub const MAX_EXTREMITIES: usize = 1_024;

/// A place in a room's topological order: by depth, then by event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// DAG depth.
    pub depth: u64,
    /// Event id (breaks ties between events of the same depth).
    pub event: EventId,
}

/// Which way a paged walk goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Increasing (depth, id): oldest first.
    Forward,
    /// Decreasing (depth, id): newest first.
    Backward,
}

/// Events by id.
pub trait EventStore {
    /// The event with its status and state pointer.
    fn event(&self, id: &EventId) -> Result<Option<StoredEvent>, StoreError>;
    /// Whether the event is stored (whatever its status).
    fn contains(&self, id: &EventId) -> Result<bool, StoreError>;
}

/// The shape of each room's DAG, and which events are outside its accepted part.
pub trait RoomDagStore {
    /// Rooms with at least one stored event (whatever its status), in id order, after `after`.
    fn rooms(&self, after: Option<&RoomId>, limit: usize) -> Result<Vec<RoomId>, StoreError>;
    /// The room's forward extremities (DAG tips), in id order; empty for an unknown room.
    fn extremities(&self, room: &RoomId) -> Result<BTreeSet<EventId>, StoreError>;
    /// Stored events that list `parent` in their `prev_events`, in id order, after `after`.
    fn children(
        &self,
        parent: &EventId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<EventId>, StoreError>;
    /// The room's stored events (every status) in topological order, strictly beyond `from`.
    fn events_by_depth(
        &self,
        room: &RoomId,
        from: Option<Position>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Position>, StoreError>;
    /// Rejected events of the room with their reason names, in id order, after `after`.
    fn rejected(
        &self,
        room: &RoomId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<(EventId, String)>, StoreError>;
    /// Soft-failed events of the room, in id order, after `after`.
    fn soft_failed(
        &self,
        room: &RoomId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<EventId>, StoreError>;
    /// Outliers of the room with the events they still miss, in id order, after `after`.
    fn outliers(
        &self,
        room: &RoomId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<(EventId, BTreeSet<EventId>)>, StoreError>;
    /// Outliers (of any room) that wait for `missing`, in id order, after `after`.
    fn waiting_for(
        &self,
        missing: &EventId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<EventId>, StoreError>;
}

/// Room state: content-addressed snapshots and the pointers to them.
pub trait StateStore {
    /// A stored snapshot.
    fn snapshot(&self, id: &SnapshotId) -> Result<Option<StateSnapshot>, StoreError>;
    /// The state before a stored event, if recorded.
    fn state_before(&self, event: &EventId) -> Result<Option<SnapshotId>, StoreError>;
    /// The room's current resolved state.
    fn current_state(&self, room: &RoomId) -> Result<Option<SnapshotId>, StoreError>;
}

/// Home-node attestations of user keys.
pub trait IdentityStore {
    /// An attestation by id (re-verified when read back from disk).
    fn attestation(&self, id: &AttestationId) -> Result<Option<Attestation>, StoreError>;
    /// Attestations of `user`, in id order, after `after`.
    fn attestations_for(
        &self,
        user: &UserKey,
        after: Option<&AttestationId>,
        limit: usize,
    ) -> Result<Vec<Attestation>, StoreError>;
}

/// Every event each author wrote, for data export and erasure.
pub trait AuthorIndex {
    /// `(room, event)` pairs written by `author`, in (room, event) order, after `after`.
    fn events_by_author(
        &self,
        author: &UserKey,
        after: Option<(RoomId, EventId)>,
        limit: usize,
    ) -> Result<Vec<(RoomId, EventId)>, StoreError>;
}

/// What one [`Store::compact`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactReport {
    /// Key-value pairs copied into the fresh database (0 for a backend with no files).
    pub entries: u64,
    /// Bytes of the store's files before.
    pub bytes_before: u64,
    /// Bytes of the store's files after.
    pub bytes_after: u64,
    /// How long it took, in milliseconds.
    pub millis: u64,
}

/// A complete store: every read trait plus the atomic write path.
pub trait Store:
    EventStore
    + RoomDagStore
    + StateStore
    + IdentityStore
    + AuthorIndex
    + AccountStore
    + InboxStore
    + ReviewStore
    + AuditStore
    + crate::reports::ReportStore
    + RecordStore
    + crate::revocations::RevocationStore
    + crate::aliases::AliasStore
    + crate::read_markers::ReadMarkerStore
    + Send
    + Sync
{
    /// Applies all `batches` atomically and makes them durable before returning. The returned
    /// receipt is the statement that the writes survive a crash: report an event as accepted only
    /// after this returns. Many events in one call share one flush (group commit).
    ///
    /// If any operation is inconsistent (a reference to an event or snapshot that is neither
    /// stored nor written earlier in the same call, a value out of bounds), nothing is written.
    fn commit(&self, batches: Vec<WriteBatch>) -> Result<Durable, StoreError>;

    /// Like [`Store::commit`] (atomic, visible to readers at once) but without waiting for stable
    /// storage. For bulk loads that end with [`Store::flush`].
    fn apply(&self, batches: Vec<WriteBatch>) -> Result<Applied, StoreError>;

    /// Makes everything applied so far durable.
    fn flush(&self) -> Result<Durable, StoreError>;

    /// Sequence number of the last batch applied (0 for an empty store).
    fn last_sequence(&self) -> Result<u64, StoreError>;

    /// Rewrites the store's files so that nothing it no longer holds (old versions of values,
    /// a redacted event's former content) remains in them. Commits wait while it runs. A
    /// backend without files does nothing.
    fn compact(&self) -> Result<CompactReport, StoreError>;

    /// Writes a backup file (format in [`crate::backup`]) to `out` as a stream: every tree's
    /// key-value pairs, then `files` (the node key). Commits wait while the trees are read, so
    /// the events are the state after one commit. A backend with no files refuses with
    /// `backup_unsupported`.
    fn backup(
        &self,
        out: &mut dyn std::io::Write,
        files: &[(&str, &[u8])],
    ) -> Result<crate::backup::BackupReport, crate::backup::BackupError>;
}

/// Clamps a requested page length to [`MAX_PAGE_LEN`].
pub(crate) fn page_len(limit: usize) -> usize {
    limit.min(MAX_PAGE_LEN)
}
