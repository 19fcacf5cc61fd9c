//! [`Room`]: one room's DAG in memory and the decisions on it (specs/rooms.md §3 checks on
//! receipt, §4 soft-fail and visibility, §6 timeline order, §7 preparation, §8 limits).
//!
//! Every decision is a function of the set of events (and attestations) the engine holds, never
//! of arrival order: rejection depends on an event and its ancestors only; the current state on
//! the forward extremities; soft-fail and visibility on the current state and the DAG. Arrival
//! order only changes *when* a decision is reported.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use causerie_crypto::event::kinds;
use causerie_crypto::{
    Attestation, AttestationId, Content, Event, EventDraft, EventId, IdMap, RoomId, UserKey,
};

use crate::auth::{Authorized, authorize};
use crate::content::{
    Membership, PowerLevels, UserBytes, parse_user_hex, power_of, redacts, user_state_key,
};
use crate::error::{PrepareError, RefuseReason, RejectReason, StateResError};
use crate::event::{
    Credential, MAX_AUTH_TYPES, RoomEvent, StateEvent, StateKey, StateMap, auth_types, state_get,
};
use crate::held::{Admission, Held, HeldEnd, HeldEnded, Origin, Outlier, Source};
use crate::limits::{
    MAX_ATTESTATIONS, MAX_FORWARD_EXTREMITIES, MAX_FUTURE_SKEW_MS, MAX_PREV_EVENTS,
    MAX_REJECTED_REMEMBERED, MAX_RESOLUTION_CACHE, MAX_STATE_RES_WORK,
};
use crate::receipt::{
    Decision, EventStatus, Outcome, Receipt, Shown, TimelineEntry, VisibilityChange,
};
use crate::relations::{RelationIndex, Relations, aggregate};
use crate::slow::SlowIndex;
use crate::state_res::{Work, resolve};

mod ancestry;
mod effective;
mod purge;
mod rules;

#[derive(Clone)]
struct Node {
    room_event: RoomEvent,
    index: usize,
    state_before: Arc<StateMap>,
    state_after: Arc<StateMap>,
    soft_failed: bool,
    can_redact_others: bool,
    shown: Option<Shown>,
}

/// The accepted events' nodes, in acceptance order (a node's `index` is its position), found by
/// id through an [`IdMap`]: a lookup costs a hash instead of a dozen ordered comparisons, and it
/// runs many times per received event. Everything listed from it is listed in acceptance order
/// or sorted, never in hash order.
#[derive(Clone, Default)]
struct Nodes {
    list: Vec<Node>,
    index: IdMap<EventId, usize>,
}

impl Nodes {
    #[inline]
    fn get(&self, id: &EventId) -> Option<&Node> {
        self.index.get(id).and_then(|&i| self.list.get(i))
    }

    #[inline]
    fn get_mut(&mut self, id: &EventId) -> Option<&mut Node> {
        let i = *self.index.get(id)?;
        self.list.get_mut(i)
    }

    #[inline]
    fn contains_key(&self, id: &EventId) -> bool {
        self.index.contains_key(id)
    }

    fn len(&self) -> usize {
        self.list.len()
    }

    /// The ids, in acceptance order.
    fn ids(&self) -> impl Iterator<Item = EventId> + '_ {
        self.list.iter().map(|n| n.room_event.event_id())
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Appends the node of a newly accepted event (`node.index` is `self.len()`).
    fn push(&mut self, id: EventId, node: Node) {
        self.index.insert(id, self.list.len());
        self.list.push(node);
    }

    /// Takes back the node `push` just added for `id` (undo of an acceptance).
    fn pop(&mut self, id: &EventId) {
        if self.index.get(id) == Some(&self.list.len().wrapping_sub(1)) {
            self.index.remove(id);
            self.list.pop();
        }
    }
}

enum Verdict {
    Reject(RejectReason),
    Refuse(RefuseReason),
}

enum Readiness {
    Ready(Credential),
    Reject(RejectReason),
    Wait(Vec<EventId>, bool),
}

/// Per-call bookkeeping.
#[derive(Default)]
struct Pass {
    decisions: Vec<Decision>,
    held: Vec<HeldEnded>,
    touched: BTreeSet<EventId>,
    /// Events to judge, with who offered them and whether they were held (released outliers).
    queue: VecDeque<(Event, Origin, bool)>,
    current_changed: bool,
    /// Whether an event was accepted: each one changes the tips (it becomes one).
    tips_changed: bool,
    /// Messages to re-judge before the call ends (slow mode: a new predecessor).
    recheck: Vec<EventId>,
}

impl Pass {
    fn decide(&mut self, event: EventId, outcome: Outcome) {
        self.decisions.push(Decision { event, outcome });
    }

    fn ended(&mut self, event: Event, origin: Origin, end: HeldEnd) {
        self.held.push(HeldEnded {
            event,
            source: origin.source,
            end,
        });
    }
}

