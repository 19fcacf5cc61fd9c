//! `causerie mod kick|ban|unban|redact|power`: the moderation actions of the room engine
//! (specs/rooms.md), prepared by the node, checked and signed here (specs/client-api.md).

use std::process::ExitCode;

use anyhow::Result;
use causerie_crypto::UserKey;
use causerie_crypto::address::{ID_HEX_DIGITS, parse_event_id, parse_room, parse_user};
use causerie_crypto::event::kinds;
use causerie_node::client::{Client, Expect};
use clap::Subcommand;
use serde_json::json;

use super::{Context, refused};

/// Highest power level the API accepts (2^53 - 1, the largest integer JSON keeps exact).
const MAX_POWER_LEVEL: u64 = (1 << 53) - 1;

/// `causerie mod` subcommands. USER is a key (64 hex digits) or the handle of a member.
#[derive(Debug, Subcommand)]
pub(crate) enum ModCommand {
    /// Remove a member from the room (they may join again).
    Kick {
        /// Room id (!…).
        room: String,
        /// The member: key hex or handle.
        user: String,
        /// Why (shown to members).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Ban a user from the room.
    Ban {
        /// Room id (!…).
        room: String,
        /// The user: key hex or handle of a member.
        user: String,
        /// Why (shown to members).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lift a ban.
    Unban {
        /// Room id (!…).
        room: String,
        /// The user: key hex or handle of a member.
        user: String,
    },
    /// Delete an event's content (its id and signature stay valid).
    Redact {
        /// Room id (!…).
        room: String,
        /// Event id ($…).
        event: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Set a member's power level.
    Power {
        /// Room id (!…).
        room: String,
        /// The user: key hex or handle of a member.
        user: String,
        /// The new level.
        #[arg(value_parser = clap::value_parser!(u64).range(0..=MAX_POWER_LEVEL))]
        level: u64,
    },
}

/// Resolves USER: a key in hex, or the handle of exactly one user with a member event.
async fn resolve_user(
    client: &Client,
    room: &causerie_crypto::RoomId,
    user: &str,
) -> Result<UserKey> {
    let handle = user.strip_prefix('@').unwrap_or(user);
    // Handles are at most MAX_HANDLE_BYTES (32) characters, so 64 can only be a key.
    if handle.chars().count() == ID_HEX_DIGITS {
        return Ok(parse_user(user)?);
    }
    let members = client.members(room).await?;
    let matches: Vec<_> = members
        .iter()
        .filter(|m| m.handle.as_deref() == Some(handle))
        .collect();
    match matches.as_slice() {
        [one] => parse_user(&one.user)
            .map_err(|_| refused("bad_user", "the node listed a malformed member key")),
        [] => Err(refused(
            "unknown_member",
            format!("no member with handle {handle:?}; pass the key (64 hex digits)"),
        )),
        _ => Err(refused(
            "ambiguous_member",
            format!(
                "{} members have handle {handle:?} (on different nodes); pass the key",
                matches.len()
            ),
        )),
    }
}

fn with_reason(mut action: serde_json::Value, reason: Option<&str>) -> serde_json::Value {
    if let Some(reason) = reason {
        action["reason"] = json!(reason);
    }
    action
}

/// Runs a `mod` subcommand.
pub(crate) async fn run(cx: &Context, command: ModCommand) -> Result<ExitCode> {
    let secret = cx.secret()?;
    let room_text = match &command {
        ModCommand::Kick { room, .. }
        | ModCommand::Ban { room, .. }
        | ModCommand::Unban { room, .. }
        | ModCommand::Redact { room, .. }
        | ModCommand::Power { room, .. } => room.clone(),
    };
    let room = parse_room(&room_text)?;
    // Everything typed is checked before logging in.
    let event = match &command {
        ModCommand::Redact { event, .. } => Some(parse_event_id(event)?),
        _ => None,
    };
    let client = cx.session(&secret).await?;
    let member = |user: &UserKey, membership: &str| {
        Expect::new(Some(room), kinds::MEMBER)
            .state_key(user.to_string())
            .content("membership", membership)
    };
    let (what, submitted) = match command {
        ModCommand::Kick {
            ref user,
            ref reason,
            ..
        }
        | ModCommand::Ban {
            ref user,
            ref reason,
            ..
        } => {
            // The action, the membership it leaves, and what was done.
            let (name, membership, done_verb) = if matches!(command, ModCommand::Ban { .. }) {
                ("ban", "ban", "banned")
            } else {
                ("kick", "leave", "kicked")
            };
            let user = resolve_user(&client, &room, user).await?;
            let action = with_reason(
                json!({"action": name, "user": user.to_string()}),
                reason.as_deref(),
            );
            let done = client
                .act(&secret, &room, action, member(&user, membership))
                .await?;
            (format!("{done_verb} {user}"), done)
        }
        ModCommand::Unban { user, .. } => {
            let user = resolve_user(&client, &room, &user).await?;
            let action = json!({"action": "unban", "user": user.to_string()});
            let done = client
                .act(&secret, &room, action, member(&user, "leave"))
                .await?;
            (format!("unbanned {user}"), done)
        }
        ModCommand::Redact { reason, .. } => {
            let event = event.ok_or_else(|| refused("bad_event_id", "no event id"))?;
            let action = with_reason(
                json!({"action": "redact", "event": event.to_string()}),
                reason.as_deref(),
            );
            let expect =
                Expect::new(Some(room), kinds::REDACTION).bytes("redacts", event.0.0.to_vec());
            let done = client.act(&secret, &room, action, expect).await?;
            (format!("redacted {event}"), done)
        }
        ModCommand::Power { user, level, .. } => {
            let user = resolve_user(&client, &room, &user).await?;
            let action = json!({"action": "power", "user": user.to_string(), "level": level});
            let expect = Expect::new(Some(room), kinds::POWER_LEVELS)
                .state_key("")
                .user_level(user, level);
            let done = client.act(&secret, &room, action, expect).await?;
            (format!("set power of {user} to {level}"), done)
        }
    };
    cx.out.print(serde_json::to_value(&submitted)?, || {
        format!("{what} ({})", submitted.event_id)
    });
    Ok(ExitCode::SUCCESS)
}
