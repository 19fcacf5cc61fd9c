//! Limits on the fetches that held events trigger (specs/federation.md §2 and §4).
//!
//! An event held for a missing attestation or missing parents makes the node ask the peer that
//! sent it. Anyone can sign events that name an attestation or parents nobody has, so without a
//! limit one peer's flood would turn into as many requests back. Three things bound it:
//! - a token bucket per peer ([`HELD_FETCHES_PER_PEER_PER_SECOND`], burst
//!   [`HELD_FETCH_BURST_PER_PEER`]) and one for the node ([`HELD_FETCHES_PER_SECOND`], burst
//!   [`HELD_FETCH_BURST`]): a fetch takes a token from both;
//! - coalescing: an attestation already being fetched is not asked for again; the events that
//!   wait for it join the fetch in flight (at most [`MAX_ATTESTATION_FETCHES_IN_FLIGHT`]);
//! - what is not fetched stays held, and the periodic catch-up with that peer asks again.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use causerie_crypto::{AttestationId, EventId};
use libp2p::PeerId;

/// Fetches (an attestation, or a pull of missing parents) one peer's held events may trigger
/// per second, sustained.
pub const HELD_FETCHES_PER_PEER_PER_SECOND: f64 = 4.0;
/// Fetches one peer's held events may trigger at once after a quiet time.
pub const HELD_FETCH_BURST_PER_PEER: f64 = 16.0;
/// Fetches all held events together may trigger per second, sustained.
pub const HELD_FETCHES_PER_SECOND: f64 = 32.0;
/// Fetches all held events together may trigger at once after a quiet time.
pub const HELD_FETCH_BURST: f64 = 64.0;
/// Distinct attestations fetched for held events at once.
pub const MAX_ATTESTATION_FETCHES_IN_FLIGHT: usize = 64;
/// Events that may wait on one attestation fetch in flight; beyond it they wait for the next
/// catch-up.
pub const MAX_WAITERS_PER_FETCH: usize = 256;
/// Peers whose budget is remembered (full buckets are forgotten first: they equal a new one).
const MAX_FETCH_PEERS: usize = 1_024;

/// A token bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(burst: f64, now: Instant) -> Bucket {
        Bucket {
            tokens: burst,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant, rate: f64, burst: f64) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.at = now;
    }
}

/// What [`HeldFetches::start_attestation`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// Fetch it now, then call [`HeldFetches::finish_attestation`].
    Started,
    /// Already being fetched: the event waits for that fetch.
    Joined,
    /// Over a limit: not fetched now.
    Limited,
}

#[derive(Debug, Default)]
struct State {
    node: Option<Bucket>,
    peers: BTreeMap<PeerId, Bucket>,
    /// Attestations being fetched, with the events waiting for each.
    in_flight: BTreeMap<AttestationId, Vec<EventId>>,
}

impl State {
    /// Takes one token from `peer`'s bucket and the node's, or none if either is empty.
    fn take(&mut self, peer: PeerId, now: Instant) -> bool {
        if !self.peers.contains_key(&peer) && self.peers.len() >= MAX_FETCH_PEERS {
            self.peers.retain(|_, bucket| {
                bucket.refill(
                    now,
                    HELD_FETCHES_PER_PEER_PER_SECOND,
                    HELD_FETCH_BURST_PER_PEER,
                );
                bucket.tokens < HELD_FETCH_BURST_PER_PEER
            });
            if self.peers.len() >= MAX_FETCH_PEERS {
                return false;
            }
        }
        let node = self
            .node
            .get_or_insert_with(|| Bucket::full(HELD_FETCH_BURST, now));
        node.refill(now, HELD_FETCHES_PER_SECOND, HELD_FETCH_BURST);
        let own = self
            .peers
            .entry(peer)
            .or_insert_with(|| Bucket::full(HELD_FETCH_BURST_PER_PEER, now));
        own.refill(
            now,
            HELD_FETCHES_PER_PEER_PER_SECOND,
            HELD_FETCH_BURST_PER_PEER,
        );
        if node.tokens < 1.0 || own.tokens < 1.0 {
            return false;
        }
        node.tokens -= 1.0;
        own.tokens -= 1.0;
        true
    }
}

