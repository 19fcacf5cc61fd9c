//! `causerie reply|edit|react|unreact|delete|dm` end to end (specs/rooms.md §13): a real node,
//! two users with their own key files, each action through the binary, the timeline text
//! showing the reply quote, "(edited)" and the reactions (and not the edit and reaction events),
//! refusals with the node's reasons, and a direct conversation started by handle.

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "support/cli.rs"]
mod cli_support;

use cli_support::*;

/// The room's history as text for people, as `user` sees it.
async fn history_text(user: &User, room: &str) -> Vec<String> {
    let output = user
        .command(&["history", room, "--limit", "100"])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| line.get(11..).unwrap_or(line).to_owned())
        .collect()
}

/// The message `id` in `user`'s `history --json`.
async fn shown(user: &User, room: &str, id: &str) -> serde_json::Value {
    let history = user.run(&["history", room, "--limit", "100"]).await.ok();
    entry(&history, "events", |e| e["id"] == id).clone()
}

fn id(answer: &serde_json::Value) -> String {
    answer["event_id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_edits_reactions_deletions_and_dms_through_the_cli() {
    let (home, _data, _running, node) = own_node().await;
    let (alice, bob, room) = alice_bob_and_room(home.path(), &node, "Relations").await;
    bob.run(&["room", "join", &room]).await.ok();

    let hello = id(&alice.run(&["send", &room, "hello"]).await.ok());
    let reply = id(&bob
        .run(&["reply", &room, &hello, "hi alice", "--mention", "@alice"])
        .await
        .ok());
    alice
        .run(&["edit", &room, &hello, "hello, world"])
        .await
        .ok();
    for (user, key) in [(&bob, "👍"), (&alice, "👍"), (&bob, "🎉")] {
        user.run(&["react", &room, &hello, key]).await.ok();
    }
    bob.run(&["unreact", &room, &hello, "🎉"]).await.ok();

    let lines = history_text(&bob, &room).await;
    let messages: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("alice:") || l.starts_with("bob:"))
        .collect();
    assert_eq!(
        messages,
        [
            "alice: hello, world (edited)  [👍 2]",
            "bob: (replying to alice: \"hello, world\") hi alice",
        ],
        "{lines:#?}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("reacted") || l.contains("edited a message")),
        "edit and reaction events are not printed from history: {lines:#?}"
    );
    let answer = shown(&alice, &room, &reply).await;
    assert_eq!(answer["mentions"][0], alice.public().await.as_str());
    assert_eq!(answer["reply_to"]["id"], hello.as_str());

    // Refusals, with the node's reasons or the CLI's own.
    bob.run(&["edit", &room, &hello, "mine"])
        .await
        .refused("not_your_message");
    bob.run(&["delete", &room, &hello])
        .await
        .refused("not_your_message");
    alice
        .run(&["unreact", &room, &hello, "🎉"])
        .await
        .refused("no_reaction");
    bob.run(&["react", &room, &hello, &"x".repeat(65)])
        .await
        .refused("bad_reaction_key");
    bob.run(&["react", &room, "not-an-event", "👍"])
        .await
        .refused("bad_event_id");

    // Bob deletes his reply.
    bob.run(&["delete", &room, &reply]).await.ok();
    assert_eq!(shown(&alice, &room, &reply).await["deleted"], true);
    assert!(
        history_text(&alice, &room)
            .await
            .contains(&"bob: (message deleted)".to_owned())
    );

    // Alice starts a direct conversation with Bob by handle; Bob sees it, joins and reads.
    let dm = alice.run(&["dm", "@bob", "psst"]).await.ok();
    let dm_room = dm["room"].as_str().unwrap().to_owned();
    assert_eq!(dm["with"], bob.public().await.as_str());
    let rooms = bob.run(&["rooms"]).await.ok();
    let listed = entry(&rooms, "rooms", |r| r["room"] == dm_room.as_str());
    assert_eq!(listed["dm"]["with"], alice.public().await.as_str());
    assert_eq!(listed["dm"]["handle"], "alice");
    assert_eq!(listed["membership"], "invite");
    let text = bob.command(&["rooms"]).output().await.unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "{dm_room}  direct conversation with @alice (invite)"
        )),
        "{text}"
    );
    bob.run(&["room", "join", &dm_room]).await.ok();
    assert!(
        history_text(&bob, &dm_room)
            .await
            .contains(&"alice: psst".to_owned())
    );
    // Nobody else fits in it; unknown handles are refused.
    alice
        .run(&["dm", "@nobody"])
        .await
        .refused("unknown_member");
}
