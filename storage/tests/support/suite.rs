//! The behaviour every backend must have, written once over `impl Store` and run for each
//! backend by `tests/backends.rs`.

use std::collections::BTreeSet;

use causerie_crypto::{Event, EventId};
use causerie_storage::{
    Direction, EventStatus, MAX_PAGE_LEN, Position, StateMap, StateSnapshot, Store, StoreError,
    WriteBatch,
};

use crate::fixtures::*;

fn commit_one(store: &impl Store, f: impl FnOnce(&mut WriteBatch)) -> Result<u64, StoreError> {
    let mut batch = WriteBatch::new();
    f(&mut batch);
    store.commit(vec![batch]).map(|d| d.sequence)
}

fn put_all(store: &impl Store, events: &[&Event]) {
    let mut batch = WriteBatch::new();
    for e in events {
        batch.put_event((*e).clone(), EventStatus::Accepted);
    }
    let _durable = store.commit(vec![batch]).unwrap();
}

/// Every item of a paged query, walked from the start with each page's last item as the next
/// cursor; asserts that no page holds more than `max_page` items.
fn walk_pages<T: Copy>(max_page: usize, mut page: impl FnMut(Option<T>) -> Vec<T>) -> Vec<T> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let items = page(cursor);
        assert!(items.len() <= max_page, "a page over {max_page} items");
        let Some(last) = items.last() else {
            return out;
        };
        cursor = Some(*last);
        out.extend(items);
    }
}

fn snapshot_of(pairs: &[(&str, &str, EventId)]) -> StateSnapshot {
    let map: StateMap = pairs
        .iter()
        .map(|(k, s, id)| (((*k).to_owned(), (*s).to_owned()), *id))
        .collect();
    StateSnapshot::new(map).unwrap()
}

/// Events come back byte-identical with their status; unknown ids are absent.
pub(crate) fn put_get_contains(store: &impl Store) {
    assert!(store.rooms(None, 10).unwrap().is_empty());
    let alice = user(1);
    let create = create(&alice, 0);
    let msg = message_after(&alice, &[&create], "hello");
    put_all(store, &[&create, &msg]);
    let stored = store.event(&msg.id()).unwrap().unwrap();
    assert_eq!(stored.event.as_bytes(), msg.as_bytes());
    assert_eq!(stored.status, EventStatus::Accepted);
    assert_eq!(stored.state_before, None);
    assert!(store.contains(&create.id()).unwrap());
    assert!(!store.contains(&fake_id(1)).unwrap());
    assert!(store.event(&fake_id(1)).unwrap().is_none());
    assert_eq!(store.state_before(&fake_id(1)).unwrap(), None);
}

/// The order index walks a room by (depth, id), paged both ways, and never mixes rooms.
pub(crate) fn order_index_pages_both_ways(store: &impl Store) {
    let alice = user(1);
    let create = create(&alice, 0);
    let other = create_other_room(&alice);
    let mut events = vec![create.clone()];
    let main = chain(&alice, &create, 12);
    events.extend(main.iter().cloned());
    // Forks: several events at the same depth, so ties break by id.
    for i in 0..4 {
        events.push(message_after(&alice, &[&main[5]], &format!("fork{i}")));
    }
    let other_chain = chain(&alice, &other, 3);
    let mut all: Vec<&Event> = events.iter().collect();
    all.push(&other);
    all.extend(other_chain.iter());
    put_all(store, &all);

    let mut expected: Vec<Position> = events
        .iter()
        .map(|e| Position {
            depth: e.depth(),
            event: e.id(),
        })
        .collect();
    expected.sort();
    let room = create.room_id();
    for page_size in [1, 3, 7, 100] {
        let walk = |direction| {
            walk_pages(page_size, |cursor| {
                store
                    .events_by_depth(&room, cursor, direction, page_size)
                    .unwrap()
            })
        };
        let forward = walk(Direction::Forward);
        assert_eq!(forward, expected, "forward, page size {page_size}");
        let mut backward = walk(Direction::Backward);
        backward.reverse();
        assert_eq!(backward, expected, "backward, page size {page_size}");
    }
    assert!(
        store
            .events_by_depth(&room, None, Direction::Forward, 0)
            .unwrap()
            .is_empty()
    );
    let middle = expected[8];
    let after = store
        .events_by_depth(&room, Some(middle), Direction::Forward, 3)
        .unwrap();
    assert_eq!(after, expected[9..12].to_vec());
    let before = store
        .events_by_depth(&room, Some(middle), Direction::Backward, 2)
        .unwrap();
    assert_eq!(before, vec![expected[7], expected[6]]);
    assert_eq!(
        store
            .events_by_depth(&other.room_id(), None, Direction::Forward, 100)
            .unwrap()
            .len(),
        4
    );
}

