//! Scenario 3 (specs/federation.md "Catch-up"): C runs as a real child process and is
//! killed with SIGKILL in the middle of traffic, then restarted from its data directory.
//!
//! C first joins the room in-process and stops gracefully, so its store holds the room; then it
//! runs as a child process (`causerie-cluster-node`, the same daemon) bootstrapping to A and B.
//! While users on A and B send messages, C is killed once its `/metrics` show it has stored part
//! of them. Restarted in-process and isolated, C still holds at least everything it had counted
//! as accepted (acknowledged means flushed); connected again, it catches up fully.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use causerie_tests::cluster::{
    ChildNode, Cluster, DEFAULT_TIMEOUT, event_ids, http_get, init_logs, metric, wait_until,
};

/// Messages each user sends after C is killed.
const MESSAGES_AFTER_KILL: usize = 100;
/// Bound on the traffic: C must be killed before each user has sent this many.
const MAX_MESSAGES_PER_USER: usize = 5_000;
/// C is killed once it has stored this many events of the traffic.
const KILL_AFTER_ACCEPTED: u64 = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_node_restarts_and_catches_up() {
    init_logs();
    let (mut cluster, alice, bob, room, joined) = Cluster::start_with_alice_and_bob(3)
        .await
        .expect("alice and bob in a shared room");
    let mut expected = BTreeSet::from([joined]);
    cluster
        .wait_converged(room, &expected, DEFAULT_TIMEOUT)
        .await
        .expect("converged");
    let c_before = event_ids(cluster.node(2), room).await.expect("ids").len();

    // C becomes a child process on the same data directory.
    cluster.stop(2).await;
    let mut bootstrap = Vec::new();
    for index in [0, 1] {
        bootstrap.extend(cluster.nodes[index].addresses().await.expect("addresses"));
    }
    let binary = Path::new(env!("CARGO_BIN_EXE_causerie-cluster-node"));
    let child = ChildNode::spawn(binary, &cluster.data_dir(2), &bootstrap)
        .await
        .expect("child");
    assert_eq!(
        child.ready.peer_id, cluster.nodes[2].peer_id,
        "same node key from the data dir"
    );
    let http = child.ready.http;
    cluster
        .wait_links(&[(0, 2), (1, 2)], true, DEFAULT_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("A and B see the child: {e}"));

    // Traffic from A and B; C is killed in the middle of it. The traffic goes on until C has
    // been killed and then some more, so the kill always lands mid-traffic however slow C is.
    let killed = Arc::new(AtomicBool::new(false));
    let traffic = {
        let cluster = &cluster;
        let (alice, bob) = (&alice, &bob);
        let killed = killed.clone();
        async move {
            let mut ids = Vec::new();
            let mut after_kill = 0;
            for n in 0..MAX_MESSAGES_PER_USER {
                if killed.load(Ordering::SeqCst) {
                    after_kill += 1;
                    if after_kill > MESSAGES_AFTER_KILL {
                        return ids;
                    }
                }
                for (user, name) in [(alice, "a"), (bob, "b")] {
                    let body = format!("{name}{n}");
                    ids.push(cluster.message(user, room, &body).await.expect("msg").id());
                }
            }
            panic!("C was not killed within {MAX_MESSAGES_PER_USER} messages per user");
        }
    };
    let killer = async {
        let accepted = AtomicU64::new(0);
        let accepted = &accepted;
        wait_until(
            DEFAULT_TIMEOUT,
            "C stores part of the traffic",
            || async move {
                if let Ok((200, text)) = http_get(http, "/metrics").await {
                    let value = metric(&text, "causerie_events_accepted_total").unwrap_or(0);
                    accepted.store(value, Ordering::SeqCst);
                }
                accepted.load(Ordering::SeqCst) >= KILL_AFTER_ACCEPTED
            },
        )
        .await
        .expect("C receives traffic");
        child.kill().await.expect("SIGKILL");
        killed.store(true, Ordering::SeqCst);
        accepted.load(Ordering::SeqCst)
    };
    let (ids, accepted_before_kill) = tokio::join!(traffic, killer);
    expected.extend(ids);

    // Isolated restart: what C acknowledged survived the kill.
    cluster
        .restart(2, false)
        .await
        .expect("restart from the data dir");
    let survived = event_ids(cluster.node(2), room).await.expect("ids").len();
    assert!(
        survived as u64 >= c_before as u64 + accepted_before_kill,
        "C had {c_before} events, counted {accepted_before_kill} more as accepted, holds {survived}"
    );
    // Connected again, it catches up fully.
    cluster.connect(2).await.expect("C dials A and B");
    let view = cluster
        .wait_converged(room, &expected, DEFAULT_TIMEOUT)
        .await
        .expect("caught up");
    assert_eq!(view.events.len(), c_before + expected.len() - 1);
    cluster.shutdown().await;
}
