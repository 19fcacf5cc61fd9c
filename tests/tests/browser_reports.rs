//! Browser test of abuse reports in the web client (node/src/web/assets/reports.js,
//! specs/accountability.md §1.1 and §1.4) on a real node and a real Chromium: bob (through the
//! client API) posts a message, alice reports it from the message's "⋯" menu and its dialog
//! (cancelled once first: nothing is sent), the node holds her signed report with bob's message
//! embedded, and her "My reports" view shows it with the node's answer in plain words (received,
//! then actioned once she deletes the message as the room's moderator). Skipped
//! with a SKIP line when Chromium is missing, unless `CAUSERIE_REQUIRE_BROWSER=1`.

use std::time::Duration;

use causerie_tests::api::ApiUser;
use causerie_tests::browser::DEFAULT_WAIT;
use causerie_tests::browser::chat::{Chat, ChatTest, OrFail};
use causerie_tests::cluster;
use serde_json::{Value, json};

/// How long the node may take to show what the browser did.
const NODE_WAIT: Duration = Duration::from_secs(30);

/// The menu item labels of the message `scope` (empty without a menu).
async fn menu_labels(chat: &Chat, scope: &str) -> Value {
    chat.run(
        "menu labels",
        "const item = document.querySelector(arguments[0]);
         return item ? [...item.querySelectorAll('.menu-item')].map((b) => b.textContent) : null;",
        vec![json!(scope)],
    )
    .await
}

/// Alice's reports as the node lists them to her.
async fn reports(alice: &ApiUser) -> Vec<Value> {
    alice.call("GET", "/reports", Value::Null).await["reports"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_reported_from_its_menu_and_listed_in_my_reports() {
    let Some((test, chat, alice_key, room, bob)) = ChatTest::alice_and_bob(
        "a_message_is_reported_from_its_menu_and_listed_in_my_reports",
        "Reports",
    )
    .await
    else {
        return;
    };
    let node = test.node(0);
    let bob_says = "cheap followers, click my link";
    let bob_message = chat.wait_said(&bob, &room, bob_says).await;
    let alice_says = "a message from alice";
    chat.send(alice_says).await;
    chat.wait_message(alice_says, DEFAULT_WAIT).await;

    // Alice's own message cannot be reported; bob's can.
    let bob_row = format!("#messages .message[data-event-id='{bob_message}']");
    let own = chat
        .run(
            "own menu",
            "return [...document.querySelectorAll('#messages .message.own .menu-item')].map((b) => b.textContent);",
            vec![],
        )
        .await;
    assert!(
        !own.as_array()
            .expect("labels")
            .iter()
            .any(|l| l == "Report…"),
        "alice is offered to report her own message: {own}"
    );
    // Alice created the room, so she may also delete it.
    assert_eq!(
        menu_labels(&chat, &bob_row).await,
        json!(["Reply", "React…", "Delete message", "Report…"])
    );

    // The key, to ask the node as alice.
    let alice = chat.api_user(node, &alice_key, "reports passphrase").await;

    // Cancelled: nothing is sent.
    chat.menu_item(&bob_row, "Report…").await;
    chat.wait_dialog("report", true).await;
    chat.fill("#report-text", "not sent").await;
    chat.click("#report-cancel").await;
    chat.wait_dialog("report", false).await;
    assert!(
        reports(&alice).await.is_empty(),
        "a cancelled report was sent"
    );

    // Reported: a category, the words, Send.
    chat.menu_item(&bob_row, "Report…").await;
    chat.wait_dialog("report", true).await;
    let labels = chat
        .run(
            "categories",
            "return [...document.querySelectorAll('#report-category option')].map((o) => [o.value, o.textContent]);",
            vec![],
        )
        .await;
    assert_eq!(
        labels[3],
        json!(["csam", "sexual content involving minors"]),
        "{labels}"
    );
    chat.run(
        "category",
        "document.getElementById('report-category').value = 'scam';",
        vec![],
    )
    .await;
    let words = "he sells fake followers";
    chat.fill("#report-text", words).await;
    chat.click("#report-ok").await;
    chat.wait_dialog("report", false).await;
    chat.wait_until(
        "the report's confirmation",
        "const line = document.getElementById('report-notice');
         return (!line.hidden && line.textContent.startsWith('Report sent')) || {waiting: line.textContent};",
    )
    .await;

    // The node holds it, signed by alice, with bob's message embedded, and its home node's
    // operator queue has received it.
    cluster::wait_until(NODE_WAIT, "the report received", || async {
        let listed = reports(&alice).await;
        listed.len() == 1
            && listed[0]["receipts"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["status"] == json!("received")))
    })
    .await
    .or_fail("report on the node");
    let listed = reports(&alice).await;
    let report = &listed[0]["report"];
    assert_eq!(report["category"], json!("scam"));
    assert_eq!(report["target"], json!("event"));
    assert_eq!(report["text"], json!(words));
    assert_eq!(report["room"], json!(room));
    assert_eq!(report["reporter"], json!(alice_key));
    assert_eq!(report["user"], json!(bob.key()));
    let events = report["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{report}");
    assert_eq!(events[0]["id"], json!(bob_message));
    assert_eq!(events[0]["content"]["body"], json!(bob_says));

    // "My reports": what, category, and the answer in plain words.
    chat.open_profile().await;
    chat.click("#my-reports").await;
    chat.wait_dialog("reports", true).await;
    let id = listed[0]["id"].as_str().expect("id").to_owned();
    chat.wait_until_with(
        "the report in My reports",
        "const item = document.querySelector(\"#reports-list .report[data-report-id='\" + arguments[0] + \"']\");
         if (!item) return {waiting: document.getElementById('reports-list').textContent};
         const statuses = [...item.querySelectorAll('.report-status')].map((s) => s.textContent);
         return (item.textContent.includes(arguments[1]) && item.textContent.includes('scam')
                 && statuses.some((s) => s.endsWith(': received'))) || {waiting: item.textContent};",
        vec![json!(id), json!(bob_says)],
    )
    .await;
    chat.click("#reports-cancel").await;
    chat.wait_dialog("reports", false).await;
    chat.close_profile().await;

    // Alice, a moderator of the room, deletes the message: the review queue counts the report
    // as actioned, and "My reports" says so.
    alice
        .must(&room, json!({ "action": "redact", "event": bob_message }))
        .await;
    cluster::wait_until(NODE_WAIT, "the report actioned", || async {
        reports(&alice).await[0]["receipts"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["status"] == json!("actioned")))
    })
    .await
    .or_fail("report actioned");
    chat.open_profile().await;
    chat.click("#my-reports").await;
    chat.wait_dialog("reports", true).await;
    chat.wait_until_with(
        "the report actioned in My reports",
        "const item = document.querySelector(\"#reports-list .report[data-report-id='\" + arguments[0] + \"']\");
         const statuses = item ? [...item.querySelectorAll('.report-status')].map((s) => s.textContent) : [];
         return statuses.some((s) => s.includes('moderators') && s.includes(': actioned: action was taken')) || {waiting: statuses};",
        vec![json!(id)],
    )
    .await;
    chat.click("#reports-cancel").await;
    chat.wait_dialog("reports", false).await;
    chat.close_profile().await;

    test.finish().await;
}
