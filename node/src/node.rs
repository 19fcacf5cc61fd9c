//! [`Node`]: the cloneable handle to the node actor, which owns the store and every room engine.
//!
//! The actor runs on its own thread because sled and the room engine are synchronous: async
//! callers (network, API) send commands over a bounded channel and await a oneshot reply, so a
//! slow disk never blocks the tokio workers. Consecutive ingest commands are drained together
//! into one engine pass and one flushed commit (group commit), up to [`MAX_RECEIVE_BATCH`]
//! events. Every newly accepted event, whatever its origin, is announced on a broadcast channel
//! once its commit is durable.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use causerie_crypto::{
    Attestation, AttestationId, Content, Event, EventDraft, EventId, NodeKey, RoomId, UserKey,
};
use causerie_storage::{Account, Direction, EventStatus as StoredStatus, Position, Store};
use thiserror::Error;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::clock::now_ms;
use crate::counters::ReasonCounts;
use crate::ledger::{Ledger, LedgerError, MAX_RECEIVE_BATCH};
use crate::letter::{LetterError, NodeLetter};
use crate::room::{Membership, Outcome, RefuseReason, StateMap};
use crate::views::{self, MemberView, RoomView};

/// Commands queued for the actor before senders wait.
pub const NODE_COMMAND_QUEUE_LEN: usize = 1_024;
/// Announcements buffered per subscriber; a subscriber that falls further behind is told it
/// lagged and must resync (catch-up covers what it missed).
pub const ANNOUNCE_QUEUE_LEN: usize = 8_192;
/// Node messages kept in the inbox (oldest dropped first).
pub const INBOX_LEN: usize = 1_024;
/// Most events one backfill or since request returns.
pub const MAX_PAGE_EVENTS: usize = 1_000;
/// Most ids one `events` request looks up.
pub const MAX_LOOKUP_IDS: usize = 1_000;
/// Most events in a room-state answer (state plus its auth chain).
pub const MAX_ROOM_STATE_EVENTS: usize = 20_000;
/// Most events one history page returns.
pub const MAX_HISTORY_PAGE: usize = 200;
/// Most users one attestation lookup covers.
pub const MAX_USERS_LOOKUP: usize = 1_000;
/// Most attestations of one user read to find the latest valid one.
pub const MAX_ATTESTATIONS_PER_USER: usize = 64;

/// Which rooms [`Node::room_views`] lists.
// One value per request, moved once: boxing the key would cost more than the size difference.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomSelection {
    /// Rooms whose join rule is public (the directory).
    Public,
    /// Rooms where this user's membership is join, invite or knock.
    MemberOf(UserKey),
}

/// A local account lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountQuery {
    /// By key.
    User(UserKey),
    /// By handle.
    Handle(String),
}

/// A page of a room's timeline.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    /// Visible events, oldest first, as clients see them.
    pub events: Vec<Event>,
    /// Where the page before starts (`None` at the start of the room).
    pub prev: Option<(u64, EventId)>,
}

/// Why a request to the node failed.
#[derive(Debug, Error)]
pub enum NodeError {
    /// The actor has stopped (shutdown or a fatal store error).
    #[error("node stopped")]
    Stopped,
    /// The store or receive path failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The node does not hold this room.
    #[error("unknown room")]
    UnknownRoom,
    /// The engine could not build the event.
    #[error("cannot prepare: {0}")]
    Prepare(&'static str),
    /// A node message was refused.
    #[error(transparent)]
    Message(#[from] LetterError),
    /// A request over a named limit.
    #[error("request over limit: {0}")]
    OverLimit(&'static str),
}

impl NodeError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            NodeError::Stopped => "node_stopped",
            NodeError::Ledger(e) => e.reason(),
            NodeError::UnknownRoom => "unknown_room",
            NodeError::Prepare(reason) => reason,
            NodeError::Message(e) => e.reason(),
            NodeError::OverLimit(_) => "over_limit",
        }
    }
}

