//! Browser test of the moderator panel (node/src/web/assets/moderation_panel.js and its tabs)
//! and of what a moderated user reads (specs/moderation.md): two Chromium sessions on one real
//! node running the example classifier (scripts/classifier/example.py), alice the room's
//! creator and bob an ordinary member, with carol beside them through the client API. The
//! panel is offered to alice only; it names roles; what alice does there (mute, clear the review
//! queue, subscribe to a ban list and override one of its rules, block a word, lock down and
//! lift it, ban and purge, ban) reaches the node as signed events or review decisions, and
//! bob's screen says, in plain words, who did what, why and until when. Names and reasons are
//! hostile HTML and must stay text. Skipped with a SKIP line when Chromium is missing, unless
//! `CAUSERIE_REQUIRE_BROWSER=1`.

use std::time::Duration;

use std::path::{Path, PathBuf};

use causerie_node::config::{ClassifierFile, ConfigFile};
use causerie_tests::api::{ApiNode, ApiUser};
use causerie_tests::browser::DEFAULT_WAIT;
use causerie_tests::browser::chat::{self, Chat, OrFail};
use causerie_tests::cluster;
use serde_json::{Value, json};

/// How long the node may take to show what a browser did.
const NODE_WAIT: Duration = Duration::from_secs(30);

/// The phrase the example classifier refuses.
const BLOCKED_PHRASE: &str = "buy followers";

/// A node configuration running the example classifier on every room (fail open), refusing
/// [`BLOCKED_PHRASE`] and holding links from new accounts (every account of this test).
fn classifier_config() -> ConfigFile {
    let example: PathBuf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/classifier/example.py");
    ConfigFile {
        classifier: Some(ClassifierFile {
            program: PathBuf::from("python3"),
            args: vec![
                example.display().to_string(),
                "--block".to_owned(),
                BLOCKED_PHRASE.to_owned(),
            ],
            timeout_ms: Some(5_000),
            fail_mode: Some("fail_open".to_owned()),
            rooms: Default::default(),
        }),
        ..ConfigFile::default()
    }
}

/// A reason that would run script if it were ever parsed as HTML.
const HOSTILE_REASON: &str = "spam <img src=x onerror=\"window.__xss=1\">";

/// Waits until the node reports `user`'s membership in `room` as `membership`.
async fn wait_membership(observer: &ApiUser, room: &str, user: &str, membership: &str) {
    let what = format!("{user} to be {membership} on the node");
    cluster::wait_until(NODE_WAIT, &what, || async {
        observer
            .member(room, user)
            .await
            .is_some_and(|m| m["membership"] == json!(membership))
    })
    .await
    .or_fail(&what);
}

