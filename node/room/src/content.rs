//! Typed views of the content conventions the authorization rules read (specs/rooms.md §1,
//! content conventions). Parsing is strict: a state event whose content does not follow its
//! kind's convention is rejected, so every accepted event parses again on every node.

use std::collections::{BTreeMap, BTreeSet};

use causerie_crypto::event::kinds;
use causerie_crypto::{Assurance, Content, NodeKey, UserKey, Value, lower_hex};

use crate::error::AuthError;

/// Largest absolute power level that may be written (2^53 - 1, exact in every client language).
pub const MAX_POWER: i64 = (1 << 53) - 1;
/// The creator's power: above every level that can be written, so nobody can match or lower it.
pub const CREATOR_POWER: i64 = i64::MAX;
/// Most room ids one policy-subscriptions event may list.
pub const MAX_POLICY_SUBSCRIPTIONS: usize = 64;
/// Most node keys a join-rules event may deny.
pub const MAX_DENIED_ATTESTERS: usize = 256;
/// Longest room name, in bytes.
pub const MAX_NAME_BYTES: usize = 255;
/// Longest topic, in bytes.
pub const MAX_TOPIC_BYTES: usize = 4_096;

/// Default ban level (as Matrix).
pub const DEFAULT_BAN: i64 = 50;
/// Default kick level.
pub const DEFAULT_KICK: i64 = 50;
/// Default redact level.
pub const DEFAULT_REDACT: i64 = 50;
/// Default level for state events not listed in `events`.
pub const DEFAULT_STATE: i64 = 50;
/// Default invite level.
pub const DEFAULT_INVITE: i64 = 0;
/// Default level for non-state events not listed in `events`.
pub const DEFAULT_EVENTS: i64 = 0;
/// Default level of users not listed in `users`.
pub const DEFAULT_USERS: i64 = 0;

/// The room's power levels (`room.power_levels`, state key "").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerLevels {
    /// Level needed to ban and unban.
    pub ban: i64,
    /// Level needed to kick.
    pub kick: i64,
    /// Level needed to redact other users' events.
    pub redact: i64,
    /// Level needed to mute and unmute (specs/moderation.md §1.3).
    pub mute: i64,
    /// Level needed to invite.
    pub invite: i64,
    /// Level needed for non-state kinds not listed in `events`.
    pub events_default: i64,
    /// Level needed for state kinds not listed in `events`.
    pub state_default: i64,
    /// Level of users not listed in `users`.
    pub users_default: i64,
    /// Per-kind levels.
    pub events: BTreeMap<String, i64>,
    /// Per-user levels.
    pub users: BTreeMap<UserBytes, i64>,
}

impl Default for PowerLevels {
    fn default() -> Self {
        PowerLevels {
            ban: DEFAULT_BAN,
            kick: DEFAULT_KICK,
            redact: DEFAULT_REDACT,
            mute: crate::moderation::DEFAULT_MUTE,
            invite: DEFAULT_INVITE,
            events_default: DEFAULT_EVENTS,
            state_default: DEFAULT_STATE,
            users_default: DEFAULT_USERS,
            events: BTreeMap::new(),
            users: BTreeMap::new(),
        }
    }
}

fn level(value: &Value) -> Result<i64, AuthError> {
    match value.as_i64() {
        Some(n) if (-MAX_POWER..=MAX_POWER).contains(&n) => Ok(n),
        _ => Err(AuthError::BadContent("power_level_out_of_range")),
    }
}

/// The raw bytes of a user key, as member state keys and power-level `users` entries name it.
/// The rules compare bytes only: whether the bytes are a valid curve point does not matter to
/// them (an invalid key can never sign an event), and skipping point decompression keeps auth
/// checks cheap.
pub type UserBytes = [u8; 32];

/// Parses a user key given as 64 lowercase hex digits (the only accepted spelling, so that one
/// user has exactly one member state key).
pub fn parse_user_hex(text: &str) -> Option<UserBytes> {
    lower_hex::decode32(text)
}

/// The member state key of `user`.
pub fn user_state_key(user: &UserKey) -> String {
    lower_hex::encode32(user.as_bytes())
}

