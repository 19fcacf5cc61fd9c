//! What the authorization rules and state resolution need to know about an event
//! ([`StateEvent`]), the engine's event type ([`RoomEvent`]: a verified event plus the facts of
//! its author's attestation), and state maps (specs/rooms.md, "State").

use std::collections::BTreeMap;

use causerie_crypto::event::kinds;
use causerie_crypto::{Assurance, Attestation, Content, Event, EventId, NodeKey, UserKey};

use super::content::user_state_key;

/// A (kind, state key) pair.
pub type StateKey = (String, String);
/// A room state: which event holds each (kind, state key). Ordered, so iteration is the same on
/// every node.
pub type StateMap = BTreeMap<StateKey, EventId>;

/// The facts of an event's attestation that the rules read (the `attested` join rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential {
    /// Assurance level the home node vouches for.
    pub assurance: Assurance,
    /// The home node that signed the attestation.
    pub issuer: NodeKey,
}

impl From<&Attestation> for Credential {
    fn from(attestation: &Attestation) -> Self {
        Credential {
            assurance: attestation.assurance(),
            issuer: *attestation.home_node(),
        }
    }
}

/// An event as the authorization rules and state resolution see it. Implemented by the engine's
/// [`RoomEvent`] and by hand-written fixtures in tests.
pub trait StateEvent {
    /// The event id.
    fn event_id(&self) -> EventId;
    /// The kind.
    fn kind(&self) -> &str;
    /// The state key, for state events.
    fn state_key(&self) -> Option<&str>;
    /// The author.
    fn sender(&self) -> &UserKey;
    /// The full content.
    fn content(&self) -> &Content;
    /// Authorising events.
    fn auth_event_ids(&self) -> &[EventId];
    /// DAG depth.
    fn depth(&self) -> u64;
    /// The author's attestation facts, when known.
    fn credential(&self) -> Option<&Credential>;
}

/// The state key this event occupies, for state events.
pub fn state_key_of<E: StateEvent + ?Sized>(event: &E) -> Option<StateKey> {
    event
        .state_key()
        .map(|k| (event.kind().to_owned(), k.to_owned()))
}

/// The state entries an event's authorization depends on: create, power levels, the sender's
/// membership and, for member events, the target's membership and the join rules.
pub fn auth_types(kind: &str, sender: &UserKey, state_key: Option<&str>) -> Vec<StateKey> {
    let mut keys = vec![
        (kinds::CREATE.to_owned(), String::new()),
        (kinds::POWER_LEVELS.to_owned(), String::new()),
        (kinds::MEMBER.to_owned(), user_state_key(sender)),
    ];
    if kind == kinds::MEMBER {
        if let Some(target) = state_key {
            let target = (kinds::MEMBER.to_owned(), target.to_owned());
            if !keys.contains(&target) {
                keys.push(target);
            }
        }
        keys.push((kinds::JOIN_RULES.to_owned(), String::new()));
    }
    keys
}

/// The engine's event: a verified envelope and its attestation's facts.
#[derive(Debug, Clone)]
pub struct RoomEvent {
    /// The verified event.
    pub event: Event,
    /// Facts of the event's attestation.
    pub credential: Credential,
}

impl StateEvent for RoomEvent {
    fn event_id(&self) -> EventId {
        self.event.id()
    }
    fn kind(&self) -> &str {
        self.event.kind()
    }
    fn state_key(&self) -> Option<&str> {
        self.event.state_key()
    }
    fn sender(&self) -> &UserKey {
        self.event.author()
    }
    fn content(&self) -> &Content {
        self.event.content()
    }
    fn auth_event_ids(&self) -> &[EventId] {
        self.event.auth_events()
    }
    fn depth(&self) -> u64 {
        self.event.depth()
    }
    fn credential(&self) -> Option<&Credential> {
        Some(&self.credential)
    }
}
