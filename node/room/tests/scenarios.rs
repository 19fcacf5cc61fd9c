//! Hand-written scenarios re-expressed from the Matrix state-resolution test corpus (ban vs
//! power-level races, concurrent joins, topic resets, demoted moderators, forks by banned users,
//! creator privileges), each with its expected resolved state. specs/rooms.md.

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

#[path = "support/room.rs"]
mod support;

use causerie_crypto::Event;
use causerie_crypto::event::kinds;
use causerie_room::{AuthError, Membership, Outcome, RejectReason};
use support::*;

/// Delivers both branches to a fresh copy of `base` in both orders and checks that the results
/// agree; returns one of them.
fn merge(base: &View, left: &[Event], right: &[Event]) -> View {
    let mut one = base.clone();
    one.deliver(left);
    one.deliver(right);
    let mut two = base.clone();
    two.deliver(right);
    two.deliver(left);
    assert_eq!(one.room.current_state(), two.room.current_state());
    assert_eq!(one.room.timeline(), two.room.timeline());
    assert_eq!(one.room.soft_failed_ids(), two.room.soft_failed_ids());
    one
}

/// Alice's room with Bob, a moderator (50), and Carol, all joined.
struct Moderated {
    base: View,
    alice: User,
    bob: User,
    carol: User,
}

fn moderated() -> Moderated {
    let (alice, bob, carol) = (User::new(1), User::new(2), User::new(3));
    let mut base = View::with_members(&alice, &[&bob, &carol]);
    base.power(&alice, &[(&bob, 50)]);
    Moderated {
        base,
        alice,
        bob,
        carol,
    }
}

impl Moderated {
    /// Alice sets the power levels `levels` on one branch while Bob bans Carol on the other;
    /// returns the merged view, Alice's change and the ban.
    fn power_races_ban(&self, levels: &[(&User, i64)]) -> (View, Event, Event) {
        let change = self.base.clone().power(&self.alice, levels);
        let ban = self
            .base
            .clone()
            .set_member(&self.bob, &self.carol, Membership::Ban);
        let merged = merge(
            &self.base,
            std::slice::from_ref(&change),
            std::slice::from_ref(&ban),
        );
        (merged, change, ban)
    }
}

#[test]
fn demoted_moderators_concurrent_ban_loses() {
    let room = moderated();
    let (merged, demote, ban) = room.power_races_ban(&[(&room.bob, 0)]);
    assert_eq!(
        merged.room.membership(&room.carol.key),
        Some(Membership::Join)
    );
    assert_eq!(merged.state_id(kinds::POWER_LEVELS, ""), Some(demote.id()));
    assert_eq!(merged.room.power_level(&room.bob.key), 0);
    // The ban passed against its own history (accepted), but not against the current state.
    assert!(merged.accepted(&ban));
    assert!(!merged.visible(&ban));
}

#[test]
fn ban_races_promotion_of_its_target() {
    let room = moderated();
    let (merged, _, ban) = room.power_races_ban(&[(&room.bob, 50), (&room.carol, 50)]);
    // The creator's change sorts first; against it, Bob may not ban an equal.
    assert_eq!(
        merged.room.membership(&room.carol.key),
        Some(Membership::Join)
    );
    assert_eq!(merged.room.power_level(&room.carol.key), 50);
    assert!(!merged.visible(&ban));
}

