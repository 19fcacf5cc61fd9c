//! Browser tests of accountability in the web client (specs/accountability.md §1.4, §7, §8.1)
//! on real nodes and a real Chromium:
//! - a member reported from the member list's "⋯" menu (with their latest message as evidence)
//!   and the room reported from the room bar, each signed in the browser: the room's review
//!   queue holds the member's message, the operator's queue both reports, "My reports" lists
//!   them; once the reporter's rate limit is spent, the refusal stays in the dialog in plain
//!   words with the reason in its details line;
//! - a moderator sets the join rule to "attested" (a refresh of the room's details before Save,
//!   here a member joining, keeps the choice) and denies the other node's attestations in the
//!   moderator panel: a user of that node is refused joining in plain words; removed from the
//!   denylist, the same user joins;
//! - "Export my data" saves the user's messages and registration record; "Erase my data…"
//!   (confirmed) redacts the messages, which another member's browser then shows deleted, and
//!   says what the operator keeps and until when.
//!
//! Skipped with a SKIP line when Chromium is missing, unless `CAUSERIE_REQUIRE_BROWSER=1`.

use std::time::Duration;

use causerie_crypto::NodeKey;
use causerie_crypto::report::Queue;
use causerie_tests::api::ApiUser;
use causerie_tests::browser::DEFAULT_WAIT;
use causerie_tests::browser::chat::{Chat, ChatTest, FEDERATION_WAIT, OrFail};
use causerie_tests::cluster;
use serde_json::{Value, json};

/// How long the node may take to show what the browser did.
const NODE_WAIT: Duration = Duration::from_secs(30);

