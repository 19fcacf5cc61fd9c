//! Held events (specs/rooms.md §8a): bounded per source and per author, forgotten after
//! `HELD_TTL_MS`, evicted from the largest holder when the room's budget is full, and every held
//! event that stops being held is reported with the source that sent it.

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

#[path = "support/room.rs"]
mod support;

use std::collections::BTreeMap;

use causerie_crypto::event::kinds;
use causerie_crypto::{AttestationId, Event, EventDraft, EventId, Hash32, RoomId, UserSecret};
use causerie_room::{
    AuthError, EventStatus, HELD_TTL_MS, HeldEnd, HeldEnded, MAX_HELD_PER_AUTHOR,
    MAX_HELD_PER_SOURCE, MAX_OUTLIERS, Outcome, Receipt, RefuseReason, RejectReason, Source,
};
use support::*;

fn peer(n: u32) -> Source {
    Source::peer(&n.to_be_bytes()).unwrap()
}

/// A throwaway author per number.
fn throwaway(n: u32) -> UserSecret {
    let mut seed = [7u8; 32];
    seed[..4].copy_from_slice(&n.to_be_bytes());
    UserSecret::from_seed(&seed)
}

/// A signed message that can never be judged: it names a parent and an attestation nobody has.
fn orphan(room: RoomId, author: &UserSecret, n: u32) -> Event {
    let n = n.to_be_bytes();
    EventDraft {
        room: Some(room),
        author: author.public(),
        kind: kinds::MESSAGE.to_owned(),
        state_key: None,
        content: text("body", "?"),
        prev_events: vec![EventId(Hash32::digest(&[b"nobody has this parent", &n]))],
        auth_events: vec![],
        depth: 5,
        origin_ts: T0 + 1_000,
        attestation: AttestationId(Hash32::digest(&[b"nobody has this attestation", &n])),
    }
    .sign(author)
    .unwrap()
}

fn is_held(receipt: &Receipt, event: &Event) -> bool {
    matches!(receipt.outcome_of(&event.id()), Some(Outcome::Held { .. }))
}

fn refused(receipt: &Receipt, event: &Event) -> Option<RefuseReason> {
    match receipt.outcome_of(&event.id()) {
        Some(Outcome::Refused(reason)) => Some(*reason),
        _ => None,
    }
}

fn room() -> (View, RoomId) {
    let (view, events) = View::create(&User::new(1), &[]);
    let room = events[0].room_id();
    (view, room)
}

#[test]
fn one_source_holds_at_most_its_share() {
    let (mut view, room) = room();
    let cap = MAX_HELD_PER_SOURCE as u32;
    for n in 0..cap {
        let event = orphan(room, &throwaway(n), n);
        let receipt = view.room.receive_from(event.clone(), peer(1), view.now);
        assert!(is_held(&receipt, &event), "{n}: {receipt:?}");
    }
    assert_eq!(view.room.held_from(&peer(1)), MAX_HELD_PER_SOURCE);
    let over = orphan(room, &throwaway(cap), cap);
    let receipt = view.room.receive_from(over.clone(), peer(1), view.now);
    assert_eq!(
        refused(&receipt, &over),
        Some(RefuseReason::TooManyHeldFromSource)
    );
    assert_eq!(view.room.status(&over.id()), EventStatus::Unknown);
    // Another source still gets in, and the same event from it too.
    let receipt = view.room.receive_from(over.clone(), peer(2), view.now);
    assert!(is_held(&receipt, &over));
    assert_eq!(view.room.held_from(&peer(2)), 1);
    assert_eq!(view.room.outlier_count(), MAX_HELD_PER_SOURCE + 1);
}

