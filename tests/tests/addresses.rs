//! Ids, user keys and invite links as the client API and the network read them: one strict
//! parser (`causerie_crypto::address`) behind every path segment and body field. The sigil is
//! optional, uppercase and another kind's sigil are refused with the kind's reason, and an
//! invite link is accepted with or without the room's `!`, through the API into the network
//! layer that replicates the room.

#![allow(clippy::unwrap_used)]

use causerie_tests::api::{ApiNode, ApiUser};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_keys_and_links_parse_one_way_everywhere() {
    let a = ApiNode::start(Vec::new()).await;
    let b = ApiNode::start(a.p2p_addrs().await).await;
    let alice = ApiUser::registered(a.http, 1, "alice").await;
    let bob = ApiUser::registered(b.http, 2, "bob").await;
    let room = alice.create_room("Addresses", "public").await;
    let bare = room.strip_prefix('!').unwrap().to_owned();

    // A room id with or without its sigil names the same room.
    for spelling in [&room, &bare] {
        let info = alice.get(&format!("/api/v1/rooms/{spelling}")).await;
        assert_eq!(info.status, 200, "{spelling}: {:?}", info.body);
        assert_eq!(info.body["room"], room.as_str());
    }
    // Uppercase, another kind's sigil, another length: refused with the kind's reason.
    for spelling in [
        bare.to_uppercase(),
        format!("${bare}"),
        format!("@{bare}"),
        bare[..63].to_owned(),
    ] {
        let refused = alice.get(&format!("/api/v1/rooms/{spelling}")).await;
        assert_eq!(
            (refused.status, refused.reason()),
            (400, "bad_room_id"),
            "{spelling}: {:?}",
            refused.body
        );
    }
    let upper = alice
        .get(&format!("/api/v1/rooms/{}", bare.to_uppercase()))
        .await;
    assert!(
        upper.body["message"]
            .as_str()
            .unwrap()
            .contains("lowercase"),
        "the refusal says what to write: {:?}",
        upper.body
    );
    let stream = alice.get(&format!("/api/v1/stream?room=${bare}")).await;
    assert_eq!((stream.status, stream.reason()), (400, "bad_room_id"));

    // User keys in bodies: `@` optional, uppercase refused.
    let key = alice.key();
    let challenge = alice
        .post(
            "/api/v1/auth/challenge",
            json!({ "user": format!("@{key}") }),
        )
        .await;
    assert_eq!(challenge.status, 200, "{:?}", challenge.body);
    let challenge = alice
        .post(
            "/api/v1/auth/challenge",
            json!({ "user": key.to_uppercase() }),
        )
        .await;
    assert_eq!((challenge.status, challenge.reason()), (400, "bad_user"));
    let prepared = alice
        .post(
            &format!("/api/v1/rooms/{bare}/prepare"),
            json!({ "action": "power", "user": format!("@{}", bob.key()), "level": 5 }),
        )
        .await;
    assert_eq!(prepared.status, 200, "{:?}", prepared.body);

    // Event ids: `$` optional, a room's `!` refused.
    let message = alice
        .must(&room, json!({ "action": "message", "body": "to delete" }))
        .await;
    let event_bare = message.strip_prefix('$').unwrap();
    for (spelling, status) in [
        (message.clone(), 200),
        (event_bare.to_owned(), 200),
        (format!("!{event_bare}"), 400),
        (event_bare.to_uppercase(), 400),
    ] {
        let prepared = alice
            .post(
                &format!("/api/v1/rooms/{room}/prepare"),
                json!({ "action": "redact", "event": spelling }),
            )
            .await;
        assert_eq!(prepared.status, status, "{spelling}: {:?}", prepared.body);
        if status == 400 {
            assert_eq!(prepared.reason(), "bad_event_id");
        }
    }

    // The node hands out links with the room as bare hex; pasted with its `!`, the same link
    // joins through the network layer of another node.
    let link = alice.get(&format!("/api/v1/rooms/{room}/invite")).await;
    let link = link.body["link"].as_str().unwrap().to_owned();
    assert!(
        link.starts_with(&format!("causerie:join/{bare}?via=")),
        "{link}"
    );
    let with_sigil = link.replacen("causerie:join/", "causerie:join/!", 1);
    b.wait_connected("B connected to A").await;
    let joined = bob
        .post("/api/v1/rooms/join", json!({ "link": with_sigil }))
        .await;
    assert_eq!(joined.status, 200, "{:?}", joined.body);
    assert_eq!(joined.body["room"], room.as_str());
    bob.submit(&joined.body["draft"]).await;
    // A malformed link is refused before the network is asked.
    for (bad, reason) in [
        (link.replacen(&bare, &bare.to_uppercase(), 1), "bad_room_id"),
        (link.split('?').next().unwrap().to_owned(), "via_count"),
        (format!("{link}&via="), "bad_via"),
        (
            format!("{link}&via=/ip4/127.0.0.1/tcp/1"),
            "missing_peer_id",
        ),
    ] {
        let refused = bob.post("/api/v1/rooms/join", json!({ "link": bad })).await;
        assert_eq!((refused.status, refused.reason()), (400, reason), "{bad}");
    }
}
