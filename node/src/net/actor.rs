//! The swarm actor: one task owns the libp2p `Swarm` and every piece of network state; it never
//! awaits the node itself. Work that needs the node (answering requests, validating gossip,
//! catch-up) runs in bounded spawned tasks that report back with [`Command`]s.
//!
//! It also keeps the node reachable (specs/federation.md, "Addresses, reachability and relays"):
//! it announces the configured external addresses, follows AutoNAT's verdict, holds a
//! reservation on each configured relay while the node is not known to be public, and counts
//! relay and hole-punch outcomes.
//!
//! Its children work on its state in place: `addresses` (listen and invite addresses,
//! reachability, relays, AutoNAT, hole punching), `dial` (dials, redials, the fresh-port retry)
//! and `peers` (blocks, strikes, bans, the per-peer rate).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use causerie_crypto::{EventId, RoomId};
use causerie_room::{HeldEnd, Source};
use futures::StreamExt;
use libp2p::core::transport::ListenerId;
use libp2p::gossipsub::{self, MessageAcceptance};
use libp2p::kad;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::{ConnectionId, NetworkBehaviour as _, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, identify, identity, noise, ping, tcp, yamux};
use tokio::sync::{Semaphore, broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::behaviour::{self, Behaviour, BehaviourEvent};
use super::codec::FederationRequest;
use super::gossip;
use super::invite::peer_of;
use super::metrics::NetMetrics;
use super::reach::Reachable;
use super::sync;
use super::wire::{ErrorReason, Request, Response};
use super::{Command, NetConfig, NetError, NetHandle, peer_of_source};

mod addresses;
mod dial;
mod peers;

use crate::node::{Node, NodeEvent};
use addresses::listen_error;

/// Inbound requests answered concurrently (node lookups); beyond it peers get `busy`.
pub(crate) const MAX_INBOUND_IN_FLIGHT: usize = 64;
/// Inbound requests one peer may have in flight; beyond it that peer gets `busy`.
pub(crate) const MAX_INBOUND_PER_PEER: usize = 8;
/// Misbehaviour strikes (malformed requests, invalid pulled events) before a ban.
pub(crate) const MAX_STRIKES: u32 = 16;
/// Gossip messages waiting for validation; beyond it new ones are ignored (pulls cover them).
pub(crate) const GOSSIP_QUEUE_LEN: usize = 4_096;
/// Rooms caught up concurrently.
pub(crate) const MAX_CONCURRENT_SYNCS: usize = 4;
/// Gossip verdicts waiting for their held event to be decided; beyond it verdicts are given at
/// once (Ignore).
pub(crate) const MAX_DEFERRED_VERDICTS: usize = 4_096;
/// How long a gossip verdict waits for its held event: less than gossipsub keeps the message
/// (`GOSSIP_HISTORY_LENGTH` heartbeats), so a late Reject still penalises the sender.
pub(crate) const DEFERRED_VERDICT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a peer's misbehaviour strikes are remembered after its last one.
pub(crate) const STRIKE_MEMORY: Duration = Duration::from_secs(600);
/// `listen_addrs` callers waiting for the first address.
const MAX_PENDING_LISTEN: usize = 64;
/// Provider lookups in flight.
const MAX_PROVIDER_QUERIES: usize = 64;
/// Addresses remembered per peer.
const MAX_ADDRESSES_PER_PEER: usize = 8;
/// Peers whose addresses are remembered.
const MAX_ADDRESS_BOOK: usize = 1_024;

/// One room's catch-up queue: at most one catch-up per room runs at a time.
#[derive(Default)]
struct SyncSlot {
    running: bool,
    /// Peers to catch up with next, with the ids already known to be missing.
    queue: BTreeMap<PeerId, BTreeSet<EventId>>,
}

pub(crate) struct Actor {
    swarm: Swarm<Behaviour>,
    node: Node,
    handle: NetHandle,
    commands: mpsc::Receiver<Command>,
    metrics: Arc<NetMetrics>,
    bootstrap: Vec<Multiaddr>,
    sync_interval: std::time::Duration,
    rooms: BTreeSet<RoomId>,
    connected: BTreeSet<PeerId>,
    addresses: BTreeMap<PeerId, Vec<Multiaddr>>,
    /// Blocked peers: `None` by the operator (until unblocked), `Some(t)` banned until `t`.
    blocked: BTreeMap<PeerId, Option<Instant>>,
    /// Denied nodes (`[federation] deny`): blocked for the node's lifetime, never unblocked.
    denied: BTreeSet<PeerId>,
    /// Misbehaviour strikes and when the last one came.
    strikes: BTreeMap<PeerId, (u32, Instant)>,
    /// Gossip verdicts waiting for their held event, with the message, its source and since when.
    deferred: BTreeMap<EventId, (gossipsub::MessageId, PeerId, Instant)>,
    dials: BTreeMap<ConnectionId, oneshot::Sender<Result<PeerId, NetError>>>,
    /// Dials under way from the listen port (libp2p's default, so that peers see the port we
    /// listen on): one refused because that port is taken towards its destination is tried once
    /// more from a fresh port ([`Actor::retry_from_fresh_port`]). Bounded by the swarm's
    /// pending-connection limit; an entry goes when its dial ends either way.
    port_reuse_dials: BTreeSet<ConnectionId>,
    requests: BTreeMap<OutboundRequestId, oneshot::Sender<Result<Response, NetError>>>,
    /// Provider lookups in flight (a short list: `QueryId` has no order).
    providers: Vec<(kad::QueryId, BTreeSet<PeerId>, oneshot::Sender<Vec<PeerId>>)>,
    pending_listen: Vec<oneshot::Sender<Vec<Multiaddr>>>,
    inbound: Arc<Semaphore>,
    inbound_per_peer: BTreeMap<PeerId, usize>,
    syncs: BTreeMap<RoomId, SyncSlot>,
    sync_permits: Arc<Semaphore>,
    gossip: mpsc::Sender<sync::GossipItem>,
    gossip_receiver: Option<mpsc::Receiver<sync::GossipItem>>,
    /// Each peer's gossip bucket (specs/moderation.md §5).
    peer_rate: governor::DefaultKeyedRateLimiter<PeerId>,
    /// Peers whose last gossip message was over their rate: a run of such messages costs one
    /// strike. At most [`MAX_ADDRESS_BOOK`] peers.
    rate_limited: BTreeSet<PeerId>,
    /// Revocation pulls and gossip validation (specs/accountability.md §3.3).
    revocations: super::revocations::RevocationSync,
    /// Reachability: the configured announced addresses, relays and public name.
    reach: ReachState,
    /// Directory pulls (specs/directory.md §4).
    directory: super::directory::DirectorySync,
    /// The node key for the directory announcer (taken when it starts).
    announcer_key: Option<causerie_crypto::NodeSecret>,
}

/// The actor's reachability state.
struct ReachState {
    /// `external_addresses` from the configuration, in order.
    external: Vec<Multiaddr>,
    /// `relays` from the configuration (at most [`crate::config::MAX_RELAYS`]).
    relays: Vec<Multiaddr>,
    /// The public host name invite links carry as a `/dns` address.
    dns_name: Option<String>,
    /// AutoNAT's verdict.
    status: Reachable,
    /// Relay listeners open now (one per relay at most), with their relay's peer id.
    listeners: Vec<(ListenerId, PeerId)>,
    /// Relays whose reservation for this node is accepted.
    reserved: BTreeSet<PeerId>,
    /// Every open connection, whether it goes through a relay (at most the connection limit).
    connections: BTreeMap<ConnectionId, (PeerId, bool)>,
}

fn keypair(secret: &causerie_crypto::NodeSecret) -> Result<identity::Keypair, NetError> {
    // The seed copy is `Zeroizing` (cleared on drop) and libp2p clears the slice it reads.
    let mut seed = secret.expose_seed();
    identity::Keypair::ed25519_from_bytes(&mut *seed)
        .map_err(|e| NetError::Transport(format!("node key: {e}")))
}

impl Actor {
    pub(crate) fn new(
        config: NetConfig,
        node: Node,
        sender: mpsc::Sender<Command>,
        receiver: mpsc::Receiver<Command>,
        metrics: Arc<NetMetrics>,
    ) -> Result<(Actor, NetHandle), NetError> {
        let key = keypair(&config.node_key)?;
        let peer_id = key.public().to_peer_id();
        let roles = behaviour::ReachRoles {
            relay_server: config.relay_server,
            autonat: config.autonat,
        };
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| NetError::Transport(e.to_string()))?
            // `/dns` addresses (invite links of nodes with a public name), resolved with the
            // system's resolver configuration.
            .with_dns()
            .map_err(|e| NetError::Transport(format!("dns resolver: {e}")))?
            // Circuits through relays: `<relay>/p2p-circuit/p2p/<peer>` addresses.
            .with_relay_client(noise::Config::new, yamux::Config::default)
            .map_err(|e| NetError::Transport(e.to_string()))?
            .with_behaviour(|key, relay_client| {
                Behaviour::new(key, relay_client, roles).map_err(|e| {
                    tracing::error!(reason = e.reason(), error = %e, "network behaviour refused");
                    Box::<dyn std::error::Error + Send + Sync>::from(e)
                })
            })
            .map_err(|e| NetError::Transport(e.to_string()))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(super::IDLE_CONNECTION_TIMEOUT))
            .build();
        for address in &config.listen {
            swarm
                .listen_on(address.clone())
                .map_err(|e| listen_error(address, &e))?;
        }
        for peer in &config.deny {
            swarm.behaviour_mut().blocked.block_peer(*peer);
        }
        // Announced as they are: the operator says where the node is reachable. They are also
        // hole-punch candidates from the start: DCUtR otherwise only learns addresses from
        // identify's observations, which a node that just connected does not have yet, and a
        // hole punch with no address to offer fails.
        for address in &config.external_addresses {
            swarm.add_external_address(address.clone());
            swarm.behaviour_mut().dcutr.on_swarm_event(
                libp2p::swarm::FromSwarm::NewExternalAddrCandidate(
                    libp2p::swarm::NewExternalAddrCandidate { addr: address },
                ),
            );
        }
        let (gossip, gossip_receiver) = mpsc::channel(GOSSIP_QUEUE_LEN);
        let handle = NetHandle {
            commands: sender,
            peer_id,
            metrics: metrics.clone(),
            node: node.clone(),
            pulled: sync::PulledIds::default(),
            held_fetches: Arc::new(super::fetch::HeldFetches::default()),
        };
        let actor = Actor {
            swarm,
            node,
            handle,
            commands: receiver,
            metrics,
            bootstrap: config.bootstrap,
            sync_interval: config.sync_interval,
            rooms: BTreeSet::new(),
            connected: BTreeSet::new(),
            addresses: BTreeMap::new(),
            blocked: BTreeMap::new(),
            denied: config.deny,
            strikes: BTreeMap::new(),
            deferred: BTreeMap::new(),
            dials: BTreeMap::new(),
            port_reuse_dials: BTreeSet::new(),
            requests: BTreeMap::new(),
            providers: Vec::new(),
            pending_listen: Vec::new(),
            inbound: Arc::new(Semaphore::new(MAX_INBOUND_IN_FLIGHT)),
            inbound_per_peer: BTreeMap::new(),
            syncs: BTreeMap::new(),
            sync_permits: Arc::new(Semaphore::new(MAX_CONCURRENT_SYNCS)),
            gossip,
            gossip_receiver: Some(gossip_receiver),
            peer_rate: crate::rate_limits::peer_limiter(config.peer_rate),
            rate_limited: BTreeSet::new(),
            revocations: super::revocations::RevocationSync::new(),
            reach: ReachState {
                external: config.external_addresses,
                relays: config
                    .relays
                    .into_iter()
                    .take(crate::config::MAX_RELAYS)
                    .collect(),
                dns_name: config.dns_name,
                status: Reachable::Unknown,
                listeners: Vec::new(),
                reserved: BTreeSet::new(),
                connections: BTreeMap::new(),
            },
            directory: super::directory::DirectorySync::default(),
            announcer_key: Some(config.node_key),
        };
        let handle = actor.handle.clone();
        Ok((actor, handle))
    }

    /// Runs until `shutdown` is cancelled or the node stops.
    pub(crate) async fn run(mut self, shutdown: CancellationToken) {
        let mut announcements = self.node.subscribe();
        let validator = self
            .gossip_receiver
            .take()
            .map(|receiver| tokio::spawn(sync::validate_gossip(receiver, self.handle.clone())));
        let revocations = super::revocations::topic();
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        if let Err(e) = gossipsub.subscribe(&revocations) {
            warn!(error = %e, "cannot subscribe to revocations");
        }
        let _ = gossipsub.set_topic_params(revocations, behaviour::topic_score_params());
        let directory = super::directory::topic();
        if let Err(e) = gossipsub.subscribe(&directory) {
            warn!(error = %e, "cannot subscribe to the directory");
        }
        let _ = gossipsub.set_topic_params(directory, behaviour::topic_score_params());
        let typing_expiry = tokio::spawn(crate::signals::expire_typing(
            self.node.signals(),
            shutdown.child_token(),
        ));
        let announcer = self.announcer_key.take().map(|secret| {
            tokio::spawn(super::directory::announce(
                self.handle.clone(),
                secret,
                shutdown.child_token(),
            ))
        });
        match self.node.rooms().await {
            Ok(rooms) => {
                for room in rooms {
                    self.host(room);
                }
            }
            Err(e) => warn!(reason = e.reason(), "cannot list rooms"),
        }
        for address in self.bootstrap.clone() {
            if self.refuse_denied(peer_of(&address), "dial") {
                continue;
            }
            self.remember(&address);
            if let Err(e) = self.dial_from_listen_port(address.clone().into()) {
                warn!(%address, error = %e, "bootstrap dial failed");
            }
        }
        self.reserve_relays();
        let mut tick = tokio::time::interval(self.sync_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut score_tick = tokio::time::interval(behaviour::GOSSIP_HEARTBEAT * 2);
        score_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        info!(peer = %self.handle.peer_id, "network started");
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                Some(command) = self.commands.recv() => self.on_command(command),
                event = self.swarm.select_next_some() => self.on_swarm(event),
                announcement = announcements.recv() => match announcement {
                    Ok(event) => self.on_node_event(event),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        debug!(missed, "announcements lagged; syncing");
                        self.sync_everything();
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = score_tick.tick() => {
                    self.check_scores();
                    self.expire_deferred();
                }
                _ = tick.tick() => {
                    self.expire_bans();
                    self.redial();
                    self.reserve_relays();
                    self.sync_everything();
                    for peer in self.connected.clone() {
                        self.revocations.pull(&self.handle, peer);
                    }
                }
            }
        }
        if let Some(validator) = validator {
            validator.abort();
        }
        // It may be waiting on this actor, which answers no more: stop it here.
        if let Some(announcer) = announcer {
            announcer.abort();
        }
        typing_expiry.abort();
        info!(peer = %self.handle.peer_id, "network stopped");
    }

    fn host(&mut self, room: RoomId) {
        if !self.rooms.insert(room) {
            return;
        }
        let topic = gossip::topic(&room);
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        if let Err(e) = gossipsub.subscribe(&topic) {
            warn!(%room, error = %e, "cannot subscribe");
        }
        let _ = gossipsub.set_topic_params(topic, behaviour::topic_score_params());
        let signals = super::signals::TOPICS.topic(&room);
        if let Err(e) = gossipsub.subscribe(&signals) {
            warn!(%room, error = %e, "cannot subscribe to the room's signals");
        }
        let _ = gossipsub.set_topic_params(signals, behaviour::topic_score_params());
        let key = kad::RecordKey::new(room.as_bytes());
        if let Err(e) = self.swarm.behaviour_mut().kad.start_providing(key) {
            warn!(%room, error = %e, "cannot provide room");
        }
        let peers: Vec<PeerId> = self.connected.iter().copied().collect();
        for peer in peers {
            self.schedule_sync(room, peer, BTreeSet::new());
        }
    }

    fn remember(&mut self, address: &Multiaddr) {
        let Some(peer) = peer_of(address) else {
            return;
        };
        if !self.addresses.contains_key(&peer) && self.addresses.len() >= MAX_ADDRESS_BOOK {
            return;
        }
        let known = self.addresses.entry(peer).or_default();
        if !known.contains(address) && known.len() < MAX_ADDRESSES_PER_PEER {
            known.push(address.clone());
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::ListenAddrs(reply) => {
                let addresses = self.listen_addrs();
                if addresses.is_empty() && self.pending_listen.len() < MAX_PENDING_LISTEN {
                    // Still binding: answer once the first address is known.
                    self.pending_listen.push(reply);
                } else {
                    let _ = reply.send(addresses);
                }
            }
            Command::InviteAddrs(reply) => {
                let _ = reply.send(self.invite_addrs());
            }
            Command::Reachability(reply) => {
                let _ = reply.send(self.reachability());
            }
            Command::ConnectedPeers(reply) => {
                let _ = reply.send(self.connected.iter().copied().collect());
            }
            Command::Dial(address, reply) => self.dial(address, reply),
            Command::Request(peer, request, reply) => {
                if self.refuse_denied(Some(peer), "request_out") {
                    let _ = reply.send(Err(NetError::FederationDenied(peer)));
                    return;
                }
                if self.blocked.contains_key(&peer) {
                    let _ = reply.send(Err(NetError::Request("peer_blocked")));
                    return;
                }
                NetMetrics::inc(&self.metrics.requests_sent);
                let id = self
                    .swarm
                    .behaviour_mut()
                    .federation
                    .send_request(&peer, request.into());
                self.requests.insert(id, reply);
            }
            Command::SetBlocked(peer, blocked, reply) => {
                if blocked {
                    self.block(peer, None);
                } else {
                    self.unblock(peer);
                }
                let _ = reply.send(());
            }
            Command::Providers(room, reply) => {
                if self.providers.len() >= MAX_PROVIDER_QUERIES {
                    let _ = reply.send(Vec::new());
                    return;
                }
                let key = kad::RecordKey::new(room.as_bytes());
                let id = self.swarm.behaviour_mut().kad.get_providers(key);
                self.providers.push((id, BTreeSet::new(), reply));
            }
            Command::Host(room) => self.host(room),
            Command::PublishRaw(room, data, reply) => {
                let sent = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(gossip::topic(&room), data)
                    .is_ok();
                let _ = reply.send(sent);
            }
            Command::PublishRevocation(bytes) => {
                match self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(super::revocations::topic(), bytes)
                {
                    Ok(_) => NetMetrics::inc(&self.metrics.gossip_published),
                    // Already relayed, or no peer subscribed yet: the pulls deliver it.
                    Err(e) => debug!(error = %e, "revocation not published"),
                }
            }
            Command::RevocationsPulled(peer, last) => {
                self.revocations.pulled(peer, last, &self.connected);
            }
            Command::PublishDirectory(bytes, reply) => {
                let sent = match self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(super::directory::topic(), bytes)
                {
                    Ok(_) => {
                        NetMetrics::inc(&self.metrics.gossip_published);
                        true
                    }
                    // No peer subscribed yet: they pull it when they connect.
                    Err(e) => {
                        debug!(error = %e, "directory announcement not published");
                        false
                    }
                };
                if let Some(reply) = reply {
                    let _ = reply.send(sent);
                }
            }
            Command::DirectoryPulled(peer) => self.directory.pulled(peer),
            Command::PublishSignal(room, bytes, reply) => {
                let sent = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(super::signals::TOPICS.topic(&room), bytes)
                    .is_ok();
                if sent {
                    NetMetrics::inc(&self.metrics.gossip_published);
                }
                if let Some(reply) = reply {
                    let _ = reply.send(sent);
                }
            }
            Command::SyncAll(reply) => {
                self.sync_everything();
                let _ = reply.send(());
            }
            Command::Validated(id, peer, acceptance) => {
                let counter = match acceptance {
                    MessageAcceptance::Accept => &self.metrics.gossip_accepted,
                    MessageAcceptance::Reject => &self.metrics.gossip_rejected,
                    MessageAcceptance::Ignore => &self.metrics.gossip_ignored,
                };
                NetMetrics::inc(counter);
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&id, &peer, acceptance);
            }
            Command::Respond(peer, channel, response) => {
                if let Some(count) = self.inbound_per_peer.get_mut(&peer) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        self.inbound_per_peer.remove(&peer);
                    }
                }
                // The peer may have gone; its loss.
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .federation
                    .send_response(channel, response);
            }
            Command::Pull(room, peer, ids) => {
                // Held events prompt pulls from their sender within its fetch budget; what is
                // left waits for the periodic catch-up, which asks for it again.
                if self.handle.held_fetches.allow(peer, Instant::now()) {
                    self.schedule_sync(room, peer, ids.into_iter().collect());
                } else {
                    NetMetrics::inc(&self.metrics.held_fetches_limited);
                }
            }
            Command::SyncDone(room) => {
                if let Some(slot) = self.syncs.get_mut(&room) {
                    slot.running = false;
                }
                self.start_next_sync(room);
            }
            Command::Misbehaved(peer, reason) => self.strike(peer, reason),
            Command::Defer(event, id, peer) => {
                if self.deferred.len() < MAX_DEFERRED_VERDICTS {
                    self.deferred.insert(event, (id, peer, Instant::now()));
                } else {
                    self.on_command(Command::Validated(id, peer, MessageAcceptance::Ignore));
                }
            }
            Command::Forget(event) => {
                self.deferred.remove(&event);
            }
            Command::Settle(events) => {
                for event in events {
                    self.settle(&event, MessageAcceptance::Ignore);
                }
            }
        }
    }

    /// Reports the verdict deferred for a held event, if any.
    fn settle(&mut self, event: &EventId, acceptance: MessageAcceptance) -> bool {
        match self.deferred.remove(event) {
            Some((id, peer, _)) => {
                self.on_command(Command::Validated(id, peer, acceptance));
                true
            }
            None => false,
        }
    }

    /// Verdicts that waited too long are given as Ignore (the event stays held; pulls decide it).
    fn expire_deferred(&mut self) {
        let now = Instant::now();
        let late: Vec<EventId> = self
            .deferred
            .iter()
            .filter(|(_, (_, _, since))| {
                now.saturating_duration_since(*since) >= DEFERRED_VERDICT_TIMEOUT
            })
            .map(|(event, _)| *event)
            .collect();
        for event in late {
            self.settle(&event, MessageAcceptance::Ignore);
        }
        // Strikes long past are forgotten.
        self.strikes
            .retain(|_, (_, last)| now.saturating_duration_since(*last) < STRIKE_MEMORY);
    }

    /// A held event from a peer failed: rejected once what it waited for arrived, or expired
    /// unresolved. Either way it is counted and the peer that sent it pays: by the gossip Reject
    /// if its verdict was still deferred, else by a strike. An expiry costs a strike only while
    /// the peer is connected (it could have answered the pulls for it and did not).
    fn on_held_failed(&mut self, event: EventId, source: Source, end: HeldEnd) {
        let peer = peer_of_source(&source);
        match end {
            HeldEnd::Rejected(reason) => {
                self.metrics.event_rejected(reason.reason());
                if !self.settle(&event, MessageAcceptance::Reject)
                    && let Some(peer) = peer
                {
                    self.strike(peer, reason.reason());
                }
            }
            HeldEnd::Expired => {
                self.settle(&event, MessageAcceptance::Ignore);
                if let Some(peer) = peer.filter(|p| self.connected.contains(p)) {
                    self.strike(peer, "held_expired");
                }
            }
            HeldEnd::Accepted { .. } | HeldEnd::Refused(_) | HeldEnd::Evicted => {
                self.settle(&event, MessageAcceptance::Ignore);
            }
        }
    }

    fn sync_everything(&mut self) {
        let rooms: Vec<RoomId> = self.rooms.iter().copied().collect();
        let peers: Vec<PeerId> = self.connected.iter().copied().collect();
        for room in &rooms {
            for peer in &peers {
                self.schedule_sync(*room, *peer, BTreeSet::new());
            }
        }
    }

    fn schedule_sync(&mut self, room: RoomId, peer: PeerId, hints: BTreeSet<EventId>) {
        let slot = self.syncs.entry(room).or_default();
        let queued = slot.queue.entry(peer).or_default();
        for id in hints {
            if queued.len() >= super::wire::MAX_IDS_PER_REQUEST {
                break;
            }
            queued.insert(id);
        }
        self.start_next_sync(room);
    }

    fn start_next_sync(&mut self, room: RoomId) {
        let Some(slot) = self.syncs.get_mut(&room) else {
            return;
        };
        if slot.running {
            return;
        }
        let Some((peer, hints)) = slot.queue.pop_first() else {
            self.syncs.remove(&room);
            return;
        };
        if !self.connected.contains(&peer) || self.blocked.contains_key(&peer) {
            // Try the next queued peer on the next notice; this one is gone.
            let _ = self.handle.commands.try_send(Command::SyncDone(room));
            return;
        }
        slot.running = true;
        let handle = self.handle.clone();
        let permits = self.sync_permits.clone();
        tokio::spawn(async move {
            // The semaphore is never closed; a failure to acquire only skips this round.
            if let Ok(_permit) = permits.acquire_owned().await {
                match sync::catch_up(&handle, room, peer, hints).await {
                    Ok(fetched) => {
                        NetMetrics::inc(&handle.metrics.catchups_completed);
                        if fetched > 0 {
                            debug!(%room, %peer, fetched, "caught up");
                        }
                    }
                    Err(e) => debug!(%room, %peer, reason = e.reason(), "catch-up failed"),
                }
            }
            let _ = handle.commands.send(Command::SyncDone(room)).await;
        });
    }

    fn on_node_event(&mut self, event: NodeEvent) {
        match event {
            NodeEvent::RoomAdded(room) => self.host(room),
            // For the author's live streams only.
            NodeEvent::ReviewDecided { .. } => {}
            NodeEvent::HeldFailed {
                event, source, end, ..
            } => self.on_held_failed(event, source, end),
            NodeEvent::Accepted {
                room,
                event,
                visible,
                ..
            } => {
                if !self.rooms.contains(&room) {
                    self.host(room);
                }
                // A held gossip message whose attestation was fetched: its verdict at last.
                let verdict = if visible {
                    MessageAcceptance::Accept
                } else {
                    MessageAcceptance::Ignore
                };
                self.settle(&event.id(), verdict);
                // Soft-failed events are never relayed; pulled ones are not re-flooded, and
                // gossiped ones are relayed by gossipsub after validation.
                if !visible || self.handle.pulled.take(&event.id()) {
                    return;
                }
                let topic = gossip::topic(&room);
                match self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(topic, event.as_bytes().to_vec())
                {
                    Ok(_) => NetMetrics::inc(&self.metrics.gossip_published),
                    // Already seen on gossip (it came from there): gossipsub relays it itself.
                    Err(gossipsub::PublishError::Duplicate) => {}
                    Err(e) => debug!(%room, error = %e, "not published"),
                }
            }
        }
    }

    fn on_swarm(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                let full = address.with_p2p(self.handle.peer_id).unwrap_or_else(|a| a);
                info!(address = %full, "listening");
                let addresses = self.listen_addrs();
                for reply in self.pending_listen.drain(..) {
                    let _ = reply.send(addresses.clone());
                }
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                num_established,
                ..
            } => {
                self.port_reuse_dials.remove(&connection_id);
                if let Some(reply) = self.dials.remove(&connection_id) {
                    let _ = reply.send(Ok(peer_id));
                }
                self.reach
                    .connections
                    .insert(connection_id, (peer_id, endpoint.is_relayed()));
                if endpoint.is_dialer() {
                    let address = endpoint.get_remote_address().clone();
                    let address = address.with_p2p(peer_id).unwrap_or_else(|a| a);
                    self.remember(&address);
                }
                if num_established.get() == 1 && self.connected.insert(peer_id) {
                    self.metrics.peers_connected.store(
                        self.connected.len() as u64,
                        std::sync::atomic::Ordering::Relaxed,
                    );
                    debug!(peer = %peer_id, "connected");
                    let rooms: Vec<RoomId> = self.rooms.iter().copied().collect();
                    for room in rooms {
                        self.schedule_sync(room, peer_id, BTreeSet::new());
                    }
                    self.revocations.pull(&self.handle, peer_id);
                    self.directory.pull(&self.handle, peer_id);
                    if self
                        .reach
                        .relays
                        .iter()
                        .any(|relay| peer_of(relay) == Some(peer_id))
                    {
                        self.reserve_relays();
                    }
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                self.reach.connections.remove(&connection_id);
                if num_established != 0 || !self.connected.remove(&peer_id) {
                    return;
                }
                self.metrics.peers_connected.store(
                    self.connected.len() as u64,
                    std::sync::atomic::Ordering::Relaxed,
                );
                debug!(peer = %peer_id, "disconnected");
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                error,
                peer_id,
            } => {
                if self.port_reuse_dials.remove(&connection_id)
                    && self.retry_from_fresh_port(connection_id, peer_id, &error)
                {
                    return;
                }
                let denied = self.refuse_denied(peer_id, "connection_out");
                if let Some(reply) = self.dials.remove(&connection_id) {
                    let error = match peer_id {
                        Some(peer) if denied => NetError::FederationDenied(peer),
                        _ => NetError::Dial(error.to_string()),
                    };
                    let _ = reply.send(Err(error));
                }
            }
            SwarmEvent::IncomingConnectionError { peer_id, .. }
                if self.refuse_denied(peer_id, "connection_in") =>
            {
                debug!(peer = ?peer_id, "refused a denied node's connection");
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                if let Some(index) = self
                    .reach
                    .listeners
                    .iter()
                    .position(|(id, _)| *id == listener_id)
                {
                    // The relay connection or the reservation was lost: the next tick reserves
                    // again.
                    let (_, relay) = self.reach.listeners.swap_remove(index);
                    debug!(%relay, ?reason, "relay listener closed");
                    self.reach.reserved.remove(&relay);
                    self.count_reservations();
                }
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour(event),
            _ => {}
        }
    }

    /// Hands a gossip message to the validator of its topic. Returns the verdict when it is
    /// decided here; `None` when a validator reports it later.
    fn route_gossip(
        &mut self,
        source: PeerId,
        id: gossipsub::MessageId,
        message: gossipsub::Message,
    ) -> Option<MessageAcceptance> {
        if self.refuse_denied(Some(source), "gossip") {
            return Some(MessageAcceptance::Reject);
        }
        if message.topic.as_str() == super::revocations::TOPIC {
            let handle = self.handle.clone();
            self.revocations.validate(&handle, id, source, message.data);
            return None;
        }
        if let Some(room) = super::signals::TOPICS.room_of(&message.topic) {
            if self.rooms.contains(&room) && self.within_rate(source) {
                super::signals::validate(&self.handle, room, id, source, message.data);
                return None;
            }
            return Some(MessageAcceptance::Ignore);
        }
        if message.topic.as_str() == super::directory::TOPIC {
            if !self.within_rate(source) {
                return Some(MessageAcceptance::Ignore);
            }
            return Some(super::directory::verdict(&self.handle, &message.data));
        }
        let room = gossip::room_of_topic(&message.topic).filter(|room| self.rooms.contains(room));
        let Some(room) = room else {
            return Some(MessageAcceptance::Ignore);
        };
        if !self.within_rate(source) {
            return Some(MessageAcceptance::Ignore);
        }
        let item = sync::GossipItem {
            id,
            source,
            room,
            data: message.data,
        };
        self.gossip
            .try_send(item)
            .is_err()
            .then_some(MessageAcceptance::Ignore)
    }

    fn on_behaviour(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => {
                NetMetrics::inc(&self.metrics.gossip_received);
                if let Some(verdict) =
                    self.route_gossip(propagation_source, message_id.clone(), message)
                {
                    self.on_command(Command::Validated(message_id, propagation_source, verdict));
                }
            }
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                for address in info.listen_addrs.into_iter().take(MAX_ADDRESSES_PER_PEER) {
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer_id, address.clone());
                    self.remember(&address.with_p2p(peer_id).unwrap_or_else(|a| a));
                }
            }
            BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed {
                id, result, step, ..
            }) => {
                if let kad::QueryResult::GetProviders(Ok(kad::GetProvidersOk::FoundProviders {
                    providers,
                    ..
                })) = result
                    && let Some((_, found, _)) = self.providers.iter_mut().find(|(q, ..)| *q == id)
                {
                    found.extend(providers);
                }
                if step.last
                    && let Some(index) = self.providers.iter().position(|(q, ..)| *q == id)
                {
                    let (_, found, reply) = self.providers.swap_remove(index);
                    let _ = reply.send(found.into_iter().collect());
                }
            }
            BehaviourEvent::Federation(event) => self.on_federation(event),
            BehaviourEvent::Autonat(event) => self.on_autonat(event),
            BehaviourEvent::RelayClient(event) => self.on_relay_client(event),
            BehaviourEvent::RelayServer(event) => self.on_relay_server(event),
            BehaviourEvent::Dcutr(event) => self.on_dcutr(event),
            // libp2p no longer closes a connection whose pings time out: a silently cut link
            // would stay "connected" until TCP gives up. Close it, so catch-up and bootstrap
            // redials take over once the link heals. (A peer without ping support is fine.)
            BehaviourEvent::Ping(ping::Event {
                peer,
                connection,
                result: Err(ping::Failure::Timeout),
            }) => {
                tracing::debug!(%peer, "ping timed out; closing the connection");
                self.swarm.close_connection(connection);
            }
            _ => {}
        }
    }

    fn on_federation(&mut self, event: request_response::Event<FederationRequest, Response>) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => match request {
                FederationRequest::Wire(request) => self.on_request(peer, request, channel),
                FederationRequest::Invalid { reason, detail } => {
                    self.on_invalid_request(peer, reason, detail, channel)
                }
            },
            request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some(reply) = self.requests.remove(&request_id) {
                    let _ = reply.send(Ok(response));
                }
            }
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                let reason = match error {
                    request_response::OutboundFailure::DialFailure => "dial_failure",
                    request_response::OutboundFailure::Timeout => "timeout",
                    request_response::OutboundFailure::ConnectionClosed => "connection_closed",
                    request_response::OutboundFailure::UnsupportedProtocols => {
                        "unsupported_protocols"
                    }
                    request_response::OutboundFailure::Io(_) => "io",
                };
                self.metrics.outbound_failed(reason);
                if let Some(reply) = self.requests.remove(&request_id) {
                    let _ = reply.send(Err(NetError::Request(reason)));
                }
            }
            // Over-cap and malformed request frames arrive as `FederationRequest::Invalid`;
            // what is left here (timeouts, closed connections, streams cut mid-frame) is
            // nothing a peer can be held to.
            request_response::Event::InboundFailure { .. } => {}
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    /// A request frame over the cap or not a well-formed request: answered with its reason at
    /// once (it costs no permit), counted, and struck; the sender is at fault whatever the reason.
    fn on_invalid_request(
        &mut self,
        peer: PeerId,
        reason: ErrorReason,
        detail: &'static str,
        channel: request_response::ResponseChannel<Response>,
    ) {
        debug!(%peer, reason = reason.reason(), detail, "invalid request");
        self.metrics.request_failed(reason.reason());
        let _ = self
            .swarm
            .behaviour_mut()
            .federation
            .send_response(channel, Response::Error { reason });
        self.strike(peer, detail);
    }

    fn on_request(
        &mut self,
        peer: PeerId,
        request: Request,
        channel: request_response::ResponseChannel<Response>,
    ) {
        if self.refuse_denied(Some(peer), "request_in") {
            // Unanswered: the channel drops and the denied node's request fails.
            drop(channel);
            return;
        }
        let per_peer = self.inbound_per_peer.get(&peer).copied().unwrap_or(0);
        let permit = if per_peer < MAX_INBOUND_PER_PEER {
            self.inbound.clone().try_acquire_owned().ok()
        } else {
            None
        };
        let Some(permit) = permit else {
            self.metrics.request_failed(ErrorReason::Busy.reason());
            let _ = self.swarm.behaviour_mut().federation.send_response(
                channel,
                Response::Error {
                    reason: ErrorReason::Busy,
                },
            );
            return;
        };
        *self.inbound_per_peer.entry(peer).or_default() += 1;
        let node = self.node.clone();
        let commands = self.handle.commands.clone();
        let metrics = self.metrics.clone();
        tokio::spawn(async move {
            let response = sync::serve(&node, request).await;
            drop(permit);
            match &response {
                Response::Error { reason } => {
                    metrics.request_failed(reason.reason());
                    if reason.is_misbehaviour() {
                        let _ = commands
                            .send(Command::Misbehaved(peer, reason.reason()))
                            .await;
                    }
                }
                _ => NetMetrics::inc(&metrics.requests_served),
            }
            let _ = commands
                .send(Command::Respond(peer, channel, response))
                .await;
        });
    }
}
