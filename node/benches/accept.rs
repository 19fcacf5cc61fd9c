//! Receive-path benchmark: events accepted per second into one room through the full
//! path on sled — `Event::decode` (canonical check, content hash, `verify_strict`), room engine
//! (references, auth against own auth events and state before, soft-fail, state), and a durable
//! group commit — next to raw `verify_strict` per second, measured in the same run, and their ratio.
//!
//! Method (each point answers a way this shared 2-core machine misled earlier runs):
//! - One thread does the work. Times are wall clock and the process's CPU time (every thread,
//!   sled's IO threads included: "per core used"); waiting for the disk is in the first only.
//! - Each group of events is timed right after verifying the same number of raw signatures
//!   (messages of the events' signing-input length), and printed ratios are medians over the
//!   groups of per-group ratios, so load drift cancels out. `best` is the ratio of the best raw
//!   group to the best accept group (least CPU per event): other tenants only ever add time.
//! - Every timed part runs at a randomly drawn stack depth ([`shifted`]): `verify_strict`'s speed
//!   depends on where the stack is by up to 25 %, so a fixed position biased the ratio, in either
//!   direction, by the luck of the process's address layout.
//! - An untimed warm-up over the whole chain comes first (a running node's allocator is warm).
//!
//! `CAUSERIE_BENCH_EVENTS` sets the number of events (default 20,000); `CAUSERIE_BENCH_GROUPS` the
//! comma-separated group sizes (default `1,64,256,1024`). With `CAUSERIE_BENCH_PROFILE` set, only
//! the sled accept path runs (in groups of the first size given, else 1,024), for `perf`.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use std::time::Instant;

use nix::time::{ClockId, clock_gettime};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use causerie_crypto::event::kinds;
use causerie_crypto::{Assurance, AttestationDraft, Content, Event, NodeSecret, UserSecret, Value};
use causerie_node::ledger::Ledger;
use causerie_room::{Room, prepare_create};
use causerie_storage::{MemoryStore, SledStore, Store};
use ed25519_dalek::{Signer, SigningKey};

const NOW_MS: u64 = 1_800_000_000_000;

fn main() {
    let events: usize = std::env::var("CAUSERIE_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let (setup, chain, input_len) = build_room(events);
    if std::env::var_os("CAUSERIE_BENCH_PROFILE").is_some() {
        // Only the sled accept path, for a profiler: nothing else runs while it is sampled.
        let dir = tempfile::tempdir().unwrap();
        let mut sled = prepared(
            Ledger::open(SledStore::open(dir.path()).unwrap(), NOW_MS).unwrap(),
            &setup,
        );
        let spent = time(|| {
            for chunk in chain.chunks(profile_group()) {
                ingest(&mut sled, chunk);
            }
        });
        println!(
            "profile: {events} events through the sled accept path in {:.3} s CPU ({:.1} µs each)",
            spent.cpu,
            spent.cpu * 1e6 / events as f64
        );
        return;
    }
    let raw = raw_inputs(events, input_len);
    // Warm-up, untimed, over the whole chain: a node has been running for a while when it
    // receives, so the allocator already holds pages and the code is in cache; without it, the
    // first group size measured also paid for the process's first page faults (group commits of
    // 1,024 measured alone: CPU ratio 0.79-0.80 without it, 0.83 with it).
    {
        paired_run(&setup, &chain, &raw, 1_024);
    }

    println!(
        "receive path, {events} message events into one room, one thread; each group is timed \
         right after the same number of raw verifications (paired, so load drift cancels)"
    );
    let groups: Vec<usize> = std::env::var("CAUSERIE_BENCH_GROUPS")
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|g| g.trim().parse().ok())
                .filter(|g| *g > 0)
                .collect()
        })
        .unwrap_or_else(|| vec![1, 64, 256, 1024]);
    for group in groups {
        // Group size 1 flushes every event; fewer events keep the run short.
        let n = if group == 1 {
            events.min(1_000)
        } else {
            events
        };
        let paired = paired_run(&setup, &chain[..n], &raw[..n], group);
        println!(
            "group commit {group:>5}: raw verify_strict {:>8.0}/s | sled accept path {:>8.0}/s \
             | ratio wall {:.3} cpu {:.3} best {:.3} | decode only cpu {:.3} \
             | decode+engine+memory store cpu {:.3}",
            paired.raw_rate,
            paired.sled_rate,
            paired.sled_wall,
            paired.sled_cpu,
            paired.sled_best,
            paired.decode_cpu,
            paired.memory_cpu,
        );
    }
}

