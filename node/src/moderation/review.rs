//! [`Review`]: the per-room review queues (specs/moderation.md §7, a node rule), kept in the
//! store's durable, bounded review tree (`causerie_storage::ReviewStore`). Queueing needs no
//! room engine, so it goes straight to the store (on the blocking thread pool), never through
//! the node actor.
//!
//! Each item is a [`ReviewEntry`], stored as the canonical CBOR of [`ReviewRecord`] (field
//! shapes in the spec, vectors in `specs/test-vectors/review.json`). The event inside is the
//! signed event as received; it is verified again whenever an item is read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, RwLock};

use causerie_crypto::event::{MAX_EVENT_BYTES, kinds};
use causerie_crypto::{Event, EventId, RoomId, UserKey, Value, codec};
use causerie_storage::{
    MAX_REVIEW_ITEM_BYTES, MAX_REVIEW_ITEMS_PER_ROOM, MAX_REVIEW_PAGE, ReviewId, ReviewStore,
    SnapshotId, StoreError,
};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use super::classifier::FailMode;
use crate::node::{NodeError, SharedStore};

/// Version of [`ReviewRecord`].
pub const REVIEW_RECORD_VERSION: u8 = 1;
/// The state kind whose `classifier` field names a room's fail mode.
pub const CONTENT_RULES_KIND: &str = causerie_crypto::event::kinds::CONTENT_RULES;
/// Rooms whose fail mode is remembered (forgotten all at once when full).
pub const FAIL_MODE_CACHE_LEN: usize = 4_096;
/// Most events this node hides (one per `hidden` item the queues can hold).
pub const MAX_HIDDEN: usize = causerie_storage::MAX_REVIEW_ITEMS;

/// What an item's event is to the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewState {
    /// A local submission the node held back: not in the room until a moderator approves it.
    Held,
    /// An accepted event, shown, that the classifier labelled.
    Flagged,
    /// An accepted event from a peer, stored by the room's rules but hidden on this node and
    /// not relayed until a moderator approves it.
    Hidden,
    /// An event a user reported (specs/accountability.md §1): shown; approving it dismisses
    /// the report, rejecting it actions the report (the moderator redacts the event).
    Reported,
}

impl ReviewState {
    /// Its name in records and in the API.
    pub fn name(self) -> &'static str {
        match self {
            ReviewState::Held => "held",
            ReviewState::Flagged => "flagged",
            ReviewState::Hidden => "hidden",
            ReviewState::Reported => "reported",
        }
    }

    fn parse(text: &str) -> Option<ReviewState> {
        match text {
            "held" => Some(ReviewState::Held),
            "flagged" => Some(ReviewState::Flagged),
            "hidden" => Some(ReviewState::Hidden),
            "reported" => Some(ReviewState::Reported),
            _ => None,
        }
    }
}

/// The stored form of an item (canonical CBOR: fields in bytewise order of their names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRecord {
    /// The signed event, encoded as received.
    pub event: ByteBuf,
    /// The classifier's labels (may be empty).
    pub labels: Vec<String>,
    /// When the node queued it (ms since the Unix epoch).
    pub queued_ms: u64,
    /// The classifier's reason, or the failure that made the fail mode decide.
    pub reason: Option<String>,
    /// `classifier`, or the fail mode that decided (`fail_closed`).
    pub ruled_by: String,
    /// `client`, `peer` or `peer:<peer id>`.
    pub source: String,
    /// `held`, `flagged` or `hidden`.
    pub state: String,
    /// [`REVIEW_RECORD_VERSION`].
    pub v: u8,
}

/// One item of a room's queue.
#[derive(Debug, Clone)]
pub struct ReviewEntry {
    /// What the event is to the room.
    pub state: ReviewState,
    /// The event.
    pub event: Event,
    /// Where it came from (`client`, `peer:<id>`).
    pub source: String,
    /// Who decided to queue it (`classifier`, `fail_closed`).
    pub ruled_by: String,
    /// Why.
    pub reason: Option<String>,
    /// The classifier's labels.
    pub labels: Vec<String>,
    /// When it was queued (ms since the Unix epoch).
    pub queued_ms: u64,
}

/// Why a stored item could not be read back.
fn corrupt(detail: &str) -> NodeError {
    NodeError::Store(StoreError::Corrupt {
        what: "review item",
        detail: detail.to_owned(),
    })
}

impl ReviewEntry {
    /// The record's canonical bytes.
    pub fn encode(&self) -> Result<Vec<u8>, NodeError> {
        let record = ReviewRecord {
            event: ByteBuf::from(self.event.as_bytes().to_vec()),
            labels: self.labels.clone(),
            queued_ms: self.queued_ms,
            reason: self.reason.clone(),
            ruled_by: self.ruled_by.clone(),
            source: self.source.clone(),
            state: self.state.name().to_owned(),
            v: REVIEW_RECORD_VERSION,
        };
        codec::encode(&record).map_err(|e| NodeError::Store(StoreError::Encode(e)))
    }

