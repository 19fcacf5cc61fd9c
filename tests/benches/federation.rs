//! Federation benchmark (specs/federation.md), on real nodes started
//! in-process on loopback by the cluster harness.
//!
//! 1. Propagation latency: `NODES` nodes share a room; events are submitted at a fixed offered
//!    rate, in turn on each node by a user homed there (prepare, sign, ingest: what a client
//!    does). The latency of one event runs from just before its submission to the moment the
//!    last of the other nodes announces it stored (announcements come after the group commit's
//!    flush). Prints p50, p99 and max.
//! 2. Catch-up throughput: node B is in the room, then stops; node A receives `CATCH_UP_EVENTS`
//!    more events; B restarts from its data directory and reconnects. Throughput is the number
//!    of missed events over the time from B's restart until B holds all of them (verified,
//!    authorised, stored). Also measures a fresh node joining the same history by invite link.
//!
//! `cargo bench -p causerie-tests --bench federation` (release profile). Arguments:
//! `--nodes N` (default 5), `--rate EVENTS_PER_S` (default 200), `--seconds S` (default 10),
//! `--catch-up EVENTS` (default 50,000).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use causerie_crypto::event::kinds;
use causerie_crypto::{Event, EventId, RoomId};
use causerie_node::ledger::MAX_RECEIVE_BATCH;
use causerie_node::node::NodeEvent;
use causerie_room::Room;
use causerie_tests::bench::{for_each_number_flag, note_arrival, percentile, runtime, say};
use causerie_tests::cluster::{
    Cluster, HarnessError, Result, TestUser, event_ids, now_ms, text_content, wait_until,
};

/// When each node announced each event stored: (node index, instant).
type Arrivals = BTreeMap<EventId, Vec<(usize, Instant)>>;

/// How long one phase may wait for the nodes.
const PHASE_TIMEOUT: Duration = Duration::from_secs(600);

struct Options {
    nodes: usize,
    rate: u64,
    seconds: u64,
    catch_up: usize,
}

fn options() -> Options {
    let mut options = Options {
        nodes: 5,
        rate: 200,
        seconds: 10,
        catch_up: 50_000,
    };
    for_each_number_flag(|name, v| {
        match name {
            "--nodes" => options.nodes = (v as usize).clamp(2, 10),
            "--rate" => options.rate = v.clamp(1, 5_000),
            "--seconds" => options.seconds = v.clamp(1, 600),
            "--catch-up" => options.catch_up = (v as usize).clamp(1, 1_000_000),
            _ => return false,
        }
        true
    });
    options
}

fn main() -> Result<()> {
    let options = options();
    runtime()?.block_on(async {
        latency(&options).await?;
        catch_up(&options).await
    })
}

