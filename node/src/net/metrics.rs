//! Federation counters (specs/federation.md, "Metrics"). Plain atomics, shared between the swarm
//! actor, its tasks and whoever renders `/metrics`; counts by reason are [`ReasonCounts`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::counters::{ReasonCounts, render_reasons};

/// The network's counters. Every field only ever grows, except `peers_connected`,
/// `reachability` and `relay_reservations`.
#[derive(Debug, Default)]
pub struct NetMetrics {
    /// Peers with at least one open connection now.
    pub peers_connected: AtomicU64,
    /// Gossip messages received (before validation).
    pub gossip_received: AtomicU64,
    /// Gossip messages accepted and relayed.
    pub gossip_accepted: AtomicU64,
    /// Gossip messages rejected (invalid: the sender is penalised).
    pub gossip_rejected: AtomicU64,
    /// Gossip messages ignored (duplicates, held, refused, soft-failed).
    pub gossip_ignored: AtomicU64,
    /// Events this node published on gossip.
    pub gossip_published: AtomicU64,
    /// Inbound requests answered successfully.
    pub requests_served: AtomicU64,
    /// Outbound requests sent.
    pub requests_sent: AtomicU64,
    /// Events fetched by pulls (GetEvents, Backfill, Since) and verified.
    pub backfill_events_fetched: AtomicU64,
    /// Catch-up rounds completed.
    pub catchups_completed: AtomicU64,
    /// Peers disconnected and banned for misbehaviour.
    pub peers_banned: AtomicU64,
    /// Fetches that held events asked for but the fetch budget refused (they wait for the next
    /// catch-up).
    pub held_fetches_limited: AtomicU64,
    /// Gossip messages ignored because their peer was over its rate limit.
    pub gossip_rate_limited: AtomicU64,
    /// AutoNAT's verdict now, as [`Reachable::code`](super::Reachable::code).
    pub reachability: AtomicU64,
    /// Relays holding a reservation for this node now.
    pub relay_reservations: AtomicU64,
    /// Reservations relays granted this node (renewals included).
    pub relay_reservations_accepted: AtomicU64,
    /// Circuits this node opened through a relay (it dialled a node behind one).
    pub relay_circuits_outbound: AtomicU64,
    /// Circuits other nodes opened to this node through its relays.
    pub relay_circuits_inbound: AtomicU64,
    /// Reservations this node granted as a relay server.
    pub relay_served_reservations: AtomicU64,
    /// Circuits this node carried as a relay server.
    pub relay_served_circuits: AtomicU64,
    /// Relayed connections upgraded to direct ones by hole punching (DCUtR).
    pub hole_punch_succeeded: AtomicU64,
    /// Hole punches that failed, by reason: `attempts_exceeded` (the direct dials failed),
    /// `inbound_stream`, `outbound_stream` (the DCUtR exchange over the relay failed).
    hole_punch_failed: ReasonCounts,
    /// Reservations and circuits this node refused as a relay server, by what:
    /// `reservation`, `circuit`.
    relay_served_denied: ReasonCounts,
    /// Inbound requests failed, by reason.
    requests_failed: ReasonCounts,
    /// Events from peers (gossip or pulls) that failed verification or auth, by reason, whether
    /// at once or after waiting as held events.
    events_rejected: ReasonCounts,
    /// Outbound requests that failed, by reason.
    outbound_failed: ReasonCounts,
    /// What was refused because the peer is a denied node (`federation_denied`), by what:
    /// `connection_in`, `connection_out`, `dial`, `request_in`, `request_out`, `gossip`.
    federation_denied: ReasonCounts,
}

/// A point-in-time copy of [`NetMetrics`] for rendering.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetMetricsSnapshot {
    /// See [`NetMetrics::peers_connected`].
    pub peers_connected: u64,
    /// See [`NetMetrics::gossip_received`].
    pub gossip_received: u64,
    /// See [`NetMetrics::gossip_accepted`].
    pub gossip_accepted: u64,
    /// See [`NetMetrics::gossip_rejected`].
    pub gossip_rejected: u64,
    /// See [`NetMetrics::gossip_ignored`].
    pub gossip_ignored: u64,
    /// See [`NetMetrics::gossip_published`].
    pub gossip_published: u64,
    /// See [`NetMetrics::requests_served`].
    pub requests_served: u64,
    /// See [`NetMetrics::requests_sent`].
    pub requests_sent: u64,
    /// See [`NetMetrics::backfill_events_fetched`].
    pub backfill_events_fetched: u64,
    /// See [`NetMetrics::catchups_completed`].
    pub catchups_completed: u64,
    /// See [`NetMetrics::peers_banned`].
    pub peers_banned: u64,
    /// See [`NetMetrics::held_fetches_limited`].
    pub held_fetches_limited: u64,
    /// See [`NetMetrics::gossip_rate_limited`].
    pub gossip_rate_limited: u64,
    /// See [`NetMetrics::reachability`].
    pub reachability: super::Reachable,
    /// See [`NetMetrics::relay_reservations`].
    pub relay_reservations: u64,
    /// See [`NetMetrics::relay_reservations_accepted`].
    pub relay_reservations_accepted: u64,
    /// See [`NetMetrics::relay_circuits_outbound`].
    pub relay_circuits_outbound: u64,
    /// See [`NetMetrics::relay_circuits_inbound`].
    pub relay_circuits_inbound: u64,
    /// See [`NetMetrics::relay_served_reservations`].
    pub relay_served_reservations: u64,
    /// See [`NetMetrics::relay_served_circuits`].
    pub relay_served_circuits: u64,
    /// See [`NetMetrics::hole_punch_succeeded`].
    pub hole_punch_succeeded: u64,
    /// Hole punches failed, by reason.
    pub hole_punch_failed: BTreeMap<&'static str, u64>,
    /// Refusals as a relay server, by what was refused.
    pub relay_served_denied: BTreeMap<&'static str, u64>,
    /// Inbound requests failed, by reason name.
    pub requests_failed: BTreeMap<&'static str, u64>,
    /// Events from peers rejected, by reason name.
    pub events_rejected: BTreeMap<&'static str, u64>,
    /// Outbound requests failed, by reason name.
    pub outbound_failed: BTreeMap<&'static str, u64>,
    /// Refusals of denied nodes, by what was refused.
    pub federation_denied: BTreeMap<&'static str, u64>,
}

