//! Everything that needs the node: answering requests, validating gossip, catch-up and joining
//! (specs/federation.md, "Catch-up" and "Joining").
//!
//! Catch-up of a room with a peer: ask its tips; those this node lacks, plus the ids that the
//! held events this peer sent (and the node's own) wait for, are fetched with `GetEvents`; then
//! the walk goes backwards with `Backfill` from every fetched event whose references are still
//! unknown, in pages that grow while they bring only new events, until every reference is known
//! locally. The fetched events are verified as they arrive (on blocking threads, both cores),
//! the attestations they name that the node lacks are fetched with `GetAttestation`, and they are
//! ingested in ascending (depth, id) order in large batches (one group commit each), so parents
//! always come before children. Joining walks the whole history forwards with `Since`.
//!
//! Every event is offered with its sender as its source, so the engine bounds held events per
//! peer and the actor can penalise a peer whose held events end rejected or expire. Gossip
//! verdicts of events held for an attestation wait (deferred in the actor) until the attestation
//! is fetched, within the fetch budget of [`super::fetch`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use causerie_crypto::{Attestation, AttestationId, Event, EventError, EventId, RoomId};
use libp2p::PeerId;
use libp2p::gossipsub::{MessageAcceptance, MessageId};
use serde_bytes::ByteBuf;
use tokio::sync::mpsc;

use super::fetch::Start;
use super::metrics::NetMetrics;
use super::wire::{
    BACKFILL_PAGE, ErrorReason, MAX_IDS_PER_REQUEST, RESPONSE_EVENT_BYTES, Request, Response,
};
use super::{Command, Invite, NetError, NetHandle, source_of};
use crate::letter::NodeLetter;
use crate::moderation::review::classified_kind;
use crate::node::{IngestOutcome, Ingested, Node, NodeError};

/// Events ingested per node call during catch-up (one group commit each).
pub const INGEST_BATCH: usize = 2_048;
/// Gossip messages validated together (one ingest call).
pub const GOSSIP_BATCH: usize = 256;
/// Most events one backward catch-up collects before ingesting; a larger gap is caught up by a
/// forward walk of the peer's whole history instead.
pub const MAX_CATCHUP_EVENTS: usize = 200_000;
/// Most bytes of events one backward catch-up holds in memory.
pub const MAX_CATCHUP_BYTES: usize = 256 * 1024 * 1024;
/// First backfill page size; pages double while they bring only unknown events.
pub const FIRST_BACKFILL_LIMIT: usize = 64;
/// Most attestations fetched in one catch-up.
pub const MAX_ATTESTATIONS_PER_SYNC: usize = 256;
/// Ids remembered as pulled or received on gossip (not to be re-published on gossip).
pub const MAX_PULLED_TRACKED: usize = 65_536;
/// Below this many events, verification stays on one thread.
const PARALLEL_VERIFY_MIN: usize = 64;

/// What [`NetHandle::join`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinReport {
    /// The room.
    pub room: RoomId,
    /// The peer the history came from.
    pub peer: PeerId,
    /// Events fetched and verified.
    pub events_fetched: usize,
}

/// A gossip message waiting for validation.
pub(crate) struct GossipItem {
    pub(crate) id: MessageId,
    pub(crate) source: PeerId,
    pub(crate) room: RoomId,
    pub(crate) data: Vec<u8>,
}

/// Ids of events ingested from pulls or from gossip, so the actor does not publish them on
/// gossip again (gossipsub relays validated messages itself). Bounded:
/// the oldest are forgotten first (forgetting one only costs a redundant publish).
#[derive(Clone, Default)]
pub(crate) struct PulledIds(Arc<Mutex<(VecDeque<EventId>, BTreeSet<EventId>)>>);

impl PulledIds {
    fn add(&self, ids: impl IntoIterator<Item = EventId>) {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (order, set) = &mut *guard;
        for id in ids {
            if set.insert(id) {
                order.push_back(id);
            }
            while order.len() > MAX_PULLED_TRACKED {
                if let Some(old) = order.pop_front() {
                    set.remove(&old);
                }
            }
        }
    }

