//! Seeded convergence simulation of the room engine (specs/rooms.md, "Convergence").
//!
//! Each seed generates a rich history: a few author nodes, each with its own engine, whose views
//! go stale (they sync with the shared pool only sometimes), so authors build on old tips and the
//! DAG forks; users join, talk, change the topic, redact, promote and demote, ban (some bans end
//! by themselves, some purge), mute (some for a while), unmute, unban and kick;
//! a banned user's node may stay stale and keep posting (a fork from before the ban); a few forged
//! events (by a non-member) are mixed in. Then N replicas (2..=10) receive every event and
//! attestation in their own random order, with duplicates, delays, clocks that lag (events from
//! "the future" are refused and offered again later), bounded held events (those refused, evicted
//! or expired are offered again later, as pulls would) and partitions that heal. Once every replica
//! holds the same events, their current state, accepted and soft-failed sets, and visible
//! timeline must be identical, and equal those of a replica that received everything in
//! topological order.
//!
//! `CAUSERIE_SIM_SEEDS=n` runs n seeds (default 1,000); `CAUSERIE_SIM_SEED=s` replays one.

use std::collections::{BTreeMap, BTreeSet};

use causerie_crypto::event::kinds;
use causerie_crypto::{
    Assurance, Attestation, AttestationDraft, Content, Event, EventId, NodeSecret, UserKey,
    UserSecret, Value,
};
use causerie_room::content::user_state_key;
use causerie_room::{
    EventStatus, HeldEnd, Membership, Outcome, PowerLevels, Receipt, RefuseReason, Room, Shown,
    prepare_create,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const T0: u64 = 1_700_000_000_000;
const DAY_MS: u64 = 24 * 60 * 60 * 1_000;
/// Spacing of generated events' origin_ts: 70 events span ~12 min, more than the 5-minute skew.
const STEP_MS: u64 = 10_000;
const DEFAULT_SEEDS: u64 = 1_000;
const AUTHOR_NODES: usize = 3;
const USERS: usize = 6;
/// Rounds of offering again what a replica refused or let go (each round goes parents first).
const RETRY_ROUNDS: usize = 8;

struct User {
    secret: UserSecret,
    key: UserKey,
    attestation: Attestation,
}

fn users() -> Vec<User> {
    let node = NodeSecret::from_seed(&[77; 32]);
    (0..=USERS)
        .map(|i| {
            let secret = UserSecret::from_seed(&[i as u8 + 1; 32]);
            let key = secret.public();
            let attestation = AttestationDraft {
                user: key,
                handle: format!("u{i}"),
                assurance: Assurance::Contact,
                not_before: T0 - DAY_MS,
                not_after: T0 + 30 * DAY_MS,
            }
            .sign(&node)
            .expect("attestation signs");
            User {
                secret,
                key,
                attestation,
            }
        })
        .collect()
}

fn text(key: &str, value: &str) -> Content {
    let mut content = Content::new();
    content.insert(key.into(), value.into());
    content
}

struct History {
    events: Vec<Event>,
    forged: Vec<Event>,
    end_ms: u64,
}

struct Generator<'u> {
    rng: ChaCha8Rng,
    users: &'u [User],
    nodes: Vec<Room>,
    home: Vec<usize>,
    stale_until: Vec<usize>,
    pool: Vec<Event>,
    now: u64,
    step: usize,
}

