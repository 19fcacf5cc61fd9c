//! The composed libp2p behaviour and its configuration (specs/federation.md, "Protocols").
//!
//! Gossipsub runs in anonymous mode (no libp2p-level signatures, sources or sequence numbers:
//! events carry their authors' signatures) with `validate_messages`, so nothing is forwarded
//! before the node has verified and authorised it. Topics and message ids are in
//! [`super::gossip`]. Peer scoring is on with weights suited to quiet rooms: no penalty for a
//! mesh peer that delivers little (rooms may be silent for hours), a strong penalty for invalid
//! messages, and no IP colocation penalty (several nodes behind one address are normal).
//!
//! Reachability (specs/federation.md, "Addresses, reachability and relays"): AutoNAT (v1) asks
//! connected peers to dial the node back and so learns whether it is publicly reachable; the
//! relay client (always on: its transport is in the swarm) lets a node behind NAT reserve a
//! circuit on a relay and be dialled through it; DCUtR upgrades a relayed connection to a direct
//! one by hole punching; the relay server is an opt-in for reachable nodes, with every
//! reservation and circuit bounded below.

use std::time::Duration;

use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{
    StreamProtocol, allow_block_list, autonat, connection_limits, dcutr, gossipsub, identify,
    identity, kad, ping, relay, request_response,
};

use super::codec::FederationCodec;
use super::gossip::message_id;
use super::wire::PROTOCOL;
use causerie_crypto::event::MAX_EVENT_BYTES;

/// Identify protocol version string.
pub(crate) const IDENTIFY_PROTOCOL: &str = "/causerie/1";
/// Kademlia protocol name (a private DHT: never mixes with the public IPFS one).
pub(crate) const KAD_PROTOCOL: &str = "/causerie/kad/1";
/// Largest gossip message: one event plus the framing around it.
pub(crate) const GOSSIP_MAX_TRANSMIT_BYTES: usize = MAX_EVENT_BYTES + 4_096;
/// Heartbeats a received message stays in the gossip cache (12 s at the heartbeat below). A
/// validation verdict only penalises the sender while the message is still cached, and under
/// load validation (full verification and auth in the node actor) can take seconds.
pub(crate) const GOSSIP_HISTORY_LENGTH: usize = 24;
/// Gossipsub heartbeat (mesh maintenance, score decay steps).
pub(crate) const GOSSIP_HEARTBEAT: Duration = Duration::from_millis(500);
/// How long a gossip message id is remembered as seen.
pub(crate) const GOSSIP_DUPLICATE_CACHE: Duration = Duration::from_secs(120);
/// Most established connections in total.
pub(crate) const MAX_CONNECTIONS: u32 = 512;
/// Most established connections per peer. Beside the connection two nodes chat over, an
/// AutoNAT dial-back, a relay reservation or circuit and a hole-punched upgrade each open one
/// of their own; with fewer slots those are refused and a reachable node is judged private.
pub(crate) const MAX_CONNECTIONS_PER_PEER: u32 = 4;
/// Most pending (not yet established) connections each way.
pub(crate) const MAX_PENDING_CONNECTIONS: u32 = 64;
/// Most concurrent request-response streams per connection.
pub(crate) const MAX_CONCURRENT_STREAMS: usize = 64;
/// How long a Kademlia query may run.
pub(crate) const KAD_QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Score below which a peer is graylisted (its messages ignored); the actor also bans it.
pub(crate) const GRAYLIST_THRESHOLD: f64 = -80.0;
/// Penalty weight of one invalid message (squared per topic): three invalid events in a decay
/// window take a peer past [`GRAYLIST_THRESHOLD`].
pub(crate) const INVALID_MESSAGE_WEIGHT: f64 = -10.0;

