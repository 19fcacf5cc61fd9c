//! Event and attestation fixtures for tests, benchmarks and the storage crash writer (feature
//! `testing`): the one place that builds drafts from a few parameters, so the fixture is
//! written once for every crate that needs signed events without a room engine.
//!
//! Every draft is deterministic: the same arguments give the same bytes, hence the same ids.

use crate::event::kinds;
use crate::{
    Assurance, Attestation, AttestationDraft, AttestationId, Content, Event, EventDraft, EventId,
    Hash32, NodeSecret, RoomId, UserKey, UserSecret, Value,
};

/// Origin timestamp of a fixture room's create event; later events add their depth.
pub const FIXTURE_TS_MS: u64 = 1_700_000_000_000;

/// The attestation id fixture events name when no attestation is stored next to them.
pub const FIXTURE_ATTESTATION: AttestationId = AttestationId(Hash32([9; 32]));

/// How long a fixture attestation is valid from [`FIXTURE_TS_MS`] (one day).
pub const FIXTURE_ATTESTATION_MS: u64 = 86_400_000;

/// A room's create event by `author`; a `salt` makes distinct rooms for the same author.
pub fn create_draft(author: UserKey, salt: Option<i64>, attestation: AttestationId) -> EventDraft {
    let mut content = Content::new();
    content.insert("creator".into(), Value::Bytes(author.as_bytes().to_vec()));
    if let Some(salt) = salt {
        content.insert("salt".into(), Value::Integer(salt));
    }
    EventDraft {
        room: None,
        author,
        kind: kinds::CREATE.into(),
        state_key: Some(String::new()),
        content,
        prev_events: vec![],
        auth_events: vec![],
        depth: 0,
        origin_ts: FIXTURE_TS_MS,
        attestation,
    }
}

/// What a fixture event after the create event says.
#[derive(Debug, Clone, Copy)]
pub enum Said<'a> {
    /// A message with this body.
    Message(&'a str),
    /// A `room.name` state event setting this name.
    Name(&'a str),
}

/// An event of `author` in `room` on top of `prev` at `depth`, authorised by the create event
/// alone (whose id is the room id), stamped [`FIXTURE_TS_MS`] + `depth`.
pub fn draft_after(
    author: UserKey,
    room: RoomId,
    prev: Vec<EventId>,
    depth: u64,
    said: Said<'_>,
    attestation: AttestationId,
) -> EventDraft {
    let mut content = Content::new();
    let (kind, state_key) = match said {
        Said::Message(body) => {
            content.insert("body".into(), body.into());
            (kinds::MESSAGE, None)
        }
        Said::Name(name) => {
            content.insert("name".into(), name.into());
            (kinds::NAME, Some(String::new()))
        }
    };
    EventDraft {
        room: Some(room),
        author,
        kind: kind.into(),
        state_key,
        content,
        prev_events: prev,
        auth_events: vec![EventId(room.0)],
        depth,
        origin_ts: FIXTURE_TS_MS + depth,
        attestation,
    }
}

/// The draft `event` was signed from: its author signing it again gives the same bytes.
pub fn draft_of(event: &Event) -> EventDraft {
    EventDraft {
        // A create event names no room: its own id is the room id.
        room: (event.kind() != kinds::CREATE).then(|| event.room_id()),
        author: *event.author(),
        kind: event.kind().to_owned(),
        state_key: event.state_key().map(str::to_owned),
        content: event.content().clone(),
        prev_events: event.prev_events().to_vec(),
        auth_events: event.auth_events().to_vec(),
        depth: event.depth(),
        origin_ts: event.origin_ts(),
        attestation: *event.attestation(),
    }
}

/// An attestation of `user`'s key by `node` under `handle`, valid for
/// [`FIXTURE_ATTESTATION_MS`] from [`FIXTURE_TS_MS`].
pub fn attestation(node: &NodeSecret, user: &UserSecret, handle: &str) -> Attestation {
    let draft = AttestationDraft {
        user: user.public(),
        handle: handle.into(),
        assurance: Assurance::Contact,
        not_before: FIXTURE_TS_MS,
        not_after: FIXTURE_TS_MS + FIXTURE_ATTESTATION_MS,
    };
    match draft.sign(node) {
        Ok(attestation) => attestation,
        // A fixture handle that breaks the attestation rules is a bug in the test itself.
        Err(error) => panic!("fixture attestation for {handle:?}: {error}"),
    }
}