    /// Whether `id` was pulled (and forgets it).
    pub(crate) fn take(&self, id: &EventId) -> bool {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        guard.1.remove(id)
    }
}

/// Verifies event bytes (full verify path), on blocking threads split across both cores.
pub async fn verify_events(bytes: Vec<ByteBuf>) -> Vec<Result<Event, EventError>> {
    if bytes.len() < PARALLEL_VERIFY_MIN {
        return bytes.iter().map(|b| Event::decode(b)).collect();
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let chunk = bytes.len().div_ceil(threads);
    let mut tasks = Vec::with_capacity(threads);
    let mut rest = bytes;
    while !rest.is_empty() {
        let tail = rest.split_off(chunk.min(rest.len()));
        let part = std::mem::replace(&mut rest, tail);
        tasks.push(tokio::task::spawn_blocking(move || {
            part.iter().map(|b| Event::decode(b)).collect::<Vec<_>>()
        }));
    }
    let mut out = Vec::new();
    for task in tasks {
        match task.await {
            Ok(part) => out.extend(part),
            // A panicking decoder is a bug; treat its chunk as unverifiable.
            Err(_) => out.push(Err(EventError::BadSignature)),
        }
    }
    out
}

fn ingest_reason(outcome: &IngestOutcome) -> MessageAcceptance {
    match outcome {
        IngestOutcome::Accepted { visible: true } => MessageAcceptance::Accept,
        IngestOutcome::Rejected(_) => MessageAcceptance::Reject,
        // Soft-failed, duplicate, held or refused: not relayed, not the sender's fault.
        _ => MessageAcceptance::Ignore,
    }
}

/// The gossip validation loop: verifies, ingests in batches, reports each verdict.
pub(crate) async fn validate_gossip(mut receiver: mpsc::Receiver<GossipItem>, handle: NetHandle) {
    while let Some(first) = receiver.recv().await {
        let mut items = vec![first];
        while items.len() < GOSSIP_BATCH {
            match receiver.try_recv() {
                Ok(item) => items.push(item),
                Err(_) => break,
            }
        }
        let decoded = verify_events(
            items
                .iter()
                .map(|i| ByteBuf::from(i.data.clone()))
                .collect(),
        )
        .await;
        let mut valid = Vec::new();
        let mut sources = Vec::new();
        for (item, result) in items.into_iter().zip(decoded) {
            let verdict = match result {
                Ok(event) if event.room_id() == item.room => {
                    sources.push(item);
                    valid.push(event);
                    continue;
                }
                Ok(_) => "wrong_room",
                Err(e) => e.reason(),
            };
            handle.metrics.event_rejected(verdict);
            handle
                .report(item.id, item.source, MessageAcceptance::Reject)
                .await;
        }
        if valid.is_empty() {
            continue;
        }
        // Gossipsub relays what it validated itself; publishing these again would only be
        // refused as duplicates (and logged by gossipsub).
        handle.pulled.add(valid.iter().map(Event::id));
        // With the classifier's screen (specs/moderation.md §6.4), the verdict of an event it
        // asks about waits for its ruling: deferred before the ingest, so the screened
        // announcement finds it (Accept when shown, Ignore when hidden: never relayed).
        let screened: BTreeSet<EventId> = if handle.node.is_screened() {
            valid
                .iter()
                .filter(|e| classified_kind(e.kind(), e.state_key().is_some()))
                .map(Event::id)
                .collect()
        } else {
            BTreeSet::new()
        };
        for (event, item) in valid.iter().zip(&sources) {
            if screened.contains(&event.id()) {
                handle.defer(event.id(), item.id.clone(), item.source).await;
            }
        }
        let offered = valid
            .into_iter()
            .zip(sources.iter().map(|item| source_of(&item.source)))
            .collect();
        match handle.node.ingest_from(offered).await {
            Ok(outcomes) => {
                for (item, outcome) in sources.into_iter().zip(outcomes) {
                    if screened.contains(&outcome.id) {
                        if outcome.outcome == (IngestOutcome::Accepted { visible: true }) {
                            continue;
                        }
                        handle.try_send(Command::Forget(outcome.id));
                    }
                    settle_gossip(&handle, item, outcome).await;
                }
            }
            Err(e) => {
                tracing::warn!(reason = e.reason(), "gossip ingest failed");
                for item in sources {
                    handle
                        .report(item.id, item.source, MessageAcceptance::Ignore)
                        .await;
                }
            }
        }
    }
}

/// Reports the verdict of one ingested gossip message, or defers it while the attestation its
/// held event waits for is fetched from the sender (within the fetch budget, one fetch per
/// attestation however many events wait for it). Missing parents are pulled from the sender
/// (the actor applies the budget); the verdict of such an event is Ignore, and a rejection once
/// the parents arrive is scored against the sender with a strike.
async fn settle_gossip(handle: &NetHandle, item: GossipItem, ingested: Ingested) {
    let acceptance = ingest_reason(&ingested.outcome);
    let IngestOutcome::Held {
        missing_events,
        missing_attestation,
    } = ingested.outcome
    else {
        if let IngestOutcome::Rejected(reason) = ingested.outcome {
            handle.metrics.event_rejected(reason.reason());
        }
        handle.report(item.id, item.source, acceptance).await;
        return;
    };
    if !missing_events.is_empty() {
        handle.try_send(Command::Pull(item.room, item.source, missing_events));
    }
    if let Some(attestation) = missing_attestation {
        let start = handle.held_fetches.start_attestation(
            item.source,
            attestation,
            Some(ingested.id),
            std::time::Instant::now(),
        );
        match start {
            Start::Started | Start::Joined => {
                handle.defer(ingested.id, item.id, item.source).await;
                if start == Start::Started {
                    let handle = handle.clone();
                    tokio::spawn(async move {
                        let added =
                            match fetch_attestations(&handle, item.source, vec![attestation]).await
                            {
                                Ok(added) => added,
                                Err(e) => {
                                    tracing::debug!(
                                        peer = %item.source,
                                        reason = e.reason(),
                                        "attestation fetch failed"
                                    );
                                    0
                                }
                            };
                        let waiters = handle.held_fetches.finish_attestation(&attestation);
                        if added == 0 {
                            handle.try_send(Command::Settle(waiters));
                        }
                        // Otherwise the node decided the waiting events and announced them; the
                        // actor reports their verdicts (and times out those still held).
                    });
                }
                return;
            }
            Start::Limited => NetMetrics::inc(&handle.metrics.held_fetches_limited),
        }
    }
    handle
        .report(item.id, item.source, MessageAcceptance::Ignore)
        .await;
}

/// Fills an `Events` response up to the byte budget.
fn events_response(events: Vec<Event>) -> Response {
    let mut total = 0usize;
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        total += event.as_bytes().len();
        if total > RESPONSE_EVENT_BYTES {
            break;
        }
        out.push(ByteBuf::from(event.as_bytes().to_vec()));
    }
    Response::Events { events: out }
}