/// One room's DAG and the decisions on it. Deterministic: the same events and attestations give
/// the same state, visibility and timeline on every node, whatever the arrival order.
/// Cloning gives an independent copy (tests and simulations use it to model stale views).
#[derive(Clone)]
pub struct Room {
    room_id: RoomId,
    events: Nodes,
    tips: BTreeSet<EventId>,
    current: Arc<StateMap>,
    rejected: BTreeMap<EventId, RejectReason>,
    rejected_order: VecDeque<EventId>,
    held: Held,
    attestations: BTreeMap<AttestationId, Attestation>,
    /// Accepted events sent by or targeting each user (each id once per user; the order is
    /// arrival order and never leaks: readers collect into sets).
    by_user: BTreeMap<UserBytes, Vec<EventId>>,
    redactions_of: BTreeMap<EventId, BTreeSet<EventId>>,
    /// Accepted ban-and-purge events by their target (specs/moderation.md §1.4).
    purges: BTreeMap<UserBytes, Vec<EventId>>,
    // Descendants of purge bans (bit per local index); a pure cache.
    purge_descendants: RefCell<BTreeMap<EventId, purge::Descendants>>,
    visible: BTreeSet<(u64, EventId)>,
    /// Each sender's member state key (64 hex digits), shared by their events; a pure cache,
    /// bounded like the attestations (every sender needs one).
    sender_hexes: IdMap<UserBytes, Arc<str>>,
    // Ancestor sets (bit per local index) for the descendant test; a pure cache.
    ancestors: RefCell<BTreeMap<EventId, Arc<Vec<u64>>>>,
    // Resolutions by their (distinct) input maps' addresses; a pure cache.
    resolutions: RefCell<ResolutionCache>,
    /// Each sender's accepted messages by (origin_ts, id), for slow mode.
    slow: SlowIndex,
    /// Accepted edits and reactions by the event they point at (specs/rooms.md §13).
    relations: RelationIndex,
}

type ResolutionCache = BTreeMap<Vec<usize>, (Vec<Arc<StateMap>>, Arc<StateMap>)>;

// The undo of `accept` records the merged tips as a bit per prev event.
const _: () = assert!(MAX_PREV_EVENTS <= 64);

/// Builds a create event draft: the author becomes the room's creator.
pub fn prepare_create(
    author: UserKey,
    content: Content,
    now_ms: u64,
    attestation: AttestationId,
) -> EventDraft {
    EventDraft {
        room: None,
        author,
        kind: kinds::CREATE.to_owned(),
        state_key: Some(String::new()),
        content,
        prev_events: Vec::new(),
        auth_events: Vec::new(),
        depth: 0,
        origin_ts: now_ms,
        attestation,
    }
}

impl Room {
    /// An empty engine for `room_id` (the id of the room's create event, which is received like
    /// any other event).
    pub fn new(room_id: RoomId) -> Self {
        Room {
            room_id,
            events: Nodes::default(),
            tips: BTreeSet::new(),
            current: Arc::new(StateMap::new()),
            rejected: BTreeMap::new(),
            rejected_order: VecDeque::new(),
            held: Held::default(),
            attestations: BTreeMap::new(),
            by_user: BTreeMap::new(),
            redactions_of: BTreeMap::new(),
            purges: BTreeMap::new(),
            purge_descendants: RefCell::new(BTreeMap::new()),
            visible: BTreeSet::new(),
            sender_hexes: IdMap::new(),
            ancestors: RefCell::new(BTreeMap::new()),
            resolutions: RefCell::new(BTreeMap::new()),
            slow: SlowIndex::default(),
            relations: RelationIndex::default(),
        }
    }

    // ----- inputs -----

    /// Offers a verified event of the node's own ([`Source::LOCAL`]), received at `now_ms` (the
    /// receiver's clock).
    pub fn receive(&mut self, event: Event, now_ms: u64) -> Receipt {
        self.receive_from(event, Source::LOCAL, now_ms)
    }

    /// Offers a verified event sent by `source`, received at `now_ms` (the receiver's clock).
    /// Held events whose time is up are forgotten first (specs/rooms.md §8a).
    pub fn receive_from(&mut self, event: Event, source: Source, now_ms: u64) -> Receipt {
        let mut pass = Pass::default();
        self.expire(now_ms, &mut pass);
        let id = event.id();
        if self.knows(&id) {
            pass.decide(id, Outcome::Refused(RefuseReason::Duplicate));
        } else if event.room_id() != self.room_id {
            self.reject(id, RejectReason::WrongRoom, &mut pass);
        } else if event.origin_ts() > now_ms.saturating_add(MAX_FUTURE_SKEW_MS) {
            pass.decide(id, Outcome::Refused(RefuseReason::FromFuture));
        } else {
            let origin = Origin {
                source,
                held_at_ms: now_ms,
            };
            pass.queue.push_back((event, origin, false));
        }
        self.run(&mut pass);
        self.finish(pass)
    }

    /// Forgets the held events whose time is up at `now_ms` (the receiver's clock); the receipt
    /// lists them. [`Room::receive_from`] does this too.
    pub fn expire_held(&mut self, now_ms: u64) -> Receipt {
        let mut pass = Pass::default();
        self.expire(now_ms, &mut pass);
        self.finish(pass)
    }

