//! Relations in the engine (specs/rooms.md §13): edits, reactions and deletions aggregate on
//! their target the same whatever the arrival order; only the author's edits of an original
//! message count; a redacted reaction or edit stops counting; a deletion is a redaction by the
//! author, a moderator's redaction is not; malformed relation content is rejected.

#![allow(clippy::unwrap_used)]

#[path = "support/room.rs"]
mod support;

use causerie_crypto::event::kinds;
use causerie_crypto::{Event, Value};
use causerie_room::relations::{MAX_MENTIONS, Message, Reaction};
use causerie_room::{Membership, Relations, Room};
use proptest::prelude::*;
use support::*;

fn edit(view: &mut View, user: &User, target: &Event, body: &str) -> Event {
    let message = Message {
        replaces: Some(target.id()),
        ..Message::new(body)
    };
    view.send(user, kinds::MESSAGE, None, message.to_content())
}

fn react(view: &mut View, user: &User, target: &Event, key: &str) -> Event {
    let reaction = Reaction {
        relates_to: target.id(),
        key: key.into(),
    };
    view.send(user, kinds::REACTION, None, reaction.to_content())
}

fn relations(room: &Room, target: &Event) -> Relations {
    room.relations(&target.id(), &|_| false).unwrap()
}

fn edited(room: &Room, target: &Event) -> Option<String> {
    relations(room, target).edit.map(|e| e.body)
}

fn counts(room: &Room, target: &Event) -> Vec<(String, usize)> {
    relations(room, target)
        .reactions
        .into_iter()
        .map(|r| (r.key, r.users.len()))
        .collect()
}

#[test]
fn edits_reactions_and_deletions_aggregate_on_their_target() {
    let (alice, bob, carol) = (User::new(1), User::new(2), User::new(3));
    let mut view = View::with_members(&alice, &[&bob, &carol]);
    let hello = view.message(&alice, "hello");
    assert_eq!(relations(&view.room, &hello), Relations::default());

    edit(&mut view, &alice, &hello, "hello, world");
    let last = edit(&mut view, &alice, &hello, "hello, everyone");
    // Bob's "edit" of Alice's message is an ordinary message, never honoured.
    edit(&mut view, &bob, &hello, "bob was here");
    let shown = relations(&view.room, &hello).edit.unwrap();
    assert_eq!(
        (shown.body.as_str(), shown.event),
        ("hello, everyone", last.id())
    );
    // An edit of an edit is not honoured either.
    edit(&mut view, &alice, &last, "nested");
    assert_eq!(edited(&view.room, &last), None);

    let thumbs = react(&mut view, &bob, &hello, "👍");
    react(&mut view, &bob, &hello, "👍");
    react(&mut view, &carol, &hello, "👍");
    react(&mut view, &carol, &hello, "🎉");
    assert_eq!(
        counts(&view.room, &hello),
        vec![("👍".into(), 2), ("🎉".into(), 1)]
    );
    // Unreacting: Bob redacts both his 👍; only Carol's is left.
    let bobs: Vec<_> = relations(&view.room, &hello).reactions[0]
        .users
        .iter()
        .filter(|(user, _)| *user == bob.key)
        .map(|(_, id)| *id)
        .collect();
    assert_eq!(bobs, vec![thumbs.id()]);
    view.send(&bob, kinds::REDACTION, None, redaction(&thumbs));
    assert_eq!(
        counts(&view.room, &hello),
        vec![("👍".into(), 2), ("🎉".into(), 1)],
        "Bob's second 👍 still counts"
    );
    let second = relations(&view.room, &hello).reactions[0]
        .users
        .iter()
        .find(|(user, _)| *user == bob.key)
        .unwrap()
        .1;
    let second = view.room.event(&second).unwrap().clone();
    view.send(&bob, kinds::REDACTION, None, redaction(&second));
    assert_eq!(
        counts(&view.room, &hello),
        vec![("👍".into(), 1), ("🎉".into(), 1)]
    );

    // Redacting the latest edit shows the one before.
    view.send(&alice, kinds::REDACTION, None, redaction(&last));
    assert_eq!(edited(&view.room, &hello).as_deref(), Some("hello, world"));

    // A moderator's redaction is not a deletion; the author's is.
    let other = view.message(&bob, "spam?");
    view.send(&alice, kinds::REDACTION, None, redaction(&other));
    assert!(!relations(&view.room, &other).deleted);
    assert!(!relations(&view.room, &hello).deleted);
    view.send(&alice, kinds::REDACTION, None, redaction(&hello));
    assert!(relations(&view.room, &hello).deleted);

    // Events the node hides do not count.
    let hidden = view
        .room
        .relations(&hello.id(), &|e| *e.author() == carol.key)
        .unwrap();
    assert!(hidden.reactions.is_empty());
}

