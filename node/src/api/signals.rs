//! Typing indicators, read markers and unread counts for clients (specs/client-api.md,
//! "Signals"; specs/signals.md): `POST /api/v1/rooms/{room}/typing`, `POST
//! /api/v1/rooms/{room}/read`, and the `unread`, `mentions` and `read_event` fields of the
//! rooms list. The signals themselves (signing, gossip, checks, the typing table) are
//! `crate::signals`.
//!
//! Unread counts are computed from the room's visible timeline, newest first, down to the
//! user's read marker or the user's own latest event (what one sent, one has seen), at most
//! [`MAX_UNREAD_PAGES`] pages and [`MAX_UNREAD`] messages.

use axum::extract::State;
use axum::http::StatusCode;
use causerie_crypto::address::parse_event_id;
use causerie_crypto::event::kinds;
use causerie_crypto::signal::Signal;
use causerie_crypto::{Attestation, Event, EventId, RoomId, UserKey, Value};
use causerie_room::Membership;
use causerie_storage::ReadMarker;
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

use super::ApiState;
use super::auth::{Authed, session_attestation};
use super::error::{ApiError, Reason};
use super::json::{Body, RoomPath};
use super::rooms::view;
use super::session::Session;
use crate::clock::now_ms;
use crate::node::MAX_HISTORY_PAGE;
use crate::signals::SignalRefusal;
use crate::views::RoomView;

/// Most unread messages counted per room (clients show "999+").
pub const MAX_UNREAD: u64 = 999;
/// Most history pages read to count one room's unread messages.
pub const MAX_UNREAD_PAGES: usize = 5;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TypingRequest {
    typing: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReadRequest {
    event: String,
}

/// A refused signal in the API's words.
fn refusal(refusal: SignalRefusal) -> ApiError {
    match refusal {
        SignalRefusal::RateLimited { retry_after_ms } => ApiError::new(
            Reason::RateLimited,
            format!(
                "you are sending typing and read signals too fast in this room; try again in {} s",
                retry_after_ms.div_ceil(1_000)
            ),
        )
        .retry_after_ms(retry_after_ms),
        SignalRefusal::Node(e) => e.into(),
        other => ApiError::new(Reason::Busy, format!("{}: {other}", other.reason())),
    }
}

/// The attestation the session's user signs signals in `room` under; refuses with `403
/// not_member` unless they are joined to it (`404 unknown_room` if the node does not hold it).
async fn signer(
    state: &ApiState,
    session: &Session,
    room: RoomId,
) -> Result<Attestation, ApiError> {
    let attestation = session_attestation(state, session).await?;
    let view = view(state, room, session.user).await?;
    if view.membership != Some(Membership::Join) {
        return Err(ApiError::new(
            Reason::NotMember,
            "join the room to send typing or read signals",
        ));
    }
    Ok(attestation)
}

/// Gossips the signal the node signed for a local user, if it had anything new to say.
fn publish(state: &ApiState, room: RoomId, signal: Option<Signal>) {
    if let Some(signal) = signal {
        state.net.publish_signal(room, signal.as_bytes().to_vec());
    }
}

pub(super) async fn typing(
    State(state): State<ApiState>,
    Authed(session): Authed,
    RoomPath(room): RoomPath,
    Body(request): Body<TypingRequest>,
) -> Result<StatusCode, ApiError> {
    let attestation = signer(&state, &session, room).await?;
    let signal = state
        .node
        .signals()
        .local_typing(room, &attestation, request.typing, now_ms())
        .map_err(refusal)?;
    publish(&state, room, signal);
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn read(
    State(state): State<ApiState>,
    Authed(session): Authed,
    RoomPath(room): RoomPath,
    Body(request): Body<ReadRequest>,
) -> Result<StatusCode, ApiError> {
    let id = parse_event_id(&request.event)?;
    let attestation = signer(&state, &session, room).await?;
    let event = state
        .node
        .events(vec![id])
        .await?
        .into_iter()
        .next()
        .filter(|event| event.room_id() == room)
        .ok_or_else(|| {
            ApiError::new(
                Reason::NotResolved("unknown_event"),
                "this node holds no such event in the room",
            )
        })?;
    let marker = ReadMarker {
        depth: event.depth(),
        event: id,
    };
    let (_, signal) = state
        .node
        .signals()
        .local_read(room, &attestation, marker, now_ms())
        .await
        .map_err(refusal)?;
    publish(&state, room, signal);
    Ok(StatusCode::NO_CONTENT)
}

/// Whether `event`'s content lists `user` in its `mentions`.
fn mentions(event: &Event, user: &UserKey) -> bool {
    matches!(event.content().get("mentions"), Some(Value::Array(keys))
        if keys.iter().any(|k| matches!(k, Value::Bytes(b) if b.as_slice() == user.as_bytes())))
}

/// The event `event` replies to, if it names one.
fn reply_to(event: &Event) -> Option<EventId> {
    match event.content().get("reply_to") {
        Some(Value::Bytes(bytes)) => {
            let bytes: [u8; 32] = bytes.as_slice().try_into().ok()?;
            Some(EventId(causerie_crypto::Hash32(bytes)))
        }
        _ => None,
    }
}

/// A message that counts as unread for `user`: a visible `room.message` by someone else that
/// is not an edit of another.
fn counts(event: &Event, user: &UserKey) -> bool {
    event.kind() == kinds::MESSAGE
        && event.author() != user
        && !event.is_redacted()
        && !event.content().contains_key("replaces")
}

/// The rooms list's `unread`, `mentions` and `read_event` for `user` in one room.
pub(super) async fn unread_json(
    state: &ApiState,
    user: UserKey,
    view: &RoomView,
) -> Result<JsonValue, ApiError> {
    let marker = state.node.signals().read_marker(user, view.room).await?;
    let read_event = marker.map(|m| m.event.to_string());
    if view.membership != Some(Membership::Join) {
        return Ok(json!({ "unread": 0, "mentions": 0, "read_event": read_event }));
    }
    let mut unread = 0u64;
    let mut mentioned = 0u64;
    let mut replies = Vec::new();
    let mut before = None;
    'pages: for _ in 0..MAX_UNREAD_PAGES {
        let Some(page) = state
            .node
            .history(view.room, before, MAX_HISTORY_PAGE)
            .await?
        else {
            break;
        };
        for event in page.events.iter().rev() {
            let seen = marker.is_some_and(|m| (event.depth(), event.id()) <= (m.depth, m.event));
            if seen || event.author() == &user || unread >= MAX_UNREAD {
                break 'pages;
            }
            if !counts(event, &user) {
                continue;
            }
            unread += 1;
            if mentions(event, &user) {
                mentioned += 1;
            } else if let Some(target) = reply_to(event) {
                replies.push(target);
            }
        }
        match page.prev {
            Some(prev) => before = Some(prev),
            None => break,
        }
    }
    if !replies.is_empty() {
        let targets = state.node.events(replies.clone()).await?;
        let own: std::collections::BTreeSet<EventId> = targets
            .iter()
            .filter(|t| t.author() == &user)
            .map(Event::id)
            .collect();
        mentioned += replies.iter().filter(|r| own.contains(r)).count() as u64;
    }
    Ok(json!({ "unread": unread, "mentions": mentioned, "read_event": read_event }))
}
