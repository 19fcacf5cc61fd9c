//! The classifier on the client path and the review queues (specs/moderation.md §6 and §7).
//!
//! A client's submission is asked about before the node takes it ([`screen`]): `reject` refuses
//! it (`403 classifier_rejected`, with the classifier's reason), `hold` queues it for the room's
//! moderators without ingesting it (`403 held_for_review`), `labels` takes it and queues it as
//! flagged ([`flag`]). When the classifier cannot answer, the room's fail mode decides.
//!
//! The queue's routes, for the room's moderators only (power at least the room's kick and
//! redact levels; `403 not_moderator` otherwise):
//! - `GET /api/v1/rooms/{room}/review?after=N&limit=M`: items, oldest first.
//! - `POST /api/v1/rooms/{room}/review/{item}/approve`: a held submission is ingested as it
//!   was signed (answer: its outcome); a flagged or hidden event is kept and shown (a hidden
//!   one from then on: it was not relayed while hidden, and peers have it already).
//! - `POST /api/v1/rooms/{room}/review/{item}/reject` (`{"reason"?}`): a held submission is
//!   dropped; a flagged or hidden event leaves the queue (the moderator's client removes it
//!   from the room with an ordinary signed redaction, which the CLI does in the same command).

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use causerie_crypto::address::parse_room;
use causerie_crypto::{Event, RoomId};
use causerie_storage::ReviewId;
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

use super::ApiState;
use super::auth::Authed;
use super::error::{ApiError, Reason};
use super::events::ingest_one;
use super::json::{Body, Params, RoomPath, Sender, attestation_json, content_to_json, event_json};
use super::limits::MAX_REASON_BYTES;
use super::rooms::view;
use crate::clock::now_ms;
use crate::moderation::classifier::{Candidate, CandidateSource, Decision, Ruling};
use crate::moderation::review::{ReviewEntry, ReviewState, classified_kind};
use crate::node::{IngestOutcome, NodeEvent, ReviewDecision};

/// Asks the classifier about a local client's event before it is ingested. `Ok(None)`: no
/// classifier, or the room's is off, or the kind is not classified; `Ok(Some(ruling))`: go on
/// (accept or labels); `Err`: refused or held (and queued).
pub(super) async fn screen(state: &ApiState, event: &Event) -> Result<Option<Ruling>, ApiError> {
    let Some(classifier) = &state.classifier else {
        return Ok(None);
    };
    if !classified_kind(event.kind(), event.state_key().is_some()) {
        return Ok(None);
    }
    let review = state.node.review();
    let room = event.room_id();
    let room_rule = review.room_fail_mode(room).await?;
    let mode = classifier.fail_mode(&room, room_rule);
    let attestation = state
        .node
        .accounts()
        .attestation(*event.attestation())
        .await?
        .map(|a| attestation_json(&a));
    let candidate = Candidate {
        id: event.id(),
        room,
        author: *event.author(),
        kind: event.kind().to_owned(),
        content: content_to_json(event.content()),
        attestation,
        source: CandidateSource::Client,
        received_ms: now_ms(),
    };
    let ruling = classifier.classify(&candidate, mode).await;
    match &ruling.decision {
        Decision::Accept | Decision::Labels { .. } => Ok(Some(ruling)),
        Decision::Reject { reason } => Err(ApiError::new(
            Reason::ClassifierRejected,
            match reason {
                Some(reason) => format!("the room's classifier refused this: {reason}"),
                None => "the room's classifier refused this".to_owned(),
            },
        )),
        Decision::Hold { .. } => {
            let item = review
                .queue(&entry(ReviewState::Held, event, &ruling, "client"))
                .await?;
            Err(ApiError::new(
                Reason::HeldForReview,
                format!(
                    "this waits for a moderator of the room to review it (item {})",
                    item.0
                ),
            ))
        }
    }
}

