//! The read-only answers of the node actor, computed from the [`Ledger`]'s engines and store in
//! one consistent state: federation reads (events by id, backfill, since, room state, what held
//! events wait for), client views (rooms, members, history) and summaries. Nothing here
//! changes the ledger.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use causerie_crypto::{Attestation, AttestationId, Event, EventId, RoomId, UserKey};
use causerie_storage::{
    Direction, EventStatus as StoredStatus, IdentityStore, Position, Store, StoreError,
};

use super::{
    HistoryPage, MAX_ATTESTATIONS_PER_USER, MAX_ROOM_STATE_EVENTS, NodeError, RoomSelection,
    RoomSnapshot, RoomSummary,
};
use crate::ledger::Ledger;
use crate::views::{self, MemberView, RoomView};
use causerie_room::{JoinRule, Membership, Source};

/// A stored event that is not rejected, as stored (redacted ones redacted).
/// An accepted event (visible or soft-failed) as stored. Held events are not served: they are
/// not judged yet (a peer must not answer for what this node could not check), and one the
/// engine has let go (expired, evicted) must look unknown so that catch-up fetches it again.
fn stored<S: Store>(ledger: &Ledger<S>, id: &EventId) -> Result<Option<Event>, NodeError> {
    let stored = ledger.store().event(id).map_err(NodeError::Store)?;
    Ok(stored.and_then(|s| match s.status {
        StoredStatus::Accepted | StoredStatus::SoftFailed => Some(s.event),
        StoredStatus::Rejected { .. } | StoredStatus::Outlier { .. } => None,
    }))
}

/// The accepted events among `ids`.
pub(super) fn events<S: Store>(
    ledger: &Ledger<S>,
    ids: &[EventId],
) -> Result<Vec<Event>, NodeError> {
    let mut out = Vec::new();
    for id in ids {
        if let Some(event) = stored(ledger, id)? {
            out.push(event);
        }
    }
    Ok(out)
}

/// Ancestors of `from` in `room`, nearest first, at most `limit`.
pub(super) fn backfill<S: Store>(
    ledger: &Ledger<S>,
    room: RoomId,
    from: &[EventId],
    limit: usize,
) -> Result<Vec<Event>, NodeError> {
    // Walk parents deepest first, so the answer is the nearest history before `from`.
    let mut seen: BTreeSet<EventId> = from.iter().copied().collect();
    let mut frontier: BinaryHeap<(u64, EventId)> = BinaryHeap::new();
    for id in from {
        if let Some(event) = stored(ledger, id)? {
            if event.room_id() != room {
                continue;
            }
            for parent in event.prev_events() {
                if seen.insert(*parent) {
                    frontier.push((event.depth().saturating_sub(1), *parent));
                }
            }
        }
    }
    let mut out = Vec::new();
    while let Some((_, id)) = frontier.pop() {
        if out.len() >= limit {
            break;
        }
        let Some(event) = stored(ledger, &id)? else {
            continue;
        };
        for parent in event.prev_events() {
            if seen.insert(*parent) {
                frontier.push((event.depth().saturating_sub(1), *parent));
            }
        }
        out.push(event);
    }
    out.sort_by_key(|e| std::cmp::Reverse((e.depth(), e.id())));
    Ok(out)
}

/// The room's accepted events in (depth, id) order strictly after `after`, at most `limit`.
pub(super) fn since<S: Store>(
    ledger: &Ledger<S>,
    room: RoomId,
    after: Option<(u64, EventId)>,
    limit: usize,
) -> Result<Vec<Event>, NodeError> {
    let Some(engine) = ledger.room(&room) else {
        return Err(NodeError::UnknownRoom);
    };
    let mut out = Vec::new();
    let mut cursor = after.map(|(depth, event)| Position { depth, event });
    while out.len() < limit {
        let page = ledger
            .store()
            .events_by_depth(&room, cursor, Direction::Forward, limit - out.len())
            .map_err(NodeError::Store)?;
        let Some(last) = page.last().copied() else {
            break;
        };
        for position in page {
            if let Some(event) = engine.shown_event(&position.event) {
                out.push(event);
            }
        }
        cursor = Some(last);
    }
    Ok(out)
}

