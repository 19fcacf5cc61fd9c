//! Typed outcomes of the room engine (specs/rooms.md §9). Every variant has a stable,
//! machine-readable `reason()` name: the node answers peers and clients with it, logs it and
//! counts it. Names never change meaning once published.

use causerie_crypto::EventId;
use thiserror::Error;

/// Why an event failed the authorization rules (specs/rooms.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AuthError {
    /// The state holds no create event.
    #[error("the room has no create event")]
    NoCreate,
    /// The state key does not fit the kind (e.g. a member event whose key is not a user key).
    #[error("state key does not fit the kind")]
    BadStateKey,
    /// The content does not follow the kind's conventions.
    #[error("bad content: {0}")]
    BadContent(&'static str),
    /// The sender is not joined to the room.
    #[error("the sender is not a member")]
    NotAMember,
    /// The target (or sender) is banned.
    #[error("the user is banned")]
    Banned,
    /// The sender's power level is below what the action needs.
    #[error("insufficient power level")]
    InsufficientPower,
    /// The join rules do not let this user join or knock.
    #[error("the join rules do not allow this")]
    JoinNotAllowed,
    /// The join rule is `attested` and the joining event's attestation does not qualify.
    #[error("the attestation does not meet the room's requirements")]
    AttestationNotAccepted,
    /// A membership that only the target may set was set by someone else.
    #[error("only the target user may set this membership")]
    SenderNotTarget,
    /// The membership transition is not allowed from the target's current membership.
    #[error("membership transition not allowed")]
    InvalidMembershipChange,
    /// A power-levels change touches a level at or above the sender's own.
    #[error("power levels change not allowed")]
    PowerChangeNotAllowed,
    /// The sender is muted: they may only leave (specs/moderation.md §1.3).
    #[error("the sender is muted")]
    Muted,
    /// A message or join breaks the room's content rules (specs/moderation.md §2).
    #[error("breaks the room's content rules: {0}")]
    ContentRule(RuleBreak),
}

/// Which content rule an event breaks (specs/moderation.md §2). Each has a stable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RuleBreak {
    /// The body is longer than `max_message_bytes`.
    #[error("the message is longer than the room allows")]
    MessageTooLong,
    /// The body contains a blocked word.
    #[error("the message contains a word this room blocks")]
    BlockedWord,
    /// The body matches a blocked pattern.
    #[error("the message matches a pattern this room blocks")]
    BlockedPattern,
    /// The body mentions more users than `max_mentions`.
    #[error("the message mentions more people than the room allows")]
    TooManyMentions,
    /// The body holds a link the link policy refuses.
    #[error("the room does not allow this link")]
    LinkNotAllowed,
    /// The body holds a link and the sender joined less than `new_member_link_delay_ms` ago.
    #[error("new members may not post links yet")]
    NewMemberLinks,
    /// The sender's previous message is less than `slow_mode_ms` older.
    #[error("slow mode: wait before sending again")]
    SlowMode,
    /// Too many joins in the join-wave window.
    #[error("too many people joined recently")]
    JoinWave,
}

impl RuleBreak {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            RuleBreak::MessageTooLong => "message_too_long",
            RuleBreak::BlockedWord => "blocked_word",
            RuleBreak::BlockedPattern => "blocked_pattern",
            RuleBreak::TooManyMentions => "too_many_mentions",
            RuleBreak::LinkNotAllowed => "link_not_allowed",
            RuleBreak::NewMemberLinks => "new_member_links",
            RuleBreak::SlowMode => "slow_mode",
            RuleBreak::JoinWave => "join_wave",
        }
    }
}

impl AuthError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::NoCreate => "no_create",
            AuthError::BadStateKey => "bad_state_key",
            AuthError::BadContent(_) => "bad_content",
            AuthError::NotAMember => "not_a_member",
            AuthError::Banned => "banned",
            AuthError::InsufficientPower => "insufficient_power",
            AuthError::JoinNotAllowed => "join_not_allowed",
            AuthError::AttestationNotAccepted => "attestation_not_accepted",
            AuthError::SenderNotTarget => "sender_not_target",
            AuthError::InvalidMembershipChange => "invalid_membership_change",
            AuthError::PowerChangeNotAllowed => "power_change_not_allowed",
            AuthError::Muted => "muted",
            AuthError::ContentRule(rule) => rule.reason(),
        }
    }
}

/// Why state resolution gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum StateResError {
    /// The deterministic work counter passed its limit (a crafted or pathological fork).
    #[error("state resolution exceeded {limit} work units")]
    TooMuchWork {
        /// The limit that applied.
        limit: u64,
    },
    /// An event the resolution needed is not available to the lookup.
    #[error("state resolution needs unknown event {0}")]
    MissingEvent(EventId),
}

impl StateResError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            StateResError::TooMuchWork { .. } => "state_res_too_large",
            StateResError::MissingEvent(_) => "missing_event",
        }
    }
}

