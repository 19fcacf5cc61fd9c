//! Runs the shared suite (`support/suite.rs`) against every backend, plus the sled-only checks:
//! persistence across reopen and the schema-version guard.

#![allow(clippy::unwrap_used)]

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/suite.rs"]
mod suite;

use causerie_storage::{
    Direction, EventStatus, EventStore, MemoryStore, RoomDagStore, SledStore, Store, WriteBatch,
};

use fixtures::*;

macro_rules! for_each_backend {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[test] fn $name() { super::suite::$name(&causerie_storage::MemoryStore::new()); })*
        }
        mod sled {
            $(#[test] fn $name() {
                let dir = tempfile::tempdir().unwrap();
                let store = causerie_storage::SledStore::open(dir.path()).unwrap();
                super::suite::$name(&store);
                let report = store.verify_integrity().unwrap();
                assert!(report.problems.is_empty(), "{:?}", report.problems);
            })*
        }
    };
}

for_each_backend!(
    put_get_contains,
    order_index_pages_both_ways,
    pages_are_bounded,
    children_index,
    extremities,
    status_transitions,
    state_snapshots,
    attestations,
    author_index,
    redaction_replaces_bytes,
    sequence_and_atomicity,
    concurrent_commits,
    accounts,
    inbox,
    review,
);

#[test]
fn memory_store_is_usable_through_a_trait_object() {
    let store: Box<dyn Store> = Box::new(MemoryStore::new());
    assert_eq!(store.last_sequence().unwrap(), 0);
}

#[test]
fn sled_persists_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let alice = user(1);
    let create = create(&alice, 0);
    let events = chain(&alice, &create, 20);
    {
        let store = SledStore::open(dir.path()).unwrap();
        let mut batch = WriteBatch::new();
        batch.put_event(create.clone(), EventStatus::Accepted);
        for e in &events {
            batch.put_event(e.clone(), EventStatus::Accepted);
        }
        batch.set_extremities(create.room_id(), [events[19].id()]);
        assert_eq!(store.commit(vec![batch]).unwrap().sequence, 1);
    }
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.last_sequence().unwrap(), 1);
    for e in &events {
        let stored = store.event(&e.id()).unwrap().unwrap();
        assert_eq!(
            causerie_crypto::Event::decode(stored.event.as_bytes())
                .unwrap()
                .id(),
            e.id()
        );
    }
    assert_eq!(
        store.extremities(&create.room_id()).unwrap(),
        ids(&[&events[19]])
    );
    let order = store
        .events_by_depth(&create.room_id(), None, Direction::Backward, 1)
        .unwrap();
    assert_eq!(order[0].event, events[19].id());
    assert!(store.verify_integrity().unwrap().problems.is_empty());
}

#[test]
fn sled_accounts_survive_reopen() {
    use causerie_storage::{Account, AccountStore};
    let dir = tempfile::tempdir().unwrap();
    let alice = user(1);
    let account = Account {
        attestation: attestation(9, &alice, "alice").id(),
        display_name: "Alice".into(),
        handle: "alice".into(),
        registered_ms: 1,
        user: alice.public(),
    };
    let _durable = SledStore::open(dir.path())
        .unwrap()
        .put_account(&account)
        .unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(
        store.account(&alice.public()).unwrap(),
        Some(account.clone())
    );
    assert_eq!(store.account_by_handle("alice").unwrap(), Some(account));
}

#[test]
fn sled_inbox_survives_reopen() {
    use causerie_storage::InboxStore;
    let dir = tempfile::tempdir().unwrap();
    let (kept, removed) = {
        let store = SledStore::open(dir.path()).unwrap();
        let kept = store.inbox_push(b"a report").unwrap();
        let removed = store.inbox_push(b"handled").unwrap();
        assert!(store.inbox_remove(removed).unwrap());
        (kept, removed)
    };
    let store = SledStore::open(dir.path()).unwrap();
    let items = store.inbox_items(None, 10).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0].id, items[0].bytes.as_slice()),
        (kept, &b"a report"[..])
    );
    assert_eq!(store.inbox_len().unwrap(), 1);
    // Ids keep growing across the reopen: a removed id is never given again.
    assert!(store.inbox_push(b"later").unwrap() > removed);
}

