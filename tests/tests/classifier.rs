//! The classifier hook and the review queue on real nodes (sled, real child processes, the HTTP
//! API): the shipped example (`scripts/classifier/example.py`) accepts, rejects with a reason,
//! holds and labels; a classifier that sleeps on one room's event delays nothing in another
//! room; timeouts and crashes follow the room's fail mode; garbage answers are counted and
//! ignored; decisions are logged with their reasons; the review queue survives a restart and
//! only moderators may list or act on it.
//!
//! Test classifiers are small Python scripts written into each test's temporary directory.
//! Nothing waits a fixed time: every step waits on a condition (a file the classifier writes,
//! an answer, a counter).

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use causerie_node::config::{ClassifierFile, ConfigFile};
use causerie_tests::api::{Answer, ApiNode, ApiUser, StreamReader, eventually};
use serde_json::{Value, json};
use tempfile::TempDir;

/// A test classifier: answers by the message body. `slow:NAME` writes `pending-NAME` and
/// answers once `release-NAME` exists (other requests are answered meanwhile); `hold...` is
/// held (reason `held by test`); `never` is never
/// answered; `crash` exits at once; `garbage` prints bad lines, then rejects; anything else is
/// accepted. Each start appends a line to `starts`.
const TEST_CLASSIFIER: &str = r#"
import json, os, sys, threading, time
DIR = sys.argv[1]
lock = threading.Lock()
with open(os.path.join(DIR, "starts"), "a") as f:
    f.write("started\n")
def answer(obj):
    with lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()
def later(request, name):
    open(os.path.join(DIR, "pending-" + name), "w").close()
    while not os.path.exists(os.path.join(DIR, "release-" + name)):
        time.sleep(0.01)
    answer({"id": request["id"], "decision": "accept"})
for line in sys.stdin:
    request = json.loads(line)
    body = (request.get("content") or {}).get("body", "")
    if body.startswith("slow:"):
        threading.Thread(target=later, args=(request, body[5:]), daemon=True).start()
    elif body.startswith("hold"):
        answer({"id": request["id"], "decision": "hold", "reason": "held by test"})
    elif body == "never":
        pass
    elif body == "crash":
        os._exit(3)
    elif body == "garbage":
        with lock:
            sys.stdout.write("this is not json\n")
            sys.stdout.write("x" * 20000 + "\n")
            sys.stdout.write(json.dumps({"id": "0" * 64, "decision": "accept"}) + "\n")
            sys.stdout.write(json.dumps({"id": request["id"], "decision": "maybe"}) + "\n")
            sys.stdout.flush()
        answer({"id": request["id"], "decision": "reject", "reason": "after garbage"})
    else:
        answer({"id": request["id"], "decision": "accept"})
"#;

/// Log lines of every test in this binary, captured once.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || Capture(writer.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buffer
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The captured log lines that mention `needle`.
fn log_lines(needle: &str) -> Vec<String> {
    let logs = logs();
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    text.lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/classifier/example.py")
}

fn classifier_file(args: Vec<String>, timeout_ms: u64, fail_mode: &str) -> ConfigFile {
    ConfigFile {
        classifier: Some(ClassifierFile {
            program: PathBuf::from("python3"),
            args,
            timeout_ms: Some(timeout_ms),
            fail_mode: Some(fail_mode.to_owned()),
            rooms: Default::default(),
        }),
        ..ConfigFile::default()
    }
}

/// Logs on, and a node running the test classifier, whose files go to the returned folder.
async fn node_with_test_classifier(timeout_ms: u64, fail_mode: &str) -> (TempDir, ApiNode) {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("classifier.py");
    std::fs::write(&script, TEST_CLASSIFIER).unwrap();
    let args = vec![
        script.display().to_string(),
        dir.path().display().to_string(),
    ];
    let node =
        ApiNode::start_configured(Vec::new(), classifier_file(args, timeout_ms, fail_mode)).await;
    (dir, node)
}

async fn say(user: &ApiUser, room: &str, body: &str) -> Answer {
    user.act(room, json!({ "action": "message", "body": body }))
        .await
}

fn metric_series(name: &str, reason: &str) -> String {
    format!("{name}{{reason=\"{reason}\"}}")
}

async fn review_items(user: &ApiUser, room: &str) -> Vec<Value> {
    let answer = user.get(&format!("/api/v1/rooms/{room}/review")).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body["items"].as_array().unwrap().clone()
}

/// A moderator's `decision` (`approve` or `reject`) on review item `item` of `room`, with the
/// `reason` given, if any.
async fn decide(
    user: &ApiUser,
    room: &str,
    item: &Value,
    decision: &str,
    reason: Option<&str>,
) -> Answer {
    let body = match reason {
        Some(reason) => json!({ "reason": reason }),
        None => json!({}),
    };
    user.post(
        &format!("/api/v1/rooms/{room}/review/{item}/{decision}"),
        body,
    )
    .await
}

