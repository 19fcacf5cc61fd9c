//! `causerie report` and `causerie admin reports` end to end (specs/accountability.md §1.4): a
//! real node, users with their own key files, the binary as members and the operator use it.
//! A member reports a message (the CLI checks the prepared report and signs it with the key
//! file); the room's moderator sees it in the review queue; the operator (this node attests the
//! author) lists it, writes the signed report to a file that verifies offline, and actions it;
//! the reporter sees each status. Every wait polls a condition with a timeout.

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "support/cli.rs"]
mod cli_support;

use causerie_crypto::Report;
use cli_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_reports_a_message_and_the_operator_actions_it() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let running = start_node(data.clone(), Vec::new()).await;
    let node = url(&running);
    let (alice, bob, room) = alice_bob_and_room(home.path(), &node, "Lobby").await;
    let carol = User::registered(home.path(), "carol", node.clone()).await;
    bob.run(&["room", "join", &room]).await.ok();
    carol.run(&["room", "join", &room]).await.ok();
    let sent = bob
        .run(&["send", &room, "I know where you live"])
        .await
        .ok();
    let event = sent["event_id"].as_str().unwrap().to_owned();

    // A bad category is refused before anything is signed.
    carol
        .run(&["report", "event", &room, &event, "--category", "rude"])
        .await
        .refused("unknown_category");
    let made = carol
        .run(&[
            "report",
            "event",
            &room,
            &event,
            "--category",
            "threats",
            "--text",
            "he threatens me",
        ])
        .await
        .ok();
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(made["report"]["category"], "threats");

    // The reporter sees the receipts come back: the review queue and the operator's queue.
    wait_until("both receipts", || async {
        let status = carol.run(&["report", "status", &id]).await.ok();
        entries(&status, "receipts").len() == 2
    })
    .await;
    let listed = alice.run(&["review", "list", &room]).await.ok();
    let items = entries(&listed, "items");
    assert!(
        items
            .iter()
            .any(|i| i["state"] == "reported" && i["event"]["id"] == event.as_str()),
        "{listed}"
    );

    // The operator's queue, the evidence written to a file and verified offline.
    let operator = Operator::new(home.path(), &node, &data);
    let queue = operator.run(&["reports", "list"]).await.ok();
    let queued = entries(&queue, "reports");
    assert_eq!(queued.len(), 1, "{queue}");
    assert_eq!(queued[0]["id"], id.as_str());
    assert_eq!(queued[0]["operator"], "received");
    let file = home.path().join("report.cbor");
    let shown = operator
        .run(&["reports", "show", &id, "--out", file.to_str().unwrap()])
        .await
        .ok();
    assert_eq!(
        shown["report"]["events"][0]["content"]["body"],
        "I know where you live"
    );
    let offline = Report::decode(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(offline.id().to_string(), id);
    assert_eq!(
        offline.events()[0].content_str("body"),
        Some("I know where you live")
    );

    // `causerie verify` checks it offline; one changed byte of the text and it does not.
    let file_arg = file.to_str().unwrap();
    let verified = carol.run(&["verify", file_arg]).await.ok();
    assert_eq!(verified["type"], "report");
    assert_eq!(verified["report_id"], id.as_str());
    let mut tampered = std::fs::read(&file).unwrap();
    let at = tampered
        .windows(10)
        .position(|w| w == b"threatens ")
        .unwrap();
    tampered[at] ^= 0x20;
    let bad = home.path().join("tampered.cbor");
    std::fs::write(&bad, &tampered).unwrap();
    let refused = carol.run(&["verify", bad.to_str().unwrap()]).await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(refused.json()["reason"], "bad_signature", "{refused:?}");

    // The operator actions it; the reporter sees it.
    operator
        .run(&["reports", "action", &id, "--note", "account suspended"])
        .await
        .ok();
    wait_until("the status actioned", || async {
        let status = carol.run(&["report", "status", &id]).await.ok();
        status["status"] == "actioned"
    })
    .await;
    let text = carol.command(&["report", "status"]).output().await.unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("actioned") && text.contains("account suspended"),
        "{text}"
    );
    let reporters = operator.run(&["reports", "reporters"]).await.ok();
    assert_eq!(entries(&reporters, "reporters")[0]["actioned"], 1);
    running.shutdown().await;
}