/// Queues an accepted local event the classifier labelled, as flagged (shown meanwhile). A full
/// queue is logged: the event is already taken, and its labels are in the log.
pub(super) async fn flag(state: &ApiState, event: &Event, ruling: Option<Ruling>) {
    let Some(ruling) = ruling else { return };
    if !matches!(ruling.decision, Decision::Labels { .. }) {
        return;
    }
    let queued = state
        .node
        .review()
        .queue(&entry(ReviewState::Flagged, event, &ruling, "client"))
        .await;
    if let Err(e) = queued {
        tracing::warn!(event = %event.id(), reason = e.reason(), "flagged event not queued");
    }
}

fn entry(state: ReviewState, event: &Event, ruling: &Ruling, source: &str) -> ReviewEntry {
    ReviewEntry {
        state,
        event: event.clone(),
        source: source.to_owned(),
        ruled_by: match ruling.by {
            crate::moderation::classifier::RuledBy::FailMode(mode, _) => mode.name().to_owned(),
            _ => "classifier".to_owned(),
        },
        reason: ruling.reason(),
        labels: ruling.labels().to_vec(),
        queued_ms: now_ms(),
    }
}

/// Refuses unless the session's user moderates the room: their power is at least the room's
/// kick and redact levels.
async fn moderated(
    state: &ApiState,
    room: RoomId,
    user: causerie_crypto::UserKey,
) -> Result<(), ApiError> {
    let view = view(state, room, user).await?;
    let needed = view.power_levels.kick.max(view.power_levels.redact);
    if view.power < needed {
        return Err(ApiError::new(
            Reason::NotModerator,
            "only the room's moderators may review its queue",
        ));
    }
    Ok(())
}

fn item_json(id: ReviewId, entry: &ReviewEntry) -> JsonValue {
    json!({
        "item": id.0,
        "state": entry.state.name(),
        "event": event_json(&entry.event, &Sender::default()),
        "source": entry.source,
        "ruled_by": entry.ruled_by,
        "reason": entry.reason,
        "labels": entry.labels,
        "queued_ms": entry.queued_ms,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    #[serde(default)]
    after: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
}

pub(super) async fn list(
    State(state): State<ApiState>,
    Authed(session): Authed,
    RoomPath(room): RoomPath,
    Params(query): Params<ListQuery>,
) -> Result<Json<JsonValue>, ApiError> {
    moderated(&state, room, session.user).await?;
    let limit = query.limit.unwrap_or(causerie_storage::MAX_REVIEW_PAGE);
    let review = state.node.review();
    let items = review.items(room, query.after.map(ReviewId), limit).await?;
    let next = items.last().map(|(id, _)| id.0);
    Ok(Json(json!({
        "room": room.to_string(),
        "count": review.count(room).await?,
        "items": items.iter().map(|(id, entry)| item_json(*id, entry)).collect::<Vec<_>>(),
        "next": next,
    })))
}

/// The room and item of a `/rooms/{room}/review/{item}/...` path: `400 bad_request` JSON when
/// they do not parse, `400 bad_room_id` when the room is not a room id.
pub(super) struct ItemPath(RoomId, ReviewId);

impl<S: Send + Sync> FromRequestParts<S> for ItemPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (room, item) = axum::extract::Path::<(String, u64)>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::new(Reason::BadRequest, e.body_text()))?
            .0;
        Ok(ItemPath(parse_room(&room)?, ReviewId(item)))
    }
}

/// The queued entry of a path's room and item, for a moderator.
async fn queued(
    state: &ApiState,
    user: causerie_crypto::UserKey,
    ItemPath(room, id): ItemPath,
) -> Result<(RoomId, ReviewId, ReviewEntry), ApiError> {
    moderated(state, room, user).await?;
    let entry = state
        .node
        .review()
        .item(room, id)
        .await?
        .ok_or_else(|| ApiError::new(Reason::NoSuchReviewItem, "no such item in the queue"))?;
    Ok((room, id, entry))
}