    /// Decodes a record and verifies its event again.
    pub fn decode(bytes: &[u8]) -> Result<ReviewEntry, NodeError> {
        let record: ReviewRecord = codec::decode_canonical(bytes, MAX_REVIEW_ITEM_BYTES)
            .map_err(|e| corrupt(e.reason()))?;
        if record.v != REVIEW_RECORD_VERSION {
            return Err(corrupt("unknown version"));
        }
        let state = ReviewState::parse(&record.state).ok_or_else(|| corrupt("unknown state"))?;
        if record.event.len() > MAX_EVENT_BYTES {
            return Err(corrupt("event too large"));
        }
        let event = Event::decode(&record.event).map_err(|e| corrupt(e.reason()))?;
        Ok(ReviewEntry {
            state,
            event,
            source: record.source,
            ruled_by: record.ruled_by,
            reason: record.reason,
            labels: record.labels,
            queued_ms: record.queued_ms,
        })
    }
}

/// Most queued-item notices waiting for the live streams (a stream that lags misses some; the
/// queue itself is the record).
pub const QUEUED_NOTICES_LEN: usize = 256;

/// An item just queued, as the moderators' live streams are told of it.
#[derive(Debug, Clone)]
pub struct Queued {
    /// The room.
    pub room: RoomId,
    /// The item.
    pub item: ReviewId,
    /// Its event.
    pub event: EventId,
    /// Its event's author.
    pub author: UserKey,
    /// What the event is to the room.
    pub state: ReviewState,
}

/// Handle to the review queues. Cheap to clone; every method is cancel-safe (a change that
/// started completes and stays durable).
#[derive(Clone)]
pub struct Review {
    store: SharedStore,
    fail_modes: Arc<Mutex<FailModeCache>>,
    /// Events from peers this node hides (reloaded from the queues' `hidden` items on start).
    hidden: Arc<RwLock<BTreeSet<EventId>>>,
    /// Items queued, for the moderators' live streams.
    queued: tokio::sync::broadcast::Sender<Queued>,
}

/// Each room's fail mode, with the state snapshot it was read from.
type FailModeCache = BTreeMap<RoomId, (SnapshotId, Option<FailMode>)>;

fn review_error(error: StoreError) -> NodeError {
    match error {
        StoreError::ReviewFull => NodeError::ReviewFull,
        other => NodeError::Store(other),
    }
}

impl Review {
    /// The queues in `store`.
    pub(crate) fn new(store: SharedStore) -> Self {
        Review {
            store,
            fail_modes: Arc::default(),
            hidden: Arc::default(),
            queued: tokio::sync::broadcast::channel(QUEUED_NOTICES_LEN).0,
        }
    }

    /// Follows the items queued from now on (moderator alerts on the live stream).
    pub fn subscribe_queued(&self) -> tokio::sync::broadcast::Receiver<Queued> {
        self.queued.subscribe()
    }

    /// Hides `event` on this node (at most [`MAX_HIDDEN`]; beyond, it stays shown and a
    /// warning is logged).
    pub fn hide(&self, event: EventId) {
        let mut hidden = self.hidden.write().unwrap_or_else(|e| e.into_inner());
        if hidden.len() >= MAX_HIDDEN {
            tracing::warn!(%event, "too many hidden events; this one stays shown");
            return;
        }
        hidden.insert(event);
    }

    /// Shows `event` again.
    pub fn unhide(&self, event: &EventId) {
        self.hidden
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(event);
    }

    /// Whether this node hides `event`.
    pub fn is_hidden(&self, event: &EventId) -> bool {
        self.hidden
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(event)
    }

    /// Hides again the events of every queued `hidden` item (a bounded walk of all queues);
    /// returns how many.
    pub async fn load_hidden(&self) -> Result<usize, NodeError> {
        let mut after = None;
        let mut count = 0;
        let pages = causerie_storage::MAX_REVIEW_ITEMS.div_ceil(causerie_storage::MAX_REVIEW_PAGE);
        for _ in 0..=pages {
            let page = self
                .store
                .run(move |store| {
                    store
                        .review_all(after, causerie_storage::MAX_REVIEW_PAGE)
                        .map_err(NodeError::Store)
                })
                .await?;
            let Some(last) = page.last() else { break };
            after = Some((last.room, last.id));
            for item in page {
                let entry = ReviewEntry::decode(&item.bytes)?;
                if entry.state == ReviewState::Hidden {
                    self.hide(entry.event.id());
                    count += 1;
                }
            }
        }
        Ok(count)
    }