impl Generator<'_> {
    fn sync(&mut self, node: usize) {
        for event in &self.pool {
            if self.nodes[node].status(&event.id()) == EventStatus::Unknown {
                self.nodes[node].receive(event.clone(), self.now);
            }
        }
    }

    /// Prepares on the author's node, signs, and keeps the event if that node accepts it.
    fn author(
        &mut self,
        user: usize,
        kind: &str,
        state_key: Option<String>,
        content: Content,
    ) -> Option<Event> {
        let node = self.home[user];
        let u = &self.users[user];
        let draft = self.nodes[node]
            .prepare(
                u.key,
                kind,
                state_key,
                content,
                self.now,
                u.attestation.id(),
            )
            .ok()?;
        let event = draft.sign(&u.secret).ok()?;
        let receipt = self.nodes[node].receive(event.clone(), self.now);
        match receipt.outcome_of(&event.id()) {
            Some(Outcome::Accepted { .. }) => {
                self.pool.push(event.clone());
                Some(event)
            }
            _ => None,
        }
    }

    fn step(&mut self) {
        self.step += 1;
        self.now += STEP_MS;
        let user = self.rng.random_range(0..USERS);
        let node = self.home[user];
        if self.stale_until[node] <= self.step && self.rng.random_bool(0.5) {
            self.sync(node);
        }
        let room = &self.nodes[node];
        let me = self.users[user].key;
        let power = room.power_level(&me);
        match room.membership(&me) {
            Some(Membership::Join) => {}
            Some(Membership::Ban) => return,
            _ => {
                if self.rng.random_bool(0.7) {
                    self.author(
                        user,
                        kinds::MEMBER,
                        Some(user_state_key(&me)),
                        Membership::Join.to_content(),
                    );
                }
                return;
            }
        }
        let other = self.rng.random_range(1..USERS);
        let other_key = self.users[other].key;
        let roll = self.rng.random_range(0..100);
        let moderator = power >= 50 && other != user;
        match roll {
            0..45 => {
                // Now and then a blocked word: refused by the author's node under the rules,
                // soft-failed where a stale node made it before them.
                let word = if self.rng.random_bool(0.1) {
                    " zap"
                } else {
                    ""
                };
                let body = format!("m{} from {user}{word}", self.step);
                self.author(user, kinds::MESSAGE, None, text("body", &body));
            }
            45..55 if power >= 50 && self.rng.random_bool(0.3) => {
                // Content rules: a blocked word and a slow mode of 0 to 3 steps.
                let mut rules = Content::new();
                rules.insert("blocked_words".into(), Value::Array(vec!["zap".into()]));
                let slow = STEP_MS * self.rng.random_range(0..4);
                rules.insert("slow_mode_ms".into(), Value::Integer(slow as i64));
                self.author(user, kinds::CONTENT_RULES, Some(String::new()), rules);
            }
            45..55 if power >= 50 => {
                let topic = format!("topic {}", self.step);
                self.author(
                    user,
                    kinds::TOPIC,
                    Some(String::new()),
                    text("topic", &topic),
                );
            }
            55..63 => {
                let timeline = self.nodes[node].timeline_events();
                let messages: Vec<&Event> = timeline
                    .iter()
                    .filter(|e| e.kind() == kinds::MESSAGE)
                    .collect();
                if let Some(target) = messages.get(self.rng.random_range(0..messages.len().max(1)))
                {
                    let mut content = Content::new();
                    content.insert(
                        "redacts".into(),
                        Value::Bytes(target.id().as_bytes().to_vec()),
                    );
                    self.author(user, kinds::REDACTION, None, content);
                }
            }
            63..73 if moderator => {
                // Some bans end by themselves (room time: the events' origin_ts), some purge.
                let mut ban = Membership::Ban.to_content();
                if self.rng.random_bool(0.3) {
                    let end = self.now + self.rng.random_range(1..20) * STEP_MS;
                    ban.insert("expires".into(), Value::Integer(end as i64));
                }
                if self.rng.random_bool(0.2) {
                    ban.insert("purge".into(), Value::Bool(true));
                }
                if self
                    .author(user, kinds::MEMBER, Some(user_state_key(&other_key)), ban)
                    .is_some()
                    && self.rng.random_bool(0.6)
                {
                    // The banned user's node stays behind for a while and keeps posting: a fork
                    // from before the ban.
                    let their_node = self.home[other];
                    self.stale_until[their_node] = self.step + 12;
                }
            }
            73..77 if moderator => {
                // Mute (for a while, sometimes) or unmute.
                let mut mute = Content::new();
                let muted = self.rng.random_bool(0.7);
                mute.insert("muted".into(), Value::Bool(muted));
                if muted && self.rng.random_bool(0.5) {
                    let end = self.now + self.rng.random_range(1..20) * STEP_MS;
                    mute.insert("expires".into(), Value::Integer(end as i64));
                }
                self.author(user, kinds::MUTE, Some(user_state_key(&other_key)), mute);
            }
            77..83 if moderator => {
                // Unban if banned, else kick.
                let leave = Membership::Leave.to_content();
                self.author(user, kinds::MEMBER, Some(user_state_key(&other_key)), leave);
            }
            83..93 if power >= 50 => {
                let mut levels = self.nodes[node]
                    .state_event(kinds::POWER_LEVELS, "")
                    .and_then(|e| PowerLevels::parse(e.content()).ok())
                    .unwrap_or_default();
                let level = if self.rng.random_bool(0.5) { 50 } else { 0 };
                levels.users.insert(*other_key.as_bytes(), level);
                self.author(
                    user,
                    kinds::POWER_LEVELS,
                    Some(String::new()),
                    levels.to_content(),
                );
            }
            93..97 if user != 0 => {
                self.author(
                    user,
                    kinds::MEMBER,
                    Some(user_state_key(&me)),
                    Membership::Leave.to_content(),
                );
            }
            _ => {
                let body = format!("chatter {}", self.step);
                self.author(user, kinds::MESSAGE, None, text("body", &body));
            }
        }
    }
}

