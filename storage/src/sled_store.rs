//! The sled 0.34 backend: the on-disk store of a node.
//!
//! One tree ([`TREE_NAME`]), every record under a one-byte prefix. One tree because sled applies
//! a `Batch` to a single tree atomically (it seals the batch in the log, and recovery replays it
//! whole or not at all) at plain-insert speed, whereas multi-tree transactions add conflict
//! tracking we do not need: commits are already serialised by a lock.
//!
//! Keys (ids and keys are 32 raw bytes; integers big-endian so byte order is numeric order):
//!
//! | prefix | key after prefix              | value                                      |
//! |--------|-------------------------------|--------------------------------------------|
//! | 0x00   | `schema` / `sequence`         | u32 schema version / u64 last batch number |
//! | 0x01   | chunk number u64              | event chunk (below)                        |
//! | 0x09   | snapshot id                   | canonical snapshot encoding                |
//! | 0x0a   | room                          | current state snapshot id                  |
//! | 0x0b   | room                          | extremity ids, concatenated                |
//! | 0x0c   | attestation id                | canonical attestation bytes                |
//! | 0x0d   | user key, attestation id      | empty: attestations by user                |
//!
//! (Prefixes 0x02–0x08 held the on-disk event indexes of schema 1; they are retired.)
//!
//! Event chunk: entries `event id 32 | len u32 | record`, concatenated. A chunk holds the records
//! of one commit, split so that no chunk grows past [`CHUNK_TARGET_BYTES`] (a chunk always takes
//! at least one record, so one large event makes one large chunk). Every event has exactly one
//! record, in one chunk. Event record: `format u8 = 1 | flags u8 (bit 0: has state_before) |
//! [state_before 32] | status u8 (1 accepted, 2 soft-failed, 3 rejected, 4 outlier) |
//! [rejected: len u8, reason] | [outlier: count u8, ids] | canonical event bytes`.
//!
//! # Why chunks (schema 3)
//!
//! The receive path must cost a few microseconds of storage CPU per event next to ~37 µs of
//! `verify_strict`. sled's cost is per key written, plus per byte (it rewrites a leaf
//! every ten updates, and splits leaves of more than 16 keys), and it grows faster than linearly
//! with keys per event (figures in `PERFORMANCE.md`). Schema 1 wrote four keys and read one
//! per event; schema 2 (one record key per event, keyed by room order) still paid sled's whole
//! per-key cost once per event. Schema 3 writes about one key per [`CHUNK_TARGET_BYTES`] of new events, and
//! reads nothing for a new event:
//!
//! - New chunks take increasing numbers, so every commit appends at the end of the chunk range,
//!   sled's cheapest insert, whatever rooms the events belong to.
//! - Status and state pointer live in the record, so a commit writes each event's record once,
//!   in its final form (the planner merges the operations on one event).
//! - Changing a stored event (new status, state pointer, redacted form) rewrites the chunk that
//!   holds it, in the same sled batch. The record is replaced in place, so a redaction leaves no
//!   copy of the content behind in a live chunk. Such changes are far rarer than new events, and
//!   a chunk is small ([`CHUNK_TARGET_BYTES`]), so the rewrite stays cheap. A rewrite changes a
//!   record's size only by its header (status, state pointer: at most about 1 KiB) or shrinks
//!   it (redaction), so chunks stay near their target size.
//! - Everything else about events is a pure function of the records and is held in memory,
//!   rebuilt on open by one scan of the chunks: where each record is (id → chunk, offset), each
//!   room's topological order, the children and per-author indexes, and the per-room rejected /
//!   soft-failed / outlier / "waiting for" sets (`index.rs`, shared with the memory backend). The
//!   novelty check of `PutEvent` (an upsert) is then a memory lookup instead of a disk read, and
//!   it is exact: the location map is updated under the same lock as the disk, after every
//!   successful batch. The per-author index needed for export and erasure is derived from the
//!   records at open (each record holds its author).
//!
//! Per room and commit (not per event): extremities, current state, new snapshots, and the
//! sequence number.
//!
//! Memory: per stored event, the location entry (id 32 + chunk 8 + offset 4, padded to 48 bytes,
//! in a hash table: about 55 bytes with its control byte and load factor), the order entry (depth
//! and id: 40 bytes, under its room, in a `BTreeMap` with roughly 1.3-1.5x node overhead), the
//! author entry (id: 32 bytes, under its author and room, likewise) and its parent's children
//! list (a hash-table entry of 56 bytes per parent plus 32 bytes per child): about 250 bytes for a
//! message with one parent, so about 0.25 GB per million events; non-accepted events add their
//! status-set entry. Open time: one scan plus `Event::decode_trusted` (canonical check, content
//! hash, id; no signature) per record.
//!
//! Measured figures (`benches/commit.rs`) and their history: `PERFORMANCE.md`.
//!
//! Durability: [`SledStore::commit`] applies one `Batch` (every write of the commit: new chunks,
//! rewritten chunks, snapshots, pointers, sequence) then flushes the log before returning, so a
//! crash leaves whole commits, and the rebuilt indexes follow whatever commits survived. sled's
//! background flusher is off (`flush_every_ms(None)`): every commit flushes anyway, and the
//! flusher would compete with the commit path for the log; [`Store::apply`] writes are durable
//! after the next [`Store::flush`] or commit, or a graceful close. Everything read back is
//! checked: records re-decode (`Event::decode_trusted`) and must hash to the id their entry
//! names; snapshots must hash to their key; attestations re-verify their signature. A chunk that
//! fails these checks makes [`SledStore::open`] fail with `corrupt_record` rather than open with
//! indexes that silently miss its events.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use causerie_crypto::{Attestation, AttestationId, Event, EventId, Hash32, IdMap, RoomId, UserKey};
use sled::{Batch, IVec};

