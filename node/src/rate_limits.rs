//! Rate limits, a node rule (specs/moderation.md §5): token buckets (`governor`) on the events
//! this node takes. Clients' submissions count per user per room, per user on the node, and,
//! for joins and invites, per user; events gossiped by a peer count per peer (the network actor
//! holds that bucket, [`peer_limiter`]). A refused submission gets `429 rate_limited` with
//! `Retry-After` and `retry_after_ms`; a peer over its rate has its messages ignored and earns a
//! strike. Every refusal is counted by kind for `/metrics`.
//!
//! A user refused by their room or node bucket is also refused `prepare` in that room (or on
//! the node) until the wait it was told has passed ([`RateLimits::check_cooling`]): a flooding
//! client then costs the node a map lookup per request, not a trip to the node actor.
//!
//! The limits are node-local and never decide room state: an event refused here may still
//! reach the room through another node, where that node's limits apply.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use causerie_crypto::event::kinds;
use causerie_crypto::{Event, RoomId};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};

use crate::counters::ReasonCounts;
use causerie_room::Membership;
use causerie_room::content::user_state_key;

/// Default bucket of one user's messages and other events in one room: a burst of 20, then 5
/// a second.
pub const DEFAULT_USER_ROOM: Rate = Rate {
    burst: 20,
    per_minute: 300,
};
/// Default bucket of one user's events on the node, all rooms together: a burst of 60, then 10
/// a second.
pub const DEFAULT_USER: Rate = Rate {
    burst: 60,
    per_minute: 600,
};
/// Default bucket of one user's joins (and knocks): a burst of 10, then 10 a minute.
pub const DEFAULT_JOINS: Rate = Rate {
    burst: 10,
    per_minute: 10,
};
/// Default bucket of one user's invites: a burst of 20, then 20 a minute.
pub const DEFAULT_INVITES: Rate = Rate {
    burst: 20,
    per_minute: 20,
};
/// Default bucket of the gossip messages one peer sends: a burst of 20,000, then 10,000 a
/// second. A peer relays every user of every shared room, so this only stops what no honest
/// peer sends: more than a core can verify (about 26,000 signatures a second).
pub const DEFAULT_PEER: Rate = Rate {
    burst: 20_000,
    per_minute: 600_000,
};
/// Largest burst a rate may allow.
pub const MAX_RATE_BURST: u32 = 1_000_000;
/// Largest sustained rate, per minute (100,000 a second).
pub const MAX_RATE_PER_MINUTE: u32 = 6_000_000;
/// Keys one limiter holds before it forgets the ones whose buckets are full again.
pub const MAX_RATE_LIMIT_KEYS: usize = 65_536;

/// A token bucket: `burst` events at once, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Events allowed at once.
    pub burst: u32,
    /// Events per minute, sustained.
    pub per_minute: u32,
}

impl Rate {
    /// The governor quota of this rate (values out of range are clamped to 1; validate first).
    pub fn quota(self) -> Quota {
        let per_minute = u64::from(self.per_minute.max(1));
        let period = Duration::from_nanos(60_000_000_000 / per_minute).max(Duration::from_nanos(1));
        #[allow(clippy::expect_used)]
        Quota::with_period(period)
            .expect("a period of at least 1 ns")
            .allow_burst(NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN))
    }

    /// Whether both numbers are within bounds.
    pub fn is_valid(self) -> bool {
        (1..=MAX_RATE_BURST).contains(&self.burst)
            && (1..=MAX_RATE_PER_MINUTE).contains(&self.per_minute)
    }
}

/// The `[rate_limits]` table of the config file; absent entries keep their defaults.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitsFile {
    /// See [`RateLimitConfig::user_room`].
    pub user_room: Option<Rate>,
    /// See [`RateLimitConfig::user`].
    pub user: Option<Rate>,
    /// See [`RateLimitConfig::joins`].
    pub joins: Option<Rate>,
    /// See [`RateLimitConfig::invites`].
    pub invites: Option<Rate>,
    /// See [`RateLimitConfig::peer`].
    pub peer: Option<Rate>,
}

/// The node's rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// One user's submitted events in one room. Default [`DEFAULT_USER_ROOM`].
    pub user_room: Rate,
    /// One user's submitted events on the node. Default [`DEFAULT_USER`].
    pub user: Rate,
    /// One user's joins and knocks. Default [`DEFAULT_JOINS`].
    pub joins: Rate,
    /// One user's invites. Default [`DEFAULT_INVITES`].
    pub invites: Rate,
    /// Gossip messages from one peer. Default [`DEFAULT_PEER`].
    pub peer: Rate,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            user_room: DEFAULT_USER_ROOM,
            user: DEFAULT_USER,
            joins: DEFAULT_JOINS,
            invites: DEFAULT_INVITES,
            peer: DEFAULT_PEER,
        }
    }
}