    /// Adds an attestation; events waiting for it are re-evaluated.
    pub fn add_attestation(&mut self, attestation: Attestation) -> Result<Receipt, RefuseReason> {
        let id = attestation.id();
        let mut pass = Pass::default();
        if !self.attestations.contains_key(&id) {
            if self.attestations.len() >= MAX_ATTESTATIONS {
                return Err(RefuseReason::TooManyAttestations);
            }
            self.attestations.insert(id, attestation);
            for outlier in self.held.take_waiting_on_attestation(&id) {
                pass.queue.push_back((outlier.event, outlier.origin, true));
            }
            self.run(&mut pass);
        }
        Ok(self.finish(pass))
    }

    // ----- event creation -----

    /// Builds the next event of `author`: prev events are the current tips (at most
    /// `MAX_PREV_EVENTS`, non-soft-failed first, then deeper first, then by id), auth events are
    /// taken from the state at those tips, depth is one more than theirs.
    pub fn prepare(
        &self,
        author: UserKey,
        kind: &str,
        state_key: Option<String>,
        content: Content,
        now_ms: u64,
        attestation: AttestationId,
    ) -> Result<EventDraft, PrepareError> {
        if self.events.is_empty() {
            return Err(PrepareError::NoCreate);
        }
        let mut tips: Vec<(bool, Reverse<u64>, EventId)> = self
            .tips
            .iter()
            .filter_map(|id| {
                self.events
                    .get(id)
                    .map(|n| (n.soft_failed, Reverse(n.room_event.depth()), *id))
            })
            .collect();
        tips.sort_unstable();
        tips.truncate(MAX_PREV_EVENTS);
        let mut prev_events: Vec<EventId> = tips.iter().map(|t| t.2).collect();
        prev_events.sort_unstable();
        let state = if prev_events.len() == self.tips.len() {
            self.current.clone()
        } else {
            self.state_at(&prev_events)
                .map_err(|_| PrepareError::StateResTooLarge)?
        };
        let depth = 1 + tips.iter().map(|t| t.1.0).max().unwrap_or(0);
        let mut auth_events = Vec::new();
        for k in auth_types(kind, &author, state_key.as_deref()) {
            if let Some(id) = state.get(&k) {
                auth_events.push(*id);
            }
        }
        Ok(EventDraft {
            room: Some(self.room_id),
            author,
            kind: kind.to_owned(),
            state_key,
            content,
            prev_events,
            auth_events,
            depth,
            origin_ts: now_ms,
            attestation,
        })
    }

    // ----- queries -----

    /// The room id.
    pub fn room_id(&self) -> RoomId {
        self.room_id
    }

    /// The current state: resolved over every forward extremity of the accepted events.
    pub fn current_state(&self) -> &StateMap {
        &self.current
    }

    /// The current state's event for (kind, state key).
    pub fn state_event(&self, kind: &str, state_key: &str) -> Option<&Event> {
        state_get(&self.current, kind, state_key).and_then(|id| self.event(id))
    }

    /// An accepted event (full content, whether redacted or not; see [`Self::timeline_events`]).
    pub fn event(&self, id: &EventId) -> Option<&Event> {
        self.events.get(id).map(|n| n.room_event.event())
    }

    /// An accepted event as clients see it: in redacted form if a valid redaction applies.
    pub fn shown_event(&self, id: &EventId) -> Option<Event> {
        let event = self.event(id)?;
        Some(if self.is_redacted(id) {
            event.redacted()
        } else {
            event.clone()
        })
    }

    /// What the events relating to the accepted event `target` add to it (specs/rooms.md
    /// §13): its honoured edit and reaction counts, from the relation events that are shown
    /// (not soft-failed, not redacted) and that the node does not hide (`hidden`: its own rules,
    /// e.g. a classifier's hold), and whether its own author redacted it. Reads only the events
    /// relating to `target`, in timeline order; `None` if `target` is not accepted.
    pub fn relations(
        &self,
        target: &EventId,
        hidden: &dyn Fn(&Event) -> bool,
    ) -> Option<Relations> {
        let node = self.events.get(target)?;
        let related = self.relations.of(target).filter_map(|id| self.event(&id));
        let counts = |event: &Event| {
            let id = event.id();
            self.events.get(&id).is_some_and(|n| !n.soft_failed)
                && !self.is_redacted(&id)
                && !hidden(event)
        };
        let mut relations = aggregate(node.room_event.event(), related, counts);
        let author = node.room_event.sender();
        relations.deleted = self.redactions_of.get(target).is_some_and(|redactions| {
            redactions
                .iter()
                .filter_map(|r| self.events.get(r))
                .any(|r| !r.soft_failed && r.room_event.sender() == author)
        });
        Some(relations)
    }

    /// The accepted events that relate to `target` (edits and reactions, shown or not), in
    /// timeline order: what [`Self::relations`] reads.
    pub fn related(&self, target: &EventId) -> Vec<EventId> {
        self.relations.of(target).collect()
    }

    /// The state before an accepted event.
    pub fn state_before(&self, id: &EventId) -> Option<Arc<StateMap>> {
        self.events.get(id).map(|n| n.state_before.clone())
    }

