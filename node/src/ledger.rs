//! [`Ledger`]: the node's record of its rooms: one sans-IO [`Room`] engine per room, kept in step
//! with a [`Store`].
//!
//! This is the receive path of a node (specs/rooms.md, "Checks on receipt"): verified events go
//! into their room's engine, and everything the engine reports (outcomes, state-before
//! snapshots, forward extremities, current state, visibility changes, redactions) is written to
//! the store in one atomic, flushed commit per call (group commit). An outcome is returned only
//! after that flush, so "accepted" always means "on disk".
//!
//! Opening rebuilds every engine from the store: the engine's decisions are a function of the
//! event set, so replaying the stored events (without re-verifying their signatures) restores
//! exactly the state, visibility and timeline the node had.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use causerie_crypto::event::kinds;
use causerie_crypto::{Attestation, AttestationId, Event, EventId, RoomId, UserKey};
use causerie_storage::{
    CompactReport, Direction, EventStatus as StoredStatus, MAX_PAGE_LEN, SnapshotId, StateSnapshot,
    Store, StoreError, WriteBatch, WriteOp,
};
use thiserror::Error;

use causerie_room::moderation::is_purge_ban;
use causerie_room::{Outcome, Receipt, Room, Source, StateMap};

/// Most events one [`Ledger::receive`] call takes (one group commit).
pub const MAX_RECEIVE_BATCH: usize = 4_096;
/// Most state snapshots whose ids are remembered (hashing a snapshot means encoding it).
const SNAPSHOT_ID_CACHE: usize = 256;

/// Why a receive or open failed. Invalid events are not errors: they get an [`Outcome`].
#[derive(Debug, Error)]
pub enum LedgerError {
    /// The store failed; nothing of the call was acknowledged.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The group commit this call shared with others failed (with that commit's error);
    /// nothing was acknowledged.
    #[error("shared commit failed")]
    SharedCommit(#[source] std::sync::Arc<LedgerError>),
    /// More events than [`MAX_RECEIVE_BATCH`] in one call.
    #[error("batch of {0} events exceeds {MAX_RECEIVE_BATCH}")]
    BatchTooLarge(usize),
}

impl LedgerError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            LedgerError::Store(e) => e.reason(),
            LedgerError::SharedCommit(cause) => cause.reason(),
            LedgerError::BatchTooLarge(_) => "batch_too_large",
        }
    }
}

/// The node's rooms and their store.
pub struct Ledger<S: Store> {
    /// Shared so that readers needing no engine (accounts, attestations) can reach the store
    /// without the engines: see [`Ledger::shared_store`].
    store: Arc<S>,
    rooms: BTreeMap<RoomId, Room>,
    /// State maps recently written, by address, with their snapshot ids. Holding the `Arc` keeps
    /// the address from being reused while cached.
    snapshot_ids: Vec<(Arc<StateMap>, SnapshotId)>,
    /// Attestations each room's engine already holds, so the store (whose reads re-verify the
    /// node's signature) is asked only once per room and attestation.
    given: BTreeMap<RoomId, BTreeSet<AttestationId>>,
    /// Whether a commit wrote a redacted form (a redaction or a purge applied) since the last
    /// compaction: the former content may still be in the store's files until the next one.
    compaction_due: bool,
    /// Commits that wrote a redacted form, ever (the actor waits for them to pause before it
    /// compacts, so that a burst of redactions, such as an erasure, is compacted once).
    redacting_commits: u64,
}

impl<S: Store> Ledger<S> {
    /// Opens the rooms kept in `store`, rebuilding each engine from its stored events.
    pub fn open(store: S, now_ms: u64) -> Result<Self, LedgerError> {
        let mut ledger = Ledger {
            store: Arc::new(store),
            rooms: BTreeMap::new(),
            snapshot_ids: Vec::new(),
            given: BTreeMap::new(),
            compaction_due: false,
            redacting_commits: 0,
        };
        let mut after = None;
        loop {
            let page = ledger.store.rooms(after.as_ref(), MAX_PAGE_LEN)?;
            let Some(last) = page.last().copied() else {
                break;
            };
            for room_id in page {
                let (room, given) = ledger.rebuild(room_id, now_ms)?;
                ledger.rooms.insert(room_id, room);
                ledger.given.insert(room_id, given);
            }
            after = Some(last);
        }
        Ok(ledger)
    }

