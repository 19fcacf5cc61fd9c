//! The actor's addresses and NAT traversal: the addresses it listens on and puts in invite
//! links, its reachability, relay reservations, AutoNAT and hole punching (DCUtR), and why a
//! listen failed. A child of `actor` so that it works on the actor's state in place.

use std::collections::BTreeSet;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, autonat, dcutr, relay};
use tracing::{debug, info};

use super::Actor;
use crate::net::NetError;
use crate::net::invite::{self, is_relayed, peer_of};
use crate::net::metrics::NetMetrics;
use crate::net::reach::{Reachability, Reachable};

impl Actor {
    pub(super) fn listen_addrs(&self) -> Vec<Multiaddr> {
        let own = self.handle.peer_id;
        self.swarm
            .listeners()
            .cloned()
            .chain(self.swarm.external_addresses().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|a| a.with_p2p(own).unwrap_or_else(|a| a))
            .collect()
    }

    /// The addresses invite links carry ([`invite::invite_addresses`]).
    pub(super) fn invite_addrs(&self) -> Vec<Multiaddr> {
        let confirmed: Vec<Multiaddr> = self
            .swarm
            .external_addresses()
            .filter(|a| !is_relayed(a) && !self.reach.external.contains(a))
            .cloned()
            .collect();
        let external: Vec<Multiaddr> = self
            .reach
            .external
            .iter()
            .chain(&confirmed)
            .cloned()
            .collect();
        let circuits: Vec<Multiaddr> = self
            .swarm
            .listeners()
            .filter(|a| is_relayed(a))
            .cloned()
            .collect();
        let listen: Vec<Multiaddr> = self
            .swarm
            .listeners()
            .filter(|a| !is_relayed(a))
            .cloned()
            .collect();
        invite::invite_addresses(
            self.handle.peer_id,
            &external,
            self.reach.dns_name.as_deref(),
            &circuits,
            &listen,
        )
    }

    pub(super) fn reachability(&self) -> Reachability {
        let own = self.handle.peer_id;
        let mut direct = BTreeSet::new();
        let mut relayed = BTreeSet::new();
        for (peer, through_relay) in self.reach.connections.values() {
            if *through_relay {
                relayed.insert(*peer);
            } else {
                direct.insert(*peer);
            }
        }
        Reachability {
            status: self.reach.status,
            external_addrs: self.swarm.external_addresses().cloned().collect(),
            relay_circuits: self
                .swarm
                .listeners()
                .filter(|a| is_relayed(a))
                .map(|a| a.clone().with_p2p(own).unwrap_or_else(|a| a))
                .collect(),
            relayed_peers: relayed.difference(&direct).copied().collect(),
        }
    }

    /// Opens a relay listener (which makes a reservation) on every connected configured relay
    /// that has none, and dials the others, unless AutoNAT says the node is public. Called at
    /// start, on every tick and when a relay connects, so a reservation lost with its relay
    /// connection is made again.
    pub(super) fn reserve_relays(&mut self) {
        if self.reach.status == Reachable::Public {
            return;
        }
        for relay in self.reach.relays.clone() {
            let Some(relay_peer) = peer_of(&relay) else {
                continue;
            };
            if self.reach.listeners.iter().any(|(_, p)| *p == relay_peer)
                || self.blocked.contains_key(&relay_peer)
                || self.refuse_denied(Some(relay_peer), "dial")
            {
                continue;
            }
            self.remember(&relay);
            if !self.connected.contains(&relay_peer) {
                // The relay client would dial it too, and its dial is refused while another
                // is under way: connect first, reserve once connected (or on the next tick).
                let _ = self.dial_from_listen_port(relay.into());
                continue;
            }
            match self
                .swarm
                .listen_on(relay.clone().with(Protocol::P2pCircuit))
            {
                Ok(id) => self.reach.listeners.push((id, relay_peer)),
                Err(e) => debug!(%relay, error = %e, "relay reservation not started"),
            }
        }
    }

    /// Closes the relay listeners (their reservations lapse): the node is publicly reachable.
    pub(super) fn release_relays(&mut self) {
        for (id, relay) in std::mem::take(&mut self.reach.listeners) {
            self.swarm.remove_listener(id);
            self.reach.reserved.remove(&relay);
        }
        self.count_reservations();
    }

