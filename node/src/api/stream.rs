//! The live stream (specs/client-api.md, "Live stream"): server-sent events of newly accepted,
//! visible events in the rooms the user has joined (or one room), `review` notices of what
//! a moderator decided about the user's held submissions (specs/moderation.md §7.4), and the
//! rooms' ephemeral signals (specs/signals.md §6): `typing` (the full list of a room's typists
//! whenever it changes) and `read` (a member's read marker moved). Moderators are alerted:
//! `knock` after a knock's event in a room where they may invite, `review` (with `item` and
//! `state`) when an item is queued for review in a room they moderate. The stream follows the
//! user's own membership as it changes, pings every [`STREAM_PING_SECS`], ends with `lagged`
//! when the client falls behind the node's announcement queue, and ends when the node stops.
//! Each event comes from the node with its sender's profile, so a stream never asks back.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use causerie_crypto::address::parse_room;
use causerie_crypto::event::kinds;
use causerie_crypto::{Event, RoomId, UserKey};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::ApiState;
use super::auth::Authed;
use super::error::{ApiError, Reason};
use super::json::{Params, Sender, event_json};
use super::limits::{MAX_STREAMS, STREAM_PING_SECS};
use super::rooms::{joined_rooms, view};
use super::session::{Session, Sessions};
use crate::moderation::review::Queued;
use crate::node::{Node, NodeEvent};
use crate::signals::SignalEvent;
use causerie_room::Membership;
use causerie_room::content::user_state_key;

/// Holds one stream's place in the node-wide and per-user counts; frees it when dropped.
struct Slot {
    open: Arc<AtomicUsize>,
    sessions: Arc<Sessions>,
    session: Session,
}