/// The room's current state and its auth chain (at most [`MAX_ROOM_STATE_EVENTS`]).
pub(super) fn room_state<S: Store>(ledger: &Ledger<S>, room: RoomId) -> Option<RoomSnapshot> {
    let engine = ledger.room(&room)?;
    if engine.accepted_count() == 0 {
        return None;
    }
    let state_ids: BTreeSet<EventId> = engine.current_state().values().copied().collect();
    let state: Vec<Event> = state_ids
        .iter()
        .filter_map(|id| engine.event(id))
        .cloned()
        .collect();
    let mut chain: BTreeMap<EventId, Event> = BTreeMap::new();
    let mut queue: Vec<EventId> = state
        .iter()
        .flat_map(|e| e.auth_events().to_vec())
        .collect();
    while let Some(id) = queue.pop() {
        if chain.len() >= MAX_ROOM_STATE_EVENTS {
            break;
        }
        if state_ids.contains(&id) || chain.contains_key(&id) {
            continue;
        }
        if let Some(event) = engine.event(&id) {
            queue.extend(event.auth_events().iter().copied());
            chain.insert(id, event.clone());
        }
    }
    let mut auth_chain: Vec<Event> = chain.into_values().collect();
    auth_chain.sort_by_key(|e| (e.depth(), e.id()));
    Some(RoomSnapshot {
        tips: engine.extremities(),
        state,
        auth_chain,
    })
}

/// Counts, state, timeline and tips of a room.
pub(super) fn summary<S: Store>(ledger: &Ledger<S>, room: RoomId) -> Option<RoomSummary> {
    let engine = ledger.room(&room)?;
    Some(RoomSummary {
        accepted: engine.accepted_count(),
        held: engine.outlier_count(),
        state: engine.current_state().clone(),
        timeline: engine.timeline().into_iter().map(|t| t.event).collect(),
        tips: engine.extremities(),
    })
}

/// What the room's held events from `source` (and the node's own) wait for: events, then
/// attestations, each sorted.
pub(super) fn missing<S: Store>(
    ledger: &Ledger<S>,
    room: RoomId,
    source: &Source,
) -> (Vec<EventId>, Vec<AttestationId>) {
    let Some(engine) = ledger.room(&room) else {
        return (Vec::new(), Vec::new());
    };
    let (mut events, mut attestations) = engine.held_needs(source);
    if !source.is_local() {
        let (own_events, own_attestations) = engine.held_needs(&Source::LOCAL);
        events.extend(own_events);
        attestations.extend(own_attestations);
        events.sort_unstable();
        events.dedup();
        attestations.sort_unstable();
        attestations.dedup();
    }
    (events, attestations)
}

/// The views of the rooms `selection` names (rooms with at least one accepted event only).
pub(super) fn room_views<S: Store>(ledger: &Ledger<S>, selection: RoomSelection) -> Vec<RoomView> {
    if let RoomSelection::Room { room, viewer } = selection {
        return ledger
            .room(&room)
            .filter(|r| r.accepted_count() > 0)
            .map(|r| views::room_view(r, viewer.as_ref()))
            .into_iter()
            .collect();
    }
    let viewer = match selection {
        RoomSelection::MemberOf(user) => Some(user),
        RoomSelection::Public | RoomSelection::Room { .. } => None,
    };
    let mut out: Vec<RoomView> = ledger
        .room_ids()
        .filter_map(|id| ledger.room(id))
        .filter(|room| room.accepted_count() > 0)
        .map(|room| views::room_view(room, viewer.as_ref()))
        .filter(|view| match selection {
            RoomSelection::Public => view.join_rules.rule == JoinRule::Public,
            RoomSelection::MemberOf(_) => matches!(
                view.membership,
                Some(Membership::Join | Membership::Invite | Membership::Knock)
            ),
            RoomSelection::Room { .. } => true,
        })
        .collect();
    if selection == RoomSelection::Public {
        out.sort_by(|a, b| b.joined.cmp(&a.joined).then(a.room.cmp(&b.room)));
    }
    out
}

/// Every user with a member event in the room's current state.
pub(super) fn members<S: Store>(ledger: &Ledger<S>, room: RoomId) -> Option<Vec<MemberView>> {
    ledger.room(&room).map(views::members)
}

/// Up to `limit` visible events before `before`.
pub(super) fn history<S: Store>(
    ledger: &Ledger<S>,
    room: RoomId,
    before: Option<(u64, EventId)>,
    limit: usize,
) -> Option<HistoryPage> {
    ledger.room(&room).map(|r| {
        let (events, prev) = r.timeline_page(before, limit);
        HistoryPage {
            events,
            prev,
            relations: Default::default(),
            replied: Default::default(),
        }
    })
}

/// The latest attestation of `user` the store holds (the one valid longest; issued last wins
/// among equals), whether still valid or not.
pub(super) fn latest_attestation(
    store: &(impl IdentityStore + ?Sized),
    user: &UserKey,
) -> Result<Option<Attestation>, StoreError> {
    let found = store.attestations_for(user, None, MAX_ATTESTATIONS_PER_USER)?;
    Ok(found
        .into_iter()
        .max_by_key(|a| (a.not_after(), a.not_before(), a.id())))
}
