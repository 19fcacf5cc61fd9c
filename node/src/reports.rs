//! Abuse reports on a node (specs/accountability.md §1): the reporter's side (prepare a report
//! for the user's key to sign, take it, route it, follow its receipts) and the recipient's side
//! (the room's review queue for the moderators homed here, the operator's durable report queue
//! when this node attests the reported user, receipts and status changes back to the reporter).
//!
//! Reports and receipts travel as node letters (`crate::letter`, kinds [`LETTER_REPORT`] and
//! [`LETTER_RECEIPT`]) through a durable outbox (`causerie_storage::ReportTable::Outbox`):
//! a letter stays there until the addressed node answers `delivered` (it is then durable in that
//! node's inbox), retried with a doubling backoff from [`RETRY_MIN`] to [`RETRY_MAX`] and at once
//! when the node connects again. Letters arriving in this node's inbox are handled by the same
//! task (`delivery`), so a report durably delivered is never lost to a crash.
//!
//! Layout: `records` (the stored forms), `delivery` (the task: outbox and inbox).

mod delivery;
pub mod records;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use causerie_crypto::audit::AuditKind;
use causerie_crypto::directory::truncate_to;
use causerie_crypto::report::{
    Category, Queue, ReceiptDraft, ReportDraft, ReportError, Status, Target,
};
use causerie_crypto::{EventId, NodeKey, NodeSecret, Report, ReportId, RoomId, UserKey};
use causerie_room::Membership;
use causerie_storage::{ReportTable, StoreError};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::counters::ReasonCounts;
use crate::letter::NodeLetter;
use crate::moderation::review::{ReviewEntry, ReviewState};
use crate::net::NetHandle;
use crate::node::{MAX_USERS_LOOKUP, Node, NodeError, SharedStore};
pub use records::{ReceivedReport, ReporterStanding, SentReport};

/// Letter kind of a report (body: the report's bytes).
pub const LETTER_REPORT: &str = "report";
/// Letter kind of a receipt (body: the receipt's bytes).
pub const LETTER_RECEIPT: &str = "report_receipt";
/// Reports one reporter may make at once.
pub const REPORT_BURST: u32 = 10;
/// Reports one reporter may make per hour, sustained.
pub const REPORTS_PER_HOUR: u32 = 30;
/// First retry delay of an undelivered letter; doubles on each failure.
pub const RETRY_MIN: Duration = Duration::from_millis(250);
/// Longest retry delay.
pub const RETRY_MAX: Duration = Duration::from_secs(5);
/// How long a letter is retried before it is given up (logged and counted).
pub const MAX_LETTER_AGE_MS: u64 = 7 * 24 * 60 * 60 * 1_000;
/// Letters being delivered at once.
pub const MAX_LETTERS_IN_FLIGHT: usize = 16;
/// How long one delivery attempt may take.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the task looks at the outbox and the connected peers when nothing wakes it.
pub const DELIVERY_TICK: Duration = Duration::from_millis(250);
/// How often reports still open in a review queue are checked for redacted events.
pub const REDACTION_CHECK_INTERVAL: Duration = Duration::from_secs(2);
/// Nodes one report is sent to.
pub const MAX_RECIPIENTS: usize = 32;
/// Receipts kept per sent report (one per node and queue).
pub const MAX_RECEIPTS_PER_REPORT: usize = 2 * MAX_RECIPIENTS;
/// Longest review reason made from a report (category and text).
pub const MAX_REVIEW_REASON_BYTES: usize = 512;

/// Why a report operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportsError {
    /// The report does not decode or verify.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// The report is signed by another key than the session's.
    #[error("the report is not signed by your key")]
    NotYourReport,
    /// The report names another home node than this one.
    #[error("the report names another node as the reporter's home node")]
    WrongReporterNode,
    /// This node's operator muted the reporter for reporting.
    #[error("your reports are refused on this node")]
    Muted,
    /// Over the per-reporter rate.
    #[error("too many reports; retry in {retry_after_ms} ms")]
    RateLimited {
        /// When the next report will be taken.
        retry_after_ms: u64,
    },
    /// The node does not hold the room.
    #[error("unknown room")]
    UnknownRoom,
    /// An event to report is not held here.
    #[error("unknown event {0}")]
    UnknownEvent(EventId),
    /// No such report here.
    #[error("no such report")]
    NoSuchReport,
    /// The report is not in that queue here.
    #[error("the report is not in that queue")]
    NotQueued,
    /// Only `actioned` or `dismissed` decide a report.
    #[error("a decision is actioned or dismissed")]
    NotADecision,
    /// A table is full.
    #[error("report tables full")]
    Full,
    /// The node failed.
    #[error(transparent)]
    Node(#[from] NodeError),
}

