//! Browser tests of the web client (issue 5; specs/client-api.md): headless Chromium driven over
//! WebDriver ([`causerie_tests::browser`]) against in-process nodes of the cluster harness, each
//! serving the web client at `http://127.0.0.1:<port>/`.
//!
//! - `webdriver_client_drives_a_page`: the WebDriver client itself, against a small page.
//! - `two_users_two_nodes_chat_live`: alice on node 0 and bob on node 1 chat in one room, live.
//! - `xss_corpus_is_inert`: a corpus of XSS payloads is shown as literal text and runs nothing;
//!   the page is served with a strict CSP and has no inline script.
//! - `reload_keeps_identity`: the identity survives a reload and can still send.
//! - `key_export_and_import_move_the_identity`: the passphrase-protected key file moves the
//!   identity to a fresh browser (a wrong passphrase is refused), and is the command line's
//!   file both ways.
//! - `node_restart_shows_offline_then_reconnects`: the page shows an unreachable node and
//!   resumes by itself when the node is back.
//!
//! The tests go through the web client's DOM contract (ids, classes and data attributes the web
//! client keeps stable, checked by `node/src/web.rs`), never its internals. Skipped with a SKIP line when Chromium is missing, unless
//! `CAUSERIE_REQUIRE_BROWSER=1`. Screenshots go to `target/browser-artifacts/<test>/`.

use std::time::{Duration, Instant};

use causerie_crypto::{KeyExport, UserSecret};
use causerie_node::config::{Config, ConfigFile, Overrides};
use causerie_node::daemon::{self, Running};
use causerie_tests::browser::{
    Browser, BrowserError, BrowserSetup, DEFAULT_WAIT, Element, LaunchOptions,
};
use causerie_tests::cluster::{self, Cluster};
use serde_json::{Value, json};

/// Patience for steps that cross the network between two nodes (join by link, live delivery).
const FEDERATION_WAIT: Duration = Duration::from_secs(60);

/// The browser setup for `test`, or `None` when the test is skipped (the setup said why).
fn setup(test: &str) -> Option<BrowserSetup> {
    BrowserSetup::from_env(test).unwrap_or_else(|e| panic!("{test}: {e} ({})", e.reason()))
}

/// Panics with the error's reason, so a failure names what was waited for.
trait OrFail<T> {
    fn or_fail(self, step: &str) -> T;
}

impl<T> OrFail<T> for Result<T, BrowserError> {
    fn or_fail(self, step: &str) -> T {
        self.unwrap_or_else(|e| panic!("{step}: {e} [{}]", e.reason()))
    }
}

impl<T> OrFail<T> for Result<T, cluster::HarnessError> {
    fn or_fail(self, step: &str) -> T {
        self.unwrap_or_else(|e| panic!("{step}: {e} [{}]", e.reason()))
    }
}

// ---------------------------------------------------------------------------------------------
// The WebDriver client on its own.
// ---------------------------------------------------------------------------------------------

const TEST_PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>driver test</title><script src="/page.js"></script></head>
<body><input id="name" value=""><button id="greet" data-kind="button">Greet</button>
<p id="out"></p><a id="download" href="/notes.txt" download="notes.txt">notes</a><ul id="list"><li class="item">one</li><li class="item">two</li></ul></body></html>"#;

const TEST_SCRIPT: &str = r#"
document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('greet').addEventListener('click', () => {
    document.getElementById('out').textContent = 'Hello, ' + document.getElementById('name').value;
  });
  setTimeout(() => { document.body.dataset.ready = '1'; }, 300);
});
"#;

