//! Turns the batches of one commit into the exact list of writes, shared by every backend so
//! that all of them mean the same thing by each operation.
//!
//! Planning reads the store through [`ReadView`] plus its own staging area (so later operations
//! see earlier ones), checks every reference and bound, and only then returns [`Mutation`]s; a
//! backend applies them in order, all-or-nothing. Each event record is emitted once, in its
//! final form, however many operations touched it; extremities and current state likewise.

use std::collections::{BTreeMap, BTreeSet};

use causerie_crypto::{Attestation, AttestationId, EventId, IdMap, RoomId};

use crate::batch::{WriteBatch, WriteOp};
use crate::error::StoreError;
use crate::record::{EventStatus, StoredEvent};
use crate::state::{SnapshotId, StateSnapshot};
use crate::traits::MAX_EXTREMITIES;

/// What planning needs to read from a backend.
pub(crate) trait ReadView {
    /// The stored record, if any.
    fn load(&self, id: &EventId) -> Result<Option<StoredEvent>, StoreError>;
    /// Whether an event is stored.
    fn has_event(&self, id: &EventId) -> Result<bool, StoreError>;
    /// Whether a snapshot is stored.
    fn has_snapshot(&self, id: &SnapshotId) -> Result<bool, StoreError>;
}

/// A user key's 32 raw bytes. Index entries carry these rather than a `UserKey`, which also
/// holds the decompressed point (224 bytes in all): every new event makes an author entry, and
/// the size of the largest entry is the size of every planned mutation.
pub(crate) type UserBytes = [u8; 32];

/// An index entry: a key in one of the secondary indexes, with its value where it has one.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    /// Room topological order.
    Order {
        room: RoomId,
        depth: u64,
        event: EventId,
    },
    /// Author index.
    Author {
        author: UserBytes,
        room: RoomId,
        event: EventId,
    },
    /// Children index.
    Child { parent: EventId, child: EventId },
    /// Rejected set (value: reason).
    Rejected {
        room: RoomId,
        event: EventId,
        reason: String,
    },
    /// Soft-failed set.
    SoftFailed { room: RoomId, event: EventId },
    /// Outlier set (value: missing events).
    Outlier {
        room: RoomId,
        event: EventId,
        missing: BTreeSet<EventId>,
    },
    /// "Outlier waits for missing".
    Waiting { missing: EventId, outlier: EventId },
    /// Attestations by user.
    AttestationOf {
        user: UserBytes,
        attestation: AttestationId,
    },
}

/// One write a backend performs.
#[derive(Debug, Clone)]
pub(crate) enum Mutation {
    /// Writes an event record; `new` if the store did not hold the event before this commit
    /// (so a backend need not look it up again).
    PutRecord { record: StoredEvent, new: bool },
    /// Adds an index entry (replacing its value if present).
    Insert(Entry),
    /// Removes an index entry (its value is ignored).
    Remove(Entry),
    /// Writes a snapshot.
    PutSnapshot(StateSnapshot),
    /// Sets a room's current state.
    SetCurrent(RoomId, SnapshotId),
    /// Sets a room's extremities.
    SetExtremities(RoomId, BTreeSet<EventId>),
    /// Writes an attestation.
    PutAttestation(Attestation),
}

/// The writes of one commit.
pub(crate) struct Plan {
    /// The writes, in order.
    pub(crate) mutations: Vec<Mutation>,
    /// Number of batches (each takes one sequence number).
    pub(crate) batches: u64,
}

/// Plans `batches` against `view`.
pub(crate) fn plan(view: &impl ReadView, batches: &[WriteBatch]) -> Result<Plan, StoreError> {
    let mut planner = Planner {
        view,
        records: Vec::new(),
        staged: IdMap::new(),
        snapshots: BTreeSet::new(),
        required_snapshots: BTreeSet::new(),
        extremities: BTreeMap::new(),
        current: BTreeMap::new(),
        // A new event (put, then given its state) plans four writes or so: order, author,
        // child, record. Sized once, so a large group commit does not regrow it.
        mutations: Vec::with_capacity(
            batches
                .iter()
                .map(WriteBatch::len)
                .sum::<usize>()
                .saturating_mul(2)
                .saturating_add(8),
        ),
    };
    for batch in batches {
        for op in batch.ops() {
            planner.op(op)?;
        }
    }
    planner.finish(batches.len() as u64)
}

struct Planner<'v, V> {
    view: &'v V,
    /// Records touched by this commit, in their latest form, each with whether it is new; in
    /// the order the commit first touched them (each backend's result is independent of it).
    records: Vec<(StoredEvent, bool)>,
    /// Position in `records` of each touched event (a lookup per operation; never listed).
    staged: IdMap<EventId, usize>,
    /// Snapshots known to exist (stored, or written by this commit).
    snapshots: BTreeSet<SnapshotId>,
    /// Snapshots referenced by this commit, checked at the end.
    required_snapshots: BTreeSet<SnapshotId>,
    extremities: BTreeMap<RoomId, BTreeSet<EventId>>,
    current: BTreeMap<RoomId, SnapshotId>,
    mutations: Vec<Mutation>,
}