impl RateLimitConfig {
    /// The file's values over the defaults.
    pub fn from_file(file: RateLimitsFile) -> Self {
        let d = RateLimitConfig::default();
        RateLimitConfig {
            user_room: file.user_room.unwrap_or(d.user_room),
            user: file.user.unwrap_or(d.user),
            joins: file.joins.unwrap_or(d.joins),
            invites: file.invites.unwrap_or(d.invites),
            peer: file.peer.unwrap_or(d.peer),
        }
    }

    /// The first rate out of bounds, by its TOML key.
    pub fn invalid(&self) -> Option<&'static str> {
        [
            ("rate_limits.user_room", self.user_room),
            ("rate_limits.user", self.user),
            ("rate_limits.joins", self.joins),
            ("rate_limits.invites", self.invites),
            ("rate_limits.peer", self.peer),
        ]
        .into_iter()
        .find(|(_, rate)| !rate.is_valid())
        .map(|(key, _)| key)
    }
}

/// Which bucket refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The user's events in the room.
    UserRoom,
    /// The user's events on the node.
    User,
    /// The user's joins and knocks.
    Joins,
    /// The user's invites.
    Invites,
    /// A peer's gossip.
    Peer,
}

impl Limit {
    /// Stable name (the `kind` label of `causerie_rate_limited_total`).
    pub fn name(self) -> &'static str {
        match self {
            Limit::UserRoom => "user_room",
            Limit::User => "user",
            Limit::Joins => "joins",
            Limit::Invites => "invites",
            Limit::Peer => "peer",
        }
    }
}

/// A refusal: which bucket, and how long until it has a token again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// The bucket.
    pub limit: Limit,
    /// Wait before retrying, in ms (at least 1).
    pub retry_after_ms: u64,
}

/// Whose submissions were refused, and until when: by user and room (`Some`) or on the node
/// (`None`).
type Cooling = HashMap<([u8; 32], Option<RoomId>), (Instant, Limited)>;

/// The buckets of clients' submissions, and the refusal counters (peers' included).
pub struct RateLimits {
    cooling: Mutex<Cooling>,
    user_room: DefaultKeyedRateLimiter<([u8; 32], RoomId)>,
    user: DefaultKeyedRateLimiter<[u8; 32]>,
    joins: DefaultKeyedRateLimiter<[u8; 32]>,
    invites: DefaultKeyedRateLimiter<[u8; 32]>,
    clock: DefaultClock,
    /// Refusals, by [`Limit::name`].
    pub limited: ReasonCounts,
}

/// A keyed bucket per peer, as the network actor holds it.
pub fn peer_limiter<K: std::hash::Hash + Eq + Clone>(
    rate: Rate,
) -> governor::DefaultKeyedRateLimiter<K> {
    RateLimiter::keyed(rate.quota())
}

impl RateLimits {
    /// Buckets for `config`.
    pub fn new(config: &RateLimitConfig) -> Self {
        RateLimits {
            cooling: Mutex::new(HashMap::new()),
            user_room: RateLimiter::keyed(config.user_room.quota()),
            user: RateLimiter::keyed(config.user.quota()),
            joins: RateLimiter::keyed(config.joins.quota()),
            invites: RateLimiter::keyed(config.invites.quota()),
            clock: DefaultClock::default(),
            limited: ReasonCounts::new(),
        }
    }

    /// Takes a token for a client's submission of `event` from each bucket it counts against:
    /// joins or invites (member events of those kinds), the user's in the room, the user's on
    /// the node. The first empty bucket refuses, and is counted.
    pub fn check_submission(&self, event: &Event) -> Result<(), Limited> {
        self.forget_full_buckets();
        let user = *event.author().as_bytes();
        let kind_bucket = if event.kind() == kinds::MEMBER {
            match event.content_str("membership") {
                Some(m) if m == Membership::Join.as_str() || m == Membership::Knock.as_str() => {
                    Some((&self.joins, Limit::Joins))
                }
                Some(m)
                    if m == Membership::Invite.as_str()
                        && event.state_key() != Some(user_state_key(event.author()).as_str()) =>
                {
                    Some((&self.invites, Limit::Invites))
                }
                _ => None,
            }
        } else {
            None
        };
        if let Some((bucket, limit)) = kind_bucket {
            bucket
                .check_key(&user)
                .map_err(|n| self.refused(limit, n))?;
        }
        let room = event.room_id();
        self.user_room
            .check_key(&(user, room))
            .map_err(|n| self.cool(user, Some(room), self.refused(Limit::UserRoom, n)))?;
        self.user
            .check_key(&user)
            .map_err(|n| self.cool(user, None, self.refused(Limit::User, n)))?;
        Ok(())
    }

