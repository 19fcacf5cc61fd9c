//! Signed events and attestations for the storage tests.

#![allow(dead_code)] // each test crate uses a different subset

use std::collections::BTreeSet;

use causerie_crypto::event::kinds;
use causerie_crypto::{
    Assurance, Attestation, AttestationDraft, AttestationId, Content, Event, EventDraft, EventId,
    Hash32, NodeSecret, RoomId, UserSecret, Value,
};

/// Origin timestamp of the first event; later events add their depth.
pub(crate) const BASE_TS_MS: u64 = 1_700_000_000_000;

/// A user with a deterministic key.
pub(crate) fn user(seed: u8) -> UserSecret {
    UserSecret::from_seed(&[seed; 32])
}

/// The attestation id every fixture event references.
pub(crate) fn attestation_ref() -> AttestationId {
    AttestationId(Hash32([9; 32]))
}

/// A fake event id that no fixture event has.
pub(crate) fn fake_id(byte: u8) -> EventId {
    EventId(Hash32([byte; 32]))
}

/// A create event by `secret`; `salt` makes distinct rooms for the same author.
pub(crate) fn create(secret: &UserSecret, salt: i64) -> Event {
    let mut content = Content::new();
    content.insert(
        "creator".into(),
        Value::Bytes(secret.public().as_bytes().to_vec()),
    );
    content.insert("salt".into(), Value::Integer(salt));
    EventDraft {
        room: None,
        author: secret.public(),
        kind: kinds::CREATE.into(),
        state_key: Some(String::new()),
        content,
        prev_events: vec![],
        auth_events: vec![],
        depth: 0,
        origin_ts: BASE_TS_MS,
        attestation: attestation_ref(),
    }
    .sign(secret)
    .expect("sign create")
}

/// An event in `room` on top of `prev` at `depth`: a message, or a `room.name` state event.
pub(crate) fn event(
    secret: &UserSecret,
    room: RoomId,
    prev: &[EventId],
    depth: u64,
    body: &str,
    state: bool,
) -> Event {
    let mut content = Content::new();
    content.insert(if state { "name" } else { "body" }.into(), body.into());
    EventDraft {
        room: Some(room),
        author: secret.public(),
        kind: if state { kinds::NAME } else { kinds::MESSAGE }.into(),
        state_key: state.then(String::new),
        content,
        prev_events: prev.to_vec(),
        auth_events: vec![EventId(room.0)],
        depth,
        origin_ts: BASE_TS_MS + depth,
        attestation: attestation_ref(),
    }
    .sign(secret)
    .expect("sign event")
}

/// A message on top of `parents` (depth = 1 + max parent depth).
pub(crate) fn message_after(secret: &UserSecret, parents: &[&Event], body: &str) -> Event {
    let room = parents[0].room_id();
    let prev: Vec<EventId> = parents.iter().map(|p| p.id()).collect();
    let depth = 1 + parents.iter().map(|p| p.depth()).max().unwrap_or(0);
    event(secret, room, &prev, depth, body, false)
}

/// A linear chain of `len` messages after `start`.
pub(crate) fn chain(secret: &UserSecret, start: &Event, len: usize) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::with_capacity(len);
    for i in 0..len {
        let parent = out.last().unwrap_or(start).clone();
        out.push(message_after(secret, &[&parent], &format!("m{i}")));
    }
    out
}

/// An attestation of `secret`'s key by node `node_seed`.
pub(crate) fn attestation(node_seed: u8, secret: &UserSecret, handle: &str) -> Attestation {
    AttestationDraft {
        user: secret.public(),
        handle: handle.into(),
        assurance: Assurance::Contact,
        not_before: BASE_TS_MS,
        not_after: BASE_TS_MS + 86_400_000,
    }
    .sign(&NodeSecret::from_seed(&[node_seed; 32]))
    .expect("sign attestation")
}

/// The ids of `events` as a set.
pub(crate) fn ids(events: &[&Event]) -> BTreeSet<EventId> {
    events.iter().map(|e| e.id()).collect()
}