    fn rebuild(
        &self,
        room_id: RoomId,
        now_ms: u64,
    ) -> Result<(Room, BTreeSet<AttestationId>), LedgerError> {
        let mut room = Room::new(room_id);
        let mut given = BTreeSet::new();
        let mut from = None;
        loop {
            let page =
                self.store
                    .events_by_depth(&room_id, from, Direction::Forward, MAX_PAGE_LEN)?;
            let Some(last) = page.last().copied() else {
                break;
            };
            for position in page {
                let Some(stored) = self.store.event(&position.event)? else {
                    continue;
                };
                let attestation_id = *stored.event.attestation();
                if !given.contains(&attestation_id)
                    && let Some(attestation) = self.store.attestation(&attestation_id)?
                    // Refusal here means the engine's attestation cap; the event then waits as
                    // it did before the restart.
                    && room.add_attestation(attestation).is_ok()
                {
                    given.insert(attestation_id);
                }
                // The replay's outcomes equal the stored ones: decisions depend on the event set.
                let _ = room.receive(stored.event, now_ms);
            }
            from = Some(last);
        }
        Ok((room, given))
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// A second owner of the store, for readers that need no room engine. The store closes when
    /// the last owner drops it: hold it only for the length of a read.
    pub fn shared_store(&self) -> Arc<S> {
        self.store.clone()
    }

    /// A room's engine.
    pub fn room(&self, room_id: &RoomId) -> Option<&Room> {
        self.rooms.get(room_id)
    }

    /// The rooms this node holds, in id order.
    pub fn room_ids(&self) -> impl Iterator<Item = &RoomId> {
        self.rooms.keys()
    }

    /// Stores an attestation (verified by its decoder) and gives it to every room whose held
    /// events wait for it. Returns the receipt of each room that took it (the events it
    /// released are among their decisions); everything is durable when this returns.
    pub fn add_attestation(
        &mut self,
        attestation: Attestation,
    ) -> Result<Vec<(RoomId, Receipt)>, LedgerError> {
        let id = attestation.id();
        let mut batch = WriteBatch::new();
        batch.push(WriteOp::PutAttestation(attestation.clone()));
        let mut released = Vec::new();
        let mut moot = Moot::default();
        for (room_id, room) in &mut self.rooms {
            if !room.missing_attestations().contains(&id) {
                continue;
            }
            let Ok(receipt) = room.add_attestation(attestation.clone()) else {
                continue;
            };
            self.given.entry(*room_id).or_default().insert(id);
            record(&mut batch, &mut self.snapshot_ids, room, None, &receipt)?;
            let purged = moot.note(room, &receipt);
            redact_held_of_purged(&*self.store, &mut batch, room, &purged)?;
            if receipt.extremities.is_some() {
                batch.push(WriteOp::SetExtremities {
                    room: *room_id,
                    tips: room.extremities().into_iter().collect(),
                });
            }
            if receipt.current_state_changed {
                let current = Arc::new(room.current_state().clone());
                let snapshot = snapshot_id(&mut batch, &mut self.snapshot_ids, &current)?;
                batch.push(WriteOp::SetCurrentState {
                    room: *room_id,
                    snapshot,
                });
            }
            released.push((*room_id, receipt));
        }
        let _durable = self.store.commit(vec![batch])?;
        // Both always run: the moot review items go whether or not a redaction came too.
        let forgotten = moot.forget(&*self.store) > 0;
        self.mark_redacted(released.iter().any(|(_, r)| redacts(r)) || forgotten);
        Ok(released)
    }

    /// Offers verified events of this node's own (client submissions) like
    /// [`Ledger::receive_from`].
    pub fn receive(
        &mut self,
        events: Vec<Event>,
        now_ms: u64,
    ) -> Result<Vec<Receipt>, LedgerError> {
        self.receive_from(
            events.into_iter().map(|e| (e, Source::LOCAL)).collect(),
            now_ms,
        )
    }

    /// Offers verified events (any rooms; a create event opens its room), each with who sent it
    /// (held events are bounded and penalised per source). Every outcome is durable when this
    /// returns. Returns one receipt per offered event, in order.
    pub fn receive_from(
        &mut self,
        events: Vec<(Event, Source)>,
        now_ms: u64,
    ) -> Result<Vec<Receipt>, LedgerError> {
        if events.len() > MAX_RECEIVE_BATCH {
            return Err(LedgerError::BatchTooLarge(events.len()));
        }
        // An accepted event takes two operations (the event, its state before).
        let mut batch = WriteBatch::with_capacity(events.len().saturating_mul(2).saturating_add(4));
        let mut receipts = Vec::with_capacity(events.len());
        let mut touched: BTreeMap<RoomId, (bool, bool)> = BTreeMap::new();
        let mut moot = Moot::default();
        for (event, source) in events {
            let room_id = event.room_id();
            let attestation_id = *event.attestation();
            let given = self.given.entry(room_id).or_default();
            let attestation = if given.contains(&attestation_id) {
                None
            } else {
                self.store.attestation(&attestation_id)?
            };
            let room = self
                .rooms
                .entry(room_id)
                .or_insert_with(|| Room::new(room_id));
            let mut pre = None;
            if let Some(attestation) = attestation {
                pre = room.add_attestation(attestation).ok();
                if pre.is_some() {
                    given.insert(attestation_id);
                }
            }
            let receipt = room.receive_from(event.clone(), source, now_ms);
            let entry = touched.entry(room_id).or_default();
            for r in pre.iter().chain(std::iter::once(&receipt)) {
                entry.0 |= r.extremities.is_some();
                entry.1 |= r.current_state_changed;
            }
            if let Some(pre) = &pre {
                record(&mut batch, &mut self.snapshot_ids, room, None, pre)?;
                let purged = moot.note(room, pre);
                redact_held_of_purged(&*self.store, &mut batch, room, &purged)?;
            }
            record(
                &mut batch,
                &mut self.snapshot_ids,
                room,
                Some(&event),
                &receipt,
            )?;
            let purged = moot.note(room, &receipt);
            redact_held_of_purged(&*self.store, &mut batch, room, &purged)?;
            receipts.push(receipt);
        }
        for (&room_id, &(tips_changed, state_changed)) in &touched {
            let Some(room) = self.rooms.get(&room_id) else {
                continue;
            };
            if room.accepted_count() == 0 {
                // Nothing of this room was accepted (e.g. only outliers): no tips, no state yet.
                continue;
            }
            if tips_changed {
                batch.push(WriteOp::SetExtremities {
                    room: room_id,
                    tips: room.extremities().into_iter().collect(),
                });
            }
            if state_changed {
                let current = Arc::new(room.current_state().clone());
                let snapshot = snapshot_id(&mut batch, &mut self.snapshot_ids, &current)?;
                batch.push(WriteOp::SetCurrentState {
                    room: room_id,
                    snapshot,
                });
            }
        }
        // Only now, with the commit flushed, may the outcomes be reported.
        if let Err(e) = self.store.commit(vec![batch]) {
            // The engines moved ahead of the store: put every touched room back to what is
            // durable, so nothing unacknowledged is served or built upon.
            for room_id in touched.keys() {
                let (room, given) = self.rebuild(*room_id, now_ms)?;
                if room.accepted_count() == 0 && room.outlier_count() == 0 {
                    // Nothing of it is on disk: the node does not hold this room.
                    self.rooms.remove(room_id);
                    self.given.remove(room_id);
                } else {
                    self.rooms.insert(*room_id, room);
                    self.given.insert(*room_id, given);
                }
            }
            return Err(e.into());
        }
        let forgotten = moot.forget(&*self.store) > 0;
        self.mark_redacted(receipts.iter().any(redacts) || forgotten);
        Ok(receipts)
    }

    /// Whether content was redacted in the store since the last [`Ledger::compact`].
    pub fn compaction_due(&self) -> bool {
        self.compaction_due
    }

    /// How many commits wrote a redacted form since the ledger opened: a change tells that
    /// redactions are still coming.
    pub fn redacting_commits(&self) -> u64 {
        self.redacting_commits
    }

    fn mark_redacted(&mut self, redacted: bool) {
        if redacted {
            self.compaction_due = true;
            self.redacting_commits += 1;
        }
    }

    /// Compacts the store (specs/moderation.md §4): afterwards no redacted content is left in
    /// its files.
    pub fn compact(&mut self) -> Result<CompactReport, LedgerError> {
        let report = self.store.compact()?;
        self.compaction_due = false;
        Ok(report)
    }

    /// Attestations that held events of any room wait for (to fetch from their home nodes).
    pub fn waiting_attestations(&self) -> Vec<AttestationId> {
        self.rooms
            .values()
            .flat_map(Room::missing_attestations)
            .collect()
    }
}

/// Review-queue items a commit made moot, per room: events now shown redacted and users banned
/// with `purge` (specs/moderation.md §7.5). Their text must leave the store with the events'.
#[derive(Default)]
struct Moot(BTreeMap<RoomId, (BTreeSet<EventId>, BTreeSet<UserKey>)>);

impl Moot {
    /// Notes what `receipt` redacted or purged in `room`; returns the purged users.
    fn note(&mut self, room: &Room, receipt: &Receipt) -> BTreeSet<UserKey> {
        let purged: BTreeSet<UserKey> = receipt
            .visibility
            .iter()
            .filter(|c| c.shown.visible)
            .filter_map(|c| room.event(&c.event))
            .filter(|e| e.kind() == kinds::MEMBER && is_purge_ban(e.content()))
            .filter_map(|e| e.state_key().and_then(|k| UserKey::from_hex(k).ok()))
            .collect();
        let redacted = receipt
            .visibility
            .iter()
            .filter(|c| c.shown.redacted)
            .map(|c| c.event);
        if purged.is_empty() && redacted.clone().next().is_none() {
            return purged;
        }
        let entry = self.0.entry(room.room_id()).or_default();
        entry.0.extend(redacted);
        entry.1.extend(purged.iter().copied());
        purged
    }

