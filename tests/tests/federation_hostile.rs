//! Scenario 5 (specs/federation.md "Validation" and "Misbehaviour"): hostile peers.
//!
//! Two raw libp2p clients (not Causerie nodes: a bare swarm with gossipsub and a request-response
//! behaviour whose codec writes any bytes) attack a two-node federation while its users talk:
//! - Mallet publishes on the room's gossip topic, to A: an event with a forged signature, a
//!   non-canonical encoding of a valid event, an oversized event, a valid event of another room,
//!   and a validly signed event by a user who is not in the room (attested by Mallet's own key,
//!   which Mallet serves when asked). Every one is rejected, with its reason counted in A's
//!   `/metrics`; Mallet's gossip score drops below the graylist threshold and A bans and
//!   disconnects it.
//! - Flood sends B a flood of well-formed but useless requests (rooms B does not hold, lookups of
//!   a thousand unknown ids): each is answered cheaply or refused (`unknown_room`, `busy` beyond
//!   the per-peer cap), counted in B's `/metrics`, and B keeps serving its honest peer.
//!
//! Meanwhile honest messages keep flowing between A and B, and afterwards neither node holds
//! anything that came from the attackers.
//!
//! A second test floods garbage request frames and out-of-limit requests,
//! which must be counted as malformed and get the sender banned.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::time::Duration;

use causerie_crypto::event::kinds;
use causerie_crypto::{
    Assurance, Attestation, AttestationDraft, AttestationId, Content, Event, EventDraft, EventId,
    Hash32, NodeSecret, RoomId, UserSecret,
};
use causerie_node::net::codec::{read_frame, write_frame};
use causerie_node::net::fetch::HELD_FETCH_BURST_PER_PEER;
use causerie_node::net::wire::{
    self, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, PROTOCOL, Request, Response,
};
use causerie_room::prepare_create;
use causerie_tests::cluster::{
    Cluster, DEFAULT_TIMEOUT, TestUser, http_get, init_logs, metric, now_ms, text_content,
    wait_until,
};
use futures::{AsyncRead, AsyncWrite, StreamExt};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, gossipsub, identity, noise, request_response, tcp,
    yamux,
};

/// Honest messages per user while the attacks run.
const HONEST_MESSAGES: usize = 40;
/// Well-formed but useless requests Flood sends.
const FLOOD_REQUESTS: usize = 200;
/// Garbage request frames sent in the garbage-flood test.
const GARBAGE_REQUESTS: usize = 64;
/// Size of the oversized gossip message: over the event cap, under gossipsub's transmit cap.
const OVERSIZED_BYTES: usize = 68_000;

/// Request-response codec that moves raw frames: the attacker chooses every byte.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, MAX_REQUEST_BYTES).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, MAX_RESPONSE_BYTES).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &request, MAX_REQUEST_BYTES).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &response, MAX_RESPONSE_BYTES).await
    }
}

#[derive(NetworkBehaviour)]
struct Attack {
    gossipsub: gossipsub::Behaviour,
    raw: request_response::Behaviour<RawCodec>,
}

/// The room's gossip topic, as specs/federation.md names it.
fn topic(room: &RoomId) -> gossipsub::IdentTopic {
    gossipsub::IdentTopic::new(format!("causerie/room/v1/{}", room.0.to_hex()))
}

fn attacker() -> Swarm<Attack> {
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        // Distinct ids for distinct bytes (the default id needs a source and sequence number).
        .message_id_fn(|m: &gossipsub::Message| {
            gossipsub::MessageId::new(Hash32::digest(&[&m.data]).as_bytes())
        })
        .max_transmit_size(4 * OVERSIZED_BYTES)
        .heartbeat_interval(Duration::from_millis(200))
        .build()
        .expect("gossipsub config");
    libp2p::SwarmBuilder::with_existing_identity(identity::Keypair::generate_ed25519())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .expect("tcp")
        .with_behaviour(|_| Attack {
            gossipsub: gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)
                .expect("gossipsub"),
            raw: request_response::Behaviour::with_codec(
                RawCodec,
                [(
                    StreamProtocol::new(PROTOCOL),
                    request_response::ProtocolSupport::Full,
                )],
                request_response::Config::default()
                    .with_request_timeout(Duration::from_secs(20))
                    .with_max_concurrent_streams(GARBAGE_REQUESTS * 2),
            ),
        })
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(600)))
        .build()
}