/// The user's reports as the node lists them.
async fn reports(user: &ApiUser) -> Vec<Value> {
    user.call("GET", "/reports", Value::Null).await["reports"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Picks `category` in the open report dialog, types `words` and sends.
async fn answer_report(chat: &Chat, category: &str, words: &str) {
    chat.wait_dialog("report", true).await;
    let chosen = chat
        .run(
            "category",
            "const select = document.getElementById('report-category');
             select.value = arguments[0];
             return select.value;",
            vec![json!(category)],
        )
        .await;
    assert_eq!(chosen, json!(category));
    chat.fill("#report-text", words).await;
    chat.click("#report-ok").await;
}

/// Waits for the report confirmation under the timeline to start with `start`.
async fn wait_notice(chat: &Chat, start: &str) {
    chat.wait_until_with(
        "the report's confirmation",
        "const line = document.getElementById('report-notice');
         return (!line.hidden && line.textContent.startsWith(arguments[0])) || {waiting: line.textContent};",
        vec![json!(start)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_and_the_room_are_reported_from_the_web_client() {
    let Some((test, chat, alice_key, room, bob)) = ChatTest::alice_and_bob(
        "a_member_and_the_room_are_reported_from_the_web_client",
        "Accountable",
    )
    .await
    else {
        return;
    };
    let node = test.node(0);
    let bob_says = "you will regret posting here";
    let bob_message = chat.wait_said(&bob, &room, bob_says).await;
    let alice = chat
        .api_user(node, &alice_key, "accountability passphrase")
        .await;

    // A member: "Report…" in bob's menu of the member list, not in alice's own.
    let own = chat
        .run(
            "own menu",
            "const me = document.querySelector(\"#members .member[data-user='\" + arguments[0] + \"']\");
             return me ? [...me.querySelectorAll('.menu-item')].map((b) => b.textContent) : null;",
            vec![json!(alice_key)],
        )
        .await;
    assert!(
        !own.as_array()
            .is_some_and(|l| l.iter().any(|l| l == "Report…")),
        "alice may report herself: {own}"
    );
    let bob_row = format!("#members .member[data-user='{}']", bob.key());
    chat.menu_item(&bob_row, "Report…").await;
    chat.wait_dialog("report", true).await;
    chat.wait_text("report-title", &["Report Bob"], DEFAULT_WAIT)
        .await;
    chat.wait_text("report-about", &["latest message"], DEFAULT_WAIT)
        .await;
    let threat_words = "he threatens members";
    answer_report(&chat, "threats", threat_words).await;
    chat.wait_dialog("report", false).await;
    wait_notice(&chat, "Report about Bob sent").await;

    // The room: "Report room…" in the room bar.
    chat.click("#report-room").await;
    chat.wait_dialog("report", true).await;
    chat.wait_text("report-title", &["Report this room"], DEFAULT_WAIT)
        .await;
    let room_words = "this room exists to harass people";
    answer_report(&chat, "harassment", room_words).await;
    chat.wait_dialog("report", false).await;
    wait_notice(&chat, "Report about this room sent").await;

    // Both signed by alice, as asked, and received.
    cluster::wait_until(NODE_WAIT, "both reports received", || async {
        let listed = reports(&alice).await;
        listed.len() == 2
            && listed.iter().all(|r| {
                r["receipts"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r["status"] == json!("received")))
            })
    })
    .await
    .or_fail("reports on the node");
    let listed = reports(&alice).await;
    let by_target = |target: &str| {
        listed
            .iter()
            .find(|r| r["report"]["target"] == json!(target))
            .unwrap_or_else(|| panic!("no {target} report: {listed:?}"))
            .clone()
    };
    let member_report = by_target("user");
    let fields = &member_report["report"];
    assert_eq!(fields["category"], json!("threats"));
    assert_eq!(fields["text"], json!(threat_words));
    assert_eq!(fields["reporter"], json!(alice_key));
    assert_eq!(fields["user"], json!(bob.key()));
    assert_eq!(fields["room"], json!(room));
    let events = fields["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{fields}");
    assert_eq!(events[0]["id"], json!(bob_message));
    assert_eq!(events[0]["content"]["body"], json!(bob_says));
    let room_report = by_target("room");
    let fields = &room_report["report"];
    assert_eq!(fields["category"], json!("harassment"));
    assert_eq!(fields["text"], json!(room_words));
    assert_eq!(fields["room"], json!(room));
    assert_eq!(fields["user"], Value::Null);
    assert_eq!(fields["events"], json!([]));

    // The room's review queue (alice moderates it) holds bob's message from the member report;
    // the operator's queue holds both reports.
    let member_id = member_report["id"].as_str().expect("id").to_owned();
    let room_id = room_report["id"].as_str().expect("id").to_owned();
    let review = alice
        .call("GET", &format!("/rooms/{room}/review"), Value::Null)
        .await;
    let items = review["items"].as_array().expect("items");
    assert!(
        items
            .iter()
            .any(|i| i["source"] == json!(format!("report:{member_id}"))
                && i["event"]["id"] == json!(bob_message)
                && i["state"] == json!("reported")),
        "{review}"
    );
    let received = test.cluster.nodes[0]
        .running()
        .reports
        .received(Some(Queue::Operator), None, 100)
        .await
        .expect("operator queue");
    let queued: Vec<String> = received.iter().map(|r| r.report.id().to_string()).collect();
    assert!(
        queued.contains(&member_id) && queued.contains(&room_id),
        "{queued:?}"
    );

    // "My reports" lists both, each with what it is about and its answer.
    chat.open_profile().await;
    chat.click("#my-reports").await;
    chat.wait_dialog("reports", true).await;
    chat.wait_until_with(
        "both reports in My reports",
        "const item = (id) => document.querySelector(\"#reports-list .report[data-report-id='\" + id + \"']\");
         const member = item(arguments[0]);
         const room = item(arguments[1]);
         if (!member || !room) return {waiting: document.getElementById('reports-list').textContent};
         const received = (i) => [...i.querySelectorAll('.report-status')].some((s) => s.textContent.endsWith(': received'));
         return (member.dataset.target === 'user' && member.textContent.includes(arguments[2])
                 && member.textContent.includes('threats') && received(member)
                 && room.dataset.target === 'room' && room.textContent.startsWith('The room')
                 && room.textContent.includes('harassment') && received(room))
             || {waiting: [member.textContent, room.textContent]};",
        vec![json!(member_id), json!(room_id), json!(bob_says)],
    )
    .await;
    chat.click("#reports-cancel").await;
    chat.wait_dialog("reports", false).await;
    chat.close_profile().await;

    // Spend the rest of alice's burst through the API: the next report from the browser is
    // refused, and the dialog says so in plain words, the reason in its details line.
    for n in 0..8 {
        let prepared = alice
            .call(
                "POST",
                "/reports/prepare",
                json!({ "target": "room", "category": "spam", "text": format!("filler {n}"), "room": room }),
            )
            .await;
        let signature = alice.sign_hex(&prepared["signing_input"]);
        alice
            .call(
                "POST",
                "/reports",
                json!({ "draft": prepared["draft"], "signature": signature }),
            )
            .await;
    }
    chat.click("#report-room").await;
    answer_report(&chat, "spam", "one too many").await;
    chat.wait_text(
        "report-error",
        &["Too many at once: try again in"],
        DEFAULT_WAIT,
    )
    .await;
    chat.wait_text(
        "report-error-detail",
        &["Details: rate_limited"],
        DEFAULT_WAIT,
    )
    .await;
    let open = chat
        .run(
            "dialog still open",
            "return document.getElementById('report-dialog').open && document.getElementById('report-text').value;",
            vec![],
        )
        .await;
    assert_eq!(
        open,
        json!("one too many"),
        "the dialog keeps the words after a refusal"
    );
    chat.click("#report-cancel").await;
    chat.wait_dialog("report", false).await;
    assert_eq!(
        reports(&alice).await.len(),
        10,
        "the refused report was taken"
    );

    test.finish().await;
}

/// Clicks "Add to the denylist…" and answers the dialog with `key`.
async fn deny(chat: &Chat, key: &str) {
    chat.click("#attesters-denied-add:not([hidden])").await;
    chat.wait_dialog("attester", true).await;
    chat.fill("#attester-key", key).await;
    chat.click("#attester-ok").await;
    chat.wait_dialog("attester", false).await;
}

/// Presses Join (with the link already typed) every few seconds until `room` is the active room
/// (`refusal` None) or the join form shows `refusal`: the other node may need a moment to hold
/// the room's latest join rules.
async fn join_until(chat: &Chat, room: &str, refusal: Option<&str>) {
    chat.browser
        .wait_script(
            "the join's answer",
            FEDERATION_WAIT,
            "const [room, refusal] = arguments;
             const active = [...document.querySelectorAll('#room-list .room-item.active')].some((i) => i.dataset.roomId === room);
             const error = document.getElementById('join-error').textContent;
             if (refusal === null ? active : error === refusal) return true;
             const button = document.getElementById('join-button');
             if (!button.disabled && performance.now() - (window.__joinPressed || 0) > 2000) {
               window.__joinPressed = performance.now();
               button.click();
             }
             return {waiting: error};",
            vec![json!(room), json!(refusal)],
        )
        .await
        .or_fail("join");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attester_denylist_set_in_the_panel_refuses_that_nodes_users() {
    let Some(test) = ChatTest::start(
        "an_attester_denylist_set_in_the_panel_refuses_that_nodes_users",
        2,
    )
    .await
    else {
        return;
    };
    let here = hex::encode(test.cluster.nodes[0].running().node.key().as_bytes());
    let other = hex::encode(test.cluster.nodes[1].running().node.key().as_bytes());
    let alice = test.open("alice", 0).await;
    alice.create_identity("alice", "Alice").await;
    let room = alice.create_room("Vouched", true).await;
    let link = alice.invite_link().await;

    // The panel's rules tab: who may join, nobody listed yet.
    alice.open_panel("rules").await;
    alice
        .wait_text(
            "join-trust-note",
            &["apply only with the join rule"],
            DEFAULT_WAIT,
        )
        .await;
    // The dialog checks the key, and "This node" fills in this node's.
    alice.click("#attesters-denied-add:not([hidden])").await;
    alice.wait_dialog("attester", true).await;
    alice.fill("#attester-key", "not a key").await;
    alice.click("#attester-ok").await;
    alice
        .wait_text("attester-error", &["64 hex digits"], DEFAULT_WAIT)
        .await;
    alice.click("#attester-this-node").await;
    alice
        .wait_until_with(
            "this node's key in the dialog",
            "const value = document.getElementById('attester-key').value;
             return value === arguments[0] || {waiting: value};",
            vec![json!(here)],
        )
        .await;
    alice.click("#attester-cancel").await;
    alice.wait_dialog("attester", false).await;

    // 64 hex digits that are no node's key: the node refuses, the panel says so in plain words.
    let bad = (0..=u8::MAX)
        .map(|b| [b; 32])
        .find(|bytes| NodeKey::from_bytes(bytes).is_err())
        .map(hex::encode)
        .expect("some 32 bytes are not a key");
    deny(&alice, &bad).await;
    alice
        .wait_text(
            "join-trust-error",
            &["That is not a valid node key."],
            NODE_WAIT,
        )
        .await;
    alice
        .wait_text(
            "join-trust-error-detail",
            &["Details: bad_denied_attester"],
            DEFAULT_WAIT,
        )
        .await;

    // Attested joins only, and never from the other node. The choice survives a refresh of the
    // room's details that lands before it is saved (here: Bob joining).
    alice
        .run(
            "join rule",
            "const select = document.getElementById('join-rule-select');
             select.value = 'attested';
             select.dispatchEvent(new Event('change', {bubbles: true}));",
            vec![],
        )
        .await;
    let bob = ApiUser::register(test.node(0), "bob", "Bob").await;
    bob.join(&room).await;
    alice.wait_text("members", &["Bob"], NODE_WAIT).await;
    alice
        .wait_until(
            "the chosen rule still shown after the refresh",
            "const value = document.getElementById('join-rule-select').value;
             return value === 'attested' || {waiting: value};",
        )
        .await;
    alice.click("#join-rule-save:not([hidden])").await;
    alice
        .wait_text("join-trust-status", &["The join rule is saved"], NODE_WAIT)
        .await;
    deny(&alice, &other).await;
    alice
        .wait_text("join-trust-status", &["is on the denylist"], NODE_WAIT)
        .await;
    // The room's details, fetched again, say the same.
    alice
        .browser
        .wait_script(
            "the attested join rule shown",
            NODE_WAIT,
            "const note = document.getElementById('join-trust-note').textContent;
             const rule = document.getElementById('join-rule-select').value;
             return (rule === 'attested' && !note.includes('apply only')) || {waiting: [rule, note]};",
            vec![],
        )
        .await
        .or_fail("join rule shown");
    let shown = alice
        .browser
        .wait_script(
            "the other node on the denylist",
            NODE_WAIT,
            "const row = document.querySelector(\"#attesters-denied .attester[data-node='\" + arguments[0] + \"']\");
             if (!row) return {waiting: document.getElementById('attesters-denied').textContent};
             const key = row.querySelector('.attester-key');
             return [key.textContent, key.title];",
            vec![json!(other)],
        )
        .await
        .or_fail("denylist row");
    assert_eq!(shown[1], json!(other), "the full key in the title");
    assert!(
        shown[0]
            .as_str()
            .is_some_and(|s| s.len() < 20 && other.starts_with(&s[..8])),
        "the key is shortened: {shown}"
    );
    alice.close_panel().await;

    // Carol, homed on the other node, is refused, in plain words.
    let carol = test.open("carol", 1).await;
    carol.create_identity("carol", "Carol").await;
    carol.open_join().await;
    carol.fill("#join-link-input", &link).await;
    let refusal = "This room does not accept members vouched for by your home node.";
    join_until(&carol, &room, Some(refusal)).await;
    carol
        .wait_text(
            "join-error-detail",
            &["Details: attestation_not_accepted"],
            DEFAULT_WAIT,
        )
        .await;

    // Removed from the denylist, she joins.
    alice.open_panel("rules").await;
    alice
        .panel_button(
            &format!("#attesters-denied .attester[data-node='{other}']"),
            "Remove",
        )
        .await;
    alice
        .wait_text("join-trust-status", &["is off the denylist"], NODE_WAIT)
        .await;
    alice.close_panel().await;
    carol.open_join().await;
    carol.fill("#join-link-input", &link).await;
    join_until(&carol, &room, None).await;
    let said = "vouched for and in";
    carol.send(said).await;
    alice.wait_message(said, FEDERATION_WAIT).await;

    test.finish().await;
}

/// The dates (`YYYY-MM-DD`) in `text`.
fn dates(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    for start in 0..bytes.len().saturating_sub(9) {
        let candidate = &bytes[start..start + 10];
        let shape = candidate.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
        if shape {
            out.push(String::from_utf8_lossy(candidate).into_owned());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_data_is_exported_and_erased_from_the_key_tools() {
    let Some((test, alice)) =
        ChatTest::start_with_browser("my_data_is_exported_and_erased_from_the_key_tools", "alice")
            .await
    else {
        return;
    };
    let node = test.node(0);
    let alice_key = alice.create_identity("alice", "Alice").await;
    let room = alice.create_room("Private matters", true).await;
    let link = alice.invite_link().await;
    let bob = test.open("bob", 0).await;
    bob.create_identity("bob", "Bob").await;
    bob.join(&link, &room).await;
    let said = ["my phone number is 0612345678", "and I live on Elm Street"];
    let mut ids = Vec::new();
    for text in said {
        ids.push(alice.send(text).await);
        bob.wait_message(text, DEFAULT_WAIT).await;
    }

    // Export: one JSON file with the account, the registration record and the messages.
    alice.open_profile().await;
    alice.click("#export-data:not([hidden])").await;
    let file = alice
        .browser
        .wait_download(DEFAULT_WAIT)
        .await
        .or_fail("export file");
    alice
        .wait_text(
            "key-tools-status",
            &["Exported your account and"],
            DEFAULT_WAIT,
        )
        .await;
    let export: Value =
        serde_json::from_slice(&std::fs::read(&file).expect("export file")).expect("JSON");
    assert_eq!(export["format"], json!(1));
    assert_eq!(export["user"], json!(alice_key));
    assert_eq!(export["account"]["handle"], json!("alice"));
    assert_eq!(export["account"]["display_name"], json!("Alice"));
    assert!(
        export["account"]["registered_ms"].as_u64().is_some(),
        "{}",
        export["account"]
    );
    let record = &export["record"];
    assert_eq!(record["user"], json!(alice_key));
    assert!(
        record["registration_time"]["at_ms"].is_u64()
            && (record["registration_time"]["expires_ms"].is_u64()
                || record["registration_time"]["expires_ms"].is_null()),
        "{record}"
    );
    let connections = record["connections"].as_array().expect("connections");
    assert!(!connections.is_empty(), "{record}");
    for connection in connections {
        assert!(
            connection["address"]
                .as_str()
                .is_some_and(|a| a.starts_with("127.0.0.1:")),
            "{connection}"
        );
        assert!(
            connection["kind"].is_string() && connection["at_ms"].is_u64(),
            "{connection}"
        );
        assert!(connection["expires_ms"].is_u64(), "{connection}");
    }
    assert!(export["retention"].is_object(), "{}", export["retention"]);
    let events = export["events"].as_array().expect("events");
    for (text, id) in said.iter().zip(&ids) {
        let event = events
            .iter()
            .find(|e| e["id"] == json!(id))
            .unwrap_or_else(|| panic!("{id} not exported"));
        assert_eq!(event["content"]["body"], json!(text), "{event}");
        assert_eq!(event["status"], json!("accepted"));
        assert!(event["bytes"].as_str().is_some_and(|b| !b.is_empty()));
    }
    assert!(
        events.iter().all(|e| e["author"] == json!(alice_key)),
        "only alice's events"
    );

    // Erase, after the confirmation: the messages are redacted, and the page says what the
    // operator keeps and until when.
    alice.click("#erase-data:not([hidden])").await;
    alice.wait_dialog("confirm", true).await;
    alice
        .wait_text("confirm-title", &["Erase your data?"], DEFAULT_WAIT)
        .await;
    alice.click("#confirm-ok").await;
    alice.wait_dialog("confirm", false).await;
    alice
        .wait_text(
            "key-tools-status",
            &[
                "Kept by the operator as the law requires",
                "registration time until",
                "from 127.0.0.1:",
            ],
            NODE_WAIT,
        )
        .await;
    let status = alice
        .run(
            "status",
            "return document.getElementById('key-tools-status').textContent;",
            vec![],
        )
        .await;
    let status = status.as_str().unwrap_or_default();
    assert!(!status.contains("Not redacted"), "{status}");
    let today = today();
    let kept = dates(status);
    assert!(
        !kept.is_empty() && kept.iter().all(|d| *d > today),
        "{status}"
    );

    // Bob's browser shows both messages deleted, and the node serves them redacted.
    bob.browser
        .wait_script(
            "alice's messages shown deleted to bob",
            NODE_WAIT,
            "const rows = arguments[0].map((id) => document.querySelector(\"#messages .message[data-event-id='\" + id + \"']\"));
             const text = document.getElementById('messages').textContent;
             return (rows.every((r) => r && r.classList.contains('redacted'))
                     && !arguments[1].some((t) => text.includes(t)))
                 || {waiting: rows.map((r) => r && r.className)};",
            vec![json!(ids), json!(said)],
        )
        .await
        .or_fail("redacted for bob");
    let dave = ApiUser::register(node, "dave", "Dave").await;
    dave.join(&room).await;
    let page = dave
        .call("GET", &format!("/rooms/{room}/messages"), Value::Null)
        .await;
    let served = page["events"].as_array().expect("events");
    for id in &ids {
        let event = served
            .iter()
            .find(|e| e["id"] == json!(id))
            .unwrap_or_else(|| panic!("{id} not served: {page}"));
        assert_eq!(event["redacted"], json!(true), "{event}");
        assert!(event["content"].get("body").is_none(), "{event}");
    }

    test.finish().await;
}

/// Today's date as `YYYY-MM-DD` (UTC), from the system clock.
fn today() -> String {
    let days = cluster::now_ms() / 86_400_000;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
