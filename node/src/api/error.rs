//! The client API's error: a typed [`Reason`] and a message, sent as
//! `{"error": name, "message": text}` (specs/client-api.md, "Conventions"). [`Reason::status`]
//! is the one table of the API's HTTP statuses and [`Reason::name`] of the stable names; no
//! status is chosen anywhere else, and none by comparing names. Every refusal is counted by name
//! in `/metrics`.

use axum::Json;
use axum::http::header::{CONNECTION, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use causerie_crypto::address::{AddressError, AddressKind};
use causerie_storage::StoreError;
use serde_json::json;

use crate::node::NodeError;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Malformed JSON, fields or parameters.
    BadRequest,
    /// `Host` missing, repeated, or naming another host than an absolute request target.
    BadHost,
    /// A handle outside the allowed form.
    BadHandle,
    /// A display name too long or with control characters.
    BadDisplayName,
    /// Contact data too long, empty or with control characters.
    BadContact,
    /// The operator requires contact data at registration and none was given.
    ContactRequired,
    /// Not a user key.
    BadUser,
    /// Not a room id.
    BadRoomId,
    /// Not an event id.
    BadEventId,
    /// Not a history cursor.
    BadCursor,
    /// Event content JSON the envelope cannot carry.
    BadContent,
    /// A submitted draft that does not decode.
    BadDraft,
    /// A submitted event's signature is malformed or does not verify.
    BadSignature,
    /// A power level out of range.
    BadPower,
    /// A room name too long.
    BadName,
    /// A room topic too long.
    BadTopic,
    /// An unknown join rule.
    BadJoinRule,
    /// An unknown assurance level.
    BadMinAssurance,
    /// Not a node key.
    BadDeniedAttester,
    /// Not a node key, or too many (an attester allowlist).
    BadAllowedAttester,
    /// A message body too long.
    BodyTooLong,
    /// A message with no visible text.
    EmptyMessage,
    /// A moderation reason too long.
    ReasonTooLong,
    /// A ban's or mute's end that is malformed, in the past, too far ahead, or given twice
    /// (`expires` and `duration_ms`).
    BadExpiry,
    /// A value another layer refused, with that layer's reason name (an invite link's, an
    /// envelope's).
    Invalid(&'static str),
    /// The room engine could not build the event asked for (its reason name).
    CannotPrepare(&'static str),
    /// A request over one of the node's lookup limits.
    OverLimit,
    /// No `Authorization: Bearer` token.
    MissingToken,
    /// An unknown or expired token.
    BadToken,
    /// A challenge unknown, used or expired.
    UnknownChallenge,
    /// A challenge answer whose signature does not verify.
    BadChallengeSignature,
    /// A foreign `Origin` or a cross-site fetch.
    CrossOrigin,
    /// The user may not read this room.
    NotMember,
    /// A submitted draft by another author.
    NotYourKey,
    /// A submitted draft naming another attestation than the account's.
    WrongAttestation,
    /// Accepted against its own history but not the room's current state (stored, never shown).
    SoftFailed,
    /// The room engine rejected the event (its reason name: `banned`, `not_allowed`, ...).
    RoomRule(&'static str),
    /// A ban list the room follows names the user (specs/moderation.md §3.5).
    BanList,
    /// The user's home node revoked the attestation their events name
    /// (specs/accountability.md §3).
    AttestationRevoked,
    /// No such path.
    NotFound,
    /// The node does not hold the room.
    UnknownRoom,
    /// The node knows no attestation of the user.
    UnknownUser,
    /// The key has no account here.
    NotRegistered,
    /// The path does not take that method.
    MethodNotAllowed,
    /// The request body did not arrive in time.
    BodyTimeout,
    /// The key already has an account.
    AlreadyRegistered,
    /// Another account holds the handle.
    HandleTaken,
    /// The node lacks events or the attestation the submitted event references.
    MissingReferences,
    /// A request body over the limit (declared or sent).
    BodyTooLarge,
    /// Not `Content-Type: application/json`.
    UnsupportedMediaType,
    /// A `Host` not in the allowlist.
    HostNotAllowed,
    /// Over the rate limit.
    RateLimited,
    /// A message the room's content rules refuse (the rule's name: `blocked_word`, ...).
    ContentRule(&'static str),
    /// A message sent before the room's slow mode allows the sender another.
    SlowMode,
    /// Content rules that do not parse (specs/moderation.md §2.1).
    BadContentRules,
    /// An unlock of a room that is not locked down.
    NotLocked,
    /// Too many live streams open.
    TooManyStreams,
    /// Too many pending challenges from this client.
    TooManyChallenges,
    /// A bug; logged.
    Internal,
    /// The store or receive path failed (its reason name); logged.
    Failed(&'static str),
    /// Joining through the network failed.
    JoinFailed,
    /// The node is stopping.
    Unavailable,
    /// A node-wide table is full (pending challenges, sessions).
    Busy,
    /// The system random source failed.
    NoRandomness,
    /// The node cannot take the event now (the receive path's reason name).
    NotNow(&'static str),
    /// The network actor could not answer (its reason name).
    Network(&'static str),
    /// Too many connections open, from this client or in all.
    TooManyConnections,
    /// The classifier refused the submitted event (its reason in the message).
    ClassifierRejected,
    /// The submitted event waits in the room's review queue for a moderator.
    HeldForReview,
    /// The room's review queue is full.
    ReviewFull,
    /// Only the room's moderators may do this.
    NotModerator,
    /// No such item in the room's review queue.
    NoSuchReviewItem,
    /// An admin route without `Authorization: Bearer <operator token>`.
    OperatorAuthRequired,
    /// An admin route with another token than the operator's.
    OperatorAuthFailed,
    /// The node's operator muted this reporter for reporting (specs/accountability.md §1).
    ReportingMuted,
    /// Only accounts registered on this node may do this; the user's home is another node.
    HomeElsewhere,
    /// An alias or handle that names nothing (its reason name: `unknown_server`,
    /// `unknown_alias`, `unknown_handle`).
    NotResolved(&'static str),
    /// No event the node shows in the room has this id.
    UnknownEvent,
    /// A reply, edit, reaction or deletion of an event that is not a message.
    NotAMessage,
    /// An edit or deletion of another user's message.
    NotYourMessage,
    /// An edit of a deleted message or of an edit.
    NotEditable,
    /// A reaction the user already has on the message.
    AlreadyReacted,
    /// An unreact without such a reaction.
    NoReaction,
    /// An invitation of a third user into a direct-message room.
    DmFull,
    /// A name that two things claim (its reason name: `server_name_conflict`, `alias_taken`,
    /// `ambiguous_handle`).
    Conflicting(&'static str),
}

impl Reason {
    /// The HTTP status of each reason: the API's one status table.
    pub fn status(self) -> StatusCode {
        use Reason::*;
        match self {
            BadRequest | BadHost | BadHandle | BadDisplayName | BadContact | ContactRequired
            | BadUser | BadRoomId | BadEventId | BadCursor | BadContent | BadDraft
            | BadSignature | BadPower | BadName | BadTopic | BadJoinRule | BadMinAssurance
            | BadDeniedAttester | BadAllowedAttester | BodyTooLong | EmptyMessage
            | ReasonTooLong | BadExpiry | Invalid(_) | CannotPrepare(_) | OverLimit
            | BadContentRules | NotAMessage | NotEditable => StatusCode::BAD_REQUEST,
            MissingToken
            | BadToken
            | UnknownChallenge
            | BadChallengeSignature
            | OperatorAuthRequired
            | OperatorAuthFailed => StatusCode::UNAUTHORIZED,
            CrossOrigin | NotMember | NotYourKey | WrongAttestation | SoftFailed | RoomRule(_)
            | ClassifierRejected | HeldForReview | NotModerator | ContentRule(_) | BanList
            | AttestationRevoked | ReportingMuted | NotYourMessage | HomeElsewhere => {
                StatusCode::FORBIDDEN
            }
            NotFound | UnknownRoom | UnknownUser | NotRegistered | NoSuchReviewItem
            | NotResolved(_) | UnknownEvent | NoReaction => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            AlreadyRegistered | HandleTaken | MissingReferences | NotLocked | Conflicting(_)
            | AlreadyReacted | DmFull => StatusCode::CONFLICT,
            BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            HostNotAllowed => StatusCode::MISDIRECTED_REQUEST,
            RateLimited | SlowMode | TooManyStreams | TooManyChallenges => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Internal | Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
            JoinFailed => StatusCode::BAD_GATEWAY,
            Unavailable | Busy | NoRandomness | NotNow(_) | Network(_) | TooManyConnections
            | ReviewFull => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable name clients see in `error`.
    pub fn name(self) -> &'static str {
        use Reason::*;
        match self {
            BadRequest => "bad_request",
            BadHost => "bad_host",
            BadHandle => "bad_handle",
            BadDisplayName => "bad_display_name",
            BadContact => "bad_contact",
            ContactRequired => "contact_required",
            BadUser => "bad_user",
            BadRoomId => "bad_room_id",
            BadEventId => "bad_event_id",
            BadCursor => "bad_cursor",
            BadContent => "bad_content",
            BadDraft => "bad_draft",
            BadSignature | BadChallengeSignature => "bad_signature",
            BadPower => "bad_power",
            BadName => "bad_name",
            BadTopic => "bad_topic",
            BadJoinRule => "bad_join_rule",
            BadMinAssurance => "bad_min_assurance",
            BadDeniedAttester => "bad_denied_attester",
            BadAllowedAttester => "bad_allowed_attester",
            BodyTooLong => "body_too_long",
            EmptyMessage => "empty_message",
            ReasonTooLong => "reason_too_long",
            BadExpiry => "bad_expiry",
            OverLimit => "over_limit",
            MissingToken => "missing_token",
            BadToken => "bad_token",
            UnknownChallenge => "unknown_challenge",
            CrossOrigin => "cross_origin",
            NotMember => "not_member",
            NotYourKey => "not_your_key",
            WrongAttestation => "wrong_attestation",
            SoftFailed => "soft_failed",
            BanList => "ban_list",
            AttestationRevoked => "attestation_revoked",
            NotFound => "not_found",
            UnknownRoom => "unknown_room",
            UnknownUser => "unknown_user",
            NotRegistered => "not_registered",
            MethodNotAllowed => "method_not_allowed",
            BodyTimeout => "body_timeout",
            AlreadyRegistered => "already_registered",
            HandleTaken => "handle_taken",
            MissingReferences => "missing_references",
            BodyTooLarge => "body_too_large",
            UnsupportedMediaType => "unsupported_media_type",
            HostNotAllowed => "host_not_allowed",
            RateLimited => "rate_limited",
            SlowMode => "slow_mode",
            BadContentRules => "bad_content_rules",
            NotLocked => "not_locked",
            TooManyStreams => "too_many_streams",
            TooManyChallenges => "too_many_challenges",
            Internal => "internal",
            JoinFailed => "join_failed",
            Unavailable => "unavailable",
            Busy => "busy",
            NoRandomness => "no_randomness",
            TooManyConnections => "too_many_connections",
            ClassifierRejected => "classifier_rejected",
            HeldForReview => "held_for_review",
            ReviewFull => "review_full",
            NotModerator => "not_moderator",
            NoSuchReviewItem => "no_such_review_item",
            OperatorAuthRequired => "operator_auth_required",
            OperatorAuthFailed => "operator_auth_failed",
            ReportingMuted => "reporting_muted",
            UnknownEvent => "unknown_event",
            NotAMessage => "not_a_message",
            NotYourMessage => "not_your_message",
            NotEditable => "not_editable",
            AlreadyReacted => "already_reacted",
            NoReaction => "no_reaction",
            DmFull => "dm_full",
            HomeElsewhere => "home_elsewhere",
            Invalid(name) | CannotPrepare(name) | RoomRule(name) | ContentRule(name)
            | Failed(name) | NotNow(name) | Network(name) | NotResolved(name)
            | Conflicting(name) => name,
        }
    }

    /// Whether the connection closes after the answer: the request's body was not read, or
    /// not completely, so the connection cannot carry another request.
    pub fn closes_connection(self) -> bool {
        matches!(self, Reason::BodyTooLarge | Reason::BodyTimeout)
    }
}

/// A refused request.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// Why.
    pub reason: Reason,
    /// Text for people; may change between versions.
    pub message: String,
    /// Seconds to wait before retrying (the `Retry-After` header).
    pub retry_after_secs: Option<u64>,
    /// Milliseconds to wait before retrying (`retry_after_ms` in the JSON body), when known
    /// finer than seconds.
    pub retry_after_ms: Option<u64>,
}

impl ApiError {
    /// An error with a reason and a message.
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        ApiError {
            reason,
            message: message.into(),
            retry_after_secs: None,
            retry_after_ms: None,
        }
    }

    /// The same error, telling the client to wait `ms` before retrying: `retry_after_ms` in
    /// the body and `Retry-After` rounded up to whole seconds.
    pub fn retry_after_ms(mut self, ms: u64) -> Self {
        self.retry_after_ms = Some(ms);
        self.retry_after_secs = Some(ms.div_ceil(1_000).max(1));
        self
    }

    /// The same error, telling the client to wait `secs` before retrying.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// The HTTP status ([`Reason::status`]).
    pub fn status(&self) -> StatusCode {
        self.reason.status()
    }

    /// 404 `unknown_room`.
    pub fn unknown_room() -> Self {
        ApiError::new(Reason::UnknownRoom, "this node does not hold the room")
    }

    /// 500 `internal`, logged: a bug.
    pub fn internal(message: impl Into<String>) -> Self {
        let error = ApiError::new(Reason::Internal, message);
        tracing::error!(message = %error.message, "internal error in the client API");
        error
    }
}

/// The API reason of a node error: by its type, never its name.
fn node_reason(error: &NodeError) -> Reason {
    match error {
        NodeError::Stopped => Reason::Unavailable,
        NodeError::UnknownRoom => Reason::UnknownRoom,
        NodeError::OverLimit(_) => Reason::OverLimit,
        NodeError::Prepare(e) => Reason::CannotPrepare(e.reason()),
        NodeError::InboxFull => Reason::Busy,
        NodeError::ReviewFull => Reason::ReviewFull,
        NodeError::BanList(_) => Reason::BanList,
        NodeError::Revoked(_) => Reason::AttestationRevoked,
        NodeError::Store(StoreError::HandleTaken) => Reason::HandleTaken,
        NodeError::Audit(e) => Reason::Invalid(e.reason()),
        NodeError::Disclosure(e) => Reason::Invalid(e.reason()),
        NodeError::Ledger(_) | NodeError::Store(_) | NodeError::Letter(_) => {
            Reason::Failed(error.reason())
        }
    }
}

impl From<AddressError> for ApiError {
    /// An id, key or link in the request that does not parse.
    fn from(error: AddressError) -> Self {
        let reason = match error.kind() {
            Some(AddressKind::Room) => Reason::BadRoomId,
            Some(AddressKind::Event) => Reason::BadEventId,
            Some(AddressKind::User) => Reason::BadUser,
            Some(AddressKind::Attestation) | None => Reason::Invalid(error.reason()),
        };
        ApiError::new(reason, error.to_string())
    }
}

impl From<NodeError> for ApiError {
    fn from(error: NodeError) -> Self {
        let reason = node_reason(&error);
        if reason.status().is_server_error() && reason != Reason::Unavailable {
            tracing::error!(reason = reason.name(), error = %error, "node request failed");
        }
        ApiError::new(reason, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let name = self.reason.name();
        let mut body = json!({ "error": name, "message": self.message });
        if let Some(ms) = self.retry_after_ms {
            body["retry_after_ms"] = ms.into();
        }
        let mut response = (self.reason.status(), Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(RETRY_AFTER, secs.into());
        }
        if self.reason.closes_connection() {
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        // The middleware counts refusals by name from this marker.
        response.extensions_mut().insert(Refusal(name));
        response
    }
}

/// Marks a response as a refusal with its reason name, for the counters.
#[derive(Debug, Clone, Copy)]
pub struct Refusal(pub &'static str);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_has_one_status_and_a_snake_case_name() {
        let reasons = [
            Reason::BadRequest,
            Reason::BadHost,
            Reason::EmptyMessage,
            Reason::BadChallengeSignature,
            Reason::BadSignature,
            Reason::RoomRule("banned"),
            Reason::BodyTimeout,
            Reason::TooManyChallenges,
            Reason::TooManyConnections,
        ];
        for reason in reasons {
            let name = reason.name();
            assert!(
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}"
            );
        }
        assert_eq!(Reason::BadSignature.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            Reason::BadChallengeSignature.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(Reason::BodyTimeout.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(Reason::RoomRule("banned").status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn a_taken_handle_is_a_conflict_by_type() {
        let error = NodeError::Store(StoreError::HandleTaken);
        let api = ApiError::from(error);
        assert_eq!(api.status(), StatusCode::CONFLICT);
        assert_eq!(api.reason.name(), "handle_taken");
    }
}
