//! [`Node`]: the cloneable handle to the node actor, one method per question or change; and
//! [`NodeTask`], the actor's thread.

use std::sync::{Arc, Weak};
use std::thread::JoinHandle;

use causerie_crypto::{
    Attestation, AttestationId, Event, EventDraft, EventId, NodeKey, NodeSecret, RoomId, UserKey,
};
use causerie_storage::{CompactReport, Store, StoreError};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::actor::{Actor, Command, Reply};
use super::{
    ANNOUNCE_QUEUE_LEN, Accounts, Audit, HistoryPage, Inbox, Ingested, MAX_HISTORY_PAGE,
    MAX_LOOKUP_IDS, MAX_PAGE_EVENTS, NODE_COMMAND_QUEUE_LEN, NodeError, NodeEvent, NodeMetrics,
    PrepareRequest, Related, RoomSelection, RoomSnapshot, RoomSummary,
};
use crate::ledger::{Ledger, MAX_RECEIVE_BATCH};
use crate::moderation::banlist::{BanListView, RoomPolicyView};
use crate::views::{MemberView, RoomView};
use causerie_room::{AuthError, RuleBreak, Source};

/// Cloneable handle to the node actor. Every method is cancel-safe: dropping the future drops
/// the reply, and the actor's work (if started) still completes and stays durable.
#[derive(Clone)]
pub struct Node {
    commands: mpsc::Sender<Command>,
    announce: broadcast::Sender<NodeEvent>,
    key: NodeKey,
    metrics: Arc<NodeMetrics>,
    store: SharedStore,
    /// The review queues and the events this node hides (one instance per node).
    review: crate::moderation::review::Review,
    /// Woken whenever a letter is kept in the inbox.
    letters: Arc<tokio::sync::Notify>,
    /// Where announcements go once the classifier's screen has passed them, when it runs.
    screened: Arc<std::sync::OnceLock<broadcast::Sender<NodeEvent>>>,
    /// The audit log (one append lock per node).
    audit: Audit,
    /// The registration records' retention policy (the daemon sets it from the config).
    retention: Arc<std::sync::RwLock<crate::records::RetentionPolicy>>,
    /// The attestation revocations in force (shared with the actor).
    revocations: crate::revocations::SharedIndex,
    /// The federated room directory (specs/directory.md).
    directory: crate::directory::Directory,
    /// Typing indicators and read markers (specs/signals.md).
    signals: crate::signals::Signals,
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

/// Sends a command and waits for its answer.
pub(super) async fn ask<T>(
    commands: &mpsc::Sender<Command>,
    make: impl FnOnce(Reply<T>) -> Command,
) -> Result<T, NodeError> {
    let (reply, answer) = oneshot::channel();
    commands
        .send(make(reply))
        .await
        .map_err(|_| NodeError::Stopped)?;
    answer.await.map_err(|_| NodeError::Stopped)?
}

/// The actor's store, for reads that need no room engine. Weak, so the store still closes when
/// the actor stops: after that, every read answers [`NodeError::Stopped`].
#[derive(Clone)]
pub(crate) struct SharedStore(Weak<dyn Store>);

impl SharedStore {
    /// Runs `read` on the blocking thread pool (sled may wait for the disk).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        read: impl FnOnce(&dyn Store) -> Result<T, NodeError> + Send + 'static,
    ) -> Result<T, NodeError> {
        let store = self.0.upgrade().ok_or(NodeError::Stopped)?;
        tokio::task::spawn_blocking(move || read(&*store))
            .await
            .map_err(|_| NodeError::Stopped)?
    }

    /// [`SharedStore::run`] for a single store read: its failure is [`NodeError::Store`].
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, NodeError> {
        self.run(move |store| read(store).map_err(NodeError::Store))
            .await
    }
}

