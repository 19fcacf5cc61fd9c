//! Model-based test: random sequences of commits, non-flushing applies (valid and invalid
//! operations alike) and closing + reopening of the sled database, applied to the sled store
//! and to the in-memory store, which must give identical answers to every query after every
//! step (errors compared by reason name).
//!
//! Seeds: `CAUSERIE_MODEL_SEED` replays one seed; by default [`SEEDS`] seeds are run. The seed
//! and step are in every assertion message.

#![allow(clippy::unwrap_used)]

#[path = "support/fixtures.rs"]
mod fixtures;

use std::collections::BTreeMap;
use std::fmt::Debug;

use causerie_crypto::{Attestation, Event, EventId, RoomId, UserSecret};
use causerie_storage::{
    Direction, EventStatus, EventStore, MemoryStore, SledStore, SnapshotId, StateMap,
    StateSnapshot, Store, StoreError, WriteBatch, WriteOp,
};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use fixtures::*;

const SEEDS: u64 = 12;
const STEPS: usize = 100;
const POOL_EVENTS: usize = 40;

/// Everything the random operations draw from.
struct Pool {
    users: Vec<UserSecret>,
    rooms: Vec<RoomId>,
    events: Vec<Event>,
    ids: Vec<EventId>,
    snapshots: Vec<StateSnapshot>,
    attestations: Vec<Attestation>,
    /// Pool events currently stored (refreshed after every step).
    stored: Vec<EventId>,
}

fn pool(rng: &mut ChaCha8Rng) -> Pool {
    let users: Vec<UserSecret> = (1..=3).map(user).collect();
    let creates: Vec<Event> = (0..2).map(|i| create(&users[i], i as i64)).collect();
    let mut events = creates.clone();
    for i in 0..POOL_EVENTS {
        let author = users.choose(rng).unwrap();
        let room = creates.choose(rng).unwrap().room_id();
        let same_room: Vec<&Event> = events.iter().filter(|e| e.room_id() == room).collect();
        let count = rng.random_range(1..=2);
        let mut parents: Vec<&Event> = same_room.choose_multiple(rng, count).copied().collect();
        parents.sort_by_key(|e| e.id());
        let mut prev: Vec<EventId> = parents.iter().map(|e| e.id()).collect();
        if rng.random_bool(0.15) {
            prev.push(fake_id(200 + (i % 5) as u8));
        }
        let depth = 1 + parents.iter().map(|p| p.depth()).max().unwrap_or(0);
        events.push(event(
            author,
            room,
            &prev,
            depth,
            &format!("e{i}"),
            rng.random_bool(0.2),
        ));
    }
    // A few redacted forms: same id, other bytes.
    let redacted: Vec<Event> = events
        .iter()
        .skip(2)
        .step_by(7)
        .map(|e| e.redacted())
        .collect();
    let mut ids: Vec<EventId> = events.iter().map(|e| e.id()).collect();
    ids.extend((200..205).map(fake_id));
    events.extend(redacted);
    let mut snapshots = Vec::new();
    for _ in 0..6 {
        let mut map = StateMap::new();
        let count = rng.random_range(0..4);
        for e in events.choose_multiple(rng, count) {
            map.insert((e.kind().to_owned(), e.id().to_string()), e.id());
        }
        snapshots.push(StateSnapshot::new(map).unwrap());
    }
    let attestations = users
        .iter()
        .enumerate()
        .map(|(i, u)| attestation(60 + (i % 2) as u8, u, &format!("u{i}")))
        .collect();
    Pool {
        users,
        rooms: creates.iter().map(|c| c.room_id()).collect(),
        events,
        ids,
        snapshots,
        attestations,
        stored: Vec::new(),
    }
}

fn random_status(rng: &mut ChaCha8Rng, pool: &Pool) -> EventStatus {
    match rng.random_range(0..40) {
        0..=17 => EventStatus::Accepted,
        18..=23 => EventStatus::SoftFailed,
        24..=29 => EventStatus::rejected(["auth_failed", "bad_power"].choose(rng).unwrap()),
        30..=37 => {
            let count = rng.random_range(1..=3);
            EventStatus::outlier(pool.ids.choose_multiple(rng, count).copied())
        }
        38 => EventStatus::rejected("Not A Reason"),
        _ => EventStatus::outlier([]),
    }
}