impl<V: ReadView> Planner<'_, V> {
    fn op(&mut self, op: &WriteOp) -> Result<(), StoreError> {
        match op {
            WriteOp::PutEvent { event, status } => {
                status.check()?;
                let id = event.id();
                if let Some(record) = self.record(&id)? {
                    let old = std::mem::replace(&mut record.status, status.clone());
                    record.event = event.clone();
                    let room = event.room_id();
                    self.transition(room, id, &old, status);
                } else {
                    let room = event.room_id();
                    self.insert(Entry::Order {
                        room,
                        depth: event.depth(),
                        event: id,
                    });
                    self.insert(Entry::Author {
                        author: *event.author().as_bytes(),
                        room,
                        event: id,
                    });
                    for parent in event.prev_events() {
                        self.insert(Entry::Child {
                            parent: *parent,
                            child: id,
                        });
                    }
                    self.transition(room, id, &EventStatus::Accepted, status);
                    let record = StoredEvent {
                        event: event.clone(),
                        status: status.clone(),
                        state_before: None,
                    };
                    self.stage(id, record, true);
                }
            }
            WriteOp::SetStatus { event, status } => {
                status.check()?;
                let record = self
                    .record(event)?
                    .ok_or(StoreError::EventNotFound(*event))?;
                let old = std::mem::replace(&mut record.status, status.clone());
                let room = record.event.room_id();
                self.transition(room, *event, &old, status);
            }
            WriteOp::SetStateBefore { event, snapshot } => {
                let record = self
                    .record(event)?
                    .ok_or(StoreError::EventNotFound(*event))?;
                record.state_before = Some(*snapshot);
                self.required_snapshots.insert(*snapshot);
            }
            WriteOp::PutSnapshot(snapshot) => {
                let id = snapshot.id();
                if !self.snapshots.contains(&id) && !self.view.has_snapshot(&id)? {
                    self.mutations.push(Mutation::PutSnapshot(snapshot.clone()));
                }
                self.snapshots.insert(id);
            }
            WriteOp::SetCurrentState { room, snapshot } => {
                self.current.insert(*room, *snapshot);
                self.required_snapshots.insert(*snapshot);
            }
            WriteOp::SetExtremities { room, tips } => {
                if tips.len() > MAX_EXTREMITIES {
                    return Err(StoreError::TooManyExtremities {
                        count: tips.len(),
                        max: MAX_EXTREMITIES,
                    });
                }
                self.extremities.insert(*room, tips.clone());
            }
            WriteOp::PutAttestation(attestation) => {
                self.mutations
                    .push(Mutation::PutAttestation(attestation.clone()));
                self.insert(Entry::AttestationOf {
                    user: *attestation.user().as_bytes(),
                    attestation: attestation.id(),
                });
            }
        }
        Ok(())
    }

    /// The staged record of `id`, loading it from the store on first use.
    fn record(&mut self, id: &EventId) -> Result<Option<&mut StoredEvent>, StoreError> {
        let at = match self.staged.get(id) {
            Some(&at) => at,
            None => match self.view.load(id)? {
                Some(record) => self.stage(*id, record, false),
                None => return Ok(None),
            },
        };
        Ok(self.records.get_mut(at).map(|(record, _)| record))
    }

    /// Adds a record to the staged ones; returns its position.
    fn stage(&mut self, id: EventId, record: StoredEvent, new: bool) -> usize {
        let at = self.records.len();
        self.staged.insert(id, at);
        self.records.push((record, new));
        at
    }

    fn insert(&mut self, entry: Entry) {
        self.mutations.push(Mutation::Insert(entry));
    }

    /// Moves an event from the status sets of `old` to those of `new`.
    fn transition(&mut self, room: RoomId, event: EventId, old: &EventStatus, new: &EventStatus) {
        for entry in status_entries(room, event, old) {
            self.mutations.push(Mutation::Remove(entry));
        }
        for entry in status_entries(room, event, new) {
            self.mutations.push(Mutation::Insert(entry));
        }
    }

    fn finish(mut self, batches: u64) -> Result<Plan, StoreError> {
        for snapshot in &self.required_snapshots {
            if !self.snapshots.contains(snapshot) && !self.view.has_snapshot(snapshot)? {
                return Err(StoreError::SnapshotNotFound(*snapshot));
            }
        }
        for tips in self.extremities.values() {
            for tip in tips {
                if !self.staged.contains_key(tip) && !self.view.has_event(tip)? {
                    return Err(StoreError::EventNotFound(*tip));
                }
            }
        }
        let records = std::mem::take(&mut self.records);
        self.mutations.extend(
            records
                .into_iter()
                .map(|(record, new)| Mutation::PutRecord { record, new }),
        );
        self.mutations.extend(
            self.current
                .into_iter()
                .map(|(room, id)| Mutation::SetCurrent(room, id)),
        );
        self.mutations.extend(
            self.extremities
                .into_iter()
                .map(|(room, tips)| Mutation::SetExtremities(room, tips)),
        );
        Ok(Plan {
            mutations: self.mutations,
            batches,
        })
    }
}

/// The status-set entries an event with `status` has.
pub(crate) fn status_entries(room: RoomId, event: EventId, status: &EventStatus) -> Vec<Entry> {
    match status {
        EventStatus::Accepted => Vec::new(),
        EventStatus::SoftFailed => vec![Entry::SoftFailed { room, event }],
        EventStatus::Rejected { reason } => vec![Entry::Rejected {
            room,
            event,
            reason: reason.clone(),
        }],
        EventStatus::Outlier { missing } => {
            let mut entries = vec![Entry::Outlier {
                room,
                event,
                missing: missing.clone(),
            }];
            entries.extend(missing.iter().map(|m| Entry::Waiting {
                missing: *m,
                outlier: event,
            }));
            entries
        }
    }
}
