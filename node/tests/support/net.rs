//! Shared harness of the two-node network tests (`net_federation.rs`, `net_catchup.rs`): real
//! nodes on loopback with temp sled stores, authors with attestations, polling waits. Each test
//! file sets its own `WAIT` (the longest a poll may take).

#![allow(dead_code, unreachable_pub)] // each test file uses part of the harness

pub use std::time::Duration;

pub use causerie_crypto::event::kinds;
pub use causerie_crypto::{
    Assurance, Attestation, AttestationDraft, Content, Event, EventId, NodeSecret, UserSecret,
    Value,
};
pub use causerie_node::ledger::Ledger;
pub use causerie_node::net::{Net, NetConfig, NetHandle};
pub use causerie_node::node::{IngestOutcome, Node, NodeTask};
pub use causerie_room::{Room, prepare_create};
pub use causerie_storage::SledStore;
pub use tokio_util::sync::CancellationToken;

pub const DAY_MS: u64 = 24 * 60 * 60 * 1_000;

pub use causerie_node::clock::now_ms;

pub struct TestNode {
    pub node: Node,
    pub net: NetHandle,
    pub shutdown: CancellationToken,
    pub net_task: tokio::task::JoinHandle<()>,
    pub node_task: NodeTask,
    pub _dir: tempfile::TempDir,
}

impl TestNode {
    pub async fn start(seed: u8) -> TestNode {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path().join("store")).unwrap();
        let ledger = Ledger::open(store, now_ms()).unwrap();
        let secret = NodeSecret::from_seed(&[seed; 32]);
        let (node, node_task) = Node::spawn(
            ledger,
            std::sync::Arc::new(NodeSecret::from_seed(&[seed; 32])),
        );
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

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.net_task.await;
        self.node.shutdown().await;
        tokio::task::spawn_blocking(move || self.node_task.join())
            .await
            .unwrap();
    }

    /// Makes this node host the author's room: takes the author's attestation and `events` (the
    /// room's first events, all of which must be accepted). Returns the room's id.
    pub async fn host(&self, author: &Author, events: &[Event]) -> causerie_crypto::RoomId {
        self.node
            .add_attestation(author.attestation.clone())
            .await
            .unwrap();
        ingest_accepted(&self.node, events.to_vec()).await;
        events[0].room_id()
    }

    /// Dials `other` at its first listen address; returns the peer that answered.
    pub async fn dial(&self, other: &TestNode) -> libp2p::PeerId {
        let address = other.net.listen_addrs().await.unwrap()[0].clone();
        self.net.dial(address).await.unwrap()
    }

    pub async fn has(&self, id: EventId) -> bool {
        !self.node.events(vec![id]).await.unwrap().is_empty()
    }
}

/// Polls `condition` until it holds or [`WAIT`] passes.
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + crate::WAIT;
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
pub struct Author {
    pub secret: UserSecret,
    pub attestation: Attestation,
    pub room: Room,
    pub now: u64,
}

impl Author {
    pub fn create(seed: u8) -> (Author, Vec<Event>) {
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

    pub fn send(&mut self, kind: &str, state_key: Option<&str>, content: Content) -> Event {
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

    pub fn message(&mut self, body: &str) -> Event {
        let mut content = Content::new();
        content.insert("body".into(), Value::Text(body.into()));
        self.send("m.message", None, content)
    }
}

pub fn hex_key(author: &Author) -> String {
    causerie_room::content::user_state_key(&author.secret.public())
}

pub async fn ingest_accepted(node: &Node, events: Vec<Event>) {
    for outcome in node.ingest(events).await.unwrap() {
        assert!(
            matches!(outcome.outcome, IngestOutcome::Accepted { visible: true }),
            "{outcome:?}"
        );
    }
}