/// Asserts that nothing hostile ran in `chat`'s page and no element came from a reason.
async fn assert_inert(chat: &Chat) {
    let found = chat
        .run(
            "inert",
            "return [window.__xss || null,
                     document.querySelectorAll('#moderation-dialog img, #composer-form img, #timeline img').length];",
            vec![],
        )
        .await;
    assert_eq!(found, json!([null, 0]), "hostile text became HTML");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderator_panel_acts_and_the_member_reads_why() {
    let test = "moderator_panel_acts_and_the_member_reads_why";
    let Some(setup) = chat::setup(test) else {
        return;
    };
    cluster::init_logs();
    let mut node = ApiNode::start_configured(Vec::new(), classifier_config()).await;
    let (alice, bob) = tokio::join!(
        Chat::open(&setup, "alice", node.http),
        Chat::open(&setup, "bob", node.http)
    );
    let alice_key = alice.create_identity("alice", "Alice").await;
    let room = alice.create_room("Moderated", true).await;
    let link = alice.invite_link().await;
    let bob_key = bob.create_identity("bob", "Bob").await;
    bob.join(&link, &room).await;
    let carol = ApiUser::register(node.http, "carol", "Carol <b>bold</b>").await;
    carol.join(&room).await;
    bob.wait_online().await;
    let bob_says = "hello from bob";
    bob.send(bob_says).await;
    alice.wait_message(bob_says, DEFAULT_WAIT).await;

    // The panel is for those whose power allows moderation: not bob.
    alice.element("#moderation-open:not([hidden])").await;
    let offered = bob
        .run(
            "bob's moderation button",
            "return !document.getElementById('moderation-open').hidden;",
            vec![],
        )
        .await;
    assert_eq!(
        offered,
        json!(false),
        "an ordinary member is offered the panel"
    );

    // Members with their roles, names as text.
    alice.open_panel("members").await;
    alice.wait_panel_badge(&alice_key, "creator").await;
    alice.wait_panel_badge(&bob_key, "member").await;
    alice.wait_panel_badge(&carol.key(), "member").await;
    alice
        .wait_until_with(
            "carol's name shown as text",
            "const row = document.querySelector(\"#moderation-members-list li[data-user='\" + arguments[0] + \"']\");
             return (row && row.querySelector('.name').textContent === 'Carol <b>bold</b>'
                 && !row.querySelector('b')) || {waiting: row ? row.innerText : null};",
            vec![json!(carol.key())],
        )
        .await;
    alice.shot("panel members").await;

    // Mute bob for 10 minutes: the node has the mute, bob reads who, why and until when, and
    // cannot write; unmuted, he writes again.
    alice.panel_member_action(&bob_key, "Mute…").await;
    alice
        .answer_moderation("calm down", Some("10 minutes"))
        .await;
    let what = "bob's mute on the node";
    cluster::wait_until(NODE_WAIT, what, || async {
        carol.member(&room, &bob_key).await.is_some_and(|m| {
            m["muted"]["reason"] == json!("calm down") && m["muted"]["expires"].is_u64()
        })
    })
    .await
    .or_fail(what);
    alice.wait_panel_badge(&bob_key, "muted until").await;
    bob.wait_text(
        "composer-notice",
        &["You are muted by Alice until", "calm down"],
        NODE_WAIT,
    )
    .await;
    assert_eq!(
        bob.element("#composer")
            .await
            .property("disabled")
            .await
            .or_fail("disabled"),
        json!(true),
        "a muted member's composer is disabled"
    );
    bob.shot("bob reads that he is muted").await;
    alice.panel_member_action(&bob_key, "Unmute").await;
    bob.browser
        .wait_script(
            "bob's composer to be enabled again",
            NODE_WAIT,
            "return (!document.getElementById('composer').disabled
                     && document.getElementById('composer-notice').hidden) || {waiting: document.getElementById('composer-notice').textContent};",
            vec![],
        )
        .await
        .or_fail("unmuted");
    bob.send("back again").await;

    // The classifier: a blocked phrase is refused and bob reads why; links from his new account
    // wait in the review queue, and bob reads that they do. Alice clears the queue: one
    // approved (it reaches bob's screen), one rejected (it never does).
    bob.fill("#composer", &format!("{BLOCKED_PHRASE} here"))
        .await;
    bob.click("#send-button").await;
    bob.wait_text(
        "composer-error",
        &[
            "Your message was not sent",
            "filter refused it",
            BLOCKED_PHRASE,
        ],
        NODE_WAIT,
    )
    .await;
    let held = [
        "read https://example.org/first",
        "read https://example.org/second",
    ];
    for text in held {
        bob.type_and_send(text).await;
        // Held is not refused: it is said in the neutral status line, not as an error.
        bob.wait_text(
            "composer-status",
            &["waits for a moderator to review it"],
            NODE_WAIT,
        )
        .await;
        let error = bob
            .run(
                "composer error",
                "return document.getElementById('composer-error').textContent;",
                vec![],
            )
            .await;
        assert_eq!(error, "", "held is not an error");
    }
    bob.shot("bob's links wait for review").await;
    // The Moderation button tells alice that two wait for her.
    alice
        .wait_text("moderation-alerts", &["2"], NODE_WAIT)
        .await;
    alice.panel_tab("review").await;
    for text in held {
        alice
            .browser
            .wait_script(
                &format!("{text:?} in the review queue"),
                NODE_WAIT,
                "return Array.from(document.querySelectorAll('#moderation-review-list .review-item .body'))
                     .some(b => b.textContent === arguments[0]) || {waiting: document.getElementById('moderation-review-list').textContent};",
                vec![json!(text)],
            )
            .await
            .or_fail("review item");
    }
    alice.shot("review queue").await;
    alice.review_action(held[0], "Approve").await;
    alice.review_action(held[1], "Reject").await;
    alice
        .element("#moderation-review-empty:not([hidden])")
        .await;
    bob.wait_message(held[0], NODE_WAIT).await;
    let history = carol.bodies(&room).await;
    assert!(history.iter().any(|b| b == held[0]), "{history:?}");
    assert!(!history.iter().any(|b| b == held[1]), "{history:?}");
    alice.panel_tab("members").await;

    // Ban lists: dave keeps a list naming eve; alice subscribes the room from the panel (the
    // room id is checked first), eve can no longer write here, a rule dave adds later shows
    // in the panel as a change with its public reason, and ignoring eve's rule in this room
    // lets her write again.
    let dave = ApiUser::register(node.http, "dave", "Dave").await;
    let eve = ApiUser::register(node.http, "eve", "Eve").await;
    eve.join(&room).await;
    let list = dave.create_room("Spam list", "public").await;
    dave.must(
        &list,
        json!({"action": "banlist_rule", "rule": "r1", "target": {"user": eve.key()},
               "recommendation": "ban", "reason": "known spammer"}),
    )
    .await;
    alice.panel_tab("lists").await;
    alice.click("#banlist-subscribe").await;
    alice.wait_dialog("prompt", true).await;
    alice.fill("#prompt-input", "not a room").await;
    alice.click("#prompt-ok").await;
    alice
        .wait_text("prompt-error", &["64 lowercase hex digits"], DEFAULT_WAIT)
        .await;
    alice.fill("#prompt-input", &list).await;
    alice.click("#prompt-ok").await;
    alice.wait_dialog("prompt", false).await;
    let banlists = format!("/rooms/{room}/banlists");
    cluster::wait_until(NODE_WAIT, "the room to follow the list", || async {
        carol.call("GET", &banlists, Value::Null).await["lists"] == json!([list])
    })
    .await
    .or_fail("subscription");
    let prepare = format!("/api/v1/rooms/{room}/prepare");
    let may_write = |allowed: bool| {
        let (eve, prepare) = (&eve, &prepare);
        async move {
            let answer = eve
                .post(prepare, json!({"action": "message", "body": "eve again"}))
                .await;
            if allowed {
                answer.status == 200
            } else {
                answer.status == 403 && answer.reason() == "ban_list"
            }
        }
    };
    cluster::wait_until(NODE_WAIT, "eve refused by the list", || may_write(false))
        .await
        .or_fail("eve refused");
    alice
        .wait_text(
            "moderation-lists-list",
            &["Spam list", "known spammer"],
            NODE_WAIT,
        )
        .await;
    dave.must(
        &list,
        json!({"action": "banlist_rule", "rule": "r2", "target": {"handle": "spam*"},
               "recommendation": "ban", "reason": "spam bots"}),
    )
    .await;
    alice
        .browser
        .wait_script(
            "the list's new rule shown as a change",
            NODE_WAIT,
            "const change = document.querySelector(\"#moderation-lists-list .banlist-change[data-rule='r2']\");
             return (change && change.dataset.change === 'added' && change.textContent.includes('spam bots'))
                 || {waiting: document.getElementById('moderation-lists-list').textContent};",
            vec![],
        )
        .await
        .or_fail("list diff");
    alice.shot("ban list with its changes").await;
    alice
        .panel_button(
            "#moderation-lists-list .banlist-rule[data-rule='r1']",
            "Ignore here",
        )
        .await;
    cluster::wait_until(NODE_WAIT, "eve allowed again by the override", || {
        may_write(true)
    })
    .await
    .or_fail("override");
    alice.panel_tab("members").await;

    // Content rules and lockdown: alice blocks a word from the panel and bob reads why his
    // message was not sent; a lockdown makes the room invite only with slow mode, and bob
    // reads how long to wait; lifting it restores the join rule.
    alice.panel_tab("rules").await;
    alice.click("#rules-edit").await;
    alice.wait_dialog("rules", true).await;
    alice.fill("#rules-words", "forbidden").await;
    alice.click("#rules-ok").await;
    alice.wait_dialog("rules", false).await;
    let what = "the blocked word in the room's rules";
    cluster::wait_until(NODE_WAIT, what, || async {
        carol.room_info(&room).await["content_rules"]["blocked_words"] == json!(["forbidden"])
    })
    .await
    .or_fail(what);
    bob.type_and_send("this is forbidden").await;
    bob.wait_text(
        "composer-error",
        &["Your message was not sent: it contains a blocked word"],
        NODE_WAIT,
    )
    .await;
    bob.shot("bob reads that a word is blocked").await;
    alice.click("#lockdown-room").await;
    alice.wait_dialog("confirm", true).await;
    alice.click("#confirm-ok").await;
    alice.wait_dialog("confirm", false).await;
    let what = "the lockdown on the node";
    cluster::wait_until(NODE_WAIT, what, || async {
        let info = carol.room_info(&room).await;
        info["join_rule"] == json!("invite")
            && info["content_rules"]["slow_mode_ms"] == json!(30_000)
    })
    .await
    .or_fail(what);
    alice.element("#lockdown-lift:not([hidden])").await;
    for text in ["slow one", "slow two"] {
        bob.type_and_send(text).await;
    }
    bob.wait_text(
        "composer-error",
        &["Slow mode is on: try again in"],
        NODE_WAIT,
    )
    .await;
    bob.shot("bob reads how long to wait").await;
    alice.click("#lockdown-lift").await;
    let what = "the lockdown lifted on the node";
    cluster::wait_until(NODE_WAIT, what, || async {
        let info = carol.room_info(&room).await;
        info["join_rule"] == json!("public") && info["content_rules"].get("lockdown").is_none()
    })
    .await
    .or_fail(what);
    alice.panel_tab("members").await;

    // Ban and purge carol for 7 days: her message is deleted on bob's screen, and the timeline
    // tells what happened and why.
    let carol_says = "buy my coins";
    let carol_message = carol.say(&room, carol_says).await;
    bob.wait_message(carol_says, NODE_WAIT).await;
    alice
        .panel_member_action(&carol.key(), "Ban and purge…")
        .await;
    alice.answer_moderation("scam", Some("7 days")).await;
    wait_membership(&carol, &room, &carol.key(), "ban").await;
    let banned = carol.member(&room, &carol.key()).await.expect("carol");
    assert_eq!(banned["ban"]["purge"], json!(true), "{banned}");
    assert!(banned["ban"]["expires"].is_u64(), "{banned}");
    alice.wait_panel_badge(&carol.key(), "banned until").await;
    bob.browser
        .wait_script(
            "carol's message deleted and the purge told on bob's screen",
            NODE_WAIT,
            r##"const message = document.querySelector("#timeline .message[data-event-id='" + arguments[0] + "'] .body");
             const notices = Array.from(document.querySelectorAll('#timeline .notice')).map(n => n.textContent);
             const told = notices.some(n => /banned carol.* until .*deleted.*: scam/i.test(n));
             return (message && message.classList.contains('deleted') && told)
                 || {waiting: [message ? message.textContent : null, notices.slice(-2)]};"##,
            vec![json!(carol_message)],
        )
        .await
        .or_fail("purge on bob's screen");
    bob.shot("bob sees carol purged").await;

    // Ban bob with a hostile reason: the node has the ban, bob reads who and why.
    alice.panel_member_action(&bob_key, "Ban…").await;
    alice
        .answer_moderation(HOSTILE_REASON, Some("permanent"))
        .await;
    wait_membership(&carol, &room, &bob_key, "ban").await;
    alice.wait_panel_badge(&bob_key, "banned").await;
    bob.wait_text(
        "composer-notice",
        &["Alice banned you from this room", HOSTILE_REASON],
        NODE_WAIT,
    )
    .await;
    bob.shot("bob reads why he was banned").await;
    assert_inert(&alice).await;
    assert_inert(&bob).await;

    alice.close_panel().await;
    alice.close().await;
    bob.close().await;
    node.stop().await;
}