#[test]
fn one_author_holds_at_most_its_share() {
    let (mut view, room) = room();
    let author = throwaway(0);
    let cap = MAX_HELD_PER_AUTHOR as u32;
    // Spread over sources: the author's cap holds across them.
    for n in 0..cap {
        let event = orphan(room, &author, n);
        let receipt = view.room.receive_from(event.clone(), peer(n % 3), view.now);
        assert!(is_held(&receipt, &event), "{n}: {receipt:?}");
    }
    let over = orphan(room, &author, cap);
    let receipt = view.room.receive_from(over.clone(), peer(99), view.now);
    assert_eq!(
        refused(&receipt, &over),
        Some(RefuseReason::TooManyHeldByAuthor)
    );
    // Another author from the same source is not affected.
    let other = orphan(room, &throwaway(1), cap + 1);
    let receipt = view.room.receive_from(other.clone(), peer(99), view.now);
    assert!(is_held(&receipt, &other));
}

#[test]
fn held_events_expire_and_report_their_source() {
    let (mut view, room) = room();
    let t = view.now;
    let (first, second) = (
        orphan(room, &throwaway(0), 0),
        orphan(room, &throwaway(1), 1),
    );
    assert!(is_held(
        &view.room.receive_from(first.clone(), peer(1), t),
        &first
    ));
    let half = HELD_TTL_MS / 2;
    assert!(is_held(
        &view.room.receive_from(second.clone(), peer(2), t + half),
        &second
    ));
    // One millisecond short of the TTL, nothing goes.
    let receipt = view.room.expire_held(t + HELD_TTL_MS - 1);
    assert!(receipt.held.is_empty(), "{receipt:?}");
    assert_eq!(view.room.outlier_count(), 2);
    // At the TTL the first goes, reported with its source; any call that passes the time
    // expires (here a receive).
    let third = orphan(room, &throwaway(2), 2);
    let receipt = view
        .room
        .receive_from(third.clone(), peer(3), t + HELD_TTL_MS);
    assert_eq!(
        receipt.held,
        vec![HeldEnded {
            event: first.clone(),
            source: peer(1),
            end: HeldEnd::Expired,
        }]
    );
    assert!(is_held(&receipt, &third));
    assert_eq!(view.room.status(&first.id()), EventStatus::Unknown);
    assert_eq!(view.room.status(&second.id()), EventStatus::Held);
    // Nothing was recorded: offered again, it is held again.
    let receipt = view
        .room
        .receive_from(first.clone(), peer(4), t + HELD_TTL_MS);
    assert!(is_held(&receipt, &first));
    let receipt = view.room.expire_held(t + half + HELD_TTL_MS);
    assert_eq!(
        receipt.held,
        vec![HeldEnded {
            event: second.clone(),
            source: peer(2),
            end: HeldEnd::Expired,
        }]
    );
}

/// Fills the room's budget with `counts[k]` held events from `peer(k)`, each by its own author.
fn fill(view: &mut View, room: RoomId, counts: &[usize]) -> BTreeMap<Source, Vec<Event>> {
    let mut held = BTreeMap::new();
    let mut n = 0u32;
    for (k, count) in counts.iter().enumerate() {
        for _ in 0..*count {
            let event = orphan(room, &throwaway(n), n);
            // Distinct times, so "oldest" is well defined.
            view.now += 1;
            let receipt = view
                .room
                .receive_from(event.clone(), peer(k as u32), view.now);
            assert!(is_held(&receipt, &event), "{receipt:?}");
            held.entry(peer(k as u32))
                .or_insert_with(Vec::new)
                .push(event);
            n += 1;
        }
    }
    held
}

