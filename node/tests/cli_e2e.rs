//! The `causerie` command line end to end (specs/client-api.md): two real
//! nodes in-process, two users with their own key files, a room created on node 1 by the binary,
//! joined by invite link on node 2, messages both ways, and a `tail --follow --json` child
//! process that sees them in order. Plus `causerie demo --exit-after-setup` on free ports.
//! Every wait polls a condition with a timeout.

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "support/cli.rs"]
mod cli_support;

use cli_support::*;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The bodies of the room's messages as `user` sees them through their node.
async fn bodies(user: &User, room: &str) -> Vec<String> {
    let run = user.run(&["history", room, "--limit", "100"]).await;
    if run.code != 0 {
        return Vec::new();
    }
    entries(&run.json(), "events")
        .iter()
        .filter(|e| e["kind"] == "room.message")
        .map(|e| e["content"]["body"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_two_users_chat_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (node1, node2) = connected_pair(dir.path()).await;

    let alice = User::new(dir.path(), "alice", url(&node1)).await;
    let bob = User::new(dir.path(), "bob", url(&node2)).await;
    let alice_key = alice.public().await;
    let bob_key = bob.public().await;
    assert_ne!(alice_key, bob_key);

    let account = alice
        .run(&["register", "--handle", "alice", "--display-name", "Alice"])
        .await
        .ok();
    assert_eq!(account["user"], alice_key.as_str());
    assert_eq!(account["handle"], "alice");
    bob.run(&["register", "--handle", "bob"]).await.ok();
    // Registering twice is refused with the node's reason.
    bob.run(&["register", "--handle", "bob2"])
        .await
        .refused("already_registered");

    let created = alice
        .run(&[
            "room", "create", "CLI e2e", "--public", "--topic", "testing",
        ])
        .await
        .ok();
    let room = created["room"].as_str().unwrap().to_owned();
    let link = created["link"].as_str().unwrap().to_owned();
    assert!(link.starts_with("causerie:join/"), "{link}");
    assert!(link.contains(room.trim_start_matches('!')), "{link}");
    assert_eq!(
        alice.run(&["room", "invite-link", &room]).await.ok()["link"],
        link.as_str()
    );

    let joined = bob.run(&["room", "join", &link]).await.ok();
    assert_eq!(joined["room"], room.as_str());
    let rooms = bob.run(&["rooms"]).await.ok();
    assert!(
        entries(&rooms, "rooms")
            .iter()
            .any(|r| r["room"] == room.as_str() && r["name"] == "CLI e2e"),
        "{rooms}"
    );

    // Bob follows the room from node 2 before anyone speaks.
    let mut tail = bob
        .command(&["--json", "tail", &room, "--follow", "-n", "50"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(tail.stdout.take().unwrap()).lines();

    // Messages both ways, each sent once the previous one reached the other node, so the
    // timeline order is the sending order.
    let script = [
        (&alice, &bob, "hello from node 1"),
        (&bob, &alice, "hi alice, bob here on node 2"),
        (&alice, &bob, "federation works"),
        (&bob, &alice, "both ways \u{1b}[31m <b>literal</b>"),
    ];
    let mut sent = Vec::new();
    for (from, to, text) in script {
        let answer = from.run(&["send", &room, text]).await.ok();
        assert!(answer["event_id"].as_str().unwrap().starts_with('$'));
        sent.push(text.to_owned());
        let expected = sent.clone();
        let room = room.as_str();
        wait_until("the message to reach the other node", || {
            let expected = expected.clone();
            async move { bodies(to, room).await == expected }
        })
        .await;
    }
    assert_eq!(bodies(&alice, &room).await, sent);

    // The follower printed exactly these messages, in order, one JSON object per line.
    let mut followed = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while followed.len() < sent.len() {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .expect("tail --follow printed every message in time")
            .unwrap()
            .expect("tail --follow kept running");
        let event: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(event["room"], room.as_str());
        if event["kind"] == "room.message" {
            let author = if followed.len() % 2 == 0 {
                &alice_key
            } else {
                &bob_key
            };
            assert_eq!(event["author"], author.as_str(), "{line}");
            followed.push(event["content"]["body"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(followed, sent);
    tail.kill().await.unwrap();

    // The text form of history keeps hostile content inert.
    let output = alice.command(&["history", &room]).output().await.unwrap();
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(printed.contains("Alice: hello from node 1"), "{printed}");
    assert!(printed.contains("\\u{1b}[31m <b>literal</b>"), "{printed}");
    assert!(!printed.contains('\u{1b}'));

    let members = alice.run(&["members", &room]).await.ok();
    assert!(
        entries(&members, "members")
            .iter()
            .any(|m| m["user"] == bob_key.as_str() && m["membership"] == "join")
    );

    // Moderation through the CLI: alice (the creator) kicks bob by handle; bob can no longer
    // send.
    alice
        .run(&["mod", "kick", &room, "bob", "--reason", "test"])
        .await
        .ok();
    wait_until("the kick to reach node 2", || async {
        let run = bob.run(&["members", &room]).await;
        run.code == 0
            && entries(&run.json(), "members")
                .iter()
                .any(|m| m["user"] == bob_key.as_str() && m["membership"] == "leave")
    })
    .await;
    let refused = bob.run(&["send", &room, "still here?"]).await;
    assert_eq!(refused.code, 1, "{refused:?}");

    // Ban by key, unban, and bob comes back by link.
    alice.run(&["mod", "ban", &room, &bob_key]).await.ok();
    assert_eq!(alice.membership_of(&room, &bob_key).await, "ban");
    alice.run(&["mod", "unban", &room, &bob_key]).await.ok();
    assert_eq!(alice.membership_of(&room, &bob_key).await, "leave");
    wait_until("the unban to reach node 2", || async {
        bob.membership_of(&room, &bob_key).await == "leave"
            && bob.run(&["room", "join", &link]).await.code == 0
    })
    .await;
    wait_until("bob's return to reach node 1", || async {
        alice.membership_of(&room, &bob_key).await == "join"
    })
    .await;

    // A ten-minute mute: bob still reads, cannot send (and is told why) until unmuted.
    let muted = alice
        .run(&[
            "mod",
            "mute",
            &room,
            &bob_key,
            "--duration",
            "10m",
            "--reason",
            "calm down",
        ])
        .await
        .ok();
    assert!(muted["event_id"].is_string(), "{muted}");
    wait_until("the mute to reach node 2", || async {
        let history = bob.run(&["history", &room]).await.ok();
        entries(&history, "events")
            .iter()
            .any(|e| e["kind"] == "room.mute")
    })
    .await;
    bob.run(&["send", &room, "can I talk?"])
        .await
        .refused("muted");
    alice.run(&["mod", "unmute", &room, &bob_key]).await.ok();
    wait_until("the unmute to reach node 2", || async {
        bob.run(&["send", &room, "thanks"]).await.code == 0
    })
    .await;

    // Power to bob, then alice redacts bob's message.
    alice
        .run(&["mod", "power", &room, &bob_key, "50"])
        .await
        .ok();
    let members = alice.run(&["members", &room]).await.ok();
    let bob_entry = entry(&members, "members", |m| m["user"] == bob_key.as_str());
    assert_eq!(bob_entry["power"], 50, "{members}");
    let history = alice.run(&["history", &room]).await.ok();
    let bobs_message = entry(&history, "events", |e| {
        e["content"]["body"] == "hi alice, bob here on node 2"
    })["id"]
        .as_str()
        .unwrap()
        .to_owned();
    alice
        .run(&["mod", "redact", &room, &bobs_message, "--reason", "test"])
        .await
        .ok();
    let history = alice.run(&["history", &room]).await.ok();
    let redacted = entry(&history, "events", |e| e["id"] == bobs_message.as_str());
    assert_eq!(redacted["redacted"], true, "{redacted}");
    assert!(redacted["content"].get("body").is_none(), "{redacted}");

    // The public room is in node 2's directory; bob leaves and it drops out of his rooms.
    let directory = bob.run(&["directory"]).await.ok();
    assert!(
        entries(&directory, "rooms")
            .iter()
            .any(|r| r["room"] == room.as_str()),
        "{directory}"
    );
    bob.run(&["room", "leave", &room]).await.ok();
    let rooms = bob.run(&["rooms"]).await.ok();
    assert!(
        !entries(&rooms, "rooms")
            .iter()
            .any(|r| r["room"] == room.as_str()),
        "{rooms}"
    );

    node2.shutdown().await;
    node1.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_sets_up_three_federated_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo");
    let report = causerie(dir.path(), &demo_args(&demo_dir)).await.ok();
    let nodes = entries(&report, "nodes");
    assert_eq!(nodes.len(), 3, "{report}");
    let first = &nodes[0]["messages"];
    assert_eq!(first.as_array().unwrap().len(), 4, "{report}");
    for node in nodes {
        // Every node shows the same conversation in the same order.
        assert_eq!(&node["messages"], first, "{report}");
        // The nodes are stopped once the report is printed: no address of them.
        assert!(node["url"].is_null(), "{report}");
        assert!(std::path::Path::new(node["key_file"].as_str().unwrap()).exists());
    }
    let handles: Vec<_> = nodes
        .iter()
        .map(|n| n["handle"].as_str().unwrap())
        .collect();
    assert_eq!(handles, ["alice", "bob", "carol"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_follow_survives_a_node_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let node = start_node(data.clone(), Vec::new()).await;
    let http = node.http_addr.to_string();
    let alice = User::new(dir.path(), "alice", url(&node)).await;
    alice.run(&["register", "--handle", "alice"]).await.ok();
    let room = alice.run(&["room", "create", "restart"]).await.ok()["room"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tail = alice
        .command(&["--json", "tail", &room, "--follow", "-n", "50"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("tail.log")).unwrap())
        .env("RUST_LOG", "debug")
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(tail.stdout.take().unwrap()).lines();
    let log = dir.path().join("tail.log");
    let mut next_body = async || loop {
        let line = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .unwrap_or_else(|_| {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: String = log.lines().rev().take(30).collect::<Vec<_>>().join("\n");
                panic!("tail printed nothing in time; its log, newest first:\n{tail}")
            })
            .unwrap()
            .expect("tail kept running");
        let event: serde_json::Value = serde_json::from_str(&line).unwrap();
        if event["kind"] == "room.message" {
            return event["content"]["body"].as_str().unwrap().to_owned();
        }
    };

    // Whether the follower's stream opens before or after this message, it prints it once:
    // from the history it reads after opening the stream, or from the stream.
    alice.run(&["send", &room, "before"]).await.ok();
    assert_eq!(next_body().await, "before");

    // The node restarts (sessions are in memory, so the follower must log in again), and one
    // message is sent while the follower is still reconnecting.
    node.shutdown().await;
    let node = start_node_at(data, Vec::new(), &http).await;
    alice.run(&["send", &room, "during"]).await.ok();
    alice.run(&["send", &room, "after"]).await.ok();
    assert_eq!(next_body().await, "during");
    assert_eq!(next_body().await, "after");
    tail.kill().await.unwrap();
    node.shutdown().await;
}