fn node_error(error: NodeError) -> Response {
    let reason = match error {
        NodeError::UnknownRoom => ErrorReason::UnknownRoom,
        NodeError::OverLimit(_) => ErrorReason::TooManyIds,
        NodeError::Letter(_) => ErrorReason::MessageRefused,
        NodeError::InboxFull => ErrorReason::Busy,
        _ => ErrorReason::Internal,
    };
    Response::Error { reason }
}

/// Answers one inbound request from the node's data.
pub(crate) async fn serve(node: &Node, request: Request) -> Response {
    let result = match request {
        Request::GetEvents { ids } => node.events(ids).await.map(events_response),
        Request::Backfill { from, limit, room } => node
            .backfill(room, from, limit as usize)
            .await
            .map(events_response),
        Request::Since { after, limit, room } => node
            .since(room, after, limit as usize)
            .await
            .map(events_response),
        Request::Tips { room } => match node.tips(room).await {
            Ok(tips) if tips.is_empty() => Err(NodeError::UnknownRoom),
            Ok(tips) => Ok(Response::Tips { tips }),
            Err(e) => Err(e),
        },
        Request::RoomState { room } => match node.room_state(room).await {
            Ok(None) => Err(NodeError::UnknownRoom),
            Ok(Some(snapshot)) => {
                let bytes: usize = snapshot
                    .state
                    .iter()
                    .chain(&snapshot.auth_chain)
                    .map(|e| e.as_bytes().len())
                    .sum();
                let count = snapshot.state.len() + snapshot.auth_chain.len();
                if bytes > RESPONSE_EVENT_BYTES || count > super::wire::MAX_EVENTS_PER_RESPONSE {
                    return Response::Error {
                        reason: ErrorReason::TooLarge,
                    };
                }
                let wire = |events: Vec<Event>| {
                    events
                        .iter()
                        .map(|e| ByteBuf::from(e.as_bytes().to_vec()))
                        .collect()
                };
                Ok(Response::RoomState {
                    auth_chain: wire(snapshot.auth_chain),
                    state: wire(snapshot.state),
                    tips: snapshot.tips,
                })
            }
            Err(e) => Err(e),
        },
        Request::GetAttestation { id } => {
            node.accounts()
                .attestation(id)
                .await
                .map(|a| Response::Attestation {
                    attestation: a.map(|a| ByteBuf::from(a.as_bytes().to_vec())),
                })
        }
        Request::Revocations { after, limit } => node
            .revocations()
            .page(after, limit as usize)
            .await
            .map(|page| Response::Revocations {
                last: page.last().map_or(after, |(seq, _)| *seq),
                revocations: page
                    .into_iter()
                    .map(|(_, bytes)| ByteBuf::from(bytes))
                    .collect(),
            }),
        Request::Directory { after, limit } => Ok(Response::Directory {
            announcements: node
                .directory()
                .page(
                    after.map(|key| *key),
                    limit as usize,
                    crate::clock::now_ms(),
                )
                .into_iter()
                .map(ByteBuf::from)
                .collect(),
        }),
        Request::Deliver { message } => match NodeLetter::decode(&message) {
            Ok(letter) => node
                .inbox()
                .deliver(letter)
                .await
                .map(|_| Response::Delivered),
            Err(_) => Ok(Response::Error {
                reason: ErrorReason::MessageRefused,
            }),
        },
    };
    result.unwrap_or_else(node_error)
}

