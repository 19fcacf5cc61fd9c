//! Shared fixtures for the room engine tests (included with `#[path]`; compiled alone it holds
//! no tests): users with attestations, and "views" — engines that model one node's knowledge, so
//! forks are built by letting two views diverge.

#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use causerie_crypto::event::kinds;
use causerie_crypto::{
    Assurance, Attestation, AttestationDraft, Content, Event, EventDraft, NodeSecret, UserKey,
    UserSecret, Value,
};
use causerie_room::content::user_state_key;
use causerie_room::{EventStatus, Membership, Outcome, PowerLevels, Receipt, Room, prepare_create};

/// The tests' clock origin.
pub const T0: u64 = 1_700_000_000_000;
/// One day in ms.
pub const DAY_MS: u64 = 24 * 60 * 60 * 1_000;

/// The home node of every test user.
pub fn home() -> NodeSecret {
    NodeSecret::from_seed(&[200; 32])
}

/// A user key with an attestation valid from T0 - 1 day for 300 days.
pub struct User {
    pub secret: UserSecret,
    pub key: UserKey,
    pub attestation: Attestation,
}

impl User {
    pub fn new(seed: u8) -> User {
        Self::with(seed, Assurance::Contact, &home())
    }

    pub fn with(seed: u8, assurance: Assurance, node: &NodeSecret) -> User {
        let secret = UserSecret::from_seed(&[seed; 32]);
        let key = secret.public();
        let attestation = AttestationDraft {
            user: key,
            handle: format!("user{seed}"),
            assurance,
            not_before: T0 - DAY_MS,
            not_after: T0 + 300 * DAY_MS,
        }
        .sign(node)
        .unwrap();
        User {
            secret,
            key,
            attestation,
        }
    }

    pub fn hex(&self) -> String {
        user_state_key(&self.key)
    }
}

pub fn text(key: &str, value: &str) -> Content {
    let mut content = Content::new();
    content.insert(key.into(), value.into());
    content
}

pub fn member(membership: Membership) -> Content {
    membership.to_content()
}

pub fn levels(users: &[(&User, i64)]) -> Content {
    let mut levels = PowerLevels::default();
    for (user, level) in users {
        levels.users.insert(*user.key.as_bytes(), *level);
    }
    levels.to_content()
}

pub fn public_rules() -> Content {
    text("join_rule", "public")
}

pub fn redaction(target: &Event) -> Content {
    let mut content = Content::new();
    content.insert(
        "redacts".into(),
        Value::Bytes(target.id().as_bytes().to_vec()),
    );
    content
}

/// One node's view of the room.
#[derive(Clone)]
pub struct View {
    pub room: Room,
    pub now: u64,
}

impl View {
    /// Creates a room: create, creator join, power levels, public join rules.
    pub fn create(creator: &User, users: &[&User]) -> (View, Vec<Event>) {
        let create = prepare_create(creator.key, Content::new(), T0, creator.attestation.id())
            .sign(&creator.secret)
            .unwrap();
        let mut view = View {
            room: Room::new(create.room_id()),
            now: T0,
        };
        for user in users.iter().copied().chain([creator]) {
            view.room.add_attestation(user.attestation.clone()).unwrap();
        }
        let receipt = view.room.receive(create.clone(), T0);
        assert!(
            matches!(
                receipt.outcome_of(&create.id()),
                Some(Outcome::Accepted { .. })
            ),
            "{receipt:?}"
        );
        let mut events = vec![create];
        events.push(view.send(
            creator,
            kinds::MEMBER,
            Some(&creator.hex()),
            member(Membership::Join),
        ));
        events.push(view.send(creator, kinds::POWER_LEVELS, Some(""), levels(&[])));
        events.push(view.send(creator, kinds::JOIN_RULES, Some(""), public_rules()));
        (view, events)
    }

    /// [`View::create`], then every one of `members` joins.
    pub fn with_members(creator: &User, members: &[&User]) -> View {
        let (mut view, _) = View::create(creator, members);
        for user in members {
            view.join(user);
        }
        view
    }

    /// A node that knows the attestations of `users` and no event of `room` yet, its clock at
    /// `now`.
    pub fn empty(room: causerie_crypto::RoomId, now: u64, users: &[&User]) -> View {
        let mut view = View {
            room: Room::new(room),
            now,
        };
        for user in users {
            view.room.add_attestation(user.attestation.clone()).unwrap();
        }
        view
    }

    /// Every accepted event, in the engine's order.
    pub fn accepted_events(&self) -> Vec<Event> {
        self.room
            .accepted_ids()
            .iter()
            .map(|id| self.room.event(id).unwrap().clone())
            .collect()
    }

    pub fn draft(
        &mut self,
        user: &User,
        kind: &str,
        state_key: Option<&str>,
        content: Content,
    ) -> EventDraft {
        self.now += 1;
        self.room
            .prepare(
                user.key,
                kind,
                state_key.map(str::to_owned),
                content,
                self.now,
                user.attestation.id(),
            )
            .unwrap()
    }

