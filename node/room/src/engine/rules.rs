//! The engine's side of the content rules (specs/moderation.md §2): slow mode over each
//! sender's accepted messages, the join-wave count against the state before a join, the check
//! of a message as shown (a message shown redacted is judged without its body on every node),
//! and the author's node's check of a submission against the current state.

use std::borrow::Cow;

use causerie_crypto::event::kinds;
use causerie_crypto::{Event, EventId};

use super::{Pass, Room};
use crate::auth::{Authorized, authorize};
use crate::content::{PowerLevels, power_of};
use crate::error::{AuthError, RuleBreak};
use crate::event::{Credential, RoomEvent, StateEvent, StateMap, state_get};
use crate::rules::{ContentRules, check_join_wave};

/// How long `event` (a message) must wait under slow mode, given a state lookup: 0 when slow
/// mode is off, the sender is exempt, or its predecessor is old enough.
fn slow_mode_wait<'a>(
    room: &Room,
    event: &RoomEvent,
    state: &impl Fn(&str, &str) -> Option<&'a RoomEvent>,
) -> u64 {
    if event.kind() != kinds::MESSAGE {
        return 0;
    }
    let Some(rules) = state(kinds::CONTENT_RULES, "").and_then(|e| e.content_rules().ok()) else {
        return 0;
    };
    if rules.slow_mode_ms == 0 {
        return 0;
    }
    let levels = state(kinds::POWER_LEVELS, "")
        .and_then(|e| e.power_levels().ok())
        .unwrap_or_else(|| Cow::Owned(PowerLevels::default()));
    let Some(create) = state(kinds::CREATE, "") else {
        return 0;
    };
    let power = power_of(event.sender().as_bytes(), create.sender(), &levels);
    if power >= rules.exempt_from(&levels) {
        return 0;
    }
    room.slow.wait_ms(
        event.sender().as_bytes(),
        event.origin_ts(),
        &event.event_id(),
        rules.slow_mode_ms,
    )
}

impl Room {
    /// The soft-fail verdict of `event` against a state lookup (its effective state): the
    /// authorization rules, the message judged as shown (redacted or not), then slow mode.
    pub(super) fn judge<'a>(
        &'a self,
        event: &'a RoomEvent,
        state: impl Fn(&str, &str) -> Option<&'a RoomEvent>,
    ) -> Result<Authorized, AuthError> {
        // A message shown redacted is judged without its body: the content rules are not read.
        let shown_redacted = event.kind() == kinds::MESSAGE && self.is_redacted(&event.event_id());
        let authorized = authorize(event, |k: &str, s: &str| {
            if shown_redacted && k == kinds::CONTENT_RULES {
                None
            } else {
                state(k, s)
            }
        })?;
        if slow_mode_wait(self, event, &state) > 0 {
            return Err(AuthError::ContentRule(RuleBreak::SlowMode));
        }
        Ok(authorized)
    }

    /// Slow mode of a message just accepted on top of the current state (the engine's fast
    /// path): whether it is soft-failed by it.
    pub(super) fn breaks_slow_mode_now(&self, id: &EventId) -> bool {
        let Some(node) = self.events.get(id) else {
            return false;
        };
        let lookup = self.lookup();
        let current = &self.current;
        slow_mode_wait(self, &node.room_event, &|k: &str, s: &str| {
            state_get(current, k, s).and_then(&lookup)
        }) > 0
    }

    /// Records an accepted message in the slow-mode index and re-checks the one message whose
    /// predecessor it became.
    pub(super) fn index_message(&mut self, id: &EventId, pass: &mut Pass) {
        let Some(node) = self.events.get(id) else {
            return;
        };
        let event = node.room_event.event();
        if event.kind() != kinds::MESSAGE {
            return;
        }
        let successor = self
            .slow
            .insert(*event.author().as_bytes(), event.origin_ts(), *id);
        if let Some(successor) = successor {
            pass.recheck.push(successor);
        }
    }

    /// Messages whose verdict may have changed for a reason other than state: the successor of
    /// a new message (slow mode) and messages whose redaction started or stopped applying.
    pub(super) fn recheck_messages(&mut self, pass: &mut Pass) {
        let mut ids = std::mem::take(&mut pass.recheck);
        for id in &pass.touched {
            if let Some(node) = self.events.get(id)
                && node.room_event.kind() == kinds::MESSAGE
                && node.shown.is_some_and(|s| s.redacted) != self.is_redacted(id)
            {
                ids.push(*id);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        let mut chains = std::collections::BTreeMap::new();
        for id in ids {
            self.reevaluate(&id, &mut chains, pass);
        }
    }

    /// The join-wave rule against the state before a member event (specs/moderation.md §2.4).
    pub(super) fn check_join_wave(
        &self,
        event: &RoomEvent,
        state_before: &StateMap,
    ) -> Result<(), AuthError> {
        let lookup = self.lookup();
        let members = state_before
            .range((kinds::MEMBER.to_owned(), String::new())..)
            .take_while(|((kind, _), _)| kind == kinds::MEMBER)
            .filter_map(|(_, id)| lookup(id));
        check_join_wave(
            event,
            &|k: &str, s: &str| state_get(state_before, k, s).and_then(&lookup),
            members,
        )
    }

    /// The content rules in the current state, if any.
    pub fn content_rules(&self) -> Option<ContentRules> {
        self.state_event(kinds::CONTENT_RULES, "")
            .and_then(|e| ContentRules::parse(e.content()).ok())
    }

    /// The author's node's check of a submitted message against the current state, before it
    /// is offered (specs/moderation.md §2.5): the content rule it breaks, and for slow mode how
    /// many ms to wait. Other events, and messages that pass, give `Ok`. The engine still
    /// judges the event as any other when it is offered.
    pub fn check_submission(&self, event: &Event) -> Result<(), (RuleBreak, u64)> {
        if event.kind() != kinds::MESSAGE || event.room_id() != self.room_id {
            return Ok(());
        }
        let Some(attestation) = self.attestations.get(event.attestation()) else {
            return Ok(());
        };
        let room_event = RoomEvent::new(event.clone(), Credential::from(attestation));
        let lookup = self.lookup();
        let current = &self.current;
        let state = |k: &str, s: &str| state_get(current, k, s).and_then(&lookup);
        if let Err(AuthError::ContentRule(rule)) = authorize(&room_event, state) {
            return Err((rule, 0));
        }
        let wait = slow_mode_wait(self, &room_event, &state);
        if wait > 0 {
            return Err((RuleBreak::SlowMode, wait));
        }
        Ok(())
    }
}
