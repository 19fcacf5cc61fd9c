//! The composed libp2p behaviour and its configuration (specs/federation.md, "Protocols").
//!
//! Gossipsub runs in anonymous mode (no libp2p-level signatures, sources or sequence numbers:
//! events carry their authors' signatures) with `validate_messages`, so nothing is forwarded
//! before the node has verified and authorised it. Topics and message ids are in
//! [`super::gossip`]. Peer scoring is on with weights suited to quiet rooms: no penalty for a
//! mesh peer that delivers little (rooms may be silent for hours), a strong penalty for invalid
//! messages, and no IP colocation penalty (several nodes behind one address are normal).

use std::time::Duration;

use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    StreamProtocol, allow_block_list, connection_limits, gossipsub, identify, identity, kad, ping,
    request_response,
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
/// Most established connections per peer.
pub(crate) const MAX_CONNECTIONS_PER_PEER: u32 = 2;
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
    /// Builds the behaviour for `key`.
    pub(crate) fn new(key: &identity::Keypair) -> Result<Self, BehaviourError> {
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
        })
    }
}
