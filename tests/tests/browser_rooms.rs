//! Browser tests of the web client's shell, conversation first (node/src/web/assets/rooms.js,
//! notify.js, identity.js, dialogs.js, text.js): the room list on top with unread and mention
//! counts and a count in the tab's title; "New room", "Join" and the profile as dialogs, used
//! with the keyboard alone (Tab, Enter, Escape), that close on success and show errors inside in
//! plain words with the reason in a details line; full handles; members in words with a menu
//! that offers a direct message; a moderator alerted to a knock; a knock that reads as the
//! success it is. On a desktop and on a 390x844 phone, each screen checked with axe-core (0
//! violations) and kept as a screenshot. Skipped with a SKIP line when Chromium is missing,
//! unless `CAUSERIE_REQUIRE_BROWSER=1`.

use std::time::Duration;

use causerie_tests::api::ApiUser;
use causerie_tests::browser::DEFAULT_WAIT;
use causerie_tests::browser::chat::{ARROW_DOWN, Chat, ChatTest, ENTER, ESCAPE, OrFail, TAB};
use serde_json::{Value, json};

/// How long a live event may take to reach the page.
const LIVE_WAIT: Duration = Duration::from_secs(30);

/// The id of the active room in the room list (rooms or direct messages).
async fn active_room(chat: &Chat) -> String {
    let room = chat
        .wait_until(
            "an active room",
            "const item = document.querySelector('#room-list .room-item.active, #dm-list .room-item.active');
             return item ? item.dataset.roomId : null;",
        )
        .await;
    room.as_str().unwrap_or_default().to_owned()
}

/// The tab's title.
async fn title(chat: &Chat) -> String {
    let value = chat.run("title", "return document.title;", vec![]).await;
    value.as_str().unwrap_or_default().to_owned()
}