    pub(super) fn count_reservations(&self) {
        self.metrics.relay_reservations.store(
            self.reach.reserved.len() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    pub(super) fn on_autonat(&mut self, event: autonat::Event) {
        let autonat::Event::StatusChanged { new, .. } = event else {
            return;
        };
        let status = match new {
            autonat::NatStatus::Public(_) => Reachable::Public,
            autonat::NatStatus::Private => Reachable::Private,
            autonat::NatStatus::Unknown => Reachable::Unknown,
        };
        info!(reachability = status.name(), "reachability changed");
        self.reach.status = status;
        self.metrics
            .reachability
            .store(status.code(), std::sync::atomic::Ordering::Relaxed);
        if status == Reachable::Public {
            self.release_relays();
        } else {
            self.reserve_relays();
        }
    }

    pub(super) fn on_relay_client(&mut self, event: relay::client::Event) {
        match event {
            relay::client::Event::ReservationReqAccepted { relay_peer_id, .. } => {
                NetMetrics::inc(&self.metrics.relay_reservations_accepted);
                if self.reach.reserved.insert(relay_peer_id) {
                    info!(relay = %relay_peer_id, "relay reservation accepted");
                }
                self.count_reservations();
            }
            relay::client::Event::OutboundCircuitEstablished { .. } => {
                NetMetrics::inc(&self.metrics.relay_circuits_outbound);
            }
            relay::client::Event::InboundCircuitEstablished { src_peer_id, .. } => {
                debug!(peer = %src_peer_id, "inbound relay circuit");
                NetMetrics::inc(&self.metrics.relay_circuits_inbound);
            }
        }
    }

    pub(super) fn on_relay_server(&mut self, event: relay::Event) {
        match event {
            relay::Event::ReservationReqAccepted { .. } => {
                NetMetrics::inc(&self.metrics.relay_served_reservations);
            }
            relay::Event::CircuitReqAccepted { .. } => {
                NetMetrics::inc(&self.metrics.relay_served_circuits);
            }
            relay::Event::ReservationReqDenied { .. } => {
                self.metrics.relay_served_denied("reservation");
            }
            relay::Event::CircuitReqDenied { .. } => {
                self.metrics.relay_served_denied("circuit");
            }
            _ => {}
        }
    }

    pub(super) fn on_dcutr(&mut self, event: dcutr::Event) {
        match event.result {
            Ok(_) => {
                info!(peer = %event.remote_peer_id, "hole punch succeeded");
                NetMetrics::inc(&self.metrics.hole_punch_succeeded);
            }
            Err(error) => {
                // libp2p's error kinds are private; its message names the kind.
                let text = error.to_string();
                let reason = if text.contains("dial attempts") {
                    "attempts_exceeded"
                } else if text.contains("Inbound") {
                    "inbound_stream"
                } else if text.contains("Outbound") {
                    "outbound_stream"
                } else {
                    "other"
                };
                debug!(peer = %event.remote_peer_id, reason, error = %text, "hole punch failed");
                self.metrics.hole_punch_failed(reason);
            }
        }
    }
}

/// Why listening on `address` failed, with the cause spelled out: libp2p's transport error
/// prints nothing itself, and its IO cause may be wrapped in further IO errors and in upgrade
/// types that do not expose it as a source.
pub(super) fn listen_error(
    address: &Multiaddr,
    error: &(dyn std::error::Error + 'static),
) -> NetError {
    if address_in_use(address) {
        return NetError::ListenAddressInUse(address.to_string());
    }
    /// How deep a chain of causes is followed.
    const MAX_CAUSES: usize = 8;
    let mut causes: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(cause) = next.take() {
        if causes.len() == MAX_CAUSES {
            break;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::AddrInUse {
                return NetError::ListenAddressInUse(address.to_string());
            }
            // A custom IO error hides its inner error from `source`.
            if let Some(inner) = io.get_ref() {
                next = Some(inner);
                continue;
            }
        }
        let text = cause.to_string();
        if !text.is_empty() && !causes.last().is_some_and(|last| last.ends_with(&text)) {
            causes.push(text);
        }
        next = cause.source();
    }
    NetError::Transport(format!("listen on {address}: {}", causes.join(": ")))
}

/// Whether another socket holds `address` (a TCP address), found by binding it the way the
/// transport does. Only asked after listening failed, to name the cause.
fn address_in_use(address: &Multiaddr) -> bool {
    let mut parts = address.iter();
    let ip: std::net::IpAddr = match parts.next() {
        Some(Protocol::Ip4(ip)) => ip.into(),
        Some(Protocol::Ip6(ip)) => ip.into(),
        _ => return false,
    };
    let Some(Protocol::Tcp(port)) = parts.next() else {
        return false;
    };
    if port == 0 {
        return false;
    }
    matches!(
        std::net::TcpListener::bind((ip, port)),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse
    )
}
