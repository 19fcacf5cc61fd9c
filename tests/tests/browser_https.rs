//! The web client over HTTPS in headless Chromium (specs/client-api.md, "HTTPS" and "Invite
//! pages"): a node serves TLS itself (`[tls] mode = "files"`, a leaf for `causerie.test` signed
//! by a test authority made here) with `public_origin = https://causerie.test:<port>`. Chromium
//! resolves `causerie.test` to 127.0.0.1 (`--host-resolver-rules`) and trusts the test
//! authority through the NSS database of its `HOME` (no certificate check is turned off).
//!
//! - `register_join_by_https_link_and_chat`: alice registers at `https://causerie.test:<port>/`
//!   and creates a public room; its invite link is the web form; bob opens that link, registers,
//!   finds the join form prefilled, joins, and both see each other's messages live. A broken
//!   link gets the plain `400` page naming its reason.
//!
//! Skipped with a SKIP line when Chromium is missing, unless `CAUSERIE_REQUIRE_BROWSER=1`.
//! Screenshots go to `target/browser-artifacts/<test>/`.

#![allow(clippy::unwrap_used)]

use std::time::Instant;

use causerie_tests::browser::LaunchOptions;
use causerie_tests::browser::chat::{Chat, FEDERATION_WAIT, OrFail, only, setup};
use causerie_tests::tls::{self, TestCa, free_port};
use serde_json::json;

/// The test's domain, mapped to loopback in Chromium.
const DOMAIN: &str = "causerie.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_join_by_https_link_and_chat() {
    let Some(setup) = setup("register_join_by_https_link_and_chat") else {
        return;
    };
    causerie_tests::cluster::init_logs();
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new().unwrap();
    let files = ca.write_leaf(dir.path(), &[DOMAIN]).unwrap();
    let home = ca.browser_home().unwrap();
    let port = free_port();
    let origin = format!("https://{DOMAIN}:{port}");
    let served = tls::files_mode(&files.cert_file, &files.key_file);
    let config = tls::https_node_config(dir.path(), DOMAIN, port, served);
    let node = causerie_node::daemon::start(&config).await.unwrap();

    let options = |label: &str| LaunchOptions {
        args: vec![format!("--host-resolver-rules=MAP {DOMAIN} 127.0.0.1")],
        home: Some(home.path().to_owned()),
        ..LaunchOptions::desktop(label)
    };
    let alice = Chat::open_url(&setup, options("alice"), &format!("{origin}/")).await;
    let secure = alice
        .run(
            "origin",
            "return [location.origin, window.isSecureContext];",
            vec![],
        )
        .await;
    assert_eq!(secure, json!([origin, true]));
    alice.create_identity("alice", "Alice").await;
    alice.shot("registered over https").await;
    let room = alice.create_room("Lobby", true).await;
    let link = alice.invite_link().await;
    alice.shot("room with its https invite link").await;
    assert!(
        link.starts_with(&format!("{origin}/join/{room}?via=")),
        "{link}"
    );

    // Bob opens the invite link itself: the invite page is the web client with the link in
    // the join form, kept through sign-up.
    let bob = Chat::open_url(&setup, options("bob"), &link).await;
    bob.shot("invite page").await;
    bob.create_identity("bob", "Bob").await;
    let prefilled = bob
        .run(
            "prefilled join form",
            "return [document.querySelector('#join-link-input').value, location.pathname,
                     document.querySelector('#join-invite-hint').hidden];",
            vec![],
        )
        .await;
    assert_eq!(prefilled, json!([link, "/", false]));
    bob.shot("join form prefilled").await;
    bob.click("#join-button").await;
    bob.wait_active_room(&room, FEDERATION_WAIT).await;
    bob.shot("joined by https link").await;

    let hello = "Hello Bob, over https 🔒";
    let answer = "Hi Alice, the invite page worked.";
    let sent = alice.send(hello).await;
    assert_eq!(
        bob.wait_message(hello, FEDERATION_WAIT).await.event_id,
        sent
    );
    let sent = bob.send(answer).await;
    assert_eq!(
        alice.wait_message(answer, FEDERATION_WAIT).await.event_id,
        sent
    );
    alice.shot("sees bob").await;
    bob.shot("sees alice").await;
    let a = alice.timeline().await.or_fail("alice timeline");
    let b = bob.timeline().await.or_fail("bob timeline");
    assert_eq!(only(&a, &[hello, answer]), only(&b, &[hello, answer]));

    // A broken link: the plain page with the reason, not the web client.
    bob.browser
        .goto(&format!("{origin}/join/!abc?via=x"))
        .await
        .or_fail("bad link");
    let reason = bob
        .run(
            "reason",
            "const p = document.querySelector('#reason'); return p && p.textContent;",
            vec![],
        )
        .await;
    assert_eq!(reason, json!("bad_room_id"));
    bob.shot("bad invite link").await;

    alice.close().await;
    bob.close().await;
    node.shutdown().await;
    eprintln!(
        "register_join_by_https_link_and_chat: {:?}",
        started.elapsed()
    );
}
