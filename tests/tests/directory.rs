//! The federated directory end to end (specs/directory.md): three nodes in a line, A — B — C (C
//! refuses A, so whatever C learns of A travels through B). A public room created on A (whose
//! public origin names its aliases) with an alias is listed on C with its member count within 10 s; a member joining on B shows on C
//! within 10 s; the alias resolves to the same room on A, B and C; C's user joins by alias and
//! chats. Then bad announcements (forged signature, oversize, stale, a node name of another key)
//! gossiped to a node are refused, counted by reason, and the good one stays.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use causerie_crypto::NodeSecret;
use causerie_crypto::directory::{AnnouncementDraft, DirectoryRoom, ServerName};
use causerie_crypto::{Hash32, RoomId};
use causerie_node::config::ConfigFile;
use causerie_node::net::NetHandle;
use causerie_tests::api::{ApiNode, ApiUser, eventually};
use causerie_tests::cluster::{now_ms, wait_until};
use serde_json::{Value, json};

/// The acceptance bound: a room or a new member count reaches a node two hops away in this.
const PROPAGATION: Duration = Duration::from_secs(10);

/// The directory entry of `room` on `user`'s node, if listed.
async fn listed(user: &ApiUser, room: &str) -> Option<Value> {
    let directory = user.call("GET", "/directory", Value::Null).await;
    directory["rooms"]
        .as_array()?
        .iter()
        .find(|r| r["room"] == room)
        .cloned()
}

/// Waits at most [`PROPAGATION`] until `user`'s node lists `room` with `members`; returns how
/// long it took.
async fn wait_listed(user: &ApiUser, room: &str, members: u64) -> Duration {
    let start = Instant::now();
    let result = wait_until(PROPAGATION, "the room listed with its count", || async {
        listed(user, room)
            .await
            .is_some_and(|r| r["members"] == members)
    })
    .await;
    let entry = listed(user, room).await;
    assert!(
        result.is_ok(),
        "not listed with {members} members: {entry:?}"
    );
    start.elapsed()
}

