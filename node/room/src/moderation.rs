//! The moderation rules of room state (specs/moderation.md §1): what a ban's `expires` and
//! `purge` mean, and the mute (`room.mute`). Pure functions over content and the event's own
//! `origin_ts` (room time, specs/moderation.md §0), called by [`crate::auth`]; the purge's
//! visibility rule lives with the engine (`engine/purge.rs`).

use causerie_crypto::{Content, UserKey, Value};

use crate::content::{Membership, PowerLevels, parse_user_hex, power_of};
use crate::error::AuthError;

/// Default level needed to mute and unmute (as kick).
pub const DEFAULT_MUTE: i64 = 50;

/// A timestamp field (`expires`): an integer in `0 ..= 2^63 - 1`, milliseconds since the epoch.
fn timestamp(content: &Content, problem: &'static str) -> Result<Option<u64>, AuthError> {
    match content.get("expires") {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .and_then(|n| u64::try_from(n).ok())
            .map(Some)
            .ok_or(AuthError::BadContent(problem)),
    }
}

/// The terms of a ban (`room.member` with membership `ban`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BanTerms {
    /// The ban counts as `leave` for every event whose `origin_ts` is at least this.
    pub expires: Option<u64>,
    /// Ban-and-purge: the target's events before or concurrent with the ban are shown redacted.
    pub purge: bool,
}

impl BanTerms {
    /// Parses the optional `expires` (integer ≥ 0) and `purge` (bool) of ban content.
    pub fn parse(content: &Content) -> Result<Self, AuthError> {
        let expires = timestamp(content, "bad_expires")?;
        let purge = match content.get("purge") {
            None => false,
            Some(Value::Bool(purge)) => *purge,
            Some(_) => return Err(AuthError::BadContent("bad_purge")),
        };
        Ok(BanTerms { expires, purge })
    }

    /// Whether the ban still applies to an event with this `origin_ts`.
    pub fn applies_at(&self, origin_ts: u64) -> bool {
        self.expires.is_none_or(|end| origin_ts < end)
    }
}

/// The membership that member content gives, as the rules see it for an event with `origin_ts`:
/// a ban that has expired by then counts as `leave`.
pub fn membership_at(content: &Content, origin_ts: u64) -> Option<Membership> {
    match Membership::parse(content).ok()? {
        Membership::Ban => match BanTerms::parse(content) {
            Ok(terms) if !terms.applies_at(origin_ts) => Some(Membership::Leave),
            _ => Some(Membership::Ban),
        },
        other => Some(other),
    }
}

/// Whether member content is a ban with `purge: true`.
pub fn is_purge_ban(content: &Content) -> bool {
    Membership::parse(content) == Ok(Membership::Ban)
        && BanTerms::parse(content).is_ok_and(|t| t.purge)
}

/// A mute (`room.mute` content).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mute {
    /// Muted (true) or unmuted (false).
    pub muted: bool,
    /// The mute stops applying to events whose `origin_ts` is at least this.
    pub expires: Option<u64>,
}

impl Mute {
    /// Parses `room.mute` content: `muted` (bool, required), `expires` (integer ≥ 0, optional).
    pub fn parse(content: &Content) -> Result<Self, AuthError> {
        let muted = match content.get("muted") {
            Some(Value::Bool(muted)) => *muted,
            _ => return Err(AuthError::BadContent("bad_muted")),
        };
        let expires = timestamp(content, "bad_expires")?;
        Ok(Mute { muted, expires })
    }

    /// Whether the mute applies to an event with this `origin_ts`.
    pub fn applies_at(&self, origin_ts: u64) -> bool {
        self.muted && self.expires.is_none_or(|end| origin_ts < end)
    }
}

/// Whether mute content (the state's `room.mute` entry for the sender) silences an event with
/// this `origin_ts`. Content that does not parse never silences (it was never accepted).
pub fn muted_at(content: &Content, origin_ts: u64) -> bool {
    Mute::parse(content).is_ok_and(|m| m.applies_at(origin_ts))
}

/// The rule of a `room.mute` event (specs/moderation.md §1.3), once the sender is known to be
/// joined and not muted: the state key is a user key, the content parses, and the sender's
/// power is at least `mute` and above the target's.
pub fn authorize_mute(
    state_key: Option<&str>,
    content: &Content,
    sender_power: i64,
    creator: &UserKey,
    levels: &PowerLevels,
) -> Result<(), AuthError> {
    let target = state_key
        .and_then(parse_user_hex)
        .ok_or(AuthError::BadStateKey)?;
    Mute::parse(content)?;
    if sender_power < levels.mute || power_of(&target, creator, levels) >= sender_power {
        return Err(AuthError::InsufficientPower);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Edges of the content rules: expiry exactly at `origin_ts`, malformed fields.

    use super::*;

    fn content(pairs: &[(&str, Value)]) -> Content {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn a_ban_ends_exactly_at_expires() {
        let ban = content(&[
            ("membership", "ban".into()),
            ("expires", Value::Integer(1_000)),
        ]);
        assert_eq!(membership_at(&ban, 999), Some(Membership::Ban));
        assert_eq!(membership_at(&ban, 1_000), Some(Membership::Leave));
        let forever = content(&[("membership", "ban".into())]);
        assert_eq!(membership_at(&forever, u64::MAX), Some(Membership::Ban));
        let bad = content(&[
            ("membership", "ban".into()),
            ("expires", Value::Integer(-1)),
        ]);
        assert_eq!(
            BanTerms::parse(&bad),
            Err(AuthError::BadContent("bad_expires"))
        );
        let bad_purge = content(&[("membership", "ban".into()), ("purge", Value::Integer(1))]);
        assert_eq!(
            BanTerms::parse(&bad_purge),
            Err(AuthError::BadContent("bad_purge"))
        );
        assert!(is_purge_ban(&content(&[
            ("membership", "ban".into()),
            ("purge", Value::Bool(true))
        ])));
        assert!(!is_purge_ban(&content(&[
            ("membership", "leave".into()),
            ("purge", Value::Bool(true))
        ])));
    }

    #[test]
    fn a_mute_ends_exactly_at_expires() {
        let mute = content(&[
            ("muted", Value::Bool(true)),
            ("expires", Value::Integer(50)),
        ]);
        assert!(muted_at(&mute, 49));
        assert!(!muted_at(&mute, 50));
        assert!(!muted_at(&content(&[("muted", Value::Bool(false))]), 0));
        assert!(muted_at(
            &content(&[("muted", Value::Bool(true))]),
            u64::MAX
        ));
        assert_eq!(
            Mute::parse(&content(&[("muted", "yes".into())])),
            Err(AuthError::BadContent("bad_muted"))
        );
        assert_eq!(
            Mute::parse(&content(&[
                ("muted", Value::Bool(true)),
                ("expires", "soon".into())
            ])),
            Err(AuthError::BadContent("bad_expires"))
        );
    }
}
