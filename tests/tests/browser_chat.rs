//! Browser tests of chatting in the web client (specs/client-api.md): headless Chromium driven
//! over WebDriver ([`causerie_tests::browser`]) against in-process nodes of the cluster harness,
//! each serving the web client at `http://127.0.0.1:<port>/`.
//!
//! - `two_users_two_nodes_chat_live`: alice on node 0 and bob on node 1 chat in one room, live,
//!   with emoji (typed through the page, see [`causerie_tests::browser::chat::type_text`]).
//! - `reload_keeps_identity`: the identity survives a reload and can still send.
//!
//! Skipped with a SKIP line when Chromium is missing, unless `CAUSERIE_REQUIRE_BROWSER=1`.
//! Screenshots go to `target/browser-artifacts/<test>/`.

use causerie_tests::browser::DEFAULT_WAIT;
use causerie_tests::browser::chat::{Chat, ChatTest, FEDERATION_WAIT, OrFail, only};
use serde_json::json;

/// `from` sends `text` and `to` sees it live: the same event id, from a sender shown by one of
/// `sender`'s names.
async fn delivered_live(from: &Chat, to: &Chat, text: &str, sender: [&str; 2]) {
    let sent_id = from.send(text).await;
    let seen = to.wait_message(text, FEDERATION_WAIT).await;
    assert_eq!(seen.event_id, sent_id);
    assert!(
        sender.iter().any(|name| seen.sender.contains(name)),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_two_nodes_chat_live() {
    let Some(test) = ChatTest::start("two_users_two_nodes_chat_live", 2).await else {
        return;
    };
    let (alice, bob) = tokio::join!(test.open("alice", 0), test.open("bob", 1));
    alice.shot("onboarding").await;

    let alice_key = alice.create_identity("alice", "Alice").await;
    alice.shot("identity created").await;
    let room = alice.create_room("Lobby", true).await;
    let link = alice.invite_link().await;
    alice.shot("room created with invite link").await;

    let bob_key = bob.create_identity("bob", "Bob").await;
    assert_ne!(alice_key, bob_key);
    bob.join(&link, &room).await;
    bob.shot("joined by link").await;
    alice.wait_online().await;
    bob.wait_online().await;

    // Live delivery: neither page reloads between sending and seeing.
    alice.mark_document("alice-doc").await;
    bob.mark_document("bob-doc").await;
    let hello = "Hello Bob, this is Alice on node 0 👋";
    let answer = "Hi Alice! Bob here, from node 1 🦀 (and 🔑 in the middle).";
    delivered_live(&alice, &bob, hello, ["Alice", "alice"]).await;
    bob.shot("sees alice live").await;

    delivered_live(&bob, &alice, answer, ["Bob", "bob"]).await;
    alice.shot("sees bob live").await;
    alice.assert_not_reloaded("alice-doc").await;
    bob.assert_not_reloaded("bob-doc").await;

    // Both timelines show both messages, in the same order, with the same ids.
    let a = alice.timeline().await.or_fail("alice timeline");
    let b = bob.timeline().await.or_fail("bob timeline");
    let a = only(&a, &[hello, answer]);
    let b = only(&b, &[hello, answer]);
    assert_eq!(a.len(), 2, "alice shows each message once: {a:?}");
    assert_eq!(a, b, "both timelines agree");
    assert_eq!(a[0].body, hello);
    assert_eq!(a[1].body, answer);

    // Both members are listed on both sides.
    for chat in [&alice, &bob] {
        chat.browser
            .wait_script(
                "alice and bob in #members",
                FEDERATION_WAIT,
                "const users = Array.from(document.querySelectorAll('#members .member[data-user]'))
                   .map(m => m.dataset.user);
                 return users.includes(arguments[0]) && users.includes(arguments[1]);",
                vec![json!(alice_key), json!(bob_key)],
            )
            .await
            .or_fail("members");
    }

    // A phone-sized screen: the timeline and composer stay usable, nothing overflows sideways.
    bob.browser
        .set_viewport_size(375, 667)
        .await
        .or_fail("phone size");
    bob.wait_until(
        "a 375x667 viewport the user cannot pan sideways",
        "// The user cannot pan sideways when nothing overflows, or when the viewport clips
         // (overflow-x of html, or of body when html leaves it visible: CSS propagation).
         const x = e => getComputedStyle(e).overflowX;
         const clips = v => v === 'hidden' || v === 'clip';
         const root = x(document.documentElement);
         const seen = {inner: [window.innerWidth, window.innerHeight],
                       scrollWidth: document.documentElement.scrollWidth,
                       overflowX: [root, x(document.body)]};
         const viewportClips = clips(root) || (root === 'visible' && clips(seen.overflowX[1]));
         const ok = seen.inner[0] === 375 && seen.inner[1] === 667
             && (seen.scrollWidth <= seen.inner[0] || viewportClips);
         if (!ok) {
             seen.wide = Array.from(document.querySelectorAll('body *'))
                 .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
                 .slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className);
         }
         return ok || {waiting: seen};",
    )
    .await;
    let composer = bob.element("#composer").await;
    assert!(
        composer.is_displayed().await.or_fail("composer shown"),
        "composer on a phone"
    );
    let outside = bob
        .run(
            "fit on the phone screen",
            "const messages = document.querySelectorAll('#timeline .message');
             const targets = [document.querySelector('#composer'),
                              document.querySelector('#send-button'),
                              messages[messages.length - 1]];
             return targets.filter(e => {
                 const r = e.getBoundingClientRect();
                 return r.left < 0 || r.top < 0 || r.right > window.innerWidth
                     || r.bottom > window.innerHeight;
             }).map(e => e.id || e.className);",
            vec![],
        )
        .await;
    assert_eq!(
        outside,
        json!([]),
        "composer, send button and newest message fit on screen"
    );
    bob.shot("phone 375x667").await;

    tokio::join!(alice.close(), bob.close());
    test.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_identity() {
    let Some((test, chat)) = ChatTest::start_with_browser("reload_keeps_identity", "carol").await
    else {
        return;
    };
    let user = chat.create_identity("carol", "Carol").await;
    let room = chat.create_room("Notes", false).await;
    let before = "written before the reload";
    chat.send(before).await;
    chat.shot("before reload").await;

    chat.browser.refresh().await.or_fail("reload");
    chat.wait_ready().await;
    let after_user = chat.wait_me("carol").await;
    assert_eq!(after_user, user, "the same key after the reload");
    assert!(
        chat.browser
            .find("#create-identity")
            .await
            .or_fail("onboarding")
            .is_none()
            || !chat
                .element("#create-identity")
                .await
                .is_displayed()
                .await
                .or_fail("onboarding shown"),
        "onboarding is not offered again"
    );
    chat.wait_active_room_or_select(&room).await;
    chat.wait_message(before, DEFAULT_WAIT).await;
    chat.shot("after reload").await;

    // Keyboard only this time: Enter sends (WebDriver's Enter key is U+E007).
    let after = "written after the reload";
    chat.fill("#composer", &format!("{after}\u{E007}")).await;
    chat.wait_message(after, DEFAULT_WAIT).await;
    chat.wait_until(
        "the composer to be emptied after sending",
        "return document.querySelector('#composer').value === '';",
    )
    .await;
    let shown = chat.timeline().await.or_fail("timeline");
    let bodies: Vec<&str> = only(&shown, &[before, after])
        .iter()
        .map(|m| m.body.as_str())
        .collect();
    assert_eq!(bodies, [before, after]);
    chat.shot("sent after reload").await;

    chat.close().await;
    test.finish().await;
}