use crate::batch::{Applied, Durable, WriteBatch};
use crate::error::StoreError;
use crate::index::EventIndexes;
use crate::plan::{Entry, Mutation, ReadView, plan};
use crate::record::StoredEvent;
use crate::state::{SnapshotId, StateSnapshot};
mod backup;
mod compact;
mod record_codec;

use crate::index_reads::IndexedBackend;
use crate::traits::{
    CompactReport, Direction, EventStore, IdentityStore, StateStore, Store, page_len,
};
use record_codec::{
    decode_attestation, decode_header, decode_record, encode_record, encode_record_into,
    encoded_len,
};

/// Name of the one sled tree the store uses.
pub const TREE_NAME: &[u8] = b"causerie";
/// Schema version written on creation and checked on open. Bump on any change of the layout.
/// 3: event records in chunks, every event index in memory (rebuilt on open).
pub const SCHEMA_VERSION: u32 = 3;
/// Size past which a commit starts a new chunk for its new event records. Small enough that a
/// sled leaf of 17 chunks stays under sled's inline limit (a quarter of its 512 KiB segment),
/// so leaves never go to separate blob files, and that rewriting a chunk to change one record
/// stays cheap; large enough to spread sled's per-key cost over a dozen typical events.
pub const CHUNK_TARGET_BYTES: usize = 6 * 1024;
/// Capacity reserved for a chunk being filled: the target plus one typical event, so filling a
/// chunk does not reallocate.
const CHUNK_BUFFER_BYTES: usize = CHUNK_TARGET_BYTES + 1024;
/// sled page cache size.
pub const CACHE_CAPACITY_BYTES: u64 = 256 * 1024 * 1024;
/// How long [`SledStore::open`] keeps retrying while the database file is still locked.
///
/// sled 0.34 releases its file lock only when its last background thread drops its handle,
/// which can be shortly after the `Db` itself was dropped; an in-process reopen (tests, a node
/// restarting its store) would otherwise fail spuriously. Another process holding the lock
/// still gets the error after this delay.
pub const OPEN_LOCK_WAIT_MS: u64 = 5_000;
/// Pause between two attempts to take the file lock.
const OPEN_LOCK_RETRY_MS: u64 = 5;

/// Key prefixes (see the module table).
mod prefix {
    pub(super) const META: u8 = 0x00;
    pub(super) const CHUNK: u8 = 0x01;
    pub(super) const SNAPSHOT: u8 = 0x09;
    pub(super) const CURRENT: u8 = 0x0a;
    pub(super) const EXTREMITIES: u8 = 0x0b;
    pub(super) const ATTESTATION: u8 = 0x0c;
    pub(super) const ATTESTATION_OF: u8 = 0x0d;
}

pub(crate) const SCHEMA_KEY: &[u8] = &[prefix::META, b's', b'c', b'h', b'e', b'm', b'a'];
const SEQUENCE_KEY: &[u8] = &[prefix::META, b's', b'e', b'q', b'u', b'e', b'n', b'c', b'e'];

const ID_LEN: usize = 32;
/// Bytes before a record in a chunk: its event id and its length (u32).
const ENTRY_HEAD_LEN: usize = ID_LEN + 4;

/// Where an event's record is: its chunk, and the offset of its entry in the chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    chunk: u64,
    offset: u32,
}

/// What the store holds in memory about its events, all derived from the chunks.
#[derive(Debug, Default, PartialEq, Eq)]
struct Derived {
    /// Where each event's record is: looked up (twice per new event) and compared, never listed.
    located: IdMap<EventId, Slot>,
    /// Order, children, author and status-set indexes.
    indexes: EventIndexes,
    /// Number the next new chunk takes (one past the last chunk stored).
    next_chunk: u64,
}

impl Derived {
    /// Rebuilds everything from the chunks: one scan. Fails on the first record that does not
    /// decode or is not the event its entry names.
    fn rebuild(tree: &sled::Tree) -> Result<Self, StoreError> {
        let mut derived = Derived::default();
        for item in tree.scan_prefix([prefix::CHUNK]) {
            let (key, value) = item?;
            let chunk = chunk_number(&key)?;
            for entry in chunk_entries(&value)? {
                let (offset, id, record) = entry;
                let (_, status, bytes) = decode_header(record)?;
                let event =
                    Event::decode_trusted(bytes).map_err(|e| StoreError::corrupt_event(&e))?;
                if event.id() != id {
                    return Err(StoreError::corrupt(
                        "event record",
                        format!("entry for {id} holds event {}", event.id()),
                    ));
                }
                if derived.located.insert(id, Slot { chunk, offset }).is_some() {
                    return Err(StoreError::corrupt(
                        "event record",
                        format!("event {id} stored twice"),
                    ));
                }
                derived.indexes.add_event(&event, &status);
            }
            derived.next_chunk = chunk.saturating_add(1);
        }
        Ok(derived)
    }
}