impl ReportsError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            ReportsError::Report(e) => e.reason(),
            ReportsError::NotYourReport => "not_your_report",
            ReportsError::WrongReporterNode => "wrong_reporter_node",
            ReportsError::Muted => "reporting_muted",
            ReportsError::RateLimited { .. } => "rate_limited",
            ReportsError::UnknownRoom => "unknown_room",
            ReportsError::UnknownEvent(_) => "unknown_event",
            ReportsError::NoSuchReport => "no_such_report",
            ReportsError::NotQueued => "not_queued",
            ReportsError::NotADecision => "not_a_decision",
            ReportsError::Full => "reports_full",
            ReportsError::Node(e) => e.reason(),
        }
    }
}

impl From<StoreError> for ReportsError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::ReportsFull => ReportsError::Full,
            other => ReportsError::Node(NodeError::Store(other)),
        }
    }
}

/// What a user asks to report; the node fills in the events' full signed bytes.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    /// What is reported.
    pub target: Target,
    /// The kind of abuse.
    pub category: Category,
    /// The reporter's words.
    pub text: String,
    /// The room (of the events, or the reported room).
    pub room: Option<RoomId>,
    /// The reported user (for `event`: taken from the events).
    pub user: Option<UserKey>,
    /// The events to embed.
    pub events: Vec<EventId>,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct ReportMetrics {
    /// Reports this node's users made.
    pub made: AtomicU64,
    /// Reports delivered to this node and queued.
    pub received: AtomicU64,
    /// Letters delivered to another node (or this one).
    pub letters_delivered: AtomicU64,
    /// Delivery attempts that failed (retried).
    pub letters_retried: AtomicU64,
    /// Refusals and dropped letters, by reason.
    pub refused: ReasonCounts,
}

/// Cloneable handle to this node's reports. Every method is cancel-safe: a change that started
/// completes and stays durable.
#[derive(Clone)]
pub struct Reports(Arc<Inner>);

struct Inner {
    node: Node,
    net: NetHandle,
    secret: NodeSecret,
    key: NodeKey,
    store: SharedStore,
    wake: Notify,
    limiter: DefaultKeyedRateLimiter<UserKey>,
    metrics: ReportMetrics,
}

