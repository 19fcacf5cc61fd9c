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
//! | 0x01   | event id                      | event record (below)                       |
//! | 0x02   | room, depth u64, event id     | empty: topological order                   |
//! | 0x03   | author, room, event id        | empty: per-author index                    |
//! | 0x04   | parent id, child id           | empty: children index                      |
//! | 0x05   | room, event id                | rejection reason                           |
//! | 0x06   | room, event id                | empty: soft-failed set                     |
//! | 0x07   | room, event id                | missing ids, concatenated: outliers        |
//! | 0x08   | missing id, outlier id        | empty: "outlier waits for"                 |
//! | 0x09   | snapshot id                   | canonical snapshot encoding                |
//! | 0x0a   | room                          | current state snapshot id                  |
//! | 0x0b   | room                          | extremity ids, concatenated                |
//! | 0x0c   | attestation id                | canonical attestation bytes                |
//! | 0x0d   | user key, attestation id      | empty: attestations by user                |
//!
//! Event record: `format u8 = 1 | flags u8 (bit 0: has state_before) | [state_before 32] |
//! status u8 (1 accepted, 2 soft-failed, 3 rejected, 4 outlier) | [rejected: len u8, reason] |
//! [outlier: count u8, ids] | canonical event bytes`. Room, depth, status and state pointer share
//! one value with the event, so an accepted message costs four key writes (record, order,
//! author, one child link per parent) and one read (is the event already stored? `PutEvent` is
//! an upsert, and replacing must move the old status entries). Extremities, current state and
//! the sequence number are written once per commit, however many events it carries. Measured
//! (`benches/commit.rs`): sled's per-key cost is the floor; the read is about a quarter of the
//! write path.
//!
//! Durability: [`SledStore::commit`] applies one `Batch` then flushes the log before returning.
//! Everything read back is checked: event records re-decode (`Event::decode_trusted`) and must
//! hash to their key, snapshots must hash to their key, attestations re-verify their signature.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use causerie_crypto::{Attestation, AttestationId, Event, EventId, Hash32, RoomId, UserKey};
use sled::{Batch, IVec};

use crate::batch::{Applied, Durable, WriteBatch};
use crate::error::StoreError;
use crate::plan::{Entry, Mutation, ReadView, plan};
use crate::record::{EventStatus, StoredEvent};
use crate::state::{SnapshotId, StateSnapshot};
use crate::traits::{
    AuthorIndex, Direction, EventStore, IdentityStore, Position, RoomDagStore, StateStore, Store,
    page_len,
};

/// Name of the one sled tree the store uses.
pub const TREE_NAME: &[u8] = b"causerie";
/// Schema version written on creation and checked on open. Bump on any change of the layout.
pub const SCHEMA_VERSION: u32 = 1;
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
    pub(super) const EVENT: u8 = 0x01;
    pub(super) const ORDER: u8 = 0x02;
    pub(super) const AUTHOR: u8 = 0x03;
    pub(super) const CHILD: u8 = 0x04;
    pub(super) const REJECTED: u8 = 0x05;
    pub(super) const SOFT_FAILED: u8 = 0x06;
    pub(super) const OUTLIER: u8 = 0x07;
    pub(super) const WAITING: u8 = 0x08;
    pub(super) const SNAPSHOT: u8 = 0x09;
    pub(super) const CURRENT: u8 = 0x0a;
    pub(super) const EXTREMITIES: u8 = 0x0b;
    pub(super) const ATTESTATION: u8 = 0x0c;
    pub(super) const ATTESTATION_OF: u8 = 0x0d;
}

const SCHEMA_KEY: &[u8] = &[prefix::META, b's', b'c', b'h', b'e', b'm', b'a'];
const SEQUENCE_KEY: &[u8] = &[prefix::META, b's', b'e', b'q', b'u', b'e', b'n', b'c', b'e'];