    /// Where an event stands.
    pub fn status(&self, id: &EventId) -> EventStatus {
        if let Some(node) = self.events.get(id) {
            EventStatus::Accepted(Shown {
                visible: !node.soft_failed,
                redacted: self.is_redacted(id),
            })
        } else if let Some(reason) = self.rejected.get(id) {
            EventStatus::Rejected(*reason)
        } else if self.held.contains(id) {
            EventStatus::Held
        } else {
            EventStatus::Unknown
        }
    }

    /// The forward extremities, sorted by id.
    pub fn extremities(&self) -> Vec<EventId> {
        self.tips.iter().copied().collect()
    }

    /// Number of accepted events.
    pub fn accepted_count(&self) -> usize {
        self.events.len()
    }

    /// Number of held outliers.
    pub fn outlier_count(&self) -> usize {
        self.held.len()
    }

    /// Number of held outliers `source` sent.
    pub fn held_from(&self, source: &Source) -> usize {
        self.held.count_from(source)
    }

    /// What the held outliers `source` sent wait for: referenced events, then attestations
    /// (each sorted). The node asks that source for them, and no other.
    pub fn held_needs(&self, source: &Source) -> (Vec<EventId>, Vec<AttestationId>) {
        self.held.needs_of(source)
    }

    /// Ids of all accepted events, sorted.
    pub fn accepted_ids(&self) -> Vec<EventId> {
        let mut ids: Vec<EventId> = self.events.ids().collect();
        ids.sort_unstable();
        ids
    }

