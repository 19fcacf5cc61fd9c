//! Replies, mentions, edits, reactions, deletions and direct messages in the client API
//! (specs/client-api.md, "Events" and "Objects"; specs/rooms.md §13): the fields they add to a
//! message's Event JSON, and the prepare actions that build them after checking their target.

use std::collections::BTreeMap;

use causerie_crypto::address::{parse_event_id, parse_user};
use causerie_crypto::event::kinds;
use causerie_crypto::{Content, Event, EventId, RoomId, UserKey, Value};
use causerie_room::relations::{self, MAX_MENTIONS, Message, Reaction, valid_reaction_key};
use causerie_room::{AuthError, Relations};
use serde_json::{Value as JsonValue, json};

use super::ApiState;
use super::error::{ApiError, Reason};
use super::json::Sender;
use super::limits::{MAX_REACTION_USERS_SHOWN, REPLY_PREVIEW_CHARS};
use super::session::Session;
use crate::node::{HistoryPage, Related};

/// The relation fields of a message's content that does not parse, as `400 <problem>`
/// (`bad_reply_to`, `mentions_over_limit`, `bad_reaction_key`, ...: the room engine's names,
/// which would reject it). Other kinds pass.
pub fn check_relations(kind: &str, content: &Content) -> Result<(), ApiError> {
    relations::check_content(kind, content).map_err(|e| {
        let problem = match e {
            AuthError::BadContent(problem) => problem,
            other => other.reason(),
        };
        ApiError::new(
            Reason::Invalid(problem),
            format!("the {kind} content is not valid: {problem}"),
        )
    })
}

/// The fields a `room.message` event's JSON gains from its own content, with what relations
/// add left empty (the live stream sends them so; history pages fill them in with [`annotate`]):
/// `reply_to` (the target's id, its author and text unknown), `mentions`, `replaces`, `edited`,
/// `reactions`, `deleted`. Other kinds gain nothing.
pub fn own_fields(event: &Event, json: &mut JsonValue) {
    if event.kind() != kinds::MESSAGE {
        return;
    }
    let message = Message::parse(event.content()).ok();
    let reply_to = message.as_ref().and_then(|m| m.reply_to);
    json["reply_to"] = reply_to.map_or(JsonValue::Null, |id| reply_json(id, None, None));
    json["mentions"] = message
        .as_ref()
        .map(|m| m.mentions.iter().map(hex::encode).collect::<Vec<_>>())
        .unwrap_or_default()
        .into();
    json["replaces"] = message
        .as_ref()
        .and_then(|m| m.replaces)
        .map(|id| id.to_string())
        .into();
    json["edited"] = JsonValue::Null;
    json["reactions"] = json!([]);
    json["deleted"] = false.into();
}

fn reply_json(id: EventId, target: Option<&Event>, sender: Option<&Sender>) -> JsonValue {
    json!({
        "id": id.to_string(),
        "author": target.map(|t| hex::encode(t.author().as_bytes())),
        "handle": sender.and_then(|s| s.handle.clone()),
        "body": null,
    })
}

/// The text a message shows: its honoured edit's, else its own; `None` once redacted.
fn shown_body(event: &Event, relations: Option<&Relations>) -> Option<String> {
    if event.is_redacted() {
        return None;
    }
    match relations.and_then(|r| r.edit.as_ref()) {
        Some(edit) => Some(edit.body.clone()),
        None => event.content_str("body").map(str::to_owned),
    }
}

/// Fills in what relations add to a message's JSON (built by `event_json`): the replied-to
/// message's author, handle and first [`REPLY_PREVIEW_CHARS`] characters, the honoured edit,
/// the reactions (at most [`MAX_REACTION_USERS_SHOWN`] users listed per key, `mine` for the
/// viewer), and `deleted`.
pub fn annotate(
    json: &mut JsonValue,
    event: &Event,
    page: &HistoryPage,
    senders: &BTreeMap<UserKey, Sender>,
    viewer: &UserKey,
) {
    if event.kind() != kinds::MESSAGE {
        return;
    }
    let relations = page.relations.get(&event.id());
    if let Some(id) = json["reply_to"]["id"]
        .as_str()
        .and_then(|id| parse_event_id(id).ok())
        && let Some(target) = page.replied.get(&id)
    {
        let mut reply = reply_json(id, Some(target), senders.get(target.author()));
        reply["body"] = shown_body(target, page.relations.get(&id))
            .map(|body| body.chars().take(REPLY_PREVIEW_CHARS).collect::<String>())
            .into();
        json["reply_to"] = reply;
    }
    let Some(relations) = relations else {
        return;
    };
    if !event.is_redacted()
        && let Some(edit) = &relations.edit
    {
        json["edited"] = json!({
            "body": edit.body,
            "event": edit.event.to_string(),
            "origin_ts": edit.origin_ts,
        });
    }
    json["reactions"] = relations
        .reactions
        .iter()
        .map(|count| {
            json!({
                "key": count.key,
                "count": count.users.len(),
                "users": count.users.iter().take(MAX_REACTION_USERS_SHOWN)
                    .map(|(user, _)| hex::encode(user.as_bytes())).collect::<Vec<_>>(),
                "mine": count.users.iter().any(|(user, _)| user == viewer),
            })
        })
        .collect::<Vec<_>>()
        .into();
    json["deleted"] = relations.deleted.into();
}

/// The event a relation points at: held by the node and shown (`404 unknown_event` otherwise,
/// also for an event the node hides), and a message (`400 not_a_message`).
async fn target_message(state: &ApiState, room: RoomId, event: &str) -> Result<Related, ApiError> {
    let id = parse_event_id(event)?;
    let related = state
        .node
        .related(room, id)
        .await?
        .filter(|r| r.shown)
        .ok_or_else(|| {
            ApiError::new(
                Reason::UnknownEvent,
                "this node shows no such event in the room",
            )
        })?;
    if related.event.kind() != kinds::MESSAGE {
        return Err(ApiError::new(
            Reason::NotAMessage,
            "only messages can be replied to, edited, reacted to or deleted this way",
        ));
    }
    Ok(related)
}