/// Sends a request and unwraps an `Events` answer, verified.
async fn fetch_events(
    handle: &NetHandle,
    peer: PeerId,
    request: Request,
    room: RoomId,
) -> Result<Vec<Event>, NetError> {
    let events = match handle.request(peer, request).await? {
        Response::Events { events } => events,
        Response::Error { reason } => return Err(NetError::Refused(reason)),
        _ => return Err(NetError::BadResponse("unexpected_response")),
    };
    let mut out = Vec::with_capacity(events.len());
    for result in verify_events(events).await {
        match result {
            Ok(event) if event.room_id() == room => out.push(event),
            Ok(_) => misbehaved(handle, peer, "wrong_room"),
            Err(e) => misbehaved(handle, peer, e.reason()),
        }
    }
    NetMetrics::inc_by(&handle.metrics.backfill_events_fetched, out.len() as u64);
    Ok(out)
}

fn misbehaved(handle: &NetHandle, peer: PeerId, reason: &'static str) {
    handle.metrics.event_rejected(reason);
    handle.try_send(Command::Misbehaved(peer, reason));
}

/// Fetches attestations from a peer and stores them; returns how many were added. The peer
/// sent the events that name them (it accepted them, so it holds their attestations): one it
/// cannot produce counts as a strike.
async fn fetch_attestations(
    handle: &NetHandle,
    peer: PeerId,
    ids: Vec<AttestationId>,
) -> Result<usize, NetError> {
    let mut added = 0;
    for id in ids.into_iter().take(MAX_ATTESTATIONS_PER_SYNC) {
        let bytes = match handle.request(peer, Request::GetAttestation { id }).await? {
            Response::Attestation {
                attestation: Some(bytes),
            } => bytes,
            Response::Attestation { attestation: None } => {
                handle.try_send(Command::Misbehaved(peer, "attestation_not_served"));
                continue;
            }
            Response::Error { reason } => return Err(NetError::Refused(reason)),
            _ => return Err(NetError::BadResponse("unexpected_response")),
        };
        match Attestation::decode(&bytes) {
            Ok(attestation) if attestation.id() == id => {
                handle.node.add_attestation(attestation).await?;
                added += 1;
            }
            Ok(_) => misbehaved(handle, peer, "wrong_attestation"),
            Err(e) => misbehaved(handle, peer, e.reason()),
        }
    }
    Ok(added)
}

