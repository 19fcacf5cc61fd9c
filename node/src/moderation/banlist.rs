//! Ban lists on the node (specs/moderation.md §3.5–§3.7): which lists the node's rooms follow,
//! one [`ListIndex`] per list, the local filter (hidden events, refused submissions) and the
//! enforcer, which signs the bans (and lifts its own) so that the decision enters room state.
//!
//! [`Policy`] lives in the node actor beside the ledger: it is told every receipt after its
//! commit ([`Policy::observe`]), answers the filter questions synchronously, and runs bounded
//! enforcement passes ([`Policy::enforce`]) whose events go through the ledger like any other,
//! in one group commit per round. Everything it decides is computed from room state, so it keeps
//! nothing on disk: a restart rebuilds it from the rooms ([`Policy::new`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use causerie_crypto::directory::truncate_to;
use causerie_crypto::event::kinds;
use causerie_crypto::{AttestationId, Content, Event, EventId, RoomId, UserKey, UserSecret, Value};
use causerie_room::content::{parse_user_hex, user_state_key};
use causerie_room::policy::{
    self, ListIndex, POLICY_RULE, Recommendation, Rule, RuleChange, Subject, Subscription, Verdict,
};
use causerie_room::{Membership, Receipt, Room, StateMap};
use causerie_storage::Store;

use crate::ledger::{Ledger, LedgerError};

/// Most lists the node follows (in room id, then subscription order).
pub const MAX_FOLLOWED_LISTS: usize = 256;
/// How often the node retries following a list it does not hold yet.
pub const FOLLOW_RETRY: Duration = Duration::from_secs(10);
/// How often expired rules are re-evaluated and followed lists checked.
pub const POLICY_TICK: Duration = Duration::from_secs(1);
/// Most (room, user) pairs waiting for the enforcer; past it a full pass is scheduled instead.
pub const MAX_ENFORCE_QUEUE: usize = 65_536;
/// Most events the enforcer signs in one pass.
pub const MAX_ENFORCE_PER_PASS: usize = 512;
/// Longest reason the enforcer writes in a member event, in bytes.
pub const MAX_BAN_REASON_BYTES: usize = 1_024;
/// Most attestations of the enforcer read to find a valid one.
pub const MAX_ENFORCER_ATTESTATIONS: usize = 64;
/// Ticks between two full enforcement passes (30 s).
pub const FULL_PASS_TICKS: u32 = 30;
/// Subjects (user, attestation) remembered with their spellings' hashes.
pub const MAX_SUBJECT_CACHE: usize = 4_096;

/// A submission refused because a list the room follows names its author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanListRefusal {
    /// The room.
    pub room: RoomId,
    /// The verdict: list, rule, recommendation, public reason.
    pub verdict: Verdict,
}

impl BanListRefusal {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        "ban_list"
    }

    /// What happened, in plain words for the refused user.
    pub fn words(&self) -> String {
        let what = match self.verdict.recommendation {
            Recommendation::Mute => "muted",
            _ => "banned",
        };
        let why = match &self.verdict.reason {
            Some(reason) => format!(": {reason}"),
            None => " (no public reason)".to_owned(),
        };
        format!(
            "a ban list this room follows ({}) names you, so you are {what} here (rule {}){why}",
            self.verdict.list, self.verdict.rule
        )
    }
}

impl std::fmt::Display for BanListRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.words())
    }
}

/// A list as a subscriber sees it: its rules (public reasons only) and what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanListView {
    /// The list room.
    pub list: RoomId,
    /// `room.name` of the list room, if any.
    pub name: Option<String>,
    /// The rules, by id.
    pub rules: BTreeMap<String, Rule>,
    /// Rules added, removed or changed since the asked point (empty without one).
    pub changes: Vec<RuleChange>,
    /// The newest event of the list room: the point to ask a diff from next time.
    pub head: Option<EventId>,
    /// Whether a room this node holds follows the list.
    pub followed: bool,
}

/// A room's subscription as the node reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomPolicyView {
    /// The subscription (empty without a subscription event).
    pub subscription: Subscription,
    /// The subscribed lists this node holds (the others are being followed).
    pub held: Vec<RoomId>,
}