/// What the attacker's event loop reports back to the scenario.
#[derive(Debug, Default)]
struct Seen {
    connected: BTreeSet<PeerId>,
    subscribed: BTreeSet<PeerId>,
    closed: usize,
    /// Swarm events seen (anything at all).
    events: usize,
    responses: usize,
    failures: usize,
    attestation_requests: usize,
    attestations_served: usize,
}

/// What the attacker answers to the node's requests.
#[derive(Debug, Default)]
struct Serving {
    /// Served to every `get_attestation` (so the node can judge a non-member's event).
    attestation: Option<Vec<u8>>,
    /// Without `attestation`: answer `get_attestation` with "none" rather than an error.
    deny_attestations: bool,
    /// Events served to `get_events` by id.
    events: BTreeMap<EventId, Vec<u8>>,
}

impl Serving {
    fn attestation(bytes: &[u8]) -> Serving {
        Serving {
            attestation: Some(bytes.to_vec()),
            ..Serving::default()
        }
    }

    fn answer(&self, seen: &mut Seen, request: &[u8]) -> Response {
        let unknown = Response::Error {
            reason: wire::ErrorReason::UnknownRoom,
        };
        match wire::decode_request(request) {
            Ok(Request::GetAttestation { .. }) => {
                seen.attestation_requests += 1;
                match &self.attestation {
                    Some(bytes) => {
                        seen.attestations_served += 1;
                        Response::Attestation {
                            attestation: Some(serde_bytes::ByteBuf::from(bytes.clone())),
                        }
                    }
                    None if self.deny_attestations => Response::Attestation { attestation: None },
                    None => unknown,
                }
            }
            Ok(Request::GetEvents { ids }) if !self.events.is_empty() => Response::Events {
                events: ids
                    .iter()
                    .filter_map(|id| self.events.get(id))
                    .map(|bytes| serde_bytes::ByteBuf::from(bytes.clone()))
                    .collect(),
            },
            _ => unknown,
        }
    }
}

/// Drives the attacker's swarm until `done` holds or `timeout` passes, answering the node's
/// requests as `serving` says.
async fn drive(
    swarm: &mut Swarm<Attack>,
    seen: &mut Seen,
    serving: &Serving,
    timeout: Duration,
    done: impl Fn(&Seen) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while !done(seen) {
        let event = match tokio::time::timeout_at(deadline, swarm.select_next_some()).await {
            Ok(event) => event,
            Err(_) => return false,
        };
        seen.events += 1;
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                seen.connected.insert(peer_id);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                seen.connected.remove(&peer_id);
                seen.closed += 1;
            }
            SwarmEvent::Behaviour(AttackEvent::Gossipsub(gossipsub::Event::Subscribed {
                peer_id,
                ..
            })) => {
                seen.subscribed.insert(peer_id);
            }
            SwarmEvent::Behaviour(AttackEvent::Raw(request_response::Event::Message {
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            })) => {
                let response = serving.answer(seen, &request);
                let bytes = wire::encode_response(&response).expect("encode");
                let _ = swarm.behaviour_mut().raw.send_response(channel, bytes);
            }
            SwarmEvent::Behaviour(AttackEvent::Raw(request_response::Event::Message {
                message: request_response::Message::Response { .. },
                ..
            })) => seen.responses += 1,
            SwarmEvent::Behaviour(AttackEvent::Raw(request_response::Event::OutboundFailure {
                ..
            })) => seen.failures += 1,
            _ => {}
        }
    }
    true
}

/// Replaces the first byte (a map head of fewer than 24 entries) by its non-shortest form.
fn non_canonical(bytes: &[u8]) -> Vec<u8> {
    let head = bytes[0];
    assert!((0xa0..0xb8).contains(&head), "events are small maps");
    let mut out = vec![0xb8, head - 0xa0];
    out.extend_from_slice(&bytes[1..]);
    out
}

/// Flips one bit of the signature inside the event's bytes.
fn forged(event: &Event) -> Vec<u8> {
    let mut bytes = event.as_bytes().to_vec();
    let signature = event.signature().as_bytes();
    let at = bytes
        .windows(signature.len())
        .position(|w| w == signature)
        .expect("signature bytes inside the event");
    bytes[at + 10] ^= 0x01;
    bytes
}