/// Counters of the receive path (rendered by `/metrics`).
#[derive(Debug, Default)]
pub struct NodeMetrics {
    /// Events offered to the engines.
    pub events_received: AtomicU64,
    /// Events accepted and shown.
    pub events_accepted: AtomicU64,
    /// Events accepted but soft-failed (hidden, not relayed).
    pub events_soft_failed: AtomicU64,
    /// Events already known.
    pub events_duplicate: AtomicU64,
    /// Events held for missing parents or attestations.
    pub events_held: AtomicU64,
    /// Group commits made.
    pub commits: AtomicU64,
    /// Events rejected, by reason name.
    pub rejected: ReasonCounts,
    /// Events refused for now, by reason name.
    pub refused: ReasonCounts,
}

impl NodeMetrics {
    fn record(&self, outcome: &IngestOutcome) {
        self.events_received.fetch_add(1, Ordering::Relaxed);
        match outcome {
            IngestOutcome::Accepted { visible: true } => &self.events_accepted,
            IngestOutcome::Accepted { visible: false } => &self.events_soft_failed,
            IngestOutcome::Duplicate => &self.events_duplicate,
            IngestOutcome::Held { .. } => &self.events_held,
            IngestOutcome::Rejected(reason) => return self.rejected.increment(reason),
            IngestOutcome::Refused(reason) => return self.refused.increment(reason),
        }
        .fetch_add(1, Ordering::Relaxed);
    }
}

/// What happened to one ingested event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Accepted and durable; `visible` is false for soft-failed events (never shown or relayed).
    Accepted {
        /// Shown to clients and relayed.
        visible: bool,
    },
    /// Already known.
    Duplicate,
    /// Held until these arrive (fetch them); durable as an outlier when events are missing.
    Held {
        /// Referenced events the node lacks.
        missing_events: Vec<EventId>,
        /// The attestation the node lacks.
        missing_attestation: Option<AttestationId>,
    },
    /// Rejected on every node, with the reason name; the sender is at fault.
    Rejected(&'static str),
    /// Not taken now (limits, clock); may be offered again later.
    Refused(&'static str),
}

/// One ingested event's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// The event.
    pub id: EventId,
    /// What happened.
    pub outcome: IngestOutcome,
}

/// What the node announces to its subscribers (network, client streams).
#[derive(Debug, Clone)]
pub enum NodeEvent {
    /// A newly accepted, durable event (from any origin, including released outliers).
    Accepted {
        /// Its room.
        room: RoomId,
        /// The event.
        event: Event,
        /// Whether it is shown and relayed (false: soft-failed).
        visible: bool,
    },
    /// The node started holding a room.
    RoomAdded(RoomId),
}

/// A room's current state with everything needed to check it: what a joining node fetches.
#[derive(Debug, Clone)]
pub struct RoomSnapshot {
    /// The forward extremities.
    pub tips: Vec<EventId>,
    /// The current state events.
    pub state: Vec<Event>,
    /// The auth chain of the state events (not including them), in depth order.
    pub auth_chain: Vec<Event>,
}

/// A summary of a room as this node sees it (tests compare nodes with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSummary {
    /// Accepted events (visible or not).
    pub accepted: usize,
    /// Held outliers.
    pub held: usize,
    /// The resolved current state.
    pub state: StateMap,
    /// Visible events in timeline order.
    pub timeline: Vec<EventId>,
    /// Forward extremities.
    pub tips: Vec<EventId>,
}

type Reply<T> = oneshot::Sender<Result<T, NodeError>>;

