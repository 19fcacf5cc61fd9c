//! `causerie mod kick|ban|unban|mute|unmute|purge|redact|power`: the moderator actions of
//! specs/moderation.md §1, prepared by the node, checked and signed here (specs/client-api.md).
//! `--duration` (e.g. `90s`, `10m`, `2h`, `7d`, `2w`) makes a ban or mute temporary: the CLI
//! turns it into the absolute `expires` it asks for and checks in the draft.

use std::process::ExitCode;

use anyhow::Result;
use causerie_crypto::address::parse_event_id;
use causerie_crypto::event::kinds;
use causerie_crypto::{UserKey, Value};
use causerie_node::client::{Client, Expect, RoomRef, UserRef};
use clap::{Args, Subcommand};
use serde_json::json;

use super::{Context, refused};

/// Highest power level the API accepts (2^53 - 1, the largest integer JSON keeps exact).
const MAX_POWER_LEVEL: u64 = (1 << 53) - 1;
/// Longest `--duration`: ten years, as the node accepts (`MAX_MODERATION_DURATION_MS`).
const MAX_DURATION_MS: u64 = 10 * 366 * 24 * 60 * 60 * 1_000;

/// Parses a duration such as `90s`, `10m`, `2h`, `7d`, `2w` into milliseconds
/// (`bad_duration` otherwise).
pub(crate) fn parse_duration(text: &str) -> Result<u64> {
    let bad = || {
        refused(
            "bad_duration",
            format!("{text:?} is not a duration: a number and s, m, h, d or w (e.g. 10m, 7d)"),
        )
    };
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let unit_ms: u64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return Err(bad()),
    };
    match number.checked_mul(unit_ms) {
        Some(0) | None => Err(bad()),
        Some(ms) if ms > MAX_DURATION_MS => Err(refused(
            "bad_duration",
            "at most ten years; leave --duration out for no end",
        )),
        Some(ms) => Ok(ms),
    }
}

/// The `expires` (ms since the epoch) a `--duration` gives, from now.
fn expires_after(duration: Option<&str>) -> Result<Option<u64>> {
    let Some(duration) = duration else {
        return Ok(None);
    };
    let ms = parse_duration(duration)?;
    let now = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| refused("bad_clock", "the system clock is before 1970"))?
            .as_millis(),
    )
    .unwrap_or(u64::MAX);
    Ok(Some(now.saturating_add(ms)))
}

/// The room and user a moderator action names, and why.
#[derive(Debug, Args)]
pub(crate) struct OnUser {
    /// Room id (!…) or alias (#name:server).
    room: String,
    /// The user: key hex or handle of a member.
    user: String,
    /// Why (shown to members).
    #[arg(long)]
    reason: Option<String>,
}

