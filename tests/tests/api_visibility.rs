//! Who may read a room through the client API (specs/client-api.md, "Rooms"): strangers see
//! nothing of a room that is not public (its view, members, history, invite link, live stream,
//! power levels: `403 not_member`); a user who left, was kicked or banned reads the history up
//! to and including their departure and nothing after; the live stream of one room stops at
//! the departure.

#![allow(clippy::unwrap_used)]

use causerie_tests::api::{Answer, ApiNode, ApiUser, StreamReader};
use serde_json::{Value, json};

fn refused(answer: &Answer) -> (u16, &str) {
    (answer.status, answer.reason())
}

/// Every read of `room` by `user`, each of which must be refused as `403 not_member`.
async fn assert_sees_nothing(user: &ApiUser, room: &str) {
    for path in [
        format!("/api/v1/rooms/{room}"),
        format!("/api/v1/rooms/{room}/members"),
        format!("/api/v1/rooms/{room}/messages"),
        format!("/api/v1/rooms/{room}/invite"),
        format!("/api/v1/stream?room={room}"),
    ] {
        let answer = user.get(&path).await;
        assert_eq!(
            refused(&answer),
            (403, "not_member"),
            "{path}: {:?}",
            answer.body
        );
    }
    let levels = user
        .post(
            &format!("/api/v1/rooms/{room}/prepare"),
            json!({ "action": "power_levels" }),
        )
        .await;
    assert_eq!(refused(&levels), (403, "not_member"), "power levels");
}

/// The room's newest page as `user` reads it.
async fn page(user: &ApiUser, room: &str) -> Vec<Value> {
    let page = user.get(&format!("/api/v1/rooms/{room}/messages")).await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    page.body["events"].as_array().unwrap().clone()
}

fn bodies(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e["kind"] == "room.message")
        .map(|e| e["content"]["body"].as_str().unwrap_or(""))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_that_are_not_public_are_hidden_from_strangers() {
    let mut node = ApiNode::start(Vec::new()).await;
    let alice = ApiUser::registered(node.http, 1, "alice").await;
    let bob = ApiUser::registered(node.http, 2, "bob").await;
    let secret = alice.create_room("Secret", "invite").await;
    alice.say(&secret, "for members only").await;
    assert_sees_nothing(&bob, &secret).await;
    let knock = alice.create_room("Knock first", "knock").await;
    assert_sees_nothing(&bob, &knock).await;

    // A public room shows itself and its members to anyone; its history is for members.
    let lobby = alice.create_room("Lobby", "public").await;
    let info = bob.get(&format!("/api/v1/rooms/{lobby}")).await;
    assert_eq!(info.status, 200, "{:?}", info.body);
    assert_eq!(info.body["name"], "Lobby");
    assert_eq!(info.body["membership"], Value::Null);
    let members = bob.get(&format!("/api/v1/rooms/{lobby}/members")).await;
    assert_eq!(members.status, 200);
    let history = bob.get(&format!("/api/v1/rooms/{lobby}/messages")).await;
    assert_eq!(refused(&history), (403, "not_member"));

    // An invitation shows the room to the invitee before they join.
    alice.invite(&secret, &bob).await;
    let invited = bob.get(&format!("/api/v1/rooms/{secret}")).await;
    assert_eq!(invited.status, 200, "{:?}", invited.body);
    assert_eq!(invited.body["membership"], "invite");
    let history = bob.get(&format!("/api/v1/rooms/{secret}/messages")).await;
    assert_eq!(refused(&history), (403, "not_member"));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_left_or_was_removed_reads_up_to_their_departure() {
    let mut node = ApiNode::start(Vec::new()).await;
    let alice = ApiUser::registered(node.http, 1, "alice").await;
    let bob = ApiUser::registered(node.http, 2, "bob").await;
    let carol = ApiUser::registered(node.http, 3, "carol").await;
    let dave = ApiUser::registered(node.http, 4, "dave").await;
    let erin = ApiUser::registered(node.http, 5, "erin").await;
    let room = alice.create_room("Club", "invite").await;
    for user in [&bob, &carol] {
        alice.invite(&room, user).await;
        user.join(&room).await;
    }
    alice.say(&room, "while everyone is here").await;
    let left = bob.must(&room, json!({ "action": "leave" })).await;
    alice.say(&room, "after bob left").await;
    let ban = alice
        .must(
            &room,
            json!({ "action": "ban", "user": carol.key(), "reason": "spam" }),
        )
        .await;
    alice.say(&room, "after carol was banned").await;

    // Bob reads up to and including his leave.
    let seen = page(&bob, &room).await;
    assert_eq!(bodies(&seen), ["while everyone is here"]);
    assert_eq!(seen.last().unwrap()["id"], left.as_str());
    let info = bob.get(&format!("/api/v1/rooms/{room}")).await;
    assert_eq!(info.body["membership"], "leave");
    // A cursor from after the departure does not reach past it.
    let newest = page(&alice, &room).await;
    let last = newest.last().unwrap();
    let cursor = format!("{}:{}", last["depth"], last["id"].as_str().unwrap());
    let later = bob
        .get(&format!("/api/v1/rooms/{room}/messages?before={cursor}"))
        .await;
    assert!(
        !bodies(later.body["events"].as_array().unwrap())
            .iter()
            .any(|b| b.starts_with("after")),
        "{:?}",
        later.body
    );
    // Carol reads up to her ban, and sees who banned her and why.
    let seen = page(&carol, &room).await;
    assert_eq!(bodies(&seen), ["while everyone is here", "after bob left"]);
    let removal = seen.last().unwrap();
    assert_eq!(removal["id"], ban.as_str());
    assert_eq!(removal["author"], alice.key().as_str());
    assert_eq!(removal["content"]["reason"], "spam");

    // Neither follows the room live any more.
    for user in [&bob, &carol] {
        let stream = user.get(&format!("/api/v1/stream?room={room}")).await;
        assert_eq!(refused(&stream), (403, "not_member"));
    }
    // Someone banned or invited who never joined sees nothing.
    alice
        .must(&room, json!({ "action": "ban", "user": dave.key() }))
        .await;
    assert_sees_nothing(&dave, &room).await;
    alice.invite(&room, &erin).await;
    erin.must(&room, json!({ "action": "leave" })).await;
    assert_sees_nothing(&erin, &room).await;
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_stream_of_a_room_stops_at_a_removal() {
    let mut node = ApiNode::start(Vec::new()).await;
    let alice = ApiUser::registered(node.http, 1, "alice").await;
    let bob = ApiUser::registered(node.http, 2, "bob").await;
    let room = alice.create_room("Watched", "invite").await;
    alice.invite(&room, &bob).await;
    bob.join(&room).await;
    let mut stream = StreamReader::open(&bob, &format!("?room={room}")).await;
    let kick = alice
        .must(&room, json!({ "action": "kick", "user": bob.key() }))
        .await;
    alice.say(&room, "said after the kick").await;
    alice.invite(&room, &bob).await;
    let rejoin_draft = bob
        .call("POST", "/rooms/join", json!({ "room": room }))
        .await;
    let rejoined = bob.submit(&rejoin_draft["draft"]).await;
    // The stream shows the kick, then nothing until Bob is back: his own join.
    let first = stream.next_event().await.unwrap();
    assert_eq!(first["id"], kick.as_str());
    let next = stream.next_event().await.unwrap();
    assert_eq!(next["id"], rejoined.as_str(), "{next}");
    node.stop().await;
}
