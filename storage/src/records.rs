//! Registration records: what a home node keeps privately about each user it attests, to answer
//! for them (specs/accountability.md §2): when they registered, the address and time of each
//! registration and login, and the contact data the operator requires. Never gossiped, never
//! served to other nodes; deleted field by field as each field's retention runs out (the node's
//! sweeper decides what expired; this module only stores).
//!
//! One record per user, written whole. Every change goes through
//! [`RecordStore::update_record`], an atomic read-modify-write (a login recorded while the
//! sweeper deletes an expired one loses neither), and is durable before it returns. A record
//! holds at most [`MAX_CONNECTIONS`] connections: when full, the oldest is dropped to make room.
//!
//! Old versions of a rewritten record stay in sled's files until the store is compacted: the
//! node compacts after the sweeper or an erasure removed anything, so expired data leaves the
//! files too.
//!
//! sled layout: tree [`RECORDS_TREE`]; key `0x01 ‖ user key (32 bytes)` → the record in
//! canonical CBOR (at most [`MAX_RECORD_BYTES`], checked before decoding).

use std::collections::BTreeMap;

use causerie_crypto::{UserKey, codec};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::memory::lock;

/// Name of the sled tree holding registration records.
pub const RECORDS_TREE: &[u8] = b"causerie.records";
/// Most connections one record holds (the oldest is dropped beyond).
pub const MAX_CONNECTIONS: usize = 1_024;
/// Longest client address, in bytes (`[IPv6]:port` is at most 47).
pub const MAX_ADDRESS_BYTES: usize = 64;
/// Longest contact value (an email address is at most 254 bytes), in bytes.
pub const MAX_CONTACT_BYTES: usize = 254;
/// Largest encoded record, in bytes (checked before decoding).
pub const MAX_RECORD_BYTES: usize = 131_072;
/// Most records one [`RecordStore::records`] page returns.
pub const MAX_RECORD_PAGE: usize = 256;

mod prefix {
    pub(super) const BY_USER: u8 = 0x01;
}

/// How a connection was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    /// The registration itself.
    Register,
    /// A login (a new session).
    Login,
}

impl ConnectionKind {
    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            ConnectionKind::Register => "register",
            ConnectionKind::Login => "login",
        }
    }
}

/// One registration or login: from where and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// The client's address as the node saw it, `ip:port` (`[ip]:port` for IPv6): behind
    /// carrier-grade NAT the port is what tells users apart.
    pub address: String,
    /// When, ms since the Unix epoch.
    pub at_ms: u64,
    /// Registration or login.
    pub kind: ConnectionKind,
}

/// Contact data the operator requires (e.g. an email address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// When it was given, ms since the Unix epoch.
    pub set_ms: u64,
    /// The value (at most [`MAX_CONTACT_BYTES`], no control characters).
    pub value: String,
    /// Whether the operator verified it (set by the operator, never by the user).
    pub verified: bool,
}

/// What the home node keeps about one of its users. A field that is `None` (or an empty list)
/// was never given or has been deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRecord {
    /// When the user asked for erasure (ms since the Unix epoch): from then on the fields whose
    /// retention runs from the account's end count down.
    pub closed_ms: Option<u64>,
    /// Each registration and login, oldest first (at most [`MAX_CONNECTIONS`]).
    pub connections: Vec<Connection>,
    /// Contact data, if the operator required some.
    pub contact: Option<Contact>,
    /// When the user registered.
    pub registered_ms: Option<u64>,
    /// The user.
    pub user: UserKey,
}

impl RegistrationRecord {
    /// A record holding nothing yet.
    pub fn empty(user: UserKey) -> Self {
        RegistrationRecord {
            closed_ms: None,
            connections: Vec::new(),
            contact: None,
            registered_ms: None,
            user,
        }
    }

    /// Whether nothing is left in it but the user key (and the closing time): it is then
    /// deleted.
    pub fn holds_nothing(&self) -> bool {
        self.connections.is_empty() && self.contact.is_none() && self.registered_ms.is_none()
    }

