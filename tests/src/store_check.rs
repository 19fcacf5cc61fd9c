//! Checks on a stopped node's store, for scenarios that redact, purge or erase and must leave a
//! store that still verifies (specs/moderation.md §4, specs/accountability.md §7).

use std::path::Path;

use causerie_crypto::{Event, RoomId};
use causerie_storage::{Direction, EventStore, MAX_PAGE_LEN, RoomDagStore, SledStore};

/// Re-opens a stopped node's store and checks every stored event of `room`: its bytes decode
/// with a valid signature into the id it is stored under, and everything it references is
/// stored; the store's own integrity scan finds no problem. Returns how many events it checked;
/// panics (a test failure) on the first one that fails.
pub fn verify_store(store_dir: &Path, room: RoomId) -> usize {
    let store = SledStore::open(store_dir).expect("store opens");
    let report = store.verify_integrity().expect("integrity scan");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let mut checked = 0;
    let mut from = None;
    loop {
        let page = store
            .events_by_depth(&room, from, Direction::Forward, MAX_PAGE_LEN)
            .expect("page");
        let Some(last) = page.last().copied() else {
            break;
        };
        for position in page {
            let stored = store.event(&position.event).expect("read").expect("stored");
            let decoded = Event::decode(stored.event.as_bytes()).expect("signature and format");
            assert_eq!(decoded.id(), position.event);
            for reference in decoded.references() {
                assert!(
                    store.contains(&reference).expect("read"),
                    "{reference} missing"
                );
            }
            checked += 1;
        }
        from = Some(last);
    }
    checked
}
