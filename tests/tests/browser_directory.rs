//! Browser test of the public rooms directory across nodes (node/src/web/assets/directory.js,
//! specs/client-api.md "Directory"): a public room created on node A is listed in node B's
//! directory view as held elsewhere; its Join button joins through the invite link the entry
//! carries (the node reaches the room on A) and the user chats with A. Then a room is joined by
//! its alias (`#name:server`) typed in the "Join" dialog. The directory view passes axe-core.
//! Skipped with a SKIP line when Chromium is missing, unless `CAUSERIE_REQUIRE_BROWSER=1`.

use causerie_tests::api::ApiUser;
use causerie_tests::browser::DEFAULT_WAIT;
use causerie_tests::browser::chat::{ChatTest, FEDERATION_WAIT, OrFail};
use causerie_tests::cluster;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_joins_a_room_of_another_node_and_aliases_join() {
    let Some(test) =
        ChatTest::start("directory_joins_a_room_of_another_node_and_aliases_join", 2).await
    else {
        return;
    };
    let alice = ApiUser::register(test.node(0), "alice", "Alice").await;
    let across = alice.create_room("Across the nodes", "public").await;

    let bob = test.open("bob", 1).await;
    bob.create_identity("bob", "Bob").await;
    bob.open_directory().await;

    // Listed on B as held elsewhere (B learns it from A's announcements): Refresh until then.
    let entry = format!("#directory .directory-item[data-room-id='{across}'][data-held='false']");
    bob.browser
        .wait_script(
            "the room of node A in node B's directory",
            FEDERATION_WAIT,
            "if (document.querySelector(arguments[0])) return true;
             if (performance.now() - (window.__refreshed || 0) > 2000) {
               window.__refreshed = performance.now();
               document.getElementById('refresh-directory').click();
             }
             return {waiting: document.getElementById('directory').textContent};",
            vec![json!(entry)],
        )
        .await
        .or_fail("listed");
    bob.wait_text("directory-summary", &["public room"], DEFAULT_WAIT)
        .await;
    bob.shot("directory of node B").await;
    bob.axe_check("directory").await;

    // Join: through the entry's link; the view closes and the room opens.
    bob.click(&format!("{entry} button")).await;
    bob.wait_dialog("directory", false).await;
    bob.wait_active_room(&across, FEDERATION_WAIT).await;
    let said = "hello from node B, joined from the directory";
    bob.send(said).await;
    cluster::wait_until(FEDERATION_WAIT, "alice reads bob on node A", || async {
        alice.shows(&across, said).await
    })
    .await
    .or_fail("delivered");
    bob.shot("joined from the directory").await;

    // A room joined by its alias, typed in the Join dialog.
    let aliased = alice.create_room("By alias", "public").await;
    let set = alice
        .call(
            "PUT",
            &format!("/rooms/{aliased}/alias"),
            json!({ "alias": "byalias" }),
        )
        .await;
    let alias = set["alias"].as_str().expect("alias").to_owned();
    assert!(alias.starts_with("#byalias:"), "{set}");
    // B resolves the alias once A's announcement names it.
    let probe = ApiUser::register(test.node(1), "probe", "Probe").await;
    cluster::wait_until(FEDERATION_WAIT, "the alias known on node B", || async {
        let answer = probe
            .get(&format!(
                "/api/v1/aliases/{}",
                alias.replace('#', "%23").replace(':', "%3A")
            ))
            .await;
        answer.status == 200 && answer.body["room"] == json!(aliased)
    })
    .await
    .or_fail("alias resolves");
    bob.join(&alias, &aliased).await;
    bob.shot("joined by alias").await;
    let bob_key = bob.wait_me("bob").await;
    cluster::wait_until(FEDERATION_WAIT, "bob a member on node A", || async {
        alice
            .member(&aliased, &bob_key)
            .await
            .is_some_and(|m| m["membership"] == json!("join"))
    })
    .await
    .or_fail("joined by alias");

    bob.close().await;
    test.finish().await;
}