/// Fetches from `peer` the attestations `events` name that the node lacks (at most
/// [`MAX_ATTESTATIONS_PER_SYNC`]), so that pulled events of a new author are judged at once
/// instead of each waiting as a held event.
async fn prefetch_attestations(
    handle: &NetHandle,
    peer: PeerId,
    events: &[Event],
) -> Result<usize, NetError> {
    let named: BTreeSet<AttestationId> = events.iter().map(|e| *e.attestation()).collect();
    let mut lacking = Vec::new();
    for id in named.into_iter().take(MAX_ATTESTATIONS_PER_SYNC) {
        if handle.node.accounts().attestation(id).await?.is_none() {
            lacking.push(id);
        }
    }
    if lacking.is_empty() {
        return Ok(0);
    }
    fetch_attestations(handle, peer, lacking).await
}

/// Ingests events pulled from `peer` in ascending (depth, id) order, in batches, after fetching
/// the attestations they name; the node decides events that still wait for an attestation when
/// it arrives. Returns how many were accepted at once.
async fn ingest_sorted(
    handle: &NetHandle,
    peer: PeerId,
    mut events: Vec<Event>,
) -> Result<usize, NetError> {
    events.sort_by_key(|e| (e.depth(), e.id()));
    prefetch_attestations(handle, peer, &events).await?;
    let source = source_of(&peer);
    let mut accepted = 0;
    let mut waiting: BTreeSet<AttestationId> = BTreeSet::new();
    for batch in events.chunks(INGEST_BATCH) {
        handle.pulled.add(batch.iter().map(Event::id));
        let offered = batch.iter().map(|e| (e.clone(), source)).collect();
        for Ingested { outcome, .. } in handle.node.ingest_from(offered).await? {
            match outcome {
                IngestOutcome::Accepted { .. } => accepted += 1,
                IngestOutcome::Held {
                    missing_attestation: Some(attestation),
                    ..
                } => {
                    waiting.insert(attestation);
                }
                IngestOutcome::Rejected(reason) => misbehaved(handle, peer, reason.reason()),
                _ => {}
            }
        }
    }
    if !waiting.is_empty() {
        fetch_attestations(handle, peer, waiting.into_iter().collect()).await?;
    }
    Ok(accepted)
}

/// Which of `ids` the node does not hold.
async fn unknown(node: &Node, ids: BTreeSet<EventId>) -> Result<BTreeSet<EventId>, NetError> {
    let mut missing = ids;
    let all: Vec<EventId> = missing.iter().copied().collect();
    for chunk in all.chunks(crate::node::MAX_LOOKUP_IDS) {
        for event in node.events(chunk.to_vec()).await? {
            missing.remove(&event.id());
        }
    }
    Ok(missing)
}