/// A followed list: its index and the event behind each rule.
#[derive(Default)]
struct FollowedList {
    index: ListIndex,
    events: BTreeMap<String, EventId>,
}

/// The enforcer's key, held by the node actor only.
struct Enforcer {
    secret: UserSecret,
    key: UserKey,
    /// Its latest attestation the store holds, looked up again once no longer valid.
    attestation: Option<causerie_crypto::Attestation>,
}

/// One enforcement action.
enum Action {
    /// Ban (with `purge` when the verdict asks for ban-and-purge).
    Ban(Verdict),
    /// Lift a ban the enforcer made for (list, rule).
    Lift(RoomId, String),
    /// Mute (`room.mute`) for a `mute` verdict.
    Mute(Verdict),
    /// Lift a mute the enforcer made for (list, rule).
    Unmute(RoomId, String),
}

/// The node's ban-list state.
pub struct Policy {
    subscriptions: BTreeMap<RoomId, Subscription>,
    /// List → rooms subscribed to it.
    subscribers: BTreeMap<RoomId, BTreeSet<RoomId>>,
    lists: BTreeMap<RoomId, FollowedList>,
    enforcer: Option<Enforcer>,
    queue: BTreeSet<(RoomId, UserKey)>,
    full_pass: bool,
    /// The enforcer had no valid attestation at the last pass: wait for the next tick.
    stalled: bool,
    /// Ticks since the last full pass.
    ticks: u32,
    /// Rules with an expiry: (expires, list, rule id).
    expiries: BTreeSet<(u64, RoomId, String)>,
    subjects: BTreeMap<(UserKey, Option<AttestationId>), Subject>,
}

/// The member state key's user.
fn user_of(state_key: &str) -> Option<UserKey> {
    parse_user_hex(state_key).and_then(|b| UserKey::from_bytes(&b).ok())
}

/// The (state key, event) of every `kind` entry of a state.
fn entries_of<'a>(
    state: &'a StateMap,
    kind: &'a str,
) -> impl Iterator<Item = (&'a str, &'a EventId)> {
    state
        .range((kind.to_owned(), String::new())..)
        .take_while(move |((k, _), _)| k == kind)
        .map(|((_, key), id)| (key.as_str(), id))
}

impl Policy {
    /// The policy of the rooms `ledger` holds.
    pub fn new<S: Store>(ledger: &Ledger<S>) -> Policy {
        let mut policy = Policy {
            subscriptions: BTreeMap::new(),
            subscribers: BTreeMap::new(),
            lists: BTreeMap::new(),
            enforcer: None,
            queue: BTreeSet::new(),
            full_pass: false,
            stalled: false,
            ticks: 0,
            expiries: BTreeSet::new(),
            subjects: BTreeMap::new(),
        };
        let rooms: Vec<RoomId> = ledger.room_ids().copied().collect();
        policy.observe_rooms(ledger, &rooms, 0);
        policy
    }

    /// Whether any room the node holds subscribes to a list.
    pub fn is_active(&self) -> bool {
        !self.subscriptions.is_empty()
    }

    /// Sets the enforcer's key and schedules a full pass.
    pub fn set_enforcer(&mut self, secret: UserSecret) {
        let key = secret.public();
        self.enforcer = Some(Enforcer {
            secret,
            key,
            attestation: None,
        });
        self.full_pass = true;
        self.stalled = false;
    }

    /// Whether enforcement work is waiting.
    pub fn has_work(&self) -> bool {
        self.enforcer.is_some() && !self.stalled && (self.full_pass || !self.queue.is_empty())
    }

    /// Lists the node's rooms subscribe to but the node does not hold (to follow), at most
    /// [`MAX_FOLLOWED_LISTS`].
    pub fn wanted<S: Store>(&self, ledger: &Ledger<S>) -> Vec<RoomId> {
        self.subscribers
            .keys()
            .take(MAX_FOLLOWED_LISTS)
            .filter(|list| ledger.room(list).is_none_or(|r| r.accepted_count() == 0))
            .copied()
            .collect()
    }

