//! Limits, each tested on both edges: at the limit the engine takes the input, one past it the
//! input is refused with its reason. specs/rooms.md, "Limits". The held-event limits have their
//! own tests (held.rs).

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

#[path = "support/room.rs"]
mod support;

use causerie_crypto::event::kinds;
use causerie_crypto::{EventId, Hash32};
use causerie_room::{
    EventStatus, MAX_AUTH_EVENTS, MAX_EVENT_BYTES, MAX_FORWARD_EXTREMITIES, MAX_PREV_EVENTS,
    Outcome, RefuseReason,
};
use support::*;

#[test]
fn event_size_limit() {
    let (alice, bob) = (User::new(1), User::new(2));
    let (mut view, _) = View::create(&alice, &[&bob]);
    view.join(&bob);
    let draft = view.draft(
        &bob,
        kinds::MESSAGE,
        None,
        text("body", &"x".repeat(60_000)),
    );
    let len = draft.clone().sign(&bob.secret).unwrap().as_bytes().len();
    let exact = 60_000 + (MAX_EVENT_BYTES - len);
    let mut at_limit = draft.clone();
    at_limit.content = text("body", &"x".repeat(exact));
    let event = at_limit.sign(&bob.secret).unwrap();
    assert_eq!(event.as_bytes().len(), MAX_EVENT_BYTES);
    let receipt = view.room.receive(event.clone(), view.now);
    assert!(matches!(
        receipt.outcome_of(&event.id()),
        Some(Outcome::Accepted { .. })
    ));

    let mut over = draft;
    over.content = text("body", &"x".repeat(exact + 1));
    let err = over.sign(&bob.secret).unwrap_err();
    assert_eq!(err.reason(), "event_too_large");
}

/// Alice's room joined by Bob, and `count` concurrent messages of Bob's on top of it, each
/// from its own stale copy of the room (not delivered): Alice, the room and the messages.
fn forked(count: usize) -> (User, View, Vec<causerie_crypto::Event>) {
    let (alice, bob) = (User::new(1), User::new(2));
    let (mut view, _) = View::create(&alice, &[&bob]);
    view.join(&bob);
    let forks = (0..count)
        .map(|i| {
            let mut copy = view.clone();
            copy.message(&bob, &format!("fork {i}"))
        })
        .collect();
    (alice, view, forks)
}

#[test]
fn prev_events_limit() {
    let (alice, mut view, forks) = forked(MAX_PREV_EVENTS + 1);
    view.deliver(&forks);
    assert_eq!(view.room.extremities().len(), MAX_PREV_EVENTS + 1);
    // prepare caps at the limit; an event with exactly MAX_PREV_EVENTS parents is accepted.
    let merge = view.message(&alice, "merge");
    assert_eq!(merge.prev_events().len(), MAX_PREV_EVENTS);
    assert_eq!(view.room.extremities().len(), 2);
    // One more parent cannot even be signed (crypto enforces the envelope limit).
    let mut too_many = view.draft(&alice, kinds::MESSAGE, None, text("body", "x"));
    too_many.prev_events = forks.iter().map(|e| e.id()).collect();
    assert_eq!(too_many.prev_events.len(), MAX_PREV_EVENTS + 1);
    assert_eq!(
        too_many.sign(&alice.secret).unwrap_err().reason(),
        "too_many_prev_events"
    );
}

#[test]
fn auth_events_limit() {
    let alice = User::new(1);
    let (mut view, events) = View::create(&alice, &[]);
    let mut draft = view.draft(&alice, kinds::MESSAGE, None, text("body", "x"));
    // Ten distinct ids sign; the rules never need more than five, so the engine refuses the
    // irrelevant or duplicated ones by name.
    draft.auth_events = (0..MAX_AUTH_EVENTS as u8)
        .map(|i| EventId(Hash32([i; 32])))
        .collect();
    draft.auth_events[..4].copy_from_slice(&events.iter().map(|e| e.id()).collect::<Vec<_>>());
    let ten = draft.clone().sign(&alice.secret).unwrap();
    let receipt = view.room.receive(ten.clone(), view.now);
    assert!(matches!(
        receipt.outcome_of(&ten.id()),
        Some(Outcome::Held { .. })
    ));
    draft.auth_events.push(EventId(Hash32([99; 32])));
    assert_eq!(
        draft.sign(&alice.secret).unwrap_err().reason(),
        "too_many_auth_events"
    );
}

#[test]
fn forward_extremities_limit() {
    let (alice, mut view, forks) = forked(MAX_FORWARD_EXTREMITIES + 1);
    let (last, first) = forks.split_last().unwrap();
    view.deliver(first);
    assert_eq!(view.room.extremities().len(), MAX_FORWARD_EXTREMITIES);
    let receipt = view.room.receive(last.clone(), view.now);
    assert_eq!(
        receipt.outcome_of(&last.id()),
        Some(&Outcome::Refused(RefuseReason::TooManyExtremities))
    );
    assert_eq!(view.room.status(&last.id()), EventStatus::Unknown);
    // A merge (which removes extremities) is taken at the limit; then the refused event fits.
    let merge = view.message(&alice, "merge");
    assert_eq!(
        view.room.extremities().len(),
        MAX_FORWARD_EXTREMITIES - MAX_PREV_EVENTS + 1
    );
    assert!(view.accepted(&merge));
    let receipt = view.room.receive(last.clone(), view.now);
    assert!(matches!(
        receipt.outcome_of(&last.id()),
        Some(Outcome::Accepted { .. })
    ));
}
