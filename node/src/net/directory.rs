//! The federated room directory over the network (specs/directory.md §4): the node-level gossip
//! topic [`TOPIC`] on which every node publishes its signed announcement (on start, after a
//! change to its public rooms or aliases, debounced by [`ANNOUNCE_DEBOUNCE_MS`], and every
//! [`REANNOUNCE_INTERVAL_MS`]) and relays the ones it verified; and the `directory` pull a node
//! runs with every peer when it connects, so that a node that just arrived lists the
//! federation's rooms at once rather than after the next round of announcements.
//!
//! Every announcement is verified by the node (`Directory::add`) before it is relayed; an
//! invalid one is a Reject (gossip) or a strike (pull) against the peer that sent it, a stale,
//! early or expired one is only ignored (an honest relay can send those). Bounds: the peer's
//! gossip bucket (shared with room gossip), [`MAX_PULL_PAGES`] pages per pull, one pull per
//! peer at a time.

use std::collections::BTreeSet;
use std::time::Duration;

use causerie_crypto::NodeSecret;
use libp2p::PeerId;
use libp2p::gossipsub::{IdentTopic, MessageAcceptance};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::wire::{DIRECTORY_PAGE, Request, Response};
use super::{Command, NetError, NetHandle};
use crate::clock::now_ms;
use crate::directory::{
    ANNOUNCE_DEBOUNCE_MS, Added, MAX_DIRECTORY_NODES, MIN_ANNOUNCE_INTERVAL_MS,
    REANNOUNCE_INTERVAL_MS, own_draft,
};
use crate::node::{NodeEvent, RoomSelection};

/// The gossip topic of directory announcements (an identity topic, like room topics).
pub const TOPIC: &str = "causerie/directory/v1";
/// Most pages one pull asks a peer for: enough for a full table and the peer's own.
pub const MAX_PULL_PAGES: usize = MAX_DIRECTORY_NODES / DIRECTORY_PAGE + 1;

/// The gossip topic of directory announcements.
pub fn topic() -> IdentTopic {
    IdentTopic::new(TOPIC)
}

/// The actor's side: the pulls running.
#[derive(Default)]
pub(crate) struct DirectorySync {
    running: BTreeSet<PeerId>,
}

impl DirectorySync {
    /// Starts a pull from `peer` unless one is running.
    pub(crate) fn pull(&mut self, handle: &NetHandle, peer: PeerId) {
        if !self.running.insert(peer) {
            return;
        }
        let handle = handle.clone();
        tokio::spawn(async move {
            if let Err(e) = pull(&handle, peer).await {
                tracing::debug!(%peer, reason = e.reason(), "directory pull failed");
            }
            handle.try_send(Command::DirectoryPulled(peer));
        });
    }

    /// A pull from `peer` ended.
    pub(crate) fn pulled(&mut self, peer: PeerId) {
        self.running.remove(&peer);
    }
}

/// The verdict on a gossiped announcement: Accept (new, relayed), Ignore (known, stale, early,
/// expired, or the table is full), Reject (it does not verify: the sender is penalised).
/// Verification is a single signature check on at most 32 KiB, cheap enough for the actor.
pub(crate) fn verdict(handle: &NetHandle, data: &[u8]) -> MessageAcceptance {
    match handle.node.directory().add(data, now_ms()) {
        Ok(Added::New) => MessageAcceptance::Accept,
        Ok(Added::Known) => MessageAcceptance::Ignore,
        Err(refusal) if refusal.is_misbehaviour() => MessageAcceptance::Reject,
        Err(_) => MessageAcceptance::Ignore,
    }
}

