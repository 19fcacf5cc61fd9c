//! Browser tests of the web client's connection to its node. Skipped with a SKIP line when
//! Chromium is missing, unless `CAUSERIE_REQUIRE_BROWSER=1`.
//!
//! - `node_restart_shows_offline_then_reconnects`: the page shows an unreachable node, keeps
//!   trying while the node's port refuses it, and is live again soon after the node is back
//!   (the time is printed; only a sanity bound is asserted).
//! - `plain_http_on_a_hostname_explains_the_secure_origin`: over plain http on a host name that
//!   is not this computer's, the browser withholds WebCrypto; the page says why and how to get a
//!   secure address instead of failing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use causerie_tests::browser::chat::{
    Chat, FEDERATION_WAIT, OrFail, OwnNodeTest, setup, start_node_answering,
};
use causerie_tests::browser::{Browser, DEFAULT_WAIT, LaunchOptions};
use causerie_tests::cluster;
use serde_json::json;

/// Connection attempts the page must make against the node's empty port before the node comes
/// back: enough for a doubling backoff to have grown long (0.5 + 1 + 2 + 4 + 8 s).
const ATTEMPTS_WHILE_DOWN: usize = 6;

/// Holds `addr` with a listener that accepts connections and drops them at once (a node that
/// is down), counting them; returns the count and the listener's task.
async fn refuse_on(addr: SocketAddr) -> (Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let deadline = Instant::now() + DEFAULT_WAIT;
    let listener = loop {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => break listener,
            Err(e) if Instant::now() < deadline => {
                eprintln!("bind {addr} not yet possible: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("bind {addr}: {e}"),
        }
    };
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (accepted, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_restart_shows_offline_then_reconnects() {
    let Some(mut test) = OwnNodeTest::start("node_restart_shows_offline_then_reconnects").await
    else {
        return;
    };
    let (http, started) = (test.http, test.started);

    let chat = test.open("erin").await;
    chat.create_identity("erin", "Erin").await;
    let room = chat.create_room("Outage", true).await;
    let before = "sent before the node stopped";
    chat.send(before).await;
    chat.wait_online().await;
    chat.mark_document("erin-doc").await;

    // The node goes away: the page says so, and keeps trying against the empty port.
    test.stop_node().await;
    let (attempts, refusing) = refuse_on(http).await;
    chat.wait_until(
        "#connection[data-state=offline]",
        "const c = document.querySelector('#connection');
         return c && c.dataset.state === 'offline' || {waiting: c && c.dataset.state};",
    )
    .await;
    chat.shot("node unreachable").await;
    let what = format!("{ATTEMPTS_WHILE_DOWN} connection attempts while the node is down");
    cluster::wait_until(FEDERATION_WAIT, &what, || async {
        attempts.load(Ordering::SeqCst) >= ATTEMPTS_WHILE_DOWN
    })
    .await
    .or_fail(&what);
    let down_for = started.elapsed();
    refusing.abort();
    let _ = refusing.await;

    // The node comes back on the same address (its sessions are gone): the page logs in again
    // and resumes by itself, without a reload, soon.
    test.restart_node().await;
    let back = Instant::now();
    chat.wait_online().await;
    let reconnected = back.elapsed();
    eprintln!(
        "node_restart_shows_offline_then_reconnects: live again {reconnected:?} after the node \
         was back ({} attempts while it was down, {down_for:?} into the test)",
        attempts.load(Ordering::SeqCst)
    );
    assert!(
        reconnected < FEDERATION_WAIT,
        "sanity bound: {reconnected:?}"
    );
    chat.assert_not_reloaded("erin-doc").await;
    chat.wait_active_room_or_select(&room).await;
    chat.wait_message(before, DEFAULT_WAIT).await;
    let after = "sent after the node came back";
    chat.send(after).await;
    chat.shot("reconnected").await;
    chat.assert_not_reloaded("erin-doc").await;

    chat.close().await;
    test.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_on_a_hostname_explains_the_secure_origin() {
    let Some(setup) = setup("plain_http_on_a_hostname_explains_the_secure_origin") else {
        return;
    };
    cluster::init_logs();
    // The host name resolves to loopback inside this browser only (no DNS), and the node answers
    // to it as an operator would configure it.
    let host = "causerie.test";
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let data = tempfile::tempdir().expect("data dir");
    let hosts = vec![format!("{host}:{port}"), format!("127.0.0.1:{port}")];
    let running = start_node_answering(data.path(), &format!("127.0.0.1:{port}"), hosts)
        .await
        .expect("node");
    let mut options = LaunchOptions::desktop("remote");
    options
        .args
        .push(format!("--host-resolver-rules=MAP {host} 127.0.0.1"));
    let browser = Browser::launch(&setup, options).await.or_fail("launch");
    let remote = format!("http://{host}:{port}/");
    let chat = Chat {
        browser,
        url: remote.clone(),
    };
    chat.browser
        .goto(&remote)
        .await
        .or_fail("open by host name");
    chat.wait_ready().await;
    let shown = chat
        .run(
            "what the page shows",
            "const shown = (id) => !document.getElementById(id).hidden;
             return {secure: window.isSecureContext,
                     explained: shown('needs-secure-origin'),
                     onboarding: shown('onboarding'),
                     text: document.getElementById('needs-secure-origin').textContent};",
            vec![],
        )
        .await;
    chat.shot("secure origin needed").await;
    assert_eq!(shown["secure"], json!(false), "{shown}");
    assert_eq!(shown["explained"], json!(true), "{shown}");
    assert_eq!(shown["onboarding"], json!(false), "{shown}");
    let text = shown["text"].as_str().unwrap_or_default();
    for expected in [
        format!("http://{host}:{port}"),
        "https".to_owned(),
        "reverse proxy".to_owned(),
        format!("ssh -L {port}:127.0.0.1:{port} you@{host}"),
        format!("http://localhost:{port}/"),
    ] {
        assert!(text.contains(&expected), "{expected:?} in {text:?}");
    }

    // The same node from this computer's own address is a secure origin: onboarding.
    chat.browser
        .goto(&format!("http://127.0.0.1:{port}/"))
        .await
        .or_fail("open locally");
    chat.wait_ready().await;
    chat.element("#onboarding:not([hidden]) #handle-input")
        .await;
    assert_eq!(
        chat.run(
            "explanation hidden",
            "return document.getElementById('needs-secure-origin').hidden;",
            vec![],
        )
        .await,
        json!(true)
    );

    chat.close().await;
    running.shutdown().await;
}
