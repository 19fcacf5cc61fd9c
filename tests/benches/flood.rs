//! Flood benchmark (specs/moderation.md §5): one node, honest users posting in a room through
//! the client API, first alone, then while a flooding user tries to send `--flood-rate`
//! messages a second (default 1,000) into the same room from its own client address. The
//! flooder is refused `rate_limited`; the honest users' latency (prepare, sign, submit until the
//! node answers that the message is durable) is printed for both phases, p50 and p99, with the
//! ratio of the p99s (goal: under 2).
//!
//! `cargo bench -p causerie-tests --bench flood` (release profile). Arguments: `--honest N`
//! users (default 3), `--messages N` each per phase (default 100), `--flood-rate N` per second.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use causerie_tests::api::{ApiNode, ApiUser};
use causerie_tests::bench::{for_each_number_flag, ms, runtime};

/// Pause between two messages of one honest user (well inside the per-room rate).
const HONEST_PAUSE: Duration = Duration::from_millis(250);
/// Most flood requests in flight at once (each tick starts one; the rest are skipped).
const MAX_FLOOD_IN_FLIGHT: u64 = 256;

struct Options {
    honest: usize,
    messages: usize,
    flood_rate: u64,
}

fn options() -> Options {
    let mut options = Options {
        honest: 3,
        messages: 100,
        flood_rate: 1_000,
    };
    for_each_number_flag(|name, v| {
        match name {
            "--honest" => options.honest = (v as usize).clamp(1, 20),
            "--messages" => options.messages = (v as usize).clamp(10, 10_000),
            "--flood-rate" => options.flood_rate = v.clamp(1, 10_000),
            _ => return false,
        }
        true
    });
    options
}

/// Every honest user sends `messages` messages; returns each message's latency.
async fn honest_phase(
    users: &[Arc<ApiUser>],
    room: &str,
    messages: usize,
    tag: &str,
) -> Vec<Duration> {
    let mut tasks = Vec::new();
    for (u, user) in users.iter().enumerate() {
        let user = user.clone();
        let room = room.to_owned();
        let tag = tag.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(messages);
            for n in 0..messages {
                let start = Instant::now();
                let answer = user.say_once(&room, &format!("{tag} {u}/{n}")).await;
                assert_eq!(
                    answer.status, 200,
                    "honest message refused: {:?}",
                    answer.body
                );
                latencies.push(start.elapsed());
                tokio::time::sleep(HONEST_PAUSE).await;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("honest user"));
    }
    all.sort();
    all
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

#[allow(clippy::print_stdout)]
fn main() {
    let options = options();
    runtime().expect("runtime").block_on(async move {
        let mut node = ApiNode::start(Vec::new()).await;
        let alice = ApiUser::registered(node.http, 1, "alice").await;
        let room = alice.create_room("Flood", "public").await;
        let mut honest = Vec::new();
        for i in 0..options.honest {
            let seed = 10 + i as u8;
            let user = ApiUser::registered(node.http, seed, &format!("honest{i}")).await;
            user.join(&room).await;
            honest.push(Arc::new(user));
        }
        let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 99));
        let flooder = ApiUser::registered_from(node.http, source, 99, "flooder").await;
        flooder.join(&room).await;
        let flooder = Arc::new(flooder);

        let unloaded = honest_phase(&honest, &room, options.messages, "calm").await;

        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let accepted = Arc::new(AtomicU64::new(0));
        let limited = Arc::new(AtomicU64::new(0));
        let in_flight = Arc::new(AtomicU64::new(0));
        let flood = {
            let (stop, sent, accepted, limited, in_flight) = (
                stop.clone(),
                sent.clone(),
                accepted.clone(),
                limited.clone(),
                in_flight.clone(),
            );
            let flooder = flooder.clone();
            let room = room.clone();
            let period = Duration::from_micros(1_000_000 / options.flood_rate);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    tick.tick().await;
                    if in_flight.load(Ordering::Relaxed) >= MAX_FLOOD_IN_FLIGHT {
                        continue;
                    }
                    n += 1;
                    sent.fetch_add(1, Ordering::Relaxed);
                    in_flight.fetch_add(1, Ordering::Relaxed);
                    let (flooder, room, accepted, limited, in_flight) = (
                        flooder.clone(),
                        room.clone(),
                        accepted.clone(),
                        limited.clone(),
                        in_flight.clone(),
                    );
                    tokio::spawn(async move {
                        let answer = flooder.say_once(&room, &format!("flood {n}")).await;
                        match (answer.status, answer.reason()) {
                            (200, _) => accepted.fetch_add(1, Ordering::Relaxed),
                            (429, "rate_limited") => limited.fetch_add(1, Ordering::Relaxed),
                            _ => 0,
                        };
                        in_flight.fetch_sub(1, Ordering::Relaxed);
                    });
                }
            })
        };
        let flood_started = Instant::now();
        let loaded = honest_phase(&honest, &room, options.messages, "loud").await;
        stop.store(true, Ordering::Relaxed);
        let flood_secs = flood_started.elapsed().as_secs_f64();
        let _ = flood.await;

        // Every honest submission was answered 200 (durable and shown), or the phase panicked.
        let honest_stored = unloaded.len() + loaded.len();
        let (p50_calm, p99_calm) = (percentile(&unloaded, 0.5), percentile(&unloaded, 0.99));
        let (p50_loud, p99_loud) = (percentile(&loaded, 0.5), percentile(&loaded, 0.99));
        println!(
            "flood: {} honest users x {} messages per phase; flooder offered {:.0} messages/s ({} in {:.1} s)",
            options.honest,
            options.messages,
            sent.load(Ordering::Relaxed) as f64 / flood_secs,
            sent.load(Ordering::Relaxed),
            flood_secs
        );
        println!(
            "flooder: {} accepted, {} refused rate_limited",
            accepted.load(Ordering::Relaxed),
            limited.load(Ordering::Relaxed)
        );
        println!("honest messages stored and shown: {honest_stored}, none refused");
        println!(
            "honest latency unloaded: p50 {:.2} ms, p99 {:.2} ms",
            ms(p50_calm),
            ms(p99_calm)
        );
        println!(
            "honest latency under flood: p50 {:.2} ms, p99 {:.2} ms",
            ms(p50_loud),
            ms(p99_loud)
        );
        println!(
            "p99 ratio (flood / unloaded): {:.2} (goal < 2)",
            ms(p99_loud) / ms(p99_calm).max(f64::MIN_POSITIVE)
        );
        node.stop().await;
    });
}
