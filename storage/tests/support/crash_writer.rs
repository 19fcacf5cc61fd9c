//! The child side of `tests/crash.rs`: writes signed events into a sled store in group commits,
//! forever (up to [`MAX_COMMITS`]), and prints `durable <event id>` for every event of a commit
//! once `commit` has returned. The test runs it in a child copy of its own test binary, kills it
//! with SIGKILL at random moments and checks that everything printed survived.
//!
//! The workload mixes what a node writes: messages on the DAG tips, forks and merges, state
//! changes (new snapshot, current state), a state pointer for every event, outliers waiting for
//! a missing parent (later rejected), rejected and soft-failed events, and an attestation. On
//! start it resumes from what the store says (room tips, their depths, current state), so every
//! run also exercises reads right after crash recovery.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::io::Write;
use std::path::Path;

use causerie_crypto::event::kinds;
use causerie_crypto::testing::{Said, attestation, create_draft, draft_after};
use causerie_crypto::{
    AttestationId, Event, EventDraft, EventId, Hash32, NodeSecret, RoomId, UserSecret,
};
use causerie_storage::{
    EventStatus, EventStore, RoomDagStore, SledStore, StateMap, StateSnapshot, StateStore, Store,
    WriteBatch,
};

/// Upper bound on commits per run, so an orphaned writer stops by itself.
const MAX_COMMITS: u64 = 100_000;
/// Most events per group commit.
const MAX_EVENTS_PER_COMMIT: u64 = 16;
/// Most parents a merge lists (the envelope allows 20).
const MAX_MERGE_PARENTS: usize = 20;
/// Recent events kept as fork points.
const RECENT_LEN: usize = 8;
/// Author key seed: the same in every run, so every run writes into the same room.
const AUTHOR_SEED: [u8; 32] = [42; 32];
const NODE_SEED: [u8; 32] = [43; 32];

/// splitmix64: a small deterministic generator, seeded by the parent.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn id(&mut self) -> EventId {
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_be_bytes());
        }
        EventId(Hash32(bytes))
    }
}

struct Writer {
    store: SledStore,
    secret: UserSecret,
    attestation: AttestationId,
    room: RoomId,
    tips: BTreeSet<EventId>,
    depths: BTreeMap<EventId, u64>,
    recent: Vec<EventId>,
    state: StateSnapshot,
    outliers: Vec<EventId>,
    counter: u64,
}

fn draft(w: &Writer, prev: Vec<EventId>, depth: u64, body: String, state: bool) -> EventDraft {
    let said = if state {
        Said::Name(&body)
    } else {
        Said::Message(&body)
    };
    draft_after(w.secret.public(), w.room, prev, depth, said, w.attestation)
}

/// Writes into the store at `dir` until killed (or [`MAX_COMMITS`] commits), seeded by `seed`.
pub(crate) fn run(dir: &Path, seed: u64) -> Result<(), Box<dyn Error>> {
    let mut rng = Rng(seed);
    let store = SledStore::open(dir)?;
    let secret = UserSecret::from_seed(&AUTHOR_SEED);
    let attestation = attestation(&NodeSecret::from_seed(&NODE_SEED), &secret, "crash");
    let create = create_draft(secret.public(), None, attestation.id()).sign(&secret)?;
    let room = create.room_id();
    let mut out = std::io::stdout().lock();

    if !store.contains(&create.id())? {
        let mut map = StateMap::new();
        map.insert((kinds::CREATE.into(), String::new()), create.id());
        let state = StateSnapshot::new(map)?;
        let mut batch = WriteBatch::new();
        batch
            .put_attestation(attestation.clone())
            .put_event(create.clone(), EventStatus::Accepted)
            .put_snapshot(state.clone())
            .set_current_state(room, state.id())
            .set_extremities(room, [create.id()]);
        let _durable = store.commit(vec![batch])?;
        writeln!(out, "durable {}", create.id().0)?;
        out.flush()?;
    }

    // Resume from what survived.
    let tips = store.extremities(&room)?;
    let mut depths = BTreeMap::new();
    for tip in &tips {
        let stored = store.event(tip)?.ok_or("extremity not stored")?;
        depths.insert(*tip, stored.event.depth());
    }
    let current = store.current_state(&room)?.ok_or("no current state")?;
    let state = store
        .snapshot(&current)?
        .ok_or("current state snapshot not stored")?;
    let recent = tips.iter().copied().collect();
    let mut w = Writer {
        store,
        secret,
        attestation: attestation.id(),
        room,
        tips,
        depths,
        recent,
        state,
        outliers: Vec::new(),
        counter: rng.next(),
    };
    for _ in 0..MAX_COMMITS {
        let written = commit_round(&mut w, &mut rng)?;
        let mut lines = String::new();
        for id in written {
            lines.push_str(&format!("durable {}\n", id.0));
        }
        // One write per commit (below PIPE_BUF), so a kill never leaves half a line.
        out.write_all(lines.as_bytes())?;
        out.flush()?;
    }
    Ok(())
}