impl PowerLevels {
    /// Parses and validates `room.power_levels` content. Missing fields take the defaults.
    pub fn parse(content: &Content) -> Result<Self, AuthError> {
        let mut levels = PowerLevels::default();
        for (key, value) in content {
            match key.as_str() {
                "ban" => levels.ban = level(value)?,
                "kick" => levels.kick = level(value)?,
                "redact" => levels.redact = level(value)?,
                "mute" => levels.mute = level(value)?,
                "invite" => levels.invite = level(value)?,
                "events_default" => levels.events_default = level(value)?,
                "state_default" => levels.state_default = level(value)?,
                "users_default" => levels.users_default = level(value)?,
                "events" => {
                    let map = value
                        .as_map()
                        .ok_or(AuthError::BadContent("events_not_a_map"))?;
                    for (kind, v) in map {
                        levels.events.insert(kind.clone(), level(v)?);
                    }
                }
                "users" => {
                    let map = value
                        .as_map()
                        .ok_or(AuthError::BadContent("users_not_a_map"))?;
                    for (user, v) in map {
                        let user =
                            parse_user_hex(user).ok_or(AuthError::BadContent("bad_user_key"))?;
                        levels.users.insert(user, level(v)?);
                    }
                }
                // Unknown keys are allowed (and dropped by redaction): room versions may add some.
                _ => {}
            }
        }
        Ok(levels)
    }

    /// The content that [`Self::parse`] reads back as `self`.
    pub fn to_content(&self) -> Content {
        let mut content = Content::new();
        for (key, value) in [
            ("ban", self.ban),
            ("kick", self.kick),
            ("redact", self.redact),
            ("mute", self.mute),
            ("invite", self.invite),
            ("events_default", self.events_default),
            ("state_default", self.state_default),
            ("users_default", self.users_default),
        ] {
            content.insert(key.into(), Value::Integer(value));
        }
        let events = self
            .events
            .iter()
            .map(|(k, v)| (k.clone(), Value::Integer(*v)))
            .collect();
        content.insert("events".into(), Value::Map(events));
        let users = self
            .users
            .iter()
            .map(|(k, v)| (lower_hex::encode32(k), Value::Integer(*v)))
            .collect();
        content.insert("users".into(), Value::Map(users));
        content
    }

    /// Level of `user`, ignoring the creator rule (see [`power_of`]).
    pub fn user_level(&self, user: &UserBytes) -> i64 {
        self.users.get(user).copied().unwrap_or(self.users_default)
    }

    /// Level needed to send an event of `kind`.
    pub fn required(&self, kind: &str, is_state: bool) -> i64 {
        match self.events.get(kind) {
            Some(level) => *level,
            None if is_state => self.state_default,
            None => self.events_default,
        }
    }
}

/// Power of `user` given the room creator and the power levels in force.
pub fn power_of(user: &UserBytes, creator: &UserKey, levels: &PowerLevels) -> i64 {
    if user == creator.as_bytes() {
        CREATOR_POWER
    } else {
        levels.user_level(user)
    }
}

/// A membership value (`room.member` content `membership`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Membership {
    /// In the room.
    Join,
    /// Not in the room (left, kicked, unbanned, invite revoked or declined).
    Leave,
    /// Invited.
    Invite,
    /// Asked to join.
    Knock,
    /// Banned.
    Ban,
}

impl Membership {
    /// Parses member content.
    pub fn parse(content: &Content) -> Result<Self, AuthError> {
        match content.get("membership").and_then(Value::as_str) {
            Some("join") => Ok(Membership::Join),
            Some("leave") => Ok(Membership::Leave),
            Some("invite") => Ok(Membership::Invite),
            Some("knock") => Ok(Membership::Knock),
            Some("ban") => Ok(Membership::Ban),
            _ => Err(AuthError::BadContent("bad_membership")),
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Membership::Join => "join",
            Membership::Leave => "leave",
            Membership::Invite => "invite",
            Membership::Knock => "knock",
            Membership::Ban => "ban",
        }
    }

    /// Member content with this membership.
    pub fn to_content(self) -> Content {
        let mut content = Content::new();
        content.insert("membership".into(), self.as_str().into());
        content
    }
}

/// How users may join (`room.join_rules` content `join_rule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinRule {
    /// Anyone may join.
    Public,
    /// Only invited users may join.
    Invite,
    /// Invited users may join; others may knock.
    Knock,
    /// Invited users, or users whose attestation meets the room's minimum from a non-denied node.
    Attested,
}

impl JoinRule {
    /// The rule's name in `room.join_rules` content and in the client API.
    pub fn name(self) -> &'static str {
        match self {
            JoinRule::Public => "public",
            JoinRule::Invite => "invite",
            JoinRule::Knock => "knock",
            JoinRule::Attested => "attested",
        }
    }

    /// The rule [`JoinRule::name`] gives `name`, if any.
    pub fn from_name(name: &str) -> Option<JoinRule> {
        [
            JoinRule::Public,
            JoinRule::Invite,
            JoinRule::Knock,
            JoinRule::Attested,
        ]
        .into_iter()
        .find(|rule| rule.name() == name)
    }
}

