//! In-memory backend: typed `BTreeMap`s behind one `RwLock`, for tests and simulations.
//!
//! Same semantics as the sled backend (the commit logic is shared: `plan.rs`, and so are the
//! order, children, author and status-set indexes: `index.rs`), minus
//! persistence: `commit` is "durable" for the life of the process, which is all a simulation
//! needs. Events are kept decoded, so reads cost a clone of an `Arc`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard};

use causerie_crypto::{Attestation, AttestationId, EventId, Hash32, RoomId, UserKey};

use crate::batch::{Applied, Durable, WriteBatch};
use crate::error::StoreError;
use crate::index::EventIndexes;
use crate::index_reads::IndexedBackend;
use crate::plan::{Entry, Mutation, ReadView, UserBytes, plan};
use crate::record::StoredEvent;
use crate::state::{SnapshotId, StateSnapshot};
use crate::traits::{EventStore, IdentityStore, StateStore, Store, page_len};

#[derive(Default)]
struct Tables {
    sequence: u64,
    events: BTreeMap<EventId, StoredEvent>,
    /// Order, children, author and status-set indexes (shared with the sled backend).
    indexes: EventIndexes,
    snapshots: BTreeMap<SnapshotId, StateSnapshot>,
    current: BTreeMap<RoomId, SnapshotId>,
    extremities: BTreeMap<RoomId, BTreeSet<EventId>>,
    attestations: BTreeMap<AttestationId, Attestation>,
    attestations_by_user: BTreeSet<(UserBytes, AttestationId)>,
}

impl ReadView for Tables {
    fn load(&self, id: &EventId) -> Result<Option<StoredEvent>, StoreError> {
        Ok(self.events.get(id).cloned())
    }
    fn has_event(&self, id: &EventId) -> Result<bool, StoreError> {
        Ok(self.events.contains_key(id))
    }
    fn has_snapshot(&self, id: &SnapshotId) -> Result<bool, StoreError> {
        Ok(self.snapshots.contains_key(id))
    }
}

impl Tables {
    fn apply(&mut self, mutations: Vec<Mutation>) {
        for mutation in mutations {
            match mutation {
                Mutation::PutRecord { record, .. } => {
                    self.events.insert(record.event.id(), record);
                }
                Mutation::Insert(entry) => self.insert(entry),
                Mutation::Remove(entry) => self.remove(entry),
                Mutation::PutSnapshot(snapshot) => {
                    self.snapshots.insert(snapshot.id(), snapshot);
                }
                Mutation::SetCurrent(room, id) => {
                    self.current.insert(room, id);
                }
                Mutation::SetExtremities(room, tips) => {
                    self.extremities.insert(room, tips);
                }
                Mutation::PutAttestation(attestation) => {
                    self.attestations.insert(attestation.id(), attestation);
                }
            }
        }
    }

    fn insert(&mut self, entry: Entry) {
        match entry {
            Entry::AttestationOf { user, attestation } => {
                self.attestations_by_user.insert((user, attestation));
            }
            other => self.indexes.insert(other),
        }
    }

    fn remove(&mut self, entry: Entry) {
        match entry {
            Entry::AttestationOf { user, attestation } => {
                self.attestations_by_user.remove(&(user, attestation));
            }
            other => self.indexes.remove(&other),
        }
    }
}

/// The in-memory store.
#[derive(Default)]
pub struct MemoryStore {
    tables: RwLock<Tables>,
    /// Local accounts (see [`crate::accounts`]).
    pub(crate) accounts: RwLock<crate::accounts::AccountTables>,
    /// Items delivered by other nodes (see [`crate::inbox`]).
    pub(crate) inbox: Mutex<crate::inbox::InboxTables>,
    /// The per-room review queues (see [`crate::review`]).
    pub(crate) review: Mutex<crate::review::ReviewTables>,
    /// The audit log (see [`crate::audit`]).
    pub(crate) audit: Mutex<crate::audit::AuditTables>,
    /// The report tables (see [`crate::reports`]).
    pub(crate) reports: Mutex<crate::reports::ReportTables>,
    /// Registration records (see [`crate::records`]).
    pub(crate) records: Mutex<crate::records::RecordTables>,
    /// Attestation revocations (see [`crate::revocations`]).
    pub(crate) revocations: Mutex<crate::revocations::RevocationTables>,
    /// Room aliases (see [`crate::aliases`]).
    pub(crate) aliases: Mutex<crate::aliases::AliasTable>,
    /// Read markers (see [`crate::read_markers`]).
    pub(crate) read_markers: Mutex<crate::read_markers::ReadMarkerTable>,
}

