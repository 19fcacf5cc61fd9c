//! Home-node registration records (specs/accountability.md §2): what this node keeps privately
//! about each user it attests, each field deleted when its retention runs out, and erased on the
//! user's request except what the operator must keep (§7).
//!
//! Layout:
//! - `retention`: the pure part: the policy, what has expired at a given time, what an erasure
//!   leaves, when each kept item expires. Time is an argument.
//! - `sweeper`: the task that applies `retention::sweep` to every record periodically and
//!   compacts the store afterwards, so expired data leaves the raw files too.
//! - this file: [`Records`], the handle (reached from [`Node::records`](crate::node::Node::records)):
//!   record a registration or a login, read a record, erase, sweep. It talks to the store
//!   directly on the blocking pool (records say nothing about rooms; the node actor is not
//!   involved).

pub mod retention;
pub mod sweeper;

use std::sync::{Arc, RwLock};

use causerie_crypto::{Attestation, EventId, RoomId, UserKey};
use causerie_storage::{
    Connection, ConnectionKind, Contact, MAX_ADDRESS_BYTES, MAX_CONTACT_BYTES, MAX_RECORD_PAGE,
    RegistrationRecord, StoredEvent,
};

use crate::node::{NodeError, SharedStore};
pub use retention::{Expiry, Field, FieldRetention, RetentionPolicy};

/// Most records one sweep visits (a sweep goes through every record a page at a time; this
/// bounds one sweep's work, the next sweep continues where it stopped).
pub const MAX_SWEEP_RECORDS: usize = 65_536;

/// Most authored events one [`Records::authored`] page returns.
pub const MAX_EXPORT_PAGE: usize = 500;
/// Most attestations of one user an export lists.
pub const MAX_EXPORT_ATTESTATIONS: usize = 64;

/// A page of the events a user wrote, as this node stores them.
#[derive(Debug, Clone)]
pub struct AuthoredPage {
    /// The events with their status, in (room, event id) order.
    pub events: Vec<StoredEvent>,
    /// Where the next page starts (`None`: this was the last).
    pub next: Option<(RoomId, EventId)>,
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Records visited.
    pub visited: usize,
    /// Items removed (connections, registration times, contacts; a record left empty counts
    /// once).
    pub removed: usize,
    /// Records deleted whole.
    pub deleted: usize,
}

/// What an erasure left of the record, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    /// Items deleted at once.
    pub removed: usize,
    /// The record left (`None`: nothing is kept).
    pub kept: Option<RegistrationRecord>,
    /// When each kept item is deleted.
    pub expiries: Vec<Expiry>,
}

/// Handle to the registration records. Cheap to clone; every method is cancel-safe (a write
/// that started completes and stays durable).
#[derive(Clone)]
pub struct Records {
    store: SharedStore,
    policy: Arc<RwLock<RetentionPolicy>>,
}

/// The text form of a client address kept in a record (`ip:port`, `[ip]:port`; the address
/// alone when a reverse proxy forwarded it without its port, which arrives as port 0).
pub fn address_text(address: std::net::SocketAddr) -> String {
    let text = if address.port() == 0 {
        address.ip().to_string()
    } else {
        address.to_string()
    };
    debug_assert!(text.len() <= MAX_ADDRESS_BYTES);
    text
}

/// Whether `value` may be kept as contact data (1 to [`MAX_CONTACT_BYTES`] bytes, no control
/// characters).
pub fn valid_contact(value: &str) -> bool {
    !value.is_empty() && value.len() <= MAX_CONTACT_BYTES && !value.chars().any(char::is_control)
}

impl Records {
    pub(crate) fn new(store: SharedStore, policy: Arc<RwLock<RetentionPolicy>>) -> Self {
        Records { store, policy }
    }