/// Catches a room up with one peer (see the module docs). Returns how many events were accepted.
pub(crate) async fn catch_up(
    handle: &NetHandle,
    room: RoomId,
    peer: PeerId,
    hints: BTreeSet<EventId>,
) -> Result<usize, NetError> {
    let node = &handle.node;
    let mut wanted = hints;
    match handle.request(peer, Request::Tips { room }).await? {
        Response::Tips { tips } => wanted.extend(tips),
        Response::Error {
            reason: ErrorReason::UnknownRoom,
        } => {}
        Response::Error { reason } => return Err(NetError::Refused(reason)),
        _ => return Err(NetError::BadResponse("unexpected_response")),
    }
    // What the events this peer sent (and the node's own) still wait for: asking a peer for what
    // another peer's held events need would let one peer's flood cost every peer.
    let (missing_here, attestations) = node.missing(room, source_of(&peer)).await?;
    wanted.extend(missing_here.into_iter().take(MAX_IDS_PER_REQUEST));
    let mut accepted = 0;
    // Within the peer's fetch budget, skipping those already being fetched; what is left waits
    // for the next round. Events waiting for attestations are re-evaluated by the node when they
    // arrive.
    let now = std::time::Instant::now();
    for id in attestations.into_iter().take(MAX_ATTESTATIONS_PER_SYNC) {
        match handle.held_fetches.start_attestation(peer, id, None, now) {
            Start::Started => {
                let fetched = fetch_attestations(handle, peer, vec![id]).await;
                let waiters = handle.held_fetches.finish_attestation(&id);
                if !matches!(fetched, Ok(1)) {
                    handle.try_send(Command::Settle(waiters));
                }
                if fetched.is_err() {
                    break;
                }
            }
            Start::Joined => {}
            Start::Limited => {
                NetMetrics::inc(&handle.metrics.held_fetches_limited);
                break;
            }
        }
    }
    let wanted = unknown(node, wanted).await?;
    if wanted.is_empty() {
        return Ok(0);
    }
    // Fetch the wanted events themselves, then walk back from them.
    let mut collected: BTreeMap<EventId, Event> = BTreeMap::new();
    let mut bytes = 0usize;
    let wanted: Vec<EventId> = wanted.into_iter().collect();
    for chunk in wanted.chunks(MAX_IDS_PER_REQUEST) {
        let request = Request::GetEvents {
            ids: chunk.to_vec(),
        };
        for event in fetch_events(handle, peer, request, room).await? {
            bytes += event.as_bytes().len();
            collected.insert(event.id(), event);
        }
    }
    // Events of `collected` whose references may still be unknown.
    let mut edge: BTreeSet<EventId> = collected.keys().copied().collect();
    let mut limit = FIRST_BACKFILL_LIMIT;
    while !edge.is_empty() && collected.len() < MAX_CATCHUP_EVENTS && bytes < MAX_CATCHUP_BYTES {
        let references: BTreeSet<EventId> = edge
            .iter()
            .filter_map(|id| collected.get(id))
            .flat_map(|e| e.references())
            .filter(|id| !collected.contains_key(id))
            .collect();
        let absent = unknown(node, references).await?;
        let from: Vec<EventId> = edge
            .iter()
            .filter(|id| {
                collected
                    .get(*id)
                    .is_some_and(|e| e.references().iter().any(|r| absent.contains(r)))
            })
            .copied()
            .take(MAX_IDS_PER_REQUEST)
            .collect();
        edge.clear();
        if from.is_empty() {
            break;
        }
        let request = Request::Backfill {
            from,
            limit: limit as u64,
            room,
        };
        let page = fetch_events(handle, peer, request, room).await?;
        let full = page.len() >= limit;
        let page: Vec<Event> = page
            .into_iter()
            .filter(|e| !collected.contains_key(&e.id()))
            .collect();
        let fresh = unknown(node, page.iter().map(Event::id).collect()).await?;
        let mut new = 0;
        for event in page {
            if fresh.contains(&event.id()) {
                new += 1;
                bytes += event.as_bytes().len();
                edge.insert(event.id());
                collected.insert(event.id(), event);
            }
        }
        if full && new * 2 >= limit {
            limit = (limit * 2).min(BACKFILL_PAGE);
        }
        if new == 0 {
            break;
        }
    }
    if collected.len() >= MAX_CATCHUP_EVENTS || bytes >= MAX_CATCHUP_BYTES {
        // Too far behind to hold the gap in memory: replay the peer's whole history forwards
        // instead (duplicates cost a lookup each), which needs two pages of memory at most.
        drop(collected);
        let (_, walked) = forward_walk(handle, room, peer).await?;
        return Ok(accepted + walked);
    }
    let events: Vec<Event> = collected.into_values().collect();
    accepted += ingest_sorted(handle, peer, events).await?;
    Ok(accepted)
}

