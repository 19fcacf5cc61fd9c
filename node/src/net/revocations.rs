//! Attestation revocations over the federation (specs/accountability.md §3.3): the node-level
//! gossip topic [`TOPIC`] on which a home node publishes the statements it signs and every node
//! relays the ones it verified, and the `revocations` pull that a node runs with every peer when
//! it connects and at every sync tick, from the last seq that peer gave it, so that a node that
//! was away (or missed the gossip) learns every statement its peers hold.
//!
//! Every statement is verified by the node (`Revocations::add`) before it changes anything or is
//! relayed; an invalid one is refused with its reason, counted, and is a strike against the peer
//! that sent it. Bounds: [`MAX_VALIDATIONS`] gossip statements verified at once (beyond, Ignore:
//! the pulls deliver them), [`MAX_PULL_PAGES`] pages per pull, one pull per peer at a time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use libp2p::PeerId;
use libp2p::gossipsub::{IdentTopic, MessageAcceptance, MessageId};
use tokio::sync::Semaphore;

use super::wire::{REVOCATION_PAGE, Request, Response};
use super::{Command, NetError, NetHandle};
use crate::revocations::{Added, RevocationRefusal};

/// The gossip topic of revocation statements (an identity topic, like room topics).
pub const TOPIC: &str = "causerie/revocations/v1";
/// Most gossiped statements being verified at once.
pub const MAX_VALIDATIONS: usize = 64;
/// Most pages one pull asks a peer for (each at most `REVOCATION_PAGE` statements): enough for
/// the whole table of `causerie_storage::MAX_REVOCATIONS`.
pub const MAX_PULL_PAGES: usize = 256;

/// The gossip topic of revocation statements.
pub fn topic() -> IdentTopic {
    IdentTopic::new(TOPIC)
}

/// The actor's side: each peer's cursor (the last seq it gave) and the pulls running.
pub(crate) struct RevocationSync {
    cursors: BTreeMap<PeerId, u64>,
    running: BTreeSet<PeerId>,
    validations: Arc<Semaphore>,
}

impl RevocationSync {
    pub(crate) fn new() -> Self {
        RevocationSync {
            cursors: BTreeMap::new(),
            running: BTreeSet::new(),
            validations: Arc::new(Semaphore::new(MAX_VALIDATIONS)),
        }
    }

    /// Starts a pull from `peer` unless one is running.
    pub(crate) fn pull(&mut self, handle: &NetHandle, peer: PeerId) {
        if !self.running.insert(peer) {
            return;
        }
        let after = self.cursors.get(&peer).copied().unwrap_or(0);
        let handle = handle.clone();
        tokio::spawn(async move {
            let last = match pull(&handle, peer, after).await {
                Ok(last) => last,
                Err(e) => {
                    tracing::debug!(%peer, reason = e.reason(), "revocation pull failed");
                    after
                }
            };
            handle.try_send(Command::RevocationsPulled(peer, last));
        });
    }

    /// A pull from `peer` ended at `last`.
    pub(crate) fn pulled(&mut self, peer: PeerId, last: u64, connected: &BTreeSet<PeerId>) {
        self.running.remove(&peer);
        // Only connected peers keep a cursor, so the map stays as small as the peer set.
        self.cursors.retain(|p, _| connected.contains(p));
        if connected.contains(&peer) {
            self.cursors.insert(peer, last);
        }
    }

    /// Verifies a gossiped statement and reports its verdict: Accept (new, relayed), Ignore
    /// (known, or not taken now), Reject (invalid: the sender is penalised).
    pub(crate) fn validate(
        &self,
        handle: &NetHandle,
        id: MessageId,
        source: PeerId,
        data: Vec<u8>,
    ) {
        let Ok(permit) = self.validations.clone().try_acquire_owned() else {
            handle.try_send(Command::Validated(id, source, MessageAcceptance::Ignore));
            return;
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let verdict = match handle.node.revocations().add(data).await {
                Ok(Added::New(_)) => MessageAcceptance::Accept,
                Ok(Added::Known) => MessageAcceptance::Ignore,
                Err(RevocationRefusal::Invalid(_)) => MessageAcceptance::Reject,
                Err(_) => MessageAcceptance::Ignore,
            };
            handle.try_send(Command::Validated(id, source, verdict));
            drop(permit);
        });
    }
}

/// Pulls every statement `peer` holds after its seq `after`; returns the last seq it gave.
async fn pull(handle: &NetHandle, peer: PeerId, mut after: u64) -> Result<u64, NetError> {
    for _ in 0..MAX_PULL_PAGES {
        let request = Request::Revocations {
            after,
            limit: REVOCATION_PAGE as u64,
        };
        let (last, statements) = match handle.request(peer, request).await? {
            Response::Revocations { last, revocations } => (last, revocations),
            Response::Error { reason } => return Err(NetError::Refused(reason)),
            _ => return Err(NetError::BadResponse("unexpected_response")),
        };
        let count = statements.len();
        for bytes in statements {
            match handle.node.revocations().add(bytes.into_vec()).await {
                Ok(Added::New(revocation)) => {
                    // Relay it: peers that missed the gossip hear it now.
                    handle.try_send(Command::PublishRevocation(revocation.as_bytes().to_vec()));
                }
                Ok(Added::Known) => {}
                Err(RevocationRefusal::Invalid(e)) => {
                    handle.try_send(Command::Misbehaved(peer, e.reason()));
                }
                // Full tables or a store failure: try again at the next pull.
                Err(_) => return Ok(after),
            }
        }
        if count < REVOCATION_PAGE || last <= after {
            return Ok(last.max(after));
        }
        after = last;
    }
    Ok(after)
}