impl Slot {
    fn acquire(state: &ApiState, session: Session) -> Result<Slot, ApiError> {
        let too_many = || ApiError::new(Reason::TooManyStreams, "too many live streams are open");
        let taken = state
            .streams
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_STREAMS).then_some(n + 1)
            });
        if taken.is_err() {
            return Err(too_many());
        }
        if !state.sessions.open_stream(&session) {
            state.streams.fetch_sub(1, Ordering::AcqRel);
            return Err(too_many());
        }
        Ok(Slot {
            open: state.streams.clone(),
            sessions: state.sessions.clone(),
            session,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
        self.sessions.close_stream(&self.session);
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StreamQuery {
    #[serde(default)]
    room: Option<String>,
}

/// One stream's state between events.
struct Follow {
    _slot: Slot,
    user: UserKey,
    own_key: String,
    /// Rooms whose events are sent: those the user has joined (of the one asked for, if any).
    rooms: BTreeSet<RoomId>,
    /// The one room asked for, if any.
    only: Option<RoomId>,
    receiver: broadcast::Receiver<NodeEvent>,
    signals: broadcast::Receiver<SignalEvent>,
    queued: broadcast::Receiver<Queued>,
    /// A moderator alert to send after the frame just sent.
    pending: Option<SseEvent>,
    node: Node,
    shutdown: CancellationToken,
    done: bool,
}

impl Follow {
    /// Whether `event` ends the user's stay in the room (their own leave or ban, or a kick):
    /// it is the last event of the room the stream sends.
    fn ends_stay(&self, event: &Event) -> bool {
        event.kind() == kinds::MEMBER
            && event.state_key() == Some(self.own_key.as_str())
            && !matches!(Membership::parse(event.content()), Ok(Membership::Join))
    }

    /// Follows a room the user joins (the one asked for, or any).
    fn track_join(&mut self, room: RoomId, event: &Event) {
        let own_join = event.kind() == kinds::MEMBER
            && event.state_key() == Some(self.own_key.as_str())
            && matches!(Membership::parse(event.content()), Ok(Membership::Join));
        if own_join && self.only.is_none_or(|only| only == room) {
            self.rooms.insert(room);
        }
    }

    /// The frame of a signal in one of the stream's rooms.
    fn signal_frame(&self, signal: SignalEvent) -> Option<SseEvent> {
        match signal {
            SignalEvent::Typing { room, users } if self.rooms.contains(&room) => {
                let users: Vec<_> = users
                    .into_iter()
                    .map(|(user, handle)| {
                        serde_json::json!({
                            "user": hex::encode(user.as_bytes()),
                            "handle": handle,
                        })
                    })
                    .collect();
                let data = serde_json::json!({ "room": room.to_string(), "users": users });
                Some(SseEvent::default().event("typing").data(data.to_string()))
            }
            SignalEvent::Read(moved) if self.rooms.contains(&moved.room) => {
                let data = serde_json::json!({
                    "room": moved.room.to_string(),
                    "user": hex::encode(moved.user.as_bytes()),
                    "event": moved.event.to_string(),
                });
                Some(SseEvent::default().event("read").data(data.to_string()))
            }
            _ => None,
        }
    }

    /// The user's power in `room` against the levels `needed` picks, if the node holds it.
    async fn may(&self, room: RoomId, needed: impl Fn(&crate::views::RoomView) -> i64) -> bool {
        match self.node.room_view(room, Some(self.user)).await {
            Ok(Some(view)) => view.power >= needed(&view),
            _ => false,
        }
    }

    /// The `knock` alert for `event`, when it is someone's knock and the user may invite them.
    async fn knock_alert(&self, room: RoomId, event: &Event, sender: &Sender) -> Option<SseEvent> {
        let knock = event.kind() == kinds::MEMBER
            && event.state_key() != Some(self.own_key.as_str())
            && matches!(Membership::parse(event.content()), Ok(Membership::Knock));
        if !knock || !self.may(room, |v| v.power_levels.invite).await {
            return None;
        }
        let data = serde_json::json!({
            "room": room.to_string(),
            "user": hex::encode(event.author().as_bytes()),
            "handle": sender.handle,
            "event": event.id().to_string(),
            "reason": event.content_str("reason"),
        });
        Some(SseEvent::default().event("knock").data(data.to_string()))
    }

    /// The `review` alert for a queued item, when the user moderates its room (power at least
    /// the kick and redact levels, as the review routes require) and did not write it.
    async fn review_alert(&self, queued: Queued) -> Option<SseEvent> {
        if !self.rooms.contains(&queued.room)
            || queued.author == self.user
            || !self
                .may(queued.room, |v| {
                    v.power_levels.kick.max(v.power_levels.redact)
                })
                .await
        {
            return None;
        }
        let data = serde_json::json!({
            "room": queued.room.to_string(),
            "item": queued.item.0,
            "event_id": queued.event.to_string(),
            "author": hex::encode(queued.author.as_bytes()),
            "state": queued.state.name(),
        });
        Some(SseEvent::default().event("review").data(data.to_string()))
    }

    /// The next frame to send, or `None` when the stream ends.
    async fn next_frame(&mut self) -> Option<SseEvent> {
        if self.done {
            return None;
        }
        if let Some(alert) = self.pending.take() {
            return Some(alert);
        }
        loop {
            let received = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return None,
                received = self.receiver.recv() => received,
                signal = self.signals.recv() => match signal {
                    Ok(signal) => match self.signal_frame(signal) {
                        Some(frame) => return Some(frame),
                        None => continue,
                    },
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        Err(broadcast::error::RecvError::Lagged(missed))
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                queued = self.queued.recv() => match queued {
                    Ok(queued) => match self.review_alert(queued).await {
                        Some(frame) => return Some(frame),
                        None => continue,
                    },
                    // Alerts are a convenience: the queue itself is the record.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            };
            match received {
                Ok(NodeEvent::Accepted {
                    room,
                    event,
                    visible: true,
                    sender,
                }) => {
                    self.track_join(room, &event);
                    if !self.rooms.contains(&room) {
                        continue;
                    }
                    // The departure itself is sent, so the client sees it; nothing after it.
                    let leaving = self.ends_stay(&event);
                    let sender = Sender::new(sender.attestation.as_ref(), sender.display_name);
                    if leaving {
                        self.rooms.remove(&room);
                    }
                    let data = event_json(&event, &sender).to_string();
                    self.pending = self.knock_alert(room, &event, &sender).await;
                    return Some(
                        SseEvent::default()
                            .event("event")
                            .id(event.id().to_string())
                            .data(data),
                    );
                }
                Ok(NodeEvent::ReviewDecided {
                    room,
                    event,
                    author,
                    decision,
                    reason,
                }) if author == self.user => {
                    let data = serde_json::json!({
                        "room": room.to_string(),
                        "event_id": event.to_string(),
                        "decision": decision.name(),
                        "reason": reason,
                    });
                    return Some(SseEvent::default().event("review").data(data.to_string()));
                }
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(user = %self.user, missed, "client stream lagged");
                    self.done = true;
                    return Some(
                        SseEvent::default()
                            .event("lagged")
                            .data(format!("{{\"missed\":{missed}}}")),
                    );
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

fn frames(follow: Follow) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    futures::stream::unfold(follow, |mut follow| async move {
        follow.next_frame().await.map(|frame| (Ok(frame), follow))
    })
}

pub(super) async fn stream(
    State(state): State<ApiState>,
    Authed(session): Authed,
    Params(query): Params<StreamQuery>,
) -> Result<Response, ApiError> {
    let only = query.room.as_deref().map(parse_room).transpose()?;
    let slot = Slot::acquire(&state, session)?;
    // Subscribe before reading the rooms, so nothing accepted in between is missed.
    let receiver = state.node.subscribe();
    let signals = state.node.signals().subscribe();
    let queued = state.node.review().subscribe_queued();
    let rooms: BTreeSet<RoomId> = match only {
        Some(room) => {
            let view = view(&state, room, session.user).await?;
            if view.membership != Some(Membership::Join) {
                return Err(ApiError::new(
                    Reason::NotMember,
                    "join the room to follow it",
                ));
            }
            BTreeSet::from([room])
        }
        None => joined_rooms(&state, session.user).await?,
    };
    let follow = Follow {
        _slot: slot,
        user: session.user,
        own_key: user_state_key(&session.user),
        rooms,
        only,
        receiver,
        signals,
        queued,
        pending: None,
        node: state.node.clone(),
        shutdown: state.shutdown.clone(),
        done: false,
    };
    let ping = KeepAlive::new()
        .interval(Duration::from_secs(STREAM_PING_SECS))
        .event(SseEvent::default().event("ping").data("{}"));
    Ok(Sse::new(frames(follow)).keep_alive(ping).into_response())
}