fn table_key(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

impl Reports {
    /// Starts the delivery task (outbox and inbox) on the current runtime, until `shutdown`.
    pub fn spawn(
        node: Node,
        net: NetHandle,
        secret: NodeSecret,
        shutdown: CancellationToken,
    ) -> (Reports, JoinHandle<()>) {
        let per_hour = NonZeroU32::new(REPORTS_PER_HOUR).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(REPORT_BURST).unwrap_or(NonZeroU32::MIN);
        let reports = Reports(Arc::new(Inner {
            store: node.shared_store(),
            key: node.key(),
            node,
            net,
            secret,
            wake: Notify::new(),
            limiter: RateLimiter::keyed(Quota::per_hour(per_hour).allow_burst(burst)),
            metrics: ReportMetrics::default(),
        }));
        let task = tokio::spawn(delivery::run(reports.clone(), shutdown));
        (reports, task)
    }

    /// The counters.
    pub fn metrics(&self) -> &ReportMetrics {
        &self.0.metrics
    }

    /// This node's key.
    pub fn node_key(&self) -> NodeKey {
        self.0.key
    }

    /// Builds the unsigned report `reporter` asked for, with the events' full signed bytes as
    /// this node holds them.
    pub async fn prepare(
        &self,
        reporter: UserKey,
        request: ReportRequest,
    ) -> Result<ReportDraft, ReportsError> {
        let mut events = Vec::new();
        if !request.events.is_empty() {
            if request.events.len() > causerie_crypto::report::MAX_REPORT_EVENTS {
                return Err(ReportError::TooManyEvents.into());
            }
            let found = self.0.node.events(request.events.clone()).await?;
            for id in &request.events {
                let event = found
                    .iter()
                    .find(|e| e.id() == *id)
                    .ok_or(ReportsError::UnknownEvent(*id))?;
                events.push(event.clone());
            }
        }
        let room = request.room.or_else(|| events.first().map(|e| e.room_id()));
        let user = match request.target {
            Target::Event => events.first().map(|e| *e.author()).or(request.user),
            _ => request.user,
        };
        let draft = ReportDraft {
            target: request.target,
            category: request.category,
            text: request.text,
            room,
            user,
            events,
            reporter,
            reporter_node: self.0.key,
            created_ms: now_ms(),
        };
        draft.encode()?;
        Ok(draft)
    }

    /// Takes a report signed by `reporter` (the session's user): checks it is theirs and names
    /// this node, that they are not muted and within their rate, routes it, keeps it durably and
    /// queues its letters. Taking the same report again answers it as kept.
    pub async fn submit(
        &self,
        reporter: UserKey,
        report: Report,
    ) -> Result<SentReport, ReportsError> {
        if report.reporter() != &reporter {
            return self.refuse(ReportsError::NotYourReport);
        }
        if report.reporter_node() != &self.0.key {
            return self.refuse(ReportsError::WrongReporterNode);
        }
        let key = table_key(&[reporter.as_bytes(), report.id().as_bytes()]);
        if let Some(bytes) = self.get(ReportTable::Sent, key.clone()).await? {
            return Ok(SentReport::decode(&bytes)?);
        }
        if self.standing(reporter).await?.muted {
            return self.refuse(ReportsError::Muted);
        }
        if let Err(not_until) = self.0.limiter.check_key(&reporter) {
            use governor::clock::{Clock, DefaultClock};
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let retry_after_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
            return self.refuse(ReportsError::RateLimited { retry_after_ms });
        }
        let recipients = self.recipients(&report).await?;
        let sent = SentReport {
            report: report.clone(),
            sent_ms: now_ms(),
            recipients: recipients.clone(),
            receipts: Vec::new(),
        };
        self.put(ReportTable::Sent, key, sent.encode()?).await?;
        self.update_standing(reporter, |s| s.reports += 1).await?;
        for to in recipients {
            self.send(to, LETTER_REPORT, report.as_bytes().to_vec())
                .await?;
        }
        self.0.metrics.made.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            report = %report.id(),
            reporter = %reporter,
            target = report.target().name(),
            category = report.category().name(),
            recipients = sent.recipients.len(),
            "report taken"
        );
        Ok(sent)
    }

    fn refuse<T>(&self, error: ReportsError) -> Result<T, ReportsError> {
        self.0.metrics.refused.increment(error.reason());
        Err(error)
    }

    /// The home nodes of the room's moderators (members at or above the kick or ban level,
    /// whichever is lower) and of the reported user, at most [`MAX_RECIPIENTS`], in key order.
    async fn recipients(&self, report: &Report) -> Result<Vec<NodeKey>, ReportsError> {
        let mut nodes = std::collections::BTreeSet::new();
        if let Some(room) = report.room() {
            for moderator in self.moderators(room).await? {
                nodes.insert(moderator);
            }
        }
        if let Some(user) = report.user()
            && let Some(home) = self.home_of(user, report).await?
        {
            nodes.insert(home);
        }
        Ok(nodes.into_iter().take(MAX_RECIPIENTS).collect())
    }

    /// The home nodes of `room`'s moderators, as the attestations this node holds say.
    async fn moderators(&self, room: RoomId) -> Result<Vec<NodeKey>, ReportsError> {
        let Some(view) = self.0.node.room_view(room, None).await? else {
            return Ok(Vec::new());
        };
        let level = view.power_levels.kick.min(view.power_levels.ban);
        let members = self.0.node.members(room).await?.unwrap_or_default();
        let moderators: Vec<UserKey> = members
            .iter()
            .filter(|m| m.membership == Membership::Join && m.power >= level)
            .map(|m| m.user)
            .take(MAX_USERS_LOOKUP)
            .collect();
        let attestations = self.0.node.accounts().attestations_of(moderators).await?;
        Ok(attestations.values().map(|a| *a.home_node()).collect())
    }

    /// The node that attested `user`: its latest attestation here, else the one its reported
    /// events reference.
    async fn home_of(
        &self,
        user: &UserKey,
        report: &Report,
    ) -> Result<Option<NodeKey>, ReportsError> {
        let accounts = self.0.node.accounts();
        if let Some(a) = accounts.attestations_of(vec![*user]).await?.get(user) {
            return Ok(Some(*a.home_node()));
        }
        for event in report.events() {
            if let Some(a) = accounts.attestation(*event.attestation()).await? {
                return Ok(Some(*a.home_node()));
            }
        }
        Ok(None)
    }

    /// Signs a letter to `to` and queues it in the outbox (durable when this returns).
    async fn send(&self, to: NodeKey, kind: &str, body: Vec<u8>) -> Result<(), ReportsError> {
        let now = now_ms();
        let letter = NodeLetter::sign(&self.0.secret, to, kind, body, now)
            .map_err(|e| ReportsError::Node(NodeError::Letter(e)))?;
        let record = records::OutboxRecord {
            attempts: 0,
            letter: serde_bytes::ByteBuf::from(letter.as_bytes().to_vec()),
            next_ms: now,
            queued_ms: now,
            to,
            v: records::REPORT_RECORD_VERSION,
        };
        let bytes = record.encode()?;
        self.0
            .store
            .run(move |store| {
                let id = store.report_next_outbox_id().map_err(NodeError::Store)?;
                store
                    .report_put(ReportTable::Outbox, &id.to_be_bytes(), &bytes)
                    .map_err(NodeError::Store)
            })
            .await
            .map_err(|e| match e {
                NodeError::Store(StoreError::ReportsFull) => ReportsError::Full,
                other => ReportsError::Node(other),
            })?;
        self.0.wake.notify_one();
        Ok(())
    }

    async fn get(&self, table: ReportTable, key: Vec<u8>) -> Result<Option<Vec<u8>>, ReportsError> {
        Ok(self
            .0
            .store
            .read(move |store| store.report_get(table, &key))
            .await?)
    }

    async fn put(
        &self,
        table: ReportTable,
        key: Vec<u8>,
        value: Vec<u8>,
    ) -> Result<(), ReportsError> {
        self.0
            .store
            .read(move |store| store.report_put(table, &key, &value))
            .await
            .map_err(|e| match e {
                NodeError::Store(StoreError::ReportsFull) => ReportsError::Full,
                other => ReportsError::Node(other),
            })
    }

    async fn scan(
        &self,
        table: ReportTable,
        prefix: Vec<u8>,
        after: Option<Vec<u8>>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, ReportsError> {
        Ok(self
            .0
            .store
            .read(move |store| store.report_scan(table, &prefix, after.as_deref(), limit))
            .await?)
    }

    /// `reporter`'s reports, newest first, at most `causerie_storage::MAX_REPORT_SCAN`.
    pub async fn sent(&self, reporter: UserKey) -> Result<Vec<SentReport>, ReportsError> {
        let entries = self
            .scan(
                ReportTable::Sent,
                reporter.as_bytes().to_vec(),
                None,
                causerie_storage::MAX_REPORT_SCAN,
            )
            .await?;
        let mut out = entries
            .iter()
            .map(|(_, v)| SentReport::decode(v))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| {
            b.sent_ms
                .cmp(&a.sent_ms)
                .then(a.report.id().cmp(&b.report.id()))
        });
        Ok(out)
    }

    /// One of `reporter`'s reports.
    pub async fn sent_report(
        &self,
        reporter: UserKey,
        id: ReportId,
    ) -> Result<Option<SentReport>, ReportsError> {
        let key = table_key(&[reporter.as_bytes(), id.as_bytes()]);
        match self.get(ReportTable::Sent, key).await? {
            Some(bytes) => Ok(Some(SentReport::decode(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Reports delivered to this node, in report-id order strictly after `after`, at most
    /// `limit` (clamped to `causerie_storage::MAX_REPORT_SCAN`); `queue` keeps only those in
    /// that queue.
    pub async fn received(
        &self,
        queue: Option<Queue>,
        after: Option<ReportId>,
        limit: usize,
    ) -> Result<Vec<ReceivedReport>, ReportsError> {
        let mut out = Vec::new();
        let mut cursor = after.map(|id| id.as_bytes().to_vec());
        let pages = ReportTable::Received.max_items() / causerie_storage::MAX_REPORT_SCAN + 1;
        for _ in 0..pages {
            let page = self
                .scan(
                    ReportTable::Received,
                    Vec::new(),
                    cursor.clone(),
                    causerie_storage::MAX_REPORT_SCAN,
                )
                .await?;
            let Some((last, _)) = page.last() else { break };
            cursor = Some(last.clone());
            for (_, bytes) in &page {
                let report = ReceivedReport::decode(bytes)?;
                if queue.is_none_or(|q| report.status(q).is_some()) {
                    out.push(report);
                    if out.len() >= limit.min(causerie_storage::MAX_REPORT_SCAN) {
                        return Ok(out);
                    }
                }
            }
        }
        Ok(out)
    }

    /// One report delivered to this node.
    pub async fn received_report(
        &self,
        id: ReportId,
    ) -> Result<Option<ReceivedReport>, ReportsError> {
        match self
            .get(ReportTable::Received, id.as_bytes().to_vec())
            .await?
        {
            Some(bytes) => Ok(Some(ReceivedReport::decode(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Decides a report in one of this node's queues (`actioned` or `dismissed`), durably, and
    /// sends the signed status change to the reporter's node. `actioned` is final; deciding
    /// again with the same status only sends the receipt again.
    pub async fn decide(
        &self,
        id: ReportId,
        queue: Queue,
        status: Status,
        note: Option<String>,
    ) -> Result<ReceivedReport, ReportsError> {
        if status == Status::Received {
            return Err(ReportsError::NotADecision);
        }
        let mut record = self
            .received_report(id)
            .await?
            .ok_or(ReportsError::NoSuchReport)?;
        let current = record.status(queue).ok_or(ReportsError::NotQueued)?;
        let status = if current == Status::Actioned {
            Status::Actioned
        } else {
            status
        };
        match queue {
            Queue::Review => record.review = Some(status),
            Queue::Operator => record.operator = Some(status),
        }
        self.put(
            ReportTable::Received,
            id.as_bytes().to_vec(),
            record.encode()?,
        )
        .await?;
        // The reporter's home node counts decisions as their receipts arrive.
        if current != status && record.report.reporter_node() != &self.0.key {
            let reporter = *record.report.reporter();
            self.update_standing(reporter, |s| match status {
                Status::Actioned => s.actioned += 1,
                _ => s.dismissed += 1,
            })
            .await?;
        }
        if current != status {
            let kind = match status {
                Status::Actioned => AuditKind::ReportActioned,
                _ => AuditKind::ReportDismissed,
            };
            self.audit(kind, &record.report, queue, note.as_deref())
                .await;
        }
        self.send_receipt(&record.report, queue, status, note)
            .await?;
        tracing::info!(report = %id, queue = queue.name(), status = status.name(), "report decided");
        Ok(record)
    }

    /// A moderator decided a review item made from a report: rejecting it (the event leaves
    /// the room) actions the report, approving it (the event stays) dismisses it.
    pub async fn review_decided(&self, entry: &ReviewEntry, actioned: bool) {
        if entry.state != ReviewState::Reported {
            return;
        }
        let Some(id) = entry
            .source
            .strip_prefix(REVIEW_SOURCE_PREFIX)
            .and_then(|hex| hex.parse::<ReportId>().ok())
        else {
            return;
        };
        let status = if actioned {
            Status::Actioned
        } else {
            Status::Dismissed
        };
        if let Err(e) = self.decide(id, Queue::Review, status, None).await {
            tracing::warn!(report = %id, reason = e.reason(), "review decision not sent to the reporter");
        }
    }

    /// Appends an audit entry about `report` (subject: its id); a failure is logged, since the
    /// decision itself is durable already.
    async fn audit(&self, kind: AuditKind, report: &Report, queue: Queue, note: Option<&str>) {
        let mut details = crate::node::details([
            ("queue", queue.name()),
            ("category", report.category().name()),
            ("target", report.target().name()),
            ("reporter", &report.reporter().to_string()),
            ("reporter_node", &report.reporter_node().to_string()),
        ]);
        if let Some(user) = report.user() {
            details.insert("user".into(), user.to_string());
        }
        if let Some(note) = note {
            details.insert("note".into(), note.to_owned());
        }
        if let Err(e) = self
            .0
            .node
            .audit()
            .append(kind, report.id().to_string(), details)
            .await
        {
            tracing::warn!(report = %report.id(), reason = e.reason(), "report not written to the audit log");
        }
    }

    async fn send_receipt(
        &self,
        report: &Report,
        queue: Queue,
        status: Status,
        note: Option<String>,
    ) -> Result<(), ReportsError> {
        let receipt = ReceiptDraft {
            report: report.id(),
            reporter: *report.reporter(),
            queue,
            status,
            note,
            at_ms: now_ms(),
        }
        .sign(&self.0.secret)?;
        self.send(
            *report.reporter_node(),
            LETTER_RECEIPT,
            receipt.as_bytes().to_vec(),
        )
        .await
    }

    /// How `reporter`'s reports fared here, and whether they are muted.
    pub async fn standing(&self, reporter: UserKey) -> Result<ReporterStanding, ReportsError> {
        match self
            .get(ReportTable::Reporters, reporter.as_bytes().to_vec())
            .await?
        {
            Some(bytes) => Ok(ReporterStanding::decode(&bytes)?),
            None => Ok(ReporterStanding::default()),
        }
    }

    async fn update_standing(
        &self,
        reporter: UserKey,
        change: impl FnOnce(&mut ReporterStanding),
    ) -> Result<ReporterStanding, ReportsError> {
        let mut standing = self.standing(reporter).await?;
        change(&mut standing);
        self.put(
            ReportTable::Reporters,
            reporter.as_bytes().to_vec(),
            standing.encode()?,
        )
        .await?;
        Ok(standing)
    }

    /// Mutes (or unmutes) `reporter` for reporting on this node: their new reports are refused
    /// (`reporting_muted`) when they are homed here, and answered `dismissed` when they arrive
    /// from another node.
    pub async fn set_muted(
        &self,
        reporter: UserKey,
        muted: bool,
    ) -> Result<ReporterStanding, ReportsError> {
        let standing = self.update_standing(reporter, |s| s.muted = muted).await?;
        tracing::info!(%reporter, muted, "reporter mute changed");
        Ok(standing)
    }

    /// Reporters this node knows, in key order strictly after `after`, at most
    /// `causerie_storage::MAX_REPORT_SCAN`.
    pub async fn reporters(
        &self,
        after: Option<UserKey>,
    ) -> Result<Vec<(UserKey, ReporterStanding)>, ReportsError> {
        let entries = self
            .scan(
                ReportTable::Reporters,
                Vec::new(),
                after.map(|k| k.as_bytes().to_vec()),
                causerie_storage::MAX_REPORT_SCAN,
            )
            .await?;
        entries
            .iter()
            .map(|(k, v)| {
                let key: [u8; 32] = k.as_slice().try_into().map_err(|_| StoreError::Corrupt {
                    what: "reporter key",
                    detail: "not 32 bytes".into(),
                })?;
                let user = UserKey::from_bytes(&key).map_err(|e| StoreError::Corrupt {
                    what: "reporter key",
                    detail: e.reason().into(),
                })?;
                Ok((user, ReporterStanding::decode(v)?))
            })
            .collect()
    }

    /// Letters waiting in the outbox.
    pub async fn outbox_len(&self) -> Result<usize, ReportsError> {
        Ok(self
            .0
            .store
            .read(|store| store.report_len(ReportTable::Outbox))
            .await?)
    }
}

/// The `source` of a review item made from a report: this prefix, then the report id.
pub const REVIEW_SOURCE_PREFIX: &str = "report:";

/// The review reason of a report: its category, then its text, cut to
/// [`MAX_REVIEW_REASON_BYTES`] at a character boundary.
fn review_reason(report: &Report) -> String {
    let reason = format!("{}: {}", report.category().name(), report.text());
    truncate_to(&reason, MAX_REVIEW_REASON_BYTES)
}

/// The review items a report makes: one per embedded event, state `reported`.
fn review_entries(report: &Report, now: u64) -> Vec<ReviewEntry> {
    report
        .events()
        .iter()
        .map(|event| ReviewEntry {
            state: ReviewState::Reported,
            event: event.clone(),
            source: format!("{REVIEW_SOURCE_PREFIX}{}", report.id()),
            ruled_by: "report".to_owned(),
            reason: Some(review_reason(report)),
            labels: vec![report.category().name().to_owned()],
            queued_ms: now,
        })
        .collect()
}
