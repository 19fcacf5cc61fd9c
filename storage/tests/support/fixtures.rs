//! Signed events and attestations for the storage tests.

#![allow(dead_code)] // each test crate uses a different subset

use std::collections::BTreeSet;

use causerie_crypto::testing::{self, FIXTURE_ATTESTATION, Said, create_draft, draft_after};
use causerie_crypto::{Attestation, Event, EventId, Hash32, NodeSecret, RoomId, UserSecret};

/// A user with a deterministic key.
pub(crate) fn user(seed: u8) -> UserSecret {
    UserSecret::from_seed(&[seed; 32])
}

/// A fake event id that no fixture event has.
pub(crate) fn fake_id(byte: u8) -> EventId {
    EventId(Hash32([byte; 32]))
}

/// A create event by `secret`; `salt` makes distinct rooms for the same author.
pub(crate) fn create(secret: &UserSecret, salt: i64) -> Event {
    create_draft(secret.public(), Some(salt), FIXTURE_ATTESTATION)
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
    let said = if state {
        Said::Name(body)
    } else {
        Said::Message(body)
    };
    draft_after(
        secret.public(),
        room,
        prev.to_vec(),
        depth,
        said,
        FIXTURE_ATTESTATION,
    )
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
    testing::attestation(&NodeSecret::from_seed(&[node_seed; 32]), secret, handle)
}

/// The ids of `events` as a set.
pub(crate) fn ids(events: &[&Event]) -> BTreeSet<EventId> {
    events.iter().map(|e| e.id()).collect()
}
