//! What a call on a [`Room`](crate::Room) reports ([`Receipt`]: each event's [`Outcome`], held
//! events that ended, visibility changes, tips, state) and where an event stands
//! ([`EventStatus`], [`TimelineEntry`]). Data only: the engine fills these in.

use std::sync::Arc;

use causerie_crypto::{AttestationId, EventId};

use crate::error::{RefuseReason, RejectReason};
use crate::event::StateMap;
use crate::held::HeldEnded;

/// What happened to one event during a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted into the DAG. `soft_failed` is its status when it was accepted; later changes
    /// arrive as [`VisibilityChange`]s.
    Accepted {
        /// The state before the event (resolved from its prev events).
        state_before: Arc<StateMap>,
        /// Whether it failed auth against the current state (hidden, not relayed).
        soft_failed: bool,
    },
    /// Rejected, permanently and on every node.
    Rejected(RejectReason),
    /// Held as an outlier until these arrive; re-evaluated automatically.
    Held {
        /// Referenced events the engine does not have.
        missing_events: Vec<EventId>,
        /// The event's attestation, if the engine does not have it.
        missing_attestation: Option<AttestationId>,
    },
    /// Not taken now and not recorded; may be offered again later.
    Refused(RefuseReason),
}

/// One event's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The event.
    pub event: EventId,
    /// What happened to it.
    pub outcome: Outcome,
}

/// How an accepted event is shown to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    /// Shown at all (not soft-failed).
    pub visible: bool,
    /// Shown in redacted form (a valid redaction applies).
    pub redacted: bool,
}

/// An accepted event whose [`Shown`] status is new or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisibilityChange {
    /// The event.
    pub event: EventId,
    /// Its status now.
    pub shown: Shown,
}

/// Everything a call changed, for the node to persist and publish.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    /// Outcomes, in decision order: the offered event first, then released outliers.
    pub decisions: Vec<Decision>,
    /// Held events that stopped being held (released and decided, expired, evicted), with the
    /// sources that sent them, in the order it happened (specs/rooms.md §8a).
    pub held: Vec<HeldEnded>,
    /// New or changed visibility of accepted events, in event id order.
    pub visibility: Vec<VisibilityChange>,
    /// The new forward extremities, if they changed (sorted by id).
    pub extremities: Option<Vec<EventId>>,
    /// Whether the room's current state changed.
    pub current_state_changed: bool,
}

impl Receipt {
    /// The outcome of `event` in this receipt, if it was decided.
    pub fn outcome_of(&self, event: &EventId) -> Option<&Outcome> {
        self.decisions
            .iter()
            .rev()
            .find(|d| &d.event == event)
            .map(|d| &d.outcome)
    }
}

/// Where an event stands in the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    /// Accepted; how it is shown.
    Accepted(Shown),
    /// Rejected (remembered while within `MAX_REJECTED_REMEMBERED`).
    Rejected(RejectReason),
    /// Held as an outlier.
    Held,
    /// Not known.
    Unknown,
}

/// One entry of the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimelineEntry {
    /// DAG depth (the primary order).
    pub depth: u64,
    /// Event id (the tie-break).
    pub event: EventId,
    /// Whether the event is shown redacted.
    pub redacted: bool,
}