/// A change to [`Derived`], applied after the sled batch that carries the records succeeded.
enum DerivedChange {
    Locate(EventId, Slot),
    Insert(Entry),
    Remove(Entry),
}

/// Lays out the event records of one commit: new records go into new chunks at the end of the
/// chunk range; changed records are replaced in place in the chunk that holds them.
struct ChunkWriter {
    /// Number of the chunk being filled.
    chunk: u64,
    /// Entries of the chunk being filled.
    buffer: Vec<u8>,
    /// Changed records by chunk.
    replaced: BTreeMap<u64, BTreeMap<EventId, Vec<u8>>>,
}

impl ChunkWriter {
    fn new(next_chunk: u64) -> Self {
        ChunkWriter {
            chunk: next_chunk,
            buffer: Vec::with_capacity(CHUNK_BUFFER_BYTES),
            replaced: BTreeMap::new(),
        }
    }

    /// Adds the record of a new event, encoded straight into the chunk being filled.
    fn append(
        &mut self,
        batch: &mut Batch,
        changes: &mut Vec<DerivedChange>,
        record: &StoredEvent,
    ) -> Result<(), StoreError> {
        let len = encoded_len(record);
        if !self.buffer.is_empty() && self.buffer.len() + ENTRY_HEAD_LEN + len > CHUNK_TARGET_BYTES
        {
            self.seal(batch);
        }
        let too_large = |_| StoreError::corrupt("event chunk", "larger than 4 GiB");
        let offset = u32::try_from(self.buffer.len()).map_err(too_large)?;
        let id = record.event.id();
        self.buffer.extend_from_slice(id.as_bytes());
        self.buffer
            .extend_from_slice(&u32::try_from(len).map_err(too_large)?.to_be_bytes());
        encode_record_into(&mut self.buffer, record);
        changes.push(DerivedChange::Locate(
            id,
            Slot {
                chunk: self.chunk,
                offset,
            },
        ));
        Ok(())
    }

    /// Writes the chunk being filled and starts the next one.
    fn seal(&mut self, batch: &mut Batch) {
        let entries = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BUFFER_BYTES));
        batch.insert(&chunk_key(self.chunk)[..], entries);
        self.chunk += 1;
    }

    /// Replaces the record of an event stored in `chunk`.
    fn replace(&mut self, chunk: u64, id: EventId, record: Vec<u8>) {
        self.replaced.entry(chunk).or_default().insert(id, record);
    }

    /// Writes what is left: the last new chunk and every changed chunk. Returns the number the
    /// next new chunk takes.
    fn finish(
        mut self,
        tree: &sled::Tree,
        batch: &mut Batch,
        changes: &mut Vec<DerivedChange>,
    ) -> Result<u64, StoreError> {
        if !self.buffer.is_empty() {
            self.seal(batch);
        }
        for (chunk, mut records) in std::mem::take(&mut self.replaced) {
            let key = chunk_key(chunk);
            let old = tree.get(key)?.ok_or_else(|| {
                StoreError::corrupt(
                    "event chunk",
                    format!("chunk {chunk} indexed but not stored"),
                )
            })?;
            let mut new = Vec::with_capacity(old.len());
            for (_, id, stored) in chunk_entries(&old)? {
                let replacement = records.remove(&id);
                let record = replacement.as_deref().unwrap_or(stored);
                let offset = push_entry(&mut new, &id, record)?;
                changes.push(DerivedChange::Locate(id, Slot { chunk, offset }));
            }
            if let Some(id) = records.keys().next() {
                return Err(StoreError::corrupt(
                    "event chunk",
                    format!("event {id} indexed in chunk {chunk} but not there"),
                ));
            }
            batch.insert(&key[..], new);
        }
        Ok(self.chunk)
    }
}

/// The open sled database and its one tree; replaced whole by a compaction.
pub(crate) struct Backing {
    pub(crate) db: sled::Db,
    tree: sled::Tree,
}

/// A read handle on the open database: held for the length of one operation, so that a
/// compaction (which takes the write side) never swaps the database under it.
pub(crate) struct BackingRef<'a>(RwLockReadGuard<'a, Option<Backing>>);

impl std::ops::Deref for BackingRef<'_> {
    type Target = Backing;
    fn deref(&self) -> &Backing {
        // `SledStore::backing` hands out only guards that hold a database.
        self.0
            .as_ref()
            .unwrap_or_else(|| unreachable!("checked by SledStore::backing"))
    }
}

/// Where the database lives.
#[derive(Debug, Clone)]
enum Place {
    /// A directory (compaction writes a fresh copy beside it and swaps the two).
    Dir(PathBuf),
    /// A temporary directory sled deletes when the database closes.
    Temporary,
}

/// The sled-backed store.
pub struct SledStore {
    /// The database; `None` only after a compaction that failed to reopen it.
    backing: RwLock<Option<Backing>>,
    place: Place,
    /// Serialises planning and applying; holds the last batch sequence number. Taken before
    /// `derived` whenever both are held.
    sequence: Mutex<u64>,
    /// In-memory indexes. A commit holds the write lock while it applies its sled batch and
    /// updates them, so a reader never sees a record without its index entries or the reverse.
    derived: RwLock<Derived>,
}

