//! The node actor: the one owner of the [`Ledger`]. It answers one command at a time on its own
//! thread, drains queued ingests into one group commit, and announces every event it accepted,
//! in one place ([`Actor::announce`]), once the commit holding it is durable.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use causerie_crypto::event::kinds;
use causerie_crypto::{
    Attestation, AttestationId, Event, EventDraft, EventId, NodeKey, RoomId, UserKey, Value,
};
use causerie_storage::backup::{BackupError, BackupReport};
use causerie_storage::{Account, CompactReport, Store};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::queries;
use super::{
    COMPACTION_QUIET_MS, HistoryPage, IngestOutcome, Ingested, MAX_COMPACTION_DELAY_MS,
    MIN_COMPACTION_INTERVAL_MS, NodeError, NodeEvent, NodeMetrics, PrepareRequest, Related,
    RoomSelection, RoomSnapshot, RoomSummary, SENDER_CACHE_LEN, SenderProfile,
};
use crate::clock::now_ms;
use crate::ledger::{Ledger, LedgerError, MAX_RECEIVE_BATCH};
use crate::moderation::banlist::{self, BanListRefusal, BanListView, Policy, RoomPolicyView};
use crate::moderation::review::Review;
use crate::views::{JoinWaveNotice, MemberView, RoomView};
use causerie_room::content::user_state_key;
use causerie_room::{
    AuthError, HeldEnd, Outcome, Receipt, RefuseReason, Relations, RuleBreak, Source,
};

/// A quiet minute between join-wave refusals in a room starts a new wave in the log.
const JOIN_WAVE_NOTICE_QUIET_MS: u64 = 60_000;

/// Events offered in one ingest, each with who sent it.
pub(super) type Offered = Vec<(Event, Source)>;

/// Where the actor sends one command's answer.
pub(super) type Reply<T> = oneshot::Sender<Result<T, NodeError>>;

/// What the actor does, one variant per job. Changes come first; the rest only read.
pub(super) enum Command {
    /// Offer verified events, each with who sent it; queued ingests are drained into one group
    /// commit.
    Ingest(Offered, Reply<Vec<Ingested>>),
    /// Store an attestation and release the held events that wait for it.
    AddAttestation(Attestation, Reply<()>),
    /// Store a local account, after its new attestation if one comes with it. Through the actor
    /// so that the attestation is in place first and no two accounts take one handle.
    PutAccount(Box<Account>, Option<Attestation>, Reply<()>),
    /// Build an unsigned draft in a room the node holds.
    Prepare(Box<PrepareRequest>, Reply<EventDraft>),
    /// A client's message against its room's content rules, before it is offered.
    CheckSubmission(Box<Event>, Reply<Result<(), (RuleBreak, u64)>>),
    /// Stored accepted events by id (federation).
    Events(Vec<EventId>, Reply<Vec<Event>>),
    /// Ancestors of some events, nearest first (federation).
    Backfill {
        room: RoomId,
        from: Vec<EventId>,
        limit: usize,
        reply: Reply<Vec<Event>>,
    },
    /// Accepted events after a position (federation catch-up).
    Since {
        room: RoomId,
        after: Option<(u64, EventId)>,
        limit: usize,
        reply: Reply<Vec<Event>>,
    },
    /// A room's current state with its auth chain (joining nodes).
    RoomState(RoomId, Reply<Option<RoomSnapshot>>),
    /// What a room's held events from a source (and the node's own) wait for.
    Missing(RoomId, Source, Reply<(Vec<EventId>, Vec<AttestationId>)>),
    /// The rooms held.
    Rooms(Reply<Vec<RoomId>>),
    /// Counts, state, timeline and tips of a room.
    Summary(RoomId, Reply<Option<RoomSummary>>),
    /// Rooms as clients see them.
    RoomViews(RoomSelection, Reply<Vec<RoomView>>),
    /// A room's members as clients see them.
    Members(RoomId, Reply<Option<Vec<MemberView>>>),
    /// A page of a room's timeline.
    History {
        room: RoomId,
        before: Option<(u64, EventId)>,
        limit: usize,
        /// The node's review hides (relation events it hides do not count).
        review: Review,
        reply: Reply<Option<HistoryPage>>,
    },
    /// One accepted event as shown, with its relations.
    Related {
        room: RoomId,
        event: EventId,
        review: Review,
        reply: Reply<Option<Related>>,
    },
    /// Compact the store: always (`force`), or only if due (`None` when not).
    Compact {
        force: bool,
        reply: Reply<Option<CompactReport>>,
    },
    /// Why an accepted event is soft-failed.
    SoftFailReason(RoomId, EventId, Reply<Option<AuthError>>),
    /// Give the node the ban-list enforcer's key (specs/moderation.md §3.6).
    SetEnforcer(Box<causerie_crypto::UserSecret>, Reply<()>),
    /// Re-evaluate expired rules; answers the lists the node should follow.
    PolicyTick(Reply<Vec<RoomId>>),
    /// A ban list's rules and what changed since an event of it.
    BanList {
        list: RoomId,
        since: Option<EventId>,
        reply: Reply<Option<BanListView>>,
    },
    /// A room's ban-list subscription.
    RoomPolicy(RoomId, Reply<Option<RoomPolicyView>>),
    /// Write a backup of the store and `files` to a new file, between two group commits.
    Backup {
        out: std::path::PathBuf,
        files: Vec<(String, Vec<u8>)>,
        reply: Reply<Result<BackupReport, BackupError>>,
    },
    /// Flush and stop.
    Shutdown(oneshot::Sender<()>),
}

