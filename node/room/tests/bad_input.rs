//! Bad input: every malformed or unauthorized event is rejected with its named reason and leaves
//! the engine's state unchanged except the bookkeeping (the rejected set). specs/rooms.md,
//! "Checks on receipt".

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

#[path = "support/room.rs"]
mod support;

use causerie_crypto::event::kinds;
use causerie_crypto::{Assurance, AttestationDraft, Content, Event, EventId};
use causerie_room::{EventStatus, Membership, Outcome, RefuseReason, RejectReason};
use support::*;

/// Receives `event` and checks that it is rejected for `reason` (by reason name and, for auth
/// failures, the failed rule) without touching the state.
fn assert_rejected(view: &mut View, event: &Event, reason: &str, detail: &str) {
    let before = snapshot(&view.room);
    let receipt = view.room.receive(event.clone(), view.now);
    match receipt.outcome_of(&event.id()) {
        Some(Outcome::Rejected(r)) => {
            assert_eq!((r.reason(), r.detail()), (reason, detail), "{r}");
        }
        other => panic!("expected rejection {reason}/{detail}, got {other:?}"),
    }
    assert_eq!(snapshot(&view.room), before);
    assert!(matches!(
        view.room.status(&event.id()),
        EventStatus::Rejected(_)
    ));
    assert!(receipt.visibility.is_empty() && receipt.extremities.is_none());
}

fn ids(events: &[&Event]) -> Vec<EventId> {
    events.iter().map(|e| e.id()).collect()
}

struct Room1 {
    view: View,
    alice: User,
    bob: User,
    mallory: User,
    create: Event,
    power: Event,
    rules: Event,
    bob_join: Event,
}

fn room() -> Room1 {
    let (alice, bob, mallory) = (User::new(1), User::new(2), User::new(4));
    let (mut view, events) = View::create(&alice, &[&bob, &mallory]);
    let bob_join = view.join(&bob);
    Room1 {
        create: events[0].clone(),
        power: events[2].clone(),
        rules: events[3].clone(),
        view,
        alice,
        bob,
        mallory,
        bob_join,
    }
}

impl Room1 {
    fn tip(&self) -> (Vec<EventId>, u64) {
        let tips = self.view.room.extremities();
        let depth = tips
            .iter()
            .filter_map(|t| self.view.room.event(t))
            .map(Event::depth)
            .max()
            .unwrap();
        (tips, depth + 1)
    }

    /// Signs `user`'s event on the current tips with exactly `auth` as its auth events.
    fn on_tip(
        &self,
        user: &User,
        kind: &str,
        state_key: Option<&str>,
        content: Content,
        auth: Vec<EventId>,
    ) -> Event {
        let (prevs, depth) = self.tip();
        let room = self.create.room_id();
        raw(user, room, kind, state_key, content, prevs, auth, depth)
    }
}

#[test]
fn event_of_another_room_is_rejected() {
    let mut r = room();
    let (mut other, _) = View::create(&r.bob, &[]);
    let foreign = other.message(&r.bob, "elsewhere");
    assert_rejected(&mut r.view, &foreign, "wrong_room", "wrong_room");
}

#[test]
fn reference_into_another_room_is_rejected_in_either_order() {
    let r = room();
    let (mut other, _) = View::create(&r.bob, &[]);
    let foreign = other.message(&r.bob, "elsewhere");
    let (mut prevs, depth) = r.tip();
    prevs.push(foreign.id());
    let depth = depth.max(foreign.depth() + 1);
    let auth = ids(&[&r.create, &r.power, &r.bob_join]);
    let sneaky = raw(
        &r.bob,
        r.create.room_id(),
        kinds::MESSAGE,
        None,
        text("body", "x"),
        prevs,
        auth,
        depth,
    );

    // Foreign event first.
    let mut first = r.view.clone();
    first.deliver(std::slice::from_ref(&foreign));
    assert_rejected(
        &mut first,
        &sneaky,
        "foreign_reference",
        "foreign_reference",
    );

    // Referencing event first: held, then rejected when the foreign event shows up.
    let mut second = r.view.clone();
    let before = snapshot(&second.room);
    let receipt = second.room.receive(sneaky.clone(), second.now);
    assert_eq!(
        receipt.outcome_of(&sneaky.id()),
        Some(&Outcome::Held {
            missing_events: vec![foreign.id()],
            missing_attestation: None
        })
    );
    let receipt = second.room.receive(foreign.clone(), second.now);
    assert_eq!(
        receipt.outcome_of(&foreign.id()),
        Some(&Outcome::Rejected(RejectReason::WrongRoom))
    );
    assert_eq!(
        receipt.outcome_of(&sneaky.id()),
        Some(&Outcome::Rejected(RejectReason::ForeignReference(
            foreign.id()
        )))
    );
    assert_eq!(snapshot(&second.room), before);
}

