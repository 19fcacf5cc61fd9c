//! Receive-path benchmark for `causerie-crypto` (issue 2 acceptance: event verify ≥ 0.85 × raw
//! `verify_strict` on one core).
//!
//! A hand-written timing loop rather than criterion, so that one run prints every number and the
//! ratio side by side. Each measurement repeats its operation for a fixed wall-clock budget after a
//! warm-up and reports operations per second and the mean time per operation.
//!
//! Run with `cargo bench -p causerie-crypto` (release profile, one thread).

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use causerie_crypto::event::kinds;
use causerie_crypto::{
    AttestationId, Content, Domain, Event, EventDraft, EventId, Hash32, RoomId, UserKey,
    UserSecret, Value, codec,
};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

/// Wall-clock time spent measuring each operation.
const MEASURE_TIME: Duration = Duration::from_secs(3);
/// Wall-clock time spent warming up before each measurement.
const WARMUP_TIME: Duration = Duration::from_millis(500);
/// Iterations between two clock reads (keeps `Instant::now` out of the measurement).
const BATCH: u64 = 64;

/// Runs `op` repeatedly and returns operations per second.
fn measure(name: &str, mut op: impl FnMut()) -> f64 {
    let warm_until = Instant::now() + WARMUP_TIME;
    while Instant::now() < warm_until {
        for _ in 0..BATCH {
            op();
        }
    }
    let start = Instant::now();
    let mut iterations = 0u64;
    while start.elapsed() < MEASURE_TIME {
        for _ in 0..BATCH {
            op();
        }
        iterations += BATCH;
    }
    let seconds = start.elapsed().as_secs_f64();
    let per_second = iterations as f64 / seconds;
    println!(
        "{name:<44} {per_second:>12.0} /s {:>10.3} µs/op",
        1e6 * seconds / iterations as f64
    );
    per_second
}

/// A typical chat message: one parent, the usual three auth events (create, power levels,
/// the author's membership), a one-line body.
fn typical_message(secret: &UserSecret) -> Event {
    let mut content = Content::new();
    content.insert("body".into(), Value::from("salut tout le monde, ça va ?"));
    EventDraft {
        room: Some(RoomId(Hash32([0x11; 32]))),
        author: secret.public(),
        kind: kinds::MESSAGE.into(),
        state_key: None,
        content,
        prev_events: vec![EventId(Hash32([0x22; 32]))],
        auth_events: vec![
            EventId(Hash32([0x33; 32])),
            EventId(Hash32([0x44; 32])),
            EventId(Hash32([0x55; 32])),
        ],
        depth: 42,
        origin_ts: 1_764_000_000_000,
        attestation: AttestationId(Hash32([0x66; 32])),
    }
    .sign(secret)
    .unwrap()
}

fn main() {
    let secret = UserSecret::from_seed(&[0x42; 32]);
    let event = typical_message(&secret);
    let bytes = event.as_bytes().to_vec();
    let draft = EventDraft {
        room: Some(event.room_id()),
        author: *event.author(),
        kind: event.kind().to_owned(),
        state_key: None,
        content: event.content().clone(),
        prev_events: event.prev_events().to_vec(),
        auth_events: event.auth_events().to_vec(),
        depth: event.depth(),
        origin_ts: event.origin_ts(),
        attestation: *event.attestation(),
    };
    let signing_input = draft.signing_input().unwrap();
    println!(
        "typical message event: {} bytes encoded, signing input {} bytes",
        bytes.len(),
        signing_input.len()
    );

    // The same message and signature, verified by ed25519-dalek directly with a parsed key.
    let dalek_key = VerifyingKey::from_bytes(event.author().as_bytes()).unwrap();
    let dalek_signature = ed25519_dalek::Signature::from_bytes(event.signature().as_bytes());
    assert!(
        dalek_key
            .verify_strict(&signing_input, &dalek_signature)
            .is_ok()
    );
    let signing_key = SigningKey::from_bytes(&[0x42; 32]);

    println!();
    let raw = measure("raw verify_strict (dalek, key parsed)", || {
        let ok = black_box(&dalek_key)
            .verify_strict(black_box(&signing_input), black_box(&dalek_signature))
            .is_ok();
        assert!(ok);
    });
    let ours = measure("Event::decode (full verify path)", || {
        let decoded = Event::decode(black_box(&bytes)).unwrap();
        black_box(decoded);
    });
    println!();
    println!(
        "ratio Event::decode / raw verify_strict       {:>12.3} (goal ≥ 0.85)",
        ours / raw
    );
    println!();

    measure("encode: EventDraft::signing_input", || {
        black_box(black_box(&draft).signing_input().unwrap());
    });
    measure("decode: Event::decode_trusted (no signature)", || {
        black_box(Event::decode_trusted(black_box(&bytes)).unwrap());
    });
    measure("codec::encode(content)", || {
        black_box(codec::encode(black_box(event.content())).unwrap());
    });
    measure("point decompression (UserKey::from_bytes)", || {
        black_box(UserKey::from_bytes(black_box(event.author().as_bytes())).unwrap());
    });
    measure("dalek VerifyingKey::from_bytes", || {
        black_box(VerifyingKey::from_bytes(black_box(event.author().as_bytes())).unwrap());
    });
    measure("sign (dalek, same input)", || {
        black_box(signing_key.sign(black_box(&signing_input)));
    });
    measure("domain-separated verify (UserKey::verify)", || {
        let ok = black_box(event.author()).verify(
            Domain::Event,
            black_box(&signing_input[Domain::Event.prefix().len()..]),
            black_box(event.signature()),
        );
        assert!(ok);
    });
}
