//! Held events (outliers): events the engine cannot judge yet because a referenced event or the
//! author's attestation is missing (specs/rooms.md §8, "Held events").
//!
//! Holding costs memory and prompts fetches, and anyone can sign an event that names parents or
//! an attestation nobody has; so held events are bounded three ways. Each held event records its
//! [`Source`] (the peer that sent it, or the node itself), its author and when it was held:
//! - at most [`MAX_HELD_PER_SOURCE`] from one source and [`MAX_HELD_PER_AUTHOR`] by one author
//!   (beyond: refused for now);
//! - at most [`MAX_OUTLIERS`] per room: when full, an event from a source that holds fewer than
//!   the largest holder evicts that holder's oldest held event, so one source can never keep the
//!   others out;
//! - each is forgotten [`HELD_TTL_MS`] after it was held if it has not resolved.
//!
//! None of this changes a decision: a held event that is evicted, expires or is refused is not
//! recorded and is judged like any other when it is offered again. Only *when* an event is
//! decided depends on sources and time. Every index is ordered (B-trees), so which event is
//! evicted or expired depends on the inputs only.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use causerie_crypto::{AttestationId, Event, EventId};

use crate::content::UserBytes;
use crate::error::{RefuseReason, RejectReason};
use crate::limits::{
    HELD_TTL_MS, MAX_HELD_PER_AUTHOR, MAX_HELD_PER_SOURCE, MAX_OUTLIERS, MAX_SOURCE_BYTES,
};

/// Who offered an event: a peer, named by opaque bytes the caller chooses (the node uses the
/// peer id), or the node itself ([`Source::LOCAL`]: client submissions, events restored from
/// the store). The engine only compares sources; it never interprets them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Source {
    len: u8,
    bytes: [u8; MAX_SOURCE_BYTES],
}

impl Source {
    /// The node itself.
    pub const LOCAL: Source = Source {
        len: 0,
        bytes: [0; MAX_SOURCE_BYTES],
    };

    /// A peer named by `bytes` (1 to [`MAX_SOURCE_BYTES`] bytes); `None` otherwise.
    pub fn peer(bytes: &[u8]) -> Option<Source> {
        if bytes.is_empty() || bytes.len() > MAX_SOURCE_BYTES {
            return None;
        }
        let mut source = Source::LOCAL;
        source.len = bytes.len() as u8;
        source.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(source)
    }

    /// Whether this is the node itself.
    pub fn is_local(&self) -> bool {
        self.len == 0
    }

    /// The peer's bytes (empty for [`Source::LOCAL`]).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_local() {
            return f.write_str("Source(local)");
        }
        f.write_str("Source(")?;
        for byte in self.as_bytes() {
            write!(f, "{byte:02x}")?;
        }
        f.write_str(")")
    }
}

/// How a held event stopped being held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldEnd {
    /// What it waited for arrived and it was accepted.
    Accepted {
        /// Whether it was soft-failed when accepted.
        soft_failed: bool,
    },
    /// What it waited for arrived and it was rejected: its source sent an invalid event.
    Rejected(RejectReason),
    /// What it waited for arrived but it was refused for now (not recorded).
    Refused(RefuseReason),
    /// Unresolved [`HELD_TTL_MS`] after it was held; forgotten.
    Expired,
    /// Forgotten to make room for an event of a source that held fewer (the room's budget of
    /// [`MAX_OUTLIERS`] was full).
    Evicted,
}

impl HeldEnd {
    /// Stable name: `accepted`, `rejected`, `refused`, `expired` or `evicted`.
    pub fn reason(&self) -> &'static str {
        match self {
            HeldEnd::Accepted { .. } => "accepted",
            HeldEnd::Rejected(_) => "rejected",
            HeldEnd::Refused(_) => "refused",
            HeldEnd::Expired => "expired",
            HeldEnd::Evicted => "evicted",
        }
    }
}

/// A held event that stopped being held during a call, and who had offered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldEnded {
    /// The event (the node stores one that ended rejected: the engine keeps only its id).
    pub event: Event,
    /// Who offered it.
    pub source: Source,
    /// How it ended.
    pub end: HeldEnd,
}

/// Who offered a held event and when (the receiver's clock at the first hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) source: Source,
    pub(crate) held_at_ms: u64,
}

#[derive(Clone)]
pub(crate) struct Outlier {
    pub(crate) event: Event,
    pub(crate) missing_events: Vec<EventId>,
    pub(crate) missing_attestation: bool,
    pub(crate) origin: Origin,
}

/// Whether a new event may be held.
pub(crate) enum Admission {
    /// There is room.
    Admit,
    /// The budget is full: this held event makes room.
    Evict(EventId),
    /// Not now.
    Refuse(RefuseReason),
}

/// The held events of a room with their indexes.
#[derive(Clone, Default)]
pub(crate) struct Held {
    outliers: BTreeMap<EventId, Outlier>,
    waiting_on_event: BTreeMap<EventId, BTreeSet<EventId>>,
    waiting_on_attestation: BTreeMap<AttestationId, BTreeSet<EventId>>,
    /// Held events of each source, oldest first.
    by_source: BTreeMap<Source, BTreeSet<(u64, EventId)>>,
    by_author: BTreeMap<UserBytes, usize>,
    /// Every held event, oldest first (expiry).
    by_age: BTreeSet<(u64, EventId)>,
}

impl Held {
    pub(crate) fn len(&self) -> usize {
        self.outliers.len()
    }

