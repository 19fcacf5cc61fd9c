//! Abuse reports and their receipts (specs/accountability.md §1).
//!
//! A [`Report`] is signed by the reporter's user key, on the reporter's side (browser or key
//! file): it names what is reported (events, a user or a room), a category and free text, and
//! embeds the reported events' full signed bytes, so anyone can verify offline who wrote exactly
//! what, even after the events were redacted elsewhere.
//!
//! Report wire form: canonical CBOR map `{category, created_ms, events, reporter, reporter_node,
//! room?, signature, target, text, user?, v}`; signing input = `"causerie/v1/report\0"` ‖ the
//! map without `signature` (which is exactly the unsigned draft a node hands a client);
//! id = SHA-256(signing input ‖ signature).
//!
//! A [`Receipt`] is a node's signed statement about a report it holds: `received` when it is in
//! a queue, then `actioned` or `dismissed`. Wire form: canonical CBOR map `{at_ms, node, note?,
//! queue, report, reporter, signature, status, v}`; signing input =
//! `"causerie/v1/report-receipt\0"` ‖ the map without `signature`.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::codec;
use crate::error::CodecError;
use crate::event::{Event, MAX_EVENT_BYTES};
use crate::hash::{EventId, Hash32, RoomId};
use crate::keys::{NodeKey, NodeSecret, UserKey, UserSecret};
use crate::names::wire_names;
use crate::signed::{self, Order};
use crate::signing::{Domain, Signature};

/// Largest encoded report, in bytes (it travels inside a node letter, whose body is at most
/// 65,536 bytes).
pub const MAX_REPORT_BYTES: usize = 60_000;
/// Most events one report embeds.
pub const MAX_REPORT_EVENTS: usize = 16;
/// Longest free text, in bytes.
pub const MAX_REPORT_TEXT_BYTES: usize = 2_000;
/// Largest encoded receipt, in bytes.
pub const MAX_RECEIPT_BYTES: usize = 1_024;
/// Longest receipt note, in bytes.
pub const MAX_RECEIPT_NOTE_BYTES: usize = 500;
/// Version of both formats.
pub const REPORT_VERSION: u64 = 1;

signed::signed_format_error! {
    /// Why a report or a receipt was refused.
    pub enum ReportError {
        /// The category is not one of [`Category`].
        #[error("unknown category")]
        UnknownCategory => "unknown_category",
        /// The target is not `event`, `user` or `room`.
        #[error("unknown target")]
        UnknownTarget => "unknown_target",
        /// The fields do not fit the target (an event report without events, a user report
        /// without a user, a room report naming a user, events without a room).
        #[error("the fields do not fit the target")]
        BadTarget => "bad_report_target",
        /// The free text is over [`MAX_REPORT_TEXT_BYTES`].
        #[error("report text too long")]
        TextTooLong => "report_text_too_long",
        /// More than [`MAX_REPORT_EVENTS`] events.
        #[error("too many events")]
        TooManyEvents => "too_many_report_events",
        /// An embedded event does not decode or verify.
        #[error("embedded event refused: {0}")]
        BadEvidence(&'static str) => "bad_evidence",
        /// An embedded event is not in the report's room, not by its user, or given twice.
        #[error("embedded event does not match the report")]
        EvidenceMismatch => "evidence_mismatch",
        /// The encoded report is over [`MAX_REPORT_BYTES`].
        #[error("report too large")]
        TooLarge => "report_too_large",
        /// A receipt's status is not `received`, `actioned` or `dismissed`.
        #[error("unknown status")]
        UnknownStatus => "unknown_status",
        /// A receipt's queue is not `review` or `operator`.
        #[error("unknown queue")]
        UnknownQueue => "unknown_queue",
        /// A receipt's note is over [`MAX_RECEIPT_NOTE_BYTES`].
        #[error("receipt note too long")]
        NoteTooLong => "receipt_note_too_long",
    }
}

wire_names!(
    /// What kind of abuse is reported.
    Category, ReportError::UnknownCategory, {
        /// Unwanted bulk or commercial messages.
        Spam => "spam",
        /// Harassment or bullying.
        Harassment => "harassment",
        /// Threats of violence.
        Threats => "threats",
        /// Sexual content involving minors.
        Csam => "csam",
        /// Fraud.
        Scam => "scam",
        /// Other illegal content.
        Illegal => "illegal",
        /// Pretending to be someone else.
        Impersonation => "impersonation",
        /// Anything else (the text says what).
        Other => "other",
    }
);

wire_names!(
    /// What a report is about.
    Target, ReportError::UnknownTarget, {
        /// One or more events (embedded), all by one author.
        Event => "event",
        /// A user (events embedded as evidence, optional).
        User => "user",
        /// A room (events embedded as evidence, optional).
        Room => "room",
    }
);

wire_names!(
    /// Where a report is in a recipient's hands.
    Status, ReportError::UnknownStatus, {
        /// In a queue, not decided yet.
        Received => "received",
        /// A moderator or operator acted on it.
        Actioned => "actioned",
        /// Looked at and closed without action.
        Dismissed => "dismissed",
    }
);

wire_names!(
    /// Which queue of the recipient node holds a report.
    Queue, ReportError::UnknownQueue, {
        /// A room's review queue (the room's moderators homed on that node).
        Review => "review",
        /// The operator's report queue (the node is the reported user's home node).
        Operator => "operator",
    }
);

/// A report's id: SHA-256 of its signing input followed by its signature.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReportId(pub Hash32);

impl ReportId {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for ReportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "report:{:?}", self.0)
    }
}