    /// Queues `entry` in its event's room; durable when this returns. Refuses with
    /// [`NodeError::ReviewFull`] when the room's queue (or all queues) is full.
    pub async fn queue(&self, entry: &ReviewEntry) -> Result<ReviewId, NodeError> {
        let bytes = entry.encode()?;
        let room = entry.event.room_id();
        let id = self
            .store
            .run(move |store| store.review_push(&room, &bytes).map_err(review_error))
            .await?;
        tracing::info!(
            %room,
            item = id.0,
            event = %entry.event.id(),
            state = entry.state.name(),
            reason = entry.reason.as_deref().unwrap_or(""),
            "queued for review"
        );
        // No stream listening is fine.
        let _ = self.queued.send(Queued {
            room,
            item: id,
            event: entry.event.id(),
            author: *entry.event.author(),
            state: entry.state,
        });
        Ok(id)
    }

    /// `room`'s items, oldest first, strictly after `after`, at most `limit` (clamped to
    /// `causerie_storage::MAX_REVIEW_PAGE`). Each is decoded and verified again.
    pub async fn items(
        &self,
        room: RoomId,
        after: Option<ReviewId>,
        limit: usize,
    ) -> Result<Vec<(ReviewId, ReviewEntry)>, NodeError> {
        self.store
            .run(move |store| {
                let items = store
                    .review_items(&room, after, limit)
                    .map_err(NodeError::Store)?;
                items
                    .into_iter()
                    .map(|item| Ok((item.id, ReviewEntry::decode(&item.bytes)?)))
                    .collect()
            })
            .await
    }

    /// One item, if queued.
    pub async fn item(&self, room: RoomId, id: ReviewId) -> Result<Option<ReviewEntry>, NodeError> {
        self.store
            .run(
                move |store| match store.review_item(&room, id).map_err(NodeError::Store)? {
                    Some(item) => Ok(Some(ReviewEntry::decode(&item.bytes)?)),
                    None => Ok(None),
                },
            )
            .await
    }

    /// Removes an item once handled, durably; `false` if it was not queued.
    pub async fn remove(&self, room: RoomId, id: ReviewId) -> Result<bool, NodeError> {
        self.store
            .read(move |store| store.review_remove(&room, id))
            .await
    }

    /// How many items `room`'s queue holds.
    pub async fn count(&self, room: RoomId) -> Result<usize, NodeError> {
        self.store.read(move |store| store.review_len(&room)).await
    }

    /// The fail mode `room`'s current state names (`room.content_rules`, field `classifier`),
    /// if any. Remembered per state snapshot, so it costs one key read while the state stays.
    pub async fn room_fail_mode(&self, room: RoomId) -> Result<Option<FailMode>, NodeError> {
        let cache = self.fail_modes.clone();
        self.store
            .read(move |store| {
                let Some(snapshot_id) = store.current_state(&room)? else {
                    return Ok(None);
                };
                let cached = cache
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&room)
                    .copied();
                if let Some((known, mode)) = cached
                    && known == snapshot_id
                {
                    return Ok(mode);
                }
                let mode = match store.snapshot(&snapshot_id)? {
                    Some(snapshot) => {
                        match snapshot
                            .map()
                            .get(&(CONTENT_RULES_KIND.to_owned(), String::new()))
                        {
                            Some(id) => store.event(id)?.and_then(|stored| {
                                match stored.event.content().get("classifier") {
                                    Some(Value::Text(text)) => FailMode::parse(text),
                                    _ => None,
                                }
                            }),
                            None => None,
                        }
                    }
                    None => None,
                };
                let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
                if cache.len() >= FAIL_MODE_CACHE_LEN {
                    cache.clear();
                }
                cache.insert(room, (snapshot_id, mode));
                Ok(mode)
            })
            .await
    }
}

/// Removes from `room`'s queue every item whose event is in `events` (now shown redacted) or
/// whose author is in `users` (banned with `purge`): a moderator has nothing left to decide, and
/// the item's copy of the text must leave the store with the event's (specs/moderation.md §7.5).
/// Items that are not classifier items, or that do not decode, are left alone. Returns how many
/// were removed.
pub(crate) fn forget_moot<S: ReviewStore + ?Sized>(
    store: &S,
    room: &RoomId,
    events: &BTreeSet<EventId>,
    users: &BTreeSet<UserKey>,
) -> Result<usize, StoreError> {
    let mut removed = 0;
    let mut after = None;
    // Every item of the room is read once: at most one page per MAX_REVIEW_PAGE items.
    for _ in 0..=MAX_REVIEW_ITEMS_PER_ROOM.div_ceil(MAX_REVIEW_PAGE) {
        let page = store.review_items(room, after, MAX_REVIEW_PAGE)?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.id);
        for item in &page {
            let Ok(entry) = ReviewEntry::decode(&item.bytes) else {
                continue;
            };
            // A report keeps its evidence whatever happens to the event in the room.
            if entry.state == ReviewState::Reported {
                continue;
            }
            if (events.contains(&entry.event.id()) || users.contains(entry.event.author()))
                && store.review_remove(room, item.id)?
            {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Whether `kind` is one the classifier is asked about: messages and other non-state content
/// (state changes are moderators' and members' own acts, decided by the room's rules).
pub fn classified_kind(kind: &str, is_state: bool) -> bool {
    !is_state && kind != kinds::REDACTION
}