/// The fetch budget of held events, shared by the gossip validator, the swarm actor and
/// catch-ups.
#[derive(Debug, Default)]
pub(crate) struct HeldFetches(Mutex<State>);

impl HeldFetches {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere mid-update; the buckets stay usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether one more fetch for `peer`'s held events may go now (takes a token if so).
    pub(crate) fn allow(&self, peer: PeerId, now: Instant) -> bool {
        self.state().take(peer, now)
    }

    /// Held events from `peer` wait for attestation `id` (`event`, when a gossip verdict waits
    /// for it too): fetch it, join the fetch in flight, or not now.
    pub(crate) fn start_attestation(
        &self,
        peer: PeerId,
        id: AttestationId,
        event: Option<EventId>,
        now: Instant,
    ) -> Start {
        let mut state = self.state();
        if let Some(waiters) = state.in_flight.get_mut(&id) {
            if waiters.len() >= MAX_WAITERS_PER_FETCH {
                return Start::Limited;
            }
            waiters.extend(event);
            return Start::Joined;
        }
        if state.in_flight.len() >= MAX_ATTESTATION_FETCHES_IN_FLIGHT || !state.take(peer, now) {
            return Start::Limited;
        }
        state.in_flight.insert(id, event.into_iter().collect());
        Start::Started
    }

    /// The fetch of attestation `id` ended; returns the events that waited for it.
    pub(crate) fn finish_attestation(&self, id: &AttestationId) -> Vec<EventId> {
        self.state().in_flight.remove(id).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use causerie_crypto::Hash32;

    use super::*;

    fn attestation(n: u8) -> AttestationId {
        AttestationId(Hash32([n; 32]))
    }

    fn event(n: u8) -> EventId {
        EventId(Hash32([n; 32]))
    }

    #[test]
    fn a_peer_gets_its_burst_then_its_rate() {
        let fetches = HeldFetches::default();
        let (peer, other) = (PeerId::random(), PeerId::random());
        let t0 = Instant::now();
        let burst = HELD_FETCH_BURST_PER_PEER as usize;
        assert!((0..burst).all(|_| fetches.allow(peer, t0)));
        assert!(!fetches.allow(peer, t0), "burst spent");
        assert!(fetches.allow(other, t0), "another peer has its own budget");
        let later = t0 + Duration::from_secs_f64(1.0 / HELD_FETCHES_PER_PEER_PER_SECOND);
        assert!(fetches.allow(peer, later), "refilled at the sustained rate");
        assert!(!fetches.allow(peer, later));
    }

    #[test]
    fn the_node_budget_bounds_every_peer_together() {
        let fetches = HeldFetches::default();
        let t0 = Instant::now();
        let allowed = (0..1_000)
            .filter(|_| fetches.allow(PeerId::random(), t0))
            .count();
        assert_eq!(allowed, HELD_FETCH_BURST as usize);
    }

    #[test]
    fn duplicate_attestation_fetches_join_the_one_in_flight() {
        let fetches = HeldFetches::default();
        let peer = PeerId::random();
        let t0 = Instant::now();
        assert_eq!(
            fetches.start_attestation(peer, attestation(1), Some(event(1)), t0),
            Start::Started
        );
        assert_eq!(
            fetches.start_attestation(PeerId::random(), attestation(1), Some(event(2)), t0),
            Start::Joined
        );
        assert_eq!(
            fetches.finish_attestation(&attestation(1)),
            vec![event(1), event(2)]
        );
        assert_eq!(
            fetches.start_attestation(peer, attestation(1), None, t0),
            Start::Started,
            "a finished fetch may start again"
        );
    }

    #[test]
    fn fetches_in_flight_are_bounded() {
        let fetches = HeldFetches::default();
        let t0 = Instant::now();
        let started = (0..=MAX_ATTESTATION_FETCHES_IN_FLIGHT)
            .filter(|n| {
                let n = *n as u8;
                fetches.start_attestation(PeerId::random(), attestation(n), Some(event(n)), t0)
                    == Start::Started
            })
            .count();
        assert_eq!(
            started,
            MAX_ATTESTATION_FETCHES_IN_FLIGHT.min(HELD_FETCH_BURST as usize)
        );
    }
}