fn generate(seed: u64, users: &[User]) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let home: Vec<usize> = (0..=USERS)
        .map(|u| {
            if u == 0 {
                0
            } else {
                rng.random_range(0..AUTHOR_NODES)
            }
        })
        .collect();
    let creator = &users[0];
    let create = prepare_create(creator.key, Content::new(), T0, creator.attestation.id())
        .sign(&creator.secret)
        .expect("create signs");
    let mut nodes: Vec<Room> = (0..AUTHOR_NODES)
        .map(|_| Room::new(create.room_id()))
        .collect();
    for node in &mut nodes {
        for user in users {
            node.add_attestation(user.attestation.clone())
                .expect("room for attestations");
        }
    }
    nodes[0].receive(create.clone(), T0);
    let mut generator = Generator {
        rng,
        users,
        nodes,
        home,
        stale_until: vec![0; AUTHOR_NODES],
        pool: vec![create],
        now: T0,
        step: 0,
    };
    generator.home[0] = 0;
    let creator_hex = user_state_key(&creator.key);
    generator.author(
        0,
        kinds::MEMBER,
        Some(creator_hex),
        Membership::Join.to_content(),
    );
    let mut levels = PowerLevels::default();
    levels.users.insert(*users[1].key.as_bytes(), 50);
    generator.author(
        0,
        kinds::POWER_LEVELS,
        Some(String::new()),
        levels.to_content(),
    );
    generator.author(
        0,
        kinds::JOIN_RULES,
        Some(String::new()),
        text("join_rule", "public"),
    );
    for node in 1..AUTHOR_NODES {
        generator.sync(node);
    }
    let steps = 30 + generator.rng.random_range(0..45);
    for _ in 0..steps {
        generator.step();
    }
    // Forged events by a user who never joined, built on real tips: rejected everywhere.
    let outsider = &users[USERS];
    let target = user_state_key(&users[2].key);
    let mut forged = Vec::new();
    for (kind, state_key, content) in [
        (kinds::MESSAGE, None, text("body", "spam")),
        (kinds::MEMBER, Some(target), Membership::Join.to_content()),
    ] {
        let draft = generator.nodes[0]
            .prepare(
                outsider.key,
                kind,
                state_key,
                content,
                generator.now,
                outsider.attestation.id(),
            )
            .expect("room exists");
        forged.push(draft.sign(&outsider.secret).expect("forged event signs"));
    }
    History {
        events: generator.pool,
        forged,
        end_ms: generator.now,
    }
}

