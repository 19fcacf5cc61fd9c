//! What the store keeps about one event: the event itself, its status, and the state before it.

use std::collections::BTreeSet;

use causerie_crypto::event::{MAX_AUTH_EVENTS, MAX_PREV_EVENTS};
use causerie_crypto::{Event, EventId};

use crate::error::StoreError;
use crate::state::SnapshotId;

/// Longest rejection reason name, in bytes.
pub const MAX_REASON_BYTES: usize = 64;
/// Most missing parents an outlier can wait for: every event it references.
pub const MAX_MISSING_PARENTS: usize = MAX_PREV_EVENTS + MAX_AUTH_EVENTS;

/// Where an event stands in its room. Each status other than `Accepted` also puts the event in
/// the matching per-room set ([`crate::RoomDagStore`]), so the sets always agree with the
/// records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventStatus {
    /// Passed every check; part of the room's history and state.
    Accepted,
    /// Passed against its own history but not against the current state: kept in the DAG so
    /// that others can build on it, never shown or applied to current state.
    SoftFailed,
    /// Failed the checks; kept (so it is not fetched again) with the stable reason name.
    Rejected {
        /// Reason name (`[a-z0-9_]`, at most [`MAX_REASON_BYTES`] bytes).
        reason: String,
    },
    /// Stored before all of its references arrived; re-evaluated when they do.
    Outlier {
        /// The referenced events still missing (1 to [`MAX_MISSING_PARENTS`]).
        missing: BTreeSet<EventId>,
    },
}

impl EventStatus {
    /// Stable name of the status.
    pub fn name(&self) -> &'static str {
        match self {
            EventStatus::Accepted => "accepted",
            EventStatus::SoftFailed => "soft_failed",
            EventStatus::Rejected { .. } => "rejected",
            EventStatus::Outlier { .. } => "outlier",
        }
    }

    /// A rejected status, with the reason name of the check that failed.
    pub fn rejected(reason: &str) -> Self {
        EventStatus::Rejected {
            reason: reason.to_owned(),
        }
    }

    /// An outlier status waiting for `missing`.
    pub fn outlier(missing: impl IntoIterator<Item = EventId>) -> Self {
        EventStatus::Outlier {
            missing: missing.into_iter().collect(),
        }
    }

    /// Checks the bounds a status must respect before it is written.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        match self {
            EventStatus::Rejected { reason } => {
                let ok = !reason.is_empty()
                    && reason.len() <= MAX_REASON_BYTES
                    && reason
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if !ok {
                    return Err(StoreError::BadReason);
                }
            }
            EventStatus::Outlier { missing } => {
                if missing.is_empty() || missing.len() > MAX_MISSING_PARENTS {
                    return Err(StoreError::BadMissingList {
                        count: missing.len(),
                        max: MAX_MISSING_PARENTS,
                    });
                }
            }
            EventStatus::Accepted | EventStatus::SoftFailed => {}
        }
        Ok(())
    }
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The event (its full or redacted form, whichever was stored last).
    pub event: Event,
    /// Its status.
    pub status: EventStatus,
    /// The room state before the event, once known.
    pub state_before: Option<SnapshotId>,
}
