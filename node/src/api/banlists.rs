//! Ban lists in the client API (specs/moderation.md §3.7): a list's rules and what it changed
//! since a point (public reasons only), a room's subscription, and the content of the actions
//! that change them (prepared by [`super::events`], signed by the user's key).
//!
//! - `GET /api/v1/banlists/{list}?since={event id}`: for any logged-in user when a room this
//!   node holds follows the list, else for those who may see the list room.
//! - `GET /api/v1/rooms/{room}/banlists`: for those who may see the room.

use axum::Json;
use axum::extract::State;
use causerie_crypto::address::{parse_event_id, parse_room, parse_user};
use causerie_crypto::event::kinds;
use causerie_crypto::{Content, NodeKey, RoomId};
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

use super::ApiState;
use super::auth::Authed;
use super::error::{ApiError, Reason};
use super::json::{Params, RoomPath};
use super::rooms::{VisibleRoom, visible_view};
use crate::moderation::banlist::BanListView;
use causerie_room::content::MAX_POLICY_SUBSCRIPTIONS;
use causerie_room::policy::{
    Glob, MAX_RULE_REASON_BYTES, POLICY_RULE, Recommendation, Rule, RuleChange, Subscription,
    Target, valid_rule_id,
};

/// `?since=` of a list read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SinceQuery {
    #[serde(default)]
    since: Option<String>,
}

fn target_json(target: &Target) -> JsonValue {
    match target {
        Target::User(b) => json!({ "user": hex::encode(b) }),
        Target::Attester(b) => json!({ "attester": hex::encode(b) }),
        Target::Hash(b) => json!({ "hash": hex::encode(b) }),
        Target::Handle(glob) => json!({ "handle": glob.as_str() }),
    }
}

/// A rule as clients see it: never a withheld reason.
fn rule_json(id: &str, rule: &Rule) -> JsonValue {
    json!({
        "rule": id,
        "target": target_json(&rule.target),
        "recommendation": rule.recommendation.as_str(),
        "reason": rule.public_reason(),
        "reason_withheld": rule.reason_withheld,
        "expires": rule.expires,
        "purge": rule.purge,
    })
}

fn change_json(change: &RuleChange) -> JsonValue {
    json!({
        "rule": change.rule,
        "change": change.change(),
        "before": change.before.as_ref().map(|r| rule_json(&change.rule, r)),
        "after": change.after.as_ref().map(|r| rule_json(&change.rule, r)),
    })
}

/// The JSON of a list view.
pub fn list_json(view: &BanListView) -> JsonValue {
    json!({
        "list": view.list.to_string(),
        "name": view.name,
        "rules": view.rules.iter().map(|(id, rule)| rule_json(id, rule)).collect::<Vec<_>>(),
        "changes": view.changes.iter().map(change_json).collect::<Vec<_>>(),
        "head": view.head.map(|h| h.to_string()),
        "followed": view.followed,
    })
}

fn unknown_list() -> ApiError {
    ApiError::new(Reason::UnknownRoom, "this node does not hold that ban list")
}

pub(super) async fn list(
    State(state): State<ApiState>,
    Authed(session): Authed,
    RoomPath(list): RoomPath,
    Params(query): Params<SinceQuery>,
) -> Result<Json<JsonValue>, ApiError> {
    let since = query.since.as_deref().map(parse_event_id).transpose()?;
    let view = state
        .node
        .ban_list(list, since)
        .await?
        .ok_or_else(unknown_list)?;
    if !view.followed {
        visible_view(&state, list, session.user).await?;
    }
    Ok(Json(list_json(&view)))
}

pub(super) async fn room(
    State(state): State<ApiState>,
    VisibleRoom { room, .. }: VisibleRoom,
) -> Result<Json<JsonValue>, ApiError> {
    let view =
        state.node.room_policy(room).await?.ok_or_else(|| {
            ApiError::new(Reason::UnknownRoom, "this node does not hold the room")
        })?;
    let subscription = &view.subscription;
    Ok(Json(json!({
        "room": room.to_string(),
        "lists": subscription.lists.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "enforcer": subscription.enforcer.map(hex::encode),
        "ignore": subscription
            .ignore
            .iter()
            .map(|(list, rule)| json!([list.to_string(), rule]))
            .collect::<Vec<_>>(),
        "held": view.held.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })))
}

fn bad_rule(message: impl Into<String>) -> ApiError {
    ApiError::new(Reason::Invalid("bad_rule"), message)
}

fn bytes32(text: &str) -> Result<[u8; 32], ApiError> {
    causerie_crypto::lower_hex::decode32(text)
        .ok_or_else(|| bad_rule("keys and hashes are 64 lowercase hex digits"))
}

fn rule_id(rule: &str) -> Result<String, ApiError> {
    if !valid_rule_id(rule) {
        return Err(bad_rule(
            "a rule id is 1 to 64 characters of A-Z a-z 0-9 . _ : -",
        ));
    }
    Ok(rule.to_owned())
}

