//! Who is typing in which room (specs/signals.md §4): a pure state machine, the time an
//! argument. A user types until their typing state expires ([`TYPING_TTL_MS`] after the last
//! refresh unless their signal says sooner) or they stop; every change of a room's list of
//! typists is reported, so the caller sends each list exactly when it changes (a refresh of
//! someone already typing changes nothing).
//!
//! Bounded: [`MAX_TYPING_ROOMS`] rooms with typists, [`MAX_TYPISTS_PER_ROOM`] typists per room;
//! beyond, a new typist is refused (`typing_full`) and nothing changes.

use std::collections::BTreeMap;

use causerie_crypto::{RoomId, UserKey};

/// How long a typing state lasts without a refresh, in ms (clients refresh every 4 s at most).
pub const TYPING_TTL_MS: u64 = 6_000;
/// Most rooms with someone typing.
pub const MAX_TYPING_ROOMS: usize = 4_096;
/// Most users typing at once in one room.
pub const MAX_TYPISTS_PER_ROOM: usize = 64;

/// A user typing: until when, and the handle clients show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typist {
    /// When the state ends unless refreshed (ms since the Unix epoch).
    pub until_ms: u64,
    /// The handle of the user's attestation.
    pub handle: Option<String>,
}

/// The table is full: the new typist is not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many typists")]
pub struct TypingFull;

impl TypingFull {
    /// Stable reason name.
    pub fn reason(self) -> &'static str {
        "typing_full"
    }
}

/// Who types where.
#[derive(Debug, Default)]
pub struct TypingTable {
    rooms: BTreeMap<RoomId, BTreeMap<UserKey, Typist>>,
}

impl TypingTable {
    /// `user` types in `room` until `until_ms` (capped at `now_ms` + [`TYPING_TTL_MS`]), or
    /// stops (`None`). Returns whether the room's list of typists changed.
    pub fn set(
        &mut self,
        room: RoomId,
        user: UserKey,
        until_ms: Option<u64>,
        handle: Option<String>,
        now_ms: u64,
    ) -> Result<bool, TypingFull> {
        let Some(until_ms) = until_ms
            .map(|until| until.min(now_ms.saturating_add(TYPING_TTL_MS)))
            .filter(|until| *until > now_ms)
        else {
            return Ok(self.stop(room, &user));
        };
        let typist = Typist { until_ms, handle };
        if let Some(typists) = self.rooms.get_mut(&room) {
            if let Some(held) = typists.get_mut(&user) {
                // A refresh: later expiry only (an old signal arriving late does not cut it).
                held.until_ms = held.until_ms.max(typist.until_ms);
                return Ok(false);
            }
            if typists.len() >= MAX_TYPISTS_PER_ROOM {
                return Err(TypingFull);
            }
            typists.insert(user, typist);
            return Ok(true);
        }
        if self.rooms.len() >= MAX_TYPING_ROOMS {
            return Err(TypingFull);
        }
        self.rooms.insert(room, BTreeMap::from([(user, typist)]));
        Ok(true)
    }

    fn stop(&mut self, room: RoomId, user: &UserKey) -> bool {
        let Some(typists) = self.rooms.get_mut(&room) else {
            return false;
        };
        let removed = typists.remove(user).is_some();
        if typists.is_empty() {
            self.rooms.remove(&room);
        }
        removed
    }

    /// Ends every typing state whose time is up at `now_ms`; returns the rooms whose list
    /// changed, in room order.
    pub fn expire(&mut self, now_ms: u64) -> Vec<RoomId> {
        let mut changed = Vec::new();
        self.rooms.retain(|room, typists| {
            let before = typists.len();
            typists.retain(|_, typist| typist.until_ms > now_ms);
            if typists.len() != before {
                changed.push(*room);
            }
            !typists.is_empty()
        });
        changed
    }