/// Event record format byte.
const RECORD_FORMAT: u8 = 1;
const FLAG_STATE_BEFORE: u8 = 1;
const STATUS_ACCEPTED: u8 = 1;
const STATUS_SOFT_FAILED: u8 = 2;
const STATUS_REJECTED: u8 = 3;
const STATUS_OUTLIER: u8 = 4;

const ID_LEN: usize = 32;

/// The sled-backed store.
pub struct SledStore {
    db: sled::Db,
    tree: sled::Tree,
    /// Serialises planning and applying; holds the last batch sequence number.
    sequence: Mutex<u64>,
}

impl SledStore {
    /// Opens (creating if needed) the store in directory `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_config(
            sled::Config::new()
                .path(path)
                .cache_capacity(CACHE_CAPACITY_BYTES),
        )
    }

    /// A store in a temporary directory, deleted on drop.
    pub fn temporary() -> Result<Self, StoreError> {
        Self::open_config(
            sled::Config::new()
                .temporary(true)
                .cache_capacity(CACHE_CAPACITY_BYTES),
        )
    }

    fn open_config(config: sled::Config) -> Result<Self, StoreError> {
        let db = open_waiting_for_lock(&config)?;
        let tree = db.open_tree(TREE_NAME)?;
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
        Ok(SledStore {
            db,
            tree,
            sequence: Mutex::new(sequence),
        })
    }

    /// Plans and applies `batches` as one sled batch. Returns the new last sequence number.
    fn write_batches(&self, batches: &[WriteBatch]) -> Result<u64, StoreError> {
        let mut sequence = self.sequence.lock().map_err(|_| StoreError::Poisoned)?;
        let plan = plan(&View(&self.tree), batches)?;
        let next = *sequence + plan.batches;
        let mut batch = Batch::default();
        for mutation in plan.mutations {
            add_mutation(&mut batch, mutation);
        }
        batch.insert(SEQUENCE_KEY, &next.to_be_bytes());
        self.tree.apply_batch(batch)?;
        *sequence = next;
        Ok(next)
    }

    fn current_sequence(&self) -> Result<u64, StoreError> {
        self.sequence
            .lock()
            .map(|s| *s)
            .map_err(|_| StoreError::Poisoned)
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
        let mut out = Vec::new();
        match direction {
            Direction::Forward => {
                let start = cursor.map_or(Bound::Included(prefix.to_vec()), at_cursor);
                for item in self.tree.range::<Vec<u8>, _>((start, end)).take(limit) {
                    out.push(item?);
                }
            }
            Direction::Backward => {
                let end = cursor.map_or(end, at_cursor);
                for item in self
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

    /// Ids in the last 32 bytes of keys under `prefix` after `after`.
    fn scan_ids(
        &self,
        prefix: &[u8],
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<EventId>, StoreError> {
        let items = self.scan(
            prefix,
            after.map(|id| &id.as_bytes()[..]),
            Direction::Forward,
            limit,
        )?;
        items
            .iter()
            .map(|(key, _)| tail_id(key, prefix.len()))
            .collect()
    }

    /// Scans the whole store and checks that every index entry and pointer refers to something
    /// stored, and that every record decodes and matches its key. Meant for tests and for an
    /// operator's consistency check; holds one id per event in memory.
    ///
    /// Snapshot entries naming events that are not stored are reported too, although a node
    /// may legitimately hold state it received before the events themselves.
    pub fn verify_integrity(&self) -> Result<IntegrityReport, StoreError> {
        let mut report = IntegrityReport::default();
        let mut events = Vec::new();
        let mut snapshots = Vec::new();
        let mut attestations = BTreeSet::new();
        for item in self.tree.scan_prefix([prefix::EVENT]) {
            let (key, value) = item?;
            let id = tail_id(&key, 1)?;
            let record = decode_record(&id, &value)?;
            events.push((
                id,
                record.event.room_id(),
                record.status,
                record.state_before,
            ));
            report.events += 1;
        }
        for item in self.tree.scan_prefix([prefix::SNAPSHOT]) {
            let (key, value) = item?;
            let id = SnapshotId(tail_id(&key, 1)?.0);
            let snapshot = StateSnapshot::decode(&id, &value)?;
            snapshots.push((id, snapshot));
            report.snapshots += 1;
        }
        for item in self.tree.scan_prefix([prefix::ATTESTATION]) {
            let (key, value) = item?;
            let id = AttestationId(tail_id(&key, 1)?.0);
            let attestation = decode_attestation(&id, &value)?;
            attestations.insert((*attestation.user(), id));
        }
        let ids: BTreeSet<EventId> = events.iter().map(|(id, ..)| *id).collect();
        let snapshot_ids: BTreeSet<SnapshotId> = snapshots.iter().map(|(id, _)| *id).collect();
        let mut problems = Vec::new();
        let mut problem = |text: String| problems.push(text);
        for (id, room, status, state_before) in &events {
            if let Some(snapshot) = state_before
                && !snapshot_ids.contains(snapshot)
            {
                problem(format!("event {id}: state_before {snapshot} missing"));
            }
            let expected: Vec<Vec<u8>> = match status {
                EventStatus::Accepted => vec![],
                EventStatus::SoftFailed => {
                    vec![key(prefix::SOFT_FAILED, &[room.as_bytes(), id.as_bytes()])]
                }
                EventStatus::Rejected { .. } => {
                    vec![key(prefix::REJECTED, &[room.as_bytes(), id.as_bytes()])]
                }
                EventStatus::Outlier { missing } => {
                    std::iter::once(key(prefix::OUTLIER, &[room.as_bytes(), id.as_bytes()]))
                        .chain(
                            missing
                                .iter()
                                .map(|m| key(prefix::WAITING, &[m.as_bytes(), id.as_bytes()])),
                        )
                        .collect()
                }
            };
            for k in expected {
                if !self.tree.contains_key(&k)? {
                    problem(format!("event {id}: {} entry missing", status.name()));
                }
            }
        }
        // Every index entry must point at a stored event, by the id in its last 32 bytes
        // (the event the entry is about), and the status sets must agree with the records.
        let checks: [(u8, &str, Option<&str>); 6] = [
            (prefix::ORDER, "order", None),
            (prefix::AUTHOR, "author", None),
            (prefix::CHILD, "child", None),
            (prefix::REJECTED, "rejected", Some("rejected")),
            (prefix::SOFT_FAILED, "soft_failed", Some("soft_failed")),
            (prefix::OUTLIER, "outlier", Some("outlier")),
        ];
        let status_of: std::collections::BTreeMap<EventId, &'static str> = events
            .iter()
            .map(|(id, _, status, _)| (*id, status.name()))
            .collect();
        for (pre, name, status) in checks {
            for item in self.tree.scan_prefix([pre]) {
                let (key, _) = item?;
                let id = tail_id(&key, 1)?;
                report.index_entries += 1;
                match status_of.get(&id) {
                    None => problem(format!("{name} entry points to missing event {id}")),
                    Some(found) if status.is_some_and(|s| s != *found) => problem(format!(
                        "{name} entry for event {id} whose status is {found}"
                    )),
                    Some(_) => {}
                }
            }
        }
        for item in self.tree.scan_prefix([prefix::WAITING]) {
            let (key, _) = item?;
            report.index_entries += 1;
            let id = tail_id(&key, 1)?;
            if status_of.get(&id) != Some(&"outlier") {
                problem(format!(
                    "waiting entry for event {id} that is not a stored outlier"
                ));
            }
        }
        for item in self.tree.scan_prefix([prefix::EXTREMITIES]) {
            let (key, value) = item?;
            for tip in ids_of(&value)? {
                report.index_entries += 1;
                if !ids.contains(&tip) {
                    problem(format!("extremity {tip} of room {:?} missing", &key[1..]));
                }
            }
        }
        for item in self.tree.scan_prefix([prefix::CURRENT]) {
            let (_, value) = item?;
            report.index_entries += 1;
            let id = SnapshotId(Hash32(fixed(&value, "current state")?));
            if !snapshot_ids.contains(&id) {
                problem(format!("current state {id} missing"));
            }
        }
        for (id, snapshot) in &snapshots {
            for event in snapshot.map().values() {
                if !ids.contains(event) {
                    problem(format!("snapshot {id} names missing event {event}"));
                }
            }
        }
        for item in self.tree.scan_prefix([prefix::ATTESTATION_OF]) {
            let (key, _) = item?;
            report.index_entries += 1;
            let user = UserKey::from_bytes(&fixed(&key[1..key.len().min(33)], "user key")?)
                .map_err(|e| StoreError::corrupt("attestation index", e.reason()))?;
            let id = AttestationId(tail_id(&key, 33)?.0);
            if !attestations.contains(&(user, id)) {
                problem(format!("attestation index entry {id} missing"));
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
        let _ = self.db.flush();
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

/// Reads for planning.
struct View<'t>(&'t sled::Tree);

impl ReadView for View<'_> {
    fn load(&self, id: &EventId) -> Result<Option<StoredEvent>, StoreError> {
        match self.0.get(key(prefix::EVENT, &[id.as_bytes()]))? {
            Some(value) => decode_record(id, &value).map(Some),
            None => Ok(None),
        }
    }
    fn has_event(&self, id: &EventId) -> Result<bool, StoreError> {
        Ok(self.0.contains_key(key(prefix::EVENT, &[id.as_bytes()]))?)
    }
    fn has_snapshot(&self, id: &SnapshotId) -> Result<bool, StoreError> {
        Ok(self
            .0
            .contains_key(key(prefix::SNAPSHOT, &[id.as_bytes()]))?)
    }
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

fn entry_key(entry: &Entry) -> Vec<u8> {
    match entry {
        Entry::Order { room, depth, event } => key(
            prefix::ORDER,
            &[room.as_bytes(), &depth.to_be_bytes(), event.as_bytes()],
        ),
        Entry::Author {
            author,
            room,
            event,
        } => key(
            prefix::AUTHOR,
            &[author.as_bytes(), room.as_bytes(), event.as_bytes()],
        ),
        Entry::Child { parent, child } => {
            key(prefix::CHILD, &[parent.as_bytes(), child.as_bytes()])
        }
        Entry::Rejected { room, event, .. } => {
            key(prefix::REJECTED, &[room.as_bytes(), event.as_bytes()])
        }
        Entry::SoftFailed { room, event } => {
            key(prefix::SOFT_FAILED, &[room.as_bytes(), event.as_bytes()])
        }
        Entry::Outlier { room, event, .. } => {
            key(prefix::OUTLIER, &[room.as_bytes(), event.as_bytes()])
        }
        Entry::Waiting { missing, outlier } => {
            key(prefix::WAITING, &[missing.as_bytes(), outlier.as_bytes()])
        }
        Entry::AttestationOf { user, attestation } => key(
            prefix::ATTESTATION_OF,
            &[user.as_bytes(), attestation.as_bytes()],
        ),
    }
}

fn entry_value(entry: &Entry) -> Vec<u8> {
    match entry {
        Entry::Rejected { reason, .. } => reason.as_bytes().to_vec(),
        Entry::Outlier { missing, .. } => concat_ids(missing),
        _ => Vec::new(),
    }
}

fn add_mutation(batch: &mut Batch, mutation: Mutation) {
    match mutation {
        Mutation::PutRecord(record) => {
            batch.insert(
                key(prefix::EVENT, &[record.event.id().as_bytes()]),
                encode_record(&record),
            );
        }
        Mutation::Insert(entry) => batch.insert(entry_key(&entry), entry_value(&entry)),
        Mutation::Remove(entry) => batch.remove(entry_key(&entry)),
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
}

fn encode_record(record: &StoredEvent) -> Vec<u8> {
    let bytes = record.event.as_bytes();
    let mut out = Vec::with_capacity(2 + ID_LEN + 2 + bytes.len() + 64);
    out.push(RECORD_FORMAT);
    match &record.state_before {
        Some(id) => {
            out.push(FLAG_STATE_BEFORE);
            out.extend_from_slice(id.as_bytes());
        }
        None => out.push(0),
    }
    // Lengths fit a byte: EventStatus::check bounds reasons to 64 bytes and missing lists to 30.
    match &record.status {
        EventStatus::Accepted => out.push(STATUS_ACCEPTED),
        EventStatus::SoftFailed => out.push(STATUS_SOFT_FAILED),
        EventStatus::Rejected { reason } => {
            out.push(STATUS_REJECTED);
            out.push(reason.len() as u8);
            out.extend_from_slice(reason.as_bytes());
        }
        EventStatus::Outlier { missing } => {
            out.push(STATUS_OUTLIER);
            out.push(missing.len() as u8);
            out.extend_from_slice(&concat_ids(missing));
        }
    }
    out.extend_from_slice(bytes);
    out
}

/// A cursor over a record value that reports truncation as corruption.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if self.bytes.len() < n {
            return Err(StoreError::corrupt("event record", "truncated"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn byte(&mut self) -> Result<u8, StoreError> {
        Ok(self.take(1)?[0])
    }
    fn id(&mut self) -> Result<Hash32, StoreError> {
        Ok(Hash32(fixed(self.take(ID_LEN)?, "event record")?))
    }
}

/// Decodes the record header: state pointer, status, and the event bytes that follow.
fn decode_header(value: &[u8]) -> Result<(Option<SnapshotId>, EventStatus, &[u8]), StoreError> {
    let mut reader = Reader { bytes: value };
    if reader.byte()? != RECORD_FORMAT {
        return Err(StoreError::corrupt("event record", "unknown format"));
    }
    let state_before = match reader.byte()? {
        0 => None,
        FLAG_STATE_BEFORE => Some(SnapshotId(reader.id()?)),
        _ => return Err(StoreError::corrupt("event record", "unknown flags")),
    };
    let status = match reader.byte()? {
        STATUS_ACCEPTED => EventStatus::Accepted,
        STATUS_SOFT_FAILED => EventStatus::SoftFailed,
        STATUS_REJECTED => {
            let len = usize::from(reader.byte()?);
            let reason = std::str::from_utf8(reader.take(len)?)
                .map_err(|_| StoreError::corrupt("event record", "reason not utf-8"))?;
            EventStatus::rejected(reason)
        }
        STATUS_OUTLIER => {
            let count = usize::from(reader.byte()?);
            let mut missing = BTreeSet::new();
            for _ in 0..count {
                missing.insert(EventId(reader.id()?));
            }
            EventStatus::Outlier { missing }
        }
        _ => return Err(StoreError::corrupt("event record", "unknown status")),
    };
    Ok((state_before, status, reader.bytes))
}

fn decode_record(id: &EventId, value: &[u8]) -> Result<StoredEvent, StoreError> {
    let (state_before, status, bytes) = decode_header(value)?;
    let event = Event::decode_trusted(bytes).map_err(|e| StoreError::corrupt_event(&e))?;
    if event.id() != *id {
        return Err(StoreError::corrupt(
            "event record",
            format!("stored under {id}, hashes to {}", event.id()),
        ));
    }
    Ok(StoredEvent {
        event,
        status,
        state_before,
    })
}

fn decode_attestation(id: &AttestationId, value: &[u8]) -> Result<Attestation, StoreError> {
    let attestation =
        Attestation::decode(value).map_err(|e| StoreError::corrupt("attestation", e.reason()))?;
    if attestation.id() != *id {
        return Err(StoreError::corrupt("attestation", "id mismatch"));
    }
    Ok(attestation)
}

impl EventStore for SledStore {
    fn event(&self, id: &EventId) -> Result<Option<StoredEvent>, StoreError> {
        View(&self.tree).load(id)
    }
    fn contains(&self, id: &EventId) -> Result<bool, StoreError> {
        View(&self.tree).has_event(id)
    }
}

impl RoomDagStore for SledStore {
    fn rooms(&self, after: Option<&RoomId>, limit: usize) -> Result<Vec<RoomId>, StoreError> {
        let end = match successor(&[prefix::ORDER]) {
            Some(s) => Bound::Excluded(s),
            None => Bound::Unbounded,
        };
        let mut out = Vec::new();
        let mut cursor = after.copied();
        while out.len() < page_len(limit) {
            // Seek past every order entry of the previous room: one seek per room listed.
            let start =
                match cursor.and_then(|room| successor(&key(prefix::ORDER, &[room.as_bytes()]))) {
                    Some(s) => Bound::Included(s),
                    None if cursor.is_some() => break,
                    None => Bound::Included(vec![prefix::ORDER]),
                };
            let Some(item) = self.tree.range::<Vec<u8>, _>((start, end.clone())).next() else {
                break;
            };
            let (k, _) = item?;
            let room_bytes = k.get(1..1 + ID_LEN).unwrap_or_default();
            let room = RoomId(Hash32(fixed(room_bytes, "order key")?));
            out.push(room);
            cursor = Some(room);
        }
        Ok(out)
    }

    fn extremities(&self, room: &RoomId) -> Result<BTreeSet<EventId>, StoreError> {
        match self
            .tree
            .get(key(prefix::EXTREMITIES, &[room.as_bytes()]))?
        {
            Some(value) => Ok(ids_of(&value)?.into_iter().collect()),
            None => Ok(BTreeSet::new()),
        }
    }

    fn children(
        &self,
        parent: &EventId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<EventId>, StoreError> {
        self.scan_ids(&key(prefix::CHILD, &[parent.as_bytes()]), after, limit)
    }

    fn events_by_depth(
        &self,
        room: &RoomId,
        from: Option<Position>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Position>, StoreError> {
        let pre = key(prefix::ORDER, &[room.as_bytes()]);
        let cursor = from.map(|p| [&p.depth.to_be_bytes()[..], p.event.as_bytes()].concat());
        let items = self.scan(&pre, cursor.as_deref(), direction, limit)?;
        items
            .iter()
            .map(|(k, _)| {
                let depth_bytes = k.get(pre.len()..pre.len() + 8).unwrap_or_default();
                let depth = u64::from_be_bytes(fixed(depth_bytes, "order key")?);
                Ok(Position {
                    depth,
                    event: tail_id(k, pre.len() + 8)?,
                })
            })
            .collect()
    }

    fn rejected(
        &self,
        room: &RoomId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<(EventId, String)>, StoreError> {
        let pre = key(prefix::REJECTED, &[room.as_bytes()]);
        let items = self.scan(
            &pre,
            after.map(|id| &id.as_bytes()[..]),
            Direction::Forward,
            limit,
        )?;
        items
            .iter()
            .map(|(k, v)| {
                let reason = std::str::from_utf8(v)
                    .map_err(|_| StoreError::corrupt("rejected entry", "not utf-8"))?;
                Ok((tail_id(k, pre.len())?, reason.to_owned()))
            })
            .collect()
    }

    fn soft_failed(
        &self,
        room: &RoomId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<EventId>, StoreError> {
        self.scan_ids(&key(prefix::SOFT_FAILED, &[room.as_bytes()]), after, limit)
    }

    fn outliers(
        &self,
        room: &RoomId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<(EventId, BTreeSet<EventId>)>, StoreError> {
        let pre = key(prefix::OUTLIER, &[room.as_bytes()]);
        let items = self.scan(
            &pre,
            after.map(|id| &id.as_bytes()[..]),
            Direction::Forward,
            limit,
        )?;
        items
            .iter()
            .map(|(k, v)| Ok((tail_id(k, pre.len())?, ids_of(v)?.into_iter().collect())))
            .collect()
    }

    fn waiting_for(
        &self,
        missing: &EventId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<EventId>, StoreError> {
        self.scan_ids(&key(prefix::WAITING, &[missing.as_bytes()]), after, limit)
    }
}

impl StateStore for SledStore {
    fn snapshot(&self, id: &SnapshotId) -> Result<Option<StateSnapshot>, StoreError> {
        match self.tree.get(key(prefix::SNAPSHOT, &[id.as_bytes()]))? {
            Some(value) => StateSnapshot::decode(id, &value).map(Some),
            None => Ok(None),
        }
    }

    fn state_before(&self, event: &EventId) -> Result<Option<SnapshotId>, StoreError> {
        match self.tree.get(key(prefix::EVENT, &[event.as_bytes()]))? {
            // Only the header: no need to decode the event for its state pointer.
            Some(value) => Ok(decode_header(&value)?.0),
            None => Ok(None),
        }
    }

    fn current_state(&self, room: &RoomId) -> Result<Option<SnapshotId>, StoreError> {
        match self.tree.get(key(prefix::CURRENT, &[room.as_bytes()]))? {
            Some(value) => Ok(Some(SnapshotId(Hash32(fixed(&value, "current state")?)))),
            None => Ok(None),
        }
    }
}

impl IdentityStore for SledStore {
    fn attestation(&self, id: &AttestationId) -> Result<Option<Attestation>, StoreError> {
        match self.tree.get(key(prefix::ATTESTATION, &[id.as_bytes()]))? {
            Some(value) => decode_attestation(id, &value).map(Some),
            None => Ok(None),
        }
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

impl AuthorIndex for SledStore {
    fn events_by_author(
        &self,
        author: &UserKey,
        after: Option<(RoomId, EventId)>,
        limit: usize,
    ) -> Result<Vec<(RoomId, EventId)>, StoreError> {
        let pre = key(prefix::AUTHOR, &[author.as_bytes()]);
        let cursor = after.map(|(room, id)| [&room.as_bytes()[..], id.as_bytes()].concat());
        let items = self.scan(&pre, cursor.as_deref(), Direction::Forward, limit)?;
        items
            .iter()
            .map(|(k, _)| {
                let room = RoomId(Hash32(fixed(
                    k.get(pre.len()..pre.len() + ID_LEN).unwrap_or_default(),
                    "author key",
                )?));
                Ok((room, tail_id(k, pre.len() + ID_LEN)?))
            })
            .collect()
    }
}

impl Store for SledStore {
    fn commit(&self, batches: Vec<WriteBatch>) -> Result<Durable, StoreError> {
        // If the flush fails, the writes are visible but not known to be durable: the error
        // tells the caller not to acknowledge them.
        let sequence = self.write_batches(&batches)?;
        // Flushed outside the commit lock, so the next commit can be applied meanwhile; sled's
        // flush makes everything written before the call stable, this commit included.
        self.db.flush()?;
        Ok(Durable { sequence })
    }

    fn apply(&self, batches: Vec<WriteBatch>) -> Result<Applied, StoreError> {
        Ok(Applied {
            sequence: self.write_batches(&batches)?,
        })
    }

    fn flush(&self) -> Result<Durable, StoreError> {
        let sequence = self.current_sequence()?;
        self.db.flush()?;
        Ok(Durable { sequence })
    }

    fn last_sequence(&self) -> Result<u64, StoreError> {
        self.current_sequence()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successor_skips_trailing_ff() {
        assert_eq!(successor(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(successor(&[1, 0xff]), Some(vec![2]));
        assert_eq!(successor(&[0xff, 0xff]), None);
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
