//! The web client in a browser, through its DOM contract (the ids, classes and data attributes
//! the web client keeps stable, checked by `node/src/web.rs`), never its internals: [`Chat`]
//! and the helpers the browser tests share (`tests/tests/browser_*.rs`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use causerie_crypto::{KeyExport, UserSecret};
use causerie_node::config::{Config, ConfigFile, Overrides};
use causerie_node::daemon::{self, Running};
use serde_json::{Value, json};

use super::{Browser, BrowserError, BrowserSetup, DEFAULT_WAIT, Element, LaunchOptions, Result};
use crate::api::ApiUser;
use crate::cluster::{self, Cluster};

/// Patience for steps that cross the network between two nodes (join by link, live delivery).
pub const FEDERATION_WAIT: Duration = Duration::from_secs(60);

/// The browser setup for `test`, or `None` when the test is skipped (the setup said why).
pub fn setup(test: &str) -> Option<BrowserSetup> {
    BrowserSetup::from_env(test).unwrap_or_else(|e| panic!("{test}: {e} ({})", e.reason()))
}

/// Panics with the error's reason, so a failure names what was waited for.
pub trait OrFail<T> {
    /// The value, or a panic naming `step` and the error's reason.
    fn or_fail(self, step: &str) -> T;
}

impl<T> OrFail<T> for Result<T, BrowserError> {
    fn or_fail(self, step: &str) -> T {
        self.unwrap_or_else(|e| panic!("{step}: {e} [{}]", e.reason()))
    }
}

impl<T> OrFail<T> for Result<T, crate::cluster::HarnessError> {
    fn or_fail(self, step: &str) -> T {
        self.unwrap_or_else(|e| panic!("{step}: {e} [{}]", e.reason()))
    }
}

/// A browser test on a cluster of in-process nodes: the browser setup, the cluster, and the
/// test's clock (the time it took is printed when it finishes).
pub struct ChatTest {
    /// The browser setup (Chromium, its driver, the screenshot folder).
    pub setup: BrowserSetup,
    /// The nodes, each serving the web client.
    pub cluster: Cluster,
    test: &'static str,
    started: Instant,
}

impl ChatTest {
    /// Starts `nodes` connected nodes for `test`, or `None` when the test is skipped (the
    /// setup said why).
    pub async fn start(test: &'static str, nodes: usize) -> Option<ChatTest> {
        let setup = setup(test)?;
        cluster::init_logs();
        let started = Instant::now();
        let cluster = Cluster::start(nodes).await.or_fail("cluster");
        Some(ChatTest {
            setup,
            cluster,
            test,
            started,
        })
    }

    /// Starts `test` on one node with a browser named `label` on its web client, or `None`
    /// when the test is skipped.
    pub async fn start_with_browser(test: &'static str, label: &str) -> Option<(ChatTest, Chat)> {
        let test = ChatTest::start(test, 1).await?;
        let chat = test.open(label, 0).await;
        Some((test, chat))
    }

    /// The HTTP address of node `index`, where it serves the web client.
    pub fn node(&self, index: usize) -> SocketAddr {
        self.cluster.nodes[index].running().http_addr
    }

    /// A browser named `label` showing the web client of node `index`.
    pub async fn open(&self, label: &str, index: usize) -> Chat {
        Chat::open(&self.setup, label, self.node(index)).await
    }

    /// Stops the nodes and prints how long the test took.
    pub async fn finish(self) {
        self.cluster.shutdown().await;
        eprintln!("{}: {:?}", self.test, self.started.elapsed());
    }
}

impl ChatTest {
    /// The usual cast of a browser test, on one node: alice signed in in the browser with a
    /// public room of hers, `room_name`, open, and bob, through the client API, a member of it.
    /// Returns (the test, alice's browser, alice's user key, the room id, bob), or `None` when
    /// the test is skipped.
    pub async fn alice_and_bob(
        test: &'static str,
        room_name: &str,
    ) -> Option<(ChatTest, Chat, String, String, ApiUser)> {
        let (test, chat) = ChatTest::start_with_browser(test, "alice").await?;
        let alice_key = chat.create_identity("alice", "Alice").await;
        let room = chat.create_room(room_name, true).await;
        let bob = ApiUser::register(test.node(0), "bob", "Bob").await;
        bob.join(&room).await;
        Some((test, chat, alice_key, room, bob))
    }
}

