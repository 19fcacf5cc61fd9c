//! JSON shapes of the client API (specs/client-api.md, "Objects"): event content between JSON
//! and the envelope's value model, events and drafts as clients see them, ids and keys parsed
//! from text, and the JSON body extractor whose refusals are JSON errors too.

use std::collections::BTreeMap;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use causerie_crypto::address::{parse_event_id, parse_room};
use causerie_crypto::{Attestation, Content, Event, EventDraft, EventId, RoomId, Signature, Value};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json, json};

use super::error::{ApiError, Reason};
use super::limits::{BODY_READ_TIMEOUT, MAX_BODY_BYTES, MAX_JSON_DEPTH, MAX_SHOWN_POWER};

/// A JSON body: `Content-Type: application/json`, at most [`MAX_BODY_BYTES`], arrived within
/// [`BODY_READ_TIMEOUT`], unknown fields refused by the target type. Every refusal is an
/// [`ApiError`].
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(ApiError::new(
                Reason::UnsupportedMediaType,
                "send Content-Type: application/json",
            ));
        }
        let read = axum::body::Bytes::from_request(request, state);
        let bytes = tokio::time::timeout(BODY_READ_TIMEOUT, read)
            .await
            .map_err(|_| {
                ApiError::new(
                    Reason::BodyTimeout,
                    format!(
                        "the request body did not arrive within {} s",
                        BODY_READ_TIMEOUT.as_secs()
                    ),
                )
            })?
            .map_err(|_| body_too_large())?;
        if bytes.len() > MAX_BODY_BYTES {
            return Err(body_too_large());
        }
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| ApiError::new(Reason::BadRequest, e.to_string()))
    }
}

/// 413 `body_too_large`.
pub fn body_too_large() -> ApiError {
    ApiError::new(
        Reason::BodyTooLarge,
        format!("request bodies are at most {MAX_BODY_BYTES} bytes"),
    )
}

/// Whether `text` is at most `max_bytes` long and free of control characters: the rule for the
/// free text the API records (display names, notes, reasons, request references).
pub fn is_plain_text(text: &str, max_bytes: usize) -> bool {
    text.len() <= max_bytes && !text.chars().any(char::is_control)
}

/// Bytes from hex, at most `max` bytes.
pub fn parse_hex(text: &str, max: usize, reason: Reason) -> Result<Vec<u8>, ApiError> {
    if text.len() > max * 2 {
        return Err(ApiError::new(reason, "too long"));
    }
    hex::decode(text).map_err(|_| ApiError::new(reason, "not hex"))
}

/// A signature from hex: `400 bad_signature` unless it is 64 bytes.
pub fn parse_signature(text: &str) -> Result<Signature, ApiError> {
    let bytes: [u8; 64] = parse_hex(text, 64, Reason::BadSignature)?
        .try_into()
        .map_err(|_| ApiError::new(Reason::BadSignature, "a signature is 64 bytes"))?;
    Ok(Signature(bytes))
}

/// A history cursor `<depth>:<event id>`.
pub fn parse_cursor(text: &str) -> Result<(u64, EventId), ApiError> {
    let bad = || ApiError::new(Reason::BadCursor, "a cursor is <depth>:<event id>");
    let (depth, id) = text.split_once(':').ok_or_else(bad)?;
    let depth = depth.parse().map_err(|_| bad())?;
    Ok((depth, parse_event_id(id).map_err(|_| bad())?))
}

/// The cursor text of a timeline position.
pub fn cursor((depth, id): (u64, EventId)) -> String {
    format!("{depth}:{id}")
}

/// A value as JSON; byte strings become lowercase hex text.
pub fn value_to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Integer(n) => Json::from(*n),
        Value::Text(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(hex::encode(b)),
        Value::Array(items) => Json::Array(items.iter().map(value_to_json).collect()),
        Value::Map(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), value_to_json(v)))
                .collect::<Map<_, _>>(),
        ),
    }
}

/// Event content as a JSON object.
pub fn content_to_json(content: &Content) -> Json {
    Json::Object(
        content
            .iter()
            .map(|(k, v)| (k.clone(), value_to_json(v)))
            .collect(),
    )
}

/// JSON as a value: no floats, integers within i64, at most [`MAX_JSON_DEPTH`] levels.
pub fn json_to_value(json: &Json, depth: usize) -> Result<Value, ApiError> {
    if depth > MAX_JSON_DEPTH {
        return Err(ApiError::new(Reason::BadContent, "content nests too deep"));
    }
    Ok(match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Integer(n.as_i64().ok_or_else(|| {
            ApiError::new(
                Reason::BadContent,
                "numbers are integers within 64 bits (no floats)",
            )
        })?),
        Json::String(s) => Value::Text(s.clone()),
        Json::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| json_to_value(v, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(map) => Value::Map(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), json_to_value(v, depth + 1)?)))
                .collect::<Result<BTreeMap<_, _>, ApiError>>()?,
        ),
    })
}

