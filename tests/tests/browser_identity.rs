//! Browser test of one identity on many nodes (node/src/web/assets/key_tools.js, session.js;
//! specs/client-api.md, "One identity, many nodes"): a key made on node A and exported to a
//! file is imported in a browser on node B, which holds A's attestation of it from a room they
//! share; the page logs in with it under the same handle instead of asking for a new one; the
//! profile says where the key is homed; the user chats from B. Skipped with a SKIP line when Chromium is
//! missing, unless `CAUSERIE_REQUIRE_BROWSER=1`.

use causerie_tests::api::ApiUser;
use causerie_tests::browser::DEFAULT_WAIT;
use causerie_tests::browser::chat::{ChatTest, FEDERATION_WAIT, OrFail};
use causerie_tests::cluster;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_imported_on_another_node_logs_in_with_its_handle() {
    let Some(test) =
        ChatTest::start("a_key_imported_on_another_node_logs_in_with_its_handle", 2).await
    else {
        return;
    };
    let home = test.open("alice-home", 0).await;
    let alice = home.create_identity("alice", "Alice").await;
    // A room shared with a user of node B: B holds alice's attestation from it.
    let room = home.create_room("Shared", true).await;
    let link = home.invite_link().await;
    let bob = ApiUser::register(test.node(1), "bob", "Bob").await;
    let answer = bob
        .call("POST", "/rooms/join", json!({ "link": link }))
        .await;
    bob.submit(&answer["draft"]).await;
    home.send("alice writes from her home node").await;
    cluster::wait_until(FEDERATION_WAIT, "alice's message on node B", || async {
        bob.shows(&room, "alice writes from her home node").await
    })
    .await
    .or_fail("shared");
    let passphrase = "one identity, two nodes";
    let downloaded = home.export_key(passphrase).await;
    let kept = tempfile::tempdir().expect("temp dir");
    let file = kept.path().join("alice.json");
    std::fs::copy(&downloaded, &file).expect("keep the key file");
    home.close().await;

    // On node B, before any identity: import the file from the welcome card.
    let away = test.open("alice-away", 1).await;
    away.choose_key_file(&file).await;
    away.answer_passphrase(passphrase).await;
    assert_eq!(away.wait_me("alice").await, alice, "the same key");
    away.wait_online().await;
    let asked = away
        .run(
            "onboarding shown?",
            "return !document.getElementById('onboarding').hidden;",
            vec![],
        )
        .await;
    assert_eq!(asked, json!(false), "no new handle asked for");
    away.open_profile().await;
    away.wait_text("me-handle", &["@alice"], DEFAULT_WAIT).await;
    away.wait_text("me-node", &["logged in here with your key"], DEFAULT_WAIT)
        .await;
    away.shot("logged in on another node").await;
    away.axe_check("profile of a key homed elsewhere").await;
    away.close_profile().await;

    // And she chats from node B as @alice, in the room she shares with bob.
    away.wait_active_room_or_select(&room).await;
    away.send("hello from my second node").await;
    cluster::wait_until(FEDERATION_WAIT, "bob reads alice from node B", || async {
        bob.shows(&room, "hello from my second node").await
    })
    .await
    .or_fail("chat from node B");
    away.close().await;
    test.finish().await;
}