fn create_other_room(secret: &causerie_crypto::UserSecret) -> Event {
    create(secret, 1)
}

/// Page lengths are clamped to MAX_PAGE_LEN.
pub(crate) fn pages_are_bounded(store: &impl Store) {
    let alice = user(1);
    let create = create(&alice, 0);
    let mut batch = WriteBatch::new();
    batch.put_event(create.clone(), EventStatus::Accepted);
    let mut children = Vec::new();
    for i in 0..(MAX_PAGE_LEN + 5) {
        let e = message_after(&alice, &[&create], &format!("c{i}"));
        batch.put_event(e.clone(), EventStatus::Accepted);
        children.push(e.id());
    }
    let _durable = store.commit(vec![batch]).unwrap();
    let page = store.children(&create.id(), None, usize::MAX).unwrap();
    assert_eq!(page.len(), MAX_PAGE_LEN);
    children.sort();
    assert_eq!(page, children[..MAX_PAGE_LEN].to_vec());
    let rest = store
        .children(&create.id(), page.last(), usize::MAX)
        .unwrap();
    assert_eq!(rest, children[MAX_PAGE_LEN..].to_vec());
}

/// The children index lists each event under every prev_event.
pub(crate) fn children_index(store: &impl Store) {
    let alice = user(1);
    let create = create(&alice, 0);
    let a = message_after(&alice, &[&create], "a");
    let b = message_after(&alice, &[&create], "b");
    let merge = message_after(&alice, &[&a, &b], "merge");
    put_all(store, &[&create, &a, &b, &merge]);
    let kids: BTreeSet<EventId> = store
        .children(&create.id(), None, 10)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(kids, ids(&[&a, &b]));
    assert_eq!(store.children(&a.id(), None, 10).unwrap(), vec![merge.id()]);
    assert_eq!(store.children(&b.id(), None, 10).unwrap(), vec![merge.id()]);
    assert!(store.children(&merge.id(), None, 10).unwrap().is_empty());
    let first = store.children(&create.id(), None, 1).unwrap();
    let second = store.children(&create.id(), first.last(), 1).unwrap();
    assert_eq!(first.len() + second.len(), 2);
    assert!(first[0] < second[0]);
    // A child whose parent is not stored (an outlier) is still indexed under that parent.
    let orphan = event(&alice, create.room_id(), &[fake_id(7)], 5, "orphan", false);
    commit_one(store, |b| {
        b.put_event(orphan.clone(), EventStatus::outlier([fake_id(7)]));
    })
    .unwrap();
    assert_eq!(
        store.children(&fake_id(7), None, 10).unwrap(),
        vec![orphan.id()]
    );
}

