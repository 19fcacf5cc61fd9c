//! Replies, mentions, edits, reactions, deletions and direct messages through the client API
//! (specs/client-api.md, specs/rooms.md §13) on real nodes: every action seen the same on two
//! federated nodes, bad input refused with its status and reason and nothing stored, and a
//! direct-message room listed as one on both sides.

#![allow(clippy::unwrap_used)]

use causerie_crypto::{EventDraft, Value as Cbor};
use causerie_tests::api::{ApiNode, ApiUser, eventually};
use serde_json::{Value, json};

/// `(key, count, mine)` of each reaction of a shown message.
fn reactions(event: &Value) -> Vec<(String, u64, bool)> {
    event["reactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_owned(),
                r["count"].as_u64().unwrap(),
                r["mine"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// Waits until `user` is shown `id` in `room` in a state `check` accepts; returns it.
async fn shown_as(user: &ApiUser, room: &str, id: &str, check: impl Fn(&Value) -> bool) -> Value {
    eventually(&format!("{id} as expected"), || async {
        user.shown(room, id).await.is_some_and(|e| check(&e))
    })
    .await;
    user.shown(room, id).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relations_are_seen_the_same_on_two_nodes() {
    let (_a, _b, alice, bob, room) = ApiNode::pair_in_a_room().await;

    let hello = alice.say(&room, "hello").await;
    let fresh = shown_as(&alice, &room, &hello, |_| true).await;
    assert_eq!(fresh["edited"], Value::Null);
    assert_eq!(fresh["reply_to"], Value::Null);
    assert_eq!(fresh["replaces"], Value::Null);
    assert_eq!(
        (fresh["mentions"].clone(), fresh["deleted"].clone()),
        (json!([]), json!(false))
    );
    assert_eq!(fresh["reactions"], json!([]));
    shown_as(&bob, &room, &hello, |_| true).await;

    // Bob replies on B, mentioning Alice.
    let reply = bob
        .must(
            &room,
            json!({ "action": "message", "body": "hi **alice**", "reply_to": hello,
                    "mentions": [alice.key()] }),
        )
        .await;
    // Alice edits twice on A; the second edit is shown.
    alice.edit(&room, &hello, "hello, world").await;
    let second = alice.edit(&room, &hello, "hello, everyone").await;
    // Reactions from both nodes, one per (user, key).
    bob.react(&room, &hello, "👍").await;
    bob.react(&room, &hello, "🎉").await;
    alice.react(&room, &hello, "👍").await;

    for (user, other) in [(&alice, &bob), (&bob, &alice)] {
        let shown = shown_as(user, &room, &hello, |e| {
            e["edited"]["body"] == "hello, everyone" && reactions(e).len() == 2
        })
        .await;
        assert_eq!(shown["edited"]["event"], second.as_str());
        assert_eq!(
            shown["content"]["body"], "hello",
            "the original stays in content"
        );
        let mine_thumbs = user.key() == alice.key() || user.key() == bob.key();
        assert_eq!(
            reactions(&shown),
            vec![
                ("👍".into(), 2, mine_thumbs),
                ("🎉".into(), 1, user.key() == bob.key())
            ]
        );
        let users = shown["reactions"][0]["users"].as_array().unwrap();
        assert!(users.contains(&json!(other.key())));
        let answer = shown_as(user, &room, &reply, |e| {
            e["reply_to"]["author"] != Value::Null
        })
        .await;
        assert_eq!(
            answer["reply_to"],
            json!({ "id": hello, "author": alice.key(), "handle": "alice",
                    "body": "hello, everyone" })
        );
        assert_eq!(answer["mentions"], json!([alice.key()]));
        // The edit and reaction events are in the list too, marked for clients to hide.
        let page = user.get(&format!("/api/v1/rooms/{room}/messages")).await;
        let events = page.body["events"].as_array().unwrap();
        let edit = events.iter().find(|e| e["id"] == second.as_str()).unwrap();
        assert_eq!(edit["replaces"], hello.as_str());
        let reaction = events
            .iter()
            .find(|e| e["kind"] == "room.reaction")
            .unwrap();
        assert_eq!(
            reaction["content"]["relates_to"],
            hello.trim_start_matches('$')
        );
    }

    // Bob takes his 🎉 back; Alice sees one key left.
    bob.must(
        &room,
        json!({ "action": "unreact", "event": hello, "key": "🎉" }),
    )
    .await;
    shown_as(&alice, &room, &hello, |e| {
        reactions(e) == vec![("👍".to_owned(), 2, true)]
    })
    .await;
    // Bob deletes his reply: deleted on A; Alice's redaction of nothing of hers is refused.
    bob.must(&room, json!({ "action": "delete", "event": reply }))
        .await;
    let deleted = shown_as(&alice, &room, &reply, |e| e["deleted"] == true).await;
    assert_eq!(deleted["redacted"], true);
    assert_eq!(deleted["content"], json!({}));
    // A moderator's redaction is shown redacted, not deleted.
    let spam = bob.say(&room, "spam").await;
    shown_as(&alice, &room, &spam, |_| true).await;
    alice
        .must(&room, json!({ "action": "redact", "event": spam }))
        .await;
    let redacted = shown_as(&bob, &room, &spam, |e| e["redacted"] == true).await;
    assert_eq!(redacted["deleted"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_relations_are_refused_and_nothing_is_stored() {
    let (node, alice, bob, room) =
        ApiNode::with_shared_room("Lobby", (3, "alice"), (4, "bob")).await;
    let hello = alice.say(&room, "hello").await;
    let edit = alice.edit(&room, &hello, "hello!").await;
    bob.react(&room, &hello, "👍").await;
    let member = alice
        .get(&format!("/api/v1/rooms/{room}/messages"))
        .await
        .body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "room.member")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stored = node
        .running()
        .node
        .metrics()
        .events_accepted
        .load(std::sync::atomic::Ordering::Relaxed);
    let unknown = format!("${}", "ab".repeat(32));
    let too_many: Vec<String> = (0..33u8)
        .map(|n| ApiUser::from_seed(node.http, 100 + n).key())
        .collect();
    let cases = [
        (
            &bob,
            json!({ "action": "edit", "event": hello, "body": "mine now" }),
            403,
            "not_your_message",
        ),
        (
            &bob,
            json!({ "action": "delete", "event": hello }),
            403,
            "not_your_message",
        ),
        (
            &alice,
            json!({ "action": "edit", "event": edit, "body": "again" }),
            400,
            "not_editable",
        ),
        (
            &alice,
            json!({ "action": "edit", "event": member, "body": "x" }),
            400,
            "not_a_message",
        ),
        (
            &alice,
            json!({ "action": "edit", "event": unknown, "body": "x" }),
            404,
            "unknown_event",
        ),
        (
            &alice,
            json!({ "action": "edit", "event": "nope", "body": "x" }),
            400,
            "bad_event_id",
        ),
        (
            &alice,
            json!({ "action": "edit", "event": hello, "body": " " }),
            400,
            "empty_message",
        ),
        (
            &alice,
            json!({ "action": "react", "event": hello, "key": "" }),
            400,
            "bad_reaction_key",
        ),
        (
            &alice,
            json!({ "action": "react", "event": hello, "key": "x".repeat(65) }),
            400,
            "bad_reaction_key",
        ),
        (
            &alice,
            json!({ "action": "react", "event": hello, "key": "a\nb" }),
            400,
            "bad_reaction_key",
        ),
        (
            &bob,
            json!({ "action": "react", "event": hello, "key": "👍" }),
            409,
            "already_reacted",
        ),
        (
            &alice,
            json!({ "action": "unreact", "event": hello, "key": "👍" }),
            404,
            "no_reaction",
        ),
        (
            &alice,
            json!({ "action": "react", "event": unknown, "key": "👍" }),
            404,
            "unknown_event",
        ),
        (
            &bob,
            json!({ "action": "message", "body": "re", "reply_to": unknown }),
            404,
            "unknown_event",
        ),
        (
            &bob,
            json!({ "action": "message", "body": "re", "reply_to": member }),
            400,
            "not_a_message",
        ),
        (
            &bob,
            json!({ "action": "message", "body": "hey", "mentions": too_many }),
            400,
            "mentions_over_limit",
        ),
        (
            &bob,
            json!({ "action": "message", "body": "hey", "mentions": ["alice"] }),
            400,
            "bad_user",
        ),
        (
            &bob,
            json!({ "action": "event", "kind": "room.reaction", "content": { "key": "👍" } }),
            400,
            "bad_relates_to",
        ),
    ];
    for (user, action, status, reason) in cases {
        let answer = user
            .post(&format!("/api/v1/rooms/{room}/prepare"), action.clone())
            .await;
        assert_eq!(
            (answer.status, answer.reason()),
            (status, reason),
            "{action}: {:?}",
            answer.body
        );
    }
    // A draft whose relation fields were changed after `prepare` is refused on submit too.
    let prepared = bob
        .post(
            &format!("/api/v1/rooms/{room}/prepare"),
            json!({ "action": "message", "body": "ok" }),
        )
        .await;
    let bytes = hex::decode(prepared.body["draft"].as_str().unwrap()).unwrap();
    for (key, value, reason) in [
        ("reply_to", Cbor::Bytes(vec![1; 31]), "bad_reply_to"),
        ("replaces", Cbor::Text("x".into()), "bad_replaces"),
        (
            "mentions",
            Cbor::Array(vec![Cbor::Bytes(vec![1; 32]); 33]),
            "mentions_over_limit",
        ),
    ] {
        let mut draft = EventDraft::decode(&bytes).unwrap();
        draft.content.insert(key.into(), value);
        let answer = bob.submit_draft(&draft).await;
        assert_eq!(
            (answer.status, answer.reason()),
            (400, reason),
            "{:?}",
            answer.body
        );
    }
    let now = node
        .running()
        .node
        .metrics()
        .events_accepted
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(now, stored, "nothing stored");
    assert_eq!(node.refused("not_your_message").await, 2);
}

/// `(dm, join_rule, membership)` of `room` in `user`'s rooms list.
async fn dm_of(user: &ApiUser, room: &str) -> Option<(Value, Value, Value)> {
    user.listed(room).await.map(|r| {
        (
            r["dm"].clone(),
            r["join_rule"].clone(),
            r["membership"].clone(),
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_message_room_is_listed_as_one_on_both_nodes() {
    let (a, b) = ApiNode::pair().await;
    let alice = ApiUser::registered(a.http, 5, "alice").await;
    let bob = ApiUser::registered(b.http, 6, "bob").await;
    let carol = ApiUser::registered(a.http, 7, "carol").await;
    let bad = alice
        .post("/api/v1/rooms/prepare_create", json!({ "dm": "yes" }))
        .await;
    assert_eq!((bad.status, bad.reason()), (400, "bad_request"));

    let room = alice.start_dm(&bob.key()).await;
    let (dm, rule, _) = dm_of(&alice, &room).await.unwrap();
    // A knows Bob's handle once it holds his attestation (when he joins).
    assert_eq!(dm["with"], bob.key().as_str());
    assert_eq!(rule, "invite");
    // A third person cannot be invited.
    let third = alice
        .post(
            &format!("/api/v1/rooms/{room}/prepare"),
            json!({ "action": "invite", "user": carol.key() }),
        )
        .await;
    assert_eq!((third.status, third.reason()), (409, "dm_full"));

    // Bob, on B, sees the invitation (his node fetched the room), joins and talks.
    bob.join_by_link(&alice.invite_link(&room).await).await;
    let (dm, _, membership) = dm_of(&bob, &room).await.unwrap();
    assert_eq!(dm, json!({ "with": alice.key(), "handle": "alice" }));
    assert_eq!(membership, "join");
    bob.say(&room, "hi alice").await;
    eventually("Bob's message on A", || alice.shows(&room, "hi alice")).await;
    let (dm, _, _) = dm_of(&alice, &room).await.unwrap();
    assert_eq!(dm, json!({ "with": bob.key(), "handle": "bob" }));
    // Ordinary rooms say `dm: null`.
    let lobby = alice.create_room("Lobby", "public").await;
    let lobby = alice.listed(&lobby).await.unwrap();
    assert_eq!(lobby["dm"], Value::Null);
}