/// `{"x": bytes}` of `total` bytes: well-formed CBOR, far over the event cap.
fn oversized(total: usize) -> Vec<u8> {
    let payload = total - 8;
    let mut out = vec![0xa1, 0x61, b'x', 0x5a];
    out.extend_from_slice(&(payload as u32).to_be_bytes());
    out.resize(total, 0x42);
    out
}

/// Where a new message of `room` goes on a node: its tips, the create and power-levels events
/// (a message's auth events) and the depth on top of the tips.
struct Position {
    tips: Vec<EventId>,
    create: EventId,
    levels: EventId,
    depth: u64,
}

impl Position {
    async fn of(cluster: &Cluster, index: usize, room: RoomId) -> Position {
        let node = cluster.node(index);
        let tips = node.tips(room).await.expect("tips");
        let depth = node
            .events(tips.clone())
            .await
            .expect("tip events")
            .iter()
            .map(Event::depth)
            .max()
            .unwrap_or(0)
            + 1;
        let state = node.room_state(room).await.expect("state").expect("room");
        let find = |kind: &str| {
            state
                .state
                .iter()
                .find(|e| e.kind() == kind)
                .expect("state event")
                .id()
        };
        Position {
            tips,
            create: find(kinds::CREATE),
            levels: find(kinds::POWER_LEVELS),
            depth,
        }
    }

    /// A message signed by `author`, naming `attestation`, on `prev_events` at `depth`.
    fn message(
        &self,
        room: RoomId,
        author: &UserSecret,
        attestation: AttestationId,
        prev_events: Vec<EventId>,
        depth: u64,
        body: &str,
    ) -> Event {
        EventDraft {
            room: Some(room),
            author: author.public(),
            kind: kinds::MESSAGE.into(),
            state_key: None,
            content: text_content(body),
            prev_events,
            auth_events: vec![self.create, self.levels],
            depth,
            origin_ts: now_ms(),
            attestation,
        }
        .sign(author)
        .expect("sign")
    }
}

/// A user attested by the attacker's own node key.
fn attested_by(node: &NodeSecret, user: &UserSecret, handle: &str) -> Attestation {
    let now = now_ms();
    AttestationDraft {
        user: user.public(),
        handle: handle.into(),
        assurance: Assurance::Contact,
        not_before: now - 60_000,
        not_after: now + 86_400_000,
    }
    .sign(node)
    .expect("attestation")
}

/// Logs on, a cluster of `nodes`, and alice on node 0.
async fn cluster_and_alice(nodes: usize) -> (Cluster, TestUser) {
    init_logs();
    let cluster = Cluster::start(nodes).await.expect("cluster starts");
    let alice = cluster.user(0, "alice").await.expect("user");
    (cluster, alice)
}

/// An attacker connected to `address` (of `peer`), serving nothing; `what` names the
/// connection in the assertion.
async fn attacker_connected(
    address: &Multiaddr,
    peer: PeerId,
    what: &str,
) -> (Swarm<Attack>, Seen) {
    let mut swarm = attacker();
    let mut seen = Seen::default();
    swarm.dial(address.clone()).expect("dial");
    assert!(
        drive(
            &mut swarm,
            &mut seen,
            &Serving::default(),
            DEFAULT_TIMEOUT,
            |s| s.connected.contains(&peer)
        )
        .await,
        "{what}"
    );
    (swarm, seen)
}

/// An attacker subscribed to the room's topic and connected to `address`, once the node's own
/// subscription is seen.
async fn attacker_on(room: RoomId, address: &Multiaddr, peer: PeerId) -> (Swarm<Attack>, Seen) {
    let mut swarm = attacker();
    let mut seen = Seen::default();
    swarm
        .behaviour_mut()
        .gossipsub
        .subscribe(&topic(&room))
        .expect("subscribe");
    swarm.dial(address.clone()).expect("dial");
    let up = drive(
        &mut swarm,
        &mut seen,
        &Serving::default(),
        DEFAULT_TIMEOUT,
        |s| s.subscribed.contains(&peer),
    )
    .await;
    assert!(up, "the node's room subscription seen: {seen:?}");
    (swarm, seen)
}

