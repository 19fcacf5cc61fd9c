//! The federated directory as clients see it (specs/client-api.md, "Directory";
//! specs/directory.md): the public rooms of this node and of the nodes that announce theirs,
//! alias resolution, a room's alias on this node, and the operator's list and removal of
//! this node's aliases.
//!
//! Who may set or remove a room's alias here: a member of the room whose power reaches what the
//! room asks to change its name (whoever may name the room may give it a name in this node's
//! namespace); others get `403 insufficient_power`.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use causerie_crypto::address::MAX_INVITE_VIAS;
use causerie_crypto::directory::{RoomAlias, valid_alias};
use causerie_crypto::event::kinds;
use causerie_crypto::{NodeKey, RoomId};
use causerie_room::{JoinRule, Membership};
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

use super::ApiState;
use super::auth::Authed;
use super::error::{ApiError, Reason};
use super::json::{Body, RoomPath, Segment};
use super::operator::Operator;
use super::rooms::room_json;
use crate::clock::now_ms;
use crate::directory::{AliasError, ListedRoom, ResolveError, Resolved};
use crate::node::RoomSelection;

/// A resolution failure as an API error.
fn resolve_error(error: ResolveError) -> ApiError {
    let reason = match &error {
        ResolveError::NameConflict { .. } => Reason::Conflicting(error.reason()),
        _ => Reason::NotResolved(error.reason()),
    };
    ApiError::new(reason, error.to_string())
}

fn alias_error(error: AliasError) -> ApiError {
    match error {
        AliasError::Bad(e) => ApiError::new(Reason::Invalid(e.reason()), e.to_string()),
        AliasError::Taken(_) => {
            ApiError::new(Reason::Conflicting("alias_taken"), error.to_string())
        }
        AliasError::Node(e) => e.into(),
    }
}

/// Parses an alias as the path or a body gives it: `#local:server` (the `#` may be left out in
/// a path, where it would need escaping).
pub(super) fn parse_alias(text: &str) -> Result<RoomAlias, ApiError> {
    let text = if text.starts_with('#') {
        text.to_owned()
    } else {
        format!("#{text}")
    };
    RoomAlias::parse(&text).map_err(|e| ApiError::new(Reason::Invalid(e.reason()), e.to_string()))
}

/// An invite link to `room` through `via` (each a multiaddr ending in a peer id).
fn link(room: RoomId, via: &[String]) -> Option<String> {
    if via.is_empty() {
        return None;
    }
    let via = via.iter().take(MAX_INVITE_VIAS).cloned().collect();
    Some(causerie_crypto::InviteLink { room, via }.to_string())
}