impl NetMetrics {
    /// Adds one to a plain counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n` to a plain counter.
    pub fn inc_by(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts an inbound request that failed.
    pub fn request_failed(&self, reason: &'static str) {
        self.requests_failed.increment(reason);
    }

    /// Counts an event from a peer that was rejected.
    pub fn event_rejected(&self, reason: &'static str) {
        self.events_rejected.increment(reason);
    }

    /// Counts an outbound request that failed.
    pub fn outbound_failed(&self, reason: &'static str) {
        self.outbound_failed.increment(reason);
    }

    /// Counts something refused because its peer is a denied node.
    pub fn federation_denied(&self, what: &'static str) {
        self.federation_denied.increment(what);
    }

    /// Counts a hole punch that failed.
    pub fn hole_punch_failed(&self, reason: &'static str) {
        self.hole_punch_failed.increment(reason);
    }

    /// Counts a reservation or circuit refused as a relay server.
    pub fn relay_served_denied(&self, what: &'static str) {
        self.relay_served_denied.increment(what);
    }

    /// Copies every counter.
    pub fn snapshot(&self) -> NetMetricsSnapshot {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        NetMetricsSnapshot {
            peers_connected: load(&self.peers_connected),
            gossip_received: load(&self.gossip_received),
            gossip_accepted: load(&self.gossip_accepted),
            gossip_rejected: load(&self.gossip_rejected),
            gossip_ignored: load(&self.gossip_ignored),
            gossip_published: load(&self.gossip_published),
            requests_served: load(&self.requests_served),
            requests_sent: load(&self.requests_sent),
            backfill_events_fetched: load(&self.backfill_events_fetched),
            catchups_completed: load(&self.catchups_completed),
            peers_banned: load(&self.peers_banned),
            held_fetches_limited: load(&self.held_fetches_limited),
            gossip_rate_limited: load(&self.gossip_rate_limited),
            reachability: super::Reachable::from_code(load(&self.reachability)),
            relay_reservations: load(&self.relay_reservations),
            relay_reservations_accepted: load(&self.relay_reservations_accepted),
            relay_circuits_outbound: load(&self.relay_circuits_outbound),
            relay_circuits_inbound: load(&self.relay_circuits_inbound),
            relay_served_reservations: load(&self.relay_served_reservations),
            relay_served_circuits: load(&self.relay_served_circuits),
            hole_punch_succeeded: load(&self.hole_punch_succeeded),
            hole_punch_failed: self.hole_punch_failed.snapshot(),
            relay_served_denied: self.relay_served_denied.snapshot(),
            requests_failed: self.requests_failed.snapshot(),
            events_rejected: self.events_rejected.snapshot(),
            outbound_failed: self.outbound_failed.snapshot(),
            federation_denied: self.federation_denied.snapshot(),
        }
    }
}

impl NetMetricsSnapshot {
    /// Renders the reachability, relay and hole-punch series in the Prometheus text format
    /// (`causerie_reachability{status}` is 1 for the current verdict, 0 for the others).
    pub fn render_reach(&self, out: &mut String) {
        use std::fmt::Write as _;
        let name = "causerie_reachability";
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "# HELP {name} AutoNAT's verdict on this node (1 for the current one).\n# TYPE {name} gauge"
        );
        for status in super::Reachable::ALL {
            let value = u64::from(status == self.reachability);
            let _ = writeln!(out, "{name}{{status=\"{}\"}} {value}", status.name());
        }
        let _ = writeln!(
            out,
            "# HELP causerie_relay_reservations Relays holding a reservation for this node.\n\
             # TYPE causerie_relay_reservations gauge\ncauserie_relay_reservations {}",
            self.relay_reservations
        );
        let counters: [(&str, &str, u64); 6] = [
            (
                "causerie_relay_reservations_accepted_total",
                "Reservations relays granted this node (renewals included).",
                self.relay_reservations_accepted,
            ),
            (
                "causerie_relay_circuits_outbound_total",
                "Circuits this node opened through a relay.",
                self.relay_circuits_outbound,
            ),
            (
                "causerie_relay_circuits_inbound_total",
                "Circuits other nodes opened to this node through its relays.",
                self.relay_circuits_inbound,
            ),
            (
                "causerie_relay_served_reservations_total",
                "Reservations this node granted as a relay server.",
                self.relay_served_reservations,
            ),
            (
                "causerie_relay_served_circuits_total",
                "Circuits this node carried as a relay server.",
                self.relay_served_circuits,
            ),
            (
                "causerie_hole_punch_succeeded_total",
                "Relayed connections upgraded to direct ones by hole punching.",
                self.hole_punch_succeeded,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        render_reasons(
            out,
            "causerie_hole_punch_failed_total",
            "Hole punches that failed, by reason.",
            &self.hole_punch_failed,
        );
        render_reasons(
            out,
            "causerie_relay_served_denied_total",
            "Reservations and circuits refused as a relay server, by what.",
            &self.relay_served_denied,
        );
    }
}
