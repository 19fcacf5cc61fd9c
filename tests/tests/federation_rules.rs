//! Content rules across nodes (specs/moderation.md §2): a modified client that signs raw events
//! breaking the room's content rules or its slow mode, and offers them to every node itself,
//! is stopped everywhere: each node rejects or soft-fails them, none shows them, and every node
//! agrees on the room.

use std::collections::BTreeSet;
use std::time::Duration;

use causerie_crypto::event::kinds;
use causerie_crypto::{Content, Event, EventDraft, Value};
use causerie_node::node::IngestOutcome;
use causerie_tests::cluster::{Cluster, TestUser, now_ms, text_content};

const TIMEOUT: Duration = Duration::from_secs(60);

fn rules() -> Content {
    let mut rules = Content::new();
    rules.insert("blocked_words".into(), Value::Array(vec!["scam".into()]));
    rules.insert("slow_mode_ms".into(), Value::Integer(600_000));
    rules
}

/// A message signed by `user` on top of `draft`'s parents, with other content and time.
fn resign(user: &TestUser, draft: &EventDraft, body: &str, origin_ts: u64) -> Event {
    let mut draft = draft.clone();
    draft.content = text_content(body);
    draft.origin_ts = origin_ts;
    draft.sign(&user.secret).expect("sign")
}

/// Offers `event` to every node, as a modified client (or a peer relaying it) would.
async fn offer_everywhere(cluster: &Cluster, event: &Event) -> Vec<IngestOutcome> {
    let mut outcomes = Vec::new();
    for member in &cluster.nodes {
        let answer = member
            .node()
            .ingest(vec![event.clone()])
            .await
            .expect("ingest");
        outcomes.extend(answer.into_iter().map(|i| i.outcome));
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_breaking_raw_events_are_stopped_by_every_node() {
    causerie_tests::cluster::init_logs();
    let (cluster, alice, bob, room, joined) = Cluster::start_with_alice_and_bob(3)
        .await
        .expect("alice and bob in a shared room");
    let rules_event = cluster
        .send(&alice, room, kinds::CONTENT_RULES, Some(""), rules())
        .await
        .expect("rules");
    let fine = cluster
        .message(&bob, room, "hello everyone")
        .await
        .expect("a fine message");
    let expected: BTreeSet<_> = [joined, rules_event.id(), fine.id()].into();
    cluster
        .wait_accepted(room, &expected, TIMEOUT)
        .await
        .expect("every node has the rules");

    // 1. A blocked word, signed on the current history: every node rejects it.
    let draft = cluster
        .node(1)
        .prepare(bob.message_request(room, "x"))
        .await
        .expect("prepare");
    let now = now_ms();
    let blocked = resign(&bob, &draft, "a ѕсаm for you", now);
    for outcome in offer_everywhere(&cluster, &blocked).await {
        match outcome {
            IngestOutcome::Rejected(reason) => assert_eq!(reason.detail(), "blocked_word"),
            other => panic!("a blocked word was not rejected: {other:?}"),
        }
    }
    // 2. The same, with auth events that leave the rules out (stale on purpose): still
    //    rejected against the state before it.
    let mut stale = draft.clone();
    stale.auth_events.retain(|id| *id != rules_event.id());
    let sneaky = resign(&bob, &stale, "scam, but sneakier", now + 1);
    for outcome in offer_everywhere(&cluster, &sneaky).await {
        match outcome {
            IngestOutcome::Rejected(reason) => assert_eq!(reason.detail(), "blocked_word"),
            other => panic!("a stale-auth blocked word was not rejected: {other:?}"),
        }
    }
    // 3. Slow mode: a second message right after the first is accepted where offered but
    //    soft-failed, on every node.
    let hasty = resign(&bob, &draft, "me again, so soon", now + 2);
    for outcome in offer_everywhere(&cluster, &hasty).await {
        assert_eq!(
            outcome,
            IngestOutcome::Accepted { visible: false },
            "slow mode"
        );
    }
    // Every node agrees, and none shows any of the three.
    let mut expected = expected;
    expected.insert(hasty.id());
    let view = cluster
        .wait_converged(room, &expected, TIMEOUT)
        .await
        .expect("convergence");
    let timeline = view.summary.expect("summary").timeline;
    assert!(timeline.contains(&fine.id()));
    for hidden in [&blocked, &sneaky, &hasty] {
        assert!(!timeline.contains(&hidden.id()), "{} shown", hidden.id());
    }
    cluster.shutdown().await;
}