#[test]
fn sled_refuses_other_schema_versions() {
    let dir = tempfile::tempdir().unwrap();
    drop(SledStore::open(dir.path()).unwrap());
    {
        let db = ::sled::open(dir.path()).unwrap();
        let tree = db
            .open_tree(causerie_storage::sled_store::TREE_NAME)
            .unwrap();
        tree.insert(b"\x00schema", &99u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let err = SledStore::open(dir.path()).unwrap_err();
    assert_eq!(err.reason(), "schema_mismatch", "{err}");

    let foreign = tempfile::tempdir().unwrap();
    {
        let db = ::sled::open(foreign.path()).unwrap();
        let tree = db
            .open_tree(causerie_storage::sled_store::TREE_NAME)
            .unwrap();
        tree.insert(b"something", b"else").unwrap();
        db.flush().unwrap();
    }
    let err = SledStore::open(foreign.path()).unwrap_err();
    assert_eq!(err.reason(), "missing_schema");
}

#[test]
fn sled_reports_a_corrupt_record_instead_of_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let alice = user(1);
    let create = create(&alice, 0);
    {
        let store = SledStore::open(dir.path()).unwrap();
        let mut batch = WriteBatch::new();
        batch.put_event(create.clone(), EventStatus::Accepted);
        let _durable = store.commit(vec![batch]).unwrap();
    }
    {
        let db = ::sled::open(dir.path()).unwrap();
        let tree = db
            .open_tree(causerie_storage::sled_store::TREE_NAME)
            .unwrap();
        // The first chunk of event records: prefix 1, chunk number 0 (big-endian). Its last
        // byte is the last byte of the only event's record.
        let key = [&[1u8][..], &0u64.to_be_bytes()].concat();
        let mut value = tree.get(&key).unwrap().unwrap().to_vec();
        let last = value.len() - 1;
        value[last] ^= 0x55;
        tree.insert(&key, value).unwrap();
        db.flush().unwrap();
    }
    // Open rebuilds the in-memory indexes from every record, so it finds the damage at once.
    let err = SledStore::open(dir.path()).unwrap_err();
    assert_eq!(err.reason(), "corrupt_record", "{err}");
}

/// A commit of many events spreads them over several chunks; changing stored events (status,
/// state pointer, redacted form) rewrites their chunks in place, leaving the neighbours intact,
/// and everything reads back the same after a reopen (which rebuilds the in-memory indexes).
#[test]
fn sled_chunks_split_and_rewrite_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let alice = user(1);
    let create = create(&alice, 0);
    // Long bodies, so the chain needs many chunks.
    let mut events = vec![create.clone()];
    for i in 0..120 {
        let body = format!("{i:0>400}");
        let next = message_after(&alice, &[events.last().unwrap()], &body);
        events.push(next);
    }
    let snapshot = causerie_storage::StateSnapshot::new(
        [(("m.create".to_owned(), String::new()), create.id())]
            .into_iter()
            .collect(),
    )
    .unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let mut batch = WriteBatch::new();
    for e in &events {
        batch.put_event(e.clone(), EventStatus::Accepted);
    }
    batch.set_extremities(create.room_id(), [events[120].id()]);
    let _durable = store.commit(vec![batch]).unwrap();

    let mut changes = WriteBatch::new();
    changes
        .put_snapshot(snapshot.clone())
        .set_status(events[3].id(), EventStatus::SoftFailed)
        .set_status(events[4].id(), EventStatus::rejected("bad_thing"))
        .set_state_before(events[60].id(), snapshot.id())
        .put_event(events[119].redacted(), EventStatus::Accepted);
    let _durable = store.commit(vec![changes]).unwrap();

    let check = |store: &SledStore| {
        let room = create.room_id();
        for (i, e) in events.iter().enumerate() {
            let stored = store.event(&e.id()).unwrap().unwrap();
            let expected_bytes = if i == 119 {
                e.redacted().as_bytes().to_vec()
            } else {
                e.as_bytes().to_vec()
            };
            assert_eq!(stored.event.as_bytes(), &expected_bytes[..], "event {i}");
            let expected_status = match i {
                3 => EventStatus::SoftFailed,
                4 => EventStatus::rejected("bad_thing"),
                _ => EventStatus::Accepted,
            };
            assert_eq!(stored.status, expected_status, "event {i}");
            let expected_state = (i == 60).then(|| snapshot.id());
            assert_eq!(stored.state_before, expected_state, "event {i}");
        }
        assert_eq!(
            store.soft_failed(&room, None, 10).unwrap(),
            [events[3].id()]
        );
        assert_eq!(
            store.rejected(&room, None, 10).unwrap(),
            [(events[4].id(), "bad_thing".to_owned())]
        );
        let order = store
            .events_by_depth(&room, None, Direction::Forward, 1_000)
            .unwrap();
        let expected: Vec<_> = events.iter().map(|e| e.id()).collect();
        assert_eq!(order.iter().map(|p| p.event).collect::<Vec<_>>(), expected);
        let report = store.verify_integrity().unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.events, 121);
    };
    check(&store);
    drop(store);
    let store = SledStore::open(dir.path()).unwrap();
    check(&store);

    // The redacted content is gone from every chunk, not only from what reads return.
    drop(store);
    let db = ::sled::open(dir.path()).unwrap();
    let tree = db
        .open_tree(causerie_storage::sled_store::TREE_NAME)
        .unwrap();
    let original = events[119].as_bytes();
    let chunks: Vec<_> = tree
        .scan_prefix([1u8])
        .map(|item| item.unwrap().1)
        .collect();
    assert!(chunks.len() > 3, "{} chunks", chunks.len());
    assert!(
        chunks
            .iter()
            .all(|c| !c.windows(original.len()).any(|w| w == original))
    );
}

#[test]
fn sled_review_queue_survives_reopen() {
    use causerie_crypto::{Hash32, RoomId};
    use causerie_storage::ReviewStore;
    let dir = tempfile::tempdir().unwrap();
    let room = RoomId(Hash32([3; 32]));
    let (kept, removed) = {
        let store = SledStore::open(dir.path()).unwrap();
        let kept = store.review_push(&room, b"held").unwrap();
        let removed = store.review_push(&room, b"approved").unwrap();
        assert!(store.review_remove(&room, removed).unwrap());
        (kept, removed)
    };
    let store = SledStore::open(dir.path()).unwrap();
    let items = store.review_items(&room, None, 10).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0].id, items[0].bytes.as_slice()),
        (kept, &b"held"[..])
    );
    assert_eq!(store.review_len(&room).unwrap(), 1);
    // Ids keep growing across the reopen: a removed id is never given again.
    assert!(store.review_push(&room, b"later").unwrap() > removed);
}
