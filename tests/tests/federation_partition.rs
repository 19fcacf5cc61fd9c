//! Scenario 2 (specs/federation.md "Catch-up"): a partition and its healing.
//!
//! Three nodes share a room. C is cut off (each side blocks the other, both ways). Both sides
//! keep talking; on the A/B side the room creator bans Trent, who is homed on C and keeps posting
//! there without knowing. After the heal every node holds every event, the same state and the
//! same timeline; Trent's messages posted concurrently with the ban are hidden everywhere
//! (soft-failed where they arrived after the ban, hidden by the ban on C), and Trent stays
//! banned.

use std::collections::BTreeSet;

use causerie_crypto::event::kinds;
use causerie_node::node::{IngestOutcome, RoomSummary};
use causerie_room::Membership;
use causerie_tests::cluster::{Cluster, DEFAULT_TIMEOUT, HarnessError, init_logs, text_content};

const MESSAGES_PER_SIDE: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_heals_and_the_ban_holds() {
    init_logs();
    let cluster = Cluster::start(3).await.expect("cluster starts");
    let alice = cluster.user(0, "alice").await.expect("user");
    let bob = cluster.user(1, "bob").await.expect("user");
    let carol = cluster.user(2, "carol").await.expect("user");
    let trent = cluster.user(2, "trent").await.expect("user");
    let room = cluster.create_shared_room(&alice).await.expect("room");
    let mut expected = cluster
        .join_all(&[&bob, &carol, &trent], room)
        .await
        .expect("join");
    let before = cluster
        .message(&trent, room, "hello from trent")
        .await
        .expect("message");
    expected.insert(before.id());
    cluster
        .wait_converged(room, &expected, DEFAULT_TIMEOUT)
        .await
        .expect("converged before");

    // Cut C off, both ways.
    cluster.set_link_blocked(0, 2, true).await.expect("block");
    cluster.set_link_blocked(1, 2, true).await.expect("block");
    cluster
        .wait_links(&[(0, 2), (2, 0), (1, 2), (2, 1)], false, DEFAULT_TIMEOUT)
        .await
        .expect("C is cut off");

    // The majority side bans Trent while he keeps posting on C.
    let ban = cluster
        .set_member(&alice, &trent, room, Membership::Ban)
        .await
        .expect("ban");
    expected.insert(ban.id());
    let mut hidden = BTreeSet::new();
    for n in 0..MESSAGES_PER_SIDE {
        for (user, name) in [(&alice, "a"), (&bob, "b"), (&carol, "c")] {
            let body = format!("{name}{n}");
            expected.insert(cluster.message(user, room, &body).await.expect("msg").id());
        }
        let troll = cluster
            .message(&trent, room, &format!("t{n}"))
            .await
            .expect("msg on C");
        expected.insert(troll.id());
        hidden.insert(troll.id());
    }
    // C has not heard of the ban: Trent's messages are visible there for now.
    let c_view = summary_on(&cluster, 2, room).await;
    assert!(
        hidden.iter().all(|id| c_view.timeline.contains(id)),
        "C still shows Trent"
    );
    let a_view = summary_on(&cluster, 0, room).await;
    assert!(
        hidden.iter().all(|id| !a_view.timeline.contains(id)),
        "A has none of C's news"
    );

    // Heal.
    cluster
        .set_link_blocked(0, 2, false)
        .await
        .expect("unblock");
    cluster
        .set_link_blocked(1, 2, false)
        .await
        .expect("unblock");
    cluster
        .wait_connected(DEFAULT_TIMEOUT)
        .await
        .expect("reconnected");
    let view = cluster
        .wait_converged(room, &expected, DEFAULT_TIMEOUT)
        .await
        .expect("converged");
    assert_eq!(
        view.events,
        expected
            .iter()
            .copied()
            .chain(initial_ids(&cluster, room).await)
            .collect()
    );
    let summary = view.summary.expect("room");
    for id in &hidden {
        assert!(
            !summary.timeline.contains(id),
            "Trent's concurrent message {id} is hidden"
        );
    }
    assert!(
        summary.timeline.contains(&before.id()),
        "Trent's message before the ban stays"
    );
    assert!(summary.timeline.contains(&ban.id()));
    assert_eq!(summary.timeline.len(), view.events.len() - hidden.len());

    // The ban holds: whatever Trent tries next is not shown anywhere.
    let attempt = cluster
        .try_send(
            &trent,
            room,
            kinds::MESSAGE,
            None,
            text_content("still here?"),
        )
        .await;
    match attempt {
        Ok((event, outcome)) => assert_ne!(
            outcome,
            IngestOutcome::Accepted { visible: true },
            "banned user's message {} shown",
            event.id()
        ),
        Err(HarnessError::Node(_)) => {} // the node refuses to prepare it: also fine
        Err(e) => panic!("unexpected failure: {e}"),
    }
    for index in 0..3 {
        let summary = summary_on(&cluster, index, room).await;
        assert_eq!(summary.timeline.len(), view.events.len() - hidden.len());
    }
    cluster.shutdown().await;
}

/// Node `index`'s summary of `room`, which it holds.
async fn summary_on(cluster: &Cluster, index: usize, room: causerie_crypto::RoomId) -> RoomSummary {
    let summary = cluster.node(index).summary(room).await.expect("summary");
    summary.expect("room")
}

/// The room's first four events (create, creator join, power levels, join rules), from A.
async fn initial_ids(
    cluster: &Cluster,
    room: causerie_crypto::RoomId,
) -> Vec<causerie_crypto::EventId> {
    let page = cluster.node(0).since(room, None, 4).await.expect("since");
    page.iter().map(|e| e.id()).collect()
}