/// Extremities are replaced whole, must name stored events, and are bounded.
pub(crate) fn extremities(store: &impl Store) {
    let alice = user(1);
    let create = create(&alice, 0);
    let room = create.room_id();
    let a = message_after(&alice, &[&create], "a");
    let b = message_after(&alice, &[&create], "b");
    assert!(store.extremities(&room).unwrap().is_empty());
    commit_one(store, |batch| {
        batch
            .put_event(create.clone(), EventStatus::Accepted)
            .set_extremities(room, [create.id()]);
        batch
            .put_event(a.clone(), EventStatus::Accepted)
            .set_extremities(room, [a.id()]);
        batch
            .put_event(b.clone(), EventStatus::Accepted)
            .set_extremities(room, [a.id(), b.id()]);
    })
    .unwrap();
    assert_eq!(store.extremities(&room).unwrap(), ids(&[&a, &b]));
    let c = message_after(&alice, &[&a, &b], "c");
    // An unknown tip fails the whole commit: c is not stored either.
    let err = commit_one(store, |batch| {
        batch
            .put_event(c.clone(), EventStatus::Accepted)
            .set_extremities(room, [c.id(), fake_id(3)]);
    })
    .unwrap_err();
    assert_eq!(err.reason(), "event_not_found");
    assert!(!store.contains(&c.id()).unwrap());
    assert_eq!(store.extremities(&room).unwrap(), ids(&[&a, &b]));
    let too_many: Vec<EventId> = (0..=causerie_storage::MAX_EXTREMITIES as u32)
        .map(|i| {
            let mut bytes = [0u8; 32];
            bytes[..4].copy_from_slice(&i.to_be_bytes());
            EventId(causerie_crypto::Hash32(bytes))
        })
        .collect();
    let err = commit_one(store, |batch| {
        batch.set_extremities(room, too_many);
    })
    .unwrap_err();
    assert_eq!(err.reason(), "too_many_extremities");
    commit_one(store, |batch| {
        batch.set_extremities(room, []);
    })
    .unwrap();
    assert!(store.extremities(&room).unwrap().is_empty());
}