    /// Takes note of committed receipts: subscriptions and list rules that changed, members of
    /// subscribed rooms that changed (for the enforcer).
    pub fn observe<S: Store>(&mut self, ledger: &Ledger<S>, receipts: &[(RoomId, &Receipt)]) {
        let mut changed: BTreeSet<RoomId> = BTreeSet::new();
        for (room, receipt) in receipts {
            if receipt.current_state_changed {
                changed.insert(*room);
            }
            if !self.subscriptions.contains_key(room) || self.enforcer.is_none() {
                continue;
            }
            let Some(engine) = ledger.room(room) else {
                continue;
            };
            for decision in &receipt.decisions {
                if let Some(event) = engine.event(&decision.event)
                    && (event.kind() == kinds::MEMBER || event.kind() == kinds::MUTE)
                    && let Some(user) = event.state_key().and_then(user_of)
                {
                    self.enqueue(*room, user);
                }
            }
        }
        if !changed.is_empty() {
            let rooms: Vec<RoomId> = changed.into_iter().collect();
            self.observe_rooms(ledger, &rooms, crate::clock::now_ms());
        }
    }

    fn enqueue(&mut self, room: RoomId, user: UserKey) {
        if self.queue.len() >= MAX_ENFORCE_QUEUE {
            self.full_pass = true;
        } else {
            self.queue.insert((room, user));
        }
    }

    /// Re-reads the subscriptions and rules of `rooms` (whose state may have changed).
    fn observe_rooms<S: Store>(&mut self, ledger: &Ledger<S>, rooms: &[RoomId], now: u64) {
        let mut lists_to_read: BTreeSet<RoomId> = BTreeSet::new();
        for room in rooms {
            let Some(engine) = ledger.room(room) else {
                continue;
            };
            let subscription = engine
                .state_event(kinds::POLICY_SUBSCRIPTIONS, "")
                .map(|e| Subscription::parse(e.content()))
                .filter(|s| !s.lists.is_empty());
            let old = self.subscriptions.get(room);
            if old == subscription.as_ref() {
            } else {
                for list in old.map(|s| s.lists.clone()).unwrap_or_default() {
                    if let Some(set) = self.subscribers.get_mut(&list) {
                        set.remove(room);
                        if set.is_empty() {
                            self.subscribers.remove(&list);
                            self.lists.remove(&list);
                            self.expiries.retain(|(_, l, _)| *l != list);
                        }
                    }
                }
                match subscription {
                    Some(subscription) => {
                        for list in &subscription.lists {
                            self.subscribers.entry(*list).or_default().insert(*room);
                            lists_to_read.insert(*list);
                        }
                        self.subscriptions.insert(*room, subscription);
                    }
                    None => {
                        self.subscriptions.remove(room);
                    }
                }
                self.enqueue_room(ledger, *room, None);
            }
            if self.subscribers.contains_key(room) {
                lists_to_read.insert(*room);
            }
        }
        for list in lists_to_read {
            self.read_list(ledger, list, now);
        }
    }