/// Most relay reservations a relay server holds at once.
pub(crate) const MAX_RELAY_RESERVATIONS: usize = 128;
/// Most relay reservations one peer holds on this relay server.
pub(crate) const MAX_RELAY_RESERVATIONS_PER_PEER: usize = 4;
/// How long a reservation lasts before the client must renew it.
pub(crate) const RELAY_RESERVATION_DURATION: Duration = Duration::from_secs(60 * 60);
/// Most circuits a relay server carries at once.
pub(crate) const MAX_RELAY_CIRCUITS: usize = 64;
/// Most circuits one peer has through this relay server at once.
pub(crate) const MAX_RELAY_CIRCUITS_PER_PEER: usize = 8;
/// How long one circuit lasts. Long enough for a join and a chat between two nodes that cannot
/// hole punch; the peers dial a new circuit when it ends (the periodic redial).
pub(crate) const MAX_RELAY_CIRCUIT_DURATION: Duration = Duration::from_secs(10 * 60);
/// Most bytes one circuit carries (each way) before the relay closes it.
pub(crate) const MAX_RELAY_CIRCUIT_BYTES: u64 = 16 * 1024 * 1024;
/// How long after start the first AutoNAT probe goes out: soon, so a node behind NAT learns
/// early that it must rely on its relays (its reservations are made at start anyway).
pub(crate) const AUTONAT_BOOT_DELAY: Duration = Duration::from_secs(5);
/// How often an unconfirmed reachability is probed again.
pub(crate) const AUTONAT_RETRY_INTERVAL: Duration = Duration::from_secs(30);
/// How often a confirmed reachability is probed again.
pub(crate) const AUTONAT_REFRESH_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// Dial-backs this node makes for other nodes' probes, in all, per second.
pub(crate) const AUTONAT_MAX_DIAL_BACKS: usize = 16;
/// Dial-backs this node makes for one node's probes per second.
pub(crate) const AUTONAT_MAX_DIAL_BACKS_PER_PEER: usize = 2;
/// Addresses tried per dial-back.
pub(crate) const AUTONAT_MAX_PEER_ADDRESSES: usize = 8;

/// The reachability roles a node takes (from its configuration).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReachRoles {
    /// Serve as a relay for other nodes (bounded by the `MAX_RELAY_*` limits).
    pub(crate) relay_server: bool,
    /// Probe reachability with AutoNAT and answer other nodes' probes.
    pub(crate) autonat: bool,
}

/// The composed behaviour. Connection limits and the block list come first so refused
/// connections never reach the protocols.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    pub(crate) limits: connection_limits::Behaviour,
    pub(crate) blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    pub(crate) gossipsub: gossipsub::Behaviour,
    pub(crate) kad: kad::Behaviour<kad::store::MemoryStore>,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
    pub(crate) federation: request_response::Behaviour<FederationCodec>,
    pub(crate) relay_client: relay::client::Behaviour,
    pub(crate) relay_server: Toggle<relay::Behaviour>,
    pub(crate) autonat: Toggle<autonat::Behaviour>,
    pub(crate) dcutr: dcutr::Behaviour,
}

/// The relay server's limits.
fn relay_config() -> relay::Config {
    relay::Config {
        max_reservations: MAX_RELAY_RESERVATIONS,
        max_reservations_per_peer: MAX_RELAY_RESERVATIONS_PER_PEER,
        reservation_duration: RELAY_RESERVATION_DURATION,
        max_circuits: MAX_RELAY_CIRCUITS,
        max_circuits_per_peer: MAX_RELAY_CIRCUITS_PER_PEER,
        max_circuit_duration: MAX_RELAY_CIRCUIT_DURATION,
        max_circuit_bytes: MAX_RELAY_CIRCUIT_BYTES,
        // libp2p's default rate limiters (per peer and per IP) stay.
        ..relay::Config::default()
    }
}

/// AutoNAT's settings. Private addresses are probed too: a server only dials back the address
/// it saw the probe come from, so "public" means "reachable by the nodes that probed", which is
/// what a private federation on a LAN or a VPN needs to know.
fn autonat_config() -> autonat::Config {
    autonat::Config {
        boot_delay: AUTONAT_BOOT_DELAY,
        retry_interval: AUTONAT_RETRY_INTERVAL,
        refresh_interval: AUTONAT_REFRESH_INTERVAL,
        throttle_clients_global_max: AUTONAT_MAX_DIAL_BACKS,
        throttle_clients_peer_max: AUTONAT_MAX_DIAL_BACKS_PER_PEER,
        max_peer_addresses: AUTONAT_MAX_PEER_ADDRESSES,
        only_global_ips: false,
        ..autonat::Config::default()
    }
}

/// Score parameters of every room topic.
pub(crate) fn topic_score_params() -> gossipsub::TopicScoreParams {
    gossipsub::TopicScoreParams {
        topic_weight: 1.0,
        // Rooms can be silent: never penalise a mesh peer for delivering little.
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: INVALID_MESSAGE_WEIGHT,
        invalid_message_deliveries_decay: 0.9,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        ..gossipsub::TopicScoreParams::default()
    }
}

