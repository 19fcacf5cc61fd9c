//! State resolution v2.1 (Matrix room version 12 semantics; specs/rooms.md §5),
//! as a pure function generic over [`StateEvent`] with a lookup of events by id, so that it runs
//! unchanged on the engine's events and on hand-written fixture graphs.
//!
//! Deviations from Matrix, all so that no decision trusts a timestamp: the power ordering breaks
//! ties by higher sender power, then event id; the mainline ordering breaks ties by depth (a DAG
//! property every node checks), then event id. Work is counted deterministically (events visited,
//! keys compared, auth checks run) and resolution fails with [`StateResError::TooMuchWork`]
//! beyond the budget, so a crafted fork cannot burn unbounded CPU, and every node gives up at the
//! same point.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use causerie_crypto::EventId;
use causerie_crypto::event::kinds;

use crate::auth::authorize;
use crate::content::{CREATOR_POWER, Membership, PowerLevels, power_of};
use crate::error::StateResError;
use crate::event::{StateEvent, StateKey, StateMap, state_key_of};

/// Deterministic work budget for one resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Work {
    used: u64,
    limit: u64,
}

impl Work {
    /// A budget of `limit` units.
    pub fn new(limit: u64) -> Self {
        Work { used: 0, limit }
    }

    /// Units spent so far.
    pub fn used(&self) -> u64 {
        self.used
    }

    fn spend(&mut self, units: u64) -> Result<(), StateResError> {
        self.used = self.used.saturating_add(units);
        if self.used > self.limit {
            Err(StateResError::TooMuchWork { limit: self.limit })
        } else {
            Ok(())
        }
    }
}

fn get<'a, E: StateEvent + 'a>(
    lookup: &impl Fn(&EventId) -> Option<&'a E>,
    id: &EventId,
) -> Result<&'a E, StateResError> {
    lookup(id).ok_or(StateResError::MissingEvent(*id))
}

/// Resolves several state maps into one (specs/rooms.md §5).
pub fn resolve<'a, E: StateEvent + 'a>(
    sets: &[&StateMap],
    lookup: &impl Fn(&EventId) -> Option<&'a E>,
    work: &mut Work,
) -> Result<StateMap, StateResError> {
    let Some(first) = sets.first() else {
        return Ok(StateMap::new());
    };
    // 1. Unconflicted / conflicted split. A key missing from some set is conflicted.
    let keys: BTreeSet<&StateKey> = sets.iter().flat_map(|s| s.keys()).collect();
    work.spend(keys.len() as u64 * sets.len() as u64)?;
    let mut unconflicted = StateMap::new();
    let mut conflicted = BTreeSet::new();
    for key in keys {
        let value = first.get(key);
        if value.is_some() && sets.iter().all(|s| s.get(key) == value) {
            if let Some(id) = value {
                unconflicted.insert(key.clone(), *id);
            }
        } else {
            conflicted.extend(sets.iter().filter_map(|s| s.get(key)).copied());
        }
    }
    if conflicted.is_empty() {
        return Ok(unconflicted);
    }

    // 2. Auth difference: events in some but not all of the sets' full auth chains.
    let mut chains = Vec::with_capacity(sets.len());
    for set in sets {
        chains.push(auth_chain(set.values().copied(), lookup, work)?);
    }
    let mut full: BTreeSet<EventId> = conflicted.clone();
    if let Some((head, rest)) = chains.split_first() {
        let union: BTreeSet<EventId> = chains.iter().flatten().copied().collect();
        for id in union {
            if !(head.contains(&id) && rest.iter().all(|c| c.contains(&id))) {
                full.insert(id);
            }
        }
    }

    // 3. v2.1: add the conflicted state subgraph (events on auth paths between conflicted events).
    full.extend(conflicted_subgraph(&conflicted, lookup, work)?);

    // 4. Power events and their auth ancestors within the full conflicted set, in reverse
    //    topological power order, checked iteratively from the empty state.
    let mut power: BTreeSet<EventId> = BTreeSet::new();
    let mut stack: Vec<EventId> = Vec::new();
    for id in &full {
        if is_power_event(get(lookup, id)?) {
            stack.push(*id);
        }
    }
    while let Some(id) = stack.pop() {
        work.spend(1)?;
        if !power.insert(id) {
            continue;
        }
        for parent in get(lookup, &id)?.auth_event_ids() {
            if full.contains(parent) && !power.contains(parent) {
                stack.push(*parent);
            }
        }
    }
    let power_order = reverse_topological_power_order(&power, lookup, work)?;
    let partial = iterative_auth_checks(&power_order, StateMap::new(), lookup, work)?;

    // 5. The other events, by mainline order of the resolved power levels, checked on top.
    let mainline = mainline_positions(&partial, lookup, work)?;
    let mut rest: Vec<(u64, u64, EventId)> = Vec::new();
    let mut memo: BTreeMap<EventId, u64> = BTreeMap::new();
    for id in full.difference(&power) {
        let event = get(lookup, id)?;
        let position = mainline_position(event, &mainline, &mut memo, lookup, work)?;
        rest.push((position, event.depth(), *id));
    }
    rest.sort_unstable();
    let rest: Vec<EventId> = rest.into_iter().map(|(_, _, id)| id).collect();
    let mut resolved = iterative_auth_checks(&rest, partial, lookup, work)?;

    // 6. The unconflicted state wins over anything the checks produced.
    resolved.extend(unconflicted);
    Ok(resolved)
}