enum Command {
    Ingest(Vec<Event>, Reply<Vec<Ingested>>),
    Events(Vec<EventId>, Reply<Vec<Event>>),
    Backfill(RoomId, Vec<EventId>, usize, Reply<Vec<Event>>),
    Since(RoomId, Option<(u64, EventId)>, usize, Reply<Vec<Event>>),
    RoomState(RoomId, Reply<Option<RoomSnapshot>>),
    Summary(RoomId, Reply<Option<RoomSummary>>),
    Rooms(Reply<Vec<RoomId>>),
    Missing(RoomId, Reply<(Vec<EventId>, Vec<AttestationId>)>),
    Attestation(AttestationId, Reply<Option<Attestation>>),
    AddAttestation(Attestation, Reply<()>),
    Prepare(Box<PrepareRequest>, Reply<EventDraft>),
    Deliver(Box<NodeLetter>, Reply<()>),
    Inbox(Reply<Vec<NodeLetter>>),
    RoomView(RoomId, Option<UserKey>, Reply<Option<RoomView>>),
    RoomViews(RoomSelection, Reply<Vec<RoomView>>),
    Members(RoomId, Reply<Option<Vec<MemberView>>>),
    History(
        RoomId,
        Option<(u64, EventId)>,
        usize,
        Reply<Option<HistoryPage>>,
    ),
    Account(AccountQuery, Reply<Option<Account>>),
    PutAccount(Box<Account>, Option<Attestation>, Reply<()>),
    Attestations(Vec<UserKey>, Reply<BTreeMap<UserKey, Attestation>>),
    Shutdown(oneshot::Sender<()>),
}

/// What [`Node::prepare`] needs.
#[derive(Debug, Clone)]
pub struct PrepareRequest {
    /// The room.
    pub room: RoomId,
    /// The author.
    pub author: UserKey,
    /// Event kind.
    pub kind: String,
    /// State key (state events).
    pub state_key: Option<String>,
    /// Content.
    pub content: Content,
    /// The author's attestation.
    pub attestation: AttestationId,
}

/// Cloneable handle to the node actor. Every method is cancel-safe: dropping the future drops
/// the reply, and the actor's work (if started) still completes and stays durable.
#[derive(Clone)]
pub struct Node {
    commands: mpsc::Sender<Command>,
    announce: broadcast::Sender<NodeEvent>,
    key: NodeKey,
    metrics: Arc<NodeMetrics>,
}

/// The actor's thread; join it after [`Node::shutdown`] to be sure the store is flushed.
pub struct NodeTask(JoinHandle<()>);

impl NodeTask {
    /// Waits for the actor thread to end.
    pub fn join(self) {
        // A panic in the actor was already reported by the panic hook; nothing more to do.
        let _ = self.0.join();
    }
}

impl Node {
    /// Starts the actor on its own thread, owning `rooms`. `key` is this node's public key.
    pub fn spawn<S: Store + 'static>(rooms: Ledger<S>, key: NodeKey) -> (Node, NodeTask) {
        let (commands, receiver) = mpsc::channel(NODE_COMMAND_QUEUE_LEN);
        let (announce, _) = broadcast::channel(ANNOUNCE_QUEUE_LEN);
        let metrics = Arc::new(NodeMetrics::default());
        let actor = Actor {
            rooms,
            announce: announce.clone(),
            inbox: VecDeque::new(),
            key,
            metrics: metrics.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("causerie-node".into())
            .spawn(move || actor.run(receiver))
            .unwrap_or_else(|e| panic!("cannot start the node thread: {e}"));
        (
            Node {
                commands,
                announce,
                key,
                metrics,
            },
            NodeTask(thread),
        )
    }

    /// This node's public key.
    pub fn key(&self) -> NodeKey {
        self.key
    }

    /// The receive path's counters.
    pub fn metrics(&self) -> Arc<NodeMetrics> {
        self.metrics.clone()
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, NodeError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(make(reply))
            .await
            .map_err(|_| NodeError::Stopped)?;
        answer.await.map_err(|_| NodeError::Stopped)?
    }

    /// A room as `viewer` sees it (client API).
    pub async fn room_view(
        &self,
        room: RoomId,
        viewer: Option<UserKey>,
    ) -> Result<Option<RoomView>, NodeError> {
        self.ask(|r| Command::RoomView(room, viewer, r)).await
    }