/// A message's own target, for an edit or a deletion: the author must be the user
/// (`403 not_your_message`).
async fn own_message(
    state: &ApiState,
    session: &Session,
    room: RoomId,
    event: &str,
) -> Result<Related, ApiError> {
    let related = target_message(state, room, event).await?;
    if related.event.author() != &session.user {
        return Err(ApiError::new(
            Reason::NotYourMessage,
            "you can only edit or delete your own messages",
        ));
    }
    Ok(related)
}

/// The content of a message that may reply and mention: the reply's target must be a message
/// the node shows; mentions are user keys (`400 bad_user`), at most [`MAX_MENTIONS`]
/// (`400 mentions_over_limit`).
pub(super) async fn message(
    state: &ApiState,
    room: RoomId,
    body: String,
    reply_to: Option<String>,
    mentions: Vec<String>,
) -> Result<Content, ApiError> {
    if mentions.len() > MAX_MENTIONS {
        return Err(ApiError::new(
            Reason::Invalid("mentions_over_limit"),
            format!("a message mentions at most {MAX_MENTIONS} users"),
        ));
    }
    let mentions = mentions
        .iter()
        .map(|user| parse_user(user).map(|key| *key.as_bytes()))
        .collect::<Result<std::collections::BTreeSet<_>, _>>()?;
    let reply_to = match reply_to {
        Some(event) => Some(target_message(state, room, &event).await?.event.id()),
        None => None,
    };
    let message = Message {
        reply_to,
        mentions: mentions.into_iter().collect(),
        ..Message::new(body)
    };
    Ok(message.to_content())
}

/// An edit of the user's own original message (`400 not_editable` for an edit or a deleted
/// message).
pub(super) async fn edit(
    state: &ApiState,
    session: &Session,
    room: RoomId,
    event: &str,
    body: String,
) -> Result<Content, ApiError> {
    let target = own_message(state, session, room, event).await?;
    if target.event.is_redacted() || !relations::is_original_message(&target.event) {
        return Err(ApiError::new(
            Reason::NotEditable,
            "only a message that is not deleted and not itself an edit can be edited",
        ));
    }
    let message = Message {
        replaces: Some(target.event.id()),
        ..Message::new(body)
    };
    Ok(message.to_content())
}

/// The message a reaction with `key` is for (`400 bad_reaction_key` for a key that cannot be
/// one), and the user's own reaction to it with that key, if they have one.
async fn reaction_target(
    state: &ApiState,
    session: &Session,
    room: RoomId,
    event: &str,
    key: &str,
) -> Result<(Related, Option<EventId>), ApiError> {
    if !valid_reaction_key(key) {
        return Err(ApiError::new(
            Reason::Invalid("bad_reaction_key"),
            format!(
                "a reaction is 1 to {} bytes without control characters",
                relations::MAX_REACTION_KEY_BYTES
            ),
        ));
    }
    let target = target_message(state, room, event).await?;
    let own = own_reaction(&target, &session.user, key);
    Ok((target, own))
}

/// A reaction to a message (`400 bad_reaction_key`, `409 already_reacted`).
pub(super) async fn react(
    state: &ApiState,
    session: &Session,
    room: RoomId,
    event: &str,
    key: String,
) -> Result<Content, ApiError> {
    let (target, own) = reaction_target(state, session, room, event, &key).await?;
    if own.is_some() {
        return Err(ApiError::new(
            Reason::AlreadyReacted,
            "you already reacted with this",
        ));
    }
    let reaction = Reaction {
        relates_to: target.event.id(),
        key,
    };
    Ok(reaction.to_content())
}

fn own_reaction(target: &Related, user: &UserKey, key: &str) -> Option<EventId> {
    target
        .relations
        .reactions
        .iter()
        .find(|count| count.key == key)
        .and_then(|count| count.users.iter().find(|(u, _)| u == user))
        .map(|(_, id)| *id)
}

fn redaction(target: EventId) -> Content {
    let mut content = Content::new();
    content.insert("redacts".into(), Value::Bytes(target.as_bytes().to_vec()));
    content
}

/// The redaction of the user's own reaction with `key` (`404 no_reaction` if none counts).
pub(super) async fn unreact(
    state: &ApiState,
    session: &Session,
    room: RoomId,
    event: &str,
    key: String,
) -> Result<Content, ApiError> {
    let (_, own) = reaction_target(state, session, room, event, &key).await?;
    let reaction = own.ok_or_else(|| {
        ApiError::new(
            Reason::NoReaction,
            "you have not reacted to this message with this",
        )
    })?;
    Ok(redaction(reaction))
}

/// The redaction of the user's own message: a deletion.
pub(super) async fn delete(
    state: &ApiState,
    session: &Session,
    room: RoomId,
    event: &str,
) -> Result<Content, ApiError> {
    let target = own_message(state, session, room, event).await?;
    Ok(redaction(target.event.id()))
}

/// A room's `dm` field: `{"with": "<hex>"|null, "handle": …|null}` for a direct-message room,
/// `null` for others.
pub fn dm_json(dm: Option<Option<UserKey>>, handles: &BTreeMap<UserKey, String>) -> JsonValue {
    match dm {
        None => JsonValue::Null,
        Some(with) => json!({
            "with": with.map(|user| hex::encode(user.as_bytes())),
            "handle": with.and_then(|user| handles.get(&user).cloned()),
        }),
    }
}
