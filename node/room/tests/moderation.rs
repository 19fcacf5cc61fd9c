//! Moderator actions as room rules (specs/moderation.md §1): temporary bans and mutes end at
//! the same point of the room's history whatever the arrival order, a mute stops everything but
//! the muted user's own leave (rejected against the event's own auth events, soft-failed against
//! the effective state), and ban-and-purge shows every earlier or concurrent event of its target
//! redacted, held and soft-failed ones included, idempotently, and nothing sent after a rejoin.

#![allow(clippy::unwrap_used)]

#[path = "support/room.rs"]
mod support;

use causerie_crypto::event::kinds;
use causerie_crypto::{Content, Event, EventId, Value};
use causerie_room::{EventStatus, Membership, Outcome};
use support::*;

fn ban(reason: &str, expires: Option<u64>, purge: bool) -> Content {
    let mut content = member(Membership::Ban);
    content.insert("reason".into(), reason.into());
    if let Some(end) = expires {
        content.insert("expires".into(), Value::Integer(end as i64));
    }
    if purge {
        content.insert("purge".into(), Value::Bool(true));
    }
    content
}

fn mute(muted: bool, expires: Option<u64>) -> Content {
    let mut content = Content::new();
    content.insert("muted".into(), Value::Bool(muted));
    if let Some(end) = expires {
        content.insert("expires".into(), Value::Integer(end as i64));
    }
    content
}

/// Signs `user`'s event on `view` at `origin_ts` without receiving it.
fn signed_at(
    view: &mut View,
    user: &User,
    kind: &str,
    state_key: Option<&str>,
    content: Content,
    origin_ts: u64,
) -> Event {
    view.now = origin_ts - 1;
    view.draft(user, kind, state_key, content)
        .sign(&user.secret)
        .unwrap()
}

/// Signs `user`'s message `body` on `view` at `origin_ts` without receiving it.
fn message_at(view: &mut View, user: &User, body: &str, origin_ts: u64) -> Event {
    signed_at(
        view,
        user,
        kinds::MESSAGE,
        None,
        text("body", body),
        origin_ts,
    )
}

/// Signs `user`'s own join on `view` at `origin_ts` without receiving it.
fn join_at(view: &mut View, user: &User, origin_ts: u64) -> Event {
    let join = member(Membership::Join);
    signed_at(
        view,
        user,
        kinds::MEMBER,
        Some(&user.hex()),
        join,
        origin_ts,
    )
}

/// Receives `event` on `view` at `now`; the rejection's names, `None` if it was accepted.
fn receive_at(view: &mut View, event: &Event, now: u64) -> Option<(&'static str, &'static str)> {
    let receipt = view.room.receive(event.clone(), now);
    rejection(&receipt, event)
}

/// A fork of `view` in which `user` says one message just before `end` (received) and one at
/// `end` (signed, not received): the two sides of a temporary ban's or mute's end.
fn messages_around(view: &View, user: &User, end: u64) -> (Event, Event) {
    let mut fork = view.clone();
    let early = message_at(&mut fork, user, "before the end", end - 1);
    fork.room.receive(early.clone(), end);
    let late = message_at(&mut fork, user, "at the end", end);
    (early, late)
}

/// Where every event stands, for comparing nodes.
fn statuses(view: &View, events: &[Event]) -> Vec<(EventId, EventStatus)> {
    events
        .iter()
        .map(|e| (e.id(), view.room.status(&e.id())))
        .collect()
}

/// Delivers `events` to a copy of `base` in each of several orders (children before their
/// parents included: they wait as held events) and asserts every copy ends the same.
fn same_everywhere(base: &View, events: &[Event]) -> View {
    let mut orders = vec![events.to_vec()];
    let mut reversed = events.to_vec();
    reversed.reverse();
    orders.push(reversed);
    let mut interleaved: Vec<Event> = events.iter().step_by(2).cloned().collect();
    interleaved.extend(events.iter().skip(1).step_by(2).cloned());
    orders.push(interleaved);
    let mut first: Option<(View, Vec<(EventId, EventStatus)>)> = None;
    for order in orders {
        let mut view = base.clone();
        view.now = events.iter().map(Event::origin_ts).max().unwrap_or(T0) + 1;
        view.deliver(&order);
        let got = statuses(&view, events);
        match &first {
            None => first = Some((view, got)),
            Some((_, expected)) => assert_eq!(&got, expected),
        }
    }
    first.unwrap().0
}

