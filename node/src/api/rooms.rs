//! Rooms as clients see them (specs/client-api.md, "Rooms"): the user's rooms, the directory
//! of public rooms, one room's view, its members, history pages, invite links, and joining.
//! Who may see what: a room's view, members and invite link are for those who may see it
//! ([`may_view`]); its history for those joined now, or up to their departure for those who
//! left or were removed ([`Reading`]); others get `403 not_member`.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use causerie_crypto::address::parse_room;
use causerie_crypto::{Attestation, Event, EventId, Hash32, RoomId, UserKey};
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

use super::ApiState;
use super::auth::{Authed, own_account};
use super::error::{ApiError, Reason};
use super::events::{own_join, prepare_for};
use super::json::{
    Body, Params, RoomPath, Sender, content_to_json, cursor, event_json, parse_cursor, shown_power,
};
use super::limits::DEFAULT_HISTORY_LIMIT;
use crate::net::invite::Invite;
use crate::node::{MAX_HISTORY_PAGE, RoomSelection};
use crate::views::{MemberView, Reading, Restriction, RoomView};
use causerie_room::{JoinRule, Membership};

/// A mute or a ban's terms as JSON: `{by, reason, expires, purge}`.
fn restriction_json(restriction: &Restriction) -> JsonValue {
    json!({
        "by": hex::encode(restriction.by.as_bytes()),
        "reason": restriction.reason,
        "expires": restriction.expires,
        "purge": restriction.purge,
    })
}

/// RoomInfo JSON.
pub(super) fn room_json(view: &RoomView) -> JsonValue {
    let levels = &view.power_levels;
    let users: serde_json::Map<String, JsonValue> = levels
        .users
        .iter()
        .map(|(user, level)| (hex::encode(user), JsonValue::from(shown_power(*level))))
        .collect();
    json!({
        "room": view.room.to_string(),
        "name": view.name,
        "topic": view.topic,
        "join_rule": view.join_rules.rule.name(),
        "join_rules": {
            "join_rule": view.join_rules.rule.name(),
            "min_assurance": view.join_rules.min_assurance.level(),
            "denied_attesters": view.join_rules.denied_attesters.iter()
                .map(|k| hex::encode(k.as_bytes())).collect::<Vec<_>>(),
            "allowed_attesters": view.join_rules.allowed_attesters.iter()
                .map(|k| hex::encode(k.as_bytes())).collect::<Vec<_>>(),
        },
        "creator": view.creator.map(|c| hex::encode(c.as_bytes())),
        "members": view.joined,
        "membership": view.membership.map(Membership::as_str),
        "removed": view.removed.as_ref().map(|removal| json!({
            "by": hex::encode(removal.by.as_bytes()),
            "membership": removal.membership.as_str(),
            "reason": removal.reason,
            "expires": removal.expires,
            "purge": removal.purge,
        })),
        "muted": view.muted.as_ref().map(restriction_json),
        "dm": super::relations::dm_json(view.dm, &BTreeMap::new()),
        "power": shown_power(view.power),
        "content_rules": content_to_json(&view.content_rules.to_content()),
        "join_wave": view.join_wave.map(|notice| json!({
            "refused": notice.refused,
            "last_ms": notice.last_ms,
        })),
        "power_levels": {
            "ban": levels.ban,
            "kick": levels.kick,
            "mute": levels.mute,
            "redact": levels.redact,
            "invite": levels.invite,
            "state_default": levels.state_default,
            "events_default": levels.events_default,
            "users_default": levels.users_default,
            "events": levels.events,
            "users": users,
        },
    })
}

pub(super) async fn list(
    State(state): State<ApiState>,
    Authed(session): Authed,
) -> Result<Json<JsonValue>, ApiError> {
    let views = state
        .node
        .room_views(RoomSelection::MemberOf(session.user))
        .await?;
    let handles = dm_handles(&state, &views).await?;
    let mut rooms = Vec::with_capacity(views.len());
    for view in &views {
        let mut room = room_json(view);
        room["dm"] = super::relations::dm_json(view.dm, &handles);
        let unread = super::signals::unread_json(&state, session.user, view).await?;
        if let (Some(room), JsonValue::Object(unread)) = (room.as_object_mut(), unread) {
            room.extend(unread);
        }
        rooms.push(room);
    }
    Ok(Json(json!({ "rooms": rooms })))
}