/// Joins a room (see [`NetHandle::join`]).
pub(crate) async fn join(handle: &NetHandle, invite: Invite) -> Result<JoinReport, NetError> {
    let room = invite.room;
    let mut last_error = NetError::NoPeer;
    for address in invite.via {
        let peer = match handle.dial(address).await {
            Ok(peer) => peer,
            Err(e) => {
                last_error = e;
                continue;
            }
        };
        match join_from(handle, room, peer).await {
            Ok(report) => {
                handle.host(room).await?;
                return Ok(report);
            }
            Err(e) => {
                tracing::warn!(%room, %peer, reason = e.reason(), "join via peer failed");
                last_error = e;
            }
        }
    }
    Err(last_error)
}

/// Fetches a room's state and whole history from `peer` (joining, and following ban lists).
pub(crate) async fn join_from(
    handle: &NetHandle,
    room: RoomId,
    peer: PeerId,
) -> Result<JoinReport, NetError> {
    // The state and auth chain first: the create event among them must be the room's.
    let (state, auth_chain) = match handle.request(peer, Request::RoomState { room }).await? {
        Response::RoomState {
            state, auth_chain, ..
        } => (state, auth_chain),
        Response::Error { reason } => return Err(NetError::Refused(reason)),
        _ => return Err(NetError::BadResponse("unexpected_response")),
    };
    let mut checked = Vec::new();
    for result in verify_events(auth_chain.into_iter().chain(state).collect()).await {
        match result {
            Ok(event) if event.room_id() == room => checked.push(event),
            Ok(_) => return Err(NetError::BadResponse("wrong_room")),
            Err(_) => return Err(NetError::BadResponse("invalid_event")),
        }
    }
    let create_ok = checked
        .iter()
        .any(|e| e.kind() == causerie_crypto::event::kinds::CREATE && RoomId(e.id().0) == room);
    if !create_ok {
        return Err(NetError::BadResponse("create_mismatch"));
    }
    // Then the whole history, forwards.
    let (fetched, _) = forward_walk(handle, room, peer).await?;
    // The walk must have reached the create event, or the history is incomplete.
    if handle.node.events(vec![EventId(room.0)]).await?.is_empty() {
        return Err(NetError::BadResponse("incomplete_history"));
    }
    // Anything that arrived meanwhile.
    let _ = catch_up(handle, room, peer, BTreeSet::new()).await;
    Ok(JoinReport {
        room,
        peer,
        events_fetched: fetched,
    })
}

/// Walks a room's whole history forwards with `Since` from the create event, one verified page
/// at a time (the next page is already on its way while this one is ingested). Memory stays at
/// two pages whatever the history's length. Returns (events fetched, events accepted).
async fn forward_walk(
    handle: &NetHandle,
    room: RoomId,
    peer: PeerId,
) -> Result<(usize, usize), NetError> {
    let mut fetched = 0;
    let mut accepted = 0;
    let mut after = None;
    let mut next = Some(tokio::spawn(fetch_page(handle.clone(), peer, room, after)));
    while let Some(task) = next.take() {
        let page = task
            .await
            .map_err(|_| NetError::BadResponse("page_task"))??;
        let done = page.is_empty();
        if let Some(last) = page.last() {
            after = Some((last.depth(), last.id()));
        }
        if !done {
            next = Some(tokio::spawn(fetch_page(handle.clone(), peer, room, after)));
        }
        fetched += page.len();
        if let Some(first) = page.first()
            && fetched == page.len()
            && (first.kind() != causerie_crypto::event::kinds::CREATE
                || RoomId(first.id().0) != room)
        {
            return Err(NetError::BadResponse("create_mismatch"));
        }
        accepted += ingest_sorted(handle, peer, page).await?;
    }
    Ok((fetched, accepted))
}

async fn fetch_page(
    handle: NetHandle,
    peer: PeerId,
    room: RoomId,
    after: Option<(u64, EventId)>,
) -> Result<Vec<Event>, NetError> {
    let request = Request::Since {
        after,
        limit: BACKFILL_PAGE as u64,
        room,
    };
    fetch_events(&handle, peer, request, room).await
}