/// Alice's room with Eve joined, the end of a restriction still to come (1 s after now), and
/// Eve's fork from before the restriction: one message just before the end, one at it.
struct BeforeRestriction {
    alice: User,
    eve: User,
    view: View,
    end: u64,
    early: Event,
    late: Event,
}

fn before_restriction() -> BeforeRestriction {
    let (alice, eve) = (User::new(1), User::new(5));
    let view = View::with_members(&alice, &[&eve]);
    let end = view.now + 1_000;
    let (early, late) = messages_around(&view, &eve, end);
    BeforeRestriction {
        alice,
        eve,
        view,
        end,
        early,
        late,
    }
}

#[test]
fn a_temporary_ban_ends_at_the_same_point_of_history_everywhere() {
    let BeforeRestriction {
        alice,
        eve,
        mut view,
        end,
        early: fork_early,
        late: fork_late,
    } = before_restriction();
    let base = view.clone();
    let banned = view.send(
        &alice,
        kinds::MEMBER,
        Some(&eve.hex()),
        ban("spam", Some(end), false),
    );
    // After the ban: a join before the end is rejected, one at the end is accepted.
    let join_early = join_at(&mut view, &eve, end - 1);
    assert_eq!(
        receive_at(&mut view, &join_early, end),
        Some(("auth_failed_own", "banned"))
    );
    let join_late = join_at(&mut view, &eve, end);
    assert_eq!(receive_at(&mut view, &join_late, end + 1), None);
    let back = view.message(&eve, "back");
    // Both fork messages are hidden (the ban did not happen after them): the one before the
    // end because she is banned then, the one at the end because an ended ban is a leave.
    let merged = same_everywhere(
        &base,
        &[fork_early.clone(), fork_late.clone(), banned.clone()],
    );
    let why = |event: &Event| {
        merged
            .room
            .soft_fail_reason(&event.id())
            .map(|e| e.reason())
    };
    assert_eq!(why(&fork_early), Some("banned"));
    assert_eq!(why(&fork_late), Some("not_a_member"));
    // With her rejoin (a newer membership, not built on the fork) the fork is judged against
    // the join (rooms.md §4), on every node alike.
    let events = [
        fork_early.clone(),
        fork_late.clone(),
        banned,
        join_early.clone(),
        join_late.clone(),
        back.clone(),
    ];
    let merged = same_everywhere(&base, &events);
    assert!(matches!(
        merged.room.status(&join_early.id()),
        EventStatus::Rejected(_)
    ));
    assert!(merged.visible(&join_late) && merged.visible(&back));
    assert_eq!(merged.room.membership(&eve.key), Some(Membership::Join));
}

#[test]
fn an_unban_lifts_a_temporary_ban_at_once() {
    let (alice, eve) = (User::new(1), User::new(5));
    let mut view = View::with_members(&alice, &[&eve]);
    let end = view.now + 100_000;
    view.send(
        &alice,
        kinds::MEMBER,
        Some(&eve.hex()),
        ban("", Some(end), false),
    );
    view.set_member(&alice, &eve, Membership::Leave);
    view.join(&eve);
    view.message(&eve, "long before the end");
}