/// A browser test whose node is its own, to stop and start again at the same address (the
/// outage tests): the browser setup, the node, and the test's clock.
pub struct OwnNodeTest {
    /// Where the node serves the web client (the same after a restart).
    pub http: SocketAddr,
    /// When the test started.
    pub started: Instant,
    setup: BrowserSetup,
    data: tempfile::TempDir,
    running: Option<Running>,
    test: &'static str,
}

impl OwnNodeTest {
    /// Starts the node for `test` (on any loopback port), or `None` when the test is skipped.
    pub async fn start(test: &'static str) -> Option<OwnNodeTest> {
        let setup = setup(test)?;
        cluster::init_logs();
        let started = Instant::now();
        let data = tempfile::tempdir().expect("data dir");
        let running = start_node(data.path(), "127.0.0.1:0").await.expect("node");
        Some(OwnNodeTest {
            http: running.http_addr,
            started,
            setup,
            data,
            running: Some(running),
            test,
        })
    }

    /// A browser named `label` showing the node's web client.
    pub async fn open(&self, label: &str) -> Chat {
        Chat::open(&self.setup, label, self.http).await
    }

    /// Stops the node.
    pub async fn stop_node(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }

    /// Starts the node again on its data and address, trying again while the port is still
    /// held.
    pub async fn restart_node(&mut self) {
        let http = self.http;
        let deadline = Instant::now() + DEFAULT_WAIT;
        let running = loop {
            match start_node(self.data.path(), &http.to_string()).await {
                Ok(running) => break running,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("restart on {http} not yet possible: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("restart on {http}: {e}"),
            }
        };
        self.running = Some(running);
    }

    /// Stops the node and prints how long the test took.
    pub async fn finish(mut self) {
        self.stop_node().await;
        eprintln!("{}: {:?}", self.test, self.started.elapsed());
    }
}

/// One message as the timeline shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The event id (`$…`).
    pub event_id: String,
    /// The sender's text.
    pub sender: String,
    /// The body's text.
    pub body: String,
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
pub struct Chat {
    /// The browser.
    pub browser: Browser,
    /// The web client's URL.
    pub url: String,
}

impl Chat {
    /// Launches a browser named `label` and opens the web client served by `node`.
    pub async fn open(setup: &BrowserSetup, label: &str, node: SocketAddr) -> Chat {
        Chat::open_url(
            setup,
            LaunchOptions::desktop(label),
            &format!("http://{node}/"),
        )
        .await
    }

    /// Launches a browser with `options` and opens the web client at `url` (an https origin, or
    /// an invite page).
    pub async fn open_url(setup: &BrowserSetup, options: LaunchOptions, url: &str) -> Chat {
        let label = options.label.clone();
        let browser = Browser::launch(setup, options)
            .await
            .or_fail(&format!("launch {label}"));
        let chat = Chat {
            browser,
            url: url.to_owned(),
        };
        chat.browser
            .goto(&chat.url)
            .await
            .or_fail("open the web client");
        chat.wait_ready().await;
        chat
    }

    /// Waits until the page says it is ready (`body[data-ready=1]`).
    pub async fn wait_ready(&self) {
        self.wait_until(
            "the web client to be ready (body[data-ready=1])",
            "return document.body && document.body.dataset.ready === '1'",
        )
        .await;
    }

    /// Waits (at most [`DEFAULT_WAIT`]) until `script` returns a truthy value, as
    /// [`Browser::wait_script`] does, and returns that value; panics naming `what` on timeout.
    pub async fn wait_until(&self, what: &str, script: &str) -> Value {
        self.wait_until_with(what, script, vec![]).await
    }

    /// [`Chat::wait_until`] with `args` for the script (`arguments[0]`, …).
    pub async fn wait_until_with(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        self.browser
            .wait_script(what, DEFAULT_WAIT, script, args)
            .await
            .or_fail(what)
    }

    /// Runs `script` once now with `args` (see [`Browser::execute`]) and returns its value; a
    /// failure to run it names `step`.
    pub async fn run(&self, step: &str, script: &str, args: Vec<Value>) -> Value {
        self.browser.execute(script, args).await.or_fail(step)
    }