/// Why an event was rejected. Rejection is permanent and the same on every node: it depends only
/// on the event and its ancestors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RejectReason {
    /// The event belongs to another room.
    #[error("event belongs to another room")]
    WrongRoom,
    /// The event references an event of another room.
    #[error("references {0}, an event of another room")]
    ForeignReference(EventId),
    /// The event references an event that was rejected.
    #[error("references rejected event {0}")]
    RejectedReference(EventId),
    /// Depth is not 1 + the largest depth of the prev events.
    #[error("depth {got}, expected {expected}")]
    BadDepth {
        /// The depth the event claims.
        got: u64,
        /// 1 + max depth of its prev events.
        expected: u64,
    },
    /// A required auth event (the create event) is not listed.
    #[error("auth events lack the {0} event")]
    MissingAuthEvent(&'static str),
    /// An auth event is not of a kind/state key this event's authorization may depend on.
    #[error("auth event {0} is not relevant to this event")]
    WrongAuthEvent(EventId),
    /// Two auth events share a (kind, state key).
    #[error("auth event {0} duplicates a (kind, state key)")]
    DuplicateAuthEvent(EventId),
    /// The attestation is about another user key.
    #[error("the attestation is about another user")]
    AttestationMismatch,
    /// The attestation is not valid at the event's origin_ts.
    #[error("the attestation is not valid at the event's timestamp")]
    AttestationExpired,
    /// Fails the authorization rules against its own auth events.
    #[error("not authorized by its own auth events: {0}")]
    AuthFailedOwn(AuthError),
    /// Fails the authorization rules against the state before it.
    #[error("not authorized by the state before it: {0}")]
    AuthFailedState(AuthError),
    /// Resolving the state before the event exceeded the work limit.
    #[error("state before the event is too costly to resolve")]
    StateResTooLarge,
}

impl RejectReason {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            RejectReason::WrongRoom => "wrong_room",
            RejectReason::ForeignReference(_) => "foreign_reference",
            RejectReason::RejectedReference(_) => "rejected_reference",
            RejectReason::BadDepth { .. } => "bad_depth",
            RejectReason::MissingAuthEvent(_) => "missing_auth_event",
            RejectReason::WrongAuthEvent(_) => "wrong_auth_event",
            RejectReason::DuplicateAuthEvent(_) => "duplicate_auth_event",
            RejectReason::AttestationMismatch => "attestation_mismatch",
            RejectReason::AttestationExpired => "attestation_expired",
            RejectReason::AuthFailedOwn(_) => "auth_failed_own",
            RejectReason::AuthFailedState(_) => "auth_failed_state",
            RejectReason::StateResTooLarge => "state_res_too_large",
        }
    }

    /// The authorization rule that failed, for the two auth failures.
    pub fn auth_error(&self) -> Option<AuthError> {
        match self {
            RejectReason::AuthFailedOwn(e) | RejectReason::AuthFailedState(e) => Some(*e),
            _ => None,
        }
    }

    /// The most specific stable name: the failed rule for auth failures, else [`Self::reason`].
    pub fn detail(&self) -> &'static str {
        self.auth_error().map_or(self.reason(), |e| e.reason())
    }
}

/// Why an event was not taken now. Not recorded: the same event may be offered again later
/// (after clocks catch up, parents arrive or forks merge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RefuseReason {
    /// The engine already holds this event (accepted, rejected or held).
    #[error("already known")]
    Duplicate,
    /// origin_ts is more than `MAX_FUTURE_SKEW_MS` ahead of the receiver's clock.
    #[error("origin_ts too far in the future")]
    FromFuture,
    /// The room already holds `MAX_OUTLIERS` events and no source holds more than this one's.
    #[error("too many events waiting for parents")]
    TooManyOutliers,
    /// Its source already has `MAX_HELD_PER_SOURCE` held events in the room.
    #[error("too many held events from this source")]
    TooManyHeldFromSource,
    /// Its author already has `MAX_HELD_PER_AUTHOR` held events in the room.
    #[error("too many held events by this author")]
    TooManyHeldByAuthor,
    /// Accepting it would pass `MAX_FORWARD_EXTREMITIES`.
    #[error("room too wide")]
    TooManyExtremities,
    /// The room's current state could not be resolved within the work limit with it.
    #[error("current state too costly to resolve")]
    CurrentStateTooLarge,
    /// The engine already holds `MAX_ATTESTATIONS` attestations.
    #[error("too many attestations")]
    TooManyAttestations,
}

impl RefuseReason {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            RefuseReason::Duplicate => "duplicate",
            RefuseReason::FromFuture => "from_future",
            RefuseReason::TooManyOutliers => "too_many_outliers",
            RefuseReason::TooManyHeldFromSource => "too_many_held_from_source",
            RefuseReason::TooManyHeldByAuthor => "too_many_held_by_author",
            RefuseReason::TooManyExtremities => "too_many_extremities",
            RefuseReason::CurrentStateTooLarge => "current_state_too_large",
            RefuseReason::TooManyAttestations => "too_many_attestations",
        }
    }
}

/// Why [`crate::Room::prepare`] could not build a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PrepareError {
    /// The room has no accepted create event yet.
    #[error("the room has no create event yet")]
    NoCreate,
    /// Resolving the state at the chosen parents exceeded the work limit.
    #[error("state at the chosen parents is too costly to resolve")]
    StateResTooLarge,
}

impl PrepareError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            PrepareError::NoCreate => "no_create",
            PrepareError::StateResTooLarge => "state_res_too_large",
        }
    }
}
