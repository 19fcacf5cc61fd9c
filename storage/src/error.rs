//! Typed storage errors. Every variant has a stable reason name (`reason()`) for logs and metrics.
//!
//! Two families: the outside world failed (`backend`, `io`, `corrupt_record`, schema checks), or
//! the caller built an inconsistent [`crate::WriteBatch`] (a reference to an event or snapshot
//! that is neither stored nor written in the same commit, an out-of-range value). A commit that
//! fails for either reason has written nothing.

use causerie_crypto::EventId;
use causerie_crypto::error::{CodecError, EventError};
use thiserror::Error;

use crate::state::SnapshotId;

/// Why a storage operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The sled database reported an error.
    #[error("database error: {0}")]
    Backend(#[from] sled::Error),
    /// A filesystem operation failed.
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
    /// The database was written by another schema version. The text names both versions and
    /// what to do.
    #[error("{}", schema_text(*found, *expected))]
    SchemaMismatch {
        /// Version recorded in the database.
        found: u32,
        /// Version this build reads and writes.
        expected: u32,
    },
    /// The database holds data but no schema version: not a Causerie store.
    #[error("database holds data but no schema version")]
    MissingSchema,
    /// A stored value does not decode or does not match its key.
    #[error("corrupt {what}: {detail}")]
    Corrupt {
        /// Which kind of record.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A write referenced an event that is neither stored nor written in the same commit.
    #[error("event {0} is not stored")]
    EventNotFound(EventId),
    /// A write referenced a state snapshot that is neither stored nor written in the same commit.
    #[error("state snapshot {0} is not stored")]
    SnapshotNotFound(SnapshotId),
    /// A room was given more forward extremities than [`crate::MAX_EXTREMITIES`].
    #[error("{count} forward extremities exceed the limit of {max}")]
    TooManyExtremities {
        /// Number given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A rejection reason that is not a reason name (`[a-z0-9_]`, 1 to
    /// [`crate::MAX_REASON_BYTES`] bytes).
    #[error("bad rejection reason")]
    BadReason,
    /// An outlier status with no missing parent, or with more than [`crate::MAX_MISSING_PARENTS`].
    #[error("outlier status must list 1 to {max} missing events, got {count}")]
    BadMissingList {
        /// Number given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A state map larger than [`crate::MAX_STATE_ENTRIES`] or [`crate::MAX_SNAPSHOT_BYTES`].
    #[error("state snapshot too large")]
    SnapshotTooLarge,
    /// Encoding a value failed (a programmer error, reported rather than panicking).
    #[error("encoding failed: {0}")]
    Encode(#[from] CodecError),
    /// A thread panicked while holding the store's lock.
    #[error("store lock poisoned")]
    Poisoned,
    /// Another user's account holds the handle.
    #[error("handle taken")]
    HandleTaken,
    /// A compaction failed after closing the database and could not reopen it: the store
    /// answers nothing until the node restarts (its files are recovered on open).
    #[error("store closed by a failed compaction")]
    Closed,
    /// The store's path has no parent directory to build a compaction beside it.
    #[error("store path {0:?} cannot be compacted (no parent directory)")]
    CompactPath(std::path::PathBuf),
    /// The inbox holds [`crate::MAX_INBOX_ITEMS`] items already.
    #[error("inbox full")]
    InboxFull,
    /// An inbox item over [`crate::MAX_INBOX_ITEM_BYTES`].
    #[error("inbox item of {size} bytes exceeds {max}")]
    InboxItemTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The room's review queue holds [`crate::MAX_REVIEW_ITEMS_PER_ROOM`] items, or all queues
    /// [`crate::MAX_REVIEW_ITEMS`].
    #[error("review queue full")]
    ReviewFull,
    /// A report table holds as many entries as it may.
    #[error("report table full")]
    ReportsFull,
    /// A report table key or value over its limit.
    #[error("report table entry of {size} bytes exceeds {max}")]
    ReportValueTooLarge {
        /// Size given.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A review item over [`crate::MAX_REVIEW_ITEM_BYTES`].
    #[error("review item of {size} bytes exceeds {max}")]
    ReviewItemTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// An audit append whose seq is not the log's last plus one.
    #[error("audit entry {found} where {expected} was expected")]
    AuditConflict {
        /// The seq the log expects.
        expected: u64,
        /// The seq given.
        found: u64,
    },
    /// The audit log holds [`crate::MAX_AUDIT_ENTRIES`] entries.
    #[error("audit log full")]
    AuditFull,
    /// An audit entry over [`crate::audit::MAX_AUDIT_ENTRY_BYTES`].
    #[error("audit entry of {size} bytes exceeds {max}")]
    AuditEntryTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A registration record over its bounds (`crate::records::MAX_RECORD_BYTES` and the field
    /// limits).
    #[error("registration record over its bounds")]
    RecordTooLarge,
    /// The revocation table holds [`crate::revocations::MAX_REVOCATIONS`] statements.
    #[error("revocation table full")]
    RevocationsFull,
    /// Concurrent adds kept taking the seq a revocation add picked, more often than the add
    /// tries again.
    #[error("revocation seq contended")]
    RevocationsBusy,
    /// A revocation statement over [`crate::revocations::MAX_STORED_REVOCATION_BYTES`].
    #[error("revocation of {size} bytes exceeds {max}")]
    RevocationTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The alias table holds [`crate::aliases::MAX_ALIASES`] aliases.
    #[error("alias table full")]
    AliasesFull,
    /// An alias over [`crate::aliases::MAX_STORED_ALIAS_BYTES`] or empty.
    #[error("alias of {size} bytes is empty or exceeds {max}")]
    AliasTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The user or the node holds as many read markers as it may.
    #[error("read markers full")]
    ReadMarkersFull,
}

/// What a schema mismatch means for the operator: which versions, and what to do.
fn schema_text(found: u32, expected: u32) -> String {
    let advice = if found > expected {
        "this store was written by a newer causerie; run that version or restore a backup"
    } else {
        "this store was written by an older causerie that this version cannot read; run that version or restore a backup"
    };
    format!("store schema version {found} found, {expected} expected: {advice}")
}

impl StoreError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            StoreError::Backend(_) => "backend_error",
            StoreError::Io(_) => "io_error",
            StoreError::SchemaMismatch { .. } => "schema_mismatch",
            StoreError::MissingSchema => "missing_schema",
            StoreError::Corrupt { .. } => "corrupt_record",
            StoreError::EventNotFound(_) => "event_not_found",
            StoreError::SnapshotNotFound(_) => "snapshot_not_found",
            StoreError::TooManyExtremities { .. } => "too_many_extremities",
            StoreError::BadReason => "bad_rejection_reason",
            StoreError::BadMissingList { .. } => "bad_missing_list",
            StoreError::SnapshotTooLarge => "snapshot_too_large",
            StoreError::Encode(_) => "encode_failed",
            StoreError::Poisoned => "lock_poisoned",
            StoreError::HandleTaken => "handle_taken",
            StoreError::Closed => "store_closed",
            StoreError::CompactPath(_) => "compact_path",
            StoreError::InboxFull => "inbox_full",
            StoreError::InboxItemTooLarge { .. } => "inbox_item_too_large",
            StoreError::ReviewFull => "review_full",
            StoreError::ReportsFull => "reports_full",
            StoreError::ReportValueTooLarge { .. } => "report_entry_too_large",
            StoreError::ReviewItemTooLarge { .. } => "review_item_too_large",
            StoreError::AuditConflict { .. } => "audit_conflict",
            StoreError::AuditFull => "audit_full",
            StoreError::AuditEntryTooLarge { .. } => "audit_entry_too_large",
            StoreError::RecordTooLarge => "record_too_large",
            StoreError::RevocationsFull => "revocations_full",
            StoreError::RevocationsBusy => "revocations_busy",
            StoreError::RevocationTooLarge { .. } => "too_large",
            StoreError::AliasesFull => "aliases_full",
            StoreError::AliasTooLarge { .. } => "alias_too_large",
            StoreError::ReadMarkersFull => "read_markers_full",
        }
    }

    /// A corrupt-record error.
    pub(crate) fn corrupt(what: &'static str, detail: impl Into<String>) -> Self {
        StoreError::Corrupt {
            what,
            detail: detail.into(),
        }
    }

    /// A stored event whose bytes no longer pass the envelope checks.
    pub(crate) fn corrupt_event(error: &EventError) -> Self {
        StoreError::corrupt("event", error.reason())
    }
}
