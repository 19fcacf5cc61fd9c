//! Attestation revocations on the node (specs/accountability.md §3): the statements it holds
//! (its own, signed by `causerie admin revoke`, and those learned from peers by gossip and by
//! pulls), kept durably in the store (`causerie_storage::RevocationStore`) and in memory as a
//! [`RevocationIndex`] that the node actor asks, for each event, whether its author's
//! attestation was revoked before the event's `origin_ts` (the pure rule is
//! `causerie_crypto::revocation::revoked_at`).
//!
//! A statement from anywhere is verified before anything changes; a refused one is counted by
//! its reason (`causerie_revocations_refused_total`) and changes nothing. Bounds: at most
//! [`MAX_REVOCATIONS_PER_ISSUER`] statements per issuing node and
//! [`MAX_REVOCATIONS_PER_SUBJECT`] per revoked user (`too_many_revocations`), and the store's
//! `MAX_REVOCATIONS` in all (`revocations_full`).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use causerie_crypto::revocation::{Revocation, RevocationError, revoked_at};
use causerie_crypto::{Attestation, NodeKey, UserKey};
use causerie_storage::{MAX_REVOCATION_PAGE, MAX_REVOCATIONS, Store, StoreError};

use crate::node::{NodeError, NodeMetrics, SharedStore};

/// Most statements one issuing node may have this node hold.
pub const MAX_REVOCATIONS_PER_ISSUER: usize = 4_096;
/// Most statements about one user key this node holds (from all issuers together).
pub const MAX_REVOCATIONS_PER_SUBJECT: usize = 64;

/// Why a statement was not taken.
#[derive(Debug, thiserror::Error)]
pub enum RevocationRefusal {
    /// It does not verify (its format's reason).
    #[error("invalid revocation: {}", .0.reason())]
    Invalid(#[from] RevocationError),
    /// Its issuer, or its subject, has as many statements held as allowed.
    #[error("too many revocations from this issuer or about this user")]
    TooMany,
    /// The store refused or failed (`revocations_full`, ...).
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl RevocationRefusal {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            RevocationRefusal::Invalid(e) => e.reason(),
            RevocationRefusal::TooMany => "too_many_revocations",
            RevocationRefusal::Store(e) => e.reason(),
        }
    }
}

/// What adding a statement did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// New here: stored durably and in force.
    New(Box<Revocation>),
    /// Already held.
    Known,
}

/// The statements in force, by revoked user, in memory. Rebuilt from the store at start.
#[derive(Debug, Default)]
pub struct RevocationIndex {
    by_subject: BTreeMap<UserKey, Vec<Revocation>>,
    per_issuer: BTreeMap<NodeKey, usize>,
    count: usize,
}

impl RevocationIndex {
    /// Reads every statement the store holds (each verified again; one that no longer verifies
    /// is logged and left out).
    pub fn load(store: &dyn Store) -> Result<RevocationIndex, StoreError> {
        let mut index = RevocationIndex::default();
        let mut after = 0;
        while index.count < MAX_REVOCATIONS {
            let page = store.revocations(after, MAX_REVOCATION_PAGE)?;
            let Some((last, _)) = page.last() else { break };
            after = *last;
            for (seq, bytes) in page {
                match Revocation::decode(&bytes) {
                    Ok(revocation) => index.insert(revocation),
                    Err(e) => tracing::error!(seq, reason = e.reason(), "stored revocation"),
                }
            }
        }
        Ok(index)
    }

