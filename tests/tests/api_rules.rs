//! Content rules, slow mode, lockdown and rate limits through the client API
//! (specs/moderation.md §2, §5): the author's node refuses a breaking submission with a named
//! reason and plain words, slow mode answers with how long to wait, a lockdown and its undo,
//! and a flooding user is rate limited while honest users' messages all arrive.

use std::net::{IpAddr, Ipv4Addr};

use causerie_tests::api::{Answer, ApiNode, ApiUser};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authors_node_refuses_what_the_rules_forbid_in_plain_words() {
    let (mut node, alice, bob, room) =
        ApiNode::with_shared_room("Rules", (1, "alice"), (2, "bob")).await;
    let rules = json!({
        "blocked_words": ["scam"],
        "links": "deny",
        "max_mentions": 1,
        "max_message_bytes": 100,
        "slow_mode_ms": 60_000,
    });
    alice
        .must(&room, json!({ "action": "content_rules", "rules": rules }))
        .await;
    let info = bob.room_info(&room).await;
    assert_eq!(info["content_rules"]["blocked_words"], json!(["scam"]));

    for (body, reason) in [
        ("what a ѕсаm", "blocked_word"),
        ("see evil.com", "link_not_allowed"),
        ("@ann @bob", "too_many_mentions"),
        (&"x".repeat(101) as &str, "message_too_long"),
    ] {
        let answer = bob.say_once(&room, body).await;
        assert_eq!(answer.status, 403, "{body}: {:?}", answer.body);
        assert_eq!(answer.reason(), reason, "{body}");
        let words = answer.body["message"].as_str().unwrap_or_default();
        assert!(words.contains("room"), "plain words: {words}");
    }
    // Slow mode: the first message passes, the next is refused with the wait.
    let first = bob.say_once(&room, "hello").await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let second = bob.say_once(&room, "again").await;
    assert_eq!(second.status, 429, "{:?}", second.body);
    assert_eq!(second.reason(), "slow_mode");
    let wait_ms = second.body["retry_after_ms"]
        .as_u64()
        .expect("retry_after_ms");
    assert!(wait_ms > 0 && wait_ms <= 60_000, "{wait_ms}");
    assert!(second.retry_after.is_some_and(|s| (1..=60).contains(&s)));
    // Moderators are exempt.
    alice.say(&room, "mods may quote: scam").await;
    alice.say(&room, "and talk fast").await;
    // Nothing refused was stored.
    let bodies = alice.bodies(&room).await;
    assert!(bodies.iter().all(|b| !b.contains("ѕсаm") && b != "again"));
    // Invalid rules are refused before anything is signed.
    let bad = alice
        .post(
            &format!("/api/v1/rooms/{room}/prepare"),
            json!({ "action": "content_rules", "rules": { "links": "maybe" } }),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.reason(), "bad_content_rules");
    let metrics = node
        .metric("causerie_api_refused_total{reason=\"blocked_word\"}")
        .await;
    assert_eq!(metrics, 1);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockdown_then_unlock_restores_the_room() {
    let (mut node, alice, room) = ApiNode::with_alices_room(1, "Lock", "public").await;
    alice
        .must(
            &room,
            json!({ "action": "content_rules", "rules": { "slow_mode_ms": 5_000 } }),
        )
        .await;
    for part in ["content_rules", "join_rules"] {
        alice
            .must(
                &room,
                json!({ "action": "lockdown", "part": part, "slow_mode_ms": 30_000 }),
            )
            .await;
    }
    let info = alice.room_info(&room).await;
    assert_eq!(info["join_rule"], "invite");
    assert_eq!(info["content_rules"]["slow_mode_ms"], 30_000);
    assert_eq!(info["content_rules"]["lockdown"]["join_rule"], "public");
    // A stranger can no longer join.
    let carol = ApiUser::registered(node.http, 3, "carol").await;
    let join = carol
        .post("/api/v1/rooms/join", json!({ "room": room }))
        .await;
    let refused = if join.status == 200 {
        carol.try_submit(&join.body["draft"]).await
    } else {
        join
    };
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    assert_eq!(refused.reason(), "join_not_allowed");
    for part in ["join_rules", "content_rules"] {
        alice
            .must(&room, json!({ "action": "unlock", "part": part }))
            .await;
    }
    let info = alice.room_info(&room).await;
    assert_eq!(info["join_rule"], "public");
    assert_eq!(info["content_rules"]["slow_mode_ms"], 5_000);
    assert!(info["content_rules"].get("lockdown").is_none());
    let again = alice
        .post(
            &format!("/api/v1/rooms/{room}/prepare"),
            json!({ "action": "unlock", "part": "join_rules" }),
        )
        .await;
    assert_eq!(again.reason(), "not_locked");
    carol.join(&room).await;
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_user_is_rate_limited_and_honest_messages_all_arrive() {
    let (mut node, alice, room) = ApiNode::with_alices_room(1, "Flood", "public").await;
    let honest = ApiUser::registered(node.http, 2, "honest").await;
    honest.join(&room).await;
    // The flooder comes from an address of its own, so the per-address request limit does not
    // spill over onto the others.
    let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9));
    let flooder = ApiUser::registered_from(node.http, source, 9, "flooder").await;
    flooder.join(&room).await;
    // One prepared draft, signed again and again with new bodies would need new drafts: the
    // flooder prepares each message and submits at once, as fast as it can.
    let mut limited: Option<Answer> = None;
    for n in 0..200 {
        let answer = flooder.say_once(&room, &format!("flood {n}")).await;
        if answer.status == 429 && answer.reason() == "rate_limited" {
            limited = Some(answer);
            break;
        }
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
    let limited = limited.expect("the flooder was never rate limited");
    assert!(limited.retry_after.is_some());
    assert!(
        limited.body["retry_after_ms"]
            .as_u64()
            .is_some_and(|ms| ms > 0)
    );
    let mut sent = Vec::new();
    for n in 0..5 {
        let body = format!("honest {n}");
        honest.say(&room, &body).await;
        sent.push(body);
    }
    let bodies = alice.bodies(&room).await;
    for body in &sent {
        assert!(bodies.contains(body), "{body} missing");
    }
    assert!(
        node.metric("causerie_rate_limited_total{reason=\"user_room\"}")
            .await
            >= 1
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_wave_turns_an_open_room_into_a_knock_room_until_it_passes() {
    let (node, alice, room) = ApiNode::with_alices_room(1, "Wave", "public").await;
    // Nobody needs to knock at an open room in quiet times.
    let early = ApiUser::registered(node.http, 2, "early").await;
    let knock = early
        .act(&room, json!({ "action": "knock", "reason": "hello" }))
        .await;
    assert_eq!(knock.status, 403, "{:?}", knock.body);
    assert_eq!(knock.reason(), "join_not_allowed");
    alice
        .must(
            &room,
            json!({ "action": "content_rules",
                    "rules": { "join_wave": { "max_joins": 2, "window_ms": 600_000 } } }),
        )
        .await;
    // Alice's own join (the creator's, minutes old at most) and early's fill the wave.
    early.join(&room).await;
    let late = ApiUser::registered(node.http, 3, "late").await;
    let prepared = late
        .call("POST", "/rooms/join", json!({ "room": room }))
        .await;
    let refused = late.try_submit(&prepared["draft"]).await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    assert_eq!(refused.reason(), "join_wave");
    // The wave is in force: the refused user may knock, and a moderator lets them in.
    let knock = late
        .act(
            &room,
            json!({ "action": "knock", "reason": "a friend sent me" }),
        )
        .await;
    assert_eq!(knock.status, 200, "{:?}", knock.body);
    let members = alice
        .call("GET", &format!("/rooms/{room}/members"), Value::Null)
        .await;
    let row = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"] == json!(late.key()))
        .cloned()
        .expect("the knocker is listed");
    assert_eq!(row["membership"], "knock");
    // Moderators see the wave in the room's view; others do not.
    let info = alice.room_info(&room).await;
    assert_eq!(info["join_wave"]["refused"], 1, "{info}");
    assert_eq!(early.room_info(&room).await["join_wave"], Value::Null);
    alice.invite(&room, &late).await;
    late.join(&room).await;
    let members = alice
        .call("GET", &format!("/rooms/{room}/members"), Value::Null)
        .await;
    assert!(
        members["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["user"] == json!(late.key()) && m["membership"] == "join"),
        "{members}"
    );
}
