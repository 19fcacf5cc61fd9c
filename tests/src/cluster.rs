//! The multi-node harness (exercises specs/federation.md end to end): N real nodes
//! started in-process with [`daemon::start`] on loopback (p2p `/ip4/127.0.0.1/tcp/0`, HTTP
//! `127.0.0.1:0`), each with its own data directory under one temporary directory, wired by
//! bootstrap addresses; users with their own keys whose attestations are signed by their home
//! node's key (read from the node's data dir, as the daemon does); helpers to create rooms, join
//! through invite links, send events the way a client does (prepare on the author's home node,
//! sign with the user's secret, ingest), compare nodes, and wait on conditions with timeouts
//! (never fixed sleeps).
//!
//! A node can also run as a real child process ([`ChildNode`]) from a data directory, so a
//! scenario can SIGKILL it. The child is the `causerie-cluster-node` binary of this crate: it
//! builds its [`Config`] from the same flags as `causerie run` (`--data-dir`, `--listen`,
//! `--bootstrap`, `--http`) and runs the same [`daemon::start`]; it exists because Cargo only
//! guarantees an up-to-date binary (`CARGO_BIN_EXE_*`) for the crate under test, and the
//! `causerie` binary of `causerie-node` may be missing or stale when only this crate is built.
//! It prints one JSON line once started, so tests learn its ports without guessing.

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use causerie_crypto::event::kinds;
use causerie_crypto::{
    Assurance, Attestation, AttestationDraft, Content, Event, EventError, EventId, KeyError,
    NodeSecret, RoomId, UserKey, UserSecret,
};
use causerie_node::config::{Config, ConfigError, ConfigFile, Overrides};
use causerie_node::daemon::{self, DaemonError, Running};
use causerie_node::net::{JoinReport, NetError};
use causerie_node::node::{
    IngestOutcome, MAX_PAGE_EVENTS, Node, NodeError, PrepareRequest, RoomSummary,
};
use causerie_room::content::user_state_key;
use causerie_room::{Membership, PowerLevels, prepare_create};
use libp2p::{Multiaddr, PeerId};
use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// How often [`wait_until`] re-checks its condition.
pub const POLL_INTERVAL: Duration = Duration::from_millis(25);
/// The default patience of scenario waits (generous: 2 shared cores, debug builds).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(40);
/// How long a user attestation made by the harness stays valid.
pub const ATTESTATION_VALIDITY_MS: u64 = 30 * 24 * 60 * 60 * 1_000;
/// How far back an attestation's validity starts (covers clock differences between nodes).
pub const ATTESTATION_BACKDATE_MS: u64 = 24 * 60 * 60 * 1_000;
/// Largest HTTP answer [`http_get`] reads.
pub const MAX_HTTP_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;
/// How long a child process may take to print its ready line.
pub const CHILD_START_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest ready line a child may print.
const MAX_READY_LINE_BYTES: usize = 16 * 1024;

