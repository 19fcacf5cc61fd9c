//! The DAG's ancestry, read in place by the engine: a key's history through the states before,
//! and whether one event descends from another (a bit per local index, cached per event up to
//! [`MAX_ANCESTOR_CACHE`]; the cache only saves work and never changes a result). A child of
//! `engine` so that it reads the DAG in place.

use std::sync::Arc;

use causerie_crypto::EventId;

use super::Room;
use crate::event::{StateEvent, StateKey};
use crate::limits::MAX_ANCESTOR_CACHE;

impl Room {
    /// The history of a key: its current entry, then the entry in that entry's state before, and
    /// so on. Depth strictly decreases along it, so it ends.
    pub(super) fn key_history(&self, k: &StateKey) -> Vec<EventId> {
        let mut history = Vec::new();
        let mut entry = self.current.get(k).copied();
        while let Some(id) = entry {
            history.push(id);
            entry = self
                .events
                .get(&id)
                .and_then(|n| n.state_before.get(k).copied());
        }
        history
    }

    /// Whether `descendant` is `ancestor` or has it among its (prev) ancestors.
    pub(super) fn is_descendant(&self, descendant: &EventId, ancestor: &EventId) -> bool {
        if descendant == ancestor {
            return true;
        }
        let (Some(d), Some(a)) = (self.events.get(descendant), self.events.get(ancestor)) else {
            return false;
        };
        if d.room_event.depth() <= a.room_event.depth() {
            return false;
        }
        let bits = self.ancestor_bits(descendant, d.index);
        bits.get(a.index / 64)
            .is_some_and(|word| word & (1 << (a.index % 64)) != 0)
    }

    fn ancestor_bits(&self, id: &EventId, index: usize) -> Arc<Vec<u64>> {
        if let Some(bits) = self.ancestors.borrow().get(id) {
            return bits.clone();
        }
        let mut bits = vec![0u64; index / 64 + 1];
        let mut stack = vec![*id];
        while let Some(current) = stack.pop() {
            let Some(node) = self.events.get(&current) else {
                continue;
            };
            let (word, bit) = (node.index / 64, 1u64 << (node.index % 64));
            if bits.get(word).is_some_and(|w| w & bit != 0) {
                continue;
            }
            if let Some(w) = bits.get_mut(word) {
                *w |= bit;
            }
            stack.extend_from_slice(node.room_event.event().prev_events());
        }
        let bits = Arc::new(bits);
        let mut cache = self.ancestors.borrow_mut();
        if cache.len() >= MAX_ANCESTOR_CACHE {
            cache.clear();
        }
        cache.insert(*id, bits.clone());
        bits
    }
}