    /// Brings one list's index in step with the list room's current state; queues what the
    /// changed rules can affect.
    fn read_list<S: Store>(&mut self, ledger: &Ledger<S>, list: RoomId, now: u64) {
        if !self.subscribers.contains_key(&list) {
            return;
        }
        let Some(engine) = ledger.room(&list) else {
            return;
        };
        let current: BTreeMap<&str, &EventId> =
            entries_of(engine.current_state(), POLICY_RULE).collect();
        let followed = self.lists.entry(list).or_default();
        let mut changes: Vec<(String, Option<Rule>, Option<Rule>)> = Vec::new();
        let stale: Vec<String> = followed
            .events
            .iter()
            .filter(|(id, event)| current.get(id.as_str()) != Some(event))
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            followed.events.remove(&id);
            let old = followed.index.set(&id, None);
            changes.push((id, old, None));
        }
        for (id, event_id) in current {
            if followed.events.contains_key(id) {
                continue;
            }
            let rule = engine
                .event(event_id)
                .and_then(|e| Rule::parse(e.content()).ok().flatten());
            followed.events.insert(id.to_owned(), *event_id);
            let old = followed.index.set(id, rule.clone());
            if let Some(change) = changes.iter_mut().find(|c| c.0 == id) {
                change.2 = rule;
            } else {
                changes.push((id.to_owned(), old, rule));
            }
        }
        for (id, old, new) in changes {
            if let Some(expires) = old.as_ref().and_then(|r| r.expires) {
                self.expiries.remove(&(expires, list, id.clone()));
            }
            if let Some(expires) = new.as_ref().and_then(|r| r.expires)
                && expires > now
            {
                self.expiries.insert((expires, list, id.clone()));
            }
            self.rule_changed(ledger, list, old.as_ref(), new.as_ref());
        }
    }

    /// Queues the pairs a rule change can affect in the rooms subscribed to `list`.
    fn rule_changed<S: Store>(
        &mut self,
        ledger: &Ledger<S>,
        list: RoomId,
        old: Option<&Rule>,
        new: Option<&Rule>,
    ) {
        if self.enforcer.is_none() {
            return;
        }
        let rooms: Vec<RoomId> = self
            .subscribers
            .get(&list)
            .map(|set| set.iter().copied().collect())
            .unwrap_or_default();
        let users: Vec<UserKey> = [old, new]
            .into_iter()
            .flatten()
            .filter_map(|rule| match rule.target {
                policy::Target::User(bytes) => Some(UserKey::from_bytes(&bytes).ok()),
                _ => None,
            })
            .flatten()
            .collect();
        let only_users = [old, new]
            .into_iter()
            .flatten()
            .all(|rule| matches!(rule.target, policy::Target::User(_)));
        for room in rooms {
            if only_users {
                for user in &users {
                    self.enqueue(room, *user);
                }
            } else {
                self.enqueue_room(ledger, room, Some(list));
            }
        }
    }

    /// Queues every user with a member event in `room`, and the users the room's lists name
    /// (or, with `only`, those of that list).
    fn enqueue_room<S: Store>(&mut self, ledger: &Ledger<S>, room: RoomId, only: Option<RoomId>) {
        if self.enforcer.is_none() {
            return;
        }
        let Some(engine) = ledger.room(&room) else {
            return;
        };
        let members: Vec<UserKey> = entries_of(engine.current_state(), kinds::MEMBER)
            .filter_map(|(key, _)| user_of(key))
            .collect();
        for user in members {
            self.enqueue(room, user);
        }
        let lists: Vec<RoomId> = match (only, self.subscriptions.get(&room)) {
            (Some(list), _) => vec![list],
            (None, Some(subscription)) => subscription.lists.clone(),
            (None, None) => Vec::new(),
        };
        let named: Vec<UserKey> = lists
            .iter()
            .filter_map(|list| self.lists.get(list))
            .flat_map(|followed| followed.index.named_users())
            .filter_map(|bytes| UserKey::from_bytes(bytes).ok())
            .collect();
        for user in named {
            self.enqueue(room, user);
        }
    }

    /// Re-evaluates rules whose expiry passed by `now`.
    pub fn tick<S: Store>(&mut self, ledger: &Ledger<S>, now: u64) {
        self.stalled = false;
        self.ticks += 1;
        if self.ticks >= FULL_PASS_TICKS {
            // Catches what no state change announces: the enforcer gaining power or joining.
            self.ticks = 0;
            self.full_pass = true;
        }
        while let Some(first) = self.expiries.first().cloned() {
            if first.0 > now {
                break;
            }
            self.expiries.pop_first();
            let (_, list, id) = first;
            let rule = self
                .lists
                .get(&list)
                .and_then(|f| f.index.rules().get(&id))
                .cloned();
            self.rule_changed(ledger, list, rule.as_ref(), None);
        }
    }

    /// The subject behind `user` with the attestation `attestation` (handle and home node when
    /// the room's engine or the store holds it).
    fn subject<S: Store>(
        &mut self,
        ledger: &Ledger<S>,
        engine: Option<&Room>,
        user: &UserKey,
        attestation: Option<AttestationId>,
    ) -> Subject {
        if let Some(subject) = self.subjects.get(&(*user, attestation)) {
            return subject.clone();
        }
        let found = attestation.and_then(|id| {
            engine
                .and_then(|room| room.attestation(&id).cloned())
                .or_else(|| ledger.store().attestation(&id).ok().flatten())
        });
        let subject = Subject::new(
            *user.as_bytes(),
            found.as_ref().map(|a| *a.home_node().as_bytes()),
            found.as_ref().map(|a| a.handle().to_owned()),
        );
        // An attestation not held yet is not remembered: once it arrives, the subject gains its
        // home node and handle.
        if found.is_some() || attestation.is_none() {
            if self.subjects.len() >= MAX_SUBJECT_CACHE {
                self.subjects.clear();
            }
            self.subjects.insert((*user, attestation), subject.clone());
        }
        subject
    }

    /// The verdict of `room`'s lists for `user` at room time `at`.
    fn verdict<S: Store>(
        &mut self,
        ledger: &Ledger<S>,
        room: RoomId,
        user: &UserKey,
        attestation: Option<AttestationId>,
        at: u64,
    ) -> Option<Verdict> {
        let subscription = self.subscriptions.get(&room)?;
        if !subscription
            .lists
            .iter()
            .any(|l| self.lists.get(l).is_some_and(|f| !f.index.is_empty()))
        {
            return None;
        }
        let subject = self.subject(ledger, ledger.room(&room), user, attestation);
        let subscription = self.subscriptions.get(&room)?;
        let lists = subscription
            .lists
            .iter()
            .filter_map(|l| self.lists.get(l).map(|f| (*l, &f.index)));
        policy::decide(lists, &subscription.ignore, &subject, at)
    }

    /// The verdict that hides `event` in `room` (ban or mute at the event's own time), if any.
    pub fn hides<S: Store>(
        &mut self,
        ledger: &Ledger<S>,
        room: RoomId,
        event: &Event,
    ) -> Option<Verdict> {
        if !self.subscriptions.contains_key(&room) {
            return None;
        }
        self.verdict(
            ledger,
            room,
            event.author(),
            Some(*event.attestation()),
            event.origin_ts(),
        )
        .filter(|v| v.recommendation.hides())
    }

    /// Whether a local submission of `kind` by `author` in `room` is refused at `now`.
    pub fn refuses<S: Store>(
        &mut self,
        ledger: &Ledger<S>,
        room: RoomId,
        author: &UserKey,
        attestation: AttestationId,
        kind: &str,
        now: u64,
    ) -> Option<BanListRefusal> {
        if !self.subscriptions.contains_key(&room) {
            return None;
        }
        let verdict = self.verdict(ledger, room, author, Some(attestation), now)?;
        let refused = match verdict.recommendation {
            Recommendation::Ban => true,
            Recommendation::Mute => kind != kinds::MEMBER,
            Recommendation::Review | Recommendation::Allow => false,
        };
        refused.then_some(BanListRefusal { room, verdict })
    }

    /// One enforcement pass: at most [`MAX_ENFORCE_PER_PASS`] events, one per room per round,
    /// each round one group commit. Returns the receipts to announce, with their rooms.
    pub fn enforce<S: Store>(
        &mut self,
        ledger: &mut Ledger<S>,
        now: u64,
    ) -> Result<Vec<(RoomId, Receipt)>, LedgerError> {
        let Some(enforcer_key) = self.enforcer.as_ref().map(|e| e.key) else {
            return Ok(Vec::new());
        };
        if self.full_pass {
            self.full_pass = false;
            let rooms: Vec<RoomId> = self.subscriptions.keys().copied().collect();
            for room in rooms {
                self.enqueue_room(ledger, room, None);
            }
        }
        let Some(attestation) = self.enforcer_attestation(ledger, now) else {
            // Without an attestation the enforcer cannot sign; the work waits for the next tick.
            self.stalled = true;
            return Ok(Vec::new());
        };
        // The rooms this key enforces now.
        let mut work: BTreeMap<RoomId, VecDeque<UserKey>> = BTreeMap::new();
        for (room, user) in std::mem::take(&mut self.queue) {
            work.entry(room).or_default().push_back(user);
        }
        work.retain(|room, _| {
            self.subscriptions
                .get(room)
                .is_some_and(|s| s.enforcer == Some(*enforcer_key.as_bytes()))
                && ledger
                    .room(room)
                    .is_some_and(|engine| can_ban(engine, &enforcer_key))
        });
        let mut out = Vec::new();
        let mut signed = 0;
        while signed < MAX_ENFORCE_PER_PASS && !work.is_empty() {
            let mut batch = Vec::new();
            for (room, users) in work.iter_mut() {
                while let Some(user) = users.pop_front() {
                    let Some(action) = self.action(ledger, *room, &user, &enforcer_key, now) else {
                        continue;
                    };
                    if let Some(event) =
                        self.sign(ledger, *room, &user, action, attestation.id(), now)
                    {
                        batch.push(event);
                        break;
                    }
                }
                if signed + batch.len() >= MAX_ENFORCE_PER_PASS {
                    break;
                }
            }
            work.retain(|_, users| !users.is_empty());
            if batch.is_empty() {
                break;
            }
            signed += batch.len();
            let rooms: Vec<RoomId> = batch.iter().map(Event::room_id).collect();
            let receipts = ledger.receive(batch, now)?;
            out.extend(rooms.into_iter().zip(receipts));
        }
        for (room, users) in work {
            for user in users {
                self.enqueue(room, user);
            }
        }
        Ok(out)
    }

    /// The enforcer's latest attestation valid at `now`, looked up in the store when the one
    /// remembered is missing or no longer valid.
    fn enforcer_attestation<S: Store>(
        &mut self,
        ledger: &Ledger<S>,
        now: u64,
    ) -> Option<causerie_crypto::Attestation> {
        let enforcer = self.enforcer.as_mut()?;
        if let Some(known) = &enforcer.attestation
            && known.is_valid_at(now)
        {
            return Some(known.clone());
        }
        let found = ledger
            .store()
            .attestations_for(&enforcer.key, None, MAX_ENFORCER_ATTESTATIONS)
            .ok()?
            .into_iter()
            .filter(|a| a.is_valid_at(now))
            .max_by_key(|a| (a.not_after(), a.not_before(), a.id()));
        enforcer.attestation = found.clone();
        found
    }

    /// What the enforcer should do about `user` in `room`, from the room's current state: first
    /// its ban (issue, add the purge, or lift its own), then its mute (issue or lift its own).
    fn action<S: Store>(
        &mut self,
        ledger: &Ledger<S>,
        room: RoomId,
        user: &UserKey,
        enforcer: &UserKey,
        now: u64,
    ) -> Option<Action> {
        let engine = ledger.room(&room)?;
        let member = engine.state_event(kinds::MEMBER, &user_state_key(user));
        // The attestation the user's own member event names, else their latest one held.
        let attestation = member
            .filter(|e| e.author() == user)
            .map(|e| *e.attestation())
            .or_else(|| latest_attestation(ledger, user, now));
        let current = member.and_then(|e| Membership::parse(e.content()).ok());
        let verdict = self.verdict(ledger, room, user, attestation, now);
        let engine = ledger.room(&room)?;
        let outranked =
            user == enforcer || engine.power_level(user) >= engine.power_level(enforcer);
        let recommendation = verdict.as_ref().map(|v| v.recommendation);
        let own_ban = member
            .filter(|e| e.author() == enforcer && current == Some(Membership::Ban))
            .and_then(|e| policy_of(e.content()));
        match verdict {
            Some(verdict) if verdict.recommendation == Recommendation::Ban => {
                let purged =
                    member.is_some_and(|e| causerie_room::moderation::is_purge_ban(e.content()));
                // A ban the enforcer made without purge gains it when the rule asks for it.
                let needed = current != Some(Membership::Ban)
                    || (verdict.purge && own_ban.is_some() && !purged);
                return (needed && !outranked).then_some(Action::Ban(verdict));
            }
            _ => {
                if let Some((list, rule)) = own_ban {
                    return Some(Action::Lift(list, rule));
                }
            }
        }
        let mute = engine.state_event(kinds::MUTE, &user_state_key(user));
        let muted = mute.is_some_and(|e| causerie_room::moderation::muted_at(e.content(), now));
        match verdict {
            Some(verdict) if verdict.recommendation == Recommendation::Mute => {
                // Only members are muted: a mute would also keep a newcomer from joining,
                // which a `mute` recommendation allows.
                let joined = current == Some(Membership::Join);
                (joined && !muted && !outranked && can_mute(engine, enforcer))
                    .then_some(Action::Mute(verdict))
            }
            _ if recommendation == Some(Recommendation::Ban) => None,
            _ => {
                let (list, rule) = mute
                    .filter(|e| e.author() == enforcer && muted)
                    .and_then(|e| policy_of(e.content()))?;
                Some(Action::Unmute(list, rule))
            }
        }
    }

    /// Prepares and signs the enforcer's event for `action`: a `room.member` ban or unban, or a
    /// `room.mute` mute or unmute, each tagged with the (list, rule) behind it.
    fn sign<S: Store>(
        &self,
        ledger: &Ledger<S>,
        room: RoomId,
        user: &UserKey,
        action: Action,
        attestation: AttestationId,
        now: u64,
    ) -> Option<Event> {
        let enforcer = self.enforcer.as_ref()?;
        let listed = |verdict: &Verdict| match &verdict.reason {
            Some(reason) => format!("ban list {}: {reason}", verdict.list),
            None => format!("ban list {}", verdict.list),
        };
        let lifted = |list: &RoomId, rule: &str| format!("ban list {list}: rule {rule} lifted");
        let (kind, mut content, reason, list, rule) = match action {
            Action::Ban(verdict) => {
                let mut content = Membership::Ban.to_content();
                if verdict.purge {
                    content.insert("purge".into(), Value::Bool(true));
                }
                (
                    kinds::MEMBER,
                    content,
                    listed(&verdict),
                    verdict.list,
                    verdict.rule,
                )
            }
            Action::Lift(list, rule) => {
                let reason = lifted(&list, &rule);
                (
                    kinds::MEMBER,
                    Membership::Leave.to_content(),
                    reason,
                    list,
                    rule,
                )
            }
            Action::Mute(verdict) => {
                let reason = listed(&verdict);
                (
                    kinds::MUTE,
                    mute_content(true),
                    reason,
                    verdict.list,
                    verdict.rule,
                )
            }
            Action::Unmute(list, rule) => {
                let reason = lifted(&list, &rule);
                (kinds::MUTE, mute_content(false), reason, list, rule)
            }
        };
        content.insert(
            "reason".into(),
            Value::Text(truncate_to(&reason, MAX_BAN_REASON_BYTES)),
        );
        content.insert("policy".into(), policy_tag(list, &rule));
        let engine = ledger.room(&room)?;
        let draft = engine
            .prepare(
                enforcer.key,
                kind,
                Some(user_state_key(user)),
                content,
                now,
                attestation,
            )
            .ok()?;
        match draft.sign(&enforcer.secret) {
            Ok(event) => Some(event),
            Err(e) => {
                tracing::warn!(reason = e.reason(), %room, "enforcer cannot sign");
                None
            }
        }
    }

    /// Whether a room the node holds follows `list`.
    pub fn is_followed(&self, list: &RoomId) -> bool {
        self.subscribers.contains_key(list)
    }

    /// A room's subscription and which of its lists the node holds.
    pub fn room_view<S: Store>(&self, ledger: &Ledger<S>, room: RoomId) -> Option<RoomPolicyView> {
        let engine = ledger.room(&room)?;
        let subscription = engine
            .state_event(kinds::POLICY_SUBSCRIPTIONS, "")
            .map(|e| Subscription::parse(e.content()))
            .unwrap_or_default();
        let held = subscription
            .lists
            .iter()
            .filter(|l| ledger.room(l).is_some_and(|r| r.accepted_count() > 0))
            .copied()
            .collect();
        Some(RoomPolicyView { subscription, held })
    }
}

