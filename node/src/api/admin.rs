//! The operator API (specs/accountability.md §4.6): routes under `/api/v1/admin/`, each
//! authenticated by the operator token ([`super::operator::Operator`]), never by a user session.
//!
//! - `GET /api/v1/admin/audit?after=SEQ&limit=N`: audit entries after `after` (default 0), at
//!   most `limit` (default and cap `causerie_storage::MAX_AUDIT_PAGE`), with the log's tip.
//! - `GET /api/v1/admin/audit/head`: a head signed now; the same, for anyone and without the
//!   token, at `GET /api/v1/audit/head` (a head says only how long the log is).
//! - `POST /api/v1/admin/requests` `{request_ref, user?, authority?}`: records a lawful request
//!   as received (audit entry `request_received`, subject the user key or empty); answers
//!   `{seq}`.
//! - `POST /api/v1/admin/refuse` `{request_ref, user?, reason}`: records a lawful request as
//!   refused (`disclosure_refused`); answers `{seq}`.
//! - `POST /api/v1/admin/disclose` `{user, request_ref}`: builds, signs and records a
//!   disclosure bundle (§5); answers `{seq, bundle (hex), hash, events, attestations,
//!   complete}`.
//! - `GET /api/v1/admin/transparency?period=day|month|year` (default month): counts per
//!   period (§6).

use axum::Json;
use axum::extract::State;
use causerie_crypto::address::parse_user;
use causerie_crypto::audit::{AuditEntry, AuditHead, AuditKind};
use causerie_storage::MAX_AUDIT_PAGE;
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

use super::ApiState;
use super::error::{ApiError, Reason};
use super::json::{Body, Params, is_plain_text};
use super::operator::Operator;
use crate::node::TransparencyPeriod;

/// An audit entry as JSON: its fields, its hash and its signed bytes (hex).
pub fn entry_json(entry: &AuditEntry) -> JsonValue {
    json!({
        "seq": entry.seq(),
        "kind": entry.kind_name(),
        "subject": entry.subject(),
        "at_ms": entry.at_ms(),
        "details": entry.details(),
        "prev": entry.prev().to_hex(),
        "hash": entry.hash().to_hex(),
        "node": entry.node().to_string(),
        "bytes": hex::encode(entry.as_bytes()),
    })
}

