//! Moderator actions across three nodes on loopback (specs/moderation.md §1, §4):
//!
//! - ban-and-purge: a user homed on C posts distinctive texts, a moderator on A bans and purges
//!   them in one event; afterwards no file under any node's data directory holds any of the
//!   texts (the nodes compact their stores), a second purge changes nothing, and every node's
//!   store still verifies: each stored event re-decodes with its signature, names its own id,
//!   and every event it references is stored.
//! - mute: a muted user's raw signed messages (built by hand, not by the node) are refused by
//!   their own node with `muted`, and rejected (or, for a fork from before the mute, accepted
//!   hidden) by every other node.

use std::collections::BTreeSet;

use causerie_crypto::event::kinds;
use causerie_crypto::{Content, Event, EventDraft, EventId, RoomId, UserSecret, Value};
use causerie_node::node::{IngestOutcome, Node};
use causerie_room::Membership;
use causerie_storage::testing::files_contain;
use causerie_tests::api::ApiUser;
use causerie_tests::cluster::{
    Cluster, DEFAULT_TIMEOUT, RoomView, TestUser, init_logs, now_ms, wait_until,
};
use causerie_tests::store_check::verify_store;
use serde_json::json;

fn ban_and_purge(reason: &str) -> Content {
    let mut content = Membership::Ban.to_content();
    content.insert("purge".into(), Value::Bool(true));
    content.insert("reason".into(), reason.into());
    content
}

