//! The signed event envelope (specs/events.md).
//!
//! Wire form: one canonical CBOR map with the fields below, in canonical (bytewise) key order.
//!
//! | key            | type                 | notes                                           |
//! |----------------|----------------------|-------------------------------------------------|
//! | `attestation`  | bytes(32)            | id of the author's attestation                  |
//! | `auth_events`  | [bytes(32)] ≤ 10     | events that authorise this one                  |
//! | `author`       | bytes(32)            | the author's Ed25519 key                        |
//! | `content`      | map                  | full content, or its redacted subset            |
//! | `content_hash` | bytes(32)            | SHA-256 of the canonical full content           |
//! | `depth`        | uint                 | 0 for create, else 1 + max depth of prev_events |
//! | `kind`         | text                 | e.g. `room.message`                             |
//! | `origin_ts`    | uint                 | author's clock, ms since the Unix epoch         |
//! | `prev_events`  | [bytes(32)] ≤ 20     | DAG parents                                     |
//! | `room`         | bytes(32), absent for create | the room id                             |
//! | `signature`    | bytes(64)            | Ed25519 over the signing input                  |
//! | `state_key`    | text ≤ 255, absent for non-state |                                     |
//! | `v`            | uint = 1             | envelope version                                |
//!
//! Signing input = `"causerie/v1/event\0"` ‖ canonical CBOR of the envelope with `content`
//! replaced by its redacted form and without `signature`. The full content is bound through
//! `content_hash`, so redacting (dropping content keys the kind does not preserve) keeps both the
//! signature and the id valid. Event id = SHA-256(signing input ‖ signature).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};

use crate::codec::{self, Content, MAX_CONTENT_DEPTH, Value, content_depth, reason_error};
use crate::error::{CodecError, EventError};
use crate::hash::{AttestationId, EventId, Hash32, RoomId};
use crate::keys::{UserKey, UserSecret};
use crate::signing::{Domain, Signature};

/// Largest encoded event accepted, in bytes.
pub const MAX_EVENT_BYTES: usize = 65_536;
/// Most DAG parents an event may list.
pub const MAX_PREV_EVENTS: usize = 20;
/// Most auth events an event may list.
pub const MAX_AUTH_EVENTS: usize = 10;
/// Longest kind, in bytes.
pub const MAX_KIND_BYTES: usize = 64;
/// Longest state key, in bytes.
pub const MAX_STATE_KEY_BYTES: usize = 255;
/// Largest depth (2^53 - 1, so that every client language holds it exactly).
pub const MAX_DEPTH: u64 = (1 << 53) - 1;
/// The envelope version this implementation writes and reads.
pub const ENVELOPE_VERSION: u64 = 1;

/// Initial capacity of a signing input: a typical redacted envelope plus the signature, so that
/// the common case needs one allocation (larger ones grow as usual).
const SIGNING_INPUT_CAPACITY: usize = 1_024;

/// Event kinds whose meaning the protocol defines, and what redaction keeps of each.
pub mod kinds {
    /// Creates a room; its id is the room id.
    pub const CREATE: &str = "room.create";
    /// Membership of `state_key` (a user key in hex).
    pub const MEMBER: &str = "room.member";
    /// Power levels.
    pub const POWER_LEVELS: &str = "room.power_levels";
    /// Join rules.
    pub const JOIN_RULES: &str = "room.join_rules";
    /// Room name.
    pub const NAME: &str = "room.name";
    /// Room topic.
    pub const TOPIC: &str = "room.topic";
    /// Redaction of another event.
    pub const REDACTION: &str = "room.redaction";
    /// The ban-list rooms this room follows.
    pub const POLICY_SUBSCRIPTIONS: &str = "room.policy_subscriptions";
    /// A chat message.
    pub const MESSAGE: &str = "room.message";
    /// Whether `state_key` (a user key in hex) is muted (specs/moderation.md §1).
    pub const MUTE: &str = "room.mute";
    /// The room's content rules (specs/moderation.md §2).
    pub const CONTENT_RULES: &str = "room.content_rules";
    /// A reaction to another event (specs/rooms.md §13); redaction keeps none of its content.
    pub const REACTION: &str = "room.reaction";