    /// The rooms `selection` names, with their views (for `MemberOf`, as that user sees them).
    pub async fn room_views(&self, selection: RoomSelection) -> Result<Vec<RoomView>, NodeError> {
        self.ask(|r| Command::RoomViews(selection, r)).await
    }

    /// Every user with a member event in the room's current state.
    pub async fn members(&self, room: RoomId) -> Result<Option<Vec<MemberView>>, NodeError> {
        self.ask(|r| Command::Members(room, r)).await
    }

    /// Up to `limit` (at most [`MAX_HISTORY_PAGE`]) visible events before `before`.
    pub async fn history(
        &self,
        room: RoomId,
        before: Option<(u64, EventId)>,
        limit: usize,
    ) -> Result<Option<HistoryPage>, NodeError> {
        let limit = limit.min(MAX_HISTORY_PAGE);
        self.ask(|r| Command::History(room, before, limit, r)).await
    }

    /// A local account.
    pub async fn account(&self, query: AccountQuery) -> Result<Option<Account>, NodeError> {
        self.ask(|r| Command::Account(query, r)).await
    }

    /// Stores `attestation` (if given) and then `account`, durably.
    pub async fn put_account(
        &self,
        account: Account,
        attestation: Option<Attestation>,
    ) -> Result<(), NodeError> {
        self.ask(|r| Command::PutAccount(Box::new(account), attestation, r))
            .await
    }

    /// The latest attestation this node holds for each of `users` (at most
    /// [`MAX_USERS_LOOKUP`]), whether still valid or not.
    pub async fn attestations_of(
        &self,
        users: Vec<UserKey>,
    ) -> Result<BTreeMap<UserKey, Attestation>, NodeError> {
        if users.len() > MAX_USERS_LOOKUP {
            return Err(NodeError::OverLimit("users lookup"));
        }
        self.ask(|r| Command::Attestations(users, r)).await
    }

    /// Offers verified events (one group commit); outcomes are durable when this returns.
    pub async fn ingest(&self, events: Vec<Event>) -> Result<Vec<Ingested>, NodeError> {
        if events.len() > MAX_RECEIVE_BATCH {
            return Err(NodeError::OverLimit("ingest batch"));
        }
        self.ask(|r| Command::Ingest(events, r)).await
    }

    /// The known (not rejected) events among `ids`, as stored (redacted ones redacted).
    pub async fn events(&self, ids: Vec<EventId>) -> Result<Vec<Event>, NodeError> {
        if ids.len() > MAX_LOOKUP_IDS {
            return Err(NodeError::OverLimit("lookup ids"));
        }
        self.ask(|r| Command::Events(ids, r)).await
    }

    /// Ancestors of `from` (not including them), nearest first (depth descending), at most
    /// `limit` (capped at [`MAX_PAGE_EVENTS`]).
    pub async fn backfill(
        &self,
        room: RoomId,
        from: Vec<EventId>,
        limit: usize,
    ) -> Result<Vec<Event>, NodeError> {
        if from.len() > MAX_LOOKUP_IDS {
            return Err(NodeError::OverLimit("backfill from"));
        }
        self.ask(|r| Command::Backfill(room, from, limit.min(MAX_PAGE_EVENTS), r))
            .await
    }

    /// The room's accepted events (visible or soft-failed) in topological order (depth, id)
    /// strictly after `after`, at most `limit` (capped at [`MAX_PAGE_EVENTS`]). Catch-up walks
    /// this forward from the depth of its own tips.
    pub async fn since(
        &self,
        room: RoomId,
        after: Option<(u64, EventId)>,
        limit: usize,
    ) -> Result<Vec<Event>, NodeError> {
        self.ask(|r| Command::Since(room, after, limit.min(MAX_PAGE_EVENTS), r))
            .await
    }

    /// The room's current state and its auth chain, or `None` for a room the node does not hold.
    pub async fn room_state(&self, room: RoomId) -> Result<Option<RoomSnapshot>, NodeError> {
        self.ask(|r| Command::RoomState(room, r)).await
    }