    /// Ids of the accepted events that are soft-failed, sorted.
    pub fn soft_failed_ids(&self) -> Vec<EventId> {
        let mut ids: Vec<EventId> = self
            .events
            .list
            .iter()
            .filter(|n| n.soft_failed)
            .map(|n| n.room_event.event_id())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Referenced events the held outliers wait for, sorted.
    pub fn missing_events(&self) -> Vec<EventId> {
        self.held.missing_events()
    }

    /// Attestations the held outliers wait for, sorted.
    pub fn missing_attestations(&self) -> Vec<AttestationId> {
        self.held.missing_attestations()
    }

    /// The visible events in timeline order: (depth, event id), the same on every node.
    pub fn timeline(&self) -> Vec<TimelineEntry> {
        self.visible
            .iter()
            .map(|(depth, id)| TimelineEntry {
                depth: *depth,
                event: *id,
                redacted: self.is_redacted(id),
            })
            .collect()
    }

    /// The visible events in timeline order, redacted ones in their redacted form.
    pub fn timeline_events(&self) -> Vec<Event> {
        self.timeline()
            .into_iter()
            .filter_map(|entry| {
                let event = self.event(&entry.event)?;
                Some(if entry.redacted {
                    event.redacted()
                } else {
                    event.clone()
                })
            })
            .collect()
    }

    /// Up to `limit` visible events just before `before` (the newest when `None`), oldest
    /// first, as clients see them, and the position to ask for the page before (`None` at the
    /// start of the room). Costs O(log n + limit).
    pub fn timeline_page(
        &self,
        before: Option<(u64, EventId)>,
        limit: usize,
    ) -> (Vec<Event>, Option<(u64, EventId)>) {
        let range = match before {
            Some(position) => self.visible.range(..position),
            None => self.visible.range(..),
        };
        let mut page: Vec<(u64, EventId)> = range.rev().take(limit).copied().collect();
        page.reverse();
        let prev = page
            .first()
            .copied()
            .filter(|first| self.visible.range(..*first).next_back().is_some());
        let events = page
            .iter()
            .filter_map(|(_, id)| self.shown_event(id))
            .collect();
        (events, prev)
    }

    /// Resolves `sets` (state maps over this room's accepted events) with the engine's work
    /// limit; returns the resolved state and the work it took.
    pub fn resolve_states(&self, sets: &[&StateMap]) -> Result<(StateMap, u64), StateResError> {
        let mut work = Work::new(MAX_STATE_RES_WORK);
        let resolved = resolve(sets, &self.lookup(), &mut work)?;
        Ok((resolved, work.used()))
    }

    /// An attestation the engine holds (each accepted event's, among others).
    pub fn attestation(&self, id: &AttestationId) -> Option<&Attestation> {
        self.attestations.get(id)
    }

    /// `user`'s membership in the current state.
    pub fn membership(&self, user: &UserKey) -> Option<Membership> {
        self.state_event(kinds::MEMBER, &user_state_key(user))
            .and_then(|e| Membership::parse(e.content()).ok())
    }

    /// `user`'s power level in the current state.
    pub fn power_level(&self, user: &UserKey) -> i64 {
        let levels = self
            .state_event(kinds::POWER_LEVELS, "")
            .and_then(|e| PowerLevels::parse(e.content()).ok())
            .unwrap_or_default();
        match self.state_event(kinds::CREATE, "") {
            Some(create) => power_of(user.as_bytes(), create.author(), &levels),
            None => levels.user_level(user.as_bytes()),
        }
    }

    // ----- receipt pipeline -----

    fn knows(&self, id: &EventId) -> bool {
        self.events.contains_key(id) || self.rejected.contains_key(id) || self.held.contains(id)
    }

    fn run(&mut self, pass: &mut Pass) {
        while let Some((event, origin, was_outlier)) = pass.queue.pop_front() {
            let id = event.id();
            match self.readiness(&event) {
                Readiness::Reject(reason) => {
                    self.reject(id, reason, pass);
                    if was_outlier {
                        pass.ended(event, origin, HeldEnd::Rejected(reason));
                    }
                }
                Readiness::Wait(missing_events, missing_attestation) => {
                    // A released outlier that still waits keeps its place; a new one must fit.
                    if !was_outlier {
                        match self
                            .held
                            .admission(&origin.source, event.author().as_bytes())
                        {
                            Admission::Admit => {}
                            Admission::Evict(victim) => {
                                if let Some(evicted) = self.held.take(&victim) {
                                    pass.ended(evicted.event, evicted.origin, HeldEnd::Evicted);
                                }
                            }
                            Admission::Refuse(reason) => {
                                pass.decide(id, Outcome::Refused(reason));
                                continue;
                            }
                        }
                    }
                    let attestation = *event.attestation();
                    pass.decide(
                        id,
                        Outcome::Held {
                            missing_events: missing_events.clone(),
                            missing_attestation: missing_attestation.then_some(attestation),
                        },
                    );
                    self.held.insert(Outlier {
                        event,
                        missing_events,
                        missing_attestation,
                        origin,
                    });
                }
                Readiness::Ready(credential) => {
                    // A released outlier is reported with its event (cheap: a shared handle).
                    let released = was_outlier.then(|| event.clone());
                    let end = match self.evaluate(event, credential, pass) {
                        Ok(()) => {
                            let soft_failed = self.events.get(&id).is_some_and(|n| n.soft_failed);
                            self.release(&id, pass);
                            HeldEnd::Accepted { soft_failed }
                        }
                        Err(Verdict::Reject(reason)) => {
                            self.reject(id, reason, pass);
                            HeldEnd::Rejected(reason)
                        }
                        Err(Verdict::Refuse(reason)) => {
                            pass.decide(id, Outcome::Refused(reason));
                            HeldEnd::Refused(reason)
                        }
                    };
                    if let Some(event) = released {
                        pass.ended(event, origin, end);
                    }
                }
            }
        }
    }

    /// Forgets the held events whose time is up (specs/rooms.md §8a).
    fn expire(&mut self, now_ms: u64, pass: &mut Pass) {
        for id in self.held.expired(now_ms) {
            if let Some(outlier) = self.held.take(&id) {
                pass.ended(outlier.event, outlier.origin, HeldEnd::Expired);
            }
        }
    }

    fn readiness(&self, event: &Event) -> Readiness {
        let mut missing = Vec::new();
        // Nearly always every reference is accepted already: that needs no sorted set.
        let all_accepted = event
            .prev_events()
            .iter()
            .chain(event.auth_events())
            .all(|r| self.events.contains_key(r));
        if !all_accepted {
            for reference in event.references() {
                if self.events.contains_key(&reference) {
                    continue;
                }
                match self.rejected.get(&reference) {
                    Some(RejectReason::WrongRoom) => {
                        return Readiness::Reject(RejectReason::ForeignReference(reference));
                    }
                    Some(_) => {
                        return Readiness::Reject(RejectReason::RejectedReference(reference));
                    }
                    None => missing.push(reference),
                }
            }
        }
        match self.attestations.get(event.attestation()) {
            Some(attestation) if missing.is_empty() => {
                if attestation.user() != event.author() {
                    Readiness::Reject(RejectReason::AttestationMismatch)
                } else if !attestation.is_valid_at(event.origin_ts()) {
                    Readiness::Reject(RejectReason::AttestationExpired)
                } else {
                    Readiness::Ready(Credential::from(attestation))
                }
            }
            found => Readiness::Wait(missing, found.is_none()),
        }
    }

    fn reject(&mut self, id: EventId, reason: RejectReason, pass: &mut Pass) {
        if self.rejected_order.len() >= MAX_REJECTED_REMEMBERED
            && let Some(oldest) = self.rejected_order.pop_front()
        {
            self.rejected.remove(&oldest);
        }
        self.rejected.insert(id, reason);
        self.rejected_order.push_back(id);
        pass.decide(id, Outcome::Rejected(reason));
        self.release(&id, pass);
    }

    fn release(&mut self, id: &EventId, pass: &mut Pass) {
        for outlier in self.held.take_waiting_on_event(id) {
            pass.queue.push_back((outlier.event, outlier.origin, true));
        }
    }

    /// The member state key of `user`, from the cache when it is there.
    fn sender_hex(&mut self, user: &UserKey) -> Arc<str> {
        if let Some(hex) = self.sender_hexes.get(user.as_bytes()) {
            return hex.clone();
        }
        let hex: Arc<str> = Arc::from(user_state_key(user));
        if self.sender_hexes.len() < MAX_ATTESTATIONS {
            self.sender_hexes.insert(*user.as_bytes(), hex.clone());
        }
        hex
    }

    fn lookup<'a>(&'a self) -> impl Fn(&EventId) -> Option<&'a RoomEvent> + 'a {
        move |id| self.events.get(id).map(|n| &n.room_event)
    }

