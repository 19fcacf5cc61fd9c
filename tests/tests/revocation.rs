//! Attestation revocation across nodes (specs/accountability.md §3): a user homed on A (attested
//! by A) writes in a room hosted on A, B and C. C is down when A's operator revokes the user
//! through A's operator API. The statement reaches B (gossip or pull); the user's next events
//! are refused on A and B with `attestation_revoked` (a local submission is refused before
//! anything is stored; an event signed anyway and offered by a peer is kept in the DAG but never
//! shown), while the earlier message stays on every node. C, started again, learns the
//! statement from its peers and hides the new event too.

use causerie_crypto::{Event, EventId, RoomId, UserKey};
use causerie_node::node::{IngestOutcome, Node, NodeError};
use causerie_room::Source;
use causerie_tests::cluster::{Cluster, DEFAULT_TIMEOUT, event_ids, init_logs, now_ms, wait_until};

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

async fn shown(node: &Node, room: RoomId, id: EventId) -> bool {
    node.history(room, None, 500)
        .await
        .ok()
        .flatten()
        .is_some_and(|page| page.events.iter().any(|e| e.id() == id))
}

async fn knows_revocation(node: &Node, user: UserKey) -> bool {
    !node.revocations().of(&user).is_empty()
}

/// Offers `event` to `node` as if `from` had sent it.
async fn offer(cluster: &Cluster, node: usize, from: usize, event: &Event) -> IngestOutcome {
    let source = Source::peer(&cluster.nodes[from].peer_id.to_bytes()).expect("a peer source");
    let mut outcomes = cluster
        .node(node)
        .ingest_from(vec![(event.clone(), source)])
        .await
        .expect("ingest");
    outcomes.remove(0).outcome
}

/// Revokes `user` through node `index`'s operator API; returns the statement's JSON.
async fn revoke_through_api(cluster: &Cluster, index: usize, user: UserKey) -> serde_json::Value {
    let member = &cluster.nodes[index];
    let token = std::fs::read_to_string(member.config.operator_token_path()).expect("token");
    let answer = reqwest::Client::new()
        .post(format!(
            "http://{}/api/v1/admin/users/{user}/revoke",
            member.running().http_addr
        ))
        .bearer_auth(token.trim())
        .json(&serde_json::json!({ "reason": "abuse", "note": "threats" }))
        .send()
        .await
        .expect("revoke request");
    assert_eq!(answer.status(), 200);
    answer.json().await.expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_users_new_events_are_refused_on_every_node_even_one_that_was_down() {
    init_logs();
    let mut cluster = Cluster::start(3).await.expect("cluster starts");
    let user = cluster.user(A, "abuser").await.expect("user");
    let owner = cluster.user(B, "owner").await.expect("user");
    let room = cluster.create_room(&owner).await.expect("room on B");
    cluster.join_room(C, room, B).await.expect("C joins");
    cluster.join_room(A, room, B).await.expect("A joins");
    cluster
        .join(&user, room)
        .await
        .expect("the user joins on A");
    let before = cluster
        .message(&user, room, "said before")
        .await
        .expect("message");
    wait_until(DEFAULT_TIMEOUT, "the message on every node", || async {
        for index in [A, B, C] {
            if !shown(cluster.node(index), room, before.id()).await {
                return false;
            }
        }
        true
    })
    .await
    .expect("the message everywhere");
    // A draft prepared before the revocation: what a modified client or node could still sign.
    let mut draft = cluster
        .node(A)
        .prepare(user.message_request(room, "said after"))
        .await
        .expect("draft");

    cluster.stop(C).await;
    let answer = revoke_through_api(&cluster, A, user.key).await;
    let revoked_ms = answer["revocation"]["revoked_ms"].as_u64().expect("time");
    let entries = cluster.node(A).audit().entries(0, 100).await.expect("log");
    assert!(
        entries
            .iter()
            .any(|e| e.kind_name() == "attestation_revoked" && e.subject() == user.key.to_string())
    );
    wait_until(DEFAULT_TIMEOUT, "B learns the revocation", || async {
        knows_revocation(cluster.node(B), user.key).await
    })
    .await
    .expect("B holds the statement");

    // The user's own node refuses to prepare anything more.
    for index in [A, B] {
        match cluster
            .node(index)
            .prepare(user.message_request(room, "again"))
            .await
        {
            Err(NodeError::Revoked(at)) => assert_eq!(at, revoked_ms),
            other => panic!("node {index} prepared: {other:?}"),
        }
    }
    // An event signed anyway (origin_ts after the revocation) is refused on A and B.
    draft.origin_ts = now_ms().max(revoked_ms);
    let after = draft.sign(&user.secret).expect("signed");
    let outcome = cluster
        .node(A)
        .ingest(vec![after.clone()])
        .await
        .expect("ingest")
        .remove(0)
        .outcome;
    assert_eq!(outcome, IngestOutcome::Revoked { revoked_ms }, "local on A");
    assert_eq!(
        offer(&cluster, B, A, &after).await,
        IngestOutcome::Revoked { revoked_ms },
        "from a peer on B"
    );
    for index in [A, B] {
        let node = cluster.node(index);
        assert!(shown(node, room, before.id()).await, "earlier message kept");
        assert!(!shown(node, room, after.id()).await, "new event hidden");
        let refused = node.metrics().refused.snapshot();
        assert!(refused.get("attestation_revoked").copied().unwrap_or(0) >= 1);
    }

    // C was down: once back, it learns the statement from its peers and hides the new event
    // (whether it takes it from a pull or from us).
    cluster.restart(C, true).await.expect("C restarts");
    wait_until(DEFAULT_TIMEOUT, "C learns the revocation", || async {
        knows_revocation(cluster.node(C), user.key).await
    })
    .await
    .expect("C holds the statement");
    let outcome = offer(&cluster, C, B, &after).await;
    assert!(
        matches!(
            outcome,
            IngestOutcome::Revoked { .. } | IngestOutcome::Duplicate
        ),
        "{outcome:?}"
    );
    let node_c = cluster.node(C);
    assert!(
        shown(node_c, room, before.id()).await,
        "earlier message kept on C"
    );
    assert!(
        !shown(node_c, room, after.id()).await,
        "new event hidden on C"
    );
    // Every node keeps the event in its DAG: the room's history stays one.
    wait_until(DEFAULT_TIMEOUT, "the event in every DAG", || async {
        for index in [A, B, C] {
            match event_ids(cluster.node(index), room).await {
                Ok(ids) if ids.contains(&after.id()) => {}
                _ => return false,
            }
        }
        true
    })
    .await
    .expect("one history");
    // A statement that does not verify changes nothing and is counted.
    let mut bad = hex::decode(answer["revocation"]["bytes"].as_str().unwrap()).unwrap();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let refused = cluster.node(C).revocations().add(bad).await;
    assert!(refused.is_err());
    assert_eq!(cluster.node(C).revocations().of(&user.key).len(), 1);
    cluster.shutdown().await;
}