/// The handles of the other members of the direct-message rooms among `views`.
async fn dm_handles(
    state: &ApiState,
    views: &[RoomView],
) -> Result<BTreeMap<UserKey, String>, ApiError> {
    let users = views.iter().filter_map(|v| v.dm.flatten());
    Ok(attestations_of(state, users)
        .await?
        .into_iter()
        .map(|(user, a)| (user, a.handle().to_owned()))
        .collect())
}

/// The rooms `user` is joined to now.
pub(super) async fn joined_rooms(
    state: &ApiState,
    user: UserKey,
) -> Result<BTreeSet<RoomId>, ApiError> {
    Ok(state
        .node
        .room_views(RoomSelection::MemberOf(user))
        .await?
        .into_iter()
        .filter(|v| v.membership == Some(Membership::Join))
        .map(|v| v.room)
        .collect())
}

/// The room's view for the session's user; 404 when the node does not hold it.
pub(super) async fn view(
    state: &ApiState,
    room: RoomId,
    user: UserKey,
) -> Result<RoomView, ApiError> {
    state
        .node
        .room_view(room, Some(user))
        .await?
        .ok_or_else(ApiError::unknown_room)
}

/// Whether the viewer may see the room at all (its view, members, invite link): the room is
/// public, or they are joined, invited or knocking, or were joined once.
pub(super) fn may_view(view: &RoomView) -> bool {
    view.join_rules.rule == JoinRule::Public
        || matches!(
            view.membership,
            Some(Membership::Join | Membership::Invite | Membership::Knock)
        )
        || view.reading != Reading::Nothing
}

fn not_member(what: &str) -> ApiError {
    ApiError::new(Reason::NotMember, format!("join the room to {what}"))
}

/// The room's view for the session's user; 404 when the node does not hold it, 403
/// `not_member` when the user may not see it ([`may_view`]).
pub(super) async fn visible_view(
    state: &ApiState,
    room: RoomId,
    user: UserKey,
) -> Result<RoomView, ApiError> {
    let view = view(state, room, user).await?;
    if !may_view(&view) {
        return Err(not_member("see it"));
    }
    Ok(view)
}

/// The room named by the path, which the session's user may see: a valid session (else 401),
/// a room id (else 400), then as [`visible_view`].
pub(super) struct VisibleRoom {
    pub(super) room: RoomId,
    pub(super) view: RoomView,
}

impl FromRequestParts<ApiState> for VisibleRoom {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let Authed(session) = Authed::from_request_parts(parts, state).await?;
        let RoomPath(room) = RoomPath::from_request_parts(parts, state).await?;
        let view = visible_view(state, room, session.user).await?;
        Ok(VisibleRoom { room, view })
    }
}

pub(super) async fn info(VisibleRoom { view, .. }: VisibleRoom) -> Json<JsonValue> {
    Json(room_json(&view))
}

fn membership_rank(membership: Membership) -> u8 {
    match membership {
        Membership::Join => 0,
        Membership::Invite => 1,
        Membership::Knock => 2,
        Membership::Leave => 3,
        Membership::Ban => 4,
    }
}