#[test]
fn ban_wins_over_concurrent_messages_and_state_of_the_banned() {
    let (alice, bob, mallory) = (User::new(1), User::new(2), User::new(4));
    let mut base = View::with_members(&alice, &[&bob, &mallory]);
    base.power(&alice, &[(&mallory, 50)]);
    let topic = base.topic(&alice, "welcome");
    let before_ban = base.message(&mallory, "hello before the ban");

    let mut main = base.clone();
    let ban = main.set_member(&alice, &mallory, Membership::Ban);
    let after = main.message(&bob, "after the ban");

    // Mallory's node never saw the ban: a fork from before it.
    let mut fork = base.clone();
    let forked_message = fork.message(&mallory, "forked");
    let forked_topic = fork.topic(&mallory, "mallory was here");
    let forked_kick = fork.set_member(&mallory, &bob, Membership::Leave);

    let merged = merge(
        &base,
        &[ban.clone(), after.clone()],
        &[
            forked_message.clone(),
            forked_topic.clone(),
            forked_kick.clone(),
        ],
    );
    assert_eq!(merged.room.membership(&mallory.key), Some(Membership::Ban));
    assert_eq!(merged.room.membership(&bob.key), Some(Membership::Join));
    assert_eq!(merged.state_id(kinds::TOPIC, ""), Some(topic.id()));
    for hidden in [&forked_message, &forked_topic, &forked_kick] {
        assert!(merged.accepted(hidden) && !merged.visible(hidden));
    }
    for shown in [&before_ban, &ban, &after] {
        assert!(merged.visible(shown));
    }

    // Later events merge the fork (prepare references every tip) and Mallory is unbanned and
    // rejoins: the fork stays hidden, because the rule looks at the latest membership that did
    // not happen after each forked event (the ban), not at the state before it.
    let mut later = merged.clone();
    let merge = later.message(&alice, "merge");
    assert!(merge.prev_events().contains(&forked_kick.id()));
    later.set_member(&alice, &mallory, Membership::Leave);
    later.join(&mallory);
    assert_eq!(later.room.membership(&mallory.key), Some(Membership::Join));
    for hidden in [&forked_message, &forked_topic, &forked_kick] {
        assert!(!later.visible(hidden));
    }
    assert!(later.visible(&before_ban));
}

#[test]
fn concurrent_joins_both_count() {
    let (alice, dave, eve) = (User::new(1), User::new(5), User::new(6));
    let (base, _) = View::create(&alice, &[&dave, &eve]);
    let mut left = base.clone();
    let dave_join = left.join(&dave);
    let dave_says = left.message(&dave, "hi");
    let mut right = base.clone();
    let eve_join = right.join(&eve);

    let mut merged = merge(&base, &[dave_join, dave_says.clone()], &[eve_join]);
    assert_eq!(merged.room.membership(&dave.key), Some(Membership::Join));
    assert_eq!(merged.room.membership(&eve.key), Some(Membership::Join));
    assert!(merged.visible(&dave_says));
    // The merge point: the next event references both tips.
    assert_eq!(merged.room.extremities().len(), 2);
    merged.message(&alice, "merge");
    assert_eq!(merged.room.extremities().len(), 1);
}

#[test]
fn topic_change_concurrent_with_unrelated_fork_keeps_the_latest_topic() {
    let (alice, bob, dave) = (User::new(1), User::new(2), User::new(5));
    let (mut base, _) = View::create(&alice, &[&bob, &dave]);
    base.join(&bob);
    base.topic(&alice, "first");

    let mut left = base.clone();
    let second = left.topic(&alice, "second");
    // A longer unrelated branch, with a power change of its own: no state reset may follow.
    let mut right = base.clone();
    let mut branch = vec![right.join(&dave)];
    for i in 0..5 {
        branch.push(right.message(&dave, &format!("m{i}")));
    }
    branch.push(right.power(&alice, &[(&bob, 10)]));

    let merged = merge(&base, std::slice::from_ref(&second), &branch);
    assert_eq!(merged.topic_text().as_deref(), Some("second"));
    assert_eq!(merged.room.power_level(&bob.key), 10);
    assert_eq!(merged.room.membership(&dave.key), Some(Membership::Join));
}

#[test]
fn creator_cannot_be_banned_or_demoted() {
    let (alice, bob) = (User::new(1), User::new(2));
    let mut base = View::with_members(&alice, &[&bob]);
    base.power(&alice, &[(&bob, 100)]);

    let (ban, receipt) = base.try_send(
        &bob,
        kinds::MEMBER,
        Some(&alice.hex()),
        member(Membership::Ban),
    );
    assert_eq!(
        receipt.outcome_of(&ban.id()),
        Some(&Outcome::Rejected(RejectReason::AuthFailedOwn(
            AuthError::InsufficientPower
        )))
    );
    let kick = member(Membership::Leave);
    assert_eq!(
        base.rejected_by(&bob, kinds::MEMBER, Some(&alice.hex()), kick),
        Some("insufficient_power")
    );
    let demote = levels(&[(&bob, 100), (&alice, 0)]);
    assert_eq!(
        base.rejected_by(&bob, kinds::POWER_LEVELS, Some(""), demote),
        Some("bad_content")
    );
    // Bob cannot match the creator either: the highest writable level is below the creator's.
    let raise = levels(&[(&bob, causerie_room::content::MAX_POWER)]);
    assert_eq!(
        base.rejected_by(&bob, kinds::POWER_LEVELS, Some(""), raise),
        Some("power_change_not_allowed")
    );
    assert_eq!(
        base.room.power_level(&alice.key),
        causerie_room::content::CREATOR_POWER
    );
    assert_eq!(base.room.membership(&alice.key), Some(Membership::Join));

    // A user cannot lower a peer at their own level.
    let carol = User::new(3);
    base.room
        .add_attestation(carol.attestation.clone())
        .unwrap();
    base.join(&carol);
    let change = levels(&[(&bob, 100), (&carol, 100)]);
    assert_eq!(
        base.rejected_by(&bob, kinds::POWER_LEVELS, Some(""), change),
        None
    );
    let undo = levels(&[(&bob, 100), (&carol, 0)]);
    assert_eq!(
        base.rejected_by(&bob, kinds::POWER_LEVELS, Some(""), undo),
        Some("power_change_not_allowed")
    );
}