    /// Content keys that survive redaction, per kind; `None` keeps everything.
    pub fn preserved_keys(kind: &str) -> Option<&'static [&'static str]> {
        match kind {
            // Content rules decide verdicts on messages: a redacted copy must decide the same.
            CREATE | CONTENT_RULES => None,
            MEMBER => Some(&["expires", "membership", "purge"]),
            POWER_LEVELS => Some(&[
                "ban",
                "events",
                "events_default",
                "invite",
                "kick",
                "mute",
                "redact",
                "state_default",
                "users",
                "users_default",
            ]),
            JOIN_RULES => Some(&[
                "allowed_attesters",
                "denied_attesters",
                "join_rule",
                "min_assurance",
            ]),
            REDACTION => Some(&["redacts"]),
            POLICY_SUBSCRIPTIONS => Some(&["rooms"]),
            MUTE => Some(&["expires", "muted"]),
            _ => Some(&[]),
        }
    }
}

/// The redacted form of `content` for an event of `kind`.
pub fn redact_content(kind: &str, content: &Content) -> Content {
    match kinds::preserved_keys(kind) {
        None => content.clone(),
        Some(keys) => keys
            .iter()
            .filter_map(|k| content.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect(),
    }
}

/// Envelope as decoded from the wire (fields in canonical order).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    attestation: AttestationId,
    auth_events: Vec<EventId>,
    author: UserKey,
    #[serde(deserialize_with = "content_map")]
    content: Content,
    content_hash: Hash32,
    depth: u64,
    kind: String,
    origin_ts: u64,
    prev_events: Vec<EventId>,
    #[serde(default)]
    room: Option<RoomId>,
    #[serde(default)]
    signature: Option<Signature>,
    #[serde(default)]
    state_key: Option<String>,
    v: u64,
}

/// Envelope for encoding, borrowing its parts (same keys and order as [`Wire`]).
#[derive(Serialize)]
struct WireRef<'a> {
    attestation: &'a AttestationId,
    auth_events: &'a [EventId],
    author: &'a UserKey,
    content: &'a Content,
    content_hash: &'a Hash32,
    depth: u64,
    kind: &'a str,
    origin_ts: u64,
    prev_events: &'a [EventId],
    #[serde(skip_serializing_if = "Option::is_none")]
    room: Option<&'a RoomId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<&'a Signature>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_key: Option<&'a str>,
    v: u64,
}

fn content_map<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Content, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Map(map) => Ok(map),
        _ => Err(reason_error(BAD_CONTENT)),
    }
}

/// Turns the marker error [`content_map`] raises through serde back into
/// [`EventError::BadContent`]; every other decode error keeps its codec reason.
fn content_error(err: CodecError) -> EventError {
    match err {
        err if codec::carries_reason(&err, BAD_CONTENT) => EventError::BadContent,
        other => other.into(),
    }
}

/// Reason name [`content_map`] raises when `content` is not a map.
const BAD_CONTENT: &str = "bad_content";

/// An event before it is signed: what a node prepares and a client signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDraft {
    /// Room id; `None` only for a create event.
    pub room: Option<RoomId>,
    /// The author.
    pub author: UserKey,
    /// Kind, see [`kinds`].
    pub kind: String,
    /// State key, for state events.
    pub state_key: Option<String>,
    /// Full content.
    pub content: Content,
    /// DAG parents.
    pub prev_events: Vec<EventId>,
    /// Authorising events.
    pub auth_events: Vec<EventId>,
    /// DAG depth.
    pub depth: u64,
    /// Author's clock (ms since the Unix epoch); advisory only.
    pub origin_ts: u64,
    /// The author's attestation.
    pub attestation: AttestationId,
}

/// The fields shared by drafts and events, borrowed, for the checks both go through.
struct Fields<'a> {
    room: Option<&'a RoomId>,
    kind: &'a str,
    state_key: Option<&'a str>,
    content: &'a Content,
    prev_events: &'a [EventId],
    auth_events: &'a [EventId],
    depth: u64,
}