pub(super) async fn members(
    State(state): State<ApiState>,
    VisibleRoom { room, .. }: VisibleRoom,
) -> Result<Json<JsonValue>, ApiError> {
    let members = state
        .node
        .members(room)
        .await?
        .ok_or_else(ApiError::unknown_room)?;
    let attestations = attestations_of(&state, members.iter().map(|m| m.user)).await?;
    let mut rows: Vec<(u8, String, &MemberView, Option<&Attestation>)> = members
        .iter()
        .map(|m| {
            let attestation = attestations.get(&m.user);
            let handle = attestation
                .map(|a| a.handle().to_owned())
                .unwrap_or_default();
            (membership_rank(m.membership), handle, m, attestation)
        })
        .collect();
    rows.sort_by(|a, b| (a.0, &a.1, a.2.user).cmp(&(b.0, &b.1, b.2.user)));
    let members: Vec<JsonValue> = rows
        .into_iter()
        .map(|(_, _, m, attestation)| {
            json!({
                "user": hex::encode(m.user.as_bytes()),
                "membership": m.membership.as_str(),
                "display_name": m.display_name,
                "power": shown_power(m.power),
                "handle": attestation.map(|a| a.handle()),
                "home_node": attestation.map(|a| hex::encode(a.home_node().as_bytes())),
                "assurance": attestation.map(|a| a.assurance().level()),
                "assurance_name": attestation.map(|a| a.assurance().name()),
                "muted": m.muted.as_ref().map(restriction_json),
                "ban": m.ban.as_ref().map(restriction_json),
            })
        })
        .collect();
    Ok(Json(json!({ "members": members })))
}

/// The latest attestation of each user (bounded by the node's lookup limit).
async fn attestations_of(
    state: &ApiState,
    users: impl Iterator<Item = UserKey>,
) -> Result<BTreeMap<UserKey, Attestation>, ApiError> {
    let mut users: Vec<UserKey> = users.collect();
    users.sort();
    users.dedup();
    users.truncate(crate::node::MAX_USERS_LOOKUP);
    Ok(state.node.accounts().attestations_of(users).await?)
}

/// Senders of `events`: attestation plus the display name of their current member event.
pub(super) async fn senders(
    state: &ApiState,
    room: RoomId,
    events: &[Event],
) -> Result<BTreeMap<UserKey, Sender>, ApiError> {
    let attestations = attestations_of(state, events.iter().map(|e| *e.author())).await?;
    let names: BTreeMap<UserKey, Option<String>> = state
        .node
        .members(room)
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m.user, m.display_name))
        .collect();
    Ok(events
        .iter()
        .map(|e| {
            let user = *e.author();
            let name = names.get(&user).cloned().flatten();
            (user, Sender::new(attestations.get(&user), name))
        })
        .collect())
}

