//! The client API end to end on real nodes (sled, libp2p, axum on loopback): registration,
//! rooms across two nodes, history pages, the live stream, moderation, sessions across a
//! restart, and every kind of bad input refused with its status and reason, nothing stored.

#![allow(clippy::unwrap_used)]

use causerie_tests::api::{ApiNode, ApiUser, StreamReader, eventually};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_on_two_nodes_chat_and_moderate() {
    let (a, b) = ApiNode::pair().await;
    let mut alice = ApiUser::from_seed(a.http, 1);
    let mut bob = ApiUser::from_seed(b.http, 2);
    assert_eq!(alice.try_register("alice", None).await.status, 201);
    let registered = bob.try_register("bob", None).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    assert_eq!(
        registered.body["account"]["attestation"]["assurance_name"],
        "key"
    );
    assert_eq!(registered.body["account"]["handle"], "bob");

    let room = alice.create_room("Lobby", "public").await;
    let directory = alice.get("/api/v1/directory").await;
    assert_eq!(directory.body["rooms"][0]["room"], room.as_str());
    assert_eq!(directory.body["rooms"][0]["name"], "Lobby");
    let link = alice.get(&format!("/api/v1/rooms/{room}/invite")).await;
    let link = link.body["link"].as_str().unwrap().to_owned();
    assert!(link.starts_with("causerie:join/"), "{link}");

    // Bob joins through his own node, which replicates the room first.
    let mut alice_stream = StreamReader::open(&alice, "").await;
    let joined = bob
        .post("/api/v1/rooms/join", json!({ "link": link }))
        .await;
    assert_eq!(joined.status, 200, "{:?}", joined.body);
    assert_eq!(joined.body["room"], room.as_str());
    assert_eq!(bob.try_submit(&joined.body["draft"]).await.status, 200);
    let rooms = bob.get("/api/v1/rooms").await;
    assert_eq!(rooms.body["rooms"][0]["membership"], "join");
    assert_eq!(rooms.body["rooms"][0]["name"], "Lobby");

    let mut bob_stream = StreamReader::open(&bob, &format!("?room={room}")).await;
    bob.must(
        &room,
        json!({ "action": "message", "body": "hello from B" }),
    )
    .await;
    alice
        .must(
            &room,
            json!({ "action": "message", "body": "hello from A" }),
        )
        .await;

    // Alice's stream sees Bob's join and message, with Bob's attestation from node B.
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let event = alice_stream.next_event().await.expect("alice's stream");
        if event["author"] == bob.key().as_str() {
            seen.push(event);
        }
    }
    assert_eq!(seen[0]["kind"], "room.member");
    assert_eq!(seen[1]["content"]["body"], "hello from B");
    assert_eq!(seen[1]["sender"]["handle"], "bob");
    let b_key = hex::encode(b.running().node.key().as_bytes());
    assert_eq!(seen[1]["sender"]["home_node"], b_key.as_str());
    // Bob's room stream sees both messages, in order.
    let mut bodies = Vec::new();
    while bodies.len() < 2 {
        let event = bob_stream.next_event().await.expect("bob's stream");
        if event["kind"] == "room.message" {
            bodies.push(event["content"]["body"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(bodies, ["hello from B", "hello from A"]);
    // Both nodes show the same timeline. The two messages may be concurrent (same depth), and
    // then the timeline orders them by id, not by arrival.
    eventually("the same two messages on A and B", || async {
        let on_b = bob.bodies(&room).await;
        on_b.len() == 2 && on_b == alice.bodies(&room).await
    })
    .await;

    let members = alice.get(&format!("/api/v1/rooms/{room}/members")).await;
    let members = members.body["members"].as_array().unwrap().clone();
    assert_eq!(members.len(), 2);
    assert!(
        members
            .iter()
            .any(|m| m["handle"] == "bob" && m["power"] == 0)
    );
    assert!(
        members
            .iter()
            .any(|m| m["handle"] == "alice" && m["power"] == 9_007_199_254_740_991i64)
    );

    // Moderation: Bob may not ban; Alice redacts Bob's message and bans him.
    let refused = bob
        .act(&room, json!({ "action": "ban", "user": alice.key() }))
        .await;
    // The rule that refused, by name, not a generic "auth failed".
    assert_eq!(
        (refused.status, refused.reason()),
        (403, "insufficient_power"),
        "{:?}",
        refused.body
    );
    let message_id = seen[1]["id"].as_str().unwrap().to_owned();
    alice
        .must(&room, json!({ "action": "redact", "event": message_id }))
        .await;
    alice
        .must(
            &room,
            json!({ "action": "ban", "user": bob.key(), "reason": "test" }),
        )
        .await;
    let page = alice.get(&format!("/api/v1/rooms/{room}/messages")).await;
    let redacted = page.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == message_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(redacted["redacted"], true);
    assert!(redacted["content"].get("body").is_none());
    eventually("ban reaches B", || async {
        let info = bob.get(&format!("/api/v1/rooms/{room}")).await;
        info.body["membership"] == "ban"
    })
    .await;
    // The removed user sees who removed them and why.
    let info = bob.get(&format!("/api/v1/rooms/{room}")).await;
    assert_eq!(
        info.body["removed"]["by"],
        alice.key().as_str(),
        "{:?}",
        info.body
    );
    assert_eq!(info.body["removed"]["membership"], "ban");
    assert_eq!(info.body["removed"]["reason"], "test");
    let own = alice.get(&format!("/api/v1/rooms/{room}")).await;
    assert!(own.body["removed"].is_null(), "{:?}", own.body);
    let after_ban = bob
        .act(&room, json!({ "action": "message", "body": "still here?" }))
        .await;
    assert_eq!(
        (after_ban.status, after_ban.reason()),
        (403, "banned"),
        "{:?}",
        after_ban.body
    );
    assert!(
        after_ban.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("banned")),
        "{:?}",
        after_ban.body
    );
    let mut a = a;
    let mut b = b;
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_walk_back_in_timeline_order() {
    let (mut node, alice, room) = ApiNode::with_alices_room(3, "Pages", "invite").await;
    for i in 0..120 {
        alice
            .must(
                &room,
                json!({ "action": "message", "body": format!("m{i}") }),
            )
            .await;
    }
    let mut bodies: Vec<String> = Vec::new();
    let mut before: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &before {
            Some(cursor) => format!("/api/v1/rooms/{room}/messages?limit=50&before={cursor}"),
            None => format!("/api/v1/rooms/{room}/messages?limit=50"),
        };
        let page = alice.get(&path).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        pages += 1;
        let mut these: Vec<String> = page.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "room.message")
            .map(|e| e["content"]["body"].as_str().unwrap().to_owned())
            .collect();
        these.extend(bodies);
        bodies = these;
        match page.body["prev"].as_str() {
            Some(cursor) => before = Some(cursor.to_owned()),
            None => break,
        }
    }
    // 120 messages and 5 setup events: three pages of 50.
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..120).map(|i| format!("m{i}")).collect();
    assert_eq!(bodies, expected);
    let too_big = alice
        .get(&format!("/api/v1/rooms/{room}/messages?limit=100000"))
        .await;
    // All 125 events fit in one page of the largest size (200).
    assert_eq!(too_big.body["events"].as_array().unwrap().len(), 125);
    let bad_cursor = alice
        .get(&format!("/api/v1/rooms/{room}/messages?before=zz"))
        .await;
    assert_eq!(
        (bad_cursor.status, bad_cursor.reason()),
        (400, "bad_cursor")
    );
    node.stop().await;
}