    /// Whether `script`, run once now with `args`, returns `true`; a failure to run it names
    /// `question`.
    pub async fn holds(&self, question: &str, script: &str, args: Vec<Value>) -> bool {
        self.run(question, script, args).await == json!(true)
    }

    /// A screenshot for `step`.
    pub async fn shot(&self, step: &str) {
        self.browser.screenshot(step).await.or_fail("screenshot");
    }

    /// Waits for the first element matching `selector`.
    pub async fn element(&self, selector: &str) -> Element<'_> {
        self.browser
            .wait_element(selector, DEFAULT_WAIT)
            .await
            .or_fail(selector)
    }

    /// Replaces the content of an input with `text`, typed as a user would: see [`type_text`].
    pub async fn fill(&self, selector: &str, text: &str) {
        let input = self.element(selector).await;
        input.clear().await.or_fail(selector);
        type_text(&self.browser, &input, text)
            .await
            .or_fail(selector);
    }

    /// Opens the "⋯" menu inside the first element matching `scope` and picks the item `label`.
    /// Tried again if the list is re-rendered under the pointer (a member list refresh).
    pub async fn menu_item(&self, scope: &str, label: &str) {
        let browser = &self.browser;
        browser
            .wait_observing(
                &format!("menu item {label:?} in {scope}"),
                DEFAULT_WAIT,
                || async {
                    let Some(button) = browser.find(&format!("{scope} .menu-button")).await? else {
                        return Ok(Err(format!("no menu button in {scope}")));
                    };
                    button.click().await?;
                    let items = browser
                        .find_all(&format!("{scope} .menu:not([hidden]) .menu-item"))
                        .await?;
                    let mut labels = Vec::new();
                    for item in &items {
                        let text = item.text().await?;
                        if text == label {
                            item.click().await?;
                            return Ok(Ok(()));
                        }
                        labels.push(text);
                    }
                    // Close the menu again before the next try.
                    browser.execute("document.body.click();", vec![]).await?;
                    Ok(Err(format!("items: {labels:?}")))
                },
            )
            .await
            .or_fail(label);
    }

    /// Clicks the first element matching `selector`, once it is there; tried again when the
    /// page re-renders it under the pointer (a stale element).
    pub async fn click(&self, selector: &str) {
        self.browser
            .wait_observing(
                &format!("a click on `{selector}`"),
                DEFAULT_WAIT,
                || async {
                    match self.browser.find(selector).await? {
                        Some(element) => element.click().await.map(Ok),
                        None => Ok(Err("no such element yet".to_owned())),
                    }
                },
            )
            .await
            .or_fail(selector);
    }

    /// Onboarding: creates an identity with `handle`; returns the user key (`#me[data-user]`).
    pub async fn create_identity(&self, handle: &str, display_name: &str) -> String {
        self.fill("#handle-input", handle).await;
        self.fill("#display-name-input", display_name).await;
        self.click("#create-identity").await;
        self.wait_me(handle).await
    }

    /// Waits for `#me` to name `handle`; returns its `data-user`.
    pub async fn wait_me(&self, handle: &str) -> String {
        let user = self
            .wait_until_with(
                &format!("#me[data-user] naming {handle}"),
                "const me = document.querySelector('#me[data-user]');
                 return me && me.dataset.user && me.textContent.includes(arguments[0])
                     ? me.dataset.user : null;",
                vec![json!(handle)],
            )
            .await;
        let user = user.as_str().unwrap_or_default().to_owned();
        assert_eq!(user.len(), 64, "data-user is a hex key: {user}");
        assert!(user.bytes().all(|b| b.is_ascii_hexdigit()), "{user}");
        user
    }

    /// Creates a room named `name` through the "New room" dialog; returns its id once it is the
    /// active room.
    pub async fn create_room(&self, name: &str, public: bool) -> String {
        self.open_dialog("#new-room-open", "new-room").await;
        self.fill("#new-room-name", name).await;
        let checkbox = self.element("#new-room-public").await;
        if checkbox.property("checked").await.or_fail("checked") != json!(public) {
            checkbox.click().await.or_fail("toggle public");
        }
        self.click("#create-room").await;
        let room = self
            .wait_until_with(
                &format!("room {name} in the room list, active"),
                "const item = Array.from(document.querySelectorAll('#room-list .room-item.active[data-room-id]'))
                   .find(i => i.textContent.includes(arguments[0]));
                 return item ? item.dataset.roomId : null;",
                vec![json!(name)],
            )
            .await;
        let room = room.as_str().unwrap_or_default().to_owned();
        assert!(room.starts_with('!'), "room id: {room}");
        room
    }