#[test]
fn unknown_parents_hold_events_until_they_arrive() {
    let r = room();
    let mut author = r.view.clone();
    let a = author.message(&r.bob, "a");
    let b = author.message(&r.bob, "b");
    let c = author.message(&r.alice, "c");
    let mut view = r.view.clone();
    let before = snapshot(&view.room);
    for event in [&c, &b] {
        let receipt = view.room.receive(event.clone(), view.now);
        assert!(matches!(
            receipt.outcome_of(&event.id()),
            Some(Outcome::Held { .. })
        ));
        assert_eq!(view.room.status(&event.id()), EventStatus::Held);
    }
    // C waits for B (held, not accepted), B waits for A.
    let mut expected = vec![a.id(), b.id()];
    expected.sort();
    assert_eq!(view.room.missing_events(), expected);
    // Nothing changes while they wait, whatever else arrives.
    assert_eq!(snapshot(&view.room).accepted, before.accepted);
    assert_eq!(view.room.outlier_count(), 2);
    let receipt = view.room.receive(a.clone(), view.now);
    let accepted: Vec<EventId> = receipt
        .decisions
        .iter()
        .filter(|d| matches!(d.outcome, Outcome::Accepted { .. }))
        .map(|d| d.event)
        .collect();
    assert_eq!(accepted, ids(&[&a, &b, &c]));
    assert_eq!(view.room.outlier_count(), 0);
    assert_eq!(receipt.extremities, Some(vec![c.id()]));
}

#[test]
fn an_event_cannot_reference_itself_and_cycle_looking_depths_are_rejected() {
    let r = room();
    let (prevs, depth) = r.tip();
    let auth = ids(&[&r.create, &r.power, &r.bob_join]);
    let room_id = r.create.room_id();
    let bobs_message = |body: &str, prevs: Vec<EventId>, depth: u64| {
        let content = text("body", body);
        raw(
            &r.bob,
            room_id,
            kinds::MESSAGE,
            None,
            content,
            prevs,
            auth.clone(),
            depth,
        )
    };
    let first = bobs_message("1", prevs.clone(), depth);
    // Naming an id in the references changes the id: the id is a hash over the references, so an
    // event can only name itself by finding a SHA-256 fixed point.
    let mut with_guess = prevs.clone();
    with_guess.push(first.id());
    let second = bobs_message("1", with_guess, depth + 1);
    assert_ne!(second.id(), first.id());
    assert!(!second.references().contains(&second.id()));

    // A child that claims no more depth than its parent looks like a cycle: rejected.
    let mut view = r.view.clone();
    view.deliver(std::slice::from_ref(&first));
    let flat = bobs_message("2", vec![first.id()], first.depth());
    assert_rejected(&mut view, &flat, "bad_depth", "bad_depth");
    let backwards = bobs_message("3", vec![first.id()], first.depth() - 1);
    assert_rejected(&mut view, &backwards, "bad_depth", "bad_depth");
    let skipping = bobs_message("4", vec![first.id()], first.depth() + 2);
    assert_rejected(&mut view, &skipping, "bad_depth", "bad_depth");
}

#[test]
fn auth_events_that_do_not_authorize_are_rejected() {
    let mut r = room();
    let room_id = r.create.room_id();
    let hello = r.view.message(&r.alice, "hello");
    let (prevs, depth) = r.tip();
    let message2 = |auth: Vec<EventId>| {
        raw(
            &r.bob,
            room_id,
            kinds::MESSAGE,
            None,
            text("body", "y"),
            prevs.clone(),
            auth,
            depth,
        )
    };

    let no_membership = message2(ids(&[&r.create, &r.power]));
    assert_rejected(
        &mut r.view,
        &no_membership,
        "auth_failed_own",
        "not_a_member",
    );
    let not_state = message2(ids(&[&r.create, &r.power, &r.bob_join, &hello]));
    assert_rejected(
        &mut r.view,
        &not_state,
        "wrong_auth_event",
        "wrong_auth_event",
    );
    let irrelevant = message2(ids(&[&r.create, &r.power, &r.bob_join, &r.rules]));
    assert_rejected(
        &mut r.view,
        &irrelevant,
        "wrong_auth_event",
        "wrong_auth_event",
    );
    let no_create = message2(ids(&[&r.power, &r.bob_join]));
    assert_rejected(
        &mut r.view,
        &no_create,
        "missing_auth_event",
        "missing_auth_event",
    );

    // Two entries for one (kind, state key): Bob's join and a later join (display name change).
    let mut content = member(Membership::Join);
    content.insert("display_name".into(), "bobby".into());
    let rejoin = r
        .view
        .send(&r.bob, kinds::MEMBER, Some(&r.bob.hex()), content);
    let twice = r.on_tip(
        &r.bob,
        kinds::MESSAGE,
        None,
        text("body", "z"),
        ids(&[&r.create, &r.power, &r.bob_join, &rejoin]),
    );
    assert_rejected(
        &mut r.view,
        &twice,
        "duplicate_auth_event",
        "duplicate_auth_event",
    );

    // Own auth events say "joined", the state before the event says "left".
    let leave = r.view.set_member(&r.bob, &r.bob, Membership::Leave);
    let stale_auth = r.on_tip(
        &r.bob,
        kinds::MESSAGE,
        None,
        text("body", "still here?"),
        ids(&[&r.create, &r.power, &rejoin]),
    );
    assert!(r.view.room.extremities().contains(&leave.id()));
    assert_rejected(
        &mut r.view,
        &stale_auth,
        "auth_failed_state",
        "not_a_member",
    );
}