    /// The state resolved from the state after each of `prevs` (all accepted).
    fn state_at(&self, prevs: &[EventId]) -> Result<Arc<StateMap>, RejectReason> {
        if let [only] = prevs {
            // One parent (nearly every event): its state after, nothing to resolve.
            return Ok(self
                .events
                .get(only)
                .map_or_else(|| Arc::new(StateMap::new()), |n| n.state_after.clone()));
        }
        // Distinct state maps only: by pointer first (cheap), then by content, so that the
        // resolution's input (and its work count) depends on the DAG, not on how maps happen to
        // be shared.
        let mut afters: Vec<&Arc<StateMap>> = Vec::with_capacity(prevs.len());
        for after in prevs
            .iter()
            .filter_map(|p| self.events.get(p))
            .map(|n| &n.state_after)
        {
            if !afters
                .iter()
                .any(|a| Arc::ptr_eq(a, after) || a.as_ref() == after.as_ref())
            {
                afters.push(after);
            }
        }
        match afters.as_slice() {
            [] => return Ok(Arc::new(StateMap::new())),
            [only] => return Ok((*only).clone()),
            _ => {}
        }
        afters.sort_by_key(|a| Arc::as_ptr(a) as usize);
        let key: Vec<usize> = afters.iter().map(|a| Arc::as_ptr(a) as usize).collect();
        if let Some((_, resolved)) = self.resolutions.borrow().get(&key) {
            return Ok(resolved.clone());
        }
        let sets: Vec<&StateMap> = afters.iter().map(|a| a.as_ref()).collect();
        let mut work = Work::new(MAX_STATE_RES_WORK);
        let resolved = resolve(&sets, &self.lookup(), &mut work)
            .map(Arc::new)
            .map_err(|_| RejectReason::StateResTooLarge)?;
        let mut cache = self.resolutions.borrow_mut();
        if cache.len() >= MAX_RESOLUTION_CACHE {
            cache.clear();
        }
        // The cache keeps the input maps alive, so their addresses cannot be reused by others.
        let inputs = afters.into_iter().cloned().collect();
        cache.insert(key, (inputs, resolved.clone()));
        Ok(resolved)
    }

    /// Steps 6-11 of specs/rooms.md §3 (checks), then acceptance (steps 12-14).
    fn evaluate(
        &mut self,
        event: Event,
        credential: Credential,
        pass: &mut Pass,
    ) -> Result<(), Verdict> {
        let sender_hex = self.sender_hex(event.author());
        let room_event = RoomEvent::with_sender_hex(event, credential, sender_hex);
        let (state_before, authorized) = if room_event.kind() == kinds::CREATE {
            let authorized = authorize(&room_event, |_: &str, _: &str| None::<&RoomEvent>)
                .map_err(|e| Verdict::Reject(RejectReason::AuthFailedOwn(e)))?;
            (Arc::new(StateMap::new()), authorized)
        } else {
            let event = room_event.event();
            let expected = 1 + event
                .prev_events()
                .iter()
                .filter_map(|p| self.events.get(p))
                .map(|n| n.room_event.depth())
                .max()
                .unwrap_or(0);
            if event.depth() != expected {
                return Err(Verdict::Reject(RejectReason::BadDepth {
                    got: event.depth(),
                    expected,
                }));
            }
            // Each auth event fills the slot of the auth type it is (no allocation: this runs for
            // every event).
            let allowed = room_event.auth_keys();
            let mut own: [Option<&RoomEvent>; MAX_AUTH_TYPES] = [None; MAX_AUTH_TYPES];
            for auth_id in event.auth_events() {
                let Some(node) = self.events.get(auth_id) else {
                    return Err(Verdict::Reject(RejectReason::WrongAuthEvent(*auth_id)));
                };
                let Some(slot) = node
                    .room_event
                    .state_key_ref()
                    .and_then(|(k, s)| allowed.position(k, s))
                    .and_then(|i| own.get_mut(i))
                else {
                    return Err(Verdict::Reject(RejectReason::WrongAuthEvent(*auth_id)));
                };
                if slot.replace(&node.room_event).is_some() {
                    return Err(Verdict::Reject(RejectReason::DuplicateAuthEvent(*auth_id)));
                }
            }
            let own_entry = |k: &str, s: &str| {
                allowed
                    .position(k, s)
                    .and_then(|i| own.get(i).copied().flatten())
            };
            if own_entry(kinds::CREATE, "").is_none() {
                return Err(Verdict::Reject(RejectReason::MissingAuthEvent(
                    kinds::CREATE,
                )));
            }
            let own_verdict = authorize(&room_event, own_entry)
                .map_err(|e| Verdict::Reject(RejectReason::AuthFailedOwn(e)))?;
            let state_before = self
                .state_at(event.prev_events())
                .map_err(Verdict::Reject)?;
            // Both checks read only the event's auth keys (as does the soft-fail check in
            // `reevaluate`). When the state before holds, for every one of them, exactly the
            // event's own auth event (an event built on that state: nearly always), the check
            // against it reads the very events the first one read, and its verdict is that one.
            let same_entries = allowed.iter().zip(&own).all(|((k, s), own)| {
                state_get(&state_before, k, s).copied() == own.map(|e| e.event_id())
            });
            let authorized = if same_entries {
                own_verdict
            } else {
                let lookup = self.lookup();
                authorize(&room_event, |k: &str, s: &str| {
                    allowed.position(k, s)?;
                    state_get(&state_before, k, s).and_then(&lookup)
                })
                .map_err(|e| Verdict::Reject(RejectReason::AuthFailedState(e)))?
            };
            self.check_join_wave(&room_event, &state_before)
                .map_err(|e| Verdict::Reject(RejectReason::AuthFailedState(e)))?;
            (state_before, authorized)
        };
        self.accept(room_event, state_before, authorized, pass)
    }

