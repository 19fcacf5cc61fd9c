//! Abuse reports in the client API (specs/accountability.md §1.4). The node prepares the
//! unsigned report (it holds the events' full signed bytes); the client checks it and signs
//! `"causerie/v1/report\0"` ‖ those bytes with the user's key; the node takes it and delivers it.
//!
//! - `POST /api/v1/reports/prepare` `{target, category, text?, room?, user?, events?}`:
//!   `{draft, signing_input, report}` (hex, hex, the fields as JSON).
//! - `POST /api/v1/reports` `{draft, signature}`: the report taken, as `report_json`.
//! - `GET /api/v1/reports`: the user's reports, newest first, each with its receipts.
//! - `GET /api/v1/reports/{id}`: one of them.

use axum::Json;
use axum::extract::State;
use causerie_crypto::address::{parse_event_id, parse_room, parse_user};
use causerie_crypto::report::{Category, ReportDraft, ReportError, Target};
use causerie_crypto::{Report, ReportId};
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

use super::ApiState;
use super::auth::Authed;
use super::error::{ApiError, Reason};
use super::json::{Body, Segment, content_to_json, parse_hex, parse_signature};
use crate::reports::{ReceivedReport, ReportRequest, Reports, ReportsError, SentReport};

impl From<ReportsError> for ApiError {
    fn from(error: ReportsError) -> Self {
        let message = error.to_string();
        match error {
            ReportsError::Report(e) => ApiError::new(Reason::Invalid(e.reason()), message),
            ReportsError::NotYourReport => ApiError::new(Reason::NotYourKey, message),
            ReportsError::WrongReporterNode => {
                ApiError::new(Reason::Invalid("wrong_reporter_node"), message)
            }
            ReportsError::Muted => ApiError::new(Reason::ReportingMuted, message),
            ReportsError::RateLimited { retry_after_ms } => {
                ApiError::new(Reason::RateLimited, message).retry_after_ms(retry_after_ms)
            }
            ReportsError::UnknownRoom => ApiError::unknown_room(),
            ReportsError::UnknownEvent(_) | ReportsError::NoSuchReport => {
                ApiError::new(Reason::NotFound, message)
            }
            ReportsError::NotQueued | ReportsError::NotADecision => {
                ApiError::new(Reason::BadRequest, message)
            }
            ReportsError::Full => ApiError::new(Reason::Busy, message).retry_after(60),
            ReportsError::Node(e) => e.into(),
        }
    }
}

/// The reports handle, or `503 unavailable` on a node started without one.
pub(super) fn reports(state: &ApiState) -> Result<&Reports, ApiError> {
    state
        .reports
        .as_ref()
        .ok_or_else(|| ApiError::new(Reason::Unavailable, "this node takes no reports"))
}

/// A report that does not encode, decode or verify: `400` with the report's reason name.
fn invalid_report(error: ReportError) -> ApiError {
    ApiError::new(Reason::Invalid(error.reason()), error.to_string())
}

/// A report's fields as JSON (the embedded events with their content as signed).
pub fn report_fields_json(draft: &ReportDraft) -> JsonValue {
    json!({
        "target": draft.target.name(),
        "category": draft.category.name(),
        "text": draft.text,
        "room": draft.room.map(|r| r.to_string()),
        "user": draft.user.map(|u| hex::encode(u.as_bytes())),
        "reporter": hex::encode(draft.reporter.as_bytes()),
        "reporter_node": hex::encode(draft.reporter_node.as_bytes()),
        "created_ms": draft.created_ms,
        "events": draft.events.iter().map(|e| json!({
            "id": e.id().to_string(),
            "author": hex::encode(e.author().as_bytes()),
            "kind": e.kind(),
            "origin_ts": e.origin_ts(),
            "redacted": e.is_redacted(),
            "content": content_to_json(e.content()),
        })).collect::<Vec<_>>(),
    })
}