#[test]
fn aggregation_is_the_same_whatever_the_arrival_order() {
    let (alice, bob, carol) = (User::new(1), User::new(2), User::new(3));
    let mut view = View::with_members(&alice, &[&bob, &carol]);
    let start = view.accepted_events();
    let hello = view.message(&alice, "hello");
    // Two forks edit and react concurrently, then merge.
    let mut left = view.clone();
    let mut right = view.clone();
    let mut late = vec![hello.clone()];
    late.push(edit(&mut left, &alice, &hello, "left edit"));
    late.push(react(&mut left, &bob, &hello, "👍"));
    late.push(edit(&mut right, &alice, &hello, "right edit"));
    late.push(react(&mut right, &bob, &hello, "👍"));
    late.push(react(&mut right, &carol, &hello, "👀"));
    left.deliver(&late);
    right.deliver(&late);
    late.push(left.message(&carol, "merge"));
    let mut expected = None;
    // Every rotation of the late events, delivered to a node holding only the start.
    for shift in 0..late.len() {
        let mut node = View::empty(hello.room_id(), view.now + 10, &[&alice, &bob, &carol]);
        node.deliver(&start);
        let mut order = late.clone();
        order.rotate_left(shift);
        order.reverse();
        node.deliver(&order);
        node.deliver(&order);
        let got = relations(&node.room, &hello);
        // Bob reacted 👍 on both forks: he counts once.
        assert_eq!(
            got.reactions.iter().map(|r| r.users.len()).sum::<usize>(),
            2
        );
        match &expected {
            None => expected = Some(got),
            Some(want) => assert_eq!(&got, want, "rotation {shift}"),
        }
    }
    let winner = expected.unwrap().edit.unwrap();
    let both = [&late[1], &late[3]];
    let last = both.iter().max_by_key(|e| (e.depth(), e.id())).unwrap();
    assert_eq!(
        winner.event,
        last.id(),
        "the edit latest in timeline order wins"
    );
}

#[test]
fn malformed_relations_are_rejected() {
    let (alice, bob) = (User::new(1), User::new(2));
    let mut view = View::with_members(&alice, &[&bob]);
    let hello = view.message(&alice, "hello");
    let mut content = text("body", "x");
    content.insert("reply_to".into(), Value::Bytes(vec![1; 31]));
    assert_eq!(
        view.rejected_by(&bob, kinds::MESSAGE, None, content),
        Some("bad_content")
    );
    let mut content = text("body", "x");
    let many = (0..=MAX_MENTIONS).map(|i| Value::Bytes(vec![i as u8; 32]));
    content.insert("mentions".into(), Value::Array(many.collect()));
    assert_eq!(
        view.rejected_by(&bob, kinds::MESSAGE, None, content),
        Some("bad_content")
    );
    let reaction = Reaction {
        relates_to: hello.id(),
        key: String::new(),
    };
    assert_eq!(
        view.rejected_by(&bob, kinds::REACTION, None, reaction.to_content()),
        Some("bad_content")
    );
    let reaction = Reaction {
        relates_to: hello.id(),
        key: "👍".into(),
    };
    assert_eq!(
        view.rejected_by(&alice, kinds::REACTION, Some(""), reaction.to_content()),
        Some("bad_state_key")
    );
    // A reply and mentions that parse are accepted.
    let reply = Message {
        reply_to: Some(hello.id()),
        mentions: vec![*alice.key.as_bytes()],
        ..Message::new("hi alice")
    };
    view.send(&bob, kinds::MESSAGE, None, reply.to_content());
    // A redacted reaction (content {}) still passes, so its holders agree with the others.
    let kept = react(&mut view, &bob, &hello, "👍");
    let mut fresh = View::empty(hello.room_id(), view.now + 1, &[&alice, &bob]);
    let mut events = view.accepted_events();
    events.sort_by_key(|e| (e.depth(), e.id()));
    for event in &mut events {
        if event.id() == kept.id() {
            *event = event.redacted();
        }
    }
    fresh.deliver(&events);
    assert!(fresh.accepted(&kept));
    assert!(counts(&fresh.room, &hello).is_empty());
    // Leaving keeps the room's relations as they were.
    view.set_member(&bob, &bob, Membership::Leave);
    assert_eq!(counts(&view.room, &hello), vec![("👍".into(), 1)]);
}