/// `causerie mod` subcommands. USER is a key (64 hex digits) or the handle of a member.
#[derive(Debug, Subcommand)]
pub(crate) enum ModCommand {
    /// Remove a member from the room (they may join again).
    Kick(OnUser),
    /// Ban a user from the room (for a while with --duration).
    Ban {
        #[command(flatten)]
        on: OnUser,
        /// How long, e.g. 10m, 2h, 7d (default: until unbanned).
        #[arg(long)]
        duration: Option<String>,
    },
    /// Ban a user and delete everything they wrote in the room (one event).
    Purge {
        #[command(flatten)]
        on: OnUser,
        /// How long the ban lasts, e.g. 7d (default: until unbanned; the deletion is final).
        #[arg(long)]
        duration: Option<String>,
    },
    /// Lift a ban.
    Unban(OnUser),
    /// Mute a user: they can read the room but send nothing (for a while with --duration).
    Mute {
        #[command(flatten)]
        on: OnUser,
        /// How long, e.g. 10m, 2h, 7d (default: until unmuted).
        #[arg(long)]
        duration: Option<String>,
    },
    /// Lift a mute.
    Unmute(OnUser),
    /// Delete an event's content (its id and signature stay valid).
    Redact {
        /// Room id (!…) or alias (#name:server).
        room: String,
        /// Event id ($…).
        event: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lock a room (or every room you moderate) down: invite-only and slow mode.
    Lockdown(super::rules::LockArgs),
    /// Lift a lockdown: restore the join rule and slow mode from before it.
    Unlock(super::rules::LockArgs),
    /// Set a member's power level.
    Power {
        /// Room id (!…) or alias (#name:server).
        room: String,
        /// The user: key hex or handle of a member.
        user: String,
        /// The new level.
        #[arg(value_parser = clap::value_parser!(u64).range(0..=MAX_POWER_LEVEL))]
        level: u64,
    },
}

/// Resolves USER: a key in hex, or the handle of exactly one member of the room.
pub(crate) async fn resolve_user(
    client: &Client,
    room: &causerie_crypto::RoomId,
    user: &str,
) -> Result<UserKey> {
    Ok(client
        .resolve_user(&UserRef::parse(user)?, Some(room))
        .await?)
}

fn with_reason(mut action: serde_json::Value, reason: Option<&str>) -> serde_json::Value {
    if let Some(reason) = reason {
        action["reason"] = json!(reason);
    }
    action
}

/// Resolves the user `on` names (a handle or key) and builds the action `name` on them, with
/// the reason if any.
async fn on_user(
    client: &Client,
    room: &causerie_crypto::RoomId,
    name: &str,
    on: &OnUser,
) -> Result<(UserKey, serde_json::Value)> {
    let user = resolve_user(client, room, &on.user).await?;
    let action = with_reason(
        json!({"action": name, "user": user.to_string()}),
        on.reason.as_deref(),
    );
    Ok((user, action))
}

/// Runs a `mod` subcommand.
pub(crate) async fn run(cx: &Context, command: ModCommand) -> Result<ExitCode> {
    let command = match command {
        ModCommand::Lockdown(args) => return super::rules::lockdown(cx, args, true).await,
        ModCommand::Unlock(args) => return super::rules::lockdown(cx, args, false).await,
        other => other,
    };
    let secret = cx.secret()?;
    let room_text = match &command {
        ModCommand::Kick(on)
        | ModCommand::Ban { on, .. }
        | ModCommand::Purge { on, .. }
        | ModCommand::Unban(on)
        | ModCommand::Mute { on, .. }
        | ModCommand::Unmute(on) => on.room.clone(),
        ModCommand::Redact { room, .. } | ModCommand::Power { room, .. } => room.clone(),
        ModCommand::Lockdown(_) | ModCommand::Unlock(_) => {
            return Err(refused("usage", "lockdown and unlock run on their own"));
        }
    };
    let room = RoomRef::parse(&room_text)?;
    // Everything typed is checked before logging in.
    let event = match &command {
        ModCommand::Redact { event, .. } => Some(parse_event_id(event)?),
        _ => None,
    };
    let expires = match &command {
        ModCommand::Ban { duration, .. }
        | ModCommand::Purge { duration, .. }
        | ModCommand::Mute { duration, .. } => expires_after(duration.as_deref())?,
        _ => None,
    };
    let until = |what: String| match expires {
        Some(end) => format!("{what} until {}", super::timeline::date_time(end)),
        None => what,
    };
    let client = cx.session(&secret).await?;
    let room = client.resolve_room(&room).await?;
    let member = |user: &UserKey, membership: &str| {
        Expect::new(Some(room), kinds::MEMBER)
            .state_key(user.to_string())
            .content("membership", membership)
    };
    let purge = matches!(command, ModCommand::Purge { .. });
    let muted = matches!(command, ModCommand::Mute { .. });
    let kick = matches!(command, ModCommand::Kick { .. });
    let (what, submitted) = match command {
        // Both end in a `leave` membership: a kick of a member, an unban of a banned user.
        ModCommand::Kick(on) | ModCommand::Unban(on) => {
            let (name, verb) = if kick {
                ("kick", "kicked")
            } else {
                ("unban", "unbanned")
            };
            let (user, action) = on_user(&client, &room, name, &on).await?;
            let done = client
                .act(&secret, &room, action, member(&user, "leave"))
                .await?;
            (format!("{verb} {user}"), done)
        }
        ModCommand::Ban { on, .. } | ModCommand::Purge { on, .. } => {
            let (user, mut action) = on_user(&client, &room, "ban", &on).await?;
            let mut expect = member(&user, "ban");
            if let Some(end) = expires {
                action["expires"] = json!(end);
                expect = expect.value("expires", Value::Integer(end as i64));
            }
            if purge {
                action["purge"] = json!(true);
                expect = expect.value("purge", Value::Bool(true));
            }
            let done = client.act(&secret, &room, action, expect).await?;
            let verb = if purge { "banned and purged" } else { "banned" };
            (until(format!("{verb} {user}")), done)
        }
        ModCommand::Mute { on, .. } | ModCommand::Unmute(on) => {
            let name = if muted { "mute" } else { "unmute" };
            let (user, mut action) = on_user(&client, &room, name, &on).await?;
            let mut expect = Expect::new(Some(room), kinds::MUTE)
                .state_key(user.to_string())
                .value("muted", Value::Bool(muted));
            if let Some(end) = expires {
                action["expires"] = json!(end);
                expect = expect.value("expires", Value::Integer(end as i64));
            }
            let done = client.act(&secret, &room, action, expect).await?;
            let what = format!("{name}d {user}");
            (if muted { until(what) } else { what }, done)
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
        ModCommand::Lockdown(_) | ModCommand::Unlock(_) => {
            return Err(refused("usage", "lockdown and unlock run on their own"));
        }
    };
    cx.out.print(serde_json::to_value(&submitted)?, || {
        format!("{what} ({})", submitted.event_id)
    });
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("90s").unwrap(), 90_000);
        assert_eq!(parse_duration("10m").unwrap(), 600_000);
        assert_eq!(parse_duration("2h").unwrap(), 7_200_000);
        assert_eq!(parse_duration("7d").unwrap(), 604_800_000);
        assert_eq!(parse_duration("2w").unwrap(), 1_209_600_000);
        for bad in [
            "",
            "10",
            "m",
            "0m",
            "1y",
            "-5m",
            "1.5h",
            "99999999999999999999d",
            "5000w",
        ] {
            let error = parse_duration(bad).unwrap_err();
            let refused = error.downcast_ref::<super::super::Refused>().unwrap();
            assert_eq!(refused.reason, "bad_duration", "{bad:?}");
        }
    }
}