/// Why a harness operation failed.
#[derive(Debug, Error)]
pub enum HarnessError {
    /// A node failed to start.
    #[error("daemon: {0}")]
    Daemon(#[from] DaemonError),
    /// A node configuration was refused.
    #[error("config: {0}")]
    Config(#[from] ConfigError),
    /// A node request failed.
    #[error("node: {0}")]
    Node(#[from] NodeError),
    /// A network request failed.
    #[error("net: {0}")]
    Net(#[from] NetError),
    /// An event or attestation could not be built or signed.
    #[error("event: {0}")]
    Event(#[from] EventError),
    /// A key could not be made.
    #[error("key: {0}")]
    Key(#[from] KeyError),
    /// Files, sockets or processes.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A waited-for condition did not hold in time.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
    /// The node did not accept a submitted event.
    #[error("event {id} not accepted: {outcome:?}")]
    NotAccepted {
        /// The event.
        id: EventId,
        /// What the node said.
        outcome: IngestOutcome,
    },
    /// A child process misbehaved (no ready line, bad output).
    #[error("child process: {0}")]
    Child(String),
}

impl HarnessError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            HarnessError::Daemon(e) => e.reason(),
            HarnessError::Config(e) => e.reason(),
            HarnessError::Node(e) => e.reason(),
            HarnessError::Net(e) => e.reason(),
            HarnessError::Event(e) => e.reason(),
            HarnessError::Key(e) => e.reason(),
            HarnessError::Io(_) => "io",
            HarnessError::Timeout(..) => "timeout",
            HarnessError::NotAccepted { .. } => "not_accepted",
            HarnessError::Child(_) => "child_process",
        }
    }
}

/// Harness result.
pub type Result<T, E = HarnessError> = std::result::Result<T, E>;

/// Wall-clock milliseconds (the nodes use the same clock for `origin_ts`).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Polls `condition` every [`POLL_INTERVAL`] until it returns true or `timeout` passes.
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut condition: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if condition().await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(HarnessError::Timeout(timeout, what.to_owned()));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Installs a log subscriber for a test binary (`RUST_LOG`, default `warn`); idempotent.
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// A user: a key of its own, attested by its home node.
pub struct TestUser {
    /// The user's secret (never given to a node).
    pub secret: UserSecret,
    /// The public key.
    pub key: UserKey,
    /// The attestation signed by the home node.
    pub attestation: Attestation,
    /// Index of the home node in the cluster.
    pub home: usize,
}

impl Clone for TestUser {
    fn clone(&self) -> Self {
        TestUser {
            secret: UserSecret::from_seed(&self.secret.expose_seed()),
            key: self.key,
            attestation: self.attestation.clone(),
            home: self.home,
        }
    }
}

impl TestUser {
    /// The user's member state key.
    pub fn state_key(&self) -> String {
        user_state_key(&self.key)
    }

    /// The request to prepare `kind` (with `state_key` and `content`) in `room` as this user.
    pub fn request(
        &self,
        room: RoomId,
        kind: &str,
        state_key: Option<&str>,
        content: Content,
    ) -> PrepareRequest {
        PrepareRequest {
            room,
            author: self.key,
            kind: kind.to_owned(),
            state_key: state_key.map(str::to_owned),
            content,
            attestation: self.attestation.id(),
        }
    }

    /// The request to prepare the text message `body` in `room` as this user.
    pub fn message_request(&self, room: RoomId, body: &str) -> PrepareRequest {
        self.request(room, kinds::MESSAGE, None, text_content(body))
    }
}

/// One cluster member: its configuration (data dir) and, while it runs in-process, the daemon.
pub struct ClusterNode {
    /// Name used in messages ("node0", ...).
    pub name: String,
    /// Data directory, listen and HTTP addresses.
    pub config: Config,
    /// The node key (read from the data directory); signs the attestations it hands out.
    secret: NodeSecret,
    /// Its libp2p identity (derived from the node key).
    pub peer_id: PeerId,
    running: Option<Running>,
}

impl ClusterNode {
    /// The running daemon. Panics if the node is stopped: asking a stopped node is a bug in the
    /// scenario.
    pub fn running(&self) -> &Running {
        self.running
            .as_ref()
            .unwrap_or_else(|| panic!("{} is not running", self.name))
    }

    /// The node actor handle.
    pub fn node(&self) -> &Node {
        &self.running().node
    }

    /// Whether the node runs in-process now.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// The node's p2p addresses, each ending in `/p2p/<peer id>`.
    pub async fn addresses(&self) -> Result<Vec<Multiaddr>> {
        Ok(self.running().net.listen_addrs().await?)
    }
}

/// N nodes on loopback, each in its own data directory under one temporary directory.
pub struct Cluster {
    root: tempfile::TempDir,
    /// The members, by index.
    pub nodes: Vec<ClusterNode>,
}

fn loopback_config(data_dir: PathBuf, bootstrap: Vec<String>) -> Result<Config> {
    let overrides = Overrides {
        data_dir: Some(data_dir),
        listen: vec!["/ip4/127.0.0.1/tcp/0".to_owned()],
        bootstrap,
        http: Some("127.0.0.1:0".to_owned()),
        ..Overrides::default()
    };
    Ok(Config::from_parts(ConfigFile::default(), overrides)?)
}

impl Cluster {
    /// Starts `count` connected nodes (at least two) with alice, at home on node 0, and bob, on
    /// node 1, in a shared room alice created and bob joined: (cluster, alice, bob, room, the id
    /// of bob's join).
    pub async fn start_with_alice_and_bob(
        count: usize,
    ) -> Result<(Cluster, TestUser, TestUser, RoomId, EventId)> {
        let cluster = Cluster::start(count).await?;
        let alice = cluster.user(0, "alice").await?;
        let bob = cluster.user(1, "bob").await?;
        let room = cluster.create_shared_room(&alice).await?;
        let joined = cluster.join(&bob, room).await?.id();
        Ok((cluster, alice, bob, room, joined))
    }

    /// An empty cluster (add nodes with [`Cluster::add_node`]).
    pub fn empty() -> Result<Cluster> {
        Ok(Cluster {
            root: tempfile::tempdir()?,
            nodes: Vec::new(),
        })
    }

    /// Starts `count` nodes; each bootstraps to every node started before it.
    pub async fn start(count: usize) -> Result<Cluster> {
        let mut cluster = Cluster::empty()?;
        for _ in 0..count {
            cluster.add_node().await?;
        }
        cluster.wait_connected(DEFAULT_TIMEOUT).await?;
        Ok(cluster)
    }

    /// The temporary directory holding every data directory.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The data directory of node `index`.
    pub fn data_dir(&self, index: usize) -> PathBuf {
        self.root.path().join(format!("node{index}"))
    }

    /// Node `index`'s actor handle.
    pub fn node(&self, index: usize) -> &Node {
        self.nodes[index].node()
    }

    /// The addresses of every running node except `except`.
    async fn peers_of(&self, except: usize) -> Result<Vec<Multiaddr>> {
        let mut out = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            if i != except && node.is_running() {
                out.extend(node.addresses().await?);
            }
        }
        Ok(out)
    }

    /// Starts a new node bootstrapping to every running node and waits until it is connected to
    /// all of them; returns its index. (Waiting matters: a join dialled while the bootstrap dial
    /// to the same peer is still pending can fail with a dial error; seen in the first federation runs.)
    pub async fn add_node(&mut self) -> Result<usize> {
        let index = self.nodes.len();
        let bootstrap = self.peers_of(index).await?;
        let bootstrap = bootstrap.iter().map(ToString::to_string).collect();
        let config = loopback_config(self.data_dir(index), bootstrap)?;
        std::fs::create_dir_all(&config.data_dir)?;
        let secret = daemon::node_key(&config)?;
        let running = daemon::start(&config).await?;
        wait_listening(&running).await?;
        let peer_id = running.net.peer_id();
        self.nodes.push(ClusterNode {
            name: format!("node{index}"),
            config,
            secret,
            peer_id,
            running: Some(running),
        });
        let others: Vec<(usize, usize)> = (0..index)
            .filter(|i| self.nodes[*i].is_running())
            .flat_map(|i| [(index, i), (i, index)])
            .collect();
        self.wait_links(&others, true, DEFAULT_TIMEOUT).await?;
        Ok(index)
    }

    /// Stops node `index` gracefully (flushes); its data directory stays.
    pub async fn stop(&mut self, index: usize) {
        if let Some(running) = self.nodes[index].running.take() {
            running.shutdown().await;
        }
    }

    /// Starts node `index` again from its data directory, bootstrapping to every running node
    /// when `connect` is true, or to none (isolated, e.g. to inspect what survived a crash).
    pub async fn restart(&mut self, index: usize, connect: bool) -> Result<()> {
        self.stop(index).await;
        let bootstrap = if connect {
            self.peers_of(index).await?
        } else {
            Vec::new()
        };
        let bootstrap = bootstrap.iter().map(ToString::to_string).collect();
        let config = loopback_config(self.data_dir(index), bootstrap)?;
        let running = daemon::start(&config).await?;
        wait_listening(&running).await?;
        let member = &mut self.nodes[index];
        member.config = config;
        member.peer_id = running.net.peer_id();
        member.running = Some(running);
        Ok(())
    }

    /// Makes node `index` dial every other running node.
    pub async fn connect(&self, index: usize) -> Result<()> {
        for address in self.peers_of(index).await? {
            self.nodes[index].running().net.dial(address).await?;
        }
        Ok(())
    }

    /// Stops every node gracefully.
    pub async fn shutdown(mut self) {
        for index in 0..self.nodes.len() {
            self.stop(index).await;
        }
    }

    /// Waits until every running node is connected to every other running node.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<()> {
        let running: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].is_running())
            .collect();
        let pairs: Vec<(usize, usize)> = running
            .iter()
            .flat_map(|a| {
                running
                    .iter()
                    .filter(move |b| *b != a)
                    .map(move |b| (*a, *b))
            })
            .collect();
        self.wait_links(&pairs, true, timeout).await
    }

    /// Waits until each `(a, b)` pair is connected (`connected`) or not, as seen from `a`.
    pub async fn wait_links(
        &self,
        pairs: &[(usize, usize)],
        connected: bool,
        timeout: Duration,
    ) -> Result<()> {
        let what = format!("links {pairs:?} connected={connected}");
        wait_until(timeout, &what, || async {
            for (a, b) in pairs {
                let peers = self.nodes[*a]
                    .running()
                    .net
                    .connected_peers()
                    .await
                    .unwrap_or_default();
                if peers.contains(&self.nodes[*b].peer_id) != connected {
                    return false;
                }
            }
            true
        })
        .await
    }

    /// Blocks (or unblocks) the link between `a` and `b`, both ways.
    pub async fn set_link_blocked(&self, a: usize, b: usize, blocked: bool) -> Result<()> {
        let (pa, pb) = (self.nodes[a].peer_id, self.nodes[b].peer_id);
        self.nodes[a].running().net.set_blocked(pb, blocked).await?;
        self.nodes[b].running().net.set_blocked(pa, blocked).await?;
        Ok(())
    }

    /// A new user homed on node `home`: a fresh key, an attestation signed by the home node's
    /// key, stored on the home node (other nodes fetch it when they first need it).
    pub async fn user(&self, home: usize, handle: &str) -> Result<TestUser> {
        let secret = UserSecret::generate()?;
        let key = secret.public();
        let now = now_ms();
        let attestation = AttestationDraft {
            user: key,
            handle: handle.to_owned(),
            assurance: Assurance::Contact,
            not_before: now.saturating_sub(ATTESTATION_BACKDATE_MS),
            not_after: now + ATTESTATION_VALIDITY_MS,
        }
        .sign(&self.nodes[home].secret)?;
        self.node(home).add_attestation(attestation.clone()).await?;
        Ok(TestUser {
            secret,
            key,
            attestation,
            home,
        })
    }

    /// Creates a public room on the creator's home node: create, the creator's join, power
    /// levels, public join rules. Returns the room id.
    pub async fn create_room(&self, creator: &TestUser) -> Result<RoomId> {
        let create = prepare_create(
            creator.key,
            Content::new(),
            now_ms(),
            creator.attestation.id(),
        )
        .sign(&creator.secret)?;
        let room = create.room_id();
        submit(self.node(creator.home), create).await?;
        self.join(creator, room).await?;
        self.send(
            creator,
            room,
            kinds::POWER_LEVELS,
            Some(""),
            PowerLevels::default().to_content(),
        )
        .await?;
        let mut rules = Content::new();
        rules.insert("join_rule".into(), "public".into());
        self.send(creator, room, kinds::JOIN_RULES, Some(""), rules)
            .await?;
        Ok(room)
    }

    /// Creates a room as `creator` ([`Cluster::create_room`]) and has every other node join it
    /// through an invite link made by the creator's home node, in node order.
    pub async fn create_shared_room(&self, creator: &TestUser) -> Result<RoomId> {
        let room = self.create_room(creator).await?;
        for index in (0..self.nodes.len()).filter(|&index| index != creator.home) {
            self.join_room(index, room, creator.home).await?;
        }
        Ok(room)
    }

    /// A room created by `owner` on their home node, joined by node `also`, where `enforcer` is
    /// joined with ban power (50) and which subscribes to `list` with `enforcer` as its enforcer.
    pub async fn create_subscribed_room(
        &self,
        owner: &TestUser,
        enforcer: &TestUser,
        list: RoomId,
        also: usize,
    ) -> Result<RoomId> {
        let room = self.create_room(owner).await?;
        self.join_room(also, room, owner.home).await?;
        self.join(enforcer, room).await?;
        let mut levels = PowerLevels::default();
        levels.users.insert(*enforcer.key.as_bytes(), 50);
        self.send(
            owner,
            room,
            kinds::POWER_LEVELS,
            Some(""),
            levels.to_content(),
        )
        .await?;
        let subscription = causerie_room::policy::Subscription {
            lists: vec![list],
            enforcer: Some(*enforcer.key.as_bytes()),
            ignore: BTreeSet::new(),
        };
        self.send(
            owner,
            room,
            kinds::POLICY_SUBSCRIPTIONS,
            Some(""),
            subscription.to_content(),
        )
        .await?;
        Ok(room)
    }

    /// Waits until node `index` holds `room` (it joined it, or follows it as a ban list).
    pub async fn wait_holds(&self, index: usize, room: RoomId, timeout: Duration) -> Result<()> {
        wait_until(timeout, "the node holds the room", || async {
            self.node(index)
                .summary(room)
                .await
                .ok()
                .flatten()
                .is_some()
        })
        .await
    }

    /// Node `index` joins `room` through an invite link made by node `via`.
    pub async fn join_room(&self, index: usize, room: RoomId, via: usize) -> Result<JoinReport> {
        let invite = self.nodes[via].running().net.invite_link(room).await?;
        Ok(self.nodes[index].running().net.join(&invite).await?)
    }

    /// Prepares `kind` on the user's home node, signs it with the user's key and submits it
    /// there; fails unless the node accepts it (visible or not).
    pub async fn send(
        &self,
        user: &TestUser,
        room: RoomId,
        kind: &str,
        state_key: Option<&str>,
        content: Content,
    ) -> Result<Event> {
        let (event, outcome) = self.try_send(user, room, kind, state_key, content).await?;
        match outcome {
            IngestOutcome::Accepted { .. } => Ok(event),
            outcome => Err(HarnessError::NotAccepted {
                id: event.id(),
                outcome,
            }),
        }
    }

    /// Like [`Cluster::send`] but returns whatever the node decided.
    pub async fn try_send(
        &self,
        user: &TestUser,
        room: RoomId,
        kind: &str,
        state_key: Option<&str>,
        content: Content,
    ) -> Result<(Event, IngestOutcome)> {
        let node = self.node(user.home);
        let draft = node
            .prepare(user.request(room, kind, state_key, content))
            .await?;
        let event = draft.sign(&user.secret)?;
        let outcome = ingest_one(node, event.clone()).await?;
        Ok((event, outcome))
    }

    /// The user joins `room` (its home node must already hold the room).
    pub async fn join(&self, user: &TestUser, room: RoomId) -> Result<Event> {
        let key = user.state_key();
        self.send(
            user,
            room,
            kinds::MEMBER,
            Some(&key),
            Membership::Join.to_content(),
        )
        .await
    }

    /// Each of `users` joins `room`; returns the ids of their joins.
    pub async fn join_all(&self, users: &[&TestUser], room: RoomId) -> Result<BTreeSet<EventId>> {
        let mut joins = BTreeSet::new();
        for user in users {
            joins.insert(self.join(user, room).await?.id());
        }
        Ok(joins)
    }

    /// `by` sets `target`'s membership (ban, kick, ...).
    pub async fn set_member(
        &self,
        by: &TestUser,
        target: &TestUser,
        room: RoomId,
        membership: Membership,
    ) -> Result<Event> {
        let key = target.state_key();
        self.send(by, room, kinds::MEMBER, Some(&key), membership.to_content())
            .await
    }

    /// A text message.
    pub async fn message(&self, user: &TestUser, room: RoomId, body: &str) -> Result<Event> {
        self.send(user, room, kinds::MESSAGE, None, text_content(body))
            .await
    }

    /// Waits until every running node holds the same room: same event set, state, timeline and
    /// tips, nothing held; and every id in `expected` is among the events. On timeout the error
    /// says how the nodes differ.
    pub async fn wait_converged(
        &self,
        room: RoomId,
        expected: &BTreeSet<EventId>,
        timeout: Duration,
    ) -> Result<RoomView> {
        let deadline = Instant::now() + timeout;
        loop {
            let views = self.views(room).await?;
            let first = &views[0];
            let same = views.iter().all(|v| v == first);
            let complete = expected.is_subset(&first.events);
            let settled = views
                .iter()
                .all(|v| v.summary.as_ref().is_some_and(|s| s.held == 0));
            if same && complete && settled {
                return Ok(first.clone());
            }
            if Instant::now() >= deadline {
                let report: Vec<String> = views
                    .iter()
                    .map(|v| {
                        format!(
                            "{}: events {} (missing expected {}), accepted {:?}, held {:?}, timeline {:?}, tips {:?}",
                            v.name,
                            v.events.len(),
                            expected.difference(&v.events).count(),
                            v.summary.as_ref().map(|s| s.accepted),
                            v.summary.as_ref().map(|s| s.held),
                            v.summary.as_ref().map(|s| s.timeline.len()),
                            v.summary.as_ref().map(|s| s.tips.len()),
                        )
                    })
                    .collect();
                return Err(HarnessError::Timeout(
                    timeout,
                    format!("convergence of room {room}: {}", report.join("; ")),
                ));
            }
            tokio::time::sleep(POLL_INTERVAL * 4).await;
        }
    }

    /// Waits until every running node has accepted every id in `expected`, whatever else it
    /// holds (a node under attack may keep held events that never resolve, so
    /// [`Cluster::wait_converged`] would wait for ever).
    pub async fn wait_accepted(
        &self,
        room: RoomId,
        expected: &BTreeSet<EventId>,
        timeout: Duration,
    ) -> Result<()> {
        let what = format!("{} events of room {room} on every node", expected.len());
        let result = wait_until(timeout, &what, || async {
            for member in self.nodes.iter().filter(|n| n.is_running()) {
                match event_ids(member.node(), room).await {
                    Ok(ids) if expected.is_subset(&ids) => {}
                    _ => return false,
                }
            }
            true
        })
        .await;
        if result.is_err() {
            let mut report = Vec::new();
            for member in self.nodes.iter().filter(|n| n.is_running()) {
                let ids = event_ids(member.node(), room).await.unwrap_or_default();
                report.push(format!(
                    "{}: missing {}",
                    member.name,
                    expected.difference(&ids).count()
                ));
            }
            return Err(HarnessError::Timeout(
                timeout,
                format!("{what}: {}", report.join("; ")),
            ));
        }
        Ok(())
    }

    /// Every running node's view of the room.
    pub async fn views(&self, room: RoomId) -> Result<Vec<RoomView>> {
        let mut views = Vec::new();
        for member in self.nodes.iter().filter(|n| n.is_running()) {
            views.push(RoomView::of(&member.name, member.node(), room).await?);
        }
        Ok(views)
    }
}

