//! Two real nodes on loopback (temp sled stores, real TCP, Noise, Yamux): joining a room by
//! invite link, gossip both ways, and pulling a missing parent after a cut (specs/federation.md).
//! Every wait polls a condition with a timeout; nothing sleeps a fixed time.

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "support/net.rs"]
mod net_support;

use net_support::*;

const WAIT: Duration = Duration::from_secs(30);

/// Has `from` take the author's messages (`"{label} {n}"`) one at a time until `to` has accepted
/// one from gossip: subscriptions propagate asynchronously, and an event may also reach `to` by
/// a pull first (its gossip copy then a duplicate). Returns the ids of every message sent.
async fn gossip_until_accepted(
    author: &mut Author,
    from: &TestNode,
    to: &TestNode,
    label: &str,
) -> Vec<EventId> {
    let mut sent = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while to.net.metrics().snapshot().gossip_accepted == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no gossip of {label} arrived"
        );
        let event = author.message(&format!("{label} {}", sent.len()));
        sent.push(event.id());
        ingest_accepted(&from.node, vec![event]).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_by_invite_then_gossip_both_ways() {
    let a = TestNode::start(1).await;
    let b = TestNode::start(2).await;
    let (mut author, mut events) = Author::create(10);
    for i in 0..200 {
        events.push(author.message(&format!("before join {i}")));
    }
    let room = a.host(&author, &events).await;

    let link = a.net.invite_link(room).await.unwrap();
    assert!(link.starts_with("causerie:join/"), "{link}");
    let report = b.net.join(&link).await.unwrap();
    assert_eq!(report.room, room);
    assert_eq!(report.peer, a.net.peer_id());
    assert!(report.events_fetched >= events.len(), "{report:?}");
    // B learnt the author's attestation from A while ingesting.
    assert!(
        b.node
            .accounts()
            .attestation(author.attestation.id())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        b.node.tips(room).await.unwrap(),
        a.node.tips(room).await.unwrap()
    );
    let summary_a = a.node.summary(room).await.unwrap().unwrap();
    let summary_b = b.node.summary(room).await.unwrap().unwrap();
    assert_eq!(summary_a, summary_b);
    // The DHT knows A hosts the room.
    eventually("A among the room's providers", || async {
        b.net
            .providers(room)
            .await
            .unwrap()
            .contains(&a.net.peer_id())
    })
    .await;

    // A -> B by gossip, then B -> A the same way; everything sent arrives.
    for id in gossip_until_accepted(&mut author, &a, &b, "live").await {
        eventually("B to hold every live message", || b.has(id)).await;
    }
    for id in gossip_until_accepted(&mut author, &b, &a, "from B").await {
        eventually("A to hold B's messages", || a.has(id)).await;
    }
    assert_eq!(
        a.net.connected_peers().await.unwrap(),
        vec![b.net.peer_id()]
    );

    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_parents_are_pulled_after_a_cut() {
    let a = TestNode::start(3).await;
    let b = TestNode::start(4).await;
    let (mut author, events) = Author::create(11);
    let room = a.host(&author, &events).await;
    let link = a.net.invite_link(room).await.unwrap();
    b.net.join(&link).await.unwrap();

    // Cut B off from A; A goes on alone.
    let peer_a = a.net.peer_id();
    b.net.set_blocked(peer_a, true).await.unwrap();
    eventually("the cut", || async {
        b.net.connected_peers().await.unwrap().is_empty()
            && a.net.connected_peers().await.unwrap().is_empty()
    })
    .await;
    let gap: Vec<Event> = (0..50)
        .map(|i| author.message(&format!("gap {i}")))
        .collect();
    ingest_accepted(&a.node, gap.clone()).await;

    // B receives a child of the gap directly: held, its parent missing.
    let child = author.message("child");
    let outcome = b.node.ingest(vec![child.clone()]).await.unwrap();
    assert!(
        matches!(&outcome[0].outcome, IngestOutcome::Held { missing_events, .. }
            if missing_events == &vec![gap[49].id()]),
        "{outcome:?}"
    );

    // Heal: B pulls the gap from A, which releases the child; A gets the child back.
    b.net.set_blocked(peer_a, false).await.unwrap();
    let accepted = |node: Node, id: EventId| async move {
        let summary = node.summary(room).await.unwrap().unwrap();
        summary.timeline.contains(&id)
    };
    eventually("B to accept the held child", || {
        accepted(b.node.clone(), child.id())
    })
    .await;
    for event in &gap {
        assert!(accepted(b.node.clone(), event.id()).await);
    }
    eventually("A to get the child", || a.has(child.id())).await;
    eventually("equal tips", || async {
        a.node.tips(room).await.unwrap() == b.node.tips(room).await.unwrap()
    })
    .await;
    assert!(b.net.metrics().snapshot().backfill_events_fetched >= gap.len() as u64);

    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_typed_errors() {
    use causerie_node::net::wire::{ErrorReason, Request, Response};
    let a = TestNode::start(5).await;
    let b = TestNode::start(6).await;
    let peer = b.dial(&a).await;
    assert_eq!(peer, a.net.peer_id());
    let unknown = causerie_crypto::RoomId(causerie_crypto::Hash32([7; 32]));
    let response = b
        .net
        .request(peer, Request::Tips { room: unknown })
        .await
        .unwrap();
    assert_eq!(
        response,
        Response::Error {
            reason: ErrorReason::UnknownRoom
        }
    );
    let response = b
        .net
        .request(peer, Request::GetEvents { ids: vec![] })
        .await
        .unwrap();
    assert_eq!(response, Response::Events { events: vec![] });
    let snapshot = a.net.metrics().snapshot();
    assert_eq!(snapshot.requests_failed.get("unknown_room"), Some(&1));
    // The `get_events`, and the revocation pulls B runs when it connects (the failed `tips`
    // is counted as failed, not served).
    assert!(snapshot.requests_served >= 1);
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_gossip_is_rejected_and_the_sender_banned() {
    let a = TestNode::start(7).await;
    let hostile = TestNode::start(8).await;
    let (mut author, events) = Author::create(12);
    let room = a.host(&author, &events).await;
    hostile.dial(&a).await;

    // Forged signatures: each copy differs (so each has its own id) and none verifies.
    let genuine = author.message("genuine");
    let mut forged_ids = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut n = 0u8;
    while a.net.metrics().snapshot().peers_banned == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "hostile peer never banned"
        );
        let mut bytes = genuine.as_bytes().to_vec();
        let last = bytes.len() - 1 - usize::from(n % 60);
        bytes[last] ^= 0x01;
        n = n.wrapping_add(1);
        if let Ok(event) = causerie_crypto::Event::decode_trusted(&bytes) {
            forged_ids.push(event.id());
        }
        let _ = hostile.net.publish_raw(room, bytes).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let snapshot = a.net.metrics().snapshot();
    assert!(snapshot.gossip_rejected >= 1, "{snapshot:?}");
    assert!(
        snapshot
            .events_rejected
            .get("bad_signature")
            .copied()
            .unwrap_or(0)
            >= 1
    );
    eventually("the hostile peer to be disconnected", || async {
        a.net.connected_peers().await.unwrap().is_empty()
    })
    .await;
    // Nothing of it was stored, and the room is as it was.
    for id in forged_ids {
        assert!(!a.has(id).await);
    }
    assert!(!a.has(genuine.id()).await);
    assert_eq!(
        a.node.summary(room).await.unwrap().unwrap().accepted,
        events.len()
    );
    hostile.stop().await;
    a.stop().await;
}