impl fmt::Display for ReportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_hex())
    }
}

impl FromStr for ReportId {
    type Err = ReportError;
    /// 64 lowercase hex digits.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != 64 || text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ReportError::Codec(CodecError::Malformed(
                "report id".into(),
            )));
        }
        Hash32::from_hex(text)
            .map(ReportId)
            .ok_or_else(|| ReportError::Codec(CodecError::Malformed("report id".into())))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportWire {
    category: String,
    created_ms: u64,
    events: Vec<ByteBuf>,
    reporter: UserKey,
    reporter_node: NodeKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    room: Option<RoomId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<Signature>,
    target: String,
    text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<UserKey>,
    v: u64,
}

crate::signed_wire!(ReportWire, Domain::Report, reporter);

/// A report before the reporter signs it.
#[derive(Debug, Clone)]
pub struct ReportDraft {
    /// What is reported.
    pub target: Target,
    /// The kind of abuse.
    pub category: Category,
    /// The reporter's words (at most [`MAX_REPORT_TEXT_BYTES`]).
    pub text: String,
    /// The room the events are in, or the reported room.
    pub room: Option<RoomId>,
    /// The reported user (for `event`, the events' author).
    pub user: Option<UserKey>,
    /// The reported events, full signed form (at most [`MAX_REPORT_EVENTS`]).
    pub events: Vec<Event>,
    /// The reporter's key (who signs).
    pub reporter: UserKey,
    /// The reporter's home node: where receipts and status changes go.
    pub reporter_node: NodeKey,
    /// When the reporter made it (ms since the Unix epoch).
    pub created_ms: u64,
}

struct Checked {
    target: Target,
    category: Category,
    events: Vec<Event>,
}

impl Checked {
    /// The draft the checked wire map holds.
    fn into_draft(self, wire: ReportWire) -> ReportDraft {
        ReportDraft {
            target: self.target,
            category: self.category,
            text: wire.text,
            room: wire.room,
            user: wire.user,
            events: self.events,
            reporter: wire.reporter,
            reporter_node: wire.reporter_node,
            created_ms: wire.created_ms,
        }
    }
}

/// The field rules of a report (everything but the signature and the size).
fn check(wire: &ReportWire) -> Result<Checked, ReportError> {
    if wire.v != REPORT_VERSION {
        return Err(ReportError::UnsupportedVersion(wire.v));
    }
    let category = Category::parse(&wire.category)?;
    let target = Target::parse(&wire.target)?;
    if wire.text.len() > MAX_REPORT_TEXT_BYTES {
        return Err(ReportError::TextTooLong);
    }
    if wire.events.len() > MAX_REPORT_EVENTS {
        return Err(ReportError::TooManyEvents);
    }
    let fits = match target {
        Target::Event => !wire.events.is_empty() && wire.user.is_some() && wire.room.is_some(),
        Target::User => wire.user.is_some(),
        Target::Room => wire.user.is_none() && wire.room.is_some(),
    };
    if !fits || (!wire.events.is_empty() && wire.room.is_none()) {
        return Err(ReportError::BadTarget);
    }
    let mut events = Vec::with_capacity(wire.events.len());
    let mut seen: Vec<EventId> = Vec::with_capacity(wire.events.len());
    for bytes in &wire.events {
        if bytes.len() > MAX_EVENT_BYTES {
            return Err(ReportError::BadEvidence("event_too_large"));
        }
        let event = Event::decode(bytes).map_err(|e| ReportError::BadEvidence(e.reason()))?;
        let id = event.id();
        if Some(event.room_id()) != wire.room
            || wire.user.is_some_and(|user| &user != event.author())
            || seen.contains(&id)
        {
            return Err(ReportError::EvidenceMismatch);
        }
        seen.push(id);
        events.push(event);
    }
    Ok(Checked {
        target,
        category,
        events,
    })
}