    /// The active room's invite link (`#invite-link-button` fills `#invite-link`): its web form
    /// (`https://…/join/…`) when the node has a public origin, else `causerie:join/…`.
    pub async fn invite_link(&self) -> String {
        self.click("#invite-link-button").await;
        let link = self
            .wait_until(
                "the invite link in #invite-link",
                "const input = document.querySelector('#invite-link');
                 const link = input ? input.value : '';
                 return link.startsWith('causerie:join/') || /^https?:[/][/][^/]+[/]join[/]/.test(link) ? link : null;",
            )
            .await;
        link.as_str().unwrap_or_default().to_owned()
    }

    /// Joins by invite link (or alias, or room id) through the "Join" dialog and waits until
    /// `room` is the active room.
    pub async fn join(&self, link: &str, room: &str) {
        self.open_join().await;
        self.fill("#join-link-input", link).await;
        self.click("#join-button").await;
        self.wait_active_room(room, FEDERATION_WAIT).await;
    }

    /// Opens the "Join" dialog (the join box `#join-link-input` and `#join-button`).
    pub async fn open_join(&self) {
        self.open_dialog("#join-open", "join").await;
    }

    /// Opens the profile and settings view (`#profile-dialog`: the identity details, the key
    /// and data tools, notifications, log out), unless it is open.
    pub async fn open_profile(&self) {
        self.open_dialog("#profile-open", "profile").await;
    }

    /// Closes the profile view if it is open.
    pub async fn close_profile(&self) {
        self.close_dialog("profile").await;
    }

    /// Opens the public rooms (`#directory-dialog`).
    pub async fn open_directory(&self) {
        self.open_dialog("#directory-open", "directory").await;
    }

    /// Clicks `opener` (first opening the room list drawer on a narrow screen when the opener
    /// is in it) and waits until `#<name>-dialog` is open; nothing is clicked when it is open.
    pub async fn open_dialog(&self, opener: &str, name: &str) {
        if self.dialog_open(name).await {
            return;
        }
        self.show_in_drawer(opener).await;
        self.click(opener).await;
        self.wait_dialog(name, true).await;
    }

    /// Closes `#<name>-dialog` (Escape's effect) if it is open, and waits until it is closed.
    pub async fn close_dialog(&self, name: &str) {
        self.run(
            "close dialog",
            "const d = document.getElementById(arguments[0] + '-dialog'); if (d && d.open) d.close();",
            vec![json!(name)],
        )
        .await;
        self.wait_dialog(name, false).await;
    }

    /// On a narrow screen, opens the room list drawer when `selector` is in it and hidden.
    pub async fn show_in_drawer(&self, selector: &str) {
        let hidden = self
            .holds(
                "in the drawer?",
                "const e = document.querySelector(arguments[0]);
                 const sidebar = document.getElementById('sidebar');
                 return Boolean(e && sidebar.contains(e) && !sidebar.classList.contains('open')
                     && getComputedStyle(sidebar).visibility === 'hidden');",
                vec![json!(selector)],
            )
            .await;
        if hidden {
            self.click("#toggle-sidebar").await;
            self.wait_until(
                "the room list drawer to open",
                "return getComputedStyle(document.getElementById('sidebar')).visibility === 'visible';",
            )
            .await;
        }
    }

    /// Waits until `room` is the active room of the room list (rooms or direct messages).
    pub async fn wait_active_room(&self, room: &str, timeout: Duration) {
        self.browser
            .wait_script(
                &format!("room {room} to be the active room"),
                timeout,
                "return Array.from(document.querySelectorAll('#room-list .room-item.active, #dm-list .room-item.active'))
                   .some(i => i.dataset.roomId === arguments[0]);",
                vec![json!(room)],
            )
            .await
            .or_fail("active room");
    }

    /// Types `text` in the composer and sends it; returns the event id once it is shown.
    pub async fn send(&self, text: &str) -> String {
        self.type_and_send(text).await;
        self.wait_message(text, DEFAULT_WAIT).await.event_id
    }