    /// Refuses, without taking a token, a user who was refused by their bucket in `room` (or on
    /// the node) and was told to wait for a time that has not passed yet. Counted like the
    /// refusal it repeats.
    pub fn check_cooling(&self, user: &[u8; 32], room: &RoomId) -> Result<(), Limited> {
        let now = Instant::now();
        let cooling = self.cooling.lock().unwrap_or_else(|e| e.into_inner());
        for key in [(*user, Some(*room)), (*user, None)] {
            if let Some((until, limited)) = cooling.get(&key)
                && *until > now
            {
                self.limited.increment(limited.limit.name());
                let left = until.duration_since(now).as_millis();
                return Err(Limited {
                    limit: limited.limit,
                    retry_after_ms: u64::try_from(left).unwrap_or(u64::MAX).max(1),
                });
            }
        }
        Ok(())
    }

    /// Remembers a refusal for [`RateLimits::check_cooling`]; at most [`MAX_RATE_LIMIT_KEYS`]
    /// users are remembered (the ended waits are forgotten first, then all).
    fn cool(&self, user: [u8; 32], room: Option<RoomId>, limited: Limited) -> Limited {
        let now = Instant::now();
        let until = now + Duration::from_millis(limited.retry_after_ms);
        let mut cooling = self.cooling.lock().unwrap_or_else(|e| e.into_inner());
        if cooling.len() >= MAX_RATE_LIMIT_KEYS {
            cooling.retain(|_, (until, _)| *until > now);
            if cooling.len() >= MAX_RATE_LIMIT_KEYS {
                cooling.clear();
            }
        }
        cooling.insert((user, room), (until, limited));
        limited
    }

    /// Counts a refusal by the network actor's peer bucket.
    pub fn count_peer(&self) {
        self.limited.increment(Limit::Peer.name());
    }

    fn refused(
        &self,
        limit: Limit,
        not_until: governor::NotUntil<<DefaultClock as Clock>::Instant>,
    ) -> Limited {
        self.limited.increment(limit.name());
        let wait = not_until.wait_time_from(self.clock.now());
        Limited {
            limit,
            retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
        }
    }

    fn forget_full_buckets(&self) {
        if self.user_room.len() > MAX_RATE_LIMIT_KEYS {
            self.user_room.retain_recent();
        }
        for bucket in [&self.user, &self.joins, &self.invites] {
            if bucket.len() > MAX_RATE_LIMIT_KEYS {
                bucket.retain_recent();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_bounded_and_defaults_valid() {
        let config = RateLimitConfig::default();
        assert_eq!(config.invalid(), None);
        let file: RateLimitsFile =
            toml::from_str("user_room = { burst = 0, per_minute = 5 }\n").unwrap_or_default();
        assert_eq!(
            RateLimitConfig::from_file(file).invalid(),
            Some("rate_limits.user_room")
        );
        assert!(toml::from_str::<RateLimitsFile>("user = { burst = 1 }\n").is_err());
        assert!(toml::from_str::<RateLimitsFile>("colour = 1\n").is_err());
    }

    #[test]
    fn a_refused_user_is_refused_prepare_in_that_room_until_the_wait_ends() {
        use causerie_crypto::UserSecret;
        use causerie_crypto::testing::{FIXTURE_ATTESTATION, Said, create_draft, draft_after};

        let config = RateLimitConfig {
            user_room: Rate {
                burst: 1,
                per_minute: 1,
            },
            ..RateLimitConfig::default()
        };
        let limits = RateLimits::new(&config);
        let secret = UserSecret::from_seed(&[5; 32]);
        let user = secret.public();
        let create = create_draft(user, None, FIXTURE_ATTESTATION)
            .sign(&secret)
            .unwrap();
        let room = create.room_id();
        let other = create_draft(user, Some(1), FIXTURE_ATTESTATION)
            .sign(&secret)
            .unwrap()
            .room_id();
        let say = |n: u64| {
            draft_after(
                user,
                room,
                vec![create.id()],
                n,
                Said::Message("hi"),
                FIXTURE_ATTESTATION,
            )
            .sign(&secret)
            .unwrap()
        };
        // Nobody was refused yet: prepare passes.
        assert_eq!(limits.check_cooling(user.as_bytes(), &room), Ok(()));
        assert_eq!(limits.check_submission(&say(1)), Ok(()));
        let refused = limits.check_submission(&say(2)).unwrap_err();
        assert_eq!(refused.limit, Limit::UserRoom);
        // Told to wait about a minute: prepare in that room is refused with what is left.
        let cooling = limits.check_cooling(user.as_bytes(), &room).unwrap_err();
        assert_eq!(cooling.limit, Limit::UserRoom);
        assert!(cooling.retry_after_ms <= refused.retry_after_ms);
        assert!(cooling.retry_after_ms > 1_000, "{cooling:?}");
        // Other rooms and other users are not touched.
        assert_eq!(limits.check_cooling(user.as_bytes(), &other), Ok(()));
        assert_eq!(limits.check_cooling(&[6; 32], &room), Ok(()));
        assert_eq!(limits.limited.snapshot().get("user_room"), Some(&2));
    }
}