/// Waits until the node reports its listen addresses (port 0 is bound asynchronously).
pub async fn wait_listening(running: &Running) -> Result<Vec<Multiaddr>> {
    let deadline = Instant::now() + DEFAULT_TIMEOUT;
    loop {
        let found = running.net.listen_addrs().await?;
        if !found.is_empty() {
            return Ok(found);
        }
        if Instant::now() >= deadline {
            return Err(HarnessError::Timeout(
                DEFAULT_TIMEOUT,
                "listen addresses".into(),
            ));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// One node's view of a room, for comparisons (equality ignores the node's name).
#[derive(Debug, Clone)]
pub struct RoomView {
    /// Which node.
    pub name: String,
    /// Every accepted event (visible or soft-failed).
    pub events: BTreeSet<EventId>,
    /// State, timeline, tips, counts.
    pub summary: Option<RoomSummary>,
}

impl PartialEq for RoomView {
    fn eq(&self, other: &Self) -> bool {
        self.events == other.events && self.summary == other.summary
    }
}

impl RoomView {
    /// Reads `node`'s view of `room`.
    pub async fn of(name: &str, node: &Node, room: RoomId) -> Result<RoomView> {
        Ok(RoomView {
            name: name.to_owned(),
            events: event_ids(node, room).await?,
            summary: node.summary(room).await?,
        })
    }
}

/// Every accepted event id of the room on `node` (paged with `since`).
pub async fn event_ids(node: &Node, room: RoomId) -> Result<BTreeSet<EventId>> {
    let mut out = BTreeSet::new();
    let mut after = None;
    loop {
        let page = match node.since(room, after, MAX_PAGE_EVENTS).await {
            Ok(page) => page,
            Err(NodeError::UnknownRoom) => return Ok(out),
            Err(e) => return Err(e.into()),
        };
        let Some(last) = page.last() else {
            return Ok(out);
        };
        after = Some((last.depth(), last.id()));
        out.extend(page.iter().map(Event::id));
    }
}

/// How many of a room's newest history entries [`in_history`] looks through.
pub const HISTORY_LOOKUP: usize = 200;

/// Event `id` as `node`'s history of `room` shows it (among the newest [`HISTORY_LOOKUP`]
/// entries), if it does.
pub async fn in_history(node: &Node, room: RoomId, id: EventId) -> Option<Event> {
    let page = node.history(room, None, HISTORY_LOOKUP).await.ok()??;
    page.events.into_iter().find(|e| e.id() == id)
}

/// Submits one signed event to `node`; fails unless accepted.
pub async fn submit(node: &Node, event: Event) -> Result<()> {
    match ingest_one(node, event.clone()).await? {
        IngestOutcome::Accepted { .. } => Ok(()),
        outcome => Err(HarnessError::NotAccepted {
            id: event.id(),
            outcome,
        }),
    }
}

async fn ingest_one(node: &Node, event: Event) -> Result<IngestOutcome> {
    let id = event.id();
    let outcomes = node.ingest(vec![event]).await?;
    outcomes
        .into_iter()
        .next()
        .map(|o| o.outcome)
        .ok_or(HarnessError::NotAccepted {
            id,
            outcome: IngestOutcome::Undecided,
        })
}

/// Message content `{"body": body}`.
pub fn text_content(body: &str) -> Content {
    let mut content = Content::new();
    content.insert("body".into(), body.into());
    content
}

/// A minimal HTTP/1.1 GET on loopback (the node's own API; no client library needed). Returns
/// the status code and body.
pub async fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream
        .take(MAX_HTTP_RESPONSE_BYTES)
        .read_to_end(&mut raw)
        .await?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| HarnessError::Child("HTTP answer without a header end".into()))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| HarnessError::Child(format!("bad HTTP status line: {head}")))?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || tail.len() < size {
            break;
        }
        out.push_str(&tail[..size]);
        rest = tail[size..].trim_start_matches("\r\n");
    }
    out
}