impl Fields<'_> {
    /// Structural rules that need nothing but the event itself (specs/events.md, "Limits").
    fn check(&self) -> Result<(), EventError> {
        if self.prev_events.len() > MAX_PREV_EVENTS {
            return Err(EventError::TooManyPrevEvents(self.prev_events.len()));
        }
        if self.auth_events.len() > MAX_AUTH_EVENTS {
            return Err(EventError::TooManyAuthEvents(self.auth_events.len()));
        }
        if has_duplicates(self.prev_events) || has_duplicates(self.auth_events) {
            return Err(EventError::DuplicateReference);
        }
        let kind_ok = !self.kind.is_empty()
            && self.kind.len() <= MAX_KIND_BYTES
            && self
                .kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_');
        if !kind_ok {
            return Err(EventError::BadKind);
        }
        if self
            .state_key
            .is_some_and(|k| k.len() > MAX_STATE_KEY_BYTES)
        {
            return Err(EventError::StateKeyTooLong);
        }
        if content_depth(self.content) > MAX_CONTENT_DEPTH {
            return Err(CodecError::NestingTooDeep.into());
        }
        let is_create = self.kind == kinds::CREATE;
        if is_create == self.room.is_some() {
            return Err(EventError::BadRoomId);
        }
        let parents_ok = if is_create {
            self.prev_events.is_empty() && self.auth_events.is_empty() && self.depth == 0
        } else {
            !self.prev_events.is_empty() && self.depth >= 1 && self.depth <= MAX_DEPTH
        };
        if !parents_ok {
            return Err(EventError::BadDepth);
        }
        Ok(())
    }
}

fn has_duplicates(ids: &[EventId]) -> bool {
    // Lists are at most 20 long: a quadratic scan beats building a set.
    ids.iter().enumerate().any(|(i, a)| ids[..i].contains(a))
}

/// Everything needed to encode an envelope.
struct Parts<'a> {
    fields: Fields<'a>,
    attestation: &'a AttestationId,
    author: &'a UserKey,
    content_hash: &'a Hash32,
    origin_ts: u64,
}

impl Parts<'_> {
    fn wire<'b>(&'b self, content: &'b Content, signature: Option<&'b Signature>) -> WireRef<'b> {
        WireRef {
            attestation: self.attestation,
            auth_events: self.fields.auth_events,
            author: self.author,
            content,
            content_hash: self.content_hash,
            depth: self.fields.depth,
            kind: self.fields.kind,
            origin_ts: self.origin_ts,
            prev_events: self.fields.prev_events,
            room: self.fields.room,
            signature,
            state_key: self.fields.state_key,
            v: ENVELOPE_VERSION,
        }
    }

    /// Domain prefix ‖ canonical redacted envelope without signature.
    fn signing_input(&self, redacted: &Content) -> Result<Vec<u8>, EventError> {
        // Room for the whole envelope and the signature appended for the id, in one allocation.
        let mut input = Vec::with_capacity(SIGNING_INPUT_CAPACITY);
        input.extend_from_slice(Domain::Event.prefix());
        serde_cbor_into(&mut input, &self.wire(redacted, None))?;
        Ok(input)
    }
}

/// Size cap, decode (key validity included), version: the checks that come first for a signed
/// envelope and for a draft alike.
fn decode_wire(bytes: &[u8]) -> Result<Wire, EventError> {
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(EventError::EventTooLarge {
            len: bytes.len(),
            max: MAX_EVENT_BYTES,
        });
    }
    let wire: Wire = codec::decode(bytes, MAX_EVENT_BYTES).map_err(content_error)?;
    if wire.v != ENVELOPE_VERSION {
        return Err(EventError::UnsupportedVersion(wire.v));
    }
    Ok(wire)
}

fn serde_cbor_into<T: Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), EventError> {
    Ok(codec::encode_into(out, value)?)
}

fn content_hash(content: &Content) -> Result<Hash32, EventError> {
    Ok(Hash32::digest_serialized(content)?)
}

/// The [`Parts`] of `$source` (a [`Wire`] or an [`EventDraft`]: both name the envelope's
/// fields alike) with `$content_hash`, which a draft computes and a wire carries.
macro_rules! parts_of {
    ($source:expr, $content_hash:expr) => {
        Parts {
            fields: Fields {
                room: $source.room.as_ref(),
                kind: &$source.kind,
                state_key: $source.state_key.as_deref(),
                content: &$source.content,
                prev_events: &$source.prev_events,
                auth_events: &$source.auth_events,
                depth: $source.depth,
            },
            attestation: &$source.attestation,
            author: &$source.author,
            content_hash: $content_hash,
            origin_ts: $source.origin_ts,
        }
    };
}

