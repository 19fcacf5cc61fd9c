//! Browser test of every dialog of the web client (one runner, `node/src/web/assets/dialogs.js`):
//! each is opened from the control a user would use, cancelled once (nothing changes), given a
//! refused answer where it checks its input (the dialog stays open and says why), and answered
//! (the change reaches the node, checked through the client API by another user).
//!
//! Dialogs: display name, invite by key, power level, delete message, kick, ban (value prompts),
//! the moderator panel's reason-and-duration dialog and content rules editor, key export (new
//! passphrase, asked twice), key import (passphrase), forget identity (confirmation with an
//! alternative). The moderation done on the way must read in the timeline
//! as people would write it ("alice banned bob: spam", "alice unbanned bob"). Skipped with a SKIP line when Chromium is missing, unless
//! `CAUSERIE_REQUIRE_BROWSER=1`.

use std::time::Duration;

use causerie_tests::api::ApiUser;
use causerie_tests::browser::chat::{Chat, ChatTest, OrFail};
use causerie_tests::cluster;
use serde_json::{Value, json};

/// How long the node may take to show what the browser did.
const NODE_WAIT: Duration = Duration::from_secs(30);

/// Answers the open dialog `name` with its submit button and checks it refuses: it stays open
/// and its error line contains `error`.
async fn expect_refusal(chat: &Chat, name: &str, error: &str) {
    chat.click(&format!("#{name}-ok")).await;
    chat.wait_until_with(
        &format!("#{name}-dialog to refuse with {error:?}"),
        "const dialog = document.getElementById(arguments[0] + '-dialog');
         const shown = document.getElementById(arguments[0] + '-error').textContent;
         return (dialog.open && shown.includes(arguments[1])) || {waiting: shown};",
        vec![json!(name), json!(error)],
    )
    .await;
}

/// Cancels the open dialog `name` and waits until it is closed.
async fn cancel(chat: &Chat, name: &str) {
    chat.click(&format!("#{name}-cancel")).await;
    chat.wait_dialog(name, false).await;
}

/// How long a dialog may take to open after the menu item that opens it was clicked, before the
/// click is taken as lost (the row re-rendered under the pointer) and made again.
const DIALOG_OPEN_GRACE: Duration = Duration::from_secs(10);
/// Most clicks on a menu item for one dialog.
const MAX_OPEN_ATTEMPTS: usize = 3;

/// Picks `label` in the "⋯" menu of `scope` and waits until it opened dialog `name`. A click
/// lost to a re-render is made again (at most [`MAX_OPEN_ATTEMPTS`] clicks, each reported).
async fn menu_dialog(chat: &Chat, scope: &str, label: &str, name: &str) {
    for attempt in 1..=MAX_OPEN_ATTEMPTS {
        chat.menu_item(scope, label).await;
        let opened = chat
            .browser
            .wait_script(
                &format!("#{name}-dialog to open after {label:?}"),
                DIALOG_OPEN_GRACE,
                "return document.getElementById(arguments[0] + '-dialog').open || {waiting: false};",
                vec![json!(name)],
            )
            .await;
        match opened {
            Ok(_) => return,
            Err(e) if attempt < MAX_OPEN_ATTEMPTS => {
                eprintln!("{label}: no dialog after click {attempt} ({e}); clicking again");
            }
            Err(e) => panic!("{label}: {e}"),
        }
    }
}

/// Waits until the node reports `user`'s `field` in `room` as `expected`.
async fn wait_member(observer: &ApiUser, room: &str, user: &str, field: &str, expected: Value) {
    let what = format!("{field} of {user} to be {expected} on the node");
    cluster::wait_until(NODE_WAIT, &what, || async {
        observer
            .member(room, user)
            .await
            .is_some_and(|m| m[field] == expected)
    })
    .await
    .or_fail(&what);
}