/// A power event: create, power levels, join rules, or a kick/ban (a leave or ban set by
/// someone other than the target).
pub fn is_power_event<E: StateEvent + ?Sized>(event: &E) -> bool {
    match event.kind() {
        kinds::CREATE | kinds::POWER_LEVELS | kinds::JOIN_RULES => event.state_key() == Some(""),
        kinds::MEMBER => {
            let by_other = event
                .state_key()
                .is_some_and(|k| k != crate::content::user_state_key(event.sender()));
            by_other
                && matches!(
                    Membership::parse(event.content()),
                    Ok(Membership::Leave | Membership::Ban)
                )
        }
        // A mute is a moderator's action against another user, like a kick.
        kinds::MUTE => event
            .state_key()
            .is_some_and(|k| k != crate::content::user_state_key(event.sender())),
        _ => false,
    }
}

/// All auth ancestors (exclusive) of `start`.
fn auth_chain<'a, E: StateEvent + 'a>(
    start: impl Iterator<Item = EventId>,
    lookup: &impl Fn(&EventId) -> Option<&'a E>,
    work: &mut Work,
) -> Result<BTreeSet<EventId>, StateResError> {
    let mut chain = BTreeSet::new();
    let mut stack: Vec<EventId> = Vec::new();
    for id in start {
        work.spend(1)?;
        stack.extend_from_slice(get(lookup, &id)?.auth_event_ids());
    }
    while let Some(id) = stack.pop() {
        work.spend(1)?;
        if chain.insert(id) {
            stack.extend(
                get(lookup, &id)?
                    .auth_event_ids()
                    .iter()
                    .filter(|a| !chain.contains(*a)),
            );
        }
    }
    Ok(chain)
}

/// Events that are auth ancestors of a conflicted event and auth descendants of one.
fn conflicted_subgraph<'a, E: StateEvent + 'a>(
    conflicted: &BTreeSet<EventId>,
    lookup: &impl Fn(&EventId) -> Option<&'a E>,
    work: &mut Work,
) -> Result<BTreeSet<EventId>, StateResError> {
    let ancestors = auth_chain(conflicted.iter().copied(), lookup, work)?;
    // reaches[x]: some conflicted event is an auth ancestor of x. Post-order DFS, iterative so a
    // long chain cannot overflow the stack.
    let mut reaches: BTreeMap<EventId, bool> = BTreeMap::new();
    for root in &ancestors {
        if reaches.contains_key(root) {
            continue;
        }
        let mut stack: Vec<(EventId, bool)> = vec![(*root, false)];
        while let Some((id, expanded)) = stack.pop() {
            work.spend(1)?;
            let parents = get(lookup, &id)?.auth_event_ids();
            if expanded {
                let value = parents
                    .iter()
                    .any(|p| conflicted.contains(p) || reaches.get(p).copied().unwrap_or(false));
                reaches.insert(id, value);
            } else if !reaches.contains_key(&id) {
                stack.push((id, true));
                stack.extend(
                    parents
                        .iter()
                        .filter(|p| !reaches.contains_key(*p))
                        .map(|p| (*p, false)),
                );
            }
        }
    }
    Ok(ancestors
        .into_iter()
        .filter(|id| reaches.get(id).copied().unwrap_or(false))
        .collect())
}

