//! Browser tests of the web client's connection to its node: the page shows an unreachable node
//! and resumes by itself when the node is back. Skipped with a SKIP line when Chromium is
//! missing, unless `CAUSERIE_REQUIRE_BROWSER=1`.

use std::time::{Duration, Instant};

use causerie_tests::browser::DEFAULT_WAIT;
use causerie_tests::browser::chat::{Chat, OrFail, setup, start_node};
use causerie_tests::cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_restart_shows_offline_then_reconnects() {
    let Some(setup) = setup("node_restart_shows_offline_then_reconnects") else {
        return;
    };
    cluster::init_logs();
    let started = Instant::now();
    let data = tempfile::tempdir().expect("data dir");
    let running = start_node(data.path(), "127.0.0.1:0").await.expect("node");
    let http = running.http_addr;

    let chat = Chat::open(&setup, "erin", http).await;
    chat.create_identity("erin", "Erin").await;
    let room = chat.create_room("Outage", true).await;
    let before = "sent before the node stopped";
    chat.send(before).await;
    chat.wait_online().await;
    chat.mark_document("erin-doc").await;

    // The node goes away: the page says so.
    running.shutdown().await;
    chat.browser
        .wait_script(
            "#connection[data-state=offline]",
            DEFAULT_WAIT,
            "const c = document.querySelector('#connection');
             return c && c.dataset.state === 'offline' || {waiting: c && c.dataset.state};",
            vec![],
        )
        .await
        .or_fail("offline");
    chat.shot("node unreachable").await;

    // The node comes back on the same address (its sessions are gone): the page logs in
    // again and resumes by itself, without a reload.
    let mut restarted = None;
    let deadline = Instant::now() + DEFAULT_WAIT;
    while restarted.is_none() {
        match start_node(data.path(), &http.to_string()).await {
            Ok(running) => restarted = Some(running),
            Err(e) if Instant::now() < deadline => {
                eprintln!("restart on {http} not yet possible: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("restart on {http}: {e}"),
        }
    }
    let running = restarted.expect("restarted");
    chat.wait_online().await;
    chat.assert_not_reloaded("erin-doc").await;
    chat.wait_active_room_or_select(&room).await;
    chat.wait_message(before, DEFAULT_WAIT).await;
    let after = "sent after the node came back";
    chat.send(after).await;
    chat.shot("reconnected").await;
    chat.assert_not_reloaded("erin-doc").await;

    chat.close().await;
    running.shutdown().await;
    eprintln!(
        "node_restart_shows_offline_then_reconnects: {:?}",
        started.elapsed()
    );
}