/// Takes a decided item out of the queue: the reports that named it learn the decision, and
/// the author of a held submission is told on their live streams (not later, if none is open).
async fn close(
    state: &ApiState,
    room: RoomId,
    id: ReviewId,
    entry: &ReviewEntry,
    decision: ReviewDecision,
    reason: Option<String>,
) -> Result<(), ApiError> {
    state.node.review().remove(room, id).await?;
    if let Some(reports) = &state.reports {
        reports
            .review_decided(entry, decision == ReviewDecision::Rejected)
            .await;
    }
    if entry.state == ReviewState::Held {
        state.node.notify(NodeEvent::ReviewDecided {
            room,
            event: entry.event.id(),
            author: *entry.event.author(),
            decision,
            reason,
        });
    }
    Ok(())
}

pub(super) async fn approve(
    State(state): State<ApiState>,
    Authed(session): Authed,
    path: ItemPath,
    Body(_request): Body<serde_json::Map<String, JsonValue>>,
) -> Result<Json<JsonValue>, ApiError> {
    let (room, id, entry) = queued(&state, session.user, path).await?;
    let event_id = entry.event.id();
    let mut answer = json!({
        "item": id.0,
        "event_id": event_id.to_string(),
        "state": entry.state.name(),
        "approved": true,
    });
    if entry.state == ReviewState::Hidden {
        state.node.review().unhide(&event_id);
    }
    if entry.state == ReviewState::Held {
        // Ingested as it was signed: the room's rules decide as for any submission.
        match ingest_one(&state, entry.event.clone()).await? {
            Some(IngestOutcome::Accepted { visible }) => answer["visible"] = json!(visible),
            Some(IngestOutcome::Duplicate) => answer["visible"] = json!(true),
            Some(IngestOutcome::Rejected(reason)) => {
                // Final on every node: the item can never be taken; it leaves the queue.
                state.node.review().remove(room, id).await?;
                return Err(ApiError::new(
                    Reason::RoomRule(reason.detail()),
                    "the room's rules refuse this event now; it left the queue",
                ));
            }
            _ => {
                return Err(ApiError::new(
                    Reason::NotNow("not_taken"),
                    "the node cannot take this event now; try again",
                )
                .retry_after(1));
            }
        }
    }
    close(&state, room, id, &entry, ReviewDecision::Approved, None).await?;
    tracing::info!(%room, item = id.0, event = %event_id, moderator = %session.user, "review item approved");
    Ok(Json(answer))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RejectRequest {
    #[serde(default)]
    reason: Option<String>,
}

pub(super) async fn reject(
    State(state): State<ApiState>,
    Authed(session): Authed,
    path: ItemPath,
    Body(request): Body<RejectRequest>,
) -> Result<Json<JsonValue>, ApiError> {
    if request
        .reason
        .as_ref()
        .is_some_and(|r| r.len() > MAX_REASON_BYTES)
    {
        return Err(ApiError::new(
            Reason::ReasonTooLong,
            format!("at most {MAX_REASON_BYTES} bytes"),
        ));
    }
    let (room, id, entry) = queued(&state, session.user, path).await?;
    let reason = request.reason.clone();
    close(&state, room, id, &entry, ReviewDecision::Rejected, reason).await?;
    tracing::info!(
        %room,
        item = id.0,
        event = %entry.event.id(),
        author = %entry.event.author(),
        moderator = %session.user,
        reason = request.reason.as_deref().unwrap_or(""),
        state = entry.state.name(),
        "review item rejected"
    );
    Ok(Json(json!({
        "item": id.0,
        "event_id": entry.event.id().to_string(),
        "author": hex::encode(entry.event.author().as_bytes()),
        "state": entry.state.name(),
        "rejected": true,
        // A held submission never entered the room; an accepted one needs a redaction.
        "needs_redaction": entry.state != ReviewState::Held,
    })))
}
