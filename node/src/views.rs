//! What clients are shown of a room, computed from the room engine's current state
//! (specs/client-api.md, "Rooms"): a room's name, topic, join rule and power levels as one
//! viewer sees them, and its member list. Pure functions over a [`Room`]; the node actor calls
//! them so that a view is always taken from one consistent state.

use causerie_crypto::event::kinds;
use causerie_crypto::{Event, EventId, RoomId, UserKey, Value};

use causerie_room::content::{parse_user_hex, power_of, user_state_key};
use causerie_room::{ContentRules, JoinRules, Membership, PowerLevels, Room};

/// A room as one viewer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomView {
    /// The room.
    pub room: RoomId,
    /// `room.name`, if set.
    pub name: Option<String>,
    /// `room.topic`, if set.
    pub topic: Option<String>,
    /// The join rules in force (the defaults when the room has none).
    pub join_rules: JoinRules,
    /// The creator (author of the create event).
    pub creator: Option<UserKey>,
    /// Users whose membership is `join`.
    pub joined: usize,
    /// The viewer's membership.
    pub membership: Option<Membership>,
    /// The viewer's power.
    pub power: i64,
    /// How much of the history the viewer may read.
    pub reading: Reading,
    /// The power levels in force (the defaults when the room has none).
    pub power_levels: PowerLevels,
    /// Who removed the viewer and why, when the viewer's membership is `leave` or `ban` by
    /// someone else's member event (a kick or a ban).
    pub removed: Option<Removal>,
    /// Who muted the viewer, why and until when, when the room's state mutes them.
    pub muted: Option<Restriction>,
    /// The content rules in force (none set: the defaults, which impose nothing).
    pub content_rules: ContentRules,
    /// Joins this node refused under the join-wave breaker, shown to viewers at or above the
    /// kick level (a node-local notice, specs/moderation.md §5.3).
    pub join_wave: Option<JoinWaveNotice>,
    /// For a direct-message room (create content `dm: true`, specs/rooms.md §13.5): the other
    /// member, if there is one yet.
    pub dm: Option<Option<UserKey>>,
}

/// Joins a node refused in one room under the join-wave breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinWaveNotice {
    /// How many, since the node started.
    pub refused: u64,
    /// When the last one was refused (the node's clock, ms).
    pub last_ms: u64,
}

/// A moderator's restriction of a member as clients are shown it: a mute (`room.mute` with
/// `muted: true`) or the terms of a ban. `expires` is room time (specs/moderation.md §0): the
/// restriction ends for the member's events from then on; clients compare it with their clock
/// to say "until 14:05" and when it is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restriction {
    /// The moderator whose event set it.
    pub by: UserKey,
    /// The reason they gave, if any.
    pub reason: Option<String>,
    /// When it ends (ms since the epoch), if it does.
    pub expires: Option<u64>,
    /// A ban-and-purge: the member's messages are deleted too (always false for a mute).
    pub purge: bool,
}

/// The restriction an event sets: its author, `reason`, `expires` and `purge`.
fn restriction(event: &Event) -> Restriction {
    let content = event.content();
    Restriction {
        by: *event.author(),
        reason: event.content_str("reason").map(str::to_owned),
        expires: content
            .get("expires")
            .and_then(Value::as_i64)
            .and_then(|n| u64::try_from(n).ok()),
        purge: matches!(content.get("purge"), Some(Value::Bool(true))),
    }
}

/// `user`'s mute in the room's current state, if their `room.mute` says `muted: true`.
fn mute(room: &Room, user: &UserKey) -> Option<Restriction> {
    let event = room.state_event(kinds::MUTE, &user_state_key(user))?;
    matches!(event.content().get("muted"), Some(Value::Bool(true))).then(|| restriction(event))
}

/// A moderator's removal of a user from a room, as the removed user is shown it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// The moderator whose member event removed the user.
    pub by: UserKey,
    /// `ban` or `leave` (a kick).
    pub membership: Membership,
    /// The reason the moderator gave, if any.
    pub reason: Option<String>,
    /// When a ban ends (room time, ms), if it does.
    pub expires: Option<u64>,
    /// Whether the ban also purged the user's messages.
    pub purge: bool,
}

/// The removal that ended `user`'s stay in `room`, if their current member event is someone
/// else's kick or ban.
fn removal(room: &Room, user: &UserKey) -> Option<Removal> {
    let event = room.state_event(kinds::MEMBER, &user_state_key(user))?;
    if event.author() == user {
        return None;
    }
    let membership = Membership::parse(event.content()).ok()?;
    if !matches!(membership, Membership::Leave | Membership::Ban) {
        return None;
    }
    let terms = restriction(event);
    Some(Removal {
        by: terms.by,
        membership,
        reason: terms.reason,
        expires: terms.expires,
        purge: terms.purge,
    })
}

/// How much of a room's history one user may read (specs/client-api.md, "Rooms").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Joined now: all of it.
    All,
    /// Joined before, then left, was kicked or banned: the timeline up to and including the
    /// member event that ended their last stay, at this position (depth, event id).
    Until(u64, EventId),
    /// Never joined (or not within [`MAX_MEMBERSHIP_WALK`] member events): none of it.
    Nothing,
}

/// Most of one user's member events walked back to find their last stay in a room.
pub const MAX_MEMBERSHIP_WALK: usize = 64;

