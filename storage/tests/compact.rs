//! Compaction (storage `sled_store/compact.rs`, specs/moderation.md §4): a redacted event's text
//! stays in sled's files after the record is replaced, and is in no file under the store's
//! directory once the store is compacted; everything else reads back the same, before and
//! after reopening, and a compaction interrupted at each step is finished or undone on open.

#![allow(clippy::unwrap_used)]

#[path = "support/fixtures.rs"]
mod fixtures;

use std::path::Path;

use causerie_crypto::Event;
use causerie_storage::testing::files_contain;
use causerie_storage::{
    AccountStore, Direction, EventStatus, EventStore, InboxStore, RoomDagStore, SledStore, Store,
    WriteBatch,
};

use fixtures::*;

fn commit(store: &SledStore, events: &[Event], status: EventStatus) {
    let mut batch = WriteBatch::new();
    for event in events {
        batch.put_event(event.clone(), status.clone());
    }
    let _durable = store.commit(vec![batch]).unwrap();
}

fn account(secret: &causerie_crypto::UserSecret, handle: &str) -> causerie_storage::Account {
    causerie_storage::Account {
        attestation: attestation(9, secret, handle).id(),
        display_name: String::new(),
        handle: handle.to_owned(),
        registered_ms: 0,
        user: secret.public(),
    }
}

/// Whether `event` reads back from `store` redacted.
fn reads_redacted(store: &SledStore, event: &Event) -> bool {
    store
        .event(&event.id())
        .unwrap()
        .unwrap()
        .event
        .is_redacted()
}

/// A store with a room of `count` messages after its create event, the first one secret.
fn filled(dir: &Path, count: usize) -> (SledStore, Vec<Event>) {
    let store = SledStore::open(dir).unwrap();
    let alice = user(1);
    let create = create(&alice, 0);
    let mut events = vec![create.clone()];
    events.push(message_after(&alice, &[&create], "the secret-text-4711"));
    for chunk in chain(&alice, &events[1].clone(), count - 1).chunks(500) {
        events.extend_from_slice(chunk);
    }
    for chunk in events.chunks(500) {
        commit(&store, chunk, EventStatus::Accepted);
    }
    (store, events)
}

#[test]
fn compaction_removes_redacted_text_from_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let (store, events) = filled(&path, 2_000);
    let _durable = store.put_account(&account(&user(9), "ann")).unwrap();
    store.inbox_push(b"a letter").unwrap();
    let secret = events[1].clone();
    commit(&store, &[secret.redacted()], EventStatus::Accepted);
    assert!(reads_redacted(&store, &secret));
    // Replaced, but sled's log still has the old chunk.
    assert!(files_contain(&path, b"secret-text-4711"));

    let report = store.compact().unwrap();
    eprintln!(
        "compacted {} events: {} entries, {} -> {} bytes in {} ms",
        events.len(),
        report.entries,
        report.bytes_before,
        report.bytes_after,
        report.millis
    );
    assert!(!files_contain(&path, b"secret-text-4711"));
    // sled preallocates its log, so a small store may not shrink: only the text is sure to go.
    assert!(report.entries > 0);
    assert!(!dir.path().join("store.compacting").exists());
    assert!(!dir.path().join("store.old").exists());
    // Everything reads back, writes go on, and all of it survives a reopen.
    let check = |store: &SledStore| {
        for event in &events[2..] {
            let stored = store.event(&event.id()).unwrap().unwrap();
            assert_eq!(stored.event.as_bytes(), event.as_bytes());
        }
        assert_eq!(
            store.event(&secret.id()).unwrap().unwrap().event.as_bytes(),
            secret.redacted().as_bytes()
        );
        assert_eq!(
            store.account(&user(9).public()).unwrap().unwrap().handle,
            "ann"
        );
        assert_eq!(store.inbox_len().unwrap(), 1);
        let report = store.verify_integrity().unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    };
    check(&store);
    let later = message_after(&user(1), &[events.last().unwrap()], "after compaction");
    commit(&store, std::slice::from_ref(&later), EventStatus::Accepted);
    let room = events[0].room_id();
    let before = store
        .events_by_depth(&room, None, Direction::Forward, 10_000)
        .unwrap();
    drop(store);
    let store = SledStore::open(&path).unwrap();
    check(&store);
    assert!(store.contains(&later.id()).unwrap());
    assert_eq!(
        store
            .events_by_depth(&room, None, Direction::Forward, 10_000)
            .unwrap(),
        before
    );
}

#[test]
fn a_temporary_store_compacts_too() {
    let store = SledStore::temporary().unwrap();
    let alice = user(1);
    let create = create(&alice, 0);
    let message = message_after(&alice, &[&create], "gone");
    commit(&store, &[create, message.clone()], EventStatus::Accepted);
    commit(&store, &[message.redacted()], EventStatus::Accepted);
    assert!(store.compact().unwrap().entries > 0);
    assert!(reads_redacted(&store, &message));
}

/// Lays out the directories a crash leaves at each step of the swap and checks that opening
/// ends with one complete store and no leftovers.
#[test]
fn an_interrupted_compaction_is_finished_or_undone_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let compacting = dir.path().join("store.compacting");
    let old = dir.path().join("store.old");
    let (store, events) = filled(&path, 10);
    drop(store);
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap().flatten() {
            if entry.path().is_file() {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    };
    let reopen = || {
        let store = SledStore::open(&path).unwrap();
        assert!(store.contains(&events[5].id()).unwrap());
        drop(store);
        assert!(path.exists() && !compacting.exists() && !old.exists());
    };
    // Copy written, not swapped: the copy is dropped.
    copy(&path, &compacting);
    std::fs::write(compacting.join("partial"), b"x").unwrap();
    reopen();
    // Swap half done: the live store renamed away, the copy not yet in place.
    copy(&path, &compacting);
    std::fs::rename(&path, &old).unwrap();
    reopen();
    // Swap done, the old directory not yet deleted.
    copy(&path, &old);
    reopen();
}