async fn latency(options: &Options) -> Result<()> {
    let cluster = Cluster::start(options.nodes).await?;
    let mut users = Vec::new();
    for index in 0..options.nodes {
        users.push(cluster.user(index, &format!("user{index}")).await?);
    }
    let room = cluster.create_room(&users[0]).await?;
    for (index, user) in users.iter().enumerate().skip(1) {
        cluster.join_room(index, room, 0).await?;
        cluster.join(user, room).await?;
    }
    let settled = cluster.views(room).await?[0].events.clone();
    cluster
        .wait_converged(room, &settled, PHASE_TIMEOUT)
        .await?;

    // Every node's store announcements, stamped on arrival.
    let stored: Arc<Mutex<Arrivals>> = Arc::default();
    let mut listeners = Vec::new();
    for index in 0..options.nodes {
        let mut announcements = cluster.node(index).subscribe();
        let stored = stored.clone();
        listeners.push(tokio::spawn(async move {
            while let Ok(event) = announcements.recv().await {
                if let NodeEvent::Accepted { event, .. } = event {
                    note_arrival(&stored, event.id(), index, Instant::now());
                }
            }
        }));
    }

    let total = options.rate * options.seconds;
    let interval = Duration::from_secs_f64(1.0 / options.rate as f64);
    say(&format!(
        "propagation: {} nodes, {} events/s offered for {} s ({} events), submitted in turn on each node",
        options.nodes, options.rate, options.seconds, total
    ));
    let start = tokio::time::Instant::now();
    // One sender per node, each on its own schedule slot: event k goes to node k % nodes at
    // start + k * interval.
    let senders = (0..options.nodes).map(|index| {
        let cluster = &cluster;
        let user: &TestUser = &users[index];
        let nodes = options.nodes as u64;
        async move {
            let mut submitted = Vec::new();
            let mut k = index as u64;
            let mut late = 0u64;
            while k < total {
                let slot = start + interval * k as u32;
                if tokio::time::Instant::now() > slot + interval * nodes as u32 {
                    late += 1;
                }
                tokio::time::sleep_until(slot).await;
                let draft = cluster
                    .node(index)
                    .prepare(causerie_node::node::PrepareRequest {
                        room,
                        author: user.key,
                        kind: kinds::MESSAGE.to_owned(),
                        state_key: None,
                        content: text_content(&format!("m{k}")),
                        attestation: user.attestation.id(),
                    })
                    .await?;
                let event = draft.sign(&user.secret)?;
                let at = Instant::now();
                causerie_tests::cluster::submit(cluster.node(index), event.clone()).await?;
                submitted.push((event.id(), index, at));
                k += nodes;
            }
            Ok::<_, HarnessError>((submitted, late))
        }
    });
    let mut submitted = Vec::new();
    let mut late = 0;
    for result in futures::future::join_all(senders).await {
        let (part, part_late) = result?;
        submitted.extend(part);
        late += part_late;
    }
    let offered_for = start.elapsed();
    let expected: std::collections::BTreeSet<EventId> = submitted.iter().map(|s| s.0).collect();
    let everyone = options.nodes;
    wait_until(PHASE_TIMEOUT, "every event stored on every node", || {
        let stored = stored.clone();
        let expected = &expected;
        async move {
            let stored = stored.lock().unwrap_or_else(|e| e.into_inner());
            expected
                .iter()
                .all(|id| stored.get(id).is_some_and(|v| v.len() >= everyone))
        }
    })
    .await?;
    for listener in listeners {
        listener.abort();
    }
    let stored = stored.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut latencies: Vec<Duration> = submitted
        .iter()
        .filter_map(|(id, origin, at)| {
            stored.get(id).and_then(|arrivals| {
                arrivals
                    .iter()
                    .filter(|(node, _)| node != origin)
                    .map(|(_, t)| t.saturating_duration_since(*at))
                    .max()
            })
        })
        .collect();
    latencies.sort();
    say(&format!(
        "  submitted {} events in {:.2} s ({:.0} events/s achieved, {} sends behind schedule)",
        submitted.len(),
        offered_for.as_secs_f64(),
        submitted.len() as f64 / offered_for.as_secs_f64(),
        late
    ));
    say(&format!(
        "  latency submit -> stored on all other nodes: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 50.0).as_secs_f64() * 1e3,
        percentile(&latencies, 99.0).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    ));
    cluster
        .wait_converged(room, &expected, PHASE_TIMEOUT)
        .await?;
    cluster.shutdown().await;
    Ok(())
}