/// Builds and commits one group of events; returns their ids once durable.
fn commit_round(w: &mut Writer, rng: &mut Rng) -> Result<Vec<EventId>, Box<dyn Error>> {
    let count = 1 + rng.below(MAX_EVENTS_PER_COMMIT);
    let mut batches = Vec::new();
    let mut written = Vec::new();
    for _ in 0..count {
        w.counter += 1;
        let mut batch = WriteBatch::new();
        let roll = rng.below(10);
        let state_before = w.state.id();
        let event: Event;
        if roll == 1 {
            // An outlier: one parent is missing.
            let missing = rng.id();
            let tip = *w.tips.iter().next().ok_or("no tips")?;
            let depth = w.depths.get(&tip).copied().unwrap_or(0) + 1;
            event = draft(
                w,
                vec![tip, missing],
                depth,
                format!("outlier {}", w.counter),
                false,
            )
            .sign(&w.secret)?;
            batch.put_event(event.clone(), EventStatus::outlier([missing]));
            w.outliers.push(event.id());
        } else {
            let merge = w.tips.len() > 1 && rng.below(3) == 0;
            let prev: Vec<EventId> = if merge || w.recent.is_empty() || rng.below(6) != 0 {
                w.tips.iter().copied().take(MAX_MERGE_PARENTS).collect()
            } else {
                vec![w.recent[rng.below(w.recent.len() as u64) as usize]]
            };
            let depth = 1 + prev
                .iter()
                .map(|p| w.depths.get(p).copied().unwrap_or(0))
                .max()
                .unwrap_or(0);
            let is_state = roll == 0;
            event = draft(
                w,
                prev.clone(),
                depth,
                format!("event {}", w.counter),
                is_state,
            )
            .sign(&w.secret)?;
            let status = match roll {
                2 => EventStatus::rejected("not_allowed"),
                3 => EventStatus::SoftFailed,
                _ => EventStatus::Accepted,
            };
            let accepted = status == EventStatus::Accepted;
            batch.put_event(event.clone(), status);
            if accepted {
                for p in &prev {
                    w.tips.remove(p);
                }
                w.tips.insert(event.id());
                w.depths.insert(event.id(), depth);
                w.recent.push(event.id());
                if w.recent.len() > RECENT_LEN {
                    let old = w.recent.remove(0);
                    if !w.tips.contains(&old) {
                        w.depths.remove(&old);
                    }
                }
                if is_state {
                    let mut map = w.state.map().clone();
                    map.insert((kinds::NAME.into(), String::new()), event.id());
                    let next = StateSnapshot::new(map)?;
                    batch
                        .put_snapshot(next.clone())
                        .set_current_state(w.room, next.id());
                    w.state = next;
                }
            }
        }
        batch.set_state_before(event.id(), state_before);
        // Now and then an old outlier gives up waiting.
        if rng.below(8) == 0 && !w.outliers.is_empty() {
            let old = w.outliers.remove(0);
            batch.set_status(old, EventStatus::rejected("missing_parent"));
        }
        written.push(event.id());
        batches.push(batch);
    }
    let mut last = WriteBatch::new();
    last.set_extremities(w.room, w.tips.iter().copied());
    batches.push(last);
    let _durable = w.store.commit(batches)?;
    Ok(written)
}
