//! The node actor and its handles. One actor thread owns the [`Ledger`](crate::ledger::Ledger)
//! (the store and every room engine); everything else reaches it through a cloneable handle.
//!
//! The actor runs on its own thread because sled and the room engine are synchronous: async
//! callers (network, API) send commands over a bounded channel and await a oneshot reply, so a
//! slow disk never blocks the tokio workers. Consecutive ingest commands are drained together
//! into one engine pass and one flushed commit (group commit), up to
//! [`MAX_RECEIVE_BATCH`](crate::ledger::MAX_RECEIVE_BATCH) events. Every newly accepted event,
//! whatever its origin (an ingest, or held events an attestation released), is announced on a
//! broadcast channel once its commit is durable, with its sender's profile.
//!
//! Layout:
//! - `handle`: [`Node`], the cloneable handle (one method per question or change), and
//!   [`NodeTask`], the actor thread to join.
//! - `actor`: the command set (one variant per job, each answered from one consistent state),
//!   the run loop, group commit, and the one place accepted events are announced.
//! - `queries`: the read-only answers the actor computes from its engines and store: federation
//!   reads (events, backfill, since, room state), client views (rooms, members, history) and
//!   summaries.
//! - `accounts`: [`Accounts`], local accounts and attestations read straight from the store
//!   (sled is safe to share between threads) on the blocking thread pool; an account write goes
//!   through the actor, which orders it after its attestation and keeps handles unique.
//! - `inbox`: [`Inbox`], the node letters delivered to this node, kept in the store's durable,
//!   bounded inbox; delivery goes straight to the store, never through the actor.
//! - `audit`: [`Audit`], the node's hash-chained, signed audit log in the store; appends go
//!   straight to the store, one at a time, never through the actor.
//! - `disclosure`: [`Audit::disclose`] (a signed bundle about one user, recorded in the log)
//!   and the transparency counts per period ([`count_periods`]).
//! - `metrics`: [`NodeMetrics`], the receive path's counters.

mod accounts;
mod actor;
mod audit;
mod backup;
mod disclosure;
mod handle;
mod inbox;
mod metrics;
mod queries;

use causerie_crypto::{Attestation, AttestationId, Content, Event, EventId, RoomId, UserKey};
use causerie_storage::StoreError;
use thiserror::Error;

pub use accounts::Accounts;
pub use audit::{Audit, details};
pub use disclosure::{
    Disclosed, MAX_TRANSPARENCY_SCAN, PeriodCounts, TransparencyPeriod, count_periods,
};
pub(crate) use handle::SharedStore;
pub use handle::{Node, NodeTask};
pub use inbox::Inbox;
pub use metrics::NodeMetrics;

use crate::ledger::LedgerError;
use crate::letter::LetterError;
use causerie_room::{
    HeldEnd, PrepareError, RefuseReason, RejectReason, Relations, Source, StateMap,
};

/// Commands queued for the actor before senders wait.
pub const NODE_COMMAND_QUEUE_LEN: usize = 1_024;
/// Announcements buffered per subscriber; a subscriber that falls further behind is told it
/// lagged and must resync (catch-up covers what it missed).
pub const ANNOUNCE_QUEUE_LEN: usize = 8_192;
/// Most events one backfill or since request returns.
pub const MAX_PAGE_EVENTS: usize = 1_000;
/// Most ids one `events` request looks up.
pub const MAX_LOOKUP_IDS: usize = 1_000;
/// Most events in a room-state answer (state plus its auth chain).
pub const MAX_ROOM_STATE_EVENTS: usize = 20_000;
/// Most events one history page returns.
pub const MAX_HISTORY_PAGE: usize = 200;
/// Most users one attestation lookup covers.
pub const MAX_USERS_LOOKUP: usize = 1_000;
/// Most attestations of one user read to find the latest valid one.
pub const MAX_ATTESTATIONS_PER_USER: usize = 64;
/// Shortest time between two compactions the node starts by itself after redactions (on demand,
/// [`Node::compact`], there is no minimum).
pub const MIN_COMPACTION_INTERVAL_MS: u64 = 60_000;
/// How often the daemon asks the node whether a compaction is due.
pub const COMPACTION_CHECK_MS: u64 = 1_000;
/// A due compaction waits until no redaction was written for this long, so that a burst of
/// redactions (an erasure, a ban with purge) is compacted once.
pub const COMPACTION_QUIET_MS: u64 = 2_000;
/// ... but not longer than this after it became due, when redactions keep coming.
pub const MAX_COMPACTION_DELAY_MS: u64 = 10_000;
/// Senders whose latest attestation the actor remembers for announcements (forgotten all at
/// once when full; an attestation's arrival forgets its user).
pub const SENDER_CACHE_LEN: usize = 4_096;