/// The room's join rules (`room.join_rules`, state key "").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRules {
    /// The rule.
    pub rule: JoinRule,
    /// Minimum assurance for `attested` joins.
    pub min_assurance: Assurance,
    /// Home nodes whose attestations never qualify for `attested` joins.
    pub denied_attesters: BTreeSet<NodeKey>,
    /// When not empty, the only home nodes whose attestations qualify for `attested` joins
    /// (specs/accountability.md §8; see [`crate::trust`]).
    pub allowed_attesters: BTreeSet<NodeKey>,
}

impl Default for JoinRules {
    /// Without a join-rules event a room is invite-only (as Matrix).
    fn default() -> Self {
        JoinRules {
            rule: JoinRule::Invite,
            min_assurance: Assurance::Key,
            denied_attesters: BTreeSet::new(),
            allowed_attesters: BTreeSet::new(),
        }
    }
}

impl JoinRules {
    /// Parses and validates join-rules content.
    pub fn parse(content: &Content) -> Result<Self, AuthError> {
        let rule = read_text(content, "join_rule", "bad_join_rule", JoinRule::from_name)?;
        let min_assurance = match content.get("min_assurance") {
            None => Assurance::Key,
            Some(v) => v
                .as_i64()
                .and_then(|n| u64::try_from(n).ok())
                .and_then(Assurance::from_level)
                .ok_or(AuthError::BadContent("bad_min_assurance"))?,
        };
        let denied_attesters = crate::trust::denied_attesters(content)?;
        let allowed_attesters = crate::trust::allowed_attesters(content)?;
        Ok(JoinRules {
            rule,
            min_assurance,
            denied_attesters,
            allowed_attesters,
        })
    }

    /// The content that [`Self::parse`] reads back as `self`.
    pub fn to_content(&self) -> Content {
        let mut content = Content::new();
        content.insert("join_rule".into(), self.rule.name().into());
        content.insert(
            "min_assurance".into(),
            Value::Integer(self.min_assurance.level() as i64),
        );
        content.insert(
            "denied_attesters".into(),
            crate::trust::node_key_list(&self.denied_attesters),
        );
        if !self.allowed_attesters.is_empty() {
            content.insert(
                "allowed_attesters".into(),
                crate::trust::node_key_list(&self.allowed_attesters),
            );
        }
        content
    }
}

/// The text at `key` as `read` takes it; [`AuthError::BadContent`]`(problem)` when the key is
/// absent, its value is not text, or `read` refuses it.
pub(crate) fn read_text<'a, T>(
    content: &'a Content,
    key: &str,
    problem: &'static str,
    read: impl FnOnce(&'a str) -> Option<T>,
) -> Result<T, AuthError> {
    content
        .get(key)
        .and_then(Value::as_str)
        .and_then(read)
        .ok_or(AuthError::BadContent(problem))
}

fn text_at_most(
    content: &Content,
    key: &str,
    max: usize,
    problem: &'static str,
) -> Result<(), AuthError> {
    read_text(content, key, problem, |text| {
        (text.len() <= max).then_some(())
    })
}

fn id_bytes(value: Option<&Value>) -> Option<[u8; 32]> {
    value
        .and_then(Value::as_bytes)
        .and_then(|b| b.try_into().ok())
}

/// The event id a redaction's content names.
pub fn redacts(content: &Content) -> Option<causerie_crypto::EventId> {
    id_bytes(content.get("redacts")).map(|b| causerie_crypto::EventId(causerie_crypto::Hash32(b)))
}

