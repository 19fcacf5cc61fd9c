//! Read markers of this node's users (specs/signals.md §5): per user and room, the timeline
//! position (depth, event id) of the last event the user read. Kept for the user's own clients
//! (unread counts, where to open a room); never part of a room's DAG. A marker only moves
//! forward in timeline order: an older position is ignored, so two clients reading at once
//! cannot move it back.
//!
//! Bounded: at most [`MAX_READ_MARKERS_PER_USER`] rooms per user (a full user's new room is
//! refused, `read_markers_full`) and [`MAX_READ_MARKERS`] markers in all (the same reason).
//! Each change is durable before it returns.
//!
//! sled layout: tree [`READ_MARKERS_TREE`]; key = user key (32 bytes) ‖ room id (32 bytes) →
//! depth (u64 big-endian) ‖ event id (32 bytes).

use std::collections::BTreeMap;

use causerie_crypto::{EventId, Hash32, RoomId, UserKey};

use crate::error::StoreError;
use crate::memory::lock;
use crate::side_tree::{array_at, array_from};

/// Name of the sled tree holding read markers.
pub const READ_MARKERS_TREE: &[u8] = b"causerie.read_markers";
/// Most rooms with a marker per user.
pub const MAX_READ_MARKERS_PER_USER: usize = 4_096;
/// Most markers held in all.
pub const MAX_READ_MARKERS: usize = 1_048_576;

/// A position in a room's timeline order: (depth, event id), compared in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReadMarker {
    /// The event's depth.
    pub depth: u64,
    /// The event.
    pub event: EventId,
}

/// Durable, bounded storage of read markers. Both backends implement it.
pub trait ReadMarkerStore {
    /// Moves `user`'s marker in `room` to `marker` if it is after the one held (or none is),
    /// durably; whether it moved. Refuses a new room when the user or the table is full
    /// (`read_markers_full`).
    fn advance_read_marker(
        &self,
        user: &UserKey,
        room: &RoomId,
        marker: ReadMarker,
    ) -> Result<bool, StoreError>;
    /// `user`'s marker in `room`, if any.
    fn read_marker(&self, user: &UserKey, room: &RoomId) -> Result<Option<ReadMarker>, StoreError>;
    /// Every marker of `user`, in room id order (at most [`MAX_READ_MARKERS_PER_USER`]).
    fn read_markers_of(&self, user: &UserKey) -> Result<Vec<(RoomId, ReadMarker)>, StoreError>;
    /// Forgets every marker of `user`, durably; how many there were.
    fn erase_read_markers(&self, user: &UserKey) -> Result<usize, StoreError>;
}

/// The in-memory side, held by [`crate::MemoryStore`].
pub(crate) type ReadMarkerTable = BTreeMap<(UserKey, RoomId), ReadMarker>;

fn user_range(user: &UserKey) -> std::ops::RangeInclusive<(UserKey, RoomId)> {
    (*user, RoomId(Hash32([0; 32])))..=(*user, RoomId(Hash32([0xff; 32])))
}

impl ReadMarkerStore for crate::MemoryStore {
    fn advance_read_marker(
        &self,
        user: &UserKey,
        room: &RoomId,
        marker: ReadMarker,
    ) -> Result<bool, StoreError> {
        let mut table = lock(&self.read_markers)?;
        match table.get(&(*user, *room)) {
            Some(held) if *held >= marker => return Ok(false),
            Some(_) => {}
            None => {
                if table.len() >= MAX_READ_MARKERS
                    || table.range(user_range(user)).count() >= MAX_READ_MARKERS_PER_USER
                {
                    return Err(StoreError::ReadMarkersFull);
                }
            }
        }
        table.insert((*user, *room), marker);
        Ok(true)
    }

    fn read_marker(&self, user: &UserKey, room: &RoomId) -> Result<Option<ReadMarker>, StoreError> {
        let table = lock(&self.read_markers)?;
        Ok(table.get(&(*user, *room)).copied())
    }

    fn read_markers_of(&self, user: &UserKey) -> Result<Vec<(RoomId, ReadMarker)>, StoreError> {
        let table = lock(&self.read_markers)?;
        Ok(table
            .range(user_range(user))
            .take(MAX_READ_MARKERS_PER_USER)
            .map(|((_, room), marker)| (*room, *marker))
            .collect())
    }

    fn erase_read_markers(&self, user: &UserKey) -> Result<usize, StoreError> {
        let mut table = lock(&self.read_markers)?;
        let keys: Vec<_> = table.range(user_range(user)).map(|(k, _)| *k).collect();
        for key in &keys {
            table.remove(key);
        }
        Ok(keys.len())
    }
}

fn key(user: &UserKey, room: &RoomId) -> [u8; 64] {
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(user.as_bytes());
    key[32..].copy_from_slice(room.as_bytes());
    key
}

fn encode(marker: ReadMarker) -> [u8; 40] {
    let mut value = [0u8; 40];
    value[..8].copy_from_slice(&marker.depth.to_be_bytes());
    value[8..].copy_from_slice(&marker.event.0.0);
    value
}

fn decode(value: &[u8]) -> Result<ReadMarker, StoreError> {
    let (Some(depth), Some(event)) = (array_at(value, 0), array_from(value, 8)) else {
        return Err(StoreError::corrupt(
            "read marker",
            "value of another length",
        ));
    };
    Ok(ReadMarker {
        depth: u64::from_be_bytes(depth),
        event: EventId(Hash32(event)),
    })
}

