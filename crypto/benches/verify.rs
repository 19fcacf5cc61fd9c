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
const MEASURE_TIME: Duration = Duration::from_secs(1);
/// Distinct authors for the uncached measurement (far more than the key cache holds).
const COLD_AUTHORS: usize = 4 * causerie_crypto::keys::KEY_CACHE_SLOTS;
/// Wall-clock time spent warming up before each measurement.
const WARMUP_TIME: Duration = Duration::from_millis(200);
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

/// Accumulated timings of one operation measured in batches.
#[derive(Default)]
struct Timing {
    total: Duration,
    fastest: Option<Duration>,
    batches: u64,
}

impl Timing {
    fn batch(&mut self, mut op: impl FnMut()) {
        let start = Instant::now();
        for _ in 0..BATCH {
            op();
        }
        let elapsed = start.elapsed();
        self.total += elapsed;
        self.fastest = Some(self.fastest.map_or(elapsed, |f| f.min(elapsed)));
        self.batches += 1;
    }

    fn mean_rate(&self) -> f64 {
        (self.batches * BATCH) as f64 / self.total.as_secs_f64()
    }

    fn best_rate(&self) -> f64 {
        BATCH as f64 / self.fastest.unwrap_or(Duration::MAX).as_secs_f64()
    }

    fn print(&self, name: &str) {
        println!(
            "{name:<44} {:>10.0} {:>12.0}",
            self.mean_rate(),
            self.best_rate()
        );
    }
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

    // Cold keys: the same message signed by COLD_AUTHORS different authors, decoded in turn, so
    // that every decode misses the per-thread key cache and pays for point decompression.
    let cold: Vec<Vec<u8>> = (0..COLD_AUTHORS)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
            typical_message(&UserSecret::from_seed(&seed))
                .as_bytes()
                .to_vec()
        })
        .collect();
    let mut next_cold = 0usize;

    // The three receive paths are timed in alternating batches of BATCH operations, so that load
    // from other processes on the machine falls on all of them alike. Reported: the mean over all
    // batches, and the fastest batch (the least disturbed, the best estimate of one quiet core).
    let mut raw = Timing::default();
    let mut warm = Timing::default();
    let mut cold_timing = Timing::default();
    let mut typed = Timing::default();
    let mut trusted = Timing::default();
    let until = Instant::now() + 3 * MEASURE_TIME;
    while Instant::now() < until {
        raw.batch(|| {
            let ok = black_box(&dalek_key)
                .verify_strict(black_box(&signing_input), black_box(&dalek_signature))
                .is_ok();
            assert!(ok);
        });
        warm.batch(|| {
            black_box(Event::decode(black_box(&bytes)).unwrap());
        });
        typed.batch(|| {
            let ok = black_box(event.author())
                .0
                .verify_without_domain(black_box(&signing_input), black_box(event.signature()));
            assert!(ok);
        });
        trusted.batch(|| {
            black_box(Event::decode_trusted(black_box(&bytes)).unwrap());
        });
        cold_timing.batch(|| {
            next_cold = (next_cold + 1) % COLD_AUTHORS;
            black_box(Event::decode(black_box(&cold[next_cold])).unwrap());
        });
    }
    println!();
    println!(
        "interleaved, {} batches of {BATCH} each:        mean /s   fastest batch /s",
        raw.batches
    );
    raw.print("raw verify_strict (dalek, key parsed)");
    warm.print("Event::decode (author key cached)");
    cold_timing.print("Event::decode (new author each time)");
    typed.print("PublicKey::verify_without_domain");
    trusted.print("Event::decode_trusted");
    println!(
        "RATIO Event::decode / raw verify_strict      {:>10.3} {:>12.3}   (key cached; goal >= 0.85)",
        warm.mean_rate() / raw.mean_rate(),
        warm.best_rate() / raw.best_rate()
    );
    println!(
        "ratio with an uncached author key            {:>10.3} {:>12.3}",
        cold_timing.mean_rate() / raw.mean_rate(),
        cold_timing.best_rate() / raw.best_rate()
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
    measure("UserKey::from_bytes (cached)", || {
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