/// A loopback server for the test page; returns its address.
async fn serve_test_page() -> std::net::SocketAddr {
    use axum::http::header::CONTENT_TYPE;
    let router = axum::Router::new()
        .route(
            "/",
            axum::routing::get(|| async {
                ([(CONTENT_TYPE, "text/html; charset=utf-8")], TEST_PAGE)
            }),
        )
        .route(
            "/notes.txt",
            axum::routing::get(|| async { ([(CONTENT_TYPE, "text/plain")], "downloaded notes") }),
        )
        .route(
            "/page.js",
            axum::routing::get(|| async { ([(CONTENT_TYPE, "text/javascript")], TEST_SCRIPT) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the test page server");
    let addr = listener.local_addr().expect("test page address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webdriver_client_drives_a_page() {
    let Some(setup) = setup("webdriver_client_drives_a_page") else {
        return;
    };
    let started = Instant::now();
    let addr = serve_test_page().await;
    let browser = Browser::launch(&setup, LaunchOptions::desktop("driver"))
        .await
        .or_fail("launch");
    browser
        .goto(&format!("http://{addr}/"))
        .await
        .or_fail("goto");
    // The ready flag comes 300 ms after load: the wait must poll, not check once.
    let ready = browser
        .wait_script(
            "the ready flag",
            DEFAULT_WAIT,
            "return document.body.dataset.ready",
            vec![],
        )
        .await
        .or_fail("ready");
    assert_eq!(ready, json!("1"));
    assert_eq!(
        browser.current_url().await.or_fail("url"),
        format!("http://{addr}/")
    );

    let name = browser
        .wait_element("#name", DEFAULT_WAIT)
        .await
        .or_fail("find #name");
    name.send_keys("wörld <b>&amp;</b> ☃").await.or_fail("type");
    assert_eq!(
        name.property("value").await.or_fail("value"),
        json!("wörld <b>&amp;</b> ☃")
    );
    let button = browser
        .find("#greet")
        .await
        .or_fail("find #greet")
        .expect("#greet");
    assert_eq!(
        button.attribute("data-kind").await.or_fail("attribute"),
        Some("button".to_owned())
    );
    assert_eq!(
        button.attribute("data-none").await.or_fail("attribute"),
        None
    );
    assert!(button.is_displayed().await.or_fail("displayed"));
    button.click().await.or_fail("click");
    let out = browser
        .find("#out")
        .await
        .or_fail("find #out")
        .expect("#out");
    assert_eq!(
        out.text().await.or_fail("text"),
        "Hello, wörld <b>&amp;</b> ☃"
    );
    assert_eq!(
        browser
            .execute("return document.querySelectorAll('#out *').length", vec![])
            .await
            .or_fail("no markup"),
        json!(0)
    );
    name.clear().await.or_fail("clear");
    assert_eq!(name.property("value").await.or_fail("value"), json!(""));

    let items = browser.find_all("#list .item").await.or_fail("find all");
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].text().await.or_fail("item text"), "two");
    assert!(
        browser
            .find("#missing")
            .await
            .or_fail("find missing")
            .is_none()
    );
    assert!(
        browser
            .find_all("#missing")
            .await
            .or_fail("find all missing")
            .is_empty()
    );

    // Scripts: arguments (including an element) in, JSON out; asynchronous callback.
    let echoed = browser
        .execute(
            "return [arguments[0] + 1, arguments[1].id, typeof arguments[2]]",
            vec![json!(41), items[0].as_argument(), json!({"a": 1})],
        )
        .await
        .or_fail("execute");
    assert_eq!(echoed, json!([42, "", "object"]));
    let later = browser
        .execute_async(
            "const done = arguments[arguments.length - 1]; setTimeout(() => done(arguments[0] * 2), 50);",
            vec![json!(21)],
        )
        .await
        .or_fail("execute async");
    assert_eq!(later, json!(42));
    let thrown = browser.execute("throw new Error('boom')", vec![]).await;
    assert_eq!(
        thrown.as_ref().err().and_then(BrowserError::webdriver_code),
        Some("javascript error"),
        "{thrown:?}"
    );

    // Alerts: none, then one (seen by the test, not dismissed behind its back).
    assert_eq!(browser.alert_text().await.or_fail("no alert"), None);
    browser
        .execute("setTimeout(() => alert('xss-probe'), 0)", vec![])
        .await
        .or_fail("open alert");
    let alert = browser
        .wait_for("the alert", DEFAULT_WAIT, || browser.alert_text())
        .await
        .or_fail("alert");
    assert_eq!(alert, "xss-probe");
    let blocked = browser.execute("return 1", vec![]).await;
    assert_eq!(
        blocked
            .as_ref()
            .err()
            .and_then(BrowserError::webdriver_code),
        Some("unexpected alert open"),
        "{blocked:?}"
    );
    browser.dismiss_alert().await.or_fail("dismiss");
    assert_eq!(browser.alert_text().await.or_fail("alert gone"), None);

    // Downloads land in the browser's own directory.
    let link = browser.find("#download").await.or_fail("find #download");
    link.expect("#download").click().await.or_fail("download");
    let file = browser
        .wait_download(DEFAULT_WAIT)
        .await
        .or_fail("wait download");
    assert_eq!(file.file_name().and_then(|n| n.to_str()), Some("notes.txt"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "downloaded notes");

    // Screenshots are PNG files in the artifact directory.
    let shot = browser.screenshot("page").await.or_fail("screenshot");
    let bytes = std::fs::read(&shot).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "{shot:?}");
    assert!(shot.starts_with(setup.artifacts.dir()));

    // A wait that cannot succeed says what it waited for and leaves a screenshot.
    let short = Duration::from_millis(500);
    let timeout = browser
        .wait_element("#never", short)
        .await
        .map(|_| ())
        .expect_err("#never does not exist");
    assert_eq!(timeout.reason(), "timeout");
    let message = timeout.to_string();
    assert!(message.contains("`#never`"), "{message}");
    let BrowserError::Timeout { screenshot, .. } = &timeout else {
        unreachable!()
    };
    assert!(std::path::Path::new(screenshot).exists(), "{message}");

    // A phone-sized window.
    browser.set_viewport_size(375, 667).await.or_fail("resize");
    browser
        .wait_script(
            "a 375x667 viewport",
            DEFAULT_WAIT,
            "return window.innerWidth === 375 && window.innerHeight === 667",
            vec![],
        )
        .await
        .or_fail("viewport");

    let profile = browser.profile_dir().to_path_buf();
    assert!(profile.exists());
    browser.close().await.or_fail("close");
    assert!(
        !profile.exists(),
        "the profile directory is removed with the browser"
    );
    eprintln!("webdriver_client_drives_a_page: {:?}", started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// The web client, through its DOM contract.
// ---------------------------------------------------------------------------------------------

/// One message as the timeline shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    event_id: String,
    sender: String,
    body: String,
}

/// Reads the timeline: confirmed messages (an event id) in display order, with the exact
/// `textContent` of their sender and body.
const READ_TIMELINE: &str = r#"
return Array.from(document.querySelectorAll('#timeline .message[data-event-id]'))
  .filter(m => m.dataset.eventId.startsWith('$'))
  .map(m => {
    const sender = m.querySelector('.sender');
    const body = m.querySelector('.body');
    return [m.dataset.eventId, sender ? sender.textContent : null, body ? body.textContent : null];
  });
"#;

/// A browser showing the web client of one node.
struct Chat {
    browser: Browser,
    url: String,
}

impl Chat {
    /// Launches a browser named `label` and opens the web client served by `node`.
    async fn open(setup: &BrowserSetup, label: &str, node: std::net::SocketAddr) -> Chat {
        let browser = Browser::launch(setup, LaunchOptions::desktop(label))
            .await
            .or_fail(&format!("launch {label}"));
        let chat = Chat {
            browser,
            url: format!("http://{node}/"),
        };
        chat.browser
            .goto(&chat.url)
            .await
            .or_fail("open the web client");
        chat.wait_ready().await;
        chat
    }

    async fn wait_ready(&self) {
        self.browser
            .wait_script(
                "the web client to be ready (body[data-ready=1])",
                DEFAULT_WAIT,
                "return document.body && document.body.dataset.ready === '1'",
                vec![],
            )
            .await
            .or_fail("ready");
    }

    async fn shot(&self, step: &str) {
        self.browser.screenshot(step).await.or_fail("screenshot");
    }

    async fn element(&self, selector: &str) -> Element<'_> {
        self.browser
            .wait_element(selector, DEFAULT_WAIT)
            .await
            .or_fail(selector)
    }

    /// Replaces the content of an input with `text`, typed as a user would.
    async fn fill(&self, selector: &str, text: &str) {
        let input = self.element(selector).await;
        input.clear().await.or_fail(selector);
        input.send_keys(text).await.or_fail(selector);
    }

    async fn click(&self, selector: &str) {
        self.element(selector).await.click().await.or_fail(selector);
    }

    /// Onboarding: creates an identity with `handle`; returns the user key (`#me[data-user]`).
    async fn create_identity(&self, handle: &str, display_name: &str) -> String {
        self.fill("#handle-input", handle).await;
        self.fill("#display-name-input", display_name).await;
        self.click("#create-identity").await;
        self.wait_me(handle).await
    }

    /// Waits for `#me` to name `handle`; returns its `data-user`.
    async fn wait_me(&self, handle: &str) -> String {
        let user = self
            .browser
            .wait_script(
                &format!("#me[data-user] naming {handle}"),
                DEFAULT_WAIT,
                "const me = document.querySelector('#me[data-user]');
                 return me && me.dataset.user && me.textContent.includes(arguments[0])
                     ? me.dataset.user : null;",
                vec![json!(handle)],
            )
            .await
            .or_fail("identity");
        let user = user.as_str().unwrap_or_default().to_owned();
        assert_eq!(user.len(), 64, "data-user is a hex key: {user}");
        assert!(user.bytes().all(|b| b.is_ascii_hexdigit()), "{user}");
        user
    }

    /// Creates a room named `name`; returns its id once it is the active room.
    async fn create_room(&self, name: &str, public: bool) -> String {
        self.fill("#new-room-name", name).await;
        let checkbox = self.element("#new-room-public").await;
        if checkbox.property("checked").await.or_fail("checked") != json!(public) {
            checkbox.click().await.or_fail("toggle public");
        }
        self.click("#create-room").await;
        let room = self
            .browser
            .wait_script(
                &format!("room {name} in the room list, active"),
                DEFAULT_WAIT,
                "const item = Array.from(document.querySelectorAll('#room-list .room-item.active[data-room-id]'))
                   .find(i => i.textContent.includes(arguments[0]));
                 return item ? item.dataset.roomId : null;",
                vec![json!(name)],
            )
            .await
            .or_fail("create room");
        let room = room.as_str().unwrap_or_default().to_owned();
        assert!(room.starts_with('!'), "room id: {room}");
        room
    }

    /// The active room's invite link (`#invite-link-button` fills `#invite-link`).
    async fn invite_link(&self) -> String {
        self.click("#invite-link-button").await;
        let link = self
            .browser
            .wait_script(
                "the invite link in #invite-link",
                DEFAULT_WAIT,
                "const input = document.querySelector('#invite-link');
                 return input && input.value.startsWith('causerie:join/') ? input.value : null;",
                vec![],
            )
            .await
            .or_fail("invite link");
        link.as_str().unwrap_or_default().to_owned()
    }

    /// Joins by invite link and waits until `room` is the active room.
    async fn join(&self, link: &str, room: &str) {
        self.fill("#join-link-input", link).await;
        self.click("#join-button").await;
        self.wait_active_room(room, FEDERATION_WAIT).await;
    }

    async fn wait_active_room(&self, room: &str, timeout: Duration) {
        self.browser
            .wait_script(
                &format!("room {room} to be the active room"),
                timeout,
                "return Array.from(document.querySelectorAll('#room-list .room-item.active'))
                   .some(i => i.dataset.roomId === arguments[0]);",
                vec![json!(room)],
            )
            .await
            .or_fail("active room");
    }

    /// Types `text` in the composer and sends it; returns the event id once it is shown.
    async fn send(&self, text: &str) -> String {
        self.fill("#composer", text).await;
        self.click("#send-button").await;
        self.wait_message(text, DEFAULT_WAIT).await.event_id
    }

    /// Waits until a confirmed message whose body is exactly `body` is shown.
    async fn wait_message(&self, body: &str, timeout: Duration) -> Shown {
        let short: String = body.chars().take(40).collect();
        self.browser
            .wait_observing(
                &format!("a message with body {short:?}"),
                timeout,
                || async {
                    let shown = self.timeline().await?;
                    if let Some(found) = shown.iter().find(|m| m.body == body) {
                        return Ok(Ok(found.clone()));
                    }
                    // On timeout, say what the newest messages look like instead.
                    let newest: Vec<&str> = shown
                        .iter()
                        .rev()
                        .take(3)
                        .map(|m| m.body.as_str())
                        .collect();
                    Ok(Err(format!(
                        "{} messages, the newest: {newest:?}",
                        shown.len()
                    )))
                },
            )
            .await
            .or_fail("message")
    }

    /// The timeline's confirmed messages in display order.
    async fn timeline(&self) -> Result<Vec<Shown>, BrowserError> {
        let value = self.browser.execute(READ_TIMELINE, vec![]).await?;
        let rows = value.as_array().cloned().unwrap_or_default();
        Ok(rows
            .iter()
            .map(|row| {
                let text = |i: usize| row.get(i).and_then(Value::as_str).unwrap_or_default();
                Shown {
                    event_id: text(0).to_owned(),
                    sender: text(1).to_owned(),
                    body: text(2).to_owned(),
                }
            })
            .collect())
    }

    /// Waits for `#connection[data-state=online]`.
    async fn wait_online(&self) {
        self.browser
            .wait_script(
                "#connection[data-state=online]",
                FEDERATION_WAIT,
                "const c = document.querySelector('#connection');
                 return c && c.dataset.state === 'online';",
                vec![],
            )
            .await
            .or_fail("online");
    }

    /// Marks the current document; [`Chat::assert_not_reloaded`] proves it is still the same.
    async fn mark_document(&self, mark: &str) {
        self.browser
            .execute(
                "window.__causerieTestMark = arguments[0];",
                vec![json!(mark)],
            )
            .await
            .or_fail("mark");
    }

    async fn assert_not_reloaded(&self, mark: &str) {
        let seen = self
            .browser
            .execute("return window.__causerieTestMark || null;", vec![])
            .await
            .or_fail("read mark");
        assert_eq!(
            seen,
            json!(mark),
            "{}: the page was reloaded",
            self.browser.label()
        );
    }

    async fn close(self) {
        self.browser.close().await.or_fail("close");
    }
}

/// The messages of `shown` whose body is one of `bodies`, in display order.
fn only<'a>(shown: &'a [Shown], bodies: &[&str]) -> Vec<&'a Shown> {
    shown
        .iter()
        .filter(|m| bodies.contains(&m.body.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_two_nodes_chat_live() {
    let Some(setup) = setup("two_users_two_nodes_chat_live") else {
        return;
    };
    cluster::init_logs();
    let started = Instant::now();
    let cluster = Cluster::start(2).await.or_fail("cluster");
    let node_a = cluster.nodes[0].running().http_addr;
    let node_b = cluster.nodes[1].running().http_addr;
    let (alice, bob) = tokio::join!(
        Chat::open(&setup, "alice", node_a),
        Chat::open(&setup, "bob", node_b)
    );
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
    let answer = "Hi Alice! Bob here, from node 1.";
    let hello_id = alice.send(hello).await;
    let seen = bob.wait_message(hello, FEDERATION_WAIT).await;
    assert_eq!(seen.event_id, hello_id);
    assert!(
        seen.sender.contains("Alice") || seen.sender.contains("alice"),
        "{seen:?}"
    );
    bob.shot("sees alice live").await;

    let answer_id = bob.send(answer).await;
    let seen = alice.wait_message(answer, FEDERATION_WAIT).await;
    assert_eq!(seen.event_id, answer_id);
    assert!(
        seen.sender.contains("Bob") || seen.sender.contains("bob"),
        "{seen:?}"
    );
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
    bob.browser
        .wait_script(
            "a 375x667 viewport the user cannot pan sideways",
            DEFAULT_WAIT,
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
            vec![],
        )
        .await
        .or_fail("phone layout");
    let composer = bob.element("#composer").await;
    assert!(
        composer.is_displayed().await.or_fail("composer shown"),
        "composer on a phone"
    );
    let outside = bob
        .browser
        .execute(
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
        .await
        .or_fail("fit on the phone screen");
    assert_eq!(
        outside,
        json!([]),
        "composer, send button and newest message fit on screen"
    );
    bob.shot("phone 375x667").await;

    tokio::join!(alice.close(), bob.close());
    cluster.shutdown().await;
    eprintln!("two_users_two_nodes_chat_live: {:?}", started.elapsed());
}

/// The XSS corpus: each payload sets `window.__xss` (or calls `alert`) if it ever runs.
/// The first [`COMPOSER_PAYLOADS`] are typed in the composer (one line, characters WebDriver
/// types literally); the rest (multi-line, outside the BMP, invisible characters, 10 kB) go
/// through the client API as another user's messages.
fn xss_corpus() -> Vec<String> {
    let mut corpus: Vec<String> = [
        "<script>window.__xss=1</script>",
        "<img src=x onerror=\"window.__xss=2\">",
        "<svg onload=alert(3)>",
        "<svg><script>window.__xss=4</script></svg>",
        "<iframe srcdoc=\"<script>parent.__xss=5</script>\"></iframe>",
        "<a href=\"javascript:window.__xss=6\">click me</a>",
        "<body onload=\"window.__xss=7\">",
        "<div style=\"background:url(javascript:window.__xss=8)\">styled</div>",
        "<div style=\"width:expression(window.__xss=9)\">ie</div>",
        "&lt;script&gt;window.__xss=10&lt;/script&gt;",
        "&#60;img src=x onerror=window.__xss=11&#62;",
        "{{constructor.constructor('window.__xss=12')()}}",
        "</textarea><script>window.__xss=13</script>",
        "\"><script>window.__xss=14</script>",
        "'><img src=x onerror=window.__xss=15>",
        "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=16>",
        "<details open ontoggle=\"window.__xss=17\">",
        "<input autofocus onfocus=\"alert(18)\">",
        "<ScRiPt>window.__xss=19</sCrIpT>",
        "<scr<script>ipt>window.__xss=20</scr</script>ipt>",
        "${window.__xss=21}",
        "\u{FF1C}script\u{FF1E}window.__xss=22\u{FF1C}/script\u{FF1E}",
        "\u{202E}<img src=x onerror=window.__xss=23>",
        // Through the client API from here on.
        "<object data=\"javascript:window.__xss=24\"></object>",
        "<embed src=\"data:text/html,<script>parent.__xss=25</script>\">",
        "<style>@import 'javascript:window.__xss=26';</style>",
        "<meta http-equiv=\"refresh\" content=\"0;url=javascript:window.__xss=27\">",
        "<form action=\"javascript:window.__xss=28\"><button>go</button></form>",
        "<video><source onerror=\"window.__xss=29\"></video>",
        "<base href=\"javascript:window.__xss=30//\">",
        "<noscript><p title=\"</noscript><img src=x onerror=window.__xss=31>\">",
        "<img src=x\nonerror=window.__xss=32>",
        "</textarea>\n<script>\nwindow.__xss=33\n</script>",
        "<svg><animate onbegin=alert(34) attributeName=x dur=1s>",
        "<scr\u{200B}ipt>alert(35)</scr\u{200B}ipt> \u{1F525}<img src=x onerror=alert(35)>",
        "   <i onmouseover=window.__xss=36>spaces kept</i>   ",
        "javascript:alert(37)",
        "<img src=x onerror=window.__xss=38 \u{FEFF}>\u{E000}",
        "<a href=\"&#106;avascript:window.__xss=39\">entity href</a>",
    ]
    .iter()
    .map(|p| (*p).to_owned())
    .collect();
    let mut big = String::from("<div>");
    while big.len() < 10 * 1024 {
        big.push_str("<img src=x onerror=window.__xss=40>AAAAAAAA");
    }
    big.push_str("</div>");
    corpus.push(big);
    corpus
}

/// How many corpus payloads are typed in the composer.
const COMPOSER_PAYLOADS: usize = 23;

/// Elements that content must never create inside the timeline, and attributes that would run
/// script. Returns what it finds (empty when the page is clean).
const FIND_ACTIVE_CONTENT: &str = r#"
const found = [];
const timeline = document.querySelector('#timeline');
if (!timeline) { return ['no #timeline']; }
const dangerous = 'script, img, iframe, svg, math, object, embed, style, link, meta, base, form, input, video, audio, source, details, marquee, noscript, template';
for (const place of ['#timeline', '#room-list', '#members', '.room-heading', '#me']) {
  for (const area of document.querySelectorAll(place)) {
    for (const el of area.querySelectorAll(dangerous)) { found.push('element ' + el.tagName + ' in ' + place); }
  }
}
for (const body of timeline.querySelectorAll('.message .body')) {
  for (const el of body.querySelectorAll('*')) { found.push('element ' + el.tagName + ' in a message body'); }
}
for (const sender of timeline.querySelectorAll('.message .sender')) {
  for (const el of sender.querySelectorAll('*')) {
    if (el.tagName !== 'SPAN') { found.push('element ' + el.tagName + ' in a sender'); }
  }
}
for (const el of document.querySelectorAll('*')) {
  for (const attr of el.getAttributeNames()) {
    if (attr.toLowerCase().startsWith('on')) { found.push('attribute ' + attr + ' on ' + el.tagName); }
  }
  for (const name of ['href', 'src', 'action', 'formaction', 'data', 'srcdoc']) {
    const url = el.getAttribute(name) || '';
    if (/^\s*javascript:/i.test(url)) { found.push('javascript: URL in ' + name + ' of ' + el.tagName); }
    if (timeline.contains(el) && /^\s*data:/i.test(url)) { found.push('data: URL in the timeline'); }
  }
}
return found;
"#;

/// Another user, driving the node's client API over HTTP the way a client does (challenge,
/// register, prepare, sign with its own key, submit); its key never leaves the test.
struct ApiUser {
    http: reqwest::Client,
    base: String,
    secret: UserSecret,
    token: String,
}

impl ApiUser {
    /// A fresh key registered on the node at `node` with `handle` and `display_name`.
    async fn register(node: std::net::SocketAddr, handle: &str, display_name: &str) -> ApiUser {
        let secret = UserSecret::generate().expect("key");
        ApiUser::register_key(node, secret, handle, display_name).await
    }

    /// `secret` registered on the node at `node`.
    async fn register_key(
        node: std::net::SocketAddr,
        secret: UserSecret,
        handle: &str,
        display_name: &str,
    ) -> ApiUser {
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("HTTP client");
        let mut user = ApiUser {
            http,
            base: format!("http://{node}/api/v1"),
            secret,
            token: String::new(),
        };
        let key = hex::encode(user.secret.public().as_bytes());
        let challenge = user
            .call("POST", "/auth/challenge", json!({ "user": key }))
            .await;
        let signature = user.sign_hex(&challenge["signing_input"]);
        let registered = user
            .call(
                "POST",
                "/auth/register",
                json!({ "challenge": challenge["challenge"], "signature": signature,
                        "handle": handle, "display_name": display_name }),
            )
            .await;
        user.token = registered["token"].as_str().expect("token").to_owned();
        user
    }

    /// Signs a signing input the node handed over (hex); returns the signature in hex.
    fn sign_hex(&self, input: &Value) -> String {
        let input = hex::decode(input.as_str().expect("signing input")).expect("hex");
        let signature = self
            .secret
            .sign_input(&input)
            .expect("a protocol signing input");
        hex::encode(signature.as_bytes())
    }

    /// One API call that must succeed; returns the JSON answer.
    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .json(&body);
        if !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        let response = request.send().await.expect("API request");
        let status = response.status();
        let answer: Value = response.json().await.expect("JSON answer");
        assert!(status.is_success(), "{path}: {status} {answer}");
        answer
    }

    /// Signs and submits a draft; returns the event id once the node has stored it.
    async fn submit(&self, draft: &Value) -> String {
        let signature = self.sign_hex(&draft["signing_input"]);
        let answer = self
            .call(
                "POST",
                "/events",
                json!({ "draft": draft["draft"], "signature": signature }),
            )
            .await;
        answer["event_id"].as_str().expect("event id").to_owned()
    }

    async fn join(&self, room: &str) {
        let answer = self
            .call("POST", "/rooms/join", json!({ "room": room }))
            .await;
        self.submit(&answer["draft"]).await;
    }

    async fn say(&self, room: &str, body: &str) -> String {
        let draft = self
            .call(
                "POST",
                &format!("/rooms/{room}/prepare"),
                json!({ "action": "message", "body": body }),
            )
            .await;
        self.submit(&draft).await
    }
}

/// The room name and the display name are shown as literal text: the active room's item in the
/// room list, and the sender of each of `messages` messages.
/// What the XSS test expects the page to show: every payload as literal text.
struct Expected<'a> {
    corpus: &'a [String],
    room_name: &'a str,
    display_name: &'a str,
}

impl Expected<'_> {
    /// Waits for `arrived` to be shown, then checks that every payload is inert and that the
    /// payload room and display names are literal (`step` names the screenshot and failures).
    async fn check(&self, chat: &Chat, arrived: &[String], step: &str) {
        for payload in arrived {
            chat.wait_message(payload, DEFAULT_WAIT).await;
        }
        chat.shot(&format!("all payloads, {step}")).await;
        assert_inert(chat, self.corpus, step).await;
        assert_names_literal(
            chat,
            self.room_name,
            self.display_name,
            self.corpus.len() - COMPOSER_PAYLOADS,
        )
        .await;
    }
}

async fn assert_names_literal(chat: &Chat, room_name: &str, display_name: &str, messages: usize) {
    let seen = chat
        .browser
        .execute(
            "const item = document.querySelector('#room-list .room-item.active');
             const senders = Array.from(document.querySelectorAll('#timeline .message .sender'))
                 .filter(n => n.textContent.includes(arguments[1]));
             return [item ? item.textContent.includes(arguments[0]) : false, senders.length];",
            vec![json!(room_name), json!(display_name)],
        )
        .await
        .or_fail("names");
    assert_eq!(seen, json!([true, messages]), "names shown literally");
}

/// The browser console's security messages (CSP refusals) since the last look.
async fn security_messages(chat: &Chat) -> Vec<String> {
    let log = chat.browser.console_log().await.or_fail("console log");
    log.as_array()
        .into_iter()
        .flatten()
        .filter(|entry| entry["source"] == json!("security"))
        .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Checks that nothing from the corpus ran or became markup.
async fn assert_inert(chat: &Chat, corpus: &[String], step: &str) {
    let refusals = security_messages(chat).await;
    assert!(refusals.is_empty(), "{step}: CSP refusals: {refusals:?}");
    assert_eq!(
        chat.browser.alert_text().await.or_fail("alert check"),
        None,
        "{step}: an alert is open"
    );
    let xss = chat
        .browser
        .execute(
            "return typeof window.__xss === 'undefined' ? null : String(window.__xss);",
            vec![],
        )
        .await
        .or_fail("window.__xss");
    assert_eq!(xss, Value::Null, "{step}: payload {xss} ran");
    let found = chat
        .browser
        .execute(FIND_ACTIVE_CONTENT, vec![])
        .await
        .or_fail("active content");
    assert_eq!(found, json!([]), "{step}: content became markup");
    let shown = chat.timeline().await.or_fail("timeline");
    for payload in corpus {
        let count = shown.iter().filter(|m| &m.body == payload).count();
        assert_eq!(
            count, 1,
            "{step}: payload shown once, as literal text: {payload:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xss_corpus_is_inert() {
    let Some(setup) = setup("xss_corpus_is_inert") else {
        return;
    };
    cluster::init_logs();
    let started = Instant::now();
    let cluster = Cluster::start(1).await.or_fail("cluster");
    let node = cluster.nodes[0].running().http_addr;

    // The page itself: a strict CSP header, no inline script.
    let page = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://{node}/"))
        .send()
        .await
        .expect("GET /");
    assert_eq!(page.status(), 200);
    let header = |name: &str| {
        page.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let csp = header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "CSP {csp:?} lacks {directive}");
    }
    for loose in ["unsafe-inline", "unsafe-eval", "http:", "https:", "*"] {
        assert!(!csp.contains(loose), "CSP {csp:?} allows {loose}");
    }
    assert_eq!(header("x-content-type-options"), "nosniff");
    let html = page.text().await.expect("page body");
    assert!(html.contains("<script"), "the page loads its script");

    let chat = Chat::open(&setup, "alice", node).await;
    let scripts = chat
        .browser
        .execute(
            "return Array.from(document.scripts).map(s => [s.src, s.textContent.trim().length]);",
            vec![],
        )
        .await
        .or_fail("scripts");
    let scripts = scripts.as_array().cloned().unwrap_or_default();
    assert!(!scripts.is_empty(), "the page has its script");
    for script in &scripts {
        let src = script[0].as_str().unwrap_or_default();
        assert!(
            src.starts_with(&chat.url),
            "script from the node itself: {script}"
        );
        assert_eq!(
            script[1],
            json!(0),
            "no inline code in a <script src>: {script}"
        );
    }
    // The CSP is enforced, not only sent: an injected inline script and a string timer (which
    // needs 'unsafe-eval') are refused, and the browser reports the violations.
    let enforced = chat
        .browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const violations = [];
             document.addEventListener('securitypolicyviolation',
                 e => violations.push(e.effectiveDirective));
             const s = document.createElement('script');
             s.textContent = 'window.__inlineRan = true;';
             document.head.appendChild(s);
             s.remove();
             setTimeout('window.__stringTimerRan = true;', 0);
             setTimeout(() => done({inline: window.__inlineRan === true,
                                    stringTimer: window.__stringTimerRan === true,
                                    violations: violations.sort()}), 300);",
            vec![],
        )
        .await
        .or_fail("csp enforcement");
    eprintln!("CSP enforcement: {enforced}");
    // The console saw those refusals; from here on it must see none (a payload turned into
    // markup would be refused by the CSP too, and show up there).
    let refusals = security_messages(&chat).await;
    assert!(
        refusals.len() >= 2,
        "the console reports CSP refusals: {refusals:?}"
    );
    assert_eq!(
        enforced["inline"],
        json!(false),
        "inline script ran: {enforced}"
    );
    assert_eq!(
        enforced["stringTimer"],
        json!(false),
        "string timer ran: {enforced}"
    );
    assert!(
        enforced["violations"]
            .as_array()
            .is_some_and(|v| !v.is_empty()),
        "the browser reports the refusals: {enforced}"
    );

    chat.create_identity("alice", "Alice").await;
    // User content outside messages too: the room name and a display name.
    let room_name = "<img src=x onerror=window.__xss=41>";
    let display_name = "<svg onload=window.__xss=42>";
    let room = chat.create_room(room_name, true).await;
    chat.shot("room ready").await;
    let corpus = xss_corpus();
    assert!(corpus.len() >= 30);
    let distinct: std::collections::BTreeSet<&String> = corpus.iter().collect();
    assert_eq!(
        distinct.len(),
        corpus.len(),
        "payloads are told apart by their text"
    );
    for payload in &corpus {
        assert!(
            payload.contains("__xss=") || payload.contains("alert("),
            "a payload that runs leaves a trace: {payload:?}"
        );
    }
    for payload in &corpus[..COMPOSER_PAYLOADS] {
        let typable = |c: char| c != '\n' && !('\u{E000}'..='\u{F8FF}').contains(&c);
        assert!(
            payload.chars().all(typable),
            "typed literally by WebDriver: {payload:?}"
        );
    }

    // A good part through the composer, as a user types them.
    for payload in &corpus[..COMPOSER_PAYLOADS] {
        chat.send(payload).await;
    }
    chat.shot("composer payloads sent").await;
    assert_inert(
        &chat,
        &corpus[..COMPOSER_PAYLOADS],
        "after the composer payloads",
    )
    .await;

    // The rest as another user's messages, sent through the client API (arriving on the live
    // stream); the display name is a payload too.
    let mallory = ApiUser::register(node, "mallory", display_name).await;
    mallory.join(&room).await;
    for payload in &corpus[COMPOSER_PAYLOADS..] {
        mallory.say(&room, payload).await;
    }
    let expected = Expected {
        corpus: &corpus,
        room_name,
        display_name,
    };
    expected
        .check(&chat, &corpus[COMPOSER_PAYLOADS..], "live")
        .await;

    // Once more from history (a different rendering path than the live stream).
    chat.browser.refresh().await.or_fail("reload");
    chat.wait_ready().await;
    chat.wait_active_room_or_select(&room).await;
    expected.check(&chat, &corpus, "from history").await;

    chat.close().await;
    cluster.shutdown().await;
    eprintln!(
        "xss_corpus_is_inert: {} payloads ({COMPOSER_PAYLOADS} typed) in {:?}",
        corpus.len(),
        started.elapsed()
    );
}

impl Chat {
    /// After a reload: makes `room` the active room (clicking it in the room list if the client
    /// did not reopen it by itself).
    async fn wait_active_room_or_select(&self, room: &str) {
        let item = self
            .browser
            .wait_script(
                &format!("room {room} in the room list"),
                DEFAULT_WAIT,
                "return Array.from(document.querySelectorAll('#room-list .room-item[data-room-id]'))
                   .find(i => i.dataset.roomId === arguments[0]) || null;",
                vec![json!(room)],
            )
            .await
            .or_fail("room item");
        let active = self
            .browser
            .execute(
                "return arguments[0].classList.contains('active');",
                vec![item.clone()],
            )
            .await
            .or_fail("active?");
        if active != json!(true) {
            self.browser
                .execute("arguments[0].click();", vec![item])
                .await
                .or_fail("select room");
        }
        self.wait_active_room(room, DEFAULT_WAIT).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_identity() {
    let Some(setup) = setup("reload_keeps_identity") else {
        return;
    };
    cluster::init_logs();
    let started = Instant::now();
    let cluster = Cluster::start(1).await.or_fail("cluster");
    let node = cluster.nodes[0].running().http_addr;
    let chat = Chat::open(&setup, "carol", node).await;
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
    chat.browser
        .wait_script(
            "the composer to be emptied after sending",
            DEFAULT_WAIT,
            "return document.querySelector('#composer').value === '';",
            vec![],
        )
        .await
        .or_fail("composer emptied");
    let shown = chat.timeline().await.or_fail("timeline");
    let bodies: Vec<&str> = only(&shown, &[before, after])
        .iter()
        .map(|m| m.body.as_str())
        .collect();
    assert_eq!(bodies, [before, after]);
    chat.shot("sent after reload").await;

    chat.close().await;
    cluster.shutdown().await;
    eprintln!("reload_keeps_identity: {:?}", started.elapsed());
}

impl Chat {
    /// Answers the open passphrase dialog with `passphrase`.
    async fn answer_passphrase(&self, passphrase: &str) {
        self.browser
            .wait_for("the passphrase prompt", DEFAULT_WAIT, || async {
                let input = self.browser.find("#passphrase-input").await?;
                Ok(match input {
                    Some(input) if input.is_displayed().await? => Some(()),
                    _ => None,
                })
            })
            .await
            .or_fail("passphrase prompt");
        self.fill("#passphrase-input", passphrase).await;
        // Choosing a passphrase (export) may ask for it twice; entering one (import) does not.
        if let Some(again) = self
            .browser
            .find("#passphrase-confirm")
            .await
            .or_fail("confirm")
            && again.is_displayed().await.or_fail("confirm shown")
        {
            again.clear().await.or_fail("confirm");
            again.send_keys(passphrase).await.or_fail("confirm");
        }
        self.click("#passphrase-ok").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_export_and_import_move_the_identity() {
    let Some(setup) = setup("key_export_and_import_move_the_identity") else {
        return;
    };
    cluster::init_logs();
    let started = Instant::now();
    let cluster = Cluster::start(1).await.or_fail("cluster");
    let node = cluster.nodes[0].running().http_addr;
    let passphrase = "correct horse battery staple";

    // Dave's first browser: identity, a room, a message, then the key file.
    let first = Chat::open(&setup, "dave-first", node).await;
    let user = first.create_identity("dave", "Dave").await;
    let room = first.create_room("Dave's room", true).await;
    let before = "sent from the first browser";
    first.send(before).await;
    first.click("#export-key").await;
    first.answer_passphrase(passphrase).await;
    let downloaded = first
        .browser
        .wait_download(DEFAULT_WAIT)
        .await
        .or_fail("key file");
    first.shot("key exported").await;
    // The download goes with the first browser's directory; the user keeps the file.
    let kept = tempfile::tempdir().expect("temp dir");
    let file = kept.path().join("causerie-dave.json");
    std::fs::copy(&downloaded, &file).expect("keep the key file");
    let text = std::fs::read_to_string(&file).expect("key file");
    let export: Value = serde_json::from_str(&text).expect("key file is JSON");
    // The file of specs/client-api.md, "Key export file": the seed only in encrypted form.
    assert_eq!(export["causerie_key_export"], json!(1), "{export}");
    assert_eq!(export["user"], json!(user), "{export}");
    assert_eq!(export["kdf"], json!("pbkdf2-sha256"), "{export}");
    assert_eq!(export["cipher"], json!("aes-256-gcm"), "{export}");
    assert!(
        export["iterations"].as_u64().is_some_and(|i| i >= 100_000),
        "{export}"
    );
    assert_eq!(
        export["ciphertext"].as_str().map(str::len),
        Some(96),
        "{export}"
    );
    // The command line reads the same file: the browser's key opens in Rust.
    let opened = KeyExport::from_json(text.as_bytes())
        .and_then(|file| file.open(passphrase))
        .unwrap_or_else(|e| panic!("the CLI's reader refuses the browser's file: {e}"));
    assert_eq!(hex::encode(opened.public().as_bytes()), user);
    first.close().await;

    // A fresh browser: import the file; a wrong passphrase is refused and asked again.
    let second = Chat::open(&setup, "dave-second", node).await;
    second
        .element("#import-key-file")
        .await
        .send_keys(&file.display().to_string())
        .await
        .or_fail("choose the key file");
    second.answer_passphrase("wrong passphrase").await;
    second
        .browser
        .wait_script(
            "the wrong passphrase to be refused",
            DEFAULT_WAIT,
            "// The reason is shown, and the prompt is back, emptied, for another try.
             const input = document.querySelector('#passphrase-input');
             return document.body.textContent.includes('wrong_passphrase')
                 && input.checkVisibility() && input.value === '';",
            vec![],
        )
        .await
        .or_fail("wrong passphrase");
    second.shot("wrong passphrase refused").await;
    second.answer_passphrase(passphrase).await;
    let imported = second.wait_me("dave").await;
    assert_eq!(imported, user, "the same identity in the second browser");
    second.wait_active_room_or_select(&room).await;
    second.wait_message(before, DEFAULT_WAIT).await;
    let after = "sent from the second browser";
    second.send(after).await;
    second.shot("imported identity sends").await;

    second.close().await;

    // And the other way: a key registered from Rust, its file written by the command line's
    // code, imports in a browser, which logs in as that user.
    let secret = UserSecret::generate().expect("key");
    let frank = hex::encode(secret.public().as_bytes());
    let sealed = KeyExport::seal(&secret, passphrase).expect("seal");
    let cli_file = kept.path().join("causerie-frank.json");
    std::fs::write(&cli_file, sealed.to_json()).expect("write the CLI's key file");
    ApiUser::register_key(node, secret, "frank", "Frank").await;
    let third = Chat::open(&setup, "frank", node).await;
    third
        .element("#import-key-file")
        .await
        .send_keys(&cli_file.display().to_string())
        .await
        .or_fail("choose the CLI's key file");
    third.answer_passphrase(passphrase).await;
    let logged_in = third.wait_me("frank").await;
    assert_eq!(
        logged_in, frank,
        "the browser logs in with the imported key"
    );
    third.shot("cli key imported").await;
    third.close().await;

    cluster.shutdown().await;
    eprintln!(
        "key_export_and_import_move_the_identity: {:?}",
        started.elapsed()
    );
}

/// A node of its own on loopback with HTTP on `http` (`127.0.0.1:0` for any port).
async fn start_node(data_dir: &std::path::Path, http: &str) -> Result<Running, String> {
    let overrides = Overrides {
        data_dir: Some(data_dir.to_path_buf()),
        listen: vec!["/ip4/127.0.0.1/tcp/0".to_owned()],
        bootstrap: Vec::new(),
        http: Some(http.to_owned()),
    };
    let config = Config::from_parts(ConfigFile::default(), overrides).map_err(|e| e.to_string())?;
    daemon::start(&config).await.map_err(|e| e.to_string())
}

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