/// A rule's target from its JSON: exactly one of `user`, `attester`, `handle`, `hash`.
fn parse_target(target: &JsonValue) -> Result<Target, ApiError> {
    let map = target
        .as_object()
        .filter(|m| m.len() == 1)
        .ok_or_else(|| bad_rule("target: one of user, attester, handle, hash"))?;
    let (kind, value) = map
        .iter()
        .next()
        .ok_or_else(|| bad_rule("target: one of user, attester, handle, hash"))?;
    let text = value.as_str().ok_or_else(|| bad_rule("a target is text"))?;
    Ok(match kind.as_str() {
        "user" => Target::User(*parse_user(text)?.as_bytes()),
        "attester" => Target::Attester(
            *NodeKey::from_hex(text)
                .map_err(|_| bad_rule("an attester is a node key (64 hex digits)"))?
                .as_bytes(),
        ),
        "hash" => Target::Hash(bytes32(text)?),
        "handle" => Target::Handle(Glob::parse(text).ok_or_else(|| {
            bad_rule("a handle glob is 1 to 64 of a-z 0-9 . _ - * ?, at most 4 stars")
        })?),
        _ => return Err(bad_rule("target: one of user, attester, handle, hash")),
    })
}

/// The state event that sets rule `rule` of the list room.
pub(super) fn rule_state(
    rule: &str,
    target: &JsonValue,
    recommendation: &str,
    reason: Option<String>,
    reason_withheld: bool,
    expires: Option<u64>,
    purge: bool,
) -> Result<(String, Option<String>, Content), ApiError> {
    let recommendation = Recommendation::parse(recommendation)
        .ok_or_else(|| bad_rule("recommendation: ban, mute, review or allow"))?;
    if reason
        .as_ref()
        .is_some_and(|r| r.len() > MAX_RULE_REASON_BYTES)
    {
        return Err(ApiError::new(
            Reason::ReasonTooLong,
            format!("at most {MAX_RULE_REASON_BYTES} bytes"),
        ));
    }
    if expires.is_some_and(|e| e > causerie_room::policy::MAX_EXPIRES) {
        return Err(bad_rule("expires is at most 2^53 - 1"));
    }
    if purge && recommendation != Recommendation::Ban {
        return Err(bad_rule("purge goes with the ban recommendation only"));
    }
    let content = Rule {
        target: parse_target(target)?,
        recommendation,
        reason,
        reason_withheld,
        expires,
        purge,
    }
    .to_content();
    Ok((POLICY_RULE.to_owned(), Some(rule_id(rule)?), content))
}

/// The state event that removes rule `rule` of the list room.
pub(super) fn remove_state(rule: &str) -> Result<(String, Option<String>, Content), ApiError> {
    Ok((POLICY_RULE.to_owned(), Some(rule_id(rule)?), Content::new()))
}

/// How a subscription changes.
pub(super) enum SubscriptionChange {
    /// Follow a list (and set the enforcer when given).
    Subscribe {
        list: String,
        enforcer: Option<String>,
    },
    /// Stop following a list (its overrides go too).
    Unsubscribe { list: String },
    /// Override one rule of a list, or stop overriding it.
    Ignore {
        list: String,
        rule: String,
        ignore: bool,
    },
}

/// The room's new subscription event, from the one in force and `change`.
pub(super) async fn subscription_state(
    state: &ApiState,
    room: RoomId,
    change: SubscriptionChange,
) -> Result<(String, Option<String>, Content), ApiError> {
    let mut subscription: Subscription = state
        .node
        .room_policy(room)
        .await?
        .map(|view| view.subscription)
        .unwrap_or_default();
    match change {
        SubscriptionChange::Subscribe { list, enforcer } => {
            let list = parse_room(&list)?;
            if !subscription.lists.contains(&list) {
                if subscription.lists.len() >= MAX_POLICY_SUBSCRIPTIONS {
                    return Err(ApiError::new(
                        Reason::OverLimit,
                        format!("a room follows at most {MAX_POLICY_SUBSCRIPTIONS} lists"),
                    ));
                }
                subscription.lists.push(list);
            }
            if let Some(enforcer) = enforcer {
                subscription.enforcer = Some(*parse_user(&enforcer)?.as_bytes());
            }
        }
        SubscriptionChange::Unsubscribe { list } => {
            let list = parse_room(&list)?;
            subscription.lists.retain(|l| *l != list);
            subscription.ignore.retain(|(l, _)| *l != list);
        }
        SubscriptionChange::Ignore { list, rule, ignore } => {
            let entry = (parse_room(&list)?, rule_id(&rule)?);
            if ignore {
                if subscription.ignore.len() >= causerie_room::policy::MAX_SUBSCRIPTION_IGNORES {
                    return Err(ApiError::new(Reason::OverLimit, "too many overrides"));
                }
                subscription.ignore.insert(entry);
            } else {
                subscription.ignore.remove(&entry);
            }
        }
    }
    Ok((
        kinds::POLICY_SUBSCRIPTIONS.to_owned(),
        Some(String::new()),
        subscription.to_content(),
    ))
}