impl SledStore {
    /// Opens (creating if needed) the store in directory `path`, and rebuilds the in-memory
    /// indexes from the event records (one scan).
    /// A compaction interrupted by a crash is finished or undone first (see `compact.rs`).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        compact::recover(&path)?;
        Self::open_at(Place::Dir(path))
    }

    /// A store in a temporary directory, deleted on drop.
    pub fn temporary() -> Result<Self, StoreError> {
        Self::open_at(Place::Temporary)
    }

    fn open_at(place: Place) -> Result<Self, StoreError> {
        let Backing { db, tree } = open_backing(&place)?;
        match tree.get(SCHEMA_KEY)? {
            Some(value) => {
                let found = u32::from_be_bytes(fixed(&value, "schema version")?);
                if found != SCHEMA_VERSION {
                    return Err(StoreError::SchemaMismatch {
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
            }
            None if tree.is_empty() => {
                tree.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
                db.flush()?;
            }
            None => return Err(StoreError::MissingSchema),
        }
        let sequence = match tree.get(SEQUENCE_KEY)? {
            Some(value) => u64::from_be_bytes(fixed(&value, "sequence")?),
            None => 0,
        };
        let derived = Derived::rebuild(&tree)?;
        Ok(SledStore {
            backing: RwLock::new(Some(Backing { db, tree })),
            place,
            sequence: Mutex::new(sequence),
            derived: RwLock::new(derived),
        })
    }

    /// The open database, for one operation. Taken before `derived` whenever both are held, and
    /// never twice by one thread (a waiting compaction would block the second read).
    pub(crate) fn backing(&self) -> Result<BackingRef<'_>, StoreError> {
        let guard = self.backing.read().map_err(|_| StoreError::Poisoned)?;
        if guard.is_none() {
            return Err(StoreError::Closed);
        }
        Ok(BackingRef(guard))
    }

    fn derived(&self) -> Result<RwLockReadGuard<'_, Derived>, StoreError> {
        self.derived.read().map_err(|_| StoreError::Poisoned)
    }

    /// Plans and applies `batches` as one sled batch. Returns the new last sequence number.
    fn write_batches(&self, batches: &[WriteBatch]) -> Result<u64, StoreError> {
        let mut sequence = self.sequence.lock().map_err(|_| StoreError::Poisoned)?;
        let backing = self.backing()?;
        let tree = &backing.tree;
        let mut batch = Batch::default();
        let mut changes = Vec::new();
        // `derived` only changes under `sequence`, so what planning and the chunk layout read
        // stays true until the batch is applied below.
        let (batches_planned, next_chunk) = {
            let derived = self.derived()?;
            let plan = plan(
                &View {
                    tree,
                    derived: &derived,
                },
                batches,
            )?;
            changes.reserve(plan.mutations.len());
            let mut chunks = ChunkWriter::new(derived.next_chunk);
            for mutation in plan.mutations {
                add_mutation(
                    &mut batch,
                    &mut changes,
                    &mut chunks,
                    &derived.located,
                    mutation,
                )?;
            }
            let next_chunk = chunks.finish(tree, &mut batch, &mut changes)?;
            (plan.batches, next_chunk)
        };
        let next = *sequence + batches_planned;
        batch.insert(SEQUENCE_KEY, &next.to_be_bytes());
        let mut derived = self.derived.write().map_err(|_| StoreError::Poisoned)?;
        tree.apply_batch(batch)?;
        for change in changes {
            match change {
                DerivedChange::Locate(id, slot) => {
                    derived.located.insert(id, slot);
                }
                DerivedChange::Insert(entry) => derived.indexes.insert(entry),
                DerivedChange::Remove(entry) => derived.indexes.remove(&entry),
            }
        }
        derived.next_chunk = next_chunk;
        *sequence = next;
        Ok(next)
    }

    fn current_sequence(&self) -> Result<u64, StoreError> {
        self.sequence
            .lock()
            .map(|s| *s)
            .map_err(|_| StoreError::Poisoned)
    }

    /// The value under the key `prefix ‖ id` of the event tree, if any.
    fn value_of(&self, prefix: u8, id: &[u8]) -> Result<Option<IVec>, StoreError> {
        Ok(self.backing()?.tree.get(key(prefix, &[id]))?)
    }

    /// Up to `limit` entries under `prefix`, strictly beyond the key `prefix ‖ cursor`.
    fn scan(
        &self,
        prefix: &[u8],
        cursor: Option<&[u8]>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<(IVec, IVec)>, StoreError> {
        let at_cursor = |c: &[u8]| Bound::Excluded([prefix, c].concat());
        let end = match successor(prefix) {
            Some(s) => Bound::Excluded(s),
            None => Bound::Unbounded,
        };
        let limit = page_len(limit);
        let backing = self.backing()?;
        let mut out = Vec::new();
        match direction {
            Direction::Forward => {
                let start = cursor.map_or(Bound::Included(prefix.to_vec()), at_cursor);
                for item in backing.tree.range::<Vec<u8>, _>((start, end)).take(limit) {
                    out.push(item?);
                }
            }
            Direction::Backward => {
                let end = cursor.map_or(end, at_cursor);
                for item in backing
                    .tree
                    .range::<Vec<u8>, _>((Bound::Included(prefix.to_vec()), end))
                    .rev()
                    .take(limit)
                {
                    out.push(item?);
                }
            }
        }
        Ok(out)
    }

    /// Scans the whole store and checks that every record decodes and sits under its own key,
    /// that the in-memory indexes equal the ones the records imply (rebuilt afresh), and that
    /// every pointer (state before, extremities, current state, attestation index) refers to
    /// something stored. Meant for tests and for an operator's consistency check; holds a
    /// second copy of the in-memory indexes while it runs.
    ///
    /// Snapshot entries naming events that are not stored are reported too, although a node
    /// may legitimately hold state it received before the events themselves.
    pub fn verify_integrity(&self) -> Result<IntegrityReport, StoreError> {
        // Hold the commit lock so that the scan and the live indexes describe the same commits.
        let _sequence = self.sequence.lock().map_err(|_| StoreError::Poisoned)?;
        let backing = self.backing()?;
        let tree = &backing.tree;
        let derived = self.derived()?;
        let mut report = IntegrityReport::default();
        let mut problems = Vec::new();
        let rebuilt = Derived::rebuild(tree)?;
        report.events = rebuilt.located.len() as u64;
        if rebuilt.located != derived.located {
            problems.push("in-memory event locations differ from the chunks".to_owned());
        }
        if rebuilt.indexes != derived.indexes {
            problems.push("in-memory indexes differ from the records".to_owned());
        }
        report.index_entries += (derived.located.len() + derived.indexes.len()) as u64;
        let mut snapshots = Vec::new();
        for item in tree.scan_prefix([prefix::SNAPSHOT]) {
            let (key, value) = item?;
            let id = SnapshotId(tail_id(&key, 1)?.0);
            let snapshot = StateSnapshot::decode(&id, &value)?;
            snapshots.push((id, snapshot));
            report.snapshots += 1;
        }
        let snapshot_ids: BTreeSet<SnapshotId> = snapshots.iter().map(|(id, _)| *id).collect();
        for item in tree.scan_prefix([prefix::CHUNK]) {
            let (key, value) = item?;
            let chunk = chunk_number(&key)?;
            if chunk >= derived.next_chunk {
                problems.push(format!("chunk {chunk} beyond the next chunk number"));
            }
            for (_, id, record) in chunk_entries(&value)? {
                if let (Some(snapshot), ..) = decode_header(record)?
                    && !snapshot_ids.contains(&snapshot)
                {
                    problems.push(format!("event {id}: state_before {snapshot} missing"));
                }
            }
        }
        for item in tree.scan_prefix([prefix::EXTREMITIES]) {
            let (key, value) = item?;
            for tip in ids_of(&value)? {
                report.index_entries += 1;
                if !rebuilt.located.contains_key(&tip) {
                    problems.push(format!("extremity {tip} of room {:?} missing", &key[1..]));
                }
            }
        }
        for item in tree.scan_prefix([prefix::CURRENT]) {
            let (_, value) = item?;
            report.index_entries += 1;
            let id = SnapshotId(Hash32(fixed(&value, "current state")?));
            if !snapshot_ids.contains(&id) {
                problems.push(format!("current state {id} missing"));
            }
        }
        for (id, snapshot) in &snapshots {
            for event in snapshot.map().values() {
                if !rebuilt.located.contains_key(event) {
                    problems.push(format!("snapshot {id} names missing event {event}"));
                }
            }
        }
        let mut attestations = BTreeSet::new();
        for item in tree.scan_prefix([prefix::ATTESTATION]) {
            let (key, value) = item?;
            let id = AttestationId(tail_id(&key, 1)?.0);
            let attestation = decode_attestation(&id, &value)?;
            attestations.insert((*attestation.user(), id));
        }
        for item in tree.scan_prefix([prefix::ATTESTATION_OF]) {
            let (key, _) = item?;
            report.index_entries += 1;
            let user = UserKey::from_bytes(&fixed(&key[1..key.len().min(33)], "user key")?)
                .map_err(|e| StoreError::corrupt("attestation index", e.reason()))?;
            let id = AttestationId(tail_id(&key, 33)?.0);
            if !attestations.contains(&(user, id)) {
                problems.push(format!("attestation index entry {id} missing"));
            }
        }
        report.problems = problems;
        Ok(report)
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        // A graceful close makes writes applied without a flush durable too. Nobody is left to
        // report a failure to; the data is then as safe as after a crash, which commit covers.
        if let Ok(backing) = self.backing() {
            let _ = backing.db.flush();
        }
    }
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &"(sled)")
            .finish()
    }
}