/// Locks one of the tables beside the events (a poisoned lock is [`StoreError::Poisoned`]).
pub(crate) fn lock<T>(table: &Mutex<T>) -> Result<MutexGuard<'_, T>, StoreError> {
    table.lock().map_err(|_| StoreError::Poisoned)
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, Tables>, StoreError> {
        self.tables.read().map_err(|_| StoreError::Poisoned)
    }

    fn write_batches(&self, batches: &[WriteBatch]) -> Result<u64, StoreError> {
        let mut tables = self.tables.write().map_err(|_| StoreError::Poisoned)?;
        let plan = plan(&*tables, batches)?;
        tables.apply(plan.mutations);
        tables.sequence += plan.batches;
        Ok(tables.sequence)
    }
}

impl EventStore for MemoryStore {
    fn event(&self, id: &EventId) -> Result<Option<StoredEvent>, StoreError> {
        Ok(self.read()?.events.get(id).cloned())
    }
    fn contains(&self, id: &EventId) -> Result<bool, StoreError> {
        Ok(self.read()?.events.contains_key(id))
    }
}

impl IndexedBackend for MemoryStore {
    fn with_indexes<R>(&self, read: impl FnOnce(&EventIndexes) -> R) -> Result<R, StoreError> {
        Ok(read(&self.read()?.indexes))
    }

    fn stored_extremities(&self, room: &RoomId) -> Result<BTreeSet<EventId>, StoreError> {
        Ok(self
            .read()?
            .extremities
            .get(room)
            .cloned()
            .unwrap_or_default())
    }
}

impl StateStore for MemoryStore {
    fn snapshot(&self, id: &SnapshotId) -> Result<Option<StateSnapshot>, StoreError> {
        Ok(self.read()?.snapshots.get(id).cloned())
    }
    fn state_before(&self, event: &EventId) -> Result<Option<SnapshotId>, StoreError> {
        Ok(self.read()?.events.get(event).and_then(|r| r.state_before))
    }
    fn current_state(&self, room: &RoomId) -> Result<Option<SnapshotId>, StoreError> {
        Ok(self.read()?.current.get(room).copied())
    }
}

impl IdentityStore for MemoryStore {
    fn attestation(&self, id: &AttestationId) -> Result<Option<Attestation>, StoreError> {
        Ok(self.read()?.attestations.get(id).cloned())
    }

    fn attestations_for(
        &self,
        user: &UserKey,
        after: Option<&AttestationId>,
        limit: usize,
    ) -> Result<Vec<Attestation>, StoreError> {
        let tables = self.read()?;
        let user = *user.as_bytes();
        let start = match after {
            Some(id) => Bound::Excluded((user, *id)),
            None => Bound::Included((user, AttestationId(Hash32([0; 32])))),
        };
        let end = Bound::Included((user, AttestationId(Hash32([0xff; 32]))));
        let mut out = Vec::new();
        for (_, id) in tables
            .attestations_by_user
            .range((start, end))
            .take(page_len(limit))
        {
            let attestation = tables.attestations.get(id).ok_or_else(|| {
                StoreError::corrupt("attestation index", format!("{id} indexed but not stored"))
            })?;
            out.push(attestation.clone());
        }
        Ok(out)
    }
}

impl Store for MemoryStore {
    fn commit(&self, batches: Vec<WriteBatch>) -> Result<Durable, StoreError> {
        Ok(Durable {
            sequence: self.write_batches(&batches)?,
        })
    }
    fn apply(&self, batches: Vec<WriteBatch>) -> Result<Applied, StoreError> {
        Ok(Applied {
            sequence: self.write_batches(&batches)?,
        })
    }
    fn flush(&self) -> Result<Durable, StoreError> {
        Ok(Durable {
            sequence: self.read()?.sequence,
        })
    }
    fn last_sequence(&self) -> Result<u64, StoreError> {
        Ok(self.read()?.sequence)
    }

    fn compact(&self) -> Result<crate::CompactReport, StoreError> {
        // Nothing on disk: a replaced value is gone as soon as it is replaced.
        Ok(crate::CompactReport::default())
    }

    fn backup(
        &self,
        _out: &mut dyn std::io::Write,
        _files: &[(&str, &[u8])],
    ) -> Result<crate::backup::BackupReport, crate::backup::BackupError> {
        // Nothing outlives the process, and a restore rebuilds a sled directory.
        Err(crate::backup::BackupError::Unsupported)
    }
}
