//! Federation: the libp2p side of a node (specs/federation.md).
//!
//! One actor owns the libp2p `Swarm` (TCP + Noise + Yamux; identify, ping, Kademlia, gossipsub
//! with one topic per room, request-response for pulls) and turns network input into calls on
//! the [`Node`] and the node's announcements into gossip. A cloneable [`NetHandle`] talks to it
//! over a bounded channel with oneshot replies (the shape of rust-libp2p's file-sharing example).
//!
//! Gossip is the fast path; the pull side guarantees delivery: unknown parents are fetched from
//! the peer that sent the child, and on connect and every [`SYNC_INTERVAL`] each shared room's
//! tips are compared and what is missing is pulled ([`sync`]).
//!
//! Layout:
//! - [`wire`]: request/response types, version 1, with their limits.
//! - [`codec`]: length-prefixed, size-capped frames for request-response.
//! - [`gossip`]: room topics and gossip message ids.
//! - [`invite`]: `causerie:join/...` links.
//! - [`metrics`]: counters for `/metrics`.
//! - [`reach`]: what the node knows of its reachability (AutoNAT, relay reservations).
//! - [`fetch`]: limits on the fetches held events trigger.
//! - `behaviour`: the composed libp2p behaviour, gossipsub scoring.
//! - `actor`: the swarm event loop.
//! - [`sync`]: catch-up and joining (verified pulls, batched ingest).
//! - [`revocations`]: the revocations topic and the revocation pulls (specs/accountability.md
//!   §3.3).
//! - [`directory`]: the directory topic, the directory pulls and the announcer
//!   (specs/directory.md §4).
//! - [`signals`]: each room's signal topic (typing, read markers; specs/signals.md §3).

pub mod codec;
pub mod directory;
pub mod fetch;
pub mod gossip;
pub mod invite;
pub mod metrics;
pub mod reach;
pub mod revocations;
pub mod signals;
pub mod sync;
pub mod wire;

mod actor;
mod behaviour;

use std::sync::Arc;
use std::time::Duration;

use causerie_crypto::{EventId, NodeSecret, RoomId};
use causerie_room::Source;
use libp2p::gossipsub::MessageId;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::node::Node;
pub use invite::{Invite, InviteError};
pub use metrics::{NetMetrics, NetMetricsSnapshot};
pub use reach::{Reachability, Reachable};
pub use sync::JoinReport;
use wire::{Request, Response};

/// Commands queued for the swarm actor before senders wait.
pub const NET_COMMAND_QUEUE_LEN: usize = 4_096;
/// How often every held room's tips are compared with every connected peer's.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(10);
/// How long an outbound request may take before it fails.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a dial may take.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle connection stays open.
pub const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a peer banned for misbehaviour stays banned.
pub const BAN_DURATION: Duration = Duration::from_secs(600);

/// What the network needs to start.
pub struct NetConfig {
    /// Addresses to listen on (e.g. `/ip4/127.0.0.1/tcp/0`).
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start and whenever disconnected (each with `/p2p/<peer id>`).
    pub bootstrap: Vec<Multiaddr>,
    /// The node's key, which is also its libp2p identity.
    pub node_key: NodeSecret,
    /// How often rooms are compared with peers ([`SYNC_INTERVAL`] by default).
    pub sync_interval: Duration,
    /// Gossip messages one peer may send (a token bucket; beyond it they are ignored and the
    /// peer earns a strike). [`crate::rate_limits::DEFAULT_PEER`] by default.
    pub peer_rate: crate::rate_limits::Rate,
    /// Nodes this node refuses to federate with (`[federation] deny`): no connection either
    /// way, no request, no gossip (specs/accountability.md §8). Empty by default.
    pub deny: std::collections::BTreeSet<PeerId>,
    /// Addresses announced to peers (identify) and in invite links (`external_addresses`):
    /// where other machines reach this node, which may differ from `listen` (a bind address
    /// behind a port forward). Empty by default.
    pub external_addresses: Vec<Multiaddr>,
    /// Relays on which the node reserves a circuit while it is not known to be publicly
    /// reachable (`relays`), each ending in `/p2p/<peer id>`. Empty by default.
    pub relays: Vec<Multiaddr>,
    /// Serve as a relay for other nodes (`relay_server`). Off by default.
    pub relay_server: bool,
    /// Learn reachability with AutoNAT and answer other nodes' probes (`autonat`). On by
    /// default.
    pub autonat: bool,
    /// The node's public host name (the host of `public_origin`): invite links then carry
    /// `/dns/<name>/tcp/<port>/p2p/<id>`. None by default.
    pub dns_name: Option<String>,
}

