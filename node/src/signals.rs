//! Ephemeral room signals (specs/signals.md): typing indicators and read markers. Neither
//! enters a room's DAG. This node signs the signals of the users it is home to
//! (`causerie_crypto::signal`), gossips them on the room's signal topic (`net/signals.rs`),
//! checks every signal a peer sends (§3), and tells the live streams (§6).
//!
//! Layout:
//! - [`typing`]: who is typing where, a pure state machine with the time passed in.
//! - this file: [`Signals`], the node's handle: the typing table, the per-user rate limit, the
//!   read markers (durable through `causerie_storage::ReadMarkerStore`), the checks on
//!   receipt with their counted reasons, and the broadcast the live streams follow.
//!
//! Bounds: the typing table's ([`typing::MAX_TYPING_ROOMS`], [`typing::MAX_TYPISTS_PER_ROOM`]),
//! the signal size (`MAX_SIGNAL_BYTES`), [`SIGNAL_RATE`] per user and room (keys bounded by
//! `MAX_RATE_LIMIT_KEYS`), [`SIGNAL_QUEUE_LEN`] signals queued for the streams (a stream that
//! lags ends with `lagged`), [`MAX_SIGNAL_VALIDATIONS`] peers' signals checked at once.

pub mod typing;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use causerie_crypto::signal::{Signal, SignalDraft, SignalError, SignalKind};
use causerie_crypto::{Attestation, EventId, NodeKey, NodeSecret, RoomId, UserKey};
use causerie_storage::{ReadMarker, StoreError};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, RateLimiter};
use thiserror::Error;
use tokio::sync::broadcast;

use crate::counters::ReasonCounts;
use crate::node::{Node, NodeError, SharedStore};
use crate::rate_limits::{MAX_RATE_LIMIT_KEYS, Rate};
use causerie_room::Membership;
use typing::{TYPING_TTL_MS, TypingFull, TypingTable};

/// How long a read signal means anything after it was issued, in ms.
pub const READ_SIGNAL_TTL_MS: u64 = 30_000;
/// How far ahead of this node's clock a signal's `issued_ms` may be, in ms.
pub const MAX_SIGNAL_SKEW_MS: u64 = 30_000;
/// Signals of one user in one room, from a client or from peers: a burst of 10, then one a
/// second (a typing client refreshes every 4 s; read markers move as messages arrive).
pub const SIGNAL_RATE: Rate = Rate {
    burst: 10,
    per_minute: 60,
};
/// Signals waiting for the live streams.
pub const SIGNAL_QUEUE_LEN: usize = 1_024;
/// Peers' signals checked at once; beyond, they are ignored (a signal is worth nothing late).
pub const MAX_SIGNAL_VALIDATIONS: usize = 64;
/// How often typing states are checked for expiry, in ms.
pub const EXPIRY_TICK_MS: u64 = 500;

/// What the live streams are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalEvent {
    /// The users typing in a room changed: the full current list, with handles.
    Typing {
        /// The room.
        room: RoomId,
        /// Who types now, in user key order.
        users: Vec<(UserKey, Option<String>)>,
    },
    /// A user read a room up to an event (boxed: a user key is large beside a list).
    Read(Box<ReadMoved>),
}

/// A member's read marker moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadMoved {
    /// The room.
    pub room: RoomId,
    /// Who.
    pub user: UserKey,
    /// The last event read.
    pub event: EventId,
}