/// The sender's power as its own auth events say (creator rule included).
fn sender_power<'a, E: StateEvent + 'a>(
    event: &E,
    lookup: &impl Fn(&EventId) -> Option<&'a E>,
) -> Result<i64, StateResError> {
    if event.kind() == kinds::CREATE {
        return Ok(CREATOR_POWER);
    }
    let mut creator = None;
    let mut levels = PowerLevels::default();
    for id in event.auth_event_ids() {
        let auth = get(lookup, id)?;
        match auth.kind() {
            kinds::CREATE => creator = Some(*auth.sender()),
            kinds::POWER_LEVELS => {
                levels = auth
                    .power_levels()
                    .map(|l| l.into_owned())
                    .unwrap_or_default()
            }
            _ => {}
        }
    }
    Ok(match creator {
        Some(creator) => power_of(event.sender().as_bytes(), &creator, &levels),
        None => levels.user_level(event.sender().as_bytes()),
    })
}

/// Kahn's algorithm over auth edges: auth ancestors first; among ready events, higher sender
/// power first, then smaller depth (a later change made on top of an earlier one is applied
/// after it, so it wins), then smaller event id.
fn reverse_topological_power_order<'a, E: StateEvent + 'a>(
    events: &BTreeSet<EventId>,
    lookup: &impl Fn(&EventId) -> Option<&'a E>,
    work: &mut Work,
) -> Result<Vec<EventId>, StateResError> {
    let mut pending: BTreeMap<EventId, usize> = BTreeMap::new();
    let mut children: BTreeMap<EventId, Vec<EventId>> = BTreeMap::new();
    let mut ready: BTreeSet<(Reverse<i64>, u64, EventId)> = BTreeSet::new();
    for id in events {
        work.spend(1)?;
        let event = get(lookup, id)?;
        let parents: Vec<EventId> = event
            .auth_event_ids()
            .iter()
            .filter(|p| events.contains(*p))
            .copied()
            .collect();
        for parent in &parents {
            children.entry(*parent).or_default().push(*id);
        }
        if parents.is_empty() {
            ready.insert((Reverse(sender_power(event, lookup)?), event.depth(), *id));
        } else {
            pending.insert(*id, parents.len());
        }
    }
    let mut order = Vec::with_capacity(events.len());
    while let Some(first) = ready.pop_first() {
        work.spend(1)?;
        let id = first.2;
        order.push(id);
        for child in children.get(&id).map(Vec::as_slice).unwrap_or_default() {
            if let Some(count) = pending.get_mut(child) {
                *count -= 1;
                if *count == 0 {
                    pending.remove(child);
                    let event = get(lookup, child)?;
                    ready.insert((Reverse(sender_power(event, lookup)?), event.depth(), *child));
                }
            }
        }
    }
    Ok(order)
}

/// Applies `order` one event at a time: each state event is checked against its own auth events
/// overlaid with the partially resolved state, and enters the state if allowed.
fn iterative_auth_checks<'a, E: StateEvent + 'a>(
    order: &[EventId],
    mut partial: StateMap,
    lookup: &impl Fn(&EventId) -> Option<&'a E>,
    work: &mut Work,
) -> Result<StateMap, StateResError> {
    for id in order {
        let event = get(lookup, id)?;
        let Some(key) = state_key_of(event) else {
            continue;
        };
        work.spend(1 + event.auth_event_ids().len() as u64)?;
        let mut auth_state: BTreeMap<StateKey, &'a E> = BTreeMap::new();
        for auth_id in event.auth_event_ids() {
            let auth = get(lookup, auth_id)?;
            if let Some(k) = state_key_of(auth) {
                auth_state.insert(k, auth);
            }
        }
        for k in event.auth_types() {
            if let Some(current) = partial.get(&k) {
                let current = get(lookup, current)?;
                auth_state.insert(k, current);
            }
        }
        let allowed = authorize(event, |kind: &str, state_key: &str| {
            auth_state
                .get(&(kind.to_owned(), state_key.to_owned()))
                .copied()
        });
        if allowed.is_ok() {
            partial.insert(key, *id);
        }
    }
    Ok(partial)
}

