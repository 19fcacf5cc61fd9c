//! Catch-up throughput on loopback (ignored by default: run with `--release -- --ignored
//! --nocapture`): a node joins a room of `CAUSERIE_CATCHUP_EVENTS` events (default 50,000) by the
//! forward walk, then is cut off while the other node gets as many again, and catches up by the
//! backward walk. Prints events/s for both.

#![allow(clippy::unwrap_used, missing_docs, dead_code, clippy::print_stdout)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use causerie_crypto::event::kinds;
use causerie_crypto::{
    Assurance, Attestation, AttestationDraft, Content, Event, EventId, NodeSecret, UserSecret,
    Value,
};
use causerie_node::net::{Net, NetConfig, NetHandle};
use causerie_node::node::{IngestOutcome, Node, NodeTask};
use causerie_node::room::{Room, prepare_create};
use causerie_node::rooms::Rooms;
use causerie_storage::SledStore;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(600);
const DAY_MS: u64 = 24 * 60 * 60 * 1_000;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

struct TestNode {
    node: Node,
    net: NetHandle,
    shutdown: CancellationToken,
    net_task: tokio::task::JoinHandle<()>,
    node_task: NodeTask,
    _dir: tempfile::TempDir,
}

impl TestNode {
    async fn start(seed: u8) -> TestNode {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path().join("store")).unwrap();
        let rooms = Rooms::open(store, now_ms()).unwrap();
        let secret = NodeSecret::from_seed(&[seed; 32]);
        let (node, node_task) = Node::spawn(rooms, secret.public());
        let shutdown = CancellationToken::new();
        let config = NetConfig::new(
            vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            vec![],
            secret,
        );
        let (net, net_task) = Net::spawn(config, node.clone(), shutdown.child_token()).unwrap();
        TestNode {
            node,
            net,
            shutdown,
            net_task,
            node_task,
            _dir: dir,
        }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.net_task.await;
        self.node.shutdown().await;
        tokio::task::spawn_blocking(move || self.node_task.join())
            .await
            .unwrap();
    }

    async fn has(&self, id: EventId) -> bool {
        !self.node.events(vec![id]).await.unwrap().is_empty()
    }
}

/// Polls `condition` until it holds or [`WAIT`] passes.
async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut delay = Duration::from_millis(10);
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(200));
    }
}

/// A user and a local engine used only to prepare and sign events.
struct Author {
    secret: UserSecret,
    attestation: Attestation,
    room: Room,
    now: u64,
}

impl Author {
    fn create(seed: u8) -> (Author, Vec<Event>) {
        let home = NodeSecret::from_seed(&[200; 32]);
        let secret = UserSecret::from_seed(&[seed; 32]);
        let now = now_ms() - 60_000;
        let attestation = AttestationDraft {
            user: secret.public(),
            handle: format!("user{seed}"),
            assurance: Assurance::Contact,
            not_before: now - DAY_MS,
            not_after: now + 300 * DAY_MS,
        }
        .sign(&home)
        .unwrap();
        let create = prepare_create(secret.public(), Content::new(), now, attestation.id())
            .sign(&secret)
            .unwrap();
        let mut room = Room::new(create.room_id());
        room.add_attestation(attestation.clone()).unwrap();
        room.receive(create.clone(), now);
        let mut author = Author {
            secret,
            attestation,
            room,
            now,
        };
        let hex = hex_key(&author);
        let mut join = Content::new();
        join.insert("membership".into(), Value::Text("join".into()));
        let mut events = vec![create];
        events.push(author.send(kinds::MEMBER, Some(&hex), join));
        (author, events)
    }

    fn send(&mut self, kind: &str, state_key: Option<&str>, content: Content) -> Event {
        self.now += 1;
        let event = self
            .room
            .prepare(
                self.secret.public(),
                kind,
                state_key.map(str::to_owned),
                content,
                self.now,
                self.attestation.id(),
            )
            .unwrap()
            .sign(&self.secret)
            .unwrap();
        self.room.receive(event.clone(), self.now);
        event
    }

    fn message(&mut self, body: &str) -> Event {
        let mut content = Content::new();
        content.insert("body".into(), Value::Text(body.into()));
        self.send("m.message", None, content)
    }
}

fn hex_key(author: &Author) -> String {
    causerie_node::room::content::user_state_key(&author.secret.public())
}

async fn ingest_accepted(node: &Node, events: Vec<Event>) {
    for outcome in node.ingest(events).await.unwrap() {
        assert!(
            matches!(outcome.outcome, IngestOutcome::Accepted { visible: true }),
            "{outcome:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "throughput measurement; run in release"]
async fn catch_up_throughput() {
    let n: usize = std::env::var("CAUSERIE_CATCHUP_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let a = TestNode::start(21).await;
    let b = TestNode::start(22).await;
    let (mut author, mut events) = Author::create(30);
    while events.len() < n {
        events.push(author.message(&format!("message {}", events.len())));
    }
    a.node
        .add_attestation(author.attestation.clone())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    for chunk in events.chunks(2_000) {
        ingest_accepted(&a.node, chunk.to_vec()).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "local ingest (verified events, no network): {n} events in {seconds:.2} s = {:.0} events/s",
        n as f64 / seconds
    );
    let room = events[0].room_id();

    let link = a.net.invite_link(room).await.unwrap();
    let started = std::time::Instant::now();
    let report = b.net.join(&link).await.unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(
        b.node.tips(room).await.unwrap(),
        a.node.tips(room).await.unwrap()
    );
    println!(
        "join (forward walk): {} events in {seconds:.2} s = {:.0} events/s",
        report.events_fetched,
        report.events_fetched as f64 / seconds
    );

    let peer_a = a.net.peer_id();
    b.net.set_blocked(peer_a, true).await.unwrap();
    eventually("the cut", || async {
        a.net.connected_peers().await.unwrap().is_empty()
    })
    .await;
    let mut more = Vec::new();
    while more.len() < n {
        more.push(author.message(&format!("while away {}", more.len())));
    }
    for chunk in more.chunks(2_000) {
        ingest_accepted(&a.node, chunk.to_vec()).await;
    }
    let target = a.node.tips(room).await.unwrap();
    let started = std::time::Instant::now();
    b.net.set_blocked(peer_a, false).await.unwrap();
    eventually("B to catch up", || async {
        b.node.tips(room).await.unwrap() == target
    })
    .await;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "rejoin (backward walk): {} events in {seconds:.2} s = {:.0} events/s",
        more.len(),
        more.len() as f64 / seconds
    );
    b.stop().await;
    a.stop().await;
}