#[test]
fn unban_by_moderator_and_rejoin() {
    let (alice, bob, mallory) = (User::new(1), User::new(2), User::new(4));
    let mut view = View::with_members(&alice, &[&bob, &mallory]);
    view.power(&alice, &[(&bob, 50)]);
    view.set_member(&bob, &mallory, Membership::Ban);
    let rejoin = member(Membership::Join);
    assert_eq!(
        view.rejected_by(&mallory, kinds::MEMBER, Some(&mallory.hex()), rejoin),
        Some("banned")
    );
    view.set_member(&bob, &mallory, Membership::Leave);
    view.join(&mallory);
    assert_eq!(view.room.membership(&mallory.key), Some(Membership::Join));
}

#[test]
fn redactions_apply_for_own_events_and_with_power_only() {
    let (alice, bob, carol) = (User::new(1), User::new(2), User::new(3));
    let mut view = View::with_members(&alice, &[&bob, &carol]);
    let bobs = view.message(&bob, "oops");
    let carols = view.message(&carol, "mine");
    view.send(&bob, kinds::REDACTION, None, redaction(&bobs));
    // Accepted (events_default), but without redact power it does not apply to others' events.
    view.send(&bob, kinds::REDACTION, None, redaction(&carols));
    let timeline = view.room.timeline();
    let redacted = |e: &causerie_crypto::Event| {
        timeline
            .iter()
            .find(|t| t.event == e.id())
            .map(|t| t.redacted)
    };
    assert_eq!(redacted(&bobs), Some(true));
    assert_eq!(redacted(&carols), Some(false));
    view.send(&alice, kinds::REDACTION, None, redaction(&carols));
    let shown = view.room.timeline_events();
    let carols_now = shown.iter().find(|e| e.id() == carols.id()).unwrap();
    assert!(carols_now.is_redacted() && carols_now.content().is_empty());
}

#[test]
fn power_level_changes_follow_matrix_rules() {
    use causerie_room::PowerLevels;
    let (alice, bob, carol) = (User::new(1), User::new(2), User::new(3));
    let mut view = View::with_members(&alice, &[&bob, &carol]);
    let mut levels = PowerLevels::default();
    levels.users.insert(*bob.key.as_bytes(), 50);
    levels.users.insert(*carol.key.as_bytes(), 20);
    levels.events.insert("room.topic".into(), 60);
    view.send(&alice, kinds::POWER_LEVELS, Some(""), levels.to_content());

    let attempt = |view: &mut View, change: &dyn Fn(&mut PowerLevels)| {
        let mut next = levels.clone();
        change(&mut next);
        view.rejected_by(&bob, kinds::POWER_LEVELS, Some(""), next.to_content())
    };
    let refused = Some("power_change_not_allowed");
    // A level above the sender's, old or new, cannot change.
    assert_eq!(attempt(&mut view, &|l| l.ban = 51), refused);
    assert_eq!(
        attempt(&mut view, &|l| {
            l.events.remove("room.topic");
        }),
        refused
    );
    assert_eq!(
        attempt(&mut view, &|l| {
            l.events.insert("room.name".into(), 51);
        }),
        refused
    );
    assert_eq!(
        attempt(&mut view, &|l| {
            l.users.insert(*carol.key.as_bytes(), 51);
        }),
        refused
    );
    // Lowering oneself is fine; so are changes within one's own level, for users below it.
    assert_eq!(
        attempt(&mut view, &|l| {
            l.users.insert(*carol.key.as_bytes(), 50);
        }),
        None
    );
    // Carol is now at Bob's level: he can no longer change her entry.
    let mut current = levels.clone();
    current.users.insert(*carol.key.as_bytes(), 50);
    let mut next = current.clone();
    next.users.insert(*carol.key.as_bytes(), 0);
    assert_eq!(
        view.rejected_by(&bob, kinds::POWER_LEVELS, Some(""), next.to_content()),
        refused
    );
    let mut lower_self = current.clone();
    lower_self.users.insert(*bob.key.as_bytes(), 10);
    lower_self.kick = 10;
    assert_eq!(
        view.rejected_by(&bob, kinds::POWER_LEVELS, Some(""), lower_self.to_content()),
        None
    );
    assert_eq!(view.room.power_level(&bob.key), 10);
    // Malformed levels are bad content.
    let mut bad = lower_self.to_content();
    bad.insert("ban".into(), causerie_crypto::Value::Text("high".into()));
    assert_eq!(
        view.rejected_by(&alice, kinds::POWER_LEVELS, Some(""), bad),
        Some("bad_content")
    );
}

