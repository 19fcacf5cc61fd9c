//! Names people can type on the command line instead of 64 hex digits (specs/client-api.md,
//! "Addressing"; specs/directory.md), through the real `causerie` binary and two nodes:
//! a room alias given on node 1 is announced to node 2, where a user resolves it, joins by it
//! and sends to it; handles name members of a room (`ambiguous_handle` when two nodes' users
//! share one) and accounts of a node (the operator's commands); the operator lists the node's
//! aliases and removes one, after which it no longer resolves.

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "support/cli.rs"]
mod cli_support;

use cli_support::*;

/// Runs `args` as `user` until the answer satisfies `done` (polling, at most `WAIT`); answers it.
async fn run_until(user: &User, args: &[&str], done: impl Fn(&Run) -> bool) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let run = user.run(args).await;
        if done(&run) {
            return run.json();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "causerie {args:?} never got there: {run:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases_and_handles_stand_for_ids() {
    let dir = tempfile::tempdir().unwrap();
    let (node1, node2) = connected_pair(dir.path()).await;

    let alice = User::registered(dir.path(), "alice", url(&node1)).await;
    let bob = User::registered(dir.path(), "bob", url(&node2)).await;
    let carol = User::registered(dir.path(), "carol", url(&node1)).await;
    let bob_key = bob.public().await;
    let room = alice.create_public_room("Lobby").await;

    // Alice names the room on her node; the whole alias carries the node's server name.
    let named = alice.run(&["room", "alias", &room, "lobby"]).await.ok();
    let alias = named["alias"].as_str().unwrap().to_owned();
    assert!(alias.starts_with("#lobby:"), "{named}");
    alice.run(&["send", &alias, "sent to an alias"]).await.ok();

    // Node 2 learns the alias from node 1's announcement; Bob joins and sends by it.
    let answer = run_until(&bob, &["room", "resolve", &alias], |run| run.code == 0).await;
    assert_eq!(answer["room"], room, "{answer}");
    assert!(
        answer["link"].as_str().unwrap().contains(&room[1..]),
        "{answer}"
    );
    let joined = bob.run(&["room", "join", &alias]).await.ok();
    assert_eq!(joined["room"], room);
    bob.run(&["send", &alias, "hello from node 2"]).await.ok();
    run_until(&alice, &["history", &room, "--limit", "50"], |run| {
        run.code == 0
            && entries(&run.json(), "events")
                .iter()
                .any(|e| e["content"]["body"] == "hello from node 2")
    })
    .await;

    // Handles stand for members: Bob (of node 2) is kicked by his handle, through the alias.
    run_until(&alice, &["members", &room], |run| {
        run.code == 0
            && entries(&run.json(), "members")
                .iter()
                .any(|m| m["user"] == bob_key.as_str() && m["membership"] == "join")
    })
    .await;
    alice
        .run(&["mod", "kick", &alias, "@bob", "--reason", "testing handles"])
        .await
        .ok();
    assert_eq!(alice.membership_of(&room, &bob_key).await, "leave");
    alice
        .run(&["mod", "kick", &room, "@nobody"])
        .await
        .refused("unknown_member");
    alice
        .run(&["mod", "kick", &room, "@Bob!"])
        .await
        .refused("bad_handle");

    // A second "bob", of node 1, joins: the handle no longer names one member.
    let bob_one = User::new(dir.path(), "bob-of-node-1", url(&node1)).await;
    bob_one.run(&["register", "--handle", "bob"]).await.ok();
    bob_one.run(&["room", "join", &alias]).await.ok();
    alice
        .run(&["mod", "kick", &room, "@bob"])
        .await
        .refused("ambiguous_handle");

    // Unknown and malformed aliases are refused with their reasons.
    let server = alias.split_once(':').unwrap().1;
    alice
        .run(&["send", &format!("#nothing:{server}"), "x"])
        .await
        .refused("unknown_alias");
    alice
        .run(&["send", "#Lobby", "x"])
        .await
        .refused("bad_alias");

    // The operator names users by handle (accounts of the node) and manages its aliases.
    let operator = Operator::new(dir.path(), &url(&node1), &dir.path().join("node1"));
    let carol_key = carol.public().await;
    let attested = operator
        .run(&["attest", "--user", "@carol", "--level", "contact"])
        .await
        .ok();
    assert!(attested.to_string().contains(&carol_key), "{attested}");
    operator
        .run(&["attest", "--user", "@bob", "--level", "contact"])
        .await
        .ok();
    operator
        .run(&["attest", "--user", "@nobody", "--level", "contact"])
        .await
        .refused("unknown_handle");
    let listed = operator.run(&["aliases"]).await.ok();
    assert_eq!(listed["aliases"][0]["alias"], alias.as_str(), "{listed}");
    assert_eq!(listed["aliases"][0]["room"], room.as_str(), "{listed}");
    let removed = operator.run(&["aliases", "--remove", &alias]).await.ok();
    assert_eq!(removed["room"], room.as_str(), "{removed}");
    operator
        .run(&["aliases", "--remove", "lobby"])
        .await
        .refused("unknown_alias");
    alice
        .run(&["room", "resolve", &alias])
        .await
        .refused("unknown_alias");
    assert!(
        operator.run(&["aliases"]).await.ok()["aliases"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    node2.shutdown().await;
    node1.shutdown().await;
}
