//! Node information for scripts and operators, and Prometheus metrics.
//!
//! - `GET /api/v1/node`: `{node_key, peer_id, listen_addrs, connected_peers, rooms,
//!   reachability, external_addrs, relay_circuits, relayed_peers}`.
//! - `GET /metrics`: Prometheus text format (receive path, federation, client API, store size).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::ApiState;
use super::error::{ApiError, Reason};
use crate::counters::render_reasons;

pub(super) async fn node_info(State(state): State<ApiState>) -> Response {
    let listen = match state.net.listen_addrs().await {
        Ok(addrs) => addrs,
        Err(e) => {
            return ApiError::new(Reason::Network(e.reason()), e.to_string()).into_response();
        }
    };
    let peers = state.net.connected_peers().await.unwrap_or_default();
    let reach = state.net.reachability().await.unwrap_or_default();
    let rooms = state.node.rooms().await.unwrap_or_default();
    let peer_id = state.net.peer_id();
    Json(json!({
        "node_key": state.node.key().to_string(),
        "peer_id": peer_id.to_string(),
        "listen_addrs": listen.iter().map(|a| with_peer_id(a, &peer_id)).collect::<Vec<_>>(),
        "connected_peers": peers.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "rooms": rooms.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "reachability": reach.status.name(),
        "external_addrs": reach.external_addrs.iter().map(|a| with_peer_id(a, &peer_id)).collect::<Vec<_>>(),
        "relay_circuits": reach.relay_circuits.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "relayed_peers": reach.relayed_peers.iter().map(ToString::to_string).collect::<Vec<_>>(),
    }))
    .into_response()
}

/// The address with `/p2p/<peer id>` at the end (once).
pub fn with_peer_id(addr: &libp2p::Multiaddr, peer_id: &libp2p::PeerId) -> String {
    if matches!(
        addr.iter().last(),
        Some(libp2p::multiaddr::Protocol::P2p(_))
    ) {
        addr.to_string()
    } else {
        format!("{addr}/p2p/{peer_id}")
    }
}