    /// Types `text` in the composer and presses Send, without waiting for the message (the
    /// node may hold or refuse it).
    pub async fn type_and_send(&self, text: &str) {
        self.fill("#composer", text).await;
        self.click("#send-button").await;
    }

    /// Waits until a confirmed message whose body is exactly `body` is shown.
    pub async fn wait_message(&self, body: &str, timeout: Duration) -> Shown {
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
    pub async fn timeline(&self) -> Result<Vec<Shown>, BrowserError> {
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

    /// `speaker` says `body` in `room` through the client API; returns the message's id once
    /// this page shows it.
    pub async fn wait_said(&self, speaker: &ApiUser, room: &str, body: &str) -> String {
        let id = speaker.say(room, body).await;
        self.wait_message(body, DEFAULT_WAIT).await;
        id
    }

    /// Waits for `#connection[data-state=online]`.
    pub async fn wait_online(&self) {
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
    pub async fn mark_document(&self, mark: &str) {
        self.run(
            "mark",
            "window.__causerieTestMark = arguments[0];",
            vec![json!(mark)],
        )
        .await;
    }

    /// Asserts the document still carries `mark` (see [`Chat::mark_document`]).
    pub async fn assert_not_reloaded(&self, mark: &str) {
        let seen = self
            .run(
                "read mark",
                "return window.__causerieTestMark || null;",
                vec![],
            )
            .await;
        assert_eq!(
            seen,
            json!(mark),
            "{}: the page was reloaded",
            self.browser.label()
        );
    }

    /// Closes the browser.
    pub async fn close(self) {
        self.browser.close().await.or_fail("close");
    }
}

/// The messages of `shown` whose body is one of `bodies`, in display order.
pub fn only<'a>(shown: &'a [Shown], bodies: &[&str]) -> Vec<&'a Shown> {
    shown
        .iter()
        .filter(|m| bodies.contains(&m.body.as_str()))
        .collect()
}

impl Chat {
    /// Waits until the room list's entry of `room` carries `data-<name>` = `value` for each
    /// pair (`unread`, `mentions`, `alerts`: the counts it shows).
    pub async fn wait_room_item(&self, room: &str, expected: &[(&str, &str)]) {
        let expected: Value = expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        self.browser
            .wait_script(
                &format!("room {room} listed with {expected}"),
                FEDERATION_WAIT,
                "const item = [...document.querySelectorAll('.room-list .room-item')].find(i => i.dataset.roomId === arguments[0]);
                 if (!item) return {waiting: 'not listed'};
                 const ok = Object.entries(arguments[1]).every(([k, v]) => item.dataset[k] === v);
                 return ok || {waiting: {...item.dataset, text: item.textContent}};",
                vec![json!(room), expected],
            )
            .await
            .or_fail("room item");
    }

    /// After a reload: makes `room` the active room (clicking it in the room list if the client
    /// did not reopen it by itself).
    pub async fn wait_active_room_or_select(&self, room: &str) {
        // One script finds and clicks the item: the list may be drawn again between two calls,
        // which would leave a reference to an element no longer in the page.
        self.wait_until_with(
            &format!("room {room} in the room list"),
            "const item = Array.from(document.querySelectorAll('#room-list .room-item[data-room-id]'))
               .find(i => i.dataset.roomId === arguments[0]);
             if (!item) return null;
             if (!item.classList.contains('active')) item.querySelector('.room-button')?.click();
             return true;",
            vec![json!(room)],
        )
        .await;
        self.wait_active_room(room, DEFAULT_WAIT).await;
    }
}

impl Chat {
    /// Exports the key with `passphrase` (from the profile view) and waits for the downloaded
    /// file.
    /// The profile view is left as it was (closed again when it was opened for this).
    pub async fn export_key(&self, passphrase: &str) -> PathBuf {
        let was_open = self.dialog_open("profile").await;
        self.open_profile().await;
        self.click("#export-key").await;
        self.answer_passphrase(passphrase).await;
        let file = self
            .browser
            .wait_download(DEFAULT_WAIT)
            .await
            .or_fail("key file");
        if !was_open {
            self.close_profile().await;
        }
        file
    }

