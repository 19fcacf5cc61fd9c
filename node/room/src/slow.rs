//! Slow mode's index (specs/moderation.md §2.3): each sender's accepted messages ordered by
//! `(origin_ts, id)`, soft-failed ones included. A message `T` breaks slow mode iff its
//! predecessor `M` in its sender's order has `origin_ts(T) < origin_ts(M) + slow_mode_ms`: the
//! predecessor has the largest timestamp among the earlier messages, so if any earlier message
//! is that close, it is. The rule reads only the set of accepted messages, never arrival order;
//! a late arrival changes at most the verdict of its successor, which the engine re-checks.

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use causerie_crypto::EventId;

use crate::content::UserBytes;

/// Each sender's accepted messages, by `(origin_ts, id)`. Costs O(log n) per message.
#[derive(Debug, Clone, Default)]
pub struct SlowIndex {
    by_sender: BTreeMap<UserBytes, BTreeSet<(u64, EventId)>>,
}

impl SlowIndex {
    /// Records an accepted message; returns its successor in its sender's order (the one
    /// message whose predecessor it becomes), if any.
    pub fn insert(&mut self, sender: UserBytes, origin_ts: u64, id: EventId) -> Option<EventId> {
        let set = self.by_sender.entry(sender).or_default();
        set.insert((origin_ts, id));
        set.range((origin_ts, id)..)
            .nth(1)
            .map(|(_, successor)| *successor)
    }

    /// Forgets a message (undo of an insert whose acceptance was refused).
    pub fn remove(&mut self, sender: &UserBytes, origin_ts: u64, id: &EventId) {
        if let Some(set) = self.by_sender.get_mut(sender) {
            set.remove(&(origin_ts, *id));
            if set.is_empty() {
                self.by_sender.remove(sender);
            }
        }
    }

    /// The message just before `(origin_ts, id)` in `sender`'s order: its timestamp.
    pub fn predecessor(&self, sender: &UserBytes, origin_ts: u64, id: &EventId) -> Option<u64> {
        self.by_sender
            .get(sender)?
            .range(..(origin_ts, *id))
            .next_back()
            .map(|(ts, _)| *ts)
    }

    /// How long after `origin_ts` a message of `sender` with this timestamp and id would have
    /// to wait to pass slow mode of `slow_mode_ms`: 0 when it passes.
    pub fn wait_ms(
        &self,
        sender: &UserBytes,
        origin_ts: u64,
        id: &EventId,
        slow_mode_ms: u64,
    ) -> u64 {
        match self.predecessor(sender, origin_ts, id) {
            Some(previous) => previous
                .saturating_add(slow_mode_ms)
                .saturating_sub(origin_ts),
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use causerie_crypto::Hash32;

    use super::*;

    fn id(n: u8) -> EventId {
        EventId(Hash32([n; 32]))
    }

    #[test]
    fn predecessor_and_successor_by_time_then_id() {
        let mut index = SlowIndex::default();
        let sender = [1; 32];
        assert_eq!(index.insert(sender, 100, id(5)), None);
        assert_eq!(index.insert(sender, 300, id(1)), None);
        // A late arrival between them becomes the predecessor of the later one.
        assert_eq!(index.insert(sender, 200, id(9)), Some(id(1)));
        assert_eq!(index.predecessor(&sender, 300, &id(1)), Some(200));
        assert_eq!(index.wait_ms(&sender, 300, &id(1), 150), 50);
        assert_eq!(index.wait_ms(&sender, 300, &id(1), 100), 0);
        // Same timestamp: the smaller id comes first.
        assert_eq!(index.insert(sender, 100, id(2)), Some(id(5)));
        assert_eq!(index.predecessor(&sender, 100, &id(2)), None);
        assert_eq!(index.predecessor(&sender, 100, &id(5)), Some(100));
        index.remove(&sender, 100, &id(2));
        assert_eq!(index.predecessor(&sender, 100, &id(5)), None);
        assert_eq!(index.predecessor(&[2; 32], 100, &id(5)), None);
    }
}
