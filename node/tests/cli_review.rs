//! `causerie review list|approve|reject` end to end: a real node running the example classifier
//! (`scripts/classifier/example.py`, a child process), users with their own key files, the
//! binary as moderators and members use it. A held message is approved into the room; a flagged
//! one is rejected with `--ban`, which redacts it and bans its author with ordinary signed
//! events. Every wait polls a condition with a timeout.

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "support/cli.rs"]
mod cli_support;

use std::path::{Path, PathBuf};

use causerie_node::config::{ClassifierFile, Config, ConfigFile, Overrides};
use cli_support::*;

async fn node_with_example_classifier(data_dir: PathBuf) -> causerie_node::daemon::Running {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/classifier/example.py");
    let file = ConfigFile {
        classifier: Some(ClassifierFile {
            program: PathBuf::from("python3"),
            args: vec![script.display().to_string()],
            timeout_ms: Some(5_000),
            fail_mode: Some("fail_open".into()),
            rooms: Default::default(),
        }),
        ..ConfigFile::default()
    };
    let overrides = Overrides {
        data_dir: Some(data_dir),
        listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
        bootstrap: Vec::new(),
        http: Some("127.0.0.1:0".into()),
        ..Overrides::default()
    };
    let config = Config::from_parts(file, overrides).unwrap();
    causerie_node::daemon::start(&config).await.unwrap()
}

async fn bodies(user: &User, room: &str) -> Vec<(String, bool)> {
    let run = user.run(&["history", room, "--limit", "100"]).await;
    entries(&run.ok(), "events")
        .iter()
        .filter(|e| e["kind"] == "room.message")
        .map(|e| {
            (
                e["content"]["body"].as_str().unwrap_or("").to_owned(),
                e["redacted"] == true,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderators_review_held_and_flagged_messages_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let node = node_with_example_classifier(dir.path().join("node")).await;
    let (alice, bob, room) = alice_bob_and_room(dir.path(), &url(&node), "Lobby").await;
    let bob_key = bob.public().await;
    bob.run(&["room", "join", &room]).await.ok();

    // Held: a link from a new account; flagged: shouting; refused: a blocked phrase.
    bob.run(&["send", &room, "see https://example.com/deal"])
        .await
        .refused("held_for_review");
    bob.run(&["send", &room, "WHY IS NOBODY ANSWERING ME"])
        .await
        .ok();
    bob.run(&["send", &room, "free crypto giveaway!"])
        .await
        .refused("classifier_rejected");

    // Only moderators see the queue.
    bob.run(&["review", "list", &room])
        .await
        .refused("not_moderator");
    let listed = alice.run(&["review", "list", &room]).await.ok();
    let items = entries(&listed, "items");
    assert_eq!(items.len(), 2, "{listed}");
    assert_eq!(items[0]["state"], "held");
    assert_eq!(items[1]["state"], "flagged");
    assert_eq!(items[1]["labels"][0], "shouting");
    let held = items[0]["item"].to_string();
    let flagged = items[1]["item"].to_string();
    let text = alice
        .command(&["review", "list", &room])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("2 item(s)") && text.contains("link from a new account"),
        "{text}"
    );

    // Approve: the held message enters the room as bob signed it.
    let approved = alice.run(&["review", "approve", &room, &held]).await.ok();
    assert_eq!(approved["visible"], true);
    assert!(
        bodies(&alice, &room)
            .await
            .contains(&("see https://example.com/deal".to_owned(), false))
    );

    // Reject with --ban: the flagged message is redacted and bob is banned.
    let rejected = alice
        .run(&[
            "review", "reject", &room, &flagged, "--reason", "shouting", "--ban",
        ])
        .await
        .ok();
    assert!(
        rejected["redaction"].as_str().unwrap().starts_with('$'),
        "{rejected}"
    );
    assert!(
        rejected["ban"].as_str().unwrap().starts_with('$'),
        "{rejected}"
    );
    assert_eq!(rejected["rejected"]["needs_redaction"], true);
    assert!(
        !bodies(&alice, &room)
            .await
            .iter()
            .any(|(body, _)| body == "WHY IS NOBODY ANSWERING ME")
    );
    let members = alice.run(&["members", &room]).await.ok();
    let bob_member = entry(&members, "members", |m| m["user"] == bob_key.as_str());
    assert_eq!(bob_member["membership"], "ban");
    let listed = alice.run(&["review", "list", &room]).await.ok();
    assert!(entries(&listed, "items").is_empty(), "{listed}");
    alice
        .run(&["review", "approve", &room, &flagged])
        .await
        .refused("no_such_review_item");
    node.shutdown().await;
}