/// `by` bans `user` from `room`, purging what they wrote, for `reason`; returns the ban and
/// the room as every node holds it once they have it (`expected` gains the ban).
async fn purge_everywhere(
    cluster: &Cluster,
    by: &TestUser,
    user: &TestUser,
    room: RoomId,
    reason: &str,
    expected: &mut BTreeSet<EventId>,
) -> (Event, RoomView) {
    let ban = cluster
        .send(
            by,
            room,
            kinds::MEMBER,
            Some(&user.state_key()),
            ban_and_purge(reason),
        )
        .await
        .unwrap_or_else(|e| panic!("ban-and-purge ({reason}): {e}"));
    expected.insert(ban.id());
    let view = cluster
        .wait_converged(room, expected, DEFAULT_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("every node has the purge ({reason}): {e}"));
    (ban, view)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ban_and_purge_leaves_no_text_on_any_node() {
    init_logs();
    let mut cluster = Cluster::start(3).await.expect("cluster starts");
    let alice = cluster.user(0, "alice").await.expect("user");
    let bob = cluster.user(1, "bob").await.expect("user");
    let eve = cluster.user(2, "eve").await.expect("user");
    let room = cluster.create_shared_room(&alice).await.expect("room");
    let mut expected = cluster.join_all(&[&bob, &eve], room).await.expect("join");
    let stamp = now_ms();
    let texts: Vec<String> = (0..5)
        .map(|i| format!("purge-canary-{stamp}-{i}"))
        .collect();
    for text in &texts {
        expected.insert(
            cluster
                .message(&eve, room, text)
                .await
                .expect("message")
                .id(),
        );
    }
    let kept = format!("kept-by-bob-{stamp}");
    expected.insert(
        cluster
            .message(&bob, room, &kept)
            .await
            .expect("message")
            .id(),
    );
    cluster
        .wait_converged(room, &expected, DEFAULT_TIMEOUT)
        .await
        .expect("every node holds the texts");
    // The search works: before the purge, every node's files hold the texts.
    for index in 0..3 {
        assert!(files_contain(&cluster.data_dir(index), texts[0].as_bytes()));
    }

    let started = std::time::Instant::now();
    let (_, view) =
        purge_everywhere(&cluster, &alice, &eve, room, "scam links", &mut expected).await;
    let texts_ref = &texts;
    let cluster_ref = &cluster;
    wait_until(
        DEFAULT_TIMEOUT,
        "no node's files hold any of the texts",
        || async move {
            (0..3).all(|index| {
                texts_ref
                    .iter()
                    .all(|t| !files_contain(&cluster_ref.data_dir(index), t.as_bytes()))
            })
        },
    )
    .await
    .expect("compacted on every node");
    eprintln!(
        "purge to texts gone from every node's files: {} ms",
        started.elapsed().as_millis()
    );
    for index in 0..3 {
        let metrics = cluster.node(index).metrics();
        eprintln!(
            "node{index}: {} compactions, last {} ms",
            metrics
                .compactions
                .load(std::sync::atomic::Ordering::Relaxed),
            metrics
                .last_compaction_ms
                .load(std::sync::atomic::Ordering::Relaxed)
        );
        assert!(files_contain(&cluster.data_dir(index), kept.as_bytes()));
    }
    // Clients see the redacted forms.
    let page = cluster
        .node(1)
        .history(room, None, 100)
        .await
        .expect("history")
        .expect("room");
    let bodies: Vec<&str> = page
        .events
        .iter()
        .filter_map(|e| e.content_str("body"))
        .collect();
    assert!(bodies.contains(&kept.as_str()));
    assert!(
        texts.iter().all(|t| !bodies.contains(&t.as_str())),
        "{bodies:?}"
    );

    // A second purge changes nothing: the same timeline plus the new ban.
    let (again, after) =
        purge_everywhere(&cluster, &alice, &eve, room, "again", &mut expected).await;
    let before: Vec<EventId> = view.summary.as_ref().expect("summary").timeline.clone();
    let mut now: Vec<EventId> = after.summary.as_ref().expect("summary").timeline.clone();
    now.retain(|id| *id != again.id());
    assert_eq!(now, before);
    for index in 0..3 {
        assert!(
            texts
                .iter()
                .all(|t| !files_contain(&cluster.data_dir(index), t.as_bytes()))
        );
    }

    // Every node's DAG still verifies from its files.
    for index in 0..3 {
        cluster.stop(index).await;
        let checked = verify_store(&cluster.data_dir(index).join("store"), room);
        assert!(
            checked >= expected.len(),
            "node{index}: {checked} events stored"
        );
    }
    cluster.shutdown().await;
}

/// Eve's message drafted by hand (no node involved): parents `prev`, auth events `auth`.
fn raw_message(
    secret: &UserSecret,
    room: RoomId,
    prev: &[Event],
    auth: Vec<EventId>,
    attestation: causerie_crypto::AttestationId,
    body: &str,
) -> (EventDraft, Event) {
    let mut prev_events: Vec<EventId> = prev.iter().map(Event::id).collect();
    prev_events.sort_unstable();
    let mut content = Content::new();
    content.insert("body".into(), body.into());
    let draft = EventDraft {
        room: Some(room),
        author: secret.public(),
        kind: kinds::MESSAGE.to_owned(),
        state_key: None,
        content,
        prev_events,
        auth_events: auth,
        depth: 1 + prev.iter().map(Event::depth).max().unwrap_or(0),
        origin_ts: now_ms(),
        attestation,
    };
    let event = draft.clone().sign(secret).expect("signed");
    (draft, event)
}

/// The room's current state events on `node`, and its tips as events.
async fn state_and_tips(node: &Node, room: RoomId) -> (Vec<Event>, Vec<Event>) {
    let snapshot = node
        .room_state(room)
        .await
        .expect("room state")
        .expect("room");
    let tips = node.events(snapshot.tips.clone()).await.expect("tips");
    (snapshot.state, tips)
}

fn find<'a>(state: &'a [Event], kind: &str, state_key: &str) -> &'a Event {
    state
        .iter()
        .find(|e| e.kind() == kind && e.state_key() == Some(state_key))
        .expect("state entry")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_muted_users_raw_messages_are_stopped_by_every_node() {
    init_logs();
    let cluster = Cluster::start(3).await.expect("cluster starts");
    let alice = cluster.user(0, "alice").await.expect("user");
    let room = cluster.create_shared_room(&alice).await.expect("room");
    let room_text = room.to_string();
    // Eve registers on C through the HTTP API, as a client would.
    let seed = 77;
    let eve_api = ApiUser::registered(cluster.nodes[2].running().http_addr, seed, "eve").await;
    eve_api.join(&room_text).await;
    eve_api.say(&room_text, "before the mute").await;
    let secret = UserSecret::from_seed(&[seed; 32]);
    let eve_hex = eve_api.key();
    let mut expected = BTreeSet::new();
    let (state, tips_before_mute) = state_and_tips(cluster.node(2), room).await;
    let eve_join = find(&state, kinds::MEMBER, &eve_hex).clone();
    expected.insert(eve_join.id());
    expected.extend(tips_before_mute.iter().map(Event::id));
    cluster
        .wait_converged(room, &expected, DEFAULT_TIMEOUT)
        .await
        .expect("eve is in on every node");

    let mut mute = Content::new();
    mute.insert("muted".into(), Value::Bool(true));
    mute.insert("reason".into(), "flooding".into());
    let muted = cluster
        .send(&alice, room, kinds::MUTE, Some(&eve_hex), mute)
        .await
        .expect("mute");
    expected.insert(muted.id());
    cluster
        .wait_converged(room, &expected, DEFAULT_TIMEOUT)
        .await
        .expect("every node has the mute");

    // Through her node's own preparation: refused, with the reason in plain words.
    let answer = eve_api
        .act(&room_text, json!({"action": "message", "body": "hello?"}))
        .await;
    assert_eq!(answer.status, 403, "{:?}", answer.body);
    assert_eq!(answer.reason(), "muted");

    let (state, tips) = state_and_tips(cluster.node(2), room).await;
    let auth: Vec<EventId> = [
        find(&state, kinds::CREATE, "").id(),
        find(&state, kinds::POWER_LEVELS, "").id(),
        eve_join.id(),
    ]
    .into();
    // A hand-built message on the current tips that leaves the mute out of its auth events,
    // and one on the tips from before the mute (a fork concurrent with it).
    let attestation = *eve_join.attestation();
    let (current_draft, current) =
        raw_message(&secret, room, &tips, auth.clone(), attestation, "raw now");
    let (forked_draft, forked) = raw_message(
        &secret,
        room,
        &tips_before_mute,
        auth,
        attestation,
        "raw fork",
    );
    for draft in [&current_draft, &forked_draft] {
        let input = draft.signing_input().expect("signing input");
        let signature = secret.sign_input(&input).expect("an event signing input");
        let answer = eve_api
            .post(
                "/api/v1/events",
                json!({
                    "draft": hex::encode(draft.encode().expect("encode")),
                    "signature": hex::encode(signature.as_bytes()),
                }),
            )
            .await;
        assert_eq!(answer.status, 403, "{:?}", answer.body);
        assert_eq!(answer.reason(), "muted", "{:?}", answer.body);
    }
    // Every other node stops them too: the first rejected, the fork hidden.
    for index in 0..2 {
        let outcomes = cluster
            .node(index)
            .ingest(vec![current.clone(), forked.clone()])
            .await
            .expect("ingest");
        match &outcomes[0].outcome {
            IngestOutcome::Rejected(reason) => assert_eq!(reason.detail(), "muted"),
            other => panic!("node{index}: {other:?}"),
        }
        assert!(
            matches!(
                outcomes[1].outcome,
                IngestOutcome::Accepted { visible: false } | IngestOutcome::Duplicate
            ),
            "node{index}: {:?}",
            outcomes[1].outcome
        );
        let page = cluster
            .node(index)
            .history(room, None, 100)
            .await
            .expect("history")
            .expect("room");
        assert!(
            page.events
                .iter()
                .all(|e| e.content_str("body") != Some("raw fork"))
        );
    }
    cluster.shutdown().await;
}