/// Publishes every message on the room's topic; when gossipsub's queues are full, drives the
/// swarm until something happened and tries again.
async fn publish_all(
    swarm: &mut Swarm<Attack>,
    seen: &mut Seen,
    serving: &Serving,
    room: RoomId,
    messages: &[Vec<u8>],
) {
    for data in messages {
        loop {
            match swarm
                .behaviour_mut()
                .gossipsub
                .publish(topic(&room), data.clone())
            {
                Ok(_) => break,
                Err(gossipsub::PublishError::AllQueuesFull(_)) => {
                    let events = seen.events;
                    drive(swarm, seen, serving, DEFAULT_TIMEOUT, |s| s.events > events).await;
                }
                Err(e) => panic!("publishing: {e}"),
            }
        }
    }
}

/// Drives the attacker (answering as `serving` says) while waiting for `condition`, checked on
/// the nodes; whether it held in time.
async fn drive_until<F, Fut>(
    swarm: &mut Swarm<Attack>,
    seen: &mut Seen,
    serving: &Serving,
    what: &str,
    condition: F,
) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    tokio::select! {
        result = wait_until(DEFAULT_TIMEOUT, what, condition) => result.is_ok(),
        _ = drive(swarm, seen, serving, DEFAULT_TIMEOUT * 2, |_| false) => false,
    }
}

async fn metrics_of(cluster: &Cluster, index: usize) -> String {
    let (status, text) = http_get(cluster.nodes[index].running().http_addr, "/metrics")
        .await
        .expect("metrics");
    assert_eq!(status, 200);
    text
}

fn sum_reasons(text: &str, name: &str, reasons: &[&str]) -> u64 {
    reasons
        .iter()
        .filter_map(|r| metric(text, &format!("{name}{{reason=\"{r}\"}}")))
        .sum()
}

/// How much the counter `name`, summed over `reasons`, grew from `before` to `after`.
fn rise(before: &str, after: &str, name: &str, reasons: &[&str]) -> u64 {
    sum_reasons(after, name, reasons).saturating_sub(sum_reasons(before, name, reasons))
}

/// Whether the node banned a peer between the two `/metrics` texts.
fn banned_since(before: &str, after: &str) -> bool {
    let banned = "causerie_peers_banned_total";
    metric(after, banned) > metric(before, banned)
}

/// Drives the attacker until the node at `peer` has closed its connection to it; whether it did
/// in time.
async fn drive_until_cut(
    swarm: &mut Swarm<Attack>,
    seen: &mut Seen,
    serving: &Serving,
    peer: PeerId,
) -> bool {
    drive(swarm, seen, serving, DEFAULT_TIMEOUT, |s| {
        !s.connected.contains(&peer) && s.closed > 0
    })
    .await
}

/// Waits until node `index` no longer lists `peer` among its connections: the attacker sees the
/// connection close before the node's swarm has processed its own close event.
async fn wait_forgotten(cluster: &Cluster, index: usize, peer: PeerId, what: &str) {
    let net = &cluster.nodes[index].running().net;
    wait_until(DEFAULT_TIMEOUT, what, || async {
        net.connected_peers()
            .await
            .is_ok_and(|peers| !peers.contains(&peer))
    })
    .await
    .expect(what);
}

