//! `causerie reply|edit|react|unreact|delete|dm`: replies, edits, reactions, deletions and
//! direct messages (specs/rooms.md §13), prepared by the node, checked and signed here. Users are
//! named as the other commands name them: a key (64 hex digits) or the handle of a member (for
//! `dm`, a member of one of the user's rooms); events as `$<hex>`.

use std::process::ExitCode;

use anyhow::Result;
use causerie_crypto::address::{ID_HEX_DIGITS, parse_event_id, parse_room, parse_user};
use causerie_crypto::{EventId, UserKey};
use causerie_node::client::{Client, RoomRef, Submitted};
use serde_json::json;

use super::moderation::resolve_user;
use super::{Context, printable, refused};

/// Most rooms `dm` looks through to find the member a handle names.
const MAX_DM_LOOKUP_ROOMS: usize = 64;

/// The room (an id or an alias, resolved after logging in) and event a command names, checked
/// before logging in.
fn target(room: &str, event: &str) -> Result<(RoomRef, EventId)> {
    Ok((RoomRef::parse(room)?, parse_event_id(event)?))
}

fn done(cx: &Context, submitted: &Submitted, text: String) -> Result<ExitCode> {
    cx.out.print(serde_json::to_value(submitted)?, || text);
    Ok(ExitCode::SUCCESS)
}

/// `causerie reply`.
pub(crate) async fn reply(
    cx: &Context,
    room: &str,
    event: &str,
    text: &str,
    mentions: &[String],
) -> Result<ExitCode> {
    let (room, event) = target(room, event)?;
    let secret = cx.secret()?;
    let client = cx.session(&secret).await?;
    let room = client.resolve_room(&room).await?;
    let mut users = Vec::with_capacity(mentions.len());
    for user in mentions {
        users.push(resolve_user(&client, &room, user).await?);
    }
    let submitted = client
        .reply(&secret, &room, Some(&event), text, &users)
        .await?;
    let id = submitted.event_id.clone();
    done(cx, &submitted, format!("replied {id}"))
}

/// `causerie edit`.
pub(crate) async fn edit(cx: &Context, room: &str, event: &str, text: &str) -> Result<ExitCode> {
    let (room, event) = target(room, event)?;
    let secret = cx.secret()?;
    let client = cx.session(&secret).await?;
    let room = client.resolve_room(&room).await?;
    let submitted = client.edit(&secret, &room, &event, text).await?;
    done(cx, &submitted, format!("edited {event}"))
}

/// `causerie react` and (`add` false) `causerie unreact`.
pub(crate) async fn react(
    cx: &Context,
    room: &str,
    event: &str,
    key: &str,
    add: bool,
) -> Result<ExitCode> {
    let (room, event) = target(room, event)?;
    if key.is_empty() || key.len() > causerie_room::relations::MAX_REACTION_KEY_BYTES {
        return Err(refused(
            "bad_reaction_key",
            "a reaction is 1 to 64 bytes, e.g. one emoji",
        ));
    }
    let secret = cx.secret()?;
    let client = cx.session(&secret).await?;
    let room = client.resolve_room(&room).await?;
    let key_text = printable(key);
    if add {
        let submitted = client.react(&secret, &room, &event, key).await?;
        done(cx, &submitted, format!("reacted {key_text} to {event}"))
    } else {
        let submitted = client.unreact(&secret, &room, &event, key).await?;
        done(cx, &submitted, format!("took back {key_text} from {event}"))
    }
}

/// `causerie delete`.
pub(crate) async fn delete(cx: &Context, room: &str, event: &str) -> Result<ExitCode> {
    let (room, event) = target(room, event)?;
    let secret = cx.secret()?;
    let client = cx.session(&secret).await?;
    let room = client.resolve_room(&room).await?;
    let submitted = client.delete(&secret, &room, &event).await?;
    done(cx, &submitted, format!("deleted {event}"))
}

/// USER for `dm`: a key, or the handle of exactly one member of the user's rooms (the first
/// [`MAX_DM_LOOKUP_ROOMS`] of them).
async fn dm_user(client: &Client, user: &str) -> Result<UserKey> {
    let handle = user.strip_prefix('@').unwrap_or(user);
    if handle.chars().count() == ID_HEX_DIGITS {
        return Ok(parse_user(handle)?);
    }
    let mut found: Vec<UserKey> = Vec::new();
    for room in client.rooms().await?.iter().take(MAX_DM_LOOKUP_ROOMS) {
        let Ok(room) = parse_room(&room.room) else {
            continue;
        };
        for member in client.members(&room).await? {
            if member.handle.as_deref() == Some(handle)
                && let Ok(key) = parse_user(&member.user)
                && !found.contains(&key)
            {
                found.push(key);
            }
        }
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(refused(
            "unknown_member",
            format!("nobody in your rooms has handle {handle:?}; pass their key (64 hex digits)"),
        )),
        _ => Err(refused(
            "ambiguous_member",
            format!(
                "{} people in your rooms have handle {handle:?} (on different nodes); pass the key",
                found.len()
            ),
        )),
    }
}

/// `causerie dm`: a direct-message room with USER, and a first message if given.
pub(crate) async fn dm(cx: &Context, user: &str, text: Option<&str>) -> Result<ExitCode> {
    let secret = cx.secret()?;
    let client = cx.session(&secret).await?;
    let with = dm_user(&client, user).await?;
    if with == secret.public() {
        return Err(refused("bad_user", "a direct message is with someone else"));
    }
    let room = client.start_dm(&secret, &with).await?;
    let sent = match text {
        Some(text) => Some(client.reply(&secret, &room, None, text, &[]).await?),
        None => None,
    };
    let link = client.invite_link(&room).await?;
    cx.out.print(
        json!({ "room": room.to_string(), "with": with.to_string(), "link": link,
                "event_id": sent.as_ref().map(|s| s.event_id.clone()) }),
        || {
            format!(
                "started a direct conversation {room} with {}\n\
                 they are invited; if their node does not hold the room yet, send them the link: {link}",
                printable(user)
            )
        },
    );
    Ok(ExitCode::SUCCESS)
}