/// Which rooms [`Node::room_views`] lists.
// One value per request, moved once: boxing the key would cost more than the size difference.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomSelection {
    /// Rooms whose join rule is public (the directory).
    Public,
    /// Rooms where this user's membership is join, invite or knock.
    MemberOf(UserKey),
    /// One room, as `viewer` sees it (no membership and default power when `None`).
    Room {
        /// The room.
        room: RoomId,
        /// Who looks.
        viewer: Option<UserKey>,
    },
}

/// A page of a room's timeline.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    /// Visible events, oldest first, as clients see them.
    pub events: Vec<Event>,
    /// Where the page before starts (`None` at the start of the room).
    pub prev: Option<(u64, EventId)>,
    /// What relations add to the page's messages and to the messages they reply to
    /// (specs/rooms.md §13), by event id.
    pub relations: std::collections::BTreeMap<EventId, Relations>,
    /// The messages the page's messages reply to that this node holds and shows, as shown
    /// (redacted ones redacted), by id.
    pub replied: std::collections::BTreeMap<EventId, Event>,
}

/// An accepted event as this node shows it, with what its relations add (specs/rooms.md §13).
#[derive(Debug, Clone)]
pub struct Related {
    /// The event, redacted if a redaction applies.
    pub event: Event,
    /// Whether it is shown (not soft-failed, not hidden by this node).
    pub shown: bool,
    /// Its relations.
    pub relations: Relations,
}

/// Why a request to the node failed.
#[derive(Debug, Error)]
pub enum NodeError {
    /// The actor has stopped (shutdown or a fatal store error).
    #[error("node stopped")]
    Stopped,
    /// The receive path failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A read or write of the store outside the receive path failed (accounts, attestations,
    /// the inbox, queries).
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The node does not hold this room.
    #[error("unknown room")]
    UnknownRoom,
    /// The engine could not build the event.
    #[error("cannot prepare: {0}")]
    Prepare(#[from] PrepareError),
    /// A node letter was refused.
    #[error(transparent)]
    Letter(#[from] LetterError),
    /// A request over a named limit.
    #[error("request over limit: {0}")]
    OverLimit(&'static str),
    /// The inbox holds as many letters as it may; try again once some are handled.
    #[error("inbox full")]
    InboxFull,
    /// The room's review queue (or all queues) is full; moderators must handle items first.
    #[error("review queue full")]
    ReviewFull,
    /// A ban list the room follows names the author (specs/moderation.md §3.5).
    #[error("{0}")]
    BanList(Box<crate::moderation::banlist::BanListRefusal>),
    /// The author's attestation was revoked by its home node at `.0` (ms;
    /// specs/accountability.md §3).
    #[error("{}", revoked_words(*.0))]
    Revoked(u64),
    /// An audit entry or head could not be made (a field over its limit).
    #[error("audit: {0}")]
    Audit(#[from] causerie_crypto::AuditError),
    /// A disclosure bundle could not be made (a field over its limit).
    #[error("disclosure: {0}")]
    Disclosure(#[from] causerie_crypto::disclosure::DisclosureError),
}

/// What a user whose attestation was revoked is told, in plain words.
pub fn revoked_words(revoked_ms: u64) -> String {
    format!(
        "your home node revoked your attestation (from {revoked_ms} ms since 1970): rooms refuse \
         the messages you send from then on; ask your home node's operator"
    )
}

impl NodeError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            NodeError::Stopped => "node_stopped",
            NodeError::Ledger(e) => e.reason(),
            NodeError::Store(e) => e.reason(),
            NodeError::UnknownRoom => "unknown_room",
            NodeError::Prepare(e) => e.reason(),
            NodeError::Letter(e) => e.reason(),
            NodeError::OverLimit(_) => "over_limit",
            NodeError::InboxFull => "inbox_full",
            NodeError::ReviewFull => "review_full",
            NodeError::BanList(refusal) => refusal.reason(),
            NodeError::Revoked(_) => "attestation_revoked",
            NodeError::Audit(e) => e.reason(),
            NodeError::Disclosure(e) => e.reason(),
        }
    }
}

/// What happened to one ingested event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Accepted and durable; `visible` is false for soft-failed events (never shown or relayed).
    Accepted {
        /// Shown to clients and relayed.
        visible: bool,
    },
    /// Already known.
    Duplicate,
    /// Held until these arrive (fetch them); durable as an outlier when events are missing.
    Held {
        /// Referenced events the node lacks.
        missing_events: Vec<EventId>,
        /// The attestation the node lacks.
        missing_attestation: Option<AttestationId>,
    },
    /// Rejected on every node, with the engine's reason; the sender is at fault.
    Rejected(RejectReason),
    /// Not taken now (limits, clock); may be offered again later.
    Refused(RefuseReason),
    /// The engine's receipt named no outcome for the event (a defect, counted as
    /// `undecided`); the event may be offered again.
    Undecided,
    /// A local submission refused because a ban list the room follows names its author
    /// (specs/moderation.md §3.5); nothing was stored.
    BanList(Box<crate::moderation::banlist::BanListRefusal>),
    /// The author's home node revoked the event's attestation at or before its `origin_ts`
    /// (specs/accountability.md §3): a local submission is not stored; a peer's event is kept
    /// in the room's DAG (so every node's history stays the same) but never shown or relayed.
    Revoked {
        /// When the attestation was revoked (ms).
        revoked_ms: u64,
    },
}

/// One ingested event's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// The event.
    pub id: EventId,
    /// What happened.
    pub outcome: IngestOutcome,
}