    /// Adds a connection, dropping the oldest when [`MAX_CONNECTIONS`] are held; keeps them in
    /// time order.
    pub fn push_connection(&mut self, connection: Connection) {
        if self.connections.len() >= MAX_CONNECTIONS {
            self.connections.remove(0);
        }
        let at = self
            .connections
            .partition_point(|c| c.at_ms <= connection.at_ms);
        self.connections.insert(at, connection);
    }

    /// Checks the bounds a stored record must respect.
    pub fn check(&self) -> Result<(), StoreError> {
        let bad = |detail: &str| Err(StoreError::corrupt("registration record", detail));
        if self.connections.len() > MAX_CONNECTIONS {
            return bad("too many connections");
        }
        if self
            .connections
            .iter()
            .any(|c| c.address.len() > MAX_ADDRESS_BYTES)
        {
            return bad("address too long");
        }
        if self
            .contact
            .as_ref()
            .is_some_and(|c| c.value.len() > MAX_CONTACT_BYTES)
        {
            return bad("contact too long");
        }
        Ok(())
    }
}

/// Read and write access to registration records. Both backends implement it.
pub trait RecordStore {
    /// The record of `user`, if any.
    fn record(&self, user: &UserKey) -> Result<Option<RegistrationRecord>, StoreError>;
    /// Atomically replaces the record of `user` by `change(current)` (`None`: deleted) and makes
    /// it durable; returns the new record. `change` may run more than once (under contention)
    /// and must be a pure function of its argument. A record over the bounds
    /// ([`RegistrationRecord::check`], [`MAX_RECORD_BYTES`]) is refused and nothing changes.
    fn update_record(
        &self,
        user: &UserKey,
        change: &mut dyn FnMut(Option<RegistrationRecord>) -> Option<RegistrationRecord>,
    ) -> Result<Option<RegistrationRecord>, StoreError>;
    /// Records in user-key order strictly after `after`, at most `limit` (clamped to
    /// [`MAX_RECORD_PAGE`]).
    fn records(
        &self,
        after: Option<&UserKey>,
        limit: usize,
    ) -> Result<Vec<RegistrationRecord>, StoreError>;
}

fn user_key(user: &UserKey) -> [u8; 33] {
    let mut key = [prefix::BY_USER; 33];
    key[1..].copy_from_slice(user.as_bytes());
    key
}

fn decode_record(bytes: &[u8]) -> Result<RegistrationRecord, StoreError> {
    let record: RegistrationRecord = codec::decode(bytes, MAX_RECORD_BYTES)
        .map_err(|e| StoreError::corrupt("registration record", e.reason()))?;
    record.check()?;
    Ok(record)
}

fn encode_record(record: &RegistrationRecord) -> Result<Vec<u8>, StoreError> {
    record.check().map_err(|_| StoreError::RecordTooLarge)?;
    let bytes = codec::encode(record)?;
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(StoreError::RecordTooLarge);
    }
    Ok(bytes)
}

/// Applies `change` to the stored record of `user` once; the new value to store (`None`: delete).
fn next_value(
    user: &UserKey,
    current: Option<&[u8]>,
    change: &mut dyn FnMut(Option<RegistrationRecord>) -> Option<RegistrationRecord>,
) -> Result<Option<RegistrationRecord>, StoreError> {
    let current = current.map(decode_record).transpose()?;
    if current.as_ref().is_some_and(|r| r.user != *user) {
        return Err(StoreError::corrupt(
            "registration record",
            "key does not match record",
        ));
    }
    let next = change(current);
    if next.as_ref().is_some_and(|r| r.user != *user) {
        return Err(StoreError::corrupt(
            "registration record",
            "a change named another user",
        ));
    }
    Ok(next)
}

