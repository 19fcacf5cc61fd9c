//! Time to resolve a fork of 1,000 conflicting state events (goal: under 50 ms).
//!
//! Two forks, each of two branches from one base:
//! - "keys": each branch sets 500 distinct state keys, so all 1,000 state events are conflicted
//!   (present in one branch's state, absent from the other's);
//! - "power": each branch changes the power levels 500 times, so the auth difference holds 1,000
//!   power events that go through the power ordering and the iterative auth checks.
//!
//! Run with `cargo bench -p causerie-room --bench state_res`.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)] // A benchmark binary reports on stdout.

use std::time::{Duration, Instant};

use causerie_crypto::event::kinds;
use causerie_crypto::{Assurance, AttestationDraft, Content, Event, NodeSecret, UserSecret};
use causerie_room::content::user_state_key;
use causerie_room::{Membership, PowerLevels, Room, StateMap, prepare_create};

const T0: u64 = 1_700_000_000_000;
const PER_BRANCH: usize = 500;
const RUNS: usize = 21;

fn main() {
    let secret = UserSecret::from_seed(&[1; 32]);
    let key = secret.public();
    let attestation = AttestationDraft {
        user: key,
        handle: "bench".into(),
        assurance: Assurance::Contact,
        not_before: T0 - 1,
        not_after: T0 + 100 * 24 * 3_600_000,
    }
    .sign(&NodeSecret::from_seed(&[2; 32]))
    .unwrap();
    let create = prepare_create(key, Content::new(), T0, attestation.id())
        .sign(&secret)
        .unwrap();
    let mut room = Room::new(create.room_id());
    room.add_attestation(attestation.clone()).unwrap();
    room.receive(create, T0);
    let mut now = T0;
    let mut send =
        |room: &mut Room, kind: &str, state_key: Option<String>, content: Content| -> Event {
            now += 1;
            let event = room
                .prepare(key, kind, state_key, content, now, attestation.id())
                .unwrap()
                .sign(&secret)
                .unwrap();
            room.receive(event.clone(), now);
            event
        };
    send(
        &mut room,
        kinds::MEMBER,
        Some(user_state_key(&key)),
        Membership::Join.to_content(),
    );
    receive_cost(&room, &secret, &attestation);
    for case in ["keys", "power"] {
        let mut base = room.clone();
        let mut branches: Vec<StateMap> = Vec::new();
        for branch in 0..2 {
            let mut copy = base.clone();
            for i in 0..PER_BRANCH {
                let event = if case == "keys" {
                    let mut content = Content::new();
                    content.insert("value".into(), format!("{branch}/{i}").into());
                    send(
                        &mut copy,
                        "bench.item",
                        Some(format!("{branch}-{i}")),
                        content,
                    )
                } else {
                    let mut levels = PowerLevels::default();
                    levels.events.insert(format!("bench.b{branch}"), i as i64);
                    send(
                        &mut copy,
                        kinds::POWER_LEVELS,
                        Some(String::new()),
                        levels.to_content(),
                    )
                };
                base.receive(event, T0 + 10_000_000);
            }
            branches.push(copy.current_state().clone());
        }
        let sets: Vec<&StateMap> = branches.iter().collect();
        let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
        let mut work = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let (_, used) = base.resolve_states(&sets).unwrap();
            times.push(started.elapsed());
            work = used;
        }
        times.sort();
        println!(
            "state_res/{case}: fork of {} conflicting state events resolved in {:.2} ms (median of {RUNS}, min {:.2} ms), {work} work units",
            2 * PER_BRANCH,
            times[RUNS / 2].as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
        );
    }
}

/// The engine's own cost per accepted message on a linear timeline (signature verification not
/// included: events are decoded before they reach the engine), to compare with `verify_strict`.
fn receive_cost(room: &Room, secret: &UserSecret, attestation: &causerie_crypto::Attestation) {
    const MESSAGES: usize = 2_000;
    let key = secret.public();
    let mut author = room.clone();
    let mut events = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES {
        let mut content = Content::new();
        content.insert("body".into(), format!("message {i}").into());
        let now = T0 + 1_000 + i as u64;
        let draft = author
            .prepare(key, kinds::MESSAGE, None, content, now, attestation.id())
            .unwrap();
        let event = draft.sign(secret).unwrap();
        author.receive(event.clone(), now);
        events.push(event);
    }
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let mut replica = room.clone();
        let started = Instant::now();
        for event in &events {
            replica.receive(event.clone(), T0 + 10_000_000);
        }
        times.push(started.elapsed());
        assert_eq!(replica.timeline().len(), room.timeline().len() + MESSAGES);
    }
    times.sort();
    let per_event_us = times[RUNS / 2].as_secs_f64() * 1e6 / MESSAGES as f64;
    println!(
        "receive: {per_event_us:.2} µs per message on a linear timeline (median of {RUNS} runs of {MESSAGES})"
    );
}