/// Waits until the error line `#<id>` says `words` in plain words, its details line names
/// `reason`, and no error line of the page shows a reason name instead of words.
async fn wait_plain_error(chat: &Chat, id: &str, words: &str, reason: &str) {
    chat.wait_text(id, &[words], DEFAULT_WAIT).await;
    chat.wait_text(
        &format!("{id}-detail"),
        &[&format!("Details: {reason}")],
        DEFAULT_WAIT,
    )
    .await;
    let shown = chat
        .run(
            "error text",
            "return document.getElementById(arguments[0]).textContent;",
            vec![json!(id)],
        )
        .await;
    let shown = shown.as_str().unwrap_or_default();
    assert!(
        !shown.contains(reason),
        "#{id} shows words, not the code: {shown:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_first_with_counts_dialogs_and_plain_words() {
    let Some((test, chat)) =
        ChatTest::start_with_browser("rooms_first_with_counts_dialogs_and_plain_words", "alice")
            .await
    else {
        return;
    };
    let node = test.node(0);
    chat.axe_check("welcome").await;

    // A refused handle reads as a sentence; its code is in the details line.
    chat.fill("#handle-input", "Not OK").await;
    chat.click("#create-identity").await;
    wait_plain_error(
        &chat,
        "onboarding-error",
        "A handle is 1 to 32 characters",
        "bad_handle",
    )
    .await;
    let alice = chat.create_identity("alice", "Alice").await;

    // The profile button names the user with the full handle, never cut.
    let me = chat
        .run(
            "me",
            "const me = document.getElementById('me');
             const handle = me.querySelector('.handle');
             return [me.textContent, handle ? handle.scrollWidth <= handle.clientWidth : false];",
            vec![],
        )
        .await;
    assert_eq!(me, json!(["Alice@alice", true]), "name and full handle");
    chat.axe_check("signed in, no room yet").await;

    // Keyboard only: "New room" opens a dialog; an empty name is refused inside it; a named
    // room is created, the dialog closes, and the keyboard is in the room's composer.
    chat.tab_to("#new-room-open").await;
    chat.press(ENTER).await;
    chat.wait_dialog("new-room", true).await;
    chat.wait_focus("#new-room-name").await;
    chat.press(ENTER).await;
    chat.wait_text("new-room-error", &["Give the room a name."], DEFAULT_WAIT)
        .await;
    chat.wait_dialog("new-room", true).await;
    chat.axe_check("new room dialog refusing an empty name")
        .await;
    chat.press("Lobby").await;
    chat.press(TAB).await;
    chat.press(TAB).await;
    chat.wait_focus("#new-room-public").await;
    chat.press(" ").await;
    chat.tab_to("#create-room").await;
    chat.press(ENTER).await;
    chat.wait_dialog("new-room", false).await;
    let lobby = active_room(&chat).await;
    chat.wait_focus("#composer").await;
    chat.shot("room created from the keyboard").await;

    // "Join": text that names no room is refused inside the dialog in words; Escape closes it
    // and the focus goes back to the button that opened it.
    chat.tab_to("#join-open").await;
    chat.press(ENTER).await;
    chat.wait_dialog("join", true).await;
    chat.wait_focus("#join-link-input").await;
    chat.press("lobby").await;
    chat.press(ENTER).await;
    wait_plain_error(
        &chat,
        "join-error",
        "Paste an invite link",
        "bad_join_target",
    )
    .await;
    chat.axe_check("join dialog refusing a text").await;
    chat.press(ESCAPE).await;
    chat.wait_dialog("join", false).await;
    chat.wait_focus("#join-open").await;

    // The profile: identity details, key and data tools; Tab stays inside; Escape closes it.
    chat.shift_tab().await;
    chat.shift_tab().await;
    chat.wait_focus("#profile-open").await;
    chat.press(ENTER).await;
    chat.wait_dialog("profile", true).await;
    chat.wait_text("me-handle", &["@alice"], DEFAULT_WAIT).await;
    chat.wait_text("me-node", &["this node"], DEFAULT_WAIT)
        .await;
    chat.wait_text("me-assurance", &["verified key"], DEFAULT_WAIT)
        .await;
    for _ in 0..12 {
        chat.press(TAB).await;
        let inside = chat
            .run(
                "focus in the profile",
                "return document.getElementById('profile-dialog').contains(document.activeElement);",
                vec![],
            )
            .await;
        assert_eq!(
            inside,
            json!(true),
            "Tab stays in the profile: {}",
            chat.focused().await
        );
    }
    chat.axe_check("profile and settings").await;
    chat.press(ESCAPE).await;
    chat.wait_dialog("profile", false).await;
    chat.wait_focus("#profile-open").await;

    // Bob joins; his row reads in words, and his menu offers a direct message.
    let bob = ApiUser::register(node, "bob", "Bob").await;
    bob.join(&lobby).await;
    let bob_row = format!("#members .member[data-user='{}']", bob.key());
    chat.element(&bob_row).await;
    chat.wait_until_with(
        "bob's row in words",
        "const row = document.querySelector(arguments[0]);
         const text = row ? row.textContent : '';
         return (text.includes('Bob') && text.includes('@bob · home node this node, verified key')) || {waiting: text};",
        vec![json!(bob_row)],
    )
    .await;
    chat.click(&format!("{bob_row} .menu-button")).await;
    chat.wait_focus(&format!("{bob_row} .menu-item")).await;
    let first = chat.focused().await;
    assert!(
        first.contains("Send a direct message"),
        "the menu starts with the direct message: {first}"
    );
    chat.press(ARROW_DOWN).await;
    chat.press(ESCAPE).await;
    chat.wait_focus(&format!("{bob_row} .menu-button")).await;
    chat.axe_check("members in words").await;

    // The direct message: a two-member invite-only room with the DM flag, listed under the
    // other person's name; bob is invited to it and sees who it is with.
    chat.menu_item(&bob_row, "Send a direct message").await;
    let dm = chat
        .wait_until(
            "the direct message open, under bob's name",
            "const item = document.querySelector('#dm-list .room-item.active');
             return item && item.textContent.includes('bob') ? item.dataset.roomId : {waiting: item && item.textContent};",
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(dm, lobby);
    let rooms = bob.call("GET", "/rooms", Value::Null).await;
    let invited = rooms["rooms"]
        .as_array()
        .and_then(|rooms| rooms.iter().find(|r| r["room"] == json!(dm)).cloned())
        .expect("bob sees the direct message");
    assert_eq!(invited["membership"], json!("invite"), "{invited}");
    assert_eq!(invited["dm"]["with"], json!(alice), "{invited}");
    assert_eq!(invited["join_rule"], json!("invite"), "{invited}");
    chat.shot("direct message started").await;
    chat.axe_check("direct message").await;

    // Desktop notifications: off until turned on in the profile (the browser's permission is
    // asked on that click only).
    chat.allow_notifications().await;
    chat.open_profile().await;
    chat.wait_text(
        "notify-toggle",
        &["Desktop notifications: off"],
        DEFAULT_WAIT,
    )
    .await;
    chat.click("#notify-toggle").await;
    chat.wait_text(
        "notify-toggle",
        &["Desktop notifications: on"],
        DEFAULT_WAIT,
    )
    .await;
    chat.close_profile().await;

    // Unread and mention counts: with another room open, bob writes twice in the lobby, once
    // naming @alice; the lobby counts both, one a mention, and so does the tab's title.
    let quiet = chat.create_room("Quiet", false).await;
    bob.say(&lobby, "hello everyone").await;
    bob.say(&lobby, "hi @alice, look at this").await;
    chat.wait_room_item(&lobby, &[("unread", "2"), ("mentions", "1")])
        .await;
    chat.wait_room_item(&quiet, &[("unread", "0")]).await;
    let shown = title(&chat).await;
    assert!(shown.starts_with("(1!) Quiet"), "title: {shown}");
    let notified = chat
        .browser
        .wait_script(
            "a desktop notification of the mention",
            LIVE_WAIT,
            "return window.__notifications.length ? window.__notifications : null;",
            vec![],
        )
        .await
        .or_fail("notified");
    assert_eq!(
        notified,
        json!([["Bob mentioned you in Lobby", "hi @alice, look at this"]]),
        "one notification, for the mention only"
    );
    chat.axe_check("unread and mention counts").await;

    // Opening the lobby reads it: its counts and the title's go.
    chat.click(&format!(
        "#room-list .room-item[data-room-id='{lobby}'] .room-button"
    ))
    .await;
    chat.wait_active_room(&lobby, DEFAULT_WAIT).await;
    chat.wait_room_item(&lobby, &[("unread", "0"), ("mentions", "0")])
        .await;
    chat.wait_until(
        "the title without a count",
        "return document.title === 'Lobby · Causerie' || {waiting: document.title};",
    )
    .await;

    // A knock on a room alice moderates: the room and the Moderation button say one waits.
    let door = create_knock_room(&chat, "Door").await;
    let carol = ApiUser::register(node, "carol", "Carol").await;
    carol.must(&door, json!({ "action": "knock" })).await;
    chat.wait_room_item(&door, &[("alerts", "1")]).await;
    chat.wait_text("moderation-alerts", &["1"], LIVE_WAIT).await;
    chat.shot("a knock waits for a moderator").await;
    chat.axe_check("moderator alerted").await;
    // Letting carol in answers it.
    let carol_row = format!("#members .member[data-user='{}']", carol.key());
    chat.menu_item(&carol_row, "Let in (invite)").await;
    chat.wait_room_item(&door, &[("alerts", "0")]).await;
    assert_eq!(
        carol
            .call("GET", &format!("/rooms/{door}"), Value::Null)
            .await["membership"],
        json!("invite"),
        "carol is let in"
    );

    chat.close().await;
    test.finish().await;
}

/// Creates a room that takes members by knocking through the "New room" dialog; returns its id.
async fn create_knock_room(chat: &Chat, name: &str) -> String {
    chat.open_dialog("#new-room-open", "new-room").await;
    chat.fill("#new-room-name", name).await;
    chat.run(
        "join rule",
        "document.getElementById('new-room-private-rule').value = 'knock';",
        vec![],
    )
    .await;
    chat.click("#create-room").await;
    chat.wait_dialog("new-room", false).await;
    chat.wait_until_with(
        &format!("room {name} active"),
        "const item = document.querySelector('#room-list .room-item.active');
         return item && item.textContent.includes(arguments[0]) ? item.dataset.roomId : null;",
        vec![json!(name)],
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_knock_is_a_success_and_the_drawer_takes_the_keyboard() {
    let Some(test) = ChatTest::start(
        "phone_knock_is_a_success_and_the_drawer_takes_the_keyboard",
        1,
    )
    .await
    else {
        return;
    };
    let node = test.node(0);
    let alice = ApiUser::register(node, "alice", "Alice").await;
    let door = alice.create_room("Door", "knock").await;

    let chat = Chat::open_mobile(&test.setup, "dave", node).await;
    chat.axe_check("welcome on a phone").await;
    let dave = chat.create_identity("dave", "Dave").await;
    chat.axe_check("signed in on a phone").await;

    // The room list is a drawer: its toggle opens it with the keyboard, and Join opens the
    // dialog over the whole width.
    chat.tab_to("#toggle-sidebar").await;
    chat.press(ENTER).await;
    chat.wait_until(
        "the room list drawer open",
        "return document.getElementById('sidebar').classList.contains('open');",
    )
    .await;
    chat.shot("room list drawer").await;
    chat.axe_check("room list drawer").await;
    chat.tab_to("#join-open").await;
    chat.press(ENTER).await;
    chat.wait_dialog("join", true).await;
    chat.press(&door).await;
    chat.press(ENTER).await;

    // Asking to join is a success: the dialog closes, no error is shown, the room is listed as
    // asked, and it says a moderator must let dave in.
    chat.wait_dialog("join", false).await;
    chat.wait_room_item(&door, &[]).await;
    chat.wait_until_with(
        "the room listed as asked to join, without an error",
        "const item = [...document.querySelectorAll('#room-list .room-item')].find(i => i.dataset.roomId === arguments[0]);
         const errors = [...document.querySelectorAll('.error')].map(e => e.textContent).filter(Boolean);
         const status = document.getElementById('timeline-status').textContent;
         return (item && item.textContent.includes('asked to join') && errors.length === 0
                 && status.includes('a moderator') ) || {waiting: [item && item.textContent, errors, status]};",
        vec![json!(door)],
    )
    .await;
    chat.shot("knocked, not an error").await;
    chat.axe_check("knocked").await;

    // Let in: the room says dave is invited; Join (the room bar's button) enters it.
    alice
        .must(&door, json!({ "action": "invite", "user": dave }))
        .await;
    chat.wait_text("timeline-status", &["You are invited"], LIVE_WAIT)
        .await;
    chat.wait_text("leave-room", &["Join"], LIVE_WAIT).await;
    chat.click("#leave-room").await;
    chat.browser
        .wait_script(
            "the composer open to dave",
            LIVE_WAIT,
            "const c = document.getElementById('composer');
             return (!c.disabled && document.getElementById('leave-room').textContent === 'Leave') || {waiting: c.placeholder};",
            vec![],
        )
        .await
        .or_fail("joined");
    chat.send("in, from a phone").await;

    // The profile fills the phone's screen and passes axe-core.
    chat.open_profile().await;
    let fits = chat
        .run(
            "profile size",
            "const r = document.getElementById('profile-dialog').getBoundingClientRect();
             return [Math.round(r.width), window.innerWidth, document.documentElement.scrollWidth];",
            vec![],
        )
        .await;
    assert_eq!(fits, json!([390, 390, 390]), "the profile fills the width");
    chat.shot("profile on a phone").await;
    chat.axe_check("profile on a phone").await;
    chat.press(ESCAPE).await;
    chat.wait_dialog("profile", false).await;

    chat.close().await;
    test.finish().await;
}