#[test]
fn a_late_ban_hides_the_fork_and_reports_it() {
    let (alice, bob, mallory) = (User::new(1), User::new(2), User::new(4));
    let base = View::with_members(&alice, &[&bob, &mallory]);
    let mut fork = base.clone();
    let forked = fork.message(&mallory, "while nobody looks");
    let mut main = base.clone();
    let ban = main.set_member(&alice, &mallory, Membership::Ban);

    let mut view = base.clone();
    view.deliver(std::slice::from_ref(&forked));
    assert!(view.visible(&forked));
    let receipt = view.room.receive(ban.clone(), view.now);
    let change = receipt
        .visibility
        .iter()
        .find(|c| c.event == forked.id())
        .unwrap();
    assert!(!change.shown.visible);
    assert!(receipt.current_state_changed);
    assert!(!view.room.timeline().iter().any(|t| t.event == forked.id()));
}

#[test]
fn prepare_prefers_tips_that_are_not_soft_failed() {
    let (alice, bob, mallory) = (User::new(1), User::new(2), User::new(4));
    let mut base = View::with_members(&alice, &[&bob, &mallory]);
    let mut fork = base.clone();
    let forked = fork.message(&mallory, "fork");
    base.set_member(&alice, &mallory, Membership::Ban);
    let honest: Vec<causerie_crypto::Event> = (0..causerie_room::MAX_PREV_EVENTS)
        .map(|i| base.clone().message(&bob, &format!("concurrent {i}")))
        .collect();
    base.deliver(&honest);
    base.deliver(std::slice::from_ref(&forked));
    assert_eq!(
        base.room.extremities().len(),
        causerie_room::MAX_PREV_EVENTS + 1
    );
    assert!(!base.visible(&forked));
    let draft = base.draft(&alice, kinds::MESSAGE, None, text("body", "next"));
    let mut expected: Vec<_> = honest.iter().map(|e| e.id()).collect();
    expected.sort();
    assert_eq!(draft.prev_events, expected);
    // With room to spare, the soft-failed tip is merged too (keeps the DAG narrow).
    base.deliver(&[draft.sign(&alice.secret).unwrap()]);
    let next = base.draft(&alice, kinds::MESSAGE, None, text("body", "after"));
    assert!(next.prev_events.contains(&forked.id()));
}

#[test]
fn redacted_forms_get_the_same_verdict_as_full_events() {
    let (alice, bob) = (User::new(1), User::new(2));
    let view = View::with_members(&alice, &[&bob]);
    let mut author = view.clone();
    let message = author.message(&bob, "soon erased");
    let topic = author.topic(&alice, "soon erased too");
    let redact = author.send(&alice, kinds::REDACTION, None, redaction(&message));
    // A peer that erased the content serves the redacted form: same id, stripped content.
    let mut stripped = view.clone();
    stripped.deliver(&[message.redacted(), topic.redacted(), redact.clone()]);
    let mut full = view.clone();
    full.deliver(&[message.clone(), topic.clone(), redact]);
    for v in [&stripped, &full] {
        assert!(v.visible(&message) && v.accepted(&topic));
    }
    assert_eq!(stripped.room.current_state(), full.room.current_state());
    assert_eq!(stripped.room.timeline(), full.room.timeline());
    assert!(full.room.shown_event(&message.id()).unwrap().is_redacted());
    assert!(!full.room.shown_event(&topic.id()).unwrap().is_redacted());
}