    pub(crate) fn contains(&self, id: &EventId) -> bool {
        self.outliers.contains_key(id)
    }

    /// Held events from `source`.
    pub(crate) fn count_from(&self, source: &Source) -> usize {
        self.by_source.get(source).map_or(0, BTreeSet::len)
    }

    /// Whether a new event of `author` from `source` may be held (see the module docs).
    pub(crate) fn admission(&self, source: &Source, author: &UserBytes) -> Admission {
        let from_source = self.count_from(source);
        if from_source >= MAX_HELD_PER_SOURCE {
            return Admission::Refuse(RefuseReason::TooManyHeldFromSource);
        }
        if self.by_author.get(author).copied().unwrap_or(0) >= MAX_HELD_PER_AUTHOR {
            return Admission::Refuse(RefuseReason::TooManyHeldByAuthor);
        }
        if self.outliers.len() < MAX_OUTLIERS {
            return Admission::Admit;
        }
        // The largest holder (ties: the smallest source), if it holds more than the sender.
        let largest = self
            .by_source
            .iter()
            .max_by(|(a, x), (b, y)| x.len().cmp(&y.len()).then(b.cmp(a)));
        match largest {
            Some((_, events)) if events.len() > from_source => match events.first() {
                Some((_, oldest)) => Admission::Evict(*oldest),
                None => Admission::Refuse(RefuseReason::TooManyOutliers),
            },
            _ => Admission::Refuse(RefuseReason::TooManyOutliers),
        }
    }

    /// Holds `outlier` (its id must not be held).
    pub(crate) fn insert(&mut self, outlier: Outlier) {
        let id = outlier.event.id();
        for missing in &outlier.missing_events {
            self.waiting_on_event
                .entry(*missing)
                .or_default()
                .insert(id);
        }
        if outlier.missing_attestation {
            self.waiting_on_attestation
                .entry(*outlier.event.attestation())
                .or_default()
                .insert(id);
        }
        let age = (outlier.origin.held_at_ms, id);
        self.by_source
            .entry(outlier.origin.source)
            .or_default()
            .insert(age);
        *self
            .by_author
            .entry(*outlier.event.author().as_bytes())
            .or_default() += 1;
        self.by_age.insert(age);
        self.outliers.insert(id, outlier);
    }

    /// Stops holding `id`, removing it from every index.
    pub(crate) fn take(&mut self, id: &EventId) -> Option<Outlier> {
        let outlier = self.outliers.remove(id)?;
        for missing in &outlier.missing_events {
            remove_from(&mut self.waiting_on_event, missing, id);
        }
        if outlier.missing_attestation {
            remove_from(
                &mut self.waiting_on_attestation,
                outlier.event.attestation(),
                id,
            );
        }
        let age = (outlier.origin.held_at_ms, *id);
        remove_from(&mut self.by_source, &outlier.origin.source, &age);
        let author = *outlier.event.author().as_bytes();
        if let Some(count) = self.by_author.get_mut(&author) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.by_author.remove(&author);
            }
        }
        self.by_age.remove(&age);
        Some(outlier)
    }

    /// Takes every event waiting for the event `missing`, in id order.
    pub(crate) fn take_waiting_on_event(&mut self, missing: &EventId) -> Vec<Outlier> {
        let waiters = self.waiting_on_event.remove(missing).unwrap_or_default();
        waiters.iter().filter_map(|w| self.take(w)).collect()
    }

    /// Takes every event waiting for the attestation `id`, in id order.
    pub(crate) fn take_waiting_on_attestation(&mut self, id: &AttestationId) -> Vec<Outlier> {
        let waiters = self.waiting_on_attestation.remove(id).unwrap_or_default();
        waiters.iter().filter_map(|w| self.take(w)).collect()
    }

    /// Held events whose time is up at `now_ms`, oldest first.
    pub(crate) fn expired(&self, now_ms: u64) -> Vec<EventId> {
        self.by_age
            .iter()
            .take_while(|(held_at, _)| held_at.saturating_add(HELD_TTL_MS) <= now_ms)
            .map(|(_, id)| *id)
            .collect()
    }

    /// Referenced events the held events wait for, sorted.
    pub(crate) fn missing_events(&self) -> Vec<EventId> {
        self.waiting_on_event.keys().copied().collect()
    }

    /// Attestations the held events wait for, sorted.
    pub(crate) fn missing_attestations(&self) -> Vec<AttestationId> {
        self.waiting_on_attestation.keys().copied().collect()
    }

    /// What the held events of `source` wait for: events, then attestations, each sorted.
    pub(crate) fn needs_of(&self, source: &Source) -> (Vec<EventId>, Vec<AttestationId>) {
        let mut events = BTreeSet::new();
        let mut attestations = BTreeSet::new();
        for (_, id) in self.by_source.get(source).into_iter().flatten() {
            if let Some(outlier) = self.outliers.get(id) {
                events.extend(outlier.missing_events.iter().copied());
                if outlier.missing_attestation {
                    attestations.insert(*outlier.event.attestation());
                }
            }
        }
        (
            events.into_iter().collect(),
            attestations.into_iter().collect(),
        )
    }
}

/// Removes `value` from the set at `key`, and the set once empty.
fn remove_from<K: Ord, V: Ord>(map: &mut BTreeMap<K, BTreeSet<V>>, key: &K, value: &V) {
    if let Some(set) = map.get_mut(key) {
        set.remove(value);
        if set.is_empty() {
            map.remove(key);
        }
    }
}
