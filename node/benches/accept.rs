//! Receive-path benchmark (issue 3): events accepted per second into one room through the full
//! path on sled — `Event::decode` (canonical check, content hash, `verify_strict`), room engine
//! (references, auth against own auth events and state before, soft-fail, state), and a durable
//! group commit — next to raw `verify_strict` per second, measured in the same run, and their ratio.
//!
//! Runs on one thread (one core used). Printed figures are medians of interleaved rounds, since
//! the machine is shared and noisy. `CAUSERIE_BENCH_EVENTS` sets the events per round.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use std::time::Instant;

use causerie_crypto::event::kinds;
use causerie_crypto::{Assurance, AttestationDraft, Content, Event, NodeSecret, UserSecret, Value};
use causerie_node::room::{Room, prepare_create};
use causerie_node::rooms::Rooms;
use causerie_storage::{MemoryStore, SledStore, Store};
use ed25519_dalek::{Signer, SigningKey};

const ROUNDS: usize = 3;
const NOW_MS: u64 = 1_800_000_000_000;

fn main() {
    let events: usize = std::env::var("CAUSERIE_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let (setup, chain) = build_room(events);
    let raw = raw_inputs(events);

    println!("receive path on sled, {events} message events per round, {ROUNDS} rounds (medians)");
    for group in [1usize, 64, 256, 1024] {
        let mut raw_rates = Vec::new();
        let mut path_rates = Vec::new();
        let mut memory_rates = Vec::new();
        let mut decode_rates = Vec::new();
        // Batch size 1 flushes every event; fewer events keep the round short.
        let n = if group == 1 {
            events.min(1_000)
        } else {
            events
        };
        for _ in 0..ROUNDS {
            raw_rates.push(raw_verify_rate(&raw[..n]));
            path_rates.push(accept_rate(&setup, &chain[..n], group, Backend::Sled));
            memory_rates.push(accept_rate(&setup, &chain[..n], group, Backend::Memory));
            decode_rates.push(decode_rate(&chain[..n]));
        }
        let raw_rate = median(raw_rates);
        let path_rate = median(path_rates);
        println!(
            "group commit {group:>5}: raw verify_strict {raw_rate:>9.0}/s  accept path {path_rate:>9.0}/s  ratio {:.3}",
            path_rate / raw_rate
        );
        let memory_rate = median(memory_rates);
        let decode_rate = median(decode_rates);
        println!(
            "                    decode only {decode_rate:>9.0}/s (ratio {:.3})  decode+engine+memory store {memory_rate:>9.0}/s (ratio {:.3})",
            decode_rate / raw_rate,
            memory_rate / raw_rate
        );
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// A room (create, join) and a chain of signed message events, as bytes.
fn build_room(count: usize) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
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
    for i in 0..count {
        let mut content = Content::new();
        content.insert(
            "body".into(),
            Value::from(format!("message number {i}: a typical short chat line")),
        );
        let event = room
            .prepare(
                user.public(),
                kinds::MESSAGE,
                None,
                content,
                NOW_MS - 900 + i as u64,
                attestation.id(),
            )
            .unwrap()
            .sign(&user)
            .unwrap();
        room.receive(event.clone(), NOW_MS);
        chain.push(event.as_bytes().to_vec());
    }
    let mut setup = vec![attestation.as_bytes().to_vec()];
    setup.push(create.as_bytes().to_vec());
    setup.push(join.as_bytes().to_vec());
    (setup, chain)
}

#[derive(Clone, Copy)]
enum Backend {
    Sled,
    Memory,
}

fn decode_rate(chain: &[Vec<u8>]) -> f64 {
    let start = Instant::now();
    for bytes in chain {
        Event::decode(bytes).unwrap();
    }
    chain.len() as f64 / start.elapsed().as_secs_f64()
}

fn accept_rate(setup: &[Vec<u8>], chain: &[Vec<u8>], group: usize, backend: Backend) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    match backend {
        Backend::Sled => accept_into(
            Rooms::open(SledStore::open(dir.path()).unwrap(), NOW_MS).unwrap(),
            setup,
            chain,
            group,
        ),
        Backend::Memory => accept_into(
            Rooms::open(MemoryStore::new(), NOW_MS).unwrap(),
            setup,
            chain,
            group,
        ),
    }
}

fn accept_into<S: Store>(
    mut rooms: Rooms<S>,
    setup: &[Vec<u8>],
    chain: &[Vec<u8>],
    group: usize,
) -> f64 {
    let attestation = causerie_crypto::Attestation::decode(&setup[0]).unwrap();
    rooms.add_attestation(attestation).unwrap();
    let first: Vec<Event> = setup[1..]
        .iter()
        .map(|b| Event::decode(b).unwrap())
        .collect();
    rooms.receive(first, NOW_MS).unwrap();

    let start = Instant::now();
    for chunk in chain.chunks(group) {
        let events: Vec<Event> = chunk.iter().map(|b| Event::decode(b).unwrap()).collect();
        let receipts = rooms.receive(events, NOW_MS).unwrap();
        debug_assert!(
            receipts
                .iter()
                .all(|r| causerie_node::rooms::accepted(r).count() == 1)
        );
    }
    let elapsed = start.elapsed().as_secs_f64();
    let room = rooms.room_ids().next().copied().unwrap();
    assert_eq!(
        rooms.room(&room).unwrap().accepted_count(),
        chain.len() + 2,
        "every event accepted"
    );
    chain.len() as f64 / elapsed
}

/// Signed messages of the same size as the events, for the raw baseline.
fn raw_inputs(
    count: usize,
) -> Vec<(
    ed25519_dalek::VerifyingKey,
    Vec<u8>,
    ed25519_dalek::Signature,
)> {
    let key = SigningKey::from_bytes(&[3; 32]);
    (0..count)
        .map(|i| {
            let message = format!("{i:0>300}").into_bytes();
            let signature = key.sign(&message);
            (key.verifying_key(), message, signature)
        })
        .collect()
}

fn raw_verify_rate(
    inputs: &[(
        ed25519_dalek::VerifyingKey,
        Vec<u8>,
        ed25519_dalek::Signature,
    )],
) -> f64 {
    let start = Instant::now();
    for (key, message, signature) in inputs {
        key.verify_strict(message, signature).unwrap();
    }
    inputs.len() as f64 / start.elapsed().as_secs_f64()
}
