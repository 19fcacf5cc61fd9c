//! Crash recovery: a child process (this test binary again, running only
//! [`crash_writer_child`], see `support/crash_writer.rs`) writes signed events in group commits and prints each event id once its commit returned; we SIGKILL it at a random
//! moment, reopen the store, and check that
//! - the store opens,
//! - every event reported durable is present and intact (`Event::decode` re-verifies the
//!   signature, and the id matches),
//! - no index or pointer refers to a missing event or snapshot
//!   (`SledStore::verify_integrity`, plus a walk of the room through the public API).
//!
//! All runs share one store, so later runs also recover stores that earlier kills left behind,
//! and some kills land while the child is still opening (recovering) the store.
//! Seed: `CAUSERIE_CRASH_SEED` (printed at start; shown by the harness on failure).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use causerie_crypto::{Event, EventId};

#[path = "support/crash_writer.rs"]
mod crash_writer;
use causerie_storage::{Direction, EventStore, RoomDagStore, SledStore, StateStore};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Number of kill-and-recover cycles.
const RUNS: u64 = 60;
/// Most durable lines to wait for before the kill.
const MAX_LINES_BEFORE_KILL: usize = 40;
/// Longest extra random delay before the kill, so kills also land mid-commit and mid-flush.
const MAX_EXTRA_DELAY_US: u64 = 4_000;
/// How long the child may go without reporting progress before the test fails.
const CHILD_STALL_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_SEED: u64 = 0x5eed_c4a5_4e55;
/// Set in the child's environment: the store directory the child writes into.
const CHILD_DIR_VAR: &str = "CAUSERIE_CRASH_WRITER_DIR";
/// Set in the child's environment: the child's seed.
const CHILD_SEED_VAR: &str = "CAUSERIE_CRASH_WRITER_SEED";

/// The writer, when this binary runs as the child; a no-op in an ordinary test run.
#[test]
fn crash_writer_child() {
    let (Ok(dir), Ok(seed)) = (std::env::var(CHILD_DIR_VAR), std::env::var(CHILD_SEED_VAR)) else {
        return;
    };
    let seed = seed.parse().unwrap();
    crash_writer::run(std::path::Path::new(&dir), seed).unwrap();
}

#[test]
fn sigkill_never_loses_a_durable_event() {
    let seed = std::env::var("CAUSERIE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    eprintln!("crash test seed: {seed} (set CAUSERIE_CRASH_SEED to replay)");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut durable: BTreeSet<EventId> = BTreeSet::new();
    let mut mid_open_kills = 0;
    for run in 0..RUNS {
        let lines_before_kill = rng.random_range(0..=MAX_LINES_BEFORE_KILL);
        let extra_delay = Duration::from_micros(rng.random_range(0..=MAX_EXTRA_DELAY_US));
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR_VAR, dir.path())
            .env(CHILD_SEED_VAR, rng.random::<u64>().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = 0;
        // The test harness prints its own lines ("running 1 test") around the writer's.
        let record = |line: &str, durable: &mut BTreeSet<EventId>| {
            let Some(hex) = line.strip_prefix("durable ") else {
                return false;
            };
            durable.insert(
                hex.parse()
                    .unwrap_or_else(|_| panic!("seed {seed}: bad id {hex:?}")),
            );
            true
        };
        while seen < lines_before_kill {
            match rx.recv_timeout(CHILD_STALL_TIMEOUT) {
                Ok(line) => {
                    if record(&line, &mut durable) {
                        seen += 1;
                    }
                }
                Err(e) => {
                    let status = child.try_wait();
                    panic!(
                        "seed {seed}, run {run}: writer stopped reporting ({e:?}, status {status:?})"
                    );
                }
            }
        }
        if extra_delay > Duration::ZERO {
            std::thread::sleep(extra_delay);
        }
        if seen == 0 {
            mid_open_kills += 1;
        }
        // SIGKILL on unix.
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "seed {seed}, run {run}: writer exited by itself: {status:?}"
        );
        reader.join().unwrap();
        // Lines printed between our last read and the kill were durable too.
        for line in rx.try_iter() {
            record(&line, &mut durable);
        }
        check(&dir, &durable, seed, run);
    }
    eprintln!(
        "{RUNS} kills, {mid_open_kills} before the first commit, {} durable events checked",
        durable.len()
    );
    assert!(
        durable.len() > 100,
        "seed {seed}: the writers made too little progress to test anything"
    );
}

fn check(dir: &tempfile::TempDir, durable: &BTreeSet<EventId>, seed: u64, run: u64) {
    let ctx = format!("seed {seed}, run {run}");
    let store =
        SledStore::open(dir.path()).unwrap_or_else(|e| panic!("{ctx}: store does not open: {e}"));
    for id in durable {
        let stored = store
            .event(id)
            .unwrap_or_else(|e| panic!("{ctx}: durable event {id} unreadable: {e}"))
            .unwrap_or_else(|| panic!("{ctx}: durable event {id} LOST"));
        let event = Event::decode(stored.event.as_bytes())
            .unwrap_or_else(|e| panic!("{ctx}: event {id} corrupt: {e}"));
        assert_eq!(event.id(), *id, "{ctx}");
        if let Some(snapshot) = stored.state_before {
            assert!(
                store.snapshot(&snapshot).unwrap().is_some(),
                "{ctx}: state before {id} missing"
            );
        }
    }
    let report = store
        .verify_integrity()
        .unwrap_or_else(|e| panic!("{ctx}: integrity scan failed: {e}"));
    assert!(report.problems.is_empty(), "{ctx}: {:?}", report.problems);

    // The same through the public API: walk the room, follow every index to a stored event.
    let Some(first) = durable.iter().next() else {
        return;
    };
    let room = store.event(first).unwrap().unwrap().event.room_id();
    let mut in_order = BTreeSet::new();
    let mut cursor = None;
    loop {
        let page = store
            .events_by_depth(&room, cursor, Direction::Forward, 500)
            .unwrap();
        let Some(last) = page.last() else { break };
        cursor = Some(*last);
        for position in &page {
            assert!(
                store.contains(&position.event).unwrap(),
                "{ctx}: order index → missing event"
            );
            for child in store.children(&position.event, None, usize::MAX).unwrap() {
                assert!(
                    store.contains(&child).unwrap(),
                    "{ctx}: children index → missing event"
                );
            }
            in_order.insert(position.event);
        }
    }
    assert!(
        durable.is_subset(&in_order),
        "{ctx}: durable events missing from the order index"
    );
    for tip in store.extremities(&room).unwrap() {
        assert!(store.contains(&tip).unwrap(), "{ctx}: extremity missing");
    }
    let current = store.current_state(&room).unwrap().unwrap();
    for id in store.snapshot(&current).unwrap().unwrap().map().values() {
        assert!(
            store.contains(id).unwrap(),
            "{ctx}: current state names a missing event"
        );
    }
    for (outlier, missing) in store.outliers(&room, None, usize::MAX).unwrap() {
        assert!(store.contains(&outlier).unwrap(), "{ctx}: outlier missing");
        for m in missing {
            assert!(
                store
                    .waiting_for(&m, None, usize::MAX)
                    .unwrap()
                    .contains(&outlier),
                "{ctx}: waiting entry"
            );
        }
    }
}