/// One random step on a fork: `(right fork, what, user, target, key)`.
type Step = (bool, u8, usize, usize, usize);

const KEYS: [&str; 3] = ["👍", "🎉", "👀"];

/// Plays `steps` on two forks of a room holding one message per user; returns the room's
/// events before the forks, the forks' events, and the messages.
fn play(steps: &[Step]) -> (Vec<Event>, Vec<Event>, Vec<Event>, [User; 3]) {
    let users = [User::new(1), User::new(2), User::new(3)];
    let mut view = View::with_members(&users[0], &[&users[1], &users[2]]);
    let targets: Vec<Event> = users
        .iter()
        .map(|u| view.message(u, &format!("from {}", u.hex())))
        .collect();
    let base = view.accepted_events();
    let mut forks = [view.clone(), view];
    let mut sent: [Vec<Event>; 2] = [Vec::new(), Vec::new()];
    for &(right, what, user, target, key) in steps {
        let (fork, user, target) = (usize::from(right), &users[user], &targets[target]);
        let view = &mut forks[fork];
        let event = match what {
            0 => edit(view, user, target, &format!("edit {}", sent[fork].len())),
            1 => react(view, user, target, KEYS[key]),
            2 => {
                // Takes back the user's last reaction on this fork, if any.
                let Some(last) = sent[fork]
                    .iter()
                    .rev()
                    .find(|e| e.kind() == kinds::REACTION && *e.author() == user.key)
                    .cloned()
                else {
                    continue;
                };
                view.send(user, kinds::REDACTION, None, redaction(&last))
            }
            _ => view.send(user, kinds::REDACTION, None, redaction(target)),
        };
        sent[fork].push(event);
    }
    let [left, right] = sent;
    (base, left, right, users)
}

fn all_relations(view: &View, targets: &[Event]) -> Vec<Relations> {
    targets.iter().map(|t| relations(&view.room, t)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_arrival_order_shows_the_same_relations(
        steps in proptest::collection::vec(
            (any::<bool>(), 0u8..4, 0usize..3, 0usize..3, 0usize..3), 1..24),
        order in proptest::collection::vec(any::<u32>(), 48),
    ) {
        let (base, left, right, users) = play(&steps);
        let targets: Vec<Event> = base
            .iter()
            .filter(|e| e.kind() == kinds::MESSAGE)
            .cloned()
            .collect();
        let late: Vec<Event> = left.iter().chain(&right).cloned().collect();
        let mut shuffled: Vec<(u32, Event)> = late
            .iter()
            .enumerate()
            .map(|(i, e)| (order[i % order.len()].wrapping_add(i as u32), e.clone()))
            .collect();
        shuffled.sort_by_key(|(k, e)| (*k, e.id()));
        let orders = [
            late.clone(),
            right.iter().chain(&left).cloned().collect(),
            shuffled.into_iter().map(|(_, e)| e).collect::<Vec<_>>(),
        ];
        let now = late.iter().map(Event::origin_ts).max().unwrap_or(T0) + 1;
        let keys: Vec<&User> = users.iter().collect();
        let mut shown = Vec::new();
        for events in &orders {
            let mut node = View::empty(base[0].room_id(), now, &keys);
            node.deliver(&base);
            node.deliver(events);
            for event in &late {
                prop_assert!(node.accepted(event), "every event is decided the same");
            }
            shown.push(all_relations(&node, &targets));
        }
        prop_assert_eq!(&shown[0], &shown[1]);
        prop_assert_eq!(&shown[0], &shown[2]);
        // Reactions count each (user, key) once; only the author's edits are shown.
        for (target, relations) in targets.iter().zip(&shown[0]) {
            for count in &relations.reactions {
                let mut users: Vec<_> = count.users.iter().map(|(u, _)| *u).collect();
                users.sort();
                users.dedup();
                prop_assert_eq!(users.len(), count.users.len());
            }
            if let Some(edit) = &relations.edit {
                let by = late.iter().find(|e| e.id() == edit.event).unwrap().author();
                prop_assert_eq!(by, target.author());
            }
        }
    }
}