impl NetConfig {
    /// A configuration with the default sync interval.
    pub fn new(listen: Vec<Multiaddr>, bootstrap: Vec<Multiaddr>, node_key: NodeSecret) -> Self {
        NetConfig {
            listen,
            bootstrap,
            node_key,
            sync_interval: SYNC_INTERVAL,
            peer_rate: crate::rate_limits::DEFAULT_PEER,
            deny: std::collections::BTreeSet::new(),
            external_addresses: Vec::new(),
            relays: Vec::new(),
            relay_server: false,
            autonat: true,
            dns_name: None,
        }
    }
}

/// Why a network operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The actor has stopped.
    #[error("network stopped")]
    Stopped,
    /// The transport could not be built or a listen address was refused.
    #[error("transport: {0}")]
    Transport(String),
    /// A p2p listen address is taken by another program.
    #[error(
        "the p2p address {0} is already in use (another causerie node?); stop that program, or choose another port with --listen /ip4/127.0.0.1/tcp/PORT"
    )]
    ListenAddressInUse(String),
    /// A dial failed or timed out.
    #[error("dial failed: {0}")]
    Dial(String),
    /// A request failed in transport (timeout, closed, unsupported).
    #[error("request failed: {0}")]
    Request(&'static str),
    /// The peer answered with an error.
    #[error("peer refused: {}", .0.reason())]
    Refused(wire::ErrorReason),
    /// The peer answered with the wrong kind of response or bad data.
    #[error("bad response: {0}")]
    BadResponse(&'static str),
    /// The invite link did not parse.
    #[error(transparent)]
    Invite(#[from] InviteError),
    /// No peer could serve the room.
    #[error("no peer could serve the room")]
    NoPeer,
    /// The peer is a node this node refuses to federate with (`[federation] deny`).
    #[error("federation with {0} is denied by this node's configuration")]
    FederationDenied(PeerId),
    /// The local node failed.
    #[error("node: {0}")]
    Node(#[from] crate::node::NodeError),
}

impl NetError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            NetError::Stopped => "net_stopped",
            NetError::Transport(_) => "transport",
            NetError::ListenAddressInUse(_) => "listen_address_in_use",
            NetError::Dial(_) => "dial_failed",
            NetError::Request(reason) => reason,
            NetError::Refused(reason) => reason.reason(),
            NetError::BadResponse(reason) => reason,
            NetError::Invite(e) => e.reason(),
            NetError::NoPeer => "no_peer",
            NetError::FederationDenied(_) => "federation_denied",
            NetError::Node(e) => e.reason(),
        }
    }
}