    /// Exports the key with `passphrase` (see [`Chat::export_key`]) and opens the file again;
    /// panics unless it holds the user key `key` (hex). Returns the file and the key.
    pub async fn exported_secret(&self, passphrase: &str, key: &str) -> (PathBuf, UserSecret) {
        let file = self.export_key(passphrase).await;
        let text = std::fs::read(&file).expect("key file");
        let secret = KeyExport::from_json(&text)
            .and_then(|export| export.open(passphrase))
            .unwrap_or_else(|e| panic!("the exported file does not open: {e}"));
        assert_eq!(hex::encode(secret.public().as_bytes()), key);
        (file, secret)
    }

    /// The browser user's key `key`, exported with `passphrase`, as an API user of `node`,
    /// logged in.
    pub async fn api_user(&self, node: SocketAddr, key: &str, passphrase: &str) -> ApiUser {
        let (_, secret) = self.exported_secret(passphrase, key).await;
        let mut user = ApiUser::new(node, secret);
        assert_eq!(user.login().await.status, 200, "login");
        user
    }

    /// Whether the dialog `#<name>-dialog` is open.
    pub async fn dialog_open(&self, name: &str) -> bool {
        self.holds(
            "dialog open?",
            "const d = document.getElementById(arguments[0] + '-dialog'); return Boolean(d && d.open);",
            vec![json!(name)],
        )
        .await
    }

    /// Chooses `file` in the key import's file input (the passphrase prompt follows); signed
    /// in, the input is in the profile view, which is opened first.
    pub async fn choose_key_file(&self, file: &Path) {
        let signed_in = self
            .holds(
                "signed in?",
                "return document.body.classList.contains('signed-in');",
                vec![],
            )
            .await;
        if signed_in {
            self.open_profile().await;
        }
        self.element("#import-key-file")
            .await
            .send_keys(&file.display().to_string())
            .await
            .or_fail("choose the key file");
    }

    /// Answers the open passphrase dialog with `passphrase`.
    pub async fn answer_passphrase(&self, passphrase: &str) {
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
            type_text(&self.browser, &again, passphrase)
                .await
                .or_fail("confirm");
        }
        self.click("#passphrase-ok").await;
    }
}

/// Where axe-core's browser script is read from: `$CAUSERIE_AXE_JS`, else what `.ci/run`
/// installs with npm under the workspace's `target/axe/`.
pub const AXE_VAR: &str = "CAUSERIE_AXE_JS";

/// The axe-core script, or `None` (said on stderr) when it is not installed and the browser
/// tests are not required; required, a missing script is a failure.
fn axe_script() -> Option<String> {
    let path = std::env::var_os(AXE_VAR).map_or_else(
        || super::workspace_root().join("target/axe/node_modules/axe-core/axe.min.js"),
        PathBuf::from,
    );
    match std::fs::read_to_string(&path) {
        Ok(script) => Some(script),
        Err(e) if std::env::var(super::REQUIRE_BROWSER_VAR).as_deref() == Ok("1") => {
            panic!(
                "axe-core is missing at {} ({e}): run `npm install --prefix target/axe axe-core` or set {AXE_VAR}",
                path.display()
            )
        }
        Err(e) => {
            eprintln!("SKIP axe-core checks: {} ({e})", path.display());
            None
        }
    }
}

/// Runs axe-core on the page and returns its violations as `[{id, impact, help, nodes}]`.
const RUN_AXE: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] })
  .then((r) => done(r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\s+/g, ' ').slice(0, 200)),
  }))))
  .catch((e) => done([{ id: 'axe_failed', impact: 'critical', help: String(e), nodes: [] }]));
"#;

impl Chat {
    /// Checks the page as it is now with axe-core (WCAG rules and best practices): panics
    /// listing the violations, if any, after a screenshot named `step`.
    pub async fn axe_check(&self, step: &str) {
        let Some(script) = axe_script() else {
            return;
        };
        let loaded = self
            .run(
                "load axe-core",
                &format!("if (!window.axe) {{ {script}\n }} return typeof window.axe;"),
                vec![],
            )
            .await;
        assert_eq!(loaded, json!("object"), "axe-core did not load");
        let violations = self
            .browser
            .execute_async(RUN_AXE, vec![])
            .await
            .or_fail("run axe-core");
        self.shot(step).await;
        let list = violations.as_array().cloned().unwrap_or_default();
        assert!(
            list.is_empty(),
            "{}: axe-core found {} violations at {step:?}:\n{}",
            self.browser.label(),
            list.len(),
            serde_json::to_string_pretty(&violations).unwrap_or_default()
        );
    }