/// Pulls every announcement `peer` holds.
async fn pull(handle: &NetHandle, peer: PeerId) -> Result<(), NetError> {
    let directory = handle.node.directory();
    let mut after = None;
    for _ in 0..MAX_PULL_PAGES {
        let request = Request::Directory {
            after: after.clone(),
            limit: DIRECTORY_PAGE as u64,
        };
        let announcements = match handle.request(peer, request).await? {
            Response::Directory { announcements } => announcements,
            Response::Error { reason } => return Err(NetError::Refused(reason)),
            _ => return Err(NetError::BadResponse("unexpected_response")),
        };
        let count = announcements.len();
        for bytes in announcements {
            match directory.add(&bytes, now_ms()) {
                Ok(_) => {}
                Err(refusal) if refusal.is_misbehaviour() => {
                    handle.try_send(Command::Misbehaved(peer, refusal.reason()));
                }
                Err(_) => {}
            }
            // The next page starts after the last key given, valid or not.
            if let Some(key) = node_key_of(&bytes) {
                after = Some(Box::new(key));
            }
        }
        if count < DIRECTORY_PAGE || after.is_none() {
            return Ok(());
        }
    }
    Ok(())
}

/// The `node` field of an announcement, decoded without the other checks (for paging only).
fn node_key_of(bytes: &[u8]) -> Option<causerie_crypto::NodeKey> {
    causerie_crypto::directory::Announcement::decode(bytes)
        .ok()
        .map(|a| *a.node())
}

/// Whether `event` can change what this node announces (a state event: membership, join rule,
/// name, topic).
fn changes_directory(event: &NodeEvent) -> bool {
    match event {
        NodeEvent::Accepted { event, .. } => event.state_key().is_some(),
        NodeEvent::RoomAdded(_) => true,
        NodeEvent::ReviewDecided { .. } | NodeEvent::HeldFailed { .. } => false,
    }
}

/// Announces this node: once its first address is known, after each change (debounced), and
/// every [`REANNOUNCE_INTERVAL_MS`]; until `shutdown`. Cancel-safe at every await.
pub(crate) async fn announce(handle: NetHandle, secret: NodeSecret, shutdown: CancellationToken) {
    let mut events = handle.node.subscribe();
    let changed = handle.node.directory().changed();
    let mut tick = tokio::time::interval(Duration::from_millis(REANNOUNCE_INTERVAL_MS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let debounce = Duration::from_millis(ANNOUNCE_DEBOUNCE_MS);
    let mut due: Option<tokio::time::Instant> = None;
    let mut last_issued = 0u64;
    loop {
        let wait = async {
            match due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            _ = wait => {
                due = None;
                match announce_once(&handle, &secret, last_issued).await {
                    Ok(issued) => last_issued = issued,
                    Err(e) => {
                        tracing::debug!(reason = e.reason(), "directory announcement postponed");
                        due = Some(tokio::time::Instant::now() + debounce);
                    }
                }
            }
            event = events.recv() => match event {
                Ok(event) if changes_directory(&event) => {
                    due.get_or_insert_with(|| tokio::time::Instant::now() + debounce);
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    due.get_or_insert_with(|| tokio::time::Instant::now() + debounce);
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = changed.notified() => {
                due.get_or_insert_with(|| tokio::time::Instant::now() + debounce);
            }
            // The first tick is at once: the node announces itself as it starts.
            _ = tick.tick() => {
                due.get_or_insert_with(tokio::time::Instant::now);
            }
        }
    }
}

/// Builds, signs, holds and publishes this node's announcement; returns its `issued_ms`.
async fn announce_once(
    handle: &NetHandle,
    secret: &NodeSecret,
    last_issued: u64,
) -> Result<u64, NetError> {
    let directory = handle.node.directory();
    // The addresses invite links carry: announced, relayed and DNS ones included.
    let via: Vec<String> = handle
        .invite_addrs()
        .await?
        .iter()
        .map(ToString::to_string)
        .collect();
    if via.is_empty() {
        return Err(NetError::Transport("not listening".into()));
    }
    let views = handle.node.room_views(RoomSelection::Public).await?;
    let aliases = directory.aliases().await?;
    let issued_ms = now_ms().max(last_issued.saturating_add(MIN_ANNOUNCE_INTERVAL_MS));
    let draft = own_draft(&views, &aliases, directory.server_name(), via, issued_ms);
    let announcement = draft
        .sign(secret)
        .map_err(|e| NetError::Transport(format!("directory announcement: {e}")))?;
    directory.set_own(announcement.clone());
    handle.try_send(Command::PublishDirectory(
        announcement.as_bytes().to_vec(),
        None,
    ));
    Ok(issued_ms)
}