#[test]
fn a_full_budget_evicts_from_the_largest_holder() {
    let (mut view, room) = room();
    // Every source at its cap fills the budget exactly.
    assert_eq!(MAX_OUTLIERS % MAX_HELD_PER_SOURCE, 0);
    let sources = MAX_OUTLIERS / MAX_HELD_PER_SOURCE;
    let filled = fill(&mut view, room, &vec![MAX_HELD_PER_SOURCE; sources]);
    assert_eq!(view.room.outlier_count(), MAX_OUTLIERS);

    // A new source is not refused: its event takes the oldest of the largest holder (all tie:
    // the smallest source, peer 0).
    let newcomer = peer(1_000);
    let mut n = 100_000u32;
    let first = orphan(room, &throwaway(n), n);
    let receipt = view.room.receive_from(first.clone(), newcomer, view.now);
    assert!(is_held(&receipt, &first));
    assert_eq!(
        receipt.held,
        vec![HeldEnded {
            event: filled[&peer(0)][0].clone(),
            source: peer(0),
            end: HeldEnd::Evicted,
        }]
    );
    assert_eq!(
        view.room.status(&filled[&peer(0)][0].id()),
        EventStatus::Unknown
    );

    // It keeps getting in, always at the expense of whoever holds the most, until it holds as
    // many as they do: then the budget is shared evenly.
    let mut evicted: BTreeMap<Source, usize> = BTreeMap::from([(peer(0), 1)]);
    loop {
        n += 1;
        let event = orphan(room, &throwaway(n), n);
        let receipt = view.room.receive_from(event.clone(), newcomer, view.now);
        if let Some(reason) = refused(&receipt, &event) {
            assert_eq!(reason, RefuseReason::TooManyOutliers);
            break;
        }
        assert!(is_held(&receipt, &event), "{receipt:?}");
        let [ended] = receipt.held.as_slice() else {
            panic!("one eviction per event: {receipt:?}");
        };
        assert_eq!(ended.end, HeldEnd::Evicted);
        *evicted.entry(ended.source).or_default() += 1;
        assert_eq!(view.room.outlier_count(), MAX_OUTLIERS);
    }
    let mut counts: Vec<usize> = (0..sources as u32)
        .map(|k| view.room.held_from(&peer(k)))
        .collect();
    counts.push(view.room.held_from(&newcomer));
    let (least, most) = (
        counts.iter().min().copied().unwrap(),
        counts.iter().max().copied().unwrap(),
    );
    assert!(most - least <= 1, "shared evenly: {counts:?}");
    assert_eq!(counts.iter().sum::<usize>(), MAX_OUTLIERS);
    assert!(evicted.keys().all(|s| *s != newcomer), "{evicted:?}");

    // Even now a source with nothing held gets in.
    let late = orphan(room, &throwaway(n + 1), n + 1);
    let receipt = view.room.receive_from(late.clone(), peer(2_000), view.now);
    assert!(is_held(&receipt, &late));
    assert_eq!(receipt.held.len(), 1);
    assert_eq!(receipt.held[0].end, HeldEnd::Evicted);
}

#[test]
fn a_held_event_rejected_later_reports_its_source() {
    let alice = User::new(1);
    let mallory = User::new(66);
    // Mallory's attestation is unknown to the room: her message waits for it.
    let (mut view, _) = View::create(&alice, &[]);
    let message = view
        .draft(&mallory, kinds::MESSAGE, None, text("body", "let me in"))
        .sign(&mallory.secret)
        .unwrap();
    let receipt = view.room.receive_from(message.clone(), peer(7), view.now);
    assert!(is_held(&receipt, &message));
    // Another message on top of it, from another peer, waits for it.
    let child = raw(
        &mallory,
        message.room_id(),
        kinds::MESSAGE,
        None,
        text("body", "on top"),
        vec![message.id()],
        message.auth_events().to_vec(),
        message.depth() + 1,
    );
    let receipt = view.room.receive_from(child.clone(), peer(8), view.now);
    assert!(is_held(&receipt, &child));

    let receipt = view
        .room
        .add_attestation(mallory.attestation.clone())
        .unwrap();
    let not_member = RejectReason::AuthFailedOwn(AuthError::NotAMember);
    assert_eq!(
        receipt.outcome_of(&message.id()),
        Some(&Outcome::Rejected(not_member))
    );
    assert_eq!(
        receipt.held,
        vec![
            HeldEnded {
                event: message.clone(),
                source: peer(7),
                end: HeldEnd::Rejected(not_member),
            },
            HeldEnded {
                event: child.clone(),
                source: peer(8),
                end: HeldEnd::Rejected(RejectReason::RejectedReference(message.id())),
            },
        ]
    );
    assert_eq!(view.room.outlier_count(), 0);
}

