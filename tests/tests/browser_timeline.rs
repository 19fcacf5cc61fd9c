//! Browser test of the web client's timeline and composer (node/src/web/assets/timeline_view.js,
//! composer.js, markdown.js): alice in Chromium, bob through the client API, on one node.
//!
//! - Creating a room leaves one folded line of room changes, not six notices; a sender's
//!   messages in a row share one header.
//! - Rich text: emphasis, code, a link that opens in a new tab without referrer, an image shown
//!   as a link (never loaded).
//! - `@bo` offers bob; Tab completes; the message carries bob's key in `mentions`. Bob's reply
//!   mentioning alice is highlighted, with the quote of what it answers; a click on the quote
//!   shows the quoted message.
//! - Reactions: bob's shows with its count; alice adds hers and takes it back with the button.
//! - By keyboard only: arrows to a message, Tab to its menu, Reply; ArrowUp in the empty
//!   composer edits the last message ("edited" shows); React… with the picker.
//! - Deleting her own message leaves "message deleted".
//! - At 390×844 (a phone) the timeline does not overflow sideways.
//! - axe-core finds no violation, on the desktop and on the phone.
//!
//! `messages_written_offline_are_sent_in_order_once_the_node_is_back`: the node stops; three
//! messages written meanwhile show as pending and go out by themselves, in order, once it is
//! back (the outbox), without a reload and without asking.
//!
//! `typing_and_unread_messages_show_as_they_happen` (specs/signals.md): bob typing shows "Bob is
//! typing…" under alice's composer and goes when he stops; alice typing reaches bob's live stream,
//! and sending says she stopped; what bob writes while alice is in another room opens under a "New
//! messages" line, and reading it moves her read marker on the node (bob's stream shows it).
//!
//! Screenshots go to `target/browser-artifacts/<test>/`. Skipped with a SKIP line when
//! Chromium is missing, unless `CAUSERIE_REQUIRE_BROWSER=1`.

use causerie_tests::api::{ApiUser, StreamReader};
use causerie_tests::browser::DEFAULT_WAIT;
use causerie_tests::browser::chat::{Chat, ChatTest, FEDERATION_WAIT, OrFail, OwnNodeTest};
use causerie_tests::browser::timeline::{
    composer_value, focus_timeline, keys, message_id, press, tab_until, wait_focus_reads,
    wait_reaction, wait_row,
};
use serde_json::{Value, json};