/// A report as its reporter sees it: fields, overall status, every receipt.
pub fn sent_json(sent: &SentReport) -> JsonValue {
    json!({
        "id": sent.report.id().to_string(),
        "status": sent.summary(),
        "report": report_fields_json(sent.report.fields()),
        "sent_ms": sent.sent_ms,
        "recipients": sent.recipients.iter().map(|n| hex::encode(n.as_bytes())).collect::<Vec<_>>(),
        "receipts": sent.receipts.iter().map(|r| json!({
            "node": hex::encode(r.node().as_bytes()),
            "queue": r.queue().name(),
            "status": r.status().name(),
            "note": r.note(),
            "at_ms": r.at_ms(),
            "bytes": hex::encode(r.as_bytes()),
        })).collect::<Vec<_>>(),
        "bytes": hex::encode(sent.report.as_bytes()),
    })
}

/// A report as a recipient's operator sees it.
pub fn received_json(received: &ReceivedReport) -> JsonValue {
    json!({
        "id": received.report.id().to_string(),
        "report": report_fields_json(received.report.fields()),
        "from": hex::encode(received.from.as_bytes()),
        "received_ms": received.received_ms,
        "review": received.review.map(|s| s.name()),
        "operator": received.operator.map(|s| s.name()),
        "bytes": hex::encode(received.report.as_bytes()),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PrepareRequest {
    target: String,
    category: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    room: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    events: Vec<String>,
}

pub(super) async fn prepare(
    State(state): State<ApiState>,
    Authed(session): Authed,
    Body(request): Body<PrepareRequest>,
) -> Result<Json<JsonValue>, ApiError> {
    let reports = reports(&state)?;
    if request.events.len() > causerie_crypto::report::MAX_REPORT_EVENTS {
        return Err(ApiError::new(
            Reason::Invalid("too_many_report_events"),
            "at most 16 events",
        ));
    }
    let request = ReportRequest {
        target: Target::parse(&request.target).map_err(invalid_report)?,
        category: Category::parse(&request.category).map_err(invalid_report)?,
        text: request.text,
        room: request.room.as_deref().map(parse_room).transpose()?,
        user: request.user.as_deref().map(parse_user).transpose()?,
        events: request
            .events
            .iter()
            .map(|e| parse_event_id(e))
            .collect::<Result<_, _>>()?,
    };
    let draft = reports.prepare(session.user, request).await?;
    let bytes = draft.encode().map_err(invalid_report)?;
    let signing_input = draft.signing_input().map_err(invalid_report)?;
    Ok(Json(json!({
        "draft": hex::encode(bytes),
        "signing_input": hex::encode(signing_input),
        "report": report_fields_json(&draft),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SubmitRequest {
    draft: String,
    signature: String,
}

pub(super) async fn submit(
    State(state): State<ApiState>,
    Authed(session): Authed,
    Body(request): Body<SubmitRequest>,
) -> Result<Json<JsonValue>, ApiError> {
    let reports = reports(&state)?;
    let bytes = parse_hex(
        &request.draft,
        causerie_crypto::report::MAX_REPORT_BYTES,
        Reason::BadDraft,
    )?;
    let signature = parse_signature(&request.signature)?;
    let draft = ReportDraft::decode(&bytes).map_err(invalid_report)?;
    let report: Report = draft.with_signature(signature).map_err(|e| match e {
        ReportError::BadSignature => {
            ApiError::new(Reason::BadSignature, "the signature does not verify")
        }
        other => invalid_report(other),
    })?;
    let sent = reports.submit(session.user, report).await?;
    Ok(Json(sent_json(&sent)))
}

pub(super) async fn list(
    State(state): State<ApiState>,
    Authed(session): Authed,
) -> Result<Json<JsonValue>, ApiError> {
    let sent = reports(&state)?.sent(session.user).await?;
    Ok(Json(json!({
        "reports": sent.iter().map(sent_json).collect::<Vec<_>>(),
    })))
}

/// A report id in a path, refused as `400 bad_request`.
pub(super) fn parse_report_id(text: &str) -> Result<ReportId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::new(Reason::BadRequest, "a report id is 64 lowercase hex digits"))
}

pub(super) async fn one(
    State(state): State<ApiState>,
    Authed(session): Authed,
    Segment(id): Segment,
) -> Result<Json<JsonValue>, ApiError> {
    let id = parse_report_id(&id)?;
    let sent = reports(&state)?
        .sent_report(session.user, id)
        .await?
        .ok_or_else(|| ApiError::new(Reason::NotFound, "you made no such report"))?;
    Ok(Json(sent_json(&sent)))
}