pub(super) struct Actor<S: Store> {
    ledger: Ledger<S>,
    announce: broadcast::Sender<NodeEvent>,
    key: NodeKey,
    metrics: Arc<NodeMetrics>,
    /// The latest attestation of recent senders (`None`: the store has none), for the profiles
    /// that go with announcements. At most [`SENDER_CACHE_LEN`] users.
    senders: BTreeMap<UserKey, Option<Attestation>>,
    /// When the store was last compacted (by this actor).
    compacted_at: Option<Instant>,
    /// The ledger's count of redacting commits when last seen, when it last changed, and since
    /// when a compaction has been due (see [`Actor::compact_if_due`]).
    redactions_seen: (u64, Option<Instant>, Option<Instant>),
    /// The attestation revocations in force (specs/accountability.md §3).
    revocations: crate::revocations::SharedIndex,
    /// Joins refused under the join-wave breaker, per room held (a notice for moderators).
    join_waves: BTreeMap<RoomId, JoinWaveNotice>,
    /// Ban lists: subscriptions, list indexes, the filter and the enforcer.
    policy: Policy,
}

impl<S: Store> Actor<S> {
    pub(super) fn new(
        ledger: Ledger<S>,
        announce: broadcast::Sender<NodeEvent>,
        key: NodeKey,
        metrics: Arc<NodeMetrics>,
        revocations: crate::revocations::SharedIndex,
    ) -> Self {
        let policy = Policy::new(&ledger);
        Actor {
            ledger,
            policy,
            announce,
            key,
            metrics,
            revocations,
            senders: BTreeMap::new(),
            compacted_at: None,
            redactions_seen: (0, None, None),
            join_waves: BTreeMap::new(),
        }
    }

