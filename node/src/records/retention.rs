//! What has expired in a registration record at a given time, and what an erasure leaves:
//! pure functions of the record, the retention policy and the time passed in
//! (specs/accountability.md §2.3, §7.2). The sweeper and the erasure path only apply them.

use causerie_storage::{Connection, RegistrationRecord};
use serde::Serialize;

/// One year, in milliseconds: the default retention of every field.
pub const ONE_YEAR_MS: u64 = 365 * 24 * 60 * 60 * 1_000;
/// Shortest retention a field may be given (1 s; tests use a few seconds).
pub const MIN_RETENTION_MS: u64 = 1_000;
/// Longest retention a field may be given (ten years).
pub const MAX_RETENTION_MS: u64 = 10 * ONE_YEAR_MS;

/// The fields of a registration record, by stable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// When the user registered.
    RegistrationTime,
    /// Address and time of each registration and login.
    Connections,
    /// Contact data the operator requires.
    Contact,
}

impl Field {
    /// Every field, in a fixed order.
    pub const ALL: [Field; 3] = [Field::RegistrationTime, Field::Connections, Field::Contact];

    /// Stable name (also the config table's name).
    pub fn name(self) -> &'static str {
        match self {
            Field::RegistrationTime => "registration_time",
            Field::Connections => "connections",
            Field::Contact => "contact",
        }
    }
}

/// How long one field is kept and whether an erasure keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FieldRetention {
    /// Retention in ms: for connections, from each connection's time; for the registration
    /// time and the contact data, from the account's end (the erasure), since the node must
    /// reach its user while the account lives.
    pub retention_ms: u64,
    /// Whether an erasure keeps the field until its retention ends (a legal duty to keep it);
    /// `false`: the erasure deletes it at once.
    pub keep_after_erasure: bool,
}

/// The retention of every field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetentionPolicy {
    /// See [`Field::RegistrationTime`]. Default one year after the erasure, kept by it.
    pub registration_time: FieldRetention,
    /// See [`Field::Connections`]. Default one year after each connection, kept by an erasure
    /// (connection data is what operators are most often required to keep).
    pub connections: FieldRetention,
    /// See [`Field::Contact`]. Default one year after the erasure, but deleted by it.
    pub contact: FieldRetention,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            registration_time: FieldRetention {
                retention_ms: ONE_YEAR_MS,
                keep_after_erasure: true,
            },
            connections: FieldRetention {
                retention_ms: ONE_YEAR_MS,
                keep_after_erasure: true,
            },
            contact: FieldRetention {
                retention_ms: ONE_YEAR_MS,
                keep_after_erasure: false,
            },
        }
    }
}

impl RetentionPolicy {
    /// The retention of `field`.
    pub fn of(&self, field: Field) -> FieldRetention {
        match field {
            Field::RegistrationTime => self.registration_time,
            Field::Connections => self.connections,
            Field::Contact => self.contact,
        }
    }

    /// The first field whose retention is outside [`MIN_RETENTION_MS`]..=[`MAX_RETENTION_MS`].
    pub fn invalid(&self) -> Option<Field> {
        Field::ALL.into_iter().find(|field| {
            !(MIN_RETENTION_MS..=MAX_RETENTION_MS).contains(&self.of(*field).retention_ms)
        })
    }
}

/// When a connection expires.
fn connection_expiry(connection: &Connection, policy: &RetentionPolicy) -> u64 {
    connection
        .at_ms
        .saturating_add(policy.connections.retention_ms)
}

/// When a field kept until the account's end expires: never while the account is open.
fn closure_expiry(record: &RegistrationRecord, retention: FieldRetention) -> Option<u64> {
    record
        .closed_ms
        .map(|closed| closed.saturating_add(retention.retention_ms))
}

/// The record left at `now_ms` once everything expired is removed (`None`: nothing is left,
/// the record is deleted), and how many items were removed (0: unchanged).
pub fn sweep(
    record: &RegistrationRecord,
    policy: &RetentionPolicy,
    now_ms: u64,
) -> (Option<RegistrationRecord>, usize) {
    let mut kept = record.clone();
    let mut removed = 0;
    kept.connections.retain(|connection| {
        let live = now_ms < connection_expiry(connection, policy);
        removed += usize::from(!live);
        live
    });
    let expired = |retention| closure_expiry(record, retention).is_some_and(|end| end <= now_ms);
    if kept.registered_ms.is_some() && expired(policy.registration_time) {
        kept.registered_ms = None;
        removed += 1;
    }
    if kept.contact.is_some() && expired(policy.contact) {
        kept.contact = None;
        removed += 1;
    }
    if kept.holds_nothing() {
        return (None, removed + usize::from(removed == 0));
    }
    (Some(kept), removed)
}

/// The record an erasure at `now_ms` leaves: closed at `now_ms` (a record closed earlier keeps
/// its first closing time), without the fields the policy does not keep after an erasure, then
/// swept. Returns it (`None`: deleted) and how many items were removed.
pub fn erase(
    record: &RegistrationRecord,
    policy: &RetentionPolicy,
    now_ms: u64,
) -> (Option<RegistrationRecord>, usize) {
    let mut closed = record.clone();
    closed.closed_ms = Some(record.closed_ms.unwrap_or(now_ms));
    let mut removed = 0;
    if !policy.registration_time.keep_after_erasure && closed.registered_ms.take().is_some() {
        removed += 1;
    }
    if !policy.connections.keep_after_erasure {
        removed += std::mem::take(&mut closed.connections).len();
    }
    if !policy.contact.keep_after_erasure && closed.contact.take().is_some() {
        removed += 1;
    }
    if closed.holds_nothing() {
        return (None, removed);
    }
    let (left, swept) = sweep(&closed, policy, now_ms);
    (left, removed + swept)
}