/// The rules of a list room's state.
fn rules_of(engine: &Room, state: &StateMap) -> BTreeMap<String, Rule> {
    entries_of(state, POLICY_RULE)
        .filter_map(|(id, event)| {
            let rule = Rule::parse(engine.event(event)?.content()).ok()??;
            Some((id.to_owned(), rule))
        })
        .collect()
}

/// A list as a subscriber sees it, with the changes since `since` (an event of the list room).
pub fn list_view<S: Store>(
    ledger: &Ledger<S>,
    list: RoomId,
    since: Option<EventId>,
    followed: bool,
) -> Option<BanListView> {
    let engine = ledger.room(&list).filter(|r| r.accepted_count() > 0)?;
    let rules = rules_of(engine, engine.current_state());
    let changes = match since {
        Some(point) => {
            let mut before = (*engine.state_before(&point)?).clone();
            let event = engine.event(&point)?;
            if let Some(key) = event.state_key() {
                before.insert((event.kind().to_owned(), key.to_owned()), point);
            }
            policy::diff(&rules_of(engine, &before), &rules)
        }
        None => Vec::new(),
    };
    let head = engine
        .timeline()
        .last()
        .map(|entry| entry.event)
        .or_else(|| engine.extremities().into_iter().next());
    Some(BanListView {
        list,
        name: engine
            .state_event(kinds::NAME, "")
            .and_then(|e| e.content_str("name"))
            .map(str::to_owned),
        rules,
        changes,
        head,
        followed,
    })
}

