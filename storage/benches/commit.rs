//! Commit throughput: signed message events committed the way the room engine will commit them
//! (one `WriteBatch` per event: put event + state pointer; extremities once per commit), in
//! group commits of 1, 100 and 1,000 events, each commit flushed. Prints events/s.
//!
//! Run: `cargo bench -p causerie-storage --bench commit`. Signing is done before timing.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::Instant;

use causerie_crypto::event::kinds;
use causerie_crypto::{AttestationId, Content, Event, EventDraft, Hash32, UserSecret, Value};
use causerie_storage::{
    EventStatus, EventStore, MemoryStore, SledStore, StateMap, StateSnapshot, Store, WriteBatch,
};

/// Events committed per measurement, by group size (group commit of 1 is flush-bound).
const RUNS: [(usize, usize); 3] = [(1, 2_000), (100, 20_000), (1_000, 50_000)];

fn events(count: usize) -> Vec<Event> {
    let secret = UserSecret::from_seed(&[5; 32]);
    let attestation = AttestationId(Hash32([9; 32]));
    let mut content = Content::new();
    content.insert(
        "creator".into(),
        Value::Bytes(secret.public().as_bytes().to_vec()),
    );
    let create = EventDraft {
        room: None,
        author: secret.public(),
        kind: kinds::CREATE.into(),
        state_key: Some(String::new()),
        content,
        prev_events: vec![],
        auth_events: vec![],
        depth: 0,
        origin_ts: 1_700_000_000_000,
        attestation,
    }
    .sign(&secret)
    .unwrap();
    let mut out = vec![create.clone()];
    for i in 1..count {
        let mut content = Content::new();
        content.insert(
            "body".into(),
            Value::Text(format!("message number {i}, about sixty bytes of text")),
        );
        let prev = out[i - 1].id();
        out.push(
            EventDraft {
                room: Some(create.room_id()),
                author: secret.public(),
                kind: kinds::MESSAGE.into(),
                state_key: None,
                content,
                prev_events: vec![prev],
                auth_events: vec![create.id()],
                depth: i as u64,
                origin_ts: 1_700_000_000_000 + i as u64,
                attestation,
            }
            .sign(&secret)
            .unwrap(),
        );
    }
    out
}

/// Commits `events` in groups of `group`; returns events per second.
fn run(store: &impl Store, events: &[Event], group: usize, flush: bool) -> f64 {
    let mut map = StateMap::new();
    map.insert((kinds::CREATE.into(), String::new()), events[0].id());
    let state = StateSnapshot::new(map).unwrap();
    let room = events[0].room_id();
    let mut first = WriteBatch::new();
    first.put_snapshot(state.clone());
    let _durable = store.commit(vec![first]).unwrap();
    let start = Instant::now();
    for chunk in events.chunks(group) {
        let mut batches: Vec<WriteBatch> = chunk
            .iter()
            .map(|e| {
                let mut batch = WriteBatch::new();
                batch
                    .put_event(e.clone(), EventStatus::Accepted)
                    .set_state_before(e.id(), state.id());
                batch
            })
            .collect();
        let mut tips = WriteBatch::new();
        tips.set_extremities(room, chunk.last().map(|e| e.id()));
        batches.push(tips);
        if flush {
            let _durable = store.commit(batches).unwrap();
        } else {
            store.apply(batches).unwrap();
        }
    }
    if !flush {
        let _durable = store.flush().unwrap();
    }
    events.len() as f64 / start.elapsed().as_secs_f64()
}

/// Baseline on the same machine at the same moment: raw sled inserts of pseudo-random 33-byte
/// keys with 300-byte values, 1,000 per batch, each batch flushed.
fn raw_sled_inserts_per_second() -> f64 {
    const INSERTS: u64 = 50_000;
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new().path(dir.path()).open().unwrap();
    let tree = db.open_tree("raw").unwrap();
    let mut x: u64 = 1;
    let start = Instant::now();
    for _ in 0..INSERTS / 1_000 {
        let mut batch = sled::Batch::default();
        for _ in 0..1_000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let mut key = vec![1u8; 33];
            key[1..9].copy_from_slice(&x.to_be_bytes());
            batch.insert(key, vec![7u8; 300]);
        }
        tree.apply_batch(batch).unwrap();
        db.flush().unwrap();
    }
    INSERTS as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let all = events(RUNS.iter().map(|(_, n)| *n).max().unwrap_or(0));
    println!("causerie-storage commit benchmark (one flush per commit)");
    println!(
        "sled   raw inserts, 1000 per flushed batch: {:>10.0} inserts/s",
        raw_sled_inserts_per_second()
    );
    for (group, count) in RUNS {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let rate = run(&store, &all[..count], group, true);
        println!(
            "sled   group commit of {group:>5}: {rate:>10.0} events/s ({:.2} µs/event)",
            1e6 / rate
        );
    }
    {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let rate = run(&store, &all, 1_000, false);
        println!(
            "sled   apply of 1000, one flush at the end: {rate:>10.0} events/s ({:.2} µs/event)",
            1e6 / rate
        );
        let start = Instant::now();
        for e in &all {
            assert!(store.event(&e.id()).unwrap().is_some());
        }
        let rate = all.len() as f64 / start.elapsed().as_secs_f64();
        println!("sled   event(id) read + decode_trusted: {rate:>10.0} reads/s");
    }
    for (group, count) in RUNS {
        let store = MemoryStore::new();
        let rate = run(&store, &all[..count], group, true);
        println!(
            "memory group commit of {group:>5}: {rate:>10.0} events/s ({:.2} µs/event)",
            1e6 / rate
        );
    }
}