/// The value of a Prometheus sample (`name` or `name{labels}`) in `/metrics` text.
pub fn metric(text: &str, sample: &str) -> Option<u64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            l.strip_prefix(sample)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .and_then(|v| v.trim().parse().ok())
}

/// What a child node prints once started.
#[derive(Debug, Clone)]
pub struct ChildReady {
    /// Its peer id.
    pub peer_id: PeerId,
    /// Its HTTP address.
    pub http: SocketAddr,
    /// Its p2p addresses, with `/p2p/<peer id>`.
    pub listen: Vec<Multiaddr>,
}

/// A node running as a child process (`causerie-cluster-node`), killed on drop.
pub struct ChildNode {
    child: tokio::process::Child,
    /// What it reported once started.
    pub ready: ChildReady,
}

impl ChildNode {
    /// Starts a child node on `data_dir` (loopback, port 0) bootstrapping to `bootstrap`, and
    /// waits for its ready line.
    pub async fn spawn(binary: &Path, data_dir: &Path, bootstrap: &[Multiaddr]) -> Result<Self> {
        let mut command = tokio::process::Command::new(binary);
        command
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "/ip4/127.0.0.1/tcp/0", "--http", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for address in bootstrap {
            command.arg("--bootstrap").arg(address.to_string());
        }
        let mut child = command.spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| HarnessError::Child("no stdout pipe".into()))?;
        let mut lines = BufReader::new(stdout.take(MAX_READY_LINE_BYTES as u64)).lines();
        let line = tokio::time::timeout(CHILD_START_TIMEOUT, lines.next_line())
            .await
            .map_err(|_| HarnessError::Timeout(CHILD_START_TIMEOUT, "child ready line".into()))??
            .ok_or_else(|| HarnessError::Child("exited before it was ready".into()))?;
        let ready = parse_ready(&line)?;
        Ok(ChildNode { child, ready })
    }

    /// Kills the process with SIGKILL (no flush, no goodbye) and reaps it.
    pub async fn kill(mut self) -> Result<()> {
        self.child.kill().await?;
        Ok(())
    }

    /// The process id.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }
}

pub(crate) fn parse_ready(line: &str) -> Result<ChildReady> {
    let bad = |what: &str| HarnessError::Child(format!("ready line {line:?}: {what}"));
    let value: serde_json::Value = serde_json::from_str(line).map_err(|_| bad("not JSON"))?;
    let peer_id = value["peer_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("peer_id"))?;
    let http = value["http"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("http"))?;
    let listen = value["listen"]
        .as_array()
        .ok_or_else(|| bad("listen"))?
        .iter()
        .filter_map(|a| a.as_str().and_then(|s| s.parse().ok()))
        .collect();
    Ok(ChildReady {
        peer_id,
        http,
        listen,
    })
}