#[test]
fn forged_membership_by_a_non_member_is_rejected() {
    let mut r = room();
    let mallory = &r.mallory;
    let auth = ids(&[&r.create, &r.power, &r.rules, &r.bob_join]);
    // Mallory (never joined) claims Bob left.
    let forged = r.on_tip(
        mallory,
        kinds::MEMBER,
        Some(&r.bob.hex()),
        member(Membership::Leave),
        auth.clone(),
    );
    assert_rejected(&mut r.view, &forged, "auth_failed_own", "not_a_member");
    // Mallory "joins" on Bob's behalf.
    let on_behalf = r.on_tip(
        mallory,
        kinds::MEMBER,
        Some(&r.bob.hex()),
        member(Membership::Join),
        auth,
    );
    assert_rejected(
        &mut r.view,
        &on_behalf,
        "auth_failed_own",
        "sender_not_target",
    );
    // Mallory talks without joining.
    let talk = r.on_tip(
        mallory,
        kinds::MESSAGE,
        None,
        text("body", "hi"),
        ids(&[&r.create, &r.power]),
    );
    assert_rejected(&mut r.view, &talk, "auth_failed_own", "not_a_member");
    // Bob (a plain member) tries to ban Alice.
    let auth = ids(&[&r.create, &r.power, &r.bob_join]);
    let ban = r.on_tip(
        &r.bob,
        kinds::MEMBER,
        Some(&r.alice.hex()),
        member(Membership::Ban),
        auth,
    );
    assert_rejected(&mut r.view, &ban, "auth_failed_own", "insufficient_power");
}

#[test]
fn attestations_must_match_be_valid_and_known() {
    let mut r = room();
    let (prevs, depth) = r.tip();
    let room_id = r.create.room_id();
    let auth = ids(&[&r.create, &r.power, &r.bob_join]);
    let build = |attestation: causerie_crypto::AttestationId, origin_ts: u64| {
        causerie_crypto::EventDraft {
            room: Some(room_id),
            author: r.bob.key,
            kind: kinds::MESSAGE.into(),
            state_key: None,
            content: text("body", "x"),
            prev_events: prevs.clone(),
            auth_events: auth.clone(),
            depth,
            origin_ts,
            attestation,
        }
        .sign(&r.bob.secret)
        .unwrap()
    };
    let borrowed = build(r.alice.attestation.id(), T0 + 5);
    assert_rejected(
        &mut r.view,
        &borrowed,
        "attestation_mismatch",
        "attestation_mismatch",
    );
    let expired = build(r.bob.attestation.id(), T0 + 300 * DAY_MS);
    let now = r.view.now;
    r.view.now = T0 + 300 * DAY_MS;
    assert_rejected(
        &mut r.view,
        &expired,
        "attestation_expired",
        "attestation_expired",
    );
    r.view.now = now;

    let fresh = AttestationDraft {
        user: r.bob.key,
        handle: "bob".into(),
        assurance: Assurance::Identity,
        not_before: T0,
        not_after: T0 + DAY_MS,
    }
    .sign(&home())
    .unwrap();
    let waiting = build(fresh.id(), T0 + 7);
    let receipt = r.view.room.receive(waiting.clone(), r.view.now);
    assert_eq!(
        receipt.outcome_of(&waiting.id()),
        Some(&Outcome::Held {
            missing_events: vec![],
            missing_attestation: Some(fresh.id())
        })
    );
    assert_eq!(r.view.room.missing_attestations(), vec![fresh.id()]);
    let receipt = r.view.room.add_attestation(fresh).unwrap();
    assert!(matches!(
        receipt.outcome_of(&waiting.id()),
        Some(Outcome::Accepted {
            soft_failed: false,
            ..
        })
    ));
}

#[test]
fn events_from_the_future_are_refused_not_recorded() {
    let mut r = room();
    let ahead = causerie_room::MAX_FUTURE_SKEW_MS;
    let draft = r
        .view
        .draft(&r.bob, kinds::MESSAGE, None, text("body", "early"));
    let ts = draft.origin_ts;
    let event = draft.sign(&r.bob.secret).unwrap();
    let before = snapshot(&r.view.room);
    let receipt = r.view.room.receive(event.clone(), ts - ahead - 1);
    assert_eq!(
        receipt.outcome_of(&event.id()),
        Some(&Outcome::Refused(RefuseReason::FromFuture))
    );
    assert_eq!(r.view.room.status(&event.id()), EventStatus::Unknown);
    assert_eq!(snapshot(&r.view.room), before);
    // Exactly at the skew limit it is taken.
    let receipt = r.view.room.receive(event.clone(), ts - ahead);
    assert!(matches!(
        receipt.outcome_of(&event.id()),
        Some(Outcome::Accepted { .. })
    ));
    let again = r.view.room.receive(event.clone(), ts);
    assert_eq!(
        again.outcome_of(&event.id()),
        Some(&Outcome::Refused(RefuseReason::Duplicate))
    );
}