    fn accept(
        &mut self,
        room_event: RoomEvent,
        state_before: Arc<StateMap>,
        authorized: Authorized,
        pass: &mut Pass,
    ) -> Result<(), Verdict> {
        let id = room_event.event_id();
        // A handle (an `Arc`) to read the prev events once `room_event` is in the DAG.
        let event = room_event.event().clone();
        let prevs = event.prev_events();
        let merged = prevs.iter().filter(|p| self.tips.contains(*p)).count();
        if self.tips.len() - merged + 1 > MAX_FORWARD_EXTREMITIES {
            return Err(Verdict::Refuse(RefuseReason::TooManyExtremities));
        }
        let state_after = match room_event.state_key_ref() {
            Some((kind, state_key)) => {
                let mut map = (*state_before).clone();
                map.insert((kind.to_owned(), state_key.to_owned()), id);
                Arc::new(map)
            }
            None => state_before.clone(),
        };
        let sender = *room_event.sender().as_bytes();
        let target = if room_event.kind() == kinds::MEMBER {
            room_event.state_key().and_then(parse_user_hex)
        } else {
            None
        };
        let redaction_target = if room_event.kind() == kinds::REDACTION {
            redacts(room_event.content())
        } else {
            None
        };
        self.events.push(
            id,
            Node {
                room_event,
                index: self.events.len(),
                state_before: state_before.clone(),
                state_after,
                soft_failed: false,
                can_redact_others: false,
                shown: None,
            },
        );
        // The new tips, changed in place (a bit per prev event that was a tip, to undo).
        let mut merged_tips = 0u64;
        for (i, p) in prevs.iter().enumerate() {
            if self.tips.remove(p) {
                merged_tips |= 1 << i;
            }
        }
        self.tips.insert(id);
        let current = match self.resolve_tips() {
            Ok(current) => current,
            Err(refusal) => {
                self.events.pop(&id);
                self.tips.remove(&id);
                for (i, p) in prevs.iter().enumerate() {
                    if merged_tips & (1 << i) != 0 {
                        self.tips.insert(*p);
                    }
                }
                // The next event takes the same index: no cached bit may describe this one.
                self.purge_descendants.borrow_mut().clear();
                return Err(Verdict::Refuse(refusal));
            }
        };
        pass.tips_changed = true;
        self.by_user.entry(sender).or_default().push(id);
        if let Some(target) = target.filter(|t| *t != sender) {
            self.by_user.entry(target).or_default().push(id);
        }
        if let Some(target) = redaction_target {
            self.redactions_of.entry(target).or_default().insert(id);
            pass.touched.insert(target);
        }
        if let Some(target) = self.purge_target(&id) {
            self.purges.entry(target).or_default().push(id);
            self.touch_sent_by(&target, pass);
        }
        self.index_message(&id, pass);
        self.relations.add(&event);
        let old = std::mem::replace(&mut self.current, current);
        let mut chains = BTreeMap::new();
        if Arc::ptr_eq(&old, &self.current) && Arc::ptr_eq(&state_before, &self.current) {
            // The event changed no state and was built on the current state (the common case,
            // e.g. a message): only the new event needs its soft-fail check, and that check reads
            // the same entries as the state-before check that just passed, so it is settled
            // (slow mode aside, which reads the sender's other messages).
            let slow = self.breaks_slow_mode_now(&id);
            self.settle(&id, slow, authorized.can_redact_others && !slow, pass);
        } else if Arc::ptr_eq(&old, &self.current) {
            // The current state is the same map: only the new event needs its soft-fail check.
            self.reevaluate(&id, &mut chains, pass);
        } else {
            let mut affected = self.affected_by(&old);
            pass.current_changed = pass.current_changed || old != self.current;
            affected.insert(id);
            for event in affected {
                self.reevaluate(&event, &mut chains, pass);
            }
        }
        pass.touched.insert(id);
        let soft_failed = self.events.get(&id).is_some_and(|n| n.soft_failed);
        pass.decide(
            id,
            Outcome::Accepted {
                state_before,
                soft_failed,
            },
        );
        Ok(())
    }

    fn resolve_tips(&self) -> Result<Arc<StateMap>, RefuseReason> {
        let resolved = match self.tips.first() {
            Some(only) if self.tips.len() == 1 => self.state_at(std::slice::from_ref(only)),
            _ => {
                let tips: Vec<EventId> = self.tips.iter().copied().collect();
                self.state_at(&tips)
            }
        };
        resolved.map_err(|_| RefuseReason::CurrentStateTooLarge)
    }