#[test]
fn a_muted_user_may_only_leave_until_unmuted_or_the_end() {
    let (alice, bob, eve) = (User::new(1), User::new(2), User::new(5));
    let mut view = View::with_members(&alice, &[&bob, &eve]);
    // Power: bob (level 0) may not mute; nobody may mute the creator or themselves.
    let mute_by_bob = |view: &mut View, target: &str, content: Content| {
        view.rejected_by(&bob, kinds::MUTE, Some(target), content)
    };
    let power = Some("insufficient_power");
    assert_eq!(mute_by_bob(&mut view, &eve.hex(), mute(true, None)), power);
    view.power(&alice, &[(&bob, 50)]);
    assert_eq!(
        mute_by_bob(&mut view, &alice.hex(), mute(true, None)),
        power
    );
    assert_eq!(mute_by_bob(&mut view, &bob.hex(), mute(true, None)), power);
    assert_eq!(
        mute_by_bob(&mut view, "eve", mute(true, None)),
        Some("bad_state_key")
    );
    let mut bad = mute(true, None);
    bad.insert("muted".into(), "yes".into());
    assert_eq!(mute_by_bob(&mut view, &eve.hex(), bad), Some("bad_content"));

    let before_mute = view.clone();
    view.send(&bob, kinds::MUTE, Some(&eve.hex()), mute(true, None));
    // Through the node's own preparation (the mute is among the auth events): rejected.
    let (said, receipt) = view.try_send(&eve, kinds::MESSAGE, None, text("body", "hi"));
    assert_eq!(
        rejection(&receipt, &said),
        Some(("auth_failed_own", "muted"))
    );
    assert_eq!(
        view.rejected_by(&eve, kinds::TOPIC, Some(""), text("topic", "x")),
        Some("muted")
    );
    // A modified client that leaves the mute out of the auth events: the state before has it.
    let draft = view.draft(&eve, kinds::MESSAGE, None, text("body", "sneaky"));
    let mut draft = draft;
    let mute_id = view.state_id(kinds::MUTE, &eve.hex()).unwrap();
    draft.auth_events.retain(|id| *id != mute_id);
    let sneaky = draft.sign(&eve.secret).unwrap();
    let now = view.now;
    assert_eq!(
        receive_at(&mut view, &sneaky, now),
        Some(("auth_failed_state", "muted"))
    );
    // A fork from before the mute (concurrent with it): accepted, but soft-failed.
    let mut fork = before_mute.clone();
    fork.now = view.now;
    let forked = fork.message(&eve, "from the past");
    view.deliver(std::slice::from_ref(&forked));
    assert!(view.accepted(&forked) && !view.visible(&forked));
    assert_eq!(
        view.room.soft_fail_reason(&forked.id()).map(|e| e.reason()),
        Some("muted")
    );
    // She may leave, not come back while muted.
    view.set_member(&eve, &eve, Membership::Leave);
    let rejoin = member(Membership::Join);
    assert_eq!(
        view.rejected_by(&eve, kinds::MEMBER, Some(&eve.hex()), rejoin),
        Some("muted")
    );
    // Unmuted: she joins and speaks again.
    view.send(&bob, kinds::MUTE, Some(&eve.hex()), mute(false, None));
    view.join(&eve);
    view.message(&eve, "thanks");
    // A temporary mute ends at its `expires`, judged by each event's origin_ts.
    let end = view.now + 10_000;
    view.send(&bob, kinds::MUTE, Some(&eve.hex()), mute(true, Some(end)));
    let early = message_at(&mut view, &eve, "early", end - 1);
    assert_eq!(
        receive_at(&mut view, &early, end),
        Some(("auth_failed_own", "muted"))
    );
    let late = message_at(&mut view, &eve, "late", end);
    assert_eq!(receive_at(&mut view, &late, end), None);
    assert!(view.visible(&late));
}

#[test]
fn a_mute_concurrent_with_messages_hides_the_same_ones_everywhere() {
    let mut r = before_restriction();
    let base = r.view.clone();
    let content = mute(true, Some(r.end));
    let muted = r
        .view
        .send(&r.alice, kinds::MUTE, Some(&r.eve.hex()), content);
    let merged = same_everywhere(&base, &[r.early.clone(), r.late.clone(), muted]);
    assert!(merged.accepted(&r.early) && !merged.visible(&r.early));
    assert!(merged.visible(&r.late));
}