/// Group size of the profile run: the first of `CAUSERIE_BENCH_GROUPS`, else 1,024.
fn profile_group() -> usize {
    std::env::var("CAUSERIE_BENCH_GROUPS")
        .ok()
        .and_then(|v| v.split(',').next().and_then(|g| g.trim().parse().ok()))
        .filter(|g| *g > 0)
        .unwrap_or(1_024)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

struct Paired {
    raw_rate: f64,
    sled_rate: f64,
    sled_wall: f64,
    sled_cpu: f64,
    sled_best: f64,
    decode_cpu: f64,
    memory_cpu: f64,
}

/// Feeds the chain group by group into a sled-backed and a memory-backed node; before each group,
/// verifies the same number of raw signatures; ratios are medians of per-group ratios, in wall
/// time and in the process's CPU time (the cores used; waits for the disk and time the shared
/// machine gives to others are not in it). `sled_best` is the ratio of the best (least CPU per
/// event) raw group to the best accept group: on a shared machine, other tenants only ever add
/// time, so the minimum of each is its cleanest estimate.
fn paired_run(setup: &[Vec<u8>], chain: &[Vec<u8>], raw: &[RawInput], group: usize) -> Paired {
    let dir = tempfile::tempdir().unwrap();
    let mut sled = prepared(
        Ledger::open(SledStore::open(dir.path()).unwrap(), NOW_MS).unwrap(),
        setup,
    );
    let mut memory = prepared(Ledger::open(MemoryStore::new(), NOW_MS).unwrap(), setup);
    let (mut sled_wall, mut sled_cpu, mut decode_cpu, mut memory_cpu) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut raw_total, mut sled_total) = (0.0, 0.0);
    let (mut raw_best, mut sled_best) = (f64::INFINITY, f64::INFINITY);
    let mut rng = ChaCha8Rng::seed_from_u64(group as u64);
    for (chunk, raw_chunk) in chain.chunks(group).zip(raw.chunks(group)) {
        let raw_time = shifted(&mut rng, || {
            time(|| {
                for (key, message, signature) in raw_chunk {
                    key.verify_strict(message, signature).unwrap();
                }
            })
        });
        let decode_time = shifted(&mut rng, || {
            time(|| {
                for bytes in chunk {
                    std::hint::black_box(Event::decode(bytes).unwrap());
                }
            })
        });
        let sled_time = shifted(&mut rng, || time(|| ingest(&mut sled, chunk)));
        let memory_time = shifted(&mut rng, || time(|| ingest(&mut memory, chunk)));
        raw_total += raw_time.wall;
        sled_total += sled_time.wall;
        sled_wall.push(raw_time.wall / sled_time.wall);
        sled_cpu.push(raw_time.cpu / sled_time.cpu);
        decode_cpu.push(raw_time.cpu / decode_time.cpu);
        memory_cpu.push(raw_time.cpu / memory_time.cpu);
        raw_best = raw_best.min(raw_time.cpu / raw_chunk.len() as f64);
        sled_best = sled_best.min(sled_time.cpu / chunk.len() as f64);
    }
    for rooms in [count(&sled), count(&memory)] {
        assert_eq!(rooms, chain.len() + 2, "every event accepted");
    }
    Paired {
        raw_rate: chain.len() as f64 / raw_total,
        sled_rate: chain.len() as f64 / sled_total,
        sled_wall: median(sled_wall),
        sled_cpu: median(sled_cpu),
        sled_best: raw_best / sled_best,
        decode_cpu: median(decode_cpu),
        memory_cpu: median(memory_cpu),
    }
}

/// Stack shifts [`shifted`] draws from: frames of a few dozen bytes each, so together they span
/// more than a 4 KiB page.
const STACK_SHIFTS: usize = 160;

/// Runs `f` with the stack pushed down by a random number of frames.
///
/// `verify_strict`'s speed depends on where the stack is: measured on this machine with ASLR off,
/// the same 2,000 verifications took 37.7 µs each at some stack offsets and up to 47.4 µs at
/// others (most likely 4 KiB aliasing between its stack temporaries and its static tables). ASLR
/// puts the stack at a random offset per process, so a single run compares the raw loop and the
/// accept path at two arbitrary offsets, and the ratio depended on the process (0.67 to 0.92 in
/// the same build). Drawing the offset per timed part samples every position for both sides, so
/// the medians compare like with like (the idea of Curtsinger and Berger's "Stabilizer").
fn shifted<T>(rng: &mut ChaCha8Rng, f: impl FnOnce() -> T) -> T {
    let mut f = Some(f);
    let mut out = None;
    at_stack_shift(rng.random_range(0..STACK_SHIFTS), &mut || {
        out = f.take().map(|f| f());
    });
    out.unwrap()
}

#[inline(never)]
fn at_stack_shift(levels: usize, f: &mut dyn FnMut()) {
    let frame = [0u8; 32];
    std::hint::black_box(&frame);
    if levels == 0 {
        f();
    } else {
        at_stack_shift(levels - 1, f);
    }
    // Used after the call, so the frame is not reused for it (no tail call).
    std::hint::black_box(&frame);
}