impl Node {
    /// Starts the actor on its own thread, owning `ledger`. `secret` is this node's key: its
    /// public half names the node, and it signs the audit log.
    pub fn spawn<S: Store + 'static>(
        ledger: Ledger<S>,
        secret: Arc<NodeSecret>,
    ) -> (Node, NodeTask) {
        let key = secret.public();
        let (commands, receiver) = mpsc::channel(NODE_COMMAND_QUEUE_LEN);
        let (announce, _) = broadcast::channel(ANNOUNCE_QUEUE_LEN);
        let metrics = Arc::new(NodeMetrics::default());
        let store: Weak<dyn Store> = Arc::downgrade(&ledger.shared_store()) as Weak<dyn Store>;
        let index = crate::revocations::RevocationIndex::load(&*ledger.shared_store())
            .unwrap_or_else(|e| {
                tracing::error!(reason = e.reason(), "cannot read the revocations");
                crate::revocations::RevocationIndex::default()
            });
        let revocations = Arc::new(std::sync::RwLock::new(index));
        let actor = Actor::new(
            ledger,
            announce.clone(),
            key,
            metrics.clone(),
            revocations.clone(),
        );
        let thread = std::thread::Builder::new()
            .name("causerie-node".into())
            .spawn(move || actor.run(receiver))
            .unwrap_or_else(|e| panic!("cannot start the node thread: {e}"));
        let store = SharedStore(store);
        (
            Node {
                commands,
                announce,
                key,
                metrics,
                review: crate::moderation::review::Review::new(store.clone()),
                directory: crate::directory::Directory::new(key, store.clone()),
                signals: crate::signals::Signals::new(secret.clone(), store.clone()),
                audit: Audit::new(store.clone(), secret),
                store,
                letters: Arc::default(),
                screened: Arc::default(),
                retention: Arc::default(),
                revocations,
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

    /// Local accounts and the attestations this node holds.
    pub fn accounts(&self) -> Accounts {
        Accounts::new(self.store.clone(), self.commands.clone())
    }

    /// The node letters delivered to this node.
    pub fn inbox(&self) -> Inbox {
        Inbox::new(self.store.clone(), self.key, self.letters.clone())
    }

    /// Notified whenever a letter is kept in the inbox (for the task that handles letters).
    pub fn letters_arrived(&self) -> Arc<tokio::sync::Notify> {
        self.letters.clone()
    }

    /// The store, for the node's modules that read and write it without the actor.
    pub(crate) fn shared_store(&self) -> SharedStore {
        self.store.clone()
    }

    /// The audit log: [`Audit::append`] records a disclosure, request, report decision or
    /// operator action.
    pub fn audit(&self) -> Audit {
        self.audit.clone()
    }

    /// The registration records of the users this node attests (specs/accountability.md §2).
    pub fn records(&self) -> crate::records::Records {
        crate::records::Records::new(self.store.clone(), self.retention.clone())
    }

    /// The attestation revocations this node holds (specs/accountability.md §3).
    pub fn revocations(&self) -> crate::revocations::Revocations {
        crate::revocations::Revocations::new(
            self.store.clone(),
            self.revocations.clone(),
            self.metrics.clone(),
        )
    }

    /// The federated room directory: other nodes' announcements, this node's aliases
    /// (specs/directory.md).
    pub fn directory(&self) -> crate::directory::Directory {
        self.directory.clone()
    }

    /// Typing indicators and read markers (specs/signals.md).
    pub fn signals(&self) -> crate::signals::Signals {
        self.signals.clone()
    }

    /// Sets the registration records' retention policy (the daemon does, from the config).
    pub fn set_retention(&self, policy: crate::records::RetentionPolicy) {
        // A poisoned lock is overwritten whole.
        match self.retention.write() {
            Ok(mut current) => *current = policy,
            Err(poisoned) => *poisoned.into_inner() = policy,
        }
    }

    /// The per-room review queues (held, flagged and hidden events).
    pub fn review(&self) -> crate::moderation::review::Review {
        self.review.clone()
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, NodeError> {
        ask(&self.commands, make).await
    }

    /// Offers verified events of this node's own (client submissions; one group commit);
    /// outcomes are durable when this returns.
    pub async fn ingest(&self, events: Vec<Event>) -> Result<Vec<Ingested>, NodeError> {
        self.ingest_from(events.into_iter().map(|e| (e, Source::LOCAL)).collect())
            .await
    }

    /// Offers verified events, each with who sent it (held events are bounded and penalised per
    /// source; one group commit); outcomes are durable when this returns.
    pub async fn ingest_from(
        &self,
        events: Vec<(Event, Source)>,
    ) -> Result<Vec<Ingested>, NodeError> {
        if events.len() > MAX_RECEIVE_BATCH {
            return Err(NodeError::OverLimit("ingest batch"));
        }
        self.ask(|r| Command::Ingest(events, r)).await
    }

    /// Stores a verified attestation; events waiting for it are re-evaluated (and announced).
    pub async fn add_attestation(&self, attestation: Attestation) -> Result<(), NodeError> {
        self.ask(|r| Command::AddAttestation(attestation, r)).await
    }

    /// Builds the next event of `request.author` in a room the node holds (the author signs it
    /// elsewhere); [`NodeError::UnknownRoom`] for any other room.
    pub async fn prepare(&self, request: PrepareRequest) -> Result<EventDraft, NodeError> {
        self.ask(|r| Command::Prepare(Box::new(request), r)).await
    }

    /// The content rule a client's submitted message breaks against its room's current state,
    /// with the wait in ms for slow mode (specs/moderation.md §2.5); `Ok` for anything else,
    /// including rooms the node does not hold.
    pub async fn check_submission(
        &self,
        event: Event,
    ) -> Result<Result<(), (RuleBreak, u64)>, NodeError> {
        self.ask(|r| Command::CheckSubmission(Box::new(event), r))
            .await
    }

    /// The accepted events (visible or soft-failed) among `ids`, as stored (redacted ones
    /// redacted). Held and rejected events are not served.
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
        let limit = limit.min(MAX_PAGE_EVENTS);
        self.ask(|reply| Command::Backfill {
            room,
            from,
            limit,
            reply,
        })
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
        let limit = limit.min(MAX_PAGE_EVENTS);
        self.ask(|reply| Command::Since {
            room,
            after,
            limit,
            reply,
        })
        .await
    }

    /// The room's current state and its auth chain, or `None` for a room the node does not hold.
    pub async fn room_state(&self, room: RoomId) -> Result<Option<RoomSnapshot>, NodeError> {
        self.ask(|r| Command::RoomState(room, r)).await
    }

    /// What the room's held events from `source` and the node's own wait for: events, then
    /// attestations (each sorted).
    pub async fn missing(
        &self,
        room: RoomId,
        source: Source,
    ) -> Result<(Vec<EventId>, Vec<AttestationId>), NodeError> {
        self.ask(|r| Command::Missing(room, source, r)).await
    }

    /// The rooms this node holds.
    pub async fn rooms(&self) -> Result<Vec<RoomId>, NodeError> {
        self.ask(Command::Rooms).await
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

    /// A room as `viewer` sees it (client API); `None` for a room the node does not hold.
    pub async fn room_view(
        &self,
        room: RoomId,
        viewer: Option<UserKey>,
    ) -> Result<Option<RoomView>, NodeError> {
        let views = self
            .room_views(RoomSelection::Room { room, viewer })
            .await?;
        Ok(views.into_iter().next())
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
        let review = self.review.clone();
        self.ask(|reply| Command::History {
            room,
            before,
            limit,
            review,
            reply,
        })
        .await
    }

    /// The accepted event `event` of `room` as this node shows it, with its relations
    /// (specs/rooms.md §13); `None` if the node holds no such accepted event.
    pub async fn related(
        &self,
        room: RoomId,
        event: EventId,
    ) -> Result<Option<Related>, NodeError> {
        let review = self.review.clone();
        self.ask(|reply| Command::Related {
            room,
            event,
            review,
            reply,
        })
        .await
    }

    /// Compacts the store now (specs/moderation.md §4): afterwards no redacted content is left
    /// in its files. Ingests wait while it runs.
    pub async fn compact(&self) -> Result<CompactReport, NodeError> {
        self.ask(|reply| Command::Compact { force: true, reply })
            .await?
            .ok_or(NodeError::Stopped)
    }

    /// Writes a backup of the store and `files` to the new file `out` between two group
    /// commits (`causerie admin backup`): every event acknowledged before is in it. The inner
    /// error says why the file could not be written.
    pub async fn backup(
        &self,
        out: std::path::PathBuf,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<
        Result<causerie_storage::backup::BackupReport, causerie_storage::backup::BackupError>,
        NodeError,
    > {
        self.ask(|reply| Command::Backup { out, files, reply })
            .await
    }

    /// Compacts the store if content was redacted since the last compaction and the last one
    /// is at least [`MIN_COMPACTION_INTERVAL_MS`](super::MIN_COMPACTION_INTERVAL_MS) old; `None`
    /// if it did not.
    pub async fn compact_if_due(&self) -> Result<Option<CompactReport>, NodeError> {
        self.ask(|reply| Command::Compact {
            force: false,
            reply,
        })
        .await
    }

    /// Why the accepted event `id` is soft-failed (the rule it breaks against the room's
    /// effective state); `None` if it is not soft-failed or not held.
    pub async fn soft_fail_reason(
        &self,
        room: RoomId,
        id: EventId,
    ) -> Result<Option<AuthError>, NodeError> {
        self.ask(|reply| Command::SoftFailReason(room, id, reply))
            .await
    }

    /// Gives the node the ban-list enforcer's key (specs/moderation.md §3.6): the node then
    /// bans, and lifts its own bans, in the rooms whose subscription names this key.
    pub async fn set_enforcer(&self, secret: causerie_crypto::UserSecret) -> Result<(), NodeError> {
        self.ask(|r| Command::SetEnforcer(Box::new(secret), r))
            .await
    }

    /// Re-evaluates expired ban-list rules; returns the lists the node's rooms follow but the
    /// node does not hold yet.
    pub async fn policy_tick(&self) -> Result<Vec<RoomId>, NodeError> {
        self.ask(Command::PolicyTick).await
    }

    /// A ban list's rules and, with `since` (an event of the list room), what changed since.
    /// `None` for a list the node does not hold.
    pub async fn ban_list(
        &self,
        list: RoomId,
        since: Option<EventId>,
    ) -> Result<Option<BanListView>, NodeError> {
        self.ask(|reply| Command::BanList { list, since, reply })
            .await
    }

    /// A room's ban-list subscription; `None` for a room the node does not hold.
    pub async fn room_policy(&self, room: RoomId) -> Result<Option<RoomPolicyView>, NodeError> {
        self.ask(|r| Command::RoomPolicy(room, r)).await
    }

    /// Subscribes to announcements (after the classifier's screen, when it runs).
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        match self.screened.get() {
            Some(screened) => screened.subscribe(),
            None => self.announce.subscribe(),
        }
    }

    /// Announces `event` to subscribers (after the screen, which has nothing to decide about
    /// it). For notices that change nothing stored, such as a review decision.
    pub fn notify(&self, event: NodeEvent) {
        let _ = match self.screened.get() {
            Some(screened) => screened.send(event),
            None => self.announce.send(event),
        };
    }

    /// Subscribes to the actor's announcements as they are made (the screen reads these).
    pub fn subscribe_unscreened(&self) -> broadcast::Receiver<NodeEvent> {
        self.announce.subscribe()
    }

    /// Makes [`Node::subscribe`] follow `screened` (once; later calls change nothing and
    /// answer `false`). Call before anything subscribes.
    pub fn set_screened(&self, screened: broadcast::Sender<NodeEvent>) -> bool {
        self.screened.set(screened).is_ok()
    }

    /// Whether announcements pass the classifier's screen.
    pub fn is_screened(&self) -> bool {
        self.screened.get().is_some()
    }

    /// A fresh announcement channel as long as the actor's (for the screen's output).
    pub fn announcement_channel() -> broadcast::Sender<NodeEvent> {
        broadcast::channel(ANNOUNCE_QUEUE_LEN).0
    }

    /// Asks the actor to flush and stop; returns when it has. Idempotent.
    pub async fn shutdown(&self) {
        let (done, wait) = oneshot::channel();
        if self.commands.send(Command::Shutdown(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}
