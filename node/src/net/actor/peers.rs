//! What the actor holds against peers: blocks, denied nodes, strikes, bans, the per-peer rate
//! and the gossip score check. A child of `actor`.

use std::time::Instant;

use libp2p::PeerId;
use tracing::{debug, warn};

use super::{Actor, MAX_ADDRESS_BOOK, MAX_STRIKES, STRIKE_MEMORY};
use crate::net::BAN_DURATION;
use crate::net::behaviour::GRAYLIST_THRESHOLD;
use crate::net::metrics::NetMetrics;

impl Actor {
    pub(super) fn block(&mut self, peer: PeerId, until: Option<Instant>) {
        self.blocked.insert(peer, until);
        self.swarm.behaviour_mut().blocked.block_peer(peer);
        // Blocking closes the connections; make sure gossipsub forgets the peer's mesh slots too.
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    /// Whether `peer` is a denied node; if so, counts the refusal of `what`.
    pub(super) fn refuse_denied(&self, peer: Option<PeerId>, what: &'static str) -> bool {
        let denied = peer.is_some_and(|peer| self.denied.contains(&peer));
        if denied {
            self.metrics.federation_denied(what);
        }
        denied
    }

    pub(super) fn unblock(&mut self, peer: PeerId) {
        if self.denied.contains(&peer) {
            // A denied node stays blocked whatever else lifts.
            self.blocked.remove(&peer);
            return;
        }
        self.blocked.remove(&peer);
        self.strikes.remove(&peer);
        self.swarm.behaviour_mut().blocked.unblock_peer(peer);
        for address in self.addresses.get(&peer).cloned().unwrap_or_default() {
            let _ = self.dial_from_listen_port(address.into());
        }
    }

    pub(super) fn strike(&mut self, peer: PeerId, reason: &'static str) {
        let now = Instant::now();
        let (strikes, last) = self.strikes.entry(peer).or_insert((0, now));
        if now.saturating_duration_since(*last) >= STRIKE_MEMORY {
            *strikes = 0;
        }
        *strikes += 1;
        *last = now;
        let strikes = *strikes;
        debug!(%peer, reason, strikes, "peer misbehaved");
        if strikes >= MAX_STRIKES {
            self.ban(peer, reason);
        }
    }

    /// Takes a token from `peer`'s gossip bucket. Over the rate, the message is ignored (pulls
    /// still bring what an honest peer had to say) and the first message of a run over it costs
    /// the peer a strike.
    pub(super) fn within_rate(&mut self, peer: PeerId) -> bool {
        if self.peer_rate.len() > crate::rate_limits::MAX_RATE_LIMIT_KEYS {
            self.peer_rate.retain_recent();
        }
        if self.peer_rate.check_key(&peer).is_ok() {
            if !self.rate_limited.is_empty() {
                self.rate_limited.remove(&peer);
            }
            return true;
        }
        NetMetrics::inc(&self.metrics.gossip_rate_limited);
        if self.rate_limited.len() >= MAX_ADDRESS_BOOK {
            self.rate_limited.clear();
        }
        if self.rate_limited.insert(peer) {
            self.strike(peer, "rate_limited");
        }
        false
    }

    pub(super) fn ban(&mut self, peer: PeerId, reason: &'static str) {
        if self.blocked.contains_key(&peer) {
            return;
        }
        warn!(%peer, reason, "banning peer");
        NetMetrics::inc(&self.metrics.peers_banned);
        self.block(peer, Some(Instant::now() + BAN_DURATION));
    }

    pub(super) fn expire_bans(&mut self) {
        let now = Instant::now();
        let expired: Vec<PeerId> = self
            .blocked
            .iter()
            .filter(|(_, until)| until.is_some_and(|t| t <= now))
            .map(|(peer, _)| *peer)
            .collect();
        for peer in expired {
            self.unblock(peer);
        }
    }

    pub(super) fn check_scores(&mut self) {
        let low: Vec<PeerId> = self
            .connected
            .iter()
            .filter(|peer| {
                self.swarm
                    .behaviour()
                    .gossipsub
                    .peer_score(peer)
                    .is_some_and(|score| score < GRAYLIST_THRESHOLD)
            })
            .copied()
            .collect();
        for peer in low {
            self.ban(peer, "gossip_score");
        }
    }
}