/// Why a signal was not taken. Each variant has a stable reason name, counted in
/// `causerie_signals_refused_total`.
#[derive(Debug, Error)]
pub enum SignalRefusal {
    /// The bytes are not a valid signal (specs/signals.md §2).
    #[error(transparent)]
    Invalid(#[from] SignalError),
    /// This node's own signal, relayed back.
    #[error("this node's own signal")]
    Own,
    /// Its `expires_ms` has passed.
    #[error("expired")]
    Expired,
    /// Issued more than [`MAX_SIGNAL_SKEW_MS`] ahead of this node's clock.
    #[error("issued in the future")]
    FromFuture,
    /// This node lacks the attestation named.
    #[error("unknown attestation")]
    UnknownAttestation,
    /// The attestation named is another user's.
    #[error("the attestation is another user's")]
    WrongUser,
    /// Gossiped on another room's topic.
    #[error("the signal is for another room than its topic's")]
    WrongRoom,
    /// The signer is not the home node of the attestation named.
    #[error("signed by a node that is not the user's home node")]
    WrongHome,
    /// The attestation is not valid now.
    #[error("the attestation is not valid now")]
    AttestationExpired,
    /// The attestation is revoked.
    #[error("the attestation is revoked")]
    Revoked,
    /// This node does not hold the room.
    #[error("unknown room")]
    UnknownRoom,
    /// The user is not joined to the room.
    #[error("the user is not joined to the room")]
    NotMember,
    /// Over [`SIGNAL_RATE`]; retry after the time given.
    #[error("rate limited")]
    RateLimited {
        /// Wait before retrying, in ms.
        retry_after_ms: u64,
    },
    /// The typing table is full.
    #[error(transparent)]
    TypingFull(#[from] TypingFull),
    /// The node could not answer (stopped, store failure).
    #[error(transparent)]
    Node(#[from] NodeError),
}

impl SignalRefusal {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            SignalRefusal::Invalid(e) => e.reason(),
            SignalRefusal::Own => "own_signal",
            SignalRefusal::Expired => "expired",
            SignalRefusal::FromFuture => "from_future",
            SignalRefusal::UnknownAttestation => "unknown_attestation",
            SignalRefusal::WrongUser => "wrong_user",
            SignalRefusal::WrongRoom => "wrong_room",
            SignalRefusal::WrongHome => "wrong_home",
            SignalRefusal::AttestationExpired => "attestation_expired",
            SignalRefusal::Revoked => "revoked",
            SignalRefusal::UnknownRoom => "unknown_room",
            SignalRefusal::NotMember => "not_member",
            SignalRefusal::RateLimited { .. } => "rate_limited",
            SignalRefusal::TypingFull(e) => e.reason(),
            SignalRefusal::Node(e) => e.reason(),
        }
    }

    /// Whether the sending peer misbehaved (the gossip verdict is Reject): the signal can only
    /// come from a node that forges or mangles. The others an honest relay may pass on (a late
    /// signal, a member who just left, an attestation this node has not fetched yet).
    pub fn is_misbehaviour(&self) -> bool {
        matches!(
            self,
            SignalRefusal::Invalid(_)
                | SignalRefusal::WrongRoom
                | SignalRefusal::WrongUser
                | SignalRefusal::WrongHome
        )
    }
}

impl From<StoreError> for SignalRefusal {
    fn from(error: StoreError) -> Self {
        SignalRefusal::Node(NodeError::Store(error))
    }
}

/// Counters (rendered by `/metrics`).
#[derive(Debug, Default)]
pub struct SignalMetrics {
    /// Signals of peers taken.
    pub accepted: AtomicU64,
    /// Signals this node signed for its users.
    pub signed: AtomicU64,
    /// Signals refused (peers' and clients'), by reason.
    pub refused: ReasonCounts,
}

/// The node's signals. Cheap to clone.
#[derive(Clone)]
pub struct Signals {
    secret: Arc<NodeSecret>,
    store: SharedStore,
    typing: Arc<Mutex<TypingTable>>,
    rate: Arc<DefaultKeyedRateLimiter<([u8; 32], RoomId)>>,
    clock: DefaultClock,
    events: broadcast::Sender<SignalEvent>,
    metrics: Arc<SignalMetrics>,
    validations: Arc<tokio::sync::Semaphore>,
}

impl Signals {
    pub(crate) fn new(secret: Arc<NodeSecret>, store: SharedStore) -> Self {
        Signals {
            secret,
            store,
            typing: Arc::default(),
            rate: Arc::new(RateLimiter::keyed(SIGNAL_RATE.quota())),
            clock: DefaultClock::default(),
            events: broadcast::channel(SIGNAL_QUEUE_LEN).0,
            metrics: Arc::default(),
            validations: Arc::new(tokio::sync::Semaphore::new(MAX_SIGNAL_VALIDATIONS)),
        }
    }

    /// The counters.
    pub fn metrics(&self) -> &SignalMetrics {
        &self.metrics
    }

    /// What the live streams follow.
    pub fn subscribe(&self) -> broadcast::Receiver<SignalEvent> {
        self.events.subscribe()
    }

    /// The permits for checking peers' signals ([`MAX_SIGNAL_VALIDATIONS`]).
    pub(crate) fn validations(&self) -> Arc<tokio::sync::Semaphore> {
        self.validations.clone()
    }