    /// A summary of the room (state, timeline, tips).
    pub async fn summary(&self, room: RoomId) -> Result<Option<RoomSummary>, NodeError> {
        self.ask(|r| Command::Summary(room, r)).await
    }

    /// The room's forward extremities (empty for an unknown room).
    pub async fn tips(&self, room: RoomId) -> Result<Vec<EventId>, NodeError> {
        Ok(self
            .summary(room)
            .await?
            .map(|s| s.tips)
            .unwrap_or_default())
    }

    /// The rooms this node holds.
    pub async fn rooms(&self) -> Result<Vec<RoomId>, NodeError> {
        self.ask(Command::Rooms).await
    }

    /// What the room's held events wait for: events, then attestations.
    pub async fn missing(
        &self,
        room: RoomId,
    ) -> Result<(Vec<EventId>, Vec<AttestationId>), NodeError> {
        self.ask(|r| Command::Missing(room, r)).await
    }

    /// A stored attestation.
    pub async fn attestation(&self, id: AttestationId) -> Result<Option<Attestation>, NodeError> {
        self.ask(|r| Command::Attestation(id, r)).await
    }

    /// Stores a verified attestation; events waiting for it are re-evaluated (and announced).
    pub async fn add_attestation(&self, attestation: Attestation) -> Result<(), NodeError> {
        self.ask(|r| Command::AddAttestation(attestation, r)).await
    }

    /// Builds the next event of `request.author` in a room (the author signs it elsewhere).
    pub async fn prepare(&self, request: PrepareRequest) -> Result<EventDraft, NodeError> {
        self.ask(|r| Command::Prepare(Box::new(request), r)).await
    }

    /// Accepts a node message addressed to this node into the bounded inbox.
    pub async fn deliver(&self, message: NodeLetter) -> Result<(), NodeError> {
        self.ask(|r| Command::Deliver(Box::new(message), r)).await
    }

    /// The inbox of node messages, oldest first.
    pub async fn inbox(&self) -> Result<Vec<NodeLetter>, NodeError> {
        self.ask(Command::Inbox).await
    }