    /// The retention policy in force.
    pub fn policy(&self) -> RetentionPolicy {
        // A poisoned lock still holds a valid policy (it is replaced whole).
        *self.policy.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a registration: its time, its address and, when given, contact data; durable
    /// when this returns.
    pub async fn register(
        &self,
        user: UserKey,
        address: std::net::SocketAddr,
        contact: Option<String>,
        now_ms: u64,
    ) -> Result<RegistrationRecord, NodeError> {
        let address = address_text(address);
        self.update(user, move |current| {
            let mut record = current.unwrap_or_else(|| RegistrationRecord::empty(user));
            record.registered_ms = Some(now_ms);
            record.closed_ms = None;
            record.push_connection(Connection {
                address: address.clone(),
                at_ms: now_ms,
                kind: ConnectionKind::Register,
            });
            if let Some(value) = &contact {
                record.contact = Some(Contact {
                    set_ms: now_ms,
                    value: value.clone(),
                    verified: false,
                });
            }
            Some(record)
        })
        .await
        .map(|record| record.unwrap_or_else(|| RegistrationRecord::empty(user)))
    }

    /// Records a login from `address`; durable when this returns.
    pub async fn login(
        &self,
        user: UserKey,
        address: std::net::SocketAddr,
        now_ms: u64,
    ) -> Result<(), NodeError> {
        let address = address_text(address);
        self.update(user, move |current| {
            let mut record = current.unwrap_or_else(|| RegistrationRecord::empty(user));
            record.push_connection(Connection {
                address: address.clone(),
                at_ms: now_ms,
                kind: ConnectionKind::Login,
            });
            Some(record)
        })
        .await?;
        Ok(())
    }

    /// Records contact data the operator obtained (`value`, replacing what the record held;
    /// verified only if `verified` says so) and/or whether the operator verified it; durable
    /// when this returns. `None` when there is no contact data to mark (no `value` and none
    /// held).
    pub async fn set_contact(
        &self,
        user: UserKey,
        value: Option<String>,
        verified: Option<bool>,
        now_ms: u64,
    ) -> Result<Option<Contact>, NodeError> {
        let record = self
            .update(user, move |current| {
                let mut record = match (current, &value) {
                    (Some(record), _) => record,
                    (None, Some(_)) => RegistrationRecord::empty(user),
                    (None, None) => return None,
                };
                if let Some(value) = &value {
                    record.contact = Some(Contact {
                        set_ms: now_ms,
                        value: value.clone(),
                        verified: false,
                    });
                }
                if let (Some(contact), Some(verified)) = (&mut record.contact, verified) {
                    contact.verified = verified;
                }
                Some(record)
            })
            .await?;
        Ok(record.and_then(|r| r.contact))
    }

    /// The user's record, if any.
    pub async fn get(&self, user: UserKey) -> Result<Option<RegistrationRecord>, NodeError> {
        self.store.read(move |store| store.record(&user)).await
    }

    /// When each item of the user's record is deleted under the policy in force.
    pub fn expiries(&self, record: &RegistrationRecord) -> Vec<Expiry> {
        retention::expiries(record, &self.policy())
    }

    /// Erases the user's record at `now_ms` (specs/accountability.md §7.2): deletes what the
    /// policy does not keep after an erasure and starts the countdown of the rest.
    pub async fn erase(&self, user: UserKey, now_ms: u64) -> Result<Erasure, NodeError> {
        let policy = self.policy();
        let removed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = removed.clone();
        let kept = self
            .update(user, move |current| {
                let current = current?;
                let (left, removed) = retention::erase(&current, &policy, now_ms);
                counter.store(removed, std::sync::atomic::Ordering::Relaxed);
                left
            })
            .await?;
        let expiries = kept
            .as_ref()
            .map(|record| retention::expiries(record, &policy))
            .unwrap_or_default();
        Ok(Erasure {
            removed: removed.load(std::sync::atomic::Ordering::Relaxed),
            kept,
            expiries,
        })
    }

    /// Removes everything expired at `now_ms` from every record (at most
    /// [`MAX_SWEEP_RECORDS`] records).
    pub async fn sweep(&self, now_ms: u64) -> Result<SweepReport, NodeError> {
        let policy = self.policy();
        self.store
            .run(move |store| {
                let mut report = SweepReport::default();
                let mut after: Option<UserKey> = None;
                while report.visited < MAX_SWEEP_RECORDS {
                    let page = store.records(after.as_ref(), MAX_RECORD_PAGE)?;
                    let Some(last) = page.last() else { break };
                    after = Some(last.user);
                    for record in page {
                        report.visited += 1;
                        // Decided on the page's copy: skip the write when nothing expired.
                        if retention::sweep(&record, &policy, now_ms).1 == 0 {
                            continue;
                        }
                        let mut removed = 0;
                        let left = store.update_record(&record.user, &mut |current| {
                            let current = current?;
                            let (left, count) = retention::sweep(&current, &policy, now_ms);
                            removed = count;
                            left
                        })?;
                        report.removed += removed;
                        report.deleted += usize::from(left.is_none() && removed > 0);
                    }
                }
                Ok(report)
            })
            .await
    }

    /// The events `user` wrote that this node stores (in their stored form: redacted ones
    /// redacted), strictly after `after`, at most `limit` (clamped to [`MAX_EXPORT_PAGE`]).
    pub async fn authored(
        &self,
        user: UserKey,
        after: Option<(RoomId, EventId)>,
        limit: usize,
    ) -> Result<AuthoredPage, NodeError> {
        let limit = limit.clamp(1, MAX_EXPORT_PAGE);
        self.store
            .read(move |store| {
                let ids = store.events_by_author(&user, after, limit)?;
                let next = (ids.len() == limit).then(|| ids.last().copied()).flatten();
                let mut events = Vec::with_capacity(ids.len());
                for (_, id) in ids {
                    // The index and the records are written in one commit; a missing record
                    // would be a defect of the store, reported by its integrity check.
                    if let Some(stored) = store.event(&id)? {
                        events.push(stored);
                    }
                }
                Ok(AuthoredPage { events, next })
            })
            .await
    }

    /// The attestations of `user` this node holds (at most [`MAX_EXPORT_ATTESTATIONS`]).
    pub async fn attestations(&self, user: UserKey) -> Result<Vec<Attestation>, NodeError> {
        self.store
            .read(move |store| store.attestations_for(&user, None, MAX_EXPORT_ATTESTATIONS))
            .await
    }

    async fn update(
        &self,
        user: UserKey,
        change: impl FnMut(Option<RegistrationRecord>) -> Option<RegistrationRecord> + Send + 'static,
    ) -> Result<Option<RegistrationRecord>, NodeError> {
        let mut change = change;
        self.store
            .read(move |store| store.update_record(&user, &mut change))
            .await
    }
}