    /// Answers commands until shutdown or until every handle is gone; flushes on the way out.
    pub(super) fn run(mut self, mut receiver: mpsc::Receiver<Command>) {
        let span = tracing::info_span!("node", key = %self.key);
        let _entered = span.enter();
        let mut pending: Option<Command> = None;
        loop {
            let command = match pending.take() {
                Some(command) => command,
                // Enforcement waits for the queued commands, then runs a pass at a time.
                None if self.policy.has_work() => match receiver.try_recv() {
                    Ok(command) => command,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        self.enforce();
                        continue;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                },
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
                    self.compact_if_due();
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

    /// Compacts the store if redacted content may be left in its files, redactions paused for
    /// [`COMPACTION_QUIET_MS`] (a burst, such as an erasure, is compacted once, after its last
    /// redaction) or the compaction waited [`MAX_COMPACTION_DELAY_MS`] for a pause, and the last
    /// compaction is at least [`MIN_COMPACTION_INTERVAL_MS`] old. Else the daemon's periodic
    /// check does it later.
    fn compact_if_due(&mut self) -> Option<CompactReport> {
        let now = Instant::now();
        let commits = self.ledger.redacting_commits();
        let (seen, last, since) = &mut self.redactions_seen;
        if commits != *seen {
            *seen = commits;
            *last = Some(now);
        }
        if !self.ledger.compaction_due() {
            *since = None;
            return None;
        }
        let since = *since.get_or_insert(now);
        let elapsed = |t: Option<Instant>, ms: u64| {
            t.is_none_or(|t| now.saturating_duration_since(t) >= Duration::from_millis(ms))
        };
        let paused =
            elapsed(*last, COMPACTION_QUIET_MS) || elapsed(Some(since), MAX_COMPACTION_DELAY_MS);
        if !paused || !elapsed(self.compacted_at, MIN_COMPACTION_INTERVAL_MS) {
            return None;
        }
        self.compact().ok()
    }

    fn compact(&mut self) -> Result<CompactReport, NodeError> {
        self.compacted_at = Some(Instant::now());
        self.redactions_seen.2 = None;
        match self.ledger.compact() {
            Ok(report) => {
                self.metrics.compacted(&report);
                tracing::info!(
                    entries = report.entries,
                    bytes_before = report.bytes_before,
                    bytes_after = report.bytes_after,
                    millis = report.millis,
                    "store compacted"
                );
                Ok(report)
            }
            Err(e) => {
                tracing::error!(reason = e.reason(), "compaction failed");
                Err(e.into())
            }
        }
    }

    fn flush(&self) {
        if let Err(e) = self.ledger.store().flush() {
            tracing::error!(reason = e.reason(), "flush on shutdown failed");
        }
    }

    /// One engine pass and one durable commit for every group; then the announcements, then
    /// the replies.
    fn ingest(&mut self, groups: Vec<(Offered, Reply<Vec<Ingested>>)>) {
        let known_rooms: BTreeSet<RoomId> = self.ledger.room_ids().copied().collect();
        let sizes: Vec<usize> = groups.iter().map(|g| g.0.len()).collect();
        let mut replies = Vec::with_capacity(groups.len());
        let mut all = Vec::with_capacity(sizes.iter().sum());
        for (events, reply) in groups {
            all.extend(events);
            replies.push(reply);
        }
        let ids: Vec<(EventId, RoomId)> = all.iter().map(|(e, _)| (e.id(), e.room_id())).collect();
        let now = now_ms();
        // Local submissions that a ban list the room follows refuses never reach the ledger.
        let refused: Vec<Option<BanListRefusal>> = all
            .iter()
            .map(|(event, source)| {
                if !source.is_local() || !self.policy.is_active() {
                    return None;
                }
                self.policy.refuses(
                    &self.ledger,
                    event.room_id(),
                    event.author(),
                    *event.attestation(),
                    event.kind(),
                    now,
                )
            })
            .collect();
        // Local submissions under an attestation revoked before them are not stored either.
        let refused: Vec<Option<LocalRefusal>> = all
            .iter()
            .zip(refused)
            .map(|((event, source), refusal)| match refusal {
                Some(refusal) => Some(LocalRefusal::BanList(refusal)),
                None if source.is_local() => self.revoked(event).map(LocalRefusal::Revoked),
                None => None,
            })
            .collect();
        let all: Offered = all
            .into_iter()
            .zip(&refused)
            .filter(|(_, refusal)| refusal.is_none())
            .map(|(offered, _)| offered)
            .collect();
        let receipts = match self.ledger.receive_from(all, now) {
            Ok(receipts) => receipts,
            Err(e) => {
                tracing::error!(reason = e.reason(), "commit failed; nothing acknowledged");
                let cause = std::sync::Arc::new(e);
                for reply in replies {
                    let shared = LedgerError::SharedCommit(std::sync::Arc::clone(&cause));
                    let _ = reply.send(Err(NodeError::Ledger(shared)));
                }
                return;
            }
        };
        self.metrics.commit();
        // Announce after the flush: accepted means durable.
        for room in self.ledger.room_ids() {
            if !known_rooms.contains(room) {
                let _ = self.announce.send(NodeEvent::RoomAdded(*room));
            }
        }
        let mut receipts = receipts.into_iter();
        let decided: Vec<(EventId, RoomId, Result<Receipt, LocalRefusal>)> = ids
            .iter()
            .zip(refused)
            .filter_map(|((id, room), refusal)| {
                let result = match refusal {
                    Some(refusal) => Err(refusal),
                    None => Ok(receipts.next()?),
                };
                Some((*id, *room, result))
            })
            .collect();
        if self.policy.is_active() || decided.iter().any(|(_, _, r)| r.is_ok()) {
            let observed: Vec<(RoomId, &Receipt)> = decided
                .iter()
                .filter_map(|(_, room, r)| r.as_ref().ok().map(|r| (*room, r)))
                .collect();
            self.policy.observe(&self.ledger, &observed);
        }
        let mut outcomes = Vec::with_capacity(ids.len());
        for (id, room, result) in decided {
            let outcome = match result {
                Err(LocalRefusal::BanList(refusal)) => IngestOutcome::BanList(Box::new(refusal)),
                Err(LocalRefusal::Revoked(revoked_ms)) => IngestOutcome::Revoked { revoked_ms },
                Ok(receipt) => {
                    // Every decision of a receipt is in the offered event's room (released
                    // outliers).
                    self.announce(room, &receipt);
                    match ingest_outcome(&receipt, &id) {
                        IngestOutcome::Accepted { .. }
                            if let Some(revoked_ms) = self.revoked_id(room, &id) =>
                        {
                            IngestOutcome::Revoked { revoked_ms }
                        }
                        IngestOutcome::Accepted { visible: true } if self.hidden(room, &id) => {
                            IngestOutcome::Accepted { visible: false }
                        }
                        outcome => outcome,
                    }
                }
            };
            self.metrics.record(&outcome);
            if let IngestOutcome::Rejected(reason) = &outcome
                && reason.auth_error() == Some(AuthError::ContentRule(RuleBreak::JoinWave))
            {
                self.join_wave_refused(room);
            }
            outcomes.push(Ingested { id, outcome });
        }
        let mut outcomes = outcomes.into_iter();
        for (reply, size) in replies.into_iter().zip(sizes) {
            let _ = reply.send(Ok(outcomes.by_ref().take(size).collect()));
        }
        self.enforce();
    }

    /// What relations add to `targets` (accepted events of `room`) as this node shows them
    /// (specs/rooms.md §13): relation events this node hides (a ban list, a revocation, its
    /// review) do not count. Reads only the events relating to each target.
    fn relations_of(
        &mut self,
        room: RoomId,
        targets: &[EventId],
        review: &Review,
    ) -> BTreeMap<EventId, Relations> {
        let Some(engine) = self.ledger.room(&room) else {
            return BTreeMap::new();
        };
        let related: Vec<EventId> = targets.iter().flat_map(|t| engine.related(t)).collect();
        let hidden: BTreeSet<EventId> = related
            .into_iter()
            .filter(|id| review.is_hidden(id) || self.hidden(room, id))
            .collect();
        let Some(engine) = self.ledger.room(&room) else {
            return BTreeMap::new();
        };
        targets
            .iter()
            .filter_map(|t| {
                let relations = engine.relations(t, &|e| hidden.contains(&e.id()))?;
                Some((*t, relations))
            })
            .collect()
    }

    /// Fills in a history page's relations and the messages its messages reply to (those this
    /// node shows).
    fn annotate(&mut self, room: RoomId, page: &mut HistoryPage, review: &Review) {
        let mut targets: Vec<EventId> = Vec::new();
        let mut replied: BTreeSet<EventId> = BTreeSet::new();
        for event in page.events.iter().filter(|e| e.kind() == kinds::MESSAGE) {
            targets.push(event.id());
            if let Ok(message) = causerie_room::Message::parse(event.content())
                && let Some(target) = message.reply_to
            {
                replied.insert(target);
            }
        }
        for target in replied {
            if let Some(related) = self.related(room, &target, review)
                && related.shown
            {
                page.relations.insert(target, related.relations);
                page.replied.insert(target, related.event);
            }
        }
        page.relations
            .extend(self.relations_of(room, &targets, review));
    }

    /// The accepted event `id` of `room` as shown, with its relations.
    fn related(&mut self, room: RoomId, id: &EventId, review: &Review) -> Option<Related> {
        let engine = self.ledger.room(&room)?;
        let event = engine.shown_event(id)?;
        let visible = matches!(
            engine.status(id),
            causerie_room::EventStatus::Accepted(shown) if shown.visible
        );
        let shown = visible && !review.is_hidden(id) && !self.hidden(room, id);
        let relations = self
            .relations_of(room, std::slice::from_ref(id), review)
            .remove(id)
            .unwrap_or_default();
        Some(Related {
            event,
            shown,
            relations,
        })
    }

    /// Whether a followed ban list hides the accepted event `id` of `room` (specs/moderation.md
    /// §3.5).
    fn hidden(&mut self, room: RoomId, id: &EventId) -> bool {
        let Some(event) = self.ledger.room(&room).and_then(|r| r.event(id)) else {
            return false;
        };
        self.revoked(event).is_some() || self.policy.hides(&self.ledger, room, event).is_some()
    }

    /// When the attestation `event` names was revoked, if that was at or before the event's own
    /// `origin_ts` (room time: specs/accountability.md §3, specs/moderation.md §0).
    fn revoked(&self, event: &Event) -> Option<u64> {
        let index = self.revocations.read().unwrap_or_else(|e| e.into_inner());
        if index.is_empty() {
            return None;
        }
        let id = event.attestation();
        let attestation = self
            .ledger
            .room(&event.room_id())
            .and_then(|room| room.attestation(id).cloned())
            .or_else(|| self.ledger.store().attestation(id).ok().flatten())?;
        index
            .revoked_at(&attestation)
            .filter(|at| event.origin_ts() >= *at)
    }

    /// [`Actor::revoked`] for the accepted event `id` of `room`.
    fn revoked_id(&self, room: RoomId, id: &EventId) -> Option<u64> {
        let event = self.ledger.room(&room).and_then(|r| r.event(id))?;
        self.revoked(event)
    }

    /// One enforcement pass of the ban-list enforcer, if it has work; its events are announced
    /// like any other once durable.
    fn enforce(&mut self) {
        if !self.policy.has_work() {
            return;
        }
        match self.policy.enforce(&mut self.ledger, now_ms()) {
            Ok(receipts) if receipts.is_empty() => {}
            Ok(receipts) => {
                self.metrics.commit();
                let observed: Vec<(RoomId, &Receipt)> =
                    receipts.iter().map(|(room, r)| (*room, r)).collect();
                self.policy.observe(&self.ledger, &observed);
                for (room, receipt) in &receipts {
                    self.announce(*room, receipt);
                }
                tracing::debug!(events = receipts.len(), "ban-list enforcement");
            }
            Err(e) => tracing::error!(reason = e.reason(), "ban-list enforcement failed"),
        }
    }

    /// Announces every event `receipt` accepted in `room` (the offered event and the held events
    /// it released), with its sender's profile, and every held event a peer sent that ended
    /// rejected or expired (the network penalises that peer); counts the held events that ended.
    /// Call only once the receipt's commit is durable.
    fn announce(&mut self, room: RoomId, receipt: &Receipt) {
        for ended in &receipt.held {
            self.metrics.record_held(&ended.end);
            if !ended.source.is_local()
                && matches!(ended.end, HeldEnd::Rejected(_) | HeldEnd::Expired)
            {
                let _ = self.announce.send(NodeEvent::HeldFailed {
                    room,
                    event: ended.event.id(),
                    source: ended.source,
                    end: ended.end,
                });
            }
        }
        if self.announce.receiver_count() == 0 {
            return;
        }
        for decision in &receipt.decisions {
            let Outcome::Accepted { soft_failed, .. } = decision.outcome else {
                continue;
            };
            let Some(event) = self
                .ledger
                .room(&room)
                .and_then(|r| r.shown_event(&decision.event))
            else {
                continue;
            };
            let sender = self.sender_profile(room, &event);
            let hidden = !soft_failed && self.hidden(room, &event.id());
            let _ = self.announce.send(NodeEvent::Accepted {
                room,
                event,
                visible: !soft_failed && !hidden,
                sender,
            });
        }
    }

    /// The author of `event` as clients are shown them: their latest attestation and the
    /// display name of their member event in the room's current state.
    fn sender_profile(&mut self, room: RoomId, event: &Event) -> SenderProfile {
        let author = *event.author();
        let display_name = self
            .ledger
            .room(&room)
            .and_then(|r| r.state_event(kinds::MEMBER, &user_state_key(&author)))
            .and_then(|member| match member.content().get("display_name") {
                Some(Value::Text(name)) => Some(name.clone()),
                _ => None,
            });
        let attestation = match self.senders.get(&author) {
            Some(known) => known.clone(),
            None => match queries::latest_attestation(self.ledger.store(), &author) {
                Ok(found) => {
                    if self.senders.len() >= SENDER_CACHE_LEN {
                        self.senders.clear();
                    }
                    self.senders.insert(author, found.clone());
                    found
                }
                Err(e) => {
                    tracing::warn!(reason = e.reason(), user = %author, "sender lookup failed");
                    None
                }
            },
        };
        SenderProfile {
            attestation,
            display_name,
        }
    }

    /// Records a join refused by the join-wave breaker and tells the operator's log once per
    /// wave (the first refusal after a quiet minute); moderators read the count in the room's
    /// view.
    fn join_wave_refused(&mut self, room: RoomId) {
        let now = now_ms();
        let notice = self.join_waves.entry(room).or_insert(JoinWaveNotice {
            refused: 0,
            last_ms: 0,
        });
        if now.saturating_sub(notice.last_ms) >= JOIN_WAVE_NOTICE_QUIET_MS {
            tracing::warn!(%room, "join wave: the room refuses open joins for now");
        }
        notice.refused += 1;
        notice.last_ms = now;
    }

    fn add_attestation(&mut self, attestation: Attestation) -> Result<(), NodeError> {
        // The user's latest attestation may be this one: forget what was remembered.
        self.senders.remove(attestation.user());
        let released = self.ledger.add_attestation(attestation)?;
        let observed: Vec<(RoomId, &Receipt)> =
            released.iter().map(|(room, r)| (*room, r)).collect();
        self.policy.observe(&self.ledger, &observed);
        for (room, receipt) in &released {
            self.announce(*room, receipt);
        }
        Ok(())
    }

    fn put_account(
        &mut self,
        account: &Account,
        attestation: Option<Attestation>,
    ) -> Result<(), NodeError> {
        if let Some(attestation) = attestation {
            self.add_attestation(attestation)?;
        }
        let _durable = self
            .ledger
            .store()
            .put_account(account)
            .map_err(NodeError::Store)?;
        Ok(())
    }

    /// When the attestation `id` was revoked, if that is at or before `at_ms`.
    fn attestation_revoked(&self, id: AttestationId, at_ms: u64) -> Option<u64> {
        let index = self.revocations.read().unwrap_or_else(|e| e.into_inner());
        if index.is_empty() {
            return None;
        }
        let attestation = self.ledger.store().attestation(&id).ok().flatten()?;
        index.revoked_at(&attestation).filter(|at| at_ms >= *at)
    }

    fn prepare(&mut self, request: PrepareRequest) -> Result<EventDraft, NodeError> {
        if let Some(refusal) = self.policy.refuses(
            &self.ledger,
            request.room,
            &request.author,
            request.attestation,
            &request.kind,
            now_ms(),
        ) {
            return Err(NodeError::BanList(Box::new(refusal)));
        }
        if let Some(revoked_ms) = self.attestation_revoked(request.attestation, now_ms()) {
            return Err(NodeError::Revoked(revoked_ms));
        }
        let room = self
            .ledger
            .room(&request.room)
            .filter(|r| r.accepted_count() > 0)
            .ok_or(NodeError::UnknownRoom)?;
        room.prepare(
            request.author,
            &request.kind,
            request.state_key,
            request.content,
            now_ms(),
            request.attestation,
        )
        .map_err(NodeError::Prepare)
    }

    fn answer(&mut self, command: Command) {
        let ledger = &self.ledger;
        match command {
            Command::AddAttestation(attestation, reply) => {
                let _ = reply.send(self.add_attestation(attestation));
                self.compact_if_due();
            }
            Command::Compact { force, reply } => {
                let done = if force {
                    self.compact().map(Some)
                } else {
                    Ok(self.compact_if_due())
                };
                let _ = reply.send(done);
            }
            Command::Backup { out, files, reply } => {
                let written = super::backup::write_backup(self.ledger.store(), &out, &files);
                let _ = reply.send(Ok(written));
            }
            Command::SoftFailReason(room, id, reply) => {
                let reason = self
                    .ledger
                    .room(&room)
                    .and_then(|r| r.soft_fail_reason(&id));
                let _ = reply.send(Ok(reason));
            }
            Command::PutAccount(account, attestation, reply) => {
                let _ = reply.send(self.put_account(&account, attestation));
            }
            Command::Prepare(request, reply) => {
                let _ = reply.send(self.prepare(*request));
            }
            Command::CheckSubmission(event, reply) => {
                let verdict = ledger
                    .room(&event.room_id())
                    .map_or(Ok(()), |room| room.check_submission(&event));
                let _ = reply.send(Ok(verdict));
            }
            Command::Events(ids, reply) => {
                let _ = reply.send(queries::events(ledger, &ids));
            }
            Command::Backfill {
                room,
                from,
                limit,
                reply,
            } => {
                let _ = reply.send(queries::backfill(ledger, room, &from, limit));
            }
            Command::Since {
                room,
                after,
                limit,
                reply,
            } => {
                let _ = reply.send(queries::since(ledger, room, after, limit));
            }
            Command::RoomState(room, reply) => {
                let _ = reply.send(Ok(queries::room_state(ledger, room)));
            }
            Command::Missing(room, source, reply) => {
                let _ = reply.send(Ok(queries::missing(ledger, room, &source)));
            }
            Command::Rooms(reply) => {
                let _ = reply.send(Ok(ledger.room_ids().copied().collect()));
            }
            Command::Summary(room, reply) => {
                let _ = reply.send(Ok(queries::summary(ledger, room)));
            }
            Command::RoomViews(selection, reply) => {
                let mut views = queries::room_views(ledger, selection);
                for view in &mut views {
                    if view.power >= view.power_levels.kick {
                        view.join_wave = self.join_waves.get(&view.room).copied();
                    }
                }
                let _ = reply.send(Ok(views));
            }
            Command::Members(room, reply) => {
                let _ = reply.send(Ok(queries::members(ledger, room)));
            }
            Command::History {
                room,
                before,
                limit,
                review,
                reply,
            } => {
                let mut page = queries::history(ledger, room, before, limit);
                if let Some(page) = &mut page {
                    page.events.retain(|event| self.revoked(event).is_none());
                    page.events
                        .retain(|event| self.policy.hides(ledger, room, event).is_none());
                    self.annotate(room, page, &review);
                }
                let _ = reply.send(Ok(page));
            }
            Command::Related {
                room,
                event,
                review,
                reply,
            } => {
                let _ = reply.send(Ok(self.related(room, &event, &review)));
            }
            Command::SetEnforcer(secret, reply) => {
                self.policy.set_enforcer(*secret);
                let _ = reply.send(Ok(()));
            }
            Command::PolicyTick(reply) => {
                self.policy.tick(ledger, now_ms());
                let _ = reply.send(Ok(self.policy.wanted(ledger)));
            }
            Command::BanList { list, since, reply } => {
                let followed = self.policy.is_followed(&list);
                let _ = reply.send(Ok(banlist::list_view(ledger, list, since, followed)));
            }
            Command::RoomPolicy(room, reply) => {
                let _ = reply.send(Ok(self.policy.room_view(ledger, room)));
            }
            // Handled by the run loop.
            Command::Ingest(..) | Command::Shutdown(..) => {}
        }
    }
}

/// What happened to the offered event `id`, from its receipt.
fn ingest_outcome(receipt: &Receipt, id: &EventId) -> IngestOutcome {
    match receipt.outcome_of(id) {
        Some(Outcome::Accepted { soft_failed, .. }) => IngestOutcome::Accepted {
            visible: !soft_failed,
        },
        Some(Outcome::Rejected(reason)) => IngestOutcome::Rejected(*reason),
        Some(Outcome::Held {
            missing_events,
            missing_attestation,
        }) => IngestOutcome::Held {
            missing_events: missing_events.clone(),
            missing_attestation: *missing_attestation,
        },
        Some(Outcome::Refused(RefuseReason::Duplicate)) => IngestOutcome::Duplicate,
        Some(Outcome::Refused(reason)) => IngestOutcome::Refused(*reason),
        None => IngestOutcome::Undecided,
    }
}

/// Why a local submission was refused before the ledger.
enum LocalRefusal {
    /// A ban list the room follows names its author.
    BanList(BanListRefusal),
    /// Its attestation was revoked at this time (ms), at or before its `origin_ts`.
    Revoked(u64),
}