/// Seconds of wall-clock time and of the process's CPU time.
struct Times {
    wall: f64,
    cpu: f64,
}

fn time(f: impl FnOnce()) -> Times {
    let cpu_start = thread_cpu();
    let start = Instant::now();
    f();
    let wall = start.elapsed().as_secs_f64();
    Times {
        wall,
        cpu: thread_cpu() - cpu_start,
    }
}

/// CPU time the whole process has used (every thread: sled has its own), in seconds.
fn thread_cpu() -> f64 {
    let t = clock_gettime(ClockId::CLOCK_PROCESS_CPUTIME_ID).unwrap();
    t.tv_sec() as f64 + t.tv_nsec() as f64 * 1e-9
}

fn prepared<S: Store>(mut ledger: Ledger<S>, setup: &[Vec<u8>]) -> Ledger<S> {
    let attestation = causerie_crypto::Attestation::decode(&setup[0]).unwrap();
    ledger.add_attestation(attestation).unwrap();
    let first: Vec<Event> = setup[1..]
        .iter()
        .map(|b| Event::decode(b).unwrap())
        .collect();
    ledger.receive(first, NOW_MS).unwrap();
    ledger
}

/// The full receive path for one group: verify every event, then one engine pass and one
/// durable commit.
fn ingest<S: Store>(ledger: &mut Ledger<S>, chunk: &[Vec<u8>]) {
    let events: Vec<Event> = chunk.iter().map(|b| Event::decode(b).unwrap()).collect();
    let receipts = ledger.receive(events, NOW_MS).unwrap();
    debug_assert!(
        receipts
            .iter()
            .all(|r| causerie_node::ledger::accepted(r).count() == 1)
    );
}

fn count<S: Store>(ledger: &Ledger<S>) -> usize {
    let room = ledger.room_ids().next().copied().unwrap();
    ledger.room(&room).unwrap().accepted_count()
}

/// A room (create, join) and a chain of signed message events, as bytes.
/// Also returns the length of the messages' signing input (what `verify_strict` hashes).
fn build_room(count: usize) -> (Vec<Vec<u8>>, Vec<Vec<u8>>, usize) {
    let node = NodeSecret::from_seed(&[1; 32]);
    let user = UserSecret::from_seed(&[2; 32]);
    let attestation = AttestationDraft {
        user: user.public(),
        handle: "bench".into(),
        assurance: Assurance::Contact,
        not_before: NOW_MS - 1_000_000,
        not_after: NOW_MS + 1_000_000_000,
    }
    .sign(&node)
    .unwrap();
    let create = prepare_create(
        user.public(),
        Content::new(),
        NOW_MS - 1_000,
        attestation.id(),
    )
    .sign(&user)
    .unwrap();
    let mut room = Room::new(create.room_id());
    room.add_attestation(attestation.clone()).unwrap();
    room.receive(create.clone(), NOW_MS);
    let mut member = Content::new();
    member.insert("membership".into(), Value::from("join"));
    let join = room
        .prepare(
            user.public(),
            kinds::MEMBER,
            Some(user.public().to_string()),
            member,
            NOW_MS - 999,
            attestation.id(),
        )
        .unwrap()
        .sign(&user)
        .unwrap();
    room.receive(join.clone(), NOW_MS);
    let mut chain = Vec::with_capacity(count);
    let mut input_len = 0;
    for i in 0..count {
        let mut content = Content::new();
        content.insert(
            "body".into(),
            Value::from(format!("message number {i}: a typical short chat line")),
        );
        let draft = room
            .prepare(
                user.public(),
                kinds::MESSAGE,
                None,
                content,
                NOW_MS - 900 + i as u64,
                attestation.id(),
            )
            .unwrap();
        if i == 0 {
            input_len = draft.signing_input().unwrap().len();
        }
        let event = draft.sign(&user).unwrap();
        room.receive(event.clone(), NOW_MS);
        chain.push(event.as_bytes().to_vec());
    }
    let mut setup = vec![attestation.as_bytes().to_vec()];
    setup.push(create.as_bytes().to_vec());
    setup.push(join.as_bytes().to_vec());
    (setup, chain, input_len)
}

/// Signed messages of the size of the events' signing input, for the raw baseline.
type RawInput = (
    ed25519_dalek::VerifyingKey,
    Vec<u8>,
    ed25519_dalek::Signature,
);

fn raw_inputs(count: usize, len: usize) -> Vec<RawInput> {
    let key = SigningKey::from_bytes(&[3; 32]);
    (0..count)
        .map(|i| {
            let message = format!("{i:0>len$}").into_bytes();
            let signature = key.sign(&message);
            (key.verifying_key(), message, signature)
        })
        .collect()
}