/// Whether `key` is joined to the room with ban power.
fn can_ban(engine: &Room, key: &UserKey) -> bool {
    let levels = engine
        .state_event(kinds::POWER_LEVELS, "")
        .and_then(|e| causerie_room::PowerLevels::parse(e.content()).ok())
        .unwrap_or_default();
    engine.membership(key) == Some(Membership::Join) && engine.power_level(key) >= levels.ban
}

/// The id of `user`'s attestation valid at `now` that the store holds, the latest first.
fn latest_attestation<S: Store>(
    ledger: &Ledger<S>,
    user: &UserKey,
    now: u64,
) -> Option<AttestationId> {
    ledger
        .store()
        .attestations_for(user, None, MAX_ENFORCER_ATTESTATIONS)
        .ok()?
        .into_iter()
        .filter(|a| a.is_valid_at(now))
        .max_by_key(|a| (a.not_after(), a.not_before(), a.id()))
        .map(|a| a.id())
}

/// Whether `key` has mute power in the room (it is joined: [`can_ban`] holds for the rooms it
/// enforces).
fn can_mute(engine: &Room, key: &UserKey) -> bool {
    let levels = engine
        .state_event(kinds::POWER_LEVELS, "")
        .and_then(|e| causerie_room::PowerLevels::parse(e.content()).ok())
        .unwrap_or_default();
    engine.power_level(key) >= levels.mute
}

/// `room.mute` content: `{muted}`.
fn mute_content(muted: bool) -> Content {
    let mut content = Content::new();
    content.insert("muted".into(), Value::Bool(muted));
    content
}

/// The (list, rule) of an enforcer event's `policy` tag.
fn policy_of(content: &Content) -> Option<(RoomId, String)> {
    let tag = content.get("policy").and_then(Value::as_map)?;
    let list = tag
        .get("list")
        .and_then(Value::as_bytes)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())?;
    let rule = tag.get("rule").and_then(Value::as_str)?;
    Some((RoomId(causerie_crypto::Hash32(list)), rule.to_owned()))
}

/// The `policy` tag of the enforcer's member and mute events.
fn policy_tag(list: RoomId, rule: &str) -> Value {
    let mut tag = Content::new();
    tag.insert("list".into(), Value::Bytes(list.as_bytes().to_vec()));
    tag.insert("rule".into(), Value::Text(rule.to_owned()));
    Value::Map(tag)
}