/// Result of [`SledStore::verify_integrity`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntegrityReport {
    /// Event records checked.
    pub events: u64,
    /// Snapshots checked.
    pub snapshots: u64,
    /// Index entries and pointers checked.
    pub index_entries: u64,
    /// Every inconsistency found, described.
    pub problems: Vec<String>,
}

/// Opens the database at `place` and its tree.
fn open_backing(place: &Place) -> Result<Backing, StoreError> {
    let config = match place {
        Place::Dir(path) => sled::Config::new().path(path),
        Place::Temporary => sled::Config::new().temporary(true),
    };
    // No background flusher: see the module docs (durability).
    let config = config
        .cache_capacity(CACHE_CAPACITY_BYTES)
        .flush_every_ms(None);
    let db = open_waiting_for_lock(&config)?;
    let tree = db.open_tree(TREE_NAME)?;
    Ok(Backing { db, tree })
}

/// Opens the database, retrying for up to [`OPEN_LOCK_WAIT_MS`] while its lock is held.
fn open_waiting_for_lock(config: &sled::Config) -> Result<sled::Db, StoreError> {
    let deadline = Instant::now() + Duration::from_millis(OPEN_LOCK_WAIT_MS);
    loop {
        match config.open() {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(OPEN_LOCK_RETRY_MS));
            }
            result => return Ok(result?),
        }
    }
}