impl Wire {
    fn parts(&self) -> Parts<'_> {
        parts_of!(self, &self.content_hash)
    }
}

impl EventDraft {
    fn parts<'a>(&'a self, content_hash: &'a Hash32) -> Parts<'a> {
        parts_of!(self, content_hash)
    }

    /// The exact bytes the author signs (domain prefix included). Checks the structural rules.
    pub fn signing_input(&self) -> Result<Vec<u8>, EventError> {
        let hash = content_hash(&self.content)?;
        let parts = self.parts(&hash);
        parts.fields.check()?;
        parts.signing_input(&redact_content(&self.kind, &self.content))
    }

    /// The draft as a node hands it to a client: the canonical CBOR of the unsigned envelope
    /// (full content, no signature). [`EventDraft::decode`] reads it back.
    pub fn encode(&self) -> Result<Vec<u8>, EventError> {
        let hash = content_hash(&self.content)?;
        let parts = self.parts(&hash);
        parts.fields.check()?;
        Ok(codec::encode(&parts.wire(&self.content, None))?)
    }

    /// Reads a draft made by [`EventDraft::encode`]: size cap, canonical form, structural rules,
    /// and the content hash must match the content (a draft is never redacted).
    pub fn decode(bytes: &[u8]) -> Result<EventDraft, EventError> {
        let wire = decode_wire(bytes)?;
        if wire.signature.is_some() {
            return Err(EventError::BadSignature);
        }
        let draft = EventDraft {
            room: wire.room,
            author: wire.author,
            kind: wire.kind,
            state_key: wire.state_key,
            content: wire.content,
            prev_events: wire.prev_events,
            auth_events: wire.auth_events,
            depth: wire.depth,
            origin_ts: wire.origin_ts,
            attestation: wire.attestation,
        };
        let hash = content_hash(&draft.content)?;
        if hash != wire.content_hash {
            return Err(EventError::ContentHashMismatch);
        }
        let parts = draft.parts(&hash);
        if !codec::encodes_to(&parts.wire(&draft.content, None), bytes)? {
            return Err(CodecError::NonCanonical.into());
        }
        parts.fields.check()?;
        Ok(draft)
    }

    /// Signs with the author's secret. The secret's public key must be the draft's author.
    pub fn sign(self, secret: &UserSecret) -> Result<Event, EventError> {
        let input = self.signing_input()?;
        let signature = secret.sign_prefixed(&input);
        self.into_event(signature)
    }

    /// Attaches a signature made elsewhere (by the user's client) and runs the full verify path.
    pub fn into_event(self, signature: Signature) -> Result<Event, EventError> {
        let hash = content_hash(&self.content)?;
        let bytes = codec::encode(&self.parts(&hash).wire(&self.content, Some(&signature)))?;
        Event::decode(&bytes)
    }
}

/// A verified event: decoded from canonical bytes whose signature and content hash checked out.
/// Cheap to clone.
#[derive(Clone)]
pub struct Event(Arc<Inner>);

struct Inner {
    id: EventId,
    wire: Wire,
    signature: Signature,
    bytes: Vec<u8>,
    redacted: bool,
}

impl Event {
    /// The verify path, in the order of specs/events.md §6 (the first failure is the reason):
    /// size cap, pre-scan, strict decode, version, signature present, canonical check,
    /// structural rules, content hash, `verify_strict` of the author's signature, id.
    pub fn decode(bytes: &[u8]) -> Result<Event, EventError> {
        Self::decode_inner(bytes, true)
    }

    /// Decodes bytes this node verified before storing them: every check except the signature.
    /// Never use on bytes from outside.
    pub fn decode_trusted(bytes: &[u8]) -> Result<Event, EventError> {
        Self::decode_inner(bytes, false)
    }