/// How much of `room`'s history `user` may read: walks back through the user's member events
/// (each one's state before names the previous) to the last join.
pub fn reading(room: &Room, user: &UserKey) -> Reading {
    let key = user_state_key(user);
    let previous = |event: &Event| -> Option<&Event> {
        let before = room.state_before(&event.id())?;
        let id = causerie_room::event::state_get(&before, kinds::MEMBER, &key)?;
        room.event(id)
    };
    let is_join =
        |event: &Event| matches!(Membership::parse(event.content()), Ok(Membership::Join));
    let Some(mut current) = room.state_event(kinds::MEMBER, &key) else {
        return Reading::Nothing;
    };
    if is_join(current) {
        return Reading::All;
    }
    for _ in 0..MAX_MEMBERSHIP_WALK {
        let Some(before) = previous(current) else {
            return Reading::Nothing;
        };
        if is_join(before) {
            return Reading::Until(current.depth(), current.id());
        }
        current = before;
    }
    Reading::Nothing
}

/// One user with a member event in the room's current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    /// The user.
    pub user: UserKey,
    /// Their membership.
    pub membership: Membership,
    /// The `display_name` of their member event, if any.
    pub display_name: Option<String>,
    /// Their power.
    pub power: i64,
    /// Their mute, if the room's state mutes them.
    pub muted: Option<Restriction>,
    /// The terms of their ban, when their membership is `ban`.
    pub ban: Option<Restriction>,
}

fn text(room: &Room, kind: &str, field: &str) -> Option<String> {
    room.state_event(kind, "")
        .and_then(|e| e.content_str(field))
        .map(str::to_owned)
}

/// The view of `room` for `viewer` (no membership and default power when `None`).
pub fn room_view(room: &Room, viewer: Option<&UserKey>) -> RoomView {
    let power_levels = room
        .state_event(kinds::POWER_LEVELS, "")
        .and_then(|e| PowerLevels::parse(e.content()).ok())
        .unwrap_or_default();
    let join_rules = room
        .state_event(kinds::JOIN_RULES, "")
        .and_then(|e| JoinRules::parse(e.content()).ok())
        .unwrap_or_default();
    let creator = room.state_event(kinds::CREATE, "").map(|e| *e.author());
    let joined = room
        .current_state()
        .iter()
        .filter(|((kind, _), _)| kind == kinds::MEMBER)
        .filter_map(|(_, id)| room.event(id))
        .filter(|e| matches!(Membership::parse(e.content()), Ok(Membership::Join)))
        .count();
    let (membership, power, reading) = match viewer {
        Some(user) => (
            room.membership(user),
            room.power_level(user),
            reading(room, user),
        ),
        None => (None, power_levels.users_default, Reading::Nothing),
    };
    RoomView {
        room: room.room_id(),
        name: text(room, kinds::NAME, "name"),
        topic: text(room, kinds::TOPIC, "topic"),
        join_rules,
        creator,
        joined,
        membership,
        power,
        reading,
        power_levels,
        removed: viewer.and_then(|user| removal(room, user)),
        muted: viewer.and_then(|user| mute(room, user)),
        content_rules: room.content_rules().unwrap_or_default(),
        join_wave: None,
        dm: dm_with(room, viewer.or(creator.as_ref())),
    }
}

/// Whether `room` is a direct-message room (specs/rooms.md §13.5).
pub fn is_dm(room: &Room) -> bool {
    room.state_event(kinds::CREATE, "")
        .and_then(|e| e.content().get("dm"))
        .is_some_and(|v| *v == Value::Bool(true))
}

/// In a direct-message room, the member other than `viewer`: joined first, then invited, then
/// any other membership, the smallest key among equals. `None` outside a DM room.
fn dm_with(room: &Room, viewer: Option<&UserKey>) -> Option<Option<UserKey>> {
    if !is_dm(room) {
        return None;
    }
    let rank = |m: Membership| match m {
        Membership::Join => 0,
        Membership::Invite => 1,
        _ => 2,
    };
    let other = room
        .current_state()
        .iter()
        .filter(|((kind, _), _)| kind == kinds::MEMBER)
        .filter_map(|((_, key), id)| {
            let user = UserKey::from_bytes(&parse_user_hex(key)?).ok()?;
            let membership = Membership::parse(room.event(id)?.content()).ok()?;
            (Some(&user) != viewer).then_some((rank(membership), user))
        })
        .min()
        .map(|(_, user)| user);
    Some(other)
}

/// Every user with a member event in the current state, in state-key order.
pub fn members(room: &Room) -> Vec<MemberView> {
    let levels = room
        .state_event(kinds::POWER_LEVELS, "")
        .and_then(|e| PowerLevels::parse(e.content()).ok())
        .unwrap_or_default();
    let creator = room.state_event(kinds::CREATE, "").map(|e| *e.author());
    room.current_state()
        .iter()
        .filter(|((kind, _), _)| kind == kinds::MEMBER)
        .filter_map(|((_, state_key), id)| {
            let event = room.event(id)?;
            let bytes = parse_user_hex(state_key)?;
            let user = UserKey::from_bytes(&bytes).ok()?;
            let membership = Membership::parse(event.content()).ok()?;
            let display_name = match event.content().get("display_name") {
                Some(Value::Text(name)) => Some(name.clone()),
                _ => None,
            };
            let power = match &creator {
                Some(creator) => power_of(&bytes, creator, &levels),
                None => levels.user_level(&bytes),
            };
            Some(MemberView {
                muted: mute(room, &user),
                ban: (membership == Membership::Ban).then(|| restriction(event)),
                user,
                membership,
                display_name,
                power,
            })
        })
        .collect()
}