    /// Presses `keys` on the keyboard, one after the other, wherever the focus is (WebDriver
    /// actions: U+E004 Tab, U+E007 Enter, U+E00C Escape, U+E015 ArrowDown…), as a user
    /// without a mouse would.
    pub async fn press(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                [
                    json!({ "type": "keyDown", "value": c.to_string() }),
                    json!({ "type": "keyUp", "value": c.to_string() }),
                ]
            })
            .collect();
        self.key_actions(actions).await;
    }

    /// Lets the page show desktop notifications, as a user answering the browser's question
    /// would (WebDriver's permissions command), and records each one the page shows in
    /// `window.__notifications` as `[title, body]`.
    pub async fn allow_notifications(&self) {
        self.browser
            .post(
                "/permissions",
                json!({ "descriptor": { "name": "notifications" }, "state": "granted" }),
            )
            .await
            .or_fail("grant notifications");
        self.run(
            "record notifications",
            "window.__notifications = [];
             const Shown = window.Notification;
             window.Notification = class extends Shown {
               constructor(title, options) {
                 super(title, options);
                 window.__notifications.push([title, (options && options.body) || '']);
               }
             };",
            vec![],
        )
        .await;
    }

    /// Presses Shift+Tab.
    pub async fn shift_tab(&self) {
        self.key_actions(vec![
            json!({ "type": "keyDown", "value": SHIFT }),
            json!({ "type": "keyDown", "value": TAB }),
            json!({ "type": "keyUp", "value": TAB }),
            json!({ "type": "keyUp", "value": SHIFT }),
        ])
        .await;
    }

    async fn key_actions(&self, actions: Vec<Value>) {
        self.browser
            .post(
                "/actions",
                json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] }),
            )
            .await
            .or_fail("keys");
    }

    /// Presses Tab until the focused element matches `selector` (at most `MAX_TABS` times);
    /// panics naming what had the focus otherwise.
    pub async fn tab_to(&self, selector: &str) {
        let mut seen = Vec::new();
        for _ in 0..MAX_TABS {
            if self.focused_matches(selector).await {
                return;
            }
            seen.push(self.focused().await);
            self.press(TAB).await;
        }
        if !self.focused_matches(selector).await {
            panic!(
                "{}: {selector} not reached with Tab; focus went through {seen:?}",
                self.browser.label()
            );
        }
    }

    /// Whether the focused element matches `selector`.
    pub async fn focused_matches(&self, selector: &str) -> bool {
        self.holds(
            "focus",
            "const a = document.activeElement; return Boolean(a && a.matches(arguments[0]));",
            vec![json!(selector)],
        )
        .await
    }

    /// The focused element, as `tag#id.class "text"` for messages.
    pub async fn focused(&self) -> String {
        let value = self
            .run(
                "focused",
                "const a = document.activeElement;
                 return a ? a.tagName.toLowerCase() + (a.id ? '#' + a.id : '') + '.' + a.className
                     + ' ' + JSON.stringify((a.getAttribute('aria-label') || a.textContent || '').trim().slice(0, 40)) : 'none';",
                vec![],
            )
            .await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// Waits until the focused element matches `selector`.
    pub async fn wait_focus(&self, selector: &str) {
        self.wait_until_with(
            &format!("the focus on {selector}"),
            "const a = document.activeElement;
             return (a && a.matches(arguments[0])) || {focus: a ? a.tagName + '#' + a.id + '.' + a.className : null};",
            vec![json!(selector)],
        )
        .await;
    }
}

/// WebDriver's Tab key.
pub const TAB: &str = "\u{E004}";
/// WebDriver's Enter key.
pub const ENTER: &str = "\u{E007}";
/// WebDriver's Escape key.
pub const ESCAPE: &str = "\u{E00C}";
/// WebDriver's Shift key (held until the next Shift or the end of the keys sent).
pub const SHIFT: &str = "\u{E008}";
/// WebDriver's Arrow Up key.
pub const ARROW_UP: &str = "\u{E013}";
/// WebDriver's Arrow Down key.
pub const ARROW_DOWN: &str = "\u{E015}";
/// Most Tab presses [`Chat::tab_to`] makes.
const MAX_TABS: usize = 60;