/// Commands the handle and the actor's own tasks send to the actor.
pub(crate) enum Command {
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    /// The addresses an invite link carries, best first.
    InviteAddrs(oneshot::Sender<Vec<Multiaddr>>),
    /// What the node knows of its reachability.
    Reachability(oneshot::Sender<Reachability>),
    ConnectedPeers(oneshot::Sender<Vec<PeerId>>),
    Dial(Multiaddr, oneshot::Sender<Result<PeerId, NetError>>),
    Request(PeerId, Request, oneshot::Sender<Result<Response, NetError>>),
    SetBlocked(PeerId, bool, oneshot::Sender<()>),
    Providers(RoomId, oneshot::Sender<Vec<PeerId>>),
    /// Publish raw bytes on a room's topic (tests of hostile peers).
    PublishRaw(RoomId, Vec<u8>, oneshot::Sender<bool>),
    /// Subscribe to a room's topic and provide it (after a join).
    Host(RoomId),
    /// Compare rooms with every connected peer now.
    SyncAll(oneshot::Sender<()>),
    /// Internal: a gossip message's validation verdict.
    Validated(
        libp2p::gossipsub::MessageId,
        PeerId,
        libp2p::gossipsub::MessageAcceptance,
    ),
    /// Internal: the answer to an inbound request.
    Respond(
        PeerId,
        libp2p::request_response::ResponseChannel<Response>,
        Response,
    ),
    /// Internal: pull these events of a room from a peer (they are missing parents).
    Pull(RoomId, PeerId, Vec<causerie_crypto::EventId>),
    /// Internal: a catch-up of a room with a peer ended.
    SyncDone(RoomId),
    /// Internal: a peer sent something invalid (counts towards a ban).
    Misbehaved(PeerId, &'static str),
    /// Internal: the gossip verdict of a held event waits until the event is decided (its
    /// attestation is being fetched).
    Defer(EventId, MessageId, PeerId),
    /// Internal: a verdict deferred for the classifier's screen was given another way (the
    /// event was not accepted and shown): forget it without reporting.
    Forget(EventId),
    /// Internal: these held events will not be decided soon (their attestation could not be
    /// fetched): report the verdicts deferred for them as Ignore.
    Settle(Vec<EventId>),
    /// Publish a revocation statement on the revocations topic.
    PublishRevocation(Vec<u8>),
    /// Internal: a revocation pull from a peer ended at this seq of the peer's.
    RevocationsPulled(PeerId, u64),
    /// Publish a directory announcement on the directory topic; the reply (when asked) says
    /// whether gossipsub sent it to anyone.
    PublishDirectory(Vec<u8>, Option<oneshot::Sender<bool>>),
    /// Internal: a directory pull from a peer ended.
    DirectoryPulled(PeerId),
    /// Publish a signal on a room's signal topic; the reply (when asked) says whether
    /// gossipsub sent it to anyone.
    PublishSignal(RoomId, Vec<u8>, Option<oneshot::Sender<bool>>),
}

/// The engine's name for a peer: its peer id's bytes (at most 44 bytes: an identity multihash
/// of an encoded key of at most 42 bytes, or a SHA-256 multihash).
pub(crate) fn source_of(peer: &PeerId) -> Source {
    // Longer ids cannot be built by libp2p; such a peer would count as this node, which only
    // spares it penalties.
    Source::peer(&peer.to_bytes()).unwrap_or(Source::LOCAL)
}

/// The peer an engine source names, if it names one.
/// The libp2p identity of a node key (the node key is the node's libp2p key); `None` if the
/// bytes are not an Ed25519 point libp2p accepts.
pub fn peer_of_node(node: &causerie_crypto::NodeKey) -> Option<PeerId> {
    let key = libp2p::identity::ed25519::PublicKey::try_from_bytes(node.as_bytes()).ok()?;
    Some(libp2p::identity::PublicKey::from(key).to_peer_id())
}

pub(crate) fn peer_of_source(source: &Source) -> Option<PeerId> {
    if source.is_local() {
        return None;
    }
    PeerId::from_bytes(source.as_bytes()).ok()
}

/// Cloneable handle to the network actor. Every method is cancel-safe: dropping its future
/// drops the reply; the actor carries on.
#[derive(Clone)]
pub struct NetHandle {
    commands: mpsc::Sender<Command>,
    peer_id: PeerId,
    metrics: Arc<NetMetrics>,
    node: Node,
    /// Ids this node ingested from pulls: announced like any event, but not re-published.
    pulled: sync::PulledIds,
    /// The budget of fetches that held events trigger.
    held_fetches: Arc<fetch::HeldFetches>,
}

/// Starts the network: builds the swarm, listens, dials the bootstrap peers, and runs the actor
/// until `shutdown` is cancelled.
pub struct Net;

impl Net {
    /// Spawns the swarm actor on the current tokio runtime.
    pub fn spawn(
        config: NetConfig,
        node: Node,
        shutdown: CancellationToken,
    ) -> Result<(NetHandle, JoinHandle<()>), NetError> {
        let (sender, receiver) = mpsc::channel(NET_COMMAND_QUEUE_LEN);
        let metrics = Arc::new(NetMetrics::default());
        let (actor, handle) = actor::Actor::new(config, node.clone(), sender, receiver, metrics)?;
        let task = tokio::spawn(actor.run(shutdown));
        Ok((handle, task))
    }
}

impl NetHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NetError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(make(reply))
            .await
            .map_err(|_| NetError::Stopped)?;
        answer.await.map_err(|_| NetError::Stopped)
    }

    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The counters.
    pub fn metrics(&self) -> Arc<NetMetrics> {
        self.metrics.clone()
    }

    /// The node this network serves.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Current listen addresses, each ending in `/p2p/<peer id>`.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, NetError> {
        self.ask(Command::ListenAddrs).await
    }

    /// Peers with an open connection.
    pub async fn connected_peers(&self) -> Result<Vec<PeerId>, NetError> {
        self.ask(Command::ConnectedPeers).await
    }

    /// Dials an address and waits until connected (at most [`DIAL_TIMEOUT`]).
    pub async fn dial(&self, address: Multiaddr) -> Result<PeerId, NetError> {
        match tokio::time::timeout(DIAL_TIMEOUT, self.ask(|r| Command::Dial(address, r))).await {
            Ok(result) => result?,
            Err(_) => Err(NetError::Dial("timeout".into())),
        }
    }

    /// Sends one request to a connected (or dialable) peer and waits for its response.
    pub async fn request(&self, peer: PeerId, request: Request) -> Result<Response, NetError> {
        self.ask(|r| Command::Request(peer, request, r)).await?
    }

    /// Blocks (disconnects and refuses) or unblocks a peer; unblocking redials its known
    /// addresses. For operators and partition tests.
    pub async fn set_blocked(&self, peer: PeerId, blocked: bool) -> Result<(), NetError> {
        self.ask(|r| Command::SetBlocked(peer, blocked, r)).await
    }

    /// Peers that the DHT says host a room.
    pub async fn providers(&self, room: RoomId) -> Result<Vec<PeerId>, NetError> {
        self.ask(|r| Command::Providers(room, r)).await
    }

    /// Compares every held room with every connected peer now (what [`SYNC_INTERVAL`] does).
    pub async fn sync_now(&self) -> Result<(), NetError> {
        self.ask(Command::SyncAll).await
    }

    /// The addresses an invite link to this node carries, best first (see
    /// [`invite::invite_addresses`]), each ending in `/p2p/<peer id>`.
    pub async fn invite_addrs(&self) -> Result<Vec<Multiaddr>, NetError> {
        self.ask(Command::InviteAddrs).await
    }

    /// What the node knows of its reachability now.
    pub async fn reachability(&self) -> Result<Reachability, NetError> {
        self.ask(Command::Reachability).await
    }

    /// An invite link for a room: its id and the addresses other nodes can dial this node at
    /// (announced addresses, relay circuits, else listen addresses).
    pub async fn invite_link(&self, room: RoomId) -> Result<String, NetError> {
        let via = self.invite_addrs().await?;
        if via.is_empty() {
            return Err(NetError::Transport("not listening".into()));
        }
        Ok(Invite { room, via }.to_string())
    }

    /// Joins a room from an invite link: dials the via peers, checks the room's create event
    /// against the room id, pulls the full history, then subscribes and provides the room.
    pub async fn join(&self, invite: &str) -> Result<JoinReport, NetError> {
        let invite: Invite = invite.parse()?;
        sync::join(self, invite).await
    }

    /// Publishes a revocation statement (verified and held by the node) on the revocations
    /// topic; peers that miss it get it by their next pull.
    pub fn publish_revocation(&self, bytes: Vec<u8>) {
        self.try_send(Command::PublishRevocation(bytes));
    }

    /// Publishes arbitrary bytes on the directory topic, bypassing every check: only for tests
    /// that play a hostile peer. Returns whether gossipsub sent it to anyone.
    #[doc(hidden)]
    pub async fn publish_directory_raw(&self, data: Vec<u8>) -> Result<bool, NetError> {
        self.ask(|r| Command::PublishDirectory(data, Some(r))).await
    }

    /// Publishes a signal this node signed on its room's signal topic (specs/signals.md §3).
    /// Never waits: a signal that finds the queue full is dropped (it would be late anyway).
    pub fn publish_signal(&self, room: RoomId, signal: Vec<u8>) {
        self.try_send(Command::PublishSignal(room, signal, None));
    }

    /// Publishes arbitrary bytes on a room's signal topic, bypassing every check: only for
    /// tests that play a hostile peer. Returns whether gossipsub sent it to anyone.
    #[doc(hidden)]
    pub async fn publish_signal_raw(&self, room: RoomId, data: Vec<u8>) -> Result<bool, NetError> {
        self.ask(|r| Command::PublishSignal(room, data, Some(r)))
            .await
    }

    /// Publishes arbitrary bytes on a room's gossip topic, bypassing every check: only for
    /// tests that play a hostile peer. Returns whether gossipsub sent it to anyone.
    #[doc(hidden)]
    pub async fn publish_raw(&self, room: RoomId, data: Vec<u8>) -> Result<bool, NetError> {
        self.ask(|r| Command::PublishRaw(room, data, r)).await
    }

    pub(crate) async fn host(&self, room: RoomId) -> Result<(), NetError> {
        self.commands
            .send(Command::Host(room))
            .await
            .map_err(|_| NetError::Stopped)
    }

    /// Reports a gossip verdict; waits for queue space, since a lost verdict leaves the message
    /// unrelayed until it expires from gossipsub's cache.
    pub(crate) async fn report(
        &self,
        id: libp2p::gossipsub::MessageId,
        source: PeerId,
        acceptance: libp2p::gossipsub::MessageAcceptance,
    ) {
        let _ = self
            .commands
            .send(Command::Validated(id, source, acceptance))
            .await;
    }

    /// Defers the gossip verdict of a held event until it is decided; waits for queue space, so
    /// the actor knows of it before the fetch that decides it is sent.
    pub(crate) async fn defer(&self, event: EventId, id: MessageId, source: PeerId) {
        let _ = self.commands.send(Command::Defer(event, id, source)).await;
    }

    pub(crate) fn try_send(&self, command: Command) {
        // Internal notices are best effort: if the queue is full the periodic sync covers it.
        let _ = self.commands.try_send(command);
    }
}