    /// Subscribes to announcements.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.announce.subscribe()
    }

    /// Asks the actor to flush and stop; returns when it has. Idempotent.
    pub async fn shutdown(&self) {
        let (done, wait) = oneshot::channel();
        if self.commands.send(Command::Shutdown(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

struct Actor<S: Store> {
    rooms: Ledger<S>,
    announce: broadcast::Sender<NodeEvent>,
    inbox: VecDeque<NodeLetter>,
    key: NodeKey,
    metrics: Arc<NodeMetrics>,
}

impl<S: Store> Actor<S> {
    fn run(mut self, mut receiver: mpsc::Receiver<Command>) {
        let span = tracing::info_span!("node", key = %self.key);
        let _entered = span.enter();
        let mut pending: Option<Command> = None;
        loop {
            let command = match pending.take() {
                Some(command) => command,
                None => match receiver.blocking_recv() {
                    Some(command) => command,
                    None => break,
                },
            };
            match command {
                Command::Ingest(events, reply) => {
                    // Group commit: take every ingest already queued, up to the batch cap.
                    let mut groups = vec![(events, reply)];
                    let mut total: usize = groups[0].0.len();
                    while let Ok(next) = receiver.try_recv() {
                        match next {
                            Command::Ingest(events, reply)
                                if total + events.len() <= MAX_RECEIVE_BATCH =>
                            {
                                total += events.len();
                                groups.push((events, reply));
                            }
                            other => {
                                pending = Some(other);
                                break;
                            }
                        }
                    }
                    self.ingest(groups);
                }
                Command::Shutdown(done) => {
                    self.flush();
                    let _ = done.send(());
                    break;
                }
                other => self.answer(other),
            }
        }
        self.flush();
        tracing::info!("node actor stopped");
    }

    fn flush(&self) {
        if let Err(e) = self.rooms.store().flush() {
            tracing::error!(reason = e.reason(), "flush on shutdown failed");
        }
    }

    fn ingest(&mut self, groups: Vec<(Vec<Event>, Reply<Vec<Ingested>>)>) {
        let known_rooms: BTreeSet<RoomId> = self.rooms.room_ids().copied().collect();
        let sizes: Vec<usize> = groups.iter().map(|g| g.0.len()).collect();
        let mut replies = Vec::with_capacity(groups.len());
        let mut all = Vec::with_capacity(sizes.iter().sum());
        for (events, reply) in groups {
            all.extend(events);
            replies.push(reply);
        }
        let ids: Vec<(EventId, RoomId)> = all.iter().map(|e| (e.id(), e.room_id())).collect();
        let receipts = match self.rooms.receive(all, now_ms()) {
            Ok(receipts) => receipts,
            Err(e) => {
                tracing::error!(reason = e.reason(), "commit failed; nothing acknowledged");
                let reason = e.reason();
                for reply in replies {
                    let _ = reply.send(Err(NodeError::Ledger(LedgerError::Failed(reason))));
                }
                return;
            }
        };
        self.metrics.commits.fetch_add(1, Ordering::Relaxed);
        // Announce after the flush: accepted means durable.
        for room in self.rooms.room_ids() {
            if !known_rooms.contains(room) {
                let _ = self.announce.send(NodeEvent::RoomAdded(*room));
            }
        }
        let mut outcomes = Vec::with_capacity(ids.len());
        for ((id, room), receipt) in ids.iter().zip(&receipts) {
            // Every decision of a receipt is in the offered event's room (released outliers).
            for decision in &receipt.decisions {
                if let Outcome::Accepted { soft_failed, .. } = decision.outcome
                    && let Some(event) = self
                        .rooms
                        .room(room)
                        .and_then(|r| r.shown_event(&decision.event))
                {
                    let _ = self.announce.send(NodeEvent::Accepted {
                        room: *room,
                        event,
                        visible: !soft_failed,
                    });
                }
            }
            let outcome = match receipt.outcome_of(id) {
                Some(Outcome::Accepted { soft_failed, .. }) => IngestOutcome::Accepted {
                    visible: !soft_failed,
                },
                Some(Outcome::Rejected(reason)) => IngestOutcome::Rejected(reason.reason()),
                Some(Outcome::Held {
                    missing_events,
                    missing_attestation,
                }) => IngestOutcome::Held {
                    missing_events: missing_events.clone(),
                    missing_attestation: *missing_attestation,
                },
                Some(Outcome::Refused(RefuseReason::Duplicate)) => IngestOutcome::Duplicate,
                Some(Outcome::Refused(reason)) => IngestOutcome::Refused(reason.reason()),
                None => IngestOutcome::Refused("undecided"),
            };
            self.metrics.record(&outcome);
            outcomes.push(Ingested { id: *id, outcome });
        }
        let mut outcomes = outcomes.into_iter();
        for (reply, size) in replies.into_iter().zip(sizes) {
            let _ = reply.send(Ok(outcomes.by_ref().take(size).collect()));
        }
    }

    fn answer(&mut self, command: Command) {
        match command {
            Command::Events(ids, reply) => {
                let _ = reply.send(self.events(&ids));
            }
            Command::Backfill(room, from, limit, reply) => {
                let _ = reply.send(self.backfill(room, &from, limit));
            }
            Command::Since(room, after, limit, reply) => {
                let _ = reply.send(self.since(room, after, limit));
            }
            Command::RoomState(room, reply) => {
                let _ = reply.send(Ok(self.room_state(room)));
            }
            Command::Summary(room, reply) => {
                let _ = reply.send(Ok(self.summary(room)));
            }
            Command::Rooms(reply) => {
                let _ = reply.send(Ok(self.rooms.room_ids().copied().collect()));
            }
            Command::Missing(room, reply) => {
                let missing = self
                    .rooms
                    .room(&room)
                    .map(|r| (r.missing_events(), r.missing_attestations()))
                    .unwrap_or_default();
                let _ = reply.send(Ok(missing));
            }
            Command::Attestation(id, reply) => {
                let _ = reply.send(
                    self.rooms
                        .store()
                        .attestation(&id)
                        .map_err(|e| NodeError::Ledger(LedgerError::Store(e))),
                );
            }
            Command::AddAttestation(attestation, reply) => {
                let result = self.rooms.add_attestation(attestation);
                let result = result.map(|released| {
                    for (room, event, visible) in released {
                        let _ = self.announce.send(NodeEvent::Accepted {
                            room,
                            event,
                            visible,
                        });
                    }
                });
                let _ = reply.send(result.map_err(NodeError::from));
            }
            Command::Prepare(request, reply) => {
                let request = *request;
                let result = match self.rooms.room(&request.room) {
                    None => Err(NodeError::UnknownRoom),
                    Some(room) => room
                        .prepare(
                            request.author,
                            &request.kind,
                            request.state_key,
                            request.content,
                            now_ms(),
                            request.attestation,
                        )
                        .map_err(|e| NodeError::Prepare(e.reason())),
                };
                let _ = reply.send(result);
            }
            Command::Deliver(message, reply) => {
                let result = if message.to() != &self.key {
                    Err(NodeError::Message(LetterError::WrongRecipient))
                } else {
                    if self.inbox.len() >= INBOX_LEN {
                        self.inbox.pop_front();
                    }
                    tracing::info!(from = %message.from(), kind = message.kind(), "node message");
                    self.inbox.push_back(*message);
                    Ok(())
                };
                let _ = reply.send(result);
            }
            Command::Inbox(reply) => {
                let _ = reply.send(Ok(self.inbox.iter().cloned().collect()));
            }
            Command::RoomView(room, viewer, reply) => {
                let view = self
                    .rooms
                    .room(&room)
                    .filter(|r| r.accepted_count() > 0)
                    .map(|r| views::room_view(r, viewer.as_ref()));
                let _ = reply.send(Ok(view));
            }
            Command::RoomViews(selection, reply) => {
                let _ = reply.send(Ok(self.room_views(selection)));
            }
            Command::Members(room, reply) => {
                let _ = reply.send(Ok(self.rooms.room(&room).map(views::members)));
            }
            Command::History(room, before, limit, reply) => {
                let page = self.rooms.room(&room).map(|r| {
                    let (events, prev) = r.timeline_page(before, limit);
                    HistoryPage { events, prev }
                });
                let _ = reply.send(Ok(page));
            }
            Command::Account(query, reply) => {
                let store = self.rooms.store();
                let found = match query {
                    AccountQuery::User(user) => store.account(&user),
                    AccountQuery::Handle(handle) => store.account_by_handle(&handle),
                };
                let _ = reply.send(found.map_err(|e| NodeError::Ledger(LedgerError::Store(e))));
            }
            Command::PutAccount(account, attestation, reply) => {
                let _ = reply.send(self.put_account(&account, attestation));
            }
            Command::Attestations(users, reply) => {
                let _ = reply.send(self.attestations_of(&users));
            }
            // Handled by the run loop.
            Command::Ingest(..) | Command::Shutdown(..) => {}
        }
    }

    fn room_views(&self, selection: RoomSelection) -> Vec<RoomView> {
        let viewer = match selection {
            RoomSelection::Public => None,
            RoomSelection::MemberOf(user) => Some(user),
        };
        let mut out: Vec<RoomView> = self
            .rooms
            .room_ids()
            .filter_map(|id| self.rooms.room(id))
            .filter(|room| room.accepted_count() > 0)
            .map(|room| views::room_view(room, viewer.as_ref()))
            .filter(|view| match selection {
                RoomSelection::Public => view.join_rules.rule == crate::room::JoinRule::Public,
                RoomSelection::MemberOf(_) => matches!(
                    view.membership,
                    Some(Membership::Join | Membership::Invite | Membership::Knock)
                ),
            })
            .collect();
        if selection == RoomSelection::Public {
            out.sort_by(|a, b| b.joined.cmp(&a.joined).then(a.room.cmp(&b.room)));
        }
        out
    }

    fn put_account(
        &mut self,
        account: &Account,
        attestation: Option<Attestation>,
    ) -> Result<(), NodeError> {
        if let Some(attestation) = attestation {
            let released = self.rooms.add_attestation(attestation)?;
            for (room, event, visible) in released {
                let _ = self.announce.send(NodeEvent::Accepted {
                    room,
                    event,
                    visible,
                });
            }
        }
        let _durable = self
            .rooms
            .store()
            .put_account(account)
            .map_err(|e| NodeError::Ledger(LedgerError::Store(e)))?;
        Ok(())
    }

    fn attestations_of(
        &self,
        users: &[UserKey],
    ) -> Result<BTreeMap<UserKey, Attestation>, NodeError> {
        let mut out = BTreeMap::new();
        for user in users {
            let found = self
                .rooms
                .store()
                .attestations_for(user, None, MAX_ATTESTATIONS_PER_USER)
                .map_err(|e| NodeError::Ledger(LedgerError::Store(e)))?;
            // The one valid longest: issued last wins among equals.
            if let Some(latest) = found
                .into_iter()
                .max_by_key(|a| (a.not_after(), a.not_before(), a.id()))
            {
                out.insert(*user, latest);
            }
        }
        Ok(out)
    }

    fn stored(&self, id: &EventId) -> Result<Option<Event>, NodeError> {
        let stored = self.rooms.store().event(id).map_err(LedgerError::Store)?;
        Ok(stored.and_then(|s| match s.status {
            StoredStatus::Rejected { .. } => None,
            _ => Some(s.event),
        }))
    }

    fn events(&self, ids: &[EventId]) -> Result<Vec<Event>, NodeError> {
        let mut out = Vec::new();
        for id in ids {
            if let Some(event) = self.stored(id)? {
                out.push(event);
            }
        }
        Ok(out)
    }

    fn backfill(
        &self,
        room: RoomId,
        from: &[EventId],
        limit: usize,
    ) -> Result<Vec<Event>, NodeError> {
        // Walk parents deepest first, so the answer is the nearest history before `from`.
        let mut seen: BTreeSet<EventId> = from.iter().copied().collect();
        let mut frontier: BinaryHeap<(u64, EventId)> = BinaryHeap::new();
        for id in from {
            if let Some(event) = self.stored(id)? {
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
            let Some(event) = self.stored(&id)? else {
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

    fn since(
        &self,
        room: RoomId,
        after: Option<(u64, EventId)>,
        limit: usize,
    ) -> Result<Vec<Event>, NodeError> {
        let Some(engine) = self.rooms.room(&room) else {
            return Err(NodeError::UnknownRoom);
        };
        let from = after.map(|(depth, event)| Position { depth, event });
        let mut out = Vec::new();
        let mut cursor = from;
        while out.len() < limit {
            let page = self
                .rooms
                .store()
                .events_by_depth(&room, cursor, Direction::Forward, limit - out.len())
                .map_err(LedgerError::Store)?;
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

    fn room_state(&self, room: RoomId) -> Option<RoomSnapshot> {
        let engine = self.rooms.room(&room)?;
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

    fn summary(&self, room: RoomId) -> Option<RoomSummary> {
        let engine = self.rooms.room(&room)?;
        Some(RoomSummary {
            accepted: engine.accepted_count(),
            held: engine.outlier_count(),
            state: engine.current_state().clone(),
            timeline: engine.timeline().into_iter().map(|t| t.event).collect(),
            tips: engine.extremities(),
        })
    }
}
