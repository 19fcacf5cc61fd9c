//! `causerie-storage`: where a Causerie node keeps events, room DAG indexes, state snapshots,
//! identities and the per-author index, behind small traits with two backends.
//!
//! Layout:
//! - [`traits`]: one read trait per domain ([`EventStore`], [`RoomDagStore`], [`StateStore`],
//!   [`IdentityStore`], [`AuthorIndex`]) and [`Store`], which adds the atomic, flushed write path.
//! - [`batch`]: [`WriteBatch`], the typed operations of a commit, and the receipts
//!   [`Durable`] / [`Applied`].
//! - [`record`]: [`StoredEvent`] and [`EventStatus`] (accepted, soft-failed, rejected, outlier).
//! - [`state`]: content-addressed state snapshots ([`StateSnapshot`], [`SnapshotId`]).
//! - `plan` (private): turns batches into checked writes; shared by both backends so they
//!   agree on what every operation means.
//! - `index` (private): the indexes that are pure functions of the stored events (room order,
//!   children, per-author, status sets), held in memory by both backends; the sled backend
//!   rebuilds them on open from its records.
//! - `index_reads` (private): [`RoomDagStore`] and [`AuthorIndex`] answered from those indexes,
//!   once for both backends.
//! - [`sled_store`]: the on-disk backend (sled 0.34): event records in chunks, about one sled
//!   key per 6 KiB of new events; its key layout, memory and open costs, and integrity check.
//! - [`memory`]: the in-memory backend for tests and simulations.
//! - [`accounts`]: [`AccountStore`], the users this node is the home node of (handle, display
//!   name, issued attestation); written one at a time, flushed.
//! - [`inbox`]: [`InboxStore`], items other nodes delivered to this one (node letters), bounded
//!   and durable; a full inbox refuses.
//! - [`reports`]: [`ReportStore`], the bounded, durable report tables (outbox of letters to
//!   deliver, reports made, reports received, reporters).
//! - [`review`]: [`ReviewStore`], the per-room review queues (held and flagged events),
//!   bounded and durable; a full queue refuses.
//! - [`audit`]: [`AuditStore`], the node's append-only audit log (entry bytes by seq, the
//!   last hash beside them); bounded and durable; an append out of order is refused.
//! - [`records`]: [`RecordStore`], the registration records of the users this node attests
//!   (registration time, connections, contact data); never gossiped, changed atomically and
//!   durably, field by field as retention runs out.
//! - [`revocations`]: [`RevocationStore`], the attestation revocations the node holds (its own
//!   and its peers'), in arrival order; bounded and durable.
//! - [`aliases`]: [`AliasStore`], the room aliases the node gives in its own namespace; bounded
//!   and durable.
//! - [`read_markers`]: [`ReadMarkerStore`], each local user's read marker per room (only moves
//!   forward); bounded and durable.
//! - [`backup`]: backup files (every tree's pairs and the node key, framed, versioned,
//!   checksummed), written by [`Store::backup`] and restored by [`backup::restore_sled`].
//! - `side_tree` (private): what the sled side of those bounded, durable trees shares (one
//!   operation on a tree under one hold of the database, transaction glue, `tag ‖ u64` pages,
//!   counters).
//! - [`error`]: [`StoreError`], each variant with a stable reason name.
//! - `tests/crash.rs` with `tests/support/crash_writer.rs`: the SIGKILL recovery test (its
//!   writer runs in a child copy of the test binary).
//!
//! The store is node-local, so there is no wire spec for it: the on-disk layout is specified in
//! [`sled_store`]; the events it holds are specified in `specs/events.md`, attestations in
//! `specs/identity.md`, and the statuses (soft-fail, rejection, outliers) come from
//! `specs/rooms.md`.
//!
//! Durability contract: [`Store::commit`] returns a [`Durable`] receipt only after the writes
//! are on stable storage, and a node reports an event as accepted only after that. One commit
//! carries many events and costs one flush (group commit).

pub mod accounts;
pub mod aliases;
pub mod audit;
pub mod backup;
pub mod batch;
pub mod error;
pub mod inbox;
mod index;
mod index_reads;
pub mod memory;
mod plan;
pub mod read_markers;
pub mod record;
pub mod records;
pub mod reports;
pub mod review;
pub mod revocations;
mod side_tree;
pub mod sled_store;
pub mod state;
#[cfg(test)]
mod test_stores;
#[cfg(feature = "testing")]
pub mod testing;
pub mod traits;

pub use accounts::{Account, AccountStore, MAX_DISPLAY_NAME_BYTES};
pub use aliases::{AliasStore, MAX_ALIASES};
pub use audit::{AuditStore, AuditTip, MAX_AUDIT_ENTRIES, MAX_AUDIT_PAGE};
pub use batch::{Applied, Durable, WriteBatch, WriteOp};
pub use error::StoreError;
pub use inbox::{
    InboxId, InboxItem, InboxStore, MAX_INBOX_ITEM_BYTES, MAX_INBOX_ITEMS, MAX_INBOX_PAGE,
};
pub use memory::MemoryStore;
pub use read_markers::{ReadMarker, ReadMarkerStore};
pub use record::{EventStatus, MAX_MISSING_PARENTS, MAX_REASON_BYTES, StoredEvent};
pub use records::{
    Connection, ConnectionKind, Contact, MAX_ADDRESS_BYTES, MAX_CONNECTIONS, MAX_CONTACT_BYTES,
    MAX_RECORD_BYTES, MAX_RECORD_PAGE, RecordStore, RegistrationRecord,
};
pub use reports::{
    MAX_REPORT_KEY_BYTES, MAX_REPORT_SCAN, MAX_REPORT_VALUE_BYTES, ReportEntry, ReportStore,
    ReportTable,
};
pub use review::{
    MAX_REVIEW_ITEM_BYTES, MAX_REVIEW_ITEMS, MAX_REVIEW_ITEMS_PER_ROOM, MAX_REVIEW_PAGE, ReviewId,
    ReviewItem, ReviewStore,
};
pub use revocations::{MAX_REVOCATION_PAGE, MAX_REVOCATIONS, RevocationStore};
pub use sled_store::{IntegrityReport, SledStore};
pub use state::{MAX_SNAPSHOT_BYTES, MAX_STATE_ENTRIES, SnapshotId, StateMap, StateSnapshot};
pub use traits::{
    AuthorIndex, CompactReport, Direction, EventStore, IdentityStore, MAX_EXTREMITIES,
    MAX_PAGE_LEN, Position, RoomDagStore, StateStore, Store,
};