impl ReportDraft {
    fn wire(&self) -> ReportWire {
        ReportWire {
            category: self.category.name().to_owned(),
            created_ms: self.created_ms,
            events: self
                .events
                .iter()
                .map(|e| ByteBuf::from(e.as_bytes().to_vec()))
                .collect(),
            reporter: self.reporter,
            reporter_node: self.reporter_node,
            room: self.room,
            signature: None,
            target: self.target.name().to_owned(),
            text: self.text.clone(),
            user: self.user,
            v: REPORT_VERSION,
        }
    }

    /// The unsigned report as a node hands it to a client: the canonical CBOR of the map
    /// without `signature`. Checks the field rules and the size.
    pub fn encode(&self) -> Result<Vec<u8>, ReportError> {
        let wire = self.wire();
        check(&wire)?;
        let bytes = codec::encode(&wire)?;
        // The signature adds a key and 64 bytes.
        if bytes.len() + 80 > MAX_REPORT_BYTES {
            return Err(ReportError::TooLarge);
        }
        Ok(bytes)
    }

    /// Reads an unsigned report made by [`ReportDraft::encode`] (a client checks what it is
    /// asked to sign this way): size cap, canonical form, field rules, embedded events.
    pub fn decode(bytes: &[u8]) -> Result<ReportDraft, ReportError> {
        let wire: ReportWire = codec::decode_canonical(bytes, MAX_REPORT_BYTES)?;
        if wire.signature.is_some() {
            return Err(ReportError::BadSignature);
        }
        let checked = check(&wire)?;
        Ok(checked.into_draft(wire))
    }

    /// The exact bytes the reporter signs: `"causerie/v1/report\0"` ‖ [`ReportDraft::encode`].
    pub fn signing_input(&self) -> Result<Vec<u8>, ReportError> {
        Ok(Domain::Report.signing_input(&self.encode()?))
    }

    /// Signs with the reporter's secret (whose public key must be `reporter`).
    pub fn sign(&self, secret: &UserSecret) -> Result<Report, ReportError> {
        let signature = secret.sign(Domain::Report, &self.encode()?);
        self.with_signature(signature)
    }

    /// Attaches a signature made elsewhere (the reporter's client) and runs the full verify path.
    pub fn with_signature(&self, signature: Signature) -> Result<Report, ReportError> {
        let mut wire = self.wire();
        wire.signature = Some(signature);
        Report::decode(&codec::encode(&wire)?)
    }
}

/// A verified report. Cheap to clone.
#[derive(Clone)]
pub struct Report(Arc<ReportInner>);

struct ReportInner {
    id: ReportId,
    draft: ReportDraft,
    signature: Signature,
    bytes: Vec<u8>,
}

impl Report {
    /// Size cap, canonical decode, version, field rules, every embedded event's own verify
    /// path, then `verify_strict` of the reporter's signature: the first failure is the reason.
    pub fn decode(bytes: &[u8]) -> Result<Report, ReportError> {
        if bytes.len() > MAX_REPORT_BYTES {
            return Err(ReportError::TooLarge);
        }
        let opened = signed::open(bytes, MAX_REPORT_BYTES, Order::CanonicalFirst, check)?;
        let id = ReportId(opened.id());
        Ok(Report(Arc::new(ReportInner {
            id,
            draft: opened.checked.into_draft(opened.wire),
            signature: opened.signature,
            bytes: bytes.to_vec(),
        })))
    }

