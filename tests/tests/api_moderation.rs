//! The moderator actions of the client API (specs/moderation.md §1.5) against one real node:
//! each action's refusals carry their reason name, a temporary ban and a mute carry the end the
//! client asked for, a muted member is told why in plain words, and a ban-and-purge leaves the
//! member's messages redacted in the room's history.

use causerie_tests::api::ApiNode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderator_actions_through_the_api() {
    let (_node, alice, eve, room) =
        ApiNode::with_shared_room("moderated", (1, "alice"), (5, "eve")).await;
    eve.say(&room, "first words").await;

    // Malformed ends are refused before anything is signed.
    let now = causerie_tests::cluster::now_ms();
    for (action, reason) in [
        (
            json!({"action": "ban", "user": eve.key(), "expires": now - 1}),
            "bad_expiry",
        ),
        (
            json!({"action": "mute", "user": eve.key(), "expires": now + 60_000, "duration_ms": 60_000}),
            "bad_expiry",
        ),
        (
            json!({"action": "mute", "user": eve.key(), "duration_ms": 0}),
            "bad_expiry",
        ),
        (
            json!({"action": "mute", "user": eve.key(), "reason": "x".repeat(1_025)}),
            "reason_too_long",
        ),
    ] {
        let answer = alice
            .post(&format!("/api/v1/rooms/{room}/prepare"), action)
            .await;
        assert_eq!(answer.status, 400, "{:?}", answer.body);
        assert_eq!(answer.reason(), reason);
    }
    // Eve (level 0) may not mute alice.
    let answer = eve
        .act(&room, json!({"action": "mute", "user": alice.key()}))
        .await;
    assert_eq!(answer.status, 403, "{:?}", answer.body);
    assert_eq!(answer.reason(), "insufficient_power");

    // A ten-minute mute: eve is told, in plain words, and the room shows the end.
    let end = now + 600_000;
    alice
        .must(
            &room,
            json!({"action": "mute", "user": eve.key(), "expires": end, "reason": "calm down"}),
        )
        .await;
    let answer = eve
        .act(&room, json!({"action": "message", "body": "hello?"}))
        .await;
    assert_eq!(answer.status, 403, "{:?}", answer.body);
    assert_eq!(answer.reason(), "muted");
    assert!(
        answer.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("muted")),
        "{:?}",
        answer.body
    );
    let page = alice.get(&format!("/api/v1/rooms/{room}/messages")).await;
    let mute = page.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "room.mute")
        .cloned()
        .expect("the mute is in the timeline");
    assert_eq!(mute["content"]["expires"], json!(end));
    assert_eq!(mute["content"]["muted"], json!(true));
    alice
        .must(&room, json!({"action": "unmute", "user": eve.key()}))
        .await;
    eve.say(&room, "second words").await;

    // A week's ban-and-purge: her messages are redacted, the ban carries its end.
    alice
        .must(
            &room,
            json!({"action": "ban", "user": eve.key(), "duration_ms": 7 * 86_400_000u64,
                   "purge": true, "reason": "scam"}),
        )
        .await;
    let bodies = alice.bodies(&room).await;
    assert!(
        !bodies.iter().any(|b| b.contains("words")),
        "purged: {bodies:?}"
    );
    let page = alice.get(&format!("/api/v1/rooms/{room}/messages")).await;
    let ban = page.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .rev()
        .find(|e| e["kind"] == "room.member" && e["content"]["membership"] == "ban")
        .cloned()
        .expect("the ban is in the timeline");
    assert_eq!(ban["content"]["purge"], json!(true));
    assert!(ban["content"]["expires"].as_u64().expect("an end") > now + 6 * 86_400_000);
    let answer = eve
        .act(&room, json!({"action": "message", "body": "let me in"}))
        .await;
    assert_eq!(answer.status, 403, "{:?}", answer.body);
    assert_eq!(answer.reason(), "banned");
}