pub(crate) fn sled_record(
    tree: &sled::Tree,
    user: &UserKey,
) -> Result<Option<RegistrationRecord>, StoreError> {
    let Some(bytes) = tree.get(user_key(user))? else {
        return Ok(None);
    };
    let record = decode_record(&bytes)?;
    if record.user != *user {
        return Err(StoreError::corrupt(
            "registration record",
            "key does not match record",
        ));
    }
    Ok(Some(record))
}

pub(crate) fn sled_update(
    tree: &sled::Tree,
    user: &UserKey,
    change: &mut dyn FnMut(Option<RegistrationRecord>) -> Option<RegistrationRecord>,
) -> Result<Option<RegistrationRecord>, StoreError> {
    let key = user_key(user);
    loop {
        let current = tree.get(key)?;
        let next = next_value(user, current.as_deref(), change)?;
        let encoded = next.as_ref().map(encode_record).transpose()?;
        // Compare-and-swap: another writer in between makes this round start over.
        match tree.compare_and_swap(key, current, encoded)? {
            Ok(()) => return Ok(next),
            Err(_) => continue,
        }
    }
}

pub(crate) fn sled_records(
    tree: &sled::Tree,
    after: Option<&UserKey>,
    limit: usize,
) -> Result<Vec<RegistrationRecord>, StoreError> {
    let limit = limit.min(MAX_RECORD_PAGE);
    let mut out = Vec::with_capacity(limit);
    let range = match after {
        Some(user) => {
            let mut start = user_key(user).to_vec();
            // The first key after `user`'s own.
            start.push(0);
            tree.range(start..[prefix::BY_USER + 1].to_vec())
        }
        None => tree.range([prefix::BY_USER].to_vec()..[prefix::BY_USER + 1].to_vec()),
    };
    for entry in range.take(limit) {
        let (key, value) = entry?;
        let record = decode_record(&value)?;
        if key.get(1..) != Some(record.user.as_bytes().as_slice()) {
            return Err(StoreError::corrupt(
                "registration record",
                "key does not match record",
            ));
        }
        out.push(record);
    }
    Ok(out)
}

/// The in-memory side, held by [`crate::MemoryStore`].
#[derive(Debug, Default)]
pub(crate) struct RecordTables {
    by_user: BTreeMap<UserKey, RegistrationRecord>,
}

impl RecordStore for crate::MemoryStore {
    fn record(&self, user: &UserKey) -> Result<Option<RegistrationRecord>, StoreError> {
        let tables = lock(&self.records)?;
        Ok(tables.by_user.get(user).cloned())
    }

    fn update_record(
        &self,
        user: &UserKey,
        change: &mut dyn FnMut(Option<RegistrationRecord>) -> Option<RegistrationRecord>,
    ) -> Result<Option<RegistrationRecord>, StoreError> {
        let mut tables = lock(&self.records)?;
        let current = tables.by_user.get(user).cloned();
        let next = change(current);
        match &next {
            Some(record) => {
                if record.user != *user {
                    return Err(StoreError::corrupt(
                        "registration record",
                        "a change named another user",
                    ));
                }
                encode_record(record)?;
                tables.by_user.insert(*user, record.clone());
            }
            None => {
                tables.by_user.remove(user);
            }
        }
        Ok(next)
    }

    fn records(
        &self,
        after: Option<&UserKey>,
        limit: usize,
    ) -> Result<Vec<RegistrationRecord>, StoreError> {
        let tables = lock(&self.records)?;
        let from = match after {
            Some(user) => std::ops::Bound::Excluded(*user),
            None => std::ops::Bound::Unbounded,
        };
        Ok(tables
            .by_user
            .range((from, std::ops::Bound::Unbounded))
            .take(limit.min(MAX_RECORD_PAGE))
            .map(|(_, record)| record.clone())
            .collect())
    }
}

impl RecordStore for crate::SledStore {
    fn record(&self, user: &UserKey) -> Result<Option<RegistrationRecord>, StoreError> {
        self.with_tree(RECORDS_TREE, |tree| sled_record(tree, user))
    }