/// Status sets follow the status through every transition.
pub(crate) fn status_transitions(store: &impl Store) {
    let alice = user(1);
    let create = create(&alice, 0);
    let room = create.room_id();
    let parent = message_after(&alice, &[&create], "parent");
    let waiting = message_after(&alice, &[&parent], "waiting");
    put_all(store, &[&create]);
    commit_one(store, |b| {
        b.put_event(
            waiting.clone(),
            EventStatus::outlier([parent.id(), fake_id(4)]),
        );
    })
    .unwrap();
    let expected_missing: BTreeSet<EventId> = [parent.id(), fake_id(4)].into();
    assert_eq!(
        store.outliers(&room, None, 10).unwrap(),
        vec![(waiting.id(), expected_missing.clone())]
    );
    assert_eq!(
        store.waiting_for(&parent.id(), None, 10).unwrap(),
        vec![waiting.id()]
    );
    assert_eq!(
        store.waiting_for(&fake_id(4), None, 10).unwrap(),
        vec![waiting.id()]
    );
    assert_eq!(
        store.event(&waiting.id()).unwrap().unwrap().status,
        EventStatus::Outlier {
            missing: expected_missing
        }
    );

    // The parent arrives: the outlier now misses only the fake id.
    commit_one(store, |b| {
        b.put_event(parent.clone(), EventStatus::Accepted);
        b.set_status(waiting.id(), EventStatus::outlier([fake_id(4)]));
    })
    .unwrap();
    assert!(
        store
            .waiting_for(&parent.id(), None, 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.waiting_for(&fake_id(4), None, 10).unwrap(),
        vec![waiting.id()]
    );

    commit_one(store, |b| {
        b.set_status(waiting.id(), EventStatus::rejected("missing_auth_event"));
    })
    .unwrap();
    assert!(store.outliers(&room, None, 10).unwrap().is_empty());
    assert!(store.waiting_for(&fake_id(4), None, 10).unwrap().is_empty());
    assert_eq!(
        store.rejected(&room, None, 10).unwrap(),
        vec![(waiting.id(), "missing_auth_event".to_owned())]
    );

    commit_one(store, |b| {
        b.set_status(waiting.id(), EventStatus::SoftFailed);
    })
    .unwrap();
    assert!(store.rejected(&room, None, 10).unwrap().is_empty());
    assert_eq!(
        store.soft_failed(&room, None, 10).unwrap(),
        vec![waiting.id()]
    );

    commit_one(store, |b| {
        b.set_status(waiting.id(), EventStatus::Accepted);
    })
    .unwrap();
    assert!(store.soft_failed(&room, None, 10).unwrap().is_empty());
    assert_eq!(
        store.event(&waiting.id()).unwrap().unwrap().status,
        EventStatus::Accepted
    );

    for (status, reason) in [
        (EventStatus::rejected(""), "bad_rejection_reason"),
        (EventStatus::rejected("Bad Reason"), "bad_rejection_reason"),
        (
            EventStatus::rejected(&"x".repeat(65)),
            "bad_rejection_reason",
        ),
        (EventStatus::outlier([]), "bad_missing_list"),
        (
            EventStatus::outlier((0..31).map(fake_id)),
            "bad_missing_list",
        ),
    ] {
        let err = commit_one(store, |b| {
            b.set_status(waiting.id(), status);
        })
        .unwrap_err();
        assert_eq!(err.reason(), reason);
    }
    let err = commit_one(store, |b| {
        b.set_status(fake_id(5), EventStatus::Accepted);
    })
    .unwrap_err();
    assert_eq!(err.reason(), "event_not_found");
}

/// Snapshots are content-addressed and shared; pointers must name stored snapshots.
pub(crate) fn state_snapshots(store: &impl Store) {
    let alice = user(1);
    let create = create(&alice, 0);
    let room = create.room_id();
    let messages = chain(&alice, &create, 50);
    let state = snapshot_of(&[("room.create", "", create.id())]);
    let same = snapshot_of(&[("room.create", "", create.id())]);
    assert_eq!(state.id(), same.id());
    let mut batches = Vec::new();
    let mut first = WriteBatch::new();
    first.put_event(create.clone(), EventStatus::Accepted);
    batches.push(first);
    for m in &messages {
        let mut b = WriteBatch::new();
        b.put_event(m.clone(), EventStatus::Accepted)
            .put_snapshot(same.clone())
            .set_state_before(m.id(), state.id());
        batches.push(b);
    }
    // The snapshot is put by the last batches but referenced by earlier ones: checked at the end.
    let mut last = WriteBatch::new();
    last.put_snapshot(state.clone())
        .set_current_state(room, state.id());
    batches.push(last);
    let _durable = store.commit(batches).unwrap();
    for m in &messages {
        assert_eq!(store.state_before(&m.id()).unwrap(), Some(state.id()));
        assert_eq!(
            store.event(&m.id()).unwrap().unwrap().state_before,
            Some(state.id())
        );
    }
    assert_eq!(store.current_state(&room).unwrap(), Some(state.id()));
    assert_eq!(
        store.snapshot(&state.id()).unwrap().unwrap().map(),
        state.map()
    );
    assert!(
        store
            .current_state(&create_other_room(&alice).room_id())
            .unwrap()
            .is_none()
    );

    let named = message_after(&alice, &[&messages[49]], "x");
    let next = snapshot_of(&[
        ("room.create", "", create.id()),
        ("room.name", "", named.id()),
    ]);
    let err = commit_one(store, |b| {
        b.put_event(named.clone(), EventStatus::Accepted)
            .set_state_before(named.id(), next.id());
    })
    .unwrap_err();
    assert_eq!(err.reason(), "snapshot_not_found");
    let err = commit_one(store, |b| {
        b.set_current_state(room, next.id());
    })
    .unwrap_err();
    assert_eq!(err.reason(), "snapshot_not_found");
    let err = commit_one(store, |b| {
        b.set_state_before(fake_id(2), state.id());
    })
    .unwrap_err();
    assert_eq!(err.reason(), "event_not_found");
    assert!(!store.contains(&named.id()).unwrap());
    assert!(store.snapshot(&next.id()).unwrap().is_none());
}

/// Attestations round-trip by id and by user, paged.
pub(crate) fn attestations(store: &impl Store) {
    let alice = user(1);
    let bob = user(2);
    let a1 = attestation(50, &alice, "alice");
    let a2 = attestation(51, &alice, "alice2");
    let b1 = attestation(50, &bob, "bob");
    commit_one(store, |b| {
        b.put_attestation(a1.clone())
            .put_attestation(a2.clone())
            .put_attestation(b1.clone())
            .put_attestation(a1.clone());
    })
    .unwrap();
    assert_eq!(
        store.attestation(&a1.id()).unwrap().unwrap().as_bytes(),
        a1.as_bytes()
    );
    let mut expected = vec![a1.id(), a2.id()];
    expected.sort();
    let all: Vec<_> = store
        .attestations_for(&alice.public(), None, 10)
        .unwrap()
        .iter()
        .map(|a| a.id())
        .collect();
    assert_eq!(all, expected);
    let first = store.attestations_for(&alice.public(), None, 1).unwrap();
    let rest = store
        .attestations_for(&alice.public(), Some(&first[0].id()), 10)
        .unwrap();
    assert_eq!(
        rest.iter().map(|a| a.id()).collect::<Vec<_>>(),
        expected[1..].to_vec()
    );
    assert_eq!(
        store.attestations_for(&bob.public(), None, 10).unwrap()[0].handle(),
        "bob"
    );
    assert!(
        store
            .attestations_for(&user(3).public(), None, 10)
            .unwrap()
            .is_empty()
    );
}

/// The author index lists every event an author wrote, across rooms, paged.
pub(crate) fn author_index(store: &impl Store) {
    let alice = user(1);
    let bob = user(2);
    let room1 = create(&alice, 0);
    let room2 = create(&bob, 0);
    let a1 = message_after(&alice, &[&room1], "a1");
    let b1 = message_after(&bob, &[&room1], "b1");
    let a2 = message_after(&alice, &[&room2], "a2");
    put_all(store, &[&room1, &room2, &a1, &b1, &a2]);
    let mut expected: Vec<_> = [&room1, &a1, &a2]
        .iter()
        .map(|e| (e.room_id(), e.id()))
        .collect();
    expected.sort();
    assert_eq!(
        store.events_by_author(&alice.public(), None, 10).unwrap(),
        expected
    );
    let first = store.events_by_author(&alice.public(), None, 2).unwrap();
    let rest = store
        .events_by_author(&alice.public(), first.last().copied(), 2)
        .unwrap();
    assert_eq!([first, rest].concat(), expected);
    assert_eq!(
        store
            .events_by_author(&bob.public(), None, 10)
            .unwrap()
            .len(),
        2
    );
}

/// Putting a stored event again replaces its bytes (redaction) without duplicating indexes.
pub(crate) fn redaction_replaces_bytes(store: &impl Store) {
    let alice = user(1);
    let create = create(&alice, 0);
    let msg = message_after(&alice, &[&create], "secret words");
    let state = snapshot_of(&[("room.create", "", create.id())]);
    commit_one(store, |b| {
        b.put_event(create.clone(), EventStatus::Accepted);
        b.put_event(msg.clone(), EventStatus::Accepted)
            .put_snapshot(state.clone())
            .set_state_before(msg.id(), state.id());
    })
    .unwrap();
    let redacted = msg.redacted();
    commit_one(store, |b| {
        b.put_event(redacted.clone(), EventStatus::Accepted);
    })
    .unwrap();
    let stored = store.event(&msg.id()).unwrap().unwrap();
    assert!(stored.event.is_redacted());
    assert_eq!(stored.event.as_bytes(), redacted.as_bytes());
    assert_eq!(stored.state_before, Some(state.id()));
    assert_eq!(
        store
            .events_by_depth(&create.room_id(), None, Direction::Forward, 10)
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store.children(&create.id(), None, 10).unwrap(),
        vec![msg.id()]
    );
    assert_eq!(
        store
            .events_by_author(&alice.public(), None, 10)
            .unwrap()
            .len(),
        2
    );
}

/// Batches are numbered; a failed commit writes nothing and takes no number.
pub(crate) fn sequence_and_atomicity(store: &impl Store) {
    assert_eq!(store.last_sequence().unwrap(), 0);
    let alice = user(1);
    let create = create(&alice, 0);
    let a = message_after(&alice, &[&create], "a");
    let b = message_after(&alice, &[&a], "b");
    let mut first = WriteBatch::new();
    first.put_event(create.clone(), EventStatus::Accepted);
    let mut second = WriteBatch::new();
    // Sees the event put by the first batch of the same commit.
    second.set_status(create.id(), EventStatus::SoftFailed);
    let durable = store
        .commit(vec![first, second, WriteBatch::new()])
        .unwrap();
    assert_eq!(durable.sequence, 3);
    assert_eq!(
        store.event(&create.id()).unwrap().unwrap().status,
        EventStatus::SoftFailed
    );

    let mut good = WriteBatch::new();
    good.put_event(a.clone(), EventStatus::Accepted)
        .set_extremities(create.room_id(), [a.id()]);
    let mut bad = WriteBatch::new();
    bad.set_status(b.id(), EventStatus::Accepted);
    let err = store.commit(vec![good, bad]).unwrap_err();
    assert_eq!(err.reason(), "event_not_found");
    assert!(!store.contains(&a.id()).unwrap());
    assert!(store.extremities(&create.room_id()).unwrap().is_empty());
    assert!(store.children(&create.id(), None, 10).unwrap().is_empty());
    assert_eq!(store.last_sequence().unwrap(), 3);

    let mut batch = WriteBatch::new();
    batch.put_event(a.clone(), EventStatus::Accepted);
    assert_eq!(store.apply(vec![batch]).unwrap().sequence, 4);
    assert!(store.contains(&a.id()).unwrap());
    assert_eq!(store.flush().unwrap().sequence, 4);
    assert_eq!(store.commit(vec![]).unwrap().sequence, 4);
}

/// Commits from several threads interleave without losing or mixing anything.
pub(crate) fn concurrent_commits(store: &impl Store) {
    const THREADS: u8 = 4;
    const COMMITS: usize = 10;
    let rooms: Vec<(causerie_crypto::UserSecret, Event, Vec<Event>)> = (0..THREADS)
        .map(|t| {
            let secret = user(10 + t);
            let create = create(&secret, i64::from(t));
            let events = chain(&secret, &create, COMMITS * 3);
            (secret, create, events)
        })
        .collect();
    std::thread::scope(|scope| {
        for (_, create, events) in &rooms {
            scope.spawn(move || {
                let mut batch = WriteBatch::new();
                batch.put_event(create.clone(), EventStatus::Accepted);
                let _durable = store.commit(vec![batch]).unwrap();
                for group in events.chunks(3) {
                    let batches = group
                        .iter()
                        .map(|e| {
                            let mut b = WriteBatch::new();
                            b.put_event(e.clone(), EventStatus::Accepted)
                                .set_extremities(create.room_id(), [e.id()]);
                            b
                        })
                        .collect();
                    let _durable = store.commit(batches).unwrap();
                    // Reads see our own writes at once.
                    let last = group.last().unwrap();
                    assert_eq!(store.extremities(&create.room_id()).unwrap(), ids(&[last]));
                }
            });
        }
    });
    let batches = u64::from(THREADS) * (1 + COMMITS as u64 * 3);
    assert_eq!(store.last_sequence().unwrap(), batches);
    for (_, create, events) in &rooms {
        let order = store
            .events_by_depth(&create.room_id(), None, Direction::Forward, usize::MAX)
            .unwrap();
        let expected: Vec<EventId> = std::iter::once(create)
            .chain(events)
            .map(|e| e.id())
            .collect();
        assert_eq!(order.iter().map(|p| p.event).collect::<Vec<_>>(), expected);
    }
}

/// Local accounts: lookup by key and by handle, unique handles, renaming frees the old handle.
pub(crate) fn accounts(store: &impl Store) {
    use causerie_storage::{Account, StoreError};
    let alice = user(1).public();
    let bob = user(2).public();
    let account = |user, handle: &str| Account {
        attestation: attestation(9, &crate::fixtures::user(1), handle).id(),
        display_name: format!("{handle} display"),
        handle: handle.into(),
        registered_ms: 1_700_000_000_000,
        user,
    };
    assert_eq!(store.account(&alice).unwrap(), None);
    assert_eq!(store.account_by_handle("alice").unwrap(), None);
    let _durable = store.put_account(&account(alice, "alice")).unwrap();
    assert_eq!(store.account(&alice).unwrap().unwrap().handle, "alice");
    assert_eq!(
        store.account_by_handle("alice").unwrap().unwrap().user,
        alice
    );
    // Another key cannot take the handle; nothing changes.
    let err = store.put_account(&account(bob, "alice")).unwrap_err();
    assert!(matches!(err, StoreError::HandleTaken), "{err:?}");
    assert_eq!(err.reason(), "handle_taken");
    assert_eq!(store.account(&bob).unwrap(), None);
    assert_eq!(
        store.account_by_handle("alice").unwrap().unwrap().user,
        alice
    );
    // A rename frees the old handle for someone else.
    let _durable = store.put_account(&account(alice, "alice2")).unwrap();
    assert_eq!(store.account_by_handle("alice").unwrap(), None);
    let _durable = store.put_account(&account(bob, "alice")).unwrap();
    assert_eq!(store.account_by_handle("alice").unwrap().unwrap().user, bob);
    assert_eq!(
        store.account_by_handle("alice2").unwrap().unwrap().user,
        alice
    );
}

/// The inbox: items come back in arrival order, paged; removal frees a place; a full inbox and
/// an oversized item are refused and change nothing.
pub(crate) fn inbox(store: &impl Store) {
    use causerie_storage::{InboxId, MAX_INBOX_ITEM_BYTES, MAX_INBOX_ITEMS, MAX_INBOX_PAGE};
    assert_eq!(store.inbox_len().unwrap(), 0);
    assert!(store.inbox_items(None, 10).unwrap().is_empty());
    let first = store.inbox_push(b"first").unwrap();
    let second = store.inbox_push(&vec![7; MAX_INBOX_ITEM_BYTES]).unwrap();
    assert!(second > first);
    let items = store.inbox_items(None, 10).unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        (items[0].id, items[0].bytes.as_slice()),
        (first, &b"first"[..])
    );
    assert_eq!(items[1].bytes.len(), MAX_INBOX_ITEM_BYTES);
    assert_eq!(store.inbox_items(Some(first), 10).unwrap()[0].id, second);
    assert!(store.inbox_items(Some(second), 10).unwrap().is_empty());
    assert!(
        store
            .inbox_items(Some(InboxId(u64::MAX)), 10)
            .unwrap()
            .is_empty()
    );

    let err = store
        .inbox_push(&vec![0; MAX_INBOX_ITEM_BYTES + 1])
        .unwrap_err();
    assert_eq!(err.reason(), "inbox_item_too_large");
    assert!(store.inbox_remove(first).unwrap());
    assert!(!store.inbox_remove(first).unwrap());
    assert_eq!(store.inbox_len().unwrap(), 1);

    while store.inbox_len().unwrap() < MAX_INBOX_ITEMS {
        store.inbox_push(b"filler").unwrap();
    }
    let err = store.inbox_push(b"one too many").unwrap_err();
    assert!(matches!(err, StoreError::InboxFull), "{err:?}");
    assert_eq!(err.reason(), "inbox_full");
    assert_eq!(store.inbox_len().unwrap(), MAX_INBOX_ITEMS);
    // Pages are bounded and walk every item once, oldest first.
    let seen = walk_pages(MAX_INBOX_PAGE, |after| {
        store
            .inbox_items(after, usize::MAX)
            .unwrap()
            .iter()
            .map(|item| item.id)
            .collect()
    });
    assert_eq!(seen.len(), MAX_INBOX_ITEMS);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(seen[0], second);
    // Removing one makes room for one, with a new id.
    assert!(store.inbox_remove(second).unwrap());
    let again = store.inbox_push(b"after removal").unwrap();
    assert!(again > *seen.last().unwrap());
}