    fn decode_inner(bytes: &[u8], verify_signature: bool) -> Result<Event, EventError> {
        let wire = decode_wire(bytes)?;
        let signature = wire.signature.ok_or(EventError::BadSignature)?;
        let hash = wire.content_hash;
        let parts = wire.parts();
        if !codec::encodes_to(&parts.wire(&wire.content, Some(&signature)), bytes)? {
            return Err(CodecError::NonCanonical.into());
        }
        parts.fields.check()?;
        let redacted_content = redact_content(&wire.kind, &wire.content);
        let redacted = if content_hash(&wire.content)? == hash {
            false
        } else if redacted_content == wire.content {
            true
        } else {
            return Err(EventError::ContentHashMismatch);
        };
        let mut input = parts.signing_input(&redacted_content)?;
        if verify_signature && !wire.author.0.verify_prefixed(&input, &signature) {
            return Err(EventError::BadSignature);
        }
        input.extend_from_slice(signature.as_bytes());
        let id = EventId(Hash32::digest(&[&input]));
        Ok(Event(Arc::new(Inner {
            id,
            wire,
            signature,
            bytes: bytes.to_vec(),
            redacted,
        })))
    }

    /// The redacted form of this event: same id, same signature, content reduced to what the
    /// kind preserves.
    pub fn redacted(&self) -> Event {
        if self.0.redacted {
            return self.clone();
        }
        let mut wire = self.0.wire.clone();
        wire.content = redact_content(&wire.kind, &wire.content);
        let parts = wire.parts();
        // Encoding our own verified data cannot fail; fall back to the full event if it did,
        // so a programmer error never loses an event.
        let Ok(bytes) = codec::encode(&parts.wire(&wire.content, Some(&self.0.signature))) else {
            return self.clone();
        };
        let redacted = wire.content != self.0.wire.content;
        Event(Arc::new(Inner {
            id: self.0.id,
            signature: self.0.signature,
            wire,
            bytes,
            redacted: redacted || self.0.redacted,
        }))
    }

    /// The event id.
    pub fn id(&self) -> EventId {
        self.0.id
    }
    /// The room this event belongs to (for a create event, its own id).
    pub fn room_id(&self) -> RoomId {
        self.0.wire.room.unwrap_or(RoomId(self.0.id.0))
    }
    /// The author.
    pub fn author(&self) -> &UserKey {
        &self.0.wire.author
    }
    /// The kind.
    pub fn kind(&self) -> &str {
        &self.0.wire.kind
    }
    /// The state key, for state events.
    pub fn state_key(&self) -> Option<&str> {
        self.0.wire.state_key.as_deref()
    }
    /// Whether this is a state event.
    pub fn is_state(&self) -> bool {
        self.0.wire.state_key.is_some()
    }
    /// Content (the redacted subset if [`Self::is_redacted`]).
    pub fn content(&self) -> &Content {
        &self.0.wire.content
    }
    /// SHA-256 of the full content.
    pub fn content_hash(&self) -> &Hash32 {
        &self.0.wire.content_hash
    }
    /// DAG parents.
    pub fn prev_events(&self) -> &[EventId] {
        &self.0.wire.prev_events
    }
    /// Authorising events.
    pub fn auth_events(&self) -> &[EventId] {
        &self.0.wire.auth_events
    }
    /// DAG depth.
    pub fn depth(&self) -> u64 {
        self.0.wire.depth
    }
    /// The author's clock, advisory only.
    pub fn origin_ts(&self) -> u64 {
        self.0.wire.origin_ts
    }
    /// The author's attestation id.
    pub fn attestation(&self) -> &AttestationId {
        &self.0.wire.attestation
    }
    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.0.signature
    }
    /// Whether the content has been stripped by redaction.
    pub fn is_redacted(&self) -> bool {
        self.0.redacted
    }
    /// The canonical encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0.bytes
    }
    /// Text field of the content, if present.
    pub fn content_str(&self, key: &str) -> Option<&str> {
        self.content().get(key).and_then(Value::as_str)
    }
    /// Every event this one references (prev and auth), deduplicated, in id order.
    pub fn references(&self) -> BTreeSet<EventId> {
        self.prev_events()
            .iter()
            .chain(self.auth_events())
            .copied()
            .collect()
    }
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id && self.0.redacted == other.0.redacted
    }
}
impl Eq for Event {}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("id", &self.0.id)
            .field("kind", &self.0.wire.kind)
            .field("state_key", &self.0.wire.state_key)
            .field("author", &self.0.wire.author)
            .field("depth", &self.0.wire.depth)
            .finish()
    }
}