    /// Accepted events whose soft-fail status may depend on a key that changed from `old` to
    /// the current state: everything if create, power levels or join rules changed; else the
    /// events sent by, or targeting, users whose membership or mute changed. Nothing if nothing
    /// auth-relevant changed (the common case).
    fn affected_by(&self, old: &StateMap) -> BTreeSet<EventId> {
        if *old == *self.current {
            return BTreeSet::new();
        }
        let changed: BTreeSet<&StateKey> = old
            .iter()
            .filter(|(k, v)| self.current.get(*k) != Some(*v))
            .map(|(k, _)| k)
            .chain(
                self.current
                    .iter()
                    .filter(|(k, v)| old.get(*k) != Some(*v))
                    .map(|(k, _)| k),
            )
            .collect();
        let mut affected = BTreeSet::new();
        for k in changed {
            let candidates: Box<dyn Iterator<Item = EventId>> = match k.0.as_str() {
                kinds::CREATE | kinds::POWER_LEVELS | kinds::JOIN_RULES | kinds::CONTENT_RULES => {
                    Box::new(self.events.ids())
                }
                kinds::MEMBER | kinds::MUTE => {
                    match parse_user_hex(&k.1).and_then(|u| self.by_user.get(&u)) {
                        Some(events) => Box::new(events.iter().copied()),
                        None => continue,
                    }
                }
                _ => continue,
            };
            // When the new entry was made on top of the old one (its own state before holds the
            // old entry), every event it descends from keeps its effective value for this key:
            // stepping back from the new entry reaches the old one. Only the others (concurrent
            // with the change) can change. This keeps a linear power-levels change from
            // re-checking the whole room.
            let successor = self.current.get(k).filter(|new| {
                self.events.get(new).and_then(|n| n.state_before.get(k)) == old.get(k)
            });
            match successor {
                Some(new) => affected.extend(candidates.filter(|e| !self.is_descendant(new, e))),
                None => affected.extend(candidates),
            }
        }
        affected
    }

    /// The soft-fail rule (specs/rooms.md §4): `id` is soft-failed iff it fails auth against,
    /// for each key its auth depends on, the latest value of that key that did not happen at or
    /// after `id`: the current state's entry, stepped back through the key's history (each
    /// entry's own state before) while the entry is `id` or one of its descendants.
    fn reevaluate(
        &mut self,
        id: &EventId,
        chains: &mut BTreeMap<StateKey, Vec<EventId>>,
        pass: &mut Pass,
    ) {
        let (soft_failed, can_redact_others) = match self.effective_verdict(id, chains) {
            None => return,
            Some(Ok(authorized)) => (false, authorized.can_redact_others),
            Some(Err(_)) => (true, false),
        };
        self.settle(id, soft_failed, can_redact_others, pass);
    }

    /// Records the outcome of `id`'s soft-fail check; what changed is touched (a redaction's
    /// target too: whether it applies may have changed).
    fn settle(
        &mut self,
        id: &EventId,
        soft_failed: bool,
        can_redact_others: bool,
        pass: &mut Pass,
    ) {
        if let Some(node) = self.events.get_mut(id)
            && (node.soft_failed != soft_failed || node.can_redact_others != can_redact_others)
        {
            node.soft_failed = soft_failed;
            node.can_redact_others = can_redact_others;
            let target = if node.room_event.kind() == kinds::REDACTION {
                redacts(node.room_event.content())
            } else {
                None
            };
            pass.touched.insert(*id);
            if let Some(target) = target {
                pass.touched.insert(target);
            }
            if let Some(target) = self.purge_target(id) {
                self.touch_sent_by(&target, pass);
            }
        }
    }

    /// A valid redaction applies: accepted, not soft-failed, by the target's author or by a
    /// sender who may redact others.
    fn is_redacted(&self, target: &EventId) -> bool {
        let Some(target_node) = self.events.get(target) else {
            return false;
        };
        if self.is_purged(target_node) {
            return true;
        }
        self.redactions_of.get(target).is_some_and(|redactions| {
            redactions
                .iter()
                .filter_map(|r| self.events.get(r))
                .any(|r| {
                    !r.soft_failed
                        && (r.can_redact_others
                            || r.room_event.sender() == target_node.room_event.sender())
                })
        })
    }

    fn finish(&mut self, mut pass: Pass) -> Receipt {
        self.recheck_messages(&mut pass);
        let mut visibility = Vec::new();
        for id in &pass.touched {
            let redacted = self.is_redacted(id);
            let Some(node) = self.events.get_mut(id) else {
                continue;
            };
            let shown = Shown {
                visible: !node.soft_failed,
                redacted,
            };
            if node.shown == Some(shown) {
                continue;
            }
            node.shown = Some(shown);
            let entry = (node.room_event.depth(), *id);
            if shown.visible {
                self.visible.insert(entry);
            } else {
                self.visible.remove(&entry);
            }
            visibility.push(VisibilityChange { event: *id, shown });
        }
        let extremities = pass.tips_changed.then(|| self.extremities());
        Receipt {
            decisions: pass.decisions,
            held: pass.held,
            visibility,
            extremities,
            current_state_changed: pass.current_changed,
        }
    }
}