/// Asserts that no node of the cluster serves any of `ids`.
async fn stored_nowhere(cluster: &Cluster, ids: Vec<EventId>) {
    for index in 0..cluster.nodes.len() {
        let found = cluster
            .node(index)
            .events(ids.clone())
            .await
            .expect("lookup");
        assert!(found.is_empty(), "node{index} serves a hostile event");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peers_are_rejected_and_banned() {
    let (cluster, alice) = cluster_and_alice(2).await;
    let bob = cluster.user(1, "bob").await.expect("user");
    let room = cluster.create_shared_room(&alice).await.expect("room");
    let mut expected: BTreeSet<_> = cluster.views(room).await.expect("views")[0].events.clone();
    expected.insert(cluster.join(&bob, room).await.expect("join").id());
    cluster
        .wait_converged(room, &expected, DEFAULT_TIMEOUT)
        .await
        .expect("converged");

    // Mallet's material: a user attested by Mallet's own node key, and a room of its own.
    let mallet_node = NodeSecret::generate().expect("key");
    let mallory = UserSecret::generate().expect("key");
    let now = now_ms();
    let attestation = attested_by(&mallet_node, &mallory, "mallory");
    let other_room = prepare_create(mallory.public(), Content::new(), now, attestation.id())
        .sign(&mallory)
        .expect("create");
    let honest_probe = cluster.message(&alice, room, "probe").await.expect("msg");
    expected.insert(honest_probe.id());
    let at = Position::of(&cluster, 0, room).await;
    let intruder = at.message(
        room,
        &mallory,
        attestation.id(),
        at.tips.clone(),
        at.depth,
        "let me in",
    );
    let forged_event = cluster.message(&bob, room, "forge me").await.expect("msg");
    expected.insert(forged_event.id());
    let attacks: Vec<(&str, Vec<u8>)> = vec![
        ("forged signature", forged(&forged_event)),
        ("non-canonical", non_canonical(honest_probe.as_bytes())),
        ("oversized", oversized(OVERSIZED_BYTES)),
        ("other room", other_room.as_bytes().to_vec()),
        ("non-member", intruder.as_bytes().to_vec()),
    ];
    let hostile_ids = [other_room.id(), intruder.id()];
    let a_addr: Multiaddr = cluster.nodes[0].addresses().await.expect("addr")[0].clone();
    let b_addr: Multiaddr = cluster.nodes[1].addresses().await.expect("addr")[0].clone();
    let (a_peer, b_peer) = (cluster.nodes[0].peer_id, cluster.nodes[1].peer_id);
    let before_a = metrics_of(&cluster, 0).await;
    let before_b = metrics_of(&cluster, 1).await;

    // Honest traffic runs all along.
    let honest = async {
        let mut ids = Vec::new();
        for n in 0..HONEST_MESSAGES {
            for (user, name) in [(&alice, "a"), (&bob, "b")] {
                let body = format!("{name}{n}");
                ids.push(cluster.message(user, room, &body).await.expect("msg").id());
            }
        }
        ids
    };

    let gossip_attack = async {
        let mut swarm = attacker();
        let mallet = *swarm.local_peer_id();
        let mut seen = Seen::default();
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&topic(&room))
            .expect("subscribe");
        swarm.dial(a_addr.clone()).expect("dial");
        let serving = Serving::attestation(attestation.as_bytes());
        let up = drive(&mut swarm, &mut seen, &serving, DEFAULT_TIMEOUT, |s| {
            s.subscribed.contains(&a_peer)
        })
        .await;
        assert!(up, "A's room subscription seen");
        for (what, data) in &attacks {
            if let Err(e) = swarm
                .behaviour_mut()
                .gossipsub
                .publish(topic(&room), data.clone())
            {
                panic!("publishing {what}: {e}");
            }
        }
        let banned = drive_until_cut(&mut swarm, &mut seen, &serving, a_peer).await;
        assert!(banned, "A disconnects Mallet: {seen:?}");
        // Coming back does not work: A closes any new connection from the banned peer at once
        // (the dial itself may complete before A's block list refuses the connection).
        let closed_before = seen.closed;
        let _ = swarm.dial(a_addr.clone());
        let _ = drive(
            &mut swarm,
            &mut seen,
            &serving,
            Duration::from_secs(5),
            |s| s.closed > closed_before,
        )
        .await;
        assert!(
            !seen.connected.contains(&a_peer),
            "banned peer let back in: {seen:?}"
        );
        (mallet, seen)
    };

    let request_flood = async {
        let (mut swarm, mut seen) =
            attacker_connected(&b_addr, b_peer, "Flood connects to B").await;
        let flood = *swarm.local_peer_id();
        // A flood of well-formed requests the node must refuse or answer cheaply: rooms it does
        // not hold, and lookups of a thousand unknown ids each. The per-peer cap answers the
        // excess with `busy`.
        let unknown_room = RoomId(Hash32::digest(&[b"no such room"]));
        for n in 0..FLOOD_REQUESTS {
            let request = if n % 2 == 0 {
                Request::RoomState { room: unknown_room }
            } else {
                Request::GetEvents {
                    ids: (0..wire::MAX_IDS_PER_REQUEST)
                        .map(|i| EventId(Hash32::digest(&[&(n * 10_000 + i).to_be_bytes()])))
                        .collect(),
                }
            };
            let bytes = wire::encode_request(&request).expect("encode");
            swarm.behaviour_mut().raw.send_request(&b_peer, bytes);
        }
        let answered = drive(
            &mut swarm,
            &mut seen,
            &Serving::default(),
            DEFAULT_TIMEOUT,
            |s| s.responses + s.failures >= FLOOD_REQUESTS,
        )
        .await;
        assert!(answered, "every flood request ends: {seen:?}");
        (flood, seen)
    };

    let (honest_ids, (mallet, mallet_seen), (_flood, flood_seen)) =
        tokio::join!(honest, gossip_attack, request_flood);
    expected.extend(honest_ids);
    // A fetches the non-member event's attestation when the event is held, and may ask once more
    // in its next catch-up round before the ban lands; never more.
    assert!(mallet_seen.attestations_served <= 2, "{mallet_seen:?}");
    assert!(
        flood_seen.responses > 0,
        "B answered the flood: {flood_seen:?}"
    );

    // Reasons visible in /metrics.
    let after_a = metrics_of(&cluster, 0).await;
    let after_b = metrics_of(&cluster, 1).await;
    let rejected = "causerie_peer_events_rejected_total";
    for reason in ["bad_signature", "non_canonical_encoding", "wrong_room"] {
        let delta = rise(&before_a, &after_a, rejected, &[reason]);
        assert!(delta >= 1, "A counts {reason}:\n{after_a}");
    }
    let oversize_reasons = ["too_large", "event_too_large"];
    assert!(
        rise(&before_a, &after_a, rejected, &oversize_reasons) > 0,
        "A counts the oversized event:\n{after_a}"
    );
    assert!(banned_since(&before_a, &after_a), "A banned Mallet");
    let failed = "causerie_requests_failed_total";
    // Each flood request was refused for a counted reason, answered with nothing, or never got
    // a stream (the connection's stream cap): none slowed the honest traffic.
    for reason in ["unknown_room", "busy"] {
        assert!(
            rise(&before_b, &after_b, failed, &[reason]) > 0,
            "B counts {reason} refusals:\n{after_b}"
        );
    }
    wait_forgotten(&cluster, 0, mallet, "A forgets Mallet").await;

    // Honest traffic went through, and nothing from the attackers is stored anywhere.
    let view = cluster
        .wait_converged(room, &expected, DEFAULT_TIMEOUT)
        .await
        .expect("converged");
    assert_eq!(view.events, expected, "exactly the honest events");
    stored_nowhere(&cluster, hostile_ids.to_vec()).await;
    for index in 0..2 {
        let rooms = cluster.node(index).rooms().await.expect("rooms");
        assert!(
            !rooms.contains(&other_room.room_id()),
            "node{index} took the attacker's room"
        );
    }
    cluster.shutdown().await;
}

/// Garbage request frames (not canonical CBOR of any request) and out-of-limit requests must be
/// counted as failed requests (`malformed`, `bad_limit`) in `/metrics` and get the sender banned
/// after `MAX_STRIKES`.
///
/// libp2p-request-response 0.30 drops a stream whose `read_request` fails without emitting
/// `InboundFailure`, so the federation codec reads such frames as `FederationRequest::Invalid`
/// values, which the actor answers, counts and strikes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_request_flood_is_counted_and_banned() {
    let (cluster, alice) = cluster_and_alice(2).await;
    let room = cluster.create_room(&alice).await.expect("room");
    let b_addr: Multiaddr = cluster.nodes[1].addresses().await.expect("addr")[0].clone();
    let b_peer = cluster.nodes[1].peer_id;
    let before = metrics_of(&cluster, 1).await;
    let (mut swarm, mut seen) = attacker_connected(&b_addr, b_peer, "Flood connects to B").await;
    let flood = *swarm.local_peer_id();
    for limit in [0u64, wire::BACKFILL_PAGE as u64 + 1] {
        let request = Request::Backfill {
            from: vec![],
            limit,
            room,
        };
        let bytes = wire::encode_request(&request).expect("encode");
        swarm.behaviour_mut().raw.send_request(&b_peer, bytes);
    }
    for n in 0..GARBAGE_REQUESTS {
        let garbage: Vec<u8> = (0..(n * 37 % 500 + 1))
            .map(|i| (i * 31 + n) as u8 | 0xe0)
            .collect();
        swarm.behaviour_mut().raw.send_request(&b_peer, garbage);
    }
    let cut = drive_until_cut(&mut swarm, &mut seen, &Serving::default(), b_peer).await;
    assert!(cut, "B disconnects Flood: {seen:?}");
    let after = metrics_of(&cluster, 1).await;
    let failed = "causerie_requests_failed_total";
    let reasons = ["malformed", "bad_limit"];
    assert!(
        rise(&before, &after, failed, &reasons) >= 16,
        "B counts the garbage:\n{after}"
    );
    assert!(banned_since(&before, &after), "B banned Flood");
    wait_forgotten(&cluster, 1, flood, "B forgets Flood").await;
    cluster.shutdown().await;
}

