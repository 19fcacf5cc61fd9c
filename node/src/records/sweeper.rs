//! The records sweeper: every `sweep_interval_ms` it removes what has expired from every
//! registration record ([`Records::sweep`], deciding with `retention::sweep` at the time it
//! reads once per pass), and when anything was removed it compacts the store, so the expired
//! data leaves the store's files as well (sled keeps old versions of rewritten values until a
//! compaction; specs/moderation.md §4). A compaction thus follows a removal by at most one
//! interval, and happens at most once per interval.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Records;
use crate::clock::now_ms;
use crate::node::Node;

/// Shortest interval between two sweeps (each sweep that removed something compacts the store).
pub const MIN_SWEEP_INTERVAL_MS: u64 = 100;
/// Longest interval between two sweeps (one day).
pub const MAX_SWEEP_INTERVAL_MS: u64 = 24 * 60 * 60 * 1_000;
/// Default interval between two sweeps (one minute).
pub const DEFAULT_SWEEP_INTERVAL_MS: u64 = 60_000;

/// Starts the sweeper; it stops on `shutdown`.
pub fn spawn(node: Node, interval_ms: u64, shutdown: CancellationToken) -> JoinHandle<()> {
    let interval_ms = interval_ms.clamp(MIN_SWEEP_INTERVAL_MS, MAX_SWEEP_INTERVAL_MS);
    tokio::spawn(async move {
        let records = node.records();
        let mut ticks = tokio::time::interval(Duration::from_millis(interval_ms));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                _ = ticks.tick() => pass(&node, &records).await,
            }
        }
    })
}

/// One sweep, then a compaction if it removed anything.
async fn pass(node: &Node, records: &Records) {
    let report = match records.sweep(now_ms()).await {
        Ok(report) => report,
        Err(e) => {
            tracing::warn!(reason = e.reason(), "records sweep failed");
            return;
        }
    };
    if report.removed == 0 {
        return;
    }
    node.metrics()
        .record_items_expired
        .fetch_add(report.removed as u64, std::sync::atomic::Ordering::Relaxed);
    tracing::info!(
        removed = report.removed,
        deleted = report.deleted,
        visited = report.visited,
        "expired registration data removed"
    );
    if let Err(e) = node.compact().await {
        tracing::warn!(
            reason = e.reason(),
            "compaction after the records sweep failed"
        );
    }
}
