//! Federation counters (specs/federation.md, "Metrics"). Plain atomics, shared between the swarm
//! actor, its tasks and whoever renders `/metrics`; counts by reason are [`ReasonCounts`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::counters::ReasonCounts;

/// The network's counters. Every field only ever grows, except `peers_connected`.
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
            requests_failed: self.requests_failed.snapshot(),
            events_rejected: self.events_rejected.snapshot(),
            outbound_failed: self.outbound_failed.snapshot(),
            federation_denied: self.federation_denied.snapshot(),
        }
    }
}