/// A phone-sized browser (390x844 CSS pixels, the acceptance's mobile width) named `label`.
pub fn mobile(label: &str) -> LaunchOptions {
    LaunchOptions {
        width: 390,
        height: 844,
        ..LaunchOptions::desktop(label)
    }
}

impl Chat {
    /// A phone-sized browser (see [`mobile`]) on the web client of `node`, its viewport made
    /// exactly 390x844.
    pub async fn open_mobile(setup: &BrowserSetup, label: &str, node: SocketAddr) -> Chat {
        let chat = Chat::open_url(setup, mobile(label), &format!("http://{node}/")).await;
        chat.browser
            .set_viewport_size(390, 844)
            .await
            .or_fail("phone size");
        chat
    }
}

/// A node of its own on loopback with HTTP on `http` (`127.0.0.1:0` for any port).
pub async fn start_node(data_dir: &Path, http: &str) -> Result<Running, String> {
    start_node_answering(data_dir, http, Vec::new()).await
}

/// [`start_node`], answering to the `Host` values `hosts` (`name:port`) instead of the default
/// ones (its address, `localhost`, `127.0.0.1`, `[::1]`) when `hosts` is not empty.
pub async fn start_node_answering(
    data_dir: &Path,
    http: &str,
    hosts: Vec<String>,
) -> Result<Running, String> {
    let overrides = Overrides {
        data_dir: Some(data_dir.to_path_buf()),
        listen: vec!["/ip4/127.0.0.1/tcp/0".to_owned()],
        bootstrap: Vec::new(),
        http: Some(http.to_owned()),
        ..Overrides::default()
    };
    let file = ConfigFile {
        http_allowed_hosts: (!hosts.is_empty()).then_some(hosts),
        ..ConfigFile::default()
    };
    let config = Config::from_parts(file, overrides).map_err(|e| e.to_string())?;
    daemon::start(&config).await.map_err(|e| e.to_string())
}

/// Whether WebDriver can type `c` (ChromeDriver types only characters of the Basic Multilingual
/// Plane; U+E000..U+F8FF are its special keys, such as Enter).
pub fn is_typable(c: char) -> bool {
    u32::from(c) <= 0xFFFF
}

/// Types `text` into `input` as a user would: runs of characters WebDriver can type go through
/// real key events; runs it cannot (emoji and everything else outside the BMP) are inserted at
/// the caret by the page's editing command, as a paste or an input method would, which fires
/// the same `input` event.
pub async fn type_text(browser: &Browser, input: &Element<'_>, text: &str) -> Result<()> {
    for (typable, run) in runs(text) {
        if typable {
            input.send_keys(run).await?;
        } else {
            let inserted = browser
                .execute(
                    "const input = arguments[0];
                     input.focus();
                     return document.execCommand('insertText', false, arguments[1]);",
                    vec![input.as_argument(), json!(run)],
                )
                .await?;
            if inserted != json!(true) {
                return Err(BrowserError::BadResponse {
                    command: "insertText".to_owned(),
                    detail: format!("the page refused to insert {run:?}"),
                });
            }
        }
    }
    Ok(())
}

/// `text` cut into maximal runs of typable and untypable characters ([`is_typable`]).
fn runs(text: &str) -> Vec<(bool, &str)> {
    let mut out: Vec<(bool, &str)> = Vec::new();
    let mut start = 0;
    for (at, c) in text.char_indices() {
        if at > start && is_typable(c) != out_kind(text, start) {
            out.push((out_kind(text, start), &text[start..at]));
            start = at;
        }
    }
    if start < text.len() {
        out.push((out_kind(text, start), &text[start..]));
    }
    out
}

/// Whether the character at byte `at` of `text` is typable.
fn out_kind(text: &str, at: usize) -> bool {
    text[at..].chars().next().is_some_and(is_typable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_into_typable_runs() {
        assert_eq!(runs(""), Vec::<(bool, &str)>::new());
        assert_eq!(runs("abc"), [(true, "abc")]);
        assert_eq!(
            runs("Hi 👋🏽 there ☃\u{E007}"),
            [(true, "Hi "), (false, "👋🏽"), (true, " there ☃\u{E007}")]
        );
        assert_eq!(runs("🔑"), [(false, "🔑")]);
    }
}