fn power_levels_auth_event<'a, E: StateEvent + 'a>(
    event: &E,
    lookup: &impl Fn(&EventId) -> Option<&'a E>,
) -> Result<Option<EventId>, StateResError> {
    for id in event.auth_event_ids() {
        if get(lookup, id)?.kind() == kinds::POWER_LEVELS {
            return Ok(Some(*id));
        }
    }
    Ok(None)
}

/// Positions of the resolved power levels' mainline (its chain of power-level auth events):
/// the oldest gets 1, so "no mainline event found" (0) sorts first.
fn mainline_positions<'a, E: StateEvent + 'a>(
    partial: &StateMap,
    lookup: &impl Fn(&EventId) -> Option<&'a E>,
    work: &mut Work,
) -> Result<BTreeMap<EventId, u64>, StateResError> {
    let mut chain = Vec::new();
    let mut current = partial
        .get(&(kinds::POWER_LEVELS.to_owned(), String::new()))
        .copied();
    while let Some(id) = current {
        work.spend(1)?;
        chain.push(id);
        current = power_levels_auth_event(get(lookup, &id)?, lookup)?;
    }
    Ok(chain
        .iter()
        .rev()
        .enumerate()
        .map(|(i, id)| (*id, i as u64 + 1))
        .collect())
}

fn mainline_position<'a, E: StateEvent + 'a>(
    event: &E,
    mainline: &BTreeMap<EventId, u64>,
    memo: &mut BTreeMap<EventId, u64>,
    lookup: &impl Fn(&EventId) -> Option<&'a E>,
    work: &mut Work,
) -> Result<u64, StateResError> {
    let mut walked = Vec::new();
    let mut current = power_levels_auth_event(event, lookup)?;
    let position = loop {
        work.spend(1)?;
        let Some(id) = current else { break 0 };
        if let Some(p) = mainline.get(&id).or_else(|| memo.get(&id)) {
            break *p;
        }
        walked.push(id);
        current = power_levels_auth_event(get(lookup, &id)?, lookup)?;
    };
    for id in walked {
        memo.insert(id, position);
    }
    Ok(position)
}

#[cfg(test)]
mod tests {
    //! State resolution on tiny hand-written graphs.

    use causerie_crypto::{Content, Hash32, UserKey, UserSecret};

    use super::*;
    use crate::content::{Membership, PowerLevels, user_state_key};
    use crate::event::Credential;

    struct Fixture {
        id: EventId,
        kind: &'static str,
        state_key: String,
        sender: UserKey,
        content: Content,
        auth: Vec<EventId>,
        depth: u64,
    }

    impl StateEvent for Fixture {
        fn event_id(&self) -> EventId {
            self.id
        }
        fn kind(&self) -> &str {
            self.kind
        }
        fn state_key(&self) -> Option<&str> {
            Some(&self.state_key)
        }
        fn sender(&self) -> &UserKey {
            &self.sender
        }
        fn content(&self) -> &Content {
            &self.content
        }
        fn auth_event_ids(&self) -> &[EventId] {
            &self.auth
        }
        fn depth(&self) -> u64 {
            self.depth
        }
        fn origin_ts(&self) -> u64 {
            self.depth
        }
        fn credential(&self) -> Option<&Credential> {
            None
        }
    }

    fn user(seed: u8) -> UserKey {
        UserSecret::from_seed(&[seed; 32]).public()
    }

    #[derive(Default)]
    struct Graph {
        events: BTreeMap<EventId, Fixture>,
    }

    impl Graph {
        #[allow(clippy::too_many_arguments)]
        fn add(
            &mut self,
            id: u8,
            kind: &'static str,
            state_key: &str,
            sender: UserKey,
            content: Content,
            auth: &[EventId],
            depth: u64,
        ) -> EventId {
            let id = EventId(Hash32([id; 32]));
            let state_key = state_key.to_owned();
            let auth = auth.to_vec();
            self.events.insert(
                id,
                Fixture {
                    id,
                    kind,
                    state_key,
                    sender,
                    content,
                    auth,
                    depth,
                },
            );
            id
        }

