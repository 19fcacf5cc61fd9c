//! The authorization rules (specs/rooms.md §2): Matrix room versions 11/12
//! adapted to user keys. One pure function, [`authorize`], decides whether an event is allowed by
//! a given state; the engine calls it against the event's own auth events, the state before it
//! and (for soft-fail) the current state, and state resolution calls it in its iterative checks.

use std::borrow::Cow;

use causerie_crypto::UserKey;
use causerie_crypto::event::kinds;

use crate::content::{
    JoinRule, JoinRules, Membership, PowerLevels, check_plain_content, parse_user_hex, power_of,
};
use crate::error::AuthError;
use crate::event::StateEvent;
use crate::moderation::{BanTerms, authorize_mute, membership_at, muted_at};

/// What [`authorize`] read from the state, for callers that need more than pass/fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authorized {
    /// Whether the sender may redact other users' events under this state.
    pub can_redact_others: bool,
}

/// `user`'s membership in `state` as the rules see it for an event with `origin_ts` (an expired
/// ban counts as `leave`: specs/moderation.md §1.2).
fn membership<'a, E: StateEvent + 'a>(
    state: &impl Fn(&str, &str) -> Option<&'a E>,
    user: &str,
    origin_ts: u64,
) -> Option<Membership> {
    state(kinds::MEMBER, user).and_then(|e| membership_at(e.content(), origin_ts))
}

/// Whether `event` is allowed by `state` (a lookup of the state entries by kind and state key).
pub fn authorize<'a, E: StateEvent + 'a>(
    event: &E,
    state: impl Fn(&str, &str) -> Option<&'a E>,
) -> Result<Authorized, AuthError> {
    let kind = event.kind();
    if kind == kinds::CREATE {
        // The create event is its own authority: its id is the room id and its author the creator.
        return if event.state_key() == Some("") {
            Ok(Authorized {
                can_redact_others: true,
            })
        } else {
            Err(AuthError::BadStateKey)
        };
    }
    let create = state(kinds::CREATE, "").ok_or(AuthError::NoCreate)?;
    let creator = create.sender();
    let levels = match state(kinds::POWER_LEVELS, "") {
        Some(e) => e.power_levels()?,
        None => Cow::Owned(PowerLevels::default()),
    };
    let sender = event.sender();
    let sender_power = power_of(sender.as_bytes(), creator, &levels);
    let can_redact_others = sender_power >= levels.redact;
    let sender_hex = event.sender_hex();
    let sender_membership = membership(&state, &sender_hex, event.origin_ts());
    // A muted sender may only leave (specs/moderation.md §1.3).
    if state(kinds::MUTE, &sender_hex).is_some_and(|m| muted_at(m.content(), event.origin_ts()))
        && !(kind == kinds::MEMBER
            && event.state_key() == Some(&*sender_hex)
            && Membership::parse(event.content()) == Ok(Membership::Leave))
    {
        return Err(AuthError::Muted);
    }

    if kind == kinds::MEMBER {
        authorize_member(
            event,
            &state,
            creator,
            &levels,
            sender_power,
            sender_membership,
        )?;
        return Ok(Authorized { can_redact_others });
    }
    if sender_membership != Some(Membership::Join) {
        return Err(match sender_membership {
            Some(Membership::Ban) => AuthError::Banned,
            _ => AuthError::NotAMember,
        });
    }
    if kind == kinds::MUTE {
        authorize_mute(
            event.state_key(),
            event.content(),
            sender_power,
            creator,
            &levels,
        )?;
        return Ok(Authorized { can_redact_others });
    }
    if sender_power < levels.required(kind, event.state_key().is_some()) {
        return Err(AuthError::InsufficientPower);
    }
    let state_key = event.state_key();
    match kind {
        kinds::POWER_LEVELS
        | kinds::JOIN_RULES
        | kinds::NAME
        | kinds::TOPIC
        | kinds::POLICY_SUBSCRIPTIONS
        | kinds::CONTENT_RULES
            if state_key != Some("") =>
        {
            return Err(AuthError::BadStateKey);
        }
        kinds::REDACTION | kinds::MESSAGE | kinds::REACTION if state_key.is_some() => {
            return Err(AuthError::BadStateKey);
        }
        _ => {}
    }
    match kind {
        kinds::POWER_LEVELS => {
            let new = event.power_levels()?;
            if new.users.contains_key(creator.as_bytes()) {
                return Err(AuthError::BadContent("creator_in_users"));
            }
            if let Some(old) = state(kinds::POWER_LEVELS, "") {
                let old = old.power_levels()?;
                check_power_change(&old, &new, sender, sender_power)?;
            }
        }
        kinds::JOIN_RULES => {
            JoinRules::parse(event.content())?;
        }
        kinds::CONTENT_RULES => {
            event.content_rules()?;
        }
        // A redacted event (events.md §5) keeps only the content keys its kind preserves: the
        // conventions of the other kinds cannot be checked on it, and whether a node holds the
        // full or the redacted form must not change the verdict.
        kinds::NAME | kinds::TOPIC | kinds::MESSAGE | kinds::REACTION if event.is_redacted() => {}
        crate::policy::POLICY_RULE => {
            crate::policy::check_rule(state_key, event.content(), event.is_redacted())?
        }
        _ => check_plain_content(kind, event.content())?,
    }
    if kind == kinds::MESSAGE {
        crate::rules::check_message(event, &state, &levels, sender_power)?;
    }
    Ok(Authorized { can_redact_others })
}