#[test]
fn a_released_event_accepted_reports_its_source() {
    let (alice, bob) = (User::new(1), User::new(2));
    let (mut view, _) = View::create(&alice, &[&bob]);
    view.join(&bob);
    let mut ahead = view.clone();
    let first = ahead.message(&bob, "first");
    let second = ahead.message(&bob, "second");
    let receipt = view.room.receive_from(second.clone(), peer(5), ahead.now);
    assert!(is_held(&receipt, &second));
    let receipt = view.room.receive(first.clone(), ahead.now);
    assert!(view.visible(&second));
    assert_eq!(
        receipt.held,
        vec![HeldEnded {
            event: second.clone(),
            source: peer(5),
            end: HeldEnd::Accepted { soft_failed: false },
        }]
    );
}

#[test]
fn an_event_held_again_keeps_its_source_and_time() {
    let alice = User::new(1);
    let carol = User::new(3);
    let (mut view, events) = View::create(&alice, &[]);
    let room = events[0].room_id();
    // Carol's attestation and a parent are both missing.
    let parent = EventId(Hash32::digest(&[b"a parent nobody has yet"]));
    let event = raw(
        &carol,
        room,
        kinds::MESSAGE,
        None,
        text("body", "?"),
        vec![parent],
        vec![events[0].id()],
        9,
    );
    let t = view.now;
    assert!(is_held(
        &view.room.receive_from(event.clone(), peer(5), t),
        &event
    ));
    // The attestation arrives: the event is re-evaluated and held again, for its parent only.
    let receipt = view
        .room
        .add_attestation(carol.attestation.clone())
        .unwrap();
    assert!(receipt.held.is_empty(), "still held: {receipt:?}");
    assert_eq!(view.room.status(&event.id()), EventStatus::Held);
    assert_eq!(view.room.held_from(&peer(5)), 1);
    assert_eq!(view.room.missing_attestations(), vec![]);
    assert_eq!(view.room.missing_events(), vec![parent]);
    // Its time still counts from the first hold.
    let receipt = view.room.expire_held(t + HELD_TTL_MS);
    assert_eq!(
        receipt.held,
        vec![HeldEnded {
            event: event.clone(),
            source: peer(5),
            end: HeldEnd::Expired,
        }]
    );
}

#[test]
fn what_a_source_waits_for_is_kept_apart() {
    let (mut view, room) = room();
    let (a, b) = (
        orphan(room, &throwaway(0), 0),
        orphan(room, &throwaway(1), 1),
    );
    view.room.receive_from(a.clone(), peer(1), view.now);
    view.room.receive_from(b.clone(), peer(2), view.now);
    let (events, attestations) = view.room.held_needs(&peer(1));
    assert_eq!(events, a.prev_events().to_vec());
    assert_eq!(attestations, vec![*a.attestation()]);
    assert_eq!(view.room.held_needs(&peer(3)), (vec![], vec![]));
    assert_eq!(view.room.missing_events().len(), 2);
}

#[test]
fn the_room_budget_at_its_edge() {
    let (mut view, room) = room();
    // One more source than the budget needs at the per-source cap: the budget is shared evenly
    // and fills before any source reaches its cap.
    let sources = MAX_OUTLIERS / MAX_HELD_PER_SOURCE + 1;
    let counts: Vec<usize> = (0..sources)
        .map(|k| MAX_OUTLIERS / sources + usize::from(k < MAX_OUTLIERS % sources))
        .collect();
    fill(&mut view, room, &counts);
    // At the limit every event is held.
    assert_eq!(view.room.outlier_count(), MAX_OUTLIERS);
    // One past it, from a source that already holds as many as anyone: refused, nothing evicted.
    let n = MAX_OUTLIERS as u32;
    let over = orphan(room, &throwaway(n), n);
    let receipt = view.room.receive_from(over.clone(), peer(0), view.now);
    assert_eq!(
        refused(&receipt, &over),
        Some(RefuseReason::TooManyOutliers)
    );
    assert!(receipt.held.is_empty());
    assert_eq!(view.room.status(&over.id()), EventStatus::Unknown);
    assert_eq!(view.room.outlier_count(), MAX_OUTLIERS);
}