        /// Adds `sender`'s member event setting `target`'s membership.
        fn member(
            &mut self,
            id: u8,
            sender: UserKey,
            target: &UserKey,
            membership: Membership,
            auth: &[EventId],
            depth: u64,
        ) -> EventId {
            let state_key = user_state_key(target);
            let content = membership.to_content();
            self.add(id, kinds::MEMBER, &state_key, sender, content, auth, depth)
        }

        fn resolve(
            &self,
            sets: &[&StateMap],
            limit: u64,
        ) -> Result<(StateMap, u64), StateResError> {
            let mut work = Work::new(limit);
            let lookup = |id: &EventId| self.events.get(id);
            resolve(sets, &lookup, &mut work).map(|s| (s, work.used()))
        }

        fn state(&self, ids: &[EventId]) -> StateMap {
            ids.iter()
                .map(|id| {
                    let e = &self.events[id];
                    ((e.kind.to_owned(), e.state_key.clone()), *id)
                })
                .collect()
        }
    }

    fn text(key: &str, value: &str) -> Content {
        let mut content = Content::new();
        content.insert(key.into(), value.into());
        content
    }

    fn levels(users: &[(UserKey, i64)]) -> Content {
        let mut levels = PowerLevels::default();
        for (user, level) in users {
            levels.users.insert(*user.as_bytes(), *level);
        }
        levels.to_content()
    }

    /// Alice creates; Bob is a moderator (50); Bob and Carol joined.
    struct Base {
        graph: Graph,
        alice: UserKey,
        bob: UserKey,
        carol: UserKey,
        create: EventId,
        alice_join: EventId,
        power: EventId,
        rules: EventId,
        bob_join: EventId,
        carol_join: EventId,
    }

    fn base() -> Base {
        let (alice, bob, carol) = (user(1), user(2), user(3));
        let mut g = Graph::default();
        let create = g.add(10, kinds::CREATE, "", alice, Content::new(), &[], 0);
        let alice_join = g.member(11, alice, &alice, Membership::Join, &[create], 1);
        let power = g.add(
            12,
            kinds::POWER_LEVELS,
            "",
            alice,
            levels(&[(bob, 50)]),
            &[create, alice_join],
            2,
        );
        let rules = g.add(
            13,
            kinds::JOIN_RULES,
            "",
            alice,
            text("join_rule", "public"),
            &[create, power, alice_join],
            3,
        );
        let bob_join = g.member(14, bob, &bob, Membership::Join, &[create, power, rules], 4);
        let carol_join = g.member(
            15,
            carol,
            &carol,
            Membership::Join,
            &[create, power, rules],
            5,
        );
        Base {
            graph: g,
            alice,
            bob,
            carol,
            create,
            alice_join,
            power,
            rules,
            bob_join,
            carol_join,
        }
    }

    impl Base {
        fn common(&self) -> Vec<EventId> {
            vec![
                self.create,
                self.alice_join,
                self.power,
                self.rules,
                self.bob_join,
                self.carol_join,
            ]
        }

        /// Adds Alice's state event of `kind` with the empty state key.
        fn alice_sets(
            &mut self,
            id: u8,
            kind: &'static str,
            content: Content,
            auth: &[EventId],
            depth: u64,
        ) -> EventId {
            self.graph
                .add(id, kind, "", self.alice, content, auth, depth)
        }

        /// The states of two branches off the common state, one ending in `left`, the other in
        /// `right`.
        fn branches(&self, left: EventId, right: EventId) -> (StateMap, StateMap) {
            let branch = |tip| {
                let mut ids = self.common();
                ids.push(tip);
                self.graph.state(&ids)
            };
            (branch(left), branch(right))
        }
    }

    #[test]
    fn identical_sets_resolve_to_themselves_without_conflict_work() {
        let b = base();
        let state = b.graph.state(&b.common());
        let (resolved, used) = b.graph.resolve(&[&state, &state], MAX).unwrap();
        assert_eq!(resolved, state);
        assert_eq!(used, 2 * state.len() as u64);
    }