fn path_of(alias: &str) -> String {
    format!("/aliases/{}", alias.replace('#', "%23").replace(':', "%3A"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_room_on_a_is_listed_and_joined_by_alias_on_c() {
    // A has a public origin: its host names A's aliases.
    let file = ConfigFile {
        public_origin: Some("https://chat.example.org".into()),
        ..ConfigFile::default()
    };
    let a = ApiNode::start_configured(vec![], file).await;
    let b = ApiNode::start(a.p2p_addrs().await).await;
    let c = ApiNode::start(b.p2p_addrs().await).await;
    // C refuses A: what C learns of A's room comes through B.
    let (a_peer, c_peer) = (a.running().net.peer_id(), c.running().net.peer_id());
    c.running().net.set_blocked(a_peer, true).await.unwrap();
    a.running().net.set_blocked(c_peer, true).await.unwrap();

    let alice = ApiUser::registered(a.http, 1, "alice").await;
    let bob = ApiUser::registered(b.http, 2, "bob").await;
    let carol = ApiUser::registered(c.http, 3, "carol").await;

    let room = alice.create_room("Lobby", "public").await;
    let set = alice
        .call(
            "PUT",
            &format!("/rooms/{room}/alias"),
            json!({ "alias": "lobby" }),
        )
        .await;
    let alias = set["alias"].as_str().unwrap().to_owned();
    let server = alice.call("GET", "/directory", Value::Null).await["server"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(alias, format!("#lobby:{server}"));
    assert_eq!(server, "chat.example.org");
    // Without a public origin the server name is the node name: 16 hex digits of the key.
    let b_server = bob.call("GET", "/directory", Value::Null).await["server"].clone();
    assert_eq!(b_server.as_str().map(str::len), Some(16));

    let took = wait_listed(&carol, &room, 1).await;
    println!("A's room listed on C after {took:?}");
    let entry = listed(&carol, &room).await.unwrap();
    assert_eq!(entry["held"], false);
    assert_eq!(entry["name"], "Lobby");
    assert_eq!(entry["alias"], alias.as_str());
    assert!(
        entry["link"]
            .as_str()
            .unwrap()
            .starts_with("causerie:join/")
    );

    // Bob joins on B by alias: B holds the room, the count goes to 2 on C.
    let joined = bob
        .call("POST", "/rooms/join", json!({ "alias": alias }))
        .await;
    assert_eq!(joined["room"], room.as_str());
    bob.submit(&joined["draft"]).await;
    let took = wait_listed(&carol, &room, 2).await;
    println!("the new member count reached C after {took:?}");

    // The alias resolves to the same room on every node, with addresses to join through.
    for (name, user) in [("A", &alice), ("B", &bob), ("C", &carol)] {
        let resolved = user.call("GET", &path_of(&alias), Value::Null).await;
        assert_eq!(resolved["room"], room.as_str(), "on {name}");
        assert!(
            !resolved["via"].as_array().unwrap().is_empty(),
            "on {name}: {resolved}"
        );
    }
    // Unknown names are refused with their reasons.
    let missing = carol
        .get(&format!(
            "/api/v1{}",
            path_of(&format!("#nowhere:{server}"))
        ))
        .await;
    assert_eq!((missing.status, missing.reason()), (404, "unknown_alias"));
    let bad = carol.get("/api/v1/aliases/%23Lobby%3Ax.y").await;
    assert_eq!((bad.status, bad.reason()), (400, "bad_alias"));

    // Carol joins by alias on C (through B: C refuses A) and chats; Alice reads it on A.
    let joined = carol
        .call("POST", "/rooms/join", json!({ "alias": alias }))
        .await;
    assert_eq!(joined["room"], room.as_str());
    carol.submit(&joined["draft"]).await;
    carol.say(&room, "hello from C").await;
    eventually("A shows C's message", || async {
        alice
            .bodies(&room)
            .await
            .iter()
            .any(|b| b == "hello from C")
    })
    .await;
    wait_listed(&alice, &room, 3).await;

    // Only a member with the power to rename the room may alias it.
    let refused = bob
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/rooms/{room}/alias"),
            Some(json!({ "alias": "mine" })),
        )
        .await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
}

/// A signed announcement of `secret` naming one public room.
fn announcement(secret: &NodeSecret, name: ServerName, issued_ms: u64, members: u64) -> Vec<u8> {
    AnnouncementDraft {
        issued_ms,
        name,
        rooms: vec![DirectoryRoom {
            alias: "den".into(),
            members,
            name: "Mallory's den".into(),
            room: RoomId(Hash32([0x42; 32])),
            topic: String::new(),
        }],
        via: vec![
            "/ip4/127.0.0.1/tcp/9/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN".into(),
        ],
    }
    .sign(secret)
    .unwrap()
    .as_bytes()
    .to_vec()
}

/// How long B may take to count a refusal before the announcement is sent again (a gossip
/// message can be lost while the mesh settles).
const RECOUNT_WAIT: Duration = Duration::from_secs(5);
/// Most copies of one bad announcement sent.
const MAX_COPIES: u64 = 3;

/// Publishes `bytes` from `net` as soon as it has a peer to publish to.
async fn publish(net: &NetHandle, bytes: Vec<u8>) {
    wait_until(PROPAGATION, "a peer to publish to", || {
        let bytes = bytes.clone();
        async move { net.publish_directory_raw(bytes).await.unwrap() }
    })
    .await
    .unwrap();
}

/// Publishes `copy(0)` from `net` until `b` counts one more directory refusal with `reason`,
/// sending a new copy (`copy(1)`, …; gossip drops repeats) when it has not after
/// [`RECOUNT_WAIT`].
async fn refused_once(net: &NetHandle, b: &ApiNode, reason: &str, copy: impl Fn(u64) -> Vec<u8>) {
    let series = format!("causerie_directory_refused_total{{reason=\"{reason}\"}}");
    let before = b.metric(&series).await;
    for attempt in 0..MAX_COPIES {
        publish(net, copy(attempt)).await;
        let counted = wait_until(RECOUNT_WAIT, reason, || async {
            b.metric(&series).await > before
        })
        .await;
        if counted.is_ok() {
            return;
        }
    }
    panic!("B did not count {reason} after {MAX_COPIES} copies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_announcements_are_refused_and_counted() {
    let a = ApiNode::start(vec![]).await;
    let b = ApiNode::start(a.p2p_addrs().await).await;
    let carol = ApiUser::registered(b.http, 3, "carol").await;
    let net = &a.running().net;

    let mallory = NodeSecret::from_seed(&[0x66; 32]);
    let own = ServerName::of_node(&mallory.public());
    let now = now_ms();
    publish(net, announcement(&mallory, own.clone(), now, 5)).await;
    eventually("B lists mallory's room", || async {
        listed(&carol, &RoomId(Hash32([0x42; 32])).to_string())
            .await
            .is_some_and(|r| r["members"] == 5)
    })
    .await;
    let rejected_before = b.metric("causerie_gossip_rejected_total").await;

    // One at a time, each counted before the next is sent. Stale (older than the one held)
    // first: it costs the sender nothing, where each invalid one takes the sender a third of the
    // way to the graylist.
    refused_once(net, &b, "stale", |copy| {
        announcement(&mallory, own.clone(), now - 1_000 - copy, 50)
    })
    .await;
    // A forged signature (one byte of it flipped: the signature is the map's 64-byte string).
    refused_once(net, &b, "bad_signature", |copy| {
        let mut forged = announcement(&mallory, own.clone(), now + 2_000 + copy, 50);
        let key = b"\x69signature\x58\x40";
        let at = forged.windows(key.len()).position(|w| w == key).unwrap() + key.len();
        forged[at] ^= 1;
        forged
    })
    .await;
    // Oversize: over the 32 KiB cap.
    refused_once(net, &b, "too_large", |copy| {
        vec![0xa0; 40_000 + copy as usize]
    })
    .await;
    // A node name that is not the start of the signing key: signed with mallory's own name,
    // then the other name spliced in (the library refuses to sign it; the signature check comes
    // after the name check).
    let other = ServerName::of_node(&NodeSecret::from_seed(&[0x67; 32]).public());
    refused_once(net, &b, "name_mismatch", |copy| {
        let mut mismatched = announcement(&mallory, own.clone(), now + 4_000 + copy, 50);
        let own_text = own.to_string();
        let at = mismatched
            .windows(own_text.len())
            .position(|w| w == own_text.as_bytes())
            .unwrap();
        mismatched[at..at + own_text.len()].copy_from_slice(other.to_string().as_bytes());
        mismatched
    })
    .await;

    // The invalid ones cost the sender (gossip Reject); the stale one does not.
    let rejected = b.metric("causerie_gossip_rejected_total").await - rejected_before;
    assert!(rejected >= 3, "rejected {rejected}");
    // Nothing changed: the good announcement is still the one listed.
    let entry = listed(&carol, &RoomId(Hash32([0x42; 32])).to_string())
        .await
        .unwrap();
    assert_eq!(entry["members"], 5);
}