    /// Prepares, signs and receives an event; panics unless it is accepted.
    pub fn send(
        &mut self,
        user: &User,
        kind: &str,
        state_key: Option<&str>,
        content: Content,
    ) -> Event {
        let (event, receipt) = self.try_send(user, kind, state_key, content);
        assert!(
            matches!(
                receipt.outcome_of(&event.id()),
                Some(Outcome::Accepted { .. })
            ),
            "{kind} by {:?}: {receipt:?}",
            user.key
        );
        event
    }

    pub fn try_send(
        &mut self,
        user: &User,
        kind: &str,
        state_key: Option<&str>,
        content: Content,
    ) -> (Event, Receipt) {
        let event = self
            .draft(user, kind, state_key, content)
            .sign(&user.secret)
            .unwrap();
        let receipt = self.room.receive(event.clone(), self.now);
        (event, receipt)
    }

    /// Tries an event; the rule that rejected it (its detail name), `None` if it was accepted.
    pub fn rejected_by(
        &mut self,
        user: &User,
        kind: &str,
        state_key: Option<&str>,
        content: Content,
    ) -> Option<&'static str> {
        let (event, receipt) = self.try_send(user, kind, state_key, content);
        rejection(&receipt, &event).map(|(_, rule)| rule)
    }

    pub fn join(&mut self, user: &User) -> Event {
        self.send(
            user,
            kinds::MEMBER,
            Some(&user.hex()),
            member(Membership::Join),
        )
    }

    pub fn set_member(&mut self, by: &User, target: &User, membership: Membership) -> Event {
        self.send(by, kinds::MEMBER, Some(&target.hex()), member(membership))
    }

    pub fn message(&mut self, user: &User, body: &str) -> Event {
        self.send(user, kinds::MESSAGE, None, text("body", body))
    }

    pub fn topic(&mut self, user: &User, topic: &str) -> Event {
        self.send(user, kinds::TOPIC, Some(""), text("topic", topic))
    }

    pub fn power(&mut self, by: &User, users: &[(&User, i64)]) -> Event {
        self.send(by, kinds::POWER_LEVELS, Some(""), levels(users))
    }

    /// Receives events (in order), at the view's clock.
    pub fn deliver(&mut self, events: &[Event]) {
        for event in events {
            self.room.receive(event.clone(), self.now + 1);
        }
    }

    pub fn accepted(&self, event: &Event) -> bool {
        matches!(self.room.status(&event.id()), EventStatus::Accepted(_))
    }

    pub fn visible(&self, event: &Event) -> bool {
        matches!(self.room.status(&event.id()), EventStatus::Accepted(shown) if shown.visible)
    }

    pub fn state_id(&self, kind: &str, state_key: &str) -> Option<causerie_crypto::EventId> {
        self.room.state_event(kind, state_key).map(Event::id)
    }

    pub fn topic_text(&self) -> Option<String> {
        self.room
            .state_event(kinds::TOPIC, "")
            .and_then(|e| e.content_str("topic").map(str::to_owned))
    }
}

/// The rejection's (reason, rule) names, `None` if the event was accepted; panics on any other
/// outcome.
pub fn rejection(receipt: &Receipt, event: &Event) -> Option<(&'static str, &'static str)> {
    match receipt.outcome_of(&event.id()) {
        Some(Outcome::Rejected(reason)) => Some((reason.reason(), reason.detail())),
        Some(Outcome::Accepted { .. }) => None,
        other => panic!("unexpected {other:?}"),
    }
}

/// Signs an event with exactly the given references (for bad input).
#[allow(clippy::too_many_arguments)]
pub fn raw(
    user: &User,
    room: causerie_crypto::RoomId,
    kind: &str,
    state_key: Option<&str>,
    content: Content,
    prev_events: Vec<causerie_crypto::EventId>,
    auth_events: Vec<causerie_crypto::EventId>,
    depth: u64,
) -> Event {
    EventDraft {
        room: Some(room),
        author: user.key,
        kind: kind.to_owned(),
        state_key: state_key.map(str::to_owned),
        content,
        prev_events,
        auth_events,
        depth,
        origin_ts: T0 + 1_000,
        attestation: user.attestation.id(),
    }
    .sign(&user.secret)
    .unwrap()
}

/// What a rejection must leave untouched.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub state: causerie_room::StateMap,
    pub extremities: Vec<causerie_crypto::EventId>,
    pub timeline: Vec<causerie_room::TimelineEntry>,
    pub accepted: usize,
    pub outliers: usize,
}

pub fn snapshot(room: &Room) -> Snapshot {
    Snapshot {
        state: room.current_state().clone(),
        extremities: room.extremities(),
        timeline: room.timeline(),
        accepted: room.accepted_count(),
        outliers: room.outlier_count(),
    }
}
