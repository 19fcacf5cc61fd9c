//! Content-addressed room state snapshots.
//!
//! A state map names, for each `(kind, state_key)`, the state event in force. Snapshots are
//! stored under the SHA-256 of their canonical encoding, so the many events that do not change
//! state (messages) all point at one shared snapshot, and writing an existing snapshot again is
//! a no-op.
//!
//! Encoding (through the one codec, `causerie_crypto::codec`): a CBOR array of
//! `[kind, state_key, event id]` triples in strictly increasing `(kind, state_key)` order, which
//! is the `BTreeMap` iteration order, so equal maps always encode to equal bytes.
//!
//! Trade-off: every state change writes a full new snapshot (space grows with
//! state size × state changes). Rooms change state far less often than they carry messages;
//! delta-encoded snapshots can replace this behind the same API if big rooms need it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use causerie_crypto::{EventId, Hash32, codec};

use crate::error::StoreError;

/// Most entries in one state map.
pub const MAX_STATE_ENTRIES: usize = 100_000;
/// Largest encoded state map, in bytes.
pub const MAX_SNAPSHOT_BYTES: usize = 16 * 1024 * 1024;

/// A room state: `(kind, state_key)` → the state event in force.
pub type StateMap = BTreeMap<(String, String), EventId>;

/// Id of a state snapshot: SHA-256 of its canonical encoding.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SnapshotId(pub Hash32);

impl SnapshotId {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:?}", self.0)
    }
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A state map with its id and canonical encoding, computed once. Cheap to clone.
#[derive(Clone)]
pub struct StateSnapshot(Arc<Inner>);

struct Inner {
    id: SnapshotId,
    map: StateMap,
    bytes: Vec<u8>,
}

impl StateSnapshot {
    /// Encodes `map` and computes its id.
    pub fn new(map: StateMap) -> Result<Self, StoreError> {
        if map.len() > MAX_STATE_ENTRIES {
            return Err(StoreError::SnapshotTooLarge);
        }
        let triples: Vec<(&str, &str, &EventId)> = map
            .iter()
            .map(|((kind, key), id)| (kind.as_str(), key.as_str(), id))
            .collect();
        let bytes = codec::encode(&triples)?;
        if bytes.len() > MAX_SNAPSHOT_BYTES {
            return Err(StoreError::SnapshotTooLarge);
        }
        let id = SnapshotId(Hash32::digest(&[&bytes]));
        Ok(StateSnapshot(Arc::new(Inner { id, map, bytes })))
    }

    /// Decodes a stored snapshot and checks it against the id it was stored under.
    pub(crate) fn decode(expected: &SnapshotId, bytes: &[u8]) -> Result<Self, StoreError> {
        let corrupt = |detail: &str| StoreError::corrupt("snapshot", detail);
        if SnapshotId(Hash32::digest(&[bytes])) != *expected {
            return Err(corrupt("hash mismatch"));
        }
        let triples: Vec<(String, String, EventId)> = codec::decode(bytes, MAX_SNAPSHOT_BYTES)
            .map_err(|e| StoreError::corrupt("snapshot", e.reason()))?;
        if triples.len() > MAX_STATE_ENTRIES {
            return Err(corrupt("too many entries"));
        }
        let mut map = StateMap::new();
        for (kind, key, id) in triples {
            // Strictly increasing order is what the encoder writes; anything else was not ours.
            let in_order = map
                .last_key_value()
                .is_none_or(|((k, s), _)| (k.as_str(), s.as_str()) < (kind.as_str(), key.as_str()));
            if !in_order {
                return Err(corrupt("entries out of order"));
            }
            map.insert((kind, key), id);
        }
        Ok(StateSnapshot(Arc::new(Inner {
            id: *expected,
            map,
            bytes: bytes.to_vec(),
        })))
    }

    /// The snapshot id.
    pub fn id(&self) -> SnapshotId {
        self.0.id
    }

    /// The state map.
    pub fn map(&self) -> &StateMap {
        &self.0.map
    }

    /// The canonical encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0.bytes
    }
}

impl PartialEq for StateSnapshot {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}
impl Eq for StateSnapshot {}

impl fmt::Debug for StateSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateSnapshot")
            .field("id", &self.0.id)
            .field("entries", &self.0.map.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(byte: u8) -> EventId {
        EventId(Hash32([byte; 32]))
    }

    #[test]
    fn equal_maps_share_an_id_and_decode_back() {
        let mut a = StateMap::new();
        a.insert(("room.name".into(), String::new()), id(1));
        a.insert(("room.member".into(), "ab".into()), id(2));
        let mut b = StateMap::new();
        b.insert(("room.member".into(), "ab".into()), id(2));
        b.insert(("room.name".into(), String::new()), id(1));
        let (sa, sb) = (
            StateSnapshot::new(a).unwrap(),
            StateSnapshot::new(b).unwrap(),
        );
        assert_eq!(sa.id(), sb.id());
        let back = StateSnapshot::decode(&sa.id(), sa.as_bytes()).unwrap();
        assert_eq!(back.map(), sa.map());
    }

    #[test]
    fn tampered_bytes_are_corrupt() {
        let mut map = StateMap::new();
        map.insert(("room.name".into(), String::new()), id(1));
        let snapshot = StateSnapshot::new(map).unwrap();
        let mut bytes = snapshot.as_bytes().to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let err = StateSnapshot::decode(&snapshot.id(), &bytes).unwrap_err();
        assert_eq!(err.reason(), "corrupt_record");
    }
}