/// Reads for planning: the in-memory location map answers "is it stored?" without touching
/// the disk; only an event that is already stored (an upsert or a status change) is read.
struct View<'a> {
    tree: &'a sled::Tree,
    derived: &'a Derived,
}

impl ReadView for View<'_> {
    fn load(&self, id: &EventId) -> Result<Option<StoredEvent>, StoreError> {
        load(self.tree, self.derived, id)
    }
    fn has_event(&self, id: &EventId) -> Result<bool, StoreError> {
        Ok(self.derived.located.contains_key(id))
    }
    fn has_snapshot(&self, id: &SnapshotId) -> Result<bool, StoreError> {
        Ok(self
            .tree
            .contains_key(key(prefix::SNAPSHOT, &[id.as_bytes()]))?)
    }
}

/// The record of a stored event, within its chunk's value.
fn load_raw(
    tree: &sled::Tree,
    derived: &Derived,
    id: &EventId,
) -> Result<Option<(IVec, std::ops::Range<usize>)>, StoreError> {
    let Some(slot) = derived.located.get(id) else {
        return Ok(None);
    };
    let chunk = tree.get(chunk_key(slot.chunk))?.ok_or_else(|| {
        StoreError::corrupt(
            "event chunk",
            format!("chunk {} indexed but not stored", slot.chunk),
        )
    })?;
    let range = entry_at(&chunk, slot.offset, id)?;
    Ok(Some((chunk, range)))
}

fn load(
    tree: &sled::Tree,
    derived: &Derived,
    id: &EventId,
) -> Result<Option<StoredEvent>, StoreError> {
    match load_raw(tree, derived, id)? {
        Some((chunk, range)) => decode_record(id, &chunk[range]).map(Some),
        None => Ok(None),
    }
}

/// `CHUNK ‖ number`.
fn chunk_key(chunk: u64) -> [u8; 9] {
    let mut out = [prefix::CHUNK; 9];
    out[1..].copy_from_slice(&chunk.to_be_bytes());
    out
}

fn chunk_number(key: &[u8]) -> Result<u64, StoreError> {
    Ok(u64::from_be_bytes(fixed(
        key.get(1..).unwrap_or_default(),
        "chunk key",
    )?))
}

/// Appends an entry to a chunk; returns its offset.
fn push_entry(chunk: &mut Vec<u8>, id: &EventId, record: &[u8]) -> Result<u32, StoreError> {
    let too_large = |_| StoreError::corrupt("event chunk", "larger than 4 GiB");
    let offset = u32::try_from(chunk.len()).map_err(too_large)?;
    let len = u32::try_from(record.len()).map_err(too_large)?;
    chunk.extend_from_slice(id.as_bytes());
    chunk.extend_from_slice(&len.to_be_bytes());
    chunk.extend_from_slice(record);
    Ok(offset)
}

/// The byte range of the record in the entry at `offset`, which must be `id`'s.
fn entry_at(chunk: &[u8], offset: u32, id: &EventId) -> Result<std::ops::Range<usize>, StoreError> {
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let (found, range) = entry(chunk, start)?;
    if found != *id {
        return Err(StoreError::corrupt(
            "event chunk",
            format!("entry at {offset} is {found}, expected {id}"),
        ));
    }
    Ok(range)
}

/// The id and record range of the entry at `start`.
fn entry(chunk: &[u8], start: usize) -> Result<(EventId, std::ops::Range<usize>), StoreError> {
    let truncated = || StoreError::corrupt("event chunk", "truncated entry");
    let head = chunk
        .get(start..start.saturating_add(ENTRY_HEAD_LEN))
        .ok_or_else(truncated)?;
    let id = EventId(Hash32(fixed(&head[..ID_LEN], "event chunk")?));
    let len = u32::from_be_bytes(fixed(&head[ID_LEN..], "event chunk")?);
    let begin = start + ENTRY_HEAD_LEN;
    let end = begin.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
    if end > chunk.len() {
        return Err(truncated());
    }
    Ok((id, begin..end))
}

/// One entry of a chunk: its offset, the event id, the record.
type ChunkEntry<'a> = (u32, EventId, &'a [u8]);

/// Every entry of a chunk, in order.
fn chunk_entries(chunk: &[u8]) -> Result<Vec<ChunkEntry<'_>>, StoreError> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < chunk.len() {
        let (id, range) = entry(chunk, start)?;
        let offset = u32::try_from(start)
            .map_err(|_| StoreError::corrupt("event chunk", "larger than 4 GiB"))?;
        out.push((offset, id, &chunk[range.clone()]));
        start = range.end;
    }
    Ok(out)
}