/// Builds `count` signed messages continuing the room as `events` leave it, on a local engine
/// (as fast as signing allows), alternating between `authors`.
fn generate(
    room: RoomId,
    history: &[Event],
    authors: &[&TestUser],
    count: usize,
) -> Result<Vec<Event>> {
    let mut engine = Room::new(room);
    for author in authors {
        engine
            .add_attestation(author.attestation.clone())
            .map_err(|e| {
                HarnessError::Child(format!(
                    "attestation refused by the local engine: {}",
                    e.reason()
                ))
            })?;
    }
    let now = now_ms();
    for event in history {
        engine.receive(event.clone(), now);
    }
    let mut out = Vec::with_capacity(count);
    for n in 0..count {
        let author = authors[n % authors.len()];
        let draft = engine
            .prepare(
                author.key,
                kinds::MESSAGE,
                None,
                text_content(&format!("catch-up {n}")),
                now,
                author.attestation.id(),
            )
            .map_err(|e| HarnessError::Child(format!("prepare: {}", e.reason())))?;
        let event = draft.sign(&author.secret)?;
        engine.receive(event.clone(), now);
        out.push(event);
    }
    Ok(out)
}

/// Waits until node `index` has accepted at least `total` events of `room`; returns the time
/// since `started`.
async fn caught_up(
    cluster: &Cluster,
    index: usize,
    room: RoomId,
    total: usize,
    started: Instant,
) -> Result<Duration> {
    let what = format!("node {index} caught up");
    wait_until(PHASE_TIMEOUT, &what, || async {
        cluster
            .node(index)
            .summary(room)
            .await
            .ok()
            .flatten()
            .is_some_and(|s| s.accepted >= total)
    })
    .await?;
    Ok(started.elapsed())
}

async fn catch_up(options: &Options) -> Result<()> {
    let mut cluster = Cluster::start(2).await?;
    let alice = cluster.user(0, "alice").await?;
    let bob = cluster.user(1, "bob").await?;
    let room = cluster.create_shared_room(&alice).await?;
    cluster.join(&bob, room).await?;
    let settled = cluster.views(room).await?[0].events.clone();
    cluster
        .wait_converged(room, &settled, PHASE_TIMEOUT)
        .await?;
    cluster.stop(1).await;

    let history = cluster
        .node(0)
        .since(room, None, causerie_node::node::MAX_PAGE_EVENTS)
        .await?;
    let generating = Instant::now();
    let missed = tokio::task::spawn_blocking({
        let (alice, bob, catch_up) = (alice.clone(), bob.clone(), options.catch_up);
        move || generate(room, &history, &[&alice, &bob], catch_up)
    })
    .await
    .map_err(|e| HarnessError::Child(e.to_string()))??;
    cluster
        .node(0)
        .add_attestation(bob.attestation.clone())
        .await?;
    for batch in missed.chunks(MAX_RECEIVE_BATCH) {
        let outcomes = cluster.node(0).ingest(batch.to_vec()).await?;
        if let Some(bad) = outcomes.iter().find(|o| {
            !matches!(
                o.outcome,
                causerie_node::node::IngestOutcome::Accepted { .. }
            )
        }) {
            return Err(HarnessError::NotAccepted {
                id: bad.id,
                outcome: bad.outcome.clone(),
            });
        }
    }
    let total = event_ids(cluster.node(0), room).await?.len();
    say(&format!(
        "catch-up: A holds {total} events ({} new while B was down; generated and stored in {:.1} s)",
        missed.len(),
        generating.elapsed().as_secs_f64()
    ));

    let started = Instant::now();
    cluster.restart(1, true).await?;
    let took = caught_up(&cluster, 1, room, total, started).await?;
    say(&format!(
        "  rejoining node B: {} missed events in {:.2} s = {:.0} events/s (restart, reconnect, pull, verify, store)",
        missed.len(),
        took.as_secs_f64(),
        missed.len() as f64 / took.as_secs_f64()
    ));

    let fresh = cluster.add_node().await?;
    let started = Instant::now();
    cluster.join_room(fresh, room, 0).await?;
    let took = caught_up(&cluster, fresh, room, total, started).await?;
    say(&format!(
        "  fresh node joining by invite: {total} events in {:.2} s = {:.0} events/s",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64()
    ));
    let everything = event_ids(cluster.node(0), room).await?;
    cluster
        .wait_converged(room, &everything, PHASE_TIMEOUT)
        .await?;
    cluster.shutdown().await;
    Ok(())
}
