//! The soft-fail rule's effective state (specs/rooms.md §4): the latest value of each auth type
//! of an event that did not happen at or after it, and the verdict of the rules against it. A
//! child of `engine` so that it reads the DAG in place.

use std::collections::BTreeMap;
use std::sync::Arc;

use causerie_crypto::EventId;
use causerie_crypto::event::kinds;

use super::Room;
use crate::auth::Authorized;
use crate::error::AuthError;
use crate::event::{MAX_AUTH_TYPES, StateEvent, StateKey, state_get};

impl Room {
    /// `authorize` of the accepted event `id` against its effective state (`None` if `id` is
    /// not accepted).
    pub(super) fn effective_verdict(
        &self,
        id: &EventId,
        chains: &mut BTreeMap<StateKey, Vec<EventId>>,
    ) -> Option<Result<Authorized, AuthError>> {
        let node = self.events.get(id)?;
        let event = &node.room_event;
        if event.kind() == kinds::CREATE {
            return Some(Ok(Authorized {
                can_redact_others: true,
            }));
        }
        // The effective entry of each auth type, by its position (no allocation: this runs
        // for every accepted event).
        let keys = event.auth_keys();
        let mut effective: [Option<EventId>; MAX_AUTH_TYPES] = [None; MAX_AUTH_TYPES];
        // The state before is the current state itself (the common case: nothing changed
        // state since the event's parent): every key's entry is the same in both, so it is
        // the effective one.
        let unchanged = Arc::ptr_eq(&node.state_before, &self.current);
        for (slot, (kind, state_key)) in effective.iter_mut().zip(keys.iter()) {
            if unchanged {
                *slot = state_get(&self.current, kind, state_key).copied();
                continue;
            }
            let before = state_get(&node.state_before, kind, state_key).copied();
            let now = state_get(&self.current, kind, state_key).copied();
            // Step back through the key's history while its entry happened at or after `id`.
            // Along the history (the current entry, then each entry's own state before)
            // every entry is an ancestor of the previous one, so "is `id` or descends from
            // it" holds for a prefix: a binary search finds where it stops.
            let chosen = if now == before {
                now
            } else {
                let chain = chains
                    .entry((kind.to_owned(), state_key.to_owned()))
                    .or_insert_with_key(|k| self.key_history(k));
                let after =
                    chain.partition_point(|entry| entry == id || self.is_descendant(entry, id));
                chain.get(after).copied()
            };
            *slot = chosen;
        }
        let lookup = self.lookup();
        Some(self.judge(event, |k: &str, s: &str| {
            keys.position(k, s)
                .and_then(|i| effective.get(i).copied().flatten())
                .and_then(|entry| lookup(&entry))
        }))
    }

    /// The rule a soft-failed event breaks against its effective state (specs/rooms.md §4), for
    /// telling its author why; `None` if it is not accepted or not soft-failed.
    pub fn soft_fail_reason(&self, id: &EventId) -> Option<AuthError> {
        if !self.events.get(id)?.soft_failed {
            return None;
        }
        self.effective_verdict(id, &mut BTreeMap::new())?.err()
    }
}