/// Mostly an id of a stored event, sometimes of any pool event, or of one no event has.
fn random_ref(rng: &mut ChaCha8Rng, pool: &Pool) -> EventId {
    match rng.random_range(0..20) {
        0..=16 if !pool.stored.is_empty() => *pool.stored.choose(rng).unwrap(),
        0..=18 => pool.events.choose(rng).unwrap().id(),
        _ => *pool.ids.choose(rng).unwrap(),
    }
}

fn random_snapshot_id(rng: &mut ChaCha8Rng, pool: &Pool) -> SnapshotId {
    pool.snapshots.choose(rng).unwrap().id()
}

fn random_op(rng: &mut ChaCha8Rng, pool: &Pool) -> WriteOp {
    match rng.random_range(0..20) {
        0..=7 => WriteOp::PutEvent {
            event: pool.events.choose(rng).unwrap().clone(),
            status: random_status(rng, pool),
        },
        8..=10 => WriteOp::SetStatus {
            event: random_ref(rng, pool),
            status: random_status(rng, pool),
        },
        11..=12 => WriteOp::SetStateBefore {
            event: random_ref(rng, pool),
            snapshot: random_snapshot_id(rng, pool),
        },
        13..=14 => WriteOp::PutSnapshot(pool.snapshots.choose(rng).unwrap().clone()),
        15 => WriteOp::SetCurrentState {
            room: *pool.rooms.choose(rng).unwrap(),
            snapshot: random_snapshot_id(rng, pool),
        },
        16..=18 => {
            let count = rng.random_range(0..=3);
            WriteOp::SetExtremities {
                room: *pool.rooms.choose(rng).unwrap(),
                tips: (0..count).map(|_| random_ref(rng, pool)).collect(),
            }
        }
        _ => WriteOp::PutAttestation(pool.attestations.choose(rng).unwrap().clone()),
    }
}

/// Errors compare by reason name.
fn norm<T>(result: Result<T, StoreError>) -> Result<T, &'static str> {
    result.map_err(|e| e.reason())
}

/// The two stores under test, compared query by query.
struct Compared<'a> {
    ctx: &'a str,
    sled: &'a dyn Store,
    memory: &'a dyn Store,
}

impl Compared<'_> {
    /// Asserts that `query` answers alike on both stores.
    fn same<T: PartialEq + Debug>(
        &self,
        what: &str,
        query: impl Fn(&dyn Store) -> Result<T, StoreError>,
    ) {
        assert_eq!(
            norm(query(self.sled)),
            norm(query(self.memory)),
            "{}: {what} differs (left: sled, right: memory)",
            self.ctx
        );
    }
}

/// Every item of a paged query, walked from the start with each page's last item as the next
/// cursor.
fn walk_pages<T: Copy>(
    mut page: impl FnMut(Option<T>) -> Result<Vec<T>, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let items = page(cursor)?;
        let Some(last) = items.last() else {
            return Ok(out);
        };
        cursor = Some(*last);
        out.extend(items);
    }
}