fn redacted(view: &View, event: &Event) -> bool {
    matches!(view.room.status(&event.id()), EventStatus::Accepted(shown) if shown.redacted)
}

#[test]
fn ban_and_purge_redacts_everything_the_target_sent_before_or_concurrently() {
    let (alice, bob, eve) = (User::new(1), User::new(2), User::new(5));
    let (mut view, _) = View::create(&alice, &[&bob, &eve]);
    view.join(&bob);
    let eve_join = view.join(&eve);
    let first = view.message(&eve, "first distinctive text");
    let bobs = view.message(&bob, "bob stays");
    // Eve's fork from before the purge (shown to nobody yet) and a child of it that arrives
    // before its parent (held).
    let mut fork = view.clone();
    let forked = fork.message(&eve, "forked text");
    let held = fork.message(&eve, "held text");
    let second = view.message(&eve, "second text");
    let purge = view.send(
        &alice,
        kinds::MEMBER,
        Some(&eve.hex()),
        ban("abuse", None, true),
    );
    for event in [&eve_join, &first, &second] {
        assert!(redacted(&view, event), "{event:?}");
    }
    assert!(!redacted(&view, &bobs) && !redacted(&view, &purge));
    assert_eq!(
        view.room.shown_event(&first.id()).unwrap().content(),
        &Content::new()
    );
    // The member event keeps its membership (events.md §5): the DAG still works.
    assert!(
        view.room
            .shown_event(&eve_join.id())
            .unwrap()
            .content()
            .contains_key("membership")
    );
    let receipt = view.room.receive(held.clone(), view.now);
    assert!(matches!(
        receipt.outcome_of(&held.id()),
        Some(Outcome::Held { .. })
    ));
    let receipt = view.room.receive(forked.clone(), view.now);
    // Both accepted (soft-failed: she is banned) and reported redacted, so the node stores the
    // redacted form.
    for event in [&forked, &held] {
        assert!(view.accepted(event) && !view.visible(event));
        assert!(redacted(&view, event));
        assert!(
            receipt
                .visibility
                .iter()
                .any(|c| c.event == event.id() && c.shown.redacted),
            "{receipt:?}"
        );
    }
    // A second purge changes nothing.
    let (again, receipt) = view.try_send(
        &alice,
        kinds::MEMBER,
        Some(&eve.hex()),
        ban("again", None, true),
    );
    assert!(view.accepted(&again));
    assert_eq!(
        receipt
            .visibility
            .iter()
            .map(|c| c.event)
            .collect::<Vec<_>>(),
        vec![again.id()],
        "only the new ban itself is reported"
    );
    // After an unban and a rejoin, what she sends (descending from the purges) stays.
    view.set_member(&alice, &eve, Membership::Leave);
    let rejoin = view.join(&eve);
    let after = view.message(&eve, "after");
    assert!(!redacted(&view, &rejoin) && !redacted(&view, &after));
    assert!(redacted(&view, &first));
    // Every arrival order gives the same.
    let base = View::empty(view.room.room_id(), view.now, &[&alice, &bob, &eve]);
    let merged = same_everywhere(&base, &view.accepted_events());
    assert_eq!(merged.room.timeline(), view.room.timeline());
}

#[test]
fn a_purge_that_is_soft_failed_redacts_nothing() {
    let (alice, bob, eve) = (User::new(1), User::new(2), User::new(5));
    let mut view = View::with_members(&alice, &[&bob, &eve]);
    view.power(&alice, &[(&bob, 50)]);
    let said = view.message(&eve, "kept");
    // Bob's purge is concurrent with his demotion: hidden, so it purges nothing.
    let mut bobs = view.clone();
    let purge = bobs.send(&bob, kinds::MEMBER, Some(&eve.hex()), ban("", None, true));
    view.power(&alice, &[]);
    view.deliver(std::slice::from_ref(&purge));
    assert!(view.accepted(&purge) && !view.visible(&purge));
    assert!(!redacted(&view, &said));
}
