//! The follower (specs/moderation.md §3.5): a task that, every [`POLICY_TICK`] and whenever a
//! subscription event is accepted, asks the node which lists its rooms follow but it does not
//! hold, and fetches each from a peer that holds it (the connected peers first, then the DHT's
//! providers of the list room), as a join does; the node then hosts the list (gossip topic,
//! provider record, catch-up) like any room. The tick also re-evaluates expired rules.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use causerie_crypto::RoomId;
use causerie_crypto::event::kinds;
use tokio::sync::{Semaphore, broadcast};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::banlist::{FOLLOW_RETRY, MAX_FOLLOWED_LISTS, POLICY_TICK};
use crate::net::{NetError, NetHandle};
use crate::node::NodeEvent;

/// Lists fetched at once.
pub const MAX_CONCURRENT_FOLLOWS: usize = 4;
/// Peers asked for one list in one attempt.
pub const MAX_PEERS_PER_FOLLOW: usize = 16;

/// Starts the follower; it stops when `shutdown` is cancelled or the node stops.
pub fn spawn(net: NetHandle, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(run(net, shutdown))
}

async fn run(net: NetHandle, shutdown: CancellationToken) {
    let mut announcements = net.node().subscribe();
    let mut tick = tokio::time::interval(POLICY_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let permits = Arc::new(Semaphore::new(MAX_CONCURRENT_FOLLOWS));
    // When each list was last tried (bounded by the lists wanted, at most MAX_FOLLOWED_LISTS).
    let mut tried: BTreeMap<RoomId, Instant> = BTreeMap::new();
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
            announcement = announcements.recv() => match announcement {
                Ok(NodeEvent::Accepted { event, .. })
                    if event.kind() == kinds::POLICY_SUBSCRIPTIONS => {}
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
        let wanted = match net.node().policy_tick().await {
            Ok(wanted) => wanted,
            Err(_) => break,
        };
        tried.retain(|list, _| wanted.contains(list));
        for list in wanted.into_iter().take(MAX_FOLLOWED_LISTS) {
            if tried
                .get(&list)
                .is_some_and(|at| at.elapsed() < FOLLOW_RETRY)
            {
                continue;
            }
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                break;
            };
            tried.insert(list, Instant::now());
            let net = net.clone();
            tokio::spawn(async move {
                match follow(&net, list).await {
                    Ok(peer) => tracing::info!(%list, %peer, "following ban list"),
                    Err(e) => {
                        tracing::debug!(%list, reason = e.reason(), "cannot follow ban list yet")
                    }
                }
                drop(permit);
            });
        }
    }
}

/// Fetches a list room's state and history from the first peer that serves it, then hosts it.
pub async fn follow(net: &NetHandle, list: RoomId) -> Result<libp2p::PeerId, NetError> {
    let mut peers = net.connected_peers().await?;
    for peer in net.providers(list).await.unwrap_or_default() {
        if !peers.contains(&peer) {
            peers.push(peer);
        }
    }
    let mut last = NetError::NoPeer;
    for peer in peers.into_iter().take(MAX_PEERS_PER_FOLLOW) {
        match crate::net::sync::join_from(net, list, peer).await {
            Ok(_) => {
                net.host(list).await?;
                return Ok(peer);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}