    const MAX: u64 = 1_000_000;

    /// Fork: Alice demotes Bob; concurrently Bob bans Carol.
    fn demotion_race() -> (Base, StateMap, StateMap, EventId) {
        let mut b = base();
        let demote = b.alice_sets(
            20,
            kinds::POWER_LEVELS,
            levels(&[(b.bob, 0)]),
            &[b.create, b.power, b.alice_join],
            6,
        );
        let ban = b.graph.member(
            21,
            b.bob,
            &b.carol,
            Membership::Ban,
            &[b.create, b.power, b.bob_join, b.carol_join, b.rules],
            6,
        );
        let (left, right) = b.branches(demote, ban);
        (b, left, right, demote)
    }

    #[test]
    fn creators_demotion_beats_the_moderators_concurrent_ban() {
        let (b, left, right, demote) = demotion_race();
        for sets in [[&left, &right], [&right, &left]] {
            let (resolved, _) = b.graph.resolve(&sets, MAX).unwrap();
            assert_eq!(
                resolved[&(kinds::POWER_LEVELS.to_owned(), String::new())],
                demote
            );
            assert_eq!(
                resolved[&(kinds::MEMBER.to_owned(), user_state_key(&b.carol))],
                b.carol_join
            );
        }
    }

    #[test]
    fn work_limit_edges() {
        let (b, left, right, _) = demotion_race();
        let (expected, used) = b.graph.resolve(&[&left, &right], MAX).unwrap();
        assert_eq!(b.graph.resolve(&[&left, &right], used).unwrap().0, expected);
        assert_eq!(
            b.graph.resolve(&[&left, &right], used - 1).unwrap_err(),
            StateResError::TooMuchWork { limit: used - 1 }
        );
        assert_eq!(
            StateResError::TooMuchWork { limit: 0 }.reason(),
            "state_res_too_large"
        );
    }

    #[test]
    fn later_topic_wins_by_depth_not_by_id() {
        let mut b = base();
        let auth = [b.create, b.power, b.alice_join];
        // The later topic gets the smaller id, so an id tie-break would pick the wrong one.
        let first = b.alice_sets(31, kinds::TOPIC, text("topic", "first"), &auth, 6);
        let second = b.alice_sets(30, kinds::TOPIC, text("topic", "second"), &auth, 7);
        let (left, right) = b.branches(first, second);
        let (resolved, _) = b.graph.resolve(&[&left, &right], MAX).unwrap();
        assert_eq!(resolved[&(kinds::TOPIC.to_owned(), String::new())], second);
    }

    #[test]
    fn conflicted_subgraph_holds_events_between_conflicted_events() {
        let mut b = base();
        let p2 = b.alice_sets(
            40,
            kinds::POWER_LEVELS,
            levels(&[(b.bob, 40)]),
            &[b.create, b.power, b.alice_join],
            6,
        );
        let p3 = b.alice_sets(
            41,
            kinds::POWER_LEVELS,
            levels(&[(b.bob, 30)]),
            &[b.create, p2, b.alice_join],
            7,
        );
        let conflicted: BTreeSet<EventId> = [b.power, p3].into_iter().collect();
        let lookup = |id: &EventId| b.graph.events.get(id);
        let subgraph = conflicted_subgraph(&conflicted, &lookup, &mut Work::new(MAX)).unwrap();
        assert_eq!(subgraph, [p2].into_iter().collect());
    }

    #[test]
    fn missing_events_are_reported() {
        let (b, left, mut right, _) = demotion_race();
        let ghost = EventId(Hash32([99; 32]));
        right.insert((kinds::TOPIC.to_owned(), String::new()), ghost);
        assert_eq!(
            b.graph.resolve(&[&left, &right], MAX).unwrap_err(),
            StateResError::MissingEvent(ghost)
        );
    }

    #[test]
    fn kicks_and_bans_are_power_events_joins_are_not() {
        let b = base();
        let g = &b.graph;
        assert!(is_power_event(&g.events[&b.power]));
        assert!(is_power_event(&g.events[&b.rules]));
        assert!(is_power_event(&g.events[&b.create]));
        assert!(!is_power_event(&g.events[&b.bob_join]));
    }
}