/// A head as JSON: its fields and its signed bytes (hex).
pub fn head_json(head: &AuditHead) -> JsonValue {
    json!({
        "seq": head.seq(),
        "hash": head.hash().to_hex(),
        "at_ms": head.at_ms(),
        "node": head.node().to_string(),
        "bytes": hex::encode(head.as_bytes()),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditQuery {
    after: Option<u64>,
    limit: Option<usize>,
}

pub(super) async fn audit(
    Operator(state): Operator,
    Params(query): Params<AuditQuery>,
) -> Result<Json<JsonValue>, ApiError> {
    let audit = state.node.audit();
    let limit = query.limit.unwrap_or(MAX_AUDIT_PAGE).min(MAX_AUDIT_PAGE);
    let entries = audit.entries(query.after.unwrap_or(0), limit).await?;
    let tip = audit.tip().await?;
    Ok(Json(json!({
        "entries": entries.iter().map(entry_json).collect::<Vec<_>>(),
        "tip": { "seq": tip.seq, "hash": tip.hash.to_hex() },
    })))
}

/// The public head: anyone may fetch and keep it.
pub(super) async fn public_head(
    State(state): State<ApiState>,
) -> Result<Json<JsonValue>, ApiError> {
    let head = state.node.audit().head().await?;
    Ok(Json(head_json(&head)))
}

pub(super) async fn audit_head(Operator(state): Operator) -> Result<Json<JsonValue>, ApiError> {
    let head = state.node.audit().head().await?;
    Ok(Json(head_json(&head)))
}

/// Longest request reference, in bytes.
pub const MAX_REQUEST_REF_BYTES: usize = 128;
/// Longest authority name, in bytes.
pub const MAX_AUTHORITY_BYTES: usize = 256;

/// A request reference: 1 to [`MAX_REQUEST_REF_BYTES`] bytes without control characters.
pub(super) fn request_ref(text: &str) -> Result<&str, ApiError> {
    if text.is_empty() || !is_plain_text(text, MAX_REQUEST_REF_BYTES) {
        return Err(ApiError::new(
            Reason::BadRequest,
            format!("request_ref: 1 to {MAX_REQUEST_REF_BYTES} bytes, no control characters"),
        ));
    }
    Ok(text)
}

/// The audit subject of a lawful request: the user key it names, or empty.
fn subject(user: Option<&str>) -> Result<String, ApiError> {
    Ok(match user {
        Some(user) => parse_user(user)?.to_string(),
        None => String::new(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RequestBody {
    request_ref: String,
    user: Option<String>,
    authority: Option<String>,
}

pub(super) async fn request(
    Operator(state): Operator,
    Body(body): Body<RequestBody>,
) -> Result<Json<JsonValue>, ApiError> {
    let reference = request_ref(&body.request_ref)?;
    let subject = subject(body.user.as_deref())?;
    let mut details = crate::node::details([("request_ref", reference)]);
    if let Some(authority) = &body.authority {
        if !is_plain_text(authority, MAX_AUTHORITY_BYTES) {
            return Err(ApiError::new(
                Reason::BadRequest,
                format!("authority: at most {MAX_AUTHORITY_BYTES} bytes, no control characters"),
            ));
        }
        details.insert("authority".into(), authority.clone());
    }
    let seq = state
        .node
        .audit()
        .append(AuditKind::RequestReceived, subject, details)
        .await?;
    Ok(Json(json!({ "seq": seq })))
}

/// Longest refusal reason, in bytes.
pub const MAX_REFUSAL_REASON_BYTES: usize = 256;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RefuseBody {
    request_ref: String,
    user: Option<String>,
    reason: String,
}

pub(super) async fn refuse(
    Operator(state): Operator,
    Body(body): Body<RefuseBody>,
) -> Result<Json<JsonValue>, ApiError> {
    let reference = request_ref(&body.request_ref)?;
    if body.reason.is_empty() || !is_plain_text(&body.reason, MAX_REFUSAL_REASON_BYTES) {
        return Err(ApiError::new(
            Reason::BadRequest,
            format!("reason: 1 to {MAX_REFUSAL_REASON_BYTES} bytes, no control characters"),
        ));
    }
    let subject = subject(body.user.as_deref())?;
    let seq = state
        .node
        .audit()
        .append(
            AuditKind::DisclosureRefused,
            subject,
            crate::node::details([("request_ref", reference), ("reason", &body.reason)]),
        )
        .await?;
    Ok(Json(json!({ "seq": seq })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DiscloseBody {
    user: String,
    request_ref: String,
}

pub(super) async fn disclose(
    Operator(state): Operator,
    Body(body): Body<DiscloseBody>,
) -> Result<Json<JsonValue>, ApiError> {
    let reference = request_ref(&body.request_ref)?.to_owned();
    let user = parse_user(&body.user)?;
    let policy = state.node.records().policy();
    let disclosed = state.node.audit().disclose(user, reference, policy).await?;
    let bundle = &disclosed.bundle;
    Ok(Json(json!({
        "seq": disclosed.seq,
        "hash": bundle.hash().to_hex(),
        "user": bundle.user().to_string(),
        "request_ref": bundle.request_ref(),
        "events": bundle.events().len(),
        "attestations": bundle.attestations().len(),
        "record": bundle.record().is_some(),
        "complete": bundle.complete(),
        "bundle": hex::encode(bundle.as_bytes()),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TransparencyQuery {
    period: Option<String>,
}

pub(super) async fn transparency(
    Operator(state): Operator,
    Params(query): Params<TransparencyQuery>,
) -> Result<Json<JsonValue>, ApiError> {
    let name = query.period.as_deref().unwrap_or("month");
    let period = TransparencyPeriod::parse(name)
        .ok_or_else(|| ApiError::new(Reason::BadRequest, "period: day, month or year"))?;
    let (periods, scanned, complete) = state.node.audit().transparency(period).await?;
    Ok(Json(json!({
        "period": name,
        "periods": periods,
        "entries_read": scanned,
        "complete": complete,
    })))
}