/// A JSON object as event content.
pub fn json_to_content(json: &Json) -> Result<Content, ApiError> {
    match json_to_value(json, 0)? {
        Value::Map(map) => Ok(map),
        _ => Err(ApiError::new(
            Reason::BadContent,
            "content is a JSON object",
        )),
    }
}

/// What a node knows of an event's author.
#[derive(Debug, Clone, Default)]
pub struct Sender {
    /// Handle from their attestation.
    pub handle: Option<String>,
    /// Display name from their member event.
    pub display_name: Option<String>,
    /// Their home node.
    pub home_node: Option<String>,
    /// Assurance level of their attestation.
    pub assurance: Option<u64>,
}

impl Sender {
    /// From an attestation and a display name.
    pub fn new(attestation: Option<&Attestation>, display_name: Option<String>) -> Self {
        Sender {
            handle: attestation.map(|a| a.handle().to_owned()),
            display_name,
            home_node: attestation.map(|a| hex::encode(a.home_node().as_bytes())),
            assurance: attestation.map(|a| a.assurance().level()),
        }
    }
}

/// An event as clients see it; a message's gains the fields of its relations, those that
/// other events add empty (see [`super::relations::annotate`]).
pub fn event_json(event: &Event, sender: &Sender) -> Json {
    let mut json = json!({
        "id": event.id().to_string(),
        "room": event.room_id().to_string(),
        "author": hex::encode(event.author().as_bytes()),
        "kind": event.kind(),
        "state_key": event.state_key(),
        "content": content_to_json(event.content()),
        "depth": event.depth(),
        "origin_ts": event.origin_ts(),
        "redacted": event.is_redacted(),
        "sender": {
            "handle": sender.handle,
            "display_name": sender.display_name,
            "home_node": sender.home_node,
            "assurance": sender.assurance,
        },
    });
    super::relations::own_fields(event, &mut json);
    json
}

/// A draft as `prepare` returns it.
pub fn draft_json(draft: &EventDraft) -> Result<Json, ApiError> {
    let bad =
        |e: causerie_crypto::EventError| ApiError::new(Reason::Invalid(e.reason()), e.to_string());
    let bytes = draft.encode().map_err(bad)?;
    let signing_input = draft.signing_input().map_err(bad)?;
    Ok(json!({
        "draft": hex::encode(bytes),
        "signing_input": hex::encode(signing_input),
        "event": {
            "room": draft.room.map(|r| r.to_string()),
            "author": hex::encode(draft.author.as_bytes()),
            "kind": draft.kind,
            "state_key": draft.state_key,
            "content": content_to_json(&draft.content),
            "prev_events": draft.prev_events.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "auth_events": draft.auth_events.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "depth": draft.depth,
            "origin_ts": draft.origin_ts,
        },
    }))
}

/// An attestation as clients see it.
pub fn attestation_json(attestation: &Attestation) -> Json {
    json!({
        "id": attestation.id().to_string(),
        "bytes": hex::encode(attestation.as_bytes()),
        "handle": attestation.handle(),
        "assurance": attestation.assurance().level(),
        "assurance_name": attestation.assurance().name(),
        "home_node": hex::encode(attestation.home_node().as_bytes()),
        "not_before_ms": attestation.not_before(),
        "not_after_ms": attestation.not_after(),
    })
}

/// A power level as the API shows it (the creator's unbounded power capped).
pub fn shown_power(level: i64) -> i64 {
    level.min(MAX_SHOWN_POWER)
}

/// Query parameters, refused as `400 bad_request` JSON when they do not parse.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Params(q.0))
            .map_err(|e| ApiError::new(Reason::BadRequest, e.body_text()))
    }
}

/// One path parameter, refused as `400 bad_request` JSON when it does not parse.
pub struct Segment(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Segment {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map(|p| Segment(p.0))
            .map_err(|e| ApiError::new(Reason::BadRequest, e.body_text()))
    }
}

/// A room id as the one path parameter: `400 bad_request` when the path does not parse, `400
/// bad_room_id` when it is not a room id.
pub struct RoomPath(pub RoomId);

impl<S: Send + Sync> FromRequestParts<S> for RoomPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Segment(room) = Segment::from_request_parts(parts, state).await?;
        Ok(RoomPath(parse_room(&room)?))
    }
}
