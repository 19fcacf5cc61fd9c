//! What the authorization rules and state resolution need to know about an event
//! ([`StateEvent`]), the engine's event type ([`RoomEvent`]: a verified event plus the facts of
//! its author's attestation), and state maps (specs/rooms.md §2.2, §4).

use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use causerie_crypto::event::kinds;
use causerie_crypto::{Assurance, Attestation, Content, Event, EventId, UserKey};

use crate::content::{PowerLevels, user_state_key};
use crate::error::AuthError;
use crate::rules::ContentRules;

/// A (kind, state key) pair.
pub type StateKey = (String, String);
/// A room state: which event holds each (kind, state key). Ordered, so iteration is the same on
/// every node.
pub type StateMap = BTreeMap<StateKey, EventId>;

/// A state key seen as two borrowed strings, so that a [`StateMap`] can be searched for
/// `(kind, state key)` without building an owned [`StateKey`] (two allocations) per lookup: the
/// engine looks up several keys for every event it checks. Ordered exactly as [`StateKey`]
/// (kind first, then state key, bytewise), as [`Borrow`] requires.
pub trait StateKeyView {
    /// The kind and the state key.
    fn pair(&self) -> (&str, &str);
}

impl StateKeyView for (String, String) {
    #[inline]
    fn pair(&self) -> (&str, &str) {
        (&self.0, &self.1)
    }
}

impl StateKeyView for (&str, &str) {
    #[inline]
    fn pair(&self) -> (&str, &str) {
        (self.0, self.1)
    }
}

impl<'a> Borrow<dyn StateKeyView + 'a> for (String, String) {
    fn borrow(&self) -> &(dyn StateKeyView + 'a) {
        self
    }
}

impl PartialEq for dyn StateKeyView + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.pair() == other.pair()
    }
}

impl Eq for dyn StateKeyView + '_ {}

impl PartialOrd for dyn StateKeyView + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn StateKeyView + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        self.pair().cmp(&other.pair())
    }
}

/// The entry of `(kind, state_key)` in `map`, looked up without allocating.
#[inline]
pub fn state_get<'m, V>(
    map: &'m BTreeMap<StateKey, V>,
    kind: &str,
    state_key: &str,
) -> Option<&'m V> {
    map.get(&(kind, state_key) as &dyn StateKeyView)
}

/// The facts of an event's attestation that the rules read (the `attested` join rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential {
    /// Assurance level the home node vouches for.
    pub assurance: Assurance,
    /// The raw key of the home node that signed the attestation (32 bytes rather than a
    /// [`causerie_crypto::NodeKey`] with its decompressed point: every accepted event holds one).
    pub issuer: [u8; 32],
}

impl From<&Attestation> for Credential {
    fn from(attestation: &Attestation) -> Self {
        Credential {
            assurance: attestation.assurance(),
            issuer: *attestation.home_node().as_bytes(),
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
    /// The author's `origin_ts`: room time for the rules that expire (specs/moderation.md §0).
    /// Fixtures that model no time may keep the default, 0.
    fn origin_ts(&self) -> u64 {
        0
    }
    /// Whether the content is the redacted subset (events.md §5).
    fn is_redacted(&self) -> bool {
        false
    }
    /// The content parsed as power levels. Implementations may cache it: the rules read the
    /// power levels of the state on every check.
    fn power_levels(&self) -> Result<Cow<'_, PowerLevels>, AuthError> {
        PowerLevels::parse(self.content()).map(Cow::Owned)
    }
    /// The content parsed as content rules (specs/moderation.md §2), matchers compiled.
    /// Implementations may cache it: every message check reads the rules of its state.
    fn content_rules(&self) -> Result<Cow<'_, ContentRules>, AuthError> {
        ContentRules::parse(self.content()).map(Cow::Owned)
    }
    /// The sender's member state key (hex of the key). Implementations may cache it.
    fn sender_hex(&self) -> Cow<'_, str> {
        Cow::Owned(user_state_key(self.sender()))
    }
    /// [`auth_types`] of this event.
    fn auth_types(&self) -> Vec<StateKey> {
        auth_types_hex(self.kind(), &self.sender_hex(), self.state_key())
    }
}

/// The state key this event occupies, for state events.
pub fn state_key_of<E: StateEvent + ?Sized>(event: &E) -> Option<StateKey> {
    event
        .state_key()
        .map(|k| (event.kind().to_owned(), k.to_owned()))
}

/// The state entries an event's authorization depends on: create, power levels, the sender's
/// membership, for member events the target's membership and the join rules, the sender's
/// mute, and for messages the content rules.
pub fn auth_types(kind: &str, sender: &UserKey, state_key: Option<&str>) -> Vec<StateKey> {
    auth_types_hex(kind, &user_state_key(sender), state_key)
}

/// [`auth_types`] with the sender given as its member state key.
pub fn auth_types_hex(kind: &str, sender: &str, state_key: Option<&str>) -> Vec<StateKey> {
    AuthKeys::new(kind, sender, state_key)
        .iter()
        .map(|(k, s)| (k.to_owned(), s.to_owned()))
        .collect()
}