impl ReadMarkerStore for crate::SledStore {
    fn advance_read_marker(
        &self,
        user: &UserKey,
        room: &RoomId,
        marker: ReadMarker,
    ) -> Result<bool, StoreError> {
        self.write_tree(
            READ_MARKERS_TREE,
            |tree| sled_advance(tree, user, room, marker),
            |moved| *moved,
        )
    }

    fn read_marker(&self, user: &UserKey, room: &RoomId) -> Result<Option<ReadMarker>, StoreError> {
        self.with_tree(READ_MARKERS_TREE, |tree| {
            tree.get(key(user, room))?.map(|v| decode(&v)).transpose()
        })
    }

    fn read_markers_of(&self, user: &UserKey) -> Result<Vec<(RoomId, ReadMarker)>, StoreError> {
        self.with_tree(READ_MARKERS_TREE, |tree| {
            let mut out = Vec::new();
            for item in tree
                .scan_prefix(user.as_bytes())
                .take(MAX_READ_MARKERS_PER_USER)
            {
                let (key, value) = item?;
                let room = array_from(&key, 32)
                    .ok_or_else(|| StoreError::corrupt("read marker", "key of another length"))?;
                out.push((RoomId(Hash32(room)), decode(&value)?));
            }
            Ok(out)
        })
    }

    fn erase_read_markers(&self, user: &UserKey) -> Result<usize, StoreError> {
        self.write_tree(
            READ_MARKERS_TREE,
            |tree| {
                let keys: Vec<_> = tree
                    .scan_prefix(user.as_bytes())
                    .keys()
                    .take(MAX_READ_MARKERS_PER_USER)
                    .collect::<Result<_, _>>()?;
                for key in &keys {
                    tree.remove(key)?;
                }
                Ok(keys.len())
            },
            |erased| *erased > 0,
        )
    }
}

/// Moves the marker in `tree` if `marker` is after the one held; whether it moved.
fn sled_advance(
    tree: &sled::Tree,
    user: &UserKey,
    room: &RoomId,
    marker: ReadMarker,
) -> Result<bool, StoreError> {
    let key = key(user, room);
    let mut expected = tree.get(key)?;
    if expected.is_none()
        && (tree.len() >= MAX_READ_MARKERS
            || tree.scan_prefix(user.as_bytes()).count() >= MAX_READ_MARKERS_PER_USER)
    {
        return Err(StoreError::ReadMarkersFull);
    }
    // Two clients of one user may write at once: compare and swap keeps the marker
    // monotonic whichever write lands first.
    loop {
        if let Some(held) = &expected
            && decode(held)? >= marker
        {
            return Ok(false);
        }
        match tree.compare_and_swap(key, expected.clone(), Some(&encode(marker)[..]))? {
            Ok(()) => return Ok(true),
            Err(conflict) => expected = conflict.current,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causerie_crypto::UserSecret;

    fn room(byte: u8) -> RoomId {
        RoomId(Hash32([byte; 32]))
    }

    fn at(depth: u64, byte: u8) -> ReadMarker {
        ReadMarker {
            depth,
            event: EventId(Hash32([byte; 32])),
        }
    }

    fn exercise(store: &dyn ReadMarkerStore) {
        let alice = UserSecret::from_seed(&[1; 32]).public();
        let bob = UserSecret::from_seed(&[2; 32]).public();
        assert_eq!(store.read_marker(&alice, &room(1)).unwrap(), None);
        // (user, room, marker, whether it moves)
        let steps = [
            (&alice, 1, at(5, 1), true),
            // Only forward: an earlier depth, or the same depth with a smaller id, is ignored.
            (&alice, 1, at(4, 9), false),
            (&alice, 1, at(5, 0), false),
            (&alice, 1, at(5, 1), false),
            (&alice, 1, at(5, 2), true),
            (&alice, 2, at(1, 1), true),
            (&bob, 1, at(9, 9), true),
        ];
        for (user, r, marker, moves) in steps {
            assert_eq!(
                store.advance_read_marker(user, &room(r), marker).unwrap(),
                moves,
                "{marker:?} in room {r}"
            );
        }
        assert_eq!(store.read_marker(&alice, &room(1)).unwrap(), Some(at(5, 2)));
        assert_eq!(
            store.read_markers_of(&alice).unwrap(),
            vec![(room(1), at(5, 2)), (room(2), at(1, 1))]
        );
        assert_eq!(store.erase_read_markers(&alice).unwrap(), 2);
        assert!(store.read_markers_of(&alice).unwrap().is_empty());
        assert_eq!(store.read_marker(&bob, &room(1)).unwrap(), Some(at(9, 9)));
    }

    #[test]
    fn memory_backend() {
        exercise(&crate::MemoryStore::new());
    }

    #[test]
    fn sled_backend_survives_a_reopen() {
        let alice = UserSecret::from_seed(&[1; 32]).public();
        let dir = crate::test_stores::sled_dir_after(|store| {
            exercise(store);
            assert!(
                store
                    .advance_read_marker(&alice, &room(3), at(7, 7))
                    .unwrap()
            );
        });
        let store = crate::SledStore::open(dir.path()).unwrap();
        assert_eq!(store.read_marker(&alice, &room(3)).unwrap(), Some(at(7, 7)));
    }
}