/// The event `id` of `room` as the node serves it in history, if it is in the newest page.
async fn event(observer: &ApiUser, room: &str, id: &str) -> Option<Value> {
    observer.shown_among(room, id, 200).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dialog_cancels_refuses_and_submits() {
    let Some((test, chat, alice, room, bob)) =
        ChatTest::alice_and_bob("every_dialog_cancels_refuses_and_submits", "Dialogs").await
    else {
        return;
    };
    let node = test.node(0);
    let carol = ApiUser::register(node, "carol", "Carol").await;
    let bob_says = "a message from bob";
    let bob_message = chat.wait_said(&bob, &room, bob_says).await;
    let bob_row = format!("#members .member[data-user='{}']", bob.key());
    chat.element(&bob_row).await;

    // Display name (in the profile view): at most 64 bytes.
    chat.open_profile().await;
    chat.click("#edit-profile").await;
    chat.wait_dialog("prompt", true).await;
    chat.fill("#prompt-input", &"é".repeat(33)).await;
    expect_refusal(&chat, "prompt", "At most 64 bytes").await;
    cancel(&chat, "prompt").await;
    assert_eq!(
        bob.member(&room, &alice).await.expect("alice")["display_name"],
        json!("Alice")
    );
    chat.click("#edit-profile").await;
    chat.wait_dialog("prompt", true).await;
    chat.fill("#prompt-input", "Alice ✨ Dialog").await;
    chat.click("#prompt-ok").await;
    chat.wait_dialog("prompt", false).await;
    wait_member(
        &bob,
        &room,
        &alice,
        "display_name",
        json!("Alice ✨ Dialog"),
    )
    .await;
    chat.close_profile().await;
    chat.shot("display name set").await;

    // Invite by key: 64 lowercase hex digits.
    chat.click("#members .member-invite button").await;
    chat.wait_dialog("prompt", true).await;
    chat.fill("#prompt-input", "carol").await;
    expect_refusal(&chat, "prompt", "64 lowercase hex digits").await;
    cancel(&chat, "prompt").await;
    assert!(bob.member(&room, &carol.key()).await.is_none());
    chat.click("#members .member-invite button").await;
    chat.wait_dialog("prompt", true).await;
    chat.fill("#prompt-input", &carol.key()).await;
    chat.click("#prompt-ok").await;
    wait_member(&bob, &room, &carol.key(), "membership", json!("invite")).await;

    // Power level: a whole number within the moderator's own power.
    menu_dialog(&chat, &bob_row, "Change power…", "prompt").await;
    chat.fill("#prompt-input", "lots").await;
    expect_refusal(&chat, "prompt", "whole number").await;
    chat.fill("#prompt-input", "-1").await;
    expect_refusal(&chat, "prompt", "whole number").await;
    cancel(&chat, "prompt").await;
    assert_eq!(
        bob.member(&room, &bob.key()).await.expect("bob")["power"],
        json!(0)
    );
    menu_dialog(&chat, &bob_row, "Change power…", "prompt").await;
    chat.fill("#prompt-input", "50").await;
    chat.click("#prompt-ok").await;
    wait_member(&bob, &room, &bob.key(), "power", json!(50)).await;
    chat.shot("bob is a moderator").await;

    // Delete a message, with a reason.
    let message_row = format!("#timeline .message[data-event-id='{bob_message}']");
    menu_dialog(&chat, &message_row, "Delete message", "prompt").await;
    cancel(&chat, "prompt").await;
    let kept = event(&bob, &room, &bob_message)
        .await
        .expect("bob's message");
    assert_eq!(kept["redacted"], json!(false), "{kept}");
    menu_dialog(&chat, &message_row, "Delete message", "prompt").await;
    chat.fill("#prompt-input", "off topic").await;
    chat.click("#prompt-ok").await;
    let what = "bob's message to be redacted on the node";
    cluster::wait_until(NODE_WAIT, what, || async {
        event(&bob, &room, &bob_message)
            .await
            .is_some_and(|e| e["redacted"] == json!(true))
    })
    .await
    .or_fail(what);

    // Kick and ban, each with a reason.
    for (label, reason, membership) in [("Kick…", "cool down", "leave"), ("Ban…", "spam", "ban")]
    {
        menu_dialog(&chat, &bob_row, label, "prompt").await;
        cancel(&chat, "prompt").await;
        assert_eq!(
            bob.member(&room, &bob.key()).await.expect("bob")["membership"],
            json!("join"),
            "{label} cancelled"
        );
        menu_dialog(&chat, &bob_row, label, "prompt").await;
        chat.fill("#prompt-input", reason).await;
        chat.click("#prompt-ok").await;
        wait_member(&carol, &room, &bob.key(), "membership", json!(membership)).await;
        if membership == "leave" {
            bob.join(&room).await;
            wait_member(&carol, &room, &bob.key(), "membership", json!("join")).await;
        }
    }
    chat.shot("bob banned").await;

    // Unban (no dialog); the timeline tells the story as people would write it, names and
    // reasons included.
    chat.menu_item(&bob_row, "Unban").await;
    wait_member(&carol, &room, &bob.key(), "membership", json!("leave")).await;
    let story = [
        "invited carol",
        "made bob a moderator (power 50)",
        "deleted a message by bob: off topic",
        "removed bob from the room: cool down",
        "banned bob: spam",
        "unbanned bob",
    ];
    chat.wait_until_with(
        "the moderation notices in the timeline",
        "const notices = Array.from(document.querySelectorAll('#timeline .notice'))
             .map(n => n.textContent.toLowerCase());
         const missing = arguments[0].filter(s => !notices.some(n => n.includes(s)));
         return missing.length === 0 || {waiting: {missing, notices: notices.slice(-10)}};",
        vec![json!(story)],
    )
    .await;
    chat.shot("moderation told in the timeline").await;

    // The moderator panel's dialog (a reason, within 1,024 bytes): kick bob from the panel.
    bob.join(&room).await;
    wait_member(&carol, &room, &bob.key(), "membership", json!("join")).await;
    chat.open_panel("members").await;
    chat.panel_member_action(&bob.key(), "Kick…").await;
    chat.wait_dialog("moderate", true).await;
    cancel(&chat, "moderate").await;
    assert_eq!(
        bob.member(&room, &bob.key()).await.expect("bob")["membership"],
        json!("join"),
        "kick from the panel cancelled"
    );
    chat.panel_member_action(&bob.key(), "Kick…").await;
    chat.wait_dialog("moderate", true).await;
    chat.fill("#moderate-reason", &"é".repeat(513)).await;
    expect_refusal(&chat, "moderate", "At most 1024 bytes").await;
    chat.fill("#moderate-reason", "second warning").await;
    chat.click("#moderate-ok").await;
    chat.wait_dialog("moderate", false).await;
    wait_member(&carol, &room, &bob.key(), "membership", json!("leave")).await;
    let removed = carol.member(&room, &bob.key()).await.expect("bob");
    assert_eq!(removed["membership"], json!("leave"), "{removed}");
    chat.shot("bob kicked from the panel").await;

    // The content rules editor: numbers are whole and within the rules' bounds.
    chat.panel_tab("rules").await;
    chat.click("#rules-edit").await;
    chat.wait_dialog("rules", true).await;
    cancel(&chat, "rules").await;
    let info = carol.room_info(&room).await;
    assert_eq!(info["content_rules"], json!({}), "{info}");
    chat.click("#rules-edit").await;
    chat.wait_dialog("rules", true).await;
    chat.fill("#rules-max-bytes", "lots").await;
    expect_refusal(&chat, "rules", "a whole number").await;
    chat.fill("#rules-max-bytes", "500").await;
    chat.fill("#rules-slow-mode", "86401").await;
    expect_refusal(&chat, "rules", "Slow mode").await;
    chat.fill("#rules-slow-mode", "").await;
    chat.fill("#rules-words", "forbidden").await;
    chat.click("#rules-ok").await;
    chat.wait_dialog("rules", false).await;
    let rules = json!({"max_message_bytes": 500, "blocked_words": ["forbidden"]});
    let what = "the content rules on the node";
    cluster::wait_until(NODE_WAIT, what, || async {
        carol.room_info(&room).await["content_rules"] == rules
    })
    .await
    .or_fail(what);
    chat.wait_until(
        "the rules in words in the panel",
        "const text = document.getElementById('moderation-rules-summary').textContent;
         return text.includes('500 bytes') && text.includes('forbidden') || {waiting: text};",
    )
    .await;
    chat.shot("content rules saved").await;
    chat.close_panel().await;

    // Key export (in the profile view): a new passphrase, asked twice, at least 8 characters.
    chat.open_profile().await;
    chat.click("#export-key").await;
    chat.wait_dialog("passphrase", true).await;
    chat.fill("#passphrase-input", "short").await;
    chat.fill("#passphrase-confirm", "short").await;
    expect_refusal(
        &chat,
        "passphrase",
        "at least 8 characters (this one has 5)",
    )
    .await;
    chat.fill("#passphrase-input", "🔑 twelve chars").await;
    chat.fill("#passphrase-confirm", "🔑 twelve charz").await;
    expect_refusal(&chat, "passphrase", "differ").await;
    cancel(&chat, "passphrase").await;
    let downloads = chat.browser.downloads_dir();
    assert_eq!(
        std::fs::read_dir(&downloads)
            .map(Iterator::count)
            .unwrap_or(0),
        0,
        "a cancelled export saves nothing"
    );
    let (file, _) = chat.exported_secret("🔑 twelve chars", &alice).await;
    let kept = tempfile::tempdir().expect("temp dir");
    let key_file = kept.path().join("alice.json");
    std::fs::copy(&file, &key_file).expect("keep the key file");

    // Key import: cancelling the passphrase keeps the identity and the session.
    chat.choose_key_file(&key_file).await;
    chat.wait_dialog("passphrase", true).await;
    expect_refusal(&chat, "passphrase", "Enter a passphrase").await;
    cancel(&chat, "passphrase").await;
    assert_eq!(chat.wait_me("alice").await, alice);
    chat.wait_online().await;

    // Forget identity: Cancel keeps it, the alternative offers the export, OK forgets it.
    chat.click("#forget-identity").await;
    chat.wait_dialog("confirm", true).await;
    cancel(&chat, "confirm").await;
    assert_eq!(chat.wait_me("alice").await, alice);
    chat.click("#forget-identity").await;
    chat.wait_dialog("confirm", true).await;
    chat.click("#confirm-alternative").await;
    chat.wait_dialog("passphrase", true).await;
    cancel(&chat, "passphrase").await;
    chat.wait_dialog("confirm", false).await;
    assert_eq!(chat.wait_me("alice").await, alice);
    chat.click("#forget-identity").await;
    chat.wait_dialog("confirm", true).await;
    chat.click("#confirm-ok").await;
    chat.wait_dialog("confirm", false).await;
    let onboarding = "#onboarding:not([hidden]) #onboarding-form:not([hidden]) #handle-input";
    chat.element(onboarding).await;
    chat.browser.refresh().await.or_fail("reload");
    chat.wait_ready().await;
    chat.element(onboarding).await;
    assert!(
        chat.browser.find("#me").await.or_fail("#me").is_none(),
        "no identity after forgetting it"
    );
    chat.shot("identity forgotten").await;

    chat.close().await;
    test.finish().await;
}