pub(super) async fn metrics(State(state): State<ApiState>) -> Response {
    let node = state.node.metrics();
    let net = state.net.metrics().snapshot();
    let mut out = String::new();
    let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    let directory = state.node.directory();
    let counters: [(&str, &str, u64); 22] = [
        (
            "causerie_events_received_total",
            "Events offered to the room engines.",
            load(&node.events_received),
        ),
        (
            "causerie_events_accepted_total",
            "Events accepted and shown.",
            load(&node.events_accepted),
        ),
        (
            "causerie_events_soft_failed_total",
            "Events accepted but soft-failed (hidden, not relayed).",
            load(&node.events_soft_failed),
        ),
        (
            "causerie_events_duplicate_total",
            "Events already known.",
            load(&node.events_duplicate),
        ),
        (
            "causerie_events_held_total",
            "Events held for missing parents or attestations.",
            load(&node.events_held),
        ),
        (
            "causerie_commits_total",
            "Group commits.",
            load(&node.commits),
        ),
        (
            "causerie_record_items_expired_total",
            "Registration-record items the records sweeper removed as their retention ran out.",
            load(&node.record_items_expired),
        ),
        (
            "causerie_gossip_received_total",
            "Gossip messages received.",
            net.gossip_received,
        ),
        (
            "causerie_gossip_accepted_total",
            "Gossip messages accepted.",
            net.gossip_accepted,
        ),
        (
            "causerie_gossip_rejected_total",
            "Gossip messages rejected.",
            net.gossip_rejected,
        ),
        (
            "causerie_gossip_ignored_total",
            "Gossip messages ignored.",
            net.gossip_ignored,
        ),
        (
            "causerie_gossip_published_total",
            "Events published.",
            net.gossip_published,
        ),
        (
            "causerie_requests_served_total",
            "Inbound requests served.",
            net.requests_served,
        ),
        (
            "causerie_requests_sent_total",
            "Outbound requests sent.",
            net.requests_sent,
        ),
        (
            "causerie_backfill_events_total",
            "Events fetched by pulls.",
            net.backfill_events_fetched,
        ),
        (
            "causerie_catchups_total",
            "Catch-up rounds completed.",
            net.catchups_completed,
        ),
        (
            "causerie_api_requests_total",
            "HTTP requests received.",
            load(&state.guard.requests),
        ),
        (
            "causerie_api_bad_forwarded_for_total",
            "Requests through a trusted proxy whose X-Forwarded-For did not parse (counted as from the last trusted hop).",
            load(&state.guard.bad_forwarded),
        ),
        (
            "causerie_peers_banned_total",
            "Peers banned for misbehaviour.",
            net.peers_banned,
        ),
        (
            "causerie_held_fetches_limited_total",
            "Fetches for held events refused by the fetch budget.",
            net.held_fetches_limited,
        ),
        (
            "causerie_directory_accepted_total",
            "Directory announcements of other nodes taken.",
            load(&directory.metrics().accepted),
        ),
        (
            "causerie_directory_announced_total",
            "Directory announcements this node made.",
            load(&directory.metrics().announced),
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    }
    node.rejected.render(
        &mut out,
        "causerie_events_rejected_total",
        "Events rejected, by reason.",
    );
    node.revocations_refused.render(
        &mut out,
        "causerie_revocations_refused_total",
        "Attestation revocation statements refused, by reason.",
    );
    directory.metrics().refused.render(
        &mut out,
        "causerie_directory_refused_total",
        "Directory announcements refused, by reason (name_conflict: a second node claims a host name).",
    );
    let signals = state.node.signals();
    let _ = writeln!(
        out,
        "# HELP causerie_signals_accepted_total Typing and read signals of peers taken.\n\
         # TYPE causerie_signals_accepted_total counter\ncauserie_signals_accepted_total {}\n\
         # HELP causerie_signals_signed_total Typing and read signals this node signed for its users.\n\
         # TYPE causerie_signals_signed_total counter\ncauserie_signals_signed_total {}",
        load(&signals.metrics().accepted),
        load(&signals.metrics().signed),
    );
    signals.metrics().refused.render(
        &mut out,
        "causerie_signals_refused_total",
        "Typing and read signals refused (peers' and clients'), by reason.",
    );
    node.held_ended.render(
        &mut out,
        "causerie_held_ended_total",
        "Held events that stopped being held, by how (accepted, rejected, refused, expired, evicted).",
    );
    state.guard.refused.render(
        &mut out,
        "causerie_api_refused_total",
        "HTTP requests refused, by reason.",
    );
    let mut limited = state.rates.limited.snapshot();
    limited.insert(
        crate::rate_limits::Limit::Peer.name(),
        net.gossip_rate_limited,
    );
    render_reasons(
        &mut out,
        "causerie_rate_limited_total",
        "Events refused by a rate limit, by bucket (user_room, user, joins, invites, peer).",
        &limited,
    );
    node.refused.render(
        &mut out,
        "causerie_events_refused_total",
        "Events refused for now, by reason.",
    );
    render_reasons(
        &mut out,
        "causerie_peer_events_rejected_total",
        "Events from peers failing verification, by reason.",
        &net.events_rejected,
    );
    render_reasons(
        &mut out,
        "causerie_requests_failed_total",
        "Inbound requests failed, by reason.",
        &net.requests_failed,
    );
    render_reasons(
        &mut out,
        "causerie_federation_denied_total",
        "Connections, dials, requests and gossip refused because the peer is a denied node, by what.",
        &net.federation_denied,
    );
    net.render_reach(&mut out);
    if let Some(classifier) = &state.classifier {
        classifier.metrics().render(&mut out);
    }
    let _ = writeln!(
        out,
        "# HELP causerie_peers Connected peers.\n# TYPE causerie_peers gauge\ncauserie_peers {}",
        net.peers_connected
    );
    let _ = writeln!(
        out,
        "# HELP causerie_store_bytes Size of the store on disk.\n# TYPE causerie_store_bytes gauge\ncauserie_store_bytes {}",
        directory_size(&state.store_path)
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// Total size of the files under `path` (bounded walk: the store has few files).
fn directory_size(path: &std::path::Path) -> u64 {
    const MAX_ENTRIES: usize = 10_000;
    let mut total = 0;
    let mut stack = vec![path.to_owned()];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                return total;
            }
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(entry.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}