/// When a kept item is deleted, for showing the user and the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expiry {
    /// The field.
    pub field: Field,
    /// For connections, the connection's time; `None` for the other fields.
    pub at_ms: Option<u64>,
    /// When it is deleted (ms since the Unix epoch); `None`: kept while the account is open,
    /// then for the field's retention.
    pub expires_ms: Option<u64>,
}

/// When each item the record holds is deleted, field by field (connections oldest first).
pub fn expiries(record: &RegistrationRecord, policy: &RetentionPolicy) -> Vec<Expiry> {
    let mut out = Vec::with_capacity(record.connections.len() + 2);
    if record.registered_ms.is_some() {
        out.push(Expiry {
            field: Field::RegistrationTime,
            at_ms: None,
            expires_ms: closure_expiry(record, policy.registration_time),
        });
    }
    out.extend(record.connections.iter().map(|c| Expiry {
        field: Field::Connections,
        at_ms: Some(c.at_ms),
        expires_ms: Some(connection_expiry(c, policy)),
    }));
    if record.contact.is_some() {
        out.push(Expiry {
            field: Field::Contact,
            at_ms: None,
            expires_ms: closure_expiry(record, policy.contact),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use causerie_crypto::UserSecret;
    use causerie_storage::{ConnectionKind, Contact};

    fn policy(seconds: u64, keep: bool) -> RetentionPolicy {
        let field = FieldRetention {
            retention_ms: seconds * 1_000,
            keep_after_erasure: keep,
        };
        RetentionPolicy {
            registration_time: field,
            connections: field,
            contact: field,
        }
    }

    fn record() -> RegistrationRecord {
        let mut record = RegistrationRecord::empty(UserSecret::from_seed(&[1; 32]).public());
        record.registered_ms = Some(1_000);
        for (at, kind) in [
            (1_000, ConnectionKind::Register),
            (5_000, ConnectionKind::Login),
        ] {
            record.push_connection(Connection {
                address: format!("198.51.100.7:{at}"),
                at_ms: at,
                kind,
            });
        }
        record.contact = Some(Contact {
            set_ms: 1_000,
            value: "a@example.org".into(),
            verified: false,
        });
        record
    }

    #[test]
    fn connections_expire_one_by_one_and_account_data_waits_for_the_end() {
        let policy = policy(10, true);
        let record = record();
        // Before anything expires: unchanged.
        assert_eq!(sweep(&record, &policy, 10_999), (Some(record.clone()), 0));
        // The registration connection expires at 11 s, the login at 15 s (exclusive ends).
        let (left, removed) = sweep(&record, &policy, 11_000);
        let left = left.expect("kept");
        assert_eq!(removed, 1);
        assert_eq!(left.connections.len(), 1);
        assert_eq!(left.connections[0].at_ms, 5_000);
        let (left, removed) = sweep(&record, &policy, 1_000_000_000);
        let left = left.expect("account data stays while the account is open");
        assert_eq!(removed, 2);
        assert!(left.connections.is_empty());
        assert_eq!(left.registered_ms, Some(1_000));
        assert!(left.contact.is_some());
    }

    #[test]
    fn an_erasure_keeps_what_the_policy_keeps_until_it_expires() {
        let record = record();
        // Keep everything: closed at 6 s, registration time and contact until 16 s.
        let keep = policy(10, true);
        let (left, removed) = erase(&record, &keep, 6_000);
        let left = left.expect("kept");
        assert_eq!(removed, 0);
        assert_eq!(left.closed_ms, Some(6_000));
        let ends: Vec<Option<u64>> = expiries(&left, &keep)
            .iter()
            .map(|e| e.expires_ms)
            .collect();
        assert_eq!(
            ends,
            vec![Some(16_000), Some(11_000), Some(15_000), Some(16_000)]
        );
        assert_eq!(
            sweep(&left, &keep, 15_999).0.map(|r| r.connections.len()),
            Some(0)
        );
        // All gone at 16 s: the record itself is deleted.
        assert_eq!(sweep(&left, &keep, 16_000).0, None);
        // A second erasure keeps the first closing time.
        assert_eq!(
            erase(&left, &keep, 9_000).0.and_then(|r| r.closed_ms),
            Some(6_000)
        );
        // Keep nothing: the erasure deletes the whole record at once.
        let (left, removed) = erase(&record, &policy(10, false), 6_000);
        assert_eq!(left, None);
        assert_eq!(removed, 4);
    }

    #[test]
    fn defaults_keep_connection_data_a_year_and_delete_contact_on_erasure() {
        let defaults = RetentionPolicy::default();
        assert_eq!(defaults.invalid(), None);
        assert_eq!(defaults.connections.retention_ms, ONE_YEAR_MS);
        let (left, removed) = erase(&record(), &defaults, 6_000);
        let left = left.expect("kept");
        assert_eq!(removed, 1);
        assert!(left.contact.is_none());
        assert_eq!(left.connections.len(), 2);
        assert_eq!(policy(0, true).invalid(), Some(Field::RegistrationTime));
    }

    #[test]
    fn an_empty_record_is_deleted_by_a_sweep() {
        let empty = RegistrationRecord::empty(UserSecret::from_seed(&[2; 32]).public());
        assert_eq!(sweep(&empty, &RetentionPolicy::default(), 0), (None, 1));
    }
}
