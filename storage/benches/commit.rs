//! Commit throughput: signed message events committed the way the room engine will commit them
//! (one `WriteBatch` per event: put event + state pointer; extremities once per commit), in
//! group commits of 1, 100, 256 and 1,000 events, each commit flushed. Prints events/s (wall
//! time, which includes waiting for the disk) and the process CPU time per event (every thread:
//! sled writes from helper threads too), which is what competes with signature verification.
//! Also times reopening a store of 50,000 events (the sled backend rebuilds its in-memory
//! indexes from the records on open).
//!
//! Run: `cargo bench -p causerie-storage --bench commit`. Signing is done before timing. CPU time
//! comes from `/proc/self/stat` (Linux), in clock ticks of 10 ms, hence the large runs. The raw
//! sled lines are the floor of a layout with one sled key per event, measured in the same run,
//! since the machine is shared and absolute figures move with its load.
//! `CAUSERIE_BENCH_PROFILE=sled` (or `memory`) runs only group commits of 1,000 on that
//! backend (50,000 events into each of 8 fresh stores), for a profiler.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::Instant;

use causerie_crypto::event::kinds;
use causerie_crypto::testing::{FIXTURE_ATTESTATION, Said, create_draft, draft_after};
use causerie_crypto::{Event, UserSecret};
use causerie_storage::{
    EventStatus, EventStore, MemoryStore, SledStore, StateMap, StateSnapshot, Store, WriteBatch,
};

/// Events committed per measurement, by group size (group commit of 1 is flush-bound).
const RUNS: [(usize, usize); 4] = [(1, 2_000), (100, 20_000), (256, 50_000), (1_000, 50_000)];
/// Group sizes measured in interleaved rounds with the one-key floor, and their event count.
const MEDIAN_GROUPS: [usize; 2] = [256, 1_000];
const MEDIAN_ROUNDS: usize = 3;
const MEDIAN_EVENTS: usize = 50_000;
/// Clock ticks per second of `/proc/self/stat` (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time used so far by the whole process (user + system, all threads), in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / TICKS_PER_SECOND
}

/// Events per second (wall) and CPU microseconds per event.
struct Rate {
    per_second: f64,
    cpu_us: f64,
}

/// The rate with the median CPU time (CPU is what the goal is about; wall time includes the
/// disk), so the printed pair comes from one round.
fn median(mut rates: Vec<Rate>) -> Rate {
    rates.sort_by(|a, b| a.cpu_us.total_cmp(&b.cpu_us));
    rates.swap_remove(rates.len() / 2)
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>10.0} events/s ({:>6.2} µs/event wall, {:>6.2} µs/event CPU)",
            self.per_second,
            1e6 / self.per_second,
            self.cpu_us
        )
    }
}

fn events(count: usize) -> Vec<Event> {
    let secret = UserSecret::from_seed(&[5; 32]);
    let create = create_draft(secret.public(), None, FIXTURE_ATTESTATION)
        .sign(&secret)
        .unwrap();
    let mut out = vec![create.clone()];
    for i in 1..count {
        let body = format!("message number {i}, about sixty bytes of text");
        let prev = vec![out[i - 1].id()];
        let draft = draft_after(
            secret.public(),
            create.room_id(),
            prev,
            i as u64,
            Said::Message(&body),
            FIXTURE_ATTESTATION,
        );
        out.push(draft.sign(&secret).unwrap());
    }
    out
}

/// Commits `events` in groups of `group`.
fn run(store: &impl Store, events: &[Event], group: usize, flush: bool) -> Rate {
    let mut map = StateMap::new();
    map.insert((kinds::CREATE.into(), String::new()), events[0].id());
    let state = StateSnapshot::new(map).unwrap();
    let room = events[0].room_id();
    let mut first = WriteBatch::new();
    first.put_snapshot(state.clone());
    let _durable = store.commit(vec![first]).unwrap();
    let start = Instant::now();
    let cpu_start = cpu_seconds();
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
    Rate {
        per_second: events.len() as f64 / start.elapsed().as_secs_f64(),
        cpu_us: (cpu_seconds() - cpu_start) * 1e6 / events.len() as f64,
    }
}