pub(crate) fn review(store: &impl Store) {
    use causerie_crypto::{Hash32, RoomId};
    use causerie_storage::{
        MAX_REVIEW_ITEM_BYTES, MAX_REVIEW_ITEMS_PER_ROOM, MAX_REVIEW_PAGE, ReviewId,
    };
    let (a, b) = (RoomId(Hash32([1; 32])), RoomId(Hash32([2; 32])));
    assert_eq!(store.review_len(&a).unwrap(), 0);
    assert!(store.review_items(&a, None, 10).unwrap().is_empty());
    assert!(store.review_all(None, 10).unwrap().is_empty());
    let first = store.review_push(&a, b"first").unwrap();
    let in_b = store.review_push(&b, b"other room").unwrap();
    let second = store
        .review_push(&a, &vec![7; MAX_REVIEW_ITEM_BYTES])
        .unwrap();
    assert!(second > first);
    // Ids are per room.
    assert_eq!(in_b, ReviewId(0));
    let items = store.review_items(&a, None, 10).unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        (items[0].room, items[0].id, items[0].bytes.as_slice()),
        (a, first, &b"first"[..])
    );
    assert_eq!(items[1].bytes.len(), MAX_REVIEW_ITEM_BYTES);
    assert_eq!(
        store.review_items(&a, Some(first), 10).unwrap()[0].id,
        second
    );
    assert!(store.review_items(&a, Some(second), 10).unwrap().is_empty());
    assert!(
        store
            .review_items(&a, Some(ReviewId(u64::MAX)), 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.review_item(&b, in_b).unwrap().unwrap().bytes,
        b"other room"
    );
    assert!(store.review_item(&b, ReviewId(9)).unwrap().is_none());
    // Every room, in (room, id) order.
    let all: Vec<_> = store
        .review_all(None, 10)
        .unwrap()
        .into_iter()
        .map(|i| (i.room, i.id))
        .collect();
    assert_eq!(all, [(a, first), (a, second), (b, in_b)]);
    let rest: Vec<_> = store
        .review_all(Some((a, second)), 10)
        .unwrap()
        .into_iter()
        .map(|i| (i.room, i.id))
        .collect();
    assert_eq!(rest, [(b, in_b)]);

    let err = store
        .review_push(&a, &vec![0; MAX_REVIEW_ITEM_BYTES + 1])
        .unwrap_err();
    assert_eq!(err.reason(), "review_item_too_large");
    assert!(store.review_remove(&a, first).unwrap());
    assert!(!store.review_remove(&a, first).unwrap());
    assert!(!store.review_remove(&b, first.max(ReviewId(5))).unwrap());
    assert_eq!(store.review_len(&a).unwrap(), 1);
    assert_eq!(store.review_len(&b).unwrap(), 1);

    while store.review_len(&a).unwrap() < MAX_REVIEW_ITEMS_PER_ROOM {
        store.review_push(&a, b"filler").unwrap();
    }
    let err = store.review_push(&a, b"one too many").unwrap_err();
    assert!(matches!(err, StoreError::ReviewFull), "{err:?}");
    assert_eq!(err.reason(), "review_full");
    assert_eq!(store.review_len(&a).unwrap(), MAX_REVIEW_ITEMS_PER_ROOM);
    // A full room does not stop another room's queue.
    store.review_push(&b, b"still fine").unwrap();
    // Pages are bounded and walk every item once, oldest first.
    let seen = walk_pages(MAX_REVIEW_PAGE, |after| {
        store
            .review_items(&a, after, usize::MAX)
            .unwrap()
            .iter()
            .map(|item| item.id)
            .collect()
    });
    assert_eq!(seen.len(), MAX_REVIEW_ITEMS_PER_ROOM);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(seen[0], second);
    // Removing one makes room for one, with a new id.
    assert!(store.review_remove(&a, second).unwrap());
    let again = store.review_push(&a, b"after removal").unwrap();
    assert!(again > *seen.last().unwrap());
}
