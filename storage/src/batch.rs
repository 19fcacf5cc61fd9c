//! The write side: a [`WriteBatch`] is a list of typed operations built by the caller and applied
//! atomically by [`crate::Store::commit`].
//!
//! Indexes that are pure functions of an event (room order, author, children) are written by
//! [`WriteOp::PutEvent`] itself, and the per-room status sets follow the status, so a caller
//! cannot forget one of them. Operations apply in order: a later operation sees the effect of
//! earlier ones in the same commit (an event put in batch 1 can get its state pointer in batch 3).

use std::collections::BTreeSet;

use causerie_crypto::{Attestation, Event, EventId, RoomId};

use crate::record::EventStatus;
use crate::state::{SnapshotId, StateSnapshot};

/// One write.
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// Stores an event with a status. Also indexes it by (room, depth), by author and as a child
    /// of each of its `prev_events`. If the event is already stored, its bytes are replaced (the
    /// redacted form keeps the id) and its status is set; its state pointer is kept.
    PutEvent {
        /// The event.
        event: Event,
        /// Its status.
        status: EventStatus,
    },
    /// Changes the status of a stored event (outlier → accepted, accepted → soft-failed, ...).
    SetStatus {
        /// The event.
        event: EventId,
        /// The new status.
        status: EventStatus,
    },
    /// Records the state before a stored event. The snapshot must be stored or put in the same
    /// commit.
    SetStateBefore {
        /// The event.
        event: EventId,
        /// The state before it.
        snapshot: SnapshotId,
    },
    /// Stores a state snapshot (no-op if already stored).
    PutSnapshot(StateSnapshot),
    /// Sets a room's current resolved state.
    SetCurrentState {
        /// The room.
        room: RoomId,
        /// The snapshot, stored or put in the same commit.
        snapshot: SnapshotId,
    },
    /// Replaces a room's forward extremities (DAG tips). Each must be a stored event when the
    /// commit ends; at most [`crate::MAX_EXTREMITIES`].
    SetExtremities {
        /// The room.
        room: RoomId,
        /// The tips.
        tips: BTreeSet<EventId>,
    },
    /// Stores an attestation, indexed by its id and by user key (no-op if already stored).
    PutAttestation(Attestation),
}

/// An ordered list of writes, applied all-or-nothing with the other batches of its commit.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    ops: Vec<WriteOp>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        WriteBatch::default()
    }

    /// An empty batch with room for `ops` operations (a group commit knows its size).
    pub fn with_capacity(ops: usize) -> Self {
        WriteBatch {
            ops: Vec::with_capacity(ops),
        }
    }

    /// Appends an operation.
    pub fn push(&mut self, op: WriteOp) -> &mut Self {
        self.ops.push(op);
        self
    }

    /// Appends [`WriteOp::PutEvent`].
    pub fn put_event(&mut self, event: Event, status: EventStatus) -> &mut Self {
        self.push(WriteOp::PutEvent { event, status })
    }

    /// Appends [`WriteOp::SetStatus`].
    pub fn set_status(&mut self, event: EventId, status: EventStatus) -> &mut Self {
        self.push(WriteOp::SetStatus { event, status })
    }

    /// Appends [`WriteOp::SetStateBefore`].
    pub fn set_state_before(&mut self, event: EventId, snapshot: SnapshotId) -> &mut Self {
        self.push(WriteOp::SetStateBefore { event, snapshot })
    }

    /// Appends [`WriteOp::PutSnapshot`].
    pub fn put_snapshot(&mut self, snapshot: StateSnapshot) -> &mut Self {
        self.push(WriteOp::PutSnapshot(snapshot))
    }

    /// Appends [`WriteOp::SetCurrentState`].
    pub fn set_current_state(&mut self, room: RoomId, snapshot: SnapshotId) -> &mut Self {
        self.push(WriteOp::SetCurrentState { room, snapshot })
    }

    /// Appends [`WriteOp::SetExtremities`].
    pub fn set_extremities(
        &mut self,
        room: RoomId,
        tips: impl IntoIterator<Item = EventId>,
    ) -> &mut Self {
        self.push(WriteOp::SetExtremities {
            room,
            tips: tips.into_iter().collect(),
        })
    }

    /// Appends [`WriteOp::PutAttestation`].
    pub fn put_attestation(&mut self, attestation: Attestation) -> &mut Self {
        self.push(WriteOp::PutAttestation(attestation))
    }

    /// The operations, in order.
    pub fn ops(&self) -> &[WriteOp] {
        &self.ops
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the batch has no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// Receipt of [`crate::Store::commit`]: the commit is on stable storage. Batches are numbered
/// consecutively from 1 over the life of the store; `sequence` is the number of the last batch
/// of the commit.
#[must_use = "a Durable receipt is what allows reporting a write as accepted"]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Durable {
    /// Sequence number of the last batch made durable.
    pub sequence: u64,
}

/// Receipt of [`crate::Store::apply`]: the writes are visible to readers but may not survive a
/// crash until a later [`crate::Store::flush`] or commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Applied {
    /// Sequence number of the last batch applied.
    pub sequence: u64,
}