/// Baseline on the same machine at the same moment: raw sled inserts, `per_batch` values of
/// `value_len` bytes per flushed batch, `total` values in all, keys random or sequential. This
/// is the cost a layout with one sled key per event cannot go below. Returns the rate per value.
fn raw_sled_inserts(total: u64, per_batch: u64, value_len: usize, sequential: bool) -> Rate {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new()
        .path(dir.path())
        .flush_every_ms(None)
        .open()
        .unwrap();
    let tree = db.open_tree("raw").unwrap();
    let mut x: u64 = 1;
    let start = Instant::now();
    let cpu_start = cpu_seconds();
    for _ in 0..total / per_batch {
        let mut batch = sled::Batch::default();
        for _ in 0..per_batch {
            x = if sequential {
                x + 1
            } else {
                x.wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407)
            };
            let mut key = vec![1u8; 73];
            key[1..9].copy_from_slice(&x.to_be_bytes());
            batch.insert(key, vec![7u8; value_len]);
        }
        tree.apply_batch(batch).unwrap();
        db.flush().unwrap();
    }
    Rate {
        per_second: total as f64 / start.elapsed().as_secs_f64(),
        cpu_us: (cpu_seconds() - cpu_start) * 1e6 / total as f64,
    }
}

fn main() {
    // `CAUSERIE_BENCH_PROFILE=sled` (or `memory`): only group commits of 1,000, 50,000 events
    // into each of 8 fresh stores of that backend, for a profiler.
    if let Some(backend) = std::env::var_os("CAUSERIE_BENCH_PROFILE") {
        let all = events(50_000);
        for _ in 0..8 {
            let dir = tempfile::tempdir().unwrap();
            let rate = if backend == "memory" {
                run(&MemoryStore::new(), &all, 1_000, true)
            } else {
                run(&SledStore::open(dir.path()).unwrap(), &all, 1_000, true)
            };
            println!("{backend:?} group commit of  1000: {rate}");
        }
        return;
    }
    let all = events(RUNS.iter().map(|(_, n)| *n).max().unwrap_or(0));
    println!("causerie-storage commit benchmark (one flush per commit)");
    println!(
        "sled   raw, one random key per event, 1000 per flushed batch:  {}",
        raw_sled_inserts(50_000, 1_000, 450, false)
    );
    for (group, count) in RUNS
        .iter()
        .copied()
        .filter(|(g, _)| !MEDIAN_GROUPS.contains(g))
    {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let rate = run(&store, &all[..count], group, true);
        println!("sled   group commit of {group:>5}: {rate}");
    }
    // The figures the goal is about: interleaved rounds next to the one-key floor, medians.
    let mut floor = Vec::new();
    let mut groups: Vec<Vec<Rate>> = MEDIAN_GROUPS.iter().map(|_| Vec::new()).collect();
    for _ in 0..MEDIAN_ROUNDS {
        floor.push(raw_sled_inserts(50_000, 256, 450, true));
        for (i, group) in MEDIAN_GROUPS.iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            let store = SledStore::open(dir.path()).unwrap();
            groups[i].push(run(&store, &all[..MEDIAN_EVENTS], *group, true));
        }
    }
    println!(
        "sled   raw, one appended key per event, 256 per flushed batch: {} (median of {MEDIAN_ROUNDS})",
        median(floor)
    );
    for (group, rates) in MEDIAN_GROUPS.iter().zip(groups) {
        println!(
            "sled   group commit of {group:>5}: {} (median of {MEDIAN_ROUNDS})",
            median(rates)
        );
    }
    {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let rate = run(&store, &all, 1_000, false);
        println!("sled   apply of 1000, one flush at the end: {rate}");
        drop(store);
        let start = Instant::now();
        let store = SledStore::open(dir.path()).unwrap();
        println!(
            "sled   open of {} events (index rebuild): {:.3} s",
            all.len(),
            start.elapsed().as_secs_f64()
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
        println!("memory group commit of {group:>5}: {rate}");
    }
}