fn compare(ctx: &str, rng: &mut ChaCha8Rng, pool: &Pool, sled: &SledStore, memory: &MemoryStore) {
    let stores = Compared { ctx, sled, memory };
    stores.same("last_sequence", |s| s.last_sequence());
    for id in &pool.ids {
        stores.same(&format!("event {id}"), |s| {
            s.event(id)
                .map(|o| o.map(|r| (r.event.as_bytes().to_vec(), r.status, r.state_before)))
        });
        stores.same("contains", |s| s.contains(id));
        stores.same("children", |s| s.children(id, None, usize::MAX));
        stores.same("waiting_for", |s| s.waiting_for(id, None, usize::MAX));
        stores.same("state_before", |s| s.state_before(id));
    }
    for room in &pool.rooms {
        stores.same("extremities", |s| s.extremities(room));
        stores.same("current_state", |s| s.current_state(room));
        stores.same("rejected", |s| s.rejected(room, None, usize::MAX));
        stores.same("soft_failed", |s| s.soft_failed(room, None, usize::MAX));
        stores.same("outliers", |s| s.outliers(room, None, usize::MAX));
        for direction in [Direction::Forward, Direction::Backward] {
            let page = rng.random_range(1..=8);
            stores.same("events_by_depth", |s| {
                walk_pages(|cursor| s.events_by_depth(room, cursor, direction, page))
            });
        }
    }
    for snapshot in &pool.snapshots {
        stores.same("snapshot", |s| {
            s.snapshot(&snapshot.id())
                .map(|o| o.map(|s| s.map().clone()))
        });
    }
    for a in &pool.attestations {
        stores.same("attestation", |s| {
            s.attestation(&a.id())
                .map(|o| o.map(|a| a.as_bytes().to_vec()))
        });
    }
    for u in &pool.users {
        let key = u.public();
        stores.same("attestations_for", |s| {
            s.attestations_for(&key, None, usize::MAX)
                .map(|v| v.iter().map(|a| a.id()).collect::<Vec<_>>())
        });
        let page = rng.random_range(1..=5);
        stores.same("events_by_author", |s| {
            walk_pages(|cursor| s.events_by_author(&key, cursor, page))
        });
    }
}

fn run_seed(seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pool = pool(&mut rng);
    let dir = tempfile::tempdir().unwrap();
    let mut sled = Some(SledStore::open(dir.path()).unwrap());
    let memory = MemoryStore::new();
    let mut outcomes: BTreeMap<&'static str, usize> = BTreeMap::new();
    for step in 0..STEPS {
        let ctx = format!("seed {seed}, step {step}");
        if rng.random_bool(0.1) {
            // Close (drop) and reopen: everything applied so far must come back.
            drop(sled.take());
            sled = Some(
                SledStore::open(dir.path()).unwrap_or_else(|e| panic!("{ctx}: reopen failed: {e}")),
            );
            *outcomes.entry("reopen").or_default() += 1;
        } else {
            let batches: Vec<WriteBatch> = (0..rng.random_range(1..=2))
                .map(|_| {
                    let mut batch = WriteBatch::new();
                    for _ in 0..rng.random_range(1..=3) {
                        batch.push(random_op(&mut rng, &pool));
                    }
                    batch
                })
                .collect();
            let store = sled.as_ref().unwrap();
            let (a, b) = if rng.random_bool(0.7) {
                (
                    norm(store.commit(batches.clone()).map(|d| d.sequence)),
                    norm(memory.commit(batches).map(|d| d.sequence)),
                )
            } else {
                (
                    norm(store.apply(batches.clone()).map(|d| d.sequence)),
                    norm(memory.apply(batches).map(|d| d.sequence)),
                )
            };
            assert_eq!(a, b, "{ctx}: write outcome differs");
            *outcomes.entry(a.err().unwrap_or("ok")).or_default() += 1;
        }
        compare(&ctx, &mut rng, &pool, sled.as_ref().unwrap(), &memory);
        pool.stored = pool
            .ids
            .iter()
            .copied()
            .filter(|id| memory.contains(id).unwrap())
            .collect();
    }
    let report = sled.as_ref().unwrap().verify_integrity().unwrap();
    let dangling_snapshot_only = report
        .problems
        .iter()
        .all(|p| p.contains("names missing event"));
    assert!(dangling_snapshot_only, "seed {seed}: {:?}", report.problems);
    eprintln!("seed {seed}: {outcomes:?}");
    assert!(
        outcomes.contains_key("ok"),
        "seed {seed}: no write succeeded: {outcomes:?}"
    );
}

#[test]
fn sled_and_memory_agree_on_random_histories() {
    let seeds: Vec<u64> = match std::env::var("CAUSERIE_MODEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(seed) => vec![seed],
        None => (0..SEEDS).collect(),
    };
    for seed in seeds {
        run_seed(seed);
    }
}