/// Counts of accepted events on a node, to prove refusals stored nothing.
async fn accepted(node: &ApiNode) -> u64 {
    node.running()
        .node
        .metrics()
        .events_accepted
        .load(std::sync::atomic::Ordering::Relaxed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_status_and_reason() {
    let (mut node, mut alice, room) = ApiNode::with_alices_room(4, "Guarded", "invite").await;
    let stored = accepted(&node).await;
    let client = reqwest::Client::new();

    // Tokens: missing, forged.
    let mut anonymous = ApiUser::from_seed(node.http, 5);
    let missing = anonymous.get("/api/v1/rooms").await;
    assert_eq!((missing.status, missing.reason()), (401, "missing_token"));
    anonymous.token = Some("00".repeat(32));
    let forged = anonymous.get("/api/v1/rooms").await;
    assert_eq!((forged.status, forged.reason()), (401, "bad_token"));
    anonymous.token = Some("not a token".into());
    assert_eq!(anonymous.get("/api/v1/me").await.reason(), "bad_token");

    // A body over the cap.
    let huge = "x".repeat(300_000);
    let over = alice
        .post(
            &format!("/api/v1/rooms/{room}/prepare"),
            json!({ "action": "message", "body": huge }),
        )
        .await;
    assert_eq!((over.status, over.reason()), (413, "body_too_large"));

    // A submitted event whose signature does not verify: nothing stored.
    let prepared = alice
        .post(
            &format!("/api/v1/rooms/{room}/prepare"),
            json!({ "action": "message", "body": "forged" }),
        )
        .await;
    let (draft, signature) = alice.sign(&prepared.body);
    let mut bad = hex::decode(&signature).unwrap();
    bad[10] ^= 1;
    let forged_sig = alice
        .post(
            "/api/v1/events",
            json!({ "draft": draft, "signature": hex::encode(&bad) }),
        )
        .await;
    assert_eq!(
        (forged_sig.status, forged_sig.reason()),
        (400, "bad_signature")
    );
    // Someone else's valid signature on Alice's draft is no better.
    let mallory = causerie_crypto::UserSecret::from_seed(&[66; 32]);
    let input = hex::decode(prepared.body["signing_input"].as_str().unwrap()).unwrap();
    let other = mallory.sign_input(&input).unwrap();
    let wrong_key = alice
        .post(
            "/api/v1/events",
            json!({ "draft": draft, "signature": hex::encode(other.as_bytes()) }),
        )
        .await;
    assert_eq!(wrong_key.reason(), "bad_signature");
    // A draft that is not a draft.
    let garbage = alice
        .post(
            "/api/v1/events",
            json!({ "draft": "a0ff", "signature": signature }),
        )
        .await;
    assert_eq!((garbage.status, garbage.reason()), (400, "bad_draft"));
    // Another user submitting Alice's draft: not their key.
    let bob = ApiUser::registered(node.http, 6, "bob").await;
    let not_yours = bob
        .post(
            "/api/v1/events",
            json!({ "draft": draft, "signature": signature }),
        )
        .await;
    assert_eq!(
        (not_yours.status, not_yours.reason()),
        (403, "not_your_key")
    );
    // Bob, not a member, cannot read or post.
    let read = bob.get(&format!("/api/v1/rooms/{room}/messages")).await;
    assert_eq!((read.status, read.reason()), (403, "not_member"));
    let posted = bob
        .act(&room, json!({ "action": "message", "body": "let me in" }))
        .await;
    assert_eq!(posted.status, 403, "{:?}", posted.body);

    // Host header not in the allowlist (DNS rebinding), and a cross-origin request.
    let rebinding = client
        .get(node.url("/api/v1/node"))
        .header("Host", "evil.example:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(rebinding.status().as_u16(), 421);
    let body: serde_json::Value = rebinding.json().await.unwrap();
    assert_eq!(body["error"], "host_not_allowed");
    let cross = client
        .post(node.url("/api/v1/auth/challenge"))
        .header("Origin", "http://evil.example")
        .json(&json!({ "user": alice.key() }))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status().as_u16(), 403);
    assert!(cross.headers().get("access-control-allow-origin").is_none());
    let body: serde_json::Value = cross.json().await.unwrap();
    assert_eq!(body["error"], "cross_origin");
    let fetch_metadata = client
        .get(node.url("/api/v1/node"))
        .header("Sec-Fetch-Site", "cross-site")
        .header("Sec-Fetch-Mode", "cors")
        .send()
        .await
        .unwrap();
    assert_eq!(fetch_metadata.status().as_u16(), 403);
    let same_origin = client
        .get(node.url("/api/v1/node"))
        .header("Origin", format!("http://{}", node.http))
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status().as_u16(), 200);
    let csp = same_origin
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));

    // Malformed JSON, unknown fields, wrong media type, unknown path, wrong method.
    let unknown_field = alice
        .post(
            "/api/v1/auth/challenge",
            json!({ "user": alice.key(), "x": 1 }),
        )
        .await;
    assert_eq!(
        (unknown_field.status, unknown_field.reason()),
        (400, "bad_request")
    );
    let text = client
        .post(node.url("/api/v1/auth/challenge"))
        .body("user=me")
        .send()
        .await
        .unwrap();
    assert_eq!(text.status().as_u16(), 415);
    assert_eq!(alice.get("/api/v1/nothing").await.reason(), "not_found");
    let wrong_method = alice.get("/api/v1/events").await;
    assert_eq!(
        (wrong_method.status, wrong_method.reason()),
        (405, "method_not_allowed")
    );
    let bad_query = alice
        .get(&format!("/api/v1/rooms/{room}/messages?limit=many"))
        .await;
    assert_eq!((bad_query.status, bad_query.reason()), (400, "bad_request"));
    let bad_room = alice.get("/api/v1/rooms/!nope").await;
    assert_eq!((bad_room.status, bad_room.reason()), (400, "bad_room_id"));
    let float = alice
        .post(
            &format!("/api/v1/rooms/{room}/prepare"),
            json!({ "action": "event", "kind": "app.note", "content": { "x": 1.5 } }),
        )
        .await;
    assert_eq!((float.status, float.reason()), (400, "bad_content"));

    // Registration refusals: bad handle, taken handle, registering twice, replayed challenge.
    let mut carol = ApiUser::from_seed(node.http, 7);
    assert_eq!(
        carol.try_register("Not Valid", None).await.reason(),
        "bad_handle"
    );
    assert_eq!(
        carol.try_register("alice", None).await.reason(),
        "handle_taken"
    );
    assert_eq!(
        alice.try_register("alice2", None).await.reason(),
        "already_registered"
    );
    let (challenge, signature) = carol.answered_challenge().await;
    let login = json!({ "challenge": challenge, "signature": signature });
    let first = carol.post("/api/v1/auth/login", login.clone()).await;
    assert_eq!((first.status, first.reason()), (404, "not_registered"));
    let replay = carol.post("/api/v1/auth/login", login).await;
    assert_eq!((replay.status, replay.reason()), (401, "unknown_challenge"));

    // Nothing any refusal touched was stored, and every refusal was counted.
    assert_eq!(accepted(&node).await, stored);
    assert_eq!(alice.bodies(&room).await, Vec::<String>::new());
    let metrics = client.get(node.url("/metrics")).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    for reason in [
        "missing_token",
        "bad_token",
        "body_too_large",
        "bad_signature",
        "host_not_allowed",
        "cross_origin",
        "not_your_key",
    ] {
        assert!(
            metrics.contains(&format!(
                "causerie_api_refused_total{{reason=\"{reason}\"}}"
            )),
            "{reason} not counted"
        );
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_with_a_restart_and_accounts_do_not() {
    let (mut node, mut alice, room) = ApiNode::with_alices_room(8, "Kept", "public").await;
    alice
        .must(
            &room,
            json!({ "action": "message", "body": "before restart" }),
        )
        .await;
    let renamed = alice
        .request(
            reqwest::Method::PUT,
            "/api/v1/me",
            Some(json!({ "display_name": "Alice A." })),
        )
        .await;
    assert_eq!(renamed.body["display_name"], "Alice A.");
    let old_token = alice.token.clone();
    let logout = alice.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(logout.status, 204);
    assert_eq!(alice.get("/api/v1/me").await.reason(), "bad_token");
    assert_eq!(alice.login().await.status, 200);

    node.restart().await;
    alice.base = format!("http://{}", node.http);
    assert_eq!(alice.get("/api/v1/me").await.reason(), "bad_token");
    alice.token = old_token;
    assert_eq!(alice.get("/api/v1/me").await.reason(), "bad_token");
    let login = alice.login().await;
    assert_eq!(login.status, 200, "{:?}", login.body);
    assert_eq!(login.body["account"]["display_name"], "Alice A.");
    assert_eq!(alice.bodies(&room).await, ["before restart"]);
    alice
        .must(
            &room,
            json!({ "action": "profile", "display_name": "Alice A." }),
        )
        .await;
    let members = alice.get(&format!("/api/v1/rooms/{room}/members")).await;
    assert_eq!(members.body["members"][0]["display_name"], "Alice A.");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_floods_is_rate_limited() {
    let mut node = ApiNode::start(Vec::new()).await;
    let client = reqwest::Client::new();
    let mut limited = None;
    // The burst is 200; refills are 50/s, far slower than this loop.
    for i in 0..2_000 {
        let answer = client.get(node.url("/api/v1/node")).send().await.unwrap();
        if answer.status().as_u16() == 429 {
            let retry = answer.headers().get("retry-after").cloned();
            let body: serde_json::Value = answer.json().await.unwrap();
            limited = Some((i, retry, body));
            break;
        }
    }
    let (after, retry, body) = limited.expect("never rate limited");
    assert!(after >= 200, "limited after only {after} requests");
    assert!(retry.is_some());
    assert_eq!(body["error"], "rate_limited");
    // The limit lifts again.
    eventually("the limit lifts", || {
        let client = client.clone();
        let url = node.url("/api/v1/node");
        async move { client.get(url).send().await.unwrap().status().as_u16() == 200 }
    })
    .await;
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blank_messages_are_refused_on_prepare_and_on_submit() {
    let (mut node, alice, room) = ApiNode::with_alices_room(9, "Quiet", "invite").await;
    let stored = accepted(&node).await;
    let prepare = format!("/api/v1/rooms/{room}/prepare");
    for blank in ["", "   ", "\n\t ", "\u{200b}\u{a0}"] {
        let answer = alice
            .post(&prepare, json!({ "action": "message", "body": blank }))
            .await;
        assert_eq!(
            (answer.status, answer.reason()),
            (400, "empty_message"),
            "{blank:?}"
        );
    }
    // The same rule for a message built as a raw event.
    let raw = alice
        .post(
            &prepare,
            json!({ "action": "event", "kind": "room.message", "content": { "body": " " } }),
        )
        .await;
    assert_eq!((raw.status, raw.reason()), (400, "empty_message"));
    // And for a draft a client changed after preparing it: submit checks it again.
    let prepared = alice
        .post(&prepare, json!({ "action": "message", "body": "x" }))
        .await;
    assert_eq!(prepared.status, 200);
    let bytes = hex::decode(prepared.body["draft"].as_str().unwrap()).unwrap();
    let mut draft = causerie_crypto::EventDraft::decode(&bytes).unwrap();
    draft
        .content
        .insert("body".into(), causerie_crypto::Value::Text(" \t".into()));
    let submitted = alice.submit_draft(&draft).await;
    assert_eq!(
        (submitted.status, submitted.reason()),
        (400, "empty_message")
    );
    assert_eq!(accepted(&node).await, stored);
    assert_eq!(alice.bodies(&room).await, Vec::<String>::new());
    node.stop().await;
}