/// Who wrote an announced event, as clients are shown it.
#[derive(Debug, Clone, Default)]
pub struct SenderProfile {
    /// The latest attestation of the author this node holds.
    pub attestation: Option<Attestation>,
    /// The `display_name` of the author's member event in the room's current state (after the
    /// event).
    pub display_name: Option<String>,
}

/// What the node announces to its subscribers (network, client streams).
#[derive(Debug, Clone)]
pub enum NodeEvent {
    /// A newly accepted, durable event (from any origin, including released outliers).
    Accepted {
        /// Its room.
        room: RoomId,
        /// The event.
        event: Event,
        /// Whether it is shown and relayed (false: soft-failed).
        visible: bool,
        /// Its author as clients are shown them.
        sender: SenderProfile,
    },
    /// The node started holding a room.
    RoomAdded(RoomId),
    /// A moderator decided a local user's held submission: the author's live streams tell
    /// them.
    ReviewDecided {
        /// Its room.
        room: RoomId,
        /// The held event.
        event: EventId,
        /// Its author.
        author: UserKey,
        /// What was decided.
        decision: ReviewDecision,
        /// The moderator's reason, if any.
        reason: Option<String>,
    },
    /// A held event a peer sent ended rejected or expired unresolved: the network counts it
    /// and penalises that peer.
    HeldFailed {
        /// Its room.
        room: RoomId,
        /// The event.
        event: EventId,
        /// Who sent it (never [`Source::LOCAL`]).
        source: Source,
        /// [`HeldEnd::Rejected`] or [`HeldEnd::Expired`].
        end: HeldEnd,
    },
}

/// What a moderator decided about a held submission (specs/moderation.md §7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewDecision {
    /// It was ingested.
    Approved,
    /// It was dropped.
    Rejected,
}

impl ReviewDecision {
    /// Its name for clients.
    pub fn name(self) -> &'static str {
        match self {
            ReviewDecision::Approved => "approved",
            ReviewDecision::Rejected => "rejected",
        }
    }
}

/// A room's current state with everything needed to check it: what a joining node fetches.
#[derive(Debug, Clone)]
pub struct RoomSnapshot {
    /// The forward extremities.
    pub tips: Vec<EventId>,
    /// The current state events.
    pub state: Vec<Event>,
    /// The auth chain of the state events (not including them), in depth order.
    pub auth_chain: Vec<Event>,
}

/// A summary of a room as this node sees it (tests compare nodes with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSummary {
    /// Accepted events (visible or not).
    pub accepted: usize,
    /// Held outliers.
    pub held: usize,
    /// The resolved current state.
    pub state: StateMap,
    /// Visible events in timeline order.
    pub timeline: Vec<EventId>,
    /// Forward extremities.
    pub tips: Vec<EventId>,
}

/// What [`Node::prepare`] needs.
#[derive(Debug, Clone)]
pub struct PrepareRequest {
    /// The room.
    pub room: RoomId,
    /// The author.
    pub author: UserKey,
    /// Event kind.
    pub kind: String,
    /// State key (state events).
    pub state_key: Option<String>,
    /// Content.
    pub content: Content,
    /// The author's attestation.
    pub attestation: AttestationId,
}