/// This node's addresses in text (those its invite links carry).
async fn own_via(state: &ApiState) -> Vec<String> {
    state
        .net
        .invite_addrs()
        .await
        .unwrap_or_default()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn origin_json(node: &NodeKey, server: &str, alias: Option<String>) -> JsonValue {
    json!({ "node": node.to_string(), "server": server, "alias": alias })
}

fn listed_json(listed: &ListedRoom) -> JsonValue {
    json!({
        "room": listed.room.to_string(),
        "name": (!listed.name.is_empty()).then_some(&listed.name),
        "topic": (!listed.topic.is_empty()).then_some(&listed.topic),
        "join_rule": JoinRule::Public.name(),
        "members": listed.members,
        "membership": JsonValue::Null,
        "held": false,
        "alias": listed.origins.iter().find_map(|o| o.alias.as_ref()).map(ToString::to_string),
        "origins": listed.origins.iter()
            .map(|o| origin_json(&o.node, o.server.as_str(), o.alias.as_ref().map(ToString::to_string)))
            .collect::<Vec<_>>(),
        "via": listed.via,
        "link": link(listed.room, &listed.via),
    })
}

/// `GET /api/v1/directory`: this node's public rooms (as before: their full room view, with
/// `held: true`), then the rooms other nodes announce that it does not hold (`held: false`,
/// with their member count, origins, addresses and an invite link to join through).
pub(super) async fn directory(
    State(state): State<ApiState>,
    Authed(session): Authed,
) -> Result<Json<JsonValue>, ApiError> {
    let views = state.node.room_views(RoomSelection::Public).await?;
    let directory = state.node.directory();
    let now = now_ms();
    let listed = directory.listing(now);
    let own_aliases = directory.aliases().await?;
    let server = directory.server_name();
    let via = own_via(&state).await;
    let held: BTreeSet<RoomId> = views.iter().map(|v| v.room).collect();
    // The user's own membership in the rooms held here.
    let mine = super::rooms::joined_rooms(&state, session.user).await?;
    let mut rooms: Vec<JsonValue> = views
        .iter()
        .map(|view| {
            let mut info = room_json(view);
            let alias = own_aliases
                .iter()
                .find(|(_, room)| *room == view.room)
                .map(|(local, _)| format!("#{local}:{server}"));
            let others = listed.iter().find(|l| l.room == view.room);
            let mut origins = vec![origin_json(
                &state.node.key(),
                server.as_str(),
                alias.clone(),
            )];
            if let Some(others) = others {
                origins.extend(others.origins.iter().map(|o| {
                    origin_json(
                        &o.node,
                        o.server.as_str(),
                        o.alias.as_ref().map(ToString::to_string),
                    )
                }));
            }
            info["held"] = true.into();
            info["joined"] = mine.contains(&view.room).into();
            info["alias"] = alias
                .or_else(|| {
                    others
                        .and_then(|l| l.origins.iter().find_map(|o| o.alias.as_ref()))
                        .map(ToString::to_string)
                })
                .into();
            info["origins"] = origins.into();
            info["via"] = via.clone().into();
            info["link"] = link(view.room, &via).into();
            info
        })
        .collect();
    rooms.extend(
        listed
            .iter()
            .filter(|l| !held.contains(&l.room))
            .map(listed_json),
    );
    Ok(Json(json!({
        "rooms": rooms,
        "server": server.as_str(),
        "nodes": directory.len(now),
    })))
}

fn resolved_json(alias: &RoomAlias, resolved: &Resolved, via: Vec<String>) -> JsonValue {
    json!({
        "alias": alias.to_string(),
        "room": resolved.room.to_string(),
        "node": resolved.node.to_string(),
        "via": via,
        "link": link(resolved.room, &via),
    })
}

/// The room an alias names, with addresses to join it through (this node's own first when it
/// holds the room).
pub(super) async fn resolve_to(
    state: &ApiState,
    alias: &RoomAlias,
) -> Result<(Resolved, Vec<String>), ApiError> {
    let resolved = state
        .node
        .directory()
        .resolve(alias, now_ms())
        .await
        .map_err(resolve_error)?;
    let mut via = Vec::new();
    if state.node.room_view(resolved.room, None).await?.is_some() {
        via.extend(own_via(state).await);
    }
    for address in &resolved.via {
        if !via.contains(address) {
            via.push(address.clone());
        }
    }
    via.truncate(MAX_INVITE_VIAS);
    Ok((resolved, via))
}

/// `GET /api/v1/aliases/{alias}`: the room `#local:server` names, with addresses and an invite
/// link. `404 unknown_server` / `unknown_alias`; `409 server_name_conflict` when two nodes
/// claim the server name.
pub(super) async fn resolve(
    State(state): State<ApiState>,
    Authed(_session): Authed,
    Segment(alias): Segment,
) -> Result<Json<JsonValue>, ApiError> {
    let alias = parse_alias(&alias)?;
    let (resolved, via) = resolve_to(&state, &alias).await?;
    Ok(Json(resolved_json(&alias, &resolved, via)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AliasRequest {
    alias: String,
}

/// Refuses unless this node holds the room and the session's user may alias it here.
async fn aliasable(
    state: &ApiState,
    user: causerie_crypto::UserKey,
    room: RoomId,
) -> Result<(), ApiError> {
    let view = super::rooms::view(state, room, user).await?;
    let allowed = view.membership == Some(Membership::Join)
        && view.power >= view.power_levels.required(kinds::NAME, true);
    if !allowed {
        return Err(ApiError::new(
            Reason::RoomRule("insufficient_power"),
            "only members who may rename the room may give it an alias here",
        ));
    }
    Ok(())
}

/// `PUT /api/v1/rooms/{room}/alias` `{alias}`: gives the room the alias `#alias:<this node's
/// server name>` (replacing its previous one here). `409 alias_taken` when another room has it.
pub(super) async fn set_alias(
    State(state): State<ApiState>,
    Authed(session): Authed,
    RoomPath(room): RoomPath,
    Body(request): Body<AliasRequest>,
) -> Result<Json<JsonValue>, ApiError> {
    super::auth::local_only(&session)?;
    aliasable(&state, session.user, room).await?;
    let directory = state.node.directory();
    directory
        .set_alias(room, request.alias.clone())
        .await
        .map_err(alias_error)?;
    let alias = format!("#{}:{}", request.alias, directory.server_name());
    Ok(Json(json!({ "room": room.to_string(), "alias": alias })))
}

/// `DELETE /api/v1/rooms/{room}/alias`: removes the room's alias on this node.
pub(super) async fn remove_alias(
    State(state): State<ApiState>,
    Authed(session): Authed,
    RoomPath(room): RoomPath,
) -> Result<Json<JsonValue>, ApiError> {
    super::auth::local_only(&session)?;
    aliasable(&state, session.user, room).await?;
    let removed = state
        .node
        .directory()
        .remove_alias(room)
        .await
        .map_err(alias_error)?;
    Ok(Json(
        json!({ "room": room.to_string(), "removed": removed }),
    ))
}

/// What joining by alias means: the room when this node holds it, else an invite link through
/// the addresses the alias resolved to. Answers `(link, room)`, one of them set.
pub(super) async fn alias_target(
    state: &ApiState,
    alias: &str,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let alias = parse_alias(alias)?;
    let (resolved, via) = resolve_to(state, &alias).await?;
    if state.node.room_view(resolved.room, None).await?.is_some() {
        return Ok((None, Some(resolved.room.to_string())));
    }
    let via: Vec<libp2p::Multiaddr> = via
        .iter()
        .filter_map(|v| v.parse().ok())
        .filter(|a| crate::net::invite::peer_of(a).is_some())
        .collect();
    if via.is_empty() {
        return Err(ApiError::new(
            Reason::JoinFailed,
            format!("no address to join {alias} through"),
        ));
    }
    let invite = crate::net::Invite {
        room: resolved.room,
        via,
    };
    Ok((Some(invite.to_string()), None))
}

/// The alias an operator names: `#local:<this node's server name>` or the bare local part.
fn own_alias_local(state: &ApiState, text: &str) -> Result<String, ApiError> {
    let bad = |words: String| ApiError::new(Reason::Invalid("bad_alias"), words);
    if text.contains(':') {
        let alias = parse_alias(text)?;
        let server = state.node.directory().server_name();
        if alias.server != server {
            return Err(bad(format!(
                "{alias} is not an alias of this node ({server})"
            )));
        }
        return Ok(alias.local);
    }
    let local = text.strip_prefix('#').unwrap_or(text);
    if !valid_alias(local) {
        return Err(bad(format!("{text:?} is not an alias")));
    }
    Ok(local.to_owned())
}

/// `GET /api/v1/admin/aliases` (operator): every alias this node gives, with its room.
pub(super) async fn admin_aliases(Operator(state): Operator) -> Result<Json<JsonValue>, ApiError> {
    let directory = state.node.directory();
    let server = directory.server_name();
    let aliases: Vec<JsonValue> = directory
        .aliases()
        .await?
        .into_iter()
        .map(|(local, room)| {
            json!({ "alias": format!("#{local}:{server}"), "room": room.to_string() })
        })
        .collect();
    Ok(Json(json!({ "aliases": aliases })))
}

/// `DELETE /api/v1/admin/aliases/{alias}` (operator): removes an alias this node gives,
/// whichever room it names and whoever set it (a name that misleads or impersonates); the next
/// announcement no longer carries it. `404 unknown_alias` when there is none.
pub(super) async fn admin_remove_alias(
    Operator(state): Operator,
    Segment(alias): Segment,
) -> Result<Json<JsonValue>, ApiError> {
    let local = own_alias_local(&state, &alias)?;
    let directory = state.node.directory();
    let server = directory.server_name();
    let Some(room) = directory
        .remove_alias_named(local.clone())
        .await
        .map_err(alias_error)?
    else {
        return Err(ApiError::new(
            Reason::NotResolved("unknown_alias"),
            format!("this node gives no alias #{local}"),
        ));
    };
    tracing::info!(alias = %local, %room, "operator removed an alias");
    Ok(Json(
        json!({ "alias": format!("#{local}:{server}"), "room": room.to_string(), "removed": true }),
    ))
}
