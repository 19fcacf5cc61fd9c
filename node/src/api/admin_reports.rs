//! The operator's report queue in the operator API (specs/accountability.md §1.4), behind the
//! operator token like every `/api/v1/admin/` route:
//!
//! - `GET /api/v1/admin/reports?queue=operator|review|all&after=ID&limit=N`: reports delivered
//!   to this node (default: the operator queue), in report-id order.
//! - `GET /api/v1/admin/reports/{id}`: one, with its signed bytes (verifiable offline).
//! - `POST /api/v1/admin/reports/{id}/action` and `.../dismiss` `{note?}`: decides it in the
//!   operator queue; the signed status goes back to the reporter's node; an audit entry
//!   `report_actioned` / `report_dismissed` is appended.
//! - `GET /api/v1/admin/reporters?after=KEY`: reporters and how their reports fared.
//! - `POST /api/v1/admin/reporters/{user}/mute` `{muted}`: mutes or unmutes a reporter for
//!   reporting on this node.

use axum::Json;
use causerie_crypto::address::parse_user;
use causerie_crypto::report::{MAX_RECEIPT_NOTE_BYTES, Queue, Status};
use causerie_crypto::{ReportId, UserKey};
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

use super::ApiState;
use super::error::{ApiError, Reason};
use super::json::{Body, Params, Segment, is_plain_text};
use super::operator::Operator;
use super::reports::{parse_report_id, received_json, reports};
use crate::reports::ReporterStanding;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    queue: Option<String>,
    after: Option<String>,
    limit: Option<usize>,
}

pub(super) async fn list(
    Operator(state): Operator,
    Params(query): Params<ListQuery>,
) -> Result<Json<JsonValue>, ApiError> {
    let queue = match query.queue.as_deref() {
        None | Some("operator") => Some(Queue::Operator),
        Some("review") => Some(Queue::Review),
        Some("all") => None,
        Some(_) => {
            return Err(ApiError::new(
                Reason::BadRequest,
                "queue is operator, review or all",
            ));
        }
    };
    let after = query.after.as_deref().map(parse_report_id).transpose()?;
    let limit = query.limit.unwrap_or(causerie_storage::MAX_REPORT_SCAN);
    let list = reports(&state)?.received(queue, after, limit).await?;
    Ok(Json(json!({
        "reports": list.iter().map(received_json).collect::<Vec<_>>(),
        "next": list.last().map(|r| r.report.id().to_string()),
    })))
}

pub(super) async fn one(
    Operator(state): Operator,
    Segment(id): Segment,
) -> Result<Json<JsonValue>, ApiError> {
    let id = parse_report_id(&id)?;
    let report = reports(&state)?
        .received_report(id)
        .await?
        .ok_or_else(|| ApiError::new(Reason::NotFound, "no such report here"))?;
    Ok(Json(received_json(&report)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DecideBody {
    #[serde(default)]
    note: Option<String>,
}

async fn decide(
    state: &ApiState,
    id: ReportId,
    status: Status,
    note: Option<String>,
) -> Result<Json<JsonValue>, ApiError> {
    if note
        .as_ref()
        .is_some_and(|n| !is_plain_text(n, MAX_RECEIPT_NOTE_BYTES))
    {
        return Err(ApiError::new(
            Reason::ReasonTooLong,
            format!("a note is at most {MAX_RECEIPT_NOTE_BYTES} bytes, no control characters"),
        ));
    }
    let report = reports(state)?
        .decide(id, Queue::Operator, status, note)
        .await?;
    Ok(Json(received_json(&report)))
}

pub(super) async fn action(
    Operator(state): Operator,
    Segment(id): Segment,
    Body(body): Body<DecideBody>,
) -> Result<Json<JsonValue>, ApiError> {
    decide(&state, parse_report_id(&id)?, Status::Actioned, body.note).await
}

pub(super) async fn dismiss(
    Operator(state): Operator,
    Segment(id): Segment,
    Body(body): Body<DecideBody>,
) -> Result<Json<JsonValue>, ApiError> {
    decide(&state, parse_report_id(&id)?, Status::Dismissed, body.note).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportersQuery {
    after: Option<String>,
}

pub(super) async fn reporters(
    Operator(state): Operator,
    Params(query): Params<ReportersQuery>,
) -> Result<Json<JsonValue>, ApiError> {
    let after = query.after.as_deref().map(parse_user).transpose()?;
    let list = reports(&state)?.reporters(after).await?;
    Ok(Json(json!({
        "reporters": list.iter().map(|(user, s)| standing_json(user, s)).collect::<Vec<_>>(),
    })))
}

/// A reporter and how their reports fared.
fn standing_json(user: &UserKey, standing: &ReporterStanding) -> JsonValue {
    json!({
        "user": user.to_string(),
        "reports": standing.reports,
        "actioned": standing.actioned,
        "dismissed": standing.dismissed,
        "muted": standing.muted,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MuteBody {
    muted: bool,
}

pub(super) async fn mute(
    Operator(state): Operator,
    Segment(user): Segment,
    Body(body): Body<MuteBody>,
) -> Result<Json<JsonValue>, ApiError> {
    let user = parse_user(&user)?;
    let standing = reports(&state)?.set_muted(user, body.muted).await?;
    Ok(Json(standing_json(&user, &standing)))
}
