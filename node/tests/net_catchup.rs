//! Catch-up throughput on loopback (ignored by default: run with `--release -- --ignored
//! --nocapture`): a node joins a room of `CAUSERIE_CATCHUP_EVENTS` events (default 50,000) by the
//! forward walk, then is cut off while the other node gets as many again, and catches up by the
//! backward walk. Prints events/s for both.

#![allow(clippy::unwrap_used, missing_docs, dead_code, clippy::print_stdout)]

#[path = "support/net.rs"]
mod net_support;

use net_support::*;

const WAIT: Duration = Duration::from_secs(600);
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "throughput measurement; run in release"]
async fn catch_up_throughput() {
    let n: usize = std::env::var("CAUSERIE_CATCHUP_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let a = TestNode::start(21).await;
    let b = TestNode::start(22).await;
    let (mut author, mut events) = Author::create(30);
    while events.len() < n {
        events.push(author.message(&format!("message {}", events.len())));
    }
    a.node
        .add_attestation(author.attestation.clone())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    for chunk in events.chunks(2_000) {
        ingest_accepted(&a.node, chunk.to_vec()).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "local ingest (verified events, no network): {n} events in {seconds:.2} s = {:.0} events/s",
        n as f64 / seconds
    );
    let room = events[0].room_id();

    let link = a.net.invite_link(room).await.unwrap();
    let started = std::time::Instant::now();
    let report = b.net.join(&link).await.unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(
        b.node.tips(room).await.unwrap(),
        a.node.tips(room).await.unwrap()
    );
    println!(
        "join (forward walk): {} events in {seconds:.2} s = {:.0} events/s",
        report.events_fetched,
        report.events_fetched as f64 / seconds
    );

    let peer_a = a.net.peer_id();
    b.net.set_blocked(peer_a, true).await.unwrap();
    eventually("the cut", || async {
        a.net.connected_peers().await.unwrap().is_empty()
    })
    .await;
    let mut more = Vec::new();
    while more.len() < n {
        more.push(author.message(&format!("while away {}", more.len())));
    }
    for chunk in more.chunks(2_000) {
        ingest_accepted(&a.node, chunk.to_vec()).await;
    }
    let target = a.node.tips(room).await.unwrap();
    let started = std::time::Instant::now();
    b.net.set_blocked(peer_a, false).await.unwrap();
    eventually("B to catch up", || async {
        b.node.tips(room).await.unwrap() == target
    })
    .await;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "rejoin (backward walk): {} events in {seconds:.2} s = {:.0} events/s",
        more.len(),
        more.len() as f64 / seconds
    );
    b.stop().await;
    a.stop().await;
}
