//! [`IdMap`]: a lookup table for the hot paths that find things by id (the room engine's event
//! nodes, the store's record locations).
//!
//! An ordered map pays a dozen 32-byte comparisons, most of them cache misses, per lookup in a
//! room of tens of thousands of events; a hash table pays one hash and usually one probe.
//!
//! Two rules keep it safe to use where decisions are made:
//! - **No iteration.** The type has no way to list its entries, so nothing can ever come out of
//!   it in hash order: no decision, signature, hash or page can depend on that order. Whatever
//!   must be listed is kept (or collected and sorted) elsewhere.
//! - **A per-process random seed.** Ids are chosen by whoever signs an event, and could be ground
//!   to collide under a fixed hash function. The table hashes with foldhash's `quality` variant
//!   seeded at random per process: an attacker who cannot see the seed cannot aim at buckets, and
//!   grinding ids costs a signature and two SHA-256 each. (SipHash, std's default, is stronger
//!   against an attacker who can observe hashes, but it cost a visible share of the receive path,
//!   which hashes about twenty ids per event; nothing here exposes hashes or bucket order.)

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;

use foldhash::quality::RandomState;

/// A hash table without iteration (module docs). Lookup, insert and remove only.
#[derive(Clone)]
pub struct IdMap<K, V> {
    map: HashMap<K, V, RandomState>,
}

impl<K, V> Default for IdMap<K, V> {
    fn default() -> Self {
        IdMap {
            map: HashMap::default(),
        }
    }
}

impl<K, V> fmt::Debug for IdMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Entries would come out in hash order: only the size is shown.
        f.debug_struct("IdMap")
            .field("len", &self.map.len())
            .finish()
    }
}

/// Same entries, whatever the order they were inserted in (an integrity check compares a rebuilt
/// map with the live one).
impl<K: Hash + Eq, V: PartialEq> PartialEq for IdMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl<K: Hash + Eq, V: Eq> Eq for IdMap<K, V> {}

impl<K: Hash + Eq, V> IdMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `key`.
    #[inline]
    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    /// The value of `key`, mutable.
    #[inline]
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    /// Whether `key` has a value.
    #[inline]
    pub fn contains_key(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    /// Sets the value of `key`, returning the one it replaces.
    #[inline]
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.map.insert(key, value)
    }

    /// Removes `key`, returning its value.
    #[inline]
    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.map.remove(key)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.map.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventId;
    use crate::hash::Hash32;

    #[test]
    fn lookups_follow_inserts_and_removes() {
        let mut map = IdMap::new();
        let id = |b: u8| EventId(Hash32([b; 32]));
        assert!(map.is_empty());
        assert_eq!(map.insert(id(1), 10), None);
        assert_eq!(map.insert(id(2), 20), None);
        assert_eq!(map.insert(id(1), 11), Some(10));
        assert_eq!(map.get(&id(1)), Some(&11));
        assert!(map.contains_key(&id(2)));
        assert!(!map.contains_key(&id(3)));
        if let Some(v) = map.get_mut(&id(2)) {
            *v += 1;
        }
        assert_eq!(map.remove(&id(2)), Some(21));
        assert_eq!(map.len(), 1);
        assert_eq!(format!("{map:?}"), "IdMap { len: 1 }");
        let mut other = IdMap::new();
        other.insert(id(1), 11);
        assert_eq!(map, other);
        other.insert(id(1), 12);
        assert_ne!(map, other);
        map.clear();
        assert!(map.get(&id(1)).is_none());
    }
}
