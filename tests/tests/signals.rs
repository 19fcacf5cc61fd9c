//! Typing indicators, read markers, unread counts and identity across nodes, through the client
//! API of two federated nodes on loopback (specs/signals.md, specs/client-api.md "Identity and
//! sessions"): typing and read signals cross from one node's client to the other node's live
//! stream; typing expires; a flooding client is refused with `rate_limited`; forged, unsigned and
//! wrong-home signals gossiped by a peer are dropped and counted; a user homed on node A logs in
//! on node B and talks in a room shared with A.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use causerie_crypto::signal::{SignalDraft, SignalKind};
use causerie_crypto::{Content, EventId, NodeSecret, RoomId, UserKey, UserSecret, Value};
use causerie_node::node::PrepareRequest;
use causerie_tests::api::{ApiNode, ApiUser, StreamReader, eventually};
use serde_json::{Value as Json, json};

/// The room list entry of `room` for `user`.
async fn listed(user: &ApiUser, room: &str) -> Json {
    user.listed(room).await.expect("the room is listed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_and_read_markers_cross_nodes_live_and_expire() {
    let (a, b, alice, bob, room) = ApiNode::pair_in_a_room().await;
    let mut bob_stream = StreamReader::open(&bob, "").await;
    let mut alice_stream = StreamReader::open(&alice, "").await;

    // Alice types on A: Bob's stream on B shows her, by handle.
    let typing = alice.typing(&room, true).await;
    assert_eq!(typing.status, 204, "{:?}", typing.body);
    let started = Instant::now();
    let shown = bob_stream
        .frame("typing", |d| d["room"] == room.as_str())
        .await;
    assert_eq!(StreamReader::typing_handles(&shown), ["alice"]);
    assert_eq!(shown["users"][0]["user"], alice.key().as_str());
    println!("typing crossed A to B in {:?}", started.elapsed());
    // Without a refresh it expires: the empty list comes about 6 s after she started.
    let ended = bob_stream
        .frame("typing", |d| d["room"] == room.as_str())
        .await;
    assert!(StreamReader::typing_handles(&ended).is_empty(), "{ended}");
    let lasted = started.elapsed();
    assert!(lasted >= Duration::from_secs(5), "expired after {lasted:?}");
    println!("typing expired on B after {lasted:?}");

    // Bob types then stops: Alice sees both changes.
    for typing in [true, false] {
        let answer = bob.typing(&room, typing).await;
        assert_eq!(answer.status, 204);
        // Alice's own typing and its expiry come first on her stream.
        let expected: &[&str] = if typing { &["bob"] } else { &[] };
        alice_stream
            .frame("typing", |d| {
                d["room"] == room.as_str() && StreamReader::typing_handles(d) == expected
            })
            .await;
    }

    // Alice writes; Bob has one unread message on B, then reads it: Alice's stream on A shows
    // his read marker, and his count is zero.
    let said = alice.say(&room, "anyone there?").await;
    eventually("alice's message on B", || bob.shows(&room, "anyone there?")).await;
    let entry = listed(&bob, &room).await;
    assert_eq!(entry["unread"], 1, "{entry}");
    assert_eq!(entry["mentions"], 0);
    assert_eq!(entry["read_event"], Json::Null);
    let read = bob.read_up_to(&room, &said).await;
    assert_eq!(read.status, 204, "{:?}", read.body);
    let marker = alice_stream
        .frame("read", |d| d["user"] == bob.key().as_str())
        .await;
    assert_eq!(marker["event"], said.as_str());
    assert_eq!(marker["room"], room.as_str());
    let entry = listed(&bob, &room).await;
    assert_eq!(
        (entry["unread"].clone(), entry["read_event"].clone()),
        (json!(0), json!(said))
    );
    // Markers only move forward: reading an earlier event changes nothing.
    let create = room.replacen('!', "$", 1);
    let back = bob.read_up_to(&room, &create).await;
    assert_eq!(back.status, 204, "{:?}", back.body);
    assert_eq!(listed(&bob, &room).await["read_event"], said.as_str());
    // An event the node does not hold in the room is refused.
    let unknown = bob
        .read_up_to(&room, &format!("${}", "ab".repeat(32)))
        .await;
    assert_eq!((unknown.status, unknown.reason()), (404, "unknown_event"));
    assert!(b.metric("causerie_signals_signed_total").await >= 3);
    assert!(a.metric("causerie_signals_accepted_total").await >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_client_is_refused_and_non_members_may_not_signal() {
    let a = ApiNode::start(Vec::new()).await;
    let alice = ApiUser::registered(a.http, 1, "alice").await;
    let mallory = ApiUser::registered(a.http, 3, "mallory").await;
    let room = alice.create_room("Lobby", "invite").await;
    let path = format!("/api/v1/rooms/{room}/typing");
    let refused = mallory.post(&path, json!({ "typing": true })).await;
    assert_eq!((refused.status, refused.reason()), (403, "not_member"));
    let mut limited = None;
    for _ in 0..30 {
        let answer = alice
            .request_once(
                reqwest::Method::POST,
                &path,
                Some(json!({ "typing": true })),
            )
            .await;
        if answer.status != 204 {
            limited = Some(answer);
            break;
        }
    }
    let limited = limited.expect("the typing bucket runs out");
    assert_eq!((limited.status, limited.reason()), (429, "rate_limited"));
    assert!(limited.retry_after.is_some_and(|s| s >= 1));
    assert!(
        a.metric("causerie_signals_refused_total{reason=\"rate_limited\"}")
            .await
            >= 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_unsigned_and_wrong_home_signals_are_dropped_and_counted() {
    let (a, b, alice, bob, room) = ApiNode::pair_in_a_room().await;
    let room_id: RoomId = room.parse().unwrap();
    let mut alice_stream = StreamReader::open(&alice, "").await;
    let bob_key = UserSecret::from_seed(&[2; 32]).public();
    let bob_attestation = b.attestation_of(bob_key).await;
    let net = &b.running().net;
    // B's own node key: the tests play B turned hostile.
    let b_secret = NodeSecret::read(&b.config.node_key_path()).unwrap();
    let now = causerie_node::clock::now_ms();
    let typing = |user: UserKey, attestation| SignalDraft {
        room: room_id,
        user,
        attestation,
        kind: SignalKind::Typing,
        event: None,
        issued_ms: now,
        expires_ms: now + 6_000,
    };
    // Wait until gossip on the room's signal topic reaches A (a valid signal of Bob's).
    eventually("B's signals reach A", || async {
        let sent = bob.typing(&room, true).await;
        sent.status == 204 && a.metric("causerie_signals_accepted_total").await >= 1
    })
    .await;
    let shown = alice_stream
        .frame("typing", |d| !StreamReader::typing_handles(d).is_empty())
        .await;
    assert_eq!(StreamReader::typing_handles(&shown), ["bob"]);

    let alice_key = UserSecret::from_seed(&[1; 32]).public();
    let alice_attestation = a.attestation_of(alice_key).await;
    // B vouches for Alice, whose home is A.
    let wrong_home = typing(alice_key, alice_attestation.id())
        .sign(&b_secret)
        .unwrap();
    // A genuine signal of B's for Bob, its signature taken out (a map without `signature`).
    let genuine = typing(bob_key, bob_attestation.id())
        .sign(&b_secret)
        .unwrap();
    let key = b"\x69signature\x58\x40";
    let at = genuine
        .as_bytes()
        .windows(key.len())
        .position(|w| w == key)
        .unwrap();
    let mut unsigned = genuine.as_bytes().to_vec();
    unsigned.drain(at..at + key.len() + 64);
    unsigned[0] -= 1;
    // The same with one byte of its signature changed.
    let mut tampered = genuine.as_bytes().to_vec();
    tampered[at + key.len()] ^= 0x01;
    // Signed by B for Bob, but long expired.
    let mut old = typing(bob_key, bob_attestation.id());
    old.issued_ms = now - 60_000;
    old.expires_ms = now - 54_000;
    let expired = old.sign(&b_secret).unwrap();
    // Signed by B for a user of B's who never joined the room.
    let dave = ApiUser::registered(b.http, 4, "dave").await;
    let dave_key = dave.secret.public();
    let dave_attestation = b.attestation_of(dave_key).await;
    let stranger = typing(dave_key, dave_attestation.id())
        .sign(&b_secret)
        .unwrap();
    // Dave's attestation reaches A only through a room event or a fetch: give it to A as a
    // room event would.
    a.running()
        .node
        .add_attestation(dave_attestation.clone())
        .await
        .unwrap();
    for (what, bytes, reason) in [
        // Ignored first (an honest relay may pass those on), then the ones that penalise B.
        ("expired", expired.as_bytes().to_vec(), "expired"),
        ("non-member", stranger.as_bytes().to_vec(), "not_member"),
        ("wrong home", wrong_home.as_bytes().to_vec(), "wrong_home"),
        ("unsigned", unsigned, "bad_signature"),
        ("tampered", tampered, "bad_signature"),
    ] {
        let series = format!("causerie_signals_refused_total{{reason=\"{reason}\"}}");
        let before = a.metric(&series).await;
        assert!(
            net.publish_signal_raw(room_id, bytes).await.unwrap(),
            "{what} sent"
        );
        eventually(&format!("A counts the {what} signal"), || async {
            a.metric(&series).await > before
        })
        .await;
    }
    // None of them changed who A shows typing: Bob's own state ends by expiry only.
    let next = alice_stream
        .frame("typing", |d| d["room"] == room.as_str())
        .await;
    assert!(StreamReader::typing_handles(&next).is_empty(), "{next}");
}

/// Signs and ingests a `room.message` with `content` as `user` straight through `node`.
async fn post_content(
    node: &ApiNode,
    secret: &UserSecret,
    room: RoomId,
    content: Content,
) -> EventId {
    let user = secret.public();
    let attestation = node.attestation_of(user).await;
    let draft = node
        .running()
        .node
        .prepare(PrepareRequest {
            room,
            author: user,
            kind: "room.message".into(),
            state_key: None,
            content,
            attestation: attestation.id(),
        })
        .await
        .unwrap();
    let event = draft.sign(secret).unwrap();
    let id = event.id();
    node.running().node.ingest(vec![event]).await.unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_and_mention_counts_follow_the_read_marker() {
    let (a, alice, bob, room) = ApiNode::with_shared_room("Lobby", (1, "alice"), (2, "bob")).await;
    let room_id: RoomId = room.parse().unwrap();
    let bob_said = bob.say(&room, "hello").await;
    // Bob's own message is read by him; then alice writes three, one mentioning him and one
    // replying to his message.
    assert_eq!(listed(&bob, &room).await["unread"], 0);
    let first = alice.say(&room, "one").await;
    let mut mention = Content::new();
    mention.insert("body".into(), Value::Text("hey @bob".into()));
    mention.insert(
        "mentions".into(),
        Value::Array(vec![Value::Bytes(bob.secret.public().as_bytes().to_vec())]),
    );
    post_content(&a, &alice.secret, room_id, mention).await;
    let bob_said: EventId = bob_said.parse().unwrap();
    let mut reply = Content::new();
    reply.insert("body".into(), Value::Text("agreed".into()));
    reply.insert(
        "reply_to".into(),
        Value::Bytes(bob_said.as_bytes().to_vec()),
    );
    let last = post_content(&a, &alice.secret, room_id, reply).await;
    let entry = listed(&bob, &room).await;
    assert_eq!(
        (entry["unread"].clone(), entry["mentions"].clone()),
        (json!(3), json!(2)),
        "{entry}"
    );
    // Alice's own messages are not unread for her.
    assert_eq!(listed(&alice, &room).await["unread"], 0);
    // Bob reads up to the first: two unread left, both mentions.
    let read = bob.read_up_to(&room, &first).await;
    assert_eq!(read.status, 204);
    let entry = listed(&bob, &room).await;
    assert_eq!(
        (entry["unread"].clone(), entry["mentions"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(entry["read_event"], first.as_str());
    let read = bob.read_up_to(&room, &last.to_string()).await;
    assert_eq!(read.status, 204);
    let entry = listed(&bob, &room).await;
    assert_eq!(
        (entry["unread"].clone(), entry["mentions"].clone()),
        (json!(0), json!(0))
    );
    // The marker is durable: after a restart it is still there; and it is in Bob's export.
    let mut a = a;
    a.restart().await;
    let mut bob = bob;
    bob.base = format!("http://{}", a.http);
    assert_eq!(bob.login().await.status, 200);
    assert_eq!(
        listed(&bob, &room).await["read_event"],
        last.to_string().as_str()
    );
    let export = bob.get("/api/v1/me/export").await;
    assert_eq!(
        export.body["read_markers"][0]["event"],
        last.to_string().as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_homed_on_a_logs_in_on_b_and_talks_in_a_shared_room() {
    let (a, b) = ApiNode::pair().await;
    let alice = ApiUser::registered(a.http, 1, "alice").await;
    let carol_a = ApiUser::registered(a.http, 3, "carol").await;
    let room = alice.create_room("Lobby", "public").await;
    // B holds the room too (a user of B joined it).
    let bob = ApiUser::registered(b.http, 2, "bob").await;
    let link = alice.get(&format!("/api/v1/rooms/{room}/invite")).await;
    let link = link.body["link"].as_str().unwrap().to_owned();
    let joined = bob
        .post("/api/v1/rooms/join", json!({ "link": link }))
        .await;
    bob.submit(&joined.body["draft"]).await;

    // Carol's key, with the attestation A gave her (as her key export file carries it).
    let me = carol_a.get("/api/v1/me").await;
    assert_eq!(me.body["home"], "local");
    let attestation = me.body["attestation"]["bytes"].as_str().unwrap().to_owned();
    let mut carol_b = ApiUser::from_seed(b.http, 3);
    // Without an attestation B knows none of hers: register, or bring it.
    assert_eq!(carol_b.login().await.reason(), "not_registered");
    // A mangled attestation is refused.
    let mut mangled = attestation.clone();
    mangled.replace_range(mangled.len() - 2.., "00");
    let (challenge, signature) = carol_b.answered_challenge().await;
    let refused = carol_b
        .post(
            "/api/v1/auth/login",
            json!({ "challenge": challenge, "signature": signature, "attestation": mangled }),
        )
        .await;
    assert_eq!((refused.status, refused.reason()), (400, "bad_attestation"));
    // Someone else's attestation is refused.
    let (challenge, signature) = carol_b.answered_challenge().await;
    let alice_attestation = alice.get("/api/v1/me").await.body["attestation"]["bytes"].clone();
    let refused = carol_b
        .post(
            "/api/v1/auth/login",
            json!({ "challenge": challenge, "signature": signature, "attestation": alice_attestation }),
        )
        .await;
    assert_eq!(
        (refused.status, refused.reason()),
        (403, "wrong_attestation")
    );
    let (challenge, signature) = carol_b.answered_challenge().await;
    let login = carol_b
        .post(
            "/api/v1/auth/login",
            json!({ "challenge": challenge, "signature": signature, "attestation": attestation }),
        )
        .await;
    assert_eq!(login.status, 200, "{:?}", login.body);
    carol_b.token = login.body["token"].as_str().map(str::to_owned);
    assert_eq!(login.body["account"]["handle"], "carol");
    assert_eq!(login.body["account"]["home"], "remote");
    let a_key = hex::encode(a.running().node.key().as_bytes());
    let me = carol_b.get("/api/v1/me").await;
    assert_eq!(me.body["home"], "remote");
    assert_eq!(me.body["home_node"], a_key.as_str());
    // B's own account features are not hers.
    let refused = carol_b
        .request_once(
            reqwest::Method::PUT,
            "/api/v1/me",
            Some(json!({ "display_name": "Carol" })),
        )
        .await;
    assert_eq!((refused.status, refused.reason()), (403, "home_elsewhere"));
    assert_eq!(
        b.running()
            .node
            .accounts()
            .by_user(carol_b.secret.public())
            .await
            .unwrap(),
        None
    );

    // She joins the room through B and talks; Alice reads it on A, signed under A's attestation.
    let mut alice_stream = StreamReader::open(&alice, &format!("?room={room}")).await;
    carol_b.join(&room).await;
    carol_b.say(&room, "hello from B, homed on A").await;
    let event = loop {
        let event = alice_stream.next_event().await.expect("alice's stream");
        if event["kind"] == "room.message" {
            break event;
        }
    };
    assert_eq!(event["author"], carol_b.key().as_str());
    assert_eq!(event["sender"]["handle"], "carol");
    assert_eq!(event["sender"]["home_node"], a_key.as_str());
    // Now that B holds her attestation, a later login needs none.
    let mut again = ApiUser::from_seed(b.http, 3);
    assert_eq!(again.login().await.status, 200);
    assert_eq!(again.get("/api/v1/me").await.body["home"], "remote");
}