/// `prefix ‖ parts`.
fn key(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
    out.push(prefix);
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

/// The smallest key greater than every key starting with `prefix`, if any.
fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last < u8::MAX {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

fn fixed<const N: usize>(bytes: &[u8], what: &'static str) -> Result<[u8; N], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::corrupt(what, format!("{} bytes, expected {N}", bytes.len())))
}

/// The id in the last 32 bytes of a key with a `head`-byte fixed part before the ids.
fn tail_id(key: &[u8], head: usize) -> Result<EventId, StoreError> {
    if key.len() < head + ID_LEN {
        return Err(StoreError::corrupt(
            "index key",
            format!("{} bytes", key.len()),
        ));
    }
    Ok(EventId(Hash32(fixed(
        &key[key.len() - ID_LEN..],
        "index key",
    )?)))
}

/// Concatenated 32-byte ids.
fn ids_of(value: &[u8]) -> Result<Vec<EventId>, StoreError> {
    if !value.len().is_multiple_of(ID_LEN) {
        return Err(StoreError::corrupt(
            "id list",
            format!("{} bytes", value.len()),
        ));
    }
    value
        .chunks_exact(ID_LEN)
        .map(|c| Ok(EventId(Hash32(fixed(c, "id list")?))))
        .collect()
}

fn concat_ids<'a>(ids: impl IntoIterator<Item = &'a EventId>) -> Vec<u8> {
    ids.into_iter()
        .flat_map(|id| id.as_bytes().iter().copied())
        .collect()
}

/// Adds a planned write to the sled batch (event records through `chunks`), or to the
/// in-memory changes for what is not on disk.
fn add_mutation(
    batch: &mut Batch,
    changes: &mut Vec<DerivedChange>,
    chunks: &mut ChunkWriter,
    located: &IdMap<EventId, Slot>,
    mutation: Mutation,
) -> Result<(), StoreError> {
    match mutation {
        Mutation::PutRecord { record, new: true } => chunks.append(batch, changes, &record)?,
        Mutation::PutRecord { record, new: false } => {
            let id = record.event.id();
            let slot = located.get(&id).ok_or_else(|| {
                StoreError::corrupt("event record", format!("{id} loaded but not located"))
            })?;
            chunks.replace(slot.chunk, id, encode_record(&record));
        }
        Mutation::Insert(Entry::AttestationOf { user, attestation }) => batch.insert(
            key(prefix::ATTESTATION_OF, &[&user, attestation.as_bytes()]),
            &[][..],
        ),
        Mutation::Remove(Entry::AttestationOf { user, attestation }) => batch.remove(key(
            prefix::ATTESTATION_OF,
            &[&user, attestation.as_bytes()],
        )),
        Mutation::Insert(entry) => changes.push(DerivedChange::Insert(entry)),
        Mutation::Remove(entry) => changes.push(DerivedChange::Remove(entry)),
        Mutation::PutSnapshot(snapshot) => {
            batch.insert(
                key(prefix::SNAPSHOT, &[snapshot.id().as_bytes()]),
                snapshot.as_bytes(),
            );
        }
        Mutation::SetCurrent(room, id) => {
            batch.insert(key(prefix::CURRENT, &[room.as_bytes()]), &id.as_bytes()[..])
        }
        Mutation::SetExtremities(room, tips) => {
            let k = key(prefix::EXTREMITIES, &[room.as_bytes()]);
            if tips.is_empty() {
                batch.remove(k);
            } else {
                batch.insert(k, concat_ids(&tips));
            }
        }
        Mutation::PutAttestation(attestation) => {
            batch.insert(
                key(prefix::ATTESTATION, &[attestation.id().as_bytes()]),
                attestation.as_bytes(),
            );
        }
    }
    Ok(())
}

impl EventStore for SledStore {
    fn event(&self, id: &EventId) -> Result<Option<StoredEvent>, StoreError> {
        let backing = self.backing()?;
        load(&backing.tree, &*self.derived()?, id)
    }
    fn contains(&self, id: &EventId) -> Result<bool, StoreError> {
        Ok(self.derived()?.located.contains_key(id))
    }
}

impl IndexedBackend for SledStore {
    fn with_indexes<R>(&self, read: impl FnOnce(&EventIndexes) -> R) -> Result<R, StoreError> {
        Ok(read(&self.derived()?.indexes))
    }

    fn stored_extremities(&self, room: &RoomId) -> Result<BTreeSet<EventId>, StoreError> {
        match self.value_of(prefix::EXTREMITIES, room.as_bytes())? {
            Some(value) => Ok(ids_of(&value)?.into_iter().collect()),
            None => Ok(BTreeSet::new()),
        }
    }
}

impl StateStore for SledStore {
    fn snapshot(&self, id: &SnapshotId) -> Result<Option<StateSnapshot>, StoreError> {
        self.value_of(prefix::SNAPSHOT, id.as_bytes())?
            .map(|value| StateSnapshot::decode(id, &value))
            .transpose()
    }

    fn state_before(&self, event: &EventId) -> Result<Option<SnapshotId>, StoreError> {
        let backing = self.backing()?;
        match load_raw(&backing.tree, &*self.derived()?, event)? {
            // Only the header: no need to decode the event for its state pointer.
            Some((chunk, range)) => Ok(decode_header(&chunk[range])?.0),
            None => Ok(None),
        }
    }

    fn current_state(&self, room: &RoomId) -> Result<Option<SnapshotId>, StoreError> {
        self.value_of(prefix::CURRENT, room.as_bytes())?
            .map(|value| Ok(SnapshotId(Hash32(fixed(&value, "current state")?))))
            .transpose()
    }
}

impl IdentityStore for SledStore {
    fn attestation(&self, id: &AttestationId) -> Result<Option<Attestation>, StoreError> {
        self.value_of(prefix::ATTESTATION, id.as_bytes())?
            .map(|value| decode_attestation(id, &value))
            .transpose()
    }

    fn attestations_for(
        &self,
        user: &UserKey,
        after: Option<&AttestationId>,
        limit: usize,
    ) -> Result<Vec<Attestation>, StoreError> {
        let pre = key(prefix::ATTESTATION_OF, &[user.as_bytes()]);
        let items = self.scan(
            &pre,
            after.map(|id| &id.as_bytes()[..]),
            Direction::Forward,
            limit,
        )?;
        let mut out = Vec::with_capacity(items.len());
        for (k, _) in &items {
            let id = AttestationId(tail_id(k, pre.len())?.0);
            let attestation = self.attestation(&id)?.ok_or_else(|| {
                StoreError::corrupt("attestation index", format!("{id} indexed but not stored"))
            })?;
            out.push(attestation);
        }
        Ok(out)
    }
}

impl Store for SledStore {
    fn commit(&self, batches: Vec<WriteBatch>) -> Result<Durable, StoreError> {
        // If the flush fails, the writes are visible but not known to be durable: the error
        // tells the caller not to acknowledge them.
        let sequence = self.write_batches(&batches)?;
        // Flushed outside the commit lock, so the next commit can be applied meanwhile; sled's
        // flush makes everything written before the call stable, this commit included.
        self.backing()?.db.flush()?;
        Ok(Durable { sequence })
    }

    fn apply(&self, batches: Vec<WriteBatch>) -> Result<Applied, StoreError> {
        Ok(Applied {
            sequence: self.write_batches(&batches)?,
        })
    }

    fn flush(&self) -> Result<Durable, StoreError> {
        let sequence = self.current_sequence()?;
        self.backing()?.db.flush()?;
        Ok(Durable { sequence })
    }

    fn last_sequence(&self) -> Result<u64, StoreError> {
        self.current_sequence()
    }

    fn compact(&self) -> Result<CompactReport, StoreError> {
        SledStore::compact(self)
    }

    fn backup(
        &self,
        out: &mut dyn std::io::Write,
        files: &[(&str, &[u8])],
    ) -> Result<crate::backup::BackupReport, crate::backup::BackupError> {
        self.backup_into(out, files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::EventStatus;

    #[test]
    fn successor_skips_trailing_ff() {
        assert_eq!(successor(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(successor(&[1, 0xff]), Some(vec![2]));
        assert_eq!(successor(&[0xff, 0xff]), None);
    }

    #[test]
    fn chunk_entries_round_trip_and_reject_garbage_without_panicking() {
        let (a, b) = (EventId(Hash32([1; 32])), EventId(Hash32([2; 32])));
        let mut chunk = Vec::new();
        assert_eq!(push_entry(&mut chunk, &a, b"first").unwrap(), 0);
        let second = push_entry(&mut chunk, &b, b"second record").unwrap();
        let entries = chunk_entries(&chunk).unwrap();
        assert_eq!(
            entries,
            vec![(0, a, &b"first"[..]), (second, b, &b"second record"[..])]
        );
        assert_eq!(
            &chunk[entry_at(&chunk, second, &b).unwrap()],
            b"second record"
        );
        assert_eq!(
            entry_at(&chunk, 0, &b).unwrap_err().reason(),
            "corrupt_record"
        );
        for cut in 1..chunk.len() {
            if cut != usize::try_from(second).unwrap() {
                assert_eq!(
                    chunk_entries(&chunk[..cut]).unwrap_err().reason(),
                    "corrupt_record",
                    "cut at {cut}"
                );
            }
        }
        assert!(entry_at(&chunk, u32::MAX, &a).is_err());
        assert!(chunk_number(&[1, 2, 3]).is_err());
    }

    #[test]
    fn encoded_len_is_exact_and_records_round_trip() {
        use causerie_crypto::{Content, EventDraft, UserSecret, event::kinds};
        let secret = UserSecret::from_seed(&[7; 32]);
        let event = EventDraft {
            room: None,
            author: secret.public(),
            kind: kinds::CREATE.into(),
            state_key: Some(String::new()),
            content: Content::new(),
            prev_events: vec![],
            auth_events: vec![],
            depth: 0,
            origin_ts: 1_700_000_000_000,
            attestation: AttestationId(Hash32([9; 32])),
        }
        .sign(&secret)
        .unwrap();
        let statuses = [
            EventStatus::Accepted,
            EventStatus::SoftFailed,
            EventStatus::rejected("some_reason"),
            EventStatus::outlier([EventId(Hash32([1; 32])), EventId(Hash32([2; 32]))]),
        ];
        for status in statuses {
            for state_before in [None, Some(SnapshotId(Hash32([3; 32])))] {
                let record = StoredEvent {
                    event: event.clone(),
                    status: status.clone(),
                    state_before,
                };
                let bytes = encode_record(&record);
                assert_eq!(bytes.len(), encoded_len(&record), "{status:?}");
                assert_eq!(decode_record(&event.id(), &bytes).unwrap(), record);
            }
        }
    }

    #[test]
    fn record_header_rejects_garbage_without_panicking() {
        for value in [
            &[][..],
            &[9],
            &[1, 7],
            &[1, 1, 0],
            &[1, 0, 3, 200],
            &[1, 0, 4, 3, 0],
        ] {
            assert_eq!(decode_header(value).unwrap_err().reason(), "corrupt_record");
        }
    }
}