enum Delivery {
    Event(Event),
    Attestation(Attestation),
}

/// A replica's delivery schedule: shuffled, with duplicates, some events delayed to the end, and
/// for partitioned replicas the events of some author nodes held back until the partition heals.
fn schedule(rng: &mut ChaCha8Rng, history: &History, users: &[User]) -> Vec<Delivery> {
    let mut events: Vec<Event> = history
        .events
        .iter()
        .chain(&history.forged)
        .cloned()
        .collect();
    let duplicates = rng.random_range(0..=events.len() / 5);
    for _ in 0..duplicates {
        let pick = events[rng.random_range(0..events.len())].clone();
        events.push(pick);
    }
    let mode = rng.random_range(0..3);
    let mut order: Vec<Event> = match mode {
        // Random order.
        0 => {
            events.shuffle(rng);
            events
        }
        // Near-topological with local reordering and some long delays.
        1 => {
            let mut now: Vec<Event> = Vec::new();
            let mut late = Vec::new();
            for event in events {
                if rng.random_bool(0.1) {
                    late.push(event)
                } else {
                    now.push(event)
                }
            }
            for i in 0..now.len() {
                let j = (i + rng.random_range(0..4)).min(now.len() - 1);
                now.swap(i, j);
            }
            late.shuffle(rng);
            now.extend(late);
            now
        }
        // Partition: events by one author hidden until the end, then healed.
        _ => {
            let hidden = users[rng.random_range(0..USERS)].key;
            let (mut cut, mut open): (Vec<Event>, Vec<Event>) =
                events.into_iter().partition(|e| *e.author() == hidden);
            open.shuffle(rng);
            cut.shuffle(rng);
            open.extend(cut);
            open
        }
    };
    let mut deliveries: Vec<Delivery> = order.drain(..).map(Delivery::Event).collect();
    for user in users {
        let at = rng.random_range(0..=deliveries.len());
        deliveries.insert(at, Delivery::Attestation(user.attestation.clone()));
    }
    deliveries
}

#[derive(Debug, PartialEq, Eq)]
struct Outcomes {
    state: Vec<((String, String), EventId)>,
    accepted: Vec<EventId>,
    soft_failed: Vec<EventId>,
    timeline: Vec<(u64, EventId, bool)>,
}

fn outcomes(room: &Room) -> Outcomes {
    Outcomes {
        state: room
            .current_state()
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
        accepted: room.accepted_ids(),
        soft_failed: room.soft_failed_ids(),
        timeline: room
            .timeline()
            .iter()
            .map(|t| (t.depth, t.event, t.redacted))
            .collect(),
    }
}

/// What the receipts told a node to persist, replayed: the last reported visibility per event.
#[derive(Default)]
struct Reported {
    shown: BTreeMap<EventId, Shown>,
    accepted: BTreeSet<EventId>,
}

impl Reported {
    fn record(&mut self, receipt: &Receipt) {
        for decision in &receipt.decisions {
            if matches!(decision.outcome, Outcome::Accepted { .. }) {
                self.accepted.insert(decision.event);
            }
        }
        for change in &receipt.visibility {
            self.shown.insert(change.event, change.shown);
        }
    }