/// Checks the content conventions of the kinds that have one, other than member, power levels
/// and join rules (which their own rules parse).
pub fn check_plain_content(kind: &str, content: &Content) -> Result<(), AuthError> {
    match kind {
        kinds::NAME => text_at_most(content, "name", MAX_NAME_BYTES, "bad_name"),
        kinds::TOPIC => text_at_most(content, "topic", MAX_TOPIC_BYTES, "bad_topic"),
        kinds::MESSAGE | kinds::REACTION => crate::relations::check_content(kind, content),
        kinds::REDACTION => match redacts(content) {
            Some(_) => Ok(()),
            None => Err(AuthError::BadContent("bad_redacts")),
        },
        kinds::POLICY_SUBSCRIPTIONS => {
            let list = content
                .get("rooms")
                .and_then(Value::as_array)
                .ok_or(AuthError::BadContent("bad_rooms"))?;
            if list.len() > MAX_POLICY_SUBSCRIPTIONS {
                return Err(AuthError::BadContent("too_many_subscriptions"));
            }
            if list.iter().any(|v| id_bytes(Some(v)).is_none()) {
                return Err(AuthError::BadContent("bad_room_id"));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    //! Content limits on both edges.

    use causerie_crypto::{EventId, Hash32, NodeSecret};

    use super::*;

    fn with(key: &str, value: Value) -> Content {
        let mut content = Content::new();
        content.insert(key.into(), value);
        content
    }

    /// The member state key is the lowercase hex of the key, and parses back to it.
    #[test]
    fn user_state_key_is_lowercase_hex() {
        for seed in 0..=255u8 {
            let user = causerie_crypto::UserSecret::from_seed(&[seed; 32]).public();
            let text = user_state_key(&user);
            assert_eq!(text, user.0.to_hex());
            assert_eq!(parse_user_hex(&text), Some(*user.as_bytes()));
        }
    }

    #[test]
    fn power_levels_range() {
        assert_eq!(
            PowerLevels::parse(&with("ban", Value::Integer(MAX_POWER)))
                .unwrap()
                .ban,
            MAX_POWER
        );
        assert_eq!(
            PowerLevels::parse(&with("ban", Value::Integer(-MAX_POWER)))
                .unwrap()
                .ban,
            -MAX_POWER
        );
        for bad in [MAX_POWER + 1, -MAX_POWER - 1] {
            let err = PowerLevels::parse(&with("kick", Value::Integer(bad))).unwrap_err();
            assert_eq!(err.reason(), "bad_content");
        }
        let levels = PowerLevels {
            ban: 7,
            ..PowerLevels::default()
        };
        assert_eq!(PowerLevels::parse(&levels.to_content()).unwrap(), levels);
    }

    #[test]
    fn user_keys_are_64_lowercase_hex_digits() {
        let hex = "ab".repeat(32);
        assert_eq!(parse_user_hex(&hex), Some([0xab; 32]));
        assert_eq!(parse_user_hex(&hex.to_uppercase()), None);
        assert_eq!(parse_user_hex(&hex[..62]), None);
        assert_eq!(parse_user_hex(&format!("{hex}00")), None);
        let users = with(
            "users",
            Value::Map(
                [(hex.to_uppercase(), Value::Integer(1))]
                    .into_iter()
                    .collect(),
            ),
        );
        assert!(PowerLevels::parse(&users).is_err());
    }

    #[test]
    fn denied_attesters_limit() {
        let key = Value::Bytes(NodeSecret::from_seed(&[5; 32]).public().as_bytes().to_vec());
        let mut content = with("join_rule", "attested".into());
        content.insert(
            "denied_attesters".into(),
            Value::Array(vec![key.clone(); MAX_DENIED_ATTESTERS]),
        );
        assert_eq!(
            JoinRules::parse(&content).unwrap().denied_attesters.len(),
            1
        );
        content.insert(
            "denied_attesters".into(),
            Value::Array(vec![key; MAX_DENIED_ATTESTERS + 1]),
        );
        assert_eq!(
            JoinRules::parse(&content),
            Err(AuthError::BadContent("too_many_denied_attesters"))
        );
        content.insert("min_assurance".into(), Value::Integer(4));
        assert!(JoinRules::parse(&content).is_err());
    }

    #[test]
    fn policy_subscriptions_limit() {
        let room = Value::Bytes(vec![1; 32]);
        let at_limit = with(
            "rooms",
            Value::Array(vec![room.clone(); MAX_POLICY_SUBSCRIPTIONS]),
        );
        assert_eq!(
            check_plain_content(kinds::POLICY_SUBSCRIPTIONS, &at_limit),
            Ok(())
        );
        let over = with(
            "rooms",
            Value::Array(vec![room; MAX_POLICY_SUBSCRIPTIONS + 1]),
        );
        assert_eq!(
            check_plain_content(kinds::POLICY_SUBSCRIPTIONS, &over),
            Err(AuthError::BadContent("too_many_subscriptions"))
        );
        let short = with("rooms", Value::Array(vec![Value::Bytes(vec![1; 31])]));
        assert!(check_plain_content(kinds::POLICY_SUBSCRIPTIONS, &short).is_err());
    }

    #[test]
    fn name_and_topic_limits() {
        for (kind, key, max) in [
            (kinds::NAME, "name", MAX_NAME_BYTES),
            (kinds::TOPIC, "topic", MAX_TOPIC_BYTES),
        ] {
            assert_eq!(
                check_plain_content(kind, &with(key, "x".repeat(max).into())),
                Ok(())
            );
            assert!(check_plain_content(kind, &with(key, "x".repeat(max + 1).into())).is_err());
        }
    }

    #[test]
    fn redactions_name_a_32_byte_id() {
        let id = EventId(Hash32([3; 32]));
        let content = with("redacts", Value::Bytes(id.as_bytes().to_vec()));
        assert_eq!(redacts(&content), Some(id));
        assert_eq!(redacts(&with("redacts", Value::Bytes(vec![3; 33]))), None);
    }
}
