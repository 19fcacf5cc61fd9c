//! What clients are shown of a room, computed from the room engine's current state
//! (specs/client-api.md, "Rooms"): a room's name, topic, join rule and power levels as one
//! viewer sees them, and its member list. Pure functions over a [`Room`]; the node actor calls
//! them so that a view is always taken from one consistent state.

use causerie_crypto::event::kinds;
use causerie_crypto::{RoomId, UserKey, Value};

use causerie_room::content::{parse_user_hex, power_of};
use causerie_room::{JoinRules, Membership, PowerLevels, Room};

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
    /// The power levels in force (the defaults when the room has none).
    pub power_levels: PowerLevels,
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
    let (membership, power) = match viewer {
        Some(user) => (room.membership(user), room.power_level(user)),
        None => (None, power_levels.users_default),
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
        power_levels,
    }
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
                user,
                membership,
                display_name,
                power,
            })
        })
        .collect()
}