    /// The receipts must tell the whole story: every accepted event, and a visibility that
    /// matches the engine's final timeline.
    fn check(&self, room: &Room) -> Result<(), String> {
        if self.accepted.iter().copied().collect::<Vec<_>>() != room.accepted_ids() {
            return Err("receipts do not report every accepted event".into());
        }
        let visible: Vec<(EventId, bool)> = self
            .shown
            .iter()
            .filter(|(_, s)| s.visible)
            .map(|(id, s)| (*id, s.redacted))
            .collect();
        let mut timeline: Vec<(EventId, bool)> = room
            .timeline()
            .iter()
            .map(|t| (t.event, t.redacted))
            .collect();
        timeline.sort();
        if visible != timeline {
            return Err("replayed visibility changes differ from the timeline".into());
        }
        Ok(())
    }
}

/// What a replica must be offered again, as a later pull would: the offered event if it was
/// refused for now (clock, held-event bounds), and held events that were let go unresolved.
fn to_retry(receipt: &Receipt, offered: Option<&Event>, retry: &mut BTreeMap<EventId, Event>) {
    if let Some(event) = offered
        && let Some(Outcome::Refused(
            RefuseReason::FromFuture
            | RefuseReason::TooManyOutliers
            | RefuseReason::TooManyHeldFromSource
            | RefuseReason::TooManyHeldByAuthor,
        )) = receipt.outcome_of(&event.id())
    {
        retry.insert(event.id(), event.clone());
    }
    for ended in &receipt.held {
        if matches!(
            ended.end,
            HeldEnd::Expired | HeldEnd::Evicted | HeldEnd::Refused(_)
        ) {
            retry.insert(ended.event.id(), ended.event.clone());
        }
    }
}

fn replicate(
    rng: &mut ChaCha8Rng,
    history: &History,
    users: &[User],
    room_id: causerie_crypto::RoomId,
) -> Result<Room, String> {
    let mut reported = Reported::default();
    let mut room = Room::new(room_id);
    let deliveries = schedule(rng, history, users);
    // The replica's clock lags: early deliveries happen "before" late events were written, so
    // those are refused as from the future and offered again at the end (as a later pull would).
    let lag_ms = rng.random_range(0..=20 * STEP_MS);
    let start = T0.saturating_sub(lag_ms);
    let span = history.end_ms - T0;
    let count = deliveries.len().max(1) as u64;
    let mut retry = BTreeMap::new();
    for (i, delivery) in deliveries.into_iter().enumerate() {
        let now = start + span * i as u64 / count;
        match delivery {
            Delivery::Attestation(a) => {
                let receipt = room.add_attestation(a).map_err(|e| e.to_string())?;
                reported.record(&receipt);
                to_retry(&receipt, None, &mut retry);
            }
            Delivery::Event(event) => {
                let receipt = room.receive(event.clone(), now);
                reported.record(&receipt);
                to_retry(&receipt, Some(&event), &mut retry);
            }
        }
    }
    for _ in 0..RETRY_ROUNDS {
        let mut round: Vec<Event> = std::mem::take(&mut retry).into_values().collect();
        if round.is_empty() {
            break;
        }
        round.sort_by_key(|e| (e.depth(), e.id()));
        for event in round {
            let receipt = room.receive(event.clone(), history.end_ms);
            reported.record(&receipt);
            to_retry(&receipt, Some(&event), &mut retry);
        }
    }
    reported.check(&room)?;
    Ok(room)
}