    /// The report id.
    pub fn id(&self) -> ReportId {
        self.0.id
    }
    /// Its fields.
    pub fn fields(&self) -> &ReportDraft {
        &self.0.draft
    }
    /// What is reported.
    pub fn target(&self) -> Target {
        self.0.draft.target
    }
    /// The category.
    pub fn category(&self) -> Category {
        self.0.draft.category
    }
    /// The reporter's text.
    pub fn text(&self) -> &str {
        &self.0.draft.text
    }
    /// The room, if any.
    pub fn room(&self) -> Option<RoomId> {
        self.0.draft.room
    }
    /// The reported user, if any.
    pub fn user(&self) -> Option<&UserKey> {
        self.0.draft.user.as_ref()
    }
    /// The embedded events, verified.
    pub fn events(&self) -> &[Event] {
        &self.0.draft.events
    }
    /// The reporter.
    pub fn reporter(&self) -> &UserKey {
        &self.0.draft.reporter
    }
    /// The reporter's home node.
    pub fn reporter_node(&self) -> &NodeKey {
        &self.0.draft.reporter_node
    }
    /// When the reporter made it.
    pub fn created_ms(&self) -> u64 {
        self.0.draft.created_ms
    }
    /// The reporter's signature.
    pub fn signature(&self) -> &Signature {
        &self.0.signature
    }
    /// The canonical encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0.bytes
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Report")
            .field("id", &self.0.id)
            .field("target", &self.0.draft.target)
            .field("category", &self.0.draft.category)
            .field("reporter", &self.0.draft.reporter)
            .field("events", &self.0.draft.events.len())
            .finish()
    }
}

impl PartialEq for Report {
    fn eq(&self, other: &Self) -> bool {
        self.0.bytes == other.0.bytes
    }
}

impl Eq for Report {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiptWire {
    at_ms: u64,
    node: NodeKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    queue: String,
    report: ReportId,
    reporter: UserKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<Signature>,
    status: String,
    v: u64,
}

crate::signed_wire!(ReceiptWire, Domain::ReportReceipt, node);

/// A receipt before the node signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptDraft {
    /// The report.
    pub report: ReportId,
    /// The report's reporter (so the reporter's node can file the receipt).
    pub reporter: UserKey,
    /// Which queue holds the report.
    pub queue: Queue,
    /// Where the report stands.
    pub status: Status,
    /// Words for the reporter (at most [`MAX_RECEIPT_NOTE_BYTES`]).
    pub note: Option<String>,
    /// When the node decided (ms since the Unix epoch).
    pub at_ms: u64,
}

impl ReceiptDraft {
    /// Signs as `node`.
    pub fn sign(&self, node: &NodeSecret) -> Result<Receipt, ReportError> {
        let wire = ReceiptWire {
            at_ms: self.at_ms,
            node: node.public(),
            note: self.note.clone(),
            queue: self.queue.name().to_owned(),
            report: self.report,
            reporter: self.reporter,
            signature: None,
            status: self.status.name().to_owned(),
            v: REPORT_VERSION,
        };
        check_receipt(&wire)?;
        Receipt::decode(&signed::seal(wire, node)?)
    }
}

fn check_receipt(wire: &ReceiptWire) -> Result<(Queue, Status), ReportError> {
    if wire.v != REPORT_VERSION {
        return Err(ReportError::UnsupportedVersion(wire.v));
    }
    let queue = Queue::parse(&wire.queue)?;
    let status = Status::parse(&wire.status)?;
    if wire
        .note
        .as_ref()
        .is_some_and(|n| n.len() > MAX_RECEIPT_NOTE_BYTES)
    {
        return Err(ReportError::NoteTooLong);
    }
    Ok((queue, status))
}

/// A verified receipt: a node's signed word on where a report stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    draft: ReceiptDraft,
    node: NodeKey,
    bytes: Vec<u8>,
}

impl Receipt {
    /// Size cap, canonical decode, version, field rules, `verify_strict` of the node's signature.
    pub fn decode(bytes: &[u8]) -> Result<Receipt, ReportError> {
        let opened = signed::open(
            bytes,
            MAX_RECEIPT_BYTES,
            Order::CanonicalFirst,
            check_receipt,
        )?;
        let ((queue, status), wire) = (opened.checked, opened.wire);
        Ok(Receipt {
            draft: ReceiptDraft {
                report: wire.report,
                reporter: wire.reporter,
                queue,
                status,
                note: wire.note,
                at_ms: wire.at_ms,
            },
            node: wire.node,
            bytes: bytes.to_vec(),
        })
    }

    /// The signing node.
    pub fn node(&self) -> &NodeKey {
        &self.node
    }
    /// The report.
    pub fn report(&self) -> ReportId {
        self.draft.report
    }
    /// The reporter.
    pub fn reporter(&self) -> &UserKey {
        &self.draft.reporter
    }
    /// Which queue holds it.
    pub fn queue(&self) -> Queue {
        self.draft.queue
    }
    /// Where it stands.
    pub fn status(&self) -> Status {
        self.draft.status
    }
    /// The node's note.
    pub fn note(&self) -> Option<&str> {
        self.draft.note.as_deref()
    }
    /// When the node decided.
    pub fn at_ms(&self) -> u64 {
        self.draft.at_ms
    }
    /// The canonical encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}