/// Most entries [`auth_types`] gives: create, power levels, sender's membership, sender's
/// mute, target's membership, join rules.
pub const MAX_AUTH_TYPES: usize = 6;

/// [`auth_types`] as borrowed pairs, in the same order, without allocating: the engine computes
/// them for every event it checks or re-checks.
#[derive(Debug, Clone, Copy)]
pub struct AuthKeys<'a> {
    keys: [(&'a str, &'a str); MAX_AUTH_TYPES],
    len: usize,
}

impl<'a> AuthKeys<'a> {
    /// The keys an event of `kind` by the member `sender` (hex), with `state_key`, depends on.
    pub fn new(kind: &'a str, sender: &'a str, state_key: Option<&'a str>) -> Self {
        let mut keys = AuthKeys {
            keys: [("", ""); MAX_AUTH_TYPES],
            len: 0,
        };
        keys.push((kinds::CREATE, ""));
        keys.push((kinds::POWER_LEVELS, ""));
        keys.push((kinds::MEMBER, sender));
        if kind == kinds::MEMBER {
            if let Some(target) = state_key
                && target != sender
            {
                keys.push((kinds::MEMBER, target));
            }
            keys.push((kinds::JOIN_RULES, ""));
        }
        if kind == kinds::MESSAGE {
            keys.push((kinds::CONTENT_RULES, ""));
        }
        keys.push((kinds::MUTE, sender));
        keys
    }

    fn push(&mut self, key: (&'a str, &'a str)) {
        if let Some(slot) = self.keys.get_mut(self.len) {
            *slot = key;
            self.len += 1;
        }
    }

    /// The keys, in [`auth_types`] order.
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.keys.iter().take(self.len).copied()
    }

    /// The position of `(kind, state_key)` among the keys.
    #[inline]
    pub fn position(&self, kind: &str, state_key: &str) -> Option<usize> {
        // Callers nearly always ask with the very strings the keys were built from (the kind
        // constants, the event's own sender and state key): equal addresses and lengths settle
        // it without comparing 64 hex digits.
        let same = |a: &str, b: &str| (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b;
        self.iter()
            .position(|(k, s)| same(k, kind) && same(s, state_key))
    }
}

/// The engine's event: a verified envelope, its attestation's facts, and (for power-levels
/// events) the parsed levels.
#[derive(Debug, Clone)]
pub struct RoomEvent {
    event: Event,
    credential: Credential,
    /// Boxed: only power-levels events have them, and every accepted event is held in memory.
    levels: Option<Box<Result<PowerLevels, AuthError>>>,
    /// Shared: only content-rules events have them (compiled matchers included).
    rules: Option<Arc<Result<ContentRules, AuthError>>>,
    /// Shared: the engine hands every event of one sender the same string.
    sender_hex: Arc<str>,
}

impl RoomEvent {
    /// Wraps a verified event with its attestation's facts.
    pub fn new(event: Event, credential: Credential) -> Self {
        let sender_hex = Arc::from(user_state_key(event.author()));
        Self::with_sender_hex(event, credential, sender_hex)
    }

    /// [`RoomEvent::new`] with the sender's member state key already at hand (it must be
    /// [`user_state_key`] of the event's author).
    pub fn with_sender_hex(event: Event, credential: Credential, sender_hex: Arc<str>) -> Self {
        debug_assert_eq!(*sender_hex, user_state_key(event.author()));
        let levels = (event.kind() == kinds::POWER_LEVELS)
            .then(|| Box::new(PowerLevels::parse(event.content())));
        let rules = (event.kind() == kinds::CONTENT_RULES && !event.is_redacted())
            .then(|| Arc::new(ContentRules::parse(event.content())));
        RoomEvent {
            event,
            credential,
            levels,
            rules,
            sender_hex,
        }
    }

    /// The verified event.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// [`StateEvent::auth_types`], borrowed.
    pub fn auth_keys(&self) -> AuthKeys<'_> {
        AuthKeys::new(self.event.kind(), &self.sender_hex, self.event.state_key())
    }

    /// The state key this event occupies, borrowed ([`state_key_of`] without allocating).
    pub fn state_key_ref(&self) -> Option<(&str, &str)> {
        self.event.state_key().map(|k| (self.event.kind(), k))
    }
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
    fn origin_ts(&self) -> u64 {
        self.event.origin_ts()
    }
    fn content_rules(&self) -> Result<Cow<'_, ContentRules>, AuthError> {
        match self.rules.as_deref() {
            Some(Ok(rules)) => Ok(Cow::Borrowed(rules)),
            Some(Err(e)) => Err(*e),
            None => ContentRules::parse(self.content()).map(Cow::Owned),
        }
    }
    fn power_levels(&self) -> Result<Cow<'_, PowerLevels>, AuthError> {
        match self.levels.as_deref() {
            Some(Ok(levels)) => Ok(Cow::Borrowed(levels)),
            Some(Err(e)) => Err(*e),
            None => PowerLevels::parse(self.content()).map(Cow::Owned),
        }
    }
    fn sender_hex(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.sender_hex)
    }
    fn is_redacted(&self) -> bool {
        self.event.is_redacted()
    }
}
