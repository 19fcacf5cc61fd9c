//! Ban-and-purge in the node's store (specs/moderation.md §1.4, §4), through the ledger on a real
//! sled store: the target's accepted events are stored redacted, their held events (outliers,
//! whose parents the node lacks) are rewritten redacted at once, stay redacted once accepted, and
//! after a compaction none of the texts is in the store's files; a restart rebuilds the same room.

#![allow(clippy::unwrap_used)]

#[path = "../room/tests/support/room.rs"]
mod support;

use causerie_crypto::event::kinds;
use causerie_crypto::{Event, Value};
use causerie_node::ledger::Ledger;
use causerie_room::Membership;
use causerie_storage::testing::files_contain;
use causerie_storage::{EventStatus, EventStore, SledStore};
use support::*;

fn stored(ledger: &Ledger<SledStore>, event: &Event) -> (bool, EventStatus) {
    let stored = ledger.store().event(&event.id()).unwrap().unwrap();
    (stored.event.is_redacted(), stored.status)
}

#[test]
fn a_purge_redacts_accepted_and_held_events_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let (alice, eve) = (User::new(1), User::new(5));
    let (mut view, mut events) = View::create(&alice, &[&eve]);
    events.push(view.join(&eve));
    events.push(view.message(&eve, "accepted-canary"));
    // Eve's fork: a parent the node will lack for a while, and its child.
    let mut fork = view.clone();
    let parent = fork.message(&eve, "parent-canary");
    let child = fork.message(&eve, "held-canary");
    let mut purge_content = member(Membership::Ban);
    purge_content.insert("purge".into(), Value::Bool(true));
    let purge = view.send(&alice, kinds::MEMBER, Some(&eve.hex()), purge_content);

    let mut ledger = Ledger::open(SledStore::open(&path).unwrap(), view.now).unwrap();
    for user in [&alice, &eve] {
        ledger.add_attestation(user.attestation.clone()).unwrap();
    }
    ledger.receive(events.clone(), view.now).unwrap();
    ledger.receive(vec![child.clone()], view.now).unwrap();
    assert!(matches!(
        stored(&ledger, &child),
        (false, EventStatus::Outlier { .. })
    ));

    ledger.receive(vec![purge.clone()], view.now).unwrap();
    assert!(ledger.compaction_due());
    assert!(
        stored(&ledger, &events[5]).0,
        "the accepted message is stored redacted"
    );
    assert!(
        matches!(stored(&ledger, &child), (true, EventStatus::Outlier { .. })),
        "the held message is stored redacted"
    );
    ledger.receive(vec![parent.clone()], view.now).unwrap();
    for event in [&parent, &child] {
        assert!(
            matches!(stored(&ledger, event), (true, EventStatus::SoftFailed)),
            "{:?}",
            stored(&ledger, event)
        );
    }
    let report = ledger.compact().unwrap();
    assert!(!ledger.compaction_due() && report.entries > 0);
    for text in ["accepted-canary", "parent-canary", "held-canary"] {
        assert!(!files_contain(&path, text.as_bytes()), "{text}");
    }
    let room = events[0].room_id();
    let timeline = ledger.room(&room).unwrap().timeline();
    drop(ledger);
    let ledger = Ledger::open(SledStore::open(&path).unwrap(), view.now).unwrap();
    assert_eq!(ledger.room(&room).unwrap().timeline(), timeline);
}