    /// Removes the moot items from the review queues (after the commit that made them moot).
    /// A failure is logged and leaves the items for a moderator: the events stay redacted.
    /// Returns how many items left.
    fn forget<S: Store>(self, store: &S) -> usize {
        let mut total = 0;
        for (room, (events, users)) in self.0 {
            match crate::moderation::review::forget_moot(store, &room, &events, &users) {
                Ok(0) => {}
                Ok(removed) => {
                    total += removed;
                    tracing::info!(%room, removed, "review items made moot by redaction");
                }
                Err(e) => tracing::warn!(%room, reason = e.reason(), "review cleanup failed"),
            }
        }
        total
    }
}

/// When a receipt shows a ban-and-purge (specs/moderation.md §1.4), the target's stored held
/// events (outliers) of the room are rewritten in their redacted form too: they may never be
/// accepted, and their text must not wait for that to leave the store. Once accepted, the purge
/// covers them like any other event (the engine reports them redacted).
fn redact_held_of_purged<S: Store>(
    store: &S,
    batch: &mut WriteBatch,
    room: &Room,
    purged: &BTreeSet<UserKey>,
) -> Result<(), LedgerError> {
    if purged.is_empty() {
        return Ok(());
    }
    let mut after = None;
    loop {
        let page = store.outliers(&room.room_id(), after.as_ref(), MAX_PAGE_LEN)?;
        let Some((last, _)) = page.last() else {
            return Ok(());
        };
        after = Some(*last);
        for (id, _) in &page {
            if let Some(stored) = store.event(id)?
                && purged.contains(stored.event.author())
                && !stored.event.is_redacted()
            {
                batch.push(WriteOp::PutEvent {
                    event: stored.event.redacted(),
                    status: stored.status,
                });
            }
        }
    }
}

/// Whether a receipt made the store write an event's redacted form.
fn redacts(receipt: &Receipt) -> bool {
    receipt.visibility.iter().any(|c| c.shown.redacted)
}

/// Turns one receipt into store operations.
fn record(
    batch: &mut WriteBatch,
    cache: &mut Vec<(Arc<StateMap>, SnapshotId)>,
    room: &Room,
    offered: Option<&Event>,
    receipt: &Receipt,
) -> Result<(), LedgerError> {
    for decision in &receipt.decisions {
        let is_offered = offered.is_some_and(|e| e.id() == decision.event);
        let status = match &decision.outcome {
            Outcome::Accepted { soft_failed, .. } => {
                if *soft_failed {
                    StoredStatus::SoftFailed
                } else {
                    StoredStatus::Accepted
                }
            }
            Outcome::Rejected(reason) => StoredStatus::rejected(reason.reason()),
            Outcome::Held { missing_events, .. } if !missing_events.is_empty() => {
                StoredStatus::outlier(missing_events.iter().copied())
            }
            // Waiting only for an attestation, or refused: nothing to keep; the sender offers
            // it again once the attestation is known.
            Outcome::Held { .. } | Outcome::Refused(_) => continue,
        };
        let event = match offered {
            Some(e) if is_offered => Some(e.clone()),
            // A held event released and rejected: the engine keeps only its id, and the store
            // may not have it (one that waited only for its attestation was never stored).
            _ => room.event(&decision.event).cloned().or_else(|| {
                receipt
                    .held
                    .iter()
                    .find(|ended| ended.event.id() == decision.event)
                    .map(|ended| ended.event.clone())
            }),
        };
        match event {
            Some(event) => batch.push(WriteOp::PutEvent { event, status }),
            None => batch.push(WriteOp::SetStatus {
                event: decision.event,
                status,
            }),
        };
        if let Outcome::Accepted { state_before, .. } = &decision.outcome {
            let snapshot = snapshot_id(batch, cache, state_before)?;
            batch.push(WriteOp::SetStateBefore {
                event: decision.event,
                snapshot,
            });
        }
    }
    for change in &receipt.visibility {
        let status = if change.shown.visible {
            StoredStatus::Accepted
        } else {
            StoredStatus::SoftFailed
        };
        match room.event(&change.event) {
            // A valid redaction removes the content from the store too (same id, same signature).
            Some(event) if change.shown.redacted => batch.push(WriteOp::PutEvent {
                event: event.redacted(),
                status,
            }),
            _ => batch.push(WriteOp::SetStatus {
                event: change.event,
                status,
            }),
        };
    }
    Ok(())
}

/// The snapshot id of `map`, writing the snapshot unless it was written recently.
fn snapshot_id(
    batch: &mut WriteBatch,
    cache: &mut Vec<(Arc<StateMap>, SnapshotId)>,
    map: &Arc<StateMap>,
) -> Result<SnapshotId, LedgerError> {
    // Newest first: consecutive events of a room nearly always share their state map.
    if let Some((_, id)) = cache.iter().rev().find(|(m, _)| Arc::ptr_eq(m, map)) {
        return Ok(*id);
    }
    let snapshot = StateSnapshot::new((**map).clone())?;
    let id = snapshot.id();
    batch.push(WriteOp::PutSnapshot(snapshot));
    if cache.len() >= SNAPSHOT_ID_CACHE {
        cache.remove(0);
    }
    cache.push((map.clone(), id));
    Ok(id)
}

/// Ids of events a receipt accepted, for callers that publish them.
pub fn accepted(receipt: &Receipt) -> impl Iterator<Item = EventId> + '_ {
    receipt.decisions.iter().filter_map(|d| match d.outcome {
        Outcome::Accepted { .. } => Some(d.event),
        _ => None,
    })
}
