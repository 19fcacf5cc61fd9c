//! Scenario 4 (specs/federation.md "Joining"): a node D that starts after the room has
//! 1,000 events joins through an invite link and gets the full history by backfill: the same
//! event set, state and timeline as the others, all fetched and verified from a peer.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use causerie_tests::cluster::{Cluster, DEFAULT_TIMEOUT, init_logs};

const HISTORY: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_joiner_gets_full_history() {
    init_logs();
    let (mut cluster, alice, bob, room, joined) = Cluster::start_with_alice_and_bob(2)
        .await
        .expect("alice and bob in a shared room");
    let mut expected = BTreeSet::from([joined]);
    // 4 room events + Bob's join + messages = HISTORY events.
    let messages = HISTORY - 5;
    for n in 0..messages {
        let user = if n % 2 == 0 { &alice } else { &bob };
        expected.insert(
            cluster
                .message(user, room, &format!("m{n}"))
                .await
                .expect("msg")
                .id(),
        );
    }
    cluster
        .wait_converged(room, &expected, DEFAULT_TIMEOUT)
        .await
        .expect("A and B agree");

    let d = cluster.add_node().await.expect("D starts");
    let report = cluster.join_room(d, room, 1).await.expect("D joins via B");
    assert_eq!(
        report.events_fetched, HISTORY,
        "D fetched the whole history"
    );
    let view = cluster
        .wait_converged(room, &expected, DEFAULT_TIMEOUT)
        .await
        .expect("D agrees");
    assert_eq!(view.events.len(), HISTORY);
    let fetched = cluster.nodes[d]
        .running()
        .net
        .metrics()
        .backfill_events_fetched
        .load(Ordering::Relaxed);
    assert!(
        fetched >= HISTORY as u64,
        "history came by pulls: {fetched}"
    );
    // D can take part at once.
    let dave = cluster.user(d, "dave").await.expect("user");
    let join = cluster.join(&dave, room).await.expect("dave joins on D");
    let hello = cluster
        .message(&dave, room, "hello")
        .await
        .expect("message on D");
    expected.extend([join.id(), hello.id()]);
    cluster
        .wait_converged(room, &expected, DEFAULT_TIMEOUT)
        .await
        .expect("all agree");
    cluster.shutdown().await;
}