    /// How many statements are in force.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn holds(&self, revocation: &Revocation) -> bool {
        self.by_subject
            .get(revocation.subject())
            .is_some_and(|held| held.iter().any(|r| r.id() == revocation.id()))
    }

    fn has_room_for(&self, revocation: &Revocation) -> bool {
        self.per_issuer
            .get(revocation.issuer())
            .is_none_or(|n| *n < MAX_REVOCATIONS_PER_ISSUER)
            && self
                .by_subject
                .get(revocation.subject())
                .is_none_or(|held| held.len() < MAX_REVOCATIONS_PER_SUBJECT)
    }

    fn insert(&mut self, revocation: Revocation) {
        if self.holds(&revocation) || !self.has_room_for(&revocation) {
            return;
        }
        *self.per_issuer.entry(*revocation.issuer()).or_default() += 1;
        self.by_subject
            .entry(*revocation.subject())
            .or_default()
            .push(revocation);
        self.count += 1;
    }

    /// From when `attestation` is revoked (the earliest statement covering it), if it is.
    pub fn revoked_at(&self, attestation: &Attestation) -> Option<u64> {
        revoked_at(self.by_subject.get(attestation.user())?, attestation)
    }

    /// The statements about `user`.
    pub fn of(&self, user: &UserKey) -> Vec<Revocation> {
        self.by_subject.get(user).cloned().unwrap_or_default()
    }
}

/// The index shared by the node actor (reads) and [`Revocations`] (writes).
pub type SharedIndex = Arc<RwLock<RevocationIndex>>;

/// Handle to the revocations this node holds. Cheap to clone; every method is cancel-safe (an
/// add that started completes and stays durable).
#[derive(Clone)]
pub struct Revocations {
    store: SharedStore,
    index: SharedIndex,
    metrics: Arc<NodeMetrics>,
}

impl Revocations {
    pub(crate) fn new(store: SharedStore, index: SharedIndex, metrics: Arc<NodeMetrics>) -> Self {
        Revocations {
            store,
            index,
            metrics,
        }
    }

    /// Verifies the statement `bytes` and, when it is new and within the bounds, stores it
    /// durably and puts it in force. A refusal is counted by its reason and changes nothing.
    pub async fn add(&self, bytes: Vec<u8>) -> Result<Added, RevocationRefusal> {
        let result = self.add_inner(bytes).await;
        if let Err(refusal) = &result {
            self.metrics.revocations_refused.increment(refusal.reason());
            tracing::debug!(reason = refusal.reason(), "revocation refused");
        }
        result
    }

    async fn add_inner(&self, bytes: Vec<u8>) -> Result<Added, RevocationRefusal> {
        let revocation = Revocation::decode(&bytes)?;
        {
            let index = self.index.read().unwrap_or_else(|e| e.into_inner());
            if index.holds(&revocation) {
                return Ok(Added::Known);
            }
            if !index.has_room_for(&revocation) {
                return Err(RevocationRefusal::TooMany);
            }
        }
        let (id, stored) = (revocation.id().0, bytes);
        let added = self
            .store
            .read(move |store| store.add_revocation(&id, &stored))
            .await
            .map_err(|e| match e {
                NodeError::Store(e) => RevocationRefusal::Store(e),
                _ => RevocationRefusal::Store(StoreError::Closed),
            })?;
        let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
        if added.is_none() && index.holds(&revocation) {
            return Ok(Added::Known);
        }
        index.insert(revocation.clone());
        tracing::info!(
            issuer = %revocation.issuer(),
            subject = %revocation.subject(),
            revoked_ms = revocation.revoked_ms(),
            reason = revocation.reason().name(),
            "attestation revocation in force"
        );
        Ok(Added::New(Box::new(revocation)))
    }

    /// From when `attestation` is revoked, if it is.
    pub fn revoked_at(&self, attestation: &Attestation) -> Option<u64> {
        self.index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .revoked_at(attestation)
    }

    /// The statements about `user` this node holds.
    pub fn of(&self, user: &UserKey) -> Vec<Revocation> {
        self.index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .of(user)
    }

    /// Statements in arrival order after `after` (a seq; 0 from the first), at most `limit`
    /// (clamped to `MAX_REVOCATION_PAGE`): what a peer pulls.
    pub async fn page(&self, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, NodeError> {
        self.store
            .read(move |store| store.revocations(after, limit))
            .await
    }
}
