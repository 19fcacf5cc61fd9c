//! The user's data-protection rights (specs/accountability.md §7): `GET /api/v1/me/export`, a
//! page of everything this node holds about the session's user (account, attestations,
//! registration record with each item's expiry, the events they wrote as stored), and
//! `POST /api/v1/me/erase`, which erases the registration record except what the operator must
//! keep, clears the display name and forgets the user's read markers (specs/signals.md §5).
//! For a user logged in here from another node (a remote session), both cover what this node
//! holds: their events, the attestation it keeps, their read markers; the account and the
//! registration record live on their home node. The redactions of the user's events are signed by the user
//! (client side) and submitted as ordinary events before the erase call.

use axum::Json;
use axum::extract::State;
use causerie_crypto::address::{parse_event_id, parse_room};
use causerie_crypto::audit::AuditKind;
use causerie_crypto::{EventId, RoomId};
use causerie_storage::RegistrationRecord;
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

use super::ApiState;
use super::auth::{Authed, own_account};
use super::error::{ApiError, Reason};
use super::json::{Params, Sender, attestation_json, event_json};
use crate::clock::now_ms;
use crate::records::{Expiry, Field, MAX_EXPORT_PAGE};

/// Version of the export document's shape.
pub const EXPORT_FORMAT: u64 = 1;

/// The cursor text of an export page: `<room id>/<event id>`.
fn cursor_text((room, event): (RoomId, EventId)) -> String {
    format!("{room}/{event}")
}

fn parse_export_cursor(text: &str) -> Result<(RoomId, EventId), ApiError> {
    let bad = || ApiError::new(Reason::BadCursor, "not an export cursor");
    let (room, event) = text.split_once('/').ok_or_else(bad)?;
    Ok((
        parse_room(room).map_err(|_| bad())?,
        parse_event_id(event).map_err(|_| bad())?,
    ))
}

/// The registration record as its user (and the operator) see it, with each item's expiry.
pub fn record_json(record: &RegistrationRecord, expiries: &[Expiry]) -> JsonValue {
    let expiry = |field: Field, at_ms: Option<u64>| {
        expiries
            .iter()
            .find(|e| e.field == field && e.at_ms == at_ms)
            .and_then(|e| e.expires_ms)
    };
    json!({
        "user": hex::encode(record.user.as_bytes()),
        "closed_ms": record.closed_ms,
        "registration_time": record.registered_ms.map(|at| json!({
            "at_ms": at,
            "expires_ms": expiry(Field::RegistrationTime, None),
        })),
        "connections": record.connections.iter().map(|c| json!({
            "kind": c.kind.name(),
            "address": c.address,
            "at_ms": c.at_ms,
            "expires_ms": expiry(Field::Connections, Some(c.at_ms)),
        })).collect::<Vec<_>>(),
        "contact": record.contact.as_ref().map(|c| json!({
            "value": c.value,
            "verified": c.verified,
            "set_ms": c.set_ms,
            "expires_ms": expiry(Field::Contact, None),
        })),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExportQuery {
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

pub(super) async fn export(
    State(state): State<ApiState>,
    Authed(session): Authed,
    Params(query): Params<ExportQuery>,
) -> Result<Json<JsonValue>, ApiError> {
    let user = session.user;
    let after = query
        .after
        .as_deref()
        .map(parse_export_cursor)
        .transpose()?;
    let limit = query.limit.unwrap_or(MAX_EXPORT_PAGE).min(MAX_EXPORT_PAGE);
    let records = state.node.records();
    let page = records.authored(user, after, limit).await?;
    let attestations = records.attestations(user).await?;
    let latest = attestations.iter().max_by_key(|a| a.not_before());
    let sender = Sender::new(latest, None);
    let events: Vec<JsonValue> = page
        .events
        .iter()
        .map(|stored| {
            let mut event = event_json(&stored.event, &sender);
            event["status"] = json!(stored.status.name());
            event["bytes"] = json!(hex::encode(stored.event.as_bytes()));
            event
        })
        .collect();
    // The first page carries everything but the events; later pages only events.
    let mut body = json!({
        "format": EXPORT_FORMAT,
        "user": hex::encode(user.as_bytes()),
        "node": hex::encode(state.node.key().as_bytes()),
        "exported_ms": now_ms(),
        "events": events,
        "next": page.next.map(cursor_text),
    });
    if after.is_none() {
        let account = own_account(&state, &session).await?;
        let record = records.get(user).await?;
        body["account"] = json!({
            "handle": account.handle,
            "display_name": account.display_name,
            "registered_ms": account.registered_ms,
            "attestation": account.attestation.to_string(),
            "home": if session.remote.is_some() { "remote" } else { "local" },
        });
        body["read_markers"] = state
            .node
            .signals()
            .read_markers_of(user)
            .await?
            .into_iter()
            .map(|(room, marker)| {
                json!({
                    "room": room.to_string(),
                    "event": marker.event.to_string(),
                    "depth": marker.depth,
                })
            })
            .collect();
        body["attestations"] = attestations.iter().map(attestation_json).collect();
        body["revocations"] = state
            .node
            .revocations()
            .of(&user)
            .iter()
            .map(super::admin_accounts::revocation_json)
            .collect();
        body["record"] = record
            .map(|r| record_json(&r, &records.expiries(&r)))
            .unwrap_or(JsonValue::Null);
        body["retention"] = serde_json::to_value(records.policy())
            .map_err(|e| ApiError::internal(e.to_string()))?;
    }
    Ok(Json(body))
}

pub(super) async fn erase(
    State(state): State<ApiState>,
    Authed(session): Authed,
) -> Result<Json<JsonValue>, ApiError> {
    let user = session.user;
    let mut account = own_account(&state, &session).await?;
    let records = state.node.records();
    let erasure = records.erase(user, now_ms()).await?;
    let markers = state.node.signals().erase_read_markers(user).await?;
    // The display name is the user's own words: it goes too (the handle is in the
    // attestation, which other nodes hold and events reference). A remote session's user has
    // no account here to change.
    if session.remote.is_none() && !account.display_name.is_empty() {
        account.display_name.clear();
        state.node.accounts().put(account, None).await?;
    }
    if erasure.removed > 0 {
        // The removed data must leave the store's files too (specs/moderation.md §4).
        if let Err(e) = state.node.compact().await {
            tracing::warn!(reason = e.reason(), "compaction after an erasure failed");
        }
    }
    let mut details = std::collections::BTreeMap::new();
    details.insert("removed".to_owned(), erasure.removed.to_string());
    details.insert("kept".to_owned(), erasure.expiries.len().to_string());
    details.insert("read_markers".to_owned(), markers.to_string());
    state
        .node
        .audit()
        .append(AuditKind::RecordErased, user.to_string(), details)
        .await?;
    tracing::info!(%user, removed = erasure.removed, "registration record erased");
    Ok(Json(json!({
        "removed": erasure.removed,
        "kept": erasure.kept.as_ref().map(|r| record_json(r, &erasure.expiries)),
    })))
}