fn score_params() -> (gossipsub::PeerScoreParams, gossipsub::PeerScoreThresholds) {
    let params = gossipsub::PeerScoreParams {
        ip_colocation_factor_weight: 0.0,
        ..gossipsub::PeerScoreParams::default()
    };
    let thresholds = gossipsub::PeerScoreThresholds {
        gossip_threshold: -10.0,
        publish_threshold: -50.0,
        graylist_threshold: GRAYLIST_THRESHOLD,
        ..gossipsub::PeerScoreThresholds::default()
    };
    (params, thresholds)
}

/// Why the network behaviour could not be built: the gossip settings were refused (a defect in
/// the constants above, caught at start-up).
#[derive(Debug, thiserror::Error)]
pub(crate) enum BehaviourError {
    /// gossipsub refused its configuration.
    #[error("gossip configuration refused: {0}")]
    GossipConfig(#[from] gossipsub::ConfigBuilderError),
    /// gossipsub refused to start (libp2p gives only a message).
    #[error("gossip refused to start: {0}")]
    Gossip(&'static str),
    /// gossipsub refused the peer-score parameters (libp2p gives only a message).
    #[error("gossip peer scoring refused: {0}")]
    PeerScore(String),
}

impl BehaviourError {
    /// Stable reason name.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            BehaviourError::GossipConfig(_) => "gossip_config_refused",
            BehaviourError::Gossip(_) => "gossip_refused",
            BehaviourError::PeerScore(_) => "peer_score_refused",
        }
    }
}

impl Behaviour {
    /// Builds the behaviour for `key`, with the relay client the transport was built with.
    pub(crate) fn new(
        key: &identity::Keypair,
        relay_client: relay::client::Behaviour,
        roles: ReachRoles,
    ) -> Result<Self, BehaviourError> {
        let peer_id = key.public().to_peer_id();
        let config = gossipsub::ConfigBuilder::default()
            .validation_mode(gossipsub::ValidationMode::Anonymous)
            .validate_messages()
            .message_id_fn(|message: &gossipsub::Message| message_id(&message.data))
            .max_transmit_size(GOSSIP_MAX_TRANSMIT_BYTES)
            .heartbeat_interval(GOSSIP_HEARTBEAT)
            .history_length(GOSSIP_HISTORY_LENGTH)
            .duplicate_cache_time(GOSSIP_DUPLICATE_CACHE)
            .build()?;
        let mut gossipsub =
            gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)
                .map_err(BehaviourError::Gossip)?;
        let (params, thresholds) = score_params();
        gossipsub
            .with_peer_score(params, thresholds)
            .map_err(BehaviourError::PeerScore)?;

        let mut kad_config = kad::Config::new(StreamProtocol::new(KAD_PROTOCOL));
        kad_config.set_query_timeout(KAD_QUERY_TIMEOUT);
        let mut kad =
            kad::Behaviour::with_config(peer_id, kad::store::MemoryStore::new(peer_id), kad_config);
        // Private federations run on addresses autonat would never confirm: always serve.
        kad.set_mode(Some(kad::Mode::Server));

        let limits = connection_limits::ConnectionLimits::default()
            .with_max_established(Some(MAX_CONNECTIONS))
            .with_max_established_per_peer(Some(MAX_CONNECTIONS_PER_PEER))
            .with_max_pending_incoming(Some(MAX_PENDING_CONNECTIONS))
            .with_max_pending_outgoing(Some(MAX_PENDING_CONNECTIONS));

        let federation = request_response::Behaviour::with_codec(
            FederationCodec,
            [(
                StreamProtocol::new(PROTOCOL),
                request_response::ProtocolSupport::Full,
            )],
            request_response::Config::default()
                .with_request_timeout(super::REQUEST_TIMEOUT)
                .with_max_concurrent_streams(MAX_CONCURRENT_STREAMS),
        );

        Ok(Behaviour {
            limits: connection_limits::Behaviour::new(limits),
            blocked: allow_block_list::Behaviour::default(),
            gossipsub,
            kad,
            identify: identify::Behaviour::new(identify::Config::new(
                IDENTIFY_PROTOCOL.to_owned(),
                key.public(),
            )),
            ping: ping::Behaviour::new(ping::Config::new()),
            federation,
            relay_client,
            relay_server: Toggle::from(
                roles
                    .relay_server
                    .then(|| relay::Behaviour::new(peer_id, relay_config())),
            ),
            autonat: Toggle::from(
                roles
                    .autonat
                    .then(|| autonat::Behaviour::new(peer_id, autonat_config())),
            ),
            dcutr: dcutr::Behaviour::new(peer_id),
        })
    }
}