    fn node_key(&self) -> NodeKey {
        self.secret.public()
    }

    fn typing(&self) -> std::sync::MutexGuard<'_, TypingTable> {
        // A panic while holding the lock leaves a plain map behind; keep serving.
        self.typing.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn refuse(&self, refusal: SignalRefusal) -> SignalRefusal {
        self.metrics.refused.increment(refusal.reason());
        refusal
    }

    /// Takes a token from the bucket of `user` in `room`.
    fn within_rate(&self, user: &UserKey, room: RoomId) -> Result<(), SignalRefusal> {
        if self.rate.len() > MAX_RATE_LIMIT_KEYS {
            self.rate.retain_recent();
        }
        self.rate
            .check_key(&(*user.as_bytes(), room))
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(self.clock.now());
                SignalRefusal::RateLimited {
                    retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
                }
            })
    }

    fn tell_typists(&self, room: RoomId) {
        let users = self.typing().typists(&room);
        // No stream listening is fine.
        let _ = self.events.send(SignalEvent::Typing { room, users });
    }

    /// The users typing in `room` now.
    pub fn typists(&self, room: &RoomId) -> Vec<(UserKey, Option<String>)> {
        self.typing().typists(room)
    }

    /// Ends the typing states whose time is up and tells the streams of each room that changed.
    pub fn expire(&self, now_ms: u64) {
        let changed = self.typing().expire(now_ms);
        for room in changed {
            self.tell_typists(room);
        }
    }

    fn sign(&self, draft: &SignalDraft) -> Result<Signal, SignalRefusal> {
        let signal = draft.sign(&self.secret)?;
        self.metrics.signed.fetch_add(1, Ordering::Relaxed);
        Ok(signal)
    }

    /// A local user (joined to `room`, checked by the caller) types or stops. Returns the
    /// signal to gossip, signed by this node when it is the home of `attestation`, else `None`
    /// (the state is shown on this node only: specs/signals.md §3 lets only the home node
    /// vouch for a user).
    pub fn local_typing(
        &self,
        room: RoomId,
        attestation: &Attestation,
        typing: bool,
        now_ms: u64,
    ) -> Result<Option<Signal>, SignalRefusal> {
        let user = *attestation.user();
        self.within_rate(&user, room).map_err(|r| self.refuse(r))?;
        let until = typing.then(|| now_ms + TYPING_TTL_MS);
        let handle = Some(attestation.handle().to_owned());
        let changed = self
            .typing()
            .set(room, user, until, handle, now_ms)
            .map_err(|r| self.refuse(r.into()))?;
        if changed {
            self.tell_typists(room);
        }
        if attestation.home_node() != &self.node_key() {
            return Ok(None);
        }
        let draft = SignalDraft {
            room,
            user,
            attestation: attestation.id(),
            kind: if typing {
                SignalKind::Typing
            } else {
                SignalKind::TypingEnd
            },
            event: None,
            issued_ms: now_ms,
            expires_ms: now_ms + TYPING_TTL_MS,
        };
        self.sign(&draft).map(Some)
    }

    /// A local user read `room` up to `marker` (an event of the room, checked by the caller).
    /// Moves the user's durable marker if it is ahead of the one held; returns whether it
    /// moved, and the signal to gossip (as [`Signals::local_typing`]).
    pub async fn local_read(
        &self,
        room: RoomId,
        attestation: &Attestation,
        marker: ReadMarker,
        now_ms: u64,
    ) -> Result<(bool, Option<Signal>), SignalRefusal> {
        let user = *attestation.user();
        self.within_rate(&user, room).map_err(|r| self.refuse(r))?;
        let moved = self
            .store
            .read(move |store| store.advance_read_marker(&user, &room, marker))
            .await?;
        if !moved {
            return Ok((false, None));
        }
        let _ = self.events.send(SignalEvent::Read(Box::new(ReadMoved {
            room,
            user,
            event: marker.event,
        })));
        if attestation.home_node() != &self.node_key() {
            return Ok((true, None));
        }
        let draft = SignalDraft {
            room,
            user,
            attestation: attestation.id(),
            kind: SignalKind::Read,
            event: Some(marker.event),
            issued_ms: now_ms,
            expires_ms: now_ms + READ_SIGNAL_TTL_MS,
        };
        Ok((true, Some(self.sign(&draft)?)))
    }

    /// The read marker of `user` in `room`, if any.
    pub async fn read_marker(
        &self,
        user: UserKey,
        room: RoomId,
    ) -> Result<Option<ReadMarker>, NodeError> {
        self.store
            .read(move |store| store.read_marker(&user, &room))
            .await
    }

    /// Every read marker of `user` (GDPR export).
    pub async fn read_markers_of(
        &self,
        user: UserKey,
    ) -> Result<Vec<(RoomId, ReadMarker)>, NodeError> {
        self.store
            .read(move |store| store.read_markers_of(&user))
            .await
    }

    /// Forgets every read marker of `user` (GDPR erasure); how many there were.
    pub async fn erase_read_markers(&self, user: UserKey) -> Result<usize, NodeError> {
        self.store
            .read(move |store| store.erase_read_markers(&user))
            .await
    }

    /// Checks a peer's signal gossiped on `topic`'s signal topic (specs/signals.md §3, in that
    /// order) and, when it passes, applies it: typing states change, read markers go to the
    /// streams. Every refusal is counted by reason.
    pub async fn receive(
        &self,
        node: &Node,
        topic: RoomId,
        bytes: &[u8],
        now_ms: u64,
    ) -> Result<Signal, SignalRefusal> {
        let checked = match Signal::decode(bytes) {
            Ok(signal) => self.check(node, topic, signal, now_ms).await,
            Err(error) => Err(error.into()),
        };
        match checked {
            Ok(signal) => {
                self.metrics.accepted.fetch_add(1, Ordering::Relaxed);
                Ok(signal)
            }
            Err(refusal) => Err(self.refuse(refusal)),
        }
    }

    /// The checks after decoding, in the order of specs/signals.md §3, then the signal's effect.
    async fn check(
        &self,
        node: &Node,
        topic: RoomId,
        signal: Signal,
        now_ms: u64,
    ) -> Result<Signal, SignalRefusal> {
        if signal.room() != topic {
            return Err(SignalRefusal::WrongRoom);
        }
        if signal.node() == &self.node_key() {
            return Err(SignalRefusal::Own);
        }
        if now_ms >= signal.expires_ms() {
            return Err(SignalRefusal::Expired);
        }
        if signal.issued_ms() > now_ms.saturating_add(MAX_SIGNAL_SKEW_MS) {
            return Err(SignalRefusal::FromFuture);
        }
        let attestation = node
            .accounts()
            .attestation(signal.attestation())
            .await?
            .ok_or(SignalRefusal::UnknownAttestation)?;
        if attestation.user() != signal.user() {
            return Err(SignalRefusal::WrongUser);
        }
        if attestation.home_node() != signal.node() {
            return Err(SignalRefusal::WrongHome);
        }
        if !attestation.is_valid_at(now_ms) {
            return Err(SignalRefusal::AttestationExpired);
        }
        if node
            .revocations()
            .revoked_at(&attestation)
            .is_some_and(|at| at <= now_ms)
        {
            return Err(SignalRefusal::Revoked);
        }
        let room = signal.room();
        let view = node
            .room_view(room, Some(*signal.user()))
            .await?
            .ok_or(SignalRefusal::UnknownRoom)?;
        if view.membership != Some(Membership::Join) {
            return Err(SignalRefusal::NotMember);
        }
        self.within_rate(signal.user(), room)?;
        match signal.kind() {
            SignalKind::Typing | SignalKind::TypingEnd => {
                let until = (signal.kind() == SignalKind::Typing).then_some(signal.expires_ms());
                let handle = Some(attestation.handle().to_owned());
                if self
                    .typing()
                    .set(room, *signal.user(), until, handle, now_ms)?
                {
                    self.tell_typists(room);
                }
            }
            SignalKind::Read => {
                if let Some(event) = signal.event() {
                    let _ = self.events.send(SignalEvent::Read(Box::new(ReadMoved {
                        room,
                        user: *signal.user(),
                        event,
                    })));
                }
            }
        }
        Ok(signal)
    }
}

/// Ticks typing expiry every [`EXPIRY_TICK_MS`] until `shutdown`. Cancel-safe.
pub async fn expire_typing(signals: Signals, shutdown: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(EXPIRY_TICK_MS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return,
            _ = tick.tick() => signals.expire(crate::clock::now_ms()),
        }
    }
}