    fn update_record(
        &self,
        user: &UserKey,
        change: &mut dyn FnMut(Option<RegistrationRecord>) -> Option<RegistrationRecord>,
    ) -> Result<Option<RegistrationRecord>, StoreError> {
        // Flushed even when nothing changed: the returned record is the durable statement.
        self.write_tree(
            RECORDS_TREE,
            |tree| sled_update(tree, user, change),
            |_| true,
        )
    }

    fn records(
        &self,
        after: Option<&UserKey>,
        limit: usize,
    ) -> Result<Vec<RegistrationRecord>, StoreError> {
        self.with_tree(RECORDS_TREE, |tree| sled_records(tree, after, limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causerie_crypto::UserSecret;

    fn user(seed: u8) -> UserKey {
        UserSecret::from_seed(&[seed; 32]).public()
    }

    fn connection(at_ms: u64) -> Connection {
        Connection {
            address: format!("192.0.2.1:{}", 1000 + at_ms),
            at_ms,
            kind: ConnectionKind::Login,
        }
    }

    fn exercise(store: &dyn RecordStore) {
        let (a, b) = (user(1), user(2));
        assert_eq!(store.record(&a).unwrap(), None);
        let added = store
            .update_record(&a, &mut |current| {
                let mut record = current.unwrap_or_else(|| RegistrationRecord::empty(a));
                record.registered_ms = Some(5);
                record.push_connection(connection(5));
                Some(record)
            })
            .unwrap()
            .unwrap();
        assert_eq!(store.record(&a).unwrap(), Some(added.clone()));
        store
            .update_record(&b, &mut |_| Some(RegistrationRecord::empty(b)))
            .unwrap();
        let all = store.records(None, 10).unwrap();
        assert_eq!(all.len(), 2);
        let first = all[0].user;
        assert_eq!(store.records(Some(&first), 10).unwrap().len(), 1);
        // A change naming another user is refused.
        assert!(
            store
                .update_record(&a, &mut |_| Some(RegistrationRecord::empty(b)))
                .is_err()
        );
        // Over the size bound: refused, nothing changes.
        let huge = store.update_record(&a, &mut |current| {
            let mut record = current.expect("held");
            record.contact = Some(Contact {
                set_ms: 1,
                value: "x".repeat(MAX_CONTACT_BYTES + 1),
                verified: false,
            });
            Some(record)
        });
        assert!(matches!(huge, Err(StoreError::RecordTooLarge)));
        assert_eq!(store.record(&a).unwrap(), Some(added));
        store.update_record(&a, &mut |_| None).unwrap();
        assert_eq!(store.record(&a).unwrap(), None);
    }

    #[test]
    fn both_backends_keep_records_alike() {
        exercise(&crate::MemoryStore::new());
        exercise(&crate::SledStore::temporary().unwrap());
    }

    #[test]
    fn connections_stay_ordered_and_bounded() {
        let mut record = RegistrationRecord::empty(user(3));
        for at in (0..MAX_CONNECTIONS as u64 + 10).rev() {
            record.push_connection(connection(at));
        }
        assert_eq!(record.connections.len(), MAX_CONNECTIONS);
        assert!(
            record
                .connections
                .windows(2)
                .all(|w| w[0].at_ms <= w[1].at_ms)
        );
        // A full record of longest addresses still fits.
        for c in &mut record.connections {
            c.address = "a".repeat(MAX_ADDRESS_BYTES);
        }
        assert!(encode_record(&record).is_ok());
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        let tree = crate::SledStore::temporary().unwrap();
        let db = tree.backing().unwrap();
        let records = db.db.open_tree(RECORDS_TREE).unwrap();
        let u = user(4);
        records.insert(user_key(&u), &[0xff, 0x00][..]).unwrap();
        assert!(matches!(
            sled_record(&records, &u),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
