//! [`NodeMetrics`]: counters of the receive path, shared between the actor (which counts) and
//! whoever renders `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

use super::IngestOutcome;
use crate::counters::ReasonCounts;
use causerie_room::HeldEnd;

/// Counters of the receive path (rendered by `/metrics`).
#[derive(Debug, Default)]
pub struct NodeMetrics {
    /// Events offered to the engines.
    pub events_received: AtomicU64,
    /// Events accepted and shown.
    pub events_accepted: AtomicU64,
    /// Events accepted but soft-failed (hidden, not relayed).
    pub events_soft_failed: AtomicU64,
    /// Events already known.
    pub events_duplicate: AtomicU64,
    /// Events held for missing parents or attestations.
    pub events_held: AtomicU64,
    /// Group commits made.
    pub commits: AtomicU64,
    /// Store compactions made (after redactions, or on demand).
    pub compactions: AtomicU64,
    /// Milliseconds the last compaction took.
    pub last_compaction_ms: AtomicU64,
    /// Registration-record items the records sweeper removed as their retention ran out.
    pub record_items_expired: AtomicU64,
    /// Events rejected, by reason name (at once or after waiting as held events).
    pub rejected: ReasonCounts,
    /// Events refused for now, by reason name.
    pub refused: ReasonCounts,
    /// Revocation statements refused (from peers or the operator), by reason
    /// (specs/accountability.md §3).
    pub revocations_refused: ReasonCounts,
    /// Held events that stopped being held, by how (`accepted`, `rejected`, `refused`,
    /// `expired`, `evicted`).
    pub held_ended: ReasonCounts,
}

impl NodeMetrics {
    /// Counts one ingested event's outcome.
    pub(super) fn record(&self, outcome: &IngestOutcome) {
        self.events_received.fetch_add(1, Ordering::Relaxed);
        match outcome {
            IngestOutcome::Accepted { visible: true } => &self.events_accepted,
            IngestOutcome::Accepted { visible: false } => &self.events_soft_failed,
            IngestOutcome::Duplicate => &self.events_duplicate,
            IngestOutcome::Held { .. } => &self.events_held,
            IngestOutcome::Rejected(reason) => return self.rejected.increment(reason.reason()),
            IngestOutcome::Refused(reason) => return self.refused.increment(reason.reason()),
            IngestOutcome::Undecided => return self.refused.increment("undecided"),
            IngestOutcome::BanList(refusal) => return self.refused.increment(refusal.reason()),
            IngestOutcome::Revoked { .. } => return self.refused.increment("attestation_revoked"),
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a held event that stopped being held; a rejection counts as one too.
    pub(super) fn record_held(&self, end: &HeldEnd) {
        self.held_ended.increment(end.reason());
        if let HeldEnd::Rejected(reason) = end {
            self.rejected.increment(reason.reason());
        }
    }

    /// Counts one compaction.
    pub(super) fn compacted(&self, report: &causerie_storage::CompactReport) {
        self.compactions.fetch_add(1, Ordering::Relaxed);
        self.last_compaction_ms
            .store(report.millis, Ordering::Relaxed);
    }

    /// Counts one group commit.
    pub(super) fn commit(&self) {
        self.commits.fetch_add(1, Ordering::Relaxed);
    }
}
