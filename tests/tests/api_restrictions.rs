//! What the client API tells about a member's restrictions (specs/client-api.md, "Rooms"): a
//! muted member's room view and the member list carry the mute (who, why, until when); a
//! banned member's view and row carry the ban's terms (until when, purged or not); a lifted
//! mute is gone from both. The web client's moderator panel and composer read these fields.

#![allow(clippy::unwrap_used)]

use causerie_tests::api::{ApiNode, ApiUser};
use serde_json::{Value, json};

/// `user`'s row in `room`'s member list, as `observer` reads it.
async fn row(observer: &ApiUser, room: &str, user: &str) -> Value {
    let members = observer.get(&format!("/api/v1/rooms/{room}/members")).await;
    assert_eq!(members.status, 200, "{:?}", members.body);
    members.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"] == user)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_views_and_member_rows_carry_mutes_and_ban_terms() {
    let (_node, alice, bob, room) =
        ApiNode::with_shared_room("Restrictions", (1, "alice"), (2, "bob")).await;
    let info = bob.get(&format!("/api/v1/rooms/{room}")).await;
    assert!(info.body["muted"].is_null(), "{:?}", info.body);
    assert!(row(&alice, &room, &bob.key()).await["muted"].is_null());

    // A temporary mute with a reason.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let until = now + 24 * 60 * 60 * 1_000;
    alice
        .must(
            &room,
            json!({"action": "mute", "user": bob.key(), "reason": "calm down", "expires": until}),
        )
        .await;
    let expected =
        json!({"by": alice.key(), "reason": "calm down", "expires": until, "purge": false});
    let info = bob.get(&format!("/api/v1/rooms/{room}")).await;
    assert_eq!(info.body["muted"], expected, "{:?}", info.body);
    assert_eq!(row(&alice, &room, &bob.key()).await["muted"], expected);
    let own = alice.get(&format!("/api/v1/rooms/{room}")).await;
    assert!(own.body["muted"].is_null(), "{:?}", own.body);

    // Lifted: gone from the view and the row.
    alice
        .must(&room, json!({"action": "unmute", "user": bob.key()}))
        .await;
    let info = bob.get(&format!("/api/v1/rooms/{room}")).await;
    assert!(info.body["muted"].is_null(), "{:?}", info.body);
    assert!(row(&alice, &room, &bob.key()).await["muted"].is_null());

    // A temporary ban-and-purge: the removed member reads its terms, the list shows them.
    alice
        .must(
            &room,
            json!({"action": "ban", "user": bob.key(), "reason": "spam", "expires": until,
                   "purge": true}),
        )
        .await;
    let info = bob.get(&format!("/api/v1/rooms/{room}")).await;
    assert_eq!(
        info.body["removed"],
        json!({"by": alice.key(), "membership": "ban", "reason": "spam", "expires": until, "purge": true}),
        "{:?}",
        info.body
    );
    let banned = row(&alice, &room, &bob.key()).await;
    assert_eq!(banned["membership"], "ban");
    assert_eq!(
        banned["ban"],
        json!({"by": alice.key(), "reason": "spam", "expires": until, "purge": true})
    );
    assert!(row(&alice, &room, &alice.key()).await["ban"].is_null());
}