fn starts(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("starts"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_accepts_rejects_holds_and_labels_and_the_queue_survives_a_restart() {
    logs();
    let mut node = ApiNode::start_configured(
        Vec::new(),
        classifier_file(
            vec![example_path().display().to_string()],
            5_000,
            "fail_open",
        ),
    )
    .await;
    let mut alice = ApiUser::registered(node.http, 1, "alice").await;
    let bob = ApiUser::registered(node.http, 2, "bob").await;
    let room = alice.create_room("Lobby", "public").await;
    bob.join(&room).await;

    // Accept.
    assert_eq!(say(&bob, &room, "hello there").await.status, 200);
    let mut bob_stream = StreamReader::open(&bob, "").await;
    // Reject with the classifier's reason.
    let rejected = say(&bob, &room, "B.U.Y F0LLOWERS cheap").await;
    assert_eq!(rejected.status, 403, "{:?}", rejected.body);
    assert_eq!(rejected.reason(), "classifier_rejected");
    assert!(
        rejected.body["message"]
            .as_str()
            .unwrap()
            .contains("blocked phrase: buy followers"),
        "{:?}",
        rejected.body
    );
    // Hold: a link from an account registered minutes ago.
    let held = say(&bob, &room, "look at https://example.com/offer").await;
    assert_eq!(held.status, 403, "{:?}", held.body);
    assert_eq!(held.reason(), "held_for_review");
    // Labels: taken, shown and queued as flagged.
    let loud = say(&bob, &room, "WHY IS NOBODY ANSWERING ME").await;
    assert_eq!(loud.status, 200, "{:?}", loud.body);
    let bodies = bob.bodies(&room).await;
    assert!(bodies.contains(&"WHY IS NOBODY ANSWERING ME".to_owned()));
    assert!(!bodies.iter().any(|b| b.contains("example.com")));
    assert!(!bodies.iter().any(|b| b.contains("F0LLOWERS")));

    // Only moderators see the queue.
    let refused = bob.get(&format!("/api/v1/rooms/{room}/review")).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.reason(), "not_moderator");
    let items = review_items(&alice, &room).await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0]["state"], "held");
    assert_eq!(items[0]["reason"], "link from a new account");
    assert_eq!(items[0]["source"], "client");
    assert_eq!(items[0]["ruled_by"], "classifier");
    assert_eq!(
        items[0]["event"]["content"]["body"],
        "look at https://example.com/offer"
    );
    assert_eq!(items[1]["state"], "flagged");
    assert_eq!(items[1]["labels"], json!(["shouting"]));

    // Decisions are logged with their reasons.
    let held_id = items[0]["event"]["id"].as_str().unwrap().to_owned();
    let lines = log_lines(&held_id);
    assert!(
        lines.iter().any(|l| l.contains("classifier decision")
            && l.contains("decision=\"hold\"")
            && l.contains("link from a new account")),
        "{lines:?}"
    );
    assert!(
        log_lines("blocked phrase: buy followers")
            .iter()
            .any(|l| l.contains("decision=\"reject\""))
    );
    for (ruling, at_least) in [("accept", 1), ("reject", 1), ("hold", 1), ("labels", 1)] {
        let series = metric_series("causerie_classifier_rulings_total", ruling);
        assert!(node.metric(&series).await >= at_least, "{series}");
    }

    // A held submission rejected: its author is told on their live stream.
    let spam = say(&bob, &room, "more at www.example.org").await;
    assert_eq!(spam.reason(), "held_for_review", "{:?}", spam.body);
    let items = review_items(&alice, &room).await;
    let spam_item = items[2]["item"].clone();
    let spam_id = items[2]["event"]["id"].clone();
    let rejected = decide(&alice, &room, &spam_item, "reject", Some("no ads")).await;
    assert_eq!(rejected.status, 200, "{:?}", rejected.body);
    assert_eq!(rejected.body["needs_redaction"], false);
    loop {
        let (kind, data) = bob_stream.next().await.expect("bob's stream");
        if kind == "review" {
            assert_eq!(data["event_id"], spam_id);
            assert_eq!(data["decision"], "rejected");
            assert_eq!(data["reason"], "no ads");
            break;
        }
    }

    // The queue is durable: a restart keeps it.
    node.restart().await;
    alice.base = format!("http://{}", node.http);
    assert_eq!(alice.login().await.status, 200);
    let items = review_items(&alice, &room).await;
    assert_eq!(items.len(), 2, "{items:?}");
    let (held_item, flagged_item) = (items[0]["item"].clone(), items[1]["item"].clone());

    // Approving the held message ingests it as it was signed.
    let approved = decide(&alice, &room, &held_item, "approve", None).await;
    assert_eq!(approved.status, 200, "{:?}", approved.body);
    assert_eq!(approved.body["event_id"], held_id.as_str());
    assert_eq!(approved.body["visible"], true);
    assert!(
        alice
            .shows(&room, "look at https://example.com/offer")
            .await
    );
    // Rejecting the flagged one closes it; an accepted event needs a redaction to leave the room.
    let rejected = decide(&alice, &room, &flagged_item, "reject", Some("no shouting")).await;
    assert_eq!(rejected.status, 200, "{:?}", rejected.body);
    assert_eq!(rejected.body["needs_redaction"], true);
    assert!(review_items(&alice, &room).await.is_empty());
    let gone = decide(&alice, &room, &flagged_item, "reject", None).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.reason(), "no_such_review_item");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classifier_that_sleeps_on_one_room_delays_nothing_in_another() {
    // A long timeout: room A's request stays pending until the test releases it.
    let (dir, mut node) = node_with_test_classifier(60_000, "fail_open").await;
    let alice = Arc::new(ApiUser::registered(node.http, 1, "alice").await);
    let room_a = alice.create_room("A", "public").await;
    let room_b = alice.create_room("B", "public").await;

    let slow = {
        let alice = alice.clone();
        let room_a = room_a.clone();
        tokio::spawn(async move { say(&alice, &room_a, "slow:a").await })
    };
    let pending = dir.path().join("pending-a");
    eventually("the classifier holds room A's request", || {
        let pending = pending.clone();
        async move { pending.exists() }
    })
    .await;

    // Room B's message is classified, taken and readable while room A's still waits.
    let quick = say(&alice, &room_b, "meanwhile in B").await;
    assert_eq!(quick.status, 200, "{:?}", quick.body);
    assert!(alice.shows(&room_b, "meanwhile in B").await);
    assert!(!slow.is_finished(), "room A's request is still pending");
    assert_eq!(node.metric("causerie_classifier_in_flight").await, 1);
    assert!(!alice.shows(&room_a, "slow:a").await);

    std::fs::write(dir.path().join("release-a"), b"").unwrap();
    let answer = slow.await.unwrap();
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(alice.shows(&room_a, "slow:a").await);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_crashes_and_garbage_follow_the_rooms_fail_mode() {
    let (dir, mut node) = node_with_test_classifier(300, "fail_open").await;
    let alice = ApiUser::registered(node.http, 1, "alice").await;
    let open_room = alice.create_room("Open", "public").await;
    let closed_room = alice.create_room("Closed", "public").await;
    // The room's own rule wins over the node's default.
    alice
        .must(
            &closed_room,
            json!({
                "action": "state",
                "kind": "room.content_rules",
                "state_key": "",
                "content": { "classifier": "fail_closed" },
            }),
        )
        .await;
    let timeout = metric_series("causerie_classifier_failures_total", "classifier_timeout");

    // Timeout: fail_open takes the message, fail_closed holds it for review (never a drop).
    assert_eq!(say(&alice, &open_room, "never").await.status, 200);
    let held = say(&alice, &closed_room, "never").await;
    assert_eq!(held.status, 403, "{:?}", held.body);
    assert_eq!(held.reason(), "held_for_review");
    assert!(node.metric(&timeout).await >= 2);
    let items = review_items(&alice, &closed_room).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["reason"], "classifier_timeout");
    assert_eq!(items[0]["ruled_by"], "fail_closed");
    assert!(
        log_lines(items[0]["event"]["id"].as_str().unwrap())
            .iter()
            .any(|l| l.contains("classifier_timeout") && l.contains("by=\"fail_closed\"")),
    );

    // Crash: the request fails, the fail mode decides, and the classifier is started again.
    assert_eq!(starts(dir.path()), 1);
    let crashed = say(&alice, &closed_room, "crash").await;
    assert_eq!(crashed.reason(), "held_for_review", "{:?}", crashed.body);
    let crash = metric_series("causerie_classifier_failures_total", "classifier_crashed");
    assert_eq!(node.metric(&crash).await, 1);
    let path = dir.path().to_owned();
    eventually("the classifier restarted", || {
        let path = path.clone();
        async move { starts(&path) >= 2 }
    })
    .await;
    // Once it runs again, it answers: an ordinary message is accepted by it, not by a fail mode.
    let accepted = metric_series("causerie_classifier_rulings_total", "accept");
    let before = node.metric(&accepted).await;
    let alice_ref = &alice;
    let room_ref = &closed_room;
    eventually("the restarted classifier accepts", || async move {
        say(alice_ref, room_ref, "back again").await.status == 200
    })
    .await;
    assert!(node.metric(&accepted).await > before);
    assert!(node.metric("causerie_classifier_restarts_total").await >= 1);

    // Garbage lines are counted and ignored; the real answer still counts.
    let rejected = say(&alice, &open_room, "garbage").await;
    assert_eq!(
        rejected.reason(),
        "classifier_rejected",
        "{:?}",
        rejected.body
    );
    assert!(
        rejected.body["message"]
            .as_str()
            .unwrap()
            .contains("after garbage")
    );
    for reason in ["bad_json", "line_too_long", "unknown_id", "bad_decision"] {
        let series = metric_series("causerie_classifier_bad_lines_total", reason);
        assert_eq!(node.metric(&series).await, 1, "{series}");
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peers_event_the_classifier_holds_is_stored_hidden_and_queued_until_approved() {
    let (_dir, a) = node_with_test_classifier(5_000, "fail_open").await;
    let b = ApiNode::start(a.p2p_addrs().await).await;
    b.wait_connected("B connected to A").await;
    let alice = ApiUser::registered(a.http, 1, "alice").await;
    let bob = ApiUser::registered(b.http, 2, "bob").await;
    let room = alice.create_room("Mixed", "public").await;
    bob.join_by_link(&alice.invite_link(&room).await).await;

    // B has no classifier: it takes both. A stores both by the room's rules, hides the held one.
    assert_eq!(say(&bob, &room, "hold: this one").await.status, 200);
    assert_eq!(say(&bob, &room, "after it").await.status, 200);
    eventually("A shows bob's second message", || {
        let alice = &alice;
        let room = &room;
        async move { alice.shows(room, "after it").await }
    })
    .await;
    // Hidden while the classifier decides, and after.
    assert!(!alice.shows(&room, "hold: this one").await);
    assert!(bob.shows(&room, "hold: this one").await);
    eventually("A queues bob's held message", || {
        let alice = &alice;
        let room = &room;
        async move { !review_items(alice, room).await.is_empty() }
    })
    .await;
    assert!(!alice.shows(&room, "hold: this one").await);
    let items = review_items(&alice, &room).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["state"], "hidden");
    assert_eq!(items[0]["source"], "peer");
    assert_eq!(items[0]["reason"], "held by test");
    assert_eq!(items[0]["event"]["content"]["body"], "hold: this one");

    // Approved: shown from then on.
    let item = items[0]["item"].clone();
    let approved = decide(&alice, &room, &item, "approve", None).await;
    assert_eq!(approved.status, 200, "{:?}", approved.body);
    assert!(alice.shows(&room, "hold: this one").await);
    assert!(review_items(&alice, &room).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_empties_the_queue_of_its_targets_items_and_their_text_leaves_the_files() {
    let (_dir, mut node) = node_with_test_classifier(5_000, "fail_open").await;
    let alice = ApiUser::registered(node.http, 1, "alice").await;
    let bob = ApiUser::registered(node.http, 2, "bob").await;
    let carol = ApiUser::registered(node.http, 3, "carol").await;
    let room = alice.create_room("Purged", "public").await;
    bob.join(&room).await;
    carol.join(&room).await;

    // Two held submissions of bob's (never in the room) and one of carol's.
    let canaries = ["hold: bob-canary-one", "hold: bob-canary-two"];
    for text in canaries {
        assert_eq!(say(&bob, &room, text).await.reason(), "held_for_review");
    }
    let kept = "hold: carol-stays";
    assert_eq!(say(&carol, &room, kept).await.reason(), "held_for_review");
    assert_eq!(review_items(&alice, &room).await.len(), 3);
    let store = node.dir.path().to_owned();
    for text in canaries.iter().chain([&kept]) {
        assert!(
            causerie_storage::testing::files_contain(&store, text.as_bytes()),
            "{text} is in the files before the purge"
        );
    }

    // Ban-and-purge bob: his items leave the queue, carol's stays.
    alice
        .must(
            &room,
            json!({ "action": "ban", "user": bob.key(), "purge": true, "reason": "spam" }),
        )
        .await;
    let items = review_items(&alice, &room).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["event"]["content"]["body"], kept);

    // The node compacts by itself after a redaction: the texts leave the raw files.
    eventually("bob's held texts leave the store's files", || {
        let store = store.clone();
        async move {
            canaries
                .iter()
                .all(|t| !causerie_storage::testing::files_contain(&store, t.as_bytes()))
        }
    })
    .await;
    assert!(causerie_storage::testing::files_contain(
        &store,
        kept.as_bytes()
    ));
    // And it holds after a restart (the queue is reloaded from the store).
    node.restart().await;
    let mut alice = alice;
    alice.base = format!("http://{}", node.http);
    assert_eq!(alice.login().await.status, 200);
    assert_eq!(review_items(&alice, &room).await.len(), 1);
    node.stop().await;
}