/// Rejections that come after a wait are counted and scored like immediate ones
/// (specs/federation.md §2). Mallet gossips to A two messages by Mallory, who is not in the room
/// (attested by Mallet's own key, which Mallet serves):
/// - one on A's tips: held for Mallory's attestation, which A fetches from Mallet; then rejected
///   (`auth_failed_own`), and the gossip verdict A deferred is Reject;
/// - one on top of a third message of Mallory's that A lacks: held for that parent, which A pulls
///   from Mallet and rejects; the held child then fails too (`rejected_reference`), and counts
///   against Mallet although its gossip verdict was given long before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejections_after_a_wait_are_counted_and_scored() {
    let (cluster, alice) = cluster_and_alice(2).await;
    let room = cluster.create_shared_room(&alice).await.expect("room");
    let mallory = UserSecret::generate().expect("key");
    let attestation = attested_by(&NodeSecret::generate().expect("key"), &mallory, "mallory");
    let at = Position::of(&cluster, 0, room).await;
    let message = |prev: Vec<EventId>, depth: u64, body: &str| {
        at.message(room, &mallory, attestation.id(), prev, depth, body)
    };
    let waiting = message(at.tips.clone(), at.depth, "let me in");
    let parent = message(at.tips.clone(), at.depth, "hidden parent");
    let child = message(vec![parent.id()], at.depth + 1, "on top");
    let serving = Serving {
        attestation: Some(attestation.as_bytes().to_vec()),
        events: BTreeMap::from([(parent.id(), parent.as_bytes().to_vec())]),
        ..Serving::default()
    };
    let a_addr = cluster.nodes[0].addresses().await.expect("addr")[0].clone();
    let (mut swarm, mut seen) = attacker_on(room, &a_addr, cluster.nodes[0].peer_id).await;
    let before = metrics_of(&cluster, 0).await;
    let rejected = "causerie_peer_events_rejected_total";
    let delta = |after: &str, name: &str, reason: Option<&str>| match reason {
        Some(reason) => rise(&before, after, name, &[reason]),
        None => metric(after, name).unwrap_or(0) - metric(&before, name).unwrap_or(0),
    };

    // Each phase: the message published, what A must then count (metric, reason, at least), the
    // failure's words, and how many attestations A must have fetched by then.
    let attestation_wait = [
        (rejected, Some("auth_failed_own"), 1),
        ("causerie_gossip_rejected_total", None, 1),
    ];
    let parent_wait = [
        (rejected, Some("auth_failed_own"), 2),
        (rejected, Some("rejected_reference"), 1),
    ];
    let phases = [
        (
            &waiting,
            "A rejects the message that waited for its attestation",
            attestation_wait,
            "rejection after the attestation wait counted as a gossip Reject",
            1,
        ),
        (
            &child,
            "A rejects the message that waited for its parent",
            parent_wait,
            "rejection after the parent wait counted",
            0,
        ),
    ];
    for (published, what, wanted, failure, attestations_served) in phases {
        publish_all(
            &mut swarm,
            &mut seen,
            &serving,
            room,
            &[published.as_bytes().to_vec()],
        )
        .await;
        let counted = drive_until(&mut swarm, &mut seen, &serving, what, || async {
            let after = metrics_of(&cluster, 0).await;
            wanted
                .iter()
                .all(|(name, reason, least)| delta(&after, name, *reason) >= *least)
        })
        .await;
        assert!(
            counted,
            "{failure}: {seen:?}\n{}",
            metrics_of(&cluster, 0).await
        );
        assert!(
            seen.attestations_served >= attestations_served,
            "A fetched the attestation"
        );
    }
    stored_nowhere(&cluster, vec![waiting.id(), parent.id(), child.id()]).await;
    cluster.shutdown().await;
}

