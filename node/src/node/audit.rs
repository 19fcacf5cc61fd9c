//! [`Audit`]: this node's audit log (specs/accountability.md §4), kept in the store
//! (`causerie_storage::AuditStore`) and signed with the node key. Appends go straight to the
//! store on the blocking thread pool, one at a time (a lock orders them, and the store refuses
//! an out-of-order seq besides), never through the actor.
//!
//! Callers record what they did with [`Audit::append`]:
//!
//! ```ignore
//! let seq = node.audit().append(AuditKind::ReportReceived, report_id, details([
//!     ("category", "spam"),
//! ])).await?;
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use causerie_crypto::audit::{AuditEntry, AuditEntryDraft, AuditHead, AuditKind};
use causerie_crypto::{NodeKey, NodeSecret};
use causerie_storage::{AuditTip, StoreError};

use super::NodeError;
use super::handle::SharedStore;
use crate::clock::now_ms;

/// Details from name/value pairs (names `[a-z0-9_]`, at most
/// [`causerie_crypto::audit::MAX_DETAILS`]; checked when the entry is signed).
pub fn details<const N: usize>(pairs: [(&str, &str); N]) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Handle to the node's audit log. Cheap to clone; every clone shares one append lock. Every
/// method is cancel-safe (an append that started completes and stays durable).
#[derive(Clone)]
pub struct Audit {
    pub(super) store: SharedStore,
    pub(super) secret: Arc<NodeSecret>,
    append_lock: Arc<Mutex<()>>,
}

impl Audit {
    pub(super) fn new(store: SharedStore, secret: Arc<NodeSecret>) -> Self {
        Audit {
            store,
            secret,
            append_lock: Arc::default(),
        }
    }

    /// The key entries and heads are signed with.
    pub fn node_key(&self) -> NodeKey {
        self.secret.public()
    }

    /// Appends a signed entry chained to the last one, durably; returns its seq (1 for the
    /// first entry). `subject` names whom or what it is about (a user key, a report id; may be
    /// empty). Field limits are checked when signing ([`NodeError::Audit`]); a full log refuses
    /// with [`NodeError::Store`] (`audit_full`).
    pub async fn append(
        &self,
        kind: AuditKind,
        subject: impl Into<String>,
        details: BTreeMap<String, String>,
    ) -> Result<u64, NodeError> {
        let subject = subject.into();
        let (secret, lock) = (self.secret.clone(), self.append_lock.clone());
        let seq = self
            .store
            .run(move |store| {
                let _one_at_a_time = lock.lock().map_err(|_| StoreError::Poisoned)?;
                let tip = store.audit_tip()?;
                let seq = tip
                    .seq
                    .checked_add(1)
                    .ok_or(NodeError::Store(StoreError::AuditFull))?;
                let entry = AuditEntryDraft {
                    seq,
                    prev: tip.hash,
                    at_ms: now_ms(),
                    kind,
                    subject,
                    details,
                }
                .sign(&secret)?;
                store.audit_append(seq, entry.hash(), entry.as_bytes())?;
                Ok(seq)
            })
            .await?;
        tracing::info!(seq, kind = kind.name(), "audit entry appended");
        Ok(seq)
    }

    /// Entries after seq `after` (0: from the first), at most `limit` (clamped to
    /// `causerie_storage::MAX_AUDIT_PAGE`), each decoded and verified again as it is read.
    pub async fn entries(&self, after: u64, limit: usize) -> Result<Vec<AuditEntry>, NodeError> {
        self.store
            .run(move |store| {
                store
                    .audit_entries(after, limit)?
                    .into_iter()
                    .map(|(seq, bytes)| match AuditEntry::decode(&bytes) {
                        Ok(entry) if entry.seq() == seq => Ok(entry),
                        Ok(_) => Err(corrupt("seq differs from its key".into())),
                        Err(e) => Err(corrupt(e.reason().to_owned())),
                    })
                    .collect()
            })
            .await
    }

    /// Where the log ends.
    pub async fn tip(&self) -> Result<AuditTip, NodeError> {
        self.store.read(|store| store.audit_tip()).await
    }

    /// A head signed now, naming the log's last entry.
    pub async fn head(&self) -> Result<AuditHead, NodeError> {
        let tip = self.tip().await?;
        Ok(AuditHead::sign(&self.secret, tip.seq, tip.hash, now_ms())?)
    }
}

fn corrupt(detail: String) -> NodeError {
    NodeError::Store(StoreError::Corrupt {
        what: "audit entry",
        detail,
    })
}
