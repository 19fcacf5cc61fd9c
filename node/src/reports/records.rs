//! The stored forms of the report tables (`causerie_storage::ReportTable`), node-local and never
//! sent: canonical CBOR maps, fields in bytewise order of their names (specs/accountability.md
//! §1.5). The report and receipt bytes inside are verified again whenever a record is read.

use causerie_crypto::report::{Queue, Status};
use causerie_crypto::{NodeKey, Receipt, Report, codec};
use causerie_storage::{MAX_REPORT_VALUE_BYTES, StoreError};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// Version of every record here.
pub const REPORT_RECORD_VERSION: u8 = 1;

fn corrupt(what: &'static str, detail: &str) -> StoreError {
    StoreError::Corrupt {
        what,
        detail: detail.to_owned(),
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    codec::encode(value).map_err(StoreError::Encode)
}

fn decode<T: Serialize + serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
) -> Result<T, StoreError> {
    codec::decode_canonical(bytes, MAX_REPORT_VALUE_BYTES).map_err(|e| corrupt(what, e.reason()))
}

/// A node letter waiting for delivery (table `Outbox`, key: its id, u64 BE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxRecord {
    /// Failed attempts so far.
    pub attempts: u32,
    /// The signed letter.
    pub letter: ByteBuf,
    /// Not before this time (ms since the Unix epoch).
    pub next_ms: u64,
    /// When it was queued.
    pub queued_ms: u64,
    /// The addressed node.
    pub to: NodeKey,
    /// [`REPORT_RECORD_VERSION`].
    pub v: u8,
}

impl OutboxRecord {
    /// Canonical bytes.
    pub fn encode(&self) -> Result<Vec<u8>, StoreError> {
        encode(self)
    }
    /// From stored bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let record: Self = decode(bytes, "outbox record")?;
        if record.v != REPORT_RECORD_VERSION {
            return Err(corrupt("outbox record", "unknown version"));
        }
        Ok(record)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SentRecord {
    receipts: Vec<ByteBuf>,
    recipients: Vec<NodeKey>,
    report: ByteBuf,
    sent_ms: u64,
    v: u8,
}

/// A report one of this node's users made, with the receipts that came back (table `Sent`,
/// key: reporter ‖ report id).
#[derive(Debug, Clone)]
pub struct SentReport {
    /// The report.
    pub report: Report,
    /// When this node took it.
    pub sent_ms: u64,
    /// The nodes it was sent to.
    pub recipients: Vec<NodeKey>,
    /// The latest receipt of each (node, queue), in arrival order.
    pub receipts: Vec<Receipt>,
}

impl SentReport {
    /// Canonical bytes.
    pub fn encode(&self) -> Result<Vec<u8>, StoreError> {
        encode(&SentRecord {
            receipts: self
                .receipts
                .iter()
                .map(|r| ByteBuf::from(r.as_bytes().to_vec()))
                .collect(),
            recipients: self.recipients.clone(),
            report: ByteBuf::from(self.report.as_bytes().to_vec()),
            sent_ms: self.sent_ms,
            v: REPORT_RECORD_VERSION,
        })
    }

    /// From stored bytes; the report and receipts are verified again.
    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let record: SentRecord = decode(bytes, "sent report")?;
        if record.v != REPORT_RECORD_VERSION {
            return Err(corrupt("sent report", "unknown version"));
        }
        let report =
            Report::decode(&record.report).map_err(|e| corrupt("sent report", e.reason()))?;
        let receipts = record
            .receipts
            .iter()
            .map(|r| Receipt::decode(r).map_err(|e| corrupt("sent report receipt", e.reason())))
            .collect::<Result<_, _>>()?;
        Ok(SentReport {
            report,
            sent_ms: record.sent_ms,
            recipients: record.recipients,
            receipts,
        })
    }

    /// Where the report stands overall: `actioned` once any queue actioned it, `dismissed`
    /// once every receipt is a dismissal, `received` once any queue holds it, else `sent`.
    pub fn summary(&self) -> &'static str {
        let statuses: Vec<Status> = self.receipts.iter().map(Receipt::status).collect();
        if statuses.contains(&Status::Actioned) {
            "actioned"
        } else if !statuses.is_empty() && statuses.iter().all(|s| *s == Status::Dismissed) {
            "dismissed"
        } else if statuses.is_empty() {
            "sent"
        } else {
            "received"
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceivedRecord {
    from: NodeKey,
    operator: Option<String>,
    received_ms: u64,
    report: ByteBuf,
    review: Option<String>,
    v: u8,
}

/// A report delivered to this node, with the state of each of its queues that holds it (table
/// `Received`, key: report id).
#[derive(Debug, Clone)]
pub struct ReceivedReport {
    /// The report.
    pub report: Report,
    /// The node that delivered it (the reporter's home node).
    pub from: NodeKey,
    /// When it arrived.
    pub received_ms: u64,
    /// Its status in the room's review queue, if queued there.
    pub review: Option<Status>,
    /// Its status in the operator's queue, if queued there.
    pub operator: Option<Status>,
}

impl ReceivedReport {
    /// The status in `queue`, if the report is there.
    pub fn status(&self, queue: Queue) -> Option<Status> {
        match queue {
            Queue::Review => self.review,
            Queue::Operator => self.operator,
        }
    }

    /// Canonical bytes.
    pub fn encode(&self) -> Result<Vec<u8>, StoreError> {
        encode(&ReceivedRecord {
            from: self.from,
            operator: self.operator.map(|s| s.name().to_owned()),
            received_ms: self.received_ms,
            report: ByteBuf::from(self.report.as_bytes().to_vec()),
            review: self.review.map(|s| s.name().to_owned()),
            v: REPORT_RECORD_VERSION,
        })
    }

    /// From stored bytes; the report is verified again.
    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let record: ReceivedRecord = decode(bytes, "received report")?;
        if record.v != REPORT_RECORD_VERSION {
            return Err(corrupt("received report", "unknown version"));
        }
        let status = |s: &Option<String>| -> Result<Option<Status>, StoreError> {
            s.as_deref()
                .map(|s| Status::parse(s).map_err(|e| corrupt("received report", e.reason())))
                .transpose()
        };
        Ok(ReceivedReport {
            report: Report::decode(&record.report)
                .map_err(|e| corrupt("received report", e.reason()))?,
            from: record.from,
            received_ms: record.received_ms,
            review: status(&record.review)?,
            operator: status(&record.operator)?,
        })
    }
}

/// How one reporter's reports fared on this node, and whether its operator muted them for
/// reporting (table `Reporters`, key: the reporter's key).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReporterStanding {
    /// Queues that actioned their reports.
    pub actioned: u64,
    /// Queues that dismissed their reports.
    pub dismissed: u64,
    /// Whether this node refuses their reports.
    pub muted: bool,
    /// Reports this node took from or for them.
    pub reports: u64,
    /// [`REPORT_RECORD_VERSION`] (0 for a reporter never seen).
    pub v: u8,
}

impl ReporterStanding {
    /// Canonical bytes.
    pub fn encode(&self) -> Result<Vec<u8>, StoreError> {
        encode(&ReporterStanding {
            v: REPORT_RECORD_VERSION,
            ..*self
        })
    }
    /// From stored bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let record: Self = decode(bytes, "reporter standing")?;
        if record.v != REPORT_RECORD_VERSION {
            return Err(corrupt("reporter standing", "unknown version"));
        }
        Ok(record)
    }
}