    /// The users typing in `room`, in user key order, with their handles.
    pub fn typists(&self, room: &RoomId) -> Vec<(UserKey, Option<String>)> {
        self.rooms
            .get(room)
            .map(|typists| {
                typists
                    .iter()
                    .map(|(user, typist)| (*user, typist.handle.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Rooms with someone typing.
    pub fn rooms(&self) -> usize {
        self.rooms.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causerie_crypto::{Hash32, UserSecret};

    fn user(seed: u8) -> UserKey {
        UserSecret::from_seed(&[seed; 32]).public()
    }

    fn room(byte: u8) -> RoomId {
        RoomId(Hash32([byte; 32]))
    }

    #[test]
    fn typing_refreshes_and_expires() {
        let mut table = TypingTable::default();
        let (alice, bob) = (user(1), user(2));
        let t0 = 1_000_000;
        assert_eq!(
            table.set(room(1), alice, Some(t0 + 6_000), None, t0),
            Ok(true)
        );
        // A refresh changes no list, and extends the state.
        assert_eq!(
            table.set(room(1), alice, Some(t0 + 10_000), None, t0 + 4_000),
            Ok(false)
        );
        assert_eq!(
            table.set(
                room(1),
                bob,
                Some(t0 + 7_000),
                Some("bob".into()),
                t0 + 1_000
            ),
            Ok(true)
        );
        assert_eq!(table.typists(&room(1)).len(), 2);
        // Bob's state ends first; alice's at t0 + 10 s.
        assert!(table.expire(t0 + 6_999).is_empty());
        assert_eq!(table.expire(t0 + 7_000), vec![room(1)]);
        assert_eq!(table.typists(&room(1)), vec![(alice, None)]);
        assert_eq!(table.expire(t0 + 10_000), vec![room(1)]);
        assert!(table.typists(&room(1)).is_empty());
        assert_eq!(table.rooms(), 0);
    }

    #[test]
    fn expiry_is_capped_and_stopping_reports_once() {
        let mut table = TypingTable::default();
        let alice = user(1);
        let t0 = 5_000;
        // A far expiry is cut to the TTL; an expiry already past changes nothing.
        assert_eq!(
            table.set(room(1), alice, Some(t0 + 60_000), None, t0),
            Ok(true)
        );
        assert_eq!(table.expire(t0 + TYPING_TTL_MS), vec![room(1)]);
        assert_eq!(table.set(room(1), alice, Some(t0), None, t0), Ok(false));
        assert_eq!(
            table.set(room(1), alice, Some(t0 + 1_000), None, t0),
            Ok(true)
        );
        assert_eq!(table.set(room(1), alice, None, None, t0), Ok(true));
        assert_eq!(table.set(room(1), alice, None, None, t0), Ok(false));
        assert_eq!(table.rooms(), 0);
    }

    #[test]
    fn bounds_refuse_new_typists() {
        let mut table = TypingTable::default();
        let t0 = 1_000;
        for seed in 0..MAX_TYPISTS_PER_ROOM {
            let key = UserSecret::from_seed(&[u8::try_from(seed).unwrap(); 32]).public();
            assert_eq!(table.set(room(1), key, Some(t0 + 1), None, t0), Ok(true));
        }
        let late = UserSecret::from_seed(&[200; 32]).public();
        assert_eq!(
            table.set(room(1), late, Some(t0 + 1), None, t0),
            Err(TypingFull)
        );
        assert_eq!(table.typists(&room(1)).len(), MAX_TYPISTS_PER_ROOM);
        let numbered = |n: usize| {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&(n as u64).to_be_bytes());
            bytes[31] = 0xee;
            RoomId(Hash32(bytes))
        };
        for n in 1..MAX_TYPING_ROOMS {
            assert_eq!(
                table.set(numbered(n), late, Some(t0 + 1), None, t0),
                Ok(true)
            );
        }
        assert_eq!(table.rooms(), MAX_TYPING_ROOMS);
        assert_eq!(
            table.set(numbered(MAX_TYPING_ROOMS), late, Some(t0 + 1), None, t0),
            Err(TypingFull)
        );
        // Expiry frees them all.
        assert_eq!(table.expire(t0 + 1).len(), MAX_TYPING_ROOMS);
        assert_eq!(table.rooms(), 0);
    }
}