/// The first timeline position after `(depth, id)`, so that a page before it ends with that
/// event.
fn just_after((depth, id): (u64, EventId)) -> (u64, EventId) {
    let mut bytes = id.0.0;
    for byte in bytes.iter_mut().rev() {
        let (next, carry) = byte.overflowing_add(1);
        *byte = next;
        if !carry {
            return (depth, EventId(Hash32(bytes)));
        }
    }
    (depth.saturating_add(1), EventId(Hash32([0; 32])))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HistoryQuery {
    #[serde(default)]
    before: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

pub(super) async fn messages(
    State(state): State<ApiState>,
    Authed(session): Authed,
    RoomPath(room): RoomPath,
    Params(query): Params<HistoryQuery>,
) -> Result<Json<JsonValue>, ApiError> {
    let view = view(&state, room, session.user).await?;
    let before = query.before.as_deref().map(parse_cursor).transpose()?;
    // Who left reads up to their departure; who never joined reads nothing.
    let before = match view.reading {
        Reading::All => before,
        Reading::Until(depth, id) => {
            let end = just_after((depth, id));
            Some(before.map_or(end, |b| b.min(end)))
        }
        Reading::Nothing => return Err(not_member("read it")),
    };
    let limit = query
        .limit
        .unwrap_or(DEFAULT_HISTORY_LIMIT)
        .clamp(1, MAX_HISTORY_PAGE);
    let page = state
        .node
        .history(room, before, limit)
        .await?
        .ok_or_else(ApiError::unknown_room)?;
    let authors: Vec<Event> = page
        .events
        .iter()
        .chain(page.replied.values())
        .cloned()
        .collect();
    let senders = senders(&state, room, &authors).await?;
    // Events from peers the classifier held are hidden on this node (specs/moderation.md §6.4).
    let review = state.node.review();
    let events: Vec<JsonValue> = page
        .events
        .iter()
        .filter(|e| !review.is_hidden(&e.id()))
        .map(|e| {
            let mut json = event_json(e, senders.get(e.author()).unwrap_or(&Sender::default()));
            super::relations::annotate(&mut json, e, &page, &senders, &session.user);
            json
        })
        .collect();
    Ok(Json(
        json!({ "events": events, "prev": page.prev.map(cursor) }),
    ))
}

pub(super) async fn invite_link(
    State(state): State<ApiState>,
    VisibleRoom { room, .. }: VisibleRoom,
) -> Result<Json<JsonValue>, ApiError> {
    let link = state
        .net
        .invite_link(room)
        .await
        .map_err(|e| ApiError::new(Reason::Network(e.reason()), e.to_string()))?;
    // The web form carries exactly the `via` list of the `causerie:` form.
    let web_link = match &state.public_origin {
        Some(origin) => Some(
            causerie_crypto::address::InviteLink::parse(&link)
                .map_err(|e| ApiError::new(Reason::Network(e.reason()), e.to_string()))?
                .web_link(origin),
        ),
        None => None,
    };
    Ok(Json(json!({ "link": link, "web_link": web_link })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JoinRequest {
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    room: Option<String>,
    /// `#local:server` (specs/directory.md §3): resolved, then joined through its addresses.
    #[serde(default)]
    alias: Option<String>,
}

pub(super) async fn join(
    State(state): State<ApiState>,
    Authed(session): Authed,
    Body(request): Body<JoinRequest>,
) -> Result<Json<JsonValue>, ApiError> {
    let (link, room) = match (&request.alias, &request.link, &request.room) {
        (Some(alias), None, None) => super::directory::alias_target(&state, alias).await?,
        (None, link, room) => (link.clone(), room.clone()),
        _ => {
            return Err(ApiError::new(
                Reason::BadRequest,
                "give one of link, room or alias",
            ));
        }
    };
    let room = match (&link, &room) {
        (Some(link), None) => {
            let invite: Invite = link.parse().map_err(|e: crate::net::invite::InviteError| {
                ApiError::new(Reason::Invalid(e.reason()), e.to_string())
            })?;
            let held = state.node.room_view(invite.room, None).await?.is_some();
            if !held {
                state.net.join(link).await.map_err(|e| {
                    ApiError::new(Reason::JoinFailed, format!("{}: {e}", e.reason()))
                })?;
            }
            invite.room
        }
        (None, Some(room)) => {
            let room = parse_room(room)?;
            view(&state, room, session.user).await?;
            room
        }
        _ => {
            return Err(ApiError::new(
                Reason::BadRequest,
                "give either link or room",
            ));
        }
    };
    let account = own_account(&state, &session).await?;
    let (kind, state_key, content) = own_join(&session, &account, None)?;
    let draft = prepare_for(&state, &session, &account, room, &kind, state_key, content).await?;
    Ok(Json(json!({ "room": room.to_string(), "draft": draft })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn just_after_is_the_next_position_in_timeline_order() {
        let id = |last: u8, rest: u8| {
            let mut bytes = [rest; 32];
            bytes[31] = last;
            EventId(Hash32(bytes))
        };
        let (depth, next) = just_after((7, id(4, 1)));
        assert_eq!((depth, next), (7, id(5, 1)));
        // A carry runs up the bytes; past the largest id comes the next depth.
        let mut carried = [1; 32];
        carried[30] = 2;
        carried[31] = 0;
        assert_eq!(just_after((7, id(0xff, 1))), (7, EventId(Hash32(carried))));
        assert_eq!(
            just_after((7, EventId(Hash32([0xff; 32])))),
            (8, EventId(Hash32([0; 32])))
        );
        // Nothing lies between a position and the one just after it.
        let position = (3, id(9, 9));
        assert!(position < just_after(position));
    }
}