fn authorize_member<'a, E: StateEvent + 'a>(
    event: &E,
    state: &impl Fn(&str, &str) -> Option<&'a E>,
    creator: &UserKey,
    levels: &PowerLevels,
    sender_power: i64,
    sender_membership: Option<Membership>,
) -> Result<(), AuthError> {
    let target = event
        .state_key()
        .and_then(parse_user_hex)
        .ok_or(AuthError::BadStateKey)?;
    let wanted = Membership::parse(event.content())?;
    let sender = event.sender();
    let current = membership(
        state,
        event.state_key().unwrap_or_default(),
        event.origin_ts(),
    );
    let target_power = power_of(&target, creator, levels);
    let sender_joined = sender_membership == Some(Membership::Join);
    match wanted {
        Membership::Join => {
            if sender.as_bytes() != &target {
                return Err(AuthError::SenderNotTarget);
            }
            if current == Some(Membership::Ban) {
                return Err(AuthError::Banned);
            }
            // The creator may always (re)join: nobody can ban them.
            if &target == creator.as_bytes() || current == Some(Membership::Join) {
                return Ok(());
            }
            let rules = match state(kinds::JOIN_RULES, "") {
                Some(e) => JoinRules::parse(e.content())?,
                None => JoinRules::default(),
            };
            let invited = current == Some(Membership::Invite);
            match rules.rule {
                JoinRule::Public => Ok(()),
                JoinRule::Invite | JoinRule::Knock if invited => Ok(()),
                JoinRule::Invite | JoinRule::Knock => Err(AuthError::JoinNotAllowed),
                JoinRule::Attested if invited => Ok(()),
                JoinRule::Attested if crate::trust::admits(&rules, event.credential()) => Ok(()),
                JoinRule::Attested => Err(AuthError::AttestationNotAccepted),
            }
        }
        Membership::Invite => {
            if !sender_joined {
                return Err(AuthError::NotAMember);
            }
            match current {
                Some(Membership::Ban) => Err(AuthError::Banned),
                Some(Membership::Join) => Err(AuthError::InvalidMembershipChange),
                _ if sender_power < levels.invite => Err(AuthError::InsufficientPower),
                _ => Ok(()),
            }
        }
        Membership::Knock => {
            if sender.as_bytes() != &target {
                return Err(AuthError::SenderNotTarget);
            }
            let rules = match state(kinds::JOIN_RULES, "") {
                Some(e) => JoinRules::parse(e.content())?,
                None => JoinRules::default(),
            };
            // An open room (public, attested) takes knocks only while a join wave is in force:
            // the join-wave step decides that (rules.rs `check_join_wave`).
            if rules.rule == JoinRule::Invite {
                return Err(AuthError::JoinNotAllowed);
            }
            match current {
                Some(Membership::Ban) => Err(AuthError::Banned),
                Some(Membership::Join | Membership::Invite) => {
                    Err(AuthError::InvalidMembershipChange)
                }
                _ => Ok(()),
            }
        }
        Membership::Leave if sender.as_bytes() == &target => match current {
            Some(Membership::Join | Membership::Invite | Membership::Knock) => Ok(()),
            Some(Membership::Ban) => Err(AuthError::Banned),
            _ => Err(AuthError::InvalidMembershipChange),
        },
        Membership::Leave => {
            if !sender_joined {
                return Err(AuthError::NotAMember);
            }
            if current == Some(Membership::Ban) {
                // Unban.
                if sender_power < levels.ban {
                    return Err(AuthError::InsufficientPower);
                }
            } else if sender_power < levels.kick || target_power >= sender_power {
                return Err(AuthError::InsufficientPower);
            }
            Ok(())
        }
        Membership::Ban => {
            BanTerms::parse(event.content())?;
            if !sender_joined {
                return Err(AuthError::NotAMember);
            }
            if sender_power < levels.ban || target_power >= sender_power {
                return Err(AuthError::InsufficientPower);
            }
            Ok(())
        }
    }
}

/// Matrix's rules for changing power levels: every changed level, old and new, must be at most
/// the sender's own; entries of other users at or above the sender's level cannot change.
fn check_power_change(
    old: &PowerLevels,
    new: &PowerLevels,
    sender: &UserKey,
    sender_power: i64,
) -> Result<(), AuthError> {
    let scalars = [
        (old.ban, new.ban),
        (old.kick, new.kick),
        (old.redact, new.redact),
        (old.mute, new.mute),
        (old.invite, new.invite),
        (old.events_default, new.events_default),
        (old.state_default, new.state_default),
        (old.users_default, new.users_default),
    ];
    for (before, after) in scalars {
        if before != after && (before > sender_power || after > sender_power) {
            return Err(AuthError::PowerChangeNotAllowed);
        }
    }
    let changed = |before: Option<i64>, after: Option<i64>| before != after;
    let too_high = |v: Option<i64>| v.is_some_and(|v| v > sender_power);
    for kind in old.events.keys().chain(new.events.keys()) {
        let (before, after) = (old.events.get(kind).copied(), new.events.get(kind).copied());
        if changed(before, after) && (too_high(before) || too_high(after)) {
            return Err(AuthError::PowerChangeNotAllowed);
        }
    }
    for user in old.users.keys().chain(new.users.keys()) {
        let (before, after) = (old.users.get(user).copied(), new.users.get(user).copied());
        if !changed(before, after) {
            continue;
        }
        if too_high(before) || too_high(after) {
            return Err(AuthError::PowerChangeNotAllowed);
        }
        if user != sender.as_bytes() && before.is_some_and(|v| v >= sender_power) {
            return Err(AuthError::PowerChangeNotAllowed);
        }
    }
    Ok(())
}