/// Events Mallet floods A with in the held-event flood.
const FLOOD_EVENTS: usize = 3_000;
/// Messages the newcomer posts during the flood.
const NEWCOMER_MESSAGES: usize = 10;

/// Held-event exhaustion (specs/rooms.md §8, specs/federation.md §2): Mallet floods A with
/// events that verify but can never be judged: each signed by a throwaway key and naming an
/// attestation nobody has, half of them also naming a parent nobody has. Meanwhile Dave, a new
/// user homed on C, joins and posts; A must take his events (held a moment for his attestation,
/// which only C has) as B and C do. A holds at most `MAX_HELD_PER_SOURCE` of Mallet's events and
/// refuses the rest, asks Mallet for a bounded number of attestations (never one per event), and
/// bans Mallet when it cannot produce them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_event_flood_does_not_lock_out_newcomers() {
    let (cluster, alice) = cluster_and_alice(3).await;
    let room = cluster.create_shared_room(&alice).await.expect("room");
    let mut expected: BTreeSet<_> = cluster.views(room).await.expect("views")[0].events.clone();
    cluster
        .wait_converged(room, &expected, DEFAULT_TIMEOUT)
        .await
        .expect("converged");
    let at = Position::of(&cluster, 0, room).await;
    let flood: Vec<Vec<u8>> = (0..FLOOD_EVENTS)
        .map(|i| {
            let throwaway = UserSecret::generate().expect("key");
            let n = (i as u64).to_be_bytes();
            let attestation = AttestationId(Hash32::digest(&[b"nobody has this attestation", &n]));
            let (prev, depth) = if i % 2 == 0 {
                (at.tips.clone(), at.depth)
            } else {
                let parent = EventId(Hash32::digest(&[b"nobody has this parent", &n]));
                (vec![parent], at.depth + 1)
            };
            at.message(room, &throwaway, attestation, prev, depth, "flood")
                .as_bytes()
                .to_vec()
        })
        .collect();
    let a_addr = cluster.nodes[0].addresses().await.expect("addr")[0].clone();
    let a_peer = cluster.nodes[0].peer_id;
    let before = metrics_of(&cluster, 0).await;
    let (mut swarm, mut seen) = attacker_on(room, &a_addr, a_peer).await;
    // Mallet cannot produce the attestations its events name.
    let serving = Serving {
        deny_attestations: true,
        ..Serving::default()
    };
    publish_all(&mut swarm, &mut seen, &serving, room, &flood).await;
    let a = cluster.node(0);
    let held = || async {
        a.summary(room)
            .await
            .ok()
            .flatten()
            .map_or(0, |summary| summary.held)
    };
    assert!(
        drive_until(
            &mut swarm,
            &mut seen,
            &serving,
            "A holds flood events",
            || async { held().await > 0 }
        )
        .await,
        "the flood reached A: {seen:?}"
    );

    // Dave joins through C and posts while A works through the flood.
    let dave = cluster.user(2, "dave").await.expect("user");
    let newcomer = async {
        let mut ids = vec![cluster.join(&dave, room).await.expect("join").id()];
        for n in 0..NEWCOMER_MESSAGES {
            let event = cluster
                .message(&dave, room, &format!("hello {n}"))
                .await
                .expect("msg");
            ids.push(event.id());
        }
        ids
    };
    let attack = async {
        let banned = drive_until_cut(&mut swarm, &mut seen, &serving, a_peer).await;
        (banned, seen)
    };
    let (ids, (banned, seen)) = tokio::join!(newcomer, attack);
    assert!(banned, "A disconnects Mallet: {seen:?}");
    expected.extend(ids);
    cluster
        .wait_accepted(room, &expected, DEFAULT_TIMEOUT)
        .await
        .expect("Dave's events accepted on every node");

    // Held events stayed within their limits, the excess was refused, and fetches were few.
    let still_held = held().await;
    assert!(
        (1..=causerie_room::MAX_HELD_PER_SOURCE).contains(&still_held),
        "A holds {still_held} flood events"
    );
    let after = metrics_of(&cluster, 0).await;
    let refused = "causerie_events_refused_total";
    let over_cap = rise(&before, &after, refused, &["too_many_held_from_source"]);
    assert!(over_cap > 0, "A refuses Mallet's excess:\n{after}");
    assert!(
        seen.attestation_requests <= 2 * HELD_FETCH_BURST_PER_PEER as usize,
        "A asked Mallet for {} attestations",
        seen.attestation_requests
    );
    assert!(banned_since(&before, &after), "A banned Mallet:\n{after}");
    cluster.shutdown().await;
}
