//! Scenario 5 (issue 4; specs/federation.md "Validation" and "Misbehaviour"): hostile peers.
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

use std::collections::BTreeSet;
use std::io;
use std::time::Duration;

use causerie_crypto::event::kinds;
use causerie_crypto::{
    Assurance, AttestationDraft, Content, Event, EventDraft, EventId, Hash32, NodeSecret, RoomId,
    UserSecret,
};
use causerie_node::net::codec::{read_frame, write_frame};
use causerie_node::net::wire::{
    self, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, PROTOCOL, Request, Response,
};
use causerie_room::prepare_create;
use causerie_tests::cluster::{
    Cluster, DEFAULT_TIMEOUT, http_get, init_logs, metric, now_ms, text_content, wait_until,
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
    responses: usize,
    failures: usize,
    attestations_served: usize,
}

/// Drives the attacker's swarm until `done` holds or `timeout` passes, answering attestation
/// requests with `attestation` (so the node can judge the non-member's event) and everything
/// else with an error.
async fn drive(
    swarm: &mut Swarm<Attack>,
    seen: &mut Seen,
    attestation: Option<&[u8]>,
    timeout: Duration,
    done: impl Fn(&Seen) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while !done(seen) {
        let event = match tokio::time::timeout_at(deadline, swarm.select_next_some()).await {
            Ok(event) => event,
            Err(_) => return false,
        };
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
                let response = match (wire::decode_request(&request), attestation) {
                    (Ok(Request::GetAttestation { .. }), Some(bytes)) => {
                        seen.attestations_served += 1;
                        Response::Attestation {
                            attestation: Some(serde_bytes::ByteBuf::from(bytes.to_vec())),
                        }
                    }
                    _ => Response::Error {
                        reason: wire::ErrorReason::UnknownRoom,
                    },
                };
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peers_are_rejected_and_banned() {
    init_logs();
    let cluster = Cluster::start(2).await.expect("cluster starts");
    let alice = cluster.user(0, "alice").await.expect("user");
    let bob = cluster.user(1, "bob").await.expect("user");
    let room = cluster.create_room(&alice).await.expect("room");
    cluster.join_room(1, room, 0).await.expect("B joins");
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
    let attestation = AttestationDraft {
        user: mallory.public(),
        handle: "mallory".into(),
        assurance: Assurance::Contact,
        not_before: now - 60_000,
        not_after: now + 86_400_000,
    }
    .sign(&mallet_node)
    .expect("attestation");
    let other_room = prepare_create(mallory.public(), Content::new(), now, attestation.id())
        .sign(&mallory)
        .expect("create");
    let honest_probe = cluster.message(&alice, room, "probe").await.expect("msg");
    expected.insert(honest_probe.id());
    let tips = cluster.node(0).tips(room).await.expect("tips");
    let state = cluster
        .node(0)
        .room_state(room)
        .await
        .expect("state")
        .expect("room");
    let create = state
        .state
        .iter()
        .find(|e| e.kind() == kinds::CREATE)
        .expect("create")
        .id();
    let levels = state
        .state
        .iter()
        .find(|e| e.kind() == kinds::POWER_LEVELS)
        .expect("levels")
        .id();
    let depth = state
        .state
        .iter()
        .chain([&honest_probe])
        .map(Event::depth)
        .max()
        .unwrap_or(0)
        + 1;
    let intruder = EventDraft {
        room: Some(room),
        author: mallory.public(),
        kind: kinds::MESSAGE.into(),
        state_key: None,
        content: text_content("let me in"),
        prev_events: tips,
        auth_events: vec![create, levels],
        depth,
        origin_ts: now_ms(),
        attestation: attestation.id(),
    }
    .sign(&mallory)
    .expect("sign");
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
            ids.push(
                cluster
                    .message(&alice, room, &format!("a{n}"))
                    .await
                    .expect("msg")
                    .id(),
            );
            ids.push(
                cluster
                    .message(&bob, room, &format!("b{n}"))
                    .await
                    .expect("msg")
                    .id(),
            );
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
        let att = attestation.as_bytes().to_vec();
        let up = drive(&mut swarm, &mut seen, Some(&att), DEFAULT_TIMEOUT, |s| {
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
        let banned = drive(&mut swarm, &mut seen, Some(&att), DEFAULT_TIMEOUT, |s| {
            !s.connected.contains(&a_peer) && s.closed > 0
        })
        .await;
        assert!(banned, "A disconnects Mallet: {seen:?}");
        // Coming back does not work: A closes any new connection from the banned peer at once
        // (the dial itself may complete before A's block list refuses the connection).
        let closed_before = seen.closed;
        let _ = swarm.dial(a_addr.clone());
        let _ = drive(
            &mut swarm,
            &mut seen,
            Some(&att),
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
        let mut swarm = attacker();
        let flood = *swarm.local_peer_id();
        let mut seen = Seen::default();
        swarm.dial(b_addr.clone()).expect("dial");
        assert!(
            drive(&mut swarm, &mut seen, None, DEFAULT_TIMEOUT, |s| s
                .connected
                .contains(&b_peer))
            .await,
            "Flood connects to B"
        );
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
        let answered = drive(&mut swarm, &mut seen, None, DEFAULT_TIMEOUT, |s| {
            s.responses + s.failures >= FLOOD_REQUESTS
        })
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
        let delta = sum_reasons(&after_a, rejected, &[reason])
            - sum_reasons(&before_a, rejected, &[reason]);
        assert!(delta >= 1, "A counts {reason}:\n{after_a}");
    }
    let oversize_reasons = ["too_large", "event_too_large"];
    assert!(
        sum_reasons(&after_a, rejected, &oversize_reasons)
            > sum_reasons(&before_a, rejected, &oversize_reasons),
        "A counts the oversized event:\n{after_a}"
    );
    let banned = "causerie_peers_banned_total";
    assert!(
        metric(&after_a, banned) > metric(&before_a, banned),
        "A banned Mallet"
    );
    let failed = "causerie_requests_failed_total";
    // Each flood request was refused for a counted reason, answered with nothing, or never got
    // a stream (the connection's stream cap): none slowed the honest traffic.
    for reason in ["unknown_room", "busy"] {
        assert!(
            sum_reasons(&after_b, failed, &[reason]) > sum_reasons(&before_b, failed, &[reason]),
            "B counts {reason} refusals:\n{after_b}"
        );
    }
    // Mallet sees the connection close before A's swarm has processed its own close event.
    let net_a = &cluster.nodes[0].running().net;
    wait_until(DEFAULT_TIMEOUT, "A forgets Mallet", || async {
        net_a
            .connected_peers()
            .await
            .is_ok_and(|peers| !peers.contains(&mallet))
    })
    .await
    .expect("Mallet still connected to A");

    // Honest traffic went through, and nothing from the attackers is stored anywhere.
    let view = cluster
        .wait_converged(room, &expected, DEFAULT_TIMEOUT)
        .await
        .expect("converged");
    assert_eq!(view.events, expected, "exactly the honest events");
    for index in 0..2 {
        let found = cluster
            .node(index)
            .events(hostile_ids.to_vec())
            .await
            .expect("lookup");
        assert!(found.is_empty(), "node{index} stored a hostile event");
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
    init_logs();
    let cluster = Cluster::start(2).await.expect("cluster starts");
    let alice = cluster.user(0, "alice").await.expect("user");
    let room = cluster.create_room(&alice).await.expect("room");
    let b_addr: Multiaddr = cluster.nodes[1].addresses().await.expect("addr")[0].clone();
    let b_peer = cluster.nodes[1].peer_id;
    let before = metrics_of(&cluster, 1).await;
    let mut swarm = attacker();
    let flood = *swarm.local_peer_id();
    let mut seen = Seen::default();
    swarm.dial(b_addr).expect("dial");
    assert!(
        drive(&mut swarm, &mut seen, None, DEFAULT_TIMEOUT, |s| s
            .connected
            .contains(&b_peer))
        .await,
        "Flood connects to B"
    );
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
    let cut = drive(&mut swarm, &mut seen, None, DEFAULT_TIMEOUT, |s| {
        !s.connected.contains(&b_peer) && s.closed > 0
    })
    .await;
    assert!(cut, "B disconnects Flood: {seen:?}");
    let after = metrics_of(&cluster, 1).await;
    let failed = "causerie_requests_failed_total";
    let reasons = ["malformed", "bad_limit"];
    assert!(
        sum_reasons(&after, failed, &reasons) >= sum_reasons(&before, failed, &reasons) + 16,
        "B counts the garbage:\n{after}"
    );
    let banned = "causerie_peers_banned_total";
    assert!(
        metric(&after, banned) > metric(&before, banned),
        "B banned Flood"
    );
    // Flood sees the connection close before B's swarm has processed its own close event.
    let net = &cluster.nodes[1].running().net;
    wait_until(DEFAULT_TIMEOUT, "B forgets Flood", || async {
        net.connected_peers()
            .await
            .is_ok_and(|peers| !peers.contains(&flood))
    })
    .await
    .expect("Flood still connected");
    cluster.shutdown().await;
}