/// The event `id` as the node lists it in `room`, seen by `user`.
async fn node_event(user: &ApiUser, room: &str, id: &str) -> Value {
    user.shown_among(room, id, 100)
        .await
        .unwrap_or_else(|| panic!("{id} is not in {room}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeline_groups_renders_and_relates_messages() {
    let Some((test, chat)) =
        ChatTest::start_with_browser("timeline_groups_renders_and_relates_messages", "alice").await
    else {
        return;
    };
    let node = test.node(0);
    let alice_key = chat.create_identity("alice", "Alice").await;
    let room = chat.create_room("Timeline", true).await;

    // Creating the room: one folded line of room changes.
    let notices = chat
        .wait_until(
            "the room's creation folded into one line",
            "const rows = Array.from(document.querySelectorAll('#timeline .notice'));
             const folded = rows.filter(r => r.classList.contains('notices'));
             return (rows.length === 1 && folded.length === 1 && Number(folded[0].dataset.count) >= 4)
                 ? [rows.length, folded[0].dataset.count, folded[0].textContent]
                 : {waiting: rows.map(r => r.textContent)};",
        )
        .await;
    assert!(
        notices[2]
            .as_str()
            .unwrap_or_default()
            .contains("created the room"),
        "{notices}"
    );

    let bob = ApiUser::register(node, "bob", "Bob").await;
    bob.join(&room).await;

    // One header for a run of one sender.
    let first = chat.send("first of a run").await;
    let second = chat.send("second of the run").await;
    wait_row(
        &chat,
        &first,
        "heads its run",
        "m.classList.contains('head')",
    )
    .await;
    wait_row(
        &chat,
        &second,
        "continues the run",
        "m.classList.contains('continued') && !m.querySelector('.meta:not(.compact)')",
    )
    .await;

    // Rich text.
    let markdown = "**bold** and `code` and [a link](https://example.org/page) and ![a cat](https://example.org/cat.png)";
    chat.type_and_send(markdown).await;
    let rendered = chat
        .wait_until(
            "the Markdown message rendered",
            "const body = Array.from(document.querySelectorAll('#timeline .message .body'))
                 .find(b => b.textContent.includes('bold and code'));
             if (!body) { return {waiting: 'no message'}; }
             const links = Array.from(body.querySelectorAll('a'))
                 .map(a => [a.textContent, a.getAttribute('href'), a.rel, a.target]);
             return [body.querySelector('strong')?.textContent, body.querySelector('code')?.textContent,
                     links, body.querySelectorAll('img').length];",
        )
        .await;
    assert_eq!(
        rendered,
        json!([
            "bold",
            "code",
            [
                [
                    "a link",
                    "https://example.org/page",
                    "noopener noreferrer",
                    "_blank"
                ],
                [
                    "Image: a cat",
                    "https://example.org/cat.png",
                    "noopener noreferrer",
                    "_blank"
                ]
            ],
            0
        ])
    );
    chat.shot("grouped messages and rich text").await;

    // A mention by completion: `@bo`, Tab.
    chat.fill("#composer", "@bo").await;
    chat.wait_until(
        "bob offered for @bo",
        "const list = document.querySelector('#composer-completion');
         return Boolean(list && !list.hidden && list.textContent.includes('@bob'));",
    )
    .await;
    chat.shot("mention completion").await;
    press(&chat, keys::TAB).await;
    press(&chat, "look at this").await;
    assert_eq!(composer_value(&chat).await, json!("@bob look at this"));
    press(&chat, keys::ENTER).await;
    let mention = message_id(&chat, "@bob look at this").await;
    let stored = node_event(&bob, &room, &mention).await;
    assert_eq!(stored["mentions"], json!([bob.key()]), "{stored}");

    // Bob replies and mentions alice: highlighted, with the quote.
    let reply = bob
        .must(
            &room,
            json!({"action": "message", "body": "@alice yes, the first one", "reply_to": first,
                   "mentions": [alice_key]}),
        )
        .await;
    let shown = wait_row(
        &chat,
        &reply,
        "a reply mentioning alice",
        "m.classList.contains('mentions-me') && m.querySelector('.mention.to-me')
         && (m.querySelector('.reply-quote')?.textContent || '').includes('first of a run')",
    )
    .await;
    assert_eq!(shown[0], json!("@alice yes, the first one"));
    chat.shot("a reply that mentions alice").await;
    chat.click(&format!(
        "#timeline .message[data-event-id='{reply}'] .reply-quote"
    ))
    .await;
    wait_row(
        &chat,
        &first,
        "shown by the quote",
        "m.classList.contains('flash') && document.activeElement === m",
    )
    .await;

    // Reactions: bob's, then alice's added and taken back with the button.
    bob.react(&room, &first, "👍").await;
    wait_reaction(&chat, &first, "bob's reaction", 1, false).await;
    let reaction = format!("#timeline .message[data-event-id='{first}'] .reaction");
    chat.click(&reaction).await;
    wait_reaction(&chat, &first, "alice's reaction added", 2, true).await;
    chat.shot("reactions").await;
    chat.click(&reaction).await;
    wait_reaction(&chat, &first, "alice's reaction taken back", 1, false).await;

    // Keyboard only: to bob's reply with the arrows, Tab to its menu, Reply.
    focus_timeline(&chat).await;
    press(&chat, keys::UP).await;
    chat.wait_until_with(
        "the newest message focused",
        "const a = document.activeElement;
         return Boolean(a && a.matches('.message[data-event-id]') && a.dataset.eventId === arguments[0]);",
        vec![json!(reply)],
    )
    .await;
    tab_until(&chat, ".menu-button", 6).await;
    press(&chat, keys::ENTER).await;
    wait_focus_reads(&chat, "Reply").await;
    press(&chat, keys::ENTER).await;
    chat.wait_until(
        "replying, the composer focused",
        "const mode = document.querySelector('#composer-mode');
         return Boolean(mode && !mode.hidden && mode.textContent.includes('Replying to')
             && document.activeElement === document.querySelector('#composer'));",
    )
    .await;
    press(&chat, &format!("answered by keyboard{}", keys::ENTER)).await;
    let answered = message_id(&chat, "answered by keyboard").await;
    wait_row(
        &chat,
        &answered,
        "the keyboard reply quotes bob",
        "(m.querySelector('.reply-quote')?.textContent || '').includes('yes, the first one')",
    )
    .await;
    assert_eq!(
        node_event(&bob, &room, &answered).await["reply_to"]["id"],
        json!(reply)
    );

    // ArrowUp in the empty composer edits the last message.
    press(&chat, keys::UP).await;
    chat.wait_until(
        "editing the last message",
        "const c = document.querySelector('#composer');
         return c.value === 'answered by keyboard' && !document.querySelector('#composer-mode').hidden;",
    )
    .await;
    press(&chat, &format!(", then edited{}", keys::ENTER)).await;
    wait_row(
        &chat,
        &answered,
        "edited",
        "m.querySelector('.body')?.textContent === 'answered by keyboard, then edited'
         && m.querySelector('.edited')",
    )
    .await;

    // React… by keyboard: the picker, Enter on 👍.
    focus_timeline(&chat).await;
    press(&chat, keys::UP).await;
    tab_until(&chat, ".menu-button", 6).await;
    press(&chat, keys::ENTER).await;
    press(&chat, keys::DOWN).await;
    wait_focus_reads(&chat, "React…").await;
    press(&chat, keys::ENTER).await;
    chat.wait_until(
        "the reaction picker focused",
        "return Boolean(document.activeElement?.closest('.reaction-picker'));",
    )
    .await;
    chat.shot("reaction picker").await;
    press(&chat, keys::ENTER).await;
    wait_row(
        &chat,
        &answered,
        "reacted by keyboard",
        "m.querySelector('.reaction')?.getAttribute('aria-pressed') === 'true'",
    )
    .await;
    chat.shot("reply, edit and reaction by keyboard").await;
    chat.axe_check("timeline with replies, mentions and reactions")
        .await;

    // Deleting her own message.
    chat.menu_item(
        &format!("#timeline .message[data-event-id='{second}']"),
        "Delete",
    )
    .await;
    chat.click("#confirm-ok").await;
    wait_row(
        &chat,
        &second,
        "deleted",
        "m.querySelector('.body.deleted')?.textContent === 'message deleted'",
    )
    .await;
    assert_eq!(
        node_event(&bob, &room, &second).await["deleted"],
        json!(true)
    );

    // A phone: nothing overflows sideways.
    chat.browser
        .set_viewport_size(390, 844)
        .await
        .or_fail("phone size");
    let overflow = chat
        .wait_until(
            "the timeline within the phone's width",
            "const t = document.querySelector('#timeline');
             const wide = Array.from(t.querySelectorAll('.message')).filter(m => m.scrollWidth > m.clientWidth + 1);
             return (t.scrollWidth <= t.clientWidth + 1 && wide.length === 0)
                 || {waiting: [t.scrollWidth, t.clientWidth, wide.length]};",
        )
        .await;
    assert_eq!(overflow, json!(true));
    chat.shot("phone 390x844").await;
    chat.axe_check("timeline on a phone").await;

    chat.close().await;
    test.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_written_offline_are_sent_in_order_once_the_node_is_back() {
    let Some(mut test) =
        OwnNodeTest::start("messages_written_offline_are_sent_in_order_once_the_node_is_back")
            .await
    else {
        return;
    };
    let chat = test.open("erin").await;
    chat.create_identity("erin", "Erin").await;
    let room = chat.create_room("Outbox", true).await;
    chat.send("written while online").await;
    chat.wait_online().await;
    chat.mark_document("outbox-doc").await;

    test.stop_node().await;
    chat.wait_until(
        "#connection[data-state=offline]",
        "const c = document.querySelector('#connection');
         return c && c.dataset.state === 'offline' || {waiting: c && c.dataset.state};",
    )
    .await;
    let queued = ["queued one", "queued two", "queued three"];
    for text in queued {
        chat.fill("#composer", text).await;
        press(&chat, keys::ENTER).await;
    }
    let pending = chat
        .wait_until(
            "three pending messages, waiting for the node",
            "const rows = Array.from(document.querySelectorAll('#timeline .message.pending'));
             const texts = rows.map(r => r.querySelector('.body').textContent);
             const waiting = rows.every(r => /Waiting/.test(r.querySelector('.pending-status').textContent));
             return (rows.length === 3 && waiting && document.querySelector('#composer').value === '')
                 ? texts : {waiting: rows.map(r => r.textContent)};",
        )
        .await;
    assert_eq!(pending, json!(queued));
    chat.shot("written while the node is down").await;

    test.restart_node().await;
    chat.wait_online().await;
    chat.wait_active_room_or_select(&room).await;
    for text in queued {
        chat.wait_message(text, FEDERATION_WAIT).await;
    }
    let shown = chat.timeline().await.or_fail("timeline");
    let order: Vec<&str> = shown
        .iter()
        .map(|m| m.body.as_str())
        .filter(|b| queued.contains(b))
        .collect();
    assert_eq!(order, queued, "sent once each, in the order written");
    chat.wait_until(
        "no pending message left",
        "return document.querySelectorAll('#timeline .message.pending').length === 0;",
    )
    .await;
    chat.assert_not_reloaded("outbox-doc").await;
    chat.shot("sent once the node is back").await;
    chat.close().await;
    test.finish().await;
}

/// Waits until the typing line under alice's composer reads `expected` ('' for none).
async fn wait_typing_line(chat: &Chat, expected: &str) {
    chat.browser
        .wait_script(
            &format!("the typing line to read {expected:?}"),
            FEDERATION_WAIT,
            "const line = document.getElementById('typing');
             const text = line ? line.textContent : null;
             return text === arguments[0] || {waiting: text};",
            vec![json!(expected)],
        )
        .await
        .or_fail("typing line");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_and_unread_messages_show_as_they_happen() {
    let Some((test, chat, alice, room, bob)) =
        ChatTest::alice_and_bob("typing_and_unread_messages_show_as_they_happen", "Signals").await
    else {
        return;
    };
    let mut bob_stream = StreamReader::open(&bob, "").await;

    // Bob types: alice reads it under her composer; he stops: the line goes.
    let answer = bob.typing(&room, true).await;
    assert_eq!(answer.status, 204, "{:?}", answer.body);
    wait_typing_line(&chat, "Bob is typing…").await;
    chat.shot("bob is typing").await;
    chat.axe_check("someone is typing").await;
    let answer = bob.typing(&room, false).await;
    assert_eq!(answer.status, 204, "{:?}", answer.body);
    wait_typing_line(&chat, "").await;

    // Alice types: bob's stream lists her. Sending says she stopped.
    chat.fill("#composer", "are you there, bob?").await;
    bob_stream
        .frame("typing", |d| {
            d["room"] == room.as_str() && StreamReader::typing_handles(d) == ["alice"]
        })
        .await;
    chat.click("#send-button").await;
    let asked = chat
        .wait_message("are you there, bob?", DEFAULT_WAIT)
        .await
        .event_id;
    bob_stream
        .frame("typing", |d| {
            d["room"] == room.as_str() && StreamReader::typing_handles(d).is_empty()
        })
        .await;
    // Seeing her own message at the bottom, alice has read the room up to it.
    bob_stream
        .frame("read", |d| {
            d["user"] == alice.as_str() && d["event"] == asked.as_str()
        })
        .await;

    // `:tad` offers 🎉 and Tab puts it in; a fenced block shows as code, kept literal.
    chat.click("#composer").await;
    press(&chat, "party :tad").await;
    chat.wait_until(
        "🎉 offered for :tad",
        "const list = document.querySelector('#composer-completion');
         return Boolean(list && !list.hidden && list.textContent.includes('🎉'));",
    )
    .await;
    press(&chat, keys::TAB).await;
    press(&chat, "time").await;
    assert_eq!(composer_value(&chat).await, json!("party 🎉 time"));
    press(&chat, keys::ENTER).await;
    chat.wait_message("party 🎉 time", DEFAULT_WAIT).await;
    let code = "```\nfn main() { println!(\"<b>hi</b>\"); }\n```";
    // Typed, a new line would need Shift+Enter (Enter sends): put the text in as a paste does.
    chat.run(
        "paste the code",
        "const composer = document.getElementById('composer');
         composer.value = arguments[0];
         composer.dispatchEvent(new Event('input', {bubbles: true}));",
        vec![json!(code)],
    )
    .await;
    chat.click("#send-button").await;
    let block = chat
        .wait_until(
            "the fenced block shown as code",
            "const pre = Array.from(document.querySelectorAll('#timeline .message .body pre code'))
                 .find(c => c.textContent.includes('fn main'));
             return pre ? [pre.textContent, pre.querySelectorAll('b').length] : {waiting: 'no block'};",
        )
        .await;
    assert_eq!(
        block,
        json!(["fn main() { println!(\"<b>hi</b>\"); }", 0]),
        "code kept literal"
    );
    chat.shot("emoji and a code block").await;

    // With another room open, bob answers three times: the room counts three unread; opening
    // it shows them under a "New messages" line, and alice's read marker moves to the last.
    let elsewhere = chat.create_room("Elsewhere", false).await;
    chat.wait_active_room(&elsewhere, DEFAULT_WAIT).await;
    let mut said = Vec::new();
    for body in ["yes, here", "sorry, I was away", "what is up?"] {
        said.push(bob.say(&room, body).await);
    }
    chat.wait_room_item(&room, &[("unread", "3")]).await;
    chat.click(&format!(
        "#room-list .room-item[data-room-id='{room}'] .room-button"
    ))
    .await;
    chat.wait_active_room(&room, DEFAULT_WAIT).await;
    let under_line = chat
        .wait_until(
            "the new messages line above bob's first unread message",
            "const lines = document.querySelectorAll('#messages .unread-line');
             if (lines.length !== 1) return {waiting: `${lines.length} lines`};
             const after = [];
             for (let row = lines[0].nextElementSibling; row; row = row.nextElementSibling) {
                 if (row.classList.contains('message')) after.push(row.dataset.eventId);
             }
             const before = [];
             for (let row = lines[0].previousElementSibling; row; row = row.previousElementSibling) {
                 if (row.classList.contains('message')) before.push(row.dataset.eventId);
             }
             return after.length === 3 ? {text: lines[0].textContent, after, before} : {waiting: after};",
        )
        .await;
    assert_eq!(under_line["text"], "New messages");
    assert_eq!(under_line["after"], json!(said), "bob's three, in order");
    assert_eq!(
        under_line["before"].as_array().map(Vec::len),
        Some(3),
        "what alice had read stays above the line: {under_line}"
    );
    assert_eq!(under_line["before"][2], json!(asked), "{under_line}");
    chat.shot("new messages under the line").await;
    chat.axe_check("new messages line").await;
    bob_stream
        .frame("read", |d| {
            d["user"] == alice.as_str() && d["event"] == json!(said.last())
        })
        .await;
    chat.wait_room_item(&room, &[("unread", "0")]).await;
    test.finish().await;
}
