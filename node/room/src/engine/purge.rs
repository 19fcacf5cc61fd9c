//! Ban-and-purge (specs/moderation.md §1.4): an accepted event `T` is shown redacted if its
//! sender is the target of an accepted, not soft-failed ban with `purge: true` that is not an
//! ancestor of `T` (by prev or auth edges). A child of `engine` so that it reads the DAG in place.
//!
//! "Not an ancestor" is decided exactly, never estimated: every reference of an event is
//! accepted before it, so an event accepted (here) before the purge cannot descend from it, and
//! for the others one forward pass over the events accepted after the purge marks its
//! descendants (a bit per local index). The pass is cached per purge and extended as events
//! arrive; the cache ([`MAX_PURGE_CACHE`]) only saves work and never changes a result.

use causerie_crypto::EventId;
use causerie_crypto::event::kinds;

use super::{Node, Pass, Room};
use crate::content::{UserBytes, parse_user_hex};
use crate::event::StateEvent;
use crate::limits::MAX_PURGE_CACHE;
use crate::moderation::is_purge_ban;

/// The descendants of one purge among the accepted events (a bit per local index), known for
/// the events with an index below `upto`.
#[derive(Clone, Default)]
pub(super) struct Descendants {
    bits: Vec<u64>,
    upto: usize,
}

impl Descendants {
    fn get(&self, index: usize) -> bool {
        self.bits
            .get(index / 64)
            .is_some_and(|w| w & (1 << (index % 64)) != 0)
    }

    fn set(&mut self, index: usize) {
        if self.bits.len() <= index / 64 {
            self.bits.resize(index / 64 + 1, 0);
        }
        if let Some(w) = self.bits.get_mut(index / 64) {
            *w |= 1 << (index % 64);
        }
    }
}

impl Room {
    /// The target of `id` if it is an accepted ban with `purge: true`.
    pub(super) fn purge_target(&self, id: &EventId) -> Option<UserBytes> {
        let event = &self.events.get(id)?.room_event;
        if event.kind() != kinds::MEMBER || !is_purge_ban(event.content()) {
            return None;
        }
        event.state_key().and_then(parse_user_hex)
    }

    /// Touches every accepted event `user` signed: whether a purge covers them may have changed.
    pub(super) fn touch_sent_by(&self, user: &UserBytes, pass: &mut Pass) {
        let Some(ids) = self.by_user.get(user) else {
            return;
        };
        for id in ids {
            if self
                .events
                .get(id)
                .is_some_and(|n| n.room_event.sender().as_bytes() == user)
            {
                pass.touched.insert(*id);
            }
        }
    }

    /// Whether a purge covers the accepted event `node`.
    pub(super) fn is_purged(&self, node: &Node) -> bool {
        let Some(purges) = self.purges.get(node.room_event.sender().as_bytes()) else {
            return false;
        };
        purges.iter().any(|p| {
            self.events
                .get(p)
                .is_some_and(|purge| !purge.soft_failed && !self.descends_from(node, p, purge))
        })
    }

    /// Whether `node` descends from the purge `purge_id` (by prev or auth edges).
    fn descends_from(&self, node: &Node, purge_id: &EventId, purge: &Node) -> bool {
        if node.index <= purge.index {
            return false;
        }
        let mut cache = self.purge_descendants.borrow_mut();
        if !cache.contains_key(purge_id) && cache.len() >= MAX_PURGE_CACHE {
            cache.clear();
        }
        let descendants = cache.entry(*purge_id).or_insert_with(|| Descendants {
            bits: Vec::new(),
            upto: purge.index + 1,
        });
        while descendants.upto < self.events.len() {
            let index = descendants.upto;
            if let Some(event) = self.events.list.get(index) {
                let event = event.room_event.event();
                let below = event
                    .prev_events()
                    .iter()
                    .chain(event.auth_events())
                    .any(|r| {
                        r == purge_id
                            || self
                                .events
                                .get(r)
                                .is_some_and(|n| n.index > purge.index && descendants.get(n.index))
                    });
                if below {
                    descendants.set(index);
                }
            }
            descendants.upto += 1;
        }
        descendants.get(node.index)
    }
}