fn run_seed(seed: u64, users: &[User]) -> Result<(), String> {
    let history = generate(seed, users);
    let room_id = history.events[0].room_id();
    let mut reference = Room::new(room_id);
    for user in users {
        reference
            .add_attestation(user.attestation.clone())
            .map_err(|e| e.to_string())?;
    }
    for event in history.events.iter().chain(&history.forged) {
        reference.receive(event.clone(), history.end_ms);
    }
    let expected = outcomes(&reference);
    if expected.accepted.len() != history.events.len() {
        return Err(format!(
            "reference accepted {} of {} events",
            expected.accepted.len(),
            history.events.len()
        ));
    }
    for forged in &history.forged {
        if !matches!(reference.status(&forged.id()), EventStatus::Rejected(_)) {
            return Err(format!("forged event {:?} not rejected", forged.id()));
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_5eed);
    let replicas = 2 + (seed % 9) as usize;
    for replica in 0..replicas {
        let room = replicate(&mut rng, &history, users, room_id)?;
        if room.outlier_count() != 0 {
            return Err(format!(
                "replica {replica} still holds {} outliers",
                room.outlier_count()
            ));
        }
        let got = outcomes(&room);
        if got != expected {
            return Err(format!(
                "replica {replica} diverged:\n got {got:?}\n expected {expected:?}"
            ));
        }
        let ids: BTreeSet<EventId> = history.forged.iter().map(Event::id).collect();
        if ids
            .iter()
            .any(|id| !matches!(room.status(id), EventStatus::Rejected(_)))
        {
            return Err(format!("replica {replica} did not reject a forged event"));
        }
    }
    Ok(())
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn replicas_converge() {
    let users = users();
    let seeds: Vec<u64> = match env_u64("CAUSERIE_SIM_SEED") {
        Some(seed) => vec![seed],
        None => (0..env_u64("CAUSERIE_SIM_SEEDS").unwrap_or(DEFAULT_SEEDS)).collect(),
    };
    let started = std::time::Instant::now();
    for seed in &seeds {
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_seed(*seed, &users)));
        match result {
            Ok(Ok(())) => {}
            Ok(Err(message)) => {
                panic!("seed {seed} failed (replay: CAUSERIE_SIM_SEED={seed}): {message}")
            }
            Err(_) => panic!("seed {seed} panicked (replay: CAUSERIE_SIM_SEED={seed})"),
        }
    }
    eprintln!("{} seeds converged in {:?}", seeds.len(), started.elapsed());
}

#[test]
fn histories_are_rich() {
    // The generator must produce what the simulation claims to cover.
    let users = users();
    let mut kinds_seen = BTreeSet::new();
    let mut soft_failed = 0;
    let mut banned_forks = 0;
    let mut forks = 0;
    let mut redacted = 0;
    for seed in 0..50 {
        let history = generate(seed, &users);
        let mut room = Room::new(history.events[0].room_id());
        for user in &users {
            room.add_attestation(user.attestation.clone())
                .expect("room for attestations");
        }
        for event in &history.events {
            let membership = if event.kind() == kinds::MEMBER {
                event
                    .content_str("membership")
                    .unwrap_or_default()
                    .to_owned()
            } else {
                String::new()
            };
            let by_other = event.kind() == kinds::MEMBER
                && event
                    .state_key()
                    .is_some_and(|k| k != user_state_key(event.author()));
            kinds_seen.insert(format!(
                "{}{}{}",
                event.kind(),
                if by_other { "/other/" } else { "/" },
                membership
            ));
            let receipt = room.receive(event.clone(), history.end_ms);
            if receipt
                .extremities
                .as_ref()
                .is_some_and(|tips| tips.len() > 1)
            {
                forks += 1;
            }
        }
        soft_failed += room.soft_failed_ids().len();
        banned_forks += room
            .soft_failed_ids()
            .iter()
            .filter_map(|id| room.event(id))
            .filter(|e| room.membership(e.author()) == Some(Membership::Ban))
            .count();
        redacted += room.timeline().iter().filter(|t| t.redacted).count();
    }
    for expected in [
        "room.message/",
        "room.topic/",
        "room.redaction/",
        "room.power_levels/",
        "room.content_rules/",
        "room.member/join",
        "room.member/leave",
        "room.member/other/ban",
        "room.member/other/leave",
    ] {
        assert!(
            kinds_seen.contains(expected),
            "never generated {expected}: {kinds_seen:?}"
        );
    }
    assert!(forks > 50, "too few forks: {forks}");
    assert!(soft_failed > 0, "no soft-failed events");
    assert!(banned_forks > 0, "no hidden fork by a banned user");
    assert!(redacted > 0, "no redacted events");
}
