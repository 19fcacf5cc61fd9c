//! Scenario 1 (specs/federation.md): three nodes, a room created on A and joined from B
//! and C through invite links, 300 messages sent concurrently from users homed on all three:
//! every node ends with the same event set, the same state and the same timeline.

use std::collections::BTreeSet;

use causerie_tests::cluster::{Cluster, DEFAULT_TIMEOUT, init_logs};

const MESSAGES_PER_NODE: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_converge_on_300_messages() {
    init_logs();
    let cluster = Cluster::start(3).await.expect("cluster starts");
    let users = [
        cluster.user(0, "alice").await.expect("user"),
        cluster.user(1, "bob").await.expect("user"),
        cluster.user(2, "carol").await.expect("user"),
    ];
    let room = cluster
        .create_room(&users[0])
        .await
        .expect("room created on A");
    for (index, via) in [(1, 0), (2, 1)] {
        let report = cluster
            .join_room(index, room, via)
            .await
            .expect("join via invite");
        assert_eq!(report.room, room);
        assert!(
            report.events_fetched >= 4,
            "join fetched the room's history: {report:?}"
        );
    }
    let mut expected = BTreeSet::new();
    for user in &users[1..] {
        expected.insert(cluster.join(user, room).await.expect("member join").id());
    }
    // All three users talk at once, each through its own home node.
    let sends = users.iter().map(|user| {
        let cluster = &cluster;
        async move {
            let mut ids = Vec::new();
            for n in 0..MESSAGES_PER_NODE {
                let body = format!("{} #{n}", user.attestation.handle());
                ids.push(
                    cluster
                        .message(user, room, &body)
                        .await
                        .expect("message accepted")
                        .id(),
                );
            }
            ids
        }
    });
    for ids in futures::future::join_all(sends).await {
        expected.extend(ids);
    }
    assert_eq!(expected.len(), 2 + 3 * MESSAGES_PER_NODE);
    let view = cluster
        .wait_converged(room, &expected, DEFAULT_TIMEOUT)
        .await
        .expect("converged");
    let summary = view.summary.expect("room held");
    // create, creator join, power levels, join rules, two joins, 300 messages.
    assert_eq!(view.events.len(), 4 + 2 + 3 * MESSAGES_PER_NODE);
    assert_eq!(summary.accepted, view.events.len());
    assert_eq!(
        summary.timeline.len(),
        view.events.len(),
        "nothing is hidden"
    );
    cluster.shutdown().await;
}
